//! stunnel's `options = [-]NAME` lines: OpenSSL's SSL_OP_* flags, one a
//! line, a dash clearing it. Each name of stunnel 5.68's list (`stunnel
//! -options`) is applied, accepted as restating tls-tunnel's policy or as
//! having nothing to act on (a notice at start), or refused with the reason.

use tls_core::ProtocolVersion;

use super::super::Global;
use super::options::note;
use super::{Loc, Section};

/// `options` values that only restate tls-tunnel's fixed policy: SSLv2/3 and
/// TLS below 1.2 are never spoken, there is no compression, every ECDHE key
/// is fresh (and there is no DHE), the server's suite order always wins,
/// there is no renegotiation and there are no CBC suites to pad.
const POLICY_OPTIONS: [(&str, &str); 12] = [
    ("NO_SSLv2", OLD_VERSIONS),
    ("NO_SSLv3", OLD_VERSIONS),
    ("NO_TLSv1", OLD_VERSIONS),
    ("NO_TLSv1_1", OLD_VERSIONS),
    ("NO_COMPRESSION", "TLS compression is never used"),
    ("SINGLE_ECDH_USE", FRESH_KEYS),
    ("SINGLE_DH_USE", FRESH_KEYS),
    (
        "CIPHER_SERVER_PREFERENCE",
        "the server's order of suites always wins",
    ),
    ("NO_RENEGOTIATION", NO_RENEGOTIATION),
    ("NO_SESSION_RESUMPTION_ON_RENEGOTIATION", NO_RENEGOTIATION),
    (
        "DONT_INSERT_EMPTY_FRAGMENTS",
        "there are no CBC suites to protect with empty fragments",
    ),
    ("NO_DTLSv1", "tls-tunnel speaks no DTLS"),
];

const OLD_VERSIONS: &str = "tls-tunnel speaks TLS 1.2 and 1.3 only";
const FRESH_KEYS: &str = "every ECDHE key is used once, and there is no DHE";
const NO_RENEGOTIATION: &str = "tls-tunnel never renegotiates";

const OLD_PEERS: &str = "a workaround for old or broken peers that tls-tunnel does not need \
                         (OpenSSL 1.1 and later ignore most of them too)";
const DTLS_ONLY: &str = "a DTLS option: tls-tunnel speaks TLS over TCP";

/// `options` that have nothing to act on in tls-tunnel, set or cleared:
/// accepted with a notice, with the reason.
const INERT_OPTIONS: [(&str, &str); 25] = [
    ("MICROSOFT_SESS_ID_BUG", OLD_PEERS),
    ("NETSCAPE_CHALLENGE_BUG", OLD_PEERS),
    ("NETSCAPE_REUSE_CIPHER_CHANGE_BUG", OLD_PEERS),
    ("SSLREF2_REUSE_CERT_TYPE_BUG", OLD_PEERS),
    ("MICROSOFT_BIG_SSLV3_BUFFER", OLD_PEERS),
    ("MSIE_SSLV2_RSA_PADDING", OLD_PEERS),
    ("SSLEAY_080_CLIENT_DH_BUG", OLD_PEERS),
    ("TLS_D5_BUG", OLD_PEERS),
    ("TLS_BLOCK_PADDING_BUG", OLD_PEERS),
    ("NETSCAPE_CA_DN_BUG", OLD_PEERS),
    ("NETSCAPE_DEMO_CIPHER_CHANGE_BUG", OLD_PEERS),
    ("EPHEMERAL_RSA", OLD_PEERS),
    ("PKCS1_CHECK_1", OLD_PEERS),
    ("PKCS1_CHECK_2", OLD_PEERS),
    ("SAFARI_ECDHE_ECDSA_BUG", OLD_PEERS),
    ("CRYPTOPRO_TLSEXT_BUG", OLD_PEERS),
    ("TLSEXT_PADDING", OLD_PEERS),
    ("NO_QUERY_MTU", DTLS_ONLY),
    ("COOKIE_EXCHANGE", DTLS_ONLY),
    ("CISCO_ANYCONNECT", DTLS_ONLY),
    ("NO_DTLSv1_2", DTLS_ONLY),
    (
        "ENABLE_MIDDLEBOX_COMPAT",
        "TLS 1.3 middlebox compatibility (RFC 8446 appendix D.4) is always on",
    ),
    (
        "NO_ENCRYPT_THEN_MAC",
        "encrypt-then-MAC concerns CBC suites, which tls-tunnel does not have",
    ),
    (
        "PRIORITIZE_CHACHA",
        "the suite is picked in tls-tunnel's own order of preference",
    ),
    (
        "ENABLE_KTLS",
        "TLS records are processed in tls-tunnel, not offloaded to the kernel",
    ),
];

/// `options` that would weaken the policy: refused when set, and their
/// clearing (`options = -X`) accepted as a restatement.
const WEAKENING_OPTIONS: [(&str, &str); 9] = [
    ("ALLOW_CLIENT_RENEGOTIATION", "tls-tunnel never renegotiates"),
    ("ALLOW_UNSAFE_LEGACY_RENEGOTIATION", "tls-tunnel never renegotiates and requires secure renegotiation support from TLS 1.2 peers"),
    ("UNSAFE_LEGACY_RENEGOTIATION", "tls-tunnel never renegotiates and requires secure renegotiation support from TLS 1.2 peers"),
    ("LEGACY_SERVER_CONNECT", "tls-tunnel requires secure renegotiation support from TLS 1.2 servers"),
    ("IGNORE_UNEXPECTED_EOF", "a connection closed without close_notify is reported as truncated"),
    ("NO_EXTENDED_MASTER_SECRET", "TLS 1.2 without the extended master secret is refused"),
    ("ALLOW_NO_DHE_KEX", "every TLS 1.3 handshake uses (EC)DHE"),
    ("NO_ANTI_REPLAY", "tls-tunnel accepts no 0-RTT data to replay"),
    ("TLS_ROLLBACK_BUG", "version rollback checks always apply"),
];

/// Applies one `options = [-]NAME` line (stunnel takes one option a line;
/// a dash clears it).
pub(super) fn apply(
    global: &mut Global,
    s: &mut Section,
    value: &str,
    at: Loc,
) -> Result<(), String> {
    let upper = value.to_ascii_uppercase();
    let (clear, name) = match upper.strip_prefix('-') {
        Some(name) => (true, name.trim()),
        None => (false, upper.as_str()),
    };
    let policy = POLICY_OPTIONS
        .iter()
        .find(|(o, _)| o.eq_ignore_ascii_case(name));
    let weakening = WEAKENING_OPTIONS
        .iter()
        .find(|(o, _)| o.eq_ignore_ascii_case(name));
    let inert = INERT_OPTIONS
        .iter()
        .find(|(o, _)| o.eq_ignore_ascii_case(name));
    match (clear, name) {
        (_, _) if inert.is_some() => {
            note(global, "options", value, inert.map_or("", |(_, why)| why))
        }
        (true, "ALL") => note(
            global,
            "options",
            value,
            "tls-tunnel applies no workarounds for bugs of old peers",
        ),
        (false, "NO_TICKET") => s.no_ticket = Some(at),
        (true, "NO_TICKET") => s.no_ticket = None,
        (false, "NO_TLSV1_2") => s.no_versions.push((ProtocolVersion::Tls12, at)),
        (false, "NO_TLSV1_3") => s.no_versions.push((ProtocolVersion::Tls13, at)),
        (true, "NO_TLSV1_2") => s.no_versions.retain(|(v, _)| *v != ProtocolVersion::Tls12),
        (true, "NO_TLSV1_3") => s.no_versions.retain(|(v, _)| *v != ProtocolVersion::Tls13),
        (false, _) if policy.is_some() => {
            note(global, "options", value, policy.map_or("", |(_, why)| why))
        }
        (true, _) if weakening.is_some() => {
            note(global, "options", value, "the option is never set")
        }
        (false, "ALL") => note(
            global,
            "options",
            value,
            "workarounds for bugs of old peers tls-tunnel does not need; LEGACY_SERVER_CONNECT \
             among them is not honoured (TLS 1.2 servers must support secure renegotiation)",
        ),
        (false, _) if weakening.is_some() => {
            let why = weakening.map_or("", |(_, why)| why);
            return Err(format!("options = {value}: cannot be honoured ({why})"));
        }
        (true, _) if policy.is_some() => {
            return Err(format!(
                "options = {value}: cannot be honoured: {} is tls-tunnel's fixed policy",
                value.trim_start_matches('-').trim()
            ))
        }
        _ => {
            return Err(format!(
                "options = {value}: unsupported (tls-tunnel accepts NO_TICKET, NO_TLSv1_2, \
                 NO_TLSv1_3, ALL, {} as restating its fixed policy, and the workarounds \
                 OpenSSL no longer needs)",
                POLICY_OPTIONS
                    .iter()
                    .map(|(o, _)| *o)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
    }
    Ok(())
}
