//! Matrix products: cut into blocks for the pool's threads and computed by the `gemm`
//! crate, with the same bits for any thread count.

use super::parallel;
use super::pool::{alloc_for_overwrite, release};
use super::Float;
use rayon::prelude::*;

/// Products with fewer multiply-adds than this run on one thread: below it, waking a
/// second thread costs more than it saves (measurements in `benchmarks/README.md`).
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
    Product {
        m,
        n,
        k,
        dst,
        lhs,
        rhs,
        accumulate,
    }
    .run()
}

/// One matrix product: `dst (m×n, row-major) = [dst +] lhs (m×k) · rhs (k×n)`.
pub(crate) struct Product<'a, T> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub dst: &'a mut [T],
    pub lhs: Mat<'a, T>,
    pub rhs: Mat<'a, T>,
    /// Add to dst instead of overwriting it.
    pub accumulate: bool,
}

impl<'a, T: Float> Product<'a, T> {
    /// `dst = lhs · rhs`.
    pub fn new(
        m: usize,
        n: usize,
        k: usize,
        dst: &'a mut [T],
        lhs: Mat<'a, T>,
        rhs: Mat<'a, T>,
    ) -> Self {
        Product {
            m,
            n,
            k,
            dst,
            lhs,
            rhs,
            accumulate: false,
        }
    }

    /// Computes it on the pool's threads.
    pub fn run(self) {
        self.run_on(parallel::num_threads(), no_finish)
    }

    /// [`Product::run`], then `finish(first_column, values)` on every row of dst, in
    /// pieces: each by the task that computed it, while they are in its cache (a fused
    /// epilogue).
    pub fn run_then(self, finish: impl Finish<T>) {
        self.run_on(parallel::num_threads(), finish)
    }

    /// Computes it on the calling thread alone: for a task that is itself one of many
    /// run in parallel.
    pub fn run_here(self) {
        self.run_on(1, no_finish)
    }

    /// [`Product::run_then`] on the calling thread alone.
    pub fn run_here_then(self, finish: impl Finish<T>) {
        self.run_on(1, finish)
    }

    fn work(&self) -> usize {
        self.m * self.n * self.k
    }

    /// [`Product::run_then`] on at most `threads` threads.
    fn run_on(self, threads: usize, finish: impl Finish<T>) {
        let Product {
            m,
            n,
            k,
            dst,
            lhs,
            rhs,
            accumulate,
        } = self;
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
        let finish_rows = |dst: &mut [T]| {
            dst[..m * n]
                .chunks_mut(n)
                .for_each(|row| finish.finish(0, row))
        };
        if k == 0 {
            if !accumulate {
                dst[..m * n].fill(T::zero());
            }
            return finish_rows(dst);
        }
        if let Some(block) = inner_block(m, n, k) {
            return Product {
                m,
                n,
                k,
                dst,
                lhs,
                rhs,
                accumulate,
            }
            .run_by_inner_blocks(block, threads, finish);
        }
        if (2..=FEW_ROWS).contains(&m) && n > m {
            // gemm's micro-kernel walks dst's contiguous axis whole vector registers at a
            // time, by 6 of the other axis (see `micro_tile`), and packs rhs unless that
            // axis has at most 32 values. dst has few rows here (a small batch):
            // computing dstᵀ = rhsᵀ·lhsᵀ into column-major scratch puts them on that
            // axis, so rhs (the weights) is read in place and no tile is partly empty.
            // Up to [`FEW_ROWS`] rows, that gain outweighs the two transposing copies
            // (measurements in `benchmarks/README.md`).
            if let Ok(mut scratch) = alloc_for_overwrite::<T>(m * n) {
                if accumulate {
                    transpose(&dst[..m * n], m, n, &mut scratch);
                }
                let transposed = Product {
                    m: n,
                    n: m,
                    k,
                    dst: &mut scratch,
                    lhs: rhs.t(),
                    rhs: lhs.t(),
                    accumulate,
                };
                let split = split_for::<T>(n, m, k, threads);
                // SAFETY: the asserts above, with the roles of rows and columns swapped.
                unsafe { gemm_blocks(transposed, split, &no_finish) };
                transpose(&scratch, n, m, &mut dst[..m * n]);
                release(scratch);
                return finish_rows(dst);
            }
        }
        let product = Product {
            m,
            n,
            k,
            dst,
            lhs,
            rhs,
            accumulate,
        };
        // SAFETY: the asserts above keep every access in bounds.
        unsafe { gemm_blocks(product, split_for::<T>(m, n, k, threads), &finish) }
    }
}

impl<T: Float> Product<'_, T> {
    /// The product as a sum over blocks of `block` inner indices: each block's product
    /// on one thread, the blocks in parallel, their sums added in block order (so the
    /// bits do not depend on the thread count); then `finish` on every row.
    fn run_by_inner_blocks(self, block: usize, threads: usize, finish: impl Finish<T>) {
        let Product {
            m,
            n,
            k,
            dst,
            lhs,
            rhs,
            accumulate,
        } = self;
        let size = m * n;
        let Ok(mut partial) = alloc_for_overwrite::<T>(k.div_ceil(block) * size) else {
            // No memory for the partial sums: the plain product on one thread.
            let plain = Product {
                m,
                n,
                k,
                dst,
                lhs,
                rhs,
                accumulate,
            };
            // SAFETY: `run_on`'s asserts hold for the same operands.
            return unsafe { gemm_blocks(plain, Split::One, &finish) };
        };
        let part = |b: usize, out: &mut [T]| {
            let (first, len) = (b * block, block.min(k - b * block));
            // Columns `first..` of lhs and rows `first..` of rhs (strides are positive).
            let lhs = Mat {
                data: &lhs.data[first * lhs.cs as usize..],
                ..lhs
            };
            let rhs = Mat {
                data: &rhs.data[first * rhs.rs as usize..],
                ..rhs
            };
            Product::new(m, n, len, out, lhs, rhs).run_on(1, no_finish);
        };
        if threads > 1 {
            parallel::in_pool(|| {
                partial
                    .par_chunks_mut(size)
                    .enumerate()
                    .for_each(|(b, out)| part(b, out))
            });
        } else {
            partial
                .chunks_mut(size)
                .enumerate()
                .for_each(|(b, out)| part(b, out));
        }
        let dst = &mut dst[..size];
        let mut sums = partial.chunks_exact(size);
        if !accumulate {
            dst.copy_from_slice(sums.next().expect("k > 0 gives a block"));
        }
        for sum in sums {
            dst.iter_mut().zip(sum).for_each(|(d, &s)| *d += s);
        }
        release(partial);
        dst.chunks_mut(n).for_each(|row| finish.finish(0, row));
    }
}

/// No epilogue (a named function, so that the products without one share one
/// instantiation).
pub(crate) fn no_finish<T>(_: usize, _: &mut [T]) {}

/// Inner indices per block of a product computed by [`Product::run_by_inner_blocks`].
const INNER_BLOCK: usize = 1 << 13;

/// The inner block length for a product whose dst is too small to cut into row or
/// column blocks but whose inner dimension is long (a first convolution's kernel
/// gradient: 9 × 32 values, each a sum over every output pixel of the batch), so that
/// it runs on more than one thread; None for the others. It depends on the shape alone,
/// never on the thread count, so the bits do not either.
fn inner_block(m: usize, n: usize, k: usize) -> Option<usize> {
    let cuttable = block_len(m, n, 2).is_some() || block_len(n, m, 2).is_some();
    (m * n * k >= GEMM_PAR_THRESHOLD && !cuttable && k >= 2 * INNER_BLOCK).then_some(INNER_BLOCK)
}

/// Two independent products (a Dense backward's input and weight gradients), each on
/// its own share of the threads when that beats running them one after the other on
/// all of them: products too small to split then still run side by side, and big ones
/// skip the split's cost (each block packs the whole of one operand). The bits are those
/// of [`gemm`]: splitting never changes the arithmetic.
pub(crate) fn gemm_pair<T: Float>(a: Product<T>, b: Product<T>) {
    let threads = parallel::num_threads();
    match pair_threads(a.work(), b.work(), threads) {
        Some((ta, tb)) => {
            parallel::in_pool(|| {
                rayon::join(|| a.run_on(ta, no_finish), || b.run_on(tb, no_finish))
            });
        }
        None => {
            a.run();
            b.run();
        }
    }
}

/// How many of `threads` threads each of two products of `a` and `b` multiply-adds
/// gets when they run side by side, or None when running them one after the other is
/// faster. A rough time model in multiply-adds: a product split over `t` threads takes
/// `work / t` plus [`SPLIT_COST`], one on one thread `work`, and starting the pair
/// costs [`PAIR_COST`].
fn pair_threads(a: usize, b: usize, threads: usize) -> Option<(usize, usize)> {
    if threads < 2 {
        return None;
    }
    let time = |work: usize, t: usize| match worth_splitting(work, t) {
        true => work / t + SPLIT_COST,
        false => work,
    };
    let ta = ((threads * a + (a + b) / 2) / (a + b).max(1)).clamp(1, threads - 1);
    let tb = threads - ta;
    let apart = time(a, threads) + time(b, threads);
    let side_by_side = time(a, ta).max(time(b, tb)) + PAIR_COST;
    (side_by_side < apart).then_some((ta, tb))
}

/// The overhead of splitting a product over threads, in multiply-adds: each block packs
/// the whole of one operand, and the threads meet at the end.
const SPLIT_COST: usize = 1 << 20;
/// The cost of handing one of two products to another thread, in multiply-adds.
const PAIR_COST: usize = 1 << 17;

/// Whether a product of `work` multiply-adds is split over `threads` threads at all.
fn worth_splitting(work: usize, threads: usize) -> bool {
    threads >= 2 && work >= GEMM_PAR_THRESHOLD
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

/// The split for `threads` threads: the one whose biggest task takes least time, in a
/// rough model of gemm. A task computes whole micro-tiles, partly empty ones too, and
/// packs its share of one operand and all of the other: splitting rows makes every task
/// pack all of rhs (k×n), splitting columns all of lhs (m×k). So a wide weight gradient
/// can run faster cut into rows, with fuller tiles, while a narrow one is faster cut
/// into columns, which pack less (measurements in `benchmarks/README.md`).
fn split_for<T>(m: usize, n: usize, k: usize, threads: usize) -> Split {
    if !worth_splitting(m * n * k, threads) {
        return Split::One;
    }
    let (tile_cols, tile_rows) = micro_tile::<T>();
    // In multiply-adds of the kernel.
    let task = |rows: usize, cols: usize, packed: usize| {
        rows.div_ceil(tile_rows) * cols.div_ceil(tile_cols) * tile_rows * tile_cols * k
            + PACK_COST * packed
    };
    let rows = block_len(m, n, threads).map(|b| (Split::Rows(b), task(b, n, k * n + b * k)));
    let cols = block_len(n, m, threads).map(|b| (Split::Cols(b), task(m, b, m * k + k * b)));
    [rows, cols]
        .into_iter()
        .flatten()
        .min_by_key(|&(_, time)| time)
        .map_or(Split::One, |(split, _)| split)
}

/// What packing one element of an operand costs, in multiply-adds of gemm's kernel: a
/// scattered copy against 32 multiply-adds a cycle.
const PACK_COST: usize = 16;

/// The size of gemm's micro-kernel tile on this CPU as (columns, rows) of a row-major
/// dst: gemm computes dst column-major, so a tile spans 4 (AVX-512) or 2 (AVX2) vector
/// registers of dst's columns and 6 of its rows.
fn micro_tile<T>() -> (usize, usize) {
    let size = std::mem::size_of::<T>();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return (4 * 64 / size, 6);
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return (2 * 32 / size, 6);
        }
    }
    // NEON and the scalar kernels: 4 rows, and about this many columns.
    (64 / size, 4)
}

/// The block length for cutting a side of `len` into at most `threads` blocks, the
/// other side being `other` long; None if it cannot be cut. Every block, the last one
/// too, stays out of gemm's special paths for tiny matrices (a single row or column is
/// a matrix-vector product; at most 64×64 blocks k differently), so splitting never
/// changes the arithmetic. Blocks are multiples of 16 (an AVX2 f32 micro-tile's
/// columns, a quarter of AVX-512's) where that costs little balance.
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
unsafe fn gemm_blocks<T: Float>(product: Product<T>, split: Split, finish: &impl Finish<T>) {
    let Product {
        m,
        n,
        k,
        dst,
        lhs,
        rhs,
        accumulate,
    } = product;
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
    parallel::in_pool(|| {
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
    finish: &impl Finish<T>,
) {
    debug_assert!(c0 + cols <= n);
    let padded = padded_columns(rhs, c0, cols, k);
    let (rhs_ptr, rhs_cs) = match &padded {
        Some((copy, stride)) => (copy.as_ptr(), *stride as isize),
        None => (rhs.data.as_ptr().offset(c0 as isize * rhs.cs), rhs.cs),
    };
    // The block's corner (dst itself still points at the whole product's).
    let (block_dst, lhs_ptr) = (
        dst.add(r0 * n + c0),
        lhs.data.as_ptr().offset(r0 as isize * lhs.rs),
    );
    let product = [rows, cols, k];
    let strides = [n as isize, lhs.cs, lhs.rs, rhs_cs, rhs.rs];
    if !(super::cpu::avx2_forced()
        && gemm_avx2(product, block_dst, lhs_ptr, rhs_ptr, strides, accumulate))
    {
        gemm::gemm(
            rows,
            cols,
            k,
            block_dst,
            1,
            n as isize,
            accumulate,
            lhs_ptr,
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
    }
    if let Some((copy, _)) = padded {
        release(copy);
    }
    parallel::vectorized(FinishRows {
        finish,
        // SAFETY: inside this task's rectangle (see above).
        rows: (r0..r0 + rows).map(|r| std::slice::from_raw_parts_mut(dst.add(r * n + c0), cols)),
        first: c0,
    });
}

/// What a product's fused epilogue does to each row of dst, whose values start at
/// column `first`. Any `Fn(usize, &mut [T])` is one; the bias and activation of Dense
/// and the convolutions is `ops::linear::Epilogue`, whose `finish` is
/// `#[inline(always)]`, so that its loop gets the CPU's widest vectors in
/// [`FinishRows`] (a closure is not inlined there, and its loop got SSE).
pub(crate) trait Finish<T>: Sync {
    fn finish(&self, first: usize, values: &mut [T]);
}

impl<T, F: Fn(usize, &mut [T]) + Sync> Finish<T> for F {
    #[inline(always)]
    fn finish(&self, first: usize, values: &mut [T]) {
        self(first, values)
    }
}

/// The epilogue on the rows of a block of dst, as a `pulp::WithSimd` op (see
/// [`parallel::vectorized`]).
struct FinishRows<'a, F, I> {
    finish: &'a F,
    rows: I,
    first: usize,
}

impl<'a, T: 'a, F: Finish<T>, I: Iterator<Item = &'a mut [T]>> pulp::WithSimd
    for FinishRows<'a, F, I>
{
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        for row in self.rows {
            self.finish.finish(self.first, row);
        }
    }
}

/// `KANDLE_CPU=avx2` ([`super::cpu`]): the gemm crate's AVX2 + FMA kernels, called
/// directly, since `gemm::gemm` always takes the widest the CPU has. Same arguments as
/// [`gemm_block`]'s call (dst row-major, `strides` = dst row, lhs column and row, rhs
/// column and row). False when they cannot run here (no AVX2), and nothing was done.
///
/// # Safety
/// As `gemm::gemm` with the same pointers and strides.
#[cfg(target_arch = "x86_64")]
unsafe fn gemm_avx2<T: Float>(
    [m, n, k]: [usize; 3],
    dst: *mut T,
    lhs: *const T,
    rhs: *const T,
    [dst_rs, lhs_cs, lhs_rs, rhs_cs, rhs_rs]: [isize; 5],
    accumulate: bool,
) -> bool {
    use gemm_common::simd::{MixedSimd, V3};
    use std::any::TypeId;
    // gemm's own dispatch (gemm_f32 / gemm_f64's `fma` modules), with their lanes per
    // 256-bit register: 8 f32, 4 f64.
    macro_rules! fma_gemm {
        ($ty:ty, $kernels:path, $lanes:literal) => {{
            use $kernels as kernels;
            let Some(simd) = <V3 as MixedSimd<$ty, $ty, $ty, $ty>>::try_new() else {
                return false;
            };
            gemm_common::gemm::gemm_basic_generic::<
                _,
                $ty,
                $lanes,
                { kernels::MR_DIV_N * $lanes },
                { kernels::NR },
                { kernels::MR_DIV_N },
                { kernels::H_M },
                { kernels::H_N },
            >(
                simd,
                m,
                n,
                k,
                dst as *mut $ty,
                1,
                dst_rs,
                accumulate,
                lhs as *const $ty,
                lhs_cs,
                lhs_rs,
                rhs as *const $ty,
                rhs_cs,
                rhs_rs,
                1.0,
                1.0,
                false,
                false,
                false,
                |a, b, c| a * b + c,
                &kernels::UKR,
                &kernels::H_UKR,
                false,
                gemm::Parallelism::None,
            );
            true
        }};
    }
    // T is f32 or f64 (Float is sealed), so the casts above are to T itself.
    if TypeId::of::<T>() == TypeId::of::<f32>() {
        fma_gemm!(f32, gemm_f32::microkernel::fma::f32, 8)
    } else if TypeId::of::<T>() == TypeId::of::<f64>() {
        fma_gemm!(f64, gemm_f64::microkernel::fma::f64, 4)
    } else {
        false
    }
}

/// Elsewhere there is no AVX2 to force.
#[cfg(not(target_arch = "x86_64"))]
unsafe fn gemm_avx2<T: Float>(
    _: [usize; 3],
    _: *mut T,
    _: *const T,
    _: *const T,
    _: [isize; 5],
    _: bool,
) -> bool {
    false
}

/// A copy of columns `c0..c0 + cols` of rhs (k×n) with padded column stride, for when
/// gemm would pack them slowly: with dst row-major, gemm packs rhs's columns side by
/// side, and when each column is contiguous (the weights of x·Wᵀ) and their stride is
/// a multiple of 1 KiB, the dozens of columns it reads at once all fall into the same
/// few cache sets, and the packing stalls; the copy costs far less than it saves
/// (measurements in `benchmarks/README.md`). Returns the copy and its column stride, or
/// None when no copy is needed (or none could be had).
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

#[cfg(test)]
mod tests {
    #[test]
    fn split_blocks_are_valid() {
        use super::{split_for, Split};
        for len in 1..400 {
            for other in [10, 64, 65, 512] {
                for threads in 1..6 {
                    for (m, n) in [(len, other), (other, len)] {
                        let (block, len, other) = match split_for::<f32>(m, n, 1 << 20, threads) {
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

    /// dsts with few rows are computed transposed (see `gemm`), and small dsts with a
    /// long inner dimension by inner blocks: the same values as a plain sum, with and
    /// without accumulation, and the same bits for any thread count.
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
            // Too few values to cut dst, a long inner dimension: summed by inner
            // blocks (`inner_block`), the last one short.
            (9, 32, 3 * super::INNER_BLOCK + 5),
        ] {
            let (a, b, init) = (values(m * k, 0), values(k * n, 17), values(m * n, 5));
            for accumulate in [false, true] {
                let mut bits = vec![];
                for threads in [1, 2, 3] {
                    crate::kernels::parallel::set_num_threads(threads).unwrap();
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
                crate::kernels::parallel::set_num_threads(threads).unwrap();
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
                unsafe {
                    gemm_blocks(
                        super::Product::new(m, n, k, &mut one, lhs, rhs),
                        Split::One,
                        &super::no_finish,
                    )
                };
                let mut splits = vec![];
                for threads in 2..5 {
                    splits.push(split_for::<f32>(m, n, k, threads));
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
                    unsafe {
                        gemm_blocks(
                            super::Product::new(m, n, k, &mut out, lhs, rhs),
                            split,
                            &super::no_finish,
                        )
                    };
                    let same = one
                        .iter()
                        .zip(&out)
                        .all(|(x, y)| x.to_bits() == y.to_bits());
                    assert!(same, "m={m} n={n} k={k} split={split:?}");
                }
            }
        }
    }

    /// The fused epilogue (`finish`) sees every value of dst once, in its own block,
    /// under every split: a block that handed `finish` another block's rows would
    /// write outside it.
    #[test]
    fn the_epilogue_sees_each_value_once() {
        use super::{gemm_blocks, split_for, Mat, Split};
        let (m, n, k) = (300, 200, 64);
        let (a, b) = (values(m * k, 0), values(k * n, 17));
        let run = |split: Split, finish: &(dyn Fn(usize, &mut [f32]) + Sync)| {
            let mut out = vec![0.0f32; m * n];
            // SAFETY: the buffers have exactly the shapes of the product.
            unsafe {
                gemm_blocks(
                    super::Product::new(m, n, k, &mut out, Mat::rows(&a, k), Mat::rows(&b, n)),
                    split,
                    &|c0: usize, values: &mut [f32]| finish(c0, values),
                )
            };
            out
        };
        let plain = run(Split::One, &|_, _| {});
        for split in [
            split_for::<f32>(m, n, k, 4),
            Split::Rows(16),
            Split::Cols(16),
        ] {
            let plus_column = run(split, &|c0, values| {
                for (j, v) in values.iter_mut().enumerate() {
                    *v += (c0 + j) as f32;
                }
            });
            for (i, (x, y)) in plain.iter().zip(&plus_column).enumerate() {
                assert_eq!(x + (i % n) as f32, *y, "split={split:?} at {i}");
            }
        }
    }

    /// Two products run as a pair give the bits of each run alone, for any thread
    /// count, and values that match an f64 sum; they run side by side when the time
    /// model says so.
    #[test]
    fn pairs_give_the_bits_of_each_product_alone() {
        use super::{gemm, gemm_pair, pair_threads, Mat, Product};
        fn product<'a>(
            (m, n, k): (usize, usize, usize),
            out: &'a mut [f32],
            a: &'a [f32],
            b: &'a [f32],
        ) -> Product<'a, f32> {
            Product::new(m, n, k, out, Mat::rows(a, k), Mat::rows(b, n))
        }
        // A 512-wide Dense's two gradients at batch 128, a small pair, a tiny one and a
        // lopsided one.
        let pairs = [
            ((128, 512, 512), (512, 512, 128)),
            ((64, 96, 128), (96, 128, 64)),
            ((4, 5, 6), (5, 6, 4)),
            ((512, 784, 128), (8, 8, 8)),
        ];
        for ((m1, n1, k1), (m2, n2, k2)) in pairs {
            let (a1, b1) = (values(m1 * k1, 0), values(k1 * n1, 3));
            let (a2, b2) = (values(m2 * k2, 7), values(k2 * n2, 11));
            let alone = |m, n, k, a: &[f32], b: &[f32]| {
                crate::kernels::parallel::set_num_threads(1).unwrap();
                let mut out = vec![0.0f32; m * n];
                gemm(m, n, k, &mut out, Mat::rows(a, k), Mat::rows(b, n), false);
                out
            };
            let (want1, want2) = (alone(m1, n1, k1, &a1, &b1), alone(m2, n2, k2, &a2, &b2));
            for (i, j) in [(0, 0), (m1 - 1, n1 / 2), (m1 / 3, n1 - 1)] {
                let sum: f64 = (0..k1)
                    .map(|p| a1[i * k1 + p] as f64 * b1[p * n1 + j] as f64)
                    .sum();
                assert!((want1[i * n1 + j] as f64 - sum).abs() < 1e-4 * (k1 as f64).sqrt());
            }
            for threads in [1, 2, 3] {
                crate::kernels::parallel::set_num_threads(threads).unwrap();
                let (mut out1, mut out2) = (vec![0.0f32; m1 * n1], vec![0.0f32; m2 * n2]);
                gemm_pair(
                    product((m1, n1, k1), &mut out1, &a1, &b1),
                    product((m2, n2, k2), &mut out2, &a2, &b2),
                );
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert!(
                    bits(&out1) == bits(&want1),
                    "{m1}x{n1}x{k1}, {threads} threads"
                );
                assert!(
                    bits(&out2) == bits(&want2),
                    "{m2}x{n2}x{k2}, {threads} threads"
                );
            }
        }
        let work = |(m, n, k): (usize, usize, usize)| m * n * k;
        let side_by_side = |(a, b), threads| pair_threads(work(a), work(b), threads);
        assert_eq!(side_by_side(pairs[0], 2), Some((1, 1)));
        assert_eq!(side_by_side(pairs[1], 2), Some((1, 1)));
        assert_eq!(side_by_side(pairs[2], 2), None);
        assert_eq!(side_by_side(pairs[3], 2), None);
        assert_eq!(side_by_side(pairs[0], 1), None);
        assert_eq!(side_by_side(pairs[0], 3), None);
        assert_eq!(side_by_side(pairs[0], 4), Some((2, 2)));
    }
}
