//! `kandle._core.Sequential`: the crate's own model ([`crate::model::Sequential`]),
//! built from Keras layer descriptions by the Rust registry, as a Rust program builds it.

use super::convert::{to_numpy, to_tensor};
use super::layers::{parse_config, PyLayer};
use super::optim::PyOptimizer;
use super::tensor::PyTensor;
use super::train::{compiled_metrics, engine_loss, PyCompiledMetric, PyTrainer};
use super::{run, run_interruptible};
use crate::model::{
    FitOptions, LayerSpec, LossSpec, MetricSpec, ModelLayer, OptimizerSpec, Sequential, Spec,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::Value;

/// A description `{"class_name": ..., "config": {...}}` as a [`Spec`].
fn spec(json: &str) -> PyResult<Spec> {
    let value = parse_config(json)?;
    let class_name = value["class_name"].as_str().unwrap_or_default();
    Ok(Spec::new(
        class_name,
        value.get("config").cloned().unwrap_or(Value::Null),
    ))
}

/// A layer that Python built, as the model takes it: its name, class name, config
/// (JSON), engine and weights, each with whether the optimizer trains it.
type PyBuiltLayer<'py> = (
    String,
    String,
    String,
    PyRef<'py, PyLayer>,
    Vec<(PyRef<'py, PyTensor>, bool)>,
);

/// The Rust model, built and trained by the crate's API.
#[pyclass(name = "Sequential", module = "kandle._core")]
pub struct PySequential {
    inner: Sequential,
}

#[pymethods]
impl PySequential {
    /// A model of `layers`, each a JSON `{"class_name": ..., "config": {...}}`.
    #[new]
    fn new(layers: Vec<String>) -> PyResult<Self> {
        let mut inner = Sequential::new();
        for layer in &layers {
            inner.push(LayerSpec(spec(layer)?));
        }
        Ok(PySequential { inner })
    }

    /// The model of a Keras `Sequential` config (JSON), built by the Rust registry.
    #[staticmethod]
    fn from_keras_config(py: Python<'_>, config: &str) -> PyResult<Self> {
        let config = parse_config(config)?;
        let inner = run(py, || Sequential::from_keras_config(&config))?;
        Ok(PySequential { inner })
    }

    /// The model of a `.keras` file, by the crate's `load_model`.
    #[staticmethod]
    fn load(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Self> {
        let inner = run(py, || crate::model::load_model(&path))?;
        Ok(PySequential { inner })
    }

    /// Saves the model as a `.keras` file, by the crate's `Sequential::save`.
    fn save(&self, py: Python<'_>, path: std::path::PathBuf) -> PyResult<()> {
        let model = &self.inner;
        run(py, || model.save(&path))
    }

    fn build(&mut self, py: Python<'_>, input_shape: Vec<usize>) -> PyResult<()> {
        let model = &mut self.inner;
        run(py, || model.build(&input_shape))
    }

    /// The weights (variables), in the model's order.
    fn weights(&self) -> Vec<PyTensor> {
        self.inner
            .weights()
            .into_iter()
            .map(PyTensor::from)
            .collect()
    }

    fn set_weights(&self, values: Vec<Bound<'_, PyAny>>) -> PyResult<()> {
        let values = values.iter().map(to_tensor).collect::<PyResult<Vec<_>>>()?;
        Ok(self.inner.set_weights(&values)?)
    }

    /// `compile` with JSON descriptions of the optimizer and loss, and metric names.
    fn compile(&mut self, optimizer: &str, loss: &str, metrics: Vec<String>) -> PyResult<()> {
        let metrics = metrics.into_iter().map(MetricSpec::Name);
        Ok(self.inner.compile(
            OptimizerSpec(spec(optimizer)?),
            LossSpec(spec(loss)?),
            metrics,
        )?)
    }

    /// `fit` without callbacks or progress bar; returns the history as a dict.
    #[pyo3(signature = (x, y, epochs=1, batch_size=32, shuffle=true, validation_split=0.0))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn fit<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        y: &Bound<'py, PyAny>,
        epochs: usize,
        batch_size: usize,
        shuffle: bool,
        validation_split: f64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let (x, y) = (to_tensor(x)?, to_tensor(y)?);
        let model = &mut self.inner;
        let history = run_interruptible(py, move || {
            let options = FitOptions {
                epochs,
                batch_size,
                shuffle,
                validation_split,
                verbose: false,
                ..Default::default()
            };
            model.fit(&x, &y, options)
        })?;
        let out = PyDict::new(py);
        for (name, values) in history.history {
            out.set_item(name, values)?;
        }
        Ok(out)
    }

    fn predict<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let x = to_tensor(x)?;
        let model = &mut self.inner;
        let y = run_interruptible(py, move || model.predict(&x))?;
        to_numpy(py, &y)
    }

    // The Python package's face: `kandle.Sequential` builds its layers and resolves
    // its metrics in Python, and gives the model the built pieces.

    /// Replaces the layers by layers Python built, with the shapes of one input and one
    /// output sample when all their sizes are known.
    #[pyo3(signature = (layers, sample_shapes=None))]
    fn set_built_layers(
        &mut self,
        layers: Vec<PyBuiltLayer<'_>>,
        sample_shapes: Option<(Vec<usize>, Vec<usize>)>,
    ) -> PyResult<()> {
        let layers = layers
            .into_iter()
            .map(|(name, class_name, config, engine, weights)| {
                let spec = Spec::new(&class_name, parse_config(&config)?);
                let weights = weights
                    .iter()
                    .map(|(w, trainable)| (w.inner.clone(), *trainable))
                    .collect();
                Ok(ModelLayer::built(name, spec, engine.inner.clone(), weights))
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.inner.set_built_layers(layers, sample_shapes);
        Ok(())
    }

    /// Compiles with Python's optimizer and loss objects (their engines), shared.
    #[pyo3(signature = (optimizer, loss=None))]
    fn compile_engine(
        &mut self,
        optimizer: PyRef<'_, PyOptimizer>,
        loss: Option<&Bound<'_, PyAny>>,
    ) {
        let loss = loss.filter(|l| !l.is_none()).map(engine_loss);
        self.inner.compile_engine(optimizer.inner.clone(), loss);
    }

    /// The batch engine of the model with `metrics`, `(log name, metric, weighted)`.
    #[pyo3(signature = (metrics=Vec::new()))]
    fn engine(&self, metrics: Vec<PyCompiledMetric<'_>>) -> PyResult<PyTrainer> {
        Ok(PyTrainer::from(
            self.inner.engine(compiled_metrics(metrics))?,
        ))
    }
}

/// Keras's `to_snake_case` (`"BatchNormalization"` → `"batch_normalization"`): the
/// names Keras gives layers, losses and metrics by default.
#[pyfunction]
fn snake_case(name: &str) -> String {
    crate::model::names::snake_case(name)
}

/// The class of `classes` that a Keras identifier names (the class name, its
/// snake_case, or an alias such as `"mse"`); `what` ("loss", "metric") names the family
/// in the error.
#[pyfunction]
fn resolve_class(what: &str, identifier: &str, classes: Vec<String>) -> PyResult<String> {
    let classes: Vec<&str> = classes.iter().map(String::as_str).collect();
    Ok(crate::model::names::resolve_class(what, identifier, &classes)?.to_string())
}

/// The accuracy class Keras's `compile` makes of `"accuracy"` for targets and predictions
/// of these shapes; an unknown dimension (None) decides nothing, as a 0 does in the rule.
#[pyfunction]
fn accuracy_class(
    y_true_shape: Vec<Option<usize>>,
    y_pred_shape: Vec<Option<usize>>,
) -> &'static str {
    let known = |shape: Vec<Option<usize>>| -> Vec<usize> {
        shape.into_iter().map(|d| d.unwrap_or(0)).collect()
    };
    crate::metrics::accuracy_class(&known(y_true_shape), &known(y_pred_shape))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySequential>()?;
    m.add_function(wrap_pyfunction!(resolve_class, m)?)?;
    m.add_function(wrap_pyfunction!(accuracy_class, m)?)?;
    m.add_function(wrap_pyfunction!(snake_case, m)?)
}
