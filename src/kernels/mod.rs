//! The floor under the ops: how numbers get computed fast, with nothing about what they
//! mean. Ops, optimizers and the training loop build on these; nothing here knows of
//! tensors, graphs or layers.
//!
//! - [`element`]: the element types ([`Float`]: `f32`, `f64`);
//! - [`cpu`]: the vector instructions in use (`KANDLE_CPU`);
//! - [`parallel`]: the one thread pool and the helpers that split work over it;
//! - `gemm`: matrix products, scheduled over the pool and computed by the `gemm` crate;
//! - `slot_walk`: the vectorized per-element walk of an optimizer step;
//! - [`pool`]: reuse of large buffers across training steps;
//! - [`huge_pages`]: a global allocator that backs large buffers with 2 MiB pages.

pub mod cpu;
pub mod element;
pub(crate) mod gemm;
pub mod huge_pages;
pub mod parallel;
pub mod pool;
pub(crate) mod slot_walk;

pub use element::Float;
