//! Three-way differential fuzzing: ours, rustls and OpenSSL fed the same
//! flight (see `tls_core_fuzz::diff3`; input as for `differential`). A
//! disagreement that matches no triaged class (`tls_core_fuzz::triage3`)
//! panics, so libFuzzer saves it; with `DIFF_LOG_DIR` set, it is written
//! there (one file per class) instead, for triage runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_core_fuzz::{diff, diff3, triage3};

fuzz_target!(|data: &[u8]| {
    let Some((side, input)) = diff::split_input(data) else {
        return;
    };
    let Some(d) = diff3::compare3(side, input) else {
        return;
    };
    if triage3::classify(&d, input).is_some() {
        return;
    }
    tls_core_fuzz::untriaged(&d.class(), data);
});
