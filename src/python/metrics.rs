//! `kandle._core.Metric`.

use crate::metrics::Metric;
use pyo3::prelude::*;
use std::sync::{Arc, Mutex};

/// The engine side of a `kandle.metrics.Metric`, shared with the training loop.
#[pyclass(name = "Metric", module = "kandle._core", frozen)]
pub struct PyMetric {
    pub inner: Arc<Mutex<Box<dyn Metric>>>,
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMetric>()
}
