//! Private keys and certificate chains: PEM (RFC 7468) and DER loading.
//!
//! Errors here are configuration errors, reported as `Error::InvalidConfig` with
//! a specific message.

use alloc::string::String;
use alloc::vec::Vec;

use zeroize::Zeroizing;

use crate::crypto::SigningKey;
use crate::error::Error;

type Blocks = Vec<(String, Zeroizing<Vec<u8>>)>;

/// Every PEM block in `text`, in order, as (label, DER). Text outside blocks
/// is ignored; inside a block, only base64 and whitespace are allowed.
/// The END label must match the BEGIN label, and base64 is decoded strictly
/// (alphabet, padding only at the end, zero trailing bits).
pub fn pem_blocks(text: &[u8]) -> Result<Vec<(String, Vec<u8>)>, Error> {
    Ok(parse_blocks(text)?
        .into_iter()
        .map(|(label, mut der)| (label, core::mem::take(&mut *der)))
        .collect())
}

/// Every CERTIFICATE block, in order (a chain: end entity first). No
/// certificate at all is an error.
pub fn certs_from_pem(text: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
    let certs: Vec<Vec<u8>> = pem_blocks(text)?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .map(|(_, der)| der)
        .collect();
    if certs.is_empty() {
        return Err(Error::InvalidConfig("no CERTIFICATE block in PEM"));
    }
    Ok(certs)
}

/// The first private key in `text`: "PRIVATE KEY" (PKCS#8), "EC PRIVATE KEY"
/// (SEC1; an "EC PARAMETERS" block before it is skipped), or "RSA PRIVATE KEY"
/// (PKCS#1). Other blocks (certificates) are skipped; an encrypted key is
/// refused. Decoded key bytes are wiped.
pub fn key_from_pem(text: &[u8]) -> Result<SigningKey, Error> {
    for (label, der) in parse_blocks(text)? {
        match label.as_str() {
            "PRIVATE KEY" => return SigningKey::from_pkcs8(&der),
            "EC PRIVATE KEY" => return SigningKey::from_sec1(&der),
            "RSA PRIVATE KEY" => return SigningKey::from_pkcs1(&der),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(Error::InvalidConfig(
                    "encrypted private keys are not supported (decrypt it with `openssl pkey`)",
                ))
            }
            _ => {}
        }
    }
    Err(Error::InvalidConfig("no private key in PEM"))
}

/// [`certs_from_pem`] on the contents of a file.
#[cfg(feature = "std")]
pub fn certs_from_pem_file(path: impl AsRef<std::path::Path>) -> Result<Vec<Vec<u8>>, Error> {
    let text =
        std::fs::read(path).map_err(|_| Error::InvalidConfig("cannot read certificate file"))?;
    certs_from_pem(&text)
}

/// [`key_from_pem`] on the contents of a file (wiped after parsing).
#[cfg(feature = "std")]
pub fn key_from_pem_file(path: impl AsRef<std::path::Path>) -> Result<SigningKey, Error> {
    let text = Zeroizing::new(
        std::fs::read(path).map_err(|_| Error::InvalidConfig("cannot read private key file"))?,
    );
    key_from_pem(&text)
}

const DASHES: &[u8] = b"-----";

/// The label of a `-----BEGIN label-----` / `-----END label-----` line.
fn boundary<'a>(line: &'a [u8], kind: &[u8]) -> Option<&'a [u8]> {
    line.strip_prefix(DASHES)?
        .strip_prefix(kind)?
        .strip_suffix(DASHES)
}

fn parse_blocks(text: &[u8]) -> Result<Blocks, Error> {
    let mut blocks = Blocks::new();
    let mut open: Option<(&[u8], Zeroizing<Vec<u8>>)> = None;
    for line in text.split(|&b| b == b'\n') {
        let line = line.trim_ascii();
        match open.take() {
            None => {
                if let Some(label) = boundary(line, b"BEGIN ") {
                    if !valid_label(label) {
                        return Err(Error::InvalidConfig("PEM: bad label in BEGIN line"));
                    }
                    open = Some((label, Zeroizing::new(Vec::new())));
                } else if line.starts_with(b"-----END") {
                    return Err(Error::InvalidConfig("PEM: END line without BEGIN"));
                } else if line.starts_with(b"-----BEGIN") {
                    return Err(Error::InvalidConfig("PEM: malformed BEGIN line"));
                }
            }
            Some((label, mut body)) => {
                if let Some(end) = boundary(line, b"END ") {
                    if end != label {
                        return Err(Error::InvalidConfig("PEM: END label does not match BEGIN"));
                    }
                    let der = base64_decode(&body)?;
                    if der.is_empty() {
                        return Err(Error::InvalidConfig("PEM: empty block"));
                    }
                    let label = label.iter().map(|&b| char::from(b)).collect();
                    blocks.push((label, der));
                } else if line.starts_with(DASHES) {
                    return Err(Error::InvalidConfig(
                        "PEM: BEGIN or END line inside a block",
                    ));
                } else if line.contains(&b':') {
                    return Err(Error::InvalidConfig(
                        "PEM: headers (legacy encrypted key) are not supported",
                    ));
                } else {
                    body.extend(line.iter().filter(|b| !b.is_ascii_whitespace()));
                    open = Some((label, body));
                }
            }
        }
    }
    if open.is_some() {
        return Err(Error::InvalidConfig("PEM: BEGIN without END"));
    }
    Ok(blocks)
}

/// RFC 7468 labels: printable ASCII other than '-', words separated by single
/// spaces or hyphens.
fn valid_label(label: &[u8]) -> bool {
    !label.is_empty()
        && label.iter().all(|&b| b.is_ascii_graphic() || b == b' ')
        && !label.starts_with(b" ")
        && !label.ends_with(b" ")
        && !label.starts_with(b"-")
        && !label.ends_with(b"-")
}

fn base64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Strict base64 (RFC 4648 §4): whole quanta, '=' only to pad the last one,
/// and the unused bits of the last symbol zero.
fn base64_decode(text: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    const BAD: Error = Error::InvalidConfig("PEM: bad base64");
    if !text.chunks_exact(4).remainder().is_empty() {
        return Err(BAD);
    }
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 4 * 3));
    let quanta = text.len() / 4;
    for (i, quantum) in text.chunks_exact(4).enumerate() {
        let pad = quantum.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && i + 1 != quanta) {
            return Err(BAD);
        }
        let mut acc: u32 = 0;
        for &c in &quantum[..4 - pad] {
            acc = (acc << 6) | u32::from(base64_value(c).ok_or(BAD)?);
        }
        match pad {
            0 => out.extend_from_slice(&acc.to_be_bytes()[1..]),
            1 => {
                if acc & 0x3 != 0 {
                    return Err(BAD);
                }
                out.extend_from_slice(&(acc >> 2).to_be_bytes()[2..]);
            }
            _ => {
                if acc & 0xf != 0 {
                    return Err(BAD);
                }
                out.push((acc >> 4) as u8);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use alloc::vec;

    use super::*;

    #[test]
    fn base64_strict() {
        let ok = |s: &str| base64_decode(s.as_bytes()).map(|v| v.to_vec());
        assert_eq!(ok("").unwrap(), b"");
        assert_eq!(ok("Zg==").unwrap(), b"f");
        assert_eq!(ok("Zm8=").unwrap(), b"fo");
        assert_eq!(ok("Zm9v").unwrap(), b"foo");
        assert_eq!(ok("Zm9vYmFy").unwrap(), b"foobar");
        assert_eq!(ok("+/+/").unwrap(), vec![0xfb, 0xff, 0xbf]);
        for bad in [
            "Zg=", "Zg", "Zh==", "Zm9=", "Z===", "Zg==Zg==", "Zm9v!A==", "Zm=v", "Zm9-", "====",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }

    const CHAIN: &str = "subject=CN = leaf
-----BEGIN CERTIFICATE-----
AQID
BAU=
-----END CERTIFICATE-----
some text between
-----BEGIN CERTIFICATE-----\r
  BgcI\r
-----END CERTIFICATE-----\r
-----BEGIN X509 CRL-----
CQ==
-----END X509 CRL-----
-----BEGIN CERTIFICATE-----
Cg==
-----END CERTIFICATE-----
";

    #[test]
    fn chain_in_order() {
        let certs = certs_from_pem(CHAIN.as_bytes()).unwrap();
        assert_eq!(certs, vec![vec![1, 2, 3, 4, 5], vec![6, 7, 8], vec![10]]);
        let blocks = pem_blocks(CHAIN.as_bytes()).unwrap();
        assert_eq!(blocks.len(), 4);
        assert_eq!(blocks[2], (String::from("X509 CRL"), vec![9]));
    }

    #[test]
    fn pem_errors() {
        let err = |s: &str| match pem_blocks(s.as_bytes()) {
            Err(Error::InvalidConfig(why)) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            err("-----BEGIN CERTIFICATE-----\nAQID\n-----END PRIVATE KEY-----\n"),
            "PEM: END label does not match BEGIN"
        );
        assert_eq!(
            err("-----BEGIN CERTIFICATE-----\nAQ!D\n-----END CERTIFICATE-----\n"),
            "PEM: bad base64"
        );
        assert_eq!(
            err("-----BEGIN CERTIFICATE-----\nAQI\n-----END CERTIFICATE-----\n"),
            "PEM: bad base64"
        );
        assert_eq!(
            err("-----BEGIN CERTIFICATE-----\nAQID\n"),
            "PEM: BEGIN without END"
        );
        assert_eq!(
            err("AQID\n-----END CERTIFICATE-----\n"),
            "PEM: END line without BEGIN"
        );
        assert_eq!(
            err("-----BEGIN A-----\n-----BEGIN B-----\nAQID\n-----END B-----\n-----END A-----\n"),
            "PEM: BEGIN or END line inside a block"
        );
        assert_eq!(
            err("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAQID\n-----END RSA PRIVATE KEY-----\n"),
            "PEM: headers (legacy encrypted key) are not supported"
        );
        assert_eq!(
            err("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
            "PEM: empty block"
        );
        assert_eq!(
            err("-----BEGIN -----\nAQID\n-----END -----\n"),
            "PEM: bad label in BEGIN line"
        );
        assert_eq!(
            err("-----BEGIN CERTIFICATE----\n"),
            "PEM: malformed BEGIN line"
        );

        assert_eq!(
            certs_from_pem(b"-----BEGIN X509 CRL-----\nCQ==\n-----END X509 CRL-----\n"),
            Err(Error::InvalidConfig("no CERTIFICATE block in PEM"))
        );
        assert_eq!(
            certs_from_pem(b""),
            Err(Error::InvalidConfig("no CERTIFICATE block in PEM"))
        );
        assert_eq!(
            key_from_pem(CHAIN.as_bytes()).map(|_| ()),
            Err(Error::InvalidConfig("no private key in PEM"))
        );
        assert!(matches!(
            key_from_pem(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAQID\n-----END ENCRYPTED PRIVATE KEY-----\n"),
            Err(Error::InvalidConfig(why)) if why.starts_with("encrypted private keys")
        ));
    }
}

/// Keys and certificates made by the `openssl` command, through PEM to signatures.
#[cfg(all(test, feature = "std"))]
mod openssl_tests {
    use alloc::format;
    use alloc::string::ToString;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use super::*;
    use crate::crypto::{cert_spki, certificate_verify_message, verify_tls13_signature, SpkiAlg};
    use crate::msgs::enums::SignatureScheme;

    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("tls-core-keys-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
        fn path(&self, file: &str) -> PathBuf {
            self.0.join(file)
        }
        fn read(&self, file: &str) -> Vec<u8> {
            std::fs::read(self.path(file)).unwrap()
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn openssl(dir: &Path, args: &[&str]) {
        let out = match Command::new("openssl").args(args).current_dir(dir).output() {
            Ok(out) => out,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("the openssl command is missing: install the openssl package")
            }
            Err(e) => panic!("running openssl: {e}"),
        };
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Signs with the key from `key_file` under every scheme it offers and
    /// verifies against the certificate made from it; checks the failures too.
    fn check_key(dir: &TempDir, key_file: &str, cert_file: &str, alg: SpkiAlg) {
        let key =
            key_from_pem_file(dir.path(key_file)).unwrap_or_else(|e| panic!("{key_file}: {e}"));
        assert_eq!(key.alg(), alg, "{key_file}");
        let certs = certs_from_pem_file(dir.path(cert_file)).unwrap();
        assert_eq!(certs.len(), 1);
        key.check_matches_certificate(&certs[0]).unwrap();
        let spki = cert_spki(&certs[0]).unwrap();

        let msg = certificate_verify_message(true, &[0x5a; 32]);
        for &scheme in key.tls13_schemes() {
            let sig = key.sign(scheme, &msg).unwrap();
            verify_tls13_signature(spki, scheme, &msg, &sig)
                .unwrap_or_else(|e| panic!("{key_file} {scheme:?}: {e}"));
            let mut flipped = sig.clone();
            flipped[sig.len() / 2] ^= 0x01;
            assert_eq!(
                verify_tls13_signature(spki, scheme, &msg, &flipped),
                Err(Error::DecryptError("bad CertificateVerify signature")),
                "{key_file} {scheme:?}"
            );
            assert!(matches!(
                verify_tls13_signature(spki, scheme, b"another message", &sig),
                Err(Error::DecryptError(_))
            ));
        }
        let wrong = if alg == SpkiAlg::Ed25519 {
            SignatureScheme::EcdsaSecp256r1Sha256
        } else {
            SignatureScheme::Ed25519
        };
        let sig = key.sign(key.tls13_schemes()[0], &msg).unwrap();
        assert_eq!(
            verify_tls13_signature(spki, wrong, &msg, &sig),
            Err(Error::IllegalParameter(
                "signature scheme does not match certificate key"
            ))
        );
        if alg == SpkiAlg::Rsa {
            assert!(matches!(
                verify_tls13_signature(spki, SignatureScheme::RsaPkcs1Sha256, &msg, &sig),
                Err(Error::IllegalParameter(_))
            ));
        }
    }

    fn self_signed(dir: &TempDir, key_file: &str, cert_file: &str) {
        openssl(
            &dir.0,
            &[
                "req", "-new", "-x509", "-key", key_file, "-subj", "/CN=test", "-days", "2",
                "-out", cert_file,
            ],
        );
    }

    #[test]
    fn ecdsa_keys() {
        let dir = TempDir::new("ecdsa");
        for (curve, alg) in [
            ("prime256v1", SpkiAlg::EcdsaP256),
            ("secp384r1", SpkiAlg::EcdsaP384),
        ] {
            // SEC1 with an EC PARAMETERS block first, as `ecparam -genkey` writes it
            let sec1 = format!("{curve}-sec1.pem");
            openssl(
                &dir.0,
                &["ecparam", "-name", curve, "-genkey", "-out", &sec1],
            );
            let text = dir.read(&sec1);
            assert!(String::from_utf8_lossy(&text).contains("BEGIN EC PARAMETERS"));
            let cert = format!("{curve}-cert.pem");
            self_signed(&dir, &sec1, &cert);
            check_key(&dir, &sec1, &cert, alg);

            // the same key as PKCS#8
            let pkcs8 = format!("{curve}-pkcs8.pem");
            openssl(
                &dir.0,
                &["pkcs8", "-topk8", "-nocrypt", "-in", &sec1, "-out", &pkcs8],
            );
            assert!(String::from_utf8_lossy(&dir.read(&pkcs8)).contains("BEGIN PRIVATE KEY"));
            check_key(&dir, &pkcs8, &cert, alg);

            // SEC1 without the public key
            let nopub = format!("{curve}-nopub.pem");
            openssl(&dir.0, &["ec", "-in", &sec1, "-no_public", "-out", &nopub]);
            assert!(matches!(
                key_from_pem(&dir.read(&nopub)),
                Err(Error::InvalidConfig(why)) if why.contains("no public key")
            ));
        }
        // a key that does not match the certificate
        let other = key_from_pem(&dir.read("secp384r1-sec1.pem")).unwrap();
        let cert = &certs_from_pem(&dir.read("prime256v1-cert.pem")).unwrap()[0];
        assert_eq!(
            other.check_matches_certificate(cert),
            Err(Error::KeyMismatch)
        );
    }

    #[test]
    fn ed25519_key() {
        let dir = TempDir::new("ed25519");
        openssl(
            &dir.0,
            &["genpkey", "-algorithm", "ed25519", "-out", "key.pem"],
        );
        self_signed(&dir, "key.pem", "cert.pem");
        check_key(&dir, "key.pem", "cert.pem", SpkiAlg::Ed25519);
    }

    #[test]
    fn rsa_keys() {
        let dir = TempDir::new("rsa");
        openssl(
            &dir.0,
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                "pkcs8.pem",
            ],
        );
        openssl(
            &dir.0,
            &[
                "rsa",
                "-in",
                "pkcs8.pem",
                "-traditional",
                "-out",
                "pkcs1.pem",
            ],
        );
        assert!(String::from_utf8_lossy(&dir.read("pkcs1.pem")).contains("BEGIN RSA PRIVATE KEY"));
        self_signed(&dir, "pkcs8.pem", "cert.pem");
        check_key(&dir, "pkcs8.pem", "cert.pem", SpkiAlg::Rsa);
        check_key(&dir, "pkcs1.pem", "cert.pem", SpkiAlg::Rsa);

        // encrypted PKCS#8
        openssl(
            &dir.0,
            &[
                "pkcs8",
                "-topk8",
                "-in",
                "pkcs8.pem",
                "-passout",
                "pass:x",
                "-out",
                "enc.pem",
            ],
        );
        assert!(matches!(
            key_from_pem(&dir.read("enc.pem")),
            Err(Error::InvalidConfig(why)) if why.starts_with("encrypted private keys")
        ));
        // a key and certificate in one file, certificate first
        let mut both = dir.read("cert.pem");
        both.extend_from_slice(&dir.read("pkcs1.pem"));
        assert_eq!(key_from_pem(&both).unwrap().alg(), SpkiAlg::Rsa);
        assert_eq!(certs_from_pem(&both).unwrap().len(), 1);
        // DER forms
        let der = |f: &str| pem_blocks(&dir.read(f)).unwrap().remove(0).1;
        assert_eq!(
            SigningKey::from_der(&der("pkcs1.pem")).unwrap().alg(),
            SpkiAlg::Rsa
        );
        assert_eq!(
            SigningKey::from_der(&der("pkcs8.pem")).unwrap().alg(),
            SpkiAlg::Rsa
        );
        assert!(SigningKey::from_pkcs8(&der("pkcs1.pem")).is_err());
    }

    /// Every pairing of four keys (RSA, two P-256, Ed25519) with their four
    /// certificates: only a key with its own certificate makes a
    /// `CertifiedKey`; any other pair is `Error::KeyMismatch`, whatever the
    /// key types. The end-entity certificate is the one that counts.
    #[test]
    fn certified_key_refuses_a_key_of_another_certificate() {
        use crate::config::CertifiedKey;
        let dir = TempDir::new("mismatch");
        let kinds: [(&str, &[&str]); 4] = [
            (
                "rsa",
                &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            ),
            (
                "p256a",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
            (
                "p256b",
                &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
            ("ed25519", &["-algorithm", "ed25519"]),
        ];
        for (name, alg) in kinds {
            let key = format!("{name}.key");
            let mut args = alloc::vec!["genpkey"];
            args.extend_from_slice(alg);
            args.extend_from_slice(&["-out", &key]);
            openssl(&dir.0, &args);
            self_signed(&dir, &key, &format!("{name}.crt"));
        }
        for (cert_name, _) in kinds {
            let cert = dir.read(&format!("{cert_name}.crt"));
            for (key_name, _) in kinds {
                let key = dir.read(&format!("{key_name}.key"));
                let got = CertifiedKey::from_pem(&cert, &key).map(|_| ());
                let want = if cert_name == key_name {
                    Ok(())
                } else {
                    Err(Error::KeyMismatch)
                };
                assert_eq!(got, want, "certificate {cert_name}, key {key_name}");
            }
        }
        // A chain: the key must be the end entity's, not another member's.
        let mut chain = dir.read("p256a.crt");
        chain.extend_from_slice(&dir.read("rsa.crt"));
        let rsa_key = dir.read("rsa.key");
        assert!(CertifiedKey::from_pem(&chain, &dir.read("p256a.key")).is_ok());
        assert_eq!(
            CertifiedKey::from_pem(&chain, &rsa_key).map(|_| ()),
            Err(Error::KeyMismatch)
        );
        assert_eq!(
            CertifiedKey::from_pem_files(dir.path("ed25519.crt"), dir.path("p256b.key"))
                .map(|_| ()),
            Err(Error::KeyMismatch)
        );
        assert_eq!(
            Error::KeyMismatch.to_string(),
            "private key does not match certificate"
        );
        // No certificate at all.
        let key = key_from_pem(&rsa_key).unwrap();
        assert_eq!(
            CertifiedKey::new(Vec::new(), key).map(|_| ()),
            Err(Error::InvalidConfig("empty certificate chain"))
        );
    }

    #[test]
    fn chain_file() {
        let dir = TempDir::new("chain");
        let mut chain = Vec::new();
        let mut ders = Vec::new();
        for i in 0..3 {
            let (key, cert) = (format!("k{i}.pem"), format!("c{i}.pem"));
            openssl(&dir.0, &["genpkey", "-algorithm", "ed25519", "-out", &key]);
            self_signed(&dir, &key, &cert);
            chain.extend_from_slice(&dir.read(&cert));
            ders.push(certs_from_pem(&dir.read(&cert)).unwrap().remove(0));
        }
        std::fs::write(dir.path("chain.pem"), &chain).unwrap();
        assert_eq!(certs_from_pem_file(dir.path("chain.pem")).unwrap(), ders);
        assert_eq!(
            certs_from_pem_file(dir.path("missing.pem")),
            Err(Error::InvalidConfig("cannot read certificate file"))
        );
        assert_eq!(
            key_from_pem_file(dir.path("missing.pem"))
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Err("invalid configuration: cannot read private key file".to_string())
        );
    }
}
