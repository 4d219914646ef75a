//! Reductions over axes: sum, mean, max.

use crate::error::{fmt_shape, Result};
use crate::kernels::parallel;
use crate::kernels::pool::alloc_for_overwrite;
use crate::tensor::shape::normalize_axes;
use crate::tensor::{Float, Tensor};

/// Reduces axis `axis` of `data` (of `shape`) with `f`, starting from `init`. Each
/// output element folds its inputs in axis order, so results do not depend on threads.
pub(crate) fn reduce_axis<T: Float>(
    data: &[T],
    shape: &[usize],
    axis: usize,
    init: T,
    f: impl Fn(T, T) -> T + Sync + Send,
) -> Result<Vec<T>> {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let outer: usize = shape[..axis].iter().product();
    let mut out = alloc_for_overwrite::<T>(outer * inner)?;
    out.fill(init);
    parallel::for_each_rows(&mut out, inner, |first, rows| {
        for (r, row) in rows.chunks_mut(inner.max(1)).enumerate() {
            let src = &data[(first + r) * n * inner..][..n * inner];
            for k in 0..n {
                for (o, &v) in row.iter_mut().zip(&src[k * inner..(k + 1) * inner]) {
                    *o = f(*o, v);
                }
            }
        }
    });
    Ok(out)
}

/// The sums of the columns of `data`, a row-major `rows × cols` matrix (a bias
/// gradient). Fixed blocks of rows are summed in parallel and the block sums added in
/// order, so results do not depend on threads; up to one block, this is the plain
/// sum in row order.
pub(crate) fn column_sums<T: Float>(data: &[T], rows: usize, cols: usize) -> Result<Vec<T>> {
    let block = column_block(cols);
    let mut partial = alloc_for_overwrite::<T>(rows.div_ceil(block) * cols)?;
    parallel::for_each_rows(&mut partial, cols, |first, sums| {
        for (b, sum) in sums.chunks_mut(cols.max(1)).enumerate() {
            let start = (first + b) * block * cols;
            let end = (start + block * cols).min(rows * cols);
            add_rows(sum, &data[start..end]);
        }
    });
    add_block_sums(partial, cols)
}

/// [`column_sums`] of the matrix that `write(first element, values)` fills block by
/// block into `data`: each block is summed right after it is written, while it is in
/// cache (a gradient and its bias gradient in one pass). The same bits as writing all
/// of `data` first and then calling [`column_sums`].
pub(crate) fn column_sums_as_written<T: Float>(
    data: &mut [T],
    rows: usize,
    cols: usize,
    write: impl Fn(usize, &mut [T]) + Sync + Send,
) -> Result<Vec<T>> {
    let block = column_block(cols);
    let mut partial = alloc_for_overwrite::<T>(rows.div_ceil(block) * cols)?;
    let data = &mut data[..rows * cols];
    parallel::for_each_chunk_pair(data, block * cols, &mut partial, cols, |b, values, sum| {
        write(b * block * cols, values);
        add_rows(sum, values);
    });
    add_block_sums(partial, cols)
}

/// The rows summed per block by the column sums: the pool's chunk of elements.
fn column_block(cols: usize) -> usize {
    (parallel::CHUNK / cols.max(1)).max(1)
}

/// `sum` = the sum of the rows of `values`, in order.
fn add_rows<T: Float>(sum: &mut [T], values: &[T]) {
    sum.fill(T::zero());
    for row in values.chunks_exact(sum.len().max(1)) {
        sum.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
    }
}

/// The column sums from the blocks' sums (`partial`, blocks × cols), added in order.
pub(crate) fn add_block_sums<T: Float>(partial: Vec<T>, cols: usize) -> Result<Vec<T>> {
    let blocks = partial.len() / cols.max(1);
    let out = reduce_axis(&partial, &[blocks, cols], 0, T::zero(), |s, v| s + v);
    crate::kernels::pool::release(partial);
    out
}

/// Shape after reducing `axes`.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    (0..shape.len())
        .filter_map(|i| match (axes.contains(&i), keepdims) {
            (false, _) => Some(shape[i]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// Folds `axes` one at a time (last first); returns data in the keepdims layout.
fn reduce<T: Float>(
    x: &Tensor<T>,
    axes: &[usize],
    init: T,
    f: impl Fn(T, T) -> T + Sync + Send + Copy,
) -> Result<Vec<T>> {
    let mut shape = x.shape().to_vec();
    let mut data = x.to_vec();
    for &axis in axes.iter().rev() {
        data = reduce_axis(&data, &shape, axis, init, f)?;
        shape[axis] = 1;
    }
    Ok(data)
}

impl<T: Float> Tensor<T> {
    /// Sum over `axes` (None: all), as `np.sum`.
    pub fn sum(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor<T>> {
        let axes = normalize_axes(axes, self.rank(), "sum")?;
        let data = if axes.len() == self.rank() {
            // A full sum: fixed chunks combined in order, the same for any thread count.
            let x = self.data();
            vec![parallel::chunked_sum(x.len(), |i| x[i])]
        } else {
            reduce(self, &axes, T::zero(), |a, b| a + b)?
        };
        let kept = reduced_shape(self.shape(), &axes, true);
        Ok(Tensor::from_op(
            data,
            reduced_shape(self.shape(), &axes, keepdims),
            &[self],
            move |a| {
                Ok(vec![Some(
                    a.grad.reshape(&kept)?.broadcast_to(a.inputs[0].shape())?,
                )])
            },
        ))
    }

    /// Mean over `axes` (None: all), as `np.mean`.
    pub fn mean(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor<T>> {
        let idx = normalize_axes(axes, self.rank(), "mean")?;
        let count: usize = idx.iter().map(|&i| self.shape()[i]).product();
        self.sum(axes, keepdims)?
            .mul(&Tensor::scalar(T::one() / T::from_f64(count as f64)))
    }

    /// Maximum over `axes` (None: all), as `np.max`. Ties share the gradient equally.
    pub fn max(&self, axes: Option<&[isize]>, keepdims: bool) -> Result<Tensor<T>> {
        let axes = normalize_axes(axes, self.rank(), "max")?;
        if axes.iter().any(|&a| self.shape()[a] == 0) {
            crate::bail!(
                InvalidArgument,
                "max: cannot reduce an empty axis of a tensor of shape {}",
                fmt_shape(self.shape())
            );
        }
        let data = reduce(self, &axes, T::neg_infinity(), |a, b| {
            if b > a || b.is_nan() {
                b
            } else {
                a
            }
        })?;
        let kept = reduced_shape(self.shape(), &axes, true);
        let signed: Vec<isize> = axes.iter().map(|&a| a as isize).collect();
        Ok(Tensor::from_op(
            data,
            reduced_shape(self.shape(), &axes, keepdims),
            &[self],
            move |a| {
                let x = &a.inputs[0];
                let peak = a.output.reshape(&kept)?.broadcast_to(x.shape())?;
                let mask = x.zip_map(&peak, |v, m| if v == m { T::one() } else { T::zero() })?;
                let ties = mask.sum(Some(&signed), true)?;
                let share = a.grad.reshape(&kept)?.div(&ties)?;
                Ok(vec![Some(mask.mul(&share)?)])
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    /// Summing blocks as they are written gives what it writes, and the bits of
    /// writing everything first and then summing, for any thread count (a matrix large
    /// enough to run in parallel, its last block short).
    #[test]
    fn column_sums_as_written_are_the_column_sums_of_what_was_written() {
        use crate::kernels::parallel::set_num_threads;
        let (rows, cols) = (100_003, 3);
        let source: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1013) as f32) / 101.0 - 5.0)
            .collect();
        let expected = super::column_sums(&source, rows, cols).unwrap();
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            let mut written = vec![0.0f32; rows * cols];
            let sums = super::column_sums_as_written(&mut written, rows, cols, |start, out| {
                out.copy_from_slice(&source[start..start + out.len()])
            })
            .unwrap();
            assert_eq!(written, source, "threads={threads}");
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&sums), bits(&expected), "threads={threads}");
        }
    }

    /// Column sums: an f64 reference's values, the same bits for any thread count, and
    /// the plain row-order sum for a matrix of one block.
    #[test]
    fn column_sums_are_exact_and_thread_independent() {
        use crate::kernels::parallel::set_num_threads;
        let (rows, cols) = (10_007, 5);
        let data: Vec<f32> = (0..rows * cols)
            .map(|i| ((i * 7919 % 1013) as f32) / 101.0 - 5.0)
            .collect();
        set_num_threads(1).unwrap();
        let one = super::column_sums(&data, rows, cols).unwrap();
        set_num_threads(2).unwrap();
        let two = super::column_sums(&data, rows, cols).unwrap();
        assert_eq!(one, two);
        for (c, &sum) in one.iter().enumerate() {
            let exact: f64 = (0..rows).map(|r| data[r * cols + c] as f64).sum();
            assert!(
                (sum as f64 - exact).abs() < 1e-3 * exact.abs().max(1.0),
                "{c}"
            );
        }
        let small = &data[..40 * cols];
        let mut plain = vec![0.0f32; cols];
        for row in small.chunks_exact(cols) {
            plain.iter_mut().zip(row).for_each(|(s, &v)| *s += v);
        }
        assert_eq!(super::column_sums(small, 40, cols).unwrap(), plain);
        assert_eq!(
            super::column_sums(&[] as &[f32], 0, 3).unwrap(),
            vec![0.0; 3]
        );
    }

    #[test]
    fn gradients_over_each_axis() {
        let x = rand(&[2, 3, 4], 5);
        for keep in [false, true] {
            check_grad(&[x.clone()], |t| t[0].sum(None, keep));
            check_grad(&[x.clone()], |t| t[0].mean(None, keep));
            check_grad(&[x.clone()], |t| t[0].max(None, keep));
            for axes in [vec![0], vec![1], vec![2], vec![-1], vec![0, 2], vec![1, 2]] {
                check_grad(&[x.clone()], |t| t[0].sum(Some(&axes), keep));
                check_grad(&[x.clone()], |t| t[0].mean(Some(&axes), keep));
                check_grad(&[x.clone()], |t| t[0].max(Some(&axes), keep));
            }
        }
    }

    #[test]
    fn forward_values() {
        let x = Tensor::<f32>::from_vec(vec![1., 5., 3., 4., 2., 6.], &[2, 3]).unwrap();
        assert_eq!(x.sum(Some(&[0]), false).unwrap().to_vec(), vec![5., 7., 9.]);
        assert_eq!(x.sum(Some(&[1]), true).unwrap().shape(), &[2, 1]);
        assert_eq!(x.max(Some(&[1]), false).unwrap().to_vec(), vec![5., 6.]);
        assert_eq!(x.mean(None, false).unwrap().item().unwrap(), 3.5);
        assert!(x.sum(Some(&[2]), false).is_err());
    }

    #[test]
    fn tied_maxima_share_the_gradient() {
        let x = Tensor::<f64>::variable(vec![1., 3., 3.], &[3]).unwrap();
        let g = crate::grad(&x.max(None, false).unwrap(), &[x.clone()]).unwrap();
        assert_eq!(g[0].to_vec(), vec![0., 0.5, 0.5]);
    }
}
