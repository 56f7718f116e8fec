//! Key shares of every group, classical and post-quantum hybrid, through
//! the key exchange's three entry points with arbitrary peer bytes:
//! the server's respond (a client's share), the client's complete (a
//! server's share), and a whole exchange with one byte flipped.
//!
//! Input: group selector, mode, length selector, then the bytes. The
//! length selector shapes the share: short (1 to 255 bytes under the exact
//! length, or empty), exact, or long (1 to 255 bytes over), the bytes
//! repeated to fill. Asserted: a share of the wrong length is refused with
//! `IllegalParameter("bad key share")` (an illegal_parameter alert); one of
//! the right length is accepted or refused with that same error (an
//! invalid point or encapsulation key), never another error, never a panic;
//! an untouched exchange agrees on the secret, and a flipped byte never
//! yields the server's secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_core::internal::crypto::{server_share, share_lengths, ClientShare};
use tls_core::{Error, NamedGroup};
use tls_core_fuzz::{FixedEntropy, CLIENT_SEED, SERVER_SEED};

const GROUPS: [NamedGroup; 6] = [
    NamedGroup::X25519MlKem768,
    NamedGroup::Secp256r1MlKem768,
    NamedGroup::Secp384r1MlKem1024,
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

const BAD: Error = Error::IllegalParameter("bad key share");

/// `bytes` cut or repeated to the length `selector` picks around `exact`.
fn shaped(bytes: &[u8], exact: usize, selector: u8) -> Vec<u8> {
    let delta = usize::from(selector >> 2);
    let len = match selector % 3 {
        0 => exact.saturating_sub(delta + 1),
        1 => exact,
        _ => exact + delta + 1,
    };
    if bytes.is_empty() {
        return vec![0; len];
    }
    bytes.iter().copied().cycle().take(len).collect()
}

/// A refusal must be the bad-key-share error; `exact` says whether the
/// length was right (then acceptance is allowed too).
fn check<T>(result: &Result<T, Error>, exact: bool, what: &str) {
    match result {
        Err(e) => assert_eq!(e, &BAD, "{what}"),
        Ok(_) => assert!(exact, "{what}: a share of the wrong length was accepted"),
    }
}

fuzz_target!(|data: &[u8]| {
    let [g, mode, selector, rest @ ..] = data else {
        return;
    };
    let group = GROUPS[usize::from(*g) % GROUPS.len()];
    let (client_len, server_len) = share_lengths(group).expect("a supported group");
    let client_rng = FixedEntropy(CLIENT_SEED);
    let server_rng = FixedEntropy(SERVER_SEED);
    match mode % 3 {
        0 => {
            // The server's side, a client's share of any length.
            let share = shaped(rest, client_len, *selector);
            let result = server_share(group, &share, &server_rng);
            check(&result, share.len() == client_len, "respond");
            if let Ok((ours, _)) = &result {
                assert_eq!(ours.len(), server_len, "our server share's length");
            }
        }
        1 => {
            // The client's side, a server's share of any length.
            let client = ClientShare::start(group, &client_rng).expect("start");
            assert_eq!(
                client.share().len(),
                client_len,
                "our client share's length"
            );
            let share = shaped(rest, server_len, *selector);
            check(
                &client.complete(&share),
                share.len() == server_len,
                "complete",
            );
        }
        _ => {
            // A whole exchange, one byte of either share flipped (or none).
            let client = ClientShare::start(group, &client_rng).expect("start");
            let at = rest
                .get(..2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])));
            let flip = rest.get(2).copied().unwrap_or(0);
            // The flipped byte, if any: (its index, the share's length).
            let mut flipped = None;
            let mut to_server = client.share().to_vec();
            if *selector & 1 == 0 && flip != 0 {
                let i = at.unwrap_or(0) % to_server.len();
                to_server[i] ^= flip;
                flipped = Some((i, to_server.len()));
            }
            let answered = server_share(group, &to_server, &server_rng);
            check(&answered, true, "respond to a flipped share");
            let Ok((mut to_client, server_secret)) = answered else {
                return;
            };
            if *selector & 1 == 1 && flip != 0 {
                let i = at.unwrap_or(0) % to_client.len();
                to_client[i] ^= flip;
                flipped = Some((i, to_client.len()));
            }
            let completed = client.complete(&to_client);
            check(&completed, true, "complete with a flipped share");
            if let Ok(client_secret) = completed {
                let agree = client_secret == server_secret;
                match flipped {
                    None => assert!(agree, "an untouched exchange disagrees"),
                    // X25519 ignores the top bit of a u-coordinate (RFC 7748
                    // §5), the last byte of the share in both groups with
                    // X25519; any other flip changes the secret (ML-KEM's
                    // implicit rejection for its ciphertext and key).
                    Some((i, len)) => assert!(
                        !agree
                            || (matches!(group, NamedGroup::X25519 | NamedGroup::X25519MlKem768)
                                && i + 1 == len
                                && flip == 0x80),
                        "a flipped byte at {i} of {len} left the secret unchanged"
                    ),
                }
            }
        }
    }
});
