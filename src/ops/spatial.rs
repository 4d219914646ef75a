//! Ops of the padding and up-sampling layers: zero padding around each axis, and
//! nearest-neighbour repetition along one axis (`np.repeat`). Both move whole rows (runs
//! along the last axis), so channels-last data is copied a pixel's channels at a time.
//! Cropping needs no op of its own: it is a slice ([`Tensor::index`]).

use super::reduce::reduce_axis;
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::parallel;
use crate::kernels::pool::{alloc, alloc_for_overwrite};
use crate::tensor::shape::checked_numel;
use crate::tensor::{Float, Tensor};

/// Where row `row` (a run along the last axis) of a tensor of shape `from` starts in a
/// tensor of shape `to`, when index `i` of each other axis `d` of `from` is index
/// `i + shift[d]` of `to`; None when that falls outside `to`. The last axis is not
/// shifted: the result is the start of `to`'s row.
fn moved_row_start(row: usize, from: &[usize], to: &[usize], shift: &[isize]) -> Option<usize> {
    let last = from.len() - 1;
    let (mut rest, mut start, mut stride) = (row, 0isize, to[last] as isize);
    for d in (0..last).rev() {
        let i = (rest % from[d]) as isize + shift[d];
        rest /= from[d];
        if i < 0 || i >= to[d] as isize {
            return None;
        }
        start += i * stride;
        stride *= to[d] as isize;
    }
    Some(start as usize)
}

/// Copies the tensor of shape `small` into (or out of) the window of a tensor of shape
/// `big` that starts at `before` on each axis: `into_big` pads, otherwise it crops.
fn copy_window<T: Float>(
    src: &[T],
    small: &[usize],
    big: &[usize],
    before: &[usize],
    into_big: bool,
) -> Result<Vec<T>> {
    let (dst_shape, src_shape) = if into_big { (big, small) } else { (small, big) };
    let n = checked_numel(dst_shape, std::mem::size_of::<T>())?;
    // Padding leaves zeros outside the window; cropping overwrites every element.
    let mut out = if into_big {
        alloc::<T>(n)?
    } else {
        alloc_for_overwrite::<T>(n)?
    };
    let last = small.len() - 1;
    let (row_len, src_row_len) = (dst_shape[last], src_shape[last]);
    if n == 0 || small[last] == 0 {
        return Ok(out);
    }
    let sign = if into_big { -1 } else { 1 };
    let shift: Vec<isize> = before.iter().map(|&b| sign * b as isize).collect();
    let (offset, width) = (before[last], small[last]);
    parallel::for_each_rows(&mut out, row_len, |first, rows| {
        for (r, dst) in rows.chunks_mut(row_len).enumerate() {
            let Some(s) = moved_row_start(first + r, dst_shape, src_shape, &shift) else {
                continue; // a padding row: stays zero
            };
            let src_row = &src[s..s + src_row_len];
            if into_big {
                dst[offset..offset + width].copy_from_slice(src_row);
            } else {
                dst.copy_from_slice(&src_row[offset..offset + width]);
            }
        }
    });
    Ok(out)
}

impl<T: Float> Tensor<T> {
    /// The tensor with `pads[d].0` zeros before and `pads[d].1` zeros after it along each
    /// axis `d`, as `np.pad(x, pads)`; its gradient is the gradient's inner window.
    pub fn zero_pad(&self, pads: &[(usize, usize)]) -> Result<Tensor<T>> {
        if pads.len() != self.rank() || self.rank() == 0 {
            bail!(
                Shape,
                "zero_pad: expected one (before, after) pair per axis of a tensor of shape {}, got {} pairs",
                fmt_shape(self.shape()),
                pads.len()
            );
        }
        let mut big = Vec::with_capacity(pads.len());
        for (&d, &(a, b)) in self.shape().iter().zip(pads) {
            match d.checked_add(a).and_then(|v| v.checked_add(b)) {
                Some(v) => big.push(v),
                None => bail!(
                    Shape,
                    "zero_pad: padding {a} + {b} around an axis of size {d} overflows"
                ),
            }
        }
        let before: Vec<usize> = pads.iter().map(|p| p.0).collect();
        let small = self.shape().to_vec();
        let data = copy_window(&self.data(), &small, &big, &before, true)?;
        Ok(Tensor::from_op(data, big.clone(), &[self], move |a| {
            let g = copy_window(&a.grad.data(), &small, &big, &before, false)?;
            Ok(vec![Some(Tensor::from_vec(g, &small)?)])
        }))
    }

    /// Each element repeated `times` times along `axis` (adjacent copies), as
    /// `np.repeat(x, times, axis)`; its gradient sums the copies.
    pub fn repeat_along(&self, times: usize, axis: usize) -> Result<Tensor<T>> {
        if axis >= self.rank() || times == 0 {
            bail!(
                InvalidArgument,
                "repeat_along: expected an axis below the rank {} and times >= 1, got axis {axis} and times {times}",
                self.rank()
            );
        }
        let shape = self.shape().to_vec();
        let n = shape[axis];
        let inner: usize = shape[axis + 1..].iter().product();
        let mut out_shape = shape.clone();
        out_shape[axis] = n.saturating_mul(times);
        let total = checked_numel(&out_shape, std::mem::size_of::<T>())?;
        let mut out = alloc_for_overwrite::<T>(total)?;
        if total > 0 && inner > 0 {
            let src = self.data();
            // Output row r (of `inner` elements) copies input row r / times.
            parallel::for_each_rows(&mut out, inner, |first, rows| {
                for (r, dst) in rows.chunks_mut(inner).enumerate() {
                    let s = (first + r) / times;
                    dst.copy_from_slice(&src[s * inner..(s + 1) * inner]);
                }
            });
        }
        Ok(Tensor::from_op(out, out_shape, &[self], move |a| {
            // Input row r sums output rows r·times .. r·times + times - 1, in order.
            let rows = a.inputs[0].numel() / inner.max(1);
            let gx = reduce_axis(
                &a.grad.data(),
                &[rows, times, inner],
                1,
                T::zero(),
                |s, v| s + v,
            )?;
            Ok(vec![Some(Tensor::from_vec(gx, a.inputs[0].shape())?)])
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn zero_pad_matches_numpy_pad() {
        let x = Tensor::<f32>::arange(6)
            .unwrap()
            .reshape(&[1, 2, 3])
            .unwrap();
        let y = x.zero_pad(&[(0, 0), (1, 2), (0, 1)]).unwrap();
        assert_eq!(y.shape(), &[1, 5, 4]);
        // np.pad(np.arange(6).reshape(1, 2, 3), ((0, 0), (1, 2), (0, 1)))
        #[rustfmt::skip]
        let expected = vec![
            0., 0., 0., 0.,
            0., 1., 2., 0.,
            3., 4., 5., 0.,
            0., 0., 0., 0.,
            0., 0., 0., 0.,
        ];
        assert_eq!(y.to_vec(), expected);
        let left = x.zero_pad(&[(0, 0), (0, 0), (2, 0)]).unwrap();
        assert_eq!(left.to_vec(), vec![0., 0., 0., 1., 2., 0., 0., 3., 4., 5.]);
        assert_eq!(x.zero_pad(&[(0, 0); 3]).unwrap().to_vec(), x.to_vec());
        assert!(x.zero_pad(&[(1, 1)]).is_err());
        let empty = Tensor::<f32>::zeros(&[2, 0, 3]).unwrap();
        assert_eq!(
            empty.zero_pad(&[(0, 0), (1, 1), (0, 0)]).unwrap().to_vec(),
            vec![0.0; 12]
        );
    }

    #[test]
    fn repeat_along_matches_numpy_repeat() {
        let x = Tensor::<f32>::arange(6).unwrap().reshape(&[2, 3]).unwrap();
        assert_eq!(
            x.repeat_along(2, 0).unwrap().to_vec(),
            vec![0., 1., 2., 0., 1., 2., 3., 4., 5., 3., 4., 5.]
        );
        let y = x.repeat_along(2, 1).unwrap();
        assert_eq!(y.shape(), &[2, 6]);
        assert_eq!(
            y.to_vec(),
            vec![0., 0., 1., 1., 2., 2., 3., 3., 4., 4., 5., 5.]
        );
        assert!(x.repeat_along(0, 1).is_err());
        assert!(x.repeat_along(2, 2).is_err());
    }

    #[test]
    fn gradients() {
        let x = rand(&[2, 3, 4, 2], 21);
        check_grad(&[x.clone()], |t| {
            t[0].zero_pad(&[(0, 0), (1, 2), (0, 1), (0, 0)])
        });
        check_grad(&[x.clone()], |t| {
            t[0].zero_pad(&[(1, 0), (0, 0), (2, 2), (1, 1)])
        });
        for axis in 0..4 {
            check_grad(&[x.clone()], |t| t[0].repeat_along(3, axis));
        }
        check_grad(&[x], |t| t[0].repeat_along(2, 1)?.repeat_along(3, 2));
    }
}
