//! Key exchange for TLS 1.3's key_share (RFC 8446 §4.2.8) and TLS 1.2's
//! ECDHE: X25519, P-256, P-384, and the post-quantum hybrids of RFC 10024
//! (draft-ietf-tls-ecdhe-mlkem) that pair one of them with ML-KEM
//! (X25519MLKEM768, SecP256r1MLKEM768, SecP384r1MLKEM1024; TLS 1.3 only).
//!
//! A client starts a [`KeyExchange`] per group it offers and completes it
//! with the server's share; a server answers a client's share in one call,
//! [`KeyExchange::respond`], whatever the group.

mod exposed;
mod hybrid;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use core::fmt;

use entropy::EntropySource;
use ring::agreement;
use ring::rand::SystemRandom;
use zeroize::Zeroizing;

pub use self::exposed::{server_share, share_lengths, ClientShare};
use self::hybrid::{DecapsulationKey, EncapsSeed, Hybrid, KeygenSeed};
use super::secret::Secret;
use crate::error::Error;
use crate::msgs::enums::NamedGroup;

const BAD: Error = Error::IllegalParameter("bad key share");

/// True for the classical (EC)DHE groups, which TLS 1.2 and TLS 1.3 both use.
/// The hybrid groups are not among them: see `supported_tls13_group`.
pub fn supported_group(g: NamedGroup) -> bool {
    ring_alg(g).is_some()
}

/// True for the groups a TLS 1.3 handshake can use: the classical ones and
/// the post-quantum hybrids (which TLS 1.2 must never negotiate).
pub(crate) fn supported_tls13_group(g: NamedGroup) -> bool {
    supported_group(g) || hybrid_group(g)
}

/// True for the post-quantum hybrid groups (TLS 1.3 only).
pub(crate) fn hybrid_group(g: NamedGroup) -> bool {
    Hybrid::of(g).is_some()
}

fn ring_alg(g: NamedGroup) -> Option<&'static agreement::Algorithm> {
    match g {
        NamedGroup::X25519 => Some(&agreement::X25519),
        NamedGroup::Secp256r1 => Some(&agreement::ECDH_P256),
        NamedGroup::Secp384r1 => Some(&agreement::ECDH_P384),
        _ => None,
    }
}

/// The length of a classical key share: X25519 raw, or an uncompressed point.
fn share_len(g: NamedGroup) -> usize {
    match g {
        NamedGroup::X25519 => 32,
        NamedGroup::Secp256r1 => 65,
        NamedGroup::Secp384r1 => 97,
        _ => 0,
    }
}

/// A fresh ephemeral ECDH key pair for a classical group.
fn ecdh_generate(
    group: NamedGroup,
) -> Result<(agreement::EphemeralPrivateKey, agreement::PublicKey), Error> {
    let alg = ring_alg(group).ok_or(Error::Internal("unsupported key exchange group"))?;
    let rng = SystemRandom::new();
    let private = agreement::EphemeralPrivateKey::generate(alg, &rng)
        .map_err(|_| Error::Internal("key share generation failed"))?;
    let public = private
        .compute_public_key()
        .map_err(|_| Error::Internal("key share generation failed"))?;
    Ok((private, public))
}

/// ECDH with the peer's classical share, checked: exact length, the
/// uncompressed point form, a point on the curve, a non-zero X25519 result.
fn ecdh_agree(
    group: NamedGroup,
    private: agreement::EphemeralPrivateKey,
    peer_public: &[u8],
) -> Result<Secret, Error> {
    if peer_public.len() != share_len(group) {
        return Err(BAD);
    }
    if group != NamedGroup::X25519 && peer_public.first() != Some(&0x04) {
        return Err(BAD); // TLS 1.3 allows only the uncompressed point form
    }
    let alg = ring_alg(group).ok_or(BAD)?;
    let peer = agreement::UnparsedPublicKey::new(alg, peer_public);
    agreement::agree_ephemeral(private, &peer, Secret::from_slice).map_err(|_| BAD)?
}

/// `N` random bytes from the configured source, wiped on drop.
fn draw<const N: usize>(rng: &dyn EntropySource) -> Result<Zeroizing<[u8; N]>, Error> {
    let mut seed = Zeroizing::new([0u8; N]);
    rng.fill(seed.as_mut()).map_err(|_| Error::Entropy)?;
    Ok(seed)
}

/// The hybrid secret: the ML-KEM and ECDH secrets in the group's order.
fn hybrid_secret(layout: &Hybrid, kem: &[u8], ecdh: &Secret) -> Result<Secret, Error> {
    let [first, second] = layout.join(kem, ecdh.as_ref());
    Secret::concat(first, second)
}

/// Our half of one key exchange, used once: an ephemeral ECDH private key,
/// and for a hybrid group also an ML-KEM decapsulation key.
///
/// Randomness: ML-KEM's (the 64-byte key generation seed, the 32-byte
/// encapsulation seed) comes from the configured random source given to
/// [`KeyExchange::start`] and [`KeyExchange::respond`]. The ECDH half's
/// comes from ring's `SystemRandom`, the OS: ring's `SecureRandom` trait is
/// sealed, so an ephemeral ECDH key cannot be drawn from the configured
/// source. OS randomness enters the engine there (and in ECDSA/RSA-PSS
/// signing, [`SigningKey::sign`](super::SigningKey::sign)) and nowhere else.
pub(crate) struct KeyExchange {
    group: NamedGroup,
    ecdh: agreement::EphemeralPrivateKey,
    half: Half,
}

/// What a [`KeyExchange`] holds besides its ECDH private key.
enum Half {
    /// A classical group: our share is the ECDH public key.
    Classical(agreement::PublicKey),
    /// A hybrid group: its layout, the ML-KEM decapsulation key and our
    /// whole share (encapsulation key and ECDH public key, in order).
    /// `classical_too`: the hybrid's ECDH public key is also offered alone,
    /// as the share of the hybrid's ECDH group (see
    /// [`KeyExchange::offer_classical_too`]).
    Hybrid {
        layout: Hybrid,
        kem: DecapsulationKey,
        share: Vec<u8>,
        classical_too: bool,
    },
}

impl KeyExchange {
    /// A fresh key pair for a classical `group`; ECDH randomness comes from
    /// ring's `SystemRandom` (see [`KeyExchange`]). A hybrid or unsupported
    /// group is `Error::Internal`: hybrids start with [`KeyExchange::start`].
    pub(crate) fn generate(group: NamedGroup) -> Result<KeyExchange, Error> {
        let (ecdh, public) = ecdh_generate(group)?;
        Ok(KeyExchange {
            group,
            ecdh,
            half: Half::Classical(public),
        })
    }

    /// A fresh key pair for any supported `group`, classical or hybrid, as a
    /// client's key share: the ML-KEM key pair of a hybrid group comes from
    /// 64 bytes of `rng` (an `rng` failure is `Error::Entropy`). An
    /// unsupported group is `Error::Internal`.
    pub(crate) fn start(group: NamedGroup, rng: &dyn EntropySource) -> Result<KeyExchange, Error> {
        match Hybrid::of(group) {
            None => KeyExchange::generate(group),
            Some(layout) => {
                let seed: Zeroizing<KeygenSeed> = draw(rng)?;
                let (kem, ek) = layout.kem.generate(&seed);
                let (ecdh, public) = ecdh_generate(layout.ecdh)?;
                let share = layout.join(&ek, public.as_ref()).concat();
                Ok(KeyExchange {
                    group,
                    ecdh,
                    half: Half::Hybrid {
                        layout,
                        kem,
                        share,
                        classical_too: false,
                    },
                })
            }
        }
    }

    /// The group.
    #[cfg(test)]
    pub(crate) fn group(&self) -> NamedGroup {
        self.group
    }

    /// For a hybrid whose ECDH group is `classical`: offer the hybrid's ECDH
    /// public key alone too, as the key share for `classical`, instead of a
    /// second key pair (as rustls and Chrome do with X25519MLKEM768 and
    /// X25519). The server completes one of the two shares, so the private
    /// key still serves one agreement. False (and nothing changed) for a
    /// classical key exchange or a hybrid over another ECDH group.
    pub(crate) fn offer_classical_too(&mut self, classical: NamedGroup) -> bool {
        match &mut self.half {
            Half::Hybrid {
                layout,
                classical_too,
                ..
            } if layout.ecdh == classical => {
                *classical_too = true;
                true
            }
            _ => false,
        }
    }

    /// The key shares this key exchange offers, as (group, share) in the
    /// order sent: its own, then the hybrid's ECDH share alone if
    /// [`KeyExchange::offer_classical_too`] was set.
    pub(crate) fn shares(&self) -> impl Iterator<Item = (NamedGroup, &[u8])> {
        let classical = match &self.half {
            Half::Hybrid {
                layout,
                share,
                classical_too: true,
                ..
            } => layout
                .split_client_share(share)
                .ok()
                .map(|(_, ecdh)| (layout.ecdh, ecdh)),
            _ => None,
        };
        core::iter::once((self.group, self.public_key())).chain(classical)
    }

    /// True if one of [`KeyExchange::shares`] is for `group`.
    pub(crate) fn offers(&self, group: NamedGroup) -> bool {
        self.shares().any(|(g, _)| g == group)
    }

    /// Our key share, as sent in the key_share extension.
    pub(crate) fn public_key(&self) -> &[u8] {
        match &self.half {
            Half::Classical(public) => public.as_ref(),
            Half::Hybrid { share, .. } => share,
        }
    }

    /// [`KeyExchange::complete`] for the share of `group` the server
    /// answered: our own group's, or the hybrid's ECDH share offered alone
    /// (ECDH with our ECDH private key only). A group we did not offer is
    /// `Error::Internal`.
    pub(crate) fn complete_for(
        self,
        group: NamedGroup,
        peer_public: &[u8],
    ) -> Result<Secret, Error> {
        if group == self.group {
            return self.complete(peer_public);
        }
        match self.half {
            Half::Hybrid {
                layout,
                classical_too: true,
                ..
            } if layout.ecdh == group => ecdh_agree(group, self.ecdh, peer_public),
            _ => Err(Error::Internal("key share for a group we did not offer")),
        }
    }

    /// Combines our private key(s) with the server's key share into the
    /// shared secret. A share of the wrong size or form, a point not on the
    /// curve, or an all-zero X25519 result is
    /// `Error::IllegalParameter("bad key share")`. A hybrid share's ML-KEM
    /// ciphertext is not checked beyond its length: ML-KEM's implicit
    /// rejection turns a tampered one into a wrong secret, not an error.
    pub(crate) fn complete(self, peer_public: &[u8]) -> Result<Secret, Error> {
        match self.half {
            Half::Classical(_) => ecdh_agree(self.group, self.ecdh, peer_public),
            Half::Hybrid { layout, kem, .. } => {
                let (ct, ecdh_share) = layout.split_server_share(peer_public)?;
                let kem_secret = kem.decapsulate(ct)?;
                let ecdh_secret = ecdh_agree(layout.ecdh, self.ecdh, ecdh_share)?;
                hybrid_secret(&layout, kem_secret.as_ref(), &ecdh_secret)
            }
        }
    }

    /// The server's side, for any supported `group`: answers the client's
    /// key share with our share and the shared secret. For a classical
    /// group that is a fresh ECDH key pair; for a hybrid group it is an
    /// ML-KEM encapsulation to the client's key (randomness: 32 bytes of
    /// `rng`) and a fresh ECDH key pair, our share being the ciphertext and
    /// our ECDH public key in the group's order.
    ///
    /// A client share of the wrong length or form, an ECDH point not on the
    /// curve (or an all-zero X25519 result), or an ML-KEM encapsulation key
    /// failing FIPS 203's modulus check is `Error::IllegalParameter("bad key
    /// share")`; an `rng` failure is `Error::Entropy`; an unsupported group
    /// is `Error::Internal`.
    pub(crate) fn respond(
        group: NamedGroup,
        client_share: &[u8],
        rng: &dyn EntropySource,
    ) -> Result<(Vec<u8>, Secret), Error> {
        match Hybrid::of(group) {
            None => {
                let kx = KeyExchange::generate(group)?;
                let share = kx.public_key().to_vec();
                Ok((share, kx.complete(client_share)?))
            }
            Some(layout) => {
                let (ek, ecdh_share) = layout.split_client_share(client_share)?;
                let seed: Zeroizing<EncapsSeed> = draw(rng)?;
                let (ct, kem_secret) = layout.kem.encapsulate(ek, &seed)?;
                let (ecdh, public) = ecdh_generate(layout.ecdh)?;
                let ecdh_secret = ecdh_agree(layout.ecdh, ecdh, ecdh_share)?;
                let share = layout.join(&ct, public.as_ref()).concat();
                Ok((
                    share,
                    hybrid_secret(&layout, kem_secret.as_ref(), &ecdh_secret)?,
                ))
            }
        }
    }
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}
