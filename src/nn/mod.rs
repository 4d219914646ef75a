//! Layers, their registry, and their initializers and regularizers.
//!
//! A layer is built from its Keras class name, its Keras config (JSON) and its
//! weights (variables created by the caller, in Keras's `layer.weights` order but with
//! candle's layouts). The registry is the only way a saved model's layers come back:
//! nothing named in a file is imported or executed.

mod activation;
mod activity;
mod batch_norm;
mod dense;
mod dropout;
mod embedding;
pub mod init;
mod layer_norm;
mod noise;
pub mod preprocessing;
pub mod regularizer;
mod reshape;
mod unit_norm;

pub use activation::ActivationLayer;
pub use activity::ActivityRegularization;
pub use batch_norm::BatchNormalization;
pub use dense::Dense;
pub use dropout::Dropout;
pub use embedding::Embedding;
pub use init::Initializer;
pub use layer_norm::LayerNormalization;
pub use noise::{AlphaDropout, GaussianDropout, GaussianNoise};
pub use preprocessing::{
    CategoryEncoding, Discretization, IntegerLookup, Normalization, Rescaling,
};
pub use regularizer::Regularizer;
pub use reshape::{Flatten, Identity, Permute, RepeatVector, Reshape};
pub use unit_norm::UnitNormalization;

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

/// Implements [`Layer`] for layers whose forward ignores `training` (`$call` is the
/// type's own forward, of `&self, &Tensor`).
macro_rules! inference_only_layer {
    ($($ty:ty),* $(,)?) => {$(
        impl Layer for $ty {
            fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
                <$ty>::forward(self, x)
            }
        }
    )*};
}

inference_only_layer!(
    RepeatVector,
    Permute,
    UnitNormalization,
    Normalization<f32>,
    Rescaling<f32>,
    CategoryEncoding,
    Discretization,
    IntegerLookup,
);

impl Layer for Identity {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        Ok(x.clone())
    }
}

/// Implements [`Layer`] for the noise layers, whose forward takes `training`.
macro_rules! training_layer {
    ($($ty:ty),* $(,)?) => {$(
        impl Layer for $ty {
            fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
                <$ty>::forward(self, x, training)
            }
        }
    )*};
}

training_layer!(GaussianNoise, GaussianDropout, AlphaDropout);

impl Layer for ActivityRegularization<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ActivityRegularization::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        ActivityRegularization::regularization(self)
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
    "ActivityRegularization",
    "AlphaDropout",
    "BatchNormalization",
    "CategoryEncoding",
    "Dense",
    "Discretization",
    "Dropout",
    "Embedding",
    "Flatten",
    "GaussianDropout",
    "GaussianNoise",
    "Identity",
    "IntegerLookup",
    "LayerNormalization",
    "Normalization",
    "Permute",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "UnitNormalization",
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

/// A layer without weights, of a class in [`LAYER_CLASSES`].
fn weightless_layer(class_name: &str, config: &Value) -> Result<Box<dyn Layer>> {
    Ok(match class_name {
        "Activation" => Box::new(ActivationLayer::from_config(config)?),
        "ActivityRegularization" => Box::new(ActivityRegularization::from_config(config)?),
        "AlphaDropout" => Box::new(AlphaDropout::from_config(config)?),
        "CategoryEncoding" => Box::new(CategoryEncoding::from_config(config)?),
        "Discretization" => Box::new(Discretization::from_config(config)?),
        "Dropout" => Box::new(Dropout::from_config(config)?),
        "Flatten" => Box::new(Flatten),
        "GaussianDropout" => Box::new(GaussianDropout::from_config(config)?),
        "GaussianNoise" => Box::new(GaussianNoise::from_config(config)?),
        "Identity" => Box::new(Identity),
        "IntegerLookup" => Box::new(IntegerLookup::from_config(config)?),
        "Permute" => Box::new(Permute::from_config(config)?),
        "RepeatVector" => Box::new(RepeatVector::from_config(config)?),
        "Rescaling" => Box::new(Rescaling::from_config(config)?),
        "Reshape" => Box::new(Reshape::from_config(config)?),
        "UnitNormalization" => Box::new(UnitNormalization::from_config(config)?),
        _ => bail!(Internal, "{class_name} is not a weightless layer class"),
    })
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
        "Normalization" => Box::new(Normalization::from_config(config, weights)?),
        _ if LAYER_CLASSES.contains(&class_name) => {
            no_weights(class_name, weights)?;
            weightless_layer(class_name, config)?
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
            ("Identity", json!({}), vec![], vec![2, 3]),
            ("RepeatVector", json!({"n": 4}), vec![], vec![2, 4, 3]),
            ("Permute", json!({"dims": [1]}), vec![], vec![2, 3]),
            ("UnitNormalization", json!({"axis": -1}), vec![], vec![2, 3]),
            ("GaussianNoise", json!({"stddev": 0.1}), vec![], vec![2, 3]),
            ("GaussianDropout", json!({"rate": 0.1}), vec![], vec![2, 3]),
            ("AlphaDropout", json!({"rate": 0.1}), vec![], vec![2, 3]),
            (
                "ActivityRegularization",
                json!({"l1": 0.1}),
                vec![],
                vec![2, 3],
            ),
            (
                "Normalization",
                json!({"axis": [-1]}),
                vec![v(&[3]), v(&[3]), v(&[])],
                vec![2, 3],
            ),
            ("Rescaling", json!({"scale": 0.5}), vec![], vec![2, 3]),
            (
                "CategoryEncoding",
                json!({"num_tokens": 3}),
                vec![],
                vec![2, 3],
            ),
            (
                "Discretization",
                json!({"bin_boundaries": [0.5], "output_mode": "one_hot"}),
                vec![],
                vec![2, 3, 2],
            ),
            (
                "IntegerLookup",
                json!({"vocabulary": [1]}),
                vec![],
                vec![2, 3],
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
