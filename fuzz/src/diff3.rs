//! The third engine of the differential harness: OpenSSL (the system's
//! libssl, 3.0 on Debian bookworm, through the `openssl` crate), in process,
//! configured as [`crate::diff`] configures ours and rustls (TLS 1.3 only,
//! the same three suites, X25519/P-256/P-384, ALPN h2 and http/1.1, the same
//! Ed25519 certificate), fed the same bytes through an in-memory stream.
//!
//! [`compare3`] reports the input when the three do not all agree on
//! accept-versus-reject; [`crate::triage3`] sorts the classes.

use std::io::{self, Read, Write};
use std::sync::OnceLock;

use openssl::pkey::PKey;
use openssl::ssl::{
    HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;

use super::diff::{
    ours_client, ours_server, patch_session_id, rustls_client, rustls_server, Outcome, Side,
};
use super::server_identity;

/// What the three engines did with one input, when they do not all agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement3 {
    /// Which engines were compared.
    pub side: Side,
    /// Ours.
    pub ours: Outcome,
    /// rustls.
    pub rustls: Outcome,
    /// OpenSSL.
    pub openssl: Outcome,
}

impl Disagreement3 {
    /// The class string triage patterns match:
    /// `side | ours | rustls | openssl`.
    pub fn class(&self) -> String {
        format!(
            "{} | ours: {} | rustls: {} | openssl: {}",
            self.side.name(),
            self.ours.label(),
            self.rustls.label(),
            self.openssl.label()
        )
    }

    /// The engine that stands alone, if exactly one does: "ours",
    /// "rustls" or "openssl".
    pub fn odd_one(&self) -> Option<&'static str> {
        let (o, r, s) = (
            accepts(&self.ours),
            accepts(&self.rustls),
            accepts(&self.openssl),
        );
        match (o == r, o == s, r == s) {
            (true, false, false) => Some("openssl"),
            (false, true, false) => Some("rustls"),
            (false, false, true) => Some("ours"),
            _ => None,
        }
    }
}

fn accepts(o: &Outcome) -> bool {
    matches!(o, Outcome::Accept | Outcome::Retry)
}

/// An in-memory transport: reads hand out `input` (then "would block"),
/// writes are kept.
#[derive(Debug, Default)]
struct Pipe {
    input: Vec<u8>,
    at: usize,
    output: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = self.input.get(self.at..).unwrap_or_default();
        if rest.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn alpn_wire() -> &'static [u8] {
    b"\x02h2\x08http/1.1"
}

fn common(builder: &mut SslContextBuilder) {
    builder
        .set_min_proto_version(Some(SslVersion::TLS1_3))
        .expect("min version");
    builder
        .set_max_proto_version(Some(SslVersion::TLS1_3))
        .expect("max version");
    builder
        .set_ciphersuites(
            "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
        )
        .expect("suites");
    builder
        .set_groups_list("X25519:P-256:P-384")
        .expect("groups");
    // No tickets, no session cache: one handshake per input.
    builder.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::OFF);
    builder.set_options(openssl::ssl::SslOptions::NO_TICKET);
}

fn server_context() -> &'static SslContext {
    static C: OnceLock<SslContext> = OnceLock::new();
    C.get_or_init(|| {
        let (cert, key) = server_identity();
        let mut b = SslContext::builder(SslMethod::tls_server()).expect("context");
        common(&mut b);
        b.set_certificate(&X509::from_der(cert).expect("certificate"))
            .expect("set certificate");
        b.set_private_key(&PKey::private_key_from_der(key).expect("key"))
            .expect("set key");
        // No protocol in common is fatal (no_application_protocol), as
        // in ours and rustls (RFC 7301 §3.2).
        b.set_alpn_select_callback(|_, client| {
            openssl::ssl::select_next_proto(alpn_wire(), client)
                .ok_or(openssl::ssl::AlpnError::ALERT_FATAL)
        });
        b.set_num_tickets(0).expect("tickets");
        b.build()
    })
}

fn client_context() -> &'static SslContext {
    static C: OnceLock<SslContext> = OnceLock::new();
    C.get_or_init(|| {
        let mut b = SslContext::builder(SslMethod::tls_client()).expect("context");
        common(&mut b);
        // The client never gets to the certificate (encrypted under keys
        // the input cannot know), like the others.
        b.set_verify(SslVerifyMode::NONE);
        b.set_alpn_protos(alpn_wire()).expect("alpn");
        b.build()
    })
}

/// The first OpenSSL error on the queue, or the I/O error, as a label.
fn error_label<S>(e: &HandshakeError<S>) -> String {
    match e {
        HandshakeError::SetupFailure(s) => format!("setup: {s}"),
        HandshakeError::Failure(mid) | HandshakeError::WouldBlock(mid) => {
            let err = mid.error();
            match err.ssl_error().and_then(|s| s.errors().first()) {
                Some(first) => first.reason().unwrap_or("unknown").to_string(),
                None => format!("{err}"),
            }
        }
    }
}

fn server_outcome(out: &[u8]) -> Outcome {
    match out.get(..1).zip(out.get(5)) {
        Some(([22], 2)) => match out.get(11..43) {
            Some(r) if r == tls_core::internal::msgs::handshake::HRR_RANDOM => Outcome::Retry,
            _ => Outcome::Accept,
        },
        _ => Outcome::Pending,
    }
}

/// OpenSSL's server fed `input`.
pub fn openssl_server(input: &[u8]) -> Outcome {
    let ssl = Ssl::new(server_context()).expect("ssl");
    let pipe = Pipe {
        input: input.to_vec(),
        ..Pipe::default()
    };
    match ssl.accept(pipe) {
        Ok(s) => server_outcome(&s.get_ref().output),
        Err(HandshakeError::WouldBlock(mid)) => server_outcome(&mid.get_ref().output),
        Err(e) => Outcome::Reject(error_label(&e)),
    }
}

/// OpenSSL's client, having sent its ClientHello, fed `input` as the
/// server (its session id echo rewritten to the client's).
pub fn openssl_client(input: &[u8]) -> Outcome {
    let mut ssl = Ssl::new(client_context()).expect("ssl");
    ssl.set_hostname("localhost").expect("sni");
    let mid = match ssl.connect(Pipe::default()) {
        Err(HandshakeError::WouldBlock(mid)) => mid,
        Ok(_) => return Outcome::Reject("connected on nothing".into()),
        Err(e) => return Outcome::Reject(error_label(&e)),
    };
    let hello = mid.get_ref().output.clone();
    let sid = hello
        .get(43)
        .and_then(|&n| hello.get(44..44 + usize::from(n)))
        .unwrap_or_default()
        .to_vec();
    let input = patch_session_id(input, &sid);
    let mut mid = mid;
    mid.get_mut().input = input.clone();
    match mid.handshake() {
        Ok(_) => Outcome::Accept,
        Err(HandshakeError::WouldBlock(_)) if input.is_empty() => Outcome::Pending,
        Err(HandshakeError::WouldBlock(_)) => Outcome::Accept,
        Err(e) => Outcome::Reject(error_label(&e)),
    }
}

/// Feeds `input` to the three engines of `side`; the outcomes when they do
/// not all agree on accept-versus-reject.
pub fn compare3(side: Side, input: &[u8]) -> Option<Disagreement3> {
    let (ours, rustls, openssl) = match side {
        Side::Server => (
            ours_server(input),
            rustls_server(input),
            openssl_server(input),
        ),
        Side::Client => (
            ours_client(input),
            rustls_client(input),
            openssl_client(input),
        ),
    };
    let all_same = accepts(&ours) == accepts(&rustls) && accepts(&rustls) == accepts(&openssl);
    (!all_same).then_some(Disagreement3 {
        side,
        ours,
        rustls,
        openssl,
    })
}
