//! A tokio HTTPS responder: `tokio_server HOST:PORT CHAIN_PEM KEY_PEM
//! [--connections N]`. Answers each request with a short text naming the
//! negotiated protocol, then sends close_notify. With `--connections N` it
//! exits after N connections.

use std::sync::Arc;

use tls_core::{CertifiedKey, ServerConfig};
use tls_tokio::{TlsAcceptor, TlsStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, chain, key, limit) = match args.as_slice() {
        [a, c, k] => (a, c, k, None),
        [a, c, k, flag, n] if flag == "--connections" => (a, c, k, Some(n.parse::<u64>()?)),
        _ => {
            return Err("usage: tokio_server HOST:PORT CHAIN_PEM KEY_PEM [--connections N]".into())
        }
    };
    let config = ServerConfig::with_single_cert(CertifiedKey::from_pem_files(chain, key)?);
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);

    let mut tasks = tokio::task::JoinSet::new();
    let mut served = 0u64;
    while limit.is_none_or(|n| served < n) {
        let (sock, peer) = listener.accept().await?;
        served += 1;
        let acceptor = acceptor.clone();
        tasks.spawn(async move {
            if let Err(e) = serve(acceptor.accept(sock).await).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}

/// Reads the request head, answers, and closes.
async fn serve(tls: std::io::Result<TlsStream<TcpStream>>) -> std::io::Result<()> {
    let mut tls = tls?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let body = format!("hello over {:?}\n", tls.protocol_version());
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.write_all(response.as_bytes()).await?;
    tls.shutdown().await
}
