//! Matrix products, computed by the `gemm` crate.

use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::parallel;
use crate::tensor::shape::{broadcast_shapes, broadcast_strides, checked_numel};
use crate::tensor::{alloc_for_overwrite, release, Float, Tensor};
use rayon::prelude::*;

/// Products with fewer multiply-adds than this run on one thread: below it, waking a
/// second thread costs more than it saves. Measured on 2 cores with AVX-512: a
/// 784→100 Dense at batch 32 (2.5M) trains 25% faster on one thread, and at batch 64
/// (5M) 12% faster on two.
const GEMM_PAR_THRESHOLD: usize = 1 << 22;

/// Products whose dst has 2 to this many rows (and more columns) are computed
/// transposed: see [`gemm`]. (A single row is a matrix-vector product either way.)
const FEW_ROWS: usize = 32;

/// A strided matrix operand: `data[row * rs + col * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct Mat<'a, T> {
    pub data: &'a [T],
    pub rs: isize,
    pub cs: isize,
}

impl<'a, T> Mat<'a, T> {
    /// A row-major matrix with `cols` columns.
    pub fn rows(data: &'a [T], cols: usize) -> Self {
        Mat {
            data,
            rs: cols as isize,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns, without copying.
    pub fn rows_t(data: &'a [T], cols: usize) -> Self {
        Self::rows(data, cols).t()
    }
    /// This matrix transposed, without copying.
    pub fn t(self) -> Self {
        Mat {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }
}

/// `dst (m×n, row-major) = [dst +] lhs (m×k) · rhs (k×n)`.
pub(crate) fn gemm<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    lhs: Mat<T>,
    rhs: Mat<T>,
    accumulate: bool,
) {
    gemm_then(m, n, k, dst, lhs, rhs, accumulate, |_, _| {})
}

/// [`gemm`], then `finish(first_column, values)` on every row of dst, in pieces: each
/// by the task that computed it, while they are in its cache (a fused epilogue).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_then<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    lhs: Mat<T>,
    rhs: Mat<T>,
    accumulate: bool,
    finish: impl Fn(usize, &mut [T]) + Sync,
) {
    assert!(dst.len() >= m * n, "gemm: destination too small");
    let reach = |a: &Mat<T>, r: usize, c: usize| {
        r.saturating_sub(1) as isize * a.rs + c.saturating_sub(1) as isize * a.cs
    };
    assert!(
        m * k == 0 || (reach(&lhs, m, k) as usize) < lhs.data.len(),
        "gemm: lhs too small"
    );
    assert!(
        k * n == 0 || (reach(&rhs, k, n) as usize) < rhs.data.len(),
        "gemm: rhs too small"
    );
    if m * n == 0 {
        return;
    }
    let finish_rows = |dst: &mut [T]| dst[..m * n].chunks_mut(n).for_each(|row| finish(0, row));
    if k == 0 {
        if !accumulate {
            dst[..m * n].fill(T::zero());
        }
        return finish_rows(dst);
    }
    if (2..=FEW_ROWS).contains(&m) && n > m {
        // gemm's micro-kernel walks dst's contiguous axis 16 values at a time, by 6 of
        // the other axis, and packs rhs unless that axis has at most 32 values. dst has
        // few rows here (a small batch): computing dstᵀ = rhsᵀ·lhsᵀ into column-major
        // scratch puts them on that axis, so rhs (the weights) is read in place and no
        // tile is partly empty. Both copies included, a 784→100 Dense at 32 rows and a
        // 784→512 one at 16 rows run 25–30% faster; 784→512 at 32 rows breaks even.
        if let Ok(mut scratch) = alloc_for_overwrite::<T>(m * n) {
            if accumulate {
                transpose(&dst[..m * n], m, n, &mut scratch);
            }
            let split = split_for(n, m, k, parallel::num_threads());
            // SAFETY: the asserts above, with the roles of rows and columns swapped.
            unsafe {
                gemm_blocks(
                    n,
                    m,
                    k,
                    &mut scratch,
                    rhs.t(),
                    lhs.t(),
                    accumulate,
                    split,
                    &|_, _| {},
                )
            };
            transpose(&scratch, n, m, &mut dst[..m * n]);
            release(scratch);
            return finish_rows(dst);
        }
    }
    let split = split_for(m, n, k, parallel::num_threads());
    // SAFETY: the asserts above keep every access in bounds.
    unsafe { gemm_blocks(m, n, k, dst, lhs, rhs, accumulate, split, &finish) }
}

/// `dst (cols×rows) = srcᵀ`, both row-major.
fn transpose<T: Copy>(src: &[T], rows: usize, cols: usize, dst: &mut [T]) {
    for (r, row) in src.chunks_exact(cols).take(rows).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            dst[c * rows + r] = v;
        }
    }
}

/// How a product is cut into parallel tasks: dst's rows or its columns, in blocks of
/// the given length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Split {
    One,
    Rows(usize),
    Cols(usize),
}

/// The split for `threads` threads. Splitting rows makes every task pack all of rhs
/// (k×n) and splitting columns all of lhs (m×k), so the longer side of dst is cut when
/// it can be.
fn split_for(m: usize, n: usize, k: usize, threads: usize) -> Split {
    if threads < 2 || m * n * k < GEMM_PAR_THRESHOLD {
        return Split::One;
    }
    let rows = || block_len(m, n, threads).map(Split::Rows);
    let cols = || block_len(n, m, threads).map(Split::Cols);
    let split = if m >= n {
        rows().or_else(cols)
    } else {
        cols().or_else(rows)
    };
    split.unwrap_or(Split::One)
}

/// The block length for cutting a side of `len` into at most `threads` blocks, the
/// other side being `other` long; None if it cannot be cut. Every block, the last one
/// too, stays out of gemm's special paths for tiny matrices (a single row or column is
/// a matrix-vector product; at most 64×64 blocks k differently), so splitting never
/// changes the arithmetic. Blocks are multiples of 16 (gemm's f32 micro-tile height)
/// where that costs little balance.
fn block_len(len: usize, other: usize, threads: usize) -> Option<usize> {
    let min_len = if other > 64 { 16 } else { 80 };
    for tasks in (2..=threads.min(len / min_len)).rev() {
        let even = len.div_ceil(tasks);
        for block in [even.next_multiple_of(16), even] {
            let last = len - (len.div_ceil(block) - 1) * block;
            if block - even <= even / 8 && block < len && last >= min_len {
                return Some(block);
            }
        }
    }
    None
}

/// dst's storage, shared by tasks that each write their own disjoint block of it.
#[derive(Clone, Copy)]
struct DstPtr<T>(*mut T);
// SAFETY: tasks write disjoint blocks (see `gemm_blocks`).
unsafe impl<T: Send> Send for DstPtr<T> {}
unsafe impl<T: Send> Sync for DstPtr<T> {}

impl<T> DstPtr<T> {
    // A method, so that closures capture the whole (Sync) wrapper, not its raw pointer.
    fn get(self) -> *mut T {
        self.0
    }
}

/// Runs the blocks of `split`, in parallel unless it is `One`. Each block is one gemm
/// call whose every element is summed over k in the same order as in one call for all
/// of dst (gemm blocks k by k alone), so the bits never depend on the thread count.
///
/// # Safety
/// Every access of the whole product must be in bounds, as [`gemm`] checks.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_blocks<T: Float>(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    lhs: Mat<T>,
    rhs: Mat<T>,
    accumulate: bool,
    split: Split,
    finish: &(impl Fn(usize, &mut [T]) + Sync),
) {
    let (len, block) = match split {
        // SAFETY: in bounds, and `dst` is borrowed mutably.
        Split::One => {
            return unsafe {
                gemm_block(
                    n,
                    k,
                    dst.as_mut_ptr(),
                    lhs,
                    rhs,
                    accumulate,
                    [0, m, 0, n],
                    finish,
                )
            }
        }
        Split::Rows(b) => (m, b),
        Split::Cols(b) => (n, b),
    };
    let dst = DstPtr(dst.as_mut_ptr());
    parallel::pool().install(|| {
        (0..len.div_ceil(block)).into_par_iter().for_each(|i| {
            let (first, size) = (i * block, block.min(len - i * block));
            let rect = match split {
                Split::Rows(_) => [first, size, 0, n],
                _ => [0, m, first, size],
            };
            // SAFETY: `gemm` checked the bounds of the whole product, the blocks cover
            // disjoint rectangles of dst, and `gemm_blocks` holds the only &mut to it.
            unsafe { gemm_block(n, k, dst.get(), lhs, rhs, accumulate, rect, finish) }
        })
    });
}

/// One call of the gemm crate on the calling thread for the rectangle
/// `[first row, rows, first column, columns]` of dst, then `finish` on its rows.
///
/// # Safety
/// dst is row-major with `n` columns. The whole product must be in bounds (checked by
/// [`gemm`]), and no other thread may access that rectangle of dst meanwhile.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_block<T: Float>(
    n: usize,
    k: usize,
    dst: *mut T,
    lhs: Mat<T>,
    rhs: Mat<T>,
    accumulate: bool,
    [r0, rows, c0, cols]: [usize; 4],
    finish: &impl Fn(usize, &mut [T]),
) {
    debug_assert!(c0 + cols <= n);
    let mut rhs_ptr = rhs.data.as_ptr().offset(c0 as isize * rhs.cs);
    let mut rhs_cs = rhs.cs;
    let padded = padded_columns(rhs, c0, cols, k);
    if let Some((copy, stride)) = &padded {
        (rhs_ptr, rhs_cs) = (copy.as_ptr(), *stride as isize);
    }
    gemm::gemm(
        rows,
        cols,
        k,
        dst.add(r0 * n + c0),
        1,
        n as isize,
        accumulate,
        lhs.data.as_ptr().offset(r0 as isize * lhs.rs),
        lhs.cs,
        lhs.rs,
        rhs_ptr,
        rhs_cs,
        rhs.rs,
        T::one(),
        T::one(),
        false,
        false,
        false,
        gemm::Parallelism::None,
    );
    if let Some((copy, _)) = padded {
        release(copy);
    }
    parallel::vectorized(|| {
        for r in r0..r0 + rows {
            // SAFETY: inside this task's rectangle (see above).
            finish(
                c0,
                std::slice::from_raw_parts_mut(dst.add(r * n + c0), cols),
            );
        }
    });
}

/// A copy of columns `c0..c0 + cols` of rhs (k×n) with padded column stride, for when
/// gemm would pack them slowly: with dst row-major, gemm packs rhs's columns side by
/// side, and when each column is contiguous (the weights of x·Wᵀ) and their stride is
/// a multiple of 1 KiB, the dozens of columns it reads at once all fall into the same
/// few cache sets. A 512-wide Dense layer's forward product ran at 60% of the rate of
/// a 520-wide one; the copy costs about 2% of the product. Returns the copy and its
/// column stride, or None when no copy is needed (or none could be had).
fn padded_columns<T: Float>(
    rhs: Mat<T>,
    c0: usize,
    cols: usize,
    k: usize,
) -> Option<(Vec<T>, usize)> {
    let stride = rhs.cs.unsigned_abs();
    let conflicting = rhs.rs == 1 && rhs.cs > 0 && (stride * std::mem::size_of::<T>()) % 1024 == 0;
    if !conflicting || cols < 16 || k < 64 {
        return None;
    }
    let padded = stride + 64 / std::mem::size_of::<T>();
    let mut copy = alloc_for_overwrite::<T>((cols - 1) * padded + k).ok()?;
    for j in 0..cols {
        let from = (c0 + j) * stride;
        copy[j * padded..j * padded + k].copy_from_slice(&rhs.data[from..from + k]);
    }
    Some((copy, padded))
}

impl<T: Float> Tensor<T> {
    /// Matrix product with NumPy's `matmul` rules: 1-D operands are promoted to
    /// matrices and the leading (batch) axes broadcast.
    pub fn matmul(&self, other: &Tensor<T>) -> Result<Tensor<T>> {
        let (a, b) = (self, other);
        if a.rank() == 0 || b.rank() == 0 {
            bail!(
                Shape,
                "matmul: operands must have at least one dimension, got shapes {} and {}",
                fmt_shape(a.shape()),
                fmt_shape(b.shape())
            );
        }
        if a.rank() == 1 || b.rank() == 1 {
            let a2 = if a.rank() == 1 {
                a.reshape(&[1, a.numel()])?
            } else {
                a.clone()
            };
            let b2 = if b.rank() == 1 {
                b.reshape(&[b.numel(), 1])?
            } else {
                b.clone()
            };
            let out = a2
                .matmul(&b2)
                .map_err(|_| not_aligned(a.shape(), b.shape()))?;
            let mut shape = out.shape().to_vec();
            if b.rank() == 1 {
                shape.pop();
            }
            if a.rank() == 1 {
                shape.remove(shape.len() - 1 - usize::from(b.rank() != 1));
            }
            return out.reshape(&shape);
        }
        let (ra, rb) = (a.rank(), b.rank());
        let (m, k, n) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
        if b.shape()[rb - 2] != k {
            return Err(not_aligned(a.shape(), b.shape()));
        }
        let batch = broadcast_shapes(&a.shape()[..ra - 2], &b.shape()[..rb - 2], "matmul")
            .map_err(|_| {
                crate::Error::Shape(format!(
                    "matmul: the batch axes of shapes {} and {} cannot be broadcast together",
                    fmt_shape(a.shape()),
                    fmt_shape(b.shape())
                ))
            })?;
        let mut shape = batch.clone();
        shape.extend([m, n]);
        let mut out = alloc_for_overwrite::<T>(checked_numel(&shape, std::mem::size_of::<T>())?)?;
        let (sa, sb) = (
            broadcast_strides(&a.shape()[..ra - 2], &batch),
            broadcast_strides(&b.shape()[..rb - 2], &batch),
        );
        let (x, y) = (a.data(), b.data());
        let batches: usize = batch.iter().product();
        for (i, dst) in out.chunks_mut((m * n).max(1)).enumerate().take(batches) {
            let (mut r, mut oa, mut ob) = (i, 0isize, 0isize);
            for d in (0..batch.len()).rev() {
                let idx = (r % batch[d]) as isize;
                r /= batch[d];
                oa += idx * sa[d];
                ob += idx * sb[d];
            }
            let lhs = Mat::rows(&x[oa as usize * m * k..], k);
            let rhs = Mat::rows(&y[ob as usize * k * n..], n);
            gemm(m, n, k, dst, lhs, rhs, false);
        }
        drop((x, y));
        Ok(Tensor::from_op(out, shape, &[a, b], |g| {
            let [a, b] = [&g.inputs[0], &g.inputs[1]];
            Ok(vec![
                Some(g.grad.matmul(&b.t()?)?.sum_to_shape(a.shape())?),
                Some(a.t()?.matmul(g.grad)?.sum_to_shape(b.shape())?),
            ])
        }))
    }
}

fn not_aligned(a: &[usize], b: &[usize]) -> crate::Error {
    let k = a[a.len() - 1];
    let k2 = if b.len() == 1 { b[0] } else { b[b.len() - 2] };
    crate::Error::Shape(format!(
        "matmul: shapes {} and {} are not aligned: {k} (last axis of the first) != {k2} ({} axis of the second)",
        fmt_shape(a),
        fmt_shape(b),
        if b.len() == 1 { "only" } else { "second-to-last" }
    ))
}

#[cfg(test)]
mod tests {
    use crate::ops::gradcheck::{check_grad, rand};
    use crate::Tensor;

    #[test]
    fn gradients() {
        for (sa, sb) in [
            (vec![3, 4], vec![4, 5]),
            (vec![2, 3, 4], vec![4, 5]),
            (vec![2, 1, 3, 4], vec![5, 4, 2]),
            (vec![4], vec![4, 3]),
            (vec![3, 4], vec![4]),
            (vec![4], vec![4]),
        ] {
            check_grad(&[rand(&sa, 1), rand(&sb, 2)], |t| t[0].matmul(&t[1]));
        }
    }

    #[test]
    fn forward_values_and_errors() {
        let a = Tensor::<f32>::from_vec(vec![1., 2., 3., 4., 5., 6.], &[2, 3]).unwrap();
        let b = Tensor::<f32>::from_vec(vec![1., 0., 0., 1., 1., 1.], &[3, 2]).unwrap();
        assert_eq!(a.matmul(&b).unwrap().to_vec(), vec![4., 5., 10., 11.]);
        let e = a.matmul(&a).unwrap_err().to_string();
        assert!(e.contains("matmul") && e.contains("(2, 3)"), "{e}");
        let big = Tensor::<f32>::ones(&[128, 256]).unwrap();
        let c = big.matmul(&Tensor::ones(&[256, 64]).unwrap()).unwrap();
        assert!(c.to_vec().iter().all(|&v| v == 256.0));
    }

    #[test]
    fn split_blocks_are_valid() {
        use super::{split_for, Split};
        for len in 1..400 {
            for other in [10, 64, 65, 512] {
                for threads in 1..6 {
                    for (m, n) in [(len, other), (other, len)] {
                        let (block, len, other) = match split_for(m, n, 1 << 20, threads) {
                            Split::One => continue,
                            Split::Rows(b) => (b, m, n),
                            Split::Cols(b) => (b, n, m),
                        };
                        let min_len = if other > 64 { 16 } else { 80 };
                        let last = len - (len.div_ceil(block) - 1) * block;
                        assert!(block < len && block >= min_len && last >= min_len);
                        assert!(len.div_ceil(block) <= threads, "m={m} n={n}");
                    }
                }
            }
        }
    }

    /// Deterministic values in [-0.5, 0.5): `count` of them, from `offset` on.
    fn values(count: usize, offset: usize) -> Vec<f32> {
        (offset..offset + count)
            .map(|i| (i * 7919 % 1009) as f32 / 1009.0 - 0.5)
            .collect()
    }

    /// dsts with few rows are computed transposed (see `gemm`): the same values as a
    /// plain sum, with and without accumulation, and the same bits for any thread count.
    #[test]
    fn few_row_products_match_a_reference() {
        use super::{gemm, Mat};
        for (m, n, k) in [
            (2, 3, 5),
            (16, 100, 784),
            (31, 513, 7),
            (32, 33, 300),
            (20, 512, 1),
            // Large enough to be split over threads.
            (32, 512, 300),
        ] {
            let (a, b, init) = (values(m * k, 0), values(k * n, 17), values(m * n, 5));
            for accumulate in [false, true] {
                let mut bits = vec![];
                for threads in [1, 2, 3] {
                    crate::parallel::set_num_threads(threads).unwrap();
                    let mut out = init.clone();
                    gemm(
                        m,
                        n,
                        k,
                        &mut out,
                        Mat::rows(&a, k),
                        Mat::rows_t(&b, k),
                        accumulate,
                    );
                    for (idx, &got) in out.iter().enumerate() {
                        let (i, j) = (idx / n, idx % n);
                        let start = if accumulate { init[idx] as f64 } else { 0.0 };
                        let want = (0..k)
                            .fold(start, |s, p| s + a[i * k + p] as f64 * b[j * k + p] as f64);
                        assert!(
                            (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                            "m={m} n={n} k={k} [{i},{j}]: {got} vs {want}"
                        );
                    }
                    bits.push(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
                }
                assert!(
                    bits.windows(2).all(|w| w[0] == w[1]),
                    "m={m} n={n} k={k}: bits depend on threads"
                );
            }
        }
    }

    /// Columns of rhs with a conflicting stride are copied with a padded one first (see
    /// `padded_columns`): the same bits as the same values laid out with a harmless
    /// stride, and the values of a plain sum, for every split.
    #[test]
    fn padded_columns_change_nothing_but_the_speed() {
        use super::{gemm, Mat};
        for (m, n, k) in [(64, 48, 256), (130, 512, 512), (40, 100, 1024)] {
            let a = values(m * k, 0);
            // rhs = wᵀ for w (n×k) row-major: stride k (padded inside), and the same
            // values with stride k + 3 (used in place).
            let w = values(n * k, 17);
            let mut wide = vec![0.0f32; n * (k + 3)];
            for j in 0..n {
                wide[j * (k + 3)..j * (k + 3) + k].copy_from_slice(&w[j * k..j * k + k]);
            }
            let mut bits = vec![];
            for threads in [1, 2, 3] {
                crate::parallel::set_num_threads(threads).unwrap();
                for (data, stride) in [(&w, k), (&wide, k + 3)] {
                    let rhs = Mat {
                        data: &data[..],
                        rs: 1,
                        cs: stride as isize,
                    };
                    let mut out = vec![0.0f32; m * n];
                    gemm(m, n, k, &mut out, Mat::rows(&a, k), rhs, false);
                    for (idx, &got) in out.iter().enumerate() {
                        let (i, j) = (idx / n, idx % n);
                        let want =
                            (0..k).fold(0.0, |s, p| s + a[i * k + p] as f64 * w[j * k + p] as f64);
                        assert!(
                            (got as f64 - want).abs() <= 1e-5 * (1.0 + want.abs()),
                            "m={m} n={n} k={k} [{i},{j}]: {got} vs {want}"
                        );
                    }
                    bits.push(out.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
                }
            }
            assert!(bits.windows(2).all(|w| w[0] == w[1]), "m={m} n={n} k={k}");
        }
    }

    /// Every split must give the same bits as one call of gemm, so that results do not
    /// depend on the thread count.
    #[test]
    fn split_gives_the_same_bits_as_one_call() {
        use super::{gemm_blocks, split_for, Mat, Split};
        for (m, n, k) in [
            (32, 100, 784),
            (128, 512, 784),
            (100, 784, 32),
            (784, 100, 32),
            (33, 70, 300),
            (200, 10, 512),
            (10, 200, 512),
            (512, 784, 128),
            // The transposed products of few-row dsts.
            (512, 32, 784),
            (100, 16, 784),
        ] {
            let (a, b) = (values(m * k, 0), values(k * n, 17));
            for (lhs, rhs) in [
                (Mat::rows(&a, k), Mat::rows(&b, n)),
                (Mat::rows_t(&a, m), Mat::rows_t(&b, k)),
            ] {
                let mut one = vec![0.0f32; m * n];
                // SAFETY: the buffers have exactly the shapes of the product.
                unsafe { gemm_blocks(m, n, k, &mut one, lhs, rhs, false, Split::One, &|_, _| {}) };
                let mut splits = vec![];
                for threads in 2..5 {
                    splits.push(split_for(m, n, k, threads));
                }
                splits.extend(
                    [Split::Rows(16), Split::Cols(16)]
                        .into_iter()
                        .filter(|s| match s {
                            Split::Rows(_) => n > 64 && m > 16,
                            _ => m > 64 && n > 16,
                        }),
                );
                for split in splits {
                    let mut out = vec![0.0f32; m * n];
                    unsafe { gemm_blocks(m, n, k, &mut out, lhs, rhs, false, split, &|_, _| {}) };
                    let same = one
                        .iter()
                        .zip(&out)
                        .all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "m={m} n={n} k={k} split={split:?}");
                }
            }
        }
    }
}
