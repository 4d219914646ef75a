//! Overlap losses for segmentation: Dice and Tversky.

use super::{matched, scalar, EPSILON};
use crate::bail;
use crate::error::Result;
use crate::tensor::{Float, Tensor};

/// `1 - 2·sum(t·p) / (sum(t) + sum(p) + EPSILON)`, the sums over `axis` (all axes when
/// `None`, giving one value), as `keras.losses.dice`.
pub fn dice<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    axis: Option<&[isize]>,
) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "dice")?;
    let intersection = t.mul(&p)?.sum(axis, false)?;
    let denominator = t
        .sum(axis, false)?
        .add(&p.sum(axis, false)?)?
        .add(&scalar(EPSILON))?;
    let score = intersection.mul(&scalar(2.0))?.div(&denominator)?;
    scalar::<T>(1.0).sub(&score)
}

/// `1 - tp / (tp + alpha·fp + beta·fn + EPSILON)`, as `keras.losses.tversky`, with
/// Keras's terms: `tp = sum(t·p)`, `fp = sum((1 - p)·t)` and `fn = sum(p·(1 - t))`, the
/// sums over `axis` (all axes when `None`).
pub fn tversky<T: Float>(
    y_true: &Tensor<T>,
    y_pred: &Tensor<T>,
    alpha: f64,
    beta: f64,
    axis: Option<&[isize]>,
) -> Result<Tensor<T>> {
    check_tversky(alpha, beta)?;
    let (t, p) = matched(y_true, y_pred, "tversky")?;
    let one = scalar::<T>(1.0);
    let intersection = t.mul(&p)?.sum(axis, false)?;
    let fp = one.sub(&p)?.mul(&t)?.sum(axis, false)?;
    let fn_ = p.mul(&one.sub(&t)?)?.sum(axis, false)?;
    let denominator = intersection
        .add(&fp.mul(&scalar(alpha))?)?
        .add(&fn_.mul(&scalar(beta))?)?
        .add(&scalar(EPSILON))?;
    one.sub(&intersection.div(&denominator)?)
}

pub(super) fn check_tversky(alpha: f64, beta: f64) -> Result<()> {
    if !(alpha.is_finite() && beta.is_finite()) {
        bail!(
            InvalidArgument,
            "Tversky: expected finite alpha and beta, got alpha={alpha} and beta={beta}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    fn docs_inputs() -> (Tensor<f32>, Tensor<f32>) {
        // keras.losses.Dice docs: shape (2, 2, 2, 1).
        let t = Tensor::from_vec(vec![1., 1., 0., 0., 1., 1., 0., 0.], &[2, 2, 2, 1]).unwrap();
        let p = Tensor::from_vec(vec![0., 1., 0., 1., 0.4, 0., 0., 0.9], &[2, 2, 2, 1]).unwrap();
        (t, p)
    }

    #[test]
    fn keras_docstring_values() {
        let (t, p) = docs_inputs();
        let v = dice(&t, &p, Some(&[1, 2, 3])).unwrap().to_vec();
        assert!(
            (v[0] - 0.5).abs() < 1e-6 && (v[1] - 0.757_575_75).abs() < 1e-6,
            "{v:?}"
        );
        let all = dice(&t, &p, None).unwrap();
        assert_eq!(all.shape(), &[] as &[usize]);
        assert!((all.item().unwrap() - 0.616_438_4).abs() < 1e-6);
        // alpha = beta = 0.5 is Dice.
        let tv = tversky(&t, &p, 0.5, 0.5, Some(&[1, 2, 3]))
            .unwrap()
            .to_vec();
        assert!((tv[0] - v[0]).abs() < 1e-6 && (tv[1] - v[1]).abs() < 1e-6);
        assert!(tversky(&t, &p, f64::NAN, 0.5, None).is_err());
        assert!(dice(&t, &p, Some(&[4])).is_err());
    }

    #[test]
    fn nan_propagates() {
        let (t, mut p) = docs_inputs();
        let mut data = p.to_vec();
        data[0] = f32::NAN;
        p = Tensor::from_vec(data, p.shape()).unwrap();
        let v = dice(&t, &p, Some(&[1, 2, 3])).unwrap().to_vec();
        assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
        let v = tversky(&t, &p, 0.3, 0.7, Some(&[1, 2, 3]))
            .unwrap()
            .to_vec();
        assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
    }

    #[test]
    fn gradients() {
        let t = rand(&[3, 4], 1).map(|v| (v + 1.0) / 2.0).unwrap();
        let p = rand(&[3, 4], 2).map(|v| (v + 1.0) / 2.0).unwrap();
        for axis in [None, Some(&[1isize][..]), Some(&[0, 1][..])] {
            check_grad(&[t.clone(), p.clone()], |x| dice(&x[0], &x[1], axis));
            check_grad(&[t.clone(), p.clone()], |x| {
                tversky(&x[0], &x[1], 0.3, 0.7, axis)
            });
        }
    }
}
