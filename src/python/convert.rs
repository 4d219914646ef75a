//! Python objects <-> tensors. Inputs are copied into Rust-owned float32 storage and
//! never written; outputs are new numpy arrays.

use super::tensor::PyTensor;
use crate::error::{Error, Result};
use crate::tensor::Tensor;
use crate::train::Rows;
use numpy::{PyArray1, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyTuple};
use std::sync::Arc;

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
    let arr = float32_array(obj)?;
    let arr: PyReadonlyArrayDyn<'_, f32> = arr.extract()?;
    let data = arr
        .as_slice()
        .map_err(|e| Error::Internal(e.to_string()))?
        .to_vec();
    Ok(Tensor::from_vec(data, arr.shape())?)
}

/// `obj` as a native-endian, aligned, C-ordered float32 numpy array: the array itself
/// when it already is one, else a converted copy.
fn float32_array<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
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
    np.call_method1("require", (arr, np.getattr("float32")?, "CA"))
}

/// A numpy array's buffer, read in place while the training loop runs.
struct NumpyRows {
    /// Keeps the array, and so its buffer, alive.
    _array: Py<PyAny>,
    ptr: *const f32,
    len: usize,
}

// SAFETY: the buffer belongs to `_array`, which this struct keeps alive; numpy never
// frees or moves the buffer of an array that is referenced (`resize` refuses), and
// kandle only reads it.
unsafe impl Send for NumpyRows {}
unsafe impl Sync for NumpyRows {}

impl AsRef<[f32]> for NumpyRows {
    fn as_ref(&self) -> &[f32] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` and `len` describe the live, aligned float32 buffer (see above).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Training rows from an array: the caller's own buffer when it is already float32 and
/// C-ordered (no copy of the dataset), else one converted copy.
pub fn to_rows(obj: &Bound<'_, PyAny>) -> PyResult<Rows> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(Rows::from_tensor(&t.borrow().inner)?);
    }
    let arr = float32_array(obj)?;
    let view: PyReadonlyArrayDyn<'_, f32> = arr.extract()?;
    let slice = view
        .as_slice()
        .map_err(|e| Error::Internal(e.to_string()))?;
    let (ptr, len, shape) = (slice.as_ptr(), slice.len(), view.shape().to_vec());
    drop(view);
    let rows = NumpyRows {
        _array: arr.unbind(),
        ptr,
        len,
    };
    Ok(Rows::new(Arc::new(rows), &shape)?)
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
