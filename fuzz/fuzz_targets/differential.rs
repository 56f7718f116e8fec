//! Differential "interop" fuzzing against rustls (see `tls_core_fuzz::diff`).
//! The first byte picks the side (even: the input is a client's flight fed to
//! both servers; odd: a server's flight fed to both clients). An accept/reject
//! disagreement that matches no triaged class in `tls_core_fuzz::triage`
//! panics, so libFuzzer saves it; with `DIFF_LOG_DIR` set, it is written
//! there (one file per class) instead, for triage runs.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_core_fuzz::{diff, triage};

fuzz_target!(|data: &[u8]| {
    let Some((side, input)) = diff::split_input(data) else {
        return;
    };
    let Some(d) = diff::compare(side, input) else {
        return;
    };
    if triage::classify(&d, input).is_some() {
        return;
    }
    tls_core_fuzz::untriaged(&d.class(), data);
});
