//! The one mapping from [`Error`] to Python exceptions: each variant raises the class of
//! the same name in `kandle.errors` (which subclass ValueError, TypeError, ...).

use crate::error::Error;
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::PyType;

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        // An exception of a Python layer, loss or metric that the engine ran is raised as
        // it is.
        if let Some(raised) = super::python_pieces::take_raised(&e) {
            return raised;
        }
        let class = match &e {
            Error::Shape(_) => "ShapeError",
            Error::DType(_) => "DTypeError",
            Error::Allocation(_) => "AllocationError",
            Error::Gradient(_) => "GradientError",
            Error::OutOfBounds(_) => "OutOfBoundsError",
            Error::InvalidArgument(_) => "InvalidArgumentError",
            Error::Io(_) => "KandleIOError",
            Error::Internal(_) => "InternalError",
            Error::Interrupted(m) => return PyKeyboardInterrupt::new_err(m.clone()),
        };
        let msg = e.to_string();
        Python::attach(|py| {
            let cls = py
                .import("kandle.errors")
                .and_then(|m| m.getattr(class))
                .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
            match cls {
                Ok(cls) => PyErr::from_type(cls, msg),
                Err(_) => PyRuntimeError::new_err(msg),
            }
        })
    }
}
