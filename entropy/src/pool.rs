//! The pool: an SP 800-90A `HMAC_DRBG` fed by health-tested noise sources.
//!
//! [`Pool`] is the single-owner engine (`&mut self`, time passed in by the
//! caller), usable without std. [`SharedPool`] puts it behind a lock and a
//! clock and implements [`EntropySource`], which is what tls-core's configs hold.
//!
//! # Policy
//!
//! - **Seeding.** [`Pool::seed`] draws from every source that has not failed a
//!   health test and credits each with what it claims (a raw source its
//!   [`MinEntropy`] per byte, a conditioned source 8 bits per byte). The first
//!   seed needs 384 bits (256-bit security strength plus a 128-bit nonce), a
//!   reseed 256. With fewer the pool stays as it was and says why.
//! - **No output before the first seed**: [`Pool::fill`] fails with
//!   [`PoolError::Unseeded`] and leaves the buffer zeroed.
//! - **Rekey after every request**: each generate request ends with the DRBG's
//!   update step, so a later compromise of the state does not reveal earlier
//!   output. Requests larger than 64 KiB are split, each part its own request.
//! - **Reseed schedule**: after [`PoolConfig::reseed_after_requests`] requests
//!   and when [`PoolConfig::reseed_after_ms`] has passed since the last seed,
//!   the pool reseeds before answering. If that reseed fails the request fails
//!   (fail closed); the next request tries again.
//! - **Health tests**: raw sources go through the SP 800-90B repetition count
//!   and adaptive proportion tests, sample by sample, with a 1024-sample
//!   start-up test before first use; conditioned sources through a stuck-output
//!   check whose first block is discarded. A failure latches: that source is
//!   never used again ([`Pool::failures`] lists it). The other sources go on.
//! - **Fork**: if a process-id provider is configured (by default with std,
//!   `std::process::id`), a change of pid mixes the new pid into the state and
//!   forces a reseed before any output, so a child never continues its parent's
//!   stream; if that reseed fails the child gets errors, not the parent's bytes.
//!   Without std there is no fork to detect unless the caller provides a pid.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use zeroize::{Zeroize, Zeroizing};

use crate::drbg::{self, HmacDrbg, MAX_REQUEST_BYTES, SECURITY_STRENGTH_BITS};
use crate::health::{
    AdaptiveProportion, HealthFailure, MinEntropy, RepetitionCount, StuckOutput, STUCK_BLOCK,
};
use crate::{EntropyError, EntropySource};

/// Entropy required to instantiate: the security strength plus a nonce of half of it.
pub const INSTANTIATE_BITS: u32 = SECURITY_STRENGTH_BITS + SECURITY_STRENGTH_BITS / 2;

/// Entropy required to reseed.
pub const RESEED_BITS: u32 = SECURITY_STRENGTH_BITS;

/// Samples a raw source must pass before its first use (SP 800-90B 4.3).
pub const STARTUP_SAMPLES: usize = 1024;

/// Something the pool can draw noise from. Unlike [`EntropySource`] it takes
/// `&mut self`: the pool owns its sources. Every [`EntropySource`] is one.
pub trait NoiseSource: Send {
    /// Fills `dest` entirely, or fails.
    fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError>;
}

impl<T: EntropySource> NoiseSource for T {
    fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
        self.fill(dest)
    }
}

/// What a source's bytes are, which decides how they are tested and credited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// Raw noise: each byte is one sample carrying the claimed min-entropy.
    /// Tested with the repetition count and adaptive proportion tests.
    Raw(MinEntropy),
    /// The output of a conditioner (a kernel CSPRNG, RDSEED, xentropyd),
    /// credited with full entropy. Tested for stuck output.
    Conditioned,
}

/// Tunables of a [`Pool`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Reseed after this many generate requests (at most 2^48). Default 2^16.
    pub reseed_after_requests: u64,
    /// Reseed when this many milliseconds passed since the last seed, by the
    /// caller's monotonic clock. Default five minutes.
    pub reseed_after_ms: u64,
    /// Returns the current process id; a change means this is a forked child.
    /// Default: `std::process::id` with std, none without.
    pub process_id: Option<fn() -> u32>,
    /// Personalization string mixed into the instantiation (SP 800-90A 8.7.1).
    pub personalization: Vec<u8>,
}

#[cfg(feature = "std")]
fn std_process_id() -> u32 {
    std::process::id()
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            reseed_after_requests: 1 << 16,
            reseed_after_ms: 5 * 60 * 1000,
            #[cfg(feature = "std")]
            process_id: Some(std_process_id),
            #[cfg(not(feature = "std"))]
            process_id: None,
            personalization: b"entropy-crate pool v1".to_vec(),
        }
    }
}

/// Why the pool gave no output or could not (re)seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The pool has not been seeded yet.
    Unseeded,
    /// The pool has no sources to seed from.
    NoSources,
    /// A source failed to deliver.
    Source {
        /// The source's name.
        source: &'static str,
        /// What it said.
        error: EntropyError,
    },
    /// A source failed a health test and is no longer used.
    Health {
        /// The source's name.
        source: &'static str,
        /// The failed test.
        failure: HealthFailure,
    },
    /// The healthy sources together did not supply enough entropy.
    NotEnoughEntropy {
        /// Bits needed.
        needed_bits: u32,
        /// Bits credited.
        credited_bits: u32,
    },
    /// The DRBG refused (a bug: the pool keeps within its limits).
    Drbg(drbg::DrbgError),
    /// A thread panicked while holding the shared pool's lock; its state is
    /// not trusted any more.
    Poisoned,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Unseeded => f.write_str("pool not seeded"),
            PoolError::NoSources => f.write_str("pool has no sources"),
            PoolError::Source { source, error } => write!(f, "source {source}: {}", error.0),
            PoolError::Health { source, failure } => write!(f, "source {source}: {failure}"),
            PoolError::NotEnoughEntropy {
                needed_bits,
                credited_bits,
            } => write!(
                f,
                "not enough entropy: {credited_bits} of {needed_bits} bits"
            ),
            PoolError::Drbg(e) => write!(f, "drbg: {e}"),
            PoolError::Poisoned => f.write_str("pool lock poisoned"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PoolError {}

impl From<PoolError> for EntropyError {
    fn from(e: PoolError) -> EntropyError {
        EntropyError(match e {
            PoolError::Unseeded => "pool not seeded",
            PoolError::NoSources => "pool has no sources",
            PoolError::Source { error, .. } => error.0,
            PoolError::Health { failure, .. } => failure.as_str(),
            PoolError::NotEnoughEntropy { .. } => "pool: not enough entropy",
            PoolError::Drbg(_) => "pool: drbg refused",
            PoolError::Poisoned => "pool lock poisoned",
        })
    }
}

enum Tests {
    Raw {
        h: MinEntropy,
        rct: RepetitionCount,
        apt: AdaptiveProportion,
    },
    Conditioned(StuckOutput),
}

struct Slot {
    name: &'static str,
    source: Box<dyn NoiseSource>,
    tests: Tests,
    started: bool,
    failed: Option<HealthFailure>,
}

impl Slot {
    /// Draws `bits` worth of tested input from the source into `material`;
    /// returns the bits credited.
    fn collect(&mut self, bits: u32, material: &mut Vec<u8>) -> Result<u32, PoolError> {
        let name = self.name;
        let source_err = |error| PoolError::Source {
            source: name,
            error,
        };
        let len = match &self.tests {
            Tests::Raw { h, .. } => h.samples_for(bits),
            Tests::Conditioned(_) => (bits as usize).div_ceil(8).next_multiple_of(STUCK_BLOCK),
        };
        if !self.started {
            let startup = match &self.tests {
                Tests::Raw { .. } => STARTUP_SAMPLES,
                Tests::Conditioned(_) => STUCK_BLOCK,
            };
            let mut discard = Zeroizing::new(vec![0u8; startup]);
            self.source.gather(&mut discard).map_err(source_err)?;
            self.test(&discard)?;
            self.started = true;
        }
        let mut buf = Zeroizing::new(vec![0u8; len]);
        self.source.gather(&mut buf).map_err(source_err)?;
        self.test(&buf)?;
        material.extend_from_slice(&buf);
        Ok(match &self.tests {
            Tests::Raw { h, .. } => ((len * usize::from(h.eighths())) / 8) as u32,
            Tests::Conditioned(_) => (len * 8) as u32,
        })
    }

    fn test(&mut self, data: &[u8]) -> Result<(), PoolError> {
        let result = match &mut self.tests {
            Tests::Raw { rct, apt, .. } => data
                .iter()
                .try_for_each(|&s| rct.feed(s).and_then(|()| apt.feed(s))),
            Tests::Conditioned(stuck) => data.chunks_exact(STUCK_BLOCK).try_for_each(|block| {
                let mut b = Zeroizing::new([0u8; STUCK_BLOCK]);
                b.copy_from_slice(block);
                stuck.feed(&b)
            }),
        };
        result.map_err(|failure| {
            self.failed = Some(failure);
            PoolError::Health {
                source: self.name,
                failure,
            }
        })
    }
}

/// The DRBG and its sources; see the [module docs](self) for the policy.
pub struct Pool {
    config: PoolConfig,
    drbg: Option<HmacDrbg>,
    sources: Vec<Slot>,
    requests_since_seed: u64,
    last_seed_ms: u64,
    pid: Option<u32>,
    seeds: u64,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("seeded", &self.drbg.is_some())
            .field(
                "sources",
                &self.sources.iter().map(|s| s.name).collect::<Vec<_>>(),
            )
            .field("seeds", &self.seeds)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// An unseeded pool without sources. A request interval above the
    /// standard's 2^48 is lowered to it.
    pub fn new(mut config: PoolConfig) -> Pool {
        config.reseed_after_requests = config.reseed_after_requests.min(drbg::MAX_RESEED_INTERVAL);
        Pool {
            config,
            drbg: None,
            sources: Vec::new(),
            requests_since_seed: 0,
            last_seed_ms: 0,
            pid: None,
            seeds: 0,
        }
    }

    /// Adds a source under a name used in errors.
    pub fn add_source(
        &mut self,
        name: &'static str,
        kind: SourceKind,
        source: impl NoiseSource + 'static,
    ) {
        self.add_boxed_source(name, kind, Box::new(source));
    }

    /// Adds an already boxed source.
    pub fn add_boxed_source(
        &mut self,
        name: &'static str,
        kind: SourceKind,
        source: Box<dyn NoiseSource>,
    ) {
        let tests = match kind {
            SourceKind::Raw(h) => Tests::Raw {
                h,
                rct: RepetitionCount::new(h),
                apt: AdaptiveProportion::new(h),
            },
            SourceKind::Conditioned => Tests::Conditioned(StuckOutput::new()),
        };
        self.sources.push(Slot {
            name,
            source,
            tests,
            started: false,
            failed: None,
        });
    }

    /// Whether the pool has been seeded (and so gives output).
    pub fn is_seeded(&self) -> bool {
        self.drbg.is_some()
    }

    /// How many times the pool was seeded or reseeded.
    pub fn seed_count(&self) -> u64 {
        self.seeds
    }

    /// The sources that failed a health test, and how. They are not used again.
    pub fn failures(&self) -> impl Iterator<Item = (&'static str, HealthFailure)> + '_ {
        self.sources
            .iter()
            .filter_map(|s| s.failed.map(|f| (s.name, f)))
    }

    /// Seeds the pool, or reseeds it if it is seeded, from all healthy sources.
    /// `now_ms` is the caller's monotonic clock, for the reseed timer.
    pub fn seed(&mut self, now_ms: u64) -> Result<(), PoolError> {
        let pid = self.config.process_id.map(|f| f());
        self.seed_with(now_ms, pid)
    }

    fn seed_with(&mut self, now_ms: u64, pid: Option<u32>) -> Result<(), PoolError> {
        let needed = if self.drbg.is_some() {
            RESEED_BITS
        } else {
            INSTANTIATE_BITS
        };
        let material = self.gather(needed)?;
        let mut extra = Zeroizing::new(Vec::with_capacity(8));
        if let Some(pid) = pid {
            extra.extend_from_slice(b"pid");
            extra.extend_from_slice(&pid.to_be_bytes());
        }
        match &mut self.drbg {
            Some(d) => d.reseed(&material, &extra).map_err(PoolError::Drbg)?,
            None => {
                let mut pers = Zeroizing::new(self.config.personalization.clone());
                pers.extend_from_slice(&extra);
                let d = HmacDrbg::instantiate(&material, &[], &pers).map_err(PoolError::Drbg)?;
                self.drbg = Some(d);
            }
        }
        self.pid = pid;
        self.requests_since_seed = 0;
        self.last_seed_ms = now_ms;
        self.seeds += 1;
        Ok(())
    }

    fn gather(&mut self, needed: u32) -> Result<Zeroizing<Vec<u8>>, PoolError> {
        if self.sources.is_empty() {
            return Err(PoolError::NoSources);
        }
        let mut material = Zeroizing::new(Vec::new());
        let mut credited = 0u32;
        let mut first_error = None;
        for slot in self.sources.iter_mut().filter(|s| s.failed.is_none()) {
            match slot.collect(needed, &mut material) {
                Ok(bits) => credited = credited.saturating_add(bits),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if credited >= needed {
            return Ok(material);
        }
        let latched = self.sources.iter().find_map(|s| {
            s.failed.map(|failure| PoolError::Health {
                source: s.name,
                failure,
            })
        });
        Err(first_error
            .or(latched)
            .unwrap_or(PoolError::NotEnoughEntropy {
                needed_bits: needed,
                credited_bits: credited,
            }))
    }

    /// Fills `dest` with output, reseeding first if the schedule or a fork
    /// says so. On error `dest` is zeroed.
    pub fn fill(&mut self, dest: &mut [u8], now_ms: u64) -> Result<(), PoolError> {
        let result = self.fill_inner(dest, now_ms);
        if result.is_err() {
            dest.zeroize();
        }
        result
    }

    fn fill_inner(&mut self, dest: &mut [u8], now_ms: u64) -> Result<(), PoolError> {
        let Some(drbg) = &mut self.drbg else {
            return Err(PoolError::Unseeded);
        };
        let pid = self.config.process_id.map(|f| f());
        if pid != self.pid {
            // A forked child: separate from the parent's state at once, then
            // insist on fresh entropy before any output.
            if let Some(pid) = pid {
                let mut tag = [0u8; 7];
                tag[..3].copy_from_slice(b"pid");
                tag[3..].copy_from_slice(&pid.to_be_bytes());
                drbg.mix(&tag);
            }
            self.seed_with(now_ms, pid)?;
        }
        let due_by_count = self.requests_since_seed >= self.config.reseed_after_requests;
        let due_by_time = now_ms.saturating_sub(self.last_seed_ms) >= self.config.reseed_after_ms;
        if due_by_count || due_by_time {
            self.seed_with(now_ms, pid)?;
        }
        let Some(drbg) = &mut self.drbg else {
            return Err(PoolError::Unseeded);
        };
        for chunk in dest.chunks_mut(MAX_REQUEST_BYTES) {
            drbg.generate(chunk, &[]).map_err(PoolError::Drbg)?;
            self.requests_since_seed += 1;
        }
        Ok(())
    }
}

/// A monotonic millisecond clock for the reseed timer.
pub trait MonotonicClock: Send + Sync {
    /// Milliseconds since an arbitrary fixed point; never decreases.
    fn now_ms(&self) -> u64;
}

impl<F: Fn() -> u64 + Send + Sync> MonotonicClock for F {
    fn now_ms(&self) -> u64 {
        self()
    }
}

/// `std::time::Instant`, counted from when the clock was made.
#[cfg(feature = "std")]
#[derive(Debug, Clone, Copy)]
pub struct StdClock(std::time::Instant);

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        StdClock(std::time::Instant::now())
    }
}

#[cfg(feature = "std")]
impl MonotonicClock for StdClock {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(feature = "std")]
type Lock<T> = std::sync::Mutex<T>;
#[cfg(not(feature = "std"))]
type Lock<T> = spin::Mutex<T>;

/// A [`Pool`] behind a lock and a clock, shareable as `Arc<dyn EntropySource>`.
///
/// With std the lock is `std::sync::Mutex` (a panic while it is held poisons
/// the pool for good: [`PoolError::Poisoned`]); without std it is a spin lock,
/// which suits the single-core, cooperative unikernels this is meant for.
pub struct SharedPool {
    pool: Lock<Pool>,
    clock: Box<dyn MonotonicClock>,
}

impl fmt::Debug for SharedPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPool").finish_non_exhaustive()
    }
}

impl SharedPool {
    /// Shares `pool`, with `clock` driving its reseed timer. Seeds nothing:
    /// call [`SharedPool::seed`].
    pub fn new(pool: Pool, clock: impl MonotonicClock + 'static) -> SharedPool {
        SharedPool {
            pool: Lock::new(pool),
            clock: Box::new(clock),
        }
    }

    /// A seeded pool drawing from the host's getrandom and, where present,
    /// the CPU's RDSEED/RDRAND, timed by [`StdClock`].
    #[cfg(feature = "std")]
    pub fn host() -> Result<SharedPool, PoolError> {
        let mut pool = Pool::new(PoolConfig::default());
        pool.add_source("host", SourceKind::Conditioned, crate::HostEntropy);
        if let Some(cpu) = crate::cpu::CpuSource::detect() {
            pool.add_source("cpu", SourceKind::Conditioned, cpu);
        }
        let shared = SharedPool::new(pool, StdClock::default());
        shared.seed()?;
        Ok(shared)
    }

    /// Runs `f` on the pool under the lock.
    pub fn with_pool<R>(&self, f: impl FnOnce(&mut Pool) -> R) -> Result<R, PoolError> {
        #[cfg(feature = "std")]
        let mut guard = self.pool.lock().map_err(|_| PoolError::Poisoned)?;
        #[cfg(not(feature = "std"))]
        let mut guard = self.pool.lock();
        Ok(f(&mut guard))
    }

    /// Seeds (or reseeds) the pool now.
    pub fn seed(&self) -> Result<(), PoolError> {
        let now = self.clock.now_ms();
        self.with_pool(|p| p.seed(now))?
    }

    /// Fills `dest`, with the pool's typed error.
    pub fn try_fill(&self, dest: &mut [u8]) -> Result<(), PoolError> {
        let now = self.clock.now_ms();
        let result = self.with_pool(|p| p.fill(dest, now)).and_then(|r| r);
        if result.is_err() {
            dest.zeroize();
        }
        result
    }
}

impl EntropySource for SharedPool {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        self.try_fill(dest).map_err(EntropyError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

    use alloc::sync::Arc;

    /// splitmix64: deterministic, well-mixed test bytes.
    struct Counter(u64);

    impl Counter {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
    }

    impl NoiseSource for Counter {
        fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
            for chunk in dest.chunks_mut(8) {
                let v = self.next_u64().to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
            Ok(())
        }
    }

    struct Constant(u8);

    impl NoiseSource for Constant {
        fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
            dest.fill(self.0);
            Ok(())
        }
    }

    /// Every third byte is zero; the others are uniform and never zero.
    struct Biased(Counter, usize);

    impl NoiseSource for Biased {
        fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
            for b in dest {
                self.1 += 1;
                *b = if self.1.is_multiple_of(3) {
                    0
                } else {
                    (self.0.next_u64() % 255 + 1) as u8
                };
            }
            Ok(())
        }
    }

    /// Works until its budget of calls is spent, then fails.
    struct Dying(Counter, Arc<AtomicUsize>);

    impl NoiseSource for Dying {
        fn gather(&mut self, dest: &mut [u8]) -> Result<(), EntropyError> {
            if self.1.load(Ordering::SeqCst) == 0 {
                return Err(EntropyError("gone"));
            }
            self.1.fetch_sub(1, Ordering::SeqCst);
            self.0.gather(dest)
        }
    }

    fn config() -> PoolConfig {
        PoolConfig {
            process_id: None,
            ..PoolConfig::default()
        }
    }

    fn pool_with(kind: SourceKind, source: impl NoiseSource + 'static) -> Pool {
        let mut pool = Pool::new(config());
        pool.add_source("test", kind, source);
        pool
    }

    #[test]
    fn unseeded_pool_refuses_and_zeroes() {
        let mut pool = pool_with(SourceKind::Conditioned, Counter(1));
        let mut buf = [0xaa; 32];
        assert_eq!(pool.fill(&mut buf, 0), Err(PoolError::Unseeded));
        assert_eq!(buf, [0; 32]);
        assert!(!pool.is_seeded());
        let mut empty = Pool::new(config());
        assert_eq!(empty.seed(0), Err(PoolError::NoSources));
        assert_eq!(empty.fill(&mut buf, 0), Err(PoolError::Unseeded));
    }

    #[test]
    fn seeded_pool_gives_distinct_output() {
        let mut pool = pool_with(SourceKind::Conditioned, Counter(1));
        pool.seed(0).unwrap();
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        pool.fill(&mut a, 0).unwrap();
        pool.fill(&mut b, 0).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
        // Large requests are split into several DRBG requests.
        let mut big = vec![0u8; MAX_REQUEST_BYTES * 2 + 5];
        pool.fill(&mut big, 0).unwrap();
        assert_ne!(big[..32], big[MAX_REQUEST_BYTES..MAX_REQUEST_BYTES + 32]);
    }

    #[test]
    fn same_seed_same_stream() {
        let mut a = pool_with(SourceKind::Conditioned, Counter(5));
        let mut b = pool_with(SourceKind::Conditioned, Counter(5));
        a.seed(0).unwrap();
        b.seed(0).unwrap();
        let (mut x, mut y) = ([0u8; 64], [0u8; 64]);
        a.fill(&mut x, 0).unwrap();
        b.fill(&mut y, 0).unwrap();
        assert_eq!(x, y);
    }

    #[test]
    fn stuck_raw_source_trips_repetition_count() {
        let mut pool = pool_with(
            SourceKind::Raw(MinEntropy::from_bits(1).unwrap()),
            Constant(0x42),
        );
        let err = pool.seed(0).unwrap_err();
        assert_eq!(
            err,
            PoolError::Health {
                source: "test",
                failure: HealthFailure::RepetitionCount {
                    value: 0x42,
                    cutoff: 21
                }
            }
        );
        assert!(!pool.is_seeded());
        let mut buf = [0u8; 16];
        assert_eq!(pool.fill(&mut buf, 0), Err(PoolError::Unseeded));
        assert_eq!(pool.failures().count(), 1);
        // Latched: seeding again reports the same failure without using it.
        assert_eq!(pool.seed(0).unwrap_err(), err);
    }

    #[test]
    fn stuck_conditioned_source_trips_stuck_output() {
        let mut pool = pool_with(SourceKind::Conditioned, Constant(7));
        assert_eq!(
            pool.seed(0),
            Err(PoolError::Health {
                source: "test",
                failure: HealthFailure::StuckOutput
            })
        );
    }

    #[test]
    fn biased_raw_source_trips_adaptive_proportion() {
        let mut pool = pool_with(
            SourceKind::Raw(MinEntropy::from_bits(4).unwrap()),
            Biased(Counter(3), 0),
        );
        match pool.seed(0) {
            Err(PoolError::Health {
                failure: HealthFailure::AdaptiveProportion { value, cutoff },
                ..
            }) => {
                // The first window starts on a non-zero byte; a later one
                // starts on a zero and sees 1 in 3 zeros, far over 62/512.
                assert_eq!((value, cutoff), (0, 62));
            }
            other => panic!("expected an adaptive proportion failure, got {other:?}"),
        }
    }

    #[test]
    fn honest_raw_source_passes() {
        let mut pool = pool_with(SourceKind::Raw(MinEntropy::FULL), Counter(11));
        pool.seed(0).unwrap();
        for _ in 0..100 {
            pool.seed(0).unwrap();
        }
        assert_eq!(pool.failures().count(), 0);
    }

    #[test]
    fn a_failed_source_is_dropped_while_others_carry_on() {
        let mut pool = Pool::new(config());
        pool.add_source("stuck", SourceKind::Conditioned, Constant(0));
        pool.add_source("good", SourceKind::Conditioned, Counter(9));
        pool.seed(0).unwrap();
        let failures: Vec<_> = pool.failures().collect();
        assert_eq!(failures, [("stuck", HealthFailure::StuckOutput)]);
        let mut buf = [0u8; 32];
        pool.fill(&mut buf, 0).unwrap();
    }

    #[test]
    fn reseeds_on_request_count() {
        let mut pool = Pool::new(PoolConfig {
            reseed_after_requests: 3,
            ..config()
        });
        pool.add_source("test", SourceKind::Conditioned, Counter(2));
        pool.seed(0).unwrap();
        let mut buf = [0u8; 8];
        for _ in 0..3 {
            pool.fill(&mut buf, 0).unwrap();
        }
        assert_eq!(pool.seed_count(), 1);
        pool.fill(&mut buf, 0).unwrap();
        assert_eq!(pool.seed_count(), 2);
    }

    #[test]
    fn reseeds_on_timer() {
        let mut pool = Pool::new(PoolConfig {
            reseed_after_ms: 1000,
            ..config()
        });
        pool.add_source("test", SourceKind::Conditioned, Counter(2));
        pool.seed(500).unwrap();
        let mut buf = [0u8; 8];
        pool.fill(&mut buf, 1499).unwrap();
        assert_eq!(pool.seed_count(), 1);
        pool.fill(&mut buf, 1500).unwrap();
        assert_eq!(pool.seed_count(), 2);
        pool.fill(&mut buf, 2000).unwrap();
        assert_eq!(pool.seed_count(), 2);
    }

    #[test]
    fn a_due_reseed_that_fails_fails_the_request() {
        let budget = Arc::new(AtomicUsize::new(2)); // start-up block + first seed
        let mut pool = Pool::new(PoolConfig {
            reseed_after_requests: 1,
            ..config()
        });
        pool.add_source("dying", SourceKind::Conditioned, Dying(Counter(4), budget));
        pool.seed(0).unwrap();
        let mut buf = [0xaa; 8];
        pool.fill(&mut buf, 0).unwrap();
        assert_eq!(
            pool.fill(&mut buf, 0),
            Err(PoolError::Source {
                source: "dying",
                error: EntropyError("gone")
            })
        );
        assert_eq!(buf, [0; 8]);
    }

    static PID: AtomicU32 = AtomicU32::new(100);

    fn fake_pid() -> u32 {
        PID.load(Ordering::SeqCst)
    }

    /// Two identical pools stand for a parent and its forked child: same
    /// state, same (deterministic, cloned) source. Only the pid differs.
    fn parent_and_child(detect: bool) -> ([u8; 32], [u8; 32], u64) {
        let make = || {
            let mut p = Pool::new(PoolConfig {
                process_id: if detect { Some(fake_pid) } else { None },
                ..config()
            });
            p.add_source("test", SourceKind::Conditioned, Counter(77));
            p
        };
        PID.store(100, Ordering::SeqCst);
        let (mut parent, mut child) = (make(), make());
        parent.seed(0).unwrap();
        child.seed(0).unwrap();
        let mut warm = [0u8; 16];
        parent.fill(&mut warm, 0).unwrap();
        child.fill(&mut warm, 0).unwrap();
        let (mut p, mut c) = ([0u8; 32], [0u8; 32]);
        parent.fill(&mut p, 0).unwrap();
        PID.store(101, Ordering::SeqCst);
        child.fill(&mut c, 0).unwrap();
        (p, c, child.seed_count())
    }

    #[test]
    fn pid_change_separates_child_from_parent() {
        // Serialized on PID: both cases run in this one test.
        let (p, c, seeds) = parent_and_child(false);
        assert_eq!(p, c, "control: without fork detection the streams coincide");
        assert_eq!(seeds, 1);
        let (p, c, seeds) = parent_and_child(true);
        assert_ne!(p, c);
        assert_eq!(seeds, 2, "the child reseeded");
        PID.store(100, Ordering::SeqCst);
    }

    #[test]
    fn shared_pool_is_an_entropy_source() {
        fn assert_source<T: EntropySource>() {}
        assert_source::<SharedPool>();
        let mut pool = Pool::new(config());
        pool.add_source("test", SourceKind::Conditioned, Counter(8));
        let shared = SharedPool::new(pool, || 0u64);
        let mut buf = [0u8; 32];
        assert_eq!(
            EntropySource::fill(&shared, &mut buf),
            Err(EntropyError("pool not seeded"))
        );
        shared.seed().unwrap();
        EntropySource::fill(&shared, &mut buf).unwrap();
        assert_eq!(shared.with_pool(|p| p.seed_count()).unwrap(), 1);
    }

    #[cfg(feature = "std")]
    #[test]
    fn host_pool_seeds() {
        let shared = SharedPool::host().unwrap();
        let mut buf = [0u8; 32];
        shared.try_fill(&mut buf).unwrap();
        assert_ne!(buf, [0; 32]);
    }
}
