//! Loading the operator's certificate, key and CA files, with errors that
//! name the file and say what it should hold: tls-core reports PEM and key
//! problems as `Error::InvalidConfig`, without saying which file.

use std::path::Path;
use std::sync::Arc;

use tls_core::keys::{certs_from_pem, key_from_pem};
use tls_core::{CertifiedKey, SigningKey};
use zeroize::Zeroizing;

use crate::config::CertFiles;
use crate::keystore;
use crate::tls::read;

/// What the engine said, without the "invalid configuration" tag.
fn engine_says(e: &tls_core::Error) -> String {
    match e {
        tls_core::Error::InvalidConfig(why) => (*why).to_string(),
        other => other.to_string(),
    }
}

/// The certificates of a PEM file; `what` says what it is for.
pub fn certificates(path: &Path, what: &str) -> Result<Vec<Vec<u8>>, String> {
    pem_certificates(path, what, &read(path, what)?)
}

/// The certificates of PEM text read from `path`.
fn pem_certificates(path: &Path, what: &str, pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    certs_from_pem(pem).map_err(|e| match e {
        tls_core::Error::InvalidConfig(why) if why.starts_with("no CERTIFICATE") => format!(
            "{what} {}: no certificate in this file (expected PEM blocks \
             -----BEGIN CERTIFICATE-----, or a PKCS#12 key store)",
            path.display()
        ),
        e => format!(
            "{what} {}: not a valid PEM file: {}",
            path.display(),
            engine_says(&e)
        ),
    })
}

/// The private key of PEM text read from `files.key`.
fn pem_key(files: &CertFiles, pem: &[u8]) -> Result<SigningKey, String> {
    key_from_pem(pem).map_err(|e| match e {
        tls_core::Error::InvalidConfig(why) if why.starts_with("no private key") => {
            let hint = if files.key == files.cert {
                " (the key was looked for in the certificate file: give its own file with \
                 --key, key = or stunnel's key =)"
            } else {
                ""
            };
            format!(
                "key file {}: no private key in this file (expected a PEM block \
                 -----BEGIN PRIVATE KEY-----, EC PRIVATE KEY or RSA PRIVATE KEY){hint}",
                files.key.display()
            )
        }
        e => format!("key file {}: {}", files.key.display(), engine_says(&e)),
    })
}

/// A certificate chain and its private key (possibly from the same file).
/// Either file may be PEM or a PKCS#12 key store (told apart by content).
/// A key store's own key is used even when a separate key file is named
/// (stunnel 5.68 ignores `key` for a PKCS#12 `cert`); the key file serves a
/// key store without one. The key must belong to the chain's first
/// certificate.
pub fn cert_and_key(files: &CertFiles) -> Result<CertifiedKey, String> {
    let pass = files.password.as_ref();
    let cert_bytes = Zeroizing::new(read(&files.cert, "certificate file")?);
    let (chain, key_in_cert) = if keystore::is_pkcs12(&cert_bytes) {
        let id = keystore::open(&files.cert, &cert_bytes, pass)?;
        (id.chain, id.key)
    } else {
        (
            pem_certificates(&files.cert, "certificate file", &cert_bytes)?,
            None,
        )
    };
    let key = match key_in_cert {
        Some(key) => key,
        None => {
            let key_bytes = if files.key == files.cert {
                cert_bytes
            } else {
                Zeroizing::new(read(&files.key, "key file")?)
            };
            if keystore::is_pkcs12(&key_bytes) {
                keystore::open(&files.key, &key_bytes, pass)?
                    .key
                    .ok_or_else(|| {
                        format!(
                            "{}: the key store holds no private key",
                            files.key.display()
                        )
                    })?
            } else {
                pem_key(files, &key_bytes)?
            }
        }
    };
    CertifiedKey::new(chain, key).map_err(|e| match e {
        tls_core::Error::KeyMismatch => format!(
            "key file {} does not hold the private key of the first certificate of {}",
            files.key.display(),
            files.cert.display()
        ),
        e => format!(
            "{} / {}: {}",
            files.cert.display(),
            files.key.display(),
            engine_says(&e)
        ),
    })
}

/// Loads a certificate chain and key, shared.
pub fn load(files: &CertFiles) -> Result<Arc<CertifiedKey>, String> {
    cert_and_key(files).map(Arc::new)
}
