//! Python objects <-> tensors. Inputs are copied into Rust-owned float32 storage and
//! never written; outputs are new numpy arrays.

use super::tensor::PyTensor;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use numpy::{PyArray1, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};

fn dtype_error(what: String) -> PyErr {
    Error::DType(what).into()
}

/// A tensor from a Tensor, a Python number, or anything `numpy.asarray` accepts with a
/// bool, integer or float dtype (any layout, byte order or writeability).
pub fn to_tensor(obj: &Bound<'_, PyAny>) -> PyResult<Tensor<f32>> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(t.borrow().inner.clone());
    }
    if obj.is_instance_of::<PyFloat>()
        || obj.is_instance_of::<PyInt>()
        || obj.is_instance_of::<PyBool>()
    {
        return Ok(Tensor::scalar(obj.extract::<f64>()? as f32));
    }
    let np = obj.py().import("numpy")?;
    let arr = np.call_method1("asarray", (obj,))?;
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    if !matches!(kind.as_str(), "b" | "i" | "u" | "f") {
        return Err(dtype_error(format!(
            "tensor: expected numeric data (bool, integer or float), got an array of dtype {}",
            dtype.str()?
        )));
    }
    // Native-endian, aligned, C-ordered float32; a copy unless it already is one.
    let arr = np.call_method1("require", (arr, np.getattr("float32")?, "CA"))?;
    let arr: PyReadonlyArrayDyn<'_, f32> = arr.extract()?;
    let data = arr
        .as_slice()
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_vec();
    Ok(Tensor::from_vec(data, arr.shape())?)
}

/// A new float32 numpy array holding a copy of the tensor.
pub fn to_numpy<'py>(py: Python<'py>, t: &Tensor<f32>) -> PyResult<Bound<'py, PyAny>> {
    let flat = PyArray1::from_vec(py, t.to_vec());
    // numpy's own reshape: rust-numpy's turns an empty shape into (1,).
    flat.call_method1("reshape", (PyTuple::new(py, t.shape())?,))
}

/// Axes given as None, an int or a sequence of ints.
pub fn to_axes(axis: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Vec<isize>>> {
    match axis {
        None => Ok(None),
        Some(a) if a.is_none() => Ok(None),
        Some(a) => match a.extract::<isize>() {
            Ok(i) => Ok(Some(vec![i])),
            Err(_) => Ok(Some(a.extract::<Vec<isize>>()?)),
        },
    }
}

/// Results of a fallible conversion, as a `Result` for use inside [`super::run`].
pub fn shape_arg(shape: &Bound<'_, PyAny>) -> PyResult<Vec<isize>> {
    match shape.extract::<isize>() {
        Ok(d) => Ok(vec![d]),
        Err(_) => shape.extract::<Vec<isize>>(),
    }
}

/// A shape of non-negative sizes.
pub fn sizes(shape: &[isize], op: &str) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                Error::InvalidArgument(format!(
                    "{op}: negative dimensions are not allowed, got shape {shape:?}"
                ))
            })
        })
        .collect()
}
