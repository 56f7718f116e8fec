//! Key and certificate loading: PEM splitting, private keys in every DER
//! form, a certificate's SubjectPublicKeyInfo and its parse, and the
//! key/certificate match check. The first byte picks the entry point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_core::internal::crypto::{cert_spki, parse_spki};
use tls_core::{keys, SigningKey};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    match mode % 5 {
        0 => {
            let _ = keys::pem_blocks(input);
            let _ = keys::certs_from_pem(input);
            let _ = tls_core::x509::pem_certificates(input);
        }
        1 => {
            if let Ok(key) = keys::key_from_pem(input) {
                let _ = key.public_key();
            }
        }
        2 => {
            if let Ok(key) = SigningKey::from_der(input) {
                let _ = key.public_key();
                let _ = key.tls13_schemes();
                let _ = key.check_matches_certificate(&tls_core_fuzz::server_identity().0);
            }
        }
        3 => {
            if let Ok(spki) = cert_spki(input) {
                let _ = parse_spki(spki);
                if let Ok(key) = SigningKey::from_der(&tls_core_fuzz::server_identity().1) {
                    let _ = key.check_matches_certificate(input);
                }
            }
        }
        _ => {
            let _ = parse_spki(input);
        }
    }
});
