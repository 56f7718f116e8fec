//! `tls_core::x509`'s OCSP requests and response checks against `openssl
//! ocsp`: our request goes to `openssl ocsp -reqin` (so OpenSSL must parse
//! it), its response comes back to `OcspTarget::verify`. Good, revoked and
//! unknown certificates; responses signed by the CA and by a delegated
//! responder; nonces; SHA-256 CertIDs; wrong signers, tampering, times and
//! truncations. And tls-core's client taking a response that `openssl
//! s_server -status_file` staples to its verifier.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tls_core::x509::{CertError, OcspIssuer, OcspSigners, OcspStatus, OcspTarget, OcspVerified};
use tls_core::{
    ClientConfig, Error, ServerCertVerified, ServerCertVerifier, TrustAnchors, UnixTime,
    WebPkiVerifier,
};
use tls_tests::engine::{connect, tls_error};
use tls_tests::ocsp::OcspPki;
use tls_tests::openssl_peer::{openssl, SServer, SServerBuilder};
use tls_tests::peer::run_tool;
use tls_tests::tunnel::temp_dir;

fn now() -> UnixTime {
    UnixTime(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
}

struct Fixture {
    pki: OcspPki,
    issuers: Vec<OcspIssuer>,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = temp_dir("ocsp-x509");
        let pki = OcspPki::generate(&dir, 9);
        let issuers = vec![
            OcspIssuer::from_cert(&pki.der("other-ca")).expect("other CA"),
            OcspIssuer::from_cert(&pki.der("ca")).expect("CA"),
        ];
        Fixture { pki, issuers }
    }

    fn target(&self, name: &str) -> OcspTarget {
        let (target, index) =
            OcspTarget::find(&self.pki.der(name), &self.issuers).expect("issuer found");
        let issuer = if name == "stranger" { 0 } else { 1 };
        assert_eq!(index, issuer, "{name}'s issuer");
        target
    }

    /// Asks `openssl ocsp` about `name` with our request, signed by `signer`.
    fn ask(&self, name: &str, signer: &str, nonce: Option<&[u8]>) -> (OcspTarget, Vec<u8>) {
        let target = self.target(name);
        let response = self.pki.respond(&target.request(nonce), signer, &[]);
        (target, response)
    }
}

fn verify(
    target: &OcspTarget,
    response: &[u8],
    nonce: Option<&[u8]>,
) -> Result<OcspVerified, CertError> {
    target.verify(response, nonce, OcspSigners::default(), now())
}

#[test]
fn ocsp_statuses_from_openssl() {
    let f = Fixture::new();
    for signer in ["resp", "ca"] {
        let (target, response) = f.ask("good", signer, None);
        let v = verify(&target, &response, None).expect("good response verifies");
        assert_eq!(v.status, OcspStatus::Good, "signed by {signer}");
        assert!(v.next_update.is_some_and(|n| n > v.this_update));

        let (target, response) = f.ask("revoked", signer, None);
        let v = verify(&target, &response, None).expect("revoked response verifies");
        // Revoked at 2024-01-01T00:00:00Z in the index.
        assert_eq!(v.status, OcspStatus::Revoked(1_704_067_200));
    }
    // The responder does not know a certificate of another CA; it answers
    // "unknown", signed by its own CA, so the signer is not the stranger's
    // issuer: refused before the status counts.
    let (target, response) = f.ask("stranger", "resp", None);
    assert!(verify(&target, &response, None).is_err());
}

#[test]
fn ocsp_unknown_status() {
    let f = Fixture::new();
    // A certificate of the right CA that the index does not list: "unknown".
    let (target, response) = f.ask("resp", "ca", None);
    let v = verify(&target, &response, None).expect("response verifies");
    assert_eq!(v.status, OcspStatus::Good, "resp (1003) is listed as valid");
    // Drop 1003 from the index: now unknown.
    let index = f.pki.file("index.txt");
    let text = std::fs::read_to_string(&index).expect("index");
    let text: String = text
        .lines()
        .filter(|l| !l.contains("\t1003\t"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&index, text).expect("index");
    let (target, response) = f.ask("resp", "ca", None);
    let v = verify(&target, &response, None).expect("unknown response verifies");
    assert_eq!(v.status, OcspStatus::Unknown);
}

#[test]
fn ocsp_signer_rules() {
    let f = Fixture::new();
    let (target, by_ca) = f.ask("good", "ca", None);
    let (_, by_resp) = f.ask("good", "resp", None);
    let no_ca = OcspSigners {
        issuer: false,
        delegated: true,
    };
    let no_delegated = OcspSigners {
        issuer: true,
        delegated: false,
    };
    assert!(target.verify(&by_ca, None, no_ca, now()).is_err());
    assert!(target.verify(&by_resp, None, no_ca, now()).is_ok());
    assert!(target.verify(&by_resp, None, no_delegated, now()).is_err());
    assert!(target.verify(&by_ca, None, no_delegated, now()).is_ok());

    // A leaf of the CA without id-kp-OCSPSigning may not answer.
    let (target, by_leaf) = f.ask("good", "good", None);
    assert!(verify(&target, &by_leaf, None).is_err());
    // Nor may a responder certificate of another CA.
    let (target, by_stranger) = f.ask("good", "stranger", None);
    assert!(verify(&target, &by_stranger, None).is_err());

    // The good certificate's response says nothing about the revoked one.
    let revoked = f.target("revoked");
    assert!(verify(&revoked, &by_resp, None).is_err());
}

#[test]
fn ocsp_nonce() {
    let f = Fixture::new();
    let nonce = [7u8; 16];
    let (target, response) = f.ask("good", "resp", Some(&nonce));
    assert_eq!(
        verify(&target, &response, Some(&nonce)).map(|v| v.status),
        Ok(OcspStatus::Good)
    );
    assert!(verify(&target, &response, Some(&[8u8; 16])).is_err());
    // A nonce sent but not echoed (a replayed or cached response).
    let (_, plain) = f.ask("good", "resp", None);
    assert!(verify(&target, &plain, Some(&nonce)).is_err());
    // A response echoing a nonce we did not send is fine.
    assert!(verify(&target, &response, None).is_ok());
}

#[test]
fn ocsp_sha256_cert_id_and_openssl_request() {
    let f = Fixture::new();
    let p = |n: &str| f.pki.file(n).to_str().expect("utf-8").to_string();
    let req = p("sha256-req.der");
    run_tool(
        &openssl(),
        [
            "ocsp",
            "-sha256",
            "-issuer",
            &p("ca.pem"),
            "-cert",
            &p("good.pem"),
            "-no_nonce",
            "-reqout",
            &req,
        ],
    );
    let request = std::fs::read(&req).expect("request");
    let response = f.pki.respond(&request, "resp", &[]);
    let v = verify(&f.target("good"), &response, None).expect("sha256 CertID matches");
    assert_eq!(v.status, OcspStatus::Good);
}

#[test]
fn ocsp_times_tampering_and_truncation() {
    let f = Fixture::new();
    let (target, response) = f.ask("good", "resp", None);
    let v = verify(&target, &response, None).expect("verifies");
    let next = v.next_update.expect("nextUpdate") as u64;
    let this = v.this_update as u64;
    let signers = OcspSigners::default();
    assert!(target
        .verify(&response, None, signers, UnixTime(next + 3600))
        .is_err());
    assert!(target
        .verify(&response, None, signers, UnixTime(this - 3600))
        .is_err());
    assert!(target
        .verify(&response, None, signers, UnixTime(next + 60))
        .is_ok());

    // Any changed byte in the last 40 (the signature) fails.
    for back in 1..40 {
        let mut bad = response.clone();
        let i = bad.len() - back;
        if let Some(b) = bad.get_mut(i) {
            *b ^= 0x01;
        }
        assert!(verify(&target, &bad, None).is_err(), "byte {i} changed");
    }
    // Every truncation fails, and nothing panics.
    for len in 0..response.len() {
        assert!(
            verify(&target, &response[..len], None).is_err(),
            "prefix {len}"
        );
    }
    let mut longer = response.clone();
    longer.push(0);
    assert!(verify(&target, &longer, None).is_err());
}

#[test]
fn ocsp_aia_urls_and_issuer_lookup() {
    let f = Fixture::new();
    assert_eq!(f.target("good").aia_urls(), ["http://127.0.0.1:9/"]);
    assert!(f.target("resp").aia_urls().is_empty());
    // No issuer among the candidates: no target.
    let only_other = [OcspIssuer::from_cert(&f.pki.der("other-ca")).expect("CA")];
    assert!(OcspTarget::find(&f.pki.der("good"), &only_other).is_none());
}

/// Accepts the test CA's `localhost` chain and checks a stapled response
/// in the handshake with `OcspTarget::verify`: revoked or unverifiable is
/// bad_certificate_status_response. Keeps every response it was handed.
struct StapleChecker {
    inner: WebPkiVerifier,
    issuers: Vec<OcspIssuer>,
    seen: Mutex<Vec<Vec<u8>>>,
}

impl ServerCertVerifier for StapleChecker {
    fn verify_server_cert(
        &self,
        end_entity: &[u8],
        intermediates: &[Vec<u8>],
        server_name: Option<&str>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, now)
    }

    fn verify_stapled_ocsp(
        &self,
        end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        response: &[u8],
        now: UnixTime,
    ) -> Result<(), Error> {
        self.seen.lock().expect("lock").push(response.to_vec());
        let (target, _) = OcspTarget::find(end_entity, &self.issuers)
            .ok_or(Error::BadCertificateStatus("issuer not known"))?;
        match target.verify(response, None, OcspSigners::default(), now) {
            Ok(v) if v.status == OcspStatus::Good => Ok(()),
            Ok(_) => Err(Error::BadCertificateStatus("not good")),
            Err(_) => Err(Error::BadCertificateStatus("does not verify")),
        }
    }
}

/// `openssl s_server` stapling `status_file` for `leaf`, over `version`,
/// tracing into a file.
fn stapling_s_server(f: &Fixture, leaf: &str, status_file: &str, version: &str) -> SServer {
    let p = |n: &str| f.pki.file(n).to_str().expect("utf-8").to_string();
    SServerBuilder::with_cert(
        &f.pki.file(&format!("{leaf}.pem")),
        &f.pki.file(&format!("{leaf}.key")),
    )
    .quiet(false)
    .args(&[version, "-status_file", &p(status_file)])
    .start()
}

/// tls-core's client asks openssl s_server for a staple over TLS 1.3 and
/// TLS 1.2: the response it staples reaches the verifier and `Negotiated`,
/// and a verifier refusing it (revoked) ends the handshake with
/// bad_certificate_status_response, which s_server receives.
#[test]
fn openssl_stapled_response_reaches_the_verifier() {
    let f = Fixture::new();
    for leaf in ["good", "revoked"] {
        let (target, response) = f.ask(leaf, "resp", None);
        assert_eq!(target.cert(), f.pki.der(leaf));
        std::fs::write(f.pki.file(&format!("{leaf}.der")), &response).expect("staple");
    }
    let anchors = TrustAnchors::from_pem_file(f.pki.file("ca.pem")).expect("CA");
    for version in ["-tls1_3", "-tls1_2"] {
        for leaf in ["good", "revoked"] {
            let checker = Arc::new(StapleChecker {
                inner: WebPkiVerifier::new(Arc::new(anchors.clone())),
                issuers: f.issuers.clone(),
                seen: Mutex::new(Vec::new()),
            });
            let mut config = ClientConfig::with_roots(anchors.clone());
            config.verifier = checker.clone();
            config.request_ocsp = true;
            let mut server = stapling_s_server(&f, leaf, &format!("{leaf}.der"), version);
            let staple = std::fs::read(f.pki.file(&format!("{leaf}.der"))).expect("staple");
            let result = connect(server.port, config, Some("localhost"));
            let seen = checker.seen.lock().expect("lock").clone();
            assert_eq!(seen, std::slice::from_ref(&staple), "{leaf} {version}");
            match (leaf, result) {
                ("good", Ok(stream)) => {
                    let n = stream.conn().negotiated().expect("negotiated");
                    assert_eq!(n.ocsp_response.as_ref(), Some(&staple));
                }
                ("revoked", Err(e)) => {
                    assert_eq!(
                        tls_error(&e),
                        Some(Error::BadCertificateStatus("not good")),
                        "{version}"
                    );
                    let trace = server.trace();
                    assert!(trace.has_alert(false, 113), "{version}\n{}", trace.text);
                }
                (_, other) => panic!(
                    "{leaf} {version}: {:?}\n{}",
                    other.err(),
                    server.peer.diagnostics()
                ),
            }
        }
    }
}
