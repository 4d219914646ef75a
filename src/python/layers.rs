//! `kandle._core.Layer`: a Rust layer built from a Keras class name, config and weights.

use super::convert::to_tensor;
use super::run;
use super::tensor::PyTensor;
use crate::error::Error;
use crate::nn;
use pyo3::prelude::*;
use std::sync::Arc;

/// The engine side of a `kandle.layers.Layer`: it shares the Python layer's variables.
#[pyclass(name = "Layer", module = "kandle._core", frozen)]
pub struct PyLayer {
    pub inner: Arc<dyn nn::Layer>,
}

pub(crate) fn parse_config(config_json: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(config_json)
        .map_err(|e| Error::InvalidArgument(format!("invalid config JSON: {e}")).into())
}

#[pymethods]
impl PyLayer {
    #[new]
    fn new(
        class_name: &str,
        config_json: &str,
        weights: Vec<PyRef<'_, PyTensor>>,
    ) -> PyResult<Self> {
        let config = parse_config(config_json)?;
        let weights: Vec<_> = weights.iter().map(|w| w.inner.clone()).collect();
        Ok(PyLayer {
            inner: Arc::from(nn::layer_from_config(class_name, &config, &weights)?),
        })
    }

    #[pyo3(signature = (x, training=false))]
    fn forward(&self, py: Python<'_>, x: &Bound<'_, PyAny>, training: bool) -> PyResult<PyTensor> {
        let x = to_tensor(x)?;
        run(py, || self.inner.forward(&x, training)).map(PyTensor::from)
    }

    /// The layer's regularization penalty, or None.
    fn regularization(&self, py: Python<'_>) -> PyResult<Option<PyTensor>> {
        Ok(run(py, || self.inner.regularization())?.map(PyTensor::from))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLayer>()
}
