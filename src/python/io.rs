//! `kandle._core`'s file functions: one-line wrappers over [`crate::io`].

use super::convert::{to_numpy, to_tensor};
use super::run;
use crate::error::Error;
use crate::io::{self, KerasWeights};
use crate::tensor::Tensor;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;

type Named<'py> = Vec<(String, Bound<'py, PyAny>)>;

fn named_tensors(items: Vec<(String, Bound<'_, PyAny>)>) -> PyResult<Vec<(String, Tensor)>> {
    items
        .into_iter()
        .map(|(name, value)| Ok((name, to_tensor(&value)?)))
        .collect()
}

fn named_arrays<'py>(py: Python<'py>, items: &[(String, Tensor)]) -> PyResult<Named<'py>> {
    items
        .iter()
        .map(|(name, t)| Ok((name.clone(), to_numpy(py, t)?)))
        .collect()
}

fn json(text: &str) -> PyResult<serde_json::Value> {
    serde_json::from_str(text)
        .map_err(|e| Error::InvalidArgument(format!("config: invalid JSON ({e})")).into())
}

/// Writes a `.keras` file with `.npz` weights (float32 arrays and int64 scalars).
#[pyfunction]
fn save_keras(
    py: Python<'_>,
    path: PathBuf,
    config_json: &str,
    weights: Vec<(String, Bound<'_, PyAny>)>,
    integers: Vec<(String, i64)>,
) -> PyResult<()> {
    let (config, weights) = (json(config_json)?, named_tensors(weights)?);
    run(py, || io::save_keras(&path, &config, &weights, &integers))
}

/// Writes a `.keras` file whose weights are the HDF5 file `h5` (`model.weights.h5`).
#[pyfunction]
fn save_keras_h5(py: Python<'_>, path: PathBuf, config_json: &str, h5: &[u8]) -> PyResult<()> {
    let config = json(config_json)?;
    run(py, || io::save_keras_h5(&path, &config, h5))
}

/// Reads a `.keras` file: `(config_json, metadata_json, weights, integers, h5)`, where
/// `weights` and `integers` are None for HDF5 weights and `h5` is None for `.npz` ones.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn read_keras<'py>(
    py: Python<'py>,
    path: PathBuf,
) -> PyResult<(
    String,
    String,
    Option<Named<'py>>,
    Option<Vec<(String, i64)>>,
    Option<Bound<'py, PyBytes>>,
)> {
    let archive = run(py, || io::read_keras(&path))?;
    let (config, metadata) = (archive.config.to_string(), archive.metadata.to_string());
    Ok(match archive.weights {
        KerasWeights::Npz { weights, integers } => (
            config,
            metadata,
            Some(named_arrays(py, &weights)?),
            Some(integers),
            None,
        ),
        KerasWeights::H5(bytes) => (config, metadata, None, None, Some(PyBytes::new(py, &bytes))),
    })
}

/// Writes float32 tensors to a `.safetensors` file.
#[pyfunction]
fn save_safetensors(
    py: Python<'_>,
    path: PathBuf,
    tensors: Vec<(String, Bound<'_, PyAny>)>,
) -> PyResult<()> {
    let tensors = named_tensors(tensors)?;
    run(py, || io::save_safetensors(&path, &tensors))
}

/// The float32 tensors of a `.safetensors` file, as numpy arrays in file order.
#[pyfunction]
fn load_safetensors<'py>(py: Python<'py>, path: PathBuf) -> PyResult<Named<'py>> {
    let tensors = run(py, || io::load_safetensors(&path))?;
    named_arrays(py, &tensors)
}

/// Writes `data` to `path` atomically (temporary file, fsync, rename).
#[pyfunction]
fn write_atomic(py: Python<'_>, path: PathBuf, data: &[u8]) -> PyResult<()> {
    run(py, || io::write_atomic(&path, data))
}

/// The global random generator's exact position (for checkpoints).
#[pyfunction]
fn rng_state(py: Python<'_>) -> Bound<'_, PyBytes> {
    PyBytes::new(py, &crate::tensor::random::rng_state())
}

/// Restores the global random generator to a position from `rng_state`.
#[pyfunction]
fn set_rng_state(state: &[u8]) -> PyResult<()> {
    Ok(crate::tensor::random::set_rng_state(state)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rng_state, m)?)?;
    m.add_function(wrap_pyfunction!(set_rng_state, m)?)?;
    m.add_function(wrap_pyfunction!(save_keras, m)?)?;
    m.add_function(wrap_pyfunction!(save_keras_h5, m)?)?;
    m.add_function(wrap_pyfunction!(read_keras, m)?)?;
    m.add_function(wrap_pyfunction!(save_safetensors, m)?)?;
    m.add_function(wrap_pyfunction!(load_safetensors, m)?)?;
    m.add_function(wrap_pyfunction!(write_atomic, m)?)?;
    Ok(())
}
