//! Replays the differential harness's triaged disagreements, checked in as
//! `replay:` lines in fuzz/DISAGREEMENTS.md, against our engine and rustls:
//! every case must still be a disagreement of its documented class (or, for
//! a bug we fixed, must now agree). The harness itself is the fuzz crate's
//! (`fuzz/src/diff.rs`, `fuzz/src/triage.rs`), compiled in here as is.

// The fuzz crate's three-way modules (its `three-way` feature, OpenSSL) are
// left out here: this crate has no such feature.
#[allow(dead_code, unexpected_cfgs)]
#[path = "../../fuzz/src/lib.rs"]
mod fuzzlib;

use fuzzlib::{diff, triage};

fn unhex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

#[test]
fn triaged_disagreements_replay() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/DISAGREEMENTS.md");
    let text = std::fs::read_to_string(path).expect("fuzz/DISAGREEMENTS.md");
    let mut cases = 0;
    for line in text.lines() {
        let Some(rest) = line.trim().trim_matches('`').strip_prefix("replay: ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(expect), Some(hex)) = (parts.next(), parts.next()) else {
            panic!("bad replay line: {line}");
        };
        let data = unhex(hex);
        let (side, input) = diff::split_input(&data).expect("mode byte");
        let got = diff::compare(side, input);
        match (expect, got) {
            ("agree", None) => {}
            ("agree", Some(d)) => panic!("fixed case disagrees again: {} ({hex})", d.class()),
            (id, Some(d)) => assert_eq!(
                triage::classify(&d, input),
                Some(id),
                "{} ({hex})",
                d.class()
            ),
            (id, None) => panic!("{id}: engines now agree on {hex}; update DISAGREEMENTS.md"),
        }
        cases += 1;
    }
    assert!(cases > 0, "no replay lines found");
}
