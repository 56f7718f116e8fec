//! Replays differential inputs: `diff_replay FILE...` prints, for each, both
//! engines' outcomes, and for a disagreement its triage id (or "UNTRIAGED")
//! and a minimized input (hex, mode byte first) that keeps the same class.
//! Minimizing keeps the exact class string, so the reduced case shows the
//! same pair of outcomes.

use tls_core_fuzz::{diff, triage};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn main() {
    for path in std::env::args_os().skip(1) {
        let data = std::fs::read(&path).expect("read input");
        println!("== {}", path.to_string_lossy());
        let Some((side, input)) = diff::split_input(&data) else {
            continue;
        };
        let Some(d) = diff::compare(side, input) else {
            println!("agree");
            continue;
        };
        let class = d.class();
        println!("class: {class}");
        println!(
            "triage: {}",
            triage::classify(&d, input).unwrap_or("UNTRIAGED")
        );
        let mode = data[0];
        let keep = |cand: &[u8]| diff::compare(side, cand).is_some_and(|d| d.class() == class);
        // Drop whole hello extensions first (lengths fixed up), then bytes.
        let mut start = input.to_vec();
        for t in (0..=0xffffu16).filter(|t| *t < 64 || *t == 0xff01) {
            if let Some(c) = triage::without_ext(&start, t) {
                if keep(&c) {
                    start = c;
                }
            }
        }
        let min = diff::minimize(&start, keep);
        println!(
            "minimized ({} -> {} bytes): {:02x}{}",
            input.len(),
            min.len(),
            mode & 1,
            hex(&min)
        );
    }
}
