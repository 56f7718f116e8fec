//! A hyper 1.x HTTPS server on tls-tokio, HTTP/2 or HTTP/1.1 as ALPN
//! decides: `hyper_server HOST:PORT CHAIN_PEM KEY_PEM [--connections N]`.
//! With `--connections N` it exits after serving N connections.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::{body::Incoming, service::service_fn, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tls_core::{CertifiedKey, ServerConfig};
use tls_tokio::TlsAcceptor;
use tokio::net::TcpListener;

async fn hello(request: Request<Incoming>) -> Result<Response<String>, Infallible> {
    Ok(Response::new(format!(
        "hello over {:?}\n",
        request.version()
    )))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (addr, chain, key, limit) = match args.as_slice() {
        [a, c, k] => (a, c, k, None),
        [a, c, k, flag, n] if flag == "--connections" => (a, c, k, Some(n.parse::<u64>()?)),
        _ => {
            return Err("usage: hyper_server HOST:PORT CHAIN_PEM KEY_PEM [--connections N]".into())
        }
    };
    let mut config = ServerConfig::with_single_cert(CertifiedKey::from_pem_files(chain, key)?);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
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
            let tls = match acceptor.accept(sock).await {
                Ok(tls) => tls,
                Err(e) => return eprintln!("{peer}: handshake: {e}"),
            };
            let http = auto::Builder::new(TokioExecutor::new());
            if let Err(e) = http
                .serve_connection(TokioIo::new(tls), service_fn(hello))
                .await
            {
                eprintln!("{peer}: {e}");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    Ok(())
}
