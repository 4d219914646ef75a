//! `kandle._core.Loss`.

use super::convert::to_tensor;
use super::layers::parse_config;
use super::run;
use super::tensor::PyTensor;
use crate::losses::Loss;
use pyo3::prelude::*;
use std::sync::Arc;

/// The engine side of a `kandle.losses.Loss`, shared with the training loop.
#[pyclass(name = "Loss", module = "kandle._core", frozen)]
pub struct PyLoss {
    pub inner: Arc<Loss>,
}

#[pymethods]
impl PyLoss {
    #[new]
    fn new(class_name: &str, config_json: &str) -> PyResult<Self> {
        let config = parse_config(config_json)?;
        Ok(PyLoss {
            inner: Arc::new(Loss::from_config(class_name, &config)?),
        })
    }

    /// Per-sample values, weighted by `sample_weight` and reduced (Keras `Loss.__call__`).
    #[pyo3(signature = (y_true, y_pred, sample_weight=None))]
    fn __call__(
        &self,
        py: Python<'_>,
        y_true: &Bound<'_, PyAny>,
        y_pred: &Bound<'_, PyAny>,
        sample_weight: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyTensor> {
        let (t, p) = (to_tensor(y_true)?, to_tensor(y_pred)?);
        let w = sample_weight.map(to_tensor).transpose()?;
        run(py, || self.inner.call(&t, &p, w.as_ref())).map(PyTensor::from)
    }

    /// The per-sample values of the loss function, unreduced.
    fn per_sample(
        &self,
        py: Python<'_>,
        y_true: &Bound<'_, PyAny>,
        y_pred: &Bound<'_, PyAny>,
    ) -> PyResult<PyTensor> {
        let (t, p) = (to_tensor(y_true)?, to_tensor(y_pred)?);
        run(py, || self.inner.per_sample(&t, &p)).map(PyTensor::from)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLoss>()
}
