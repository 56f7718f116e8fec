//! A blocking HTTPS responder, a thread per connection:
//! `blocking_server HOST:PORT CHAIN_PEM KEY_PEM [--connections N]`.
//! Answers each request with a short text naming the negotiated protocol,
//! then sends close_notify. With `--connections N` it exits after N
//! connections.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use tls_core::{CertifiedKey, Connection, ServerConfig, TlsStream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, chain, key, limit) = match args.as_slice() {
        [a, c, k] => (a, c, k, None),
        [a, c, k, flag, n] if flag == "--connections" => (a, c, k, Some(n.parse::<u64>()?)),
        _ => {
            return Err(
                "usage: blocking_server HOST:PORT CHAIN_PEM KEY_PEM [--connections N]".into(),
            )
        }
    };
    let config = Arc::new(ServerConfig::with_single_cert(
        CertifiedKey::from_pem_files(chain, key)?,
    ));
    let listener = TcpListener::bind(addr)?;
    println!("listening on {}", listener.local_addr()?);

    let mut threads = Vec::new();
    let mut served = 0u64;
    while limit.is_none_or(|n| served < n) {
        let (sock, peer) = listener.accept()?;
        served += 1;
        let config = config.clone();
        threads.push(thread::spawn(move || {
            if let Err(e) = serve(TlsStream::new(Connection::server(config), sock)) {
                eprintln!("{peer}: {e}");
            }
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    Ok(())
}

/// Reads the request head, answers, and closes.
fn serve(mut tls: TlsStream<TcpStream>) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = tls.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let version = tls.conn().negotiated().map(|n| n.version);
    let body = format!("hello over {version:?}\n");
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(response.as_bytes())?;
    tls.close_notify()
}
