//! Ops that move elements without arithmetic: reshape, transpose, broadcast, indexing,
//! slicing and concatenation. Most are a gather through a strided [`View`], and their
//! backward is the matching scatter-add.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::parallel;
use crate::kernels::pool::{alloc, alloc_for_overwrite};
use crate::tensor::shape::{
    broadcast_shapes, broadcast_strides, checked_numel, normalize_axis, strides,
};
use crate::tensor::{Float, Tensor};

/// Where each element of a result comes from: `offset + sum(index[d] * strides[d])`.
#[derive(Clone, Debug)]
struct View {
    offset: isize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

impl View {
    /// Calls `f(position in view, position in source)` for every element, row by row.
    fn for_each_row(
        &self,
        first_row: usize,
        rows: usize,
        mut f: impl FnMut(usize, isize, isize, usize),
    ) {
        let rank = self.shape.len();
        let inner = if rank == 0 { 1 } else { self.shape[rank - 1] };
        let inner_stride = if rank == 0 { 0 } else { self.strides[rank - 1] };
        for row in first_row..first_row + rows {
            let (mut r, mut src) = (row, self.offset);
            for d in (0..rank.saturating_sub(1)).rev() {
                src += (r % self.shape[d]) as isize * self.strides[d];
                r /= self.shape[d];
            }
            f(row * inner, src, inner_stride, inner);
        }
    }

    fn gather<T: Float>(&self, src: &[T]) -> Result<Vec<T>> {
        let n = checked_numel(&self.shape, std::mem::size_of::<T>())?;
        let mut out = alloc_for_overwrite::<T>(n)?;
        let inner = self.shape.last().copied().unwrap_or(1).max(1);
        parallel::for_each_rows(&mut out, inner, |first, rows| {
            let base = first * inner;
            self.for_each_row(first, rows.len() / inner, |dst, s, step, len| {
                let out = &mut rows[dst - base..dst - base + len];
                // Contiguous rows and broadcast values (a stride of 0: the gradient of
                // a sum) are the common cases: a copy and a fill.
                match step {
                    1 => out.copy_from_slice(&src[s as usize..s as usize + len]),
                    0 => out.fill(src[s as usize]),
                    _ => {
                        for (j, o) in out.iter_mut().enumerate() {
                            *o = src[(s + j as isize * step) as usize];
                        }
                    }
                }
            });
        });
        Ok(out)
    }

    /// Adds `values` (laid out as the view) into `dst` at the viewed positions.
    fn scatter_add<T: Float>(&self, dst: &mut [T], values: &[T]) {
        let inner = self.shape.last().copied().unwrap_or(1).max(1);
        self.for_each_row(0, values.len() / inner, |d, s, step, len| {
            let values = &values[d..d + len];
            if step == 1 {
                let dst = &mut dst[s as usize..s as usize + len];
                dst.iter_mut().zip(values).for_each(|(o, &v)| *o += v);
                return;
            }
            for (j, &v) in values.iter().enumerate() {
                dst[(s + j as isize * step) as usize] += v;
            }
        });
    }
}

/// The result of gathering `x` through `view`; its gradient is scattered back.
fn strided<T: Float>(x: &Tensor<T>, view: View) -> Result<Tensor<T>> {
    let data = view.gather(&x.data())?;
    let shape = view.shape.clone();
    Ok(Tensor::from_op(data, shape, &[x], move |a| {
        let mut g = alloc::<T>(a.inputs[0].numel())?;
        view.scatter_add(&mut g, &a.grad.data());
        Ok(vec![Some(Tensor::from_vec(g, a.inputs[0].shape())?)])
    }))
}

/// One entry of an index expression, as in NumPy's basic indexing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum IndexItem {
    /// Picks one position and drops the axis; negative counts from the end.
    Int(isize),
    /// `start:stop:step`; `None` takes the default for the step's direction.
    Slice {
        /// The first position (default: the start for the step's direction).
        start: Option<isize>,
        /// The position to stop before (default: past the end for the step's direction).
        stop: Option<isize>,
        /// The stride; not 0, negative walks backwards.
        step: isize,
    },
    /// `...`: as many full slices as needed.
    Ellipsis,
    /// `None`: a new axis of size 1.
    NewAxis,
}

/// NumPy's `slice.indices`: first position and count of a slice over `len` elements.
fn resolve_slice(
    start: Option<isize>,
    stop: Option<isize>,
    step: isize,
    len: usize,
) -> Result<(isize, usize)> {
    if step == 0 {
        bail!(InvalidArgument, "index: slice step cannot be zero");
    }
    let len = len as isize;
    let clamp = |v: isize, lo: isize, hi: isize| v.max(lo).min(hi);
    let fix = |v: isize| if v < 0 { v + len } else { v };
    let (start, stop) = if step > 0 {
        (
            start.map_or(0, |s| clamp(fix(s), 0, len)),
            stop.map_or(len, |s| clamp(fix(s), 0, len)),
        )
    } else {
        (
            start.map_or(len - 1, |s| clamp(fix(s), -1, len - 1)),
            stop.map_or(-1, |s| clamp(fix(s), -1, len - 1)),
        )
    };
    let count = if step > 0 {
        (stop - start + step - 1) / step
    } else {
        (start - stop - step - 1) / -step
    };
    Ok((start, count.max(0) as usize))
}

impl<T: Float> Tensor<T> {
    /// The same elements in a new shape with the same element count.
    pub fn reshape(&self, shape: &[usize]) -> Result<Tensor<T>> {
        if shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) != Some(self.numel()) {
            bail!(
                Shape,
                "reshape: cannot reshape a tensor of shape {} ({} elements) into shape {}",
                fmt_shape(self.shape()),
                self.numel(),
                fmt_shape(shape)
            );
        }
        Ok(Tensor::from_op(
            self.to_vec(),
            shape.to_vec(),
            &[self],
            |a| Ok(vec![Some(a.grad.reshape(a.inputs[0].shape())?)]),
        ))
    }

    /// Repeats the tensor along new leading axes and axes of size 1, as `np.broadcast_to`.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor<T>> {
        if broadcast_shapes(self.shape(), shape, "broadcast_to")? != shape {
            bail!(
                Shape,
                "broadcast_to: cannot broadcast a tensor of shape {} to shape {}",
                fmt_shape(self.shape()),
                fmt_shape(shape)
            );
        }
        if self.shape() == shape {
            return Ok(self.clone());
        }
        let view = View {
            offset: 0,
            shape: shape.to_vec(),
            strides: broadcast_strides(self.shape(), shape),
        };
        let data = view.gather(&self.data())?;
        Ok(Tensor::from_op(data, shape.to_vec(), &[self], |a| {
            Ok(vec![Some(a.grad.sum_to_shape(a.inputs[0].shape())?)])
        }))
    }

    /// Permutes the axes; `None` reverses them, as `np.transpose`.
    pub fn permute(&self, axes: Option<&[isize]>) -> Result<Tensor<T>> {
        let rank = self.rank();
        let perm: Vec<usize> = match axes {
            None => (0..rank).rev().collect(),
            Some(axes) => {
                let perm = axes
                    .iter()
                    .map(|&a| normalize_axis(a, rank, "transpose"))
                    .collect::<Result<Vec<_>>>()?;
                let mut sorted = perm.clone();
                sorted.sort_unstable();
                if sorted != (0..rank).collect::<Vec<_>>() {
                    bail!(
                        Shape,
                        "transpose: axes {} are not a permutation of the {rank} axes of a tensor of shape {}",
                        fmt_shape(axes),
                        fmt_shape(self.shape())
                    );
                }
                perm
            }
        };
        let own = strides(self.shape());
        strided(
            self,
            View {
                offset: 0,
                shape: perm.iter().map(|&p| self.shape()[p]).collect(),
                strides: perm.iter().map(|&p| own[p] as isize).collect(),
            },
        )
    }

    /// Swaps the last two axes (the matrix transpose of each batch entry).
    pub fn t(&self) -> Result<Tensor<T>> {
        let r = self.rank() as isize;
        if r < 2 {
            return self.permute(None);
        }
        let mut axes: Vec<isize> = (0..r).collect();
        axes.swap((r - 2) as usize, (r - 1) as usize);
        self.permute(Some(&axes))
    }

    /// NumPy basic indexing: ints, slices, `...` and new axes.
    pub fn index(&self, items: &[IndexItem]) -> Result<Tensor<T>> {
        let consumed = items
            .iter()
            .filter(|i| matches!(i, IndexItem::Int(_) | IndexItem::Slice { .. }))
            .count();
        let ellipses = items
            .iter()
            .filter(|i| matches!(i, IndexItem::Ellipsis))
            .count();
        if ellipses > 1 {
            bail!(
                InvalidArgument,
                "index: an index can only have a single ellipsis ('...')"
            );
        }
        if consumed > self.rank() {
            bail!(
                OutOfBounds,
                "index: too many indices for a tensor of shape {}: it is {}-dimensional, but {consumed} were indexed",
                fmt_shape(self.shape()),
                self.rank()
            );
        }
        let own = strides(self.shape());
        let mut view = View {
            offset: 0,
            shape: vec![],
            strides: vec![],
        };
        let mut axis = 0;
        let full = IndexItem::Slice {
            start: None,
            stop: None,
            step: 1,
        };
        let fill = std::iter::repeat_n(full, self.rank() - consumed);
        let expanded: Vec<IndexItem> = if ellipses == 1 {
            items
                .iter()
                .flat_map(|&i| {
                    if i == IndexItem::Ellipsis {
                        fill.clone().collect()
                    } else {
                        vec![i]
                    }
                })
                .collect()
        } else {
            items.iter().copied().chain(fill).collect()
        };
        for item in expanded {
            match item {
                IndexItem::Int(i) => {
                    let len = self.shape()[axis] as isize;
                    let pos = if i < 0 { i + len } else { i };
                    if pos < 0 || pos >= len {
                        bail!(
                            OutOfBounds,
                            "index: index {i} is out of bounds for axis {axis} with size {len}"
                        );
                    }
                    view.offset += pos * own[axis] as isize;
                    axis += 1;
                }
                IndexItem::Slice { start, stop, step } => {
                    let (first, count) = resolve_slice(start, stop, step, self.shape()[axis])?;
                    if count > 0 {
                        view.offset += first * own[axis] as isize;
                    }
                    view.shape.push(count);
                    view.strides.push(step * own[axis] as isize);
                    axis += 1;
                }
                IndexItem::NewAxis => {
                    view.shape.push(1);
                    view.strides.push(0);
                }
                IndexItem::Ellipsis => unreachable!("expanded above"),
            }
        }
        strided(self, view)
    }

    /// `len` positions of `axis` starting at `start`.
    pub fn narrow(&self, axis: usize, start: usize, len: usize) -> Result<Tensor<T>> {
        let mut items = vec![
            IndexItem::Slice {
                start: None,
                stop: None,
                step: 1
            };
            axis
        ];
        items.push(IndexItem::Slice {
            start: Some(start as isize),
            stop: Some((start + len) as isize),
            step: 1,
        });
        self.index(&items)
    }

    /// Joins tensors along an existing axis, as `np.concatenate`.
    pub fn concatenate(tensors: &[Tensor<T>], axis: isize) -> Result<Tensor<T>> {
        let Some(first) = tensors.first() else {
            bail!(
                InvalidArgument,
                "concatenate: need at least one tensor, got none"
            );
        };
        let axis = normalize_axis(axis, first.rank(), "concatenate")?;
        for (i, t) in tensors.iter().enumerate() {
            let same = t.rank() == first.rank()
                && (0..t.rank()).all(|d| d == axis || t.shape()[d] == first.shape()[d]);
            if !same {
                bail!(
                    Shape,
                    "concatenate: all tensors must have the same shape except along axis {axis}; tensor 0 has shape {} but tensor {i} has shape {}",
                    fmt_shape(first.shape()),
                    fmt_shape(t.shape())
                );
            }
        }
        let mut shape = first.shape().to_vec();
        shape[axis] = tensors.iter().map(|t| t.shape()[axis]).sum();
        let inner: usize = shape[axis + 1..].iter().product();
        let outer: usize = shape[..axis].iter().product();
        let mut data = alloc_for_overwrite::<T>(checked_numel(&shape, std::mem::size_of::<T>())?)?;
        let mut at = 0;
        for o in 0..outer {
            for t in tensors {
                let block = t.shape()[axis] * inner;
                data[at..at + block].copy_from_slice(&t.data()[o * block..(o + 1) * block]);
                at += block;
            }
        }
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[axis]).collect();
        let inputs: Vec<&Tensor<T>> = tensors.iter().collect();
        Ok(Tensor::from_op(data, shape, &inputs, move |a| {
            let mut start = 0;
            sizes
                .iter()
                .map(|&len| {
                    let part = a.grad.narrow(axis, start, len);
                    start += len;
                    part.map(Some)
                })
                .collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::IndexItem::{self, *};
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    fn s(start: Option<isize>, stop: Option<isize>, step: isize) -> IndexItem {
        Slice { start, stop, step }
    }

    #[test]
    fn gradients() {
        let x = rand(&[2, 3, 4], 8);
        check_grad(&[x.clone()], |t| t[0].reshape(&[4, 6]));
        check_grad(&[x.clone()], |t| t[0].permute(None));
        check_grad(&[x.clone()], |t| t[0].permute(Some(&[1, 0, 2])));
        check_grad(&[x.clone()], |t| t[0].t());
        check_grad(&[rand(&[3, 1], 2)], |t| t[0].broadcast_to(&[2, 3, 4]));
        check_grad(&[x.clone()], |t| t[0].index(&[Ellipsis, Int(0)]));
        check_grad(&[x.clone()], |t| {
            t[0].index(&[s(Some(1), None, 1), Int(-1)])
        });
        check_grad(&[x.clone()], |t| {
            t[0].index(&[Int(1), s(None, None, -2), NewAxis])
        });
        check_grad(&[x.clone()], |t| {
            t[0].index(&[s(None, None, 1), s(Some(2), Some(0), -1)])
        });
        for axis in [0isize, 1, 2, -1] {
            let mut other = x.shape().to_vec();
            other[axis.rem_euclid(3) as usize] = 2;
            let y = rand(&other, 9);
            check_grad(&[x.clone(), y], |t| {
                Tensor::concatenate(&[t[0].clone(), t[1].clone()], axis)
            });
        }
    }

    #[test]
    fn forward_values() {
        let x = Tensor::<f32>::arange(6).unwrap().reshape(&[2, 3]).unwrap();
        assert_eq!(
            x.permute(None).unwrap().to_vec(),
            vec![0., 3., 1., 4., 2., 5.]
        );
        assert_eq!(x.index(&[Ellipsis, Int(0)]).unwrap().to_vec(), vec![0., 3.]);
        assert_eq!(
            x.index(&[Int(-1), s(None, None, -1)]).unwrap().to_vec(),
            vec![5., 4., 3.]
        );
        assert_eq!(x.index(&[s(Some(5), None, 1)]).unwrap().shape(), &[0, 3]);
        assert!(x.index(&[Int(2)]).is_err());
        assert!(x.index(&[Int(0), Int(0), Int(0)]).is_err());
        let c = Tensor::concatenate(&[x.clone(), x.clone()], 1).unwrap();
        assert_eq!(c.shape(), &[2, 6]);
        assert_eq!(
            c.to_vec(),
            vec![0., 1., 2., 0., 1., 2., 3., 4., 5., 3., 4., 5.]
        );
        assert!(x.reshape(&[4]).is_err());
    }
}
