//! The Activation layer: an activation function as a layer.

use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::ops::ActivationFn;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// Applies one activation function to its input.
pub struct ActivationLayer {
    /// The function applied.
    pub activation: ActivationFn,
}

impl ActivationLayer {
    /// The layer of a Keras `Activation` config (its `activation` entry).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("Activation", config)?;
        Ok(ActivationLayer {
            activation: ActivationFn::from_keras(args.value("activation"))?,
        })
    }

    /// The activation of `x`.
    pub fn forward<T: Float>(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        self.activation.apply(x)
    }
}

impl Layer for ActivationLayer {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ActivationLayer::forward(self, x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn applies_the_named_activation() {
        let layer =
            ActivationLayer::from_config(&serde_json::json!({"activation": "softplus"})).unwrap();
        let x = rand(&[2, 3], 1);
        assert_eq!(
            layer.forward(&x).unwrap().to_vec(),
            x.softplus().unwrap().to_vec()
        );
        check_grad(&[x], |t| layer.forward(&t[0]));
        assert!(ActivationLayer::from_config(&serde_json::json!({"activation": "nope"})).is_err());
    }
}
