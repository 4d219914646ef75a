//! The Python extension `kandle._core`: one-line wrappers over the Rust API. All
//! Keras-facing behaviour lives in the Python package `python/kandle/`.

mod convert;
mod error;
mod functions;
mod layers;
mod losses;
mod metrics;
mod nn;
mod optim;
mod tensor;
mod train;

use crate::error::{Error, Result};
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Rust's allocations in the extension (not Python's or numpy's): large buffers in huge
/// pages, which saves a training step its TLB misses (see `crate::huge_pages`).
#[global_allocator]
static ALLOCATOR: crate::huge_pages::HugePageAllocator = crate::huge_pages::HugePageAllocator;

/// Runs engine work with the GIL released; a panic becomes an internal error instead of
/// reaching Python.
pub(crate) fn run<R: Send>(py: Python<'_>, f: impl FnOnce() -> Result<R> + Send) -> PyResult<R> {
    py.detach(|| {
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(Error::Internal(format!(
                "internal error in kandle (please report it): {what}"
            )))
        })
    })
    .map_err(PyErr::from)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<tensor::PyVariable>()?;
    functions::register(m)?;
    layers::register(m)?;
    losses::register(m)?;
    metrics::register(m)?;
    nn::register(m)?;
    optim::register(m)?;
    train::register(m)
}
