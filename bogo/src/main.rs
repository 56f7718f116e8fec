//! `bogo-shim`: tls-core behind bssl_shim's command line, for BoringSSL's
//! TLS conformance suite (BoGo).
//!
//! The runner starts the shim once per test with flags saying what to do;
//! the shim connects to the runner's port (it is the TCP client whether it
//! plays the TLS client or server), sends its shim id, runs the handshake
//! and the echo exchange, once plus `-resume-count` times, and exits:
//!
//! - 0: every connection did what the flags asked;
//! - 1: a connection failed; stderr holds the reason as a BoringSSL-style
//!   `:REASON:` token (see `errors`), which the runner checks;
//! - 89: a flag this shim does not implement; the runner counts the test as
//!   unimplemented.
//!
//! `bogo/run.sh` builds the runner and this shim and runs the suite.

#![forbid(unsafe_code)]

mod config;
mod conn;
mod errors;
mod opts;
mod policy;

use std::process::ExitCode;

use conn::Failure;
use opts::{ParseError, Phase};

/// The exit code that tells the runner a flag is not implemented.
const UNIMPLEMENTED: u8 = 89;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The runner asks first whether split handshakes (BoringSSL's
    // handshaker) are supported: they are not.
    if args.iter().any(|a| a == "-is-handshaker-supported") {
        println!("No");
        return ExitCode::SUCCESS;
    }
    let parsed = opts::parse(&args, Phase::Initial)
        .and_then(|initial| Ok((initial, opts::parse(&args, Phase::Resume)?)));
    let (initial, resume) = match parsed {
        Ok(both) => both,
        Err(ParseError::Unimplemented(what)) => {
            eprintln!("unimplemented flag: {what}");
            return ExitCode::from(UNIMPLEMENTED);
        }
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let shared = match config::Shared::new() {
        Ok(shared) => shared,
        Err(e) => return report(0, Failure::from(e)),
    };
    for index in 0..=initial.resume_count {
        let o = if index == 0 { &initial } else { &resume };
        if let Err(failure) = conn::run(o, &shared, index) {
            return report(index, failure);
        }
    }
    ExitCode::SUCCESS
}

/// Prints why connection `index` failed and gives the exit code.
fn report(index: u32, failure: Failure) -> ExitCode {
    match failure {
        Failure::Unimplemented(what) => {
            eprintln!("unimplemented: {what}");
            ExitCode::from(UNIMPLEMENTED)
        }
        Failure::Tls(e) => {
            eprintln!("{} connection {} failed: {e}", errors::token(&e), index + 1);
            ExitCode::FAILURE
        }
        Failure::VerifyFailed(e) => {
            eprintln!(
                ":CERTIFICATE_VERIFY_FAILED: connection {} failed: {e}",
                index + 1
            );
            ExitCode::FAILURE
        }
        Failure::Other(what) => {
            eprintln!("connection {} failed: {what}", index + 1);
            ExitCode::FAILURE
        }
    }
}
