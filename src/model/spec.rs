//! Keras objects as their configs describe them: a class name and its arguments.
//!
//! A Rust model is written with these descriptions, exactly as a Keras user writes
//! `Dense(100, activation="relu")`; the engine's registries then make the layers, the
//! loss, the optimizer and the metrics from them, as they do for the Python package and
//! for a saved file. Any class of a registry can be described with [`Spec::new`]; the
//! builders below spell the common ones.

use serde::Serialize;
use serde_json::{Map, Value};

/// A Keras object: its class name and its config (Keras's keyword arguments; the ones
/// left out take Keras's defaults).
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Keras's class name, e.g. `"Dense"` or `"Adam"`.
    pub class_name: String,
    /// Keras's config: the constructor's keyword arguments.
    pub config: Map<String, Value>,
}

impl Spec {
    /// The object of `class_name` with `config` (a JSON object, or null for none).
    ///
    /// ```
    /// use kandle::model::Spec;
    /// let noise = Spec::new("GaussianNoise", serde_json::json!({"stddev": 0.1}));
    /// assert_eq!(noise.config["stddev"], 0.1);
    /// ```
    pub fn new(class_name: &str, config: Value) -> Self {
        let config = match config {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Spec {
            class_name: class_name.to_string(),
            config,
        }
    }

    /// Sets the argument `key`.
    pub fn with(mut self, key: &str, value: impl Serialize) -> Self {
        // Serializing plain numbers, strings and lists cannot fail.
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        self.config.insert(key.to_string(), value);
        self
    }

    /// The config as a JSON value.
    pub fn config_value(&self) -> Value {
        Value::Object(self.config.clone())
    }
}

/// Defines builder types over [`Spec`]: `new` takes the required arguments, and one
/// method per optional argument sets it.
macro_rules! builders {
    ($(
        $(#[$doc:meta])*
        $ty:ident($class:literal) wraps $wrap:ident {
            new($($arg:ident: $arg_ty:ty),*);
            $($set:ident: $set_ty:ty),* $(,)?
        }
    )*) => {$(
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $ty(pub Spec);

        impl $ty {
            /// The object with the given required arguments and Keras's defaults.
            #[allow(clippy::new_without_default)]
            pub fn new($($arg: $arg_ty),*) -> Self {
                $ty(Spec::new($class, serde_json::Value::Null)$(.with(stringify!($arg), $arg))*)
            }
            $(
                #[doc = concat!("Sets `", stringify!($set), "`.")]
                pub fn $set(self, value: $set_ty) -> Self {
                    $ty(self.0.with(stringify!($set), value))
                }
            )*
            /// Sets any other argument of the Keras class.
            pub fn with(self, key: &str, value: impl serde::Serialize) -> Self {
                $ty(self.0.with(key, value))
            }
        }

        impl From<$ty> for $wrap {
            fn from(b: $ty) -> $wrap {
                $wrap(b.0)
            }
        }
    )*};
}

/// A layer to add to a model.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerSpec(pub Spec);

/// The optimizer of [`crate::model::Sequential::compile`].
#[derive(Clone, Debug, PartialEq)]
pub struct OptimizerSpec(pub Spec);

/// The loss of [`crate::model::Sequential::compile`].
#[derive(Clone, Debug, PartialEq)]
pub struct LossSpec(pub Spec);

/// A metric of [`crate::model::Sequential::compile`]: a Keras name such as
/// `"accuracy"` or `"mae"`, or a class with its config.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricSpec {
    /// A name, resolved as Keras's `compile` resolves it.
    Name(String),
    /// A class and its config.
    Class(Spec),
}

impl From<Spec> for LayerSpec {
    fn from(s: Spec) -> Self {
        LayerSpec(s)
    }
}

impl From<&str> for OptimizerSpec {
    /// An optimizer by Keras's name (`"sgd"`, `"adam"`, ...) with its defaults.
    fn from(name: &str) -> Self {
        OptimizerSpec(Spec::new(name, Value::Null))
    }
}

impl From<&str> for LossSpec {
    /// A loss by Keras's name (`"mse"`, `"sparse_categorical_crossentropy"`, ...).
    fn from(name: &str) -> Self {
        LossSpec(Spec::new(name, Value::Null))
    }
}

impl From<&str> for MetricSpec {
    fn from(name: &str) -> Self {
        MetricSpec::Name(name.to_string())
    }
}

impl From<Spec> for MetricSpec {
    fn from(s: Spec) -> Self {
        MetricSpec::Class(s)
    }
}

/// Layers, by Keras's class names.
pub mod layers {
    use super::{LayerSpec, Spec};

    /// The input of a model: the shape of one sample (without the batch axis).
    ///
    /// ```
    /// use kandle::prelude::*;
    /// let model = Sequential::new().add(Input::new([28, 28])).add(Flatten::new());
    /// assert_eq!(model.input_shape(), Some(&[28, 28][..]));
    /// ```
    #[derive(Clone, Debug, PartialEq)]
    pub struct Input(pub Vec<usize>);

    impl Input {
        /// An input of samples of `shape`.
        pub fn new(shape: impl Into<Vec<usize>>) -> Self {
            Input(shape.into())
        }
    }

    impl From<Input> for LayerSpec {
        fn from(input: Input) -> Self {
            LayerSpec(Spec::new("InputLayer", serde_json::Value::Null).with("shape", input.0))
        }
    }

    builders! {
        /// `activation(x · kernel + bias)` over the last axis (Keras's `Dense`).
        Dense("Dense") wraps LayerSpec {
            new(units: usize);
            activation: &str,
            use_bias: bool,
            kernel_initializer: &str,
            bias_initializer: &str,
            name: &str,
        }
        /// An activation function as a layer (Keras's `Activation`).
        Activation("Activation") wraps LayerSpec {
            new(activation: &str);
            name: &str,
        }
        /// Zeroes a `rate` fraction of the inputs in training (Keras's `Dropout`).
        Dropout("Dropout") wraps LayerSpec {
            new(rate: f64);
            seed: u64,
            name: &str,
        }
        /// Flattens each sample to one axis.
        Flatten("Flatten") wraps LayerSpec {
            new();
            name: &str,
        }
        /// Reshapes each sample to `target_shape` (one entry may be -1).
        Reshape("Reshape") wraps LayerSpec {
            new(target_shape: Vec<isize>);
            name: &str,
        }
        /// Normalizes each feature with batch statistics in training.
        BatchNormalization("BatchNormalization") wraps LayerSpec {
            new();
            axis: isize,
            momentum: f64,
            epsilon: f64,
            center: bool,
            scale: bool,
            name: &str,
        }
        /// Normalizes each sample over its last axis.
        LayerNormalization("LayerNormalization") wraps LayerSpec {
            new();
            axis: isize,
            epsilon: f64,
            center: bool,
            scale: bool,
            name: &str,
        }
        /// 2-D convolution over `(batch, height, width, channels)` (Keras's `Conv2D`).
        ///
        /// ```
        /// use kandle::prelude::*;
        /// let conv = Conv2D::new(32, 3).activation("relu").padding("same");
        /// assert_eq!(conv.0.config["kernel_size"], 3);
        /// ```
        Conv2D("Conv2D") wraps LayerSpec {
            new(filters: usize, kernel_size: usize);
            strides: usize,
            padding: &str,
            dilation_rate: usize,
            groups: usize,
            activation: &str,
            use_bias: bool,
            kernel_initializer: &str,
            bias_initializer: &str,
            name: &str,
        }
        /// 1-D convolution over `(batch, steps, channels)`; `padding` may be "causal".
        Conv1D("Conv1D") wraps LayerSpec {
            new(filters: usize, kernel_size: usize);
            strides: usize,
            padding: &str,
            dilation_rate: usize,
            groups: usize,
            activation: &str,
            use_bias: bool,
            kernel_initializer: &str,
            bias_initializer: &str,
            name: &str,
        }
        /// The maximum over `pool_size` windows of images (Keras's `MaxPooling2D`).
        MaxPooling2D("MaxPooling2D") wraps LayerSpec {
            new(pool_size: usize);
            strides: usize,
            padding: &str,
            name: &str,
        }
        /// The mean over `pool_size` windows of images (Keras's `AveragePooling2D`).
        AveragePooling2D("AveragePooling2D") wraps LayerSpec {
            new(pool_size: usize);
            strides: usize,
            padding: &str,
            name: &str,
        }
        /// The maximum over windows of sequences (Keras's `MaxPooling1D`).
        MaxPooling1D("MaxPooling1D") wraps LayerSpec {
            new(pool_size: usize);
            strides: usize,
            padding: &str,
            name: &str,
        }
        /// The mean over windows of sequences (Keras's `AveragePooling1D`).
        AveragePooling1D("AveragePooling1D") wraps LayerSpec {
            new(pool_size: usize);
            strides: usize,
            padding: &str,
            name: &str,
        }
        /// The maximum over the height and width of images.
        GlobalMaxPooling2D("GlobalMaxPooling2D") wraps LayerSpec {
            new();
            keepdims: bool,
            name: &str,
        }
        /// The mean over the height and width of images.
        GlobalAveragePooling2D("GlobalAveragePooling2D") wraps LayerSpec {
            new();
            keepdims: bool,
            name: &str,
        }
        /// The maximum over the steps of sequences.
        GlobalMaxPooling1D("GlobalMaxPooling1D") wraps LayerSpec {
            new();
            keepdims: bool,
            name: &str,
        }
        /// The mean over the steps of sequences.
        GlobalAveragePooling1D("GlobalAveragePooling1D") wraps LayerSpec {
            new();
            keepdims: bool,
            name: &str,
        }
        /// Integer indices in `[0, input_dim)` to rows of a trained table.
        Embedding("Embedding") wraps LayerSpec {
            new(input_dim: usize, output_dim: usize);
            embeddings_initializer: &str,
            name: &str,
        }
    }
}

/// Optimizers, by Keras's class names, with Keras's defaults.
pub mod optimizers {
    use super::{OptimizerSpec, Spec};

    builders! {
        /// Stochastic gradient descent (Keras's defaults: learning rate 0.01, no momentum).
        SGD("SGD") wraps OptimizerSpec {
            new();
            learning_rate: f64,
            momentum: f64,
            nesterov: bool,
        }
        /// Adam (learning rate 1e-3, β1 0.9, β2 0.999, ε 1e-7).
        Adam("Adam") wraps OptimizerSpec {
            new();
            learning_rate: f64,
            beta_1: f64,
            beta_2: f64,
            epsilon: f64,
            amsgrad: bool,
        }
        /// AdamW (Adam with decoupled weight decay 0.004).
        AdamW("AdamW") wraps OptimizerSpec {
            new();
            learning_rate: f64,
            weight_decay: f64,
        }
        /// RMSprop (learning rate 1e-3, ρ 0.9, ε 1e-7).
        RMSprop("RMSprop") wraps OptimizerSpec {
            new();
            learning_rate: f64,
            rho: f64,
            momentum: f64,
        }
    }

    impl Default for SGD {
        fn default() -> Self {
            SGD::new()
        }
    }

    impl Default for Adam {
        fn default() -> Self {
            Adam::new()
        }
    }

    impl From<Spec> for OptimizerSpec {
        fn from(s: Spec) -> Self {
            OptimizerSpec(s)
        }
    }
}

/// Losses, by Keras's class names.
pub mod losses {
    use super::{LossSpec, Spec};

    builders! {
        /// The mean of squared differences.
        MeanSquaredError("MeanSquaredError") wraps LossSpec {
            new();
        }
        /// The mean of absolute differences.
        MeanAbsoluteError("MeanAbsoluteError") wraps LossSpec {
            new();
        }
        /// Crossentropy for integer class labels.
        SparseCategoricalCrossentropy("SparseCategoricalCrossentropy") wraps LossSpec {
            new();
            ignore_class: i64,
        }
        /// Crossentropy for one-hot labels.
        CategoricalCrossentropy("CategoricalCrossentropy") wraps LossSpec {
            new();
            from_logits: bool,
            label_smoothing: f64,
        }
        /// Crossentropy for 0/1 labels.
        BinaryCrossentropy("BinaryCrossentropy") wraps LossSpec {
            new();
            from_logits: bool,
            label_smoothing: f64,
        }
    }

    impl SparseCategoricalCrossentropy {
        /// The loss of a model whose outputs are logits.
        pub fn from_logits() -> Self {
            SparseCategoricalCrossentropy::new().with("from_logits", true)
        }
    }

    impl From<Spec> for LossSpec {
        fn from(s: Spec) -> Self {
            LossSpec(s)
        }
    }
}
