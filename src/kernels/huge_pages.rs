//! [`HugePageAllocator`]: a global allocator that backs large buffers with 2 MiB pages.
//!
//! A training step streams every weight, gradient and optimizer slot. For a model of a
//! few layers of hundreds of units under Adam, in 4 KiB pages that is more pages than
//! the CPU's TLB holds, so each step pays page walks, and more of them miss the cache
//! when a neighbour shares it. In 2 MiB pages it is a few dozen entries. The gain is
//! measured in `benchmarks/README.md`.
//!
//! Linux gives huge pages to memory that asks for them (`madvise(MADV_HUGEPAGE)`) when
//! transparent huge pages are in `madvise` mode, its usual default. Elsewhere, and for
//! small or over-aligned allocations, this allocator is the system's.
//!
//! The Python extension uses it; a Rust program opts in with
//! `#[global_allocator] static A: kandle::kernels::huge_pages::HugePageAllocator = kandle::kernels::huge_pages::HugePageAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};

/// The size of a huge page, and the alignment of large allocations.
pub const HUGE_PAGE: usize = 2 << 20;
/// Allocations of at least this many bytes get huge pages. Their size is rounded up to
/// whole huge pages (at most doubling it, for sizes near this bound), since the kernel
/// only uses a huge page for an aligned 2 MiB range that lies wholly inside a mapping.
/// 1 MiB takes in a 512×512 f32 weight, its gradient and its slots.
pub const MIN_HUGE: usize = 1 << 20;

/// The system allocator, except that on Linux allocations of [`MIN_HUGE`] bytes or more
/// are aligned to [`HUGE_PAGE`] and marked for huge pages.
pub struct HugePageAllocator;

/// The layout a block of `layout` asks of the system allocator when it gets huge pages:
/// whole huge pages, aligned to one. None when it does not: off Linux, below
/// [`MIN_HUGE`], over-aligned, or too close to `isize::MAX` to round up. `dealloc` and
/// `realloc` decide from the same layout, so each block is freed as it was allocated.
fn huge(layout: &Layout) -> Option<Layout> {
    let wanted = cfg!(target_os = "linux") && layout.size() >= MIN_HUGE;
    if !wanted || layout.align() > HUGE_PAGE {
        return None;
    }
    Layout::from_size_align(layout.size().div_ceil(HUGE_PAGE) * HUGE_PAGE, HUGE_PAGE).ok()
}

/// Asks the kernel to back `len` bytes at `ptr` with huge pages when it first touches
/// them. Failure (a kernel without transparent huge pages) leaves ordinary pages, which
/// are still correct, so it is ignored.
unsafe fn advise(ptr: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    libc::madvise(ptr.cast(), len, libc::MADV_HUGEPAGE);
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, len);
}

/// A block of `huge` from the system allocator, advised before anything touches it (so
/// that the first touch maps huge pages), with its first `zero` bytes zeroed. Reuse of
/// freed blocks is left to the system allocator, as for any large block: gemm asks for
/// its packing buffers on every product.
unsafe fn alloc_huge(huge: Layout, zero: usize) -> *mut u8 {
    let ptr = System.alloc(huge);
    if !ptr.is_null() {
        advise(ptr, huge.size());
        ptr.write_bytes(0, zero);
    }
    ptr
}

// SAFETY: every block comes from `System`. A huge one is allocated and freed with the
// layout `huge` gives for its own layout, which is at least as large and at least as
// aligned, and `huge` gives the same answer for the same layout every time.
unsafe impl GlobalAlloc for HugePageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match huge(&layout) {
            Some(h) => alloc_huge(h, 0),
            None => System.alloc(layout),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match huge(&layout) {
            Some(h) => alloc_huge(h, layout.size()),
            None => System.alloc_zeroed(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, huge(&layout).unwrap_or(layout))
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees that `new_size`, rounded up to the alignment,
        // does not overflow isize.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (huge(&layout), huge(&new_layout)) {
            (None, None) => return System.realloc(ptr, layout, new_size),
            (Some(old), Some(new)) if old == new => return ptr, // the same huge pages
            _ => {}
        }
        let new_ptr = self.alloc(new_layout);
        if !new_ptr.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new_ptr, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new_ptr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 4).unwrap()
    }

    /// Writes a pattern over the whole block, then checks it.
    unsafe fn fill_and_check(ptr: *mut u8, size: usize) {
        for i in (0..size).step_by(4093) {
            *ptr.add(i) = (i % 251) as u8;
        }
        *ptr.add(size - 1) = 7;
        for i in (0..size - 1).step_by(4093) {
            assert_eq!(*ptr.add(i), (i % 251) as u8);
        }
        assert_eq!(*ptr.add(size - 1), 7);
    }

    #[test]
    fn large_blocks_are_aligned_zeroed_and_writable() {
        let a = HugePageAllocator;
        for size in [MIN_HUGE, 3 << 20, HUGE_PAGE, MIN_HUGE - 1, 100] {
            unsafe {
                let ptr = a.alloc_zeroed(layout(size));
                assert!(!ptr.is_null());
                if cfg!(target_os = "linux") && size >= MIN_HUGE {
                    assert_eq!(ptr as usize % HUGE_PAGE, 0, "size {size}");
                }
                assert!((0..size).all(|i| *ptr.add(i) == 0), "size {size}");
                fill_and_check(ptr, size);
                a.dealloc(ptr, layout(size));
            }
        }
    }

    #[test]
    fn a_freed_block_given_again_is_zeroed() {
        let a = HugePageAllocator;
        let size = 3 << 20;
        unsafe {
            let first = a.alloc(layout(size));
            first.write_bytes(0xff, size);
            a.dealloc(first, layout(size));
            let again = a.alloc_zeroed(layout(size));
            assert!((0..size).all(|i| *again.add(i) == 0));
            a.dealloc(again, layout(size));
        }
    }

    #[test]
    fn realloc_keeps_the_contents_across_the_threshold() {
        let a = HugePageAllocator;
        // small -> huge -> huge in the same pages -> huge in more pages -> small
        let sizes = [4096, MIN_HUGE + 5, MIN_HUGE + 9, 5 << 20, 1000];
        unsafe {
            let mut ptr = a.alloc(layout(sizes[0]));
            let mut size = sizes[0];
            for b in 0..size {
                *ptr.add(b) = (b % 253) as u8;
            }
            for &new_size in &sizes[1..] {
                ptr = a.realloc(ptr, layout(size), new_size);
                assert!(!ptr.is_null());
                let kept = size.min(new_size);
                assert!(
                    (0..kept).all(|b| *ptr.add(b) == (b % 253) as u8),
                    "{size} -> {new_size}"
                );
                for b in kept..new_size {
                    *ptr.add(b) = (b % 253) as u8;
                }
                size = new_size;
            }
            a.dealloc(ptr, layout(size));
        }
    }

    #[test]
    fn over_aligned_layouts_go_to_the_system_allocator() {
        let a = HugePageAllocator;
        let big_align = Layout::from_size_align(MIN_HUGE, 2 * HUGE_PAGE).unwrap();
        assert!(huge(&big_align).is_none());
        unsafe {
            let ptr = a.alloc(big_align);
            assert!(!ptr.is_null());
            assert_eq!(ptr as usize % (2 * HUGE_PAGE), 0);
            fill_and_check(ptr, MIN_HUGE);
            a.dealloc(ptr, big_align);
        }
    }

    #[test]
    fn which_layouts_get_huge_pages() {
        let at = |size| huge(&layout(size));
        assert_eq!(at(MIN_HUGE - 1), None);
        let want = |pages| Layout::from_size_align(pages * HUGE_PAGE, HUGE_PAGE).ok();
        if cfg!(target_os = "linux") {
            assert_eq!(at(MIN_HUGE), want(1));
            assert_eq!(at(HUGE_PAGE + 1), want(2));
        }
        // Too close to isize::MAX to round up to whole huge pages: the system's.
        assert_eq!(at(isize::MAX as usize - 3), None);
    }

    /// The mapping holding a large block is marked for huge pages (`hg` in its VmFlags),
    /// wherever the kernel has transparent huge pages at all.
    #[cfg(target_os = "linux")]
    #[test]
    fn large_blocks_ask_for_huge_pages() {
        if !std::path::Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists() {
            return; // a kernel without transparent huge pages: nothing to ask for
        }
        let a = HugePageAllocator;
        let size = 3 << 20;
        unsafe {
            let ptr = a.alloc(layout(size));
            let flags = vm_flags_of(ptr as usize).expect("the block is mapped");
            a.dealloc(ptr, layout(size));
            assert!(
                flags.split_whitespace().any(|f| f == "hg"),
                "VmFlags: {flags}"
            );
        }
    }

    /// The VmFlags line of the mapping in /proc/self/smaps that contains `addr`.
    #[cfg(target_os = "linux")]
    fn vm_flags_of(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let range = line
                .split_whitespace()
                .next()
                .and_then(|r| r.split_once('-'));
            let bounds = range.and_then(|(lo, hi)| {
                Some((
                    usize::from_str_radix(lo, 16).ok()?,
                    usize::from_str_radix(hi, 16).ok()?,
                ))
            });
            if let Some((lo, hi)) = bounds {
                inside = lo <= addr && addr < hi;
            } else if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return Some(flags.to_string());
                }
            }
        }
        None
    }
}
