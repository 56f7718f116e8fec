//! The test PKI, generated once per test process into a fresh temporary
//! directory: a CA (ECDSA P-256) and, for `localhost` (SAN DNS:localhost and
//! IP:127.0.0.1), one leaf per server key type. Plus an unrelated
//! self-signed certificate for the "pinned to something else" tests.
//!
//! rcgen (ring) makes the EC and Ed25519 keys and signs everything; ring
//! cannot generate RSA keys, so the RSA-2048 key comes from `openssl genpkey`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};

use crate::peer::run_tool;

/// The key types a test server certificate can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// ECDSA on P-256 (ecdsa_secp256r1_sha256).
    EcdsaP256,
    /// ECDSA on P-384 (ecdsa_secp384r1_sha384).
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA 2048 (rsa_pss_rsae_* in TLS 1.3).
    Rsa2048,
}

impl KeyType {
    /// Every key type.
    pub const ALL: [KeyType; 4] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
    ];

    /// A short name, used for file names.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa2048",
        }
    }
}

/// A certificate with its key, as files and as bytes.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The key type.
    pub key_type: KeyType,
    /// The certificate alone (PEM file).
    pub cert_pem: PathBuf,
    /// The certificate followed by the CA certificate (PEM file).
    pub chain_pem: PathBuf,
    /// The private key, PKCS#8 (PEM file).
    pub key_pem: PathBuf,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// The private key, PKCS#8 DER.
    pub key_der: Vec<u8>,
    /// Contents of `chain_pem`.
    pub chain_pem_bytes: Vec<u8>,
    /// Contents of `key_pem`.
    pub key_pem_bytes: Vec<u8>,
}

/// The whole test PKI.
#[derive(Debug)]
pub struct TestPki {
    /// The directory holding every file.
    pub dir: PathBuf,
    /// The CA certificate (PEM file), the trust anchor for peers.
    pub ca_pem: PathBuf,
    /// The CA certificate, DER.
    pub ca_der: Vec<u8>,
    leaves: Vec<Leaf>,
    /// A self-signed P-256 `localhost` certificate no server uses.
    pub unrelated: Leaf,
}

impl TestPki {
    /// The `localhost` leaf of `key_type`, issued by the CA.
    pub fn leaf(&self, key_type: KeyType) -> &Leaf {
        self.leaves
            .iter()
            .find(|l| l.key_type == key_type)
            .expect("every key type has a leaf")
    }
}

/// The test PKI, generated on first use in this process.
pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(generate)
}

/// Removes PKI directories left by earlier test processes that have exited
/// (the directory name carries the pid; Linux only, best effort).
fn remove_stale_dirs(tmp: &Path) {
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("tls-tests-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id()
            && Path::new("/proc/self").exists()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn unique_dir() -> PathBuf {
    remove_stale_dirs(&std::env::temp_dir());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("tls-tests-{}-{nanos}", std::process::id()));
    fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn write(path: &Path, contents: &[u8]) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn leaf_params(serial: u8) -> CertificateParams {
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("valid SANs");
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.serial_number = Some(SerialNumber::from_slice(&[0x10, serial]));
    params.not_before = date_time_ymd(2020, 1, 1);
    params.not_after = date_time_ymd(2049, 12, 31);
    params.use_authority_key_identifier_extension = true;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    params
}

fn generate() -> TestPki {
    let dir = unique_dir();

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("no SANs");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "tls-tests CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.serial_number = Some(SerialNumber::from_slice(&[0x01]));
    ca_params.not_before = date_time_ymd(2020, 1, 1);
    ca_params.not_after = date_time_ymd(2049, 12, 31);
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("CA key");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
    let ca_pem_text = ca_cert.pem();
    let ca_pem = dir.join("ca.pem");
    write(&ca_pem, ca_pem_text.as_bytes());
    let issuer = Issuer::new(ca_params, ca_key);

    let mut leaves = Vec::new();
    for (i, key_type) in KeyType::ALL.into_iter().enumerate() {
        let key = leaf_key(key_type, &dir);
        let cert = leaf_params(i as u8 + 1)
            .signed_by(&key, &issuer)
            .expect("leaf certificate");
        let cert_pem_text = cert.pem();
        let name = key_type.name();
        let chain = format!("{cert_pem_text}{ca_pem_text}");
        let leaf = Leaf {
            key_type,
            cert_pem: dir.join(format!("{name}.pem")),
            chain_pem: dir.join(format!("{name}-chain.pem")),
            key_pem: dir.join(format!("{name}.key")),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
            chain_pem_bytes: chain.into_bytes(),
            key_pem_bytes: key.serialize_pem().into_bytes(),
        };
        write(&leaf.cert_pem, cert_pem_text.as_bytes());
        write(&leaf.chain_pem, &leaf.chain_pem_bytes);
        write(&leaf.key_pem, &leaf.key_pem_bytes);
        leaves.push(leaf);
    }

    let other_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut other_params = leaf_params(0xff);
    other_params.use_authority_key_identifier_extension = false;
    let other = other_params
        .self_signed(&other_key)
        .expect("self-signed certificate");
    let unrelated = Leaf {
        key_type: KeyType::EcdsaP256,
        cert_pem: dir.join("unrelated.pem"),
        chain_pem: dir.join("unrelated.pem"),
        key_pem: dir.join("unrelated.key"),
        cert_der: other.der().to_vec(),
        key_der: other_key.serialize_der(),
        chain_pem_bytes: other.pem().into_bytes(),
        key_pem_bytes: other_key.serialize_pem().into_bytes(),
    };
    write(&unrelated.cert_pem, &unrelated.chain_pem_bytes);
    write(&unrelated.key_pem, &unrelated.key_pem_bytes);

    TestPki {
        ca_der: ca_cert.der().to_vec(),
        dir,
        ca_pem,
        leaves,
        unrelated,
    }
}

fn leaf_key(key_type: KeyType, dir: &Path) -> KeyPair {
    let alg = match key_type {
        KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        KeyType::Ed25519 => &rcgen::PKCS_ED25519,
        KeyType::Rsa2048 => {
            let openssl = crate::openssl_peer::openssl();
            let path = dir.join("rsa2048-generated.key");
            run_tool(
                &openssl,
                [
                    "genpkey".as_ref(),
                    "-algorithm".as_ref(),
                    "RSA".as_ref(),
                    "-pkeyopt".as_ref(),
                    "rsa_keygen_bits:2048".as_ref(),
                    "-out".as_ref(),
                    path.as_os_str(),
                ],
            );
            let pem = fs::read_to_string(&path).expect("read generated RSA key");
            return KeyPair::from_pem(&pem).expect("parse the RSA key openssl generated");
        }
    };
    let key = KeyPair::generate_for(alg).expect("generate key");
    if key_type == KeyType::Ed25519 {
        // ring writes PKCS#8 v2 (with the public key), which OpenSSL 3.0
        // cannot load; every peer reads the RFC 8410 v1 form.
        let v1 = ed25519_pkcs8_v1(&key.serialize_der());
        return KeyPair::from_pkcs8_der_and_sign_algo(&v1.into(), alg).expect("Ed25519 PKCS#8 v1");
    }
    key
}

/// The PKCS#8 v1 (RFC 8410) form of ring's PKCS#8 v2 Ed25519 key.
fn ed25519_pkcs8_v1(v2: &[u8]) -> Vec<u8> {
    // v2: SEQUENCE { INTEGER 1, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) }, [1] public key }
    const V2_BODY_PREFIX: [u8; 14] = [
        0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
    ];
    // v1: SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32 bytes) } }
    const V1_PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let seed = v2
        .strip_prefix(&[0x30][..])
        .and_then(|rest| rest.get(1..))
        .and_then(|body| body.strip_prefix(&V2_BODY_PREFIX[..]))
        .and_then(|rest| rest.get(..32))
        .unwrap_or_else(|| panic!("unexpected Ed25519 PKCS#8 layout: {v2:02x?}"));
    let mut v1 = V1_PREFIX.to_vec();
    v1.extend_from_slice(seed);
    v1
}
