//! The ML-KEM half of the post-quantum hybrid groups of RFC 10024
//! (draft-ietf-tls-ecdhe-mlkem), and how each group lays its two halves out.
//!
//! ML-KEM (FIPS 203) is libcrux-ml-kem's, whose portable and AVX2 code is
//! formally verified (panic freedom, correctness, secret independence) and
//! picked at run time by CPU features. Every call takes its randomness
//! explicitly, so the engine's configured random source feeds it.
//!
//! | group              | client share     | server share     | secret        |
//! |--------------------|------------------|------------------|---------------|
//! | X25519MLKEM768     | ek(1184) ‖ x(32) | ct(1088) ‖ x(32) | kem ‖ x25519  |
//! | SecP256r1MLKEM768  | P(65) ‖ ek(1184) | P(65) ‖ ct(1088) | ecdh ‖ kem    |
//! | SecP384r1MLKEM1024 | P(97) ‖ ek(1568) | P(97) ‖ ct(1568) | ecdh ‖ kem    |
//!
//! X25519MLKEM768 puts ML-KEM first everywhere (for FIPS, its approved part
//! leads); the two NIST-curve groups put the ECDH half first everywhere.

use alloc::boxed::Box;
use alloc::vec::Vec;

use libcrux_ml_kem::{mlkem1024, mlkem768, MlKemPrivateKey, MlKemPublicKey, MlKemSharedSecret};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::msgs::enums::NamedGroup;

const BAD: Error = Error::IllegalParameter("bad key share");

/// The 64 bytes d ‖ z that ML-KEM.KeyGen takes (FIPS 203 §7.1).
pub(super) type KeygenSeed = [u8; 64];

/// The 32 bytes m that ML-KEM.Encaps takes (FIPS 203 §7.2).
pub(super) type EncapsSeed = [u8; 32];

/// An ML-KEM parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kem {
    /// ML-KEM-768
    MlKem768,
    /// ML-KEM-1024
    MlKem1024,
}

impl Kem {
    /// The length of an encapsulation key.
    pub(super) fn ek_len(self) -> usize {
        match self {
            Kem::MlKem768 => 1184,
            Kem::MlKem1024 => 1568,
        }
    }

    /// The length of a ciphertext.
    pub(super) fn ct_len(self) -> usize {
        match self {
            Kem::MlKem768 => 1088,
            Kem::MlKem1024 => 1568,
        }
    }

    /// A key pair from `seed` (deterministic): the decapsulation key and the
    /// encapsulation key's bytes.
    pub(super) fn generate(self, seed: &KeygenSeed) -> (DecapsulationKey, Vec<u8>) {
        match self {
            Kem::MlKem768 => {
                let (sk, pk) = mlkem768::generate_key_pair(*seed).into_parts();
                (
                    DecapsulationKey::MlKem768(Box::new(sk)),
                    pk.as_ref().to_vec(),
                )
            }
            Kem::MlKem1024 => {
                let (sk, pk) = mlkem1024::generate_key_pair(*seed).into_parts();
                (
                    DecapsulationKey::MlKem1024(Box::new(sk)),
                    pk.as_ref().to_vec(),
                )
            }
        }
    }

    /// Encapsulates to the peer's encapsulation key `ek` with randomness
    /// `seed`: the ciphertext and the shared secret. A key of the wrong
    /// length, or one failing FIPS 203's modulus check (§7.2: every
    /// coefficient below q once decoded), is `IllegalParameter("bad key share")`.
    pub(super) fn encapsulate(
        self,
        ek: &[u8],
        seed: &EncapsSeed,
    ) -> Result<(Vec<u8>, Zeroizing<MlKemSharedSecret>), Error> {
        match self {
            Kem::MlKem768 => {
                let ek = MlKemPublicKey::try_from(ek).map_err(|_| BAD)?;
                if !mlkem768::validate_public_key(&ek) {
                    return Err(BAD);
                }
                let (ct, ss) = mlkem768::encapsulate(&ek, *seed);
                Ok((ct.as_ref().to_vec(), Zeroizing::new(ss)))
            }
            Kem::MlKem1024 => {
                let ek = MlKemPublicKey::try_from(ek).map_err(|_| BAD)?;
                if !mlkem1024::validate_public_key(&ek) {
                    return Err(BAD);
                }
                let (ct, ss) = mlkem1024::encapsulate(&ek, *seed);
                Ok((ct.as_ref().to_vec(), Zeroizing::new(ss)))
            }
        }
    }
}

/// An ML-KEM decapsulation key, on the heap (2 400 or 3 168 bytes), zeroed
/// when dropped. Copies the key generation made on the stack before it was
/// boxed are not reachable to wipe.
pub(super) enum DecapsulationKey {
    MlKem768(Box<MlKemPrivateKey<2400>>),
    MlKem1024(Box<MlKemPrivateKey<3168>>),
}

impl DecapsulationKey {
    /// The shared secret for ciphertext `ct`. A ciphertext of the wrong
    /// length is `IllegalParameter("bad key share")`. One of the right length
    /// always gives a secret: ML-KEM rejects a tampered ciphertext implicitly
    /// (FIPS 203 §6.3), with a pseudorandom secret the peer cannot know, so
    /// the failure shows later as a Finished that does not verify.
    pub(super) fn decapsulate(&self, ct: &[u8]) -> Result<Zeroizing<MlKemSharedSecret>, Error> {
        let ss = match self {
            DecapsulationKey::MlKem768(sk) => {
                let ct = libcrux_ml_kem::MlKemCiphertext::try_from(ct).map_err(|_| BAD)?;
                mlkem768::decapsulate(sk, &ct)
            }
            DecapsulationKey::MlKem1024(sk) => {
                let ct = libcrux_ml_kem::MlKemCiphertext::try_from(ct).map_err(|_| BAD)?;
                mlkem1024::decapsulate(sk, &ct)
            }
        };
        Ok(Zeroizing::new(ss))
    }
}

impl Drop for DecapsulationKey {
    fn drop(&mut self) {
        match self {
            DecapsulationKey::MlKem768(sk) => sk[0..].zeroize(),
            DecapsulationKey::MlKem1024(sk) => sk[0..].zeroize(),
        }
    }
}

/// A hybrid group: its classical ECDH group, its ML-KEM parameter set and
/// the order of the two halves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Hybrid {
    /// The ECDH half's group (X25519, P-256 or P-384).
    pub(super) ecdh: NamedGroup,
    /// The ML-KEM half's parameter set.
    pub(super) kem: Kem,
    /// ML-KEM first in the shares and the secret (X25519MLKEM768), else
    /// ECDH first (the SecP groups).
    pub(super) kem_first: bool,
}

impl Hybrid {
    /// The layout of `group`, if it is a hybrid group.
    pub(super) fn of(group: NamedGroup) -> Option<Hybrid> {
        let (ecdh, kem, kem_first) = match group {
            NamedGroup::X25519MlKem768 => (NamedGroup::X25519, Kem::MlKem768, true),
            NamedGroup::Secp256r1MlKem768 => (NamedGroup::Secp256r1, Kem::MlKem768, false),
            NamedGroup::Secp384r1MlKem1024 => (NamedGroup::Secp384r1, Kem::MlKem1024, false),
            _ => return None,
        };
        Some(Hybrid {
            ecdh,
            kem,
            kem_first,
        })
    }

    /// `kem` and `ecdh` in this group's order.
    pub(super) fn join<'a>(&self, kem: &'a [u8], ecdh: &'a [u8]) -> [&'a [u8]; 2] {
        if self.kem_first {
            [kem, ecdh]
        } else {
            [ecdh, kem]
        }
    }

    /// Splits a share of exactly `kem_len` + the ECDH share's length into its
    /// (ML-KEM, ECDH) parts; any other length is `IllegalParameter`.
    fn split<'a>(&self, share: &'a [u8], kem_len: usize) -> Result<(&'a [u8], &'a [u8]), Error> {
        let ecdh_len = super::share_len(self.ecdh);
        if share.len() != kem_len.saturating_add(ecdh_len) {
            return Err(BAD);
        }
        let at = if self.kem_first { kem_len } else { ecdh_len };
        let (first, second) = share.split_at_checked(at).ok_or(BAD)?;
        Ok(if self.kem_first {
            (first, second)
        } else {
            (second, first)
        })
    }

    /// A client's share split into (encapsulation key, ECDH share).
    pub(super) fn split_client_share<'a>(
        &self,
        share: &'a [u8],
    ) -> Result<(&'a [u8], &'a [u8]), Error> {
        self.split(share, self.kem.ek_len())
    }

    /// A server's share split into (ciphertext, ECDH share).
    pub(super) fn split_server_share<'a>(
        &self,
        share: &'a [u8],
    ) -> Result<(&'a [u8], &'a [u8]), Error> {
        self.split(share, self.kem.ct_len())
    }
}
