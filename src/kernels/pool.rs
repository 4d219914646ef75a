//! Buffers for tensors and scratch space, with reuse of large ones, so that a training
//! step in steady state gets its buffers from the previous step instead of from the
//! system allocator (whose large allocations come back as fresh pages that the kernel
//! must zero on every step).

use super::Float;
use crate::error::Result;
use std::sync::Mutex;

/// Buffers smaller than this go straight to the allocator, which handles them well.
pub(crate) const MIN_ELEMENTS: usize = 1 << 12;
/// At most this many idle buffers are kept, the most recently given.
const MAX_BUFFERS: usize = 64;

/// Idle buffers of one element type.
pub struct BufferPool<T>(Mutex<Vec<Vec<T>>>);

impl<T: Float> BufferPool<T> {
    /// An empty pool (a `const fn`, for the per-type statics).
    pub const fn new() -> Self {
        BufferPool(Mutex::new(Vec::new()))
    }

    /// An idle buffer able to hold `n` elements without growing, if one fits well
    /// (capacity at most twice `n`).
    pub(crate) fn take(&self, n: usize) -> Option<Vec<T>> {
        if n < MIN_ELEMENTS {
            return None;
        }
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let best = idle
            .iter()
            .enumerate()
            .filter(|(_, b)| b.capacity() >= n && b.capacity() <= 2 * n)
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)?;
        Some(idle.remove(best))
    }

    /// Keeps `buffer`, values and all, for a later [`BufferPool::take`]. A full pool
    /// lets its longest-idle buffer go instead: buffers that no step takes back (one an
    /// op allocated itself, a step after step) must not crowd out those every step
    /// reuses.
    pub(crate) fn give(&self, buffer: Vec<T>) {
        if buffer.capacity() < MIN_ELEMENTS {
            return;
        }
        let evicted = {
            let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let oldest = (idle.len() == MAX_BUFFERS).then(|| idle.remove(0));
            idle.push(buffer);
            oldest
        };
        drop(evicted); // freed outside the lock
    }
}

impl<T: Float> Default for BufferPool<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A zero-filled buffer of `n` elements, or an allocation error instead of an abort.
pub(crate) fn alloc<T: Float>(n: usize) -> Result<Vec<T>> {
    pooled_or_fresh(n, true)
}

/// A buffer of `n` elements for an op that writes every one of them: a reused buffer
/// keeps its old values instead of being zeroed first.
pub(crate) fn alloc_for_overwrite<T: Float>(n: usize) -> Result<Vec<T>> {
    pooled_or_fresh(n, false)
}

/// Hands a scratch buffer from [`alloc_for_overwrite`] back to the pool.
pub(crate) fn release<T: Float>(buffer: Vec<T>) {
    T::pool().give(buffer);
}

/// A buffer from the pool (zeroed if asked), or a new zeroed one.
fn pooled_or_fresh<T: Float>(n: usize, zeroed: bool) -> Result<Vec<T>> {
    let Some(mut v) = T::pool().take(n) else {
        return fresh_zeroed(n);
    };
    if zeroed {
        v.clear();
    }
    v.truncate(n);
    v.resize(n, T::zero());
    Ok(v)
}

#[cfg(test)]
thread_local! {
    /// Buffers of at least the pool's minimum size this thread got from the allocator:
    /// tests check that steady-state training steps need none.
    pub(crate) static FRESH_LARGE_BUFFERS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A new zeroed buffer from the allocator. Zeroed allocation (calloc) maps fresh
/// pages that are already zero instead of writing every byte.
fn fresh_zeroed<T: Float>(n: usize) -> Result<Vec<T>> {
    #[cfg(test)]
    if n >= MIN_ELEMENTS {
        FRESH_LARGE_BUFFERS.with(|c| c.set(c.get() + 1));
    }
    let too_large = || {
        crate::Error::Allocation(format!(
            "cannot allocate {n} elements of {} ({} bytes)",
            T::DTYPE,
            n.saturating_mul(std::mem::size_of::<T>())
        ))
    };
    let layout = std::alloc::Layout::array::<T>(n).map_err(|_| too_large())?;
    if layout.size() == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the layout has a non-zero size; all-zero bits are 0.0 for f32 and f64 (the
    // only `Float`s), so the `n` elements are initialized; the Vec takes ownership of the
    // allocation with the same layout (capacity n of T).
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout) as *mut T;
        if ptr.is_null() {
            return Err(too_large());
        }
        Ok(Vec::from_raw_parts(ptr, n, n))
    }
}

#[cfg(test)]
mod tests {
    use super::{BufferPool, MAX_BUFFERS, MIN_ELEMENTS};

    /// Buffers that nobody takes back (a copy an op made itself, given at every step)
    /// fill the pool; the next buffer given must still be kept, and the oldest idle one
    /// let go, so that the buffers a step reuses keep coming back.
    #[test]
    fn a_full_pool_keeps_the_newest_buffers() {
        let pool = BufferPool::<f32>::new();
        let (unused, reused) = (MIN_ELEMENTS * 3, MIN_ELEMENTS * 7);
        for _ in 0..MAX_BUFFERS {
            pool.give(vec![0.0; unused]);
        }
        pool.give(vec![0.0; reused]);
        let taken = pool.take(reused).expect("the newest buffer is kept");
        assert_eq!(taken.capacity(), reused);
        assert_eq!(pool.0.lock().unwrap().len(), MAX_BUFFERS - 1);
        // A buffer is only handed out for a size it fits well.
        assert!(pool.take(unused * 3).is_none());
        assert!(pool.take(unused).is_some());
    }
}
