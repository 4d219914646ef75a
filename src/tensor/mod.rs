//! [`Tensor`]: an n-dimensional, row-major array of floats that remembers how it was made.
//!
//! A tensor is a cheap handle (`Arc`) to immutable data, except for variables, whose
//! data an optimizer updates in place. Ops live in `crate::ops`; this file holds the
//! type itself, creation and access, and `graph.rs` the record of how it was made.

mod graph;
#[cfg(feature = "ndarray")]
mod ndarray;
pub mod random;
pub mod shape;

pub use crate::kernels::Float;
pub(crate) use graph::Node;
pub use graph::{is_grad_enabled, no_grad, set_grad_enabled, BackwardArgs, BackwardFn};

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::pool::{alloc, alloc_for_overwrite};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{
    Arc, Mutex, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};

/// A unique id per tensor, used as the key of gradients.
pub type TensorId = u64;

fn next_id() -> TensorId {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An n-dimensional array, `f32` by default, with reverse-mode autodiff.
pub struct Tensor<T: Float = f32>(Arc<Inner<T>>);

struct Inner<T: Float> {
    id: TensorId,
    shape: Vec<usize>,
    data: RwLock<Vec<T>>,
    /// How this tensor was computed, when recorded for autodiff.
    node: Option<Node<T>>,
    /// Variables are leaves that gradients are taken for and optimizers update.
    variable: bool,
    /// The exact integers of a tensor made from integer data (indices, labels), which
    /// index ops read instead of the floats: float32 rounds integers from 2**24 on. Set
    /// only where data comes in ([`Tensor::from_integers`]); every op's result drops them.
    integers: Option<Vec<i64>>,
    /// Variables only: the slot that the graphs recorded since the last write share, so
    /// that the next write first saves the value they read (see [`SavedValue`]).
    readers: Mutex<Weak<SavedValue<T>>>,
}

/// A variable's value as recorded graphs read it at forward time. A write to the
/// variable fills it with a copy first, and only while such a graph is alive; backward
/// then differentiates at the forward-time value (as TensorFlow's tape does), not at
/// whatever the variable holds later. A training step drops its graph before the
/// optimizer writes, so it never pays for the copy.
pub(crate) struct SavedValue<T: Float>(OnceLock<Tensor<T>>);

impl<T: Float> SavedValue<T> {
    /// The saved value, if the variable was written since the graph read it.
    pub(crate) fn get(&self) -> Option<&Tensor<T>> {
        self.0.get()
    }
}

impl<T: Float> Drop for Inner<T> {
    fn drop(&mut self) {
        let data = std::mem::take(self.data.get_mut().unwrap_or_else(|e| e.into_inner()));
        T::pool().give(data);
        // The graph behind this tensor is taken apart with a loop: dropped the ordinary
        // way, a long chain of ops (a running total kept as a tensor) would recurse once
        // per op and overflow the stack.
        let Some(node) = self.node.take() else {
            return;
        };
        let mut inputs = node.into_inputs();
        while let Some(Tensor(input)) = inputs.pop() {
            // Only tensors this one was the last owner of are taken apart here.
            if let Ok(mut inner) = Arc::try_unwrap(input) {
                if let Some(node) = inner.node.take() {
                    inputs.extend(node.into_inputs());
                }
            }
        }
    }
}

impl<T: Float> Clone for Tensor<T> {
    fn clone(&self) -> Self {
        Tensor(self.0.clone())
    }
}

impl<T: Float> std::fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Tensor(shape={}, data={:?})",
            fmt_shape(self.shape()),
            &self.data()[..]
        )
    }
}

impl<T: Float> Tensor<T> {
    fn make(data: Vec<T>, shape: Vec<usize>, node: Option<Node<T>>, variable: bool) -> Self {
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        Tensor(Arc::new(Inner {
            id: next_id(),
            shape,
            data: RwLock::new(data),
            integers: None,
            node,
            variable,
            readers: Mutex::new(Weak::new()),
        }))
    }

    /// That `len` values fill `shape` exactly (`what` names the caller in the error).
    fn check_fills(what: &str, len: usize, shape: &[usize]) -> Result<()> {
        let n = shape::checked_numel(shape, std::mem::size_of::<T>())?;
        if n != len {
            bail!(
                Shape,
                "{what}: {len} values do not fill shape {} ({n} elements)",
                fmt_shape(shape)
            );
        }
        Ok(())
    }

    /// A constant tensor from row-major `data`.
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        Self::check_fills("from_vec", data.len(), shape)?;
        Ok(Self::make(data, shape.to_vec(), None, false))
    }

    /// A constant tensor of row-major integer data: float values for the ops, and the
    /// integers themselves for index ops (see [`Tensor::integers`]).
    pub fn from_integers(integers: Vec<i64>, shape: &[usize]) -> Result<Self> {
        Self::check_fills("from_integers", integers.len(), shape)?;
        let mut data = alloc_for_overwrite::<T>(integers.len())?;
        for (d, &i) in data.iter_mut().zip(&integers) {
            *d = T::from_f64(i as f64);
        }
        Ok(Self::make(data, shape.to_vec(), None, false).with_integers(Some(integers)))
    }

    /// A fresh tensor (the only handle) given exact integers.
    fn with_integers(mut self, integers: Option<Vec<i64>>) -> Self {
        Arc::get_mut(&mut self.0).expect("fresh tensor").integers = integers;
        self
    }

    /// The result of an op: recorded for autodiff when grad mode is on and an input
    /// needs gradients. `backward` maps the output gradient to one per input.
    pub(crate) fn from_op(
        data: Vec<T>,
        shape: Vec<usize>,
        inputs: &[&Tensor<T>],
        backward: impl BackwardFn<T> + 'static,
    ) -> Self {
        let node = (is_grad_enabled() && inputs.iter().any(|t| t.requires_grad()))
            .then(|| Node::new(inputs.iter().map(|&t| t.clone()).collect(), backward));
        Self::make(data, shape, node, false)
    }

    /// A scalar (rank-0) constant.
    pub fn scalar(v: T) -> Self {
        Self::make(vec![v], vec![], None, false)
    }

    /// A tensor of `shape` filled with `value`.
    pub fn full(shape: &[usize], value: T) -> Result<Self> {
        let n = shape::checked_numel(shape, std::mem::size_of::<T>())?;
        let mut data = alloc(n)?;
        if value != T::zero() {
            data.fill(value);
        }
        Ok(Self::make(data, shape.to_vec(), None, false))
    }

    /// A tensor of `shape` filled with zeros.
    pub fn zeros(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::zero())
    }

    /// A tensor of `shape` filled with ones.
    pub fn ones(shape: &[usize]) -> Result<Self> {
        Self::full(shape, T::one())
    }

    /// `[0, 1, ..., n-1]`.
    pub fn arange(n: usize) -> Result<Self> {
        let mut t = Self::zeros(&[n])?;
        Arc::get_mut(&mut t.0)
            .expect("fresh tensor")
            .data
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .iter_mut()
            .enumerate()
            .for_each(|(i, v)| *v = T::from_f64(i as f64));
        Ok(t)
    }

    /// A variable: a leaf whose gradient [`crate::grad`] computes and whose data can be
    /// updated in place.
    pub fn variable(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let t = Self::from_vec(data, shape)?;
        Ok(Self::make(t.into_vec(), shape.to_vec(), None, true))
    }

    /// A new variable holding a copy of this tensor's values.
    pub fn to_variable(&self) -> Self {
        Self::make(self.to_vec(), self.shape().to_vec(), None, true)
    }

    /// A new constant with the same values (and exact integers), cut from the graph.
    pub fn detach(&self) -> Self {
        Self::make(self.to_vec(), self.shape().to_vec(), None, false)
            .with_integers(self.0.integers.clone())
    }

    /// This tensor's unique id (the key of its gradient).
    pub fn id(&self) -> TensorId {
        self.0.id
    }

    /// The size of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    /// The number of axes.
    pub fn rank(&self) -> usize {
        self.0.shape.len()
    }

    /// The number of elements.
    pub fn numel(&self) -> usize {
        self.0.shape.iter().product()
    }

    /// The exact integers of a tensor made from integer data, if it was; index ops
    /// ([`Tensor::take_rows`]) read them rather than the rounded floats.
    pub fn integers(&self) -> Option<&[i64]> {
        self.0.integers.as_deref()
    }

    /// Whether this is a variable: a leaf that optimizers update in place.
    pub fn is_variable(&self) -> bool {
        self.0.variable
    }

    /// Whether gradients can flow back through this tensor.
    pub fn requires_grad(&self) -> bool {
        self.0.variable || self.0.node.is_some()
    }

    pub(crate) fn node(&self) -> Option<&Node<T>> {
        self.0.node.as_ref()
    }

    /// Read access to the row-major data.
    pub fn data(&self) -> RwLockReadGuard<'_, Vec<T>> {
        self.0.data.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to a variable's data. Graphs recorded since the last write keep a
    /// copy of the value they read.
    fn data_mut(&self) -> RwLockWriteGuard<'_, Vec<T>> {
        let data = self.0.data.write().unwrap_or_else(|e| e.into_inner());
        let readers = std::mem::take(&mut *self.readers());
        if let Some(saved) = readers.upgrade() {
            let copy = Self::make(data.clone(), self.shape().to_vec(), None, true);
            // Set once: the slot was taken out of `readers` under its lock above.
            let _ = saved.0.set(copy);
        }
        data
    }

    fn readers(&self) -> std::sync::MutexGuard<'_, Weak<SavedValue<T>>> {
        self.0
            .readers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The slot in which a graph recorded now finds this variable's current value if
    /// the variable is written before the graph's backward pass.
    pub(crate) fn saved_value(&self) -> Arc<SavedValue<T>> {
        let mut readers = self.readers();
        readers.upgrade().unwrap_or_else(|| {
            let saved = Arc::new(SavedValue(OnceLock::new()));
            *readers = Arc::downgrade(&saved);
            saved
        })
    }

    /// A copy of the row-major data (in a buffer from the pool of reused ones, when it
    /// has one).
    pub fn to_vec(&self) -> Vec<T> {
        let data = self.data();
        match crate::kernels::pool::alloc_for_overwrite::<T>(data.len()) {
            Ok(mut copy) => {
                copy.copy_from_slice(&data);
                copy
            }
            Err(_) => data.clone(),
        }
    }

    fn into_vec(self) -> Vec<T> {
        match Arc::try_unwrap(self.0) {
            Ok(mut inner) => {
                std::mem::take(inner.data.get_mut().unwrap_or_else(|e| e.into_inner()))
            }
            Err(shared) => Tensor(shared).to_vec(),
        }
    }

    /// The value of a one-element tensor.
    pub fn item(&self) -> Result<T> {
        if self.numel() != 1 {
            bail!(
                Shape,
                "item: expected a tensor with one element, got shape {}",
                fmt_shape(self.shape())
            );
        }
        Ok(self.data()[0])
    }

    fn check_variable(&self, op: &str) -> Result<()> {
        if !self.is_variable() {
            bail!(
                InvalidArgument,
                "{op}: only a Variable can be updated in place"
            );
        }
        Ok(())
    }

    /// Overwrites a variable's values with `values` (same number of elements).
    pub fn assign(&self, values: &[T]) -> Result<()> {
        self.check_variable("assign")?;
        let mut data = self.data_mut();
        if values.len() != data.len() {
            bail!(
                Shape,
                "assign: expected {} values for a variable of shape {}, got {}",
                data.len(),
                fmt_shape(self.shape()),
                values.len()
            );
        }
        data.copy_from_slice(values);
        Ok(())
    }

    /// Updates a variable in place, element by element, from a tensor of the same shape:
    /// `v[i] = f(v[i], other[i])`. Optimizers use this.
    pub fn update_with(
        &self,
        other: &Tensor<T>,
        f: impl Fn(T, T) -> T + Sync + Send,
    ) -> Result<()> {
        self.check_variable("update")?;
        if other.shape() != self.shape() {
            bail!(
                Shape,
                "update: expected a value of shape {}, got {}",
                fmt_shape(self.shape()),
                fmt_shape(other.shape())
            );
        }
        let src = other.data();
        let mut dst = self.data_mut();
        crate::kernels::parallel::for_each_chunk(&mut dst, |start, chunk| {
            for (i, d) in chunk.iter_mut().enumerate() {
                *d = f(*d, src[start + i]);
            }
        });
        Ok(())
    }

    /// Runs `f` on a variable's values with write access, in place. Optimizers whose
    /// update also reads and writes their own state use this; `f` must not touch this
    /// tensor through another handle (its lock is held).
    pub fn update_in_place<R>(&self, f: impl FnOnce(&mut [T]) -> R) -> Result<R> {
        self.check_variable("update")?;
        Ok(f(&mut self.data_mut()))
    }

    /// Converts the element type (f32 <-> f64), as a constant.
    pub fn cast<U: Float>(&self) -> Tensor<U> {
        let data = self
            .data()
            .iter()
            .map(|&v| U::from_f64(v.to_f64()))
            .collect();
        Tensor::make(data, self.shape().to_vec(), None, self.is_variable())
            .with_integers(self.0.integers.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creation_and_access() {
        let t = Tensor::<f32>::from_vec(vec![1., 2., 3., 4., 5., 6.], &[2, 3]).unwrap();
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.numel(), 6);
        assert_eq!(
            Tensor::<f32>::arange(4).unwrap().to_vec(),
            vec![0., 1., 2., 3.]
        );
        assert_eq!(
            Tensor::<f32>::full(&[2], 7.).unwrap().to_vec(),
            vec![7., 7.]
        );
        assert!(Tensor::<f32>::from_vec(vec![1.], &[2]).is_err());
        assert!(matches!(
            Tensor::<f32>::zeros(&[1 << 40, 1 << 40]),
            Err(crate::Error::Allocation(_))
        ));
    }

    /// A chain of 300,000 ops (a running total kept as a tensor) is freed without
    /// recursion: a recursive drop overflowed the 2 MiB stack of a test thread.
    #[test]
    fn dropping_a_long_graph_does_not_overflow_the_stack() {
        let x = Tensor::<f32>::variable(vec![1.0], &[1]).unwrap();
        let mut total = Tensor::<f32>::zeros(&[1]).unwrap();
        for _ in 0..300_000 {
            total = total.add(&x).unwrap();
        }
        assert_eq!(total.to_vec(), vec![300_000.0]);
        drop(total);
        assert_eq!(Arc::strong_count(&x.0), 1);
    }

    #[test]
    fn only_variables_update_in_place() {
        let v = Tensor::<f32>::variable(vec![1., 2.], &[2]).unwrap();
        v.assign(&[3., 4.]).unwrap();
        assert_eq!(v.to_vec(), vec![3., 4.]);
        let c = Tensor::<f32>::from_vec(vec![1., 2.], &[2]).unwrap();
        assert!(c.assign(&[0., 0.]).is_err());
    }
}
