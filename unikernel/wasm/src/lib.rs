//! tls-core in a wasm32-unknown-unknown module (no wasm-bindgen, no WASI):
//! its only imports are the embedder's functions, module `env`:
//!
//! - `entropy(ptr: i32, len: i32) -> i32`: fill `len` bytes at `ptr` with
//!   random bytes, 0 on success (under Node.js: `crypto.getRandomValues`);
//! - `output(ptr: i32, len: i32)`: the UTF-8 text at `ptr` is the program's
//!   output.
//!
//! It exports `memory` and `run() -> i32`, 0 when the handshake (see the
//! handshake crate) succeeded. Memory is a static arena in linear memory;
//! the clock is the handshake crate's counter clock. Built and run by
//! tests/tests/unikernel.rs.
#![no_std]

use core::fmt::Write;

use unikernel_handshake::arena::Arena;
use unikernel_handshake::{Counted, EntropyError, EntropySource, Sources};

/// 8 MiB of heap in linear memory.
#[global_allocator]
static HEAP: Arena<{ 8 << 20 }> = Arena::new();

mod embedder {
    #[link(wasm_import_module = "env")]
    extern "C" {
        pub(crate) fn entropy(ptr: *mut u8, len: usize) -> i32;
        pub(crate) fn output(ptr: *const u8, len: usize);
    }
}

/// The embedder's entropy function.
struct Imported;

impl EntropySource for Imported {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        // SAFETY: the import writes at most `len` bytes at `ptr`.
        match unsafe { embedder::entropy(dest.as_mut_ptr(), dest.len()) } {
            0 => Ok(()),
            _ => Err(EntropyError("the embedder's entropy function failed")),
        }
    }
}

static SOURCE: Imported = Imported;
static ENGINE: Counted = Counted::new(&SOURCE);
static RING: Counted = Counted::new(&SOURCE);

fn output(text: &str) {
    // SAFETY: the import only reads `len` bytes at `ptr`.
    unsafe { embedder::output(text.as_ptr(), text.len()) }
}

/// Runs the handshake; 0 on success.
#[no_mangle]
pub extern "C" fn run() -> i32 {
    let result = unikernel_handshake::run(
        Sources {
            engine: &ENGINE,
            ring: &RING,
        },
        &mut |line| output(line),
    );
    let mut line = Line::default();
    let code = match result {
        Ok(()) => {
            let _ = writeln!(line, "heap used: {} bytes", HEAP.used());
            let _ = line.write_str("unikernel handshake: ok\n");
            0
        }
        Err(why) => {
            let _ = writeln!(line, "unikernel handshake: FAILED: {why}");
            1
        }
    };
    output(line.text());
    code
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = Line::default();
    let _ = writeln!(line, "panic: {info}");
    output(line.text());
    core::arch::wasm32::unreachable()
}

/// A fixed buffer for formatting without the heap.
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Default for Line {
    fn default() -> Line {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }
}

impl Line {
    fn text(&self) -> &str {
        let bytes = self.buf.get(..self.len).unwrap_or_default();
        core::str::from_utf8(bytes).unwrap_or("(output cut inside a character)\n")
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
        Ok(())
    }
}
