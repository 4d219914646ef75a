//! [`HugePageAllocator`]: a global allocator that backs large buffers with 2 MiB pages.
//!
//! A training step streams every weight, gradient and optimizer slot: about 11 MB for a
//! 784-512-512-10 model under Adam. In 4 KiB pages that is more pages than the CPU's
//! TLB holds (3072 entries on Zen 4), so each step pays page walks, and more of them miss
//! the cache when a neighbour shares it. In 2 MiB pages it is a few dozen entries.
//! Measured on the 2-core VM of `benchmarks/`: Adam's step went from 2.37 to 2.30 ms at
//! the 10th percentile and from 2.47 to 2.35 ms at the median.
//!
//! Linux gives huge pages to memory that asks for them (`madvise(MADV_HUGEPAGE)`) when
//! transparent huge pages are in `madvise` mode, its usual default. Elsewhere, and for
//! small or over-aligned allocations, this allocator is the system's.
//!
//! The Python extension uses it; a Rust program opts in with
//! `#[global_allocator] static A: kandle::huge_pages::HugePageAllocator = kandle::huge_pages::HugePageAllocator;`.

use std::alloc::{GlobalAlloc, Layout, System};

/// The size of a huge page, and the alignment of large allocations.
pub const HUGE_PAGE: usize = 2 << 20;
/// Allocations of at least this many bytes are mapped in huge pages. Their size is
/// rounded up to whole huge pages (at most doubling it, for sizes near this bound), since
/// the kernel only uses a huge page for an aligned 2 MiB range that lies wholly inside
/// the mapping. 1 MiB keeps a 512×512 f32 weight, its gradient and its slots in.
pub const MIN_HUGE: usize = 1 << 20;

/// The system allocator, except that allocations of [`MIN_HUGE`] bytes or more are
/// mapped directly, aligned to [`HUGE_PAGE`] and marked for huge pages (on Linux).
pub struct HugePageAllocator;

/// Whether `layout` is served by a huge-page mapping. `dealloc` and `realloc` decide the
/// same way from the same layout, so each block goes back to where it came from.
fn is_huge(layout: &Layout) -> bool {
    cfg!(target_os = "linux") && layout.size() >= MIN_HUGE && layout.align() <= HUGE_PAGE
}

/// Bytes mapped for an allocation of `size` bytes: whole huge pages.
fn mapped_len(size: usize) -> usize {
    size.div_ceil(HUGE_PAGE) * HUGE_PAGE
}

#[cfg(target_os = "linux")]
mod map {
    use super::{mapped_len, HUGE_PAGE};
    use libc::{c_void, MADV_HUGEPAGE, MAP_ANONYMOUS, MAP_FAILED, MAP_PRIVATE};
    use libc::{PROT_READ, PROT_WRITE};

    /// Maps `size` bytes (zeroed, as all fresh anonymous memory is) at a huge-page
    /// boundary, or returns null. Maps a huge page more than needed, then unmaps the
    /// unaligned head and the tail.
    pub(super) unsafe fn map_huge(size: usize) -> *mut u8 {
        let len = mapped_len(size);
        let Some(reserve) = len.checked_add(HUGE_PAGE) else {
            return std::ptr::null_mut();
        };
        let prot = PROT_READ | PROT_WRITE;
        let base = libc::mmap(
            std::ptr::null_mut(),
            reserve,
            prot,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        );
        if base == MAP_FAILED {
            return std::ptr::null_mut();
        }
        let base = base as usize;
        let start = base.next_multiple_of(HUGE_PAGE);
        // Unmapping parts of a fresh private mapping cannot fail in a way that matters:
        // at worst the parts stay mapped, unused.
        if start > base {
            libc::munmap(base as *mut c_void, start - base);
        }
        let tail = base + reserve - (start + len);
        if tail > 0 {
            libc::munmap((start + len) as *mut c_void, tail);
        }
        // Fails only where the kernel has no transparent huge pages: then the memory
        // is in ordinary pages, which is still correct.
        libc::madvise(start as *mut c_void, len, MADV_HUGEPAGE);
        start as *mut u8
    }

    pub(super) unsafe fn unmap_huge(ptr: *mut u8, size: usize) {
        libc::munmap(ptr as *mut c_void, mapped_len(size));
    }
}

#[cfg(not(target_os = "linux"))]
mod map {
    // Not reached while `is_huge` is false off Linux; kept correct all the same, as an
    // aligned block from the system allocator.
    use super::{mapped_len, HUGE_PAGE};
    use std::alloc::{GlobalAlloc, Layout, System};

    fn huge_layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(mapped_len(size), HUGE_PAGE).ok()
    }
    pub(super) unsafe fn map_huge(size: usize) -> *mut u8 {
        huge_layout(size).map_or(std::ptr::null_mut(), |l| System.alloc_zeroed(l))
    }
    pub(super) unsafe fn unmap_huge(ptr: *mut u8, size: usize) {
        if let Some(l) = huge_layout(size) {
            System.dealloc(ptr, l)
        }
    }
}

// SAFETY: huge blocks are fresh private mappings, aligned to HUGE_PAGE (at least the
// layout's alignment, which `is_huge` checks) and at least `size` bytes long, zeroed by
// the kernel; they are unmapped with the same length they were mapped with, since
// `mapped_len` depends only on the layout's size. Other layouts go to `System` unchanged.
unsafe impl GlobalAlloc for HugePageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            map::map_huge(layout.size())
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            map::map_huge(layout.size())
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(&layout) {
            map::unmap_huge(ptr, layout.size())
        } else {
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees that `new_size`, rounded up to the alignment,
        // does not overflow isize.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        if !is_huge(&layout) && !is_huge(&new_layout) {
            return System.realloc(ptr, layout, new_size);
        }
        let both_huge = is_huge(&layout) && is_huge(&new_layout);
        if both_huge && mapped_len(new_size) == mapped_len(layout.size()) {
            return ptr; // still fits the pages already mapped
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
        assert!(!is_huge(&big_align));
        unsafe {
            let ptr = a.alloc(big_align);
            assert!(!ptr.is_null());
            assert_eq!(ptr as usize % (2 * HUGE_PAGE), 0);
            fill_and_check(ptr, MIN_HUGE);
            a.dealloc(ptr, big_align);
        }
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
