//! Losses, with Keras 3 semantics.
//!
//! A loss *function* returns one value per sample (the mean over the last axis where
//! Keras takes it). A [`Loss`] object, built from a Keras class name and config, also
//! weights those values by `sample_weight` and reduces them, as `keras.losses.Loss.__call__`.
//! Everything is built from autograd ops, so gradients flow to `y_pred`.

mod crossentropy;
mod focal;
mod hinge;
mod probabilistic;
mod regression;
mod segmentation;

pub use crossentropy::{
    binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy,
};
pub use focal::{
    binary_focal_crossentropy, categorical_focal_crossentropy, BinaryFocal, CategoricalFocal,
};
pub use hinge::{categorical_hinge, hinge, squared_hinge};
pub use probabilistic::{kl_divergence, poisson};
pub use regression::{
    cosine_similarity, huber, log_cosh, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error,
};
pub use segmentation::{dice, tversky};

use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::tensor::shape::broadcast_shapes;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Keras's `backend.epsilon()`: probabilities are clipped to `[EPSILON, 1 - EPSILON]`.
pub const EPSILON: f64 = 1e-7;

/// How [`Loss::call`] reduces the weighted per-sample values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduction {
    /// Sum divided by the number of elements (not by the sum of the weights). The default.
    SumOverBatchSize,
    /// Sum.
    Sum,
    /// No reduction (Keras `None` or `"none"`).
    None,
    /// Keras 3 alias of `SumOverBatchSize`.
    Mean,
    /// Sum divided by the sum of the sample weights (0 where that sum is 0).
    MeanWithSampleWeight,
}

impl Reduction {
    /// Parses Keras's `reduction` argument: a name, or `None` (JSON null) for no reduction.
    pub fn from_value(value: &Value) -> Result<Self> {
        Ok(match value {
            Value::Null => Reduction::None,
            Value::String(s) => match s.as_str() {
                "sum_over_batch_size" => Reduction::SumOverBatchSize,
                "sum" => Reduction::Sum,
                "none" => Reduction::None,
                "mean" => Reduction::Mean,
                "mean_with_sample_weight" => Reduction::MeanWithSampleWeight,
                other => bail!(
                    InvalidArgument,
                    "Loss: invalid reduction {other:?}, expected one of \"sum_over_batch_size\", \"sum\", \"none\", None, \"mean\", \"mean_with_sample_weight\""
                ),
            },
            other => bail!(
                InvalidArgument,
                "Loss: expected reduction to be a string or None, got {other}"
            ),
        })
    }

    /// Keras's spelling (`None` for no reduction).
    pub fn name(self) -> Option<&'static str> {
        match self {
            Reduction::SumOverBatchSize => Some("sum_over_batch_size"),
            Reduction::Sum => Some("sum"),
            Reduction::None => None,
            Reduction::Mean => Some("mean"),
            Reduction::MeanWithSampleWeight => Some("mean_with_sample_weight"),
        }
    }
}

/// Which loss function, with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum LossKind {
    /// Keras's `MeanSquaredError`: the mean of `(y_true - y_pred)²` over the last axis.
    MeanSquaredError,
    /// Keras's `MeanAbsoluteError`: the mean of `|y_true - y_pred|` over the last axis.
    MeanAbsoluteError,
    /// Keras's `Huber`: quadratic for errors up to `delta`, linear beyond.
    Huber {
        /// Where the loss turns from quadratic to linear (Keras's default 1.0).
        delta: f64,
    },
    /// Keras's `BinaryCrossentropy`, with probabilities clipped to `[ε, 1 − ε]`.
    BinaryCrossentropy {
        /// Whether `y_pred` holds logits instead of probabilities.
        from_logits: bool,
        /// Labels are squeezed towards 0.5 by this much.
        label_smoothing: f64,
        /// The axis averaged over.
        axis: isize,
    },
    /// Keras's `CategoricalCrossentropy` of one-hot labels.
    CategoricalCrossentropy {
        /// Whether `y_pred` holds logits instead of probabilities.
        from_logits: bool,
        /// Labels are squeezed towards the uniform distribution by this much.
        label_smoothing: f64,
        /// The class axis.
        axis: isize,
    },
    /// Keras's `SparseCategoricalCrossentropy` of integer labels.
    SparseCategoricalCrossentropy {
        /// Whether `y_pred` holds logits instead of probabilities.
        from_logits: bool,
        /// A label whose samples count for nothing (a padding class).
        ignore_class: Option<i64>,
    },
    /// Keras's `KLDivergence`: `sum(y_true · log(y_true / y_pred))` over the last axis.
    KLDivergence,
    /// Keras's `Poisson`: the mean of `y_pred − y_true · log(y_pred)`.
    Poisson,
    /// Keras's `LogCosh`: the mean of `log(cosh(y_pred − y_true))`.
    LogCosh,
    /// Keras's `Hinge`: the mean of `max(1 − y_true · y_pred, 0)`, labels in {-1, 1}
    /// (0/1 labels are mapped to them).
    Hinge,
    /// Keras's `SquaredHinge`: the mean of `max(1 − y_true · y_pred, 0)²`.
    SquaredHinge,
    /// Keras's `CategoricalHinge`: `max(neg − pos + 1, 0)` of one-hot labels.
    CategoricalHinge,
    /// Keras's `CosineSimilarity`: minus the cosine of the angle between `y_true` and
    /// `y_pred`.
    CosineSimilarity {
        /// The axis along which the vectors lie.
        axis: isize,
    },
    /// Keras's `MeanAbsolutePercentageError`: `100 · mean(|y_true − y_pred| / |y_true|)`.
    MeanAbsolutePercentageError,
    /// Keras's `MeanSquaredLogarithmicError`: the mean of
    /// `(log(1 + y_true) − log(1 + y_pred))²`.
    MeanSquaredLogarithmicError,
    /// Keras's `BinaryFocalCrossentropy`.
    BinaryFocalCrossentropy(BinaryFocal),
    /// Keras's `CategoricalFocalCrossentropy`.
    CategoricalFocalCrossentropy(CategoricalFocal),
    /// Keras's `Dice`: `1 − 2·|y_true ∩ y_pred| / (|y_true| + |y_pred|)`.
    Dice {
        /// The axes summed over; `None` for all of them.
        axis: Option<Vec<isize>>,
    },
    /// Keras's `Tversky`: Dice with false positives weighted by `alpha` and false
    /// negatives by `beta`.
    Tversky {
        /// The weight of false positives.
        alpha: f64,
        /// The weight of false negatives.
        beta: f64,
        /// The axes summed over; `None` for all of them.
        axis: Option<Vec<isize>>,
    },
}

/// The loss classes [`Loss::from_config`] knows, by Keras class name.
pub const LOSS_CLASSES: [&str; 19] = [
    "MeanSquaredError",
    "MeanAbsoluteError",
    "Huber",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "KLDivergence",
    "Poisson",
    "LogCosh",
    "Hinge",
    "SquaredHinge",
    "CategoricalHinge",
    "CosineSimilarity",
    "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError",
    "BinaryFocalCrossentropy",
    "CategoricalFocalCrossentropy",
    "Dice",
    "Tversky",
];

/// A Keras loss object: a loss function with its options and a reduction.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// The loss function and its options.
    pub kind: LossKind,
    /// How per-sample values become the loss.
    pub reduction: Reduction,
}

impl Loss {
    /// A loss of `kind` and `reduction`, with its options validated.
    pub fn new(kind: LossKind, reduction: Reduction) -> Result<Self> {
        match &kind {
            LossKind::Huber { delta } => regression::check_delta(*delta)?,
            LossKind::BinaryCrossentropy {
                label_smoothing, ..
            } => crossentropy::check_label_smoothing(*label_smoothing, "BinaryCrossentropy")?,
            LossKind::CategoricalCrossentropy {
                label_smoothing, ..
            } => crossentropy::check_label_smoothing(*label_smoothing, "CategoricalCrossentropy")?,
            LossKind::BinaryFocalCrossentropy(o) => focal::check_focal(
                &[o.alpha],
                o.gamma,
                o.label_smoothing,
                "BinaryFocalCrossentropy",
            )?,
            LossKind::CategoricalFocalCrossentropy(o) => focal::check_focal(
                &o.alpha,
                o.gamma,
                o.label_smoothing,
                "CategoricalFocalCrossentropy",
            )?,
            LossKind::Tversky { alpha, beta, .. } => segmentation::check_tversky(*alpha, *beta)?,
            _ => {}
        }
        Ok(Loss { kind, reduction })
    }

    /// The loss of Keras class `class_name` (e.g. `"BinaryCrossentropy"`) with the keys of
    /// its Keras config (`from_logits`, `label_smoothing`, `reduction`, ...; missing keys
    /// take Keras's defaults).
    pub fn from_config(class_name: &str, config: &Value) -> Result<Loss> {
        let c = Args::new(class_name, config)?;
        let kind = match class_name {
            "MeanSquaredError" => LossKind::MeanSquaredError,
            "MeanAbsoluteError" => LossKind::MeanAbsoluteError,
            "Huber" => LossKind::Huber {
                delta: c.f64("delta", 1.0)?,
            },
            "BinaryCrossentropy" | "CategoricalCrossentropy" => {
                let (from_logits, label_smoothing, axis) = (
                    c.bool("from_logits", false)?,
                    c.f64("label_smoothing", 0.0)?,
                    c.int("axis", -1)? as isize,
                );
                if class_name == "BinaryCrossentropy" {
                    LossKind::BinaryCrossentropy {
                        from_logits,
                        label_smoothing,
                        axis,
                    }
                } else {
                    LossKind::CategoricalCrossentropy {
                        from_logits,
                        label_smoothing,
                        axis,
                    }
                }
            }
            "SparseCategoricalCrossentropy" => LossKind::SparseCategoricalCrossentropy {
                from_logits: c.bool("from_logits", false)?,
                ignore_class: c.opt_int("ignore_class")?,
            },
            "KLDivergence"
            | "Poisson"
            | "LogCosh"
            | "Hinge"
            | "SquaredHinge"
            | "CategoricalHinge"
            | "MeanAbsolutePercentageError"
            | "MeanSquaredLogarithmicError" => match class_name {
                "KLDivergence" => LossKind::KLDivergence,
                "Poisson" => LossKind::Poisson,
                "LogCosh" => LossKind::LogCosh,
                "Hinge" => LossKind::Hinge,
                "SquaredHinge" => LossKind::SquaredHinge,
                "CategoricalHinge" => LossKind::CategoricalHinge,
                "MeanAbsolutePercentageError" => LossKind::MeanAbsolutePercentageError,
                _ => LossKind::MeanSquaredLogarithmicError,
            },
            "CosineSimilarity" => LossKind::CosineSimilarity {
                axis: c.int("axis", -1)? as isize,
            },
            "BinaryFocalCrossentropy" => {
                let d = BinaryFocal::default();
                let o = BinaryFocal {
                    apply_class_balancing: c
                        .bool("apply_class_balancing", d.apply_class_balancing)?,
                    alpha: c.f64("alpha", d.alpha)?,
                    gamma: c.f64("gamma", d.gamma)?,
                    from_logits: c.bool("from_logits", d.from_logits)?,
                    label_smoothing: c.f64("label_smoothing", d.label_smoothing)?,
                    axis: c.int("axis", -1)? as isize,
                };
                LossKind::BinaryFocalCrossentropy(o)
            }
            "CategoricalFocalCrossentropy" => {
                let d = CategoricalFocal::default();
                let o = CategoricalFocal {
                    alpha: match c.opt_numbers("alpha")? {
                        None => d.alpha.clone(),
                        Some(alpha) if alpha.is_empty() => bail!(
                            InvalidArgument,
                            "{class_name}: expected `alpha` to be a number or a non-empty list of \
                             numbers, got []"
                        ),
                        Some(alpha) => alpha,
                    },
                    gamma: c.f64("gamma", d.gamma)?,
                    from_logits: c.bool("from_logits", d.from_logits)?,
                    label_smoothing: c.f64("label_smoothing", d.label_smoothing)?,
                    axis: c.int("axis", -1)? as isize,
                };
                LossKind::CategoricalFocalCrossentropy(o)
            }
            "Dice" => LossKind::Dice {
                axis: c.axes("axis")?,
            },
            "Tversky" => LossKind::Tversky {
                alpha: c.f64("alpha", 0.5)?,
                beta: c.f64("beta", 0.5)?,
                axis: c.axes("axis")?,
            },
            other => bail!(
                InvalidArgument,
                "unknown loss class {other:?}; expected one of {}",
                LOSS_CLASSES.join(", ")
            ),
        };
        let reduction = match c.get("reduction") {
            None => Reduction::SumOverBatchSize,
            Some(v) => Reduction::from_value(v)?,
        };
        c.ignore(&["name", "dtype"]);
        c.finish()?;
        Loss::new(kind, reduction)
    }

    /// The per-sample values of the loss function (Keras's `Loss.call`).
    pub fn per_sample<T: Float>(
        &self,
        y_true: &Tensor<T>,
        y_pred: &Tensor<T>,
    ) -> Result<Tensor<T>> {
        Ok(self.per_sample_masked(y_true, y_pred)?.0)
    }

    /// Per-sample values and, for a sparse loss with `ignore_class`, the mask of samples
    /// that count.
    pub(crate) fn per_sample_masked<T: Float>(
        &self,
        y_true: &Tensor<T>,
        y_pred: &Tensor<T>,
    ) -> Result<(Tensor<T>, Option<Tensor<T>>)> {
        let values = match &self.kind {
            LossKind::MeanSquaredError => mean_squared_error(y_true, y_pred)?,
            LossKind::MeanAbsoluteError => mean_absolute_error(y_true, y_pred)?,
            LossKind::Huber { delta } => huber(y_true, y_pred, *delta)?,
            LossKind::BinaryCrossentropy {
                from_logits,
                label_smoothing,
                axis,
            } => binary_crossentropy(y_true, y_pred, *from_logits, *label_smoothing, *axis)?,
            LossKind::CategoricalCrossentropy {
                from_logits,
                label_smoothing,
                axis,
            } => categorical_crossentropy(y_true, y_pred, *from_logits, *label_smoothing, *axis)?,
            LossKind::SparseCategoricalCrossentropy {
                from_logits,
                ignore_class,
            } => {
                return crossentropy::sparse_categorical_crossentropy_masked(
                    y_true,
                    y_pred,
                    *from_logits,
                    *ignore_class,
                )
            }
            LossKind::KLDivergence => kl_divergence(y_true, y_pred)?,
            LossKind::Poisson => poisson(y_true, y_pred)?,
            LossKind::LogCosh => log_cosh(y_true, y_pred)?,
            LossKind::Hinge => hinge(y_true, y_pred)?,
            LossKind::SquaredHinge => squared_hinge(y_true, y_pred)?,
            LossKind::CategoricalHinge => categorical_hinge(y_true, y_pred)?,
            LossKind::CosineSimilarity { axis } => cosine_similarity(y_true, y_pred, *axis)?,
            LossKind::MeanAbsolutePercentageError => {
                mean_absolute_percentage_error(y_true, y_pred)?
            }
            LossKind::MeanSquaredLogarithmicError => {
                mean_squared_logarithmic_error(y_true, y_pred)?
            }
            LossKind::BinaryFocalCrossentropy(o) => binary_focal_crossentropy(y_true, y_pred, o)?,
            LossKind::CategoricalFocalCrossentropy(o) => {
                categorical_focal_crossentropy(y_true, y_pred, o)?
            }
            LossKind::Dice { axis } => dice(y_true, y_pred, axis.as_deref())?,
            LossKind::Tversky { alpha, beta, axis } => {
                tversky(y_true, y_pred, *alpha, *beta, axis.as_deref())?
            }
        };
        Ok((values, None))
    }

    /// Keras's `Loss.__call__`: per-sample values, times `sample_weight` (its rank matched
    /// to theirs, then broadcast), reduced by `self.reduction`. With
    /// `"sum_over_batch_size"` the weighted sum is divided by the number of per-sample
    /// values, even when weights are given.
    pub fn call<T: Float>(
        &self,
        y_true: &Tensor<T>,
        y_pred: &Tensor<T>,
        sample_weight: Option<&Tensor<T>>,
    ) -> Result<Tensor<T>> {
        let (mut values, mask) = self.per_sample_masked(y_true, y_pred)?;
        let mut weight = sample_weight.cloned();
        if let Some(mask) = mask {
            // Keras's apply_mask: masked samples get weight 0; for the mean reductions
            // the others are scaled by total / valid, so the mean is over valid samples.
            let mask = match self.reduction {
                Reduction::SumOverBatchSize | Reduction::Mean => {
                    let total = mask.numel() as f64;
                    let valid: f64 = mask.data().iter().map(|&v| Float::to_f64(v)).sum();
                    let scale = if valid == 0.0 { 0.0 } else { total / valid };
                    mask.mul(&Tensor::scalar(T::from_f64(scale)))?
                }
                _ => mask,
            };
            weight = Some(match weight {
                Some(w) => {
                    let (m, w) = squeeze_or_expand_to_same_rank(&mask, &w, true)?;
                    weighted(&m, &w)?
                }
                None => mask,
            });
        }
        if let Some(w) = &weight {
            let (v, w) = squeeze_or_expand_to_same_rank(&values, w, true)?;
            values = weighted(&v, &w)?;
            weight = Some(w);
        }
        reduce_values(values, weight.as_ref(), self.reduction)
    }
}

/// `values * weight`, where `weight` must broadcast to the shape of `values`, or (as in
/// Keras) `values` is one value for the whole batch (Dice or Tversky over all axes).
fn weighted<T: Float>(values: &Tensor<T>, weight: &Tensor<T>) -> Result<Tensor<T>> {
    if values.rank() == 0 {
        return values.mul(weight);
    }
    let shape = broadcast_shapes(values.shape(), weight.shape(), "sample_weight").ok();
    if shape.as_deref() != Some(values.shape()) {
        bail!(
            Shape,
            "Loss: sample_weight of shape {} cannot be broadcast to the per-sample loss of shape {}",
            fmt_shape(weight.shape()),
            fmt_shape(values.shape())
        );
    }
    values.mul(weight)
}

/// Keras's `reduce_values`.
fn reduce_values<T: Float>(
    values: Tensor<T>,
    weight: Option<&Tensor<T>>,
    reduction: Reduction,
) -> Result<Tensor<T>> {
    if reduction == Reduction::None || values.rank() == 0 || values.shape() == [0] {
        return Ok(values);
    }
    let loss = values.sum(None, false)?;
    let divisor = match (reduction, weight) {
        (Reduction::Sum, _) => return Ok(loss),
        (Reduction::MeanWithSampleWeight, Some(w)) => {
            w.data().iter().map(|&v| Float::to_f64(v)).sum::<f64>()
        }
        _ => values.numel() as f64,
    };
    if divisor == 0.0 {
        // Keras's divide_no_nan: 0, even when the sum is NaN or infinite.
        return Ok(Tensor::scalar(T::zero()));
    }
    loss.mul(&scalar(1.0 / divisor))
}

/// Keras's `squeeze_or_expand_to_same_rank` on shapes: where the ranks differ by one and
/// the longer shape ends in 1, that axis is dropped, or (with `expand_rank_1`, when the
/// shorter shape has rank 1) a trailing 1 is added to the shorter one.
pub fn squeeze_or_expand_shapes(
    s1: &[usize],
    s2: &[usize],
    expand_rank_1: bool,
) -> (Vec<usize>, Vec<usize>) {
    let (mut a, mut b) = (s1.to_vec(), s2.to_vec());
    if a.len() == b.len() + 1 && a.last() == Some(&1) {
        if b.len() == 1 && expand_rank_1 {
            b.push(1);
        } else {
            a.pop();
        }
    } else if b.len() == a.len() + 1 && b.last() == Some(&1) {
        if a.len() == 1 && expand_rank_1 {
            a.push(1);
        } else {
            b.pop();
        }
    }
    (a, b)
}

/// Keras's `squeeze_or_expand_to_same_rank` on tensors (reshapes, so gradients flow).
pub fn squeeze_or_expand_to_same_rank<T: Float>(
    x1: &Tensor<T>,
    x2: &Tensor<T>,
    expand_rank_1: bool,
) -> Result<(Tensor<T>, Tensor<T>)> {
    let (a, b) = squeeze_or_expand_shapes(x1.shape(), x2.shape(), expand_rank_1);
    let x1 = if a == x1.shape() {
        x1.clone()
    } else {
        x1.reshape(&a)?
    };
    let x2 = if b == x2.shape() {
        x2.clone()
    } else {
        x2.reshape(&b)?
    };
    Ok((x1, x2))
}

/// `y_true` and `y_pred` with their ranks matched as Keras does; then their shapes must
/// be equal.
fn matched<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    op: &str,
) -> Result<(Tensor<T>, Tensor<T>)> {
    let (t, p) = squeeze_or_expand_to_same_rank(y_true, y_pred, true)?;
    if t.shape() != p.shape() {
        bail!(
            Shape,
            "{op}: y_true of shape {} and y_pred of shape {} do not match",
            fmt_shape(y_true.shape()),
            fmt_shape(y_pred.shape())
        );
    }
    Ok((t, p))
}

/// A rank-0 constant.
fn scalar<T: Float>(v: f64) -> Tensor<T> {
    Tensor::scalar(T::from_f64(v))
}

/// Mean over `axis` (a scalar stays as it is).
fn mean_over<T: Float>(x: &Tensor<T>, axis: isize) -> Result<Tensor<T>> {
    if x.rank() == 0 {
        return Ok(x.clone());
    }
    x.mean(Some(&[axis]), false)
}

/// Mean over the last axis (a scalar stays as it is).
fn mean_last<T: Float>(x: &Tensor<T>) -> Result<Tensor<T>> {
    mean_over(x, -1)
}

/// Sum over `axis` (a scalar stays as it is).
fn sum_over<T: Float>(x: &Tensor<T>, axis: isize) -> Result<Tensor<T>> {
    if x.rank() == 0 {
        return Ok(x.clone());
    }
    x.sum(Some(&[axis]), false)
}

/// Helpers of the loss and metric tests.
#[cfg(test)]
pub(crate) mod testing {
    use crate::tensor::Tensor;

    /// An f32 tensor of `shape` holding `v`.
    pub(crate) fn t32(v: &[f32], shape: &[usize]) -> Tensor<f32> {
        Tensor::from_vec(v.to_vec(), shape).unwrap()
    }

    /// Asserts that `a` and `b` agree elementwise within `tol`.
    pub(crate) fn close(a: &[f32], b: &[f32], tol: f32) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= tol, "{a:?} vs {b:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::t32;
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    fn loss(class: &str, config: Value) -> Loss {
        Loss::from_config(class, &config).unwrap()
    }

    #[test]
    fn config_defaults_and_errors() {
        let l = loss("BinaryCrossentropy", json!({}));
        assert_eq!(
            l.kind,
            LossKind::BinaryCrossentropy {
                from_logits: false,
                label_smoothing: 0.0,
                axis: -1
            }
        );
        assert_eq!(l.reduction, Reduction::SumOverBatchSize);
        assert_eq!(
            loss("Huber", json!({"reduction": null})).reduction,
            Reduction::None
        );
        assert_eq!(
            loss("Huber", json!({})).kind,
            LossKind::Huber { delta: 1.0 }
        );
        for (class, config) in [
            ("Nope", json!({})),
            ("Huber", json!({"reduction": "avg"})),
            ("Huber", json!({"deltaa": 1})),
            ("BinaryCrossentropy", json!({"label_smoothing": 1.5})),
            ("CategoricalCrossentropy", json!({"from_logits": 1})),
            (
                "SparseCategoricalCrossentropy",
                json!({"ignore_class": 0.5}),
            ),
            ("KLDivergence", json!({"axis": -1})),
            ("CosineSimilarity", json!({"axis": 1.5})),
            ("BinaryFocalCrossentropy", json!({"gamma": -2.0})),
            (
                "BinaryFocalCrossentropy",
                json!({"apply_class_balancing": 1}),
            ),
            ("BinaryFocalCrossentropy", json!({"label_smoothing": -0.1})),
            ("CategoricalFocalCrossentropy", json!({"alpha": "x"})),
            ("CategoricalFocalCrossentropy", json!({"alpha": []})),
            ("Dice", json!({"axis": [1, "2"]})),
            ("Dice", json!({"axis": true})),
            ("Tversky", json!({"beta": null})),
        ] {
            assert!(
                Loss::from_config(class, &config).is_err(),
                "{class} {config}"
            );
        }
    }

    #[test]
    fn new_loss_configs() {
        assert_eq!(
            loss("BinaryFocalCrossentropy", json!({})).kind,
            LossKind::BinaryFocalCrossentropy(BinaryFocal::default())
        );
        assert_eq!(
            loss("CategoricalFocalCrossentropy", json!({"alpha": [0.1, 0.9]})).kind,
            LossKind::CategoricalFocalCrossentropy(CategoricalFocal {
                alpha: vec![0.1, 0.9],
                ..Default::default()
            })
        );
        assert_eq!(
            loss("Dice", json!({"axis": [1, 2]})).kind,
            LossKind::Dice {
                axis: Some(vec![1, 2])
            }
        );
        assert_eq!(
            loss("Tversky", json!({"axis": 1, "alpha": 0.3})).kind,
            LossKind::Tversky {
                alpha: 0.3,
                beta: 0.5,
                axis: Some(vec![1])
            }
        );
        assert_eq!(
            loss("CosineSimilarity", json!({})).kind,
            LossKind::CosineSimilarity { axis: -1 }
        );
        for class in LOSS_CLASSES {
            let l = Loss::from_config(class, &json!({"name": "x", "reduction": "sum"}));
            assert_eq!(l.unwrap().reduction, Reduction::Sum, "{class}");
        }
        let err = Loss::from_config("Nope", &json!({}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("Tversky") && err.contains("\"Nope\""), "{err}");
    }

    #[test]
    fn nan_propagates_through_every_reduction() {
        // The clip used to turn NaN into 1e-7: BinaryCrossentropy()([[1]], [[nan]]) was 16.1.
        let t = t32(&[1.], &[1, 1]);
        let p = t32(&[f32::NAN], &[1, 1]);
        for reduction in [
            "sum_over_batch_size",
            "sum",
            "none",
            "mean",
            "mean_with_sample_weight",
        ] {
            for class in [
                "BinaryCrossentropy",
                "CategoricalCrossentropy",
                "KLDivergence",
                "Poisson",
            ] {
                let l = loss(class, json!({ "reduction": reduction }));
                let v = l.call(&t, &p, None).unwrap().to_vec();
                assert!(v.iter().all(|x| x.is_nan()), "{class} {reduction}: {v:?}");
                let w = t32(&[0.5], &[1]);
                let v = l.call(&t, &p, Some(&w)).unwrap().to_vec();
                assert!(v.iter().all(|x| x.is_nan()), "{class} {reduction}: {v:?}");
            }
        }
        // A NaN label or weight is NaN too.
        let bce = loss("BinaryCrossentropy", json!({}));
        let half = t32(&[0.5], &[1, 1]);
        assert!(bce.call(&p, &half, None).unwrap().item().unwrap().is_nan());
        let w = t32(&[f32::NAN], &[1]);
        assert!(bce
            .call(&t, &half, Some(&w))
            .unwrap()
            .item()
            .unwrap()
            .is_nan());
        // Keras's divide_no_nan: weights summing to 0 give 0, even over NaN values.
        let mwsw = loss(
            "MeanSquaredError",
            json!({"reduction": "mean_with_sample_weight"}),
        );
        let t2 = t32(&[f32::NAN, 1.], &[2, 1]);
        let zeros = t32(&[0., 0.], &[2]);
        let v = mwsw
            .call(&t2, &t32(&[0., 0.], &[2, 1]), Some(&zeros))
            .unwrap();
        assert_eq!(v.item().unwrap(), 0.0);
    }

    #[test]
    fn one_value_for_the_batch_is_weighted_by_broadcasting() {
        // Dice over all axes gives one value; Keras multiplies it by each weight and
        // reduces those (0.6164384 in the Dice docs).
        let t = t32(&[1., 1., 0., 0., 1., 1., 0., 0.], &[2, 2, 2, 1]);
        let p = t32(&[0., 1., 0., 1., 0.4, 0., 0., 0.9], &[2, 2, 2, 1]);
        let dice = loss("Dice", json!({}));
        let v = dice.call(&t, &p, None).unwrap().item().unwrap();
        assert!((v - 0.616_438_4).abs() < 1e-6, "{v}");
        let w = t32(&[1., 0.5], &[2]);
        let v = dice.call(&t, &p, Some(&w)).unwrap().item().unwrap();
        assert!((v - 0.616_438_4 * 0.75).abs() < 1e-6, "{v}");
        let mwsw = loss("Dice", json!({"reduction": "mean_with_sample_weight"}));
        let v = mwsw.call(&t, &p, Some(&w)).unwrap().item().unwrap();
        assert!((v - 0.616_438_4).abs() < 1e-6, "{v}");
    }

    #[test]
    fn keras_docstring_reductions() {
        // keras.losses.CategoricalCrossentropy docs: 1.177, weighted 0.814, sum 2.354.
        let t = t32(&[0., 1., 0., 0., 0., 1.], &[2, 3]);
        let p = t32(&[0.05, 0.95, 0., 0.1, 0.8, 0.1], &[2, 3]);
        let cce = loss("CategoricalCrossentropy", json!({}));
        let v = cce.call(&t, &p, None).unwrap().item().unwrap();
        assert!((v - 1.177).abs() < 1e-3, "{v}");
        let w = t32(&[0.3, 0.7], &[2]);
        let v = cce.call(&t, &p, Some(&w)).unwrap().item().unwrap();
        assert!((v - 0.814).abs() < 1e-3, "{v}");
        let sum = loss("CategoricalCrossentropy", json!({"reduction": "sum"}));
        let v = sum.call(&t, &p, None).unwrap().item().unwrap();
        assert!((v - 2.354).abs() < 1e-3, "{v}");
        // BinaryCrossentropy(from_logits=True) docs: 0.8654, weights [0.8, 0.2] -> 0.243.
        let t = t32(&[0., 1., 0., 0.], &[2, 2]);
        let logits = t32(&[-18.6, 0.51, 2.94, -12.8], &[2, 2]);
        let bce = loss("BinaryCrossentropy", json!({"from_logits": true}));
        let v = bce.call(&t, &logits, None).unwrap().item().unwrap();
        assert!((v - 0.8654).abs() < 1e-3, "{v}");
        let w = t32(&[0.8, 0.2], &[2]);
        let v = bce.call(&t, &logits, Some(&w)).unwrap().item().unwrap();
        assert!((v - 0.243).abs() < 1e-3, "{v}");
        let none = loss("BinaryCrossentropy", json!({"reduction": "none"}));
        assert_eq!(none.call(&t, &logits, None).unwrap().shape(), &[2]);
    }

    #[test]
    fn sum_over_batch_size_divides_by_elements_not_weights() {
        let t = t32(&[0., 0., 0., 0.], &[4, 1]);
        let p = t32(&[1., 2., 3., 4.], &[4, 1]);
        let mse = loss("MeanSquaredError", json!({}));
        let w = t32(&[1., 0., 0., 0.], &[4]);
        assert_eq!(mse.call(&t, &p, Some(&w)).unwrap().item().unwrap(), 0.25);
        let mwsw = loss(
            "MeanSquaredError",
            json!({"reduction": "mean_with_sample_weight"}),
        );
        assert_eq!(mwsw.call(&t, &p, Some(&w)).unwrap().item().unwrap(), 1.0);
        let scalar = Tensor::scalar(2.0f32);
        assert_eq!(
            mse.call(&t, &p, Some(&scalar)).unwrap().item().unwrap(),
            15.0
        );
        let bad = t32(&[1., 2., 3.], &[3]);
        let err = mse.call(&t, &p, Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("sample_weight of shape (3,)"), "{err}");
    }

    #[test]
    fn ignore_class_averages_over_valid_samples() {
        let p = t32(&[0.5, 0.5, 0.9, 0.1, 0.2, 0.8], &[3, 2]);
        let labels = t32(&[0., -1., 1.], &[3]);
        let scce = loss("SparseCategoricalCrossentropy", json!({"ignore_class": -1}));
        let v = scce.call(&labels, &p, None).unwrap().item().unwrap();
        let expected = (-(0.5f32.ln()) - 0.8f32.ln()) / 2.0;
        assert!((v - expected).abs() < 1e-6, "{v} vs {expected}");
        let sum = loss(
            "SparseCategoricalCrossentropy",
            json!({"ignore_class": -1, "reduction": "sum"}),
        );
        let v = sum.call(&labels, &p, None).unwrap().item().unwrap();
        assert!((v - 2.0 * expected).abs() < 1e-6);
    }

    #[test]
    fn gradients_through_call() {
        let probs = rand(&[3, 4], 1).map(|v| (v + 1.0) * 0.45 + 0.05).unwrap();
        let logits = rand(&[3, 4], 2).map(|v| v * 3.0).unwrap();
        let labels = rand(&[3, 4], 3).map(|v| (v + 1.0) / 2.0).unwrap();
        let weights = rand(&[3], 4).map(|v| v + 1.5).unwrap();
        let classes = Tensor::<f64>::from_vec(vec![2., 0., 3.], &[3, 1]).unwrap();
        let signs = labels.map(|v| if v > 0.5 { 1.0 } else { -1.0 }).unwrap();
        let one_hot = Tensor::<f64>::from_vec(
            vec![0., 1., 0., 0., 1., 0., 0., 0., 0., 0., 0., 1.],
            &[3, 4],
        )
        .unwrap();
        // Labels away from the predictions, where |y_true - y_pred| has its kink.
        let shifted = labels.map(|v| v + 2.0).unwrap();
        let reductions = [
            "sum_over_batch_size",
            "sum",
            "none",
            "mean_with_sample_weight",
        ];
        for reduction in reductions {
            for w in [None, Some(&weights)] {
                let cases = [
                    ("MeanSquaredError", json!({}), &labels, &probs),
                    ("MeanAbsoluteError", json!({}), &labels, &probs),
                    ("Huber", json!({"delta": 0.5}), &labels, &logits),
                    ("BinaryCrossentropy", json!({}), &labels, &probs),
                    (
                        "BinaryCrossentropy",
                        json!({"from_logits": true, "label_smoothing": 0.1}),
                        &labels,
                        &logits,
                    ),
                    (
                        "CategoricalCrossentropy",
                        json!({"label_smoothing": 0.2}),
                        &labels,
                        &probs,
                    ),
                    (
                        "CategoricalCrossentropy",
                        json!({"from_logits": true}),
                        &labels,
                        &logits,
                    ),
                    ("SparseCategoricalCrossentropy", json!({}), &classes, &probs),
                    (
                        "SparseCategoricalCrossentropy",
                        json!({"from_logits": true, "ignore_class": 3}),
                        &classes,
                        &logits,
                    ),
                    ("KLDivergence", json!({}), &labels, &probs),
                    ("Poisson", json!({}), &labels, &probs),
                    ("LogCosh", json!({}), &labels, &logits),
                    ("Hinge", json!({}), &signs, &probs),
                    ("SquaredHinge", json!({}), &signs, &probs),
                    ("CategoricalHinge", json!({}), &one_hot, &probs),
                    ("CosineSimilarity", json!({}), &labels, &logits),
                    ("MeanAbsolutePercentageError", json!({}), &shifted, &probs),
                    ("MeanSquaredLogarithmicError", json!({}), &labels, &probs),
                    (
                        "BinaryFocalCrossentropy",
                        json!({"apply_class_balancing": true, "from_logits": true}),
                        &labels,
                        &logits,
                    ),
                    (
                        "CategoricalFocalCrossentropy",
                        json!({"alpha": [0.1, 0.2, 0.3, 0.4], "label_smoothing": 0.1}),
                        &labels,
                        &probs,
                    ),
                    ("Dice", json!({"axis": 1}), &labels, &probs),
                    ("Dice", json!({}), &labels, &probs),
                    (
                        "Tversky",
                        json!({"alpha": 0.7, "beta": 0.2, "axis": [1]}),
                        &labels,
                        &probs,
                    ),
                ];
                for (class, mut config, t, p) in cases {
                    config["reduction"] = json!(reduction);
                    let l = loss(class, config);
                    let t = (*t).clone();
                    check_grad(&[(*p).clone()], |x| l.call(&t, &x[0], w));
                }
            }
        }
    }
}
