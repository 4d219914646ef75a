//! `kandle._core.Metric`.

use super::convert::to_tensor;
use super::layers::parse_config;
use super::run;
use crate::error::Error;
use crate::metrics::{metric_from_config, Metric};
use numpy::PyArray1;
use pyo3::exceptions::PyUserWarning;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use std::sync::{Arc, Mutex, MutexGuard};

/// The engine side of a `kandle.metrics.Metric`, shared with the training loop.
#[pyclass(name = "Metric", module = "kandle._core", frozen)]
pub struct PyMetric {
    pub inner: Arc<Mutex<Box<dyn Metric>>>,
}

impl PyMetric {
    fn lock(&self) -> MutexGuard<'_, Box<dyn Metric>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[pymethods]
impl PyMetric {
    #[new]
    fn new(class_name: &str, config_json: &str) -> PyResult<Self> {
        let config = parse_config(config_json)?;
        Ok(PyMetric {
            inner: Arc::new(Mutex::new(metric_from_config(class_name, &config)?)),
        })
    }

    /// Accumulates one batch.
    #[pyo3(signature = (y_true, y_pred, sample_weight=None))]
    fn update_state(
        &self,
        py: Python<'_>,
        y_true: &Bound<'_, PyAny>,
        y_pred: &Bound<'_, PyAny>,
        sample_weight: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (t, p) = (to_tensor(y_true)?, to_tensor(y_pred)?);
        let w = sample_weight.map(to_tensor).transpose()?;
        run(py, || self.lock().update(&t, &p, w.as_ref()))
    }

    /// The running value: a float, or a float32 array where Keras's result is one
    /// (several thresholds, per-class scores). Warns as Keras does (R2Score).
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (value, warning) = run(py, || {
            let m = self.lock();
            Ok::<_, Error>((keras_result(&**m), m.result_warning()))
        })?;
        if let Some(message) = warning {
            let message = std::ffi::CString::new(message)?;
            PyErr::warn(py, &py.get_type::<PyUserWarning>(), &message, 1)?;
        }
        value.into_py(py)
    }

    /// Forgets everything accumulated.
    fn reset_state(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || {
            self.lock().reset();
            Ok::<_, Error>(())
        })
    }
}

/// A metric's result as Keras gives it: a scalar or an array.
pub(crate) enum KerasResult {
    Scalar(f64),
    Array(Vec<f64>),
}

pub(crate) fn keras_result(m: &dyn Metric) -> KerasResult {
    if m.result_is_array() {
        KerasResult::Array(m.result_values())
    } else {
        KerasResult::Scalar(m.result())
    }
}

impl KerasResult {
    /// A Python float, or a float32 numpy array as Keras returns.
    pub(crate) fn into_py(self, py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
        match self {
            KerasResult::Scalar(v) => v.into_bound_py_any(py),
            KerasResult::Array(v) => {
                let v: Vec<f32> = v.into_iter().map(|x| x as f32).collect();
                Ok(PyArray1::from_vec(py, v).into_any())
            }
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMetric>()
}
