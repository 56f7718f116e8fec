//! bssl_shim's command line, as BoGo's runner passes it.
//!
//! Flags come as `-name` or `-name value`. A flag may carry a prefix that
//! limits it to one connection: `-on-initial-` (the first connection) or
//! `-on-resume-` (every later one); without a prefix it applies to all. The
//! command line is therefore parsed once per kind of connection, each parse
//! keeping the unprefixed flags and its own prefixed ones.
//!
//! A flag we do not implement is reported as [`ParseError::Unimplemented`],
//! which the shim turns into exit code 89: the runner then counts the test as
//! unimplemented rather than failed.

use std::fmt;

use crate::policy::Policy;

/// Which connection of a run the options are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The first connection.
    Initial,
    /// The second and later connections (resumption attempts).
    Resume,
}

/// Why the command line could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A flag (or flag value) this shim does not implement: exit 89.
    Unimplemented(String),
    /// A malformed command line (missing or bad value).
    Bad(String),
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Unimplemented(what) => write!(f, "unimplemented: {what}"),
            ParseError::Bad(what) => write!(f, "bad command line: {what}"),
        }
    }
}

/// The settings for one connection.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The runner's port on the loopback address.
    pub port: u16,
    /// The id the shim sends first, so the runner can match the connection.
    pub shim_id: u64,
    /// Connect to ::1 rather than 127.0.0.1.
    pub ipv6: bool,
    /// Act as the TLS server.
    pub server: bool,
    /// Resumption attempts after the first connection.
    pub resume_count: u32,
    /// Our certificate chain (PEM): the default credential's.
    pub cert_file: Option<String>,
    /// Our private key (PEM): the default credential's.
    pub key_file: Option<String>,
    /// The credentials added with `-new-x509-credential`, in preference
    /// order (the default credential, if any, comes after them).
    pub credentials: Vec<Credential>,
    /// The signature schemes the default credential may sign with, most
    /// preferred first (empty: the engine's own).
    pub signing_prefs: Vec<u16>,
    /// The credential the handshake must have used: its index in
    /// `credentials`, or -1 for the default one.
    pub expect_selected_credential: Option<i32>,
    /// The runner's root certificate (BoringSSL's shim only loads it; its
    /// verify callback accepts any chain unless `-verify-fail`).
    pub trust_cert: Option<String>,
    /// Server: ask for a client certificate.
    pub verify_peer: bool,
    /// Server: refuse a client without a certificate.
    pub require_any_client_cert: bool,
    /// Our certificate verifier refuses the peer's chain.
    pub verify_fail: bool,
    /// BoringSSL's custom verify callback rather than its X.509 one (they
    /// differ in the alert a refusal sends).
    pub use_custom_verify_callback: bool,
    /// Client: ALPN protocols to offer.
    pub advertise_alpn: Vec<Vec<u8>>,
    /// Server: the ALPN protocol to select.
    pub select_alpn: Option<Vec<u8>>,
    /// Server: negotiate no ALPN protocol.
    pub decline_alpn: bool,
    /// The ALPN protocol the handshake must agree on (none when unset).
    pub expect_alpn: Option<Vec<u8>>,
    /// Bytes of keying material to export and send after the handshake.
    pub export_keying_material: usize,
    /// The exporter label.
    pub export_label: Vec<u8>,
    /// The exporter context.
    pub export_context: Vec<u8>,
    /// Pass the context to the exporter (TLS 1.2 distinguishes none from empty).
    pub use_export_context: bool,
    /// Key-exchange groups, by wire value, most preferred first.
    pub curves: Vec<u16>,
    /// The lowest protocol version (wire value).
    pub min_version: Option<u16>,
    /// The highest protocol version (wire value).
    pub max_version: Option<u16>,
    /// Disable TLS 1.2.
    pub no_tls12: bool,
    /// Disable TLS 1.3.
    pub no_tls13: bool,
    /// The version the handshake must agree on.
    pub expect_version: Option<u16>,
    /// The group the handshake must use.
    pub expect_curve_id: Option<u16>,
    /// Send "hello" right after the handshake.
    pub shim_writes_first: bool,
    /// Send close_notify after the handshake instead of echoing.
    pub shim_shuts_down: bool,
    /// Exchange close_notify with the peer at the end.
    pub check_close_notify: bool,
    /// Call the handshake again once it is done: it must neither read nor
    /// write.
    pub no_op_extra_handshake: bool,
    /// Peek at received data (twice) before reading it: the peeks and the
    /// read must return the same bytes.
    pub peek_then_read: bool,
    /// Send a KeyUpdate before each echo.
    pub key_update: bool,
    /// A resumption attempt must do a full handshake.
    pub expect_session_miss: bool,
    /// Client: expect no new session (ticket) from the server.
    pub expect_no_session: bool,
    /// Client: the SNI name to send.
    pub host_name: Option<String>,
    /// Server: the SNI name the client must have sent.
    pub expect_server_name: Option<String>,
    /// The handshake must (true) or must not (false) have had a HelloRetryRequest.
    pub expect_hrr: Option<bool>,
    /// A PEM file holding the certificate chain the peer must have sent.
    pub expect_peer_cert_file: Option<String>,
    /// The signature scheme the peer must have signed with.
    pub expect_peer_signature_algorithm: Option<u16>,
    /// The signature schemes we accept from the peer.
    pub verify_prefs: Vec<u16>,
    /// A compliance policy (`-fips-202205`, `-wpa-202304`).
    pub policy: Option<Policy>,
    /// Server: the OCSP response to staple with the default credential.
    pub ocsp_response: Option<Vec<u8>>,
    /// Client: ask the server for a stapled OCSP response.
    pub enable_ocsp_stapling: bool,
    /// Client: the OCSP response the connection must report.
    pub expect_ocsp_response: Option<Vec<u8>>,
    /// BoringSSL's legacy OCSP callback: on a client it runs after the
    /// certificate is verified, on a server when the client asks for OCSP.
    pub use_ocsp_callback: bool,
    /// Server: the callback, not the configuration, supplies the response.
    pub set_ocsp_in_callback: bool,
    /// Server: the callback declines to staple.
    pub decline_ocsp_callback: bool,
    /// The callback fails the handshake.
    pub fail_ocsp_callback: bool,
}

/// A credential added with `-new-x509-credential`; the credential flags
/// that follow it (`-cert-file`, `-key-file`, `-ocsp-response`) set its
/// fields rather than the default credential's, as in BoringSSL's shim.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Credential {
    /// The certificate chain (PEM).
    pub cert_file: Option<String>,
    /// The private key (PEM).
    pub key_file: Option<String>,
    /// The OCSP response stapled with this certificate.
    pub ocsp_response: Option<Vec<u8>>,
    /// The signature schemes this credential may sign with.
    pub signing_prefs: Vec<u16>,
}

/// Flags that take no value and change nothing for this engine, with why.
const NO_OPS: &[&str] = &[
    // BoringSSL's non-blocking BIO mode: our engine is sans-IO and already
    // takes input in whatever pieces it arrives.
    "-async",
    // The handshake runs on the first read or write: ours always does.
    "-implicit-handshake",
    // TLS 1.0 and 1.1 are never offered or accepted.
    "-no-tls1",
    "-no-tls11",
    "-no-ssl3",
    // A successful handshake implies the verification succeeded: with
    // -verify-fail the handshake itself fails.
    "-expect-verify-result",
    // TLS 1.2 always uses the extended master secret here (and TLS 1.3 has it
    // by construction), so a completed handshake has it.
    "-expect-extended-master-secret",
    // We never offer 0-RTT.
    "-expect-no-offer-early-data",
    // BoringSSL's DoS-protection callback, which lets every ClientHello
    // through (-fail-ddos-callback, which refuses, is not implemented).
    "-install-ddos-callback",
    // BoringSSL's server supplies its certificate from the early
    // (ClientHello) callback rather than its configuration: ours always
    // comes from the engine's ClientHello-time resolver (`config::Credentials`).
    "-use-early-callback",
    // BoringSSL's legacy way of supplying the client certificate (a callback
    // rather than the config): the certificate sent is the same.
    "-use-old-client-cert-callback",
];

/// Parses the command line (without the program name) for one phase.
pub fn parse(args: &[String], phase: Phase) -> Result<Options, ParseError> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(raw) = it.next() {
        let (flag, applies) = strip_prefix(raw, phase)?;
        if NO_OPS.contains(&flag) {
            continue;
        }
        // Flags without a value.
        let switch: Option<&mut bool> = match flag {
            "-ipv6" => Some(&mut o.ipv6),
            "-server" => Some(&mut o.server),
            "-verify-peer" => Some(&mut o.verify_peer),
            "-require-any-client-certificate" => Some(&mut o.require_any_client_cert),
            "-verify-fail" => Some(&mut o.verify_fail),
            "-use-custom-verify-callback" => Some(&mut o.use_custom_verify_callback),
            "-decline-alpn" => Some(&mut o.decline_alpn),
            "-use-export-context" => Some(&mut o.use_export_context),
            "-no-tls12" => Some(&mut o.no_tls12),
            "-no-tls13" => Some(&mut o.no_tls13),
            "-shim-writes-first" => Some(&mut o.shim_writes_first),
            "-shim-shuts-down" => Some(&mut o.shim_shuts_down),
            "-check-close-notify" => Some(&mut o.check_close_notify),
            "-key-update" => Some(&mut o.key_update),
            "-no-op-extra-handshake" => Some(&mut o.no_op_extra_handshake),
            "-peek-then-read" => Some(&mut o.peek_then_read),
            "-expect-session-miss" => Some(&mut o.expect_session_miss),
            "-expect-no-session" => Some(&mut o.expect_no_session),
            "-enable-ocsp-stapling" => Some(&mut o.enable_ocsp_stapling),
            "-use-ocsp-callback" => Some(&mut o.use_ocsp_callback),
            "-set-ocsp-in-callback" => Some(&mut o.set_ocsp_in_callback),
            "-decline-ocsp-callback" => Some(&mut o.decline_ocsp_callback),
            "-fail-ocsp-callback" => Some(&mut o.fail_ocsp_callback),
            _ => None,
        };
        if let Some(field) = switch {
            if applies {
                *field = true;
            }
            continue;
        }
        if matches!(flag, "-expect-hrr" | "-expect-no-hrr") {
            if applies {
                o.expect_hrr = Some(flag == "-expect-hrr");
            }
            continue;
        }
        if let Some(policy) = Policy::from_flag(flag) {
            if applies {
                o.policy = Some(policy);
            }
            continue;
        }
        if flag == "-new-x509-credential" {
            if applies {
                o.credentials.push(Credential::default());
            }
            continue;
        }
        if !takes_value(flag) {
            return Err(ParseError::Unimplemented(flag.to_string()));
        }
        let value = it
            .next()
            .ok_or_else(|| ParseError::Bad(format!("{flag} needs a value")))?;
        if applies {
            set_value(&mut o, flag, value)?;
        }
    }
    if o.require_any_client_cert {
        o.verify_peer = true;
    }
    Ok(o)
}

/// The flag without its connection prefix, and whether it applies to `phase`.
fn strip_prefix(raw: &str, phase: Phase) -> Result<(&str, bool), ParseError> {
    for (prefix, for_phase) in [
        ("-on-initial", Phase::Initial),
        ("-on-resume", Phase::Resume),
    ] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            if rest.starts_with('-') {
                return Ok((rest, phase == for_phase));
            }
        }
    }
    // ECH retries, split handshakes: features this shim does not have.
    for prefix in ["-on-retry-", "-on-shim-", "-on-handshaker-"] {
        if raw.starts_with(prefix) {
            return Err(ParseError::Unimplemented(raw.to_string()));
        }
    }
    Ok((raw, true))
}

/// True for the implemented flags that take a value.
fn takes_value(flag: &str) -> bool {
    matches!(
        flag,
        "-port"
            | "-shim-id"
            | "-resume-count"
            | "-cert-file"
            | "-key-file"
            | "-trust-cert"
            | "-advertise-alpn"
            | "-select-alpn"
            | "-expect-alpn"
            | "-export-keying-material"
            | "-export-label"
            | "-export-context"
            | "-curves"
            | "-min-version"
            | "-max-version"
            | "-expect-version"
            | "-expect-curve-id"
            | "-host-name"
            | "-expect-server-name"
            | "-expect-peer-signature-algorithm"
            | "-verify-prefs"
            | "-ocsp-response"
            | "-expect-ocsp-response"
            | "-expect-selected-credential"
            | "-signing-prefs"
            | "-expect-peer-cert-file"
    )
}

/// Stores the value of a flag that takes one.
fn set_value(o: &mut Options, flag: &str, value: &str) -> Result<(), ParseError> {
    match flag {
        "-port" => o.port = number(flag, value)?,
        "-shim-id" => o.shim_id = number(flag, value)?,
        "-resume-count" => o.resume_count = number(flag, value)?,
        // The credential flags set the last -new-x509-credential, if any.
        "-cert-file" => match o.credentials.last_mut() {
            Some(c) => c.cert_file = Some(value.to_string()),
            None => o.cert_file = Some(value.to_string()),
        },
        "-key-file" => match o.credentials.last_mut() {
            Some(c) => c.key_file = Some(value.to_string()),
            None => o.key_file = Some(value.to_string()),
        },
        "-ocsp-response" => match o.credentials.last_mut() {
            Some(c) => c.ocsp_response = Some(base64(value)?),
            None => o.ocsp_response = Some(base64(value)?),
        },
        "-signing-prefs" => {
            let scheme = number(flag, value)?;
            match o.credentials.last_mut() {
                Some(c) => c.signing_prefs.push(scheme),
                None => o.signing_prefs.push(scheme),
            }
        }
        "-expect-peer-cert-file" => o.expect_peer_cert_file = Some(value.to_string()),
        "-expect-ocsp-response" => o.expect_ocsp_response = Some(base64(value)?),
        "-expect-selected-credential" => o.expect_selected_credential = Some(number(flag, value)?),
        "-trust-cert" => o.trust_cert = Some(value.to_string()),
        "-advertise-alpn" => o.advertise_alpn = alpn_list(value.as_bytes())?,
        "-select-alpn" => o.select_alpn = Some(value.as_bytes().to_vec()),
        "-expect-alpn" => o.expect_alpn = Some(value.as_bytes().to_vec()),
        "-export-keying-material" => o.export_keying_material = number(flag, value)?,
        "-export-label" => o.export_label = value.as_bytes().to_vec(),
        "-export-context" => o.export_context = value.as_bytes().to_vec(),
        "-curves" => o.curves.push(number(flag, value)?),
        "-min-version" => o.min_version = Some(number(flag, value)?),
        "-max-version" => o.max_version = Some(number(flag, value)?),
        "-expect-version" => o.expect_version = Some(number(flag, value)?),
        "-expect-curve-id" => o.expect_curve_id = Some(number(flag, value)?),
        "-host-name" => o.host_name = Some(value.to_string()),
        "-expect-server-name" => o.expect_server_name = Some(value.to_string()),
        "-expect-peer-signature-algorithm" => {
            o.expect_peer_signature_algorithm = Some(number(flag, value)?)
        }
        "-verify-prefs" => o.verify_prefs.push(number(flag, value)?),
        _ => return Err(ParseError::Unimplemented(flag.to_string())),
    }
    Ok(())
}

/// A decimal number that fits `T`.
fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, ParseError> {
    value
        .parse()
        .map_err(|_| ParseError::Bad(format!("{flag}: not a number in range: {value:?}")))
}

/// An ALPN list in wire form: each name preceded by its one-byte length.
fn alpn_list(mut wire: &[u8]) -> Result<Vec<Vec<u8>>, ParseError> {
    let mut names = Vec::new();
    while let Some((&len, rest)) = wire.split_first() {
        let len = usize::from(len);
        let name = rest
            .get(..len)
            .ok_or_else(|| ParseError::Bad("-advertise-alpn: truncated list".into()))?;
        names.push(name.to_vec());
        wire = rest.get(len..).unwrap_or_default();
    }
    Ok(names)
}

/// Standard base64 with padding, as the runner encodes binary flag values.
fn base64(text: &str) -> Result<Vec<u8>, ParseError> {
    let bad = || ParseError::Bad(format!("not base64: {text:?}"));
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(bad()),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((acc >> bits) & 0xff) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefixes_limit_a_flag_to_its_connection() {
        let a = args(&[
            "-port",
            "4",
            "-on-resume-expect-session-miss",
            "-on-initial-curves",
            "29",
        ]);
        let initial = parse(&a, Phase::Initial).unwrap();
        let resume = parse(&a, Phase::Resume).unwrap();
        assert_eq!(initial.port, 4);
        assert_eq!(resume.port, 4);
        assert!(!initial.expect_session_miss && resume.expect_session_miss);
        assert_eq!(initial.curves, vec![29]);
        assert!(resume.curves.is_empty());
    }

    #[test]
    fn an_unknown_flag_is_unimplemented_even_for_the_other_connection() {
        let a = args(&["-on-resume-enable-early-data"]);
        assert_eq!(
            parse(&a, Phase::Initial).unwrap_err(),
            ParseError::Unimplemented("-enable-early-data".into())
        );
    }

    #[test]
    fn credential_flags_set_the_last_new_credential() {
        let a = args(&[
            "-cert-file",
            "default.pem",
            "-new-x509-credential",
            "-cert-file",
            "first.pem",
            "-ocsp-response",
            "AQID",
            "-signing-prefs",
            "1027",
            "-on-resume-new-x509-credential",
            "-on-resume-key-file",
            "second.pem",
            "-expect-selected-credential",
            "-1",
        ]);
        let initial = parse(&a, Phase::Initial).unwrap();
        let resume = parse(&a, Phase::Resume).unwrap();
        assert_eq!(initial.cert_file.as_deref(), Some("default.pem"));
        assert_eq!(initial.ocsp_response, None);
        assert_eq!(initial.credentials.len(), 1);
        assert_eq!(
            initial.credentials[0].cert_file.as_deref(),
            Some("first.pem")
        );
        assert_eq!(initial.credentials[0].ocsp_response, Some(vec![1, 2, 3]));
        assert_eq!(initial.credentials[0].signing_prefs, vec![0x0403]);
        assert!(initial.signing_prefs.is_empty());
        assert_eq!(resume.credentials.len(), 2);
        assert_eq!(
            resume.credentials[1].key_file.as_deref(),
            Some("second.pem")
        );
        assert_eq!(resume.expect_selected_credential, Some(-1));
    }

    #[test]
    fn alpn_lists_and_base64_decode() {
        let a = args(&["-advertise-alpn", "\x03foo\x02hi", "-ocsp-response", "AQID"]);
        let o = parse(&a, Phase::Initial).unwrap();
        assert_eq!(o.advertise_alpn, vec![b"foo".to_vec(), b"hi".to_vec()]);
        assert_eq!(o.ocsp_response, Some(vec![1, 2, 3]));
        assert!(parse(&args(&["-advertise-alpn", "\x05ab"]), Phase::Initial).is_err());
    }
}
