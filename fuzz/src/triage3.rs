//! The triaged three-way disagreement classes (see
//! `fuzz/DISAGREEMENTS3.md`): where OpenSSL parts from ours and rustls, or
//! ours and rustls part (then the two-way triage in [`crate::triage`]
//! applies, whatever OpenSSL did). Each class is a side, substrings over the
//! three outcome labels and a check on the input that pins the cause down.

use super::diff::{ours_client, ours_server};
use super::diff::{Disagreement, Outcome, Side};
use super::diff3::{openssl_client, openssl_server, Disagreement3};
use super::triage::{edit_ext, hello_ext_types, without_ext};

/// One triaged class.
pub struct Known3 {
    /// The entry's id in DISAGREEMENTS3.md.
    pub id: &'static str,
    /// `server`, `client` or `any`.
    pub side: &'static str,
    /// Substrings of our, rustls's and OpenSSL's outcome labels; empty matches all.
    pub ours: &'static str,
    /// See `ours`.
    pub rustls: &'static str,
    /// See `ours`.
    pub openssl: &'static str,
    /// Must hold for the input.
    pub when: fn(Side, &[u8]) -> bool,
}

/// Every triaged class, first match wins. Keep in step with DISAGREEMENTS3.md.
pub const KNOWN3: &[Known3] = &[
    Known3 {
        id: "O1",
        side: "client",
        ours: "legacy_version",
        rustls: "",
        openssl: "accept",
        when: |side, input| {
            matches!(input.get(9..11), Some(v) if v != [3, 3])
                && ours_and_openssl_agree(side, &with_server_hello_version_0303(input))
        },
    },
    Known3 {
        id: "O2",
        side: "server",
        ours: "padding not zero",
        rustls: "",
        openssl: "accept",
        // OpenSSL does not look at the padding: it accepts the input with
        // its padding zeroed as well.
        when: |side, input| {
            edit_ext(input, 21, |body| Some(vec![0; body.len()]))
                .is_some_and(|zeroed| zeroed != input && openssl_accepts(side, &zeroed))
        },
    },
    Known3 {
        id: "O3",
        side: "server",
        ours: "psk binder",
        rustls: "",
        openssl: "accept",
        when: |side, input| agree_without_ext(side, input, 41),
    },
    Known3 {
        id: "O4",
        side: "server",
        ours: "server_name is not a host name",
        rustls: "",
        openssl: "accept",
        when: |side, input| agree_without_ext(side, input, 0),
    },
    Known3 {
        id: "O5",
        side: "any",
        ours: "empty handshake record",
        rustls: "",
        openssl: "",
        when: |side, input| {
            // Up to the first zero-length handshake record, OpenSSL goes on
            // and we stop: that record alone splits us.
            first_empty_handshake_record_end(input).is_some_and(|end| {
                let prefix = &input[..end];
                openssl_accepts(side, prefix) && !ours_and_openssl_agree(side, prefix)
            })
        },
    },
    Known3 {
        id: "O6",
        side: "client",
        ours: "handshake message type not expected",
        rustls: "HelloRequest",
        openssl: "accept",
        // A first record of zeros, HelloRequests (the last one may be cut),
        // or one opening with a HelloRequest: OpenSSL skips them, we stop
        // at the first.
        when: |side, input| {
            let len = input
                .get(3..5)
                .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
            let end = 5 + len;
            let first_only = input.get(..3).map(|h| [h, &[0, 4, 0, 0, 0, 0]].concat());
            input.first() == Some(&22)
                && len >= 4
                && (input.get(5..end).is_some_and(|b| b.iter().all(|&x| x == 0))
                    && openssl_accepts(side, &input[..end])
                    && !ours_and_openssl_agree(side, &input[..end])
                    // Or a record opening with one: that HelloRequest alone
                    // splits us the same way.
                    || input.get(5..9) == Some(&[0, 0, 0, 0][..])
                        && first_only.is_some_and(|r| {
                            openssl_accepts(side, &r) && !ours_and_openssl_agree(side, &r)
                        }))
        },
    },
    Known3 {
        id: "O7",
        side: "client",
        ours: "unsolicited extension",
        rustls: "UnsolicitedServerHelloExtension",
        openssl: "accept",
        when: |side, input| {
            hello_ext_types(input)
                .into_iter()
                .any(|t| agree_without_ext(side, input, t))
        },
    },
    Known3 {
        id: "O8",
        side: "server",
        ours: "accept",
        rustls: "accept",
        openssl: "no suitable signature algorithm",
        when: |side, input| agree_without_ext(side, input, 50),
    },
    Known3 {
        id: "O9",
        side: "any",
        ours: "",
        rustls: "InvalidContentType",
        openssl: "accept",
        // The input ends inside a record of an unknown content type: we and
        // rustls refuse at its header, OpenSSL waits for the whole record.
        // With its body completed, OpenSSL refuses it as well.
        when: |side, input| {
            completed_unknown_record(input).is_some_and(|i| ours_and_openssl_agree(side, &i))
        },
    },
    Known3 {
        id: "O10",
        side: "client",
        ours: "unsolicited extension in HelloRetryRequest",
        rustls: "UnknownHelloRetryRequestExtension",
        openssl: "accept",
        when: |side, input| {
            is_hello_retry_request(input)
                && hello_ext_types(input)
                    .into_iter()
                    .any(|t| agree_without_ext(side, input, t))
        },
    },
    Known3 {
        id: "O11",
        side: "client",
        ours: "HelloRetryRequest without TLS 1.3",
        rustls: "",
        openssl: "accept",
        // A HelloRetryRequest (by its random) with no supported_versions.
        when: |side, input| {
            is_hello_retry_request(input)
                && !hello_ext_types(input).contains(&43)
                && openssl_accepts(side, input)
        },
    },
];

/// The input with its last record completed with zeros up to the length its
/// header gives, when that record is cut short and its content type is not
/// one of TLS's four (20-23).
fn completed_unknown_record(input: &[u8]) -> Option<Vec<u8>> {
    let mut at = 0usize;
    while let Some(header) = input.get(at..at + 5) {
        let end = at + 5 + usize::from(u16::from_be_bytes([header[3], header[4]]));
        if end > input.len() {
            if (20..=23).contains(&header[0]) {
                return None;
            }
            let mut out = input.to_vec();
            out.resize(end, 0);
            return Some(out);
        }
        at = end;
    }
    None
}

/// The input opens with a handshake record whose first message is a
/// ServerHello carrying the HelloRetryRequest random.
fn is_hello_retry_request(input: &[u8]) -> bool {
    input.first() == Some(&22)
        && input.get(5) == Some(&2)
        && input.get(11..43) == Some(&tls_core::internal::msgs::handshake::HRR_RANDOM[..])
}

/// Where the input's first zero-length handshake record ends, if whole
/// records lead up to one.
fn first_empty_handshake_record_end(input: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(header) = input.get(at..at + 5) {
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        if header[0] == 22 && len == 0 {
            return Some(at + 5);
        }
        at += 5 + len;
    }
    None
}

/// OpenSSL accepts (or waits on) `input`.
fn openssl_accepts(side: Side, input: &[u8]) -> bool {
    let o = match side {
        Side::Server => openssl_server(input),
        Side::Client => openssl_client(input),
    };
    matches!(o, Outcome::Accept | Outcome::Retry)
}

/// The input with the opening ServerHello's legacy_version set to 0x0303.
fn with_server_hello_version_0303(input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    if let Some(v) = out.get_mut(9..11) {
        v.copy_from_slice(&[3, 3]);
    }
    out
}

/// Without the hello's extension `ty`, ours and OpenSSL agree: that
/// extension is what splits them.
fn agree_without_ext(side: Side, input: &[u8], ty: u16) -> bool {
    without_ext(input, ty).is_some_and(|i| ours_and_openssl_agree(side, &i))
}

/// Ours and OpenSSL agree on accept-versus-reject for `input`.
fn ours_and_openssl_agree(side: Side, input: &[u8]) -> bool {
    let accepts = |o: &Outcome| matches!(o, Outcome::Accept | Outcome::Retry);
    let (ours, openssl) = match side {
        Side::Server => (ours_server(input), openssl_server(input)),
        Side::Client => (ours_client(input), openssl_client(input)),
    };
    accepts(&ours) == accepts(&openssl)
}

/// The triage id of a three-way disagreement, or `None` if it is new.
/// When ours and rustls disagree, the two-way triage decides.
pub fn classify(d: &Disagreement3, input: &[u8]) -> Option<&'static str> {
    let accepts = |o: &super::diff::Outcome| {
        matches!(
            o,
            super::diff::Outcome::Accept | super::diff::Outcome::Retry
        )
    };
    if accepts(&d.ours) != accepts(&d.rustls) {
        let two = Disagreement {
            side: d.side,
            ours: d.ours.clone(),
            rustls: d.rustls.clone(),
        };
        return super::triage::classify(&two, input);
    }
    KNOWN3.iter().find_map(|k| {
        let side_ok = k.side == "any" || k.side == d.side.name();
        (side_ok
            && d.ours.label().contains(k.ours)
            && d.rustls.label().contains(k.rustls)
            && d.openssl.label().contains(k.openssl)
            && (k.when)(d.side, input))
        .then_some(k.id)
    })
}
