//! hyper_server.rs written with tokio-rustls, for the line count in the
//! README: `tokio_rustls_hyper_server HOST:PORT CHAIN_PEM KEY_PEM
//! [--connections N]`.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::{body::Incoming, service::service_fn, Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

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
    let chain = CertificateDer::pem_file_iter(chain)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
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
