//! An embedder that brings its own clock and randomness, as a unikernel or a
//! device without an OS clock would: the engine takes both through its
//! configuration and touches no socket. Here the clock is a boot-time
//! reading plus a monotonic counter, and the randomness a device read
//! through the [`EntropySource`] trait; the handshake runs in memory, as
//! over any transport the embedder owns.
//! `cargo run -p tls-core --example embedder`

use std::sync::Arc;
use std::time::Instant;

use tls_core::{
    CertifiedKey, ClientConfig, Clock, Connection, EntropyError, EntropySource, PinnedCertVerifier,
    ServerConfig, SingleCert, UnixTime,
};

/// Wall time read once at boot (say, from an RTC or the host), advanced by
/// a monotonic counter.
struct BootClock {
    at_boot: UnixTime,
    since: Instant,
}

impl Clock for BootClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.at_boot.0 + self.since.elapsed().as_secs())
    }
}

/// The platform's random device; here it stands in with the host's, read
/// through `/dev/urandom` as a device file.
struct DeviceRng;

impl EntropySource for DeviceRng {
    fn fill(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(dest))
            .map_err(|_| EntropyError("device: read failed"))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock: Arc<dyn Clock> = Arc::new(BootClock {
        at_boot: UnixTime(1_767_225_600), // 2026-01-01, as the RTC said
        since: Instant::now(),
    });
    let rng: Arc<dyn EntropySource> = Arc::new(DeviceRng);

    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["device.local".into()])?.self_signed(&key)?;
    let identity = CertifiedKey::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    let server_config = ServerConfig::new(
        Arc::new(SingleCert(Arc::new(identity))),
        rng.clone(),
        clock.clone(),
    );
    let client_config = ClientConfig::new(
        Arc::new(PinnedCertVerifier::new(vec![cert.der().to_vec()])),
        rng,
        clock,
    );
    let mut client = Connection::client(Arc::new(client_config), Some("device.local"))?;
    let mut server = Connection::server(Arc::new(server_config));

    // The embedder's transport: here, straight from one to the other.
    fn transfer(from: &mut Connection, to: &mut Connection) -> Result<(), tls_core::Error> {
        let bytes = from.pending_tls().to_vec();
        from.consume_tls(bytes.len());
        to.feed(&bytes)
    }
    while client.is_handshaking() || server.is_handshaking() {
        transfer(&mut client, &mut server)?;
        transfer(&mut server, &mut client)?;
    }
    client.write(b"hello from the device")?;
    transfer(&mut client, &mut server)?;
    let n = server.negotiated().ok_or("no handshake")?;
    println!("negotiated {:?} {:?} {:?}", n.version, n.suite, n.group);
    println!(
        "server read: {}",
        String::from_utf8_lossy(server.peek_plaintext())
    );
    Ok(())
}
