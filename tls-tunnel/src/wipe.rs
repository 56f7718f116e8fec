//! Wiping memory that held secrets we do not own.
//!
//! Some key material passes through code that keeps it in plain vectors:
//! the `p12-keystore` crate decrypts a PKCS#12 key bag into buffers it
//! never wipes, and its `PrivateKey` gives no mutable access to them. Our
//! own copies are `Zeroizing`; for theirs, the process allocator wipes every
//! block freed (or moved by a reallocation) on a thread while a [`Scope`] is
//! open there. Outside a scope freeing costs one thread-local read.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use zeroize::Zeroize;

thread_local! {
    /// How many scopes are open on this thread.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Bytes wiped on this thread so far (what the tests look at).
    static WIPED: Cell<usize> = const { Cell::new(0) };
}

/// The system allocator, wiping blocks freed inside a [`Scope`].
pub struct WipeFreed;

#[global_allocator]
static ALLOCATOR: WipeFreed = WipeFreed;

/// While alive, memory this thread frees is overwritten with zeros first.
/// Open one before handling secrets in code that does not wipe them, and
/// drop the values holding them before it.
pub struct Scope(());

impl Scope {
    /// Opens a scope on the current thread (scopes nest).
    pub fn enter() -> Scope {
        DEPTH.with(|d| d.set(d.get().saturating_add(1)));
        Scope(())
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// True inside a scope (false while the thread's locals are torn down).
fn wiping() -> bool {
    DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
}

/// Bytes this thread has wiped so far.
#[cfg(test)]
pub fn wiped() -> usize {
    WIPED.try_with(Cell::get).unwrap_or(0)
}

/// Overwrites `len` bytes at `ptr` with zeros (volatile writes, which the
/// compiler cannot drop as dead stores).
///
/// # Safety
/// `ptr` must be valid for writes of `len` bytes.
unsafe fn wipe(ptr: *mut u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { std::slice::from_raw_parts_mut(ptr, len) }.zeroize();
    let _ = WIPED.try_with(|w| w.set(w.get().saturating_add(len)));
}

// SAFETY: every block comes from `System` with the caller's layout and is
// returned to it with that layout; wiping writes only inside a live block.
unsafe impl GlobalAlloc for WipeFreed {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded with the caller's contract.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` is a live block of `layout.size()` bytes until freed.
        unsafe {
            if wiping() {
                wipe(ptr, layout.size());
            }
            System.dealloc(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: outside a scope, forwarded with the caller's contract.
        // Inside, the block is moved by hand so the old one can be wiped:
        // the new layout is valid (the caller guarantees `new_size` rounded
        // up to the alignment does not overflow), the copy stays within
        // both blocks, and the old block is freed once, with its layout.
        unsafe {
            if !wiping() {
                return System.realloc(ptr, layout, new_size);
            }
            let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
            let moved = System.alloc(new_layout);
            if !moved.is_null() {
                std::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                wipe(ptr, layout.size());
                System.dealloc(ptr, layout);
            }
            moved
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_freed_in_a_scope_is_wiped_and_only_there() {
        let before = wiped();
        drop(vec![0x5au8; 1000]);
        assert_eq!(wiped(), before, "nothing is wiped outside a scope");
        {
            let _scope = Scope::enter();
            let mut grown = vec![0x5au8; 1000];
            // A reallocation moves the block: the old one is wiped too.
            grown.reserve(100_000);
            drop(grown);
        }
        assert!(wiped() >= before + 2000, "wiped {}", wiped() - before);
        let after = wiped();
        drop(vec![0x5au8; 1000]);
        assert_eq!(wiped(), after, "the scope has ended");
    }
}
