//! The key exchange as the fuzz targets drive it from outside the crate
//! (re-exported, unstable, from `tls_core::internal::crypto`): a client's
//! start and complete, a server's respond, on any bytes the caller gives.

use alloc::vec::Vec;

use entropy::EntropySource;
use zeroize::Zeroizing;

use super::hybrid::Hybrid;
use super::{share_len, supported_tls13_group, KeyExchange};
use crate::error::Error;
use crate::msgs::enums::NamedGroup;

/// A client's half of one key exchange: [`ClientShare::start`] makes the
/// key share a ClientHello carries, [`ClientShare::complete`] takes the
/// server's.
#[derive(Debug)]
pub struct ClientShare(KeyExchange);

impl ClientShare {
    /// A fresh key share for `group` (ML-KEM's key generation seed from
    /// `rng`); an unsupported group is `Error::Internal`.
    pub fn start(group: NamedGroup, rng: &dyn EntropySource) -> Result<ClientShare, Error> {
        KeyExchange::start(group, rng).map(ClientShare)
    }

    /// The key share, as sent.
    pub fn share(&self) -> &[u8] {
        self.0.public_key()
    }

    /// The shared secret from the server's key share; a share of the wrong
    /// length or form is `Error::IllegalParameter("bad key share")`.
    pub fn complete(self, server_share: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
        let secret = self.0.complete(server_share)?;
        Ok(Zeroizing::new(secret.as_ref().to_vec()))
    }
}

/// The server's side: our key share answering `client_share`, and the
/// shared secret. A client share of the wrong length or form, or a bad
/// encapsulation key, is `Error::IllegalParameter("bad key share")`.
pub fn server_share(
    group: NamedGroup,
    client_share: &[u8],
    rng: &dyn EntropySource,
) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), Error> {
    let (share, secret) = KeyExchange::respond(group, client_share, rng)?;
    Ok((share, Zeroizing::new(secret.as_ref().to_vec())))
}

/// The exact lengths of `group`'s key shares: (the client's, the server's);
/// `None` for a group we do not support.
pub fn share_lengths(group: NamedGroup) -> Option<(usize, usize)> {
    if !supported_tls13_group(group) {
        return None;
    }
    Some(match Hybrid::of(group) {
        None => (share_len(group), share_len(group)),
        Some(h) => {
            let ecdh = share_len(h.ecdh);
            (
                h.kem.ek_len().saturating_add(ecdh),
                h.kem.ct_len().saturating_add(ecdh),
            )
        }
    })
}
