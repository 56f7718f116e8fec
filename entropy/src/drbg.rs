//! SP 800-90A Rev. 1 `HMAC_DRBG` with HMAC-SHA-256 (section 10.1.2).
//!
//! The working state is the key `K` and the chaining value `V`, both wiped on
//! drop. Every generate request ends with the update function, so the state
//! that produced an output is gone once the output is returned (backtracking
//! resistance). The HMAC itself is ring's; ring's internal HMAC key schedule
//! is not under our control and is not wiped by us.

use ring::hmac;
use zeroize::{Zeroize, Zeroizing};

/// Output length of HMAC-SHA-256 in bytes (`outlen`).
const OUTLEN: usize = 32;

/// The security strength of this DRBG, in bits.
pub const SECURITY_STRENGTH_BITS: u32 = 256;

/// The most bytes one generate request may return (2^19 bits, SP 800-90A table 2).
pub const MAX_REQUEST_BYTES: usize = 1 << 16;

/// The most generate requests between reseeds that SP 800-90A allows (2^48).
pub const MAX_RESEED_INTERVAL: u64 = 1 << 48;

/// A request the DRBG refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrbgError {
    /// Instantiation or reseeding was given less entropy input than the
    /// security strength.
    EntropyTooShort,
    /// More than [`MAX_REQUEST_BYTES`] were asked for in one request.
    RequestTooLarge,
    /// [`MAX_RESEED_INTERVAL`] requests were served since the last reseed.
    ReseedRequired,
}

impl core::fmt::Display for DrbgError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DrbgError::EntropyTooShort => "entropy input shorter than the security strength",
            DrbgError::RequestTooLarge => "request larger than 2^16 bytes",
            DrbgError::ReseedRequired => "reseed required",
        })
    }
}

/// The HMAC_DRBG working state.
pub struct HmacDrbg {
    k: Zeroizing<[u8; OUTLEN]>,
    v: Zeroizing<[u8; OUTLEN]>,
    reseed_counter: u64,
}

impl core::fmt::Debug for HmacDrbg {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HmacDrbg")
            .field("reseed_counter", &self.reseed_counter)
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA-256 over the concatenation of `parts`, keyed with `key`.
fn hmac_parts(key: &[u8; OUTLEN], parts: &[&[u8]]) -> Zeroizing<[u8; OUTLEN]> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for part in parts {
        ctx.update(part);
    }
    let tag = ctx.sign();
    let mut out = Zeroizing::new([0u8; OUTLEN]);
    out.copy_from_slice(tag.as_ref());
    out
}

impl HmacDrbg {
    /// Instantiates the DRBG (10.1.2.3). `entropy` must carry at least the
    /// security strength; the nonce and personalization string are optional
    /// (they are concatenated into the seed material exactly as the standard
    /// says, so passing the nonce as part of `entropy` is equivalent).
    pub fn instantiate(
        entropy: &[u8],
        nonce: &[u8],
        personalization: &[u8],
    ) -> Result<HmacDrbg, DrbgError> {
        if entropy.len() * 8 < SECURITY_STRENGTH_BITS as usize {
            return Err(DrbgError::EntropyTooShort);
        }
        let mut drbg = HmacDrbg {
            k: Zeroizing::new([0x00; OUTLEN]),
            v: Zeroizing::new([0x01; OUTLEN]),
            reseed_counter: 1,
        };
        drbg.update(&[entropy, nonce, personalization]);
        Ok(drbg)
    }

    /// Reseeds (10.1.2.4) with fresh entropy and optional additional input.
    pub fn reseed(&mut self, entropy: &[u8], additional: &[u8]) -> Result<(), DrbgError> {
        if entropy.len() * 8 < SECURITY_STRENGTH_BITS as usize {
            return Err(DrbgError::EntropyTooShort);
        }
        self.update(&[entropy, additional]);
        self.reseed_counter = 1;
        Ok(())
    }

    /// Mixes `additional` into the state without generating output and
    /// without counting as a reseed (used, for example, to separate a forked
    /// child's state from its parent's before anything else happens).
    pub fn mix(&mut self, additional: &[u8]) {
        self.update(&[additional]);
    }

    /// Generates `out.len()` bytes (10.1.2.5), at most [`MAX_REQUEST_BYTES`],
    /// and then updates the key and chaining value.
    pub fn generate(&mut self, out: &mut [u8], additional: &[u8]) -> Result<(), DrbgError> {
        if out.len() > MAX_REQUEST_BYTES {
            return Err(DrbgError::RequestTooLarge);
        }
        if self.reseed_counter > MAX_RESEED_INTERVAL {
            return Err(DrbgError::ReseedRequired);
        }
        if !additional.is_empty() {
            self.update(&[additional]);
        }
        for chunk in out.chunks_mut(OUTLEN) {
            self.v = hmac_parts(&self.k, &[&self.v[..]]);
            chunk.copy_from_slice(&self.v[..chunk.len()]);
        }
        self.update(&[additional]);
        self.reseed_counter += 1;
        Ok(())
    }

    /// Requests served since the last (re)seed, plus one (the standard's counter).
    pub fn reseed_counter(&self) -> u64 {
        self.reseed_counter
    }

    /// The update function (10.1.2.2); `provided` is the concatenation of the parts.
    fn update(&mut self, provided: &[&[u8]]) {
        let empty = provided.iter().all(|p| p.is_empty());
        for round in [0x00u8, 0x01] {
            if round == 0x01 && empty {
                break;
            }
            let mut parts: [&[u8]; 5] = [&[]; 5];
            parts[0] = &self.v[..];
            let sep = [round];
            parts[1] = &sep;
            for (slot, part) in parts[2..].iter_mut().zip(provided) {
                *slot = part;
            }
            debug_assert!(provided.len() <= 3);
            self.k = hmac_parts(&self.k, &parts);
            self.v = hmac_parts(&self.k, &[&self.v[..]]);
        }
    }
}

impl Drop for HmacDrbg {
    fn drop(&mut self) {
        // `k` and `v` are wiped by `Zeroizing`; the counter is not secret.
        self.reseed_counter.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use alloc::vec::Vec;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // NIST CAVP HMAC_DRBG.rsp, [SHA-256], no prediction resistance, no
    // personalization, no additional input, 1024 returned bits; the second
    // generate call's output is the one recorded.
    #[test]
    fn cavp_sha256_no_reseed() {
        let entropy = hex("ca851911349384bffe89de1cbdc46e6831e44d34a4fb935ee285dd14b71a7488");
        let nonce = hex("659ba96c601dc69fc902940805ec0ca8");
        let expected = hex(concat!(
            "e528e9abf2dece54d47c7e75e5fe302149f817ea9fb4bee6f4199697d04d5b89",
            "d54fbb978a15b5c443c9ec21036d2460b6f73ebad0dc2aba6e624abf07745bc1",
            "07694bb7547bb0995f70de25d6b29e2d3011bb19d27676c07162c8b5ccde0668",
            "961df86803482cb37ed6d5c0bb8d50cf1f50d476aa0458bdaba806f48be9dcb8"
        ));
        let mut drbg = HmacDrbg::instantiate(&entropy, &nonce, &[]).unwrap();
        let mut out = vec![0u8; 128];
        drbg.generate(&mut out, &[]).unwrap();
        drbg.generate(&mut out, &[]).unwrap();
        assert_eq!(out, expected);
    }

    // NIST CAVP HMAC_DRBG.rsp, [SHA-256], no prediction resistance, with a
    // reseed after instantiation.
    #[test]
    fn cavp_sha256_with_reseed() {
        let entropy = hex("06032cd5eed33f39265f49ecb142c511da9aff2af71203bffaf34a9ca5bd9c0d");
        let nonce = hex("0e66f71edc43e42a45ad3c6fc6cdc4df");
        let reseed = hex("01920a4e669ed3a85ae8a33b35a74ad7fb2a6bb4cf395ce00334a9c9a5a5d552");
        let expected = hex(concat!(
            "76fc79fe9b50beccc991a11b5635783a83536add03c157fb30645e611c2898bb",
            "2b1bc215000209208cd506cb28da2a51bdb03826aaf2bd2335d576d519160842",
            "e7158ad0949d1a9ec3e66ea1b1a064b005de914eac2e9d4f2d72a8616a802254",
            "22918250ff66a41bd2f864a6a38cc5b6499dc43f7f2bd09e1e0f8f5885935124"
        ));
        let mut drbg = HmacDrbg::instantiate(&entropy, &nonce, &[]).unwrap();
        drbg.reseed(&reseed, &[]).unwrap();
        let mut out = vec![0u8; 128];
        drbg.generate(&mut out, &[]).unwrap();
        drbg.generate(&mut out, &[]).unwrap();
        assert_eq!(out, expected);
    }

    #[test]
    fn state_changes_after_every_request() {
        let mut drbg = HmacDrbg::instantiate(&[7u8; 32], &[], &[]).unwrap();
        let (k0, v0) = (*drbg.k, *drbg.v);
        let mut a = [0u8; 32];
        drbg.generate(&mut a, &[]).unwrap();
        // The output block is HMAC(K, V) and K, V are replaced afterwards:
        // the output cannot be recomputed from the state that follows it.
        assert_ne!(*drbg.k, k0);
        assert_ne!(*drbg.v, v0);
        assert_ne!(&drbg.v[..], &a[..]);
        let mut b = [0u8; 32];
        drbg.generate(&mut b, &[]).unwrap();
        assert_ne!(a, b);
        assert_eq!(drbg.reseed_counter(), 3);
    }

    #[test]
    fn refuses_short_entropy_and_huge_requests() {
        assert_eq!(
            HmacDrbg::instantiate(&[0u8; 31], &[], &[]).unwrap_err(),
            DrbgError::EntropyTooShort
        );
        let mut drbg = HmacDrbg::instantiate(&[0u8; 32], &[], &[]).unwrap();
        assert_eq!(
            drbg.reseed(&[1u8; 16], &[]),
            Err(DrbgError::EntropyTooShort)
        );
        let mut big = vec![0u8; MAX_REQUEST_BYTES + 1];
        assert_eq!(
            drbg.generate(&mut big, &[]),
            Err(DrbgError::RequestTooLarge)
        );
        let mut ok = vec![0u8; MAX_REQUEST_BYTES];
        drbg.generate(&mut ok, &[]).unwrap();
    }
}
