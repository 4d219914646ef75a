//! Layers and their initializers.

mod dense;
pub mod init;

pub use dense::Dense;
pub use init::Initializer;
