//! Reuse of large tensor buffers, so that a training step in steady state gets its
//! buffers from the previous step instead of from the system allocator (whose large
//! allocations come back as fresh pages that the kernel must zero on every step).

use super::Float;
use std::sync::Mutex;

/// Buffers smaller than this go straight to the allocator, which handles them well.
pub(crate) const MIN_ELEMENTS: usize = 1 << 12;
/// At most this many idle buffers are kept.
const MAX_BUFFERS: usize = 64;

/// Idle buffers of one element type.
pub struct BufferPool<T>(Mutex<Vec<Vec<T>>>);

impl<T: Float> BufferPool<T> {
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
        Some(idle.swap_remove(best))
    }

    /// Keeps `buffer`, values and all, for a later [`BufferPool::take`].
    pub(crate) fn give(&self, buffer: Vec<T>) {
        if buffer.capacity() < MIN_ELEMENTS {
            return;
        }
        let mut idle = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_BUFFERS {
            idle.push(buffer);
        }
    }
}

impl<T: Float> Default for BufferPool<T> {
    fn default() -> Self {
        Self::new()
    }
}
