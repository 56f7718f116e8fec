//! A client connection fed arbitrary bytes as the server's flight. It must
//! never panic, whatever arrives. The client offers TLS 1.3 and 1.2 (the
//! defaults), ALPN, asks for OCSP stapling (status_request, so a TLS 1.2
//! CertificateStatus and a TLS 1.3 certificate entry's status are expected
//! states), and has a session store, so 1.2 and 1.3 server flights both
//! reach their parsers.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tls_core::{ClientConfig, Connection, MemorySessionStore, PinnedCertVerifier};
use tls_core_fuzz::{drive, server_identity, FixedClock, FixedEntropy};

fn config() -> Arc<ClientConfig> {
    static CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut config = ClientConfig::new(
                Arc::new(PinnedCertVerifier::new(vec![server_identity().0.clone()])),
                Arc::new(FixedEntropy(tls_core_fuzz::CLIENT_SEED)),
                Arc::new(FixedClock),
            );
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            config.session_store = Some(Arc::new(MemorySessionStore::new(4)));
            config.request_ocsp = true;
            Arc::new(config)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut conn = Connection::client(config(), Some("localhost")).expect("client starts");
    // The ClientHello is already queued; the fuzzer plays the server.
    let hello = conn.pending_tls().len();
    conn.consume_tls(hello);
    drive(&mut conn, data);
});
