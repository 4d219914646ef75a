//! Pieces of a model written in Python (custom layers, losses and metrics), run by the
//! Rust batch loop: each takes the GIL for its own call, once per batch, and computes
//! with `kandle.ops`, whose Tensors record into the engine's autograd graph, so that the
//! gradients of the engine's loss reach the Python layer's weights. Built-in pieces
//! never take the GIL (the speed contract, see the README).

use super::layers::PyLayer;
use super::metrics::PyMetric;
use super::tensor::PyTensor;
use crate::error::{Error, Result};
use crate::metrics::Metric;
use crate::nn::Layer;
use crate::tensor::Tensor;
use crate::train::TrainingLoss;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// The start of the engine error that stands for a Python exception kept by [`keep`].
pub(crate) const PYTHON_RAISED: &str = "a Python layer, loss or metric raised";

/// The exception a Python piece raised last, until the engine's error reaches Python.
static RAISED: Mutex<Option<PyErr>> = Mutex::new(None);

/// Keeps a Python piece's exception (to be raised as it is once the engine stops) and
/// stands for it with an engine error.
fn keep(err: PyErr) -> Error {
    let message = format!("{PYTHON_RAISED}: {err}");
    *RAISED.lock().unwrap_or_else(|e| e.into_inner()) = Some(err);
    Error::Internal(message)
}

/// The exception behind an engine error made by [`keep`], if any.
pub(crate) fn take_raised(error: &Error) -> Option<PyErr> {
    match error {
        Error::Internal(m) if m.starts_with(PYTHON_RAISED) => {
            RAISED.lock().unwrap_or_else(|e| e.into_inner()).take()
        }
        _ => None,
    }
}

fn tensor_arg(t: &Tensor) -> PyTensor {
    PyTensor::from(t.clone())
}

/// The engine Tensor of `value`, which Python code must return as a `kandle.Tensor`.
fn tensor_of(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Tensor> {
    match value.cast::<PyTensor>() {
        Ok(t) => Ok(t.borrow().inner.clone()),
        Err(_) => Err(Error::DType(format!(
            "{what} must return a kandle Tensor, got {}",
            value.get_type().name()?
        ))
        .into()),
    }
}

/// A layer written in Python: `forward` calls its `_engine_call(x, training)`.
struct PythonLayer {
    layer: Py<PyAny>,
}

impl Layer for PythonLayer {
    fn forward(&self, x: &Tensor, training: bool) -> Result<Tensor> {
        Python::attach(|py| {
            let out = self
                .layer
                .bind(py)
                .call_method1("_engine_call", (tensor_arg(x), training))?;
            tensor_of(&out, "a Python layer's call()")
        })
        .map_err(keep)
    }

    fn begin_batch(&self) -> Result<()> {
        Python::attach(|py| {
            self.layer
                .bind(py)
                .call_method0("_clear_added_losses")
                .map(drop)
        })
        .map_err(keep)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        Python::attach(|py| {
            let penalty = self.layer.bind(py).call_method0("regularization")?;
            if penalty.is_none() {
                return Ok(None);
            }
            tensor_of(&penalty, "regularization()").map(Some)
        })
        .map_err(keep)
    }
}

/// A loss written in Python: a `kandle.losses.Loss` whose `__call__(y_true, y_pred,
/// sample_weight)` weights and reduces the values of its Python `call`.
pub(crate) struct PythonLoss {
    loss: Py<PyAny>,
}

impl PythonLoss {
    pub(crate) fn new(loss: &Bound<'_, PyAny>) -> Self {
        PythonLoss {
            loss: loss.clone().unbind(),
        }
    }
}

impl TrainingLoss for PythonLoss {
    fn call(
        &self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<Tensor> {
        Python::attach(|py| {
            let out = self.loss.bind(py).call1((
                tensor_arg(y_true),
                tensor_arg(y_pred),
                sample_weight.map(tensor_arg),
            ))?;
            tensor_of(&out, "a Python loss")
        })
        .map_err(keep)
    }
}

/// A metric written in Python: a `kandle.metrics.Metric` with its own
/// `update_state`, `result` and `reset_state`.
struct PythonMetric {
    metric: Py<PyAny>,
}

impl Metric for PythonMetric {
    fn update(
        &mut self,
        y_true: &Tensor,
        y_pred: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<()> {
        Python::attach(|py| {
            let metric = self.metric.bind(py);
            let (t, p) = (tensor_arg(y_true), tensor_arg(y_pred));
            match sample_weight {
                // Only when given: a user's update_state may not take sample_weight.
                Some(w) => {
                    let kwargs = pyo3::types::PyDict::new(py);
                    kwargs.set_item("sample_weight", tensor_arg(w))?;
                    metric.call_method("update_state", (t, p), Some(&kwargs))?
                }
                None => metric.call_method1("update_state", (t, p))?,
            };
            Ok(())
        })
        .map_err(keep)
    }

    /// The result as a float; NaN (and the exception kept for the next engine error)
    /// when the Python `result()` fails or gives no number.
    fn result(&self) -> f64 {
        Python::attach(|py| {
            // Python's float(): a float, or anything with __float__ (a 0-d Tensor).
            self.metric
                .bind(py)
                .call_method0("result")?
                .extract::<f64>()
        })
        .unwrap_or_else(|err| {
            keep(err);
            f64::NAN
        })
    }

    fn reset(&mut self) {
        let reset = Python::attach(|py| self.metric.bind(py).call_method0("reset_state").map(drop));
        if let Err(err) = reset {
            keep(err);
        }
    }
}

/// The engine layer of a `kandle.layers.Layer` written in Python.
#[pyfunction]
fn python_layer(layer: &Bound<'_, PyAny>) -> PyLayer {
    PyLayer {
        inner: Arc::new(PythonLayer {
            layer: layer.clone().unbind(),
        }),
    }
}

/// The engine metric of a `kandle.metrics.Metric` written in Python.
#[pyfunction]
fn python_metric(metric: &Bound<'_, PyAny>) -> PyMetric {
    PyMetric {
        inner: Arc::new(Mutex::new(Box::new(PythonMetric {
            metric: metric.clone().unbind(),
        }))),
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(python_layer, m)?)?;
    m.add_function(wrap_pyfunction!(python_metric, m)?)?;
    Ok(())
}
