//! Layers, their registry, and their initializers and regularizers.
//!
//! A layer is built from its Keras class name, its Keras config (JSON) and its
//! weights (variables created by the caller, in Keras's `layer.weights` order but with
//! candle's layouts). The registry is the only way a saved model's layers come back:
//! nothing named in a file is imported or executed.

mod activation;
mod batch_norm;
mod dense;
mod dropout;
mod embedding;
pub mod init;
mod layer_norm;
pub mod regularizer;
mod reshape;

pub use activation::ActivationLayer;
pub use batch_norm::BatchNormalization;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use init::Initializer;
pub use layer_norm::LayerNormalization;
pub use regularizer::Regularizer;
pub use reshape::{Flatten, Reshape};

use crate::bail;
use crate::error::Result;
use crate::tensor::{Float, Tensor};
use serde_json::Value;

/// A layer of a model: a function of its input and its weights.
pub trait Layer: Send + Sync {
    /// Applies the layer; `training` switches dropout and batch statistics.
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor>;

    /// The penalty this layer adds to the loss (its regularizers), if any.
    fn regularization(&self) -> Result<Option<Tensor>> {
        Ok(None)
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

impl Layer for ActivationLayer {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ActivationLayer::forward(self, x)
    }
}

impl Layer for Dropout {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        Dropout::forward(self, x, training)
    }
}

impl Layer for Flatten {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Flatten::forward(self, x)
    }
}

impl Layer for Reshape {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Reshape::forward(self, x)
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

impl Layer for LayerNormalization<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        LayerNormalization::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        LayerNormalization::regularization(self)
    }
}

impl Layer for Embedding<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Embedding::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        Embedding::regularization(self)
    }
}

/// The `i`-th weight, or an error naming the layer and what it expected.
pub(crate) fn weight<T: Float>(
    class_name: &str,
    weights: &[Tensor<T>],
    i: usize,
    expected: usize,
) -> Result<Tensor<T>> {
    if weights.len() != expected {
        bail!(
            InvalidArgument,
            "{class_name}: expected {expected} weights, got {}",
            weights.len()
        );
    }
    Ok(weights[i].clone())
}

/// Reads an optional config entry, with a default.
pub(crate) fn config_or<T: serde::de::DeserializeOwned>(
    config: &Value,
    key: &str,
    default: T,
) -> Result<T> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            crate::Error::InvalidArgument(format!("invalid value for `{key}`: {v} ({e})"))
        }),
    }
}

/// `shape` with every axis not in `axes` set to 1: the shape that broadcasts a
/// per-feature weight (gamma, beta, moving statistics) against the input.
pub(crate) fn keep_only_axes(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    (0..shape.len())
        .map(|i| if axes.contains(&i) { shape[i] } else { 1 })
        .collect()
}

/// `normalized · gamma + beta` for the normalization layers; gamma and beta (either may
/// be off) are reshaped to `param_shape` to broadcast over the normalized axes.
pub(crate) fn scale_and_shift<T: Float>(
    normalized: Tensor<T>,
    gamma: Option<&Tensor<T>>,
    beta: Option<&Tensor<T>>,
    param_shape: &[usize],
) -> Result<Tensor<T>> {
    let scaled = match gamma {
        Some(g) => normalized.mul(&g.reshape(param_shape)?)?,
        None => normalized,
    };
    match beta {
        Some(b) => scaled.add(&b.reshape(param_shape)?),
        None => Ok(scaled),
    }
}

/// The Keras layer classes [`layer_from_config`] knows, sorted.
pub const LAYER_CLASSES: &[&str] = &[
    "Activation",
    "BatchNormalization",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNormalization",
    "Reshape",
];

/// Checks that a weightless layer got no weights.
fn no_weights(class_name: &str, weights: &[Tensor]) -> Result<()> {
    if !weights.is_empty() {
        bail!(
            InvalidArgument,
            "{class_name}: expected 0 weights, got {}",
            weights.len()
        );
    }
    Ok(())
}

/// The layer of Keras class `class_name` with `config` and `weights`.
pub fn layer_from_config(
    class_name: &str,
    config: &Value,
    weights: &[Tensor],
) -> Result<Box<dyn Layer>> {
    Ok(match class_name {
        "Dense" => Box::new(Dense::from_config(config, weights)?),
        "BatchNormalization" => Box::new(BatchNormalization::from_config(config, weights)?),
        "LayerNormalization" => Box::new(LayerNormalization::from_config(config, weights)?),
        "Embedding" => Box::new(Embedding::from_config(config, weights)?),
        "Activation" | "Dropout" | "Flatten" | "Reshape" => {
            no_weights(class_name, weights)?;
            match class_name {
                "Activation" => Box::new(ActivationLayer::from_config(config)?),
                "Dropout" => Box::new(Dropout::from_config(config)?),
                "Flatten" => Box::new(Flatten),
                _ => Box::new(Reshape::from_config(config)?),
            }
        }
        _ => bail!(
            InvalidArgument,
            "unknown layer class: {class_name:?}; expected one of {}",
            LAYER_CLASSES.join(", ")
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn registry_builds_every_class() {
        let x = Tensor::<f32>::ones(&[2, 3]).unwrap();
        let v = |shape: &[usize]| Tensor::<f32>::ones(shape).unwrap().to_variable();
        let cases: Vec<(&str, Value, Vec<Tensor>, Vec<usize>)> = vec![
            (
                "Dense",
                json!({"units": 4, "activation": "relu"}),
                vec![v(&[4, 3]), v(&[4])],
                vec![2, 4],
            ),
            (
                "Activation",
                json!({"activation": "gelu"}),
                vec![],
                vec![2, 3],
            ),
            ("Dropout", json!({"rate": 0.5}), vec![], vec![2, 3]),
            ("Flatten", json!({}), vec![], vec![2, 3]),
            (
                "Reshape",
                json!({"target_shape": [3, 1]}),
                vec![],
                vec![2, 3, 1],
            ),
            (
                "BatchNormalization",
                json!({}),
                vec![v(&[3]), v(&[3]), v(&[3]), v(&[3])],
                vec![2, 3],
            ),
            (
                "LayerNormalization",
                json!({"axis": -1}),
                vec![v(&[3]), v(&[3])],
                vec![2, 3],
            ),
            (
                "Embedding",
                json!({"input_dim": 2, "output_dim": 5}),
                vec![v(&[2, 5])],
                vec![2, 3, 5],
            ),
        ];
        for (class, config, weights, shape) in cases {
            let layer = layer_from_config(class, &config, &weights).unwrap();
            assert_eq!(layer.forward(&x, true).unwrap().shape(), shape, "{class}");
        }
        let err = layer_from_config("Conv2D", &json!({}), &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("Conv2D") && err.contains("Dense"));
        assert!(layer_from_config("Flatten", &json!({}), &[v(&[1])]).is_err());
    }
}
