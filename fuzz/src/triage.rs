//! The triaged disagreement classes (see `fuzz/DISAGREEMENTS.md`). Each is a
//! side, a pair of substrings over our and rustls's outcome labels
//! ([`crate::diff::Outcome::label`]), and a check on the input that pins the
//! cause down (so a pattern cannot hide a different bug with the same
//! errors). The differential fuzz target panics on a disagreement that
//! matches none of them.

use super::diff::{compare, Disagreement, Side};

/// One triaged class.
pub struct Known {
    /// The entry's id in DISAGREEMENTS.md.
    pub id: &'static str,
    /// `server`, `client` or `any`.
    pub side: &'static str,
    /// A substring of our outcome label (`accept`, `retry`, `pending`, or
    /// the error's Debug form); empty matches all.
    pub ours: &'static str,
    /// A substring of rustls's outcome label; empty matches all.
    pub rustls: &'static str,
    /// Must hold for the input.
    pub when: fn(Side, &[u8]) -> bool,
}

/// Every triaged class, first match wins. Keep in step with DISAGREEMENTS.md.
pub const KNOWN: &[Known] = &[
    Known {
        id: "D1",
        side: "any",
        ours: "",
        rustls: "",
        when: incomplete_tail_only,
    },
    Known {
        id: "D2",
        side: "any",
        ours: "accept",
        rustls: "HandshakePayloadTooLarge",
        when: announces_64k_message,
    },
    Known {
        id: "D3",
        side: "server",
        ours: "key share for a group not in supported_groups",
        rustls: "",
        when: |_, _| true,
    },
    Known {
        id: "D4",
        side: "server",
        ours: "accept",
        rustls: "",
        when: |side, input| {
            hello_ext_types(input)
                .into_iter()
                .filter(|t| !PARSED_EXTENSIONS.contains(t))
                .any(|t| agrees_without_ext(side, input, t))
        },
    },
    Known {
        id: "D5",
        side: "server",
        ours: "",
        rustls: "ServerNameMustContainOneHostName",
        when: sni_with_dns_characters_agrees,
    },
    Known {
        id: "D6",
        side: "client",
        ours: "HelloRetryRequest asks for an unusable group",
        rustls: "accept",
        when: |side, input| agrees_without_ext(side, input, 44),
    },
    Known {
        id: "D7",
        side: "client",
        ours: "accept",
        rustls: "got_type: ChangeCipherSpec",
        when: ccs_first,
    },
    Known {
        id: "D8",
        side: "server",
        ours: "Decode(\"server_name",
        rustls: "",
        when: sni_first_entry_only_agrees,
    },
    Known {
        id: "D9",
        side: "client",
        ours: "warning alert in TLS 1.3",
        rustls: "accept",
        when: warning_alert_first,
    },
    Known {
        id: "D10",
        side: "server",
        ours: "padding not zero",
        rustls: "",
        when: |side, input| {
            let zeroed = edit_ext(input, 21, |body| Some(vec![0; body.len()]));
            zeroed.is_some_and(|z| z != input && resolved(side, &z))
        },
    },
    Known {
        id: "D16",
        side: "client",
        ours: "AlertReceived(CloseNotify)",
        rustls: "accept",
        // The server's first record is a close_notify: both stop; we report
        // a handshake the peer ended, rustls an orderly close.
        when: |_, input| matches!(input, [21, 3, _, 0, 2, _, 0, ..]),
    },
    Known {
        id: "D15",
        side: "any",
        ours: "handshake message type not expected",
        rustls: "accept",
        when: ends_in_partial_handshake_message,
    },
    Known {
        id: "D14",
        side: "any",
        ours: "record version is not TLS",
        rustls: "",
        when: |side, input| {
            let fixed = with_record_versions_0303(input);
            fixed != input && resolved(side, &fixed)
        },
    },
    Known {
        id: "D11",
        side: "server",
        ours: "",
        rustls: "retry",
        when: agrees_with_groups_covered_by_shares,
    },
    Known {
        id: "D12",
        side: "server",
        ours: "",
        rustls: "",
        when: |side, input| {
            [50, 28, 49]
                .iter()
                .any(|t| agrees_without_ext(side, input, *t))
        },
    },
];

/// rustls asks for another key share (it takes the group the client lists
/// first, we take ours first) where we go on and fail a later check:
/// with supported_groups rewritten to exactly the groups the key_share
/// covers, no retry is needed and the engines agree.
fn agrees_with_groups_covered_by_shares(side: Side, input: &[u8]) -> bool {
    let Some(groups) = key_share_groups(input) else {
        return false;
    };
    if groups.is_empty() {
        return false;
    }
    let fixed = edit_ext(input, 10, |_| {
        let mut out = ((groups.len() * 2) as u16).to_be_bytes().to_vec();
        for g in &groups {
            out.extend_from_slice(&g.to_be_bytes());
        }
        Some(out)
    });
    fixed.is_some_and(|f| f != input && resolved(side, &f))
}

/// The groups of the key_share entries in the opening ClientHello.
fn key_share_groups(input: &[u8]) -> Option<Vec<u16>> {
    let found = std::cell::RefCell::new(None);
    edit_ext(input, 51, |body| {
        let mut groups = Vec::new();
        let mut q = 2;
        while let Some(h) = body.get(q..q + 4) {
            groups.push(u16::from_be_bytes([h[0], h[1]]));
            q += 4 + usize::from(u16::from_be_bytes([h[2], h[3]]));
        }
        *found.borrow_mut() = Some(groups);
        Some(body.to_vec())
    })?;
    found.into_inner()
}

/// The input opens with unprotected alert records of level warning (1),
/// and without them the engines agree.
fn warning_alert_first(side: Side, input: &[u8]) -> bool {
    let mut rest = input;
    let mut alerts = 0;
    while let [21, 3, _, 0, 2, 1, _, after @ ..] = rest {
        rest = after;
        alerts += 1;
    }
    alerts > 0 && (rest.is_empty() || resolved(side, rest))
}

/// Cutting the server_name list down to its first entry (type, u16 length,
/// name) makes the engines agree: rustls ignores whatever follows it.
fn sni_first_entry_only_agrees(side: Side, input: &[u8]) -> bool {
    let fixed = edit_ext(input, 0, |body| {
        let n = usize::from(u16::from_be_bytes([*body.get(3)?, *body.get(4)?]));
        let entry = body.get(2..5 + n)?;
        let mut out = (entry.len() as u16).to_be_bytes().to_vec();
        out.extend_from_slice(entry);
        Some(out)
    });
    fixed.is_some_and(|f| f != input && resolved(side, &f))
}

/// ClientHello extensions whose bodies we parse; every other type's body
/// is kept opaque or ignored (RFC 8446 §4.2: a server ignores what it does
/// not act on), e.g. status_request (5), signed_certificate_timestamp (18),
/// client_/server_certificate_type (19, 20), compress_certificate (27),
/// ticket_request (58), encrypted_client_hello (0xfe0d).
pub const PARSED_EXTENSIONS: [u16; 20] = [
    0, 10, 11, 13, 16, 21, 23, 28, 35, 41, 42, 43, 44, 45, 47, 49, 50, 51, 0xff01, 1,
];

/// The extension types in the opening hello, in order.
pub fn hello_ext_types(input: &[u8]) -> Vec<u16> {
    let mut types = Vec::new();
    if let Some(block) = hello_ext_block(input) {
        let mut q = 0;
        while let Some(h) = block.get(q..q + 4) {
            types.push(u16::from_be_bytes([h[0], h[1]]));
            q += 4 + usize::from(u16::from_be_bytes([h[2], h[3]]));
        }
    }
    types
}

/// The extensions block of the hello opening the input's first record.
fn hello_ext_block(input: &[u8]) -> Option<&[u8]> {
    let rec_len = usize::from(u16::from_be_bytes([*input.get(3)?, *input.get(4)?]));
    let record = input.get(5..5 + rec_len)?;
    let typ = *record.first()?;
    let msg_len =
        u32::from_be_bytes([0, *record.get(1)?, *record.get(2)?, *record.get(3)?]) as usize;
    let body = record.get(4..4 + msg_len)?;
    let mut p = 2 + 32;
    p += 1 + usize::from(*body.get(p)?);
    match typ {
        1 => {
            p += 2 + usize::from(u16::from_be_bytes([*body.get(p)?, *body.get(p + 1)?]));
            p += 1 + usize::from(*body.get(p)?);
        }
        2 => p += 3,
        _ => return None,
    }
    let block_len = usize::from(u16::from_be_bytes([*body.get(p)?, *body.get(p + 1)?]));
    body.get(p + 2..p + 2 + block_len)
}

/// The input opens with an unprotected change_cipher_spec record (body
/// `01`), and without it the engines agree.
fn ccs_first(side: Side, input: &[u8]) -> bool {
    match input {
        [20, 3, _, 0, 1, 1, rest @ ..] => rest.is_empty() || resolved(side, rest),
        _ => false,
    }
}

/// The id of the triaged class `d` (found for `input`) belongs to, if any.
pub fn classify(d: &Disagreement, input: &[u8]) -> Option<&'static str> {
    let ours = d.ours.label();
    let rustls = d.rustls.label();
    KNOWN
        .iter()
        .find(|k| {
            (k.side == "any" || k.side == d.side.name())
                && ours.contains(k.ours)
                && rustls.contains(k.rustls)
                && (k.when)(d.side, input)
        })
        .map(|k| k.id)
}

/// After an edit that removes one cause: the engines agree, or what is
/// left is another triaged class. (Every edit shrinks or changes the
/// input, so this terminates.)
fn resolved(side: Side, input: &[u8]) -> bool {
    match compare(side, input) {
        None => true,
        Some(d) => classify(&d, input).is_some(),
    }
}

/// The input with every record header's legacy_record_version set to
/// 0x0303 (headers cut short included).
fn with_record_versions_0303(input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let mut at = 0;
    while at < out.len() {
        for i in 1..=2 {
            if let Some(b) = out.get_mut(at + i) {
                *b = 3;
            }
        }
        let Some(h) = out.get(at + 3..at + 5) else {
            break;
        };
        at += 5 + usize::from(u16::from_be_bytes([h[0], h[1]]));
    }
    out
}

/// Where the last complete record of `input` ends.
pub fn complete_records_end(input: &[u8]) -> usize {
    let mut at = 0;
    while let Some(h) = input.get(at..at + 5) {
        let end = at + 5 + usize::from(u16::from_be_bytes([h[3], h[4]]));
        if end > input.len() {
            break;
        }
        at = end;
    }
    at
}

/// The input ends in an incomplete record (a partial header, or a header
/// whose body has not all arrived), and without that tail both engines
/// agree: the only difference is how early each judges a record it has not
/// yet received whole.
fn incomplete_tail_only(side: Side, input: &[u8]) -> bool {
    let end = complete_records_end(input);
    end < input.len() && resolved(side, &input[..end])
}

/// The plaintext handshake bytes of the input's complete records end in a
/// message not all there (1 to 3 bytes of its header, or a body shorter
/// than announced): we judge a message's type on its first byte, rustls
/// waits for the whole message.
fn ends_in_partial_handshake_message(_side: Side, input: &[u8]) -> bool {
    let end = complete_records_end(input);
    let mut joined = Vec::new();
    let mut at = 0;
    while let Some(h) = input.get(at..at + 5) {
        let next = at + 5 + usize::from(u16::from_be_bytes([h[3], h[4]]));
        if next > end {
            break;
        }
        if h[0] == 22 {
            joined.extend_from_slice(input.get(at + 5..next).unwrap_or_default());
        }
        at = next;
    }
    let mut p = 0;
    while let Some(h) = joined.get(p..p + 4) {
        p += 4 + u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
    }
    p != joined.len()
}

/// Some handshake message header in the input's handshake records
/// announces exactly 65536 bytes of body (on the client side, also after
/// the session id echo is rewritten to the 32 bytes both clients send).
fn announces_64k_message(side: Side, input: &[u8]) -> bool {
    let patched = match side {
        Side::Client => super::diff::patch_session_id(input, &[0; 32]),
        Side::Server => input.to_vec(),
    };
    announces_64k(input) || announces_64k(&patched)
}

fn announces_64k(input: &[u8]) -> bool {
    let mut joined = Vec::new();
    let mut at = 0;
    while let Some(h) = input.get(at..at + 5) {
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        let body = input
            .get(at + 5..(at + 5 + len).min(input.len()))
            .unwrap_or_default();
        if h[0] == 22 {
            joined.extend_from_slice(body);
        }
        at += 5 + len;
    }
    let mut p = 0;
    while let Some(h) = joined.get(p..p + 4) {
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        if len == 65536 {
            return true;
        }
        p += 4 + len;
    }
    false
}

/// Replacing the server_name extension by one naming `localhost` (a valid
/// DNS name) makes the engines agree: the host name's syntax was the cause.
fn sni_with_dns_characters_agrees(side: Side, input: &[u8]) -> bool {
    let fixed = edit_ext(input, 0, |_| {
        // server_name_list<2> { name_type host_name(0), host_name<2> }
        let name = b"localhost";
        let mut out = ((name.len() + 3) as u16).to_be_bytes().to_vec();
        out.push(0);
        out.extend_from_slice(&(name.len() as u16).to_be_bytes());
        out.extend_from_slice(name);
        Some(out)
    });
    fixed.is_some_and(|f| f != input && resolved(side, &f))
}

/// Removing every extension of type `ext` from the hello in the input's
/// first record makes the engines agree.
fn agrees_without_ext(side: Side, input: &[u8], ext: u16) -> bool {
    match without_ext(input, ext) {
        Some(stripped) => resolved(side, &stripped),
        None => false,
    }
}

/// The input with every extension of type `ext` dropped from the
/// ClientHello or ServerHello that opens its first record (record, message
/// and block lengths fixed up); `None` if it has no such hello or extension.
pub fn without_ext(input: &[u8], ext: u16) -> Option<Vec<u8>> {
    edit_ext(input, ext, |_| None)
}

/// The input with every extension of type `ext` in its opening hello
/// replaced by `edit(body)` (dropped on `None`), lengths fixed up.
pub fn edit_ext(
    input: &[u8],
    ext: u16,
    edit: impl Fn(&[u8]) -> Option<Vec<u8>>,
) -> Option<Vec<u8>> {
    let rec_len = usize::from(u16::from_be_bytes([*input.get(3)?, *input.get(4)?]));
    let record = input.get(5..5 + rec_len)?;
    let typ = *record.first()?;
    let msg_len =
        u32::from_be_bytes([0, *record.get(1)?, *record.get(2)?, *record.get(3)?]) as usize;
    let body = record.get(4..4 + msg_len)?;
    // version, random, session id, then suites+compression (CH) or suite+compression (SH).
    let mut p = 2 + 32;
    p += 1 + usize::from(*body.get(p)?);
    match typ {
        1 => {
            p += 2 + usize::from(u16::from_be_bytes([*body.get(p)?, *body.get(p + 1)?]));
            p += 1 + usize::from(*body.get(p)?);
        }
        2 => p += 3,
        _ => return None,
    }
    let block_len = usize::from(u16::from_be_bytes([*body.get(p)?, *body.get(p + 1)?]));
    let block = body.get(p + 2..p + 2 + block_len)?;
    let mut kept = Vec::new();
    let mut q = 0;
    let mut removed = false;
    while let Some(h) = block.get(q..q + 4) {
        let t = u16::from_be_bytes([h[0], h[1]]);
        let n = usize::from(u16::from_be_bytes([h[2], h[3]]));
        let whole = block.get(q..q + 4 + n)?;
        if t == ext {
            removed = true;
            if let Some(new) = edit(&whole[4..]) {
                kept.extend_from_slice(&t.to_be_bytes());
                kept.extend_from_slice(&(new.len() as u16).to_be_bytes());
                kept.extend_from_slice(&new);
            }
        } else {
            kept.extend_from_slice(whole);
        }
        q += 4 + n;
    }
    if !removed || q != block.len() {
        return None;
    }
    let mut new_body = body[..p].to_vec();
    new_body.extend_from_slice(&(kept.len() as u16).to_be_bytes());
    new_body.extend_from_slice(&kept);
    new_body.extend_from_slice(&body[p + 2 + block_len..]);
    let mut new_record = vec![typ];
    new_record.extend_from_slice(&(new_body.len() as u32).to_be_bytes()[1..]);
    new_record.extend_from_slice(&new_body);
    new_record.extend_from_slice(&record[4 + msg_len..]);
    let mut out = input[..3].to_vec();
    out.extend_from_slice(&(new_record.len() as u16).to_be_bytes());
    out.extend_from_slice(&new_record);
    out.extend_from_slice(&input[5 + rec_len..]);
    Some(out)
}
