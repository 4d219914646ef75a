//! The graph that ops record as they run: each op result keeps a [`Node`] with its
//! inputs and its backward rule, and a per-thread flag says whether ops record at all.
//! `crate::autograd` walks this graph backwards; the tensor only holds it.

use super::{Float, SavedValue, Tensor};
use crate::error::Result;
use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

/// What a backward rule sees.
pub struct BackwardArgs<'a, T: Float> {
    /// The op's inputs, with the values the forward pass read.
    pub inputs: &'a [Tensor<T>],
    /// The op's result.
    pub output: &'a Tensor<T>,
    /// The gradient of the loss with respect to `output`.
    pub grad: &'a Tensor<T>,
}

/// A backward rule: one gradient per input (`None` where no gradient flows).
pub trait BackwardFn<T: Float>:
    Fn(&BackwardArgs<T>) -> Result<Vec<Option<Tensor<T>>>> + Send + Sync
{
}
impl<T: Float, F> BackwardFn<T> for F where
    F: Fn(&BackwardArgs<T>) -> Result<Vec<Option<Tensor<T>>>> + Send + Sync
{
}

/// How a tensor was computed.
pub(crate) struct Node<T: Float> {
    inputs: Vec<Tensor<T>>,
    /// Per input that is a variable, its value as this op read it (empty if none is).
    saved: Vec<Option<Arc<SavedValue<T>>>>,
    backward: Box<dyn BackwardFn<T>>,
}

impl<T: Float> Node<T> {
    pub(crate) fn new(inputs: Vec<Tensor<T>>, backward: impl BackwardFn<T> + 'static) -> Self {
        let saved = if inputs.iter().any(Tensor::is_variable) {
            inputs
                .iter()
                .map(|t| t.is_variable().then(|| t.saved_value()))
                .collect()
        } else {
            Vec::new()
        };
        Node {
            inputs,
            saved,
            backward: Box::new(backward),
        }
    }

    /// The op's inputs, as recorded.
    pub(crate) fn inputs(&self) -> &[Tensor<T>] {
        &self.inputs
    }

    /// The inputs, taken out (the rest of the node is dropped).
    pub(crate) fn into_inputs(mut self) -> Vec<Tensor<T>> {
        std::mem::take(&mut self.inputs)
    }

    /// The inputs with the values this op read: a variable written since then is
    /// replaced by its saved forward-time value.
    pub(crate) fn forward_inputs(&self) -> Cow<'_, [Tensor<T>]> {
        let saved_of = |s: &Option<Arc<SavedValue<T>>>| s.as_ref().and_then(|s| s.get().cloned());
        if !self.saved.iter().any(|s| saved_of(s).is_some()) {
            return Cow::Borrowed(&self.inputs);
        }
        let inputs = self.inputs.iter().zip(&self.saved);
        Cow::Owned(
            inputs
                .map(|(input, s)| saved_of(s).unwrap_or_else(|| input.clone()))
                .collect(),
        )
    }

    /// Runs the op's backward rule.
    pub(crate) fn backward(&self, args: &BackwardArgs<T>) -> Result<Vec<Option<Tensor<T>>>> {
        (self.backward)(args)
    }
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops on this thread record the graph.
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(|g| g.get())
}

/// Turns recording on or off on this thread; returns the previous setting.
pub fn set_grad_enabled(enabled: bool) -> bool {
    GRAD_ENABLED.with(|g| g.replace(enabled))
}

/// Runs `f` without recording the graph.
pub fn no_grad<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            set_grad_enabled(self.0);
        }
    }
    let _restore = Restore(set_grad_enabled(false));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph alone holds the saved-value slot: once it is dropped, a write has
    /// nothing to fill and copies nothing (a training step's case).
    #[test]
    fn a_dropped_graph_releases_its_saved_value() {
        let v = Tensor::<f32>::variable(vec![1.0], &[1]).unwrap();
        let loss = v.mul(&v).unwrap();
        let slot = Arc::downgrade(loss.node().unwrap().saved[0].as_ref().unwrap());
        drop(loss);
        assert!(slot.upgrade().is_none());
        v.assign(&[2.0]).unwrap();
    }

    #[test]
    fn no_grad_records_nothing_and_restores_the_setting() {
        let v = Tensor::<f32>::variable(vec![1.0], &[1]).unwrap();
        let y = no_grad(|| v.mul(&v).unwrap());
        assert!(!y.requires_grad());
        assert!(is_grad_enabled());
        assert!(v.mul(&v).unwrap().requires_grad());
    }
}
