//! PKCS#12 key stores (`.p12`/`.pfx`): a certificate chain and its private
//! key in one password-protected file, as stunnel's `cert = file.p12` and
//! ghostunnel's `--keystore` take them.
//!
//! The decoding (PBES2 with PBKDF2 and AES-CBC, the older PKCS#12 PBE with
//! 3DES or RC2, the HMAC over the contents) is the `p12-keystore` crate's;
//! this module only picks the key and orders the chain, and hands tls-core
//! the DER certificates and the PKCS#8 key that `CertifiedKey` takes.
//!
//! Secrets: the password and the bytes we hold are wiped on drop. The
//! crate's own copies (the decrypted key bags, the PKCS#8 key in its
//! `PrivateKey`, its encodings of the password) are plain vectors it does
//! not wipe and gives no mutable access to: decoding runs inside a
//! [`crate::wipe::Scope`], so each of them is overwritten as it is freed,
//! the archive itself before `open` returns.

use std::fmt;
use std::path::{Path, PathBuf};

use p12_keystore::error::Error as P12Error;
use p12_keystore::Pkcs12Archive;
use tls_core::SigningKey;
use zeroize::Zeroizing;

/// A key store password; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password given in full.
    pub fn new(text: String) -> Password {
        Password(Zeroizing::new(text))
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// Where the password of a PKCS#12 file comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorePass {
    /// Given in full (ghostunnel's `--storepass`, or its `KEYSTORE_PASS`
    /// environment variable).
    Literal(Password),
    /// The first line of this file, read at every (re)load, so a rotated
    /// key store can come with a new password file.
    File(PathBuf),
}

impl StorePass {
    /// The command line's choice: `--storepass`, else `--storepass-file`,
    /// else the `KEYSTORE_PASS` environment variable (ghostunnel's name for
    /// it), else none (the empty password).
    pub fn from_cli(literal: Option<&str>, file: Option<&Path>) -> Option<StorePass> {
        if let Some(p) = literal {
            return Some(StorePass::Literal(Password::new(p.to_string())));
        }
        if let Some(f) = file {
            return Some(StorePass::File(f.to_path_buf()));
        }
        std::env::var("KEYSTORE_PASS")
            .ok()
            .map(|p| StorePass::Literal(Password::new(p)))
    }

    /// The password itself.
    fn resolve(&self) -> Result<Password, String> {
        match self {
            StorePass::Literal(p) => Ok(p.clone()),
            StorePass::File(path) => {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "cannot read key store password file {}: {e}",
                        path.display()
                    )
                })?);
                let line = text.split('\n').next().unwrap_or_default();
                let line = line.strip_suffix('\r').unwrap_or(line);
                Ok(Password::new(line.to_string()))
            }
        }
    }
}

/// True when `bytes` look like a DER PKCS#12 file rather than PEM text: a
/// PFX is a DER SEQUENCE, and no PEM file starts with that byte.
pub fn is_pkcs12(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x30)
}

/// What a PKCS#12 file holds.
pub struct Identity {
    /// Its certificates, DER: the private key's certificate first, then the
    /// others in file order (what stunnel sends: its chain certificates).
    pub chain: Vec<Vec<u8>>,
    /// Its private key, when it has one.
    pub key: Option<SigningKey>,
}

/// Decodes the PKCS#12 file `path` whose contents are `der`, with the
/// password from `pass` (the empty password when `None`). Errors name the
/// file and say whether the password or the file is at fault.
pub fn open(path: &Path, der: &[u8], pass: Option<&StorePass>) -> Result<Identity, String> {
    // Declared first, so dropped last: after the archive and the password.
    let _wipe = crate::wipe::Scope::enter();
    let at = |e: String| format!("{}: {e}", path.display());
    let password = match pass {
        Some(p) => p.resolve()?,
        None => Password::new(String::new()),
    };
    let archive = Pkcs12Archive::from_pkcs12(der, &password.0).map_err(|e| {
        let mut line = describe(e);
        if pass.is_none() {
            line.push_str(" (no password was given: the empty one was tried)");
        }
        at(line)
    })?;
    let Some(first) = archive.keys.first() else {
        return Ok(Identity {
            chain: archive
                .certs
                .into_iter()
                .map(|c| c.cert.as_der().to_vec())
                .collect(),
            key: None,
        });
    };
    if archive.keys.len() > 1 {
        return Err(at(format!(
            "holds {} private keys; tls-tunnel takes a key store with one",
            archive.keys.len()
        )));
    }
    let key = SigningKey::from_pkcs8(first.key.as_der())
        .map_err(|e| at(format!("its private key: {e}")))?;
    // The key's certificate: the one with the key's localKeyId, else the
    // first whose public key is the key's.
    let by_id = first.local_key_id.as_ref().and_then(|id| {
        archive
            .certs
            .iter()
            .position(|c| c.local_key_id.as_deref() == Some(id.as_ref()))
    });
    let end_entity = by_id.or_else(|| {
        archive
            .certs
            .iter()
            .position(|c| key.check_matches_certificate(c.cert.as_der()).is_ok())
    });
    let mut chain: Vec<Vec<u8>> = Vec::with_capacity(archive.certs.len());
    if let Some(i) = end_entity {
        if let Some(c) = archive.certs.get(i) {
            chain.push(c.cert.as_der().to_vec());
        }
    }
    for (i, c) in archive.certs.iter().enumerate() {
        if Some(i) != end_entity {
            chain.push(c.cert.as_der().to_vec());
        }
    }
    Ok(Identity {
        chain,
        key: Some(key),
    })
}

/// One line for what went wrong, in the operator's terms.
fn describe(e: P12Error) -> String {
    match e {
        P12Error::MacError(_) => {
            "wrong key store password (the file's integrity check fails with it)".into()
        }
        P12Error::Pkcs5Error(_) | P12Error::UnpadError | P12Error::InvalidPrivateKey => {
            "cannot decrypt the key store: wrong password, or a damaged file".into()
        }
        P12Error::UnsupportedEncryptionScheme | P12Error::UnsupportedMacAlgorithm => {
            "the key store uses an encryption or MAC algorithm not supported here (supported: PBES2 with PBKDF2 and AES, PKCS#12 PBE with 3DES or RC2, HMAC-SHA1/SHA-2)".into()
        }
        P12Error::InvalidParameters => {
            "the key store's encryption parameters are refused (more than 1,000,000 iterations, or malformed)".into()
        }
        other => format!("neither PEM nor a readable PKCS#12 file: {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_never_printed() {
        let p = StorePass::Literal(Password::new("hunter2".into()));
        assert!(!format!("{p:?}").contains("hunter2"));
    }

    #[test]
    fn password_file_gives_its_first_line() {
        let dir = std::env::temp_dir().join(format!("tls-tunnel-storepass-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("pass");
        std::fs::write(&file, "s3cret\r\nignored\n").unwrap();
        let p = StorePass::File(file.clone()).resolve().unwrap();
        assert_eq!(p, Password::new("s3cret".into()));
        std::fs::remove_file(&file).unwrap();
        let e = StorePass::File(file.clone()).resolve().unwrap_err();
        assert!(e.contains(&file.display().to_string()), "{e}");
    }

    #[test]
    fn decrypted_key_material_is_wiped() {
        let dir = std::env::temp_dir().join(format!("tls-tunnel-p12wipe-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (key, cert, p12) = (dir.join("k.pem"), dir.join("c.pem"), dir.join("s.p12"));
        let openssl = |args: &[&std::ffi::OsStr]| {
            let st = std::process::Command::new("openssl")
                .args(args)
                .stderr(std::process::Stdio::null())
                .status()
                .expect("openssl (apt package openssl)");
            assert!(st.success(), "openssl {args:?}");
        };
        let s = |x: &'static str| std::ffi::OsStr::new(x);
        openssl(&[
            s("req"),
            s("-x509"),
            s("-newkey"),
            s("ec"),
            s("-pkeyopt"),
            s("ec_paramgen_curve:P-256"),
            s("-nodes"),
            s("-subj"),
            s("/CN=wipe"),
            s("-keyout"),
            key.as_os_str(),
            s("-out"),
            cert.as_os_str(),
        ]);
        openssl(&[
            s("pkcs12"),
            s("-export"),
            s("-inkey"),
            key.as_os_str(),
            s("-in"),
            cert.as_os_str(),
            s("-passout"),
            s("pass:pw"),
            s("-out"),
            p12.as_os_str(),
        ]);
        let der = std::fs::read(&p12).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let pass = StorePass::Literal(Password::new("pw".into()));
        let before = crate::wipe::wiped();
        let id = open(Path::new("s.p12"), &der, Some(&pass)).unwrap();
        assert!(id.key.is_some());
        // At least the decrypted PKCS#8 key (138 bytes for P-256), in the
        // crate's bag buffer and its PrivateKey, was overwritten when freed.
        let wiped = crate::wipe::wiped() - before;
        assert!(wiped >= 2 * 138, "only {wiped} bytes wiped");
    }

    #[test]
    fn garbage_is_named_not_a_pkcs12_file() {
        let e = open(Path::new("x.p12"), &[0x30, 0x03, 0x02, 0x01, 0x03], None)
            .err()
            .unwrap();
        assert!(e.starts_with("x.p12: "), "{e}");
        assert!(!is_pkcs12(b"-----BEGIN CERTIFICATE-----"));
    }
}
