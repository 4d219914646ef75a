//! `kandle._core.Dataset` and `kandle._core.Trainer`: the batch loop of fit, evaluate and
//! predict, run with the GIL released.

use super::convert::{to_numpy, to_rows, to_tensor};
use super::fit::{PyHooks, PyStream, Raised};
use super::layers::PyLayer;
use super::losses::PyLoss;
use super::metrics::{keras_result, PyMetric};
use super::optim::PyOptimizer;
use super::python_pieces::PythonLoss;
use super::tensor::PyTensor;
use super::{run, run_interruptible};
use crate::model::fit::{
    evaluate_loop, fit_loop, predict_loop, ArrayBatches, Batches, LoopOptions,
};
use crate::train::{
    CompiledMetric, Dataset, Mode, OutputHead, SharedMetric, Trainer, TrainingLoss,
};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use std::sync::Arc;

/// Training data held by the engine: one copy of x, y and sample weights.
#[pyclass(name = "Dataset", module = "kandle._core")]
pub struct PyDataset {
    inner: Dataset,
}

#[pymethods]
impl PyDataset {
    #[new]
    #[pyo3(signature = (x, y=None, sample_weight=None))]
    fn new(
        x: &Bound<'_, PyAny>,
        y: Option<&Bound<'_, PyAny>>,
        sample_weight: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let part =
            |p: Option<&Bound<'_, PyAny>>| p.filter(|v| !v.is_none()).map(to_rows).transpose();
        Ok(PyDataset {
            inner: Dataset::new(to_rows(x)?, part(y)?, part(sample_weight)?)?,
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn num_batches(&self, batch_size: usize) -> usize {
        self.inner.num_batches(batch_size)
    }
}

/// One output of a model of several outputs as Python gives it: its name, its loss (or
/// None), the loss's weight and the per-sample shape of its targets.
type PyOutputHead<'py> = (String, Option<Bound<'py, PyAny>>, f64, Vec<usize>);

/// A compiled model's engine: layers, loss, optimizer and metrics, shared with their
/// Python objects (a loss written in Python is called back per batch). Each metric
/// comes as `(name, metric, weighted)`: only weighted metrics (Keras's
/// `weighted_metrics`) see sample weights.
#[pyclass(name = "Trainer", module = "kandle._core")]
pub struct PyTrainer {
    inner: Trainer,
    /// The trainer's metrics by log name, in its order, for results that are arrays.
    metrics: Vec<(String, SharedMetric)>,
}

impl From<Trainer> for PyTrainer {
    fn from(inner: Trainer) -> Self {
        PyTrainer {
            metrics: inner
                .metrics()
                .iter()
                .map(|m| (m.name.clone(), m.metric.clone()))
                .collect(),
            inner,
        }
    }
}

/// A compiled metric as Python gives it: `(log name, metric, weighted)`.
pub type PyCompiledMetric<'py> = (String, PyRef<'py, PyMetric>, bool);

/// The engine's compiled metrics of Python's `(name, metric, weighted)` triples.
pub fn compiled_metrics(metrics: Vec<PyCompiledMetric<'_>>) -> Vec<CompiledMetric> {
    metrics
        .into_iter()
        .map(|(name, m, weighted)| CompiledMetric {
            name,
            metric: m.inner.clone(),
            weighted,
        })
        .collect()
}

#[pymethods]
impl PyTrainer {
    #[new]
    #[pyo3(signature = (layers, trainable, loss=None, optimizer=None, metrics=Vec::new()))]
    fn new(
        layers: Vec<PyRef<'_, PyLayer>>,
        trainable: Vec<PyRef<'_, PyTensor>>,
        loss: Option<&Bound<'_, PyAny>>,
        optimizer: Option<PyRef<'_, PyOptimizer>>,
        metrics: Vec<PyCompiledMetric<'_>>,
    ) -> Self {
        PyTrainer::from(Trainer::new(
            layers.iter().map(|l| l.inner.clone()).collect(),
            trainable.iter().map(|t| t.inner.clone()).collect(),
            loss.filter(|l| !l.is_none()).map(engine_loss),
            optimizer.map(|o| o.inner.clone()),
            compiled_metrics(metrics),
        ))
    }

    /// The running `loss` and metric values, in order: floats, and float32 arrays for
    /// metrics whose Keras result is one (Keras's History holds those arrays).
    fn logs<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyAny>)>> {
        // The losses are floats; a metric's value comes from the metric itself.
        let mut out = Vec::with_capacity(self.metrics.len() + 1);
        for (name, value) in self.inner.logs() {
            match self.metrics.iter().find(|(n, _)| *n == name) {
                Some((_, metric)) => {
                    let result = keras_result(&**metric.lock().unwrap_or_else(|e| e.into_inner()));
                    out.push((name, result.into_py(py)?));
                }
                None => out.push((name, value.into_bound_py_any(py)?)),
            }
        }
        Ok(out)
    }

    /// Keras's `fit` loop (`crate::model::fit`) over `train` and `validation` (a
    /// `_batches.ArrayBatches` runs in the engine, a `StreamBatches` gives its batches
    /// one by one), calling `hooks.call(name, *args)` at each of Keras's hook points.
    /// Returns whether a stream ran out of batches.
    #[pyo3(signature = (train, validation, hooks, epochs, initial_epoch, shuffle, validation_freq))]
    #[allow(clippy::too_many_arguments)] // the Python signature
    fn fit(
        &mut self,
        py: Python<'_>,
        train: &Bound<'_, PyAny>,
        validation: Option<&Bound<'_, PyAny>>,
        hooks: &Bound<'_, PyAny>,
        epochs: usize,
        initial_epoch: usize,
        shuffle: bool,
        validation_freq: usize,
    ) -> PyResult<bool> {
        let raised = Raised::default();
        let mut train = Source::of(train, &raised)?;
        let mut validation = validation
            .filter(|v| !v.is_none())
            .map(|v| Source::of(v, &raised))
            .transpose()?;
        let mut hooks = PyHooks::new(hooks, self.metrics.clone(), &raised);
        let options = LoopOptions {
            epochs,
            initial_epoch,
            shuffle,
            validation_freq,
        };
        let trainer = &mut self.inner;
        let mut train = train.batches();
        let mut validation = validation.as_mut().map(Source::batches);
        let outcome = run_interruptible(py, move || {
            fit_loop(
                trainer,
                &mut *train,
                validation.as_mut().map(|v| &mut **v as &mut dyn Batches),
                &options,
                &mut [&mut hooks],
                &[],
            )
        });
        outcome.map(|o| o.ran_out).map_err(|e| raised.take_or(e))
    }

    /// Keras's `evaluate` loop over `data` (as `fit`'s `train`), calling `hooks` at the
    /// test hooks.
    fn evaluate(
        &mut self,
        py: Python<'_>,
        data: &Bound<'_, PyAny>,
        hooks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let raised = Raised::default();
        let mut data = Source::of(data, &raised)?;
        let mut hooks = PyHooks::new(hooks, self.metrics.clone(), &raised);
        let trainer = &mut self.inner;
        let mut batches = data.batches();
        run_interruptible(py, move || {
            evaluate_loop(trainer, &mut *batches, &mut [&mut hooks])
        })
        .map(drop)
        .map_err(|e| raised.take_or(e))
    }

    /// Keras's `predict` loop over `data` (as `fit`'s `train`; a stream gives inputs by
    /// `next_inputs()`), calling `hooks` at the predict hooks. Returns the outputs.
    fn predict<'py>(
        &mut self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        hooks: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let raised = Raised::default();
        let mut data = Source::of(data, &raised)?;
        let mut hooks = PyHooks::new(hooks, Vec::new(), &raised);
        let trainer = &mut self.inner;
        let mut batches = data.batches();
        let y = run_interruptible(py, move || {
            predict_loop(trainer, &mut *batches, &mut [&mut hooks])
        })
        .map_err(|e| raised.take_or(e))?;
        to_numpy(py, &y)
    }

    fn reset_metrics(&mut self) {
        self.inner.reset_metrics()
    }

    /// Makes this the engine of a model of several outputs: `outputs` holds
    /// `(name, loss or None, loss weight, per-sample target shape)` for each, in order
    /// (targets arrive packed side by side); metric `i` reads output `metric_outputs[i]`.
    fn set_outputs(
        &mut self,
        outputs: Vec<PyOutputHead<'_>>,
        metric_outputs: Vec<usize>,
    ) -> PyResult<()> {
        let outputs = outputs
            .into_iter()
            .map(|(name, loss, weight, target_shape)| OutputHead {
                name,
                loss: loss.filter(|l| !l.is_none()).map(|l| engine_loss(&l)),
                weight,
                target_shape,
            })
            .collect();
        Ok(self.inner.set_outputs(outputs, metric_outputs)?)
    }

    /// One step on one batch (train_on_batch / test_on_batch).
    #[pyo3(signature = (x, y, sample_weight=None, training=true))]
    fn step(
        &mut self,
        py: Python<'_>,
        x: &Bound<'_, PyAny>,
        y: &Bound<'_, PyAny>,
        sample_weight: Option<&Bound<'_, PyAny>>,
        training: bool,
    ) -> PyResult<()> {
        let (x, y) = (to_tensor(x)?, to_tensor(y)?);
        let sw = sample_weight
            .filter(|s| !s.is_none())
            .map(to_tensor)
            .transpose()?;
        let mode = if training { Mode::Train } else { Mode::Test };
        let trainer = &mut self.inner;
        run(py, || trainer.step(mode, &x, &y, sw.as_ref()))
    }

    /// The model's output for `x` in inference mode (in blocks of rows, so that Ctrl-C
    /// stops a large batch between blocks).
    fn forward(&self, py: Python<'_>, x: &Bound<'_, PyAny>) -> PyResult<PyTensor> {
        let x = to_tensor(x)?;
        run_interruptible(py, || self.inner.predict(&x)).map(PyTensor::from)
    }
}

/// The engine side of a compiled loss: a built-in `kandle._core.Loss`, or a loss
/// written in Python (called back per batch).
pub fn engine_loss(loss: &Bound<'_, PyAny>) -> Arc<dyn TrainingLoss> {
    match loss.cast::<PyLoss>() {
        Ok(builtin) => builtin.get().inner.clone(),
        Err(_) => Arc::new(PythonLoss::new(loss)),
    }
}

/// A batch source of `fit`: in-memory data the engine batches itself (its rows, batch
/// size and steps per pass), or a Python stream.
enum Source<'py> {
    Array(PyRefMut<'py, PyDataset>, usize, usize),
    Stream(PyStream),
}

impl<'py> Source<'py> {
    /// The source of a `kandle._batches` object (`ArrayBatches` holds a `Dataset`).
    fn of(batches: &Bound<'py, PyAny>, raised: &Raised) -> PyResult<Self> {
        if let Ok(data) = batches.getattr("dataset") {
            if let Ok(data) = data.cast_into::<PyDataset>() {
                let batch_size = batches.getattr("batch_size")?.extract()?;
                let steps = batches.getattr("steps")?.extract()?;
                return Ok(Source::Array(data.borrow_mut(), batch_size, steps));
            }
        }
        Ok(Source::Stream(PyStream::new(batches, raised)?))
    }

    fn batches(&mut self) -> Box<dyn Batches + Send + '_> {
        match self {
            Source::Array(data, batch_size, steps) => {
                Box::new(ArrayBatches::new(&mut data.inner, *batch_size).with_steps(Some(*steps)))
            }
            Source::Stream(stream) => Box::new(&mut *stream),
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDataset>()?;
    m.add_class::<PyTrainer>()
}
