//! All cryptography, through `ring` (and ML-KEM through `libcrux-ml-kem`), in
//! one place the rest of the engine calls: hashes and the transcript, HKDF and
//! HMAC, record AEADs, (EC)DHE and the post-quantum hybrid key exchanges, and
//! signatures (our key signing, the peer's certificate key verifying).

mod aead;
mod aead12;
mod hash;
mod kx;
mod secret;
mod sign;
mod suites;
mod verify;

#[cfg(test)]
pub(crate) mod rfc8448;

#[cfg(feature = "std")]
pub(crate) use aead::{open_aes256_gcm, seal_aes256_gcm};
pub use aead::{AeadAlg, TrafficKey};
pub use aead12::RecordKey12;
pub use hash::{HashAlg, HashOutput};
pub(crate) use hash::{Transcript, MAX_HASH_LEN};
pub(crate) use kx::{hybrid_group, supported_tls13_group, KeyExchange};
pub use kx::{server_share, share_lengths, supported_group, ClientShare};
pub(crate) use secret::{
    hkdf_expand_label, hkdf_expand_label_secret, hkdf_extract, hmac_sign, hmac_verify, Expander,
    HmacKey, Secret,
};
pub use sign::SigningKey;
pub(crate) use suites::{tls13_suite, Suite};
pub use suites::{TLS13_AES_128_GCM_SHA256, TLS13_AES_256_GCM_SHA384};
pub use verify::{cert_spki, parse_spki, TLS12_SIGNATURE_SCHEMES};
pub(crate) use verify::{
    certificate_verify_message, verify_tls12_signature, verify_tls13_signature, SpkiAlg,
};
pub(crate) use verify::{verify_cert_signature, CertSignatureAlg};
// Used by unit tests elsewhere in the crate only.
#[cfg(test)]
pub(crate) use suites::ALL_TLS13_SUITES;

/// Hex to bytes, ignoring whitespace (test helper).
#[cfg(test)]
pub(crate) fn unhex(s: &str) -> alloc::vec::Vec<u8> {
    let digits: alloc::vec::Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    digits
        .chunks(2)
        .map(|pair| {
            let text = core::str::from_utf8(pair).expect("ascii");
            u8::from_str_radix(text, 16).expect("hex digit")
        })
        .collect()
}
