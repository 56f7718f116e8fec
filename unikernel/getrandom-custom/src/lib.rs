//! A drop-in for getrandom 0.2 whose only backend, on every target, is the
//! function registered with [`register_custom_getrandom!`].
//!
//! The unikernel test programs (`../freestanding`, `../wasm`) use it through
//! `[patch.crates-io]` so that ring's `SystemRandom` reaches the embedder's
//! entropy source (installed with `entropy::getrandom_hook::install`) and
//! nothing else:
//! - on `x86_64-unknown-linux-gnu`, which stands in for an OS-less target
//!   (ring builds its assembly only for OS targets), the real getrandom would
//!   make the `getrandom` system call, which an OS-less target does not have;
//! - on `wasm32-unknown-unknown`, ring has a `SystemRandom` only with its
//!   `wasm32_unknown_unknown_js` feature, which makes the real getrandom
//!   prefer its JavaScript backend (wasm-bindgen imports) to a custom one.
//!
//! On `x86_64-unknown-none` the real getrandom with its `custom` feature
//! already behaves like this crate (entropy's `unikernel` feature).
#![no_std]
#![deny(missing_docs)]

use core::fmt;
use core::num::NonZeroU32;

/// A failure, as a non-zero code (getrandom 0.2's representation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Error(NonZeroU32);

impl Error {
    /// No backend could serve the request.
    pub const UNSUPPORTED: Error = Error(match NonZeroU32::new(Self::INTERNAL_START) {
        Some(code) => code,
        None => panic!("INTERNAL_START is not zero"),
    });
    /// Codes from here up to [`Error::CUSTOM_START`] are getrandom's own.
    pub const INTERNAL_START: u32 = 1 << 31;
    /// Codes from here up are a custom backend's.
    pub const CUSTOM_START: u32 = (1 << 31) + (1 << 30);

    /// The code.
    pub const fn code(self) -> NonZeroU32 {
        self.0
    }
}

impl From<NonZeroU32> for Error {
    fn from(code: NonZeroU32) -> Error {
        Error(code)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "getrandom error {}", self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "random source failed (code {})", self.0)
    }
}

/// Fills `dest` from the registered backend.
pub fn getrandom(dest: &mut [u8]) -> Result<(), Error> {
    if dest.is_empty() {
        return Ok(());
    }
    extern "Rust" {
        fn __getrandom_custom(dest: *mut u8, len: usize) -> u32;
    }
    // SAFETY: the symbol is defined by `register_custom_getrandom!` with this
    // signature; it writes at most `len` bytes at `dest`, which is valid for
    // them.
    let code = unsafe { __getrandom_custom(dest.as_mut_ptr(), dest.len()) };
    match NonZeroU32::new(code) {
        None => Ok(()),
        Some(code) => Err(Error(code)),
    }
}

/// Registers `$path` (a `fn(&mut [u8]) -> Result<(), getrandom::Error>`) as
/// the backend, under the symbol getrandom 0.2's own macro defines, so a crate
/// written for the real getrandom (entropy's `getrandom_hook`) links with this
/// one unchanged. Once per binary.
#[macro_export]
macro_rules! register_custom_getrandom {
    ($path:path) => {
        const _: () = {
            #[no_mangle]
            unsafe fn __getrandom_custom(dest: *mut u8, len: usize) -> u32 {
                let backend: fn(&mut [u8]) -> ::core::result::Result<(), $crate::Error> = $path;
                // SAFETY: `getrandom` passes a valid, exclusive buffer of
                // `len` bytes.
                let buf = unsafe { ::core::slice::from_raw_parts_mut(dest, len) };
                match backend(buf) {
                    Ok(()) => 0,
                    Err(e) => e.code().get(),
                }
            }
        };
    };
}
