//! `limbo [-o RESULTS.json] [--psl LIST | --no-psl] [FILE|-]`: runs an
//! x509-limbo testcase file (a path, or standard input when absent or `-`)
//! through `tls_core::x509`. Wildcards over public suffixes are checked with
//! the public suffix list in `tests/data/limbo/` unless `--psl` names
//! another or `--no-psl` turns the check off.
//!
//! Output: limbo's result JSON, alone on standard output (x509-limbo's
//! harness contract), or into RESULTS.json with `-o`. Everything else goes
//! to standard error: each disagreement and skip, the SERVER agreement, and
//! last a summary line `limbo: N agree, M disagree (W wrong accepts), K
//! skipped`. Exit status 0 unless the input cannot be read or parsed.

use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use tls_core::x509::PublicSuffixList;

use tls_tests::limbo;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("limbo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let mut output = None;
    let mut input = None;
    let mut psl = Some(limbo::BUNDLED_PUBLIC_SUFFIX_LIST.to_string());
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-o" | "--output" => {
                output = Some(args.next().ok_or("-o needs a file name")?);
            }
            "--psl" => psl = Some(args.next().ok_or("--psl needs a file name")?),
            "--no-psl" => psl = None,
            "-h" | "--help" => {
                println!("usage: limbo [-o RESULTS.json] [--psl LIST | --no-psl] [FILE|-]");
                return Ok(());
            }
            _ if input.is_none() => input = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    let json = match input.as_deref() {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("reading standard input: {e}"))?;
            s
        }
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("reading {path}: {e}"))?,
    };
    let suite = limbo::parse_suite(&json)?;
    let mut options = limbo::Options::default();
    if let Some(path) = psl {
        let list = PublicSuffixList::from_file(&path).map_err(|e| format!("{path}: {e}"))?;
        options.public_suffixes = Some(Arc::new(list));
    }
    let scored = limbo::run_suite(&suite, &options);
    let results = limbo::results_json(&scored);
    match output {
        Some(path) => {
            std::fs::write(&path, results + "\n").map_err(|e| format!("writing {path}: {e}"))?
        }
        None => println!("{results}"),
    }
    for c in scored.iter().filter(|c| c.is_exception()) {
        eprintln!(
            "{}\t{:?} (expected {:?})\t{}",
            c.id, c.result.actual_result, c.expected, c.result.context
        );
    }
    let summary = limbo::Summary::of(&scored);
    eprintln!(
        "SERVER agreement: {}/{} ({:.1}%)",
        summary.server_agree,
        summary.server_total,
        summary.server_agreement_percent()
    );
    eprintln!("{}", summary.line());
    Ok(())
}
