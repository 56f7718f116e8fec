//! tls-core on no operating system services: `#![no_std]`, `#![no_main]`,
//! linked static with `-nostartfiles -nostdlib` (no C runtime, no libc).
//! Built for x86_64-unknown-linux-gnu only because ring builds its assembly
//! for OS targets; nothing here calls the kernel but the two system calls at
//! the end of this file (write for the output, exit_group).
//!
//! The harness defines what the operating system would: the entry point,
//! memory (a static arena), the entropy source (SHA-256 in counter mode over
//! a seed: a test source, not a secure one), the clock (the handshake crate's
//! counter clock) and output. Build and checks: tests/tests/unikernel.rs.
#![no_std]
#![no_main]

use core::arch::{asm, global_asm};
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};

use unikernel_handshake::arena::Arena;
use unikernel_handshake::{Counted, EntropyError, EntropySource, Sources};

/// 8 MiB of heap, in .bss.
#[global_allocator]
static HEAP: Arena<{ 8 << 20 }> = Arena::new();

/// The harness's entropy source: block `i` of output is
/// SHA-256(seed || i). Deterministic; stands in for a hardware source.
struct CounterDrbg {
    seed: &'static [u8],
    block: AtomicU64,
}

impl EntropySource for CounterDrbg {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in dest.chunks_mut(32) {
            let i = self.block.fetch_add(1, Ordering::Relaxed);
            let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
            ctx.update(self.seed);
            ctx.update(&i.to_be_bytes());
            let block = ctx.finish();
            let n = chunk.len();
            let bytes = block.as_ref().get(..n).ok_or(EntropyError("short block"))?;
            chunk.copy_from_slice(bytes);
        }
        Ok(())
    }
}

static DRBG: CounterDrbg = CounterDrbg {
    seed: b"unikernel freestanding test seed",
    block: AtomicU64::new(0),
};
static ENGINE: Counted = Counted::new(&DRBG);
static RING: Counted = Counted::new(&DRBG);

// The entry point: the kernel starts it with the stack 16-byte aligned and
// no return address, so it aligns and calls rather than being a Rust fn.
global_asm!(
    ".globl _start",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {main}",
    "ud2",
    main = sym main,
);

extern "C" fn main() -> ! {
    let result = unikernel_handshake::run(
        Sources {
            engine: &ENGINE,
            ring: &RING,
        },
        &mut |line| write_out(line.as_bytes()),
    );
    let mut line = Line::new();
    let code = match result {
        Ok(()) => {
            let _ = writeln!(line, "heap used: {} bytes", HEAP.used());
            line.push(b"unikernel handshake: ok\n");
            0
        }
        Err(why) => {
            let _ = writeln!(line, "unikernel handshake: FAILED: {why}");
            1
        }
    };
    write_out(line.bytes());
    exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut line = Line::new();
    let _ = writeln!(line, "panic: {info}");
    write_out(line.bytes());
    exit(101)
}

/// A fixed buffer for formatting without the heap (the panic path may have
/// run out of it).
struct Line {
    buf: [u8; 512],
    len: usize,
}

impl Line {
    fn new() -> Line {
        Line {
            buf: [0; 512],
            len: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if let Some(slot) = self.buf.get_mut(self.len) {
                *slot = b;
                self.len += 1;
            }
        }
    }

    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.push(s.as_bytes());
        Ok(())
    }
}

// The memory functions the compiler's code calls (libc's, which is not
// here). String instructions for copy and fill; the comparisons read through
// `read_volatile` so the loops cannot be turned back into calls to themselves.

/// memcpy(3).
///
/// # Safety
/// As memcpy: `n` bytes readable at `src`, writable at `dest`, not overlapping.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract; the direction flag is clear (ABI).
    unsafe {
        asm!("rep movsb", inout("rcx") n => _, inout("rdi") dest => _, inout("rsi") src => _,
             options(nostack, preserves_flags));
    }
    dest
}

/// memmove(3).
///
/// # Safety
/// As memmove: `n` bytes readable at `src` and writable at `dest`.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // dest is before src, or after the end of src: forwards is safe.
        // SAFETY: as memcpy; a forward copy never reads a byte it wrote.
        unsafe { memcpy(dest, src, n) }
    } else {
        // Overlapping with dest after src: copy backwards.
        // SAFETY: the caller's contract; the last byte of each range is at
        // offset n - 1 (n > 0 here), and the direction flag is restored.
        unsafe {
            asm!("std", "rep movsb", "cld",
                 inout("rcx") n => _, inout("rdi") dest.add(n - 1) => _,
                 inout("rsi") src.add(n - 1) => _, options(nostack));
        }
        dest
    }
}

/// memset(3).
///
/// # Safety
/// As memset: `n` bytes writable at `dest`.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller's contract; the direction flag is clear (ABI).
    unsafe {
        asm!("rep stosb", inout("rcx") n => _, inout("rdi") dest => _, in("al") c as u8,
             options(nostack, preserves_flags));
    }
    dest
}

/// memcmp(3).
///
/// # Safety
/// As memcmp: `n` bytes readable at `a` and at `b`.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    for i in 0..n {
        // SAFETY: i < n, inside both ranges.
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
    }
    0
}

/// bcmp(3): zero when equal.
///
/// # Safety
/// As memcmp.
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract.
    unsafe { memcmp(a, b, n) }
}

// The unwinder's entry points. Nothing unwinds here (panic = "abort"), but
// the precompiled core library's unwind paths still name them.

/// Never called: no personality routine is needed without unwinding.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Never called; ends the program if it were.
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    exit(134)
}

/// write(2) to stdout, until everything is written or it fails.
fn write_out(mut bytes: &[u8]) {
    while !bytes.is_empty() {
        let ret: isize;
        // SAFETY: write(1, ptr, len) only reads `len` bytes at `ptr`; rcx and
        // r11 are clobbered by `syscall`.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") 1isize => ret,
                in("rdi") 1usize,
                in("rsi") bytes.as_ptr(),
                in("rdx") bytes.len(),
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        match usize::try_from(ret) {
            Ok(n) if n > 0 => bytes = bytes.get(n..).unwrap_or_default(),
            _ => return,
        }
    }
}

/// exit_group(2).
fn exit(code: i32) -> ! {
    // SAFETY: exit_group does not return.
    unsafe {
        asm!(
            "syscall",
            in("rax") 231usize,
            in("rdi") code as isize,
            options(noreturn, nostack),
        );
    }
}
