//! The layer registry: every layer class kandle knows, by its Keras class name.
//!
//! It is the only way a layer comes back from a name, whether the name comes from a
//! Python class, a Rust model or a saved file: nothing named in a file is imported or
//! executed. Adding a layer is one entry here.

use super::*;
use crate::bail;
use crate::error::Result;
use crate::ops::PoolMode;
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
    weightless("AveragePooling1D", |c| {
        Ok(Box::new(Pooling::from_config(
            "AveragePooling1D",
            1,
            PoolMode::Average,
            c,
        )?))
    }),
    weightless("AveragePooling2D", |c| {
        Ok(Box::new(Pooling::from_config(
            "AveragePooling2D",
            2,
            PoolMode::Average,
            c,
        )?))
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
        "Conv1D",
        |c, w| Ok(Box::new(Conv::from_config("Conv1D", 1, c, w)?)),
        |c, shape| Conv::new_weights("Conv1D", 1, c, shape),
        &[],
    ),
    weighted(
        "Conv2D",
        |c, w| Ok(Box::new(Conv::from_config("Conv2D", 2, c, w)?)),
        |c, shape| Conv::new_weights("Conv2D", 2, c, shape),
        &[],
    ),
    weighted(
        "Conv2DTranspose",
        |c, w| Ok(Box::new(Conv::from_config("Conv2DTranspose", 2, c, w)?)),
        |c, shape| Conv::new_weights("Conv2DTranspose", 2, c, shape),
        &[],
    ),
    weightless("Cropping1D", |c| {
        Ok(Box::new(Cropping::from_config("Cropping1D", c, 1)?))
    }),
    weightless("Cropping2D", |c| {
        Ok(Box::new(Cropping::from_config("Cropping2D", c, 2)?))
    }),
    weighted(
        "Dense",
        |c, w| Ok(Box::new(Dense::from_config(c, w)?)),
        Dense::new_weights,
        &[0],
    ),
    weighted(
        "DepthwiseConv2D",
        |c, w| {
            Ok(Box::new(DepthwiseConv::from_config(
                "DepthwiseConv2D",
                false,
                c,
                w,
            )?))
        },
        |c, shape| DepthwiseConv::new_weights("DepthwiseConv2D", false, c, shape),
        &[],
    ),
    weightless("Discretization", |c| {
        Ok(Box::new(Discretization::from_config(c)?))
    }),
    weightless("Dot", |c| Ok(Box::new(Dot::from_config(c)?))),
    weightless("Dropout", |c| Ok(Box::new(Dropout::from_config(c)?))),
    weightless("ELU", |c| Ok(Box::new(ELU::from_config(c)?))),
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
    weightless("GlobalAveragePooling1D", |c| {
        Ok(Box::new(GlobalPooling::from_config(
            "GlobalAveragePooling1D",
            1,
            PoolMode::Average,
            c,
        )?))
    }),
    weightless("GlobalAveragePooling2D", |c| {
        Ok(Box::new(GlobalPooling::from_config(
            "GlobalAveragePooling2D",
            2,
            PoolMode::Average,
            c,
        )?))
    }),
    weightless("GlobalMaxPooling1D", |c| {
        Ok(Box::new(GlobalPooling::from_config(
            "GlobalMaxPooling1D",
            1,
            PoolMode::Max,
            c,
        )?))
    }),
    weightless("GlobalMaxPooling2D", |c| {
        Ok(Box::new(GlobalPooling::from_config(
            "GlobalMaxPooling2D",
            2,
            PoolMode::Max,
            c,
        )?))
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
    weightless("LeakyReLU", |c| Ok(Box::new(LeakyReLU::from_config(c)?))),
    weightless("MaxPooling1D", |c| {
        Ok(Box::new(Pooling::from_config(
            "MaxPooling1D",
            1,
            PoolMode::Max,
            c,
        )?))
    }),
    weightless("MaxPooling2D", |c| {
        Ok(Box::new(Pooling::from_config(
            "MaxPooling2D",
            2,
            PoolMode::Max,
            c,
        )?))
    }),
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
    weighted(
        "PReLU",
        |c, w| Ok(Box::new(PReLU::from_config(c, w)?)),
        PReLU::new_weights,
        &[],
    ),
    weightless("Permute", |c| Ok(Box::new(Permute::from_config(c)?))),
    weightless("ReLU", |c| Ok(Box::new(ReLU::from_config(c)?))),
    weightless("RepeatVector", |c| {
        Ok(Box::new(RepeatVector::from_config(c)?))
    }),
    weightless("Rescaling", |c| Ok(Box::new(Rescaling::from_config(c)?))),
    weightless("Reshape", |c| Ok(Box::new(Reshape::from_config(c)?))),
    weighted(
        "SeparableConv2D",
        |c, w| {
            Ok(Box::new(DepthwiseConv::from_config(
                "SeparableConv2D",
                true,
                c,
                w,
            )?))
        },
        |c, shape| DepthwiseConv::new_weights("SeparableConv2D", true, c, shape),
        &[],
    ),
    weightless("Softmax", |c| Ok(Box::new(Softmax::from_config(c)?))),
    weightless("SpatialDropout1D", |c| {
        Ok(Box::new(SpatialDropout::from_config(
            "SpatialDropout1D",
            c,
            1,
        )?))
    }),
    weightless("SpatialDropout2D", |c| {
        Ok(Box::new(SpatialDropout::from_config(
            "SpatialDropout2D",
            c,
            2,
        )?))
    }),
    weightless("Subtract", |_| {
        Ok(Box::new(Merge {
            op: MergeOp::Subtract,
        }))
    }),
    weightless("UnitNormalization", |c| {
        Ok(Box::new(UnitNormalization::from_config(c)?))
    }),
    weightless("UpSampling1D", |c| {
        Ok(Box::new(UpSampling::from_config("UpSampling1D", c, 1)?))
    }),
    weightless("UpSampling2D", |c| {
        Ok(Box::new(UpSampling::from_config("UpSampling2D", c, 2)?))
    }),
    weightless("ZeroPadding1D", |c| {
        Ok(Box::new(ZeroPadding::from_config("ZeroPadding1D", c, 1)?))
    }),
    weightless("ZeroPadding2D", |c| {
        Ok(Box::new(ZeroPadding::from_config("ZeroPadding2D", c, 2)?))
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
