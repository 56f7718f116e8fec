//! The CPU's own random number instructions: x86-64 `RDSEED` (preferred: the
//! conditioned output of the hardware entropy source) or `RDRAND` (a DRBG the
//! hardware reseeds).
//!
//! Detection is at run time with std (`is_x86_feature_detected!`) and at
//! compile time without it (`-C target-feature=+rdseed` or `+rdrand`), since a
//! no_std build has no portable CPUID wrapper here. On other architectures
//! [`CpuSource::detect`] returns `None`.
//!
//! The output is conditioned; add it to a pool as
//! [`SourceKind::Conditioned`](crate::SourceKind::Conditioned), whose stuck-output
//! check also catches the known failure of some AMD parts that return all ones.
//! This module holds the crate's only `unsafe` apart from the getrandom hook:
//! calling the intrinsics, which is sound once the instruction is known present.

use crate::{EntropyError, EntropySource};

/// Which instruction a [`CpuSource`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuInstruction {
    /// `RDSEED`.
    Rdseed,
    /// `RDRAND`.
    Rdrand,
}

/// Random bytes from `RDSEED` or `RDRAND`. Only constructed once the
/// instruction is known to be present.
#[derive(Debug, Clone, Copy)]
pub struct CpuSource {
    instruction: CpuInstruction,
}

/// RDSEED may fail transiently when the entropy source is drained; Intel's
/// guidance is to retry with a pause. RDRAND failing ten times in a row means
/// the hardware is broken.
const RDSEED_RETRIES: u32 = 1024;
const RDRAND_RETRIES: u32 = 10;

impl CpuSource {
    /// RDSEED if present, else RDRAND if present, else `None`.
    pub fn detect() -> Option<CpuSource> {
        CpuSource::rdseed().or_else(CpuSource::rdrand)
    }

    /// RDSEED, if present.
    pub fn rdseed() -> Option<CpuSource> {
        imp::has_rdseed().then_some(CpuSource {
            instruction: CpuInstruction::Rdseed,
        })
    }

    /// RDRAND, if present.
    pub fn rdrand() -> Option<CpuSource> {
        imp::has_rdrand().then_some(CpuSource {
            instruction: CpuInstruction::Rdrand,
        })
    }

    /// The instruction in use.
    pub fn instruction(&self) -> CpuInstruction {
        self.instruction
    }

    fn word(&self) -> Result<u64, EntropyError> {
        let (retries, step): (u32, fn(&mut u64) -> bool) = match self.instruction {
            CpuInstruction::Rdseed => (RDSEED_RETRIES, imp::rdseed_step),
            CpuInstruction::Rdrand => (RDRAND_RETRIES, imp::rdrand_step),
        };
        for _ in 0..retries {
            let mut v = 0u64;
            if step(&mut v) {
                // All zeros or all ones with success reported is a known
                // hardware fault, not a random draw (probability 2^-63).
                if v == 0 || v == u64::MAX {
                    return Err(EntropyError("cpu: instruction returned a stuck value"));
                }
                return Ok(v);
            }
            core::hint::spin_loop();
        }
        Err(EntropyError("cpu: instruction kept failing"))
    }
}

impl EntropySource for CpuSource {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        for chunk in dest.chunks_mut(8) {
            match self.word() {
                Ok(w) => chunk.copy_from_slice(&w.to_le_bytes()[..chunk.len()]),
                Err(e) => {
                    dest.fill(0);
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::arch::x86_64::{_rdrand64_step, _rdseed64_step};

    pub(super) fn has_rdseed() -> bool {
        #[cfg(feature = "std")]
        return std::arch::is_x86_feature_detected!("rdseed");
        #[cfg(not(feature = "std"))]
        return cfg!(target_feature = "rdseed");
    }

    pub(super) fn has_rdrand() -> bool {
        #[cfg(feature = "std")]
        return std::arch::is_x86_feature_detected!("rdrand");
        #[cfg(not(feature = "std"))]
        return cfg!(target_feature = "rdrand");
    }

    #[allow(unsafe_code)]
    #[target_feature(enable = "rdseed")]
    unsafe fn rdseed(v: &mut u64) -> i32 {
        _rdseed64_step(v)
    }

    #[allow(unsafe_code)]
    #[target_feature(enable = "rdrand")]
    unsafe fn rdrand(v: &mut u64) -> i32 {
        _rdrand64_step(v)
    }

    /// One RDSEED attempt; `false` if it failed or the CPU lacks RDSEED.
    #[allow(unsafe_code)]
    pub(super) fn rdseed_step(v: &mut u64) -> bool {
        if !has_rdseed() {
            return false;
        }
        // SAFETY: the only requirement of a `#[target_feature]` function is
        // that the CPU supports the feature, checked just above (a cached
        // atomic load with std); the intrinsic writes only through the
        // `&mut u64` it is given.
        unsafe { rdseed(v) == 1 }
    }

    /// One RDRAND attempt; `false` if it failed or the CPU lacks RDRAND.
    #[allow(unsafe_code)]
    pub(super) fn rdrand_step(v: &mut u64) -> bool {
        if !has_rdrand() {
            return false;
        }
        // SAFETY: as for `rdseed_step`, with the RDRAND check above.
        unsafe { rdrand(v) == 1 }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    pub(super) fn has_rdseed() -> bool {
        false
    }
    pub(super) fn has_rdrand() -> bool {
        false
    }
    pub(super) fn rdseed_step(_: &mut u64) -> bool {
        false
    }
    pub(super) fn rdrand_step(_: &mut u64) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pool::{Pool, PoolConfig, SourceKind};

    #[test]
    fn cpu_source_where_present() {
        for source in [CpuSource::rdseed(), CpuSource::rdrand()] {
            let Some(source) = source else {
                // Not every machine has these instructions; nothing to test.
                continue;
            };
            let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
            source.fill(&mut a).unwrap();
            source.fill(&mut b).unwrap();
            assert_ne!(a, b, "{:?}", source.instruction());
            let mut pool = Pool::new(PoolConfig {
                process_id: None,
                ..PoolConfig::default()
            });
            pool.add_source("cpu", SourceKind::Conditioned, source);
            pool.seed(0).unwrap();
        }
    }
}
