//! The one thread pool, and the helpers that split work over it.
//!
//! Results never depend on the number of threads: work is cut into chunks whose size
//! depends only on the data, and partial results are combined in chunk order.

use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};
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
            .start_handler(|_| {
                flush_subnormals_to_zero();
                IN_KANDLE_POOL.set(true);
            })
            .build()
            .expect("failed to start kandle's thread pool"),
    )
}

/// Makes this thread's float arithmetic treat subnormal inputs and results as zero
/// (FTZ and DAZ on x86-64, FZ on AArch64), as TensorFlow's CPU threads do. Adam's
/// momentum decays towards subnormals wherever a gradient is exactly zero (dead relu
/// units, constant input pixels), and arithmetic on them takes a slow microcode path,
/// which made later epochs of an Adam fit slower than the first
/// (`benchmarks/README.md`).
/// Every pool thread runs in this mode, so results still never depend on the thread
/// count.
fn flush_subnormals_to_zero() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: reads and writes this thread's MXCSR register only.
    unsafe {
        let mut csr = 0u32;
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack));
        csr |= (1 << 15) | (1 << 6); // FTZ, DAZ
        std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, readonly));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: reads and writes this thread's FPCR register only.
    unsafe {
        let mut fpcr: u64;
        std::arch::asm!("mrs {}, fpcr", out(reg) fpcr, options(nomem, nostack));
        fpcr |= 1 << 24; // FZ
        std::arch::asm!("msr fpcr, {}", in(reg) fpcr, options(nomem, nostack));
    }
}

fn slot() -> &'static RwLock<Arc<rayon::ThreadPool>> {
    POOL.get_or_init(|| {
        #[cfg(unix)]
        watch_forks();
        RwLock::new(build(default_threads()))
    })
}

/// Set in a child process forked after the pool started: the pool's threads did not
/// come along (fork copies only the forking thread), so work sent to them would wait
/// forever.
static FORKED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
fn watch_forks() {
    extern "C" fn in_child() {
        FORKED.store(true, Ordering::Relaxed);
    }
    // SAFETY: registers a handler that only stores to an atomic (async-signal-safe).
    unsafe {
        libc::pthread_atfork(None, None, Some(in_child));
    }
}

/// The pool all parallel work runs on.
pub fn pool() -> Arc<rayon::ThreadPool> {
    if FORKED.swap(false, Ordering::Relaxed) {
        // In a forked child: a new pool of the same size. The old one is leaked, not
        // dropped: dropping it would signal threads that do not exist here.
        let mut slot = slot().write().unwrap_or_else(|e| e.into_inner());
        let threads = slot.current_num_threads();
        std::mem::forget(std::mem::replace(&mut *slot, build(threads)));
    }
    slot().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Runs `f` on the pool: right here when this thread is already one of a pool's
/// workers (inside a parallel op, or a [`run_hot`] run), else by `install`. Work that
/// starts in a pool stays there even when [`set_num_threads`] replaces the pool
/// meanwhile: a worker that hopped into the new pool would leave its own pool's
/// pollers waiting for it.
pub fn in_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match IN_KANDLE_POOL.get() {
        true => f(),
        false => pool().install(f),
    }
}

thread_local! {
    /// Whether this thread is a worker of one of kandle's pools (set as it starts).
    static IN_KANDLE_POOL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
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

/// Runs `f` on a worker of the pool while the other workers stay awake, polling for
/// the parallel parts of `f` instead of sleeping between them. A training step is a
/// string of short parallel products with serial work in between, and a sleeping worker
/// takes many times longer to wake for each than one that polls
/// (`benchmarks/README.md`). The pollers
/// yield the core to the OS whenever they find nothing to do, and stop when `f` ends.
/// One such run at a time: two could each end up polling inside the other (a worker
/// waiting in one run steals the other's poller), and neither would return.
pub fn run_hot<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    static HOT: AtomicBool = AtomicBool::new(false);
    let pool = pool();
    let threads = pool.current_num_threads();
    let hot = threads > 1
        && HOT
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok();
    if !hot {
        return pool.install(f);
    }
    // Cleared on the way out, panics included.
    struct SetOnDrop<'a>(&'a AtomicBool, bool);
    impl Drop for SetOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(self.1, Ordering::Release);
        }
    }
    let _hot = SetOnDrop(&HOT, false);
    pool.install(|| {
        let done = AtomicBool::new(false);
        rayon::scope(|s| {
            // Spawned first, so thieves (which take the oldest job) take these before
            // any job of `f`: this thread never runs a poller itself while `f` runs.
            for _ in 1..threads {
                s.spawn(|_| {
                    while !done.load(Ordering::Acquire) {
                        if rayon::yield_now() != Some(rayon::Yield::Executed) {
                            std::thread::yield_now();
                        }
                    }
                });
            }
            // Set on the way out, panics included, so that the scope can end.
            let _done = SetOnDrop(&done, true);
            f()
        })
    })
}

/// Runs `f` compiled for the widest vector instructions this CPU has (AVX-512, AVX2
/// and FMA, or the baseline), chosen at run time: the wheel targets baseline x86-64,
/// whose 4-wide SSE made Adam's pass (a sqrt and a division per weight) a visible share
/// of a training step (`benchmarks/README.md`). Loops in `f` that the compiler
/// vectorizes get the wide registers when `f` is inlined here, which closures passed
/// straight in are. The bits do not change: each element still sees the same IEEE
/// operations (Rust never fuses a multiply and an add on its own).
/// With `KANDLE_CPU=avx2` ([`super::cpu`]), AVX2 and FMA even where AVX-512 is there.
///
/// The compiler does not inline a big closure into each instruction set's copy, and
/// compiles it for the baseline instead. A loop too big for that is a `pulp::WithSimd`
/// op, whose `#[inline(always)]` `with_simd` always is (see `ops/pool.rs`).
#[inline(always)]
pub fn vectorized<Op: pulp::WithSimd>(op: Op) -> Op::Output {
    #[cfg(target_arch = "x86_64")]
    if super::cpu::avx2_forced() {
        if let Some(simd) = pulp::x86::V3::try_new() {
            return pulp::Simd::vectorize(simd, op);
        }
    }
    pulp::Arch::new().dispatch(op)
}

/// `out[i] = f(i-th chunk ...)`: applies `f` to matching chunks of `out` (and the chunk
/// start offset), in parallel when `out` is large.
pub fn for_each_chunk<T: Send>(out: &mut [T], f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if out.len() < PAR_THRESHOLD || num_threads() == 1 {
        vectorized(|| f(0, out));
    } else {
        in_pool(|| {
            out.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(i, c)| vectorized(|| f(i * CHUNK, c)))
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
        vectorized(|| f(0, out));
    } else {
        let rows_per_chunk = CHUNK.div_ceil(row);
        in_pool(|| {
            out.par_chunks_mut(rows_per_chunk * row)
                .enumerate()
                .for_each(|(i, c)| vectorized(|| f(i * rows_per_chunk, c)))
        });
    }
}

/// `f(i, a's i-th chunk, b's i-th chunk)` for chunks of `a_len` elements of `a` and
/// `b_len` of `b` (two outputs cut at the same places), in parallel when `a` is large.
pub fn for_each_chunk_pair<A: Send, B: Send>(
    a: &mut [A],
    a_len: usize,
    b: &mut [B],
    b_len: usize,
    f: impl Fn(usize, &mut [A], &mut [B]) + Sync + Send,
) {
    if a.len() < PAR_THRESHOLD || num_threads() == 1 {
        let pairs = a.chunks_mut(a_len.max(1)).zip(b.chunks_mut(b_len.max(1)));
        vectorized(|| pairs.enumerate().for_each(|(i, (a, b))| f(i, a, b)));
    } else {
        in_pool(|| {
            a.par_chunks_mut(a_len.max(1))
                .zip(b.par_chunks_mut(b_len.max(1)))
                .enumerate()
                .for_each(|(i, (a, b))| vectorized(|| f(i, a, b)))
        });
    }
}

/// `task(t)` for each of `tasks` (independent blocks of one job, each sized for one
/// thread), in parallel when there are several and the pool has more than one thread;
/// the first error, if any.
pub fn try_for_each_task<I: Send, E: Send>(
    tasks: Vec<I>,
    task: impl Fn(I) -> Result<(), E> + Sync + Send,
) -> Result<(), E> {
    if tasks.len() > 1 && num_threads() > 1 {
        in_pool(|| tasks.into_par_iter().try_for_each(task))
    } else {
        tasks.into_iter().try_for_each(task)
    }
}

/// Deterministic sum of `f(i)` over `0..n`: fixed chunks, each summed in order, partial
/// sums combined in order. The same bits for any thread count.
pub fn chunked_sum<T, F>(n: usize, f: F) -> T
where
    T: super::Float,
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
        in_pool(|| (0..chunks).into_par_iter().map(chunk_sum).collect())
    };
    partials.into_iter().fold(T::zero(), |a, b| a + b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn pool_threads_flush_subnormals_to_zero() {
        use std::hint::black_box;
        let tiny = f32::MIN_POSITIVE;
        // On this (non-pool) thread, IEEE gradual underflow.
        assert!((black_box(tiny) / black_box(4.0f32)).is_subnormal());
        for threads in [1, 2] {
            set_num_threads(threads).unwrap();
            let (product, input) = pool().install(|| {
                let sub = f32::from_bits(1); // the smallest subnormal
                (
                    black_box(tiny) / black_box(4.0f32),
                    black_box(sub) * black_box(2.0f32),
                )
            });
            assert_eq!(product.to_bits(), 0, "FTZ: subnormal results are zero");
            assert_eq!(input.to_bits(), 0, "DAZ: subnormal inputs are zero");
        }
    }

    /// Hot runs on several threads end while another thread keeps replacing the pool
    /// (`set_num_threads`): work that starts in a pool finishes there ([`in_pool`]).
    /// Before, a run's parallel ops hopped into the new pool and, now and then, a run
    /// never ended.
    #[test]
    fn hot_runs_end_while_the_pool_is_replaced() {
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    set_num_threads(1 + n % 3).unwrap();
                    n += 1;
                }
            });
            let runs: Vec<_> = (0..3)
                .map(|t| {
                    s.spawn(move || {
                        for _ in 0..40 {
                            let sum =
                                run_hot(|| chunked_sum(PAR_THRESHOLD, |j| (j % 5 + t) as f64));
                            let want: f64 = (0..PAR_THRESHOLD).map(|j| (j % 5 + t) as f64).sum();
                            assert_eq!(sum, want);
                        }
                    })
                })
                .collect();
            for run in runs {
                run.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
        });
        set_num_threads(2).unwrap();
    }

    /// Runs of `run_hot` from several threads at once, and a panic inside one, all end.
    #[test]
    fn hot_runs_from_many_threads_end() {
        set_num_threads(2).unwrap();
        let sums: Vec<f64> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..4)
                .map(|t| {
                    s.spawn(move || {
                        run_hot(|| {
                            (0..200)
                                .map(|i| chunked_sum(PAR_THRESHOLD + i, |j| (j % 7 + t) as f64))
                                .sum::<f64>()
                        })
                    })
                })
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        for (t, &sum) in sums.iter().enumerate() {
            let want: f64 = (0..200)
                .map(|i| {
                    (0..PAR_THRESHOLD + i)
                        .map(|j| (j % 7 + t) as f64)
                        .sum::<f64>()
                })
                .sum();
            assert_eq!(sum, want);
        }
        let caught = std::panic::catch_unwind(|| run_hot(|| panic!("inside")));
        assert!(caught.is_err());
        assert_eq!(run_hot(|| 3), 3, "a run after a panic");
    }

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
