//! Ops that losses are built from: clipping, the stable logistic cross-entropy and
//! picking one entry per row of the last axis (sparse labels).

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::pool::alloc;
use crate::tensor::{Float, Tensor};

use super::unary::sigmoid;

impl<T: Float> Tensor<T> {
    /// `min(max(x, lo), hi)`, keeping NaN as NaN (as `jnp.clip` and Keras's `ops.clip`;
    /// `f32::max` would turn it into `lo`). The gradient passes where `lo <= x <= hi`
    /// (bounds included) and is 0 outside and at NaN, as in JAX.
    pub fn clip(&self, lo: f64, hi: f64) -> Result<Tensor<T>> {
        if lo.is_nan() || hi.is_nan() || lo > hi {
            bail!(
                InvalidArgument,
                "clip: expected lo <= hi, got lo={lo} and hi={hi}"
            );
        }
        let (l, h) = (T::from_f64(lo), T::from_f64(hi));
        let y = super::map_data(&self.data(), move |x| {
            if x < l {
                l
            } else if x > h {
                h
            } else {
                x
            }
        })?;
        Ok(Tensor::from_op(
            y,
            self.shape().to_vec(),
            &[self],
            move |a| {
                let g =
                    a.grad.zip_map(
                        &a.inputs[0],
                        move |g, x| {
                            if x >= l && x <= h {
                                g
                            } else {
                                T::zero()
                            }
                        },
                    )?;
                Ok(vec![Some(g)])
            },
        ))
    }

    /// Binary cross-entropy of `labels` (z) given logits (self, x), elementwise, in the
    /// overflow-free form `max(x, 0) - x·z + log(1 + exp(-|x|))`. Gradients:
    /// `sigmoid(x) - z` for the logits and `-x` for the labels. Shapes must match.
    pub fn sigmoid_cross_entropy_with_logits(&self, labels: &Tensor<T>) -> Result<Tensor<T>> {
        if self.shape() != labels.shape() {
            bail!(
                Shape,
                "sigmoid_cross_entropy_with_logits: logits of shape {} and labels of shape {} differ",
                fmt_shape(self.shape()),
                fmt_shape(labels.shape())
            );
        }
        let out = self.zip_map(labels, |x, z| {
            x.max(T::zero()) - x * z + (-x.abs()).exp().ln_1p()
        })?;
        Ok(Tensor::from_op(
            out.to_vec(),
            self.shape().to_vec(),
            &[self, labels],
            |a| {
                let [x, z] = [&a.inputs[0], &a.inputs[1]];
                let dx = x
                    .zip_map(z, |x, z| sigmoid(x) - z)?
                    .zip_map(a.grad, |d, g| d * g)?;
                let dz = x.zip_map(a.grad, |x, g| -x * g)?;
                Ok(vec![Some(dx), Some(dz)])
            },
        ))
    }

    /// `out[r] = self[r, index[r]]` over the last axis (`self` of shape `(..., n)`, the
    /// result of shape `(...)`); a `None` index gives 0 with no gradient.
    pub fn take_last(&self, index: &[Option<usize>]) -> Result<Tensor<T>> {
        let Some((&n, lead)) = self.shape().split_last() else {
            bail!(
                Shape,
                "take_last: expected a tensor of rank >= 1, got shape {}",
                fmt_shape(self.shape())
            );
        };
        let rows: usize = lead.iter().product();
        if index.len() != rows {
            bail!(
                Shape,
                "take_last: expected {rows} indices for a tensor of shape {}, got {}",
                fmt_shape(self.shape()),
                index.len()
            );
        }
        if let Some((r, i)) = index
            .iter()
            .enumerate()
            .find_map(|(r, i)| i.filter(|&i| i >= n).map(|i| (r, i)))
        {
            bail!(
                OutOfBounds,
                "take_last: index {i} at row {r} is out of bounds for an axis of size {n}"
            );
        }
        let mut out = alloc::<T>(rows)?;
        {
            let x = self.data();
            for (r, (o, i)) in out.iter_mut().zip(index).enumerate() {
                if let Some(i) = i {
                    *o = x[r * n + i];
                }
            }
        }
        let index = index.to_vec();
        Ok(Tensor::from_op(out, lead.to_vec(), &[self], move |a| {
            let x = &a.inputs[0];
            let mut g = alloc::<T>(x.numel())?;
            let n = x.shape()[x.rank() - 1];
            for (r, (gr, i)) in a.grad.data().iter().zip(&index).enumerate() {
                if let Some(i) = i {
                    g[r * n + i] = *gr;
                }
            }
            Ok(vec![Some(Tensor::from_vec(g, x.shape())?)])
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn clip_values_and_gradient() {
        let x = Tensor::<f64>::variable(vec![-1., 0.2, 0.5, 2.], &[4]).unwrap();
        let y = x.clip(0.2, 1.0).unwrap();
        assert_eq!(y.to_vec(), vec![0.2, 0.2, 0.5, 1.0]);
        let g = crate::grad(&y.sum(None, false).unwrap(), &[x.clone()]).unwrap();
        // The bound itself (0.2) passes the gradient.
        assert_eq!(g[0].to_vec(), vec![0., 1., 1., 0.]);
        assert!(x.clip(1.0, 0.0).is_err());
        // NaN stays NaN (f32::max would give the lower bound) and passes no gradient,
        // as jnp.clip.
        let with_nan = Tensor::<f64>::variable(vec![f64::NAN, 0.5], &[2]).unwrap();
        let y = with_nan.clip(1e-7, 1.0 - 1e-7).unwrap();
        assert!(y.to_vec()[0].is_nan());
        assert_eq!(y.to_vec()[1], 0.5);
        let g = crate::grad(
            &y.mul(&Tensor::scalar(2.0))
                .unwrap()
                .sum(None, false)
                .unwrap(),
            &[with_nan],
        )
        .unwrap();
        assert_eq!(g[0].to_vec(), vec![0., 2.]);
        // An infinite bound clips on one side only.
        let y = x.clip(0.2, f64::INFINITY).unwrap();
        assert_eq!(y.to_vec(), vec![0.2, 0.2, 0.5, 2.]);
        let away = rand(&[3, 4], 7)
            .map(|v| if (v.abs() - 0.5).abs() < 0.05 { 0.1 } else { v })
            .unwrap();
        check_grad(&[away], |t| t[0].clip(-0.5, 0.5));
    }

    #[test]
    fn logistic_cross_entropy_is_stable_and_differentiable() {
        let x = Tensor::<f32>::from_vec(vec![1000., -1000., 0.], &[3]).unwrap();
        let z = Tensor::<f32>::from_vec(vec![0., 1., 1.], &[3]).unwrap();
        let v = x.sigmoid_cross_entropy_with_logits(&z).unwrap().to_vec();
        assert_eq!(v[0], 1000.0);
        assert_eq!(v[1], 1000.0);
        assert!((v[2] - std::f32::consts::LN_2).abs() < 1e-6);
        let logits = rand(&[3, 4], 1).map(|v| v * 4.0).unwrap();
        let labels = rand(&[3, 4], 2).map(|v| (v + 1.0) / 2.0).unwrap();
        check_grad(&[logits, labels], |t| {
            t[0].sigmoid_cross_entropy_with_logits(&t[1])
        });
        // Exactly at 0 the gradient is sigmoid(0) - z.
        let x0 = Tensor::<f64>::variable(vec![0.0], &[1]).unwrap();
        let z0 = Tensor::<f64>::from_vec(vec![1.0], &[1]).unwrap();
        let l = x0.sigmoid_cross_entropy_with_logits(&z0).unwrap();
        let g = crate::grad(&l.sum(None, false).unwrap(), &[x0]).unwrap();
        assert_eq!(g[0].to_vec(), vec![-0.5]);
    }

    #[test]
    fn take_last_picks_and_scatters() {
        let x = Tensor::<f32>::from_vec(vec![1., 2., 3., 4., 5., 6.], &[2, 3]).unwrap();
        assert_eq!(
            x.take_last(&[Some(2), None]).unwrap().to_vec(),
            vec![3., 0.]
        );
        assert!(x.take_last(&[Some(3), None]).is_err());
        assert!(x.take_last(&[Some(0)]).is_err());
        check_grad(&[rand(&[2, 3, 4], 3)], |t| {
            t[0].take_last(&[Some(0), Some(3), None, Some(1), Some(2), Some(2)])
        });
    }
}
