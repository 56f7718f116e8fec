//! gRPC over tls-tokio: tonic's health service (`grpc.health.v1.Health`,
//! from tonic-health) with ALPN h2, both ends.
//!
//! `tonic_health serve HOST:PORT CHAIN_PEM KEY_PEM` serves it, with service
//! `tls-tokio.example` reported as serving, until its standard input closes;
//! then it stops gracefully. `tonic_health check HOST:PORT SERVER_NAME CA_PEM
//! SERVICE` asks a server for SERVICE's status and prints it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::rt::TokioIo;
use tls_core::{x509::TrustAnchors, CertifiedKey, ClientConfig, ServerConfig};
use tls_tokio::{TlsAcceptor, TlsConnector, TlsStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::{Endpoint, Server, Uri};
use tonic_health::pb::{health_client::HealthClient, HealthCheckRequest};
use tonic_health::ServingStatus;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// tonic serves connections that implement its `Connected` (the peer's
/// address for `Request::remote_addr`). Neither that trait nor `TlsStream`
/// belongs to this program, so a newtype joins them.
struct GrpcTls(TlsStream<TcpStream>);

impl Connected for GrpcTls {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.get_ref().connect_info()
    }
}

impl AsyncRead for GrpcTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for GrpcTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

async fn serve(addr: &str, chain: &str, key: &str) -> Result<(), Error> {
    let mut config = ServerConfig::with_single_cert(CertifiedKey::from_pem_files(chain, key)?);
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
                    Ok(tls) => drop(handshaken.send(Ok::<_, io::Error>(GrpcTls(tls))).await),
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
    let mut config = ClientConfig::with_roots(TrustAnchors::from_pem_file(ca)?);
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = TlsConnector::from(Arc::new(config));
    let (addr, name) = (addr.to_string(), name.to_string());

    // tonic asks for a connection through this service whenever it needs one.
    let endpoint = Endpoint::from_shared(format!("https://{name}"))?;
    let channel = endpoint
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let (connector, addr, name) = (connector.clone(), addr.clone(), name.clone());
            async move {
                let tls = connector
                    .connect(name, TcpStream::connect(addr).await?)
                    .await?;
                if tls.alpn_protocol() != Some(b"h2") {
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
            "usage: tonic_health serve HOST:PORT CHAIN_PEM KEY_PEM\n       \
                  tonic_health check HOST:PORT SERVER_NAME CA_PEM SERVICE"
                .into(),
        ),
    }
}
