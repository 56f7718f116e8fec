//! The tunnel's stunnel.conf parser on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tls_tunnel::config::stunnel::parse_text("fuzz.conf", text);
    }
});
