//! Cross-entropy losses: binary, categorical and sparse categorical, from probabilities
//! (clipped to `[EPSILON, 1 - EPSILON]`) or from logits (stable forms).

use super::{matched, mean_over, scalar, EPSILON};
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{Float, Tensor};

pub(super) fn check_label_smoothing(label_smoothing: f64, op: &str) -> Result<()> {
    if !(0.0..=1.0).contains(&label_smoothing) {
        bail!(
            InvalidArgument,
            "{op}: expected label_smoothing in [0, 1], got label_smoothing={label_smoothing}"
        );
    }
    Ok(())
}

/// Mean over `axis` of the elementwise binary cross-entropy, as
/// `keras.losses.binary_crossentropy`. Labels are smoothed towards 0.5 first:
/// `y·(1 - ls) + 0.5·ls`.
pub fn binary_crossentropy<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    from_logits: bool,
    label_smoothing: f64,
    axis: isize,
) -> Result<Tensor<T>> {
    check_label_smoothing(label_smoothing, "binary_crossentropy")?;
    let (t, p) = matched(y_true, y_pred, "binary_crossentropy")?;
    let t = smooth_binary_labels(t, label_smoothing)?;
    let elementwise = if from_logits {
        p.sigmoid_cross_entropy_with_logits(&t)?
    } else {
        binary_crossentropy_elementwise(&t, &p)?
    };
    mean_over(&elementwise, axis)
}

/// Labels squeezed towards 0.5: `y·(1 - ls) + 0.5·ls` (unchanged for `ls == 0`).
pub(super) fn smooth_binary_labels<T: Float>(t: Tensor<T>, ls: f64) -> Result<Tensor<T>> {
    if ls == 0.0 {
        return Ok(t);
    }
    t.mul(&scalar(1.0 - ls))?.add(&scalar(0.5 * ls))
}

/// Labels smoothed over the classes of the last axis: `y·(1 - ls) + ls/num_classes`.
pub(super) fn smooth_categorical_labels<T: Float>(t: Tensor<T>, ls: f64) -> Result<Tensor<T>> {
    if ls == 0.0 || t.rank() == 0 {
        return Ok(t);
    }
    let classes = t.shape()[t.rank() - 1] as f64;
    t.mul(&scalar(1.0 - ls))?.add(&scalar(ls / classes))
}

/// `-(t·log(p) + (1 - t)·log(1 - p))` elementwise, with `p` clipped to
/// `[EPSILON, 1 - EPSILON]` (NaN stays NaN).
pub(super) fn binary_crossentropy_elementwise<T: Float>(
    t: &Tensor<T>,
    p: &Tensor<T>,
) -> Result<Tensor<T>> {
    let p = p.clip(EPSILON, 1.0 - EPSILON)?;
    let one = scalar::<T>(1.0);
    let pos = t.mul(&p.log()?)?;
    let neg = one.sub(t)?.mul(&one.sub(&p)?.log()?)?;
    pos.add(&neg)?.neg()
}

/// `-sum(y_true · log(probabilities), axis)`, as `keras.losses.categorical_crossentropy`.
/// Probabilities are `softmax(y_pred)` from logits, or `y_pred` renormalized to sum to
/// 1 along `axis` and clipped. Labels are smoothed first: `y·(1 - ls) + ls/num_classes`
/// (num_classes: the last axis of y_true, as in Keras).
pub fn categorical_crossentropy<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    from_logits: bool,
    label_smoothing: f64,
    axis: isize,
) -> Result<Tensor<T>> {
    check_label_smoothing(label_smoothing, "categorical_crossentropy")?;
    let (t, p) = matched(y_true, y_pred, "categorical_crossentropy")?;
    if p.rank() == 0 {
        bail!(
            Shape,
            "categorical_crossentropy: expected y_pred of rank >= 1 (batch, classes), got shape {}",
            fmt_shape(p.shape())
        );
    }
    let t = smooth_categorical_labels(t, label_smoothing)?;
    let log_prob = log_probabilities(&p, from_logits, axis)?;
    t.mul(&log_prob)?.sum(Some(&[axis]), false)?.neg()
}

/// Log-probabilities along `axis`: `log_softmax` of logits, or the log of renormalized,
/// clipped probabilities.
fn log_probabilities<T: Float>(p: &Tensor<T>, from_logits: bool, axis: isize) -> Result<Tensor<T>> {
    if from_logits {
        p.log_softmax(axis)
    } else {
        p.div(&p.sum(Some(&[axis]), true)?)?
            .clip(EPSILON, 1.0 - EPSILON)?
            .log()
    }
}

/// `-log(probability of the true class)` per sample, as
/// `keras.losses.sparse_categorical_crossentropy`. `y_true` holds class indices (as
/// floats) of shape `y_pred.shape[:-1]`, or that shape with a trailing 1. Samples whose
/// label equals `ignore_class` get 0.
pub fn sparse_categorical_crossentropy<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    from_logits: bool,
    ignore_class: Option<i64>,
) -> Result<Tensor<T>> {
    Ok(sparse_categorical_crossentropy_masked(y_true, y_pred, from_logits, ignore_class)?.0)
}

/// As [`sparse_categorical_crossentropy`], with the mask of valid samples (1, or 0 where
/// the label is `ignore_class`) when `ignore_class` is set.
pub(super) fn sparse_categorical_crossentropy_masked<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    from_logits: bool,
    ignore_class: Option<i64>,
) -> Result<(Tensor<T>, Option<Tensor<T>>)> {
    const OP: &str = "sparse_categorical_crossentropy";
    let (t, p) = super::squeeze_or_expand_to_same_rank(y_true, y_pred, true)?;
    let t = if t.rank() == p.rank() && t.rank() > 0 && t.shape()[t.rank() - 1] == 1 {
        t.reshape(&t.shape()[..t.rank() - 1])?
    } else {
        t
    };
    if p.rank() == 0 || t.shape() != &p.shape()[..p.rank() - 1] {
        bail!(
            Shape,
            "{OP}: expected y_true of shape y_pred.shape[:-1] (class indices), got y_true of shape {} and y_pred of shape {}",
            fmt_shape(y_true.shape()),
            fmt_shape(y_pred.shape())
        );
    }
    let classes = p.shape()[p.rank() - 1];
    let index = class_indices(&t.data(), classes, ignore_class, OP)?;
    let picked = log_probabilities(&p, from_logits, -1)?.take_last(&index)?;
    let values = picked.neg()?;
    let mask = match ignore_class {
        Some(_) => {
            let m = index
                .iter()
                .map(|i| if i.is_some() { T::one() } else { T::zero() })
                .collect();
            Some(Tensor::from_vec(m, values.shape())?)
        }
        None => None,
    };
    Ok((values, mask))
}

/// Class indices from float labels, validated against `classes`; `None` where the label
/// equals `ignore_class`.
fn class_indices<T: Float>(
    labels: &[T],
    classes: usize,
    ignore_class: Option<i64>,
    op: &str,
) -> Result<Vec<Option<usize>>> {
    labels
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let v = Float::to_f64(v);
            if ignore_class.is_some_and(|c| v == c as f64) {
                return Ok(None);
            }
            if v.fract() != 0.0 || v < 0.0 || v >= classes as f64 {
                bail!(
                    InvalidArgument,
                    "{op}: y_true holds label {v} at position {i}, expected an integer class index in [0, {classes}) (y_pred has {classes} classes)"
                );
            }
            Ok(Some(v as usize))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::testing::{close, t32};
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn keras_docstring_values() {
        // keras.losses.binary_crossentropy([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]])
        let t = t32(&[0., 1., 0., 0.], &[2, 2]);
        let p = t32(&[0.6, 0.4, 0.4, 0.6], &[2, 2]);
        let v = binary_crossentropy(&t, &p, false, 0.0, -1).unwrap();
        close(&v.to_vec(), &[0.916, 0.714], 1e-3);
        // BinaryCrossentropy(from_logits=True, reduction=None) docs: [0.235, 1.496].
        let logits = t32(&[-18.6, 0.51, 2.94, -12.8], &[2, 2]);
        let v = binary_crossentropy(&t, &logits, true, 0.0, -1).unwrap();
        close(&v.to_vec(), &[0.235, 1.496], 1e-3);
        // categorical_crossentropy docs: [0.0513, 2.303].
        let t = t32(&[0., 1., 0., 0., 0., 1.], &[2, 3]);
        let p = t32(&[0.05, 0.95, 0., 0.1, 0.8, 0.1], &[2, 3]);
        let v = categorical_crossentropy(&t, &p, false, 0.0, -1).unwrap();
        close(&v.to_vec(), &[0.0513, 2.303], 1e-3);
        let labels = t32(&[1., 2.], &[2]);
        let v = sparse_categorical_crossentropy(&labels, &p, false, None).unwrap();
        close(&v.to_vec(), &[0.0513, 2.303], 1e-3);
    }

    #[test]
    fn extreme_inputs_stay_finite() {
        let t = t32(&[0., 1., 1., 0.], &[2, 2]);
        let p = t32(&[0., 1., 0., 1.], &[2, 2]);
        let v = binary_crossentropy(&t, &p, false, 0.0, -1)
            .unwrap()
            .to_vec();
        assert!(v.iter().all(|x| x.is_finite()));
        let logits = t32(&[1e4, -1e4, -1e4, 1e4], &[2, 2]);
        let v = binary_crossentropy(&t, &logits, true, 0.0, -1)
            .unwrap()
            .to_vec();
        close(&v, &[1e4, 1e4], 1e-1);
        let v = categorical_crossentropy(&t, &logits, true, 0.0, -1)
            .unwrap()
            .to_vec();
        close(&v, &[2e4, 2e4], 1e-1);
    }

    #[test]
    fn sparse_labels_are_validated() {
        let p = t32(&[0.2, 0.8, 0.5, 0.5], &[2, 2]);
        let err = sparse_categorical_crossentropy(&t32(&[0., 2.], &[2]), &p, false, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("label 2") && err.contains("2 classes"),
            "{err}"
        );
        assert!(sparse_categorical_crossentropy(&t32(&[0.5, 1.], &[2]), &p, false, None).is_err());
        assert!(sparse_categorical_crossentropy(&t32(&[0., 1.], &[2, 1]), &p, false, None).is_ok());
        assert!(
            sparse_categorical_crossentropy(&t32(&[0., 1., 1.], &[3]), &p, false, None).is_err()
        );
        let (v, mask) =
            sparse_categorical_crossentropy_masked(&t32(&[-1., 1.], &[2]), &p, false, Some(-1))
                .unwrap();
        assert_eq!(v.to_vec()[0], 0.0);
        assert_eq!(mask.unwrap().to_vec(), vec![0.0, 1.0]);
    }

    #[test]
    fn gradients() {
        let probs = rand(&[3, 4], 1).map(|v| (v + 1.0) * 0.45 + 0.05).unwrap();
        let logits = rand(&[3, 4], 2).map(|v| v * 3.0).unwrap();
        let labels = rand(&[3, 4], 3).map(|v| (v + 1.0) / 2.0).unwrap();
        for ls in [0.0, 0.2] {
            for axis in [-1, 0] {
                check_grad(&[labels.clone(), probs.clone()], |x| {
                    binary_crossentropy(&x[0], &x[1], false, ls, axis)
                });
                check_grad(&[labels.clone(), logits.clone()], |x| {
                    binary_crossentropy(&x[0], &x[1], true, ls, axis)
                });
                check_grad(&[labels.clone(), probs.clone()], |x| {
                    categorical_crossentropy(&x[0], &x[1], false, ls, axis)
                });
                check_grad(&[labels.clone(), logits.clone()], |x| {
                    categorical_crossentropy(&x[0], &x[1], true, ls, axis)
                });
            }
        }
        let classes = Tensor::<f64>::from_vec(vec![0., 3., 1.], &[3]).unwrap();
        for from_logits in [false, true] {
            let p = if from_logits { &logits } else { &probs };
            check_grad(&[p.clone()], |x| {
                sparse_categorical_crossentropy(&classes, &x[0], from_logits, None)
            });
            check_grad(&[p.clone()], |x| {
                sparse_categorical_crossentropy(&classes, &x[0], from_logits, Some(3))
            });
        }
    }
}
