//! A client connection fed arbitrary bytes as the server's flight. It must
//! never panic, whatever arrives.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tls_core::{ClientConfig, Connection, PinnedCertVerifier};

mod common;

fn config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut config = ClientConfig::new(
                Arc::new(PinnedCertVerifier::new(Vec::new())),
                Arc::new(common::FixedEntropy),
                Arc::new(common::FixedClock),
            );
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            Arc::new(config)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut conn = Connection::client(config(), Some("localhost")).expect("client starts");
    // The ClientHello is already queued; the fuzzer plays the server.
    let hello = conn.pending_tls().len();
    conn.consume_tls(hello);
    common::drive(&mut conn, data);
});
