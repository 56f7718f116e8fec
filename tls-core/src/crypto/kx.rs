//! Ephemeral (EC)DHE key exchange: X25519, P-256, P-384 (RFC 8446 §4.2.8).

use core::fmt;

use ring::agreement;
use ring::rand::SystemRandom;

use super::secret::Secret;
use crate::error::Error;
use crate::msgs::enums::NamedGroup;

/// True for the groups we can do key exchange with.
pub fn supported_group(g: NamedGroup) -> bool {
    ring_alg(g).is_some()
}

fn ring_alg(g: NamedGroup) -> Option<&'static agreement::Algorithm> {
    match g {
        NamedGroup::X25519 => Some(&agreement::X25519),
        NamedGroup::Secp256r1 => Some(&agreement::ECDH_P256),
        NamedGroup::Secp384r1 => Some(&agreement::ECDH_P384),
        _ => None,
    }
}

/// The length of a key share: X25519 raw, or an uncompressed point.
fn share_len(g: NamedGroup) -> usize {
    match g {
        NamedGroup::X25519 => 32,
        NamedGroup::Secp256r1 => 65,
        NamedGroup::Secp384r1 => 97,
        _ => 0,
    }
}

/// Our half of one key exchange: an ephemeral private key, used once.
pub struct KeyExchange {
    group: NamedGroup,
    private: agreement::EphemeralPrivateKey,
    public: agreement::PublicKey,
}

impl KeyExchange {
    /// A fresh key pair for `group`.
    ///
    /// OS randomness enters the engine here (and in ECDSA/RSA-PSS signing,
    /// [`SigningKey::sign`](super::SigningKey::sign)) and nowhere else: ring's
    /// `SecureRandom` trait is sealed, so the ephemeral private key cannot be
    /// drawn from the configured random source and ring's `SystemRandom` is
    /// used instead. An unsupported group is `Error::Internal`.
    pub fn generate(group: NamedGroup) -> Result<KeyExchange, Error> {
        let alg = ring_alg(group).ok_or(Error::Internal("unsupported key exchange group"))?;
        let rng = SystemRandom::new();
        let private = agreement::EphemeralPrivateKey::generate(alg, &rng)
            .map_err(|_| Error::Internal("key share generation failed"))?;
        let public = private
            .compute_public_key()
            .map_err(|_| Error::Internal("key share generation failed"))?;
        Ok(KeyExchange {
            group,
            private,
            public,
        })
    }

    /// The group.
    pub fn group(&self) -> NamedGroup {
        self.group
    }

    /// Our key share, as sent in the key_share extension.
    pub fn public_key(&self) -> &[u8] {
        self.public.as_ref()
    }

    /// Combines our private key with the peer's key share into the shared
    /// secret. A share of the wrong size or form, a point not on the curve,
    /// or an all-zero X25519 result is `Error::IllegalParameter("bad key share")`.
    pub fn complete(self, peer_public: &[u8]) -> Result<Secret, Error> {
        const BAD: Error = Error::IllegalParameter("bad key share");
        if peer_public.len() != share_len(self.group) {
            return Err(BAD);
        }
        if self.group != NamedGroup::X25519 && peer_public.first() != Some(&0x04) {
            return Err(BAD); // TLS 1.3 allows only the uncompressed point form
        }
        let alg = ring_alg(self.group).ok_or(BAD)?;
        let peer = agreement::UnparsedPublicKey::new(alg, peer_public);
        agreement::agree_ephemeral(self.private, &peer, Secret::from_slice).map_err(|_| BAD)?
    }
}

impl fmt::Debug for KeyExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyExchange")
            .field("group", &self.group)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUPS: [NamedGroup; 3] = [
        NamedGroup::X25519,
        NamedGroup::Secp256r1,
        NamedGroup::Secp384r1,
    ];

    #[test]
    fn both_sides_agree() {
        for g in GROUPS {
            assert!(supported_group(g));
            let a = KeyExchange::generate(g).unwrap();
            let b = KeyExchange::generate(g).unwrap();
            assert_eq!(a.group(), g);
            assert_eq!(a.public_key().len(), share_len(g));
            let a_pub = a.public_key().to_vec();
            let b_pub = b.public_key().to_vec();
            let s1 = a.complete(&b_pub).unwrap_or_else(|e| panic!("{g:?}: {e}"));
            let s2 = b.complete(&a_pub).unwrap();
            assert_eq!(s1.as_ref(), s2.as_ref());
            assert_eq!(s1.len(), if g == NamedGroup::Secp384r1 { 48 } else { 32 });
        }
    }

    #[test]
    fn bad_peer_shares() {
        let bad = Err(Error::IllegalParameter("bad key share"));
        for g in GROUPS {
            let n = share_len(g);
            let wrong_len = alloc::vec![4u8; n - 1];
            assert_eq!(
                KeyExchange::generate(g)
                    .unwrap()
                    .complete(&wrong_len)
                    .map(|_| ()),
                bad
            );
            assert_eq!(
                KeyExchange::generate(g).unwrap().complete(&[]).map(|_| ()),
                bad
            );
            let mut zeros = alloc::vec![0u8; n];
            assert_eq!(
                KeyExchange::generate(g)
                    .unwrap()
                    .complete(&zeros)
                    .map(|_| ()),
                bad
            );
            if g != NamedGroup::X25519 {
                zeros[0] = 4; // uncompressed prefix, but (0, 0) is not on the curve
                assert_eq!(
                    KeyExchange::generate(g)
                        .unwrap()
                        .complete(&zeros)
                        .map(|_| ()),
                    bad
                );
            }
        }
        // a compressed P-256 point
        let p = KeyExchange::generate(NamedGroup::Secp256r1).unwrap();
        let mut compressed = p.public_key()[..33].to_vec();
        compressed[0] = 2;
        assert_eq!(p.complete(&compressed).map(|_| ()), bad);
        // a low-order X25519 point (order 8) gives the all-zero result
        let mut low = [0u8; 32];
        low[0] = 1; // u = 1 has small order
        assert_eq!(
            KeyExchange::generate(NamedGroup::X25519)
                .unwrap()
                .complete(&low)
                .map(|_| ()),
            bad
        );
    }

    #[test]
    fn unsupported_group() {
        assert!(!supported_group(NamedGroup::X448));
        assert!(matches!(
            KeyExchange::generate(NamedGroup::Secp521r1),
            Err(Error::Internal(_))
        ));
        assert!(!supported_group(NamedGroup::Unknown(0x11ec)));
    }
}
