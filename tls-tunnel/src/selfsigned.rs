//! The certificate a server-mode service presents when none is given: an
//! ECDSA P-256 key kept across restarts in a state directory (when one is
//! writable) with its self-signed certificate exported beside it, so that
//! clients can trust it once (`curl --cacert`) or pin its key (`curl
//! --pinnedpubkey`). Without a writable state directory the key lives in
//! memory for the life of the process.
//!
//! The state directory is, first found: `--state-dir` / `state_dir`,
//! systemd's `$STATE_DIRECTORY`, `$XDG_STATE_HOME/tls-tunnel`,
//! `~/.local/state/tls-tunnel`. A key file that is there but unreadable or
//! corrupt stops the start with an error naming it: regenerating it silently
//! would change the pin that clients were told to trust.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData};
use tls_core::CertifiedKey;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::tls::fingerprint;

/// The subject common name of the generated certificate.
pub const SUBJECT: &str = "tls-tunnel self-signed";
/// The names the certificate is valid for.
const NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];
/// The key file, in the state directory.
const KEY_FILE: &str = "self-signed.key";
/// The exported certificate, beside the key.
const CERT_FILE: &str = "self-signed.crt";

/// The self-signed certificate and what the start-up log says about it.
pub struct SelfSigned {
    /// The certificate with its key, for the engine.
    pub key: Arc<CertifiedKey>,
    /// SHA-256 of the certificate, colon-separated hex.
    pub fingerprint: String,
    /// SHA-256 of the SubjectPublicKeyInfo as `sha256//BASE64` (curl's
    /// `--pinnedpubkey` form).
    pub pin: String,
    /// Where the key is kept, or why it is not.
    pub kept: Kept,
}

/// Where the self-signed key lives.
pub enum Kept {
    /// In the state directory: the key file, the exported certificate, and
    /// whether the key was made at this start.
    Stored {
        /// The private key (PKCS#8 PEM, mode 0600).
        key: PathBuf,
        /// The certificate (PEM).
        cert: PathBuf,
        /// True when the key was generated now.
        new: bool,
    },
    /// In memory only, with the reason.
    Memory(String),
}

static CELL: OnceLock<Result<SelfSigned, String>> = OnceLock::new();

/// Where the state directory is when `--state-dir` is not given, and from
/// which variable: `$STATE_DIRECTORY` (systemd's StateDirectory=, the first
/// of a colon-separated list), `$XDG_STATE_HOME/tls-tunnel`, then
/// `$HOME/.local/state/tls-tunnel`.
pub fn default_state_dir() -> Option<PathBuf> {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(v) = var("STATE_DIRECTORY") {
        let first = v.to_string_lossy().split(':').next().map(PathBuf::from);
        if let Some(p) = first.filter(|p| p.is_absolute()) {
            return Some(p);
        }
    }
    if let Some(p) = var("XDG_STATE_HOME").map(PathBuf::from) {
        if p.is_absolute() {
            return Some(p.join("tls-tunnel"));
        }
    }
    var("HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .map(|h| h.join(".local/state/tls-tunnel"))
}

/// Sets up the self-signed certificate once, from `state_dir` (an explicit
/// `--state-dir`, whose failure is an error) or the default directory
/// (whose failure leaves the key in memory). With `write` false (`--check`)
/// an existing key is read but nothing is created.
pub fn init(state_dir: Option<&Path>, write: bool) -> Result<&'static SelfSigned, String> {
    CELL.get_or_init(|| make(state_dir, write))
        .as_ref()
        .map_err(Clone::clone)
}

/// The self-signed certificate, set up by [`init`] (in memory if it was not).
pub fn get() -> Result<&'static SelfSigned, String> {
    CELL.get_or_init(|| make(None, false))
        .as_ref()
        .map_err(Clone::clone)
}

fn make(explicit: Option<&Path>, write: bool) -> Result<SelfSigned, String> {
    let dir = explicit.map(Path::to_path_buf).or_else(default_state_dir);
    let Some(dir) = dir else {
        return in_memory(
            "no state directory (no --state-dir, $STATE_DIRECTORY, $XDG_STATE_HOME or $HOME)"
                .into(),
        );
    };
    let key_path = dir.join(KEY_FILE);
    let cert_path = dir.join(CERT_FILE);
    if key_path.exists() {
        let (key, cert) = load_key(&key_path, &cert_path, write)?;
        return finish(&key, &cert, stored(key_path, cert_path, false));
    }
    if !write {
        return in_memory(format!("--check does not create {}", key_path.display()));
    }
    match create(&dir, &key_path, &cert_path) {
        Ok((key, cert, new)) => finish(&key, &cert, stored(key_path, cert_path, new)),
        Err(e) if explicit.is_some() => Err(format!("--state-dir {}: {e}", dir.display())),
        Err(e) => in_memory(format!(
            "state directory {} not writable: {e}",
            dir.display()
        )),
    }
}

fn stored(key: PathBuf, cert: PathBuf, new: bool) -> Kept {
    Kept::Stored { key, cert, new }
}

fn in_memory(why: String) -> Result<SelfSigned, String> {
    let key = KeyPair::generate().map_err(|e| format!("cannot generate a key: {e}"))?;
    let cert = certificate(&key)?;
    finish(&key, &cert, Kept::Memory(why))
}

/// A fresh certificate for `key`.
fn certificate(key: &KeyPair) -> Result<String, String> {
    let mut params = CertificateParams::new(NAMES.map(String::from).to_vec())
        .map_err(|e| format!("self-signed certificate: {e}"))?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, SUBJECT);
    params.distinguished_name = dn;
    params
        .self_signed(key)
        .map(|c| c.pem())
        .map_err(|e| format!("self-signed certificate: {e}"))
}

/// Reads the kept key, and its certificate when that is still the one for
/// this key and these names (else a new one is made, and exported when
/// `write`).
fn load_key(key_path: &Path, cert_path: &Path, write: bool) -> Result<(KeyPair, String), String> {
    let bad = |e: String| {
        format!(
            "self-signed key {}: {e}; remove it to have a new key made (the certificate's \
             fingerprint and pin then change)",
            key_path.display()
        )
    };
    let pem = std::fs::read_to_string(key_path).map_err(|e| bad(e.to_string()))?;
    let key = KeyPair::from_pem(&pem).map_err(|e| bad(format!("not a usable private key: {e}")))?;
    if let Ok(cert) = std::fs::read_to_string(cert_path) {
        if cert_matches(&cert, &key) {
            return Ok((key, cert));
        }
    }
    let cert = certificate(&key)?;
    if write {
        let dir = cert_path.parent().unwrap_or(Path::new("."));
        write_atomic(dir, cert_path, cert.as_bytes(), 0o644, true)
            .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
    }
    Ok((key, cert))
}

/// True when `pem` is our certificate for `key` (same public key, subject
/// and names), so restarts keep its fingerprint.
fn cert_matches(pem: &str, key: &KeyPair) -> bool {
    let Ok(ders) = tls_core::keys::certs_from_pem(pem.as_bytes()) else {
        return false;
    };
    let Some(Ok((_, cert))) = ders.first().map(|d| X509Certificate::from_der(d)) else {
        return false;
    };
    let names_ok = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| san.value.general_names.len() == NAMES.len());
    let cn_ok = cert
        .subject()
        .iter_common_name()
        .any(|cn| cn.as_str() == Ok(SUBJECT));
    names_ok
        && cn_ok
        && cert.validity().is_valid()
        && cert.tbs_certificate.subject_pki.raw == key.subject_public_key_info().as_slice()
}

/// Makes the directory (0700) and a new key and certificate in it. Two
/// processes starting at once agree: the key file is linked into place only
/// if absent, and the loser reads the winner's.
fn create(
    dir: &Path,
    key_path: &Path,
    cert_path: &Path,
) -> Result<(KeyPair, String, bool), String> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| format!("cannot create it: {e}"))?;
    let key = KeyPair::generate().map_err(|e| format!("cannot generate a key: {e}"))?;
    let pem = zeroize::Zeroizing::new(key.serialize_pem());
    match write_atomic(dir, key_path, pem.as_bytes(), 0o600, false) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let (key, cert) = load_key(key_path, cert_path, true)?;
            return Ok((key, cert, false));
        }
        Err(e) => return Err(format!("cannot write {}: {e}", key_path.display())),
    }
    let cert = certificate(&key)?;
    write_atomic(dir, cert_path, cert.as_bytes(), 0o644, true)
        .map_err(|e| format!("cannot write {}: {e}", cert_path.display()))?;
    Ok((key, cert, true))
}

/// Writes `data` to a temporary file in `dir` with `mode`, syncs it, and
/// puts it at `path`: replacing what is there when `replace`, else only if
/// nothing is (then `AlreadyExists`). Readers never see a partial file.
fn write_atomic(
    dir: &Path,
    path: &Path,
    data: &[u8],
    mode: u32,
    replace: bool,
) -> std::io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have cleared bits of `mode`; never more than asked.
        f.set_permissions(std::fs::Permissions::from_mode(mode))?;
        f.write_all(data)?;
        f.sync_all()?;
        if replace {
            std::fs::rename(&tmp, path)
        } else {
            std::fs::hard_link(&tmp, path)
        }
    })();
    let _ = std::fs::remove_file(&tmp);
    if result.is_ok() {
        // The new directory entry survives a crash too.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    result
}

fn finish(key: &KeyPair, cert_pem: &str, kept: Kept) -> Result<SelfSigned, String> {
    let key_pem = zeroize::Zeroizing::new(key.serialize_pem());
    let certified = CertifiedKey::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())
        .map_err(|e| format!("self-signed certificate: {e}"))?;
    let der = tls_core::keys::certs_from_pem(cert_pem.as_bytes())
        .ok()
        .and_then(|d| d.into_iter().next())
        .ok_or("self-signed certificate: no certificate in its PEM")?;
    Ok(SelfSigned {
        key: Arc::new(certified),
        fingerprint: fingerprint(&der),
        pin: spki_pin(&key.subject_public_key_info()),
        kept,
    })
}

/// curl's `--pinnedpubkey` form of a SubjectPublicKeyInfo (DER):
/// `sha256//` and the base64 of its SHA-256.
pub fn spki_pin(spki: &[u8]) -> String {
    let digest = tls_core::HashAlg::Sha256.hash(spki);
    format!("sha256//{}", base64(digest.as_ref()))
}

/// Standard base64 with padding (RFC 4648, section 4).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl SelfSigned {
    /// The start-up line: what is served, where the key and certificate
    /// are, the fingerprint and the pin.
    pub fn describe(&self) -> String {
        let place = match &self.kept {
            Kept::Stored { key, cert, new } => format!(
                "key {} {}, certificate exported to {} (curl --cacert)",
                key.display(),
                if *new { "created" } else { "reused" },
                cert.display()
            ),
            Kept::Memory(why) => format!("key kept in memory only ({why}): it changes at restart"),
        };
        format!(
            "no certificate given: serving a self-signed certificate (CN={SUBJECT}; localhost, \
             127.0.0.1, ::1); {place}; SHA-256 fingerprint {}; public key pin {} (curl --pinnedpubkey)",
            self.fingerprint, self.pin
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn kept_key_is_reused_and_corrupt_key_is_an_error() {
        let dir =
            std::env::temp_dir().join(format!("tls-tunnel-selfsigned-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = make(Some(&dir), true).unwrap();
        let second = make(Some(&dir), true).unwrap();
        assert_eq!(first.fingerprint, second.fingerprint);
        assert_eq!(first.pin, second.pin);
        let mode = std::fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // A lost certificate is made again for the same key: same pin.
        std::fs::remove_file(dir.join(CERT_FILE)).unwrap();
        let third = make(Some(&dir), true).unwrap();
        assert_eq!(third.pin, first.pin);
        assert!(dir.join(CERT_FILE).exists());
        std::fs::write(dir.join(KEY_FILE), "garbage").unwrap();
        let err = make(Some(&dir), true).err().unwrap();
        assert!(
            err.contains(&dir.join(KEY_FILE).display().to_string()),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
