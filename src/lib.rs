//! kandle: a Keras-style deep-learning engine on the CPU.
//!
//! [`Tensor`]s record the ops that made them; [`grad`] walks that graph backwards.
//! Layers ([`nn`]), losses ([`losses`]) and optimizers ([`optim`]) build on both.
//! The Python package `kandle` wraps this crate (feature `python`).

// Gradient checks read best as `check_grad(&[x.clone()], ...)`.
#![cfg_attr(test, allow(clippy::cloned_ref_to_slice_refs))]
#![warn(missing_docs)]

pub mod autograd;
mod config;
pub mod error;
pub mod io;
pub mod kernels;
pub mod losses;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod prelude;
#[cfg(feature = "python")]
mod python;
pub mod tensor;
pub mod train;

pub use autograd::grad;
pub use error::{Error, Result};
pub use model::load_model;
pub use tensor::{is_grad_enabled, no_grad, set_grad_enabled, Float, Tensor};

// The README's Rust code runs as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
