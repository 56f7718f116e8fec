//! `tls-oracle CAPTURE KEYLOG [PORT]`: checks every TLS session in a pcap or
//! pcapng capture (on PORT only, when given) with the secrets of an NSS key
//! log. Prints each deviation on a line; a clean capture prints nothing on
//! stdout (stderr gets what was checked, one line per connection).
//! Exit status: 0 clean, 1 deviations, 2 unusable input.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (capture, keylog, port) = match args.as_slice() {
        [c, k] => (c, k, None),
        [c, k, p] => match p.parse::<u16>() {
            Ok(p) => (c, k, Some(p)),
            Err(_) => return usage(&format!("bad port {p:?}")),
        },
        _ => return usage("expected CAPTURE KEYLOG [PORT]"),
    };
    let capture_bytes = match std::fs::read(capture) {
        Ok(b) => b,
        Err(e) => return usage(&format!("{capture}: {e}")),
    };
    let keys = match std::fs::read_to_string(keylog) {
        Ok(text) => match tls_oracle::KeyLog::parse(&text) {
            Ok(k) => k,
            Err(errors) => {
                for e in errors {
                    eprintln!("tls-oracle: {keylog}: {e}");
                }
                return ExitCode::from(2);
            }
        },
        Err(e) => return usage(&format!("{keylog}: {e}")),
    };
    let streams = match tls_oracle::read_streams(&capture_bytes, port) {
        Ok(s) => s,
        Err(e) => return usage(&format!("{capture}: {e}")),
    };
    let mut found = false;
    for stream in &streams {
        let (deviations, summary) = tls_oracle::examine(stream, &keys);
        for d in deviations {
            println!("{} -> {}: {d}", stream.client, stream.server);
            found = true;
        }
        // What was covered goes to stderr, so a clean run prints nothing on stdout.
        eprintln!(
            "{} -> {}: {}, {} handshake messages, {} records decrypted, {} Finished and {} signatures checked",
            stream.client,
            stream.server,
            summary.version.unwrap_or("no ServerHello"),
            summary.messages,
            summary.decrypted,
            summary.finished,
            summary.signatures
        );
    }
    if found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn usage(why: &str) -> ExitCode {
    eprintln!("tls-oracle: {why}\nusage: tls-oracle CAPTURE KEYLOG [PORT]");
    ExitCode::from(2)
}
