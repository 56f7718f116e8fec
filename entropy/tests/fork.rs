//! A real fork(2): after the parent's pool is seeded and has produced output,
//! the process forks; parent and child each draw 32 bytes. With fork detection
//! (the default `std::process::id` provider) the child reseeds and mixes in its
//! pid, so the two differ. As a control, the same run with detection switched
//! off gives identical bytes, which shows the test would catch a pool that
//! ignored forks.
//!
//! This file is its own test binary without the libtest harness
//! (`harness = false`): fork is only well-defined in a single-threaded
//! process, and libtest runs tests on threads. The pool is seeded from a
//! deterministic source, so the child's copy of the source gives exactly what
//! the parent's would: only the pid tells them apart.

use std::time::{Duration, Instant};

use entropy::pool::{NoiseSource, Pool, PoolConfig, SharedPool, SourceKind};
use entropy::EntropyError;

struct Counter(u64);

impl NoiseSource for Counter {
    fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in dest.chunks_mut(8) {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

#[cfg(unix)]
fn parent_and_child(detect: bool) -> ([u8; 32], [u8; 32]) {
    let mut config = PoolConfig::default();
    if !detect {
        config.process_id = None;
    }
    let mut pool = Pool::new(config);
    pool.add_source("counter", SourceKind::Conditioned, Counter(42));
    let pool = SharedPool::new(pool, || 0u64);
    pool.seed().expect("seed");
    let mut warm = [0u8; 32];
    pool.try_fill(&mut warm).expect("parent output before fork");

    let path = std::env::temp_dir().join(format!(
        "entropy-fork-test-{}-{}",
        std::process::id(),
        detect
    ));
    let _ = std::fs::remove_file(&path);

    // SAFETY: this process has a single thread (no test harness), so the
    // child is a complete copy; it only computes, writes a file and _exits.
    #[allow(unsafe_code)]
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let mut out = [0u8; 32];
        let code = match pool.try_fill(&mut out) {
            Ok(()) if std::fs::write(&path, out).is_ok() => 0,
            _ => 1,
        };
        // SAFETY: ends the child without running the parent's exit handlers.
        #[allow(unsafe_code)]
        unsafe {
            libc::_exit(code)
        };
    }

    let mut parent = [0u8; 32];
    pool.try_fill(&mut parent)
        .expect("parent output after fork");

    // Wait for the child, bounded.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut status = 0;
    loop {
        // SAFETY: plain syscall on our own child's pid with a valid pointer.
        #[allow(unsafe_code)]
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            break;
        }
        assert!(r == 0, "waitpid failed");
        if Instant::now() > deadline {
            // SAFETY: signals our own child, by its pid.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("child did not finish");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: status {status}"
    );
    let child = std::fs::read(&path).expect("child output");
    let _ = std::fs::remove_file(&path);
    (parent, child.try_into().expect("32 bytes"))
}

#[cfg(unix)]
fn main() {
    let (parent, child) = parent_and_child(false);
    assert_eq!(
        parent, child,
        "control: without fork detection the child repeats the parent's stream"
    );
    println!("test fork_without_detection_repeats_the_stream (control) ... ok");

    let (parent, child) = parent_and_child(true);
    assert_ne!(parent, child, "the child repeated the parent's stream");
    println!("test forked_child_and_parent_differ ... ok");
    println!("fork: 2 passed, 0 failed");
}

#[cfg(not(unix))]
fn main() {
    println!("fork: no fork(2) on this platform; nothing to test");
}
