//! The layer registry: every layer class kandle knows, by its Keras class name.
//!
//! It is the only way a layer comes back from a name, whether the name comes from a
//! Python class, a Rust model or a saved file: nothing named in a file is imported or
//! executed. Adding a layer is one entry here.

use super::*;
use crate::bail;
use crate::error::Result;
use crate::tensor::Tensor;
use serde_json::Value;

/// Makes a layer of a config that shares the given weights (Keras's order).
pub type WeightedLayerFn = fn(&Value, &[Tensor]) -> Result<Box<dyn Layer>>;

/// How a registered class makes its layers.
#[derive(Clone, Copy)]
pub enum Make {
    /// A layer without weights, from its config.
    Weightless(fn(&Value) -> Result<Box<dyn Layer>>),
    /// A layer sharing weights (in Keras's order), and the weights a new one starts
    /// with for inputs of a given shape (batch axis first).
    Weighted {
        /// The layer of a config, sharing the given weights.
        layer: WeightedLayerFn,
        /// The first weights of a new layer of a config for inputs of a shape.
        new_weights: fn(&Value, &[usize]) -> Result<Vec<NewWeight>>,
        /// The weights held transposed from Keras's layout (candle's `(out, in)`
        /// Dense kernel), by index.
        transposed: &'static [usize],
    },
}

/// One registered layer class.
#[derive(Clone, Copy)]
pub struct LayerClass {
    /// Keras's class name.
    pub class_name: &'static str,
    /// How it makes its layers.
    pub make: Make,
}

const fn weightless(
    class_name: &'static str,
    layer: fn(&Value) -> Result<Box<dyn Layer>>,
) -> LayerClass {
    LayerClass {
        class_name,
        make: Make::Weightless(layer),
    }
}

const fn weighted(
    class_name: &'static str,
    layer: WeightedLayerFn,
    new_weights: fn(&Value, &[usize]) -> Result<Vec<NewWeight>>,
    transposed: &'static [usize],
) -> LayerClass {
    LayerClass {
        class_name,
        make: Make::Weighted {
            layer,
            new_weights,
            transposed,
        },
    }
}

/// Every layer class, sorted by name.
pub const LAYER_CLASSES: &[LayerClass] = &[
    weightless("Activation", |c| {
        Ok(Box::new(ActivationLayer::from_config(c)?))
    }),
    weightless("ActivityRegularization", |c| {
        Ok(Box::new(ActivityRegularization::from_config(c)?))
    }),
    weightless("Add", |_| Ok(Box::new(Merge { op: MergeOp::Add }))),
    weightless("AlphaDropout", |c| {
        Ok(Box::new(AlphaDropout::from_config(c)?))
    }),
    weightless("Average", |_| {
        Ok(Box::new(Merge {
            op: MergeOp::Average,
        }))
    }),
    weighted(
        "BatchNormalization",
        |c, w| Ok(Box::new(BatchNormalization::from_config(c, w)?)),
        BatchNormalization::new_weights,
        &[],
    ),
    weightless("CategoryEncoding", |c| {
        Ok(Box::new(CategoryEncoding::from_config(c)?))
    }),
    weightless("Concatenate", |c| {
        Ok(Box::new(Concatenate::from_config(c)?))
    }),
    weighted(
        "Dense",
        |c, w| Ok(Box::new(Dense::from_config(c, w)?)),
        Dense::new_weights,
        &[0],
    ),
    weightless("Discretization", |c| {
        Ok(Box::new(Discretization::from_config(c)?))
    }),
    weightless("Dot", |c| Ok(Box::new(Dot::from_config(c)?))),
    weightless("Dropout", |c| Ok(Box::new(Dropout::from_config(c)?))),
    weighted(
        "Embedding",
        |c, w| Ok(Box::new(Embedding::from_config(c, w)?)),
        Embedding::new_weights,
        &[],
    ),
    weightless("Flatten", |_| Ok(Box::new(Flatten))),
    weightless("GaussianDropout", |c| {
        Ok(Box::new(GaussianDropout::from_config(c)?))
    }),
    weightless("GaussianNoise", |c| {
        Ok(Box::new(GaussianNoise::from_config(c)?))
    }),
    weightless("Identity", |_| Ok(Box::new(Identity))),
    weightless("IntegerLookup", |c| {
        Ok(Box::new(IntegerLookup::from_config(c)?))
    }),
    weighted(
        "LayerNormalization",
        |c, w| Ok(Box::new(LayerNormalization::from_config(c, w)?)),
        LayerNormalization::new_weights,
        &[],
    ),
    weightless("Maximum", |_| {
        Ok(Box::new(Merge {
            op: MergeOp::Maximum,
        }))
    }),
    weightless("Minimum", |_| {
        Ok(Box::new(Merge {
            op: MergeOp::Minimum,
        }))
    }),
    weightless("Multiply", |_| {
        Ok(Box::new(Merge {
            op: MergeOp::Multiply,
        }))
    }),
    weighted(
        "Normalization",
        |c, w| Ok(Box::new(Normalization::from_config(c, w)?)),
        Normalization::new_weights,
        &[],
    ),
    weightless("Permute", |c| Ok(Box::new(Permute::from_config(c)?))),
    weightless("RepeatVector", |c| {
        Ok(Box::new(RepeatVector::from_config(c)?))
    }),
    weightless("Rescaling", |c| Ok(Box::new(Rescaling::from_config(c)?))),
    weightless("Reshape", |c| Ok(Box::new(Reshape::from_config(c)?))),
    weightless("Subtract", |_| {
        Ok(Box::new(Merge {
            op: MergeOp::Subtract,
        }))
    }),
    weightless("UnitNormalization", |c| {
        Ok(Box::new(UnitNormalization::from_config(c)?))
    }),
];

/// The registered class called `class_name`, or an error listing the known ones.
pub fn layer_class(class_name: &str) -> Result<&'static LayerClass> {
    match LAYER_CLASSES.iter().find(|c| c.class_name == class_name) {
        Some(class) => Ok(class),
        None => {
            let names: Vec<&str> = LAYER_CLASSES.iter().map(|c| c.class_name).collect();
            bail!(
                InvalidArgument,
                "unknown layer class: {class_name:?}; expected one of {}",
                names.join(", ")
            )
        }
    }
}

/// The layer of Keras class `class_name` with `config`, sharing `weights` (Keras's
/// order, candle's layouts).
pub fn layer_from_config(
    class_name: &str,
    config: &Value,
    weights: &[Tensor],
) -> Result<Box<dyn Layer>> {
    match layer_class(class_name)?.make {
        Make::Weighted { layer, .. } => layer(config, weights),
        Make::Weightless(layer) => {
            if !weights.is_empty() {
                bail!(
                    InvalidArgument,
                    "{class_name}: expected 0 weights, got {}",
                    weights.len()
                );
            }
            layer(config)
        }
    }
}

/// The first weights of a new layer of `class_name` with `config` for inputs of
/// `input_shape` (batch axis first); none for a weightless class.
pub fn new_layer_weights(
    class_name: &str,
    config: &Value,
    input_shape: &[usize],
) -> Result<Vec<NewWeight>> {
    match layer_class(class_name)?.make {
        Make::Weighted { new_weights, .. } => new_weights(config, input_shape),
        Make::Weightless(_) => Ok(Vec::new()),
    }
}

impl LayerClass {
    /// The indices of the weights this class holds transposed from Keras's layout.
    pub fn transposed_from_keras(&self) -> &'static [usize] {
        match self.make {
            Make::Weighted { transposed, .. } => transposed,
            Make::Weightless(_) => &[],
        }
    }
}
