//! The TLS 1.3 rules (RFC 8446), and the hellos of both versions: message
//! order per side, what each message may carry, the ServerHello against the
//! offer, Finished and CertificateVerify values, key changes on record
//! boundaries, KeyUpdate.

use tls_core::internal::crypto::cert_spki;
use tls_core::internal::msgs::enums::ExtensionType;
use tls_core::internal::msgs::handshake::{
    CertificatePayload, HandshakeMessage, HelloRetryRequest, KeyUpdateRequest,
};
use tls_core::internal::observe;
use tls_core::internal::record::join::RawHandshake;
use tls_core::internal::record::protect::RecordOpener;
use tls_core::keylog as labels;

use crate::capture::Dir;
use crate::extensions::{self, Carrier};
use crate::session::{Rules, Shared};

mod hellos;
use hellos::{check_client_hello, offered_and_allowed};

const C2S: Dir = Dir::ClientToServer;
const S2C: Dir = Dir::ServerToClient;

/// Where the server is in its handshake.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ServerStep {
    #[default]
    Hello,
    EncryptedExtensions,
    CertificateOrRequest,
    Certificate,
    CertificateVerify,
    Finished,
    PostHandshake,
}

/// Where the client is in its handshake.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ClientStep {
    #[default]
    Hello,
    /// Its hello is sent; the server speaks.
    Waiting,
    SecondHello,
    Certificate,
    CertificateVerify,
    Finished,
    PostHandshake,
}

/// The TLS 1.3 observer.
#[derive(Default)]
pub struct Tls13 {
    server: ServerStep,
    client: ClientStep,
    hrr: Option<HelloRetryRequest>,
    psk: bool,
    /// The signature schemes of the main handshake's CertificateRequest.
    requested: Option<Vec<tls_core::SignatureScheme>>,
    post_handshake_request: bool,
    server_spki: Option<Vec<u8>>,
    client_spki: Option<Vec<u8>>,
    client_hs: Option<Vec<u8>>,
    server_hs: Option<Vec<u8>>,
}

const ORDER: &str = "RFC 8446 §4";

impl Rules for Tls13 {
    fn handshake(&mut self, s: &mut Shared<'_>, dir: Dir, raw: RawHandshake) {
        let name = format!("{:?}", raw.typ);
        let msg = match HandshakeMessage::decode(raw.typ, raw.body()) {
            Ok(m) => m,
            Err(e) => {
                s.flag(dir, &name, format!("does not decode: {e}"), ORDER);
                s.half(dir).stuck = true;
                return;
            }
        };
        use HandshakeMessage as M;
        match (dir, msg) {
            (C2S, M::ClientHello(ch)) if self.client == ClientStep::Hello => {
                check_client_hello(s, &ch, raw.body());
                s.transcript.extend_from_slice(&raw.encoded);
                s.ch = Some(ch);
                self.client = ClientStep::Waiting;
            }
            (C2S, M::ClientHello(ch)) if self.client == ClientStep::SecondHello => {
                self.second_hello(s, &ch);
                s.transcript.extend_from_slice(&raw.encoded);
                self.client = ClientStep::Waiting;
            }
            (S2C, M::HelloRetryRequest(hrr)) if self.server == ServerStep::Hello => {
                self.hello_retry(s, hrr, &raw);
            }
            (S2C, M::ServerHello(sh)) if self.server == ServerStep::Hello => {
                self.server_hello(s, sh, &raw);
            }
            (S2C, M::EncryptedExtensions(_)) if self.server == ServerStep::EncryptedExtensions => {
                offered_and_allowed(s, S2C, Carrier::EncryptedExtensions, raw.body(), &name);
                if let (Some(HandshakeMessage::EncryptedExtensions(ee)), Some(ch)) =
                    (HandshakeMessage::decode(raw.typ, raw.body()).ok(), &s.ch)
                {
                    if let Some(p) = ee.alpn() {
                        if !ch
                            .alpn()
                            .is_some_and(|offered| offered.iter().any(|o| o == p))
                        {
                            s.flag(
                                S2C,
                                &name,
                                "ALPN protocol the client did not offer",
                                "RFC 7301 §3.2",
                            );
                        }
                    }
                }
                s.transcript.extend_from_slice(&raw.encoded);
                self.server = if self.psk {
                    ServerStep::Finished
                } else {
                    ServerStep::CertificateOrRequest
                };
            }
            (S2C, M::CertificateRequest(cr)) if self.server == ServerStep::CertificateOrRequest => {
                if !cr.context.is_empty() {
                    s.flag(
                        S2C,
                        &name,
                        "non-empty context in the main handshake",
                        "RFC 8446 §4.3.2",
                    );
                }
                match cr.signature_algorithms() {
                    Some(schemes) => self.requested = Some(schemes.to_vec()),
                    None => {
                        s.flag(S2C, &name, "no signature_algorithms", "RFC 8446 §4.3.2");
                        self.requested = Some(Vec::new());
                    }
                }
                let types =
                    extensions::types(Carrier::CertificateRequest, raw.body()).unwrap_or_default();
                for p in extensions::table_problems(Carrier::CertificateRequest, &types) {
                    s.flag(S2C, &name, p, "RFC 8446 §4.2");
                }
                s.transcript.extend_from_slice(&raw.encoded);
                self.server = ServerStep::Certificate;
            }
            (S2C, M::Certificate(c))
                if matches!(
                    self.server,
                    ServerStep::CertificateOrRequest | ServerStep::Certificate
                ) =>
            {
                self.server_spki = certificate(s, S2C, &c, &raw, true);
                s.transcript.extend_from_slice(&raw.encoded);
                self.server = ServerStep::CertificateVerify;
            }
            (S2C, M::CertificateVerify(cv)) if self.server == ServerStep::CertificateVerify => {
                let offered =
                    s.ch.as_ref()
                        .and_then(|ch| ch.signature_algorithms().map(<[_]>::to_vec));
                verify_signature(s, S2C, &self.server_spki, offered.as_deref(), &cv, true);
                s.transcript.extend_from_slice(&raw.encoded);
                self.server = ServerStep::Finished;
            }
            (S2C, M::Finished(f)) if self.server == ServerStep::Finished => {
                check_finished(s, S2C, self.server_hs.as_deref(), &f.verify_data);
                s.transcript.extend_from_slice(&raw.encoded);
                key_change(s, S2C, labels::SERVER_TRAFFIC_SECRET_0);
                s.server.finished = true;
                self.server = ServerStep::PostHandshake;
                self.client = if self.requested.is_some() {
                    ClientStep::Certificate
                } else {
                    ClientStep::Finished
                };
            }
            (C2S, M::Certificate(c)) if self.client == ClientStep::Certificate => {
                self.client_spki = certificate(s, C2S, &c, &raw, false);
                s.transcript.extend_from_slice(&raw.encoded);
                self.client = if self.client_spki.is_some() {
                    ClientStep::CertificateVerify
                } else {
                    ClientStep::Finished
                };
            }
            (C2S, M::CertificateVerify(cv)) if self.client == ClientStep::CertificateVerify => {
                let requested = self.requested.clone();
                verify_signature(s, C2S, &self.client_spki, requested.as_deref(), &cv, false);
                s.transcript.extend_from_slice(&raw.encoded);
                self.client = ClientStep::Finished;
            }
            (C2S, M::Finished(f)) if self.client == ClientStep::Finished => {
                check_finished(s, C2S, self.client_hs.as_deref(), &f.verify_data);
                s.transcript.extend_from_slice(&raw.encoded);
                key_change(s, C2S, labels::CLIENT_TRAFFIC_SECRET_0);
                s.client.finished = true;
                self.client = ClientStep::PostHandshake;
            }
            (S2C, M::NewSessionTicket(nst)) if self.server == ServerStep::PostHandshake => {
                if nst.lifetime > 604_800 {
                    s.flag(
                        S2C,
                        &name,
                        format!("ticket_lifetime {} s is over 7 days", nst.lifetime),
                        "RFC 8446 §4.6.1",
                    );
                }
                let types =
                    extensions::types(Carrier::NewSessionTicket, raw.body()).unwrap_or_default();
                for p in extensions::table_problems(Carrier::NewSessionTicket, &types) {
                    s.flag(S2C, &name, p, "RFC 8446 §4.2");
                }
            }
            (S2C, M::CertificateRequest(_)) if self.server == ServerStep::PostHandshake => {
                let offered =
                    s.ch.as_ref()
                        .is_some_and(|ch| ch.has(ExtensionType::PostHandshakeAuth));
                if !offered {
                    s.flag(S2C, &name, "post-handshake CertificateRequest to a client that did not offer post_handshake_auth", "RFC 8446 §4.6.2");
                }
                self.post_handshake_request = true;
            }
            (C2S, M::Certificate(_) | M::CertificateVerify(_) | M::Finished(_))
                if self.client == ClientStep::PostHandshake && self.post_handshake_request => {}
            (dir, M::KeyUpdate(req))
                if (dir == S2C && self.server == ServerStep::PostHandshake)
                    || (dir == C2S && self.client == ClientStep::PostHandshake) =>
            {
                key_update(s, dir, req);
            }
            (dir, _) => {
                let step: &dyn std::fmt::Debug = match dir {
                    C2S => &self.client,
                    S2C => &self.server,
                };
                s.out_of_order(dir, &name, step, ORDER);
            }
        }
    }

    fn ccs(&mut self, s: &mut Shared<'_>, dir: Dir) {
        // Middlebox compatibility: a dummy ChangeCipherSpec between the
        // first ClientHello and the sender's Finished (§5, appendix D.4).
        if s.half(dir).finished || (dir == C2S && self.client == ClientStep::Hello) {
            s.flag(
                dir,
                "ChangeCipherSpec",
                "outside the handshake",
                "RFC 8446 §5",
            );
        }
    }

    fn app_data(&mut self, _s: &mut Shared<'_>, _dir: Dir, _len: usize) {}
}

/// Certificate rules; returns the end-entity's SubjectPublicKeyInfo.
fn certificate(
    s: &mut Shared<'_>,
    dir: Dir,
    c: &CertificatePayload,
    raw: &RawHandshake,
    by_server: bool,
) -> Option<Vec<u8>> {
    let name = "Certificate";
    if !c.context.is_empty() {
        s.flag(
            dir,
            name,
            "non-empty certificate_request_context in the main handshake",
            "RFC 8446 §4.4.2",
        );
    }
    let types = extensions::types(Carrier::Certificate, raw.body()).unwrap_or_default();
    for p in extensions::table_problems(Carrier::Certificate, &types) {
        s.flag(dir, name, p, "RFC 8446 §4.4.2");
    }
    if by_server && s.ch.is_some() {
        for t in &types {
            if !s.offered.contains(t) {
                s.flag(
                    dir,
                    name,
                    format!(
                        "entry extension {} the client did not offer",
                        extensions::name(*t)
                    ),
                    "RFC 8446 §4.4.2",
                );
            }
        }
    }
    let Some(leaf) = c.entries.first() else {
        if by_server {
            s.flag(
                dir,
                name,
                "the server's certificate_list is empty",
                "RFC 8446 §4.4.2.4",
            );
        }
        return None;
    };
    match cert_spki(&leaf.cert) {
        Ok(spki) => Some(spki.to_vec()),
        Err(e) => {
            s.flag(
                dir,
                name,
                format!("end-entity certificate: {e}"),
                "RFC 8446 §4.4.2",
            );
            None
        }
    }
}

/// CertificateVerify: a scheme the peer offered, a signature that verifies.
fn verify_signature(
    s: &mut Shared<'_>,
    dir: Dir,
    spki: &Option<Vec<u8>>,
    offered: Option<&[tls_core::SignatureScheme]>,
    cv: &tls_core::internal::msgs::handshake::CertificateVerify,
    by_server: bool,
) {
    let name = "CertificateVerify";
    if !offered.is_some_and(|o| o.contains(&cv.scheme)) {
        s.flag(
            dir,
            name,
            format!("{:?} was not offered in signature_algorithms", cv.scheme),
            "RFC 8446 §4.4.3",
        );
    }
    let (Some(spki), Some(hash)) = (spki, s.transcript_hash()) else {
        return;
    };
    s.summary.signatures += 1;
    if let Err(e) = observe::tls13_check_signature(spki, cv.scheme, by_server, &hash, &cv.signature)
    {
        s.flag(
            dir,
            name,
            format!("the signature does not verify ({e})"),
            "RFC 8446 §4.4.3",
        );
    }
}

/// Finished: HMAC of the transcript under the sender's finished key.
fn check_finished(s: &mut Shared<'_>, dir: Dir, base: Option<&[u8]>, got: &[u8]) {
    let (Some(base), Some(hash), Some(th)) = (base, s.hash, s.transcript_hash()) else {
        return;
    };
    let want = observe::tls13_finished(hash, base, &th);
    s.summary.finished += 1;
    if want.as_ref() != got {
        s.flag(
            dir,
            "Finished",
            "verify_data does not match the transcript",
            "RFC 8446 §4.4.4",
        );
    }
}

/// `dir`'s sender moves to the secret logged as `label`; a message may not
/// continue across the change. Returns the secret.
fn key_change(s: &mut Shared<'_>, dir: Dir, label: &str) -> Option<Vec<u8>> {
    if !s.half(dir).joiner.is_empty() {
        s.flag(
            dir,
            label,
            "a handshake message spans a key change",
            "RFC 8446 §5.1",
        );
    }
    let secret = s.secret(dir, label)?;
    let suite = s.suite?;
    match observe::tls13_key(suite, &secret) {
        Ok(key) => {
            let half = s.half(dir);
            half.opener = Some(RecordOpener::new(key));
            half.app_secret = Some(secret.clone());
            Some(secret)
        }
        Err(e) => {
            s.flag(dir, label, format!("unusable secret ({e})"), "NSS key log");
            s.half(dir).stuck = true;
            None
        }
    }
}

/// KeyUpdate: the sender's next records use the next secret.
fn key_update(s: &mut Shared<'_>, dir: Dir, req: KeyUpdateRequest) {
    if !s.half(dir).joiner.is_empty() {
        s.flag(
            dir,
            "KeyUpdate",
            "a handshake message spans a key change",
            "RFC 8446 §5.1",
        );
    }
    let (Some(hash), Some(suite)) = (s.hash, s.suite) else {
        return;
    };
    let Some(current) = s.half(dir).app_secret.clone() else {
        return;
    };
    let next = observe::tls13_next_secret(hash, &current);
    if let Ok(key) = observe::tls13_key(suite, &next) {
        let half = s.half(dir);
        half.opener = Some(RecordOpener::new(key));
        half.app_secret = Some(next);
        half.update_owed = false;
        half.data_while_owed = false;
    }
    if req == KeyUpdateRequest::Requested {
        let peer = match dir {
            C2S => S2C,
            S2C => C2S,
        };
        s.half(peer).update_owed = true;
    }
}
