//! `kandle._core.Layer`: a Rust layer built from a Keras class name, config and weights.

use super::convert::{to_numpy, to_tensor};
use super::run;
use super::tensor::PyTensor;
use crate::error::Error;
use crate::nn;
use crate::nn::preprocessing::{self, CategoryEncoding, IntegerLookup, OutputMode};
use numpy::PyReadonlyArrayDyn;
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

    /// The layer applied to several inputs (a merge layer, a functional model).
    #[pyo3(signature = (inputs, training=false))]
    fn forward_many(
        &self,
        py: Python<'_>,
        inputs: Vec<Bound<'_, PyAny>>,
        training: bool,
    ) -> PyResult<PyTensor> {
        let inputs = inputs.iter().map(to_tensor).collect::<PyResult<Vec<_>>>()?;
        run(py, || self.inner.forward_many(&inputs, training)).map(PyTensor::from)
    }

    /// The layer's regularization penalty, or None.
    fn regularization(&self, py: Python<'_>) -> PyResult<Option<PyTensor>> {
        Ok(run(py, || self.inner.regularization())?.map(PyTensor::from))
    }
}

/// The whole numbers of an array-like (any integer dtype, or floats that are whole).
fn to_i64s(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<i64>> {
    let np = obj.py().import("numpy")?;
    let arr = np.call_method1("asarray", (obj,))?;
    let kind: String = arr.getattr("dtype")?.getattr("kind")?.extract()?;
    let flat = arr.call_method0("ravel")?;
    match kind.as_str() {
        "b" | "i" | "u" => {
            let a: PyReadonlyArrayDyn<'_, i64> =
                flat.call_method1("astype", ("int64",))?.extract()?;
            Ok(a.as_array().iter().copied().collect())
        }
        "f" => {
            let a: PyReadonlyArrayDyn<'_, f64> =
                flat.call_method1("astype", ("float64",))?.extract()?;
            a.as_array()
                .iter()
                .map(|&v| {
                    if v.fract() == 0.0 && v.is_finite() {
                        Ok(v as i64)
                    } else {
                        Err(Error::InvalidArgument(format!(
                            "{what}: expected integer data, got the value {v}"
                        ))
                        .into())
                    }
                })
                .collect()
        }
        _ => Err(Error::DType(format!(
            "{what}: expected integer data, got an array of dtype {}",
            arr.getattr("dtype")?.str()?
        ))
        .into()),
    }
}

/// `Normalization.adapt`: the mean and variance of each index of the kept `axis` over
/// `batches` (arrays), as float32 arrays of the kept axes' shape.
#[pyfunction]
fn normalization_adapt<'py>(
    py: Python<'py>,
    batches: Vec<Bound<'py, PyAny>>,
    axis: Vec<isize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let batches = batches
        .iter()
        .map(to_tensor)
        .collect::<PyResult<Vec<_>>>()?;
    let (mean, variance) = run(py, || preprocessing::adapt_moments(&batches, &axis))?;
    Ok((to_numpy(py, &mean)?, to_numpy(py, &variance)?))
}

/// `Discretization.adapt`: Keras's approximate quantile boundaries of `batches`.
#[pyfunction]
fn discretization_adapt(
    py: Python<'_>,
    batches: Vec<Bound<'_, PyAny>>,
    epsilon: f64,
    num_bins: usize,
) -> PyResult<Vec<f32>> {
    let batches = batches
        .iter()
        .map(|b| Ok(to_tensor(b)?.to_vec()))
        .collect::<PyResult<Vec<_>>>()?;
    run(py, || {
        preprocessing::adapt_bin_boundaries(&batches, epsilon, num_bins)
    })
}

/// `IntegerLookup.adapt`: the tokens of `batches` by decreasing count, without the
/// special tokens, at most `max_learned`.
#[pyfunction]
#[pyo3(signature = (batches, mask_token, oov_token, max_learned=None))]
fn integer_lookup_adapt(
    py: Python<'_>,
    batches: Vec<Bound<'_, PyAny>>,
    mask_token: Option<i64>,
    oov_token: Option<i64>,
    max_learned: Option<usize>,
) -> PyResult<Vec<i64>> {
    let batches = batches
        .iter()
        .map(|b| to_i64s(b, "IntegerLookup.adapt"))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(py.detach(|| preprocessing::adapt_vocabulary(&batches, mask_token, oov_token, max_learned)))
}

/// The vocabulary (without special tokens) of an IntegerLookup config, checked as
/// Keras's `set_vocabulary` checks it.
#[pyfunction]
fn integer_lookup_tokens(config_json: &str) -> PyResult<Vec<i64>> {
    Ok(IntegerLookup::from_config(&parse_config(config_json)?)?.tokens)
}

/// `CategoryEncoding` of `x` with per-element `count_weights` (count mode).
#[pyfunction]
#[pyo3(signature = (x, num_tokens, output_mode, count_weights=None))]
fn category_encode(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    num_tokens: usize,
    output_mode: &str,
    count_weights: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTensor> {
    let mode = OutputMode::from_name(
        "CategoryEncoding",
        output_mode,
        &["one_hot", "multi_hot", "count"],
    )?;
    let layer = CategoryEncoding::new(num_tokens, mode)?;
    let x = to_tensor(x)?;
    let weights = count_weights.map(to_tensor).transpose()?;
    run(py, || layer.encode(&x, weights.as_ref())).map(PyTensor::from)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLayer>()?;
    m.add_function(wrap_pyfunction!(normalization_adapt, m)?)?;
    m.add_function(wrap_pyfunction!(discretization_adapt, m)?)?;
    m.add_function(wrap_pyfunction!(integer_lookup_adapt, m)?)?;
    m.add_function(wrap_pyfunction!(integer_lookup_tokens, m)?)?;
    m.add_function(wrap_pyfunction!(category_encode, m)?)?;
    Ok(())
}
