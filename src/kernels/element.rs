//! The element types a tensor can hold: `f32` for training, `f64` for gradient checks.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

mod sealed {
    /// Only f32 and f64 are elements: buffers are created zeroed by the allocator, which
    /// is only sound for types whose all-zero bits are a value.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type of a [`Tensor`](crate::Tensor): `f32` or `f64`.
pub trait Float:
    sealed::Sealed
    + num_traits::Float
    + Default
    + Debug
    + Display
    + Sum
    + AddAssign
    + SubAssign
    + MulAssign
    + Send
    + Sync
    + 'static
{
    /// NumPy's name for the type.
    const DTYPE: &'static str;
    /// Integers below this magnitude are held exactly (2**24 for f32, 2**53 for f64); a
    /// whole value from here on may be another integer, rounded.
    const EXACT_INTEGERS_BELOW: f64;
    /// Idle buffers of this type, reused by new tensors.
    fn pool() -> &'static super::pool::BufferPool<Self>;
    /// The nearest value of this type to `v`.
    fn from_f64(v: f64) -> Self;
    /// This value as an `f64` (exact for both types).
    fn to_f64(self) -> f64;
}

impl Float for f32 {
    const DTYPE: &'static str = "float32";
    const EXACT_INTEGERS_BELOW: f64 = 16_777_216.0;
    fn pool() -> &'static super::pool::BufferPool<Self> {
        static POOL: super::pool::BufferPool<f32> = super::pool::BufferPool::new();
        &POOL
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl Float for f64 {
    const DTYPE: &'static str = "float64";
    const EXACT_INTEGERS_BELOW: f64 = 9_007_199_254_740_992.0;
    fn pool() -> &'static super::pool::BufferPool<Self> {
        static POOL: super::pool::BufferPool<f64> = super::pool::BufferPool::new();
        &POOL
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn to_f64(self) -> f64 {
        self
    }
}
