//! A server connection fed arbitrary bytes as the client's flight. It must
//! never panic, whatever arrives.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tls_core::{CertifiedKey, Connection, ServerConfig, SingleCert};

mod common;

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
            let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
            let cert = params.self_signed(&key).expect("certificate");
            let certified = CertifiedKey::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
                .expect("tls-core loads the key");
            let mut config = ServerConfig::new(
                Arc::new(SingleCert(Arc::new(certified))),
                Arc::new(common::FixedEntropy),
                Arc::new(common::FixedClock),
            );
            config.alpn_protocols = vec![b"h2".to_vec()];
            Arc::new(config)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut conn = Connection::server(config());
    common::drive(&mut conn, data);
});
