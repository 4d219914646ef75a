//! Module-level functions of `kandle._core`.

use super::convert::to_tensor;
use super::run;
use super::tensor::{sizes_of, PyTensor};
use crate::kernels::parallel::run_hot;
use crate::tensor::{random, Tensor};
use pyo3::prelude::*;

type TensorResult = PyResult<PyTensor>;

fn tensors(items: &Bound<'_, PyAny>) -> PyResult<Vec<Tensor<f32>>> {
    items.try_iter()?.map(|i| to_tensor(&i?)).collect()
}

/// A float32 tensor holding a copy of `data` (array, nested lists or a number).
#[pyfunction]
fn tensor(data: &Bound<'_, PyAny>) -> TensorResult {
    Ok(to_tensor(data)?.detach().into())
}

/// Gradients of the scalar `loss` with respect to each of `variables`, in order.
#[pyfunction]
fn grad(
    py: Python<'_>,
    loss: PyRef<'_, PyTensor>,
    variables: &Bound<'_, PyAny>,
) -> PyResult<Vec<PyTensor>> {
    let (loss, wrt) = (loss.inner.clone(), tensors(variables)?);
    // With the pool's other threads polling, as in a training step: a backward pass is
    // a string of short parallel ops, and a sleeping thread is slow to wake for each.
    let grads = run(py, || run_hot(|| crate::grad(&loss, &wrt)))?;
    Ok(grads.into_iter().map(PyTensor::from).collect())
}

/// Turns graph recording on or off on this thread; returns the previous setting.
#[pyfunction]
fn set_grad_enabled(enabled: bool) -> bool {
    crate::set_grad_enabled(enabled)
}

#[pyfunction]
#[pyo3(signature = (x, axis=-1), text_signature = "(x, axis=-1)")]
fn softmax(py: Python<'_>, x: &Bound<'_, PyAny>, axis: isize) -> TensorResult {
    let x = to_tensor(x)?;
    run(py, || x.softmax(axis)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (x, axis=-1), text_signature = "(x, axis=-1)")]
fn log_softmax(py: Python<'_>, x: &Bound<'_, PyAny>, axis: isize) -> TensorResult {
    let x = to_tensor(x)?;
    run(py, || x.log_softmax(axis)).map(PyTensor::from)
}

#[pyfunction]
fn matmul(py: Python<'_>, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> TensorResult {
    let (a, b) = (to_tensor(a)?, to_tensor(b)?);
    run(py, || a.matmul(&b)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (xs, axis=0))]
fn concatenate(py: Python<'_>, xs: &Bound<'_, PyAny>, axis: isize) -> TensorResult {
    let xs = tensors(xs)?;
    run(py, || Tensor::concatenate(&xs, axis)).map(PyTensor::from)
}

#[pyfunction]
fn full(py: Python<'_>, shape: &Bound<'_, PyAny>, value: f32) -> TensorResult {
    let shape = sizes_of(shape, "full")?;
    run(py, || Tensor::full(&shape, value)).map(PyTensor::from)
}

#[pyfunction]
fn arange(py: Python<'_>, n: usize) -> TensorResult {
    run(py, || Tensor::arange(n)).map(PyTensor::from)
}

#[pyfunction]
fn mean_squared_error(
    py: Python<'_>,
    y_true: &Bound<'_, PyAny>,
    y_pred: &Bound<'_, PyAny>,
) -> TensorResult {
    let (t, p) = (to_tensor(y_true)?, to_tensor(y_pred)?);
    run(py, || crate::losses::mean_squared_error(&t, &p)).map(PyTensor::from)
}

#[pyfunction]
fn set_random_seed(seed: u64) {
    random::set_seed(seed);
}

#[pyfunction]
fn set_num_threads(n: usize) -> PyResult<()> {
    Ok(crate::kernels::parallel::set_num_threads(n)?)
}

#[pyfunction]
fn get_num_threads() -> usize {
    crate::kernels::parallel::num_threads()
}

/// The vector instructions the kernels use ("avx512", "avx2" or "baseline").
#[pyfunction]
fn simd_level() -> &'static str {
    crate::kernels::cpu::simd_level()
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(tensor, m)?)?;
    m.add_function(wrap_pyfunction!(grad, m)?)?;
    m.add_function(wrap_pyfunction!(set_grad_enabled, m)?)?;
    m.add_function(wrap_pyfunction!(softmax, m)?)?;
    m.add_function(wrap_pyfunction!(log_softmax, m)?)?;
    m.add_function(wrap_pyfunction!(matmul, m)?)?;
    m.add_function(wrap_pyfunction!(concatenate, m)?)?;
    m.add_function(wrap_pyfunction!(full, m)?)?;
    m.add_function(wrap_pyfunction!(arange, m)?)?;
    m.add_function(wrap_pyfunction!(mean_squared_error, m)?)?;
    m.add_function(wrap_pyfunction!(set_random_seed, m)?)?;
    m.add_function(wrap_pyfunction!(set_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(get_num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(simd_level, m)?)?;
    Ok(())
}
