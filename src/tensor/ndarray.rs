//! Conversions between tensors and [`ndarray`] arrays (the crate feature `ndarray`).
//!
//! ```
//! use kandle::Tensor;
//! let array = ndarray::array![[1.0f32, 2.0], [3.0, 4.0]];
//! let tensor = Tensor::from_ndarray(&array.t()).unwrap(); // any strides: copied in order
//! assert_eq!(tensor.shape(), &[2, 2]);
//! assert_eq!(tensor.to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
//! assert_eq!(tensor.to_ndarray().unwrap(), array.t().into_dyn());
//! ```

use super::{Float, Tensor};
use crate::error::Result;
use crate::Error;
use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};

impl<T: Float> Tensor<T> {
    /// A tensor holding a copy of `array`, in its logical (row-major) order whatever its
    /// memory layout: transposed and sliced views convert as they read.
    pub fn from_ndarray<S: Data<Elem = T>, D: Dimension>(array: &ArrayBase<S, D>) -> Result<Self> {
        Tensor::from_vec(array.iter().copied().collect(), array.shape())
    }

    /// A copy of the tensor as an ndarray array of the same shape.
    pub fn to_ndarray(&self) -> Result<ArrayD<T>> {
        ArrayD::from_shape_vec(IxDyn(self.shape()), self.to_vec())
            .map_err(|e| Error::Internal(format!("tensor to ndarray: {e}")))
    }
}

impl<T: Float, S: Data<Elem = T>, D: Dimension> TryFrom<&ArrayBase<S, D>> for Tensor<T> {
    type Error = Error;

    fn try_from(array: &ArrayBase<S, D>) -> Result<Self> {
        Tensor::from_ndarray(array)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{s, Array3};

    #[test]
    fn round_trips_views_and_empty_arrays() {
        let array = Array3::from_shape_fn((2, 3, 4), |(i, j, k)| (i * 12 + j * 4 + k) as f64);
        let view = array.slice(s![.., ..;2, ..;-1]);
        let tensor = Tensor::<f64>::try_from(&view).unwrap();
        assert_eq!(tensor.shape(), &[2, 2, 4]);
        assert_eq!(tensor.to_ndarray().unwrap(), view.into_dyn());
        let empty = ndarray::Array2::<f32>::zeros((0, 5));
        let tensor = Tensor::from_ndarray(&empty).unwrap();
        assert_eq!(tensor.shape(), &[0, 5]);
        assert_eq!(tensor.to_ndarray().unwrap().shape(), &[0, 5]);
    }
}
