//! `kandle.Tensor` and `kandle.Variable`.

use super::convert::{shape_arg, sizes, to_axes, to_numpy, to_tensor};
use super::run;
use crate::error::Error;
use crate::ops::{Comparison, IndexItem};
use crate::tensor::shape::infer_shape;
use crate::tensor::Tensor;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyEllipsis, PySlice, PyTuple};

/// An n-dimensional float32 array that records the ops applied to it, so that
/// `kandle.grad` can differentiate through them.
#[pyclass(name = "Tensor", module = "kandle", subclass)]
pub struct PyTensor {
    pub inner: Tensor<f32>,
}

impl From<Tensor<f32>> for PyTensor {
    fn from(inner: Tensor<f32>) -> Self {
        PyTensor { inner }
    }
}

type TensorResult = PyResult<PyTensor>;

/// Applies a binary op to `a` and a Python operand (Tensor, number or array).
fn binary(
    a: &Tensor<f32>,
    other: &Bound<'_, PyAny>,
    reflected: bool,
    f: fn(&Tensor<f32>, &Tensor<f32>) -> crate::Result<Tensor<f32>>,
) -> TensorResult {
    let b = to_tensor(other)?;
    run(other.py(), || if reflected { f(&b, a) } else { f(a, &b) }).map(PyTensor::from)
}

/// `a <how> other` as a 0/1 tensor.
fn compare(a: &Tensor<f32>, other: &Bound<'_, PyAny>, how: Comparison) -> TensorResult {
    let b = to_tensor(other)?;
    run(other.py(), || a.compare(&b, how)).map(PyTensor::from)
}

fn index_item(item: &Bound<'_, PyAny>) -> PyResult<IndexItem> {
    if item.is_none() {
        return Ok(IndexItem::NewAxis);
    }
    if item.is(PyEllipsis::get(item.py())) {
        return Ok(IndexItem::Ellipsis);
    }
    if let Ok(s) = item.cast::<PySlice>() {
        let part = |name: &str| -> PyResult<Option<isize>> {
            let v = s.getattr(name)?;
            if v.is_none() {
                Ok(None)
            } else {
                Ok(Some(v.extract::<isize>()?))
            }
        };
        return Ok(IndexItem::Slice {
            start: part("start")?,
            stop: part("stop")?,
            step: part("step")?.unwrap_or(1),
        });
    }
    if item.is_instance_of::<pyo3::types::PyBool>() {
        return Err(PyTypeError::new_err(
            "index: booleans are not valid indices",
        ));
    }
    match item.call_method0("__index__").and_then(|i| i.extract::<isize>()) {
        Ok(i) => Ok(IndexItem::Int(i)),
        Err(_) => Err(PyTypeError::new_err(format!(
            "index: only integers, slices (`:`), ellipsis (`...`) and None are valid indices, got {}",
            item.get_type().name()?
        ))),
    }
}

#[pymethods]
impl PyTensor {
    #[new]
    fn new(data: &Bound<'_, PyAny>) -> TensorResult {
        Ok(to_tensor(data)?.detach().into())
    }

    /// The shape, as a tuple of ints.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, self.inner.shape())
    }

    #[getter]
    fn dtype(&self) -> &'static str {
        "float32"
    }

    #[getter]
    fn ndim(&self) -> usize {
        self.inner.rank()
    }

    #[getter]
    fn size(&self) -> usize {
        self.inner.numel()
    }

    fn __len__(&self) -> PyResult<usize> {
        self.inner
            .shape()
            .first()
            .copied()
            .ok_or_else(|| PyTypeError::new_err("len() of a 0-d tensor"))
    }

    /// A new float32 numpy array with a copy of the values.
    fn numpy<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_numpy(py, &self.inner)
    }

    #[pyo3(signature = (dtype=None, copy=None))]
    fn __array__<'py>(
        &self,
        py: Python<'py>,
        dtype: Option<&Bound<'py, PyAny>>,
        copy: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if copy == Some(false) {
            return Err(PyValueError::new_err(
                "a Tensor cannot be viewed as a numpy array without a copy",
            ));
        }
        let arr = to_numpy(py, &self.inner)?;
        match dtype {
            Some(d) if !d.is_none() => arr.call_method1("astype", (d,)),
            _ => Ok(arr),
        }
    }

    // NumPy defers to our reflected operators (`array + tensor` gives a Tensor).
    #[classattr]
    fn __array_ufunc__(py: Python<'_>) -> Py<PyAny> {
        py.None()
    }

    fn item(&self) -> PyResult<f32> {
        Ok(self.inner.item()?)
    }

    fn __float__(&self) -> PyResult<f32> {
        self.item()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let values = to_numpy(py, &self.inner)?.repr()?;
        Ok(format!(
            "<Tensor shape={}, dtype=float32, numpy={values}>",
            crate::error::fmt_shape(self.inner.shape())
        ))
    }

    fn __add__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, false, Tensor::add)
    }
    fn __radd__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, true, Tensor::add)
    }
    fn __sub__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, false, Tensor::sub)
    }
    fn __rsub__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, true, Tensor::sub)
    }
    fn __mul__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, false, Tensor::mul)
    }
    fn __rmul__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, true, Tensor::mul)
    }
    fn __truediv__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, false, Tensor::div)
    }
    fn __rtruediv__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, true, Tensor::div)
    }
    fn __matmul__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, false, Tensor::matmul)
    }
    fn __rmatmul__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        binary(&self.inner, o, true, Tensor::matmul)
    }

    // Ordering comparisons give 0/1 tensors (as `keras.ops.less`, ...); `==` stays
    // identity, so that tensors remain hashable and `in` works on lists of variables.
    fn __hash__(slf: &Bound<'_, Self>) -> isize {
        slf.as_ptr() as isize
    }
    fn __lt__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        compare(&self.inner, o, Comparison::Less)
    }
    fn __le__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        compare(&self.inner, o, Comparison::LessEqual)
    }
    fn __gt__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        compare(&self.inner, o, Comparison::Greater)
    }
    fn __ge__(&self, o: &Bound<'_, PyAny>) -> TensorResult {
        compare(&self.inner, o, Comparison::GreaterEqual)
    }

    fn __pow__(
        &self,
        py: Python<'_>,
        exponent: &Bound<'_, PyAny>,
        modulo: Option<&Bound<'_, PyAny>>,
    ) -> TensorResult {
        if modulo.is_some_and(|m| !m.is_none()) {
            return Err(PyTypeError::new_err(
                "pow: a modulo argument is not supported",
            ));
        }
        let p: f64 = exponent.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "pow: the exponent must be a Python number, got {}",
                exponent
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        run(py, || self.inner.powf(p)).map(PyTensor::from)
    }

    fn __neg__(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.neg()).map(PyTensor::from)
    }

    fn __pos__(&self) -> PyTensor {
        self.inner.clone().into()
    }

    fn __abs__(&self, py: Python<'_>) -> TensorResult {
        self.abs(py)
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> TensorResult {
        let items = match key.cast::<PyTuple>() {
            Ok(t) => t
                .iter()
                .map(|i| index_item(&i))
                .collect::<PyResult<Vec<_>>>()?,
            Err(_) => vec![index_item(key)?],
        };
        run(py, || self.inner.index(&items)).map(PyTensor::from)
    }

    #[pyo3(signature = (axis=None, keepdims=false))]
    fn sum(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, keepdims: bool) -> TensorResult {
        let axes = to_axes(axis)?;
        run(py, || self.inner.sum(axes.as_deref(), keepdims)).map(PyTensor::from)
    }

    #[pyo3(signature = (axis=None, keepdims=false))]
    fn mean(
        &self,
        py: Python<'_>,
        axis: Option<&Bound<'_, PyAny>>,
        keepdims: bool,
    ) -> TensorResult {
        let axes = to_axes(axis)?;
        run(py, || self.inner.mean(axes.as_deref(), keepdims)).map(PyTensor::from)
    }

    #[pyo3(signature = (axis=None, keepdims=false))]
    fn max(&self, py: Python<'_>, axis: Option<&Bound<'_, PyAny>>, keepdims: bool) -> TensorResult {
        let axes = to_axes(axis)?;
        run(py, || self.inner.max(axes.as_deref(), keepdims)).map(PyTensor::from)
    }

    fn exp(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.exp()).map(PyTensor::from)
    }
    fn log(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.log()).map(PyTensor::from)
    }
    fn sqrt(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.sqrt()).map(PyTensor::from)
    }
    fn abs(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.abs()).map(PyTensor::from)
    }
    fn tanh(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.tanh()).map(PyTensor::from)
    }
    fn sin(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.sin()).map(PyTensor::from)
    }
    fn cos(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.cos()).map(PyTensor::from)
    }
    fn sigmoid(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.sigmoid()).map(PyTensor::from)
    }
    fn relu(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.relu()).map(PyTensor::from)
    }

    /// A tensor with the same values in a new shape; one size may be -1 (inferred).
    #[pyo3(signature = (*shape))]
    fn reshape(&self, py: Python<'_>, shape: &Bound<'_, PyTuple>) -> TensorResult {
        let requested = match shape.len() {
            1 => shape_arg(&shape.get_item(0)?)?,
            _ => shape.extract::<Vec<isize>>()?,
        };
        let x = &self.inner;
        run(py, || {
            x.reshape(&infer_shape(x.numel(), x.shape(), &requested)?)
        })
        .map(PyTensor::from)
    }

    /// Permutes the axes (reverses them by default), as `numpy.transpose`.
    #[pyo3(signature = (*axes))]
    fn transpose(&self, py: Python<'_>, axes: &Bound<'_, PyTuple>) -> TensorResult {
        let axes: Option<Vec<isize>> = match axes.len() {
            0 => None,
            1 if axes.get_item(0)?.is_none() => None,
            1 => Some(shape_arg(&axes.get_item(0)?)?),
            _ => Some(axes.extract()?),
        };
        run(py, || self.inner.permute(axes.as_deref())).map(PyTensor::from)
    }

    #[getter(T)]
    fn transposed(&self, py: Python<'_>) -> TensorResult {
        run(py, || self.inner.permute(None)).map(PyTensor::from)
    }
}

/// A tensor whose values persist across steps and are updated in place, by optimizers
/// or `assign`. `kandle.grad` computes gradients with respect to variables.
#[pyclass(name = "Variable", module = "kandle", extends = PyTensor)]
pub struct PyVariable {
    #[pyo3(get, set)]
    name: String,
    #[pyo3(get, set)]
    trainable: bool,
}

#[pymethods]
impl PyVariable {
    #[new]
    #[pyo3(signature = (initial_value, trainable=true, name=None))]
    fn new(
        initial_value: &Bound<'_, PyAny>,
        trainable: bool,
        name: Option<String>,
    ) -> PyResult<PyClassInitializer<Self>> {
        let value = PyTensor::from(to_tensor(initial_value)?.to_variable());
        let name = name.unwrap_or_else(|| "variable".into());
        Ok(PyClassInitializer::from(value).add_subclass(PyVariable { name, trainable }))
    }

    /// Overwrites the values in place with `value` (same shape); returns the variable.
    fn assign<'py>(slf: PyRef<'py, Self>, value: &Bound<'py, PyAny>) -> PyResult<PyRef<'py, Self>> {
        let new = to_tensor(value)?;
        let this = &slf.as_super().inner;
        if new.shape() != this.shape() {
            return Err(Error::Shape(format!(
                "assign: expected a value of shape {}, got {}",
                crate::error::fmt_shape(this.shape()),
                crate::error::fmt_shape(new.shape())
            ))
            .into());
        }
        this.assign(&new.data())?;
        Ok(slf)
    }

    /// The current values, as a constant Tensor.
    #[getter]
    fn value(slf: PyRef<'_, Self>) -> PyTensor {
        slf.as_super().inner.detach().into()
    }

    fn __repr__(slf: PyRef<'_, Self>, py: Python<'_>) -> PyResult<String> {
        let values = to_numpy(py, &slf.as_super().inner)?.repr()?.to_string();
        Ok(format!(
            "<Variable name={:?}, shape={}, dtype=float32, trainable={}, value={values}>",
            slf.name,
            crate::error::fmt_shape(slf.as_super().inner.shape()),
            if slf.trainable { "True" } else { "False" }
        ))
    }
}

pub fn sizes_of(shape: &Bound<'_, PyAny>, op: &str) -> PyResult<Vec<usize>> {
    Ok(sizes(&shape_arg(shape)?, op)?)
}
