//! Reverse-mode autodiff over the graph that ops record as they run.
//!
//! Every op result keeps a [`Node`]: its inputs and a closure that maps the output's
//! gradient to the inputs' gradients (the op's backward rule, written next to its
//! forward in `crate::ops`). [`grad`] walks the graph from a scalar back to variables.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{Float, SavedValue, Tensor, TensorId};
use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// What a backward rule sees.
pub struct BackwardArgs<'a, T: Float> {
    pub inputs: &'a [Tensor<T>],
    pub output: &'a Tensor<T>,
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
pub struct Node<T: Float> {
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

    /// The inputs, taken out (the rest of the node is dropped).
    pub(crate) fn into_inputs(mut self) -> Vec<Tensor<T>> {
        std::mem::take(&mut self.inputs)
    }

    /// The inputs with the values this op read: a variable written since then is
    /// replaced by its saved forward-time value.
    fn forward_inputs(&self) -> Cow<'_, [Tensor<T>]> {
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

/// Recorded tensors reachable from `root`, each after all tensors computed from it.
fn topological_order<T: Float>(root: &Tensor<T>) -> Vec<Tensor<T>> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // Iterative post-order DFS: deep graphs (long training chains) must not overflow the stack.
    let mut stack = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        let Some(node) = t.node() else { continue };
        if !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        for input in node.inputs.iter().filter(|i| i.node().is_some()) {
            if !seen.contains(&input.id()) {
                stack.push((input.clone(), false));
            }
        }
    }
    order.reverse();
    order
}

/// Gradients of the scalar `loss` with respect to each of `wrt`, in order. A tensor the
/// loss does not depend on gets zeros of its shape.
pub fn grad<T: Float>(loss: &Tensor<T>, wrt: &[Tensor<T>]) -> Result<Vec<Tensor<T>>> {
    if loss.numel() != 1 {
        bail!(
            Gradient,
            "grad: the loss must be a scalar (one element), got a tensor of shape {}",
            fmt_shape(loss.shape())
        );
    }
    // Gradients of intermediate tensors are dropped once used, except those asked for.
    let keep: HashSet<TensorId> = wrt.iter().map(|w| w.id()).collect();
    no_grad(|| {
        let mut grads: HashMap<TensorId, Tensor<T>> = HashMap::new();
        grads.insert(loss.id(), Tensor::ones(loss.shape())?);
        for t in topological_order(loss) {
            let g = if keep.contains(&t.id()) {
                grads.get(&t.id()).cloned()
            } else {
                grads.remove(&t.id())
            };
            let Some(g) = g else { continue };
            let node = t.node().expect("ordered tensors are recorded");
            let input_grads = (node.backward)(&BackwardArgs {
                inputs: &node.forward_inputs(),
                output: &t,
                grad: &g,
            })?;
            for (input, ig) in node.inputs.iter().zip(input_grads) {
                let Some(ig) = ig else { continue };
                if !input.requires_grad() {
                    continue;
                }
                debug_assert_eq!(
                    ig.shape(),
                    input.shape(),
                    "backward rule gave a wrong shape"
                );
                let total = match grads.remove(&input.id()) {
                    Some(prev) => prev.add(&ig)?,
                    None => ig,
                };
                grads.insert(input.id(), total);
            }
        }
        wrt.iter()
            .map(|w| match grads.get(&w.id()) {
                Some(g) => Ok(g.clone()),
                None => Tensor::zeros(w.shape()),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A variable written between forward and backward: the gradient is taken at the
    /// value the forward pass read, for every graph recorded before the write, while
    /// graphs recorded after it see the new value.
    #[test]
    fn backward_sees_the_forward_time_value_of_a_variable() {
        let v = Tensor::<f64>::variable(vec![1.0, -2.0], &[2]).unwrap();
        let first = v.mul(&v).unwrap().sum(None, false).unwrap();
        let also_first = v.mul(&v).unwrap().sum(None, false).unwrap();
        v.assign(&[5.0, 3.0]).unwrap();
        let second = v.mul(&v).unwrap().sum(None, false).unwrap();
        v.update_with(&Tensor::from_vec(vec![1.0, 1.0], &[2]).unwrap(), |a, b| {
            a + b
        })
        .unwrap();
        let g = |loss: &Tensor<f64>| grad(loss, &[v.clone()]).unwrap()[0].to_vec();
        assert_eq!(g(&first), vec![2.0, -4.0]);
        assert_eq!(g(&also_first), vec![2.0, -4.0]);
        assert_eq!(g(&second), vec![10.0, 6.0]);
        assert_eq!(
            g(&v.mul(&v).unwrap().sum(None, false).unwrap()),
            vec![12.0, 8.0]
        );
    }

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
}
