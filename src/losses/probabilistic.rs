//! Probabilistic losses besides the cross-entropies: Kullback-Leibler divergence and
//! Poisson.

use super::{matched, mean_last, scalar, sum_over, EPSILON};
use crate::error::Result;
use crate::tensor::{Float, Tensor};

/// `sum(t · log(t / p), axis=-1)` with `t` and `p` clipped to `[EPSILON, 1]`, as
/// `keras.losses.kl_divergence`.
pub fn kl_divergence<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "kl_divergence")?;
    let t = t.clip(EPSILON, 1.0)?;
    let p = p.clip(EPSILON, 1.0)?;
    sum_over(&t.mul(&t.div(&p)?.log()?)?, -1)
}

/// `mean(p - t · log(p + EPSILON), axis=-1)`, as `keras.losses.poisson`.
pub fn poisson<T: Float>(y_true: &Tensor<T>, y_pred: &Tensor<T>) -> Result<Tensor<T>> {
    let (t, p) = matched(y_true, y_pred, "poisson")?;
    let log_p = p.add(&scalar(EPSILON))?.log()?;
    mean_last(&p.sub(&t.mul(&log_p)?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::losses::testing::t32;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn formulas() {
        let t = t32(&[0., 1., 0.5, 0.5], &[2, 2]);
        let p = t32(&[0.4, 0.6, 0.2, 0.8], &[2, 2]);
        let kl = kl_divergence(&t, &p).unwrap().to_vec();
        // Row 0: the 0 label is clipped to 1e-7: 1e-7·log(1e-7/0.4) + log(1/0.6).
        let row0 = 1e-7f64 * (1e-7f64 / 0.4).ln() + (1.0f64 / 0.6).ln();
        let row1 = 0.5 * (0.5f64 / 0.2).ln() + 0.5 * (0.5f64 / 0.8).ln();
        assert!((kl[0] as f64 - row0).abs() < 1e-6, "{kl:?}");
        assert!((kl[1] as f64 - row1).abs() < 1e-6, "{kl:?}");
        let po = poisson(&t, &p).unwrap().to_vec();
        let row0 = (0.4 + (0.6 - (0.6f64 + 1e-7).ln())) / 2.0;
        assert!((po[0] as f64 - row0).abs() < 1e-6, "{po:?}");
    }

    #[test]
    fn nan_propagates() {
        let t = t32(&[0., 1., 0.5, 0.5], &[2, 2]);
        let p = t32(&[f32::NAN, 0.6, 0.2, 0.8], &[2, 2]);
        for f in [kl_divergence::<f32>, poisson] {
            let v = f(&t, &p).unwrap().to_vec();
            assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
            let v = f(&p, &t).unwrap().to_vec();
            assert!(v[0].is_nan() && v[1].is_finite(), "{v:?}");
        }
    }

    #[test]
    fn gradients() {
        // Inside (0, 1), away from the clip bounds.
        let t = rand(&[3, 4], 1).map(|v| (v + 1.0) * 0.45 + 0.05).unwrap();
        let p = rand(&[3, 4], 2).map(|v| (v + 1.0) * 0.45 + 0.05).unwrap();
        check_grad(&[t.clone(), p.clone()], |x| kl_divergence(&x[0], &x[1]));
        check_grad(&[t.clone(), p.clone()], |x| poisson(&x[0], &x[1]));
        // Counts above 1 for Poisson.
        let counts = rand(&[3, 4], 3).map(|v| (v + 1.0) * 3.0).unwrap();
        let rate = rand(&[3, 4], 4).map(|v| v + 2.0).unwrap();
        check_grad(&[counts, rate], |x| poisson(&x[0], &x[1]));
    }
}
