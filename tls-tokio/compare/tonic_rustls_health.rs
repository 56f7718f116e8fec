//! tonic_health.rs written with tokio-rustls, for the line count in the
//! README and as the rustls peer of its tests: `tonic_rustls_health serve
//! HOST:PORT CHAIN_PEM KEY_PEM` or `tonic_rustls_health check HOST:PORT
//! SERVER_NAME CA_PEM SERVICE`.

use std::io;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::{Endpoint, Server, Uri};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
use tonic_health::ServingStatus;

type Error = Box<dyn std::error::Error + Send + Sync>;

async fn serve(addr: &str, chain: &str, key: &str) -> Result<(), Error> {
    let chain = CertificateDer::pem_file_iter(chain)?.collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_file(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(addr).await?;
    println!("listening on {}", listener.local_addr()?);

    // Each handshake runs in its own task; tonic takes the finished ones.
    let (handshaken, incoming) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let (sock, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => return eprintln!("accept: {e}"),
            };
            let (acceptor, handshaken) = (acceptor.clone(), handshaken.clone());
            tokio::spawn(async move {
                match acceptor.accept(sock).await {
                    Ok(tls) => drop(handshaken.send(Ok::<_, io::Error>(tls)).await),
                    Err(e) => eprintln!("{peer}: handshake: {e}"),
                }
            });
        }
    });

    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status("tls-tokio.example", ServingStatus::Serving)
        .await;
    let stdin_closed = async {
        let _ = tokio::io::copy(&mut tokio::io::stdin(), &mut tokio::io::sink()).await;
    };
    Server::builder()
        .add_service(health)
        .serve_with_incoming_shutdown(ReceiverStream::new(incoming), stdin_closed)
        .await?;
    Ok(())
}

async fn check(addr: &str, name: &str, ca: &str, service: &str) -> Result<(), Error> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)? {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let server_name = ServerName::try_from(name.to_string())?;
    let addr = addr.to_string();

    // tonic asks for a connection through this service whenever it needs one.
    let endpoint = Endpoint::from_shared(format!("https://{name}"))?;
    let channel = endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let (connector, addr, name) = (connector.clone(), addr.clone(), server_name.clone());
            async move {
                let tls = connector
                    .connect(name, TcpStream::connect(addr).await?)
                    .await?;
                if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
                    return Err(io::Error::other("the server did not agree to ALPN h2"));
                }
                Ok(TokioIo::new(tls))
            }
        }))
        .await?;
    let request = HealthCheckRequest {
        service: service.to_string(),
    };
    let response = HealthClient::new(channel).check(request).await?;
    println!("{service}: {:?}", response.into_inner().status());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["serve", addr, chain, key] => serve(addr, chain, key).await,
        ["check", addr, name, ca, service] => check(addr, name, ca, service).await,
        _ => Err(
            "usage: tonic_rustls_health serve HOST:PORT CHAIN_PEM KEY_PEM\n       \
                  tonic_rustls_health check HOST:PORT SERVER_NAME CA_PEM SERVICE"
                .into(),
        ),
    }
}
