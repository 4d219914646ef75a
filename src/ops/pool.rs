//! Max and average pooling over one or two spatial axes, channels last, forward and
//! backward. The windows' geometry is convolution's ([`super::conv::Grid`]).
//!
//! Padding (Keras's `"same"`) takes no part: a padded position is never the maximum
//! and is not counted in an average, as in Keras.

use super::conv::{Grid, Padding};
use crate::bail;
use crate::error::Result;
use crate::kernels::parallel;
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::{Float, Tensor};

/// What a pooling window computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolMode {
    /// The largest value.
    Max,
    /// The mean of the values inside the input.
    Average,
}

impl<T: Float> Tensor<T> {
    /// Pools `x` (`(batch, [height,] width, channels)`) with windows of `pool_size`
    /// moved by `strides` (one per spatial axis); the result is `(batch, [out_height,]
    /// out_width, channels)`.
    pub fn pool(
        &self,
        mode: PoolMode,
        pool_size: &[usize],
        strides: &[usize],
        padding: Padding,
    ) -> Result<Tensor<T>> {
        if padding == Padding::Causal {
            bail!(
                InvalidArgument,
                "pool: `padding` must be \"valid\" or \"same\", got \"causal\""
            );
        }
        let ones = vec![1; pool_size.len()];
        let g = Grid::new(
            "pool",
            "pool_size",
            self.shape(),
            pool_size,
            strides,
            &ones,
            padding,
        )?;
        let c = g.c;
        let sample = g.h * g.w * c;
        let mut out = alloc_for_overwrite::<T>(g.pixels() * c)?;
        {
            let x = &self.data();
            parallel::for_each_rows(&mut out, c, |first, out| {
                parallel::vectorized(PoolForward {
                    mode,
                    g: &g,
                    x,
                    first,
                    out,
                })
            });
        }
        let shape = g.output_shape(self.rank(), c);
        Ok(Tensor::from_op(out, shape, &[self], move |a| {
            let x = &a.inputs[0];
            let (xd, yd, gd) = (x.data(), a.output.data(), a.grad.data());
            let mut dx = alloc_for_overwrite::<T>(x.numel())?;
            // Samples are independent: each one's scatter-add runs on one thread, in a
            // fixed order, into its image zeroed there (in parallel, and in cache).
            parallel::for_each_rows(&mut dx, sample, |first, chunk| {
                // The current window's gradient per channel: for max, what is not yet
                // routed; for average, its share per tap (reused for every window).
                let mut left = vec![T::zero(); c];
                for (i, dimage) in chunk.chunks_exact_mut(sample.max(1)).enumerate() {
                    dimage.fill(T::zero());
                    let n = first + i;
                    let image = &xd[n * sample..(n + 1) * sample];
                    for oy in 0..g.oh {
                        for ox in 0..g.ow {
                            let at = ((n * g.oh + oy) * g.ow + ox) * c;
                            let (y, grad) = (&yd[at..at + c], &gd[at..at + c]);
                            match mode {
                                // The gradient goes to the first position holding the
                                // maximum (as TensorFlow's and JAX's max pooling do).
                                PoolMode::Max => {
                                    left.copy_from_slice(grad);
                                    g.for_each_tap(oy, ox, |_, pixel| {
                                        let src = &image[pixel * c..(pixel + 1) * c];
                                        let dst = &mut dimage[pixel * c..(pixel + 1) * c];
                                        route_max(dst, &mut left, src, y);
                                    });
                                }
                                PoolMode::Average => {
                                    let mut count = 0usize;
                                    g.for_each_tap(oy, ox, |_, _| count += 1);
                                    let count = T::from_f64(count as f64);
                                    left.iter_mut().zip(grad).for_each(|(s, &g)| *s = g / count);
                                    g.for_each_tap(oy, ox, |_, pixel| {
                                        let dst = &mut dimage[pixel * c..(pixel + 1) * c];
                                        dst.iter_mut().zip(&left).for_each(|(d, &s)| *d += s);
                                    });
                                }
                            }
                        }
                    }
                }
            });
            Ok(vec![Some(Tensor::from_vec(dx, x.shape())?)])
        }))
    }
}

/// Pooling's forward for the output pixels from `first` on, into `out`: a
/// `pulp::WithSimd` op, so that its loops get the CPU's widest vectors (see
/// [`parallel::vectorized`]).
struct PoolForward<'a, T> {
    mode: PoolMode,
    g: &'a Grid,
    x: &'a [T],
    first: usize,
    out: &'a mut [T],
}

impl<T: Float> pulp::WithSimd for PoolForward<'_, T> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let PoolForward {
            mode,
            g,
            x,
            first,
            out,
        } = self;
        let c = g.c;
        let sample = g.h * g.w * c;
        for (acc, (n, oy, ox)) in out.chunks_exact_mut(c.max(1)).zip(g.pixels_from(first)) {
            let image = &x[n * sample..(n + 1) * sample];
            // One branch-free pass over the channels per tap.
            match mode {
                PoolMode::Max => {
                    acc.fill(T::neg_infinity());
                    g.for_each_tap(oy, ox, |_, pixel| {
                        max_into(acc, &image[pixel * c..(pixel + 1) * c])
                    })
                }
                PoolMode::Average => {
                    let mut count = 0usize;
                    acc.fill(T::zero());
                    g.for_each_tap(oy, ox, |_, pixel| {
                        count += 1;
                        let src = &image[pixel * c..(pixel + 1) * c];
                        acc.iter_mut().zip(src).for_each(|(a, &v)| *a += v)
                    });
                    let count = T::from_f64(count as f64);
                    acc.iter_mut().for_each(|a| *a = *a / count);
                }
            }
        }
    }
}

/// `acc = max(acc, src)` per element, where NaN wins as in `np.max` (a NaN in `acc`
/// stays); branch-free, so that it vectorizes.
#[inline(always)]
fn max_into<T: Float>(acc: &mut [T], src: &[T]) {
    for (a, &v) in acc.iter_mut().zip(src) {
        #[allow(clippy::eq_op)] // v != v: v is NaN
        let take = (v > *a) | (v != v);
        *a = if take { v } else { *a };
    }
}

/// Max pooling's backward at one tap: the gradient still `left` for each channel goes
/// to this tap where it holds the maximum `y`, and is then spent, so that it reaches
/// only the first such tap. Branch-free, so that it vectorizes.
#[inline(always)]
fn route_max<T: Float>(dst: &mut [T], left: &mut [T], src: &[T], y: &[T]) {
    for (((d, l), &v), &m) in dst.iter_mut().zip(left.iter_mut()).zip(src).zip(y) {
        let hit = v == m;
        *d += if hit { *l } else { T::zero() };
        *l = if hit { T::zero() } else { *l };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    #[test]
    fn values_by_hand() {
        // One 3x4 image, one channel: 2x2 windows with stride 2, valid and same.
        let x =
            Tensor::<f64>::from_vec((0..12).map(|v| v as f64).collect(), &[1, 3, 4, 1]).unwrap();
        let max = x
            .pool(PoolMode::Max, &[2, 2], &[2, 2], Padding::Valid)
            .unwrap();
        assert_eq!(max.shape(), &[1, 1, 2, 1]);
        assert_eq!(max.to_vec(), vec![5.0, 7.0]);
        let avg = x
            .pool(PoolMode::Average, &[2, 2], &[2, 2], Padding::Same)
            .unwrap();
        assert_eq!(avg.shape(), &[1, 2, 2, 1]);
        // The last row's windows hold 2 values (padding is not counted).
        assert_eq!(avg.to_vec(), vec![2.5, 4.5, 8.5, 10.5]);
        let one_d = Tensor::<f64>::from_vec(vec![1., 3., 2., 5., 4.], &[1, 5, 1]).unwrap();
        let m = one_d
            .pool(PoolMode::Max, &[2], &[1], Padding::Valid)
            .unwrap();
        assert_eq!(m.to_vec(), vec![3., 3., 5., 5.]);
    }

    #[test]
    fn gradients() {
        for mode in [PoolMode::Max, PoolMode::Average] {
            for (shape, size, strides, padding) in [
                (vec![2, 5, 4, 3], vec![2, 2], vec![2, 2], Padding::Valid),
                (vec![2, 5, 4, 3], vec![3, 2], vec![1, 1], Padding::Same),
                (vec![1, 5, 5, 2], vec![3, 3], vec![2, 2], Padding::Same),
                (vec![2, 7, 3], vec![3], vec![2], Padding::Valid),
                (vec![2, 7, 3], vec![2], vec![2], Padding::Same),
            ] {
                // Distinct values, so that each window's maximum is unique.
                let x = rand(&shape, 9);
                check_grad(&[x], |t| t[0].pool(mode, &size, &strides, padding));
            }
        }
    }

    #[test]
    fn bad_windows_are_refused() {
        let x = Tensor::<f32>::ones(&[1, 2, 2, 1]).unwrap();
        let err = x
            .pool(PoolMode::Max, &[3, 3], &[1, 1], Padding::Valid)
            .unwrap_err()
            .to_string();
        assert!(err.contains("pool_size"), "{err}");
        let err = x
            .pool(PoolMode::Max, &[0, 1], &[1, 1], Padding::Valid)
            .unwrap_err()
            .to_string();
        assert!(err.contains("pool_size"), "{err}");
        assert!(x
            .pool(PoolMode::Max, &[1, 1], &[0, 1], Padding::Valid)
            .is_err());
        assert!(Tensor::<f32>::ones(&[2, 2])
            .unwrap()
            .pool(PoolMode::Max, &[1], &[1], Padding::Valid)
            .is_err());
    }
}
