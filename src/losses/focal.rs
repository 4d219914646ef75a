//! Focal cross-entropies (Lin et al., 2018): the cross-entropy of each entry scaled by
//! `(1 - p_t)^gamma`, which down-weights easy examples.

use super::crossentropy::{
    binary_crossentropy_elementwise, check_label_smoothing, smooth_binary_labels,
    smooth_categorical_labels,
};
use super::{matched, mean_over, scalar, EPSILON};
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{Float, Tensor};

/// Checks the focal options shared by both losses.
pub(super) fn check_focal(alpha: &[f64], gamma: f64, label_smoothing: f64, op: &str) -> Result<()> {
    check_label_smoothing(label_smoothing, op)?;
    if !(gamma.is_finite() && gamma >= 0.0) {
        bail!(
            InvalidArgument,
            "{op}: expected a finite gamma >= 0, got gamma={gamma}"
        );
    }
    if let Some(a) = alpha.iter().find(|a| !a.is_finite()) {
        bail!(
            InvalidArgument,
            "{op}: expected finite alpha values, got alpha={a}"
        );
    }
    Ok(())
}

/// Options of [`binary_focal_crossentropy`], with Keras's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BinaryFocal {
    /// Weigh positive samples by `alpha` and negative ones by `1 − alpha`.
    pub apply_class_balancing: bool,
    /// The weight of positive samples with class balancing.
    pub alpha: f64,
    /// The focusing exponent: `(1 − p_t)^gamma` scales each term down as it gets easy.
    pub gamma: f64,
    /// Whether `y_pred` holds logits instead of probabilities.
    pub from_logits: bool,
    /// Labels are squeezed towards 0.5 by this much.
    pub label_smoothing: f64,
    /// The axis averaged over.
    pub axis: isize,
}

impl Default for BinaryFocal {
    fn default() -> Self {
        BinaryFocal {
            apply_class_balancing: false,
            alpha: 0.25,
            gamma: 2.0,
            from_logits: false,
            label_smoothing: 0.0,
            axis: -1,
        }
    }
}

/// `mean((1 - p_t)^gamma · bce, axis)`, as `keras.losses.binary_focal_crossentropy`:
/// `bce` is the clipped binary cross-entropy of the (smoothed) labels `t` and the
/// probabilities `p` (`sigmoid(y_pred)` from logits), `p_t = t·p + (1 - t)(1 - p)`, and
/// with `apply_class_balancing` each entry is also weighted by `t·alpha + (1 - t)(1 - alpha)`.
pub fn binary_focal_crossentropy<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    o: &BinaryFocal,
) -> Result<Tensor<T>> {
    const OP: &str = "binary_focal_crossentropy";
    check_focal(&[o.alpha], o.gamma, o.label_smoothing, OP)?;
    let (t, p) = matched(y_true, y_pred, OP)?;
    let t = smooth_binary_labels(t, o.label_smoothing)?;
    let p = if o.from_logits { p.sigmoid()? } else { p };
    let bce = binary_crossentropy_elementwise(&t, &p)?;
    let one = scalar::<T>(1.0);
    let not_t = one.sub(&t)?;
    let p_t = t.mul(&p)?.add(&not_t.mul(&one.sub(&p)?)?)?;
    let focal_factor = one.sub(&p_t)?.powf(o.gamma)?;
    let mut focal = focal_factor.mul(&bce)?;
    if o.apply_class_balancing {
        let weight = t
            .mul(&scalar(o.alpha))?
            .add(&not_t.mul(&scalar(1.0 - o.alpha))?)?;
        focal = weight.mul(&focal)?;
    }
    mean_over(&focal, o.axis)
}

/// Options of [`categorical_focal_crossentropy`], with Keras's defaults. `alpha` holds one
/// number (for every class) or one per class (the last axis).
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalFocal {
    /// The weight of every class (one number) or of each class.
    pub alpha: Vec<f64>,
    /// The focusing exponent: `(1 − p_t)^gamma` scales each term down as it gets easy.
    pub gamma: f64,
    /// Whether `y_pred` holds logits instead of probabilities.
    pub from_logits: bool,
    /// Labels are squeezed towards the uniform distribution by this much.
    pub label_smoothing: f64,
    /// The class axis.
    pub axis: isize,
}

impl Default for CategoricalFocal {
    fn default() -> Self {
        CategoricalFocal {
            alpha: vec![0.25],
            gamma: 2.0,
            from_logits: false,
            label_smoothing: 0.0,
            axis: -1,
        }
    }
}

/// `sum(alpha · (1 - q)^gamma · (-t · log(q)), axis)`, as
/// `keras.losses.categorical_focal_crossentropy`: `q` is `y_pred` (or `softmax(y_pred)`
/// from logits) renormalized to sum to 1 along `axis` and clipped to
/// `[EPSILON, 1 - EPSILON]`; labels are smoothed as in categorical cross-entropy.
pub fn categorical_focal_crossentropy<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    o: &CategoricalFocal,
) -> Result<Tensor<T>> {
    const OP: &str = "categorical_focal_crossentropy";
    check_focal(&o.alpha, o.gamma, o.label_smoothing, OP)?;
    let (t, p) = matched(y_true, y_pred, OP)?;
    if p.rank() == 0 {
        bail!(
            Shape,
            "{OP}: expected y_pred of rank >= 1 (batch, classes), got shape {}",
            fmt_shape(p.shape())
        );
    }
    let classes = p.shape()[p.rank() - 1];
    let alpha = match o.alpha.as_slice() {
        [a] => scalar::<T>(*a),
        list if list.len() == classes => {
            Tensor::from_vec(list.iter().map(|&a| T::from_f64(a)).collect(), &[classes])?
        }
        list => bail!(
            Shape,
            "{OP}: alpha has {} values, expected one or one per class ({classes}, the last axis of y_pred of shape {})",
            list.len(),
            fmt_shape(p.shape())
        ),
    };
    let t = smooth_categorical_labels(t, o.label_smoothing)?;
    let p = if o.from_logits { p.softmax(o.axis)? } else { p };
    let q = p
        .div(&p.sum(Some(&[o.axis]), true)?)?
        .clip(EPSILON, 1.0 - EPSILON)?;
    let cce = t.mul(&q.log()?)?.neg()?;
    let weight = scalar::<T>(1.0).sub(&q)?.powf(o.gamma)?.mul(&alpha)?;
    weight.mul(&cce)?.sum(Some(&[o.axis]), false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::testing::{close, t32};
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn keras_docstring_values() {
        // keras.losses.binary_focal_crossentropy docs (gamma 0 is the plain cross-entropy).
        let t = t32(&[0., 1., 0., 0.], &[2, 2]);
        let p = t32(&[0.6, 0.4, 0.4, 0.6], &[2, 2]);
        let o = BinaryFocal::default();
        close(
            &binary_focal_crossentropy(&t, &p, &o).unwrap().to_vec(),
            &[0.330, 0.206],
            1e-3,
        );
        let o = BinaryFocal { gamma: 0.0, ..o };
        close(
            &binary_focal_crossentropy(&t, &p, &o).unwrap().to_vec(),
            &[0.916, 0.714],
            1e-3,
        );
        // From Keras (KERAS_BACKEND=jax).
        let o = BinaryFocal {
            gamma: 1.0,
            apply_class_balancing: true,
            ..o
        };
        let v = binary_focal_crossentropy(&t, &p, &o).unwrap().to_vec();
        close(&v, &[0.274_887_23, 0.282_789_26], 1e-6);
        // keras.losses.categorical_focal_crossentropy on the docs' inputs (from Keras; the
        // docstring's printed values are stale).
        let t = t32(&[0., 1., 0., 0., 0., 1.], &[2, 3]);
        let p = t32(&[0.05, 0.95, 0., 0.1, 0.8, 0.1], &[2, 3]);
        let v = categorical_focal_crossentropy(&t, &p, &CategoricalFocal::default())
            .unwrap()
            .to_vec();
        close(&v, &[3.205_833e-5, 0.466_273_46], 1e-6);
    }

    #[test]
    fn alpha_per_class_and_bad_options() {
        let t = t32(&[0., 1., 0., 0., 0., 1.], &[2, 3]);
        let p = t32(&[0.05, 0.95, 0., 0.1, 0.8, 0.1], &[2, 3]);
        let scalar_alpha = categorical_focal_crossentropy(&t, &p, &CategoricalFocal::default())
            .unwrap()
            .to_vec();
        let per_class = CategoricalFocal {
            alpha: vec![1.0, 0.25, 0.5],
            ..Default::default()
        };
        let v = categorical_focal_crossentropy(&t, &p, &per_class)
            .unwrap()
            .to_vec();
        // Only the true class has a nonzero term: its alpha scales it.
        close(&v, &[scalar_alpha[0], scalar_alpha[1] * 2.0], 1e-6);
        let wrong = CategoricalFocal {
            alpha: vec![1.0, 0.5],
            ..Default::default()
        };
        let err = categorical_focal_crossentropy(&t, &p, &wrong)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("alpha has 2 values") && err.contains("(2, 3)"),
            "{err}"
        );
        let negative = BinaryFocal {
            gamma: -1.0,
            ..Default::default()
        };
        let err = binary_focal_crossentropy(&t, &p, &negative)
            .unwrap_err()
            .to_string();
        assert!(err.contains("gamma=-1"), "{err}");
        let smoothing = CategoricalFocal {
            label_smoothing: 2.0,
            ..Default::default()
        };
        assert!(categorical_focal_crossentropy(&t, &p, &smoothing).is_err());
    }

    #[test]
    fn nan_propagates() {
        let t = t32(&[0., 1., 0., 0., 0., 1.], &[2, 3]);
        let p = t32(&[0.05, f32::NAN, 0.2, 0.1, 0.8, 0.1], &[2, 3]);
        for from_logits in [false, true] {
            let b = BinaryFocal {
                from_logits,
                ..Default::default()
            };
            let v = binary_focal_crossentropy(&t, &p, &b).unwrap().to_vec();
            assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
            let c = CategoricalFocal {
                from_logits,
                ..Default::default()
            };
            let v = categorical_focal_crossentropy(&t, &p, &c).unwrap().to_vec();
            assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
        }
    }

    #[test]
    fn gradients() {
        let probs = rand(&[3, 4], 1).map(|v| (v + 1.0) * 0.45 + 0.05).unwrap();
        let logits = rand(&[3, 4], 2).map(|v| v * 3.0).unwrap();
        let labels = rand(&[3, 4], 3).map(|v| (v + 1.0) / 2.0).unwrap();
        for (gamma, balancing, ls, axis) in [
            (2.0, false, 0.0, -1),
            (1.5, true, 0.1, 0),
            (0.0, true, 0.0, -1),
        ] {
            for from_logits in [false, true] {
                let p = if from_logits { &logits } else { &probs };
                let b = BinaryFocal {
                    apply_class_balancing: balancing,
                    alpha: 0.3,
                    gamma,
                    from_logits,
                    label_smoothing: ls,
                    axis,
                };
                check_grad(&[labels.clone(), p.clone()], |x| {
                    binary_focal_crossentropy(&x[0], &x[1], &b)
                });
                for alpha in [vec![0.25], vec![0.1, 0.2, 0.3, 0.4]] {
                    let c = CategoricalFocal {
                        alpha,
                        gamma,
                        from_logits,
                        label_smoothing: ls,
                        axis,
                    };
                    check_grad(&[labels.clone(), p.clone()], |x| {
                        categorical_focal_crossentropy(&x[0], &x[1], &c)
                    });
                }
            }
        }
    }
}
