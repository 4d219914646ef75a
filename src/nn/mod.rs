//! Layers, their registry, and their initializers.
//!
//! A layer is built from its Keras class name, its Keras config (JSON) and its
//! weights (variables created by the caller, in Keras's `layer.weights` order but with
//! candle's layouts). The registry is the only way a saved model's layers come back:
//! nothing named in a file is imported or executed.

mod dense;
pub mod init;

pub use dense::Dense;
pub use init::Initializer;

use crate::bail;
use crate::error::Result;
use crate::tensor::Tensor;
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
}

/// The `i`-th weight, or an error naming the layer and what it expected.
pub(crate) fn weight(
    class_name: &str,
    weights: &[Tensor],
    i: usize,
    expected: usize,
) -> Result<Tensor> {
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

/// The layer of Keras class `class_name` with `config` and `weights`.
pub fn layer_from_config(
    class_name: &str,
    config: &Value,
    weights: &[Tensor],
) -> Result<Box<dyn Layer>> {
    Ok(match class_name {
        "Dense" => {
            let activation = crate::ops::Activation::from_name(&config_or::<String>(
                config,
                "activation",
                "linear".into(),
            )?)?;
            let use_bias = config_or(config, "use_bias", true)?;
            let w = weight(class_name, weights, 0, 1 + usize::from(use_bias))?;
            let b = if use_bias {
                Some(weight(class_name, weights, 1, 2)?)
            } else {
                None
            };
            Box::new(Dense::from_variables(w, b, activation)?)
        }
        _ => bail!(InvalidArgument, "unknown layer class: {class_name:?}"),
    })
}
