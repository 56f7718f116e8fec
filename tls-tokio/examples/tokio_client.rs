//! An HTTPS GET with tokio: `tokio_client HOST:PORT SERVER_NAME CA_PEM`.
//! Prints the response, read until the server's close_notify.

use std::sync::Arc;

use tls_core::{x509::TrustAnchors, ClientConfig};
use tls_tokio::TlsConnector;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, name, ca] = args.as_slice() else {
        return Err("usage: tokio_client HOST:PORT SERVER_NAME CA_PEM".into());
    };
    let config = ClientConfig::with_roots(TrustAnchors::from_pem_file(ca)?);
    let connector = TlsConnector::from(Arc::new(config));

    let mut tls = connector
        .connect(name.as_str(), TcpStream::connect(addr).await?)
        .await?;
    let request = format!("GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response).await?;
    print!("{}", String::from_utf8_lossy(&response));
    Ok(())
}
