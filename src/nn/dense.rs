//! Dense (candle's Linear): `act(x · weightᵀ + bias)` with weight `(out, in)`.

use super::init::{new_variable, Initializer};
use super::regularizer::{total_penalty, Regularizer};
use super::weight;
use super::{last_axis, NewWeight};
use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::ops::{Activation, ActivationFn};
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// A fully connected layer. Its weights are variables, built on the first call
/// (or by [`Dense::build`]) once the input size is known.
pub struct Dense<T: Float = f32> {
    /// The output size (Keras's `units`).
    pub units: usize,
    /// Applied after `x · weightᵀ + bias`; relu, sigmoid and tanh fuse into that op.
    pub activation: ActivationFn,
    /// Whether the layer adds a bias (Keras's `use_bias`).
    pub use_bias: bool,
    /// Draws the weight when the layer is built (Keras's `kernel_initializer`).
    pub kernel_initializer: Initializer,
    /// Draws the bias when the layer is built (Keras's `bias_initializer`).
    pub bias_initializer: Initializer,
    /// Penalty on the weight (Keras's `kernel_regularizer`).
    pub kernel_regularizer: Option<Regularizer>,
    /// Penalty on the bias (Keras's `bias_regularizer`).
    pub bias_regularizer: Option<Regularizer>,
    weight: Option<Tensor<T>>,
    bias: Option<Tensor<T>>,
}

impl<T: Float> Dense<T> {
    /// Keras's defaults: glorot_uniform kernel, zero bias.
    pub fn new(units: usize, activation: impl Into<ActivationFn>, use_bias: bool) -> Result<Self> {
        if units == 0 {
            bail!(
                InvalidArgument,
                "Dense: units must be a positive integer, got {units}"
            );
        }
        Ok(Dense {
            units,
            activation: activation.into(),
            use_bias,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            weight: None,
            bias: None,
        })
    }

    /// A built layer with copies of the given weight `(out, in)` and bias `(out,)`.
    pub fn from_weights(
        weight: Tensor<T>,
        bias: Option<Tensor<T>>,
        activation: impl Into<ActivationFn>,
    ) -> Result<Self> {
        Self::from_variables(
            weight.to_variable(),
            bias.map(|b| b.to_variable()),
            activation,
        )
    }

    /// A built layer that uses (shares) the given variables.
    pub fn from_variables(
        weight: Tensor<T>,
        bias: Option<Tensor<T>>,
        activation: impl Into<ActivationFn>,
    ) -> Result<Self> {
        let &[units, _] = weight.shape() else {
            bail!(
                Shape,
                "Dense: weight must be 2-D (out, in), got {}",
                crate::error::fmt_shape(weight.shape())
            );
        };
        let mut d = Dense::new(units, activation, bias.is_some())?;
        d.weight = Some(weight);
        d.bias = bias;
        Ok(d)
    }

    /// Creates the weights for inputs whose last axis is `fan_in`.
    pub fn build(&mut self, fan_in: usize) -> Result<()> {
        let w = self
            .kernel_initializer
            .sample::<T>(&[self.units, fan_in], fan_in, self.units)?;
        self.weight = Some(w.to_variable());
        if self.use_bias {
            self.bias = Some(
                self.bias_initializer
                    .sample::<T>(&[self.units], fan_in, self.units)?
                    .to_variable(),
            );
        }
        Ok(())
    }

    /// Whether the weights exist yet.
    pub fn is_built(&self) -> bool {
        self.weight.is_some()
    }

    /// The weight `(out, in)`; None until built.
    pub fn weight(&self) -> Option<&Tensor<T>> {
        self.weight.as_ref()
    }

    /// The bias `(out,)`; None until built, or without `use_bias`.
    pub fn bias(&self) -> Option<&Tensor<T>> {
        self.bias.as_ref()
    }

    /// The trainable variables: weight, then bias.
    pub fn variables(&self) -> Vec<Tensor<T>> {
        self.weight
            .iter()
            .chain(self.bias.iter())
            .cloned()
            .collect()
    }

    /// Applies the built layer.
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        let Some(w) = self.weight.as_ref() else {
            bail!(
                InvalidArgument,
                "Dense: the layer is not built; call it once or build it with an input size"
            );
        };
        match self.activation.fused() {
            Some(act) => x.linear(w, self.bias.as_ref(), act),
            None => self
                .activation
                .apply(&x.linear(w, self.bias.as_ref(), Activation::Linear)?),
        }
    }

    /// The layer of a Keras `Dense` config (`activation`, `use_bias`,
    /// `kernel_regularizer`, `bias_regularizer`) sharing `weights`: weight `(units, in)`,
    /// then bias `(units,)` when `use_bias`.
    pub fn from_config(config: &Value, weights: &[Tensor<T>]) -> Result<Self> {
        let args = Args::new("Dense", config)?;
        let activation = ActivationFn::from_keras(args.value("activation"))?;
        let use_bias = args.or("use_bias", true)?;
        let w = weight("Dense", weights, 0, 1 + usize::from(use_bias))?;
        let b = if use_bias {
            Some(weight("Dense", weights, 1, 2)?)
        } else {
            None
        };
        let units: Option<usize> = args.opt("units")?;
        if units.is_some_and(|u| w.shape().first() != Some(&u)) {
            bail!(
                Shape,
                "Dense: expected a weight with {} rows (units), got shape {}",
                units.unwrap_or(0),
                crate::error::fmt_shape(w.shape())
            );
        }
        let mut d = Dense::from_variables(w, b, activation)?;
        d.kernel_regularizer = Regularizer::from_keras(args.value("kernel_regularizer"))?;
        d.bias_regularizer = Regularizer::from_keras(args.value("bias_regularizer"))?;
        Ok(d)
    }

    /// The penalties of the kernel and bias regularizers, if any.
    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        total_penalty(&[
            (self.kernel_regularizer, self.weight.as_ref()),
            (self.bias_regularizer, self.bias.as_ref()),
        ])
    }

    /// Applies the layer, building it first for this input if needed.
    pub fn call(&mut self, x: &Tensor<T>) -> Result<Tensor<T>> {
        if !self.is_built() {
            let fan_in = x.shape().last().copied().unwrap_or(0);
            if fan_in == 0 {
                bail!(
                    Shape,
                    "Dense: expected an input with a non-empty last axis, got shape {}",
                    crate::error::fmt_shape(x.shape())
                );
            }
            self.build(fan_in)?;
        }
        self.forward(x)
    }
}

impl Dense<f32> {
    /// The weights of a new layer of `config` for inputs of `input_shape`: `kernel`
    /// `(units, in)` then `bias` `(units,)`, drawn by the config's initializers.
    pub fn new_weights(config: &Value, input_shape: &[usize]) -> Result<Vec<NewWeight>> {
        let args = Args::new("Dense", config)?;
        let Some(units) = args.opt::<usize>("units")?.filter(|&u| u > 0) else {
            bail!(
                InvalidArgument,
                "Dense: `units` must be a positive integer, got {}",
                args.value("units")
            );
        };
        let fan_in = last_axis("Dense", input_shape)?;
        let fans = (fan_in, units);
        let mut weights = vec![NewWeight::trainable(
            "kernel",
            new_variable(
                &args,
                "kernel_initializer",
                "glorot_uniform",
                &[units, fan_in],
                fans,
            )?,
        )];
        if args.or("use_bias", true)? {
            weights.push(NewWeight::trainable(
                "bias",
                new_variable(&args, "bias_initializer", "zeros", &[units], fans)?,
            ));
        }
        Ok(weights)
    }
}

impl Layer for Dense<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Dense::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        Dense::regularization(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn builds_on_first_call_with_candle_layout() {
        let mut d = Dense::<f32>::new(3, Activation::Relu, true).unwrap();
        let y = d.call(&Tensor::ones(&[2, 5]).unwrap()).unwrap();
        assert_eq!(y.shape(), &[2, 3]);
        assert_eq!(d.weight().unwrap().shape(), &[3, 5]);
        assert_eq!(d.bias().unwrap().to_vec(), vec![0.0; 3]);
        assert!(Dense::<f32>::new(0, Activation::Linear, true).is_err());
    }

    #[test]
    fn gradient() {
        let d = Dense::<f64>::from_weights(rand(&[4, 3], 1), Some(rand(&[4], 2)), Activation::Tanh)
            .unwrap();
        let (w, b) = (d.weight().unwrap().clone(), d.bias().unwrap().clone());
        check_grad(&[rand(&[5, 3], 3), w, b], |t| {
            t[0].linear(&t[1], Some(&t[2]), Activation::Tanh)
        });
        let x = rand(&[5, 3], 3);
        check_grad(&[x], |t| d.forward(&t[0]));
    }

    #[test]
    fn unfused_activation_and_regularizers_from_config() {
        let (w, b) = (rand(&[4, 3], 1), rand(&[4], 2));
        let config = serde_json::json!({
            "units": 4, "activation": "gelu", "use_bias": true,
            "kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}},
            "bias_regularizer": {"class_name": "L1", "config": {"l1": 0.5}},
        });
        let d = Dense::from_config(&config, &[w.clone(), b.clone()]).unwrap();
        let x = rand(&[5, 3], 3);
        let expected = x
            .linear(&w, Some(&b), Activation::Linear)
            .unwrap()
            .gelu(false)
            .unwrap();
        assert_eq!(d.forward(&x).unwrap().to_vec(), expected.to_vec());
        check_grad(&[x], |t| d.forward(&t[0]));
        let penalty = d.regularization().unwrap().unwrap().item().unwrap();
        let l2: f64 = w.to_vec().iter().map(|v| v * v).sum::<f64>() * 0.01;
        let l1: f64 = b.to_vec().iter().map(|v| v.abs()).sum::<f64>() * 0.5;
        assert!((penalty - l1 - l2).abs() < 1e-12);
        // The penalty's gradient reaches the weights.
        check_grad(&[w.clone(), b.clone()], |t| {
            Dense::from_config(&config, t)
                .unwrap()
                .regularization()
                .map(|p| p.unwrap())
        });
        assert!(Dense::from_config(&config, &[w.clone()]).is_err());
        assert!(Dense::<f64>::from_config(&serde_json::json!({"units": 5}), &[w, b]).is_err());
    }
}
