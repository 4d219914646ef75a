//! BatchNormalization with Keras's semantics: batch statistics in training (which also
//! update the moving statistics in place), moving statistics in inference.

use super::init::new_variable;
use super::regularizer::{total_penalty, Regularizer};
use super::{keep_only_axes, new_gamma_beta, scale_and_shift, NewWeight};
use crate::bail;
use crate::config::Args;
use crate::error::{fmt_shape, Result};
use crate::nn::Layer;
use crate::tensor::shape::normalize_axis;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Normalizes each feature along `axis`:
/// `gamma · (x - mean) / sqrt(var + epsilon) + beta`.
pub struct BatchNormalization<T: Float = f32> {
    /// The feature axis (Keras's `axis`, default -1); statistics are taken over all others.
    pub axis: isize,
    /// The moving statistics' decay: `moving · momentum + batch · (1 - momentum)`.
    pub momentum: f64,
    /// Added to the variance before its square root.
    pub epsilon: f64,
    /// The per-feature scale; None when Keras's `scale` is false.
    pub gamma: Option<Tensor<T>>,
    /// The per-feature offset; None when Keras's `center` is false.
    pub beta: Option<Tensor<T>>,
    /// Penalty on `gamma` (Keras's `gamma_regularizer`).
    pub gamma_regularizer: Option<Regularizer>,
    /// Penalty on `beta` (Keras's `beta_regularizer`).
    pub beta_regularizer: Option<Regularizer>,
    /// Non-trainable variables, updated in place by each training forward pass.
    pub moving_mean: Tensor<T>,
    /// The moving (biased) variance of each feature, non-trainable like `moving_mean`.
    pub moving_variance: Tensor<T>,
}

impl<T: Float> BatchNormalization<T> {
    /// The layer of a Keras `BatchNormalization` config sharing `weights`, in Keras's
    /// order: gamma (if `scale`), beta (if `center`), moving_mean, moving_variance.
    pub fn from_config(config: &Value, weights: &[Tensor<T>]) -> Result<Self> {
        let args = Args::new("BatchNormalization", config)?;
        let (center, scale) = (args.or("center", true)?, args.or("scale", true)?);
        let expected = 2 + usize::from(center) + usize::from(scale);
        let mut next = 0;
        let mut take = || {
            next += 1;
            super::weight("BatchNormalization", weights, next - 1, expected)
        };
        let gamma = if scale { Some(take()?) } else { None };
        let beta = if center { Some(take()?) } else { None };
        let (moving_mean, moving_variance) = (take()?, take()?);
        let bn = BatchNormalization {
            axis: args.or("axis", -1)?,
            momentum: args.or("momentum", 0.99)?,
            epsilon: args.or("epsilon", 1e-3)?,
            gamma,
            beta,
            gamma_regularizer: Regularizer::from_keras(args.value("gamma_regularizer"))?,
            beta_regularizer: Regularizer::from_keras(args.value("beta_regularizer"))?,
            moving_mean,
            moving_variance,
        };
        let features = bn.moving_mean.shape().to_vec();
        let all = [&bn.gamma, &bn.beta, &Some(bn.moving_variance.clone())];
        if features.len() != 1
            || all
                .iter()
                .any(|w| w.as_ref().is_some_and(|w| w.shape() != features))
        {
            bail!(
                Shape,
                "BatchNormalization: expected 1-D weights of one shape (features,), got moving_mean of shape {}",
                fmt_shape(&features)
            );
        }
        if bn.epsilon.is_nan() || bn.epsilon <= 0.0 {
            bail!(
                InvalidArgument,
                "BatchNormalization: `epsilon` must be positive, got {}",
                bn.epsilon
            );
        }
        Ok(bn)
    }

    /// The penalties of the gamma and beta regularizers, if any.
    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        total_penalty(&[
            (self.gamma_regularizer, self.gamma.as_ref()),
            (self.beta_regularizer, self.beta.as_ref()),
        ])
    }

    /// Normalizes `x` with the batch's statistics when `training` (updating the moving
    /// statistics), else with the moving statistics; then scales by gamma and shifts by beta.
    pub fn forward(&self, x: &Tensor<T>, training: bool) -> Result<Tensor<T>> {
        let axis = normalize_axis(self.axis, x.rank(), "BatchNormalization")?;
        let features = self.moving_mean.numel();
        if x.shape()[axis] != features {
            bail!(
                Shape,
                "BatchNormalization: expected axis {} of the input to have size {features}, got input shape {}",
                self.axis,
                fmt_shape(x.shape())
            );
        }
        let param_shape = keep_only_axes(x.shape(), &[axis]);
        let eps = Tensor::scalar(T::from_f64(self.epsilon));
        let normalized = if training {
            let reduce: Vec<isize> = (0..x.rank())
                .filter(|&i| i != axis)
                .map(|i| i as isize)
                .collect();
            let mean = x.mean(Some(&reduce), true)?;
            let centered = x.sub(&mean)?;
            // The biased variance, as Keras uses for both normalizing and the moving average.
            let variance = centered.mul(&centered)?.mean(Some(&reduce), true)?;
            let m = T::from_f64(self.momentum);
            let blend = move |moving: T, batch: T| moving * m + batch * (T::one() - m);
            self.moving_mean
                .update_with(&mean.detach().reshape(&[features])?, blend)?;
            self.moving_variance
                .update_with(&variance.detach().reshape(&[features])?, blend)?;
            centered.div(&variance.add(&eps)?.sqrt()?)?
        } else {
            let mean = self.moving_mean.reshape(&param_shape)?;
            let variance = self.moving_variance.reshape(&param_shape)?;
            x.sub(&mean)?.div(&variance.add(&eps)?.sqrt()?)?
        };
        scale_and_shift(
            normalized,
            self.gamma.as_ref(),
            self.beta.as_ref(),
            &param_shape,
        )
    }
}

impl BatchNormalization<f32> {
    /// The weights of a new layer of `config` for inputs of `input_shape`, one value per
    /// index of `axis`: gamma (if `scale`), beta (if `center`), then the moving mean and
    /// variance, which the layer updates itself.
    pub fn new_weights(config: &Value, input_shape: &[usize]) -> Result<Vec<NewWeight>> {
        let args = Args::new("BatchNormalization", config)?;
        let axis = normalize_axis(
            args.or("axis", -1)?,
            input_shape.len(),
            "BatchNormalization",
        )?;
        let shape = [input_shape[axis]];
        let new = |key: &str, default: &str| {
            new_variable(&args, key, default, &shape, (shape[0], shape[0]))
        };
        let mut weights = new_gamma_beta(&args, &shape)?;
        weights.push(NewWeight::frozen(
            "moving_mean",
            new("moving_mean_initializer", "zeros")?,
        ));
        weights.push(NewWeight::frozen(
            "moving_variance",
            new("moving_variance_initializer", "ones")?,
        ));
        Ok(weights)
    }
}

impl Layer for BatchNormalization<f32> {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        BatchNormalization::forward(self, x, training)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        BatchNormalization::regularization(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    fn layer(config: Value, features: usize) -> BatchNormalization<f64> {
        let weights = vec![
            rand(&[features], 1).map(|v| v + 1.5).unwrap().to_variable(),
            rand(&[features], 2).to_variable(),
            rand(&[features], 3).to_variable(),
            rand(&[features], 4).map(|v| v + 1.5).unwrap().to_variable(),
        ];
        BatchNormalization::from_config(&config, &weights).unwrap()
    }

    #[test]
    fn training_uses_batch_statistics_and_updates_moving_ones() {
        let bn = layer(json!({"momentum": 0.9}), 2);
        let x = Tensor::<f64>::from_vec(vec![1., 10., 3., 20., 5., 30.], &[3, 2]).unwrap();
        let (mm0, mv0) = (bn.moving_mean.to_vec(), bn.moving_variance.to_vec());
        let (g, b) = (
            bn.gamma.clone().unwrap().to_vec(),
            bn.beta.clone().unwrap().to_vec(),
        );
        let y = bn.forward(&x, true).unwrap().to_vec();
        let (mean, var): ([f64; 2], [f64; 2]) = ([3.0, 20.0], [8.0 / 3.0, 200.0 / 3.0]);
        for r in 0..3 {
            for c in 0..2 {
                let expected =
                    g[c] * (x.to_vec()[r * 2 + c] - mean[c]) / (var[c] + 1e-3).sqrt() + b[c];
                assert!((y[r * 2 + c] - expected).abs() < 1e-12);
            }
        }
        for c in 0..2 {
            assert!((bn.moving_mean.to_vec()[c] - (mm0[c] * 0.9 + mean[c] * 0.1)).abs() < 1e-12);
            assert!((bn.moving_variance.to_vec()[c] - (mv0[c] * 0.9 + var[c] * 0.1)).abs() < 1e-12);
        }
        // Inference uses the moving statistics and changes nothing.
        let (mm, mv) = (bn.moving_mean.to_vec(), bn.moving_variance.to_vec());
        let y = bn.forward(&x, false).unwrap().to_vec();
        assert!((y[0] - (g[0] * (1.0 - mm[0]) / (mv[0] + 1e-3).sqrt() + b[0])).abs() < 1e-12);
        assert_eq!(bn.moving_mean.to_vec(), mm);
    }

    #[test]
    fn gradients_over_each_axis() {
        let x = rand(&[4, 3, 2], 7).map(|v| v * 2.0).unwrap();
        for (axis, features) in [(-1, 2), (1, 3), (0, 4)] {
            for training in [true, false] {
                let bn = layer(json!({"axis": axis}), features);
                let weights = [
                    bn.gamma.clone().unwrap(),
                    bn.beta.clone().unwrap(),
                    bn.moving_mean.clone(),
                    bn.moving_variance.clone(),
                ];
                check_grad(&[x.clone(), weights[0].clone(), weights[1].clone()], |t| {
                    // Fresh moving statistics each evaluation: training updates them.
                    let w = [
                        t[1].clone(),
                        t[2].clone(),
                        weights[2].to_variable(),
                        weights[3].to_variable(),
                    ];
                    BatchNormalization::from_config(&json!({"axis": axis}), &w)?
                        .forward(&t[0], training)
                });
            }
        }
    }

    #[test]
    fn bad_configs_and_inputs() {
        let w: Vec<Tensor<f64>> = (0..4).map(|_| Tensor::ones(&[3]).unwrap()).collect();
        assert!(BatchNormalization::from_config(&json!({}), &w[..3]).is_err());
        let bn =
            BatchNormalization::from_config(&json!({"center": false, "scale": false}), &w[..2])
                .unwrap();
        assert!(bn.gamma.is_none() && bn.beta.is_none());
        let err = bn
            .forward(&rand(&[2, 4], 1), false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("size 3") && err.contains("(2, 4)"), "{err}");
    }
}
