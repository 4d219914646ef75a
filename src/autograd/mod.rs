//! Reverse-mode autodiff over the graph that ops record as they run.
//!
//! Every op result keeps a node of the graph (`crate::tensor`'s, see
//! [`BackwardArgs`]): its inputs and a closure that maps the output's gradient to the
//! inputs' gradients (the op's backward rule, written next to its forward in
//! `crate::ops`). [`grad`] walks the graph from a scalar back to variables.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{no_grad, BackwardArgs, Float, Tensor, TensorId};
use std::collections::{HashMap, HashSet};

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
        for input in node.inputs().iter().filter(|i| i.node().is_some()) {
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
            let input_grads = node.backward(&BackwardArgs {
                inputs: &node.forward_inputs(),
                output: &t,
                grad: &g,
            })?;
            for (input, ig) in node.inputs().iter().zip(input_grads) {
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
}
