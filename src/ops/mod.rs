//! Ops on tensors. Each op's forward and backward rule sit side by side, grouped by
//! family; broadcasting ops reduce their gradients with [`Tensor::sum_to_shape`].

mod activations;
mod binary;
mod compare;
mod conv;
mod gather;
mod layout;
mod linear;
mod loss_ops;
mod matmul;
mod pool;
mod reduce;
mod softmax;
mod spatial;
mod unary;

#[cfg(test)]
pub(crate) mod gradcheck;

pub use activations::{ActivationFn, ACTIVATION_NAMES, SELU_ALPHA, SELU_SCALE};
pub use compare::Comparison;
pub use conv::{transposed_output_len, window_output_shape, ConvOptions, Padding, Window};
pub use layout::IndexItem;
pub use linear::Activation;
pub use pool::PoolMode;

use crate::error::Result;
use crate::kernels::parallel;
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::{Float, Tensor};

/// `f` applied to each element of `src`, in parallel when large.
pub(crate) fn map_data<T: Float>(src: &[T], f: impl Fn(T) -> T + Sync + Send) -> Result<Vec<T>> {
    let mut out = alloc_for_overwrite::<T>(src.len())?;
    parallel::for_each_chunk(&mut out, |start, chunk| {
        // Zipped slices, not indexing: no bounds checks, so the loop vectorizes.
        for (o, &x) in chunk.iter_mut().zip(&src[start..]) {
            *o = f(x);
        }
    });
    Ok(out)
}

impl<T: Float> Tensor<T> {
    /// `f` applied to each element, as a new constant (no graph). Backward rules use it.
    pub(crate) fn map(&self, f: impl Fn(T) -> T + Sync + Send) -> Result<Tensor<T>> {
        Tensor::from_vec(map_data(&self.data(), f)?, self.shape())
    }

    /// `f` applied to matching elements of two tensors of the same shape, as a constant.
    pub(crate) fn zip_map(
        &self,
        other: &Tensor<T>,
        f: impl Fn(T, T) -> T + Sync + Send,
    ) -> Result<Tensor<T>> {
        debug_assert_eq!(self.shape(), other.shape());
        let (a, b) = (self.data(), other.data());
        let mut out = alloc_for_overwrite::<T>(a.len())?;
        parallel::for_each_chunk(&mut out, |start, chunk| {
            for ((o, &x), &y) in chunk.iter_mut().zip(&a[start..]).zip(&b[start..]) {
                *o = f(x, y);
            }
        });
        Tensor::from_vec(out, self.shape())
    }
}
