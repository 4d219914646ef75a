//! ActivityRegularization: the identity, whose output adds a penalty to the loss.

use super::regularizer::Regularizer;
use crate::config::Args;
use crate::error::Result;
use crate::nn::Layer;
use crate::tensor::{Float, Tensor};
use serde_json::Value;
use std::sync::Mutex;

/// Passes its input through and remembers it, so that [`ActivityRegularization::regularization`]
/// gives Keras's activity penalty of the last call:
/// `(l1 · Σ|x| + l2 · Σx²) / batch_size`.
pub struct ActivityRegularization<T: Float = f32> {
    /// The `l1` and `l2` factors of the penalty.
    pub regularizer: Regularizer,
    /// The last input, part of the graph of that call (so the penalty's gradient
    /// reaches the layers before).
    last: Mutex<Option<Tensor<T>>>,
}

impl<T: Float> ActivityRegularization<T> {
    /// A layer of Keras's `ActivityRegularization(l1, l2)`; both must be finite and
    /// non-negative.
    pub fn new(l1: f64, l2: f64) -> Result<Self> {
        Ok(ActivityRegularization {
            regularizer: Regularizer::new(l1, l2)?,
            last: Mutex::new(None),
        })
    }

    /// The layer of a Keras `ActivityRegularization` config (`l1`, `l2`, both 0 by
    /// default).
    pub fn from_config(config: &Value) -> Result<Self> {
        let args = Args::new("ActivityRegularization", config)?;
        Self::new(args.or("l1", 0.0)?, args.or("l2", 0.0)?)
    }

    /// `x` unchanged; remembered for the next [`ActivityRegularization::regularization`].
    pub fn forward(&self, x: &Tensor<T>) -> Result<Tensor<T>> {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(x.clone());
        Ok(x.clone())
    }

    /// The penalty of the last call's activity, divided by its batch size (the first
    /// axis; a scalar counts as one); None before any call.
    pub fn regularization(&self) -> Result<Option<Tensor<T>>> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let Some(x) = last.as_ref() else {
            return Ok(None);
        };
        let penalty = self.regularizer.penalty(x)?;
        // Keras's divide_no_nan: an empty batch gives 0.
        let batch = x.shape().first().copied().unwrap_or(1);
        let scale = if batch == 0 { 0.0 } else { 1.0 / batch as f64 };
        Ok(Some(penalty.mul(&Tensor::scalar(T::from_f64(scale)))?))
    }
}

impl Layer for ActivityRegularization<f32> {
    fn forward(&self, x: &Tensor, _training: bool) -> Result<Tensor> {
        ActivityRegularization::forward(self, x)
    }

    fn regularization(&self) -> Result<Option<Tensor>> {
        ActivityRegularization::regularization(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};
    use serde_json::json;

    #[test]
    fn penalty_of_the_last_call_divided_by_the_batch() {
        let layer =
            ActivityRegularization::<f64>::from_config(&json!({"l1": 0.1, "l2": 0.5})).unwrap();
        assert!(layer.regularization().unwrap().is_none());
        let x = Tensor::<f64>::from_vec(vec![1.0, -2.0, 3.0, 0.5], &[2, 2]).unwrap();
        assert_eq!(layer.forward(&x).unwrap().to_vec(), x.to_vec());
        let penalty = layer.regularization().unwrap().unwrap().item().unwrap();
        let expected = (0.1 * 6.5 + 0.5 * (1.0 + 4.0 + 9.0 + 0.25)) / 2.0;
        assert!((penalty - expected).abs() < 1e-12);
        assert!(ActivityRegularization::<f64>::new(-1.0, 0.0).is_err());
    }

    #[test]
    fn gradient_reaches_the_input() {
        let x = rand(&[3, 4], 1)
            .map(|v| if v.abs() < 0.05 { 0.3 } else { v })
            .unwrap();
        check_grad(&[x], |t| {
            let layer = ActivityRegularization::new(0.3, 0.7)?;
            let y = layer.forward(&t[0])?;
            y.mul(&y)?
                .sum(None, false)?
                .add(&layer.regularization()?.expect("called"))
        });
    }
}
