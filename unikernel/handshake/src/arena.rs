//! A bump allocator over a static buffer: what a unikernel without a memory
//! manager can offer. Memory is never reused; [`Arena::used`] is the peak.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

/// `N` bytes handed out front to back.
pub struct Arena<const N: usize> {
    memory: UnsafeCell<[u8; N]>,
    next: AtomicUsize,
}

// SAFETY: each byte of `memory` is handed out at most once (the atomic
// `next` only grows), so no two users share a region.
unsafe impl<const N: usize> Sync for Arena<N> {}

impl<const N: usize> Arena<N> {
    /// An empty arena (put it in a `static`: it is `N` bytes).
    pub const fn new() -> Self {
        Arena {
            memory: UnsafeCell::new([0; N]),
            next: AtomicUsize::new(0),
        }
    }

    /// Bytes handed out so far, alignment padding included.
    pub fn used(&self) -> usize {
        self.next.load(Ordering::Relaxed)
    }
}

impl<const N: usize> Default for Arena<N> {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: `alloc` returns a region of `layout.size()` bytes aligned to
// `layout.align()` inside `memory`, never handed out before, or null.
unsafe impl<const N: usize> GlobalAlloc for Arena<N> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let base = self.memory.get().cast::<u8>();
        let mut next = self.next.load(Ordering::Relaxed);
        loop {
            // Align the address, not just the offset: the buffer itself is
            // only byte-aligned.
            let region = (base as usize)
                .checked_add(next)
                .and_then(|addr| addr.checked_next_multiple_of(layout.align()))
                .map(|aligned| aligned - base as usize)
                .and_then(|start| Some((start, start.checked_add(layout.size())?)));
            let Some((start, end)) = region.filter(|&(_, end)| end <= N) else {
                return ptr::null_mut();
            };
            match self
                .next
                .compare_exchange_weak(next, end, Ordering::Relaxed, Ordering::Relaxed)
            {
                // SAFETY: `start..end` is inside `memory` (end <= N).
                Ok(_) => return unsafe { base.add(start) },
                Err(current) => next = current,
            }
        }
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}
