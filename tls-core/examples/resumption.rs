//! Session resumption with a session store of one's own: a client keeps the
//! server's tickets in a store that counts what it keeps and hands out, and
//! its second connection resumes. Both ends over loopback TCP with a
//! self-signed certificate made on the spot.
//! `cargo run -p tls-core --example resumption`

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use tls_core::{
    CertifiedKey, ClientConfig, ClientSessionStore, Connection, ServerConfig, StoredTicket,
    TlsStream, UnixTime,
};

/// Tickets by server name, newest last; a real store might keep them in a
/// database shared by processes.
#[derive(Default)]
struct CountingStore {
    tickets: Mutex<HashMap<String, Vec<StoredTicket>>>,
    kept: AtomicUsize,
    handed_out: AtomicUsize,
}

impl ClientSessionStore for CountingStore {
    fn put(&self, server_name: &str, ticket: StoredTicket) {
        if let Ok(mut tickets) = self.tickets.lock() {
            tickets
                .entry(server_name.to_string())
                .or_default()
                .push(ticket);
            self.kept.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn take(&self, server_name: &str, now: UnixTime) -> Option<StoredTicket> {
        let mut tickets = self.tickets.lock().ok()?;
        let list = tickets.get_mut(server_name)?;
        list.retain(|t| !t.expired(now));
        let ticket = list.pop()?;
        self.handed_out.fetch_add(1, Ordering::Relaxed);
        Some(ticket)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let key = rcgen::KeyPair::generate()?;
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])?.self_signed(&key)?;
    let identity = CertifiedKey::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())?;
    // with_single_cert turns on tickets with a rotating key.
    let server_config = Arc::new(ServerConfig::with_single_cert(identity));

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> std::io::Result<()> {
        for _ in 0..2 {
            let (sock, _) = listener.accept()?;
            let mut tls = TlsStream::new(Connection::server(server_config.clone()), sock);
            let mut ping = [0u8; 5];
            tls.read_exact(&mut ping)?;
            tls.write_all(b"pong\n")?;
            tls.close_notify()?;
        }
        Ok(())
    });

    let store = Arc::new(CountingStore::default());
    let mut config = ClientConfig::with_pinned_certs(vec![cert.der().to_vec()]);
    config.session_store = Some(store.clone());
    let config = Arc::new(config);
    let mut resumed = Vec::new();
    for round in 1..=2 {
        let conn = Connection::client(config.clone(), Some("localhost"))?;
        let mut tls = TlsStream::new(conn, TcpStream::connect(addr)?);
        tls.write_all(b"ping\n")?;
        // Reading to the end also takes in the tickets sent after the handshake.
        let mut reply = String::new();
        tls.read_to_string(&mut reply)?;
        let was_resumed = tls.conn().negotiated().is_some_and(|n| n.resumed);
        println!("connection {round}: resumed = {was_resumed}");
        resumed.push(was_resumed);
    }
    server.join().map_err(|_| "server thread panicked")??;
    println!(
        "store: {} tickets kept, {} handed out",
        store.kept.load(Ordering::Relaxed),
        store.handed_out.load(Ordering::Relaxed)
    );
    if resumed != [false, true] {
        return Err("the second connection did not resume".into());
    }
    Ok(())
}
