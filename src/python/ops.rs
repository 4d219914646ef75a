//! Module functions of `kandle._core` behind `kandle.ops` (Keras's `keras.ops`) that
//! `Tensor`'s methods do not cover: one-line wrappers over `crate::ops`.

use super::convert::{to_axes, to_tensor};
use super::run;
use super::tensor::PyTensor;
use crate::ops::Comparison;
use pyo3::prelude::*;

type TensorResult = PyResult<PyTensor>;

#[pyfunction]
fn maximum(py: Python<'_>, x1: &Bound<'_, PyAny>, x2: &Bound<'_, PyAny>) -> TensorResult {
    let (a, b) = (to_tensor(x1)?, to_tensor(x2)?);
    run(py, || a.maximum(&b)).map(PyTensor::from)
}

#[pyfunction]
fn minimum(py: Python<'_>, x1: &Bound<'_, PyAny>, x2: &Bound<'_, PyAny>) -> TensorResult {
    let (a, b) = (to_tensor(x1)?, to_tensor(x2)?);
    run(py, || a.minimum(&b)).map(PyTensor::from)
}

/// `x1` where `condition` is nonzero, else `x2`.
#[pyfunction]
#[pyo3(name = "where")]
fn where_(
    py: Python<'_>,
    condition: &Bound<'_, PyAny>,
    x1: &Bound<'_, PyAny>,
    x2: &Bound<'_, PyAny>,
) -> TensorResult {
    let (c, a, b) = (to_tensor(condition)?, to_tensor(x1)?, to_tensor(x2)?);
    run(py, || c.select(&a, &b)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (x, axis=None, keepdims=false))]
fn min(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: Option<&Bound<'_, PyAny>>,
    keepdims: bool,
) -> TensorResult {
    let (x, axes) = (to_tensor(x)?, to_axes(axis)?);
    run(py, || x.min(axes.as_deref(), keepdims)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (x, axis=None, keepdims=false))]
fn argmax(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    axis: Option<isize>,
    keepdims: bool,
) -> TensorResult {
    let x = to_tensor(x)?;
    run(py, || x.argmax(axis, keepdims)).map(PyTensor::from)
}

#[pyfunction]
fn clip(py: Python<'_>, x: &Bound<'_, PyAny>, x_min: f64, x_max: f64) -> TensorResult {
    let x = to_tensor(x)?;
    run(py, || x.clip(x_min, x_max)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (x, indices, axis=None))]
fn take(
    py: Python<'_>,
    x: &Bound<'_, PyAny>,
    indices: &Bound<'_, PyAny>,
    axis: Option<isize>,
) -> TensorResult {
    let (x, indices) = (to_tensor(x)?, to_tensor(indices)?);
    run(py, || x.take(&indices, axis)).map(PyTensor::from)
}

/// 1 where `x1 <comparison> x2` holds, else 0 (`"less"`, `"greater_equal"`, ...).
#[pyfunction]
fn compare(
    py: Python<'_>,
    x1: &Bound<'_, PyAny>,
    x2: &Bound<'_, PyAny>,
    comparison: &str,
) -> TensorResult {
    let how = Comparison::from_name(comparison)?;
    let (a, b) = (to_tensor(x1)?, to_tensor(x2)?);
    run(py, || a.compare(&b, how)).map(PyTensor::from)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(maximum, m)?)?;
    m.add_function(wrap_pyfunction!(minimum, m)?)?;
    m.add_function(wrap_pyfunction!(where_, m)?)?;
    m.add_function(wrap_pyfunction!(min, m)?)?;
    m.add_function(wrap_pyfunction!(argmax, m)?)?;
    m.add_function(wrap_pyfunction!(clip, m)?)?;
    m.add_function(wrap_pyfunction!(take, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    Ok(())
}
