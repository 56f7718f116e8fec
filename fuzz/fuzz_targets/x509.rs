//! Certificate parsing and path validation. Input: a mode byte, then
//! length-prefixed DER pieces (u16 length each): the trust anchor(s) (the
//! mode's top bits say how many, 1..=2), then the end-entity, then
//! intermediates. Verification runs at the fixed time for "localhost" (or
//! an IP, or no name) with server or client usage, under the default
//! budget, and must come back (never panic, never hang).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_core::x509::{verify_chain, Budget, KeyUsage, ServerName, TrustAnchor, TrustAnchors};
use tls_core_fuzz::{split_pieces, FIXED_NOW};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let pieces = split_pieces(rest);
    let n_anchors = usize::from(mode >> 6).clamp(1, 2);
    if pieces.len() < n_anchors + 1 {
        // Still exercise the parsers on what there is.
        for p in &pieces {
            let _ = TrustAnchor::from_der(p);
        }
        return;
    }
    let mut anchors = TrustAnchors::new();
    for p in &pieces[..n_anchors] {
        let _ = anchors.add_der(p);
    }
    let ee = pieces[n_anchors];
    let intermediates: Vec<Vec<u8>> = pieces[n_anchors + 1..].iter().map(|p| p.to_vec()).collect();
    let usage = if mode & 1 == 0 {
        KeyUsage::ServerAuth
    } else {
        KeyUsage::ClientAuth
    };
    let name = match (mode >> 1) & 3 {
        0 | 1 => ServerName::parse("localhost").ok(),
        2 => ServerName::parse("127.0.0.1").ok(),
        _ => None,
    };
    let _ = verify_chain(
        &anchors,
        ee,
        &intermediates,
        usage,
        name.as_ref(),
        FIXED_NOW,
        &Budget::default(),
    );
});
