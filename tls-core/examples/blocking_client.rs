//! A blocking HTTPS GET: `blocking_client HOST:PORT SERVER_NAME CA_PEM`.
//! Prints the response, read until the server's close_notify.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use tls_core::{x509::TrustAnchors, ClientConfig, Connection, TlsStream};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, name, ca] = args.as_slice() else {
        return Err("usage: blocking_client HOST:PORT SERVER_NAME CA_PEM".into());
    };
    let config = Arc::new(ClientConfig::with_roots(TrustAnchors::from_pem_file(ca)?));
    let conn = Connection::client(config, Some(name))?;
    let mut tls = TlsStream::new(conn, TcpStream::connect(addr)?);

    let request = format!("GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n");
    tls.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    tls.read_to_end(&mut response)?;
    print!("{}", String::from_utf8_lossy(&response));
    Ok(())
}
