//! The Python extension `kandle._core`: one-line wrappers over the Rust API. All
//! Keras-facing behaviour lives in the Python package `python/kandle/`.

mod convert;
mod error;
mod fit;
mod functional;
mod functions;
mod io;
mod layers;
mod losses;
mod metrics;
mod model;
mod nn;
mod ops;
mod optim;
mod python_pieces;
mod tensor;
mod train;

use crate::error::{Error, Result};
use pyo3::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Rust's allocations in the extension (not Python's or numpy's): large buffers in huge
/// pages, which saves a training step its TLB misses (see `crate::kernels::huge_pages`).
#[global_allocator]
static ALLOCATOR: crate::kernels::huge_pages::HugePageAllocator =
    crate::kernels::huge_pages::HugePageAllocator;

/// Runs engine work with the GIL released; a panic becomes an internal error instead of
/// reaching Python.
pub(crate) fn run<R: Send>(py: Python<'_>, f: impl FnOnce() -> Result<R> + Send) -> PyResult<R> {
    py.detach(|| caught(f)).map_err(PyErr::from)
}

/// `f`'s result, with a panic turned into an internal error.
fn caught<R>(f: impl FnOnce() -> Result<R>) -> Result<R> {
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
}

/// [`run`] for the batch loop's long calls, which Ctrl-C must stop within about a
/// batch. Python runs its signal handlers only on the main thread and between
/// bytecodes, so the work runs on another thread while this one checks for signals
/// every [`SIGNAL_POLL`]; on a KeyboardInterrupt it asks the engine to stop at its next
/// batch or row block ([`crate::train::interrupt`]), waits for it, and raises.
pub(crate) fn run_interruptible<R: Send>(
    py: Python<'_>,
    f: impl FnOnce() -> Result<R> + Send,
) -> PyResult<R> {
    let (done, result) = std::sync::mpsc::sync_channel(1);
    let (outcome, signal) = py.detach(move || {
        let mut signal = None;
        std::thread::scope(|s| {
            s.spawn(move || {
                let _ = done.send(caught(f));
            });
            loop {
                match result.recv_timeout(SIGNAL_POLL) {
                    Ok(outcome) => return (outcome, signal),
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        if signal.is_none() {
                            signal = Python::attach(|py| py.check_signals().err());
                            if signal.is_some() {
                                crate::train::interrupt::request();
                            }
                        }
                    }
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                        let lost = Error::Internal("the engine thread ended early".into());
                        return (Err(lost), signal);
                    }
                }
            }
        })
    });
    crate::train::interrupt::clear();
    match signal {
        Some(err) => Err(err),
        None => outcome.map_err(PyErr::from),
    }
}

/// How often a long engine call looks for a pending Ctrl-C.
const SIGNAL_POLL: std::time::Duration = std::time::Duration::from_millis(50);

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<tensor::PyTensor>()?;
    m.add_class::<tensor::PyVariable>()?;
    functional::register(m)?;
    functions::register(m)?;
    io::register(m)?;
    layers::register(m)?;
    losses::register(m)?;
    metrics::register(m)?;
    model::register(m)?;
    nn::register(m)?;
    ops::register(m)?;
    optim::register(m)?;
    python_pieces::register(m)?;
    train::register(m)
}
