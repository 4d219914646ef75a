//! LayerNormalization: each sample normalized over its own feature axes.

use super::regularizer::{total_penalty, Regularizer};
use super::{keep_only_axes, new_gamma_beta, scale_and_shift, weight, NewWeight};
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::shape::normalize_axis;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// `gamma · (x - mean) / sqrt(var + epsilon) + beta`, with the mean and (biased)
/// variance taken over `axis` of each sample; gamma and beta have the shape of those axes.
pub struct LayerNormalization<T: Float = f32> {
    /// The axes normalized over (Keras's `axis`, an int or a list; default -1).
    pub axis: Vec<isize>,
    /// Added to the variance before its square root.
    pub epsilon: f64,
    /// The scale, shaped as the normalized axes; None when Keras's `scale` is false.
    pub gamma: Option<Tensor<T>>,
    /// The offset, shaped as the normalized axes; None when Keras's `center` is false.
    pub beta: Option<Tensor<T>>,
    /// Penalty on `gamma` (Keras's `gamma_regularizer`).
    pub gamma_regularizer: Option<Regularizer>,
    /// Penalty on `beta` (Keras's `beta_regularizer`).
    pub beta_regularizer: Option<Regularizer>,
}

impl<T: Float> LayerNormalization<T> {
    /// The layer of a Keras `LayerNormalization` config (`axis` an int or a list,
    /// `epsilon`, `center`, `scale`) sharing gamma (if `scale`) then beta (if `center`).
    pub fn from_config(config: &Value, weights: &[Tensor<T>]) -> Result<Self> {
        let args = Args::new("LayerNormalization", config)?;
        let axis = args.one_or_list("axis", vec![-1])?;
        if args.or("rms_scaling", false)? {
            bail!(
                InvalidArgument,
                "LayerNormalization: rms_scaling=True is not supported"
            );
        }
        let (center, scale) = (args.or("center", true)?, args.or("scale", true)?);
        let expected = usize::from(center) + usize::from(scale);
        let gamma = if scale {
            Some(weight("LayerNormalization", weights, 0, expected)?)
        } else {
            None
        };
        let beta = if center {
            Some(weight(
                "LayerNormalization",
                weights,
                usize::from(scale),
                expected,
            )?)
        } else {
            None
        };
        if expected == 0 && !weights.is_empty() {
            bail!(
                InvalidArgument,
                "LayerNormalization: expected 0 weights, got {}",
                weights.len()
            );
        }
        let epsilon: f64 = args.or("epsilon", 1e-3)?;
        if epsilon.is_nan() || epsilon <= 0.0 {
            bail!(
                InvalidArgument,
                "LayerNormalization: `epsilon` must be positive, got {epsilon}"
            );
        }
        Ok(LayerNormalization {
            axis,
            epsilon,
            gamma,
            beta,
            gamma_regularizer: Regularizer::from_keras(args.value("gamma_regularizer"))?,
            beta_regularizer: Regularizer::from_keras(args.value("beta_regularizer"))?,
        })
    }

    /// The penalties of the gamma and beta regularizers, if any.
    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        total_penalty(&[
            (self.gamma_regularizer, self.gamma.as_ref()),
            (self.beta_regularizer, self.beta.as_ref()),
        ])
    }

    /// Normalizes each sample of `x` over `axis`, then scales by gamma and shifts by beta.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let mut axes = self
            .axis
            .iter()
            .map(|&a| normalize_axis(a, x.rank(), "LayerNormalization"))
            .collect::<Result<Vec<_>>>()?;
        axes.sort_unstable();
        axes.dedup();
        let feature_shape: Vec<usize> = axes.iter().map(|&a| x.shape()[a]).collect();
        for w in self.gamma.iter().chain(self.beta.iter()) {
            if w.shape() != feature_shape {
                bail!(
                    Shape,
                    "LayerNormalization: weights of shape {} do not fit input shape {} normalized over axes {:?}",
                    fmt_shape(w.shape()),
                    fmt_shape(x.shape()),
                    self.axis
                );
            }
        }
        let signed: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        let mean = x.mean(Some(&signed), true)?;
        let centered = x.sub(&mean)?;
        let variance = centered.mul(&centered)?.mean(Some(&signed), true)?;
        let eps = Tensor::scalar(T::from_f64(self.epsilon));
        let normalized = centered.div(&variance.add(&eps)?.sqrt()?)?;
        let param_shape = keep_only_axes(x.shape(), &axes);
        scale_and_shift(
            normalized,
            self.gamma.as_ref(),
            self.beta.as_ref(),
            &param_shape,
        )
    }
}

impl LayerNormalization<f32> {
    /// The weights of a new layer of `config` for inputs of `input_shape`, shaped as the
    /// normalized axes: gamma (if `scale`), then beta (if `center`).
    pub fn new_weights(config: &Value, input_shape: &[usize]) -> Result<Vec<NewWeight>> {
        let args = Args::new("LayerNormalization", config)?;
        let mut axes = args
            .one_or_list("axis", vec![-1])?
            .iter()
            .map(|&a| normalize_axis(a, input_shape.len(), "LayerNormalization"))
            .collect::<Result<Vec<_>>>()?;
        axes.sort_unstable();
        axes.dedup();
        let shape: Vec<usize> = axes.iter().map(|&a| input_shape[a]).collect();
        new_gamma_beta(&args, &shape)
    }
}

impl Layer for LayerNormalization<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        LayerNormalization::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        LayerNormalization::regularization(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn normalizes_each_sample() {
        let ln =
            LayerNormalization::<f64>::from_config(&json!({"center": false, "scale": false}), &[])
                .unwrap();
        let x = Tensor::<f64>::from_vec(vec![1., 2., 3., 10., 10., 40.], &[2, 3]).unwrap();
        let y = ln.forward(&x).unwrap().to_vec();
        let var0: f64 = 2.0 / 3.0;
        assert!((y[0] - (-1.0 / (var0 + 1e-3).sqrt())).abs() < 1e-12);
        assert!((y[1]).abs() < 1e-12);
        let var1: f64 = 200.0;
        assert!((y[5] - (20.0 / (var1 + 1e-3).sqrt())).abs() < 1e-12);
    }

    #[test]
    fn gradients() {
        let x = rand(&[2, 3, 4], 3);
        for (axis, shape) in [
            (json!(-1), vec![4]),
            (json!([1, 2]), vec![3, 4]),
            (json!(1), vec![3]),
        ] {
            let config = json!({"axis": axis});
            check_grad(
                &[
                    x.clone(),
                    rand(&shape, 1).map(|v| v + 1.5).unwrap(),
                    rand(&shape, 2),
                ],
                |t| LayerNormalization::from_config(&config, &t[1..])?.forward(&t[0]),
            );
        }
        let ln =
            LayerNormalization::from_config(&json!({}), &[rand(&[5], 1), rand(&[5], 2)]).unwrap();
        assert!(ln.forward(&x).is_err());
    }
}
