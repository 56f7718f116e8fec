//! Timer jitter: a raw noise source for bootstrapping.
//!
//! Each sample times a short, data-dependent walk over a scratch buffer with a
//! high-resolution counter and folds the elapsed ticks into one byte. Caches,
//! pipelines, interrupts and frequency changes make the duration vary. How much
//! entropy that carries depends entirely on the machine and its timer, so this
//! source is raw: add it to a pool as [`SourceKind::Raw`](crate::SourceKind::Raw)
//! with a conservative claim ([`JitterSource::DEFAULT_CLAIM`], a quarter bit
//! per sample), and the pool's health tests will refuse it on a machine whose
//! timer is too coarse to jitter. Use it to bootstrap alongside a better source,
//! not instead of one.

use alloc::vec;
use alloc::vec::Vec;

use crate::health::MinEntropy;
use crate::pool::NoiseSource;
use crate::EntropyError;

const SCRATCH: usize = 4096;

/// Timing jitter from `counter`, a high-resolution tick counter (nanoseconds,
/// a cycle counter, anything finer than the work it times).
pub struct JitterSource<C> {
    counter: C,
    scratch: Vec<u8>,
    index: usize,
}

impl<C> core::fmt::Debug for JitterSource<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JitterSource").finish_non_exhaustive()
    }
}

impl JitterSource<()> {
    /// A conservative min-entropy claim per sample: 1/4 bit.
    pub const DEFAULT_CLAIM: MinEntropy = match MinEntropy::from_eighths(2) {
        Some(h) => h,
        None => MinEntropy::FULL,
    };
}

impl<C: FnMut() -> u64 + Send> JitterSource<C> {
    /// A source timing its work with `counter`.
    pub fn new(counter: C) -> JitterSource<C> {
        JitterSource {
            counter,
            scratch: vec![0u8; SCRATCH],
            index: 0,
        }
    }

    fn sample(&mut self) -> u8 {
        let t0 = (self.counter)();
        // A walk whose addresses depend on what earlier samples wrote.
        let mut acc = self.index as u8;
        for _ in 0..64 {
            self.index = (self.index + 1 + usize::from(acc) * 67) % SCRATCH;
            acc = acc.wrapping_add(self.scratch[self.index]).rotate_left(3) ^ 0x5a;
            self.scratch[self.index] = acc;
        }
        let t1 = (self.counter)();
        let delta = t1.wrapping_sub(t0);
        let folded = delta.to_le_bytes().iter().fold(0u8, |a, b| a ^ b);
        self.scratch[self.index] ^= folded;
        folded
    }
}

#[cfg(feature = "std")]
fn instant_nanos() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    // Wraps after 584 years; the low bits are what matter.
    start.elapsed().as_nanos() as u64
}

#[cfg(feature = "std")]
impl JitterSource<fn() -> u64> {
    /// A source timed by `std::time::Instant` (nanoseconds).
    pub fn from_instant() -> JitterSource<fn() -> u64> {
        JitterSource::new(instant_nanos)
    }
}

impl<C: FnMut() -> u64 + Send> NoiseSource for JitterSource<C> {
    fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for b in dest {
            *b = self.sample();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{Pool, PoolConfig, PoolError, SourceKind};
    use crate::HealthFailure;

    #[test]
    fn a_coarse_timer_is_refused() {
        // A counter that advances by the same step every call: no jitter at all.
        let mut t = 0u64;
        let source = JitterSource::new(move || {
            t += 1000;
            t
        });
        let mut pool = Pool::new(PoolConfig {
            process_id: None,
            ..PoolConfig::default()
        });
        pool.add_source(
            "jitter",
            SourceKind::Raw(JitterSource::DEFAULT_CLAIM),
            source,
        );
        match pool.seed(0) {
            Err(PoolError::Health {
                failure: HealthFailure::RepetitionCount { .. },
                ..
            }) => {}
            other => panic!("expected a repetition count failure, got {other:?}"),
        }
    }

    #[cfg(feature = "std")]
    #[test]
    fn the_host_timer_jitters_enough_to_seed() {
        let mut pool = Pool::new(PoolConfig {
            process_id: None,
            ..PoolConfig::default()
        });
        pool.add_source(
            "jitter",
            SourceKind::Raw(JitterSource::DEFAULT_CLAIM),
            JitterSource::from_instant(),
        );
        for _ in 0..4 {
            pool.seed(0).unwrap();
        }
        let mut buf = [0u8; 32];
        pool.fill(&mut buf, 0).unwrap();
    }
}
