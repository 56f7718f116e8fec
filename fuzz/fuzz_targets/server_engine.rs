//! A server connection fed arbitrary bytes as the client's flight. It must
//! never panic, whatever arrives. TLS 1.3 and 1.2 (the defaults), ALPN, a
//! deterministic ticket key and a session cache, so resumption attempts
//! reach the ticket and cache code; an external PSK (identity `fuzz`), so
//! offered PSKs reach the identity lookup and the binder check.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use tls_core::{
    Connection, ExternalPsk, MemorySessionCache, RotatingTicketer, ServerConfig, SingleCert,
    TicketEncrypter,
};
use tls_core_fuzz::{certified_key, drive, FixedClock, FixedEntropy, FIXED_NOW};

fn config() -> Arc<ServerConfig> {
    static CONFIG: OnceLock<Arc<ServerConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut config = ServerConfig::new(
                Arc::new(SingleCert(certified_key())),
                Arc::new(FixedEntropy(tls_core_fuzz::SERVER_SEED)),
                Arc::new(FixedClock),
            );
            config.alpn_protocols = vec![b"h2".to_vec()];
            // Keys from FixedEntropy: the same every run.
            config.ticketer = RotatingTicketer::new(
                Arc::new(FixedEntropy(tls_core_fuzz::SERVER_SEED)),
                7200,
                FIXED_NOW,
            )
            .ok()
            .map(|t| Arc::new(t) as Arc<dyn TicketEncrypter>);
            config.session_cache = Some(Arc::new(MemorySessionCache::new(4)));
            config.external_psks = ExternalPsk::new(b"fuzz".to_vec(), vec![0x42; 32])
                .into_iter()
                .collect();
            Arc::new(config)
        })
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let mut conn = Connection::server(config());
    drive(&mut conn, data);
});
