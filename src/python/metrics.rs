//! `kandle._core.Metric`.

use super::convert::to_tensor;
use super::layers::parse_config;
use super::run;
use crate::error::Error;
use crate::metrics::{metric_from_config, Metric};
use pyo3::prelude::*;
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

    /// The running value.
    fn result(&self, py: Python<'_>) -> PyResult<f64> {
        run(py, || Ok::<_, Error>(self.lock().result()))
    }

    /// The running values, one per threshold (Precision, Recall), else `[result()]`.
    fn result_values(&self, py: Python<'_>) -> PyResult<Vec<f64>> {
        run(py, || Ok::<_, Error>(self.lock().result_values()))
    }

    /// Forgets everything accumulated.
    fn reset_state(&self, py: Python<'_>) -> PyResult<()> {
        run(py, || {
            self.lock().reset();
            Ok::<_, Error>(())
        })
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMetric>()
}
