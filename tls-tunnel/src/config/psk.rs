//! stunnel's `PSKsecrets` / `PSKidentity`: TLS 1.3 external pre-shared
//! keys, always with (EC)DHE (psk_dhe_ke), never psk_ke.
//!
//! The secrets file, read as stunnel 5.68 reads it: one `IDENTITY:KEY` a
//! line, split at the first colon; empty lines skipped; no comments and no
//! trimming; a key of an even number of hexadecimal digits is converted to
//! binary, any other key is taken as its bytes; after that the key must be
//! 16 to 512 bytes and the identity under 256 bytes. A file others may read
//! or write is used with a warning, as stunnel does. An empty identity,
//! which stunnel accepts, cannot be sent in TLS 1.3 (RFC 8446 §4.2.11
//! requires at least one byte) and is refused.

use std::path::{Path, PathBuf};

use tls_core::ExternalPsk;

/// The PSK options of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PskSettings {
    /// The `IDENTITY:KEY` file (stunnel's PSKsecrets).
    pub secrets: PathBuf,
    /// Client mode: the identity to offer; the file's first when `None`
    /// (stunnel's PSKidentity, ignored in server mode as stunnel does).
    pub identity: Option<String>,
}

/// stunnel's longest key, in bytes (OpenSSL's PSK_MAX_PSK_LEN).
const MAX_KEY: usize = 512;

/// stunnel's limit on identities: shorter than 256 bytes (OpenSSL's
/// PSK_MAX_IDENTITY_LEN with the terminating NUL).
const MAX_IDENTITY: usize = 255;

/// The file's identities and keys, in file order. Errors name the file and
/// the line.
pub fn load(path: &Path) -> Result<Vec<ExternalPsk>, String> {
    let text = zeroize::Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| format!("cannot read PSKsecrets file {}: {e}", path.display()))?,
    );
    warn_if_insecure(path);
    parse(&path.display().to_string(), &text)
}

/// Logs a warning when others may read or change the secrets file, as
/// stunnel does (it still uses the file).
pub fn warn_if_insecure(path: &Path) {
    if let Some(why) = insecure_permissions(path) {
        tracing::warn!(
            file = %path.display(),
            "insecure file permissions on the PSKsecrets file: {why}"
        );
    }
}

/// Why others could read or change the file, if they can.
#[cfg(unix)]
fn insecure_permissions(path: &Path) -> Option<&'static str> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    match (mode & 0o004 != 0, mode & 0o002 != 0) {
        (_, true) => Some("writable by others (stunnel warns too)"),
        (true, _) => Some("readable by others (stunnel warns too)"),
        _ => None,
    }
}

#[cfg(not(unix))]
fn insecure_permissions(_path: &Path) -> Option<&'static str> {
    None
}

/// Parses the text of a secrets file; `file` names it in errors.
pub fn parse(file: &str, text: &[u8]) -> Result<Vec<ExternalPsk>, String> {
    let mut psks = Vec::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        let err = |why: &str| format!("PSKsecrets {file} line {}: {why}", n + 1);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or_else(|| err("not in IDENTITY:KEY format"))?;
        let (identity, rest) = line.split_at(colon);
        let key = rest.get(1..).unwrap_or_default();
        if identity.len() > MAX_IDENTITY {
            return Err(err("identity longer than 255 bytes"));
        }
        if identity.is_empty() {
            return Err(err(
                "empty identity: TLS 1.3 sends at least one byte (stunnel accepts it, but no \
                 TLS 1.3 peer can use it)",
            ));
        }
        let key = hex_or_bytes(key);
        if key.len() < tls_core::psk::MIN_EXTERNAL_PSK_LEN {
            return Err(err(
                "key shorter than 16 bytes (32 hexadecimal digits): too easy to guess",
            ));
        }
        if key.len() > MAX_KEY {
            return Err(err("key longer than 512 bytes"));
        }
        let psk =
            ExternalPsk::new(identity.to_vec(), key.to_vec()).map_err(|e| err(&format!("{e}")))?;
        psks.push(psk);
    }
    if psks.is_empty() {
        return Err(format!("PSKsecrets {file}: no IDENTITY:KEY line"));
    }
    Ok(psks)
}

/// An even number of hexadecimal digits as the bytes they spell, anything
/// else as it is (stunnel's rule). Wiped when dropped.
fn hex_or_bytes(key: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let digit = |b: u8| char::from(b).to_digit(16);
    let hex =
        !key.is_empty() && key.len().is_multiple_of(2) && key.iter().all(|b| digit(*b).is_some());
    if !hex {
        return zeroize::Zeroizing::new(key.to_vec());
    }
    zeroize::Zeroizing::new(
        key.chunks(2)
            .map(|pair| {
                let high = pair.first().and_then(|b| digit(*b)).unwrap_or(0);
                let low = pair.get(1).and_then(|b| digit(*b)).unwrap_or(0);
                // Two hexadecimal digits: at most 0xff.
                u8::try_from(high * 16 + low).unwrap_or(0)
            })
            .collect(),
    )
}

/// The PSK a client offers: `identity`'s, else the file's first.
pub fn client_psk(psks: Vec<ExternalPsk>, identity: Option<&str>) -> Result<ExternalPsk, String> {
    match identity {
        None => psks.into_iter().next().ok_or_else(|| "no PSK".to_string()),
        Some(name) => psks
            .into_iter()
            .find(|p| p.identity() == name.as_bytes())
            .ok_or_else(|| format!("PSKidentity {name:?} is not in the PSKsecrets file")),
    }
}

/// A digest of the keys (for telling whether sessions made under them may
/// resume after a reload: a resumed session skips the PSK check).
pub fn digest(psks: &[ExternalPsk], identity: Option<&str>) -> Vec<u8> {
    let mut input = zeroize::Zeroizing::new(b"tls-tunnel PSKsecrets".to_vec());
    for psk in psks {
        for part in [psk.identity(), psk.key()] {
            input.extend_from_slice(&(part.len() as u64).to_be_bytes());
            input.extend_from_slice(part);
        }
    }
    input.extend_from_slice(identity.unwrap_or_default().as_bytes());
    tls_core::HashAlg::Sha256.hash(&input).as_ref().to_vec()
}

/// What a service with PSKs needs: TLS 1.3 with a SHA-256 suite, the hash
/// OpenSSL's `-psk` and stunnel use the key with.
pub fn check(algorithms: &super::Algorithms) -> Result<(), String> {
    use tls_core::{CipherSuite, ProtocolVersion};
    if !algorithms.versions.contains(&ProtocolVersion::Tls13) {
        return Err(
            "PSKsecrets: external PSKs are used in TLS 1.3 only (the TLS 1.2 PSK \
                    suites are not supported): enable TLSv1.3"
                .into(),
        );
    }
    let sha256 = [
        CipherSuite::Tls13Aes128GcmSha256,
        CipherSuite::Tls13Chacha20Poly1305Sha256,
    ];
    if !algorithms.tls13_suites.iter().any(|s| sha256.contains(s)) {
        return Err(
            "PSKsecrets: the keys are used with SHA-256, as OpenSSL and stunnel use \
                    them: ciphersuites needs TLS_AES_128_GCM_SHA256 or \
                    TLS_CHACHA20_POLY1305_SHA256"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Identity and key.
    type Pair = (Vec<u8>, Vec<u8>);

    fn keys(text: &str) -> Result<Vec<Pair>, String> {
        parse("psk.txt", text.as_bytes()).map(|psks| {
            psks.iter()
                .map(|p| (p.identity().to_vec(), p.key().to_vec()))
                .collect()
        })
    }

    #[test]
    fn stunnel_rules() {
        // Hex of an even length is binary; CRLF and empty lines are fine.
        let hex = "00112233445566778899aabbccddeeff";
        let got = keys(&format!("alice:{hex}\r\n\nbob:{}\n", hex.to_uppercase())).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, b"alice");
        assert_eq!(got[0].1.len(), 16);
        assert_eq!(got[0].1, got[1].1);
        // Split at the first colon; a non-hex key is its bytes.
        let got = keys("a:b:0123456789abcdeX").unwrap();
        assert_eq!(
            (got[0].0.as_slice(), got[0].1.as_slice()),
            (&b"a"[..], &b"b:0123456789abcdeX"[..])
        );
        // An odd number of hex digits is not hex.
        assert_eq!(keys(&format!("a:{}", &hex[1..])).unwrap()[0].1.len(), 31);
    }

    #[test]
    fn refusals_name_the_line() {
        let short =
            keys("alice:00112233445566778899aabbccddeeff\nbob:0123456789abcdef").unwrap_err();
        assert!(
            short.starts_with("PSKsecrets psk.txt line 2: key shorter than 16 bytes"),
            "{short}"
        );
        assert!(keys("# comment\n")
            .unwrap_err()
            .contains("line 1: not in IDENTITY:KEY"));
        assert!(keys(":0123456789abcdefX")
            .unwrap_err()
            .contains("empty identity"));
        let long_id = format!("{}:0123456789abcdefX", "a".repeat(256));
        assert!(keys(&long_id).unwrap_err().contains("identity longer"));
        assert!(keys(&format!("{}:0123456789abcdefX", "a".repeat(255))).is_ok());
        assert!(keys(&format!("a:{}", "ab".repeat(512))).is_ok());
        assert!(keys(&format!("a:{}", "ab".repeat(513)))
            .unwrap_err()
            .contains("longer than 512"));
        assert!(keys("\n\n").unwrap_err().contains("no IDENTITY:KEY line"));
    }

    #[test]
    fn client_picks_the_identity_or_the_first() {
        let psks = parse("f", b"alice:0123456789abcdefX\nbob:0123456789abcdefY").unwrap();
        assert_eq!(client_psk(psks.clone(), None).unwrap().identity(), b"alice");
        assert_eq!(
            client_psk(psks.clone(), Some("bob")).unwrap().identity(),
            b"bob"
        );
        assert!(client_psk(psks, Some("carol"))
            .unwrap_err()
            .contains("\"carol\""));
    }
}
