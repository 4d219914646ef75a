//! Activation functions, initializer draws and regularizer penalties for
//! `kandle.activations`, `kandle.initializers` and `kandle.regularizers`.

use super::convert::{to_numpy, to_tensor};
use super::layers::parse_config;
use super::run;
use super::tensor::{sizes_of, PyTensor};
use crate::nn::{Initializer, Regularizer};
use crate::ops::ActivationFn;
use pyo3::prelude::*;

type TensorResult = PyResult<PyTensor>;

/// The activation Keras calls `name` (with its default parameters), applied to `x`.
#[pyfunction]
fn activation(py: Python<'_>, x: &Bound<'_, PyAny>, name: &str) -> TensorResult {
    let act = ActivationFn::from_name(name)?;
    let x = to_tensor(x)?;
    run(py, || act.apply(&x)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (x, approximate=false))]
fn gelu(py: Python<'_>, x: &Bound<'_, PyAny>, approximate: bool) -> TensorResult {
    let x = to_tensor(x)?;
    run(py, || x.gelu(approximate)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (x, alpha=1.0))]
fn elu(py: Python<'_>, x: &Bound<'_, PyAny>, alpha: f64) -> TensorResult {
    let x = to_tensor(x)?;
    run(py, || x.elu(alpha)).map(PyTensor::from)
}

#[pyfunction]
#[pyo3(signature = (x, negative_slope=0.2))]
fn leaky_relu(py: Python<'_>, x: &Bound<'_, PyAny>, negative_slope: f64) -> TensorResult {
    let x = to_tensor(x)?;
    run(py, || x.leaky_relu(negative_slope)).map(PyTensor::from)
}

/// A new float32 array of `shape` drawn by the initializer of a Keras config
/// (`{"class_name": ..., "config": {...}}` as JSON), with fans `(fan_in, fan_out)`.
#[pyfunction]
fn initialize_from_config<'py>(
    py: Python<'py>,
    config_json: &str,
    shape: &Bound<'py, PyAny>,
    fan_in: usize,
    fan_out: usize,
) -> PyResult<Bound<'py, PyAny>> {
    let (init, seed) = Initializer::from_keras(&parse_config(config_json)?)?;
    let shape = sizes_of(shape, "initialize")?;
    let t = run(py, || {
        init.sample_seeded::<f32>(&shape, fan_in, fan_out, seed)
    })?;
    to_numpy(py, &t)
}

/// `l1 · sum(|x|) + l2 · sum(x²)`, recorded for autodiff.
#[pyfunction]
fn regularization_penalty(py: Python<'_>, x: &Bound<'_, PyAny>, l1: f64, l2: f64) -> TensorResult {
    let r = Regularizer::new(l1, l2)?;
    let x = to_tensor(x)?;
    run(py, || r.penalty(&x)).map(PyTensor::from)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(activation, m)?)?;
    m.add_function(wrap_pyfunction!(gelu, m)?)?;
    m.add_function(wrap_pyfunction!(elu, m)?)?;
    m.add_function(wrap_pyfunction!(leaky_relu, m)?)?;
    m.add_function(wrap_pyfunction!(initialize_from_config, m)?)?;
    m.add_function(wrap_pyfunction!(regularization_penalty, m)?)?;
    // The names Python's `get` functions accept, defined once in Rust.
    m.add("ACTIVATION_NAMES", crate::ops::ACTIVATION_NAMES.to_vec())?;
    m.add(
        "INITIALIZER_NAMES",
        crate::nn::init::INITIALIZER_NAMES.to_vec(),
    )?;
    Ok(())
}
