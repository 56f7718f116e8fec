//! The TLS 1.2 rules (RFC 5246 with RFC 8422's ECDHE, RFC 5077 tickets,
//! RFC 7627's extended master secret), after the ServerHello chose it:
//! message order for full and abbreviated handshakes, the ServerKeyExchange
//! and CertificateVerify signatures, Finished values, records protected
//! from each side's ChangeCipherSpec on.

use tls_core::internal::crypto::cert_spki;
use tls_core::internal::msgs::enums::ExtensionType;
use tls_core::internal::msgs::handshake12::Message12;
use tls_core::internal::observe;
use tls_core::internal::record::join::RawHandshake;
use tls_core::internal::record::protect::RecordOpener;
use tls_core::keylog as labels;
use tls_core::SignatureScheme;

use crate::capture::Dir;
use crate::session::{Rules, Shared};

const C2S: Dir = Dir::ClientToServer;
const S2C: Dir = Dir::ServerToClient;
const ORDER: &str = "RFC 5246 §7.3";

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ServerStep {
    /// After the ServerHello: Certificate (full) or the resumption's
    /// NewSessionTicket / ChangeCipherSpec.
    #[default]
    AfterHello,
    StatusOrKeyExchange,
    KeyExchange,
    RequestOrDone,
    Done,
    /// The client's flight.
    WaitClient,
    TicketOrCcs,
    Finished,
    PostHandshake,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum ClientStep {
    #[default]
    Waiting,
    Certificate,
    KeyExchange,
    CertificateVerify,
    Ccs,
    Finished,
    PostHandshake,
}

/// The TLS 1.2 observer.
#[derive(Default)]
pub struct Tls12 {
    server: ServerStep,
    client: ClientStep,
    resumed: bool,
    requested: Option<Vec<SignatureScheme>>,
    server_spki: Option<Vec<u8>>,
    client_spki: Option<Vec<u8>>,
}

impl Rules for Tls12 {
    fn handshake(&mut self, s: &mut Shared<'_>, dir: Dir, raw: RawHandshake) {
        let name = format!("{:?}", raw.typ);
        let msg = match Message12::decode(raw.typ, raw.body()) {
            Ok(m) => m,
            Err(e) => {
                s.flag(dir, &name, format!("does not decode: {e}"), ORDER);
                s.half(dir).stuck = true;
                return;
            }
        };
        use Message12 as M;
        let mut add = true;
        match (dir, msg) {
            (S2C, M::Certificate(chain)) if self.server == ServerStep::AfterHello => {
                match chain.first().map(|leaf| cert_spki(leaf)) {
                    Some(Ok(spki)) => self.server_spki = Some(spki.to_vec()),
                    Some(Err(e)) => s.flag(
                        S2C,
                        &name,
                        format!("end-entity certificate: {e}"),
                        "RFC 5246 §7.4.2",
                    ),
                    None => s.flag(
                        S2C,
                        &name,
                        "empty certificate_list from the server",
                        "RFC 5246 §7.4.2",
                    ),
                }
                self.server = ServerStep::StatusOrKeyExchange;
            }
            (S2C, M::CertificateStatus(_)) if self.server == ServerStep::StatusOrKeyExchange => {
                let asked =
                    s.ch.as_ref()
                        .is_some_and(|ch| ch.has(ExtensionType::StatusRequest));
                if !asked {
                    s.flag(
                        S2C,
                        &name,
                        "CertificateStatus the client did not ask for",
                        "RFC 6066 §8",
                    );
                }
                self.server = ServerStep::KeyExchange;
            }
            (S2C, M::ServerKeyExchange(ske))
                if matches!(
                    self.server,
                    ServerStep::StatusOrKeyExchange | ServerStep::KeyExchange
                ) =>
            {
                self.server_key_exchange(s, &ske, &name);
                self.server = ServerStep::RequestOrDone;
            }
            (S2C, M::CertificateRequest(cr)) if self.server == ServerStep::RequestOrDone => {
                self.requested = Some(cr.schemes);
                self.server = ServerStep::Done;
            }
            (S2C, M::ServerHelloDone)
                if matches!(self.server, ServerStep::RequestOrDone | ServerStep::Done) =>
            {
                self.server = ServerStep::WaitClient;
                self.client = if self.requested.is_some() {
                    ClientStep::Certificate
                } else {
                    ClientStep::KeyExchange
                };
            }
            (C2S, M::Certificate(chain)) if self.client == ClientStep::Certificate => {
                self.client_spki = match chain.first().map(|leaf| cert_spki(leaf)) {
                    Some(Ok(spki)) => Some(spki.to_vec()),
                    Some(Err(e)) => {
                        s.flag(
                            C2S,
                            &name,
                            format!("end-entity certificate: {e}"),
                            "RFC 5246 §7.4.6",
                        );
                        None
                    }
                    None => None,
                };
                self.client = ClientStep::KeyExchange;
            }
            (C2S, M::ClientKeyExchange(_)) if self.client == ClientStep::KeyExchange => {
                self.client = if self.client_spki.is_some() {
                    ClientStep::CertificateVerify
                } else {
                    ClientStep::Ccs
                };
            }
            (C2S, M::CertificateVerify(cv)) if self.client == ClientStep::CertificateVerify => {
                if !self
                    .requested
                    .as_ref()
                    .is_some_and(|r| r.contains(&cv.scheme))
                {
                    s.flag(
                        C2S,
                        &name,
                        format!("{:?} was not in the CertificateRequest", cv.scheme),
                        "RFC 5246 §7.4.8",
                    );
                }
                if let Some(spki) = &self.client_spki {
                    s.summary.signatures += 1;
                    if let Err(e) = observe::tls12_check_signature(
                        spki,
                        cv.scheme,
                        &s.transcript,
                        &cv.signature,
                    ) {
                        s.flag(
                            C2S,
                            &name,
                            format!("the signature does not verify ({e})"),
                            "RFC 5246 §7.4.8",
                        );
                    }
                }
                self.client = ClientStep::Ccs;
            }
            (S2C, M::NewSessionTicket(_))
                if (self.server == ServerStep::AfterHello)
                    || self.server == ServerStep::TicketOrCcs =>
            {
                if self.server == ServerStep::AfterHello {
                    self.resumed = true;
                }
                let acked =
                    s.sh.as_ref()
                        .is_some_and(|sh| sh.has(ExtensionType::SessionTicket));
                if !acked {
                    s.flag(
                        S2C,
                        &name,
                        "NewSessionTicket without session_ticket in the ServerHello",
                        "RFC 5077 §3.2",
                    );
                }
                self.server = ServerStep::TicketOrCcs;
            }
            (dir, M::Finished(f))
                if (dir == S2C && self.server == ServerStep::Finished)
                    || (dir == C2S && self.client == ClientStep::Finished) =>
            {
                self.finished(s, dir, &f.verify_data);
                s.transcript.extend_from_slice(&raw.encoded);
                add = false;
            }
            (dir, M::HelloRequest | M::ClientHello(_)) if s.half(dir).finished => {
                s.flag(
                    dir,
                    &name,
                    "renegotiation: not followed by this oracle",
                    "oracle",
                );
                s.half(dir).stuck = true;
                add = false;
            }
            (dir, _) => {
                let step: &dyn std::fmt::Debug = match dir {
                    C2S => &self.client,
                    S2C => &self.server,
                };
                s.out_of_order(dir, &name, step, ORDER);
                add = false;
            }
        }
        if add {
            s.transcript.extend_from_slice(&raw.encoded);
        }
    }

    fn ccs(&mut self, s: &mut Shared<'_>, dir: Dir) {
        let expected = match dir {
            S2C => {
                // A resumption without a new ticket goes straight from the
                // ServerHello to ChangeCipherSpec.
                if self.server == ServerStep::AfterHello {
                    self.resumed = true;
                }
                matches!(
                    self.server,
                    ServerStep::AfterHello | ServerStep::TicketOrCcs
                )
            }
            C2S => self.client == ClientStep::Ccs,
        };
        if !expected || !s.half(dir).joiner.is_empty() {
            s.flag(dir, "ChangeCipherSpec", "not expected here", ORDER);
            s.half(dir).stuck = true;
            return;
        }
        s.half(dir).ccs = true;
        let (Some(suite), Some(cr), Some(sr)) = (s.suite, s.client_random(), s.server_random)
        else {
            return;
        };
        let Some(master) = s.secret(dir, labels::CLIENT_RANDOM) else {
            return;
        };
        match observe::tls12_keys(suite, &master, &cr, &sr) {
            Ok(keys) => {
                let key = match dir {
                    C2S => keys.client_write,
                    S2C => keys.server_write,
                };
                s.half(dir).opener = Some(RecordOpener::tls12(key));
            }
            Err(e) => {
                s.flag(dir, "ChangeCipherSpec", format!("{suite:?}: {e}"), "oracle");
                s.half(dir).stuck = true;
            }
        }
        match dir {
            S2C => self.server = ServerStep::Finished,
            C2S => self.client = ClientStep::Finished,
        }
    }

    fn app_data(&mut self, _s: &mut Shared<'_>, _dir: Dir, _len: usize) {}
}

impl Tls12 {
    fn server_key_exchange(
        &mut self,
        s: &mut Shared<'_>,
        ske: &tls_core::internal::msgs::handshake12::ServerKeyExchange,
        name: &str,
    ) {
        let Some(ch) = s.ch.clone() else { return };
        if !ch
            .supported_groups()
            .is_some_and(|g| g.contains(&ske.group))
        {
            s.flag(
                S2C,
                name,
                format!("{:?} is not in supported_groups", ske.group),
                "RFC 8422 §5.4",
            );
        }
        if let Some(offered) = ch.signature_algorithms() {
            if !offered.contains(&ske.scheme) {
                s.flag(
                    S2C,
                    name,
                    format!("{:?} was not in signature_algorithms", ske.scheme),
                    "RFC 5246 §7.4.1.4.1",
                );
            }
        }
        let (Some(spki), Some(sr)) = (&self.server_spki, s.server_random) else {
            return;
        };
        // client_random || server_random || ServerECDHParams (named curve).
        let mut signed = Vec::with_capacity(64 + 4 + ske.public.len());
        signed.extend_from_slice(&ch.random);
        signed.extend_from_slice(&sr);
        signed.push(3);
        signed.extend_from_slice(&ske.group.to_wire().to_be_bytes());
        signed.push(u8::try_from(ske.public.len()).unwrap_or(0));
        signed.extend_from_slice(&ske.public);
        s.summary.signatures += 1;
        if let Err(e) = observe::tls12_check_signature(spki, ske.scheme, &signed, &ske.signature) {
            s.flag(
                S2C,
                name,
                format!("the signature does not verify ({e})"),
                "RFC 8422 §5.4",
            );
        }
    }

    fn finished(&mut self, s: &mut Shared<'_>, dir: Dir, got: &[u8]) {
        let by_client = dir == C2S;
        if let (Some(suite), Some(hash), Some(cr)) = (s.suite, s.hash, s.client_random()) {
            if let Some(master) = s.keys.secret(&cr, labels::CLIENT_RANDOM) {
                let th = hash.hash(&s.transcript);
                let want = observe::tls12_finished(suite, master, by_client, th.as_ref());
                s.summary.finished += 1;
                if want.as_ref().map(|w| &w[..]) != Some(got) {
                    s.flag(
                        dir,
                        "Finished",
                        "verify_data does not match the transcript",
                        "RFC 5246 §7.4.9",
                    );
                }
            }
        }
        s.half(dir).finished = true;
        match dir {
            S2C => {
                self.server = ServerStep::PostHandshake;
                if self.resumed {
                    self.client = ClientStep::Ccs;
                }
            }
            C2S => {
                self.client = ClientStep::PostHandshake;
                if !self.resumed {
                    self.server = ServerStep::TicketOrCcs;
                }
            }
        }
    }
}
