//! getrandom's custom backend, routed into an [`EntropySource`] (feature
//! `custom-getrandom`).
//!
//! ring's `SystemRandom` (ephemeral key shares, signatures) calls the
//! `getrandom` crate. On targets getrandom does not support natively
//! (`target_os = "none"` unikernels) getrandom 0.2 calls a registered custom
//! function; this module registers [`fill`], which draws from the source given
//! to [`install`]. Until something is installed it fails, so ring fails rather
//! than run on no randomness. On hosted targets getrandom keeps using the
//! operating system and this hook is never called.
//!
//! ```ignore
//! // At boot, on a unikernel (ring built with `less-safe-getrandom-custom-or-rdrand`):
//! static POOL: spin::Once<entropy::SharedPool> = spin::Once::new();
//! let pool = POOL.call_once(|| build_and_seed_pool_from_xentropyd());
//! entropy::getrandom_hook::install(pool);
//! ```
//!
//! Only one crate in a binary may register a getrandom backend.

use core::num::NonZeroU32;

use crate::EntropySource;

static INSTALLED: spin::Once<&'static dyn EntropySource> = spin::Once::new();

/// getrandom error code returned while nothing is installed.
pub const NOT_INSTALLED: u32 = getrandom::Error::CUSTOM_START + 1;

/// getrandom error code returned when the installed source fails.
pub const SOURCE_FAILED: u32 = getrandom::Error::CUSTOM_START + 2;

/// Makes `source` the backend of getrandom (and so of ring's `SystemRandom`).
/// Returns `false`, changing nothing, if a source was installed already.
pub fn install(source: &'static dyn EntropySource) -> bool {
    let mut installed_now = false;
    INSTALLED.call_once(|| {
        installed_now = true;
        source
    });
    installed_now
}

/// Whether a source is installed.
pub fn is_installed() -> bool {
    INSTALLED.is_completed()
}

fn error(code: u32) -> getrandom::Error {
    match NonZeroU32::new(code) {
        Some(code) => getrandom::Error::from(code),
        None => getrandom::Error::UNSUPPORTED,
    }
}

/// The custom backend: fills `dest` from the installed source.
pub fn fill(dest: &mut [u8]) -> Result<(), getrandom::Error> {
    match INSTALLED.get() {
        None => Err(error(NOT_INSTALLED)),
        Some(source) => source.fill(dest).map_err(|_| error(SOURCE_FAILED)),
    }
}

/// The registration: getrandom's macro defines an unmangled function that
/// getrandom calls on targets without native support. Exporting an unmangled
/// symbol is `unsafe_code` to the lint (two crates defining it would clash at
/// link time), hence the narrow allowance; the function only forwards to [`fill`].
#[allow(unsafe_code)]
mod register {
    getrandom::register_custom_getrandom!(super::fill);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EntropyError;

    struct Sevens;

    impl EntropySource for Sevens {
        fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
            dest.fill(7);
            Ok(())
        }
    }

    #[test]
    fn fails_until_installed_then_forwards() {
        let mut buf = [0u8; 4];
        assert_eq!(fill(&mut buf).unwrap_err().code().get(), NOT_INSTALLED,);
        static SOURCE: Sevens = Sevens;
        assert!(install(&SOURCE));
        assert!(!install(&SOURCE));
        assert!(is_installed());
        fill(&mut buf).unwrap();
        assert_eq!(buf, [7; 4]);
    }
}
