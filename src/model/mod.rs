//! The model: Keras's `Sequential`, with `compile`, `fit`, `evaluate` and `predict`.
//!
//! ```
//! use kandle::prelude::*;
//! # fn main() -> kandle::Result<()> {
//! // y = 3·x1 + x2 − 2, learned by one Dense unit.
//! let x = Tensor::from_vec(vec![2., 1., 7., 4., -4., 12., 5., 8.], &[4, 2])?;
//! let y = Tensor::from_vec(vec![5., 23., -2., 21.], &[4, 1])?;
//! let mut model = Sequential::new().add(Input::new([2])).add(Dense::new(1));
//! model.compile(SGD::new().learning_rate(0.004), MeanSquaredError::new(), ["mae"])?;
//! let history = model.fit(&x, &y, FitOptions { epochs: 3, verbose: false, ..Default::default() })?;
//! assert_eq!(history.get("loss").len(), 3);
//! let (loss, metrics) = model.evaluate(&x, &y)?;
//! assert!(loss.is_finite() && metrics.contains_key("mae"));
//! assert_eq!(model.predict(&x)?.shape(), [4, 1]);
//! # Ok(()) }
//! ```
//!
//! The Python package's `kandle.Sequential` is a face over the same pieces: the layer
//! registry ([`crate::nn::LAYER_CLASSES`]), the batch engine ([`crate::train::Trainer`])
//! and this module's epoch loop.

pub mod callbacks;
pub mod fit;
pub mod names;
pub mod spec;

pub use callbacks::{Callback, Control, EarlyStopping, History, Logs, Params, ProgressBar};
pub use spec::{layers, losses, optimizers, LayerSpec, LossSpec, MetricSpec, OptimizerSpec, Spec};

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::losses::{Loss, LOSS_CLASSES};
use crate::metrics::{accuracy_class, metric_from_config, METRIC_CLASSES, WRAPPER_CLASSES};
use crate::nn::{layer_class, layer_from_config, new_layer_weights, Layer};
use crate::no_grad;
use crate::optim::Optimizer;
use crate::tensor::Tensor;
use crate::train::{CompiledMetric, Dataset, Rows, Trainer, TrainingLoss};
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// One layer of a model: what it is (its Keras class and config) and, once built, its
/// weights and engine.
pub struct ModelLayer {
    /// The layer's name, unique in its model (`dense`, `dense_1`, ...).
    pub name: String,
    /// Its Keras class and config.
    pub spec: Spec,
    /// Whether the optimizer trains its trainable weights.
    pub trainable: bool,
    weights: Vec<Tensor>,
    weight_trainable: Vec<bool>,
    engine: Option<Arc<dyn Layer>>,
}

impl ModelLayer {
    /// Makes the layer's engine and weights for inputs of `shape` (batch axis first),
    /// unless it has them, and gives its output shape, found by running zeros of that
    /// shape through it (Keras traces a symbolic tensor the same way).
    fn build(&mut self, shape: &[usize]) -> Result<Vec<usize>> {
        let engine = match &self.engine {
            Some(engine) => engine.clone(),
            None => {
                let config = self.spec.config_value();
                let class = &self.spec.class_name;
                let new = new_layer_weights(class, &config, shape)?;
                let weights: Vec<Tensor> = new.iter().map(|w| w.value.clone()).collect();
                let engine: Arc<dyn Layer> =
                    Arc::from(layer_from_config(class, &config, &weights)?);
                self.weight_trainable = new.iter().map(|w| w.trainable).collect();
                self.weights = weights;
                self.engine = Some(engine.clone());
                engine
            }
        };
        let probe = Tensor::zeros(shape)?;
        Ok(no_grad(|| engine.forward(&probe, false))?.shape().to_vec())
    }

    /// The weights (variables), in Keras's order and candle's layouts.
    pub fn weights(&self) -> &[Tensor] {
        &self.weights
    }

    /// The weights the optimizer updates.
    pub fn trainable_weights(&self) -> Vec<Tensor> {
        if !self.trainable {
            return Vec::new();
        }
        self.weights
            .iter()
            .zip(&self.weight_trainable)
            .filter(|(_, &t)| t)
            .map(|(w, _)| w.clone())
            .collect()
    }

    /// Whether the layer's weights exist.
    pub fn is_built(&self) -> bool {
        self.engine.is_some()
    }

    /// A layer built elsewhere (the Python package's layers build themselves): its
    /// engine and its weights, each with whether the optimizer trains it.
    pub fn built(
        name: impl Into<String>,
        spec: Spec,
        engine: Arc<dyn Layer>,
        weights: Vec<(Tensor, bool)>,
    ) -> Self {
        let (weights, weight_trainable) = weights.into_iter().unzip();
        ModelLayer {
            name: name.into(),
            spec,
            trainable: true,
            weights,
            weight_trainable,
            engine: Some(engine),
        }
    }
}

/// The compile state: the loss (None for a model that only predicts), the optimizer and
/// the metrics as given.
struct Compiled {
    loss: Option<Arc<dyn TrainingLoss>>,
    optimizer: Arc<Mutex<Optimizer>>,
    metrics: Vec<MetricSpec>,
}

/// Options of [`Sequential::fit`], with Keras's defaults.
pub struct FitOptions {
    /// The index of the last epoch (default 1).
    pub epochs: usize,
    /// Rows per gradient step (default 32; the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// The fraction of the rows, taken from the end before shuffling, to validate on
    /// after each epoch (default 0).
    pub validation_split: f64,
    /// Inputs and targets to validate on after each epoch instead of a split of the
    /// training rows (Keras's `validation_data`; default None).
    pub validation_data: Option<(Tensor, Tensor)>,
    /// Whether each epoch visits the rows in a new random order (default true).
    pub shuffle: bool,
    /// The epoch to start from, for resuming (default 0).
    pub initial_epoch: usize,
    /// Whether to show the progress bar (default true; it draws only in a terminal).
    pub verbose: bool,
    /// Callbacks run at each hook, after the progress bar.
    pub callbacks: Vec<Box<dyn Callback>>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            validation_split: 0.0,
            validation_data: None,
            shuffle: true,
            initial_epoch: 0,
            verbose: true,
            callbacks: Vec::new(),
        }
    }
}

/// A stack of layers, each feeding the next (Keras's `Sequential`).
///
/// Layers are added as their Keras descriptions ([`layers`], or any registered class
/// through [`Spec::new`]); their weights are made when the input shape is known: at
/// [`Sequential::build`], or at the first `fit`, `evaluate` or `predict`.
#[derive(Default)]
pub struct Sequential {
    name: String,
    input_shape: Option<Vec<usize>>,
    /// The shape of one output sample, found by `build`.
    output_shape: Vec<usize>,
    layers: Vec<ModelLayer>,
    compiled: Option<Compiled>,
}

impl Sequential {
    /// An empty model named `sequential`.
    pub fn new() -> Self {
        Sequential {
            name: "sequential".to_string(),
            ..Default::default()
        }
    }

    /// The model a Keras `Sequential` config describes (the `config.json` of a
    /// `.keras` file, or `model.get_config()` in Python), built when the config gives
    /// its input shape. Layers come from the registry only.
    pub fn from_keras_config(config: &Value) -> Result<Self> {
        // The serialized form wraps the config: {"class_name": "Sequential", "config": ...}.
        let (class_name, inner) = match config.get("config") {
            Some(inner) => (config["class_name"].as_str().unwrap_or("Sequential"), inner),
            None => ("Sequential", config),
        };
        if class_name != "Sequential" {
            bail!(
                InvalidArgument,
                "load: expected a Sequential model config, got class_name {class_name:?}"
            );
        }
        let Some(layers) = inner.get("layers").and_then(Value::as_array) else {
            bail!(
                InvalidArgument,
                "load: the model config has no `layers` list"
            );
        };
        let mut model = Sequential::new();
        if let Some(name) = inner.get("name").and_then(Value::as_str) {
            model.name = name.to_string();
        }
        // The sample shape: `[null, 784]` without its batch axis.
        let sample_shape = |batch_shape: &Value| -> Option<Vec<usize>> {
            let dims = batch_shape.as_array()?;
            dims.get(1..)?
                .iter()
                .map(|d| d.as_u64().map(|d| d as usize))
                .collect()
        };
        let mut input_shape = None;
        for layer in layers {
            let class = layer["class_name"].as_str().unwrap_or_default();
            let layer_config = layer.get("config").cloned().unwrap_or(Value::Null);
            if class == "InputLayer" {
                let shape = layer_config
                    .get("batch_shape")
                    .or_else(|| layer_config.get("batch_input_shape"));
                input_shape = shape.and_then(sample_shape);
                continue;
            }
            model.push(LayerSpec(Spec::new(class, layer_config)));
        }
        let built = inner
            .get("build_input_shape")
            .or_else(|| config.pointer("/build_config/input_shape"));
        if let Some(shape) = input_shape.or_else(|| built.and_then(sample_shape)) {
            model.build(&shape)?;
        }
        Ok(model)
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model with `layer` added on top ([`layers::Input`] sets the input shape).
    /// (Keras's name; it consumes and returns the model, for chaining.)
    #[allow(clippy::should_implement_trait)]
    pub fn add(mut self, layer: impl Into<LayerSpec>) -> Self {
        self.push(layer);
        self
    }

    /// Adds `layer` on top, as [`Sequential::add`].
    pub fn push(&mut self, layer: impl Into<LayerSpec>) {
        let LayerSpec(spec) = layer.into();
        if spec.class_name == "InputLayer" {
            let shape = serde_json::from_value(spec.config_value()["shape"].clone()).ok();
            self.input_shape = shape;
            return;
        }
        let name = match spec.config.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => self.unique_name(&names::snake_case(&spec.class_name)),
        };
        let trainable = spec
            .config
            .get("trainable")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        self.layers.push(ModelLayer {
            name,
            spec,
            trainable,
            weights: Vec::new(),
            weight_trainable: Vec::new(),
            engine: None,
        });
    }

    fn unique_name(&self, base: &str) -> String {
        let taken = |n: &str| self.layers.iter().any(|l| l.name == n);
        if !taken(base) {
            return base.to_string();
        }
        (1..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .unwrap_or_default()
    }

    /// The layers, bottom first.
    pub fn layers(&self) -> &[ModelLayer] {
        &self.layers
    }

    /// The shape of one input sample, once known.
    pub fn input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }

    /// All weights, layer by layer, in Keras's order.
    pub fn weights(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flat_map(|l| l.weights.iter().cloned())
            .collect()
    }

    /// The weights the optimizer updates.
    pub fn trainable_weights(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flat_map(ModelLayer::trainable_weights)
            .collect()
    }

    /// Sets every weight from `values` (the model's order and candle's layouts, as
    /// [`Sequential::weights`] gives them); nothing changes unless all of them fit.
    pub fn set_weights(&self, values: &[Tensor]) -> Result<()> {
        let weights = self.weights();
        if values.len() != weights.len() {
            bail!(
                InvalidArgument,
                "set_weights: the model has {} weights, got {}",
                weights.len(),
                values.len()
            );
        }
        for (i, (w, v)) in weights.iter().zip(values).enumerate() {
            if w.shape() != v.shape() {
                bail!(
                    Shape,
                    "set_weights: weight {i} has shape {}, got {}",
                    fmt_shape(w.shape()),
                    fmt_shape(v.shape())
                );
            }
        }
        for (w, v) in weights.iter().zip(values) {
            w.assign(&v.to_vec())?;
        }
        Ok(())
    }

    /// Sets every weight from a `.keras` file's weights: Keras's paths
    /// (`layers/dense/vars/0`, ...) and Keras's layouts. Nothing changes unless every
    /// weight of the model is there with its shape, and nothing else is.
    pub fn set_keras_weights(&self, weights: &[(String, Tensor)]) -> Result<()> {
        let by_path: std::collections::HashMap<&str, &Tensor> =
            weights.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let mut values = Vec::new();
        for (key, transposed) in self.keras_weight_paths()? {
            let Some(&value) = by_path.get(key.as_str()) else {
                bail!(InvalidArgument, "load: the file has no weight {key:?}");
            };
            values.push(if transposed {
                value.t()?
            } else {
                value.clone()
            });
        }
        let used = values.len();
        let layer_weights = weights
            .iter()
            .filter(|(k, _)| k.starts_with("layers/"))
            .count();
        if used != layer_weights {
            bail!(
                InvalidArgument,
                "load: the file has {layer_weights} layer weights, the model {used}"
            );
        }
        self.set_weights(&values)
    }

    /// Keras's path of each weight in a weights file (`layers/dense_1/vars/0`: layers
    /// counted per class), in the model's order, and whether the model holds it
    /// transposed from Keras's layout.
    fn keras_weight_paths(&self) -> Result<Vec<(String, bool)>> {
        let mut counts = std::collections::HashMap::new();
        let mut paths = Vec::new();
        for layer in &self.layers {
            let base = names::snake_case(&layer.spec.class_name);
            let n = counts.entry(base.clone()).or_insert(0);
            let path = if *n == 0 { base } else { format!("{base}_{n}") };
            *n += 1;
            let transposed = layer_class(&layer.spec.class_name)?.transposed_from_keras();
            paths.extend(
                (0..layer.weights.len())
                    .map(|i| (format!("layers/{path}/vars/{i}"), transposed.contains(&i))),
            );
        }
        Ok(paths)
    }

    /// Saves the model as Keras 3's `.keras` file: its Keras config and its weights
    /// (Keras's paths and layouts) in `model.weights.npz`; the write is atomic.
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        if path.extension().and_then(|e| e.to_str()) != Some("keras") {
            bail!(
                InvalidArgument,
                "save: the file name must end in `.keras`, got {}",
                path.display()
            );
        }
        let Some(input_shape) = &self.input_shape else {
            bail!(
                InvalidArgument,
                "save: the model is not built yet (no input shape)"
            );
        };
        let mut batch_shape = vec![Value::Null];
        batch_shape.extend(input_shape.iter().map(|&d| Value::from(d)));
        let mut layers = vec![serde_json::json!({
            "module": "keras.layers",
            "class_name": "InputLayer",
            "config": {"batch_shape": batch_shape, "dtype": "float32", "name": "input_layer"},
            "registered_name": null,
        })];
        for layer in &self.layers {
            let mut config = layer.spec.config.clone();
            config.insert("name".into(), Value::String(layer.name.clone()));
            config.insert("trainable".into(), Value::Bool(layer.trainable));
            layers.push(serde_json::json!({
                "module": "keras.layers",
                "class_name": layer.spec.class_name,
                "config": config,
                "registered_name": null,
            }));
        }
        let weights = self
            .weights()
            .into_iter()
            .zip(self.keras_weight_paths()?)
            .map(|(w, (key, transposed))| Ok((key, if transposed { w.t()? } else { w })))
            .collect::<Result<Vec<_>>>()?;
        let config = serde_json::json!({
            "module": "keras",
            "class_name": "Sequential",
            "config": {"name": self.name, "trainable": true, "layers": layers},
            "registered_name": null,
            "build_config": {"input_shape": batch_shape},
        });
        crate::io::save_keras(path, &config, &weights, &[])
    }

    /// The number of weight values.
    pub fn count_params(&self) -> usize {
        self.weights().iter().map(Tensor::numel).sum()
    }

    /// Makes the weights of every layer not yet built, for samples of `input_shape`
    /// (without the batch axis), drawn by each layer's initializers.
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        if let Some(known) = &self.input_shape {
            if known != input_shape {
                bail!(
                    Shape,
                    "{}: expected input samples of shape {}, got {}",
                    self.name,
                    fmt_shape(known),
                    fmt_shape(input_shape)
                );
            }
        }
        // The shape each layer sees, with a batch of one row.
        let mut shape = [&[1], input_shape].concat();
        for layer in &mut self.layers {
            shape = layer
                .build(&shape)
                .map_err(|e| e.in_layer(&layer.name, &layer.spec.class_name))?;
        }
        self.input_shape = Some(input_shape.to_vec());
        self.output_shape = shape[1..].to_vec();
        Ok(())
    }

    fn ensure_built(&mut self, x: &Tensor) -> Result<()> {
        if x.rank() == 0 {
            bail!(
                Shape,
                "{}: expected inputs with a batch axis, got a scalar",
                self.name
            );
        }
        let sample = &x.shape()[1..];
        if self.layers.iter().all(ModelLayer::is_built)
            && self.input_shape.as_deref() == Some(sample)
        {
            return Ok(());
        }
        self.build(sample)
    }

    /// Sets the optimizer, the loss and the metrics for `fit` and `evaluate` (Keras's
    /// `compile`). Metrics are Keras names (`"accuracy"`, `"mae"`, ...) or classes.
    pub fn compile<M: Into<MetricSpec>>(
        &mut self,
        optimizer: impl Into<OptimizerSpec>,
        loss: impl Into<LossSpec>,
        metrics: impl IntoIterator<Item = M>,
    ) -> Result<()> {
        let OptimizerSpec(optimizer) = optimizer.into();
        let LossSpec(loss) = loss.into();
        let loss_class = names::resolve_class("loss", &loss.class_name, &LOSS_CLASSES)?;
        let compiled = Compiled {
            loss: Some(Arc::new(Loss::from_config(
                loss_class,
                &loss.config_value(),
            )?)),
            optimizer: Arc::new(Mutex::new(Optimizer::from_config(
                &optimizer.class_name,
                &optimizer.config_value(),
            )?)),
            metrics: metrics.into_iter().map(Into::into).collect(),
        };
        // Unknown metric names fail here, not at the first fit.
        for m in &compiled.metrics {
            metric_class(m, &[1, 1], &[1, 1])?;
        }
        self.compiled = Some(compiled);
        Ok(())
    }

    /// The batch engine for data of `x`'s and `y`'s shapes, over this model's layers,
    /// loss, optimizer and (freshly reset) metrics.
    fn trainer(&mut self, x: &Tensor, y: &Tensor, method: &str) -> Result<Trainer> {
        self.ensure_built(x)?;
        let Some(compiled) = &self.compiled else {
            bail!(
                InvalidArgument,
                "You must call `compile()` before using the model (called `{method}()`)."
            );
        };
        let y_pred_shape = [&[1], &self.output_shape[..]].concat();
        let metrics = compiled
            .metrics
            .iter()
            .map(|m| {
                let (class, name) = metric_class(m, y.shape(), &y_pred_shape)?;
                let mut config = match m {
                    MetricSpec::Class(spec) => spec.config_value(),
                    MetricSpec::Name(_) => Value::Object(Default::default()),
                };
                config["name"] = Value::String(name.clone());
                Ok(CompiledMetric {
                    name,
                    metric: Arc::new(Mutex::new(metric_from_config(class, &config)?)),
                    weighted: false,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.engine(metrics)
    }

    /// The batch engine over this model's built layers, its loss and optimizer (once
    /// compiled) and `metrics`: what `fit`, `evaluate` and `predict` run, here and in
    /// the Python package.
    pub fn engine(&self, metrics: Vec<CompiledMetric>) -> Result<Trainer> {
        if let Some(layer) = self.layers.iter().find(|l| !l.is_built()) {
            bail!(InvalidArgument, "layer {:?} is not built yet", layer.name);
        }
        let (loss, optimizer) = match &self.compiled {
            Some(c) => (c.loss.clone(), Some(c.optimizer.clone())),
            None => (None, None),
        };
        Ok(Trainer::new(
            self.engines(),
            self.trainable_weights(),
            loss,
            optimizer,
            metrics,
        ))
    }

    /// Compiles with an optimizer and a loss made elsewhere (the Python package's
    /// objects, whose state they share); metrics come with each [`Sequential::engine`].
    pub fn compile_engine(
        &mut self,
        optimizer: Arc<Mutex<Optimizer>>,
        loss: Option<Arc<dyn TrainingLoss>>,
    ) {
        self.compiled = Some(Compiled {
            loss,
            optimizer,
            metrics: Vec::new(),
        });
    }

    /// Replaces the layers by layers built elsewhere, with the shapes of one input
    /// and one output sample when known (else the next [`Sequential::build`] finds
    /// them).
    pub fn set_built_layers(
        &mut self,
        layers: Vec<ModelLayer>,
        sample_shapes: Option<(Vec<usize>, Vec<usize>)>,
    ) {
        self.layers = layers;
        (self.input_shape, self.output_shape) = match sample_shapes {
            Some((input, output)) => (Some(input), output),
            None => (None, Vec::new()),
        };
    }

    /// The model's output for `x` (`training` switches dropout and batch statistics).
    pub fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        self.layers
            .iter()
            .try_fold(x.clone(), |h, layer| match &layer.engine {
                Some(engine) => engine
                    .forward(&h, training)
                    .map_err(|e| e.in_layer(&layer.name, &layer.spec.class_name)),
                None => bail!(InvalidArgument, "layer {:?} is not built yet", layer.name),
            })
    }

    /// Trains the model on `x` and `y` (one row per sample) as Keras's `fit`.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, options: FitOptions) -> Result<History> {
        let FitOptions {
            epochs,
            batch_size,
            validation_split,
            validation_data,
            shuffle,
            initial_epoch,
            verbose,
            mut callbacks,
        } = options;
        if batch_size == 0 {
            bail!(InvalidArgument, "fit: batch_size must be positive, got 0");
        }
        if !(0.0..1.0).contains(&validation_split) {
            bail!(
                InvalidArgument,
                "fit: validation_split must be in [0, 1), got {validation_split}"
            );
        }
        let n = rows(x, "x")?;
        if rows(y, "y")? != n {
            bail!(
                Shape,
                "Data cardinality is ambiguous: x has {n} samples, y has {}",
                rows(y, "y")?
            );
        }
        let mut trainer = self.trainer(x, y, "fit")?;
        // Keras takes the LAST rows for validation, before any shuffling; given
        // `validation_data` replaces the split.
        let split_at = match validation_data {
            Some(_) => n,
            None => (n as f64 * (1.0 - validation_split)).floor() as usize,
        };
        if split_at == 0 {
            bail!(
                InvalidArgument,
                "fit: {n} samples are too few to split with validation_split={validation_split}"
            );
        }
        let mut train = dataset(x, y, 0..split_at)?;
        let mut validation = match &validation_data {
            Some((val_x, val_y)) => {
                let (val_n, val_y_n) = (
                    rows(val_x, "validation_data x")?,
                    rows(val_y, "validation_data y")?,
                );
                if val_n != val_y_n {
                    bail!(
                        Shape,
                        "validation_data: x has {val_n} samples, y has {val_y_n}"
                    );
                }
                Some(dataset(val_x, val_y, 0..val_n)?)
            }
            None => (split_at < n)
                .then(|| dataset(x, y, split_at..n))
                .transpose()?,
        };
        let mut progress = ProgressBar::new();
        let mut hooks: Vec<&mut dyn Callback> = Vec::with_capacity(callbacks.len() + 1);
        if verbose {
            hooks.push(&mut progress);
        }
        hooks.extend(callbacks.iter_mut().map(|c| &mut **c as &mut dyn Callback));
        let weights = self.weights();
        let mut val_batches = validation
            .as_mut()
            .map(|data| fit::ArrayBatches::new(data, batch_size));
        let outcome = fit::fit_loop(
            &mut trainer,
            &mut fit::ArrayBatches::new(&mut train, batch_size),
            val_batches.as_mut().map(|v| v as &mut dyn fit::Batches),
            &fit::LoopOptions {
                epochs,
                initial_epoch,
                shuffle,
                validation_freq: 1,
            },
            &mut hooks,
            &weights,
        )?;
        Ok(outcome.history)
    }

    /// The loss and the metrics of the model on `x` and `y` (Keras's `evaluate`, batch
    /// size 32).
    pub fn evaluate(&mut self, x: &Tensor, y: &Tensor) -> Result<(f64, Logs)> {
        let n = rows(x, "x")?;
        let mut trainer = self.trainer(x, y, "evaluate")?;
        let mut data = dataset(x, y, 0..n)?;
        let mut batches = fit::ArrayBatches::new(&mut data, 32);
        let mut logs = fit::evaluate_loop(&mut trainer, &mut batches, &mut [])?;
        let loss = logs.remove("loss").unwrap_or(f64::NAN);
        Ok((loss, logs))
    }

    /// The model's outputs for `x` in inference mode (Keras's `predict`, batch size
    /// 32), on the same loop as the Python package's `predict`.
    pub fn predict(&mut self, x: &Tensor) -> Result<Tensor> {
        self.predict_with(x, &mut [])
    }

    /// [`Sequential::predict`] with callbacks at Keras's predict hooks.
    pub fn predict_with(
        &mut self,
        x: &Tensor,
        callbacks: &mut [&mut dyn Callback],
    ) -> Result<Tensor> {
        self.ensure_built(x)?;
        let mut engine = self.engine(Vec::new())?;
        let mut data = Dataset::new(Rows::from_tensor(x)?, None, None)?;
        let mut batches = fit::ArrayBatches::new(&mut data, 32);
        fit::predict_loop(&mut engine, &mut batches, callbacks)
    }

    /// The engines of the layers, bottom first.
    fn engines(&self) -> Vec<Arc<dyn Layer>> {
        self.layers
            .iter()
            .filter_map(|l| l.engine.clone())
            .collect()
    }
}

/// The model of a `.keras` file (Keras 3's format, as kandle and Keras write it for
/// models of kandle's layers), with its weights. Its layers come from the registry
/// only: nothing named in the file is executed.
pub fn load_model(path: impl AsRef<std::path::Path>) -> Result<Sequential> {
    let file = crate::io::load_keras(path.as_ref())?;
    let model = Sequential::from_keras_config(&file.config)?;
    if model.input_shape.is_none() {
        bail!(
            InvalidArgument,
            "load: the model in {} has no input shape",
            path.as_ref().display()
        );
    }
    model.set_keras_weights(&file.weights)?;
    Ok(model)
}

/// The number of rows of `t`, which must have a batch axis and at least one row.
fn rows(t: &Tensor, what: &str) -> Result<usize> {
    match t.shape().first() {
        Some(&n) if n > 0 => Ok(n),
        _ => bail!(
            InvalidArgument,
            "{what}: expected at least one sample, got shape {}",
            fmt_shape(t.shape())
        ),
    }
}

/// The rows `range` of `x` and `y`, as the engine's data.
fn dataset(x: &Tensor, y: &Tensor, range: std::ops::Range<usize>) -> Result<Dataset> {
    let part = |t: &Tensor| Rows::from_tensor_rows(t, range.clone());
    Dataset::new(part(x)?, Some(part(y)?), None)
}

/// The metric class and log name of a compiled metric for targets and predictions of
/// the given shapes: Keras's `compile` turns `"accuracy"` into binary, sparse or
/// categorical accuracy by the shapes.
fn metric_class(
    metric: &MetricSpec,
    y_true: &[usize],
    y_pred: &[usize],
) -> Result<(&'static str, String)> {
    let classes: Vec<&'static str> = METRIC_CLASSES
        .iter()
        .chain(WRAPPER_CLASSES.iter())
        .copied()
        .collect();
    match metric {
        MetricSpec::Name(name) if name == "accuracy" || name == "acc" => {
            Ok((accuracy_class(y_true, y_pred), name.clone()))
        }
        MetricSpec::Name(name) => Ok((
            names::resolve_class("metric", name, &classes)?,
            name.clone(),
        )),
        MetricSpec::Class(spec) => {
            let class = names::resolve_class("metric", &spec.class_name, &classes)?;
            let name = match spec.config.get("name") {
                Some(Value::String(n)) => n.clone(),
                _ => names::snake_case(class),
            };
            Ok((class, name))
        }
    }
}
