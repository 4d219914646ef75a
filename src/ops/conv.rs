//! Convolution over one or two spatial axes, channels last (Keras's default layout):
//! x `(batch, [height,] width, channels)`, kernel `([kh,] kw, in / groups, filters)`
//! (Keras's kernel layout), forward and backward.
//!
//! The products run on the GEMM engine through im2col: each output pixel's receptive
//! field is copied into one row of a `(pixels, kh·kw·in)` matrix, whose product with the
//! kernel, read in place as a `(kh·kw·in, filters)` matrix, is the output, with the bias
//! and activation applied to each block while it is in cache. Backward, that matrix's
//! transpose times the output gradient is the kernel gradient, and the output gradient
//! times the kernel's transpose, scattered back onto the input (col2im), is the input
//! gradient. Both passes run in blocks (of rows forward, of samples backward), each a
//! task on one thread, so that the im2col rows and their gradient stay in cache between
//! the copy, the products and col2im ([`conv_forward`], [`conv_backward`]). The
//! windows' geometry ([`Window`], [`Padding`], [`Grid`]) is shared with pooling
//! (`ops/pool.rs`).

use super::linear::Epilogue;
use super::Activation;
use crate::bail;
use crate::error::{fmt_shape, Result};
use crate::kernels::gemm::{gemm_pair, no_finish, Finish, Mat, Product};
use crate::kernels::parallel;
use crate::kernels::pool::{alloc_for_overwrite, release};
use crate::tensor::shape::checked_numel;
use crate::tensor::{is_grad_enabled, Float, Tensor};

/// Keras's padding modes of a sliding window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// No padding: windows stay inside the input.
    Valid,
    /// Zeros (or nothing, for pooling) around the input so that the output has
    /// `ceil(input / stride)` positions; the odd one goes after, as in TensorFlow and JAX.
    Same,
    /// Zeros before the input only, so that output `t` sees inputs up to `t` (Conv1D).
    Causal,
}

impl Padding {
    /// Keras's name of the mode.
    pub fn name(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
        }
    }

    /// The mode Keras calls `name` (any case); `causal` only where `allow_causal`.
    pub fn from_name(name: &str, allow_causal: bool) -> Result<Self> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "valid" => Padding::Valid,
            "same" => Padding::Same,
            "causal" if allow_causal => Padding::Causal,
            _ => bail!(
                InvalidArgument,
                "`padding` must be one of {}, got {name:?}",
                if allow_causal {
                    "\"valid\", \"same\", \"causal\""
                } else {
                    "\"valid\", \"same\""
                }
            ),
        })
    }
}

/// A sliding window along one spatial axis: `size` taps `dilation` apart, moved
/// `stride` at a time over the input padded by `pad_before` and `pad_after`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The number of taps (the kernel's or pool's size along this axis).
    pub size: usize,
    /// The step between output positions.
    pub stride: usize,
    /// The step between taps.
    pub dilation: usize,
    /// Padding before the first input position.
    pub pad_before: usize,
    /// Padding after the last input position.
    pub pad_after: usize,
}

impl Window {
    /// The window with `padding` over an axis of `input` positions. Sizes, strides and
    /// dilations must be positive (the callers check).
    pub fn new(
        size: usize,
        stride: usize,
        dilation: usize,
        padding: Padding,
        input: usize,
    ) -> Self {
        let span = dilation * (size - 1) + 1;
        let (pad_before, pad_after) = match padding {
            Padding::Valid => (0, 0),
            Padding::Causal => (span - 1, 0),
            Padding::Same => {
                let out = input.div_ceil(stride);
                let total = ((out.max(1) - 1) * stride + span).saturating_sub(input);
                (total / 2, total - total / 2)
            }
        };
        Window {
            size,
            stride,
            dilation,
            pad_before,
            pad_after,
        }
    }

    /// The window of an axis that has none (the height of a 1-D input).
    const UNIT: Window = Window {
        size: 1,
        stride: 1,
        dilation: 1,
        pad_before: 0,
        pad_after: 0,
    };

    /// The number of output positions over `input` positions; None when the window is
    /// larger than the padded input.
    pub fn output_len(&self, input: usize) -> Option<usize> {
        let span = self.dilation * (self.size - 1) + 1;
        let padded = input + self.pad_before + self.pad_after;
        (padded >= span).then(|| (padded - span) / self.stride + 1)
    }

    /// The input position under tap `tap` of output position `out`, or None in the
    /// padding.
    #[inline(always)]
    fn input_pos(&self, out: usize, tap: usize, input: usize) -> Option<usize> {
        let p = (out * self.stride + tap * self.dilation).checked_sub(self.pad_before)?;
        (p < input).then_some(p)
    }
}

/// The geometry of a windowed op over a batch of channels-last images: a 1-D input is
/// an image of height 1.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Grid {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub oh: usize,
    pub ow: usize,
    pub wy: Window,
    pub wx: Window,
}

impl Grid {
    /// The grid of an input of `shape` (rank 3 or 4, channels last) under windows of
    /// `sizes`, `strides`, `dilation` and `padding` (one per spatial axis). `op` and
    /// `size_arg` name the op and its window-size argument in errors.
    pub fn new(
        op: &str,
        size_arg: &str,
        shape: &[usize],
        sizes: &[usize],
        strides: &[usize],
        dilation: &[usize],
        padding: Padding,
    ) -> Result<Self> {
        let spatial = shape.len().saturating_sub(2);
        if !(1..=2).contains(&spatial) {
            bail!(
                Shape,
                "{op}: expected an input of rank 3 (batch, steps, channels) or 4 (batch, \
                 height, width, channels), got shape {}",
                fmt_shape(shape)
            );
        }
        for (arg, values) in [
            (size_arg, sizes),
            ("strides", strides),
            ("dilation_rate", dilation),
        ] {
            if values.len() != spatial || values.contains(&0) {
                bail!(
                    InvalidArgument,
                    "{op}: `{arg}` must be {spatial} positive integers for an input of shape \
                     {}, got {values:?}",
                    fmt_shape(shape)
                );
            }
        }
        let axes = &shape[1..=spatial];
        let windows: Vec<Window> = (0..spatial)
            .map(|i| Window::new(sizes[i], strides[i], dilation[i], padding, axes[i]))
            .collect();
        let mut out = Vec::with_capacity(spatial);
        for (window, &input) in windows.iter().zip(axes) {
            match window.output_len(input) {
                Some(len) if len > 0 => out.push(len),
                _ => bail!(
                    Shape,
                    "{op}: computed output size would be zero or negative: the window \
                     (`{size_arg}`={sizes:?}, `dilation_rate`={dilation:?}) is larger than \
                     the input (spatial shape {}, padding='{}')",
                    fmt_shape(axes),
                    padding.name()
                ),
            }
        }
        let (h, oh, wy) = if spatial == 2 {
            (axes[0], out[0], windows[0])
        } else {
            (1, 1, Window::UNIT)
        };
        Ok(Grid {
            n: shape[0],
            h,
            w: axes[spatial - 1],
            c: shape[spatial + 1],
            oh,
            ow: out[spatial - 1],
            wy,
            wx: windows[spatial - 1],
        })
    }

    /// Calls `f(ky, first_kx, taps, first input pixel)` for each kernel row of output
    /// pixel `(oy, ox)` that falls inside the input, with the run of its taps that do:
    /// with no dilation along the width these are adjacent input pixels, so that one
    /// kernel row is one contiguous copy of `taps · channels` values (im2col's and
    /// col2im's fast path).
    #[inline(always)]
    fn for_each_run(&self, oy: usize, ox: usize, mut f: impl FnMut(usize, usize, usize, usize)) {
        debug_assert_eq!(self.wx.dilation, 1);
        let x0 = (ox * self.wx.stride) as isize - self.wx.pad_before as isize;
        let lo = (-x0).clamp(0, self.wx.size as isize) as usize;
        let hi = (self.w as isize - x0).clamp(0, self.wx.size as isize) as usize;
        if lo >= hi {
            return;
        }
        for ky in 0..self.wy.size {
            if let Some(iy) = self.wy.input_pos(oy, ky, self.h) {
                f(ky, lo, hi - lo, iy * self.w + (x0 + lo as isize) as usize);
            }
        }
    }

    /// The output pixels `(sample, row, column)` from pixel `first` of the batch on,
    /// in order: counted up, not divided out for each (a division per pixel was a
    /// visible share of im2col's time).
    pub fn pixels_from(&self, first: usize) -> impl Iterator<Item = (usize, usize, usize)> {
        let (oh, ow) = (self.oh, self.ow);
        let start = (
            first / (oh * ow).max(1),
            first / ow.max(1) % oh.max(1),
            first % ow.max(1),
        );
        std::iter::successors(Some(start), move |&(n, oy, ox)| {
            Some(match (ox + 1 < ow, oy + 1 < oh) {
                (true, _) => (n, oy, ox + 1),
                (false, true) => (n, oy + 1, 0),
                (false, false) => (n + 1, 0, 0),
            })
        })
    }

    /// The number of output pixels, over the whole batch.
    pub fn pixels(&self) -> usize {
        self.n * self.oh * self.ow
    }

    /// The number of taps of a window.
    pub fn taps(&self) -> usize {
        self.wy.size * self.wx.size
    }

    /// The output shape with `channels` channels, of the input's rank.
    pub fn output_shape(&self, rank: usize, channels: usize) -> Vec<usize> {
        if rank == 4 {
            vec![self.n, self.oh, self.ow, channels]
        } else {
            vec![self.n, self.ow, channels]
        }
    }

    /// Calls `f(tap, input pixel)` for each tap of output pixel `(oy, ox)` of a sample
    /// that falls inside the input (not in the padding), in tap order.
    #[inline(always)]
    pub fn for_each_tap(&self, oy: usize, ox: usize, mut f: impl FnMut(usize, usize)) {
        for ky in 0..self.wy.size {
            let Some(iy) = self.wy.input_pos(oy, ky, self.h) else {
                continue;
            };
            for kx in 0..self.wx.size {
                if let Some(ix) = self.wx.input_pos(ox, kx, self.w) {
                    f(ky * self.wx.size + kx, iy * self.w + ix);
                }
            }
        }
    }
}

/// The strides, dilation, padding and groups of a convolution; the window sizes come
/// from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvOptions {
    /// The step between output positions, per spatial axis.
    pub strides: Vec<usize>,
    /// The step between kernel taps, per spatial axis.
    pub dilation: Vec<usize>,
    /// Keras's padding mode.
    pub padding: Padding,
    /// The input and output channels are cut into this many groups, each convolved
    /// with its own slice of the kernel.
    pub groups: usize,
}

/// The spatial output shape `([out_height,] out_width)` of a window of `sizes` with
/// `options` (strides, dilation, padding) over an input of `shape` (channels last), or
/// an error naming `op` and `size_arg` when the window does not fit.
pub fn window_output_shape(
    op: &str,
    size_arg: &str,
    shape: &[usize],
    sizes: &[usize],
    options: &ConvOptions,
) -> Result<Vec<usize>> {
    let g = Grid::new(
        op,
        size_arg,
        shape,
        sizes,
        &options.strides,
        &options.dilation,
        options.padding,
    )?;
    let out = g.output_shape(shape.len(), 1);
    Ok(out[1..out.len() - 1].to_vec())
}

/// im2col matrices below this many elements are copied on one thread.
const IM2COL_PAR_THRESHOLD: usize = parallel::PAR_THRESHOLD / 4;

/// The forward runs im2col and its product in blocks of rows of at most this many
/// elements (1 MiB of f32), which stay in cache between the copy and the product.
/// Inference copies each block into scratch instead of making one matrix of the whole
/// batch (285 MB for the MNIST convnet's second layer at predict's 2048 rows), whose
/// fresh pages cost more than the product.
const FORWARD_BLOCK: usize = 1 << 18;

/// Copies each output pixel's receptive field into a row of `cols` (`pixels × taps·c`),
/// zeros for the padding. A row holds each group's taps together, `(group, tap,
/// channel in group)`, so that a group's columns form one block.
/// `cols` holds the rows from pixel `row0` on.
fn im2col<T: Float>(x: &[T], g: &Grid, groups: usize, row0: usize, cols: &mut [T]) {
    let k = g.taps() * g.c;
    parallel::for_each_rows_above(IM2COL_PAR_THRESHOLD, cols, k, |first, chunk| {
        im2col_rows(x, g, groups, row0 + first, chunk)
    });
}

/// [`im2col`] on the calling thread.
fn im2col_rows<T: Float>(x: &[T], g: &Grid, groups: usize, row0: usize, cols: &mut [T]) {
    let k = g.taps() * g.c;
    let (cg, kg) = (g.c / groups, g.taps() * (g.c / groups));
    let sample = g.h * g.w * g.c;
    // Without padding every tap is inside the input and every value gets overwritten.
    let padded = g.wy.pad_before + g.wy.pad_after + g.wx.pad_before + g.wx.pad_after > 0;
    for (row, (n, oy, ox)) in cols.chunks_exact_mut(k).zip(g.pixels_from(row0)) {
        // Taps that fall in the padding stay zero.
        if padded {
            row.fill(T::zero());
        }
        let image = &x[n * sample..(n + 1) * sample];
        if groups == 1 && g.wx.dilation == 1 {
            g.for_each_run(oy, ox, |ky, kx, taps, pixel| {
                let at = (ky * g.wx.size + kx) * g.c;
                copy_run(
                    &mut row[at..at + taps * g.c],
                    &image[pixel * g.c..(pixel + taps) * g.c],
                );
            });
            continue;
        }
        g.for_each_tap(oy, ox, |tap, pixel| {
            let src = &image[pixel * g.c..(pixel + 1) * g.c];
            for (group, src) in src.chunks_exact(cg).enumerate() {
                row[group * kg + tap * cg..][..cg].copy_from_slice(src);
            }
        });
    }
}

/// `dst.copy_from_slice(src)`, with the short runs of a layer with few channels (a first
/// layer's 3 values: 3 taps of 1 channel) copied by moves of a length known when
/// compiling, not by a call of `memcpy` per run, which cost more than the copy.
#[inline(always)]
fn copy_run<T: Copy>(dst: &mut [T], src: &[T]) {
    macro_rules! by_length {
        ($($n:literal)*) => {
            match dst.len() {
                $($n => dst[..$n].copy_from_slice(&src[..$n]),)*
                _ => dst.copy_from_slice(src),
            }
        };
    }
    by_length!(1 2 3 4 5 6 7 8)
}

/// The inverse scatter of [`im2col`]: adds each row of `dcols` onto the input pixels it
/// was copied from, into `dx`, each sample's image zeroed first (on its own thread, so
/// in parallel and in cache). Samples are independent, so they run in parallel, and
/// each pixel's sum runs in the same order for any thread count.
fn col2im<T: Float>(dcols: &[T], g: &Grid, groups: usize, dx: &mut [T]) {
    let (sample, rows) = (g.h * g.w * g.c, g.oh * g.ow * g.taps() * g.c);
    parallel::for_each_rows(dx, sample, |first, chunk| {
        col2im_samples(&dcols[first * rows..], g, groups, chunk)
    });
}

/// [`col2im`] on the calling thread, for the samples whose images `dx` holds, from
/// `dcols` starting at their first row.
fn col2im_samples<T: Float>(dcols: &[T], g: &Grid, groups: usize, dx: &mut [T]) {
    let k = g.taps() * g.c;
    let (cg, kg) = (g.c / groups, g.taps() * (g.c / groups));
    let sample = g.h * g.w * g.c;
    for (n, image) in dx.chunks_exact_mut(sample.max(1)).enumerate() {
        image.fill(T::zero());
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let row = &dcols[((n * g.oh + oy) * g.ow + ox) * k..][..k];
                if groups == 1 && g.wx.dilation == 1 {
                    g.for_each_run(oy, ox, |ky, kx, taps, pixel| {
                        let at = (ky * g.wx.size + kx) * g.c;
                        let src = &row[at..at + taps * g.c];
                        let dst = &mut image[pixel * g.c..(pixel + taps) * g.c];
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    });
                    continue;
                }
                g.for_each_tap(oy, ox, |tap, pixel| {
                    let dst = &mut image[pixel * g.c..(pixel + 1) * g.c];
                    for (group, dst) in dst.chunks_exact_mut(cg).enumerate() {
                        let src = &row[group * kg + tap * cg..][..cg];
                        dst.iter_mut().zip(src).for_each(|(d, &s)| *d += s);
                    }
                });
            }
        }
    }
}

/// The forward of a one-group convolution, `out = epilogue(im2col(x) · w)`, in blocks
/// of rows, each a task on one thread that copies its rows of the im2col matrix (into
/// `cols`, the whole batch's, when given: training keeps it for the backward; else into
/// a scratch block) and multiplies them while they are in cache. Gemm sums each element
/// in the same order whatever rows a call covers, so the blocks give the bits of one
/// product over the whole batch, for any thread count.
fn conv_forward<T: Float>(
    x: &[T],
    w: &[T],
    g: &Grid,
    cout: usize,
    cols: Option<&mut [T]>,
    out: &mut [T],
    epilogue: impl Finish<T> + Copy,
) -> Result<()> {
    let (rows, k) = (g.pixels(), g.taps() * g.c);
    let threads = parallel::num_threads();
    // At least a few blocks a thread, for balance; at most what stays in cache.
    let block_rows = (FORWARD_BLOCK / k.max(1))
        .min(rows.div_ceil(4 * threads))
        .max(1);
    let col_blocks: Vec<Option<&mut [T]>> = match cols {
        Some(cols) => cols.chunks_mut(block_rows * k).map(Some).collect(),
        None => (0..rows.div_ceil(block_rows)).map(|_| None).collect(),
    };
    let tasks: Vec<_> = out
        .chunks_mut(block_rows * cout)
        .zip(col_blocks)
        .enumerate()
        .collect();
    let task = |(b, (out, cols)): (usize, (&mut [T], Option<&mut [T]>))| -> Result<()> {
        let r = out.len() / cout.max(1);
        let mut scratch = None;
        let cols = match cols {
            Some(cols) => cols,
            None => scratch
                .insert(alloc_for_overwrite::<T>(r * k)?)
                .as_mut_slice(),
        };
        parallel::vectorized(|| im2col_rows(x, g, 1, b * block_rows, cols));
        Product::new(r, cout, k, out, Mat::rows(cols, k), Mat::rows(w, cout))
            .run_here_then(epilogue);
        if let Some(scratch) = scratch {
            release(scratch);
        }
        Ok(())
    };
    parallel::try_for_each_task(tasks, task)
}

/// The most elements of the im2col matrix's gradient one task of a one-group
/// convolution's backward holds at a time (1 MiB of f32, whole samples): small enough
/// to stay in cache from its product to col2im.
const BACKWARD_BLOCK: usize = 1 << 18;

/// The input gradient (when `input_grad`) and the kernel gradient of a one-group
/// convolution, from the forward's im2col matrix `cols`, the gradient `gp` before its
/// bias and activation, and its kernel `w`. The batch is cut into blocks of whole
/// samples, each a task on one thread, which adds its share of the kernel gradient,
/// colsᵀ · gp, into its own partial sum, and computes its rows of the im2col matrix's
/// gradient, gp · kernelᵀ, into a scratch block that col2im adds onto its samples'
/// pixels while it is still in cache (instead of writing the whole batch's to memory
/// and reading it back). The partial sums are added in block order, and the blocks
/// depend on the shapes alone, so the bits do not depend on the thread count.
fn conv_backward<T: Float>(
    cols: &[T],
    gp: &[T],
    w: &[T],
    g: &Grid,
    cout: usize,
    input_grad: bool,
) -> Result<(Option<Vec<T>>, Vec<T>)> {
    let k = g.taps() * g.c;
    let (pixels, sample, kernel) = (g.oh * g.ow, g.h * g.w * g.c, k * cout);
    if !input_grad {
        // The kernel gradient alone (a first layer): one product, on all threads.
        let mut dw = alloc_for_overwrite::<T>(kernel)?;
        let rows = g.pixels();
        Product::new(
            k,
            cout,
            rows,
            &mut dw,
            Mat::rows_t(cols, k),
            Mat::rows(gp, cout),
        )
        .run();
        return Ok((None, dw));
    }
    let per_block = (BACKWARD_BLOCK / (pixels * k).max(1)).clamp(1, g.n.max(1));
    let blocks = g.n.div_ceil(per_block);
    let mut partial = alloc_for_overwrite::<T>(blocks * kernel)?;
    let mut dx = alloc_for_overwrite::<T>(g.n * sample)?;
    let tasks: Vec<_> = partial
        .chunks_mut(kernel)
        .zip(dx.chunks_mut(per_block * sample))
        .enumerate()
        .collect();
    parallel::try_for_each_task(tasks, |(b, (dw, dx))| -> Result<()> {
        let first = b * per_block;
        let rows = per_block.min(g.n - first) * pixels;
        let cols = &cols[first * pixels * k..][..rows * k];
        let gp = &gp[first * pixels * cout..][..rows * cout];
        Product::new(k, cout, rows, dw, Mat::rows_t(cols, k), Mat::rows(gp, cout)).run_here();
        let mut dcols = alloc_for_overwrite::<T>(rows * k)?;
        Product::new(
            rows,
            k,
            cout,
            &mut dcols,
            Mat::rows(gp, cout),
            Mat::rows_t(w, cout),
        )
        .run_here();
        parallel::vectorized(|| col2im_samples(&dcols, g, 1, dx));
        release(dcols);
        Ok(())
    })?;
    let dw = super::reduce::add_block_sums(partial, kernel)?;
    Ok((Some(dx), dw))
}

/// `dst = lhs · rhs` in `groups` blocks: block `i` is `lhs(i)` (m×k) times `rhs(i)`
/// (k×n), written to columns `i·n..(i+1)·n` of dst (m × groups·n, row-major); then
/// `finish(first column, values)` on the rows, as [`Product::run_then`] does. One group
/// is one product straight into dst; more go through a scratch block each, since gemm
/// writes whole rows.
#[allow(clippy::too_many_arguments)]
fn grouped_product<'a, T: Float>(
    groups: usize,
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [T],
    lhs: impl Fn(usize) -> Mat<'a, T>,
    rhs: impl Fn(usize) -> Mat<'a, T>,
    finish: impl Finish<T> + Send,
) -> Result<()> {
    if groups == 1 {
        Product::new(m, n, k, dst, lhs(0), rhs(0)).run_then(finish);
        return Ok(());
    }
    let width = groups * n;
    let mut scratch = alloc_for_overwrite::<T>(m * n)?;
    for i in 0..groups {
        Product::new(m, n, k, &mut scratch, lhs(i), rhs(i)).run();
        for (d, s) in dst.chunks_exact_mut(width).zip(scratch.chunks_exact(n)) {
            d[i * n..(i + 1) * n].copy_from_slice(s);
        }
    }
    release(scratch);
    parallel::for_each_rows(dst, width, |_, rows| {
        rows.chunks_exact_mut(width)
            .for_each(|r| finish.finish(0, r))
    });
    Ok(())
}

/// Group `i`'s block of `cols` columns of a row-major matrix with `width` columns.
fn block<T>(data: &[T], width: usize, i: usize, cols: usize) -> Mat<'_, T> {
    Mat {
        data: &data[i * cols..],
        rs: width as isize,
        cs: 1,
    }
}

impl<T: Float> Tensor<T> {
    /// `act(conv(x, kernel) + bias)`: a convolution over the spatial axes of `x`
    /// (`(batch, [height,] width, channels)`) with `kernel` (`([kh,] kw, channels /
    /// groups, filters)`, Keras's layout) and `bias` `(filters,)`. The result is
    /// `(batch, [out_height,] out_width, filters)`.
    pub fn conv(
        &self,
        kernel: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        act: Activation,
        options: &ConvOptions,
    ) -> Result<Tensor<T>> {
        let x = self;
        let rank = x.rank();
        if !(rank == 3 || rank == 4) || kernel.rank() != rank {
            bail!(
                Shape,
                "conv: expected an input of rank 3 or 4 (batch, [height,] width, channels) \
                 and a kernel of the same rank, got input shape {} and kernel shape {}",
                fmt_shape(x.shape()),
                fmt_shape(kernel.shape())
            );
        }
        let spatial = rank - 2;
        let ks = kernel.shape();
        let (cin_g, cout, groups) = (ks[spatial], ks[spatial + 1], options.groups);
        let cin = x.shape()[rank - 1];
        if groups == 0 || cin_g * groups != cin || cout % groups != 0 || cout == 0 {
            bail!(
                Shape,
                "conv: the input's {cin} channels must be the kernel's {cin_g} input \
                 channels times `groups`={groups}, and its {cout} filters a positive \
                 multiple of `groups` (input shape {}, kernel shape {})",
                fmt_shape(x.shape()),
                fmt_shape(ks)
            );
        }
        if let Some(b) = bias {
            if b.shape() != [cout] {
                bail!(
                    Shape,
                    "conv: expected a bias of shape ({cout},), got {}",
                    fmt_shape(b.shape())
                );
            }
        }
        let g = Grid::new(
            "conv",
            "kernel_size",
            x.shape(),
            &ks[..spatial],
            &options.strides,
            &options.dilation,
            options.padding,
        )?;
        let (rows, k) = (g.pixels(), g.taps() * cin);
        let (kg, cout_g) = (k / groups, cout / groups);
        let size = std::mem::size_of::<T>();
        let mut out = alloc_for_overwrite::<T>(checked_numel(&[rows, cout], size)?)?;
        let mut inputs = vec![x, kernel];
        inputs.extend(bias);
        let records = is_grad_enabled() && inputs.iter().any(|t| t.requires_grad());
        let (xd, kd) = (x.data(), kernel.data());
        let bias_data = bias.map(|b| b.data());
        let bias_data = bias_data.as_deref().map(|b| &b[..]);
        let epilogue = Epilogue {
            act,
            bias: bias_data,
        };
        let cols = if groups > 1 {
            let mut cols = alloc_for_overwrite::<T>(checked_numel(&[rows, k], size)?)?;
            im2col(&xd, &g, groups, 0, &mut cols);
            grouped_product(
                groups,
                rows,
                cout_g,
                kg,
                &mut out,
                |i| block(&cols, k, i, kg),
                |i| block(&kd, cout, i, cout_g),
                epilogue,
            )?;
            Some(cols)
        } else {
            // Training keeps the whole batch's im2col matrix; inference copies each
            // block into scratch.
            let mut cols = match records {
                true => Some(alloc_for_overwrite::<T>(checked_numel(&[rows, k], size)?)?),
                false => None,
            };
            conv_forward(&xd, &kd, &g, cout, cols.as_deref_mut(), &mut out, epilogue)?;
            cols
        };
        // The backward pass needs the im2col matrix for the kernel gradient: kept while
        // the graph is, and back in the buffer pool when it goes.
        let cols = match (cols, records) {
            (Some(cols), true) => Some(Tensor::from_vec(cols, &[rows, k])?),
            (Some(cols), false) => {
                release(cols);
                None
            }
            (None, _) => None,
        };
        drop((xd, kd, bias_data));
        let shape = g.output_shape(rank, cout);
        Ok(Tensor::from_op(out, shape, &inputs, move |a| {
            let (x, w) = (&a.inputs[0], &a.inputs[1]);
            let (gp, db) = act.grad_and_bias_grad(a.grad, a.output, cout, a.inputs.len() == 3)?;
            let Some(cols) = &cols else {
                bail!(
                    Internal,
                    "conv: backward without the forward's im2col matrix"
                );
            };
            let (cd, gpd, wd) = (cols.data(), gp.data(), w.data());
            let (dx, dw) = match groups {
                1 => conv_backward(&cd, &gpd, &wd, &g, cout, x.requires_grad())?,
                _ => grouped_conv_backward(&cd, &gpd, &wd, &g, groups, cout, x.requires_grad())?,
            };
            let dx = dx.map(|dx| Tensor::from_vec(dx, x.shape())).transpose()?;
            let mut grads = vec![dx, Some(Tensor::from_vec(dw, w.shape())?)];
            if let Some(db) = db {
                grads.push(Some(Tensor::from_vec(db, &[cout])?));
            }
            Ok(grads)
        }))
    }
}

/// [`conv_backward`] for more than one group, from the forward's im2col matrix `cols`:
/// the kernel gradient colsᵀ · gp and the im2col matrix's gradient gp · kernelᵀ, which
/// col2im adds back onto the input pixels, group by group.
fn grouped_conv_backward<T: Float>(
    cols: &[T],
    gp: &[T],
    w: &[T],
    g: &Grid,
    groups: usize,
    cout: usize,
    input_grad: bool,
) -> Result<(Option<Vec<T>>, Vec<T>)> {
    let (rows, k) = (g.pixels(), g.taps() * g.c);
    let (kg, cout_g) = (k / groups, cout / groups);
    let mut dw = alloc_for_overwrite::<T>(kg * cout)?;
    grouped_product(
        groups,
        kg,
        cout_g,
        rows,
        &mut dw,
        |i| block(cols, k, i, kg).t(),
        |i| block(gp, cout, i, cout_g),
        no_finish,
    )?;
    if !input_grad {
        return Ok((None, dw));
    }
    let mut dcols = alloc_for_overwrite::<T>(rows * k)?;
    grouped_product(
        groups,
        rows,
        kg,
        cout_g,
        &mut dcols,
        |i| block(gp, cout, i, cout_g),
        |i| block(w, cout, i, cout_g).t(),
        no_finish,
    )?;
    let mut dx = alloc_for_overwrite::<T>(g.n * g.h * g.w * g.c)?;
    col2im(&dcols, g, groups, &mut dx);
    release(dcols);
    Ok((Some(dx), dw))
}

/// The length of a transposed convolution's output along an axis of `input` positions
/// (Keras's `deconv_output_length` without `output_padding`): the length whose
/// convolution by the same window has `input` positions.
pub fn transposed_output_len(
    input: usize,
    size: usize,
    stride: usize,
    dilation: usize,
    padding: Padding,
) -> usize {
    let span = dilation * (size - 1) + 1;
    match padding {
        Padding::Same => input * stride,
        _ => input * stride + span.saturating_sub(stride),
    }
}

impl<T: Float> Tensor<T> {
    /// `act(conv_transpose(x, kernel) + bias)`: the transposed convolution (Keras's
    /// `Conv2DTranspose`, one or two spatial axes), the adjoint of [`Tensor::conv`] with
    /// the same window: each input pixel spreads its channels times the kernel over an
    /// output window. x `(batch, [height,] width, in)`, kernel `([kh,] kw, filters,
    /// in)` (Keras's layout), bias `(filters,)`. Its forward is conv's input gradient
    /// (a product, then col2im) and its input gradient is conv's forward (im2col, then a
    /// product), on the same GEMM engine.
    pub fn conv_transpose(
        &self,
        kernel: &Tensor<T>,
        bias: Option<&Tensor<T>>,
        act: Activation,
        options: &ConvOptions,
    ) -> Result<Tensor<T>> {
        let x = self;
        let rank = x.rank();
        if !(rank == 3 || rank == 4) || kernel.rank() != rank || options.groups != 1 {
            bail!(
                Shape,
                "conv_transpose: expected an input of rank 3 or 4 (batch, [height,] width, \
                 channels), a kernel of the same rank and one group, got input shape {}, \
                 kernel shape {} and groups={}",
                fmt_shape(x.shape()),
                fmt_shape(kernel.shape()),
                options.groups
            );
        }
        let spatial = rank - 2;
        let ks = kernel.shape();
        let (filters, cin) = (ks[spatial], ks[spatial + 1]);
        if x.shape()[rank - 1] != cin || filters == 0 {
            bail!(
                Shape,
                "conv_transpose: expected an input with {cin} channels (the kernel's last \
                 axis), got input shape {} and kernel shape {}",
                fmt_shape(x.shape()),
                fmt_shape(ks)
            );
        }
        if bias.is_some_and(|b| b.shape() != [filters]) {
            bail!(
                Shape,
                "conv_transpose: expected a bias of shape ({filters},)"
            );
        }
        if options.strides.len() != spatial
            || options.dilation.len() != spatial
            || options.strides.contains(&0)
            || options.dilation.contains(&0)
            || ks[..spatial].contains(&0)
        {
            bail!(
                InvalidArgument,
                "conv_transpose: `kernel_size`, `strides` and `dilation_rate` must be \
                 {spatial} positive integers, got {:?}, {:?} and {:?}",
                &ks[..spatial],
                options.strides,
                options.dilation
            );
        }
        // The grid of the convolution whose adjoint this is: its input is our output.
        let mut out_shape = vec![x.shape()[0]];
        for (i, &k) in ks.iter().enumerate().take(spatial) {
            out_shape.push(transposed_output_len(
                x.shape()[1 + i],
                k,
                options.strides[i],
                options.dilation[i],
                options.padding,
            ));
        }
        out_shape.push(filters);
        let g = Grid::new(
            "conv_transpose",
            "kernel_size",
            &out_shape,
            &ks[..spatial],
            &options.strides,
            &options.dilation,
            options.padding,
        )?;
        let rows = g.pixels();
        if rows * cin != x.numel() {
            bail!(
                Internal,
                "conv_transpose: output shape {} does not map back to input shape {}",
                fmt_shape(&out_shape),
                fmt_shape(x.shape())
            );
        }
        let k = g.taps() * filters;
        let size = std::mem::size_of::<T>();
        let mut dcols = alloc_for_overwrite::<T>(checked_numel(&[rows, k], size)?)?;
        {
            let (xd, kd) = (x.data(), kernel.data());
            // The kernel is `(taps · filters, in)` row-major: x · kernelᵀ.
            Product::new(
                rows,
                k,
                cin,
                &mut dcols,
                Mat::rows(&xd, cin),
                Mat::rows_t(&kd, cin),
            )
            .run();
        }
        let mut out = alloc_for_overwrite::<T>(checked_numel(&out_shape, size)?)?;
        col2im(&dcols, &g, 1, &mut out);
        release(dcols);
        {
            let bias_data = bias.map(|b| b.data());
            let bias_data = bias_data.as_deref().map(Vec::as_slice);
            if bias_data.is_some() || act != Activation::Linear {
                parallel::for_each_rows(&mut out, filters, |_, rows| {
                    rows.chunks_exact_mut(filters)
                        .for_each(|r| act.finish_row(bias_data, 0, r))
                });
            }
        }
        let mut inputs = vec![x, kernel];
        inputs.extend(bias);
        Ok(Tensor::from_op(out, out_shape, &inputs, move |a| {
            let (x, w) = (&a.inputs[0], &a.inputs[1]);
            let (gp, db) =
                act.grad_and_bias_grad(a.grad, a.output, filters, a.inputs.len() == 3)?;
            let mut cols = alloc_for_overwrite::<T>(rows * k)?;
            im2col(&gp.data(), &g, 1, 0, &mut cols);
            let (xd, wd) = (x.data(), w.data());
            let mut dw = alloc_for_overwrite::<T>(w.numel())?;
            let dw_product = Product::new(
                k,
                cin,
                rows,
                &mut dw,
                Mat::rows_t(&cols, k),
                Mat::rows(&xd, cin),
            );
            let dx = if x.requires_grad() {
                let mut dx = alloc_for_overwrite::<T>(x.numel())?;
                gemm_pair(
                    Product::new(
                        rows,
                        cin,
                        k,
                        &mut dx,
                        Mat::rows(&cols, k),
                        Mat::rows(&wd, cin),
                    ),
                    dw_product,
                );
                Some(Tensor::from_vec(dx, x.shape())?)
            } else {
                dw_product.run();
                None
            };
            release(cols);
            let mut grads = vec![dx, Some(Tensor::from_vec(dw, w.shape())?)];
            if let Some(db) = db {
                grads.push(Some(Tensor::from_vec(db, &[filters])?));
            }
            Ok(grads)
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::gradcheck::{check_grad, rand};

    fn options(
        strides: &[usize],
        dilation: &[usize],
        padding: Padding,
        groups: usize,
    ) -> ConvOptions {
        ConvOptions {
            strides: strides.to_vec(),
            dilation: dilation.to_vec(),
            padding,
            groups,
        }
    }

    /// A direct sum over the window, from the definition: the reference for the
    /// im2col path.
    fn naive(x: &Tensor<f64>, w: &Tensor<f64>, b: &Tensor<f64>, o: &ConvOptions) -> Vec<f64> {
        let (xs, ks) = (x.shape().to_vec(), w.shape().to_vec());
        let spatial = xs.len() - 2;
        let g = Grid::new(
            "t",
            "kernel_size",
            &xs,
            &ks[..spatial],
            &o.strides,
            &o.dilation,
            o.padding,
        )
        .unwrap();
        let (xd, wd, bd) = (x.to_vec(), w.to_vec(), b.to_vec());
        let (cg, cout) = (ks[spatial], ks[spatial + 1]);
        let cout_g = cout / o.groups;
        let mut out = vec![];
        for n in 0..g.n {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for f in 0..cout {
                        let group = f / cout_g;
                        let mut s = bd[f];
                        g.for_each_tap(oy, ox, |tap, pixel| {
                            for c in 0..cg {
                                let xv = xd[(n * g.h * g.w + pixel) * g.c + group * cg + c];
                                s += xv * wd[(tap * cg + c) * cout + f];
                            }
                        });
                        out.push(s);
                    }
                }
            }
        }
        out
    }

    #[test]
    fn matches_the_definition() {
        crate::kernels::parallel::set_num_threads(2).unwrap();
        let cases = [
            (
                vec![2, 7, 6, 3],
                vec![3, 3, 3, 4],
                options(&[1, 1], &[1, 1], Padding::Valid, 1),
            ),
            (
                vec![2, 7, 6, 3],
                vec![3, 2, 3, 4],
                options(&[2, 3], &[1, 1], Padding::Same, 1),
            ),
            (
                vec![1, 8, 8, 4],
                vec![3, 3, 2, 6],
                options(&[1, 1], &[2, 2], Padding::Same, 2),
            ),
            (
                vec![3, 9, 2],
                vec![3, 2, 5],
                options(&[1], &[2], Padding::Causal, 1),
            ),
            (
                vec![3, 9, 4],
                vec![2, 1, 4],
                options(&[2], &[1], Padding::Same, 4),
            ),
            // Large enough for the parallel im2col and split products.
            (
                vec![16, 20, 20, 8],
                vec![3, 3, 8, 16],
                options(&[1, 1], &[1, 1], Padding::Same, 1),
            ),
        ];
        for (xs, ks, o) in cases {
            let (x, w, b) = (rand(&xs, 1), rand(&ks, 2), rand(&ks[ks.len() - 1..], 3));
            let got = x
                .conv(&w, Some(&b), Activation::Linear, &o)
                .unwrap()
                .to_vec();
            let want = naive(&x, &w, &b, &o);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-10, "{xs:?} {ks:?} {o:?}: {g} vs {w}");
            }
        }
    }

    /// The forward runs im2col and its product in blocks of rows: the bits of one
    /// product over the whole batch's im2col matrix.
    #[test]
    fn row_blocks_give_the_whole_batch_bits() {
        crate::kernels::parallel::set_num_threads(2).unwrap();
        let o = options(&[1, 1], &[1, 1], Padding::Same, 1);
        let x = Tensor::<f32>::from_vec(
            (0..64 * 13 * 13 * 32usize)
                .map(|i| ((i * 7919 % 1009) as f32) / 1009.0 - 0.5)
                .collect(),
            &[64, 13, 13, 32],
        )
        .unwrap();
        let w = Tensor::<f32>::from_vec(
            (0..9 * 32 * 64usize)
                .map(|i| ((i * 31 % 97) as f32) / 97.0 - 0.5)
                .collect(),
            &[3, 3, 32, 64],
        )
        .unwrap();
        let g = Grid::new(
            "t",
            "k",
            x.shape(),
            &[3, 3],
            &[1, 1],
            &[1, 1],
            Padding::Same,
        )
        .unwrap();
        let (rows, k) = (g.pixels(), 9 * 32);
        assert!(rows * k > FORWARD_BLOCK, "more than one block");
        let mut cols = vec![0.0; rows * k];
        im2col(&x.data(), &g, 1, 0, &mut cols);
        let mut whole = vec![0.0; rows * 64];
        Product::new(
            rows,
            64,
            k,
            &mut whole,
            Mat::rows(&cols, k),
            Mat::rows(&w.data(), 64),
        )
        .run_then(Epilogue {
            act: Activation::Relu,
            bias: None,
        });
        // The blocks depend on the thread count; the bits must not.
        for threads in [2, 1] {
            crate::kernels::parallel::set_num_threads(threads).unwrap();
            let inference = crate::no_grad(|| x.conv(&w, None, Activation::Relu, &o).unwrap());
            let training = x
                .conv(&w.to_variable(), None, Activation::Relu, &o)
                .unwrap();
            assert!(training.requires_grad() && !inference.requires_grad());
            assert_eq!(inference.to_vec(), whole);
            assert_eq!(training.to_vec(), whole);
        }
    }

    /// The backward of one group runs in blocks of samples, each on one thread: the
    /// definition's input and kernel gradients, with the same bits on 1 and 2 threads.
    #[test]
    fn backward_blocks_match_the_definition_on_any_thread_count() {
        let cases = [
            (
                vec![12, 20, 20, 16],
                vec![3, 3, 16, 8],
                options(&[1, 1], &[1, 1], Padding::Valid, 1),
            ),
            (
                vec![20, 40, 40, 8],
                vec![3, 3, 8, 4],
                options(&[2, 2], &[1, 1], Padding::Same, 1),
            ),
        ];
        for (xs, ks, o) in cases {
            let (x, w) = (rand(&xs, 11).to_variable(), rand(&ks, 12).to_variable());
            let g = Grid::new("t", "k", &xs, &ks[..2], &o.strides, &o.dilation, o.padding).unwrap();
            let k = g.taps() * g.c;
            assert!(
                g.n * g.oh * g.ow * k > 2 * BACKWARD_BLOCK,
                "{xs:?}: several blocks"
            );
            let upstream = rand(&g.output_shape(4, ks[3]), 13);
            let grads = |threads| {
                crate::kernels::parallel::set_num_threads(threads).unwrap();
                let y = x.conv(&w, None, Activation::Linear, &o).unwrap();
                let loss = y.mul(&upstream).unwrap().sum(None, false).unwrap();
                let grads = crate::grad(&loss, &[x.clone(), w.clone()]).unwrap();
                (grads[0].to_vec(), grads[1].to_vec())
            };
            let (dx, dw) = grads(2);
            assert_eq!(
                (dx.clone(), dw.clone()),
                grads(1),
                "{xs:?}: bits on 1 and 2 threads"
            );
            let (xd, wd, gd) = (x.to_vec(), w.to_vec(), upstream.to_vec());
            let (mut want_dx, mut want_dw) = (vec![0.0; xd.len()], vec![0.0; wd.len()]);
            let cout = ks[3];
            for n in 0..g.n {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let up = &gd[((n * g.oh + oy) * g.ow + ox) * cout..][..cout];
                        g.for_each_tap(oy, ox, |tap, pixel| {
                            for c in 0..g.c {
                                let at = (n * g.h * g.w + pixel) * g.c + c;
                                for (f, &u) in up.iter().enumerate() {
                                    want_dx[at] += u * wd[(tap * g.c + c) * cout + f];
                                    want_dw[(tap * g.c + c) * cout + f] += u * xd[at];
                                }
                            }
                        });
                    }
                }
            }
            for (got, want) in [(&dx, &want_dx), (&dw, &want_dw)] {
                for (a, b) in got.iter().zip(want) {
                    assert!((a - b).abs() < 1e-9 * (1.0 + b.abs()), "{xs:?}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn gradients() {
        let cases = [
            (
                vec![2, 5, 4, 3],
                vec![3, 3, 3, 2],
                options(&[1, 1], &[1, 1], Padding::Valid, 1),
            ),
            (
                vec![2, 5, 6, 2],
                vec![2, 3, 2, 3],
                options(&[2, 2], &[1, 1], Padding::Same, 1),
            ),
            (
                vec![1, 6, 6, 4],
                vec![2, 2, 2, 4],
                options(&[1, 1], &[2, 2], Padding::Same, 2),
            ),
            (
                vec![2, 7, 3],
                vec![3, 3, 2],
                options(&[1], &[2], Padding::Causal, 1),
            ),
            (
                vec![2, 7, 4],
                vec![3, 2, 4],
                options(&[3], &[1], Padding::Valid, 2),
            ),
        ];
        for (xs, ks, o) in cases {
            let (x, w, b) = (rand(&xs, 4), rand(&ks, 5), rand(&ks[ks.len() - 1..], 6));
            for act in [Activation::Linear, Activation::Tanh] {
                check_grad(&[x.clone(), w.clone(), b.clone()], |t| {
                    t[0].conv(&t[1], Some(&t[2]), act, &o)
                });
            }
            check_grad(&[x.clone(), w.clone()], |t| {
                t[0].conv(&t[1], None, Activation::Sigmoid, &o)
            });
        }
        // The kernel gradient alone, with the input a constant (a first layer).
        let (x, w) = (rand(&[2, 5, 5, 1], 7), rand(&[3, 3, 1, 2], 8));
        check_grad(&[w], |t| {
            x.conv(
                &t[0],
                None,
                Activation::Linear,
                &options(&[1, 1], &[1, 1], Padding::Valid, 1),
            )
        });
    }

    /// The transposed convolution is conv's adjoint: <conv(y, k), x> = <y, conv_t(x, k)>.
    #[test]
    fn transpose_is_the_adjoint_and_has_gradients() {
        for (xs, ks, strides, padding) in [
            (
                vec![2, 3, 4, 3],
                vec![3, 3, 2, 3],
                vec![2, 2],
                Padding::Same,
            ),
            (
                vec![2, 3, 3, 2],
                vec![3, 2, 4, 2],
                vec![2, 1],
                Padding::Valid,
            ),
            (
                vec![1, 4, 4, 2],
                vec![1, 1, 3, 2],
                vec![3, 3],
                Padding::Valid,
            ),
            (vec![2, 5, 2], vec![3, 3, 2], vec![2], Padding::Same),
        ] {
            let o = options(&strides, &vec![1; strides.len()], padding, 1);
            let (x, kt) = (rand(&xs, 1), rand(&ks, 2));
            let y_t = x.conv_transpose(&kt, None, Activation::Linear, &o).unwrap();
            let y = rand(y_t.shape(), 3);
            // conv's kernel (taps, in=filters, out=channels) is the transpose's kernel.
            let forward = y.conv(&kt, None, Activation::Linear, &o).unwrap();
            assert_eq!(forward.shape(), x.shape());
            let dot = |a: &Tensor<f64>, b: &Tensor<f64>| -> f64 {
                a.to_vec().iter().zip(&b.to_vec()).map(|(p, q)| p * q).sum()
            };
            assert!((dot(&forward, &x) - dot(&y, &y_t)).abs() < 1e-10);
            let b = rand(&ks[ks.len() - 2..ks.len() - 1], 4);
            check_grad(&[x, kt, b], |t| {
                t[0].conv_transpose(&t[1], Some(&t[2]), Activation::Tanh, &o)
            });
        }
    }

    #[test]
    fn bad_geometry_is_refused() {
        let o = options(&[1, 1], &[1, 1], Padding::Valid, 1);
        let x = Tensor::<f32>::ones(&[1, 2, 2, 1]).unwrap();
        let err = x
            .conv(
                &Tensor::ones(&[3, 3, 1, 1]).unwrap(),
                None,
                Activation::Linear,
                &o,
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("kernel_size") && err.contains("larger"),
            "{err}"
        );
        let same = options(&[1, 1], &[1, 1], Padding::Same, 1);
        assert_eq!(
            x.conv(
                &Tensor::ones(&[3, 3, 1, 1]).unwrap(),
                None,
                Activation::Linear,
                &same
            )
            .unwrap()
            .shape(),
            &[1, 2, 2, 1]
        );
        let grouped = options(&[1, 1], &[1, 1], Padding::Valid, 2);
        let err = Tensor::<f32>::ones(&[1, 4, 4, 3])
            .unwrap()
            .conv(
                &Tensor::ones(&[1, 1, 1, 2]).unwrap(),
                None,
                Activation::Linear,
                &grouped,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("groups"), "{err}");
        assert!(Tensor::<f32>::ones(&[4, 3])
            .unwrap()
            .conv(
                &Tensor::ones(&[1, 3, 2]).unwrap(),
                None,
                Activation::Linear,
                &o
            )
            .is_err());
    }

    /// A training step in steady state takes its buffers from the pool.
    #[test]
    fn steady_state_steps_allocate_no_large_buffers() {
        use crate::kernels::pool::FRESH_LARGE_BUFFERS;
        crate::kernels::parallel::set_num_threads(1).unwrap();
        let x = Tensor::<f32>::from_vec(vec![0.5; 8 * 12 * 12 * 4], &[8, 12, 12, 4]).unwrap();
        let w = Tensor::<f32>::from_vec(vec![0.1; 3 * 3 * 4 * 8], &[3, 3, 4, 8])
            .unwrap()
            .to_variable();
        let o = options(&[1, 1], &[1, 1], Padding::Valid, 1);
        let step = || {
            let y = x.conv(&w, None, Activation::Relu, &o).unwrap();
            let loss = y.sum(None, false).unwrap();
            crate::grad(&loss, std::slice::from_ref(&w)).unwrap();
        };
        step();
        step();
        let before = FRESH_LARGE_BUFFERS.with(|c| c.get());
        step();
        assert_eq!(FRESH_LARGE_BUFFERS.with(|c| c.get()), before);
    }
}
