//! The three-way harness's tool.
//!
//! - `diff3_survey FILE...` prints each class of three-way disagreement
//!   with how many inputs fell in it, which engine stood alone, its triage
//!   id (or "UNTRIAGED") and a minimized input for it (hex, mode byte
//!   first) that keeps the class.
//! - `diff3_survey --replay fuzz/DISAGREEMENTS3.md` checks every `replay:`
//!   line there still lands in its class; exits 1 if one does not.

use std::collections::BTreeMap;

use tls_core_fuzz::{diff, diff3, triage3};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

fn replay(path: &str) -> std::process::ExitCode {
    let text = std::fs::read_to_string(path).expect("read the replay file");
    let (mut ok, mut bad) = (0, 0);
    for line in text.lines() {
        let Some(rest) = line.trim().trim_matches('`').strip_prefix("replay: ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let (Some(id), Some(data)) = (parts.next(), parts.next().and_then(unhex)) else {
            println!("bad replay line: {line}");
            bad += 1;
            continue;
        };
        let got = diff::split_input(&data)
            .and_then(|(side, input)| diff3::compare3(side, input).map(|d| (d, input.to_vec())));
        let landed = match &got {
            Some((d, input)) => triage3::classify(d, input),
            None => Some("agree"),
        };
        if landed == Some(id) {
            ok += 1;
        } else {
            bad += 1;
            let class = got.map(|(d, _)| d.class()).unwrap_or_default();
            println!("{id}: now {landed:?} ({class})");
        }
    }
    println!("three-way replay: {ok} in their class, {bad} not");
    if bad == 0 && ok > 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, path] = args.as_slice() {
        if flag == "--replay" {
            return replay(path);
        }
    }
    let mut classes: BTreeMap<String, (usize, Vec<u8>, &'static str, &'static str)> =
        BTreeMap::new();
    let mut total = 0;
    for path in &args {
        let Ok(data) = std::fs::read(path) else {
            continue;
        };
        let Some((side, input)) = diff::split_input(&data) else {
            continue;
        };
        total += 1;
        let Some(d) = diff3::compare3(side, input) else {
            continue;
        };
        let id = triage3::classify(&d, input).unwrap_or("UNTRIAGED");
        let e = classes.entry(d.class()).or_insert((
            0,
            data.clone(),
            d.odd_one().unwrap_or("none"),
            id,
        ));
        e.0 += 1;
        if data.len() < e.1.len() {
            e.1 = data.clone();
        }
    }
    println!("{total} inputs, {} classes", classes.len());
    for (class, (n, smallest, odd, id)) in classes {
        let Some((side, input)) = diff::split_input(&smallest) else {
            continue;
        };
        let keep = |c: &[u8]| diff3::compare3(side, c).is_some_and(|d| d.class() == class);
        let min = diff::minimize(input, keep);
        println!(
            "{n:6}  [{id}] odd one: {odd}  {class}\n        {:02x}{}",
            smallest[0] & 1,
            hex(&min)
        );
    }
    std::process::ExitCode::SUCCESS
}
