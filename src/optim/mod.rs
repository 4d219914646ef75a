//! Optimizers: they update variables in place from their gradients.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::tensor::{Float, Tensor};

/// Plain stochastic gradient descent: `v -= learning_rate * g` (Keras's SGD, momentum 0).
#[derive(Clone, Debug)]
pub struct Sgd {
    pub learning_rate: f64,
}

impl Sgd {
    pub fn new(learning_rate: f64) -> Result<Self> {
        if !(learning_rate.is_finite() && learning_rate >= 0.0) {
            bail!(
                InvalidArgument,
                "SGD: learning_rate must be a finite number >= 0, got {learning_rate}"
            );
        }
        Ok(Sgd { learning_rate })
    }

    /// Applies one step: `grads[i]` updates `variables[i]`. Nothing is changed unless
    /// every pair matches.
    pub fn apply<T: Float>(&self, grads: &[Tensor<T>], variables: &[Tensor<T>]) -> Result<()> {
        check_pairs(grads, variables)?;
        let lr = T::from_f64(self.learning_rate);
        for (g, v) in grads.iter().zip(variables) {
            v.update_with(g, |v, g| v - lr * g)?;
        }
        Ok(())
    }
}

/// Gradients and variables must pair up one to one, with equal shapes.
pub fn check_pairs<T: Float>(grads: &[Tensor<T>], variables: &[Tensor<T>]) -> Result<()> {
    if grads.len() != variables.len() {
        bail!(
            InvalidArgument,
            "apply: got {} gradients for {} variables; expected one gradient per variable",
            grads.len(),
            variables.len()
        );
    }
    for (i, (g, v)) in grads.iter().zip(variables).enumerate() {
        if !v.is_variable() {
            bail!(
                InvalidArgument,
                "apply: item {i} of variables is not a Variable"
            );
        }
        if g.shape() != v.shape() {
            bail!(
                Shape,
                "apply: gradient {i} has shape {} but its variable has shape {}",
                fmt_shape(g.shape()),
                fmt_shape(v.shape())
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// candle-nn's `tests/optim.rs` fixture: fit y = 3·x1 + x2 − 2 with the sum of
    /// squared errors and SGD(0.004) for 1000 steps.
    #[test]
    fn candle_linear_regression_fixture() {
        let x = Tensor::<f32>::from_vec(vec![2., 1., 7., 4., -4., 12., 5., 8.], &[4, 2]).unwrap();
        let y = Tensor::<f32>::from_vec(vec![5., 23., -2., 21.], &[4, 1]).unwrap();
        let w = Tensor::<f32>::variable(vec![0., 0.], &[1, 2]).unwrap();
        let b = Tensor::<f32>::variable(vec![0.], &[]).unwrap();
        let sgd = Sgd::new(0.004).unwrap();
        for _ in 0..1000 {
            let pred = x.matmul(&w.t().unwrap()).unwrap().add(&b).unwrap();
            let loss = pred
                .sub(&y)
                .unwrap()
                .powf(2.0)
                .unwrap()
                .sum(None, false)
                .unwrap();
            let g = crate::grad(&loss, &[w.clone(), b.clone()]).unwrap();
            sgd.apply(&g, &[w.clone(), b.clone()]).unwrap();
        }
        let (w, b) = (w.to_vec(), b.item().unwrap());
        assert!(
            (w[0] - 2.9983196).abs() < 1e-4 && (w[1] - 0.99790204).abs() < 1e-4,
            "{w:?}"
        );
        assert!((b + 1.9796902).abs() < 1e-4, "{b}");
    }
}
