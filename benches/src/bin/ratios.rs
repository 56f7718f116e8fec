//! Prints the ours/rustls table from one `cargo bench -p tls-benches` run:
//! criterion's `<target>/criterion/<group>/<ours|ours_in_place|rustls|ring>/new/estimates.json`
//! (mean time per iteration) and `idle_memory.json`.
//!
//!     cargo bench -p tls-benches && cargo run --release -p tls-benches --bin ratios [CRITERION_DIR]
//!
//! Throughput ratios are rustls time / our time (> 1: we are faster); the
//! memory ratio is our bytes / rustls bytes (< 1: we use less). Each bulk
//! group has two rows of ours: `write`/`read`, and "(in place)" for
//! `write_with`/`feed_with` (`ours_in_place`), both against rustls's
//! `write`/`read` path and the raw ring seal/open. The post-quantum
//! handshake groups (`full_pq_ecdsa_p256_*`) compare with rustls with
//! aws-lc-rs, for X25519MLKEM768 and for X25519.

use std::path::{Path, PathBuf};

fn mean_ns(dir: &Path, group: &str, id: &str) -> Option<f64> {
    let path = dir.join(group).join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["mean"]["point_estimate"].as_f64()
}

fn criterion_dir() -> PathBuf {
    if let Some(dir) = std::env::args().nth(1) {
        return PathBuf::from(dir);
    }
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return Path::new(&t).join("criterion");
    }
    // <target>/release/ratios
    let exe = std::env::current_exe().expect("exe");
    exe.ancestors()
        .nth(2)
        .expect("target dir")
        .join("criterion")
}

fn main() {
    let dir = criterion_dir();
    println!("criterion results in {}\n", dir.display());
    println!("| benchmark | ours | rustls | ours/rustls | ring ceiling | ours/ring |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    let suites = [
        "tls13_aes128gcm",
        "tls13_aes256gcm",
        "tls13_chacha20",
        "tls12_ecdsa_aes128gcm",
    ];
    const MIB: f64 = 1024.0 * 1024.0;
    let rate = |ns: f64| 16384.0 / (ns * 1e-9) / MIB;
    for dir_name in ["send", "recv"] {
        for s in suites {
            let group = format!("bulk_{dir_name}_{s}");
            let Some(r) = mean_ns(&dir, &group, "rustls") else {
                println!("| {group} | (missing) | | | | |");
                continue;
            };
            let ring = mean_ns(&dir, &group, "ring");
            // Our write/read path, then the zero-copy write_with/feed_with
            // path, each against rustls's write/read and raw ring.
            for (id, label) in [
                ("ours", group.clone()),
                ("ours_in_place", format!("{group} (in place)")),
            ] {
                let Some(o) = mean_ns(&dir, &group, id) else {
                    println!("| {label} | (missing) | | | | |");
                    continue;
                };
                let (ring_s, ring_ratio) = match ring {
                    Some(g) => (format!("{:.0} MiB/s", rate(g)), format!("{:.2}", g / o)),
                    None => (String::new(), String::new()),
                };
                println!(
                    "| {label} | {:.0} MiB/s | {:.0} MiB/s | {:.2} | {ring_s} | {ring_ratio} |",
                    rate(o),
                    rate(r),
                    r / o
                );
            }
        }
    }
    for hs in [
        "full_ecdsa_p256",
        "full_rsa2048",
        "resumed_tls13",
        "resumed_tls12",
    ] {
        for side in ["server", "client"] {
            let group = format!("{hs}_{side}");
            let (Some(o), Some(r)) = (
                mean_ns(&dir, &group, "ours"),
                mean_ns(&dir, &group, "rustls"),
            ) else {
                println!("| {group} | (missing) | | | | |");
                continue;
            };
            println!(
                "| {group} | {:.0} hs/s | {:.0} hs/s | {:.2} | | |",
                1e9 / o,
                1e9 / r,
                r / o
            );
        }
    }
    // Post-quantum: X25519MLKEM768, and X25519 in the same run, against
    // rustls with aws-lc-rs.
    for side in ["server", "client"] {
        let group = format!("full_pq_ecdsa_p256_{side}");
        for (ours, theirs) in [("ours", "rustls"), ("ours_x25519", "rustls_x25519")] {
            let (Some(o), Some(r)) = (mean_ns(&dir, &group, ours), mean_ns(&dir, &group, theirs))
            else {
                println!("| {group}/{ours} | (missing) | | | | |");
                continue;
            };
            println!(
                "| {group}/{ours} | {:.0} hs/s | {:.0} hs/s | {:.2} | | |",
                1e9 / o,
                1e9 / r,
                r / o
            );
        }
    }
    let mem = std::fs::read_to_string(dir.join("idle_memory.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    match mem {
        Some(serde_json::Value::Object(m)) => {
            for (name, v) in m {
                let (o, r) = (
                    v["ours"].as_f64().unwrap_or(f64::NAN),
                    v["rustls"].as_f64().unwrap_or(f64::NAN),
                );
                println!(
                    "| idle_heap_{name} | {o:.0} B | {r:.0} B | {:.2} (lower is better) | | |",
                    o / r
                );
            }
        }
        _ => println!("| idle_heap | (missing: run `cargo bench -p tls-benches --bench idle_memory`) | | | | |"),
    }
}
