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
    let class = d.class();
    if let Some(dir) = std::env::var_os("DIFF_LOG_DIR") {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        class.hash(&mut h);
        let path = std::path::Path::new(&dir).join(format!("{:016x}", h.finish()));
        if !path.exists() {
            let _ = std::fs::write(&path, data);
            let _ = std::fs::write(path.with_extension("class"), &class);
        }
        return;
    }
    panic!("untriaged three-way disagreement: {class}");
});
