//! Mean-type metrics: `Mean` and Keras's `MeanMetricWrapper` family (accuracies,
//! regression errors), plus `RootMeanSquaredError`.

use super::values::{argmax, Values};
use super::Metric;
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::losses::squeeze_or_expand_shapes;
use crate::tensor::Tensor;

/// The per-sample function a [`MeanMetric`] averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MeanFn {
    /// `Mean`: the values themselves (passed as `y_pred`; `y_true` is ignored).
    Values,
    /// `BinaryAccuracy`: the share of predictions on the side of `threshold` that their
    /// label is on.
    BinaryAccuracy {
        /// Predictions above it count as 1 (Keras's default 0.5).
        threshold: f64,
    },
    /// `CategoricalAccuracy`: whether the top class of y_pred is that of one-hot y_true.
    CategoricalAccuracy,
    /// `SparseCategoricalAccuracy`: whether the top class of y_pred is the integer label.
    SparseCategoricalAccuracy,
    /// `TopKCategoricalAccuracy`: whether the one-hot label is among the `k` top classes.
    TopKCategoricalAccuracy {
        /// How many top classes count (Keras's default 5).
        k: usize,
    },
    /// `SparseTopKCategoricalAccuracy`: whether the integer label is among the `k` top
    /// classes.
    SparseTopKCategoricalAccuracy {
        /// How many top classes count (Keras's default 5).
        k: usize,
    },
    /// `MeanSquaredError`: the mean of `(y_true - y_pred)²` over the last axis.
    MeanSquaredError,
    /// `MeanAbsoluteError`: the mean of `|y_true - y_pred|` over the last axis.
    MeanAbsoluteError,
    /// `RootMeanSquaredError`: squared errors, unreduced; the result is the square root.
    RootMeanSquaredError,
}

/// A weighted running mean of per-sample values (Keras's `Mean`, `MeanMetricWrapper`
/// and `RootMeanSquaredError`), accumulated in f64.
#[derive(Debug, Clone)]
pub struct MeanMetric {
    /// What is averaged.
    pub func: MeanFn,
    total: f64,
    count: f64,
}

impl MeanMetric {
    /// A zeroed mean of `func`; refuses a `BinaryAccuracy` threshold outside (0, 1).
    pub fn new(func: MeanFn) -> Result<Self> {
        match func {
            MeanFn::BinaryAccuracy { threshold } if !(threshold > 0.0 && threshold < 1.0) => bail!(
                InvalidArgument,
                "BinaryAccuracy: expected threshold in the open interval (0, 1), got threshold={threshold}"
            ),
            MeanFn::TopKCategoricalAccuracy { k: 0 }
            | MeanFn::SparseTopKCategoricalAccuracy { k: 0 } => {
                bail!(InvalidArgument, "top-k accuracy: expected k >= 1, got k=0")
            }
            _ => {}
        }
        Ok(MeanMetric {
            func,
            total: 0.0,
            count: 0.0,
        })
    }

    fn values(&self, y_true: &Tensor, y_pred: &Tensor) -> Result<Values> {
        let (t, p) = (Values::of(y_true), Values::of(y_pred));
        Ok(match self.func {
            MeanFn::Values => p,
            MeanFn::BinaryAccuracy { threshold } => {
                let (t, p) = matched(t, p, "binary_accuracy")?;
                let thr = threshold as f32 as f64;
                let hits = t
                    .data
                    .iter()
                    .zip(&p.data)
                    .map(|(&t, &p)| f64::from(t == if p > thr { 1.0 } else { 0.0 }))
                    .collect();
                Values::new(t.shape, hits).mean_last()
            }
            MeanFn::CategoricalAccuracy => {
                let labels = one_hot_labels(&t, &p, "categorical_accuracy")?;
                let hits = p
                    .rows()
                    .zip(&labels)
                    .map(|(row, &l)| f64::from(argmax(row) == l))
                    .collect();
                Values::new(p.shape[..p.rank() - 1].to_vec(), hits)
            }
            MeanFn::SparseCategoricalAccuracy => {
                let t = sparse_labels(t, &p, "sparse_categorical_accuracy")?;
                let hits = p
                    .rows()
                    .zip(&t.data)
                    .map(|(row, &l)| f64::from(argmax(row) as f64 == l))
                    .collect();
                Values::new(t.shape, hits)
            }
            MeanFn::TopKCategoricalAccuracy { k } => {
                let labels = one_hot_labels(&t, &p, "top_k_categorical_accuracy")?;
                let hits = p
                    .rows()
                    .zip(&labels)
                    .map(|(row, &l)| f64::from(in_top_k(row, l as f64, k)))
                    .collect();
                Values::new(p.shape[..p.rank() - 1].to_vec(), hits)
            }
            MeanFn::SparseTopKCategoricalAccuracy { k } => {
                let shape = t.shape.clone();
                let t = sparse_labels(t, &p, "sparse_top_k_categorical_accuracy")?;
                let hits = p
                    .rows()
                    .zip(&t.data)
                    .map(|(row, &l)| f64::from(in_top_k(row, l.trunc(), k)))
                    .collect();
                Values::new(shape, hits)
            }
            MeanFn::MeanSquaredError | MeanFn::MeanAbsoluteError | MeanFn::RootMeanSquaredError => {
                let (t, p) = matched(t, p, "mean_squared_error")?;
                let err = t
                    .data
                    .iter()
                    .zip(&p.data)
                    .map(|(t, p)| match self.func {
                        MeanFn::MeanAbsoluteError => (p - t).abs(),
                        _ => (p - t) * (p - t),
                    })
                    .collect();
                let err = Values::new(t.shape, err);
                match self.func {
                    MeanFn::RootMeanSquaredError => err,
                    _ => err.mean_last(),
                }
            }
        })
    }
}

impl Metric for MeanMetric {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        let values = self.values(y_true, y_pred)?;
        let (total, count) = weighted_sums(values, sample_weight.map(Values::of))?;
        self.total += total;
        self.count += count;
        Ok(())
    }

    fn result(&self) -> f64 {
        let mean = if self.count == 0.0 {
            0.0
        } else {
            self.total / self.count
        };
        match self.func {
            MeanFn::RootMeanSquaredError => mean.sqrt(),
            _ => mean,
        }
    }

    fn reset(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
    }
}

/// Keras's `reduce_to_samplewise_values`: `values` weighted by `weight` (its rank matched
/// to theirs, the values' extra axes folded first, then broadcast), folded to one value
/// per sample; and the weights folded to one per sample. Folding is the mean (`Mean`) or,
/// with `sum`, the sum (`Sum`).
pub(crate) fn samplewise_values(
    values: Values,
    weight: Option<Values>,
    sum: bool,
) -> Result<(Values, Option<Values>)> {
    let fold = |v: &Values, axis| {
        if sum {
            v.sum_from(axis)
        } else {
            v.mean_from(axis)
        }
    };
    let mut values = values;
    let mut weight = weight;
    if let Some(w) = weight.take() {
        let (vs, ws) = squeeze_or_expand_shapes(&values.shape, &w.shape, true);
        values.shape = vs;
        let w = Values::new(ws, w.data);
        let w_rank = w.rank();
        if values.rank() > w_rank {
            values = fold(&values, w_rank);
        }
        let w = w.broadcast_to(&values.shape, "sample_weight")?;
        for (v, w) in values.data.iter_mut().zip(&w.data) {
            *v *= w;
        }
        weight = Some(if w_rank > 1 { fold(&w, 1) } else { w });
    }
    if values.rank() > 1 {
        values = fold(&values, 1);
    }
    Ok((values, weight))
}

/// Keras's `Mean.update_state`: the weighted sum of the values and the sum of the weights
/// (or the number of samples).
pub(crate) fn weighted_sums(values: Values, weight: Option<Values>) -> Result<(f64, f64)> {
    let (values, weight) = samplewise_values(values, weight, false)?;
    let total = values.data.iter().sum();
    let count = match weight {
        Some(w) => w.data.iter().sum(),
        None => values.shape.first().map_or(1.0, |&n| n as f64),
    };
    Ok((total, count))
}

/// `y_true` and `y_pred` with ranks matched as Keras does; their shapes must then agree.
fn matched(t: Values, p: Values, op: &str) -> Result<(Values, Values)> {
    let (ts, ps) = squeeze_or_expand_shapes(&t.shape, &p.shape, true);
    if ts != ps {
        bail!(
            Shape,
            "{op}: y_true of shape {} and y_pred of shape {} do not match",
            fmt_shape(&t.shape),
            fmt_shape(&p.shape)
        );
    }
    Ok((Values::new(ts, t.data), Values::new(ps, p.data)))
}

/// The class of each one-hot row of `t` (its argmax); `t` and `p` must have one shape.
fn one_hot_labels(t: &Values, p: &Values, op: &str) -> Result<Vec<usize>> {
    if t.shape != p.shape || p.rank() == 0 {
        bail!(
            Shape,
            "{op}: expected one-hot y_true with the shape of y_pred (batch, classes), got y_true of shape {} and y_pred of shape {}",
            fmt_shape(&t.shape),
            fmt_shape(&p.shape)
        );
    }
    Ok(t.rows().map(argmax).collect())
}

/// Class-index labels of shape `y_pred.shape[:-1]` (a trailing 1 is dropped).
fn sparse_labels(t: Values, p: &Values, op: &str) -> Result<Values> {
    let t = if t.rank() == p.rank() && t.last_dim() == 1 && t.rank() > 0 {
        Values::new(t.shape[..t.rank() - 1].to_vec(), t.data)
    } else {
        t
    };
    if p.rank() == 0 || t.shape != p.shape[..p.rank() - 1] {
        bail!(
            Shape,
            "{op}: expected y_true of shape y_pred.shape[:-1] (class indices), got y_true of shape {} and y_pred of shape {}",
            fmt_shape(&t.shape),
            fmt_shape(&p.shape)
        );
    }
    Ok(t)
}

/// TensorFlow's `in_top_k`: the target is among the top `k` when fewer than `k`
/// predictions are strictly larger (ties all count as in); false for an invalid target
/// or a non-finite prediction.
fn in_top_k(row: &[f64], target: f64, k: usize) -> bool {
    if !(target >= 0.0 && target < row.len() as f64) {
        return false;
    }
    let v = row[target as usize];
    v.is_finite() && row.iter().filter(|&&x| x > v).count() < k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::testing::t32 as t;
    use crate::metrics::testing::close;

    fn run(func: MeanFn, y_true: &Tensor, y_pred: &Tensor, w: Option<&Tensor>) -> f64 {
        let mut m = MeanMetric::new(func).unwrap();
        m.update(y_true, y_pred, w).unwrap();
        m.result()
    }

    #[test]
    fn keras_docstring_values() {
        let yt = t(&[1., 1., 0., 0.], &[4, 1]);
        let yp = t(&[0.98, 1., 0., 0.6], &[4, 1]);
        let ba = MeanFn::BinaryAccuracy { threshold: 0.5 };
        close(run(ba, &yt, &yp, None), 0.75);
        close(run(ba, &yt, &yp, Some(&t(&[1., 0., 0., 1.], &[4]))), 0.5);
        let yt = t(&[0., 0., 1., 0., 1., 0.], &[2, 3]);
        let yp = t(&[0.1, 0.9, 0.8, 0.05, 0.95, 0.], &[2, 3]);
        close(run(MeanFn::CategoricalAccuracy, &yt, &yp, None), 0.5);
        let w = t(&[0.7, 0.3], &[2]);
        close(run(MeanFn::CategoricalAccuracy, &yt, &yp, Some(&w)), 0.3);
        let top1 = MeanFn::TopKCategoricalAccuracy { k: 1 };
        close(run(top1, &yt, &yp, Some(&w)), 0.3);
        let sparse = t(&[2., 1.], &[2]);
        let stop1 = MeanFn::SparseTopKCategoricalAccuracy { k: 1 };
        close(run(stop1, &sparse, &yp, Some(&w)), 0.3);
        let sp = t(&[0.1, 0.6, 0.3, 0.05, 0.95, 0.], &[2, 3]);
        close(
            run(
                MeanFn::SparseCategoricalAccuracy,
                &t(&[2., 1.], &[2, 1]),
                &sp,
                Some(&w),
            ),
            0.3,
        );
        // RootMeanSquaredError docs: 0.5, and 0.70710677 with weights [1, 0].
        let yt = t(&[0., 1., 0., 0.], &[2, 2]);
        let yp = t(&[1., 1., 0., 0.], &[2, 2]);
        close(run(MeanFn::RootMeanSquaredError, &yt, &yp, None), 0.5);
        let w = t(&[1., 0.], &[2]);
        close(
            run(MeanFn::RootMeanSquaredError, &yt, &yp, Some(&w)),
            0.5f64.sqrt(),
        );
        close(run(MeanFn::MeanSquaredError, &yt, &yp, None), 0.25);
        close(run(MeanFn::MeanAbsoluteError, &yt, &yp, Some(&w)), 0.5);
        // Mean docs: 4, and 2 with weights [1, 1, 0, 0].
        let v = t(&[1., 3., 5., 7.], &[4]);
        close(run(MeanFn::Values, &v, &v, None), 4.0);
        close(
            run(MeanFn::Values, &v, &v, Some(&t(&[1., 1., 0., 0.], &[4]))),
            2.0,
        );
    }

    #[test]
    fn accumulates_and_resets() {
        let mut m = MeanMetric::new(MeanFn::Values).unwrap();
        m.update(&Tensor::scalar(0.), &t(&[1., 3.], &[2]), None)
            .unwrap();
        m.update(&Tensor::scalar(0.), &t(&[8.], &[1]), None)
            .unwrap();
        close(m.result(), 4.0);
        m.update(
            &Tensor::scalar(0.),
            &Tensor::scalar(2.0),
            Some(&Tensor::scalar(3.0)),
        )
        .unwrap();
        close(m.result(), (12.0 + 6.0) / 6.0);
        m.reset();
        assert_eq!(m.result(), 0.0);
    }

    #[test]
    fn top_k_ties_count_as_in() {
        assert!(in_top_k(&[0.5, 0.5, 0.5], 2.0, 1));
        assert!(!in_top_k(&[0.1, 0.5, 0.4], 0.0, 2));
        assert!(!in_top_k(&[0.1, 0.5], 5.0, 2));
    }

    #[test]
    fn bad_inputs() {
        assert!(MeanMetric::new(MeanFn::BinaryAccuracy { threshold: 1.0 }).is_err());
        assert!(MeanMetric::new(MeanFn::TopKCategoricalAccuracy { k: 0 }).is_err());
        let mut m = MeanMetric::new(MeanFn::CategoricalAccuracy).unwrap();
        let err = m
            .update(&t(&[1., 0.], &[1, 2]), &t(&[1., 0., 0.], &[1, 3]), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("(1, 2)") && err.contains("(1, 3)"), "{err}");
        let mut m = MeanMetric::new(MeanFn::Values).unwrap();
        let v = t(&[1., 2.], &[2]);
        assert!(m.update(&v, &v, Some(&t(&[1., 2., 3.], &[3]))).is_err());
    }
}
