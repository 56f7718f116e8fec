//! The PROXY protocol parser on arbitrary bytes, framed as `read_header`
//! frames them: a v2 header (signature, version/command, family, u16
//! length, body: addresses and TLVs) or a v1 line (up to 107 bytes ending
//! in CRLF).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_tunnel::proxy_protocol::{parse_v1, parse_v2, tlvs, V2_SIGNATURE};

fuzz_target!(|data: &[u8]| {
    if let Some(rest) = data.strip_prefix(&V2_SIGNATURE[..]) {
        let [ver_cmd, fam, hi, lo, body @ ..] = rest else {
            return;
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some(body) = body.get(..len) else { return };
        let _ = parse_v2(*ver_cmd, *fam, body);
        let _ = tlvs(*fam, body);
    } else if data.starts_with(b"PROXY ") && data.len() <= 107 && data.ends_with(b"\r\n") {
        if let Ok(Some((src, dst))) = parse_v1(data) {
            // What parses as v1 re-encodes to a line that parses the same.
            let line = tls_tunnel::proxy_protocol::encode_v1(Some((src, dst)));
            if src.is_ipv4() == dst.is_ipv4() {
                assert_eq!(parse_v1(&line), Ok(Some((src, dst))));
            }
        }
    }
});
