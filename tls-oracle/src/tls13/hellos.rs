//! The hellos: the ClientHello's own rules, the HelloRetryRequest and the
//! second ClientHello, the ServerHello against the offer (both versions:
//! a ServerHello without supported_versions hands over to TLS 1.2).

use tls_core::internal::msgs::enums::{ExtensionType, ProtocolVersion};
use tls_core::internal::msgs::handshake::{ClientHello, HelloRetryRequest, ServerHello};
use tls_core::internal::observe;
use tls_core::internal::record::join::RawHandshake;
use tls_core::keylog as labels;

use super::{key_change, ClientStep, ServerStep, Tls13, C2S, S2C};
use crate::capture::Dir;
use crate::extensions::{self, Carrier};
use crate::session::{Shared, Version};

impl Tls13 {
    pub(super) fn hello_retry(
        &mut self,
        s: &mut Shared<'_>,
        hrr: HelloRetryRequest,
        raw: &RawHandshake,
    ) {
        let name = "HelloRetryRequest";
        if self.hrr.is_some() {
            s.flag(S2C, name, "a second HelloRetryRequest", "RFC 8446 §4.1.4");
        }
        let Some(ch) = s.ch.clone() else { return };
        if !ch.cipher_suites.contains(&hrr.cipher_suite) {
            s.flag(
                S2C,
                name,
                "cipher suite the client did not offer",
                "RFC 8446 §4.1.4",
            );
        }
        if hrr.session_id != ch.session_id {
            s.flag(
                S2C,
                name,
                "legacy_session_id_echo differs from the ClientHello's",
                "RFC 8446 §4.1.4",
            );
        }
        if hrr.supported_version() != Some(ProtocolVersion::Tls13) {
            s.flag(
                S2C,
                name,
                "supported_versions does not select TLS 1.3",
                "RFC 8446 §4.1.4",
            );
        }
        if let Some(group) = hrr.selected_group() {
            if !ch.supported_groups().is_some_and(|g| g.contains(&group)) {
                s.flag(
                    S2C,
                    name,
                    format!("selects {group:?}, not in supported_groups"),
                    "RFC 8446 §4.2.8",
                );
            }
            if ch
                .key_shares()
                .is_some_and(|k| k.iter().any(|e| e.group == group))
            {
                s.flag(
                    S2C,
                    name,
                    format!("asks for {group:?}, for which the ClientHello has a share"),
                    "RFC 8446 §4.2.8",
                );
            }
        }
        offered_and_allowed(s, S2C, Carrier::HelloRetryRequest, raw.body(), name);
        // The transcript restarts with message_hash(ClientHello1) (§4.4.1).
        if let Some((hash, _)) = observe::suite_params(hrr.cipher_suite) {
            s.hash = Some(hash);
            let digest = hash.hash(&s.transcript);
            let len = u8::try_from(digest.as_ref().len()).unwrap_or(0);
            let mut t = vec![254, 0, 0, len];
            t.extend_from_slice(digest.as_ref());
            t.extend_from_slice(&raw.encoded);
            s.transcript = t;
        }
        self.hrr = Some(hrr);
        self.client = ClientStep::SecondHello;
    }

    pub(super) fn second_hello(&mut self, s: &mut Shared<'_>, ch2: &ClientHello) {
        let name = "ClientHello (after HelloRetryRequest)";
        let (Some(ch), Some(hrr)) = (s.ch.clone(), self.hrr.clone()) else {
            return;
        };
        if ch2.random != ch.random
            || ch2.cipher_suites != ch.cipher_suites
            || ch2.session_id != ch.session_id
        {
            s.flag(
                C2S,
                name,
                "random, session id or cipher suites changed",
                "RFC 8446 §4.1.2",
            );
        }
        if let Some(group) = hrr.selected_group() {
            let shares: Vec<_> = ch2
                .key_shares()
                .unwrap_or_default()
                .iter()
                .map(|e| e.group)
                .collect();
            if shares != [group] {
                s.flag(
                    C2S,
                    name,
                    format!("key shares {shares:?}, not exactly one for {group:?}"),
                    "RFC 8446 §4.1.2",
                );
            }
        }
        if let Some(cookie) = hrr.cookie() {
            if ch2.cookie() != Some(cookie) {
                s.flag(
                    C2S,
                    name,
                    "does not echo the HelloRetryRequest's cookie",
                    "RFC 8446 §4.2.2",
                );
            }
        }
        if ch2.has(ExtensionType::EarlyData) {
            s.flag(
                C2S,
                name,
                "early_data after a HelloRetryRequest",
                "RFC 8446 §4.2.10",
            );
        }
    }

    pub(super) fn server_hello(&mut self, s: &mut Shared<'_>, sh: ServerHello, raw: &RawHandshake) {
        let name = "ServerHello";
        let Some(ch) = s.ch.clone() else { return };
        if !ch.cipher_suites.contains(&sh.cipher_suite) {
            s.flag(
                S2C,
                name,
                format!("{:?} was not offered", sh.cipher_suite),
                "RFC 8446 §4.1.3",
            );
        }
        if sh.compression_method != 0 {
            s.flag(S2C, name, "compression", "RFC 8446 §4.1.3");
        }
        s.server_random = Some(sh.random);
        s.suite = Some(sh.cipher_suite);
        let types = extensions::types(Carrier::ServerHello, raw.body()).unwrap_or_default();
        for t in &types {
            // RFC 5746: the SCSV in the suites offers renegotiation_info.
            if !s.offered.contains(t) {
                s.flag(
                    S2C,
                    name,
                    format!(
                        "extension {} the client did not offer",
                        extensions::name(*t)
                    ),
                    "RFC 8446 §4.2",
                );
            }
        }
        let Some(version) = sh.supported_version() else {
            // TLS 1.2 (the only older version we know).
            if sh.legacy_version != 0x0303 {
                s.flag(
                    S2C,
                    name,
                    format!("version {:#06x} is below TLS 1.2", sh.legacy_version),
                    "RFC 8996",
                );
            }
            if self.hrr.is_some() {
                s.flag(
                    S2C,
                    name,
                    "TLS 1.2 after a HelloRetryRequest",
                    "RFC 8446 §4.1.4",
                );
            }
            s.hash = observe::suite_params(sh.cipher_suite).map(|(h, _)| h);
            s.transcript.extend_from_slice(&raw.encoded);
            s.version = Some(Version::Tls12);
            s.sh = Some(sh);
            return;
        };
        if !ch
            .supported_versions()
            .is_some_and(|v| v.contains(&version))
            || version != ProtocolVersion::Tls13
        {
            s.flag(
                S2C,
                name,
                format!("supported_versions selects {version:?}, not an offered TLS 1.3"),
                "RFC 8446 §4.2.1",
            );
        }
        if sh.legacy_version != 0x0303 {
            s.flag(S2C, name, "legacy_version is not 0x0303", "RFC 8446 §4.1.3");
        }
        if sh.session_id != ch.session_id {
            s.flag(
                S2C,
                name,
                "legacy_session_id_echo differs from the ClientHello's",
                "RFC 8446 §4.1.3",
            );
        }
        for p in extensions::table_problems(Carrier::ServerHello, &types) {
            s.flag(S2C, name, p, "RFC 8446 §4.2");
        }
        match sh.key_share() {
            Some(share) => {
                let wanted = self
                    .hrr
                    .as_ref()
                    .and_then(HelloRetryRequest::selected_group);
                let ok = match wanted {
                    Some(g) => share.group == g,
                    None => ch
                        .key_shares()
                        .is_some_and(|k| k.iter().any(|e| e.group == share.group)),
                };
                if !ok {
                    s.flag(
                        S2C,
                        name,
                        format!(
                            "key share for {:?}, which the client did not send",
                            share.group
                        ),
                        "RFC 8446 §4.2.8",
                    );
                }
            }
            None if sh.pre_shared_key().is_none() => {
                s.flag(
                    S2C,
                    name,
                    "neither key_share nor pre_shared_key",
                    "RFC 8446 §4.1.3",
                );
            }
            None => {}
        }
        if let Some(chosen) = sh.pre_shared_key() {
            let offered = ch.pre_shared_key().map_or(0, |p| p.identities.len());
            if usize::from(chosen) >= offered {
                s.flag(
                    S2C,
                    name,
                    format!("selected_identity {chosen} of {offered} offered"),
                    "RFC 8446 §4.2.11",
                );
            }
            self.psk = true;
        }
        s.version = Some(Version::Tls13);
        s.hash = observe::suite_params(sh.cipher_suite).map(|(h, _)| h);
        s.transcript.extend_from_slice(&raw.encoded);
        s.sh = Some(sh);
        self.server_hs = key_change(s, S2C, labels::SERVER_HANDSHAKE_TRAFFIC_SECRET);
        self.client_hs = key_change(s, C2S, labels::CLIENT_HANDSHAKE_TRAFFIC_SECRET);
        self.server = ServerStep::EncryptedExtensions;
    }
}

/// The ClientHello's own rules.
pub(super) fn check_client_hello(s: &mut Shared<'_>, ch: &ClientHello, body: &[u8]) {
    let name = "ClientHello";
    let types = extensions::types(Carrier::ClientHello, body).unwrap_or_default();
    s.offered = types.clone();
    if ch.cipher_suites.iter().any(|c| c.to_wire() == 0x00ff) {
        s.offered.push(0xff01);
    }
    for p in extensions::table_problems(Carrier::ClientHello, &types) {
        s.flag(C2S, name, p, "RFC 8446 §4.2");
    }
    if types.contains(&41) && types.last() != Some(&41) {
        s.flag(
            C2S,
            name,
            "pre_shared_key is not the last extension",
            "RFC 8446 §4.2.11",
        );
    }
    if types.contains(&41) && !types.contains(&45) {
        s.flag(
            C2S,
            name,
            "pre_shared_key without psk_key_exchange_modes",
            "RFC 8446 §4.2.9",
        );
    }
    let tls13 = ch
        .supported_versions()
        .is_some_and(|v| v.contains(&ProtocolVersion::Tls13));
    if tls13 {
        if ch.legacy_version != 0x0303 {
            s.flag(C2S, name, "legacy_version is not 0x0303", "RFC 8446 §4.1.2");
        }
        if ch.compression_methods != [0] {
            s.flag(
                C2S,
                name,
                "compression methods other than null alone",
                "RFC 8446 §4.1.2",
            );
        }
    }
    if let (Some(shares), Some(groups)) = (ch.key_shares(), ch.supported_groups()) {
        let mut last = None;
        for share in shares {
            match groups.iter().position(|g| *g == share.group) {
                None => s.flag(
                    C2S,
                    name,
                    format!("key share for {:?}, not in supported_groups", share.group),
                    "RFC 8446 §4.2.8",
                ),
                Some(at) => {
                    if last.is_some_and(|l| at <= l) {
                        s.flag(
                            C2S,
                            name,
                            "key shares not in supported_groups' order, or repeated",
                            "RFC 8446 §4.2.8",
                        );
                    }
                    last = Some(at);
                }
            }
        }
    }
}

/// A server message's extensions: each offered by the client (cookie in a
/// HelloRetryRequest excepted) and allowed in `carrier`.
pub(super) fn offered_and_allowed(
    s: &mut Shared<'_>,
    dir: Dir,
    carrier: Carrier,
    body: &[u8],
    name: &str,
) {
    let types = extensions::types(carrier, body).unwrap_or_default();
    for p in extensions::table_problems(carrier, &types) {
        s.flag(dir, name, p, "RFC 8446 §4.2");
    }
    if s.ch.is_none() {
        return;
    }
    for t in types {
        let cookie = carrier == Carrier::HelloRetryRequest && t == 44;
        if !cookie && !s.offered.contains(&t) {
            s.flag(
                dir,
                name,
                format!("extension {} the client did not offer", extensions::name(t)),
                "RFC 8446 §4.2",
            );
        }
    }
}
