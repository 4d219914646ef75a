//! Regression losses: mean squared / absolute (percentage) / squared logarithmic error,
//! Huber, log-cosh and cosine similarity.

use super::{matched, mean_last, scalar, sum_over, EPSILON};
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

/// `100 · mean(|(y_true - y_pred) / max(|y_true|, EPSILON)|, axis=-1)`, as
/// `keras.losses.mean_absolute_percentage_error`.
pub fn mean_absolute_percentage_error<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "mean_absolute_percentage_error")?;
    let scale = t.abs()?.clip(EPSILON, f64::INFINITY)?;
    let ratio = t.sub(&p)?.div(&scale)?.abs()?;
    mean_last(&ratio)?.mul(&scalar(100.0))
}

/// `mean((log(max(y_pred, EPSILON) + 1) - log(max(y_true, EPSILON) + 1))², axis=-1)`, as
/// `keras.losses.mean_squared_logarithmic_error`.
pub fn mean_squared_logarithmic_error<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "mean_squared_logarithmic_error")?;
    let log1 = |x: &Tensor<T>| x.clip(EPSILON, f64::INFINITY)?.add(&scalar(1.0))?.log();
    mean_last(&log1(&p)?.sub(&log1(&t)?)?.powf(2.0)?)
}

/// `mean(log(cosh(y_pred - y_true)), axis=-1)`, as `keras.losses.log_cosh`, in the
/// overflow-free form `x + softplus(-2x) - log(2)`.
pub fn log_cosh<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "log_cosh")?;
    let x = p.sub(&t)?;
    let softplus = x.mul(&scalar(-2.0))?.softplus()?;
    mean_last(&x.add(&softplus)?.sub(&scalar(std::f64::consts::LN_2))?)
}

/// `-sum(l2_normalize(y_true) · l2_normalize(y_pred), axis)`, as
/// `keras.losses.cosine_similarity` (0 where either vector is zero).
pub fn cosine_similarity<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    axis: isize,
) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "cosine_similarity")?;
    let t = l2_normalize(&t, axis)?;
    let p = l2_normalize(&p, axis)?;
    sum_over(&t.mul(&p)?, axis)?.neg()
}

/// `x / max(||x||, EPSILON)` along `axis`, as Keras's `normalize`. The norm's square is
/// clipped before the reciprocal square root, so a zero vector has a finite gradient.
fn l2_normalize<T: Float>(x: &Tensor<T>, axis: isize) -> Result<Tensor<T>> {
    let mut squared = x.powf(2.0)?;
    if x.rank() > 0 {
        squared = squared.sum(Some(&[axis]), true)?;
    }
    x.mul(&squared.clip(EPSILON * EPSILON, f64::INFINITY)?.powf(-0.5)?)
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
    fn keras_values() {
        // From Keras (KERAS_BACKEND=jax) on these inputs.
        let t = Tensor::<f32>::from_vec(vec![0., 1., 2., 0.5], &[2, 2]).unwrap();
        let p = Tensor::<f32>::from_vec(vec![0.5, 0.9, -1., 3.], &[2, 2]).unwrap();
        let close = |a: Vec<f32>, b: [f32; 2]| {
            assert!(
                (a[0] - b[0]).abs() <= 1e-5 * b[0].abs().max(1.0)
                    && (a[1] - b[1]).abs() <= 1e-5 * b[1].abs().max(1.0),
                "{a:?} vs {b:?}"
            )
        };
        close(
            mean_absolute_percentage_error(&t, &p).unwrap().to_vec(),
            [250_000_000.0, 325.0],
        );
        close(
            mean_squared_logarithmic_error(&t, &p).unwrap().to_vec(),
            [0.083_516_43, 1.084_487_4],
        );
        close(
            log_cosh(&t, &p).unwrap().to_vec(),
            [0.062_553_11, 2.061_448_3],
        );
        close(
            cosine_similarity(&t, &p, -1).unwrap().to_vec(),
            [-0.874_157_25, 0.076_696_515],
        );
        close(
            cosine_similarity(&t, &p, 0).unwrap().to_vec(),
            [0.894_427_2, -0.685_364_7],
        );
        // A zero vector has similarity 0.
        let zero = Tensor::<f32>::zeros(&[1, 2]).unwrap();
        assert_eq!(
            cosine_similarity(&zero, &zero, -1).unwrap().to_vec(),
            vec![0.0]
        );
        // log_cosh stays finite for large errors: |x| - log 2.
        let big = Tensor::<f32>::from_vec(vec![1000.], &[1, 1]).unwrap();
        let v = log_cosh(&Tensor::zeros(&[1, 1]).unwrap(), &big)
            .unwrap()
            .to_vec();
        assert!(
            (v[0] - (1000.0 - std::f32::consts::LN_2)).abs() < 1e-3,
            "{v:?}"
        );
    }

    #[test]
    fn nan_propagates() {
        let t = Tensor::<f32>::from_vec(vec![0., 1., 2., 0.5], &[2, 2]).unwrap();
        let p = Tensor::<f32>::from_vec(vec![f32::NAN, 0.9, -1., 3.], &[2, 2]).unwrap();
        type F = fn(&Tensor<f32>, &Tensor<f32>) -> Result<Tensor<f32>>;
        let fs: [F; 6] = [
            mean_squared_error,
            mean_absolute_error,
            mean_absolute_percentage_error,
            mean_squared_logarithmic_error,
            log_cosh,
            |t, p| cosine_similarity(t, p, -1),
        ];
        for f in fs {
            for v in [f(&t, &p).unwrap().to_vec(), f(&p, &t).unwrap().to_vec()] {
                assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
            }
        }
        let v = huber(&t, &p, 1.0).unwrap().to_vec();
        assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
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
        check_grad(&[t.clone(), p_far.clone()], |x| log_cosh(&x[0], &x[1]));
        for axis in [-1, 0] {
            check_grad(&[t.clone(), p.clone()], |x| {
                cosine_similarity(&x[0], &x[1], axis)
            });
        }
        // Away from the clip at EPSILON: labels and predictions in (0.05, 1.95).
        let (t_pos, p_pos) = (
            t.map(|v| v + 1.05).unwrap(),
            p.map(|v| v * 0.9 + 1.0).unwrap(),
        );
        check_grad(&[t_pos.clone(), p_pos.clone()], |x| {
            mean_squared_logarithmic_error(&x[0], &x[1])
        });
        // Away from y_true = y_pred and y_true = 0, where |.| has its kinks.
        check_grad(&[t_pos, p_pos.map(|v| v + 2.5).unwrap()], |x| {
            mean_absolute_percentage_error(&x[0], &x[1])
        });
    }

    #[test]
    fn zero_vector_has_a_finite_cosine_gradient() {
        let zero = Tensor::<f64>::variable(vec![0.0, 0.0], &[1, 2]).unwrap();
        let t = Tensor::<f64>::from_vec(vec![1.0, 2.0], &[1, 2]).unwrap();
        let l = cosine_similarity(&t, &zero, -1).unwrap();
        let g = crate::grad(&l.sum(None, false).unwrap(), &[zero]).unwrap();
        assert!(
            g[0].to_vec().iter().all(|v| v.is_finite()),
            "{:?}",
            g[0].to_vec()
        );
    }
}
