//! Layers, their registry, and their initializers and regularizers.
//!
//! A layer is built from its Keras class name, its Keras config (JSON) and its
//! weights (variables created by the caller, in Keras's `layer.weights` order but with
//! candle's layouts). The registry is the only way a saved model's layers come back:
//! nothing named in a file is imported or executed.

mod activation;
mod activation_layers;
mod activity;
mod batch_norm;
mod conv;
mod dense;
mod dropout;
mod embedding;
pub mod graph;
pub mod init;
mod layer;
mod layer_norm;
pub mod merging;
mod noise;
mod pooling;
pub mod preprocessing;
mod registry;
pub mod regularizer;
mod reshape;
mod spatial;
mod unit_norm;

pub use activation::ActivationLayer;
pub use activation_layers::{LeakyReLU, PReLU, ReLU, Softmax, ELU};
pub use activity::ActivityRegularization;
pub use batch_norm::BatchNormalization;
pub use conv::{Conv, DepthwiseConv};
pub use dense::Dense;
pub use dropout::{Dropout, SpatialDropout};
pub use embedding::Embedding;
pub use graph::{Graph, GraphNode};
pub use init::Initializer;
pub use layer::{Layer, NewWeight};
pub use layer_norm::LayerNormalization;
pub use merging::{Concatenate, Dot, Merge, MergeOp};
pub use noise::{AlphaDropout, GaussianDropout, GaussianNoise};
pub use pooling::{GlobalPooling, Pooling};
pub use preprocessing::{
    CategoryEncoding, Discretization, IntegerLookup, Normalization, Rescaling,
};
pub use registry::{
    layer_class, layer_from_config, new_layer_weights, LayerClass, Make, LAYER_CLASSES,
};
pub use regularizer::Regularizer;
pub use reshape::{Flatten, Identity, Permute, RepeatVector, Reshape};
pub use spatial::{Cropping, UpSampling, ZeroPadding};
pub use unit_norm::UnitNormalization;

use crate::bail;
use crate::config::Args;
use crate::error::Result;
use crate::tensor::{Float, Tensor};

/// The size of the last axis of `input_shape`, which must have one.
pub(crate) fn last_axis(class_name: &str, input_shape: &[usize]) -> Result<usize> {
    match input_shape.last() {
        Some(&n) if input_shape.len() >= 2 && n > 0 => Ok(n),
        _ => bail!(
            Shape,
            "{class_name}: expected inputs with a batch axis and a non-empty last axis, got shape {}",
            crate::error::fmt_shape(input_shape)
        ),
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

/// `shape` with every axis not in `axes` set to 1: the shape that broadcasts a
/// per-feature weight (gamma, beta, moving statistics) against the input.
pub(crate) fn keep_only_axes(shape: &[usize], axes: &[usize]) -> Vec<usize> {
    (0..shape.len())
        .map(|i| if axes.contains(&i) { shape[i] } else { 1 })
        .collect()
}

/// The first gamma (if the config's `scale`) and beta (if `center`) of a new
/// normalization layer, of `shape`, drawn by the config's initializers.
pub(crate) fn new_gamma_beta(args: &Args, shape: &[usize]) -> Result<Vec<NewWeight>> {
    let size = shape.iter().product();
    let mut weights = Vec::with_capacity(2);
    for (flag, name, key, default) in [
        ("scale", "gamma", "gamma_initializer", "ones"),
        ("center", "beta", "beta_initializer", "zeros"),
    ] {
        if args.bool(flag, true)? {
            let value = init::new_variable(args, key, default, shape, (size, size))?;
            weights.push(NewWeight::trainable(name, value));
        }
    }
    Ok(weights)
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

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
            ("ELU", json!({"alpha": 0.5}), vec![], vec![2, 3]),
            ("LeakyReLU", json!({}), vec![], vec![2, 3]),
            ("PReLU", json!({}), vec![v(&[3])], vec![2, 3]),
            ("ReLU", json!({"max_value": 6.0}), vec![], vec![2, 3]),
            ("Softmax", json!({"axis": -1}), vec![], vec![2, 3]),
        ];
        for (class, config, weights, shape) in cases {
            let layer = layer_from_config(class, &config, &weights).unwrap();
            assert_eq!(layer.forward(&x, true).unwrap().shape(), shape, "{class}");
        }
        // The windowed layers, on images (2, 6, 6, 3) and sequences (2, 6, 3).
        let image = Tensor::<f32>::ones(&[2, 6, 6, 3]).unwrap();
        let sequence = Tensor::<f32>::ones(&[2, 6, 3]).unwrap();
        // (class, config, weights, input, output shape)
        type Case<'a> = (&'a str, Value, Vec<Tensor>, &'a Tensor, Vec<usize>);
        let windowed: Vec<Case> = vec![
            (
                "Conv2D",
                json!({"filters": 4, "kernel_size": 3, "activation": "relu"}),
                vec![v(&[3, 3, 3, 4]), v(&[4])],
                &image,
                vec![2, 4, 4, 4],
            ),
            (
                "Conv1D",
                json!({"filters": 4, "kernel_size": 2, "padding": "causal", "use_bias": false}),
                vec![v(&[2, 3, 4])],
                &sequence,
                vec![2, 6, 4],
            ),
            ("MaxPooling2D", json!({}), vec![], &image, vec![2, 3, 3, 3]),
            (
                "AveragePooling2D",
                json!({"pool_size": 3}),
                vec![],
                &image,
                vec![2, 2, 2, 3],
            ),
            (
                "MaxPooling1D",
                json!({"strides": 1}),
                vec![],
                &sequence,
                vec![2, 5, 3],
            ),
            (
                "AveragePooling1D",
                json!({"padding": "same"}),
                vec![],
                &sequence,
                vec![2, 3, 3],
            ),
            ("GlobalMaxPooling2D", json!({}), vec![], &image, vec![2, 3]),
            (
                "GlobalAveragePooling2D",
                json!({}),
                vec![],
                &image,
                vec![2, 3],
            ),
            (
                "GlobalMaxPooling1D",
                json!({"keepdims": true}),
                vec![],
                &sequence,
                vec![2, 1, 3],
            ),
            (
                "GlobalAveragePooling1D",
                json!({}),
                vec![],
                &sequence,
                vec![2, 3],
            ),
        ];
        for (class, config, weights, input, shape) in windowed {
            let layer = layer_from_config(class, &config, &weights).unwrap();
            assert_eq!(
                layer.forward(input, true).unwrap().shape(),
                shape,
                "{class}"
            );
            let new = new_layer_weights(class, &config, input.shape()).unwrap();
            let shapes: Vec<_> = new.iter().map(|w| w.value.shape().to_vec()).collect();
            let expected: Vec<_> = weights.iter().map(|w| w.shape().to_vec()).collect();
            assert_eq!(shapes, expected, "{class}");
        }
        // The layers of channels-last images and sequences.
        let small_image = Tensor::<f32>::ones(&[2, 4, 4, 3]).unwrap();
        let small_sequence = Tensor::<f32>::ones(&[2, 4, 3]).unwrap();
        let spatial: Vec<(&str, Value, &Tensor, Vec<usize>)> = vec![
            (
                "Cropping1D",
                json!({"cropping": [1, 2]}),
                &small_sequence,
                vec![2, 1, 3],
            ),
            (
                "Cropping2D",
                json!({"cropping": 1}),
                &small_image,
                vec![2, 2, 2, 3],
            ),
            (
                "SpatialDropout1D",
                json!({"rate": 0.5}),
                &small_sequence,
                vec![2, 4, 3],
            ),
            (
                "SpatialDropout2D",
                json!({"rate": 0.5}),
                &small_image,
                vec![2, 4, 4, 3],
            ),
            (
                "UpSampling1D",
                json!({"size": 2}),
                &small_sequence,
                vec![2, 8, 3],
            ),
            (
                "UpSampling2D",
                json!({"size": [2, 1]}),
                &small_image,
                vec![2, 8, 4, 3],
            ),
            (
                "ZeroPadding1D",
                json!({"padding": [0, 1]}),
                &small_sequence,
                vec![2, 5, 3],
            ),
            (
                "ZeroPadding2D",
                json!({"padding": 1}),
                &small_image,
                vec![2, 6, 6, 3],
            ),
        ];
        for (class, config, input, shape) in spatial {
            let layer = layer_from_config(class, &config, &[]).unwrap();
            assert_eq!(
                layer.forward(input, true).unwrap().shape(),
                shape,
                "{class}"
            );
        }
        let err = layer_from_config("Conv3D", &json!({}), &[])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("Conv3D") && err.contains("Dense"));
        assert!(layer_from_config("Flatten", &json!({}), &[v(&[1])]).is_err());
    }
}
