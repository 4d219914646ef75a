//! The one thread pool, and the helpers that split work over it.
//!
//! Results never depend on the number of threads: work is cut into chunks whose size
//! depends only on the data, and partial results are combined in chunk order.

use rayon::prelude::*;
use std::sync::{Arc, OnceLock, RwLock};

/// Work below this many elements runs on the calling thread: spawning costs more.
pub const PAR_THRESHOLD: usize = 1 << 18;
/// Gathering scattered rows waits on memory more than it computes, so it gains from a
/// second thread from this many elements on (a batch of 42 MNIST rows).
pub const GATHER_PAR_THRESHOLD: usize = 1 << 15;
/// Elements per chunk of a parallel elementwise op or reduction.
pub const CHUNK: usize = 1 << 13;

static POOL: OnceLock<RwLock<Arc<rayon::ThreadPool>>> = OnceLock::new();

fn default_threads() -> usize {
    std::env::var("KANDLE_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(num_cpus::get_physical)
        .max(1)
}

fn build(n: usize) -> Arc<rayon::ThreadPool> {
    Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("kandle-{i}"))
            .build()
            .expect("failed to start kandle's thread pool"),
    )
}

fn slot() -> &'static RwLock<Arc<rayon::ThreadPool>> {
    POOL.get_or_init(|| RwLock::new(build(default_threads())))
}

/// The pool all parallel work runs on.
pub fn pool() -> Arc<rayon::ThreadPool> {
    slot().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Number of threads of the pool.
pub fn num_threads() -> usize {
    pool().current_num_threads()
}

/// Replaces the pool by one of `n` threads (`n >= 1`).
pub fn set_num_threads(n: usize) -> crate::Result<()> {
    if n == 0 {
        crate::bail!(InvalidArgument, "set_num_threads: n must be >= 1, got 0");
    }
    if n != num_threads() {
        *slot().write().unwrap_or_else(|e| e.into_inner()) = build(n);
    }
    Ok(())
}

/// `out[i] = f(i-th chunk ...)`: applies `f` to matching chunks of `out` (and the chunk
/// start offset), in parallel when `out` is large.
pub fn for_each_chunk<T: Send>(out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if out.len() < PAR_THRESHOLD || num_threads() == 1 {
        f(0, out);
    } else {
        pool().install(|| {
            out.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(i, c)| f(i * CHUNK, c))
        });
    }
}

/// Same as [`for_each_chunk`] but in rows of `row` elements: `f(first_row, rows)`.
pub fn for_each_rows<T: Send>(
    out: &mut [T],
    row: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    for_each_rows_above(PAR_THRESHOLD, out, row, f)
}

/// [`for_each_rows`], in parallel from `min_len` elements of `out`.
pub fn for_each_rows_above<T: Send>(
    min_len: usize,
    out: &mut [T],
    row: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let row = row.max(1);
    if out.len() < min_len || num_threads() == 1 {
        f(0, out);
    } else {
        let rows_per_chunk = CHUNK.div_ceil(row);
        pool().install(|| {
            out.par_chunks_mut(rows_per_chunk * row)
                .enumerate()
                .for_each(|(i, c)| f(i * rows_per_chunk, c))
        });
    }
}

/// Deterministic sum of `f(i)` over `0..n`: fixed chunks, each summed in order, partial
/// sums combined in order. The same bits for any thread count.
pub fn chunked_sum<T, F>(n: usize, f: F) -> T
where
    T: crate::Float,
    F: Fn(usize) -> T + Sync + Send,
{
    let chunk_sum = |c: usize| {
        let end = ((c + 1) * CHUNK).min(n);
        (c * CHUNK..end).fold(T::zero(), |acc, i| acc + f(i))
    };
    let chunks = n.div_ceil(CHUNK);
    let partials: Vec<T> = if n < PAR_THRESHOLD || num_threads() == 1 {
        (0..chunks).map(chunk_sum).collect()
    } else {
        pool().install(|| (0..chunks).into_par_iter().map(chunk_sum).collect())
    };
    partials.into_iter().fold(T::zero(), |a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_sum_is_the_same_for_any_thread_count() {
        let n = 3 * PAR_THRESHOLD + 7;
        let f = |i: usize| ((i as f32) * 0.37).sin();
        set_num_threads(1).unwrap();
        let a = chunked_sum(n, f);
        set_num_threads(2).unwrap();
        let b = chunked_sum(n, f);
        assert_eq!(a.to_bits(), b.to_bits());
    }
}
