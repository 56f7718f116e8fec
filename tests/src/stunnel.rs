//! Helpers of the stunnel.conf tests (`tests/stunnel_*.rs`): the PKI the
//! oracle corpus refers to, and a plaintext backend that greets and closes.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};

use crate::peer::{local_listener, run_tool};

/// Writes the test PKI into `dir`: a CA; server (server.test), a.test and
/// b.test certificates from it; client and revoked client certificates
/// from it with a CRL revoking the latter; another CA's CRL; a self-signed
/// stranger; a hashed CA directory.
pub fn write_pki(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "Oracle CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = date_time_ymd(2020, 1, 1);
    ca.not_after = date_time_ymd(2049, 12, 31);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |name: &str, cn: &str, sans: &[&str], client: bool, serial: u64| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        for san in sans {
            if let Ok(ip) = san.parse::<std::net::IpAddr>() {
                p.subject_alt_names.push(rcgen::SanType::IpAddress(ip));
                continue;
            }
            let ia5 = rcgen::string::Ia5String::try_from(*san).unwrap();
            p.subject_alt_names.push(if san.contains('@') {
                rcgen::SanType::Rfc822Name(ia5)
            } else {
                rcgen::SanType::DnsName(ia5)
            });
        }
        p.distinguished_name.push(DnType::CommonName, cn);
        p.serial_number = Some(SerialNumber::from(serial));
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2049, 12, 31);
        p.use_authority_key_identifier_extension = true;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        std::fs::write(
            dir.join(format!("{name}.pem")),
            format!("{}{}", cert.pem(), key.serialize_pem()),
        )
        .unwrap();
        // The key first, as some tools write the pair.
        std::fs::write(
            dir.join(format!("{name}-keyfirst.pem")),
            format!("{}{}", key.serialize_pem(), cert.pem()),
        )
        .unwrap();
    };
    leaf("server", "server", &["server.test", "localhost"], false, 10);
    leaf("a", "a.test", &["a.test"], false, 11);
    leaf("b", "b.test", &["b.test"], false, 12);
    leaf("client", "client", &[], true, 13);
    leaf("revoked", "revoked", &[], true, 4242);
    leaf("mail", "mail", &["alice@example.test"], true, 14);
    leaf("ipclient", "ipclient", &["10.1.2.3"], true, 16);
    leaf(
        "server-mail",
        "server",
        &["server.test", "ops@example.test"],
        false,
        15,
    );
    let listed = format!(
        "{}{}",
        std::fs::read_to_string(dir.join("client.crt")).unwrap(),
        ca_cert.pem()
    );
    std::fs::write(dir.join("client-and-ca.crt"), listed).unwrap();
    // An intermediate CA and a server certificate from it: the chain file
    // holds the leaf, the intermediate and the key.
    let mut mid = CertificateParams::new(Vec::<String>::new()).unwrap();
    mid.distinguished_name
        .push(DnType::CommonName, "Oracle Intermediate");
    mid.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    mid.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    mid.use_authority_key_identifier_extension = true;
    let mid_key = KeyPair::generate().unwrap();
    let mid_cert = mid.clone().signed_by(&mid_key, &issuer).unwrap();
    let mid_issuer = Issuer::new(mid, mid_key);
    let mut p = CertificateParams::new(vec!["server.test".to_string()]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "inter-server");
    p.use_authority_key_identifier_extension = true;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &mid_issuer).unwrap();
    std::fs::write(
        dir.join("inter-server.pem"),
        format!("{}{}{}", cert.pem(), mid_cert.pem(), key.serialize_pem()),
    )
    .unwrap();
    // The same identities as PKCS#12 key stores with the empty password
    // (stunnel 5.68 asks for any other on the terminal); the `.PFX` one is
    // neither encrypted nor MACed.
    let openssl = crate::openssl_peer::openssl();
    let plain: &[&str] = &["-nomac", "-keypbe", "NONE", "-certpbe", "NONE"];
    for (pem, p12, extra) in [
        ("server.pem", "server.p12", &[][..]),
        ("inter-server.pem", "inter-server.p12", &[][..]),
        ("server.pem", "server-plain.PFX", plain),
    ] {
        let (pem, p12) = (dir.join(pem), dir.join(p12));
        let mut args = vec!["pkcs12", "-export", "-passout", "pass:", "-in"];
        args.extend([pem.to_str().unwrap(), "-out", p12.to_str().unwrap()]);
        args.extend(extra);
        run_tool(&openssl, args);
    }
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(2040, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(4242u64),
            revocation_time: date_time_ymd(2024, 1, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    std::fs::write(dir.join("crl.pem"), crl.pem().unwrap()).unwrap();
    // A CRL from another CA: it says nothing about our clients.
    let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
    other
        .distinguished_name
        .push(DnType::CommonName, "Other CA");
    other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    other.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let other_key = KeyPair::generate().unwrap();
    other.self_signed(&other_key).unwrap();
    let other_crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(2040, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&Issuer::new(other, other_key))
    .unwrap();
    std::fs::write(dir.join("other-crl.pem"), other_crl.pem().unwrap()).unwrap();
    let crlpath = dir.join("crlpath");
    std::fs::create_dir_all(&crlpath).unwrap();
    std::fs::write(crlpath.join("crl.pem"), crl.pem().unwrap()).unwrap();
    let stranger = rcgen::generate_simple_self_signed(vec!["stranger".to_string()]).unwrap();
    std::fs::write(dir.join("stranger.crt"), stranger.cert.pem()).unwrap();
    std::fs::write(
        dir.join("stranger.key"),
        stranger.signing_key.serialize_pem(),
    )
    .unwrap();
    let capath = dir.join("capath");
    std::fs::create_dir_all(&capath).unwrap();
    std::fs::write(capath.join("ca.pem"), ca_cert.pem()).unwrap();
    for hashed in [&capath, &crlpath] {
        run_tool(
            &crate::openssl_peer::openssl(),
            ["rehash", hashed.to_str().unwrap()],
        );
    }
    write_level_certs(dir);
    write_expired_certs(dir);
}

/// Self-signed certificates that expired in 2021, to be listed in a CA
/// file as they are: `old-client` (clientAuth) and `old-server` (serverAuth,
/// server.test and localhost); each as NAME.crt, NAME.key and NAME.pem.
pub fn write_expired_certs(dir: &Path) {
    for (name, sans, purpose) in [
        ("old-client", vec![], ExtendedKeyUsagePurpose::ClientAuth),
        (
            "old-server",
            vec!["server.test".to_string(), "localhost".to_string()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
    ] {
        let mut p = CertificateParams::new(sans).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.not_before = date_time_ymd(2019, 1, 1);
        p.not_after = date_time_ymd(2021, 1, 1);
        p.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().unwrap();
        let cert = p.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        std::fs::write(
            dir.join(format!("{name}.pem")),
            format!("{}{}", cert.pem(), key.serialize_pem()),
        )
        .unwrap();
    }
}

/// Self-signed server certificates of given key strengths, for the
/// securityLevel files: `p384` (192 bits), `rsa2048` (112) and `rsa3072`
/// (128); each as NAME.crt, NAME.key and NAME.pem. RSA keys come from
/// `openssl genpkey` (rcgen's ring backend cannot make them).
pub fn write_level_certs(dir: &Path) {
    let openssl = crate::openssl_peer::openssl();
    let rsa = |bits: u32| {
        let out = run_tool(
            &openssl,
            [
                "genpkey".to_string(),
                "-algorithm".into(),
                "RSA".into(),
                "-pkeyopt".into(),
                format!("rsa_keygen_bits:{bits}"),
            ],
        );
        let pem = String::from_utf8(out).unwrap();
        KeyPair::from_pem_and_sign_algo(&pem, &rcgen::PKCS_RSA_SHA256).unwrap()
    };
    for (name, key) in [
        (
            "p384",
            KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).unwrap(),
        ),
        ("rsa2048", rsa(2048)),
        ("rsa3072", rsa(3072)),
    ] {
        let mut p = CertificateParams::new(vec!["server.test".to_string()]).unwrap();
        p.distinguished_name.push(DnType::CommonName, name);
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2049, 12, 31);
        let cert = p.self_signed(&key).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        std::fs::write(
            dir.join(format!("{name}.pem")),
            format!("{}{}", cert.pem(), key.serialize_pem()),
        )
        .unwrap();
    }
}

/// A plaintext backend: each connection gets `backend-NAME\n`, then its
/// side is shut down. Stops when dropped.
pub struct Greeter {
    /// Its port on 127.0.0.1.
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl Greeter {
    /// Starts one greeting with `backend-NAME`.
    pub fn start(name: &str) -> Greeter {
        let (listener, port): (TcpListener, u16) = local_listener();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, greeting) = (stop.clone(), format!("backend-{name}\n"));
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = s.write_all(greeting.as_bytes());
                        let _ = s.shutdown(Shutdown::Write);
                        let _ = s.read(&mut [0u8; 64]);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Greeter { port, stop }
    }

    /// The same on a Unix stream socket at `path` (its `port` is 0).
    pub fn start_unix(name: &str, path: &Path) -> Greeter {
        let _ = std::fs::remove_file(path);
        let listener = std::os::unix::net::UnixListener::bind(path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, greeting) = (stop.clone(), format!("backend-{name}\n"));
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = s.write_all(greeting.as_bytes());
                        let _ = s.shutdown(Shutdown::Write);
                        let _ = s.read(&mut [0u8; 64]);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Greeter { port: 0, stop }
    }
}

impl Drop for Greeter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}
