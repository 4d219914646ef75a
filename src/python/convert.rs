//! Python objects <-> tensors. Inputs are copied into Rust-owned float32 storage (integer
//! data also keeps its exact integers) and never written; outputs are new numpy arrays.

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
/// bool, integer or float dtype (any layout, byte order or writeability). Integer data
/// keeps its exact integers (see [`Tensor::integers`]).
pub fn to_tensor(obj: &Bound<'_, PyAny>) -> PyResult<Tensor<f32>> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(t.borrow().inner.clone());
    }
    if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Tensor::from_integers(vec![i], &[])?);
        }
    }
    if obj.is_instance_of::<PyFloat>()
        || obj.is_instance_of::<PyInt>()
        || obj.is_instance_of::<PyBool>()
    {
        return Ok(Tensor::scalar(obj.extract::<f64>()? as f32));
    }
    match numeric_array(obj)? {
        Numeric::Float(arr) => {
            let arr: PyReadonlyArrayDyn<'_, f32> = arr.extract()?;
            Ok(Tensor::from_vec(slice(&arr)?.to_vec(), arr.shape())?)
        }
        Numeric::I32(arr) => {
            let arr: PyReadonlyArrayDyn<'_, i32> = arr.extract()?;
            let exact = slice(&arr)?.iter().map(|&i| i64::from(i)).collect();
            Ok(Tensor::from_integers(exact, arr.shape())?)
        }
        Numeric::I64(arr) => {
            let arr: PyReadonlyArrayDyn<'_, i64> = arr.extract()?;
            Ok(Tensor::from_integers(slice(&arr)?.to_vec(), arr.shape())?)
        }
    }
}

fn slice<'a, E: numpy::Element>(arr: &'a PyReadonlyArrayDyn<'_, E>) -> PyResult<&'a [E]> {
    Ok(arr.as_slice().map_err(|e| Error::Internal(e.to_string()))?)
}

/// A numpy array as the engine reads it: native-endian, aligned and C-ordered. Integer
/// data stays integer, since float32 would round integers from 2**24 on: int32 where
/// its values fit (no larger than float32), else int64.
enum Numeric<'py> {
    Float(Bound<'py, PyAny>),
    I32(Bound<'py, PyAny>),
    I64(Bound<'py, PyAny>),
}

/// `obj` as a float32, int32 or int64 array: the array itself when it already is one,
/// else a converted copy.
fn numeric_array<'py>(obj: &Bound<'py, PyAny>) -> PyResult<Numeric<'py>> {
    let np = obj.py().import("numpy")?;
    let arr = np.call_method1("asarray", (obj,))?;
    let dtype = arr.getattr("dtype")?;
    let kind: String = dtype.getattr("kind")?.extract()?;
    let itemsize: usize = dtype.getattr("itemsize")?.extract()?;
    let require = |ty: &str| np.call_method1("require", (&arr, np.getattr(ty)?, "CA"));
    match (kind.as_str(), itemsize) {
        ("i", ..=4) | ("u", ..=2) => Ok(Numeric::I32(require("int32")?)),
        ("i", _) | ("u", 4) => Ok(Numeric::I64(require("int64")?)),
        // uint64 beyond int64's range is no index of any table: it goes as floats.
        ("u", _)
            if arr.getattr("size")?.extract::<usize>()? == 0
                || arr.call_method0("max")?.extract::<i64>().is_ok() =>
        {
            Ok(Numeric::I64(require("int64")?))
        }
        ("b" | "u" | "f", _) => Ok(Numeric::Float(require("float32")?)),
        _ => Err(dtype_error(format!(
            "tensor: expected numeric data (bool, integer or float), got an array of dtype {}",
            dtype.str()?
        ))),
    }
}

/// A numpy array's buffer, read in place while the training loop runs.
struct NumpyRows<E> {
    /// Keeps the array, and so its buffer, alive.
    _array: Py<PyAny>,
    ptr: *const E,
    len: usize,
}

// SAFETY: the buffer belongs to `_array`, which this struct keeps alive; numpy never
// frees or moves the buffer of an array that is referenced (`resize` refuses), and
// kandle only reads it.
unsafe impl<E: Sync> Send for NumpyRows<E> {}
unsafe impl<E: Sync> Sync for NumpyRows<E> {}

impl<E> AsRef<[E]> for NumpyRows<E> {
    fn as_ref(&self) -> &[E] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` and `len` describe the live, aligned buffer (see above).
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<E: numpy::Element> NumpyRows<E> {
    /// The buffer of `arr` (native-endian, aligned, C-ordered, of element `E`) and its
    /// shape.
    fn of(arr: Bound<'_, PyAny>) -> PyResult<(Self, Vec<usize>)> {
        let view: PyReadonlyArrayDyn<'_, E> = arr.extract()?;
        let data = slice(&view)?;
        let (ptr, len, shape) = (data.as_ptr(), data.len(), view.shape().to_vec());
        drop(view);
        let rows = NumpyRows {
            _array: arr.unbind(),
            ptr,
            len,
        };
        Ok((rows, shape))
    }
}

/// Training rows from an array: the caller's own buffer when it is already float32,
/// int32 or int64 and C-ordered (no copy of the dataset), else one converted copy. Integer data
/// stays exact up to the batches (see [`Rows::from_i64`]).
pub fn to_rows(obj: &Bound<'_, PyAny>) -> PyResult<Rows> {
    if let Ok(t) = obj.cast::<PyTensor>() {
        return Ok(Rows::from_tensor(&t.borrow().inner)?);
    }
    Ok(match numeric_array(obj)? {
        Numeric::Float(arr) => {
            let (rows, shape) = NumpyRows::<f32>::of(arr)?;
            Rows::new(Arc::new(rows), &shape)?
        }
        Numeric::I32(arr) => {
            let (rows, shape) = NumpyRows::<i32>::of(arr)?;
            Rows::from_i32(Arc::new(rows), &shape)?
        }
        Numeric::I64(arr) => {
            let (rows, shape) = NumpyRows::<i64>::of(arr)?;
            Rows::from_i64(Arc::new(rows), &shape)?
        }
    })
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
