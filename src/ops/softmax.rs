//! Softmax and log-softmax along an axis, stable for large inputs (the max is
//! subtracted first).

use crate::error::Result;
use crate::kernels::parallel;
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::shape::normalize_axis;
use crate::tensor::{Float, Tensor};

/// Writes `log_softmax` (if `log`) or `softmax` of `x` along `axis`.
fn softmax_data<T: Float>(x: &Tensor<T>, axis: usize, log: bool) -> Result<Vec<T>> {
    let shape = x.shape();
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let src = x.data();
    let mut out = alloc_for_overwrite::<T>(src.len())?;
    let block = (n * inner).max(1);
    parallel::for_each_rows(&mut out, block, |first, rows| {
        for (b, dst) in rows.chunks_mut(block).enumerate() {
            let src = &src[(first + b) * block..][..block];
            for i in 0..inner {
                let at = |k: usize| k * inner + i;
                let max = (0..n).map(|k| src[at(k)]).fold(T::neg_infinity(), T::max);
                let sum: T = (0..n).map(|k| (src[at(k)] - max).exp()).sum();
                let log_sum = sum.ln();
                for k in 0..n {
                    let shifted = src[at(k)] - max;
                    dst[at(k)] = if log {
                        shifted - log_sum
                    } else {
                        shifted.exp() / sum
                    };
                }
            }
        }
    });
    Ok(out)
}

impl<T: Float> Tensor<T> {
    /// `exp(x) / sum(exp(x))` along `axis` (negative counts from the end), computed
    /// stably.
    pub fn softmax(&self, axis: isize) -> Result<Tensor<T>> {
        let axis = normalize_axis(axis, self.rank(), "softmax")?;
        let data = softmax_data(self, axis, false)?;
        Ok(Tensor::from_op(
            data,
            self.shape().to_vec(),
            &[self],
            move |a| {
                // dx = y * (g - sum(g * y))
                let y = a.output;
                let dot = a.grad.mul(y)?.sum(Some(&[axis as isize]), true)?;
                Ok(vec![Some(a.grad.sub(&dot)?.mul(y)?)])
            },
        ))
    }

    /// `log(softmax(x))` along `axis` (negative counts from the end), computed stably.
    pub fn log_softmax(&self, axis: isize) -> Result<Tensor<T>> {
        let axis = normalize_axis(axis, self.rank(), "log_softmax")?;
        let data = softmax_data(self, axis, true)?;
        Ok(Tensor::from_op(
            data,
            self.shape().to_vec(),
            &[self],
            move |a| {
                // dx = g - softmax(x) * sum(g)
                let total = a.grad.sum(Some(&[axis as isize]), true)?;
                let probs = a.output.map(|v| v.exp())?;
                Ok(vec![Some(a.grad.sub(&probs.mul(&total)?)?)])
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn gradients_over_each_axis() {
        let x = rand(&[2, 3, 4], 4).map(|v| v * 3.0).unwrap();
        for axis in [0, 1, 2, -1] {
            check_grad(&[x.clone()], |t| t[0].softmax(axis));
            check_grad(&[x.clone()], |t| t[0].log_softmax(axis));
        }
    }

    #[test]
    fn stable_for_large_inputs() {
        let x = Tensor::<f32>::from_vec(vec![1000., 1001., -1000., 0.], &[2, 2]).unwrap();
        let s = x.softmax(-1).unwrap().to_vec();
        let e = 1.0 / (1.0 + std::f32::consts::E);
        assert!((s[0] - e).abs() < 1e-6 && (s[1] - (1. - e)).abs() < 1e-6);
        assert_eq!(s[2], 0.0);
        let l = x.log_softmax(-1).unwrap().to_vec();
        assert!((l[3] - 0.0).abs() < 1e-6 && (l[2] + 1000.0).abs() < 1e-3);
    }
}
