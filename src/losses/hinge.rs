//! Hinge losses: hinge, squared hinge and categorical hinge.

use super::{matched, mean_last, scalar};
use crate::error::{fmt_shape, Result};
use crate::tensor::{Float, Tensor};

/// Keras's `convert_binary_labels_to_hinge`: labels that are all 0 or 1 become -1 or 1
/// (`2y - 1`); any other labels (-1/1 already, or anything else) are left as they are.
fn hinge_labels<T: Float>(t: Tensor<T>) -> Result<Tensor<T>> {
    let binary = t.data().iter().all(|&v| v == T::zero() || v == T::one());
    if !binary {
        return Ok(t);
    }
    t.mul(&scalar(2.0))?.sub(&scalar(1.0))
}

/// `max(1 - y_true · y_pred, 0)` elementwise, with 0/1 labels converted to -1/1.
fn margins<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>, op: &str) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, op)?;
    let t = hinge_labels(t)?;
    // relu keeps NaN, as Keras's `maximum` does.
    scalar::<T>(1.0).sub(&t.mul(&p)?)?.relu()
}

/// `mean(max(1 - y_true · y_pred, 0), axis=-1)`, as `keras.losses.hinge`.
pub fn hinge<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    mean_last(&margins(y_true, y_pred, "hinge")?)
}

/// `mean(max(1 - y_true · y_pred, 0)², axis=-1)`, as `keras.losses.squared_hinge`.
pub fn squared_hinge<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    mean_last(&margins(y_true, y_pred, "squared_hinge")?.powf(2.0)?)
}

/// `max(neg - pos + 1, 0)` with `pos = sum(y_true · y_pred, axis=-1)` and
/// `neg = max((1 - y_true) · y_pred, axis=-1)`, as `keras.losses.categorical_hinge`.
pub fn categorical_hinge<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "categorical_hinge")?;
    if p.rank() == 0 || p.shape()[p.rank() - 1] == 0 {
        crate::bail!(
            Shape,
            "categorical_hinge: expected y_pred of shape (batch, classes) with at least one class, got shape {}",
            fmt_shape(p.shape())
        );
    }
    let pos = t.mul(&p)?.sum(Some(&[-1]), false)?;
    let neg = scalar::<T>(1.0).sub(&t)?.mul(&p)?.max(Some(&[-1]), false)?;
    neg.sub(&pos)?.add(&scalar(1.0))?.relu()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::testing::t32;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn keras_docstring_values() {
        // Labels 0/1 become -1/1.
        let t = t32(&[0., 1., 0., 0.], &[2, 2]);
        let p = t32(&[0.6, 0.4, 0.4, 0.6], &[2, 2]);
        // Row 0: max(1 - (-1)(0.6), 0) = 1.6, max(1 - 0.4, 0) = 0.6 -> 1.1.
        // Row 1: 1.4 and 1.6 -> 1.5.
        let v = hinge(&t, &p).unwrap().to_vec();
        assert!(
            (v[0] - 1.1).abs() < 1e-6 && (v[1] - 1.5).abs() < 1e-6,
            "{v:?}"
        );
        let v = squared_hinge(&t, &p).unwrap().to_vec();
        assert!(
            (v[0] - 1.46).abs() < 1e-6 && (v[1] - 2.26).abs() < 1e-6,
            "{v:?}"
        );
        // -1/1 labels are used as they are; mixed labels too.
        let signed = t32(&[-1., 1., -1., -1.], &[2, 2]);
        assert_eq!(
            hinge(&signed, &p).unwrap().to_vec(),
            hinge(&t, &p).unwrap().to_vec()
        );
        let mixed = t32(&[0., 2., 0., 0.], &[2, 2]);
        let v = hinge(&mixed, &p).unwrap().to_vec();
        assert!(
            (v[0] - 0.6).abs() < 1e-6 && (v[1] - 1.0).abs() < 1e-6,
            "{v:?}"
        );
        // categorical_hinge: pos = 0.4, neg = 0.6 -> 1.2; pos = 0, neg = 0.6 -> 1.6.
        let v = categorical_hinge(&t, &p).unwrap().to_vec();
        assert!(
            (v[0] - 1.2).abs() < 1e-6 && (v[1] - 1.6).abs() < 1e-6,
            "{v:?}"
        );
        assert!(categorical_hinge(&Tensor::scalar(1f32), &Tensor::scalar(1f32)).is_err());
    }

    #[test]
    fn nan_propagates() {
        let t = t32(&[0., 1., 0., 0.], &[2, 2]);
        let p = t32(&[f32::NAN, 0.4, 0.4, 0.6], &[2, 2]);
        for f in [hinge::<f32>, squared_hinge, categorical_hinge] {
            let v = f(&t, &p).unwrap().to_vec();
            assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
        }
    }

    #[test]
    fn gradients() {
        let labels = rand(&[3, 4], 1)
            .map(|v| if v > 0.0 { 1.0 } else { 0.0 })
            .unwrap();
        let signed = rand(&[3, 4], 2)
            .map(|v| if v > 0.0 { 1.0 } else { -1.0 })
            .unwrap();
        // Predictions away from the hinge's kink at y·p = 1.
        let p = rand(&[3, 4], 3).map(|v| v * 0.8).unwrap();
        for t in [&labels, &signed] {
            check_grad(&[p.clone()], |x| hinge(t, &x[0]));
            check_grad(&[p.clone()], |x| squared_hinge(t, &x[0]));
        }
        let one_hot = Tensor::<f64>::from_vec(
            vec![0., 1., 0., 0., 1., 0., 0., 0., 0., 0., 0., 1.],
            &[3, 4],
        )
        .unwrap();
        check_grad(&[one_hot, p.clone()], |x| categorical_hinge(&x[0], &x[1]));
        check_grad(&[rand(&[3, 4], 5), p], |x| categorical_hinge(&x[0], &x[1]));
    }
}
