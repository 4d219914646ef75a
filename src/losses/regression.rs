//! Regression losses: mean squared error, mean absolute error, Huber.

use super::{matched, mean_last};
use crate::bail;
use crate::error::Result;
use crate::tensor::{Float, Tensor};

/// `mean((y_pred - y_true)², axis=-1)`, as `keras.losses.mean_squared_error`.
pub fn mean_squared_error<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "mean_squared_error")?;
    mean_last(&p.sub(&t)?.powf(2.0)?)
}

/// `mean(|y_pred - y_true|, axis=-1)`, as `keras.losses.mean_absolute_error`.
pub fn mean_absolute_error<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "mean_absolute_error")?;
    mean_last(&p.sub(&t)?.abs()?)
}

/// The Huber loss, `mean(h(y_pred - y_true), axis=-1)` with `h(e) = e²/2` where
/// `|e| <= delta` and `delta·|e| - delta²/2` elsewhere, as `keras.losses.huber`.
pub fn huber<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>, delta: f64) -> Result<Tensor<T>> {
    check_delta(delta)?;
    let (t, p) = matched(y_true, y_pred, "huber")?;
    let abs_error = p.sub(&t)?.abs()?;
    // With q = min(|e|, delta): q²/2 + delta·(|e| - q) is e²/2 inside and the linear
    // branch outside, and its gradient is the Huber gradient on both sides.
    let q = abs_error.clip(0.0, delta)?;
    let quadratic = q.powf(2.0)?.mul(&Tensor::scalar(T::from_f64(0.5)))?;
    let linear = abs_error
        .sub(&q)?
        .mul(&Tensor::scalar(T::from_f64(delta)))?;
    mean_last(&quadratic.add(&linear)?)
}

pub(super) fn check_delta(delta: f64) -> Result<()> {
    if !(delta.is_finite() && delta >= 0.0) {
        bail!(
            InvalidArgument,
            "Huber: expected a finite delta >= 0, got delta={delta}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn values() {
        let t = Tensor::<f32>::from_vec(vec![1., 2., 3., 4.], &[2, 2]).unwrap();
        let p = Tensor::<f32>::from_vec(vec![1., 4., 0., 4.], &[2, 2]).unwrap();
        assert_eq!(mean_squared_error(&t, &p).unwrap().to_vec(), vec![2.0, 4.5]);
        assert_eq!(
            mean_absolute_error(&t, &p).unwrap().to_vec(),
            vec![1.0, 1.5]
        );
        // Keras docs: huber([[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]]) has mean 0.155.
        let t = Tensor::<f32>::from_vec(vec![0., 1., 0., 0.], &[2, 2]).unwrap();
        let p = Tensor::<f32>::from_vec(vec![0.6, 0.4, 0.4, 0.6], &[2, 2]).unwrap();
        let h = huber(&t, &p, 1.0).unwrap();
        let mean = h.mean(None, false).unwrap().item().unwrap();
        assert!((mean - 0.155).abs() < 1e-6, "{mean}");
        // Linear branch: |e| = 3 > delta = 1 gives 3 - 0.5.
        let t = Tensor::<f32>::from_vec(vec![0.], &[1, 1]).unwrap();
        let p = Tensor::<f32>::from_vec(vec![3.], &[1, 1]).unwrap();
        assert_eq!(huber(&t, &p, 1.0).unwrap().to_vec(), vec![2.5]);
        assert!(huber(&t, &p, -1.0).is_err());
    }

    #[test]
    fn shapes() {
        let t = Tensor::<f32>::zeros(&[4]).unwrap();
        let p = Tensor::<f32>::zeros(&[4, 1]).unwrap();
        // (4,) against (4, 1): y_true gets a trailing axis, as in Keras.
        assert_eq!(mean_squared_error(&t, &p).unwrap().shape(), &[4]);
        let bad = Tensor::<f32>::zeros(&[4, 3]).unwrap();
        let err = mean_squared_error(&t, &bad).unwrap_err().to_string();
        assert!(err.contains("(4,)") && err.contains("(4, 3)"), "{err}");
    }

    #[test]
    fn gradients() {
        let (t, p) = (rand(&[3, 4], 1), rand(&[3, 4], 2));
        check_grad(&[t.clone(), p.clone()], |x| {
            mean_squared_error(&x[0], &x[1])
        });
        check_grad(&[t.clone(), p.clone()], |x| {
            mean_absolute_error(&x[0], &x[1])
        });
        let p_far = p.map(|v| v * 3.0).unwrap();
        for delta in [0.3, 1.0] {
            check_grad(&[t.clone(), p_far.clone()], |x| huber(&x[0], &x[1], delta));
        }
    }
}
