//! The one error type of the engine. The Python bindings map each variant to one
//! class of `kandle.errors` (see `python/error.rs`).

use std::fmt;

/// Everything that can go wrong in kandle, with a message that names the operation or
/// argument and gives the expected and actual values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Shapes that do not fit together (matmul, broadcasting, reshape, ...).
    Shape(String),
    /// Data of a type kandle cannot hold (strings, objects, ...).
    DType(String),
    /// A size that overflows or cannot be allocated.
    Allocation(String),
    /// A gradient that cannot be taken (a non-scalar loss, ...).
    Gradient(String),
    /// An index outside an axis.
    OutOfBounds(String),
    /// Any other bad argument value.
    InvalidArgument(String),
    /// Reading or writing files.
    Io(String),
    /// A bug in kandle: a caught panic. Never the user's fault.
    Internal(String),
    /// The user interrupted a long engine call (Ctrl-C); see [`crate::train::interrupt`].
    Interrupted(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let msg = match self {
            Error::Shape(m)
            | Error::DType(m)
            | Error::Allocation(m)
            | Error::Gradient(m)
            | Error::OutOfBounds(m)
            | Error::InvalidArgument(m)
            | Error::Io(m)
            | Error::Internal(m)
            | Error::Interrupted(m) => m,
        };
        f.write_str(msg)
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The same error, its message led by the layer it came from, as Keras names the
    /// layer whose call failed: a model's error then says where in the model it arose.
    pub fn in_layer(self, name: &str, class: &str) -> Self {
        let lead = |m: String| format!("layer {name:?} ({class}): {m}");
        match self {
            Error::Shape(m) => Error::Shape(lead(m)),
            Error::DType(m) => Error::DType(lead(m)),
            Error::Allocation(m) => Error::Allocation(lead(m)),
            Error::Gradient(m) => Error::Gradient(lead(m)),
            Error::OutOfBounds(m) => Error::OutOfBounds(lead(m)),
            Error::InvalidArgument(m) => Error::InvalidArgument(lead(m)),
            Error::Io(m) => Error::Io(lead(m)),
            // A bug or a Ctrl-C is not about the layer.
            e @ (Error::Internal(_) | Error::Interrupted(_)) => e,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

/// The crate's result type: `Err` is an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `format!` into an `Err(Error::$kind(..))`, returned early.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)*) => {
        return Err($crate::Error::$kind(format!($($arg)*)))
    };
}

/// Formats a shape the way NumPy prints it: `(2, 3)`, `(4,)`, `()`.
pub fn fmt_shape<D: fmt::Display>(shape: &[D]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
