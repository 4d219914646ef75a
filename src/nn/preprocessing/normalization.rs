//! Normalization: `(x - mean) / sqrt(variance)` per feature, with `adapt`'s statistics.

use super::{axes_from_args, tensor_from_json};
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::{Layer, NewWeight};
use crate::tensor::shape::normalize_axis;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Keras's `backend.epsilon()`: the smallest standard deviation divided by.
const EPSILON: f64 = 1e-7;

/// Shifts and scales each feature (each index along the kept `axis`; all elements
/// alike when `axis` is empty) to mean 0 and variance 1:
/// `(x - mean) / max(sqrt(variance), 1e-7)`, or with `invert` the way back.
pub struct Normalization<T: Float = f32> {
    /// The kept axes, as given (normalized against each input's rank).
    pub axis: Vec<isize>,
    /// Whether the layer undoes the normalization: `mean + x · max(sqrt(variance), 1e-7)`.
    pub invert: bool,
    /// Of the kept axes' sizes (adapted weights), or of any shape that aligns with the
    /// kept axes from the right (a given `mean`).
    pub mean: Tensor<T>,
    /// Shaped as `mean`.
    pub variance: Tensor<T>,
}

/// The kept axes of an input of `rank`, sorted, or an error naming `axis`.
fn kept_axes(axis: &[isize], rank: usize) -> Result<Vec<usize>> {
    let mut keep = axis
        .iter()
        .map(|&a| normalize_axis(a, rank, "Normalization"))
        .collect::<Result<Vec<_>>>()?;
    keep.sort_unstable();
    keep.dedup();
    Ok(keep)
}

impl<T: Float> Normalization<T> {
    /// The layer of a Keras `Normalization` config (`axis`, `invert`, `mean`,
    /// `variance`) sharing `weights`: the adapted `[mean, variance, count]`, or none
    /// when the config gives `mean` and `variance`.
    pub fn from_config(config: &Value, weights: &[Tensor<T>]) -> Result<Self> {
        let args = Args::new("Normalization", config)?;
        let axis = axes_from_args(&args, "axis", vec![-1])?;
        let invert = args.or("invert", false)?;
        let (mean, variance) = match (args.given("mean"), args.given("variance"), weights.len()) {
            (Some(m), Some(v), 0) => (
                tensor_from_json("Normalization", "mean", m)?,
                tensor_from_json("Normalization", "variance", v)?,
            ),
            (None, None, 3) => (weights[0].clone(), weights[1].clone()),
            (m, v, n) => bail!(
                InvalidArgument,
                "Normalization: expected both `mean` and `variance` in the config and no \
                 weights, or neither and 3 weights (mean, variance, count); got mean {}, \
                 variance {} and {n} weights",
                if m.is_some() { "set" } else { "None" },
                if v.is_some() { "set" } else { "None" },
            ),
        };
        if mean.shape() != variance.shape() {
            bail!(
                Shape,
                "Normalization: `mean` and `variance` must have the same shape, got {} and {}",
                fmt_shape(mean.shape()),
                fmt_shape(variance.shape())
            );
        }
        if mean.rank() > axis.len() {
            bail!(
                Shape,
                "Normalization: the rank of `mean` must be at most the number of axes ({}), got mean shape {} for axis {}",
                axis.len(),
                fmt_shape(mean.shape()),
                fmt_shape(&axis)
            );
        }
        Ok(Normalization {
            axis,
            invert,
            mean,
            variance,
        })
    }

    /// The shape `mean` takes to broadcast against an input of `shape`: its axes placed
    /// on the kept axes, aligned from the right; 1 elsewhere.
    fn param_shape(&self, shape: &[usize]) -> Result<Vec<usize>> {
        let keep = kept_axes(&self.axis, shape.len())?;
        let mut out = vec![1; shape.len()];
        for (&axis, &size) in keep.iter().rev().zip(self.mean.shape().iter().rev()) {
            if size != shape[axis] && size != 1 {
                bail!(
                    Shape,
                    "Normalization: expected axis {axis} of the input to have size {size} (the \
                     mean's), got input shape {}",
                    fmt_shape(shape)
                );
            }
            out[axis] = size;
        }
        Ok(out)
    }

    /// `x` normalized per feature (or denormalized, with `invert`).
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let param_shape = self.param_shape(x.shape())?;
        let mean = self.mean.detach().reshape(&param_shape)?;
        let eps = T::from_f64(EPSILON);
        let std = self
            .variance
            .map(move |v| v.sqrt().max(eps))?
            .reshape(&param_shape)?;
        if self.invert {
            mean.add(&x.mul(&std)?)
        } else {
            x.sub(&mean)?.div(&std)
        }
    }
}

/// `adapt`'s statistics over `batches`: the mean and (biased) variance of each index of
/// the kept `axis`, merged batch by batch with Keras's formula (for one batch, its plain
/// mean and variance). Computed in f64; shaped as the kept axes.
pub fn adapt_moments<T: Float>(
    batches: &[Tensor<T>],
    axis: &[isize],
) -> Result<(Tensor<T>, Tensor<T>)> {
    let Some(first) = batches.first() else {
        bail!(
            InvalidArgument,
            "Normalization.adapt: expected at least one batch of data, got none"
        );
    };
    let keep = kept_axes(axis, first.rank())?;
    let kept_shape: Vec<usize> = keep.iter().map(|&a| first.shape()[a]).collect();
    let features: usize = kept_shape.iter().product();
    let (mut total_mean, mut total_var) = (vec![0.0f64; features], vec![0.0f64; features]);
    let mut total_count = 0usize;
    for batch in batches {
        let fits = batch.rank() == first.rank()
            && keep.iter().all(|&a| batch.shape()[a] == first.shape()[a]);
        if !fits {
            bail!(
                Shape,
                "Normalization.adapt: a batch of shape {} does not match the first batch's shape {} on the kept axes",
                fmt_shape(batch.shape()),
                fmt_shape(first.shape())
            );
        }
        // Reduced axes first, kept axes last: rows of `features` values.
        let order: Vec<isize> = (0..batch.rank())
            .filter(|a| !keep.contains(a))
            .chain(keep.iter().copied())
            .map(|a| a as isize)
            .collect();
        let rows_data = crate::no_grad(|| batch.permute(Some(&order)))?.to_vec();
        let count = rows_data.len().checked_div(features).unwrap_or(0);
        if count == 0 {
            continue;
        }
        let (mut mean, mut var) = (vec![0.0f64; features], vec![0.0f64; features]);
        for row in rows_data.chunks(features) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += (*v).to_f64();
            }
        }
        mean.iter_mut().for_each(|m| *m /= count as f64);
        for row in rows_data.chunks(features) {
            for ((s, v), m) in var.iter_mut().zip(row).zip(&mean) {
                *s += ((*v).to_f64() - m).powi(2);
            }
        }
        var.iter_mut().for_each(|s| *s /= count as f64);
        total_count += count;
        let batch_weight = count as f64 / total_count as f64;
        let existing_weight = 1.0 - batch_weight;
        for k in 0..features {
            let new_mean = total_mean[k] * existing_weight + mean[k] * batch_weight;
            total_var[k] = (total_var[k] + (total_mean[k] - new_mean).powi(2)) * existing_weight
                + (var[k] + (mean[k] - new_mean).powi(2)) * batch_weight;
            total_mean[k] = new_mean;
        }
    }
    let to_tensor =
        |v: Vec<f64>| Tensor::from_vec(v.into_iter().map(T::from_f64).collect(), &kept_shape);
    Ok((to_tensor(total_mean)?, to_tensor(total_var)?))
}

impl Normalization<f32> {
    /// A new layer holds no weights when its config gives `mean` and `variance`;
    /// otherwise its statistics must first be adapted to data (Python's `adapt`).
    pub fn new_weights(config: &Value, _input_shape: &[usize]) -> Result<Vec<NewWeight>> {
        let args = Args::new("Normalization", config)?;
        if args.given("mean").is_none() || args.given("variance").is_none() {
            bail!(
                InvalidArgument,
                "Normalization: a new layer needs `mean` and `variance` in its config, or \
                 statistics adapted to data (`adapt` in Python)"
            );
        }
        Ok(Vec::new())
    }
}

impl Layer for Normalization<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Normalization::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn keras_docstring_examples() {
        // Normalization(axis=None).adapt([1..5]) then [1, 2, 3].
        let data = Tensor::<f64>::from_vec(vec![1., 2., 3., 4., 5.], &[5]).unwrap();
        let (m, v) = adapt_moments(&[data], &[]).unwrap();
        assert_eq!((m.to_vec(), v.to_vec()), (vec![3.0], vec![2.0]));
        let layer =
            Normalization::from_config(&json!({"axis": null}), &[m, v, Tensor::scalar(0.0)])
                .unwrap();
        let y = layer
            .forward(&Tensor::from_vec(vec![1., 2., 3.], &[3]).unwrap())
            .unwrap();
        let s = 2f64.sqrt();
        assert_eq!(y.to_vec(), vec![-2.0 / s, -1.0 / s, 0.0]);
        // Per feature, and inverted.
        let data = Tensor::<f64>::from_vec(
            vec![0., 7., 4., 2., 9., 6., 0., 7., 4., 2., 9., 6.],
            &[4, 3],
        )
        .unwrap();
        let (m, v) = adapt_moments(&[data], &[-1]).unwrap();
        assert_eq!(
            (m.to_vec(), v.to_vec()),
            (vec![1., 8., 5.], vec![1., 1., 1.])
        );
        let config = json!({"axis": [-1], "invert": true});
        let inverse = Normalization::from_config(&config, &[m, v, Tensor::scalar(0.0)]).unwrap();
        let y = inverse
            .forward(&Tensor::from_vec(vec![1., 2., 3.], &[1, 3]).unwrap())
            .unwrap();
        assert_eq!(y.to_vec(), vec![2., 10., 8.]);
        // Given mean and variance broadcast.
        let given =
            Normalization::<f64>::from_config(&json!({"mean": 3.0, "variance": 2.0}), &[]).unwrap();
        let y = given
            .forward(&Tensor::from_vec(vec![1., 2., 3.], &[3, 1]).unwrap())
            .unwrap();
        assert_eq!(y.to_vec(), vec![-2.0 / s, -1.0 / s, 0.0]);
    }

    #[test]
    fn batches_merge_to_the_whole_data_statistics() {
        let data = rand(&[10, 2, 3], 3);
        let (m, v) = adapt_moments(&[data.clone()], &[1, 2]).unwrap();
        let parts = [data.narrow(0, 0, 3).unwrap(), data.narrow(0, 3, 7).unwrap()];
        let (m2, v2) = adapt_moments(&parts, &[1, 2]).unwrap();
        assert_eq!(m.shape(), &[2, 3]);
        for (a, b) in m
            .to_vec()
            .iter()
            .zip(m2.to_vec())
            .chain(v.to_vec().iter().zip(v2.to_vec()))
        {
            assert!((a - b).abs() < 1e-12);
        }
        let bad = [data.clone(), rand(&[4, 3, 3], 1)];
        assert!(adapt_moments(&bad, &[1, 2]).is_err());
        assert!(adapt_moments::<f64>(&[], &[-1]).is_err());
        assert!(adapt_moments(&[data], &[3]).is_err());
    }

    #[test]
    fn gradient_and_bad_configs() {
        let w = [
            rand(&[3], 1),
            rand(&[3], 2).map(|v| v + 2.0).unwrap(),
            Tensor::scalar(0.0),
        ];
        for invert in [false, true] {
            let layer = Normalization::from_config(&json!({"invert": invert}), &w).unwrap();
            check_grad(&[rand(&[4, 3], 5)], |t| layer.forward(&t[0]));
        }
        let layer = Normalization::from_config(&json!({}), &w).unwrap();
        let err = layer.forward(&rand(&[4, 2], 5)).unwrap_err().to_string();
        assert!(err.contains("size 3") && err.contains("(4, 2)"), "{err}");
        assert!(Normalization::<f64>::from_config(&json!({"mean": 1.0}), &[]).is_err());
        assert!(Normalization::<f64>::from_config(
            &json!({"mean": [1.0], "variance": [1.0, 2.0]}),
            &[]
        )
        .is_err());
        assert!(Normalization::<f64>::from_config(
            &json!({"axis": -1, "mean": [[1.0]], "variance": [[1.0]]}),
            &[]
        )
        .is_err());
    }
}
