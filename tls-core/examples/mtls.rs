//! Mutual TLS: the server asks for a client certificate and validates it
//! against its CA; the client presents one. Runs both ends over loopback
//! TCP with a PKI made on the spot (rcgen), then shows a client without a
//! certificate being refused. `cargo run -p tls-core --example mtls`

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use tls_core::x509::{TrustAnchors, WebPkiClientVerifier};
use tls_core::{CertifiedKey, ClientConfig, Connection, ServerConfig, TlsStream};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// A leaf for `name` with extended key usage `usage`, issued by `ca`.
fn leaf(name: &str, usage: ExtendedKeyUsagePurpose, ca: &Issuer<KeyPair>) -> Result<CertifiedKey> {
    let key = KeyPair::generate()?;
    let mut params = CertificateParams::new(vec![name.to_string()])?;
    params.extended_key_usages = vec![usage];
    let cert = params.signed_by(&key, ca)?;
    Ok(CertifiedKey::from_pem(
        cert.pem().as_bytes(),
        key.serialize_pem().as_bytes(),
    )?)
}

fn main() -> Result<()> {
    // One CA issues both the server's and the client's certificates.
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let anchors = Arc::new(TrustAnchors::from_pem(ca_cert.pem().as_bytes())?);
    let ca = Issuer::new(ca_params, ca_key);

    let mut server_config = ServerConfig::with_single_cert(leaf(
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
        &ca,
    )?);
    server_config.client_verifier = Some(Arc::new(WebPkiClientVerifier::new(anchors.clone())));
    let server_config = Arc::new(server_config);

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let server = thread::spawn(move || -> std::io::Result<Vec<String>> {
        let mut outcomes = Vec::new();
        for _ in 0..2 {
            let (sock, _) = listener.accept()?;
            let mut tls = TlsStream::new(Connection::server(server_config.clone()), sock);
            match tls.handshake() {
                Ok(()) => {
                    let certs = tls
                        .conn()
                        .negotiated()
                        .map_or(0, |n| n.peer_certificates.len());
                    outcomes.push(format!(
                        "server: client authenticated ({certs} certificate)"
                    ));
                    tls.write_all(b"welcome\n")?;
                    tls.close_notify()?;
                }
                Err(e) => outcomes.push(format!("server: refused: {e}")),
            }
        }
        Ok(outcomes)
    });

    // With a client certificate.
    let mut client_config =
        ClientConfig::with_roots(TrustAnchors::from_pem(ca_cert.pem().as_bytes())?);
    client_config.client_cert = Some(Arc::new(leaf(
        "client.example",
        ExtendedKeyUsagePurpose::ClientAuth,
        &ca,
    )?));
    let conn = Connection::client(Arc::new(client_config), Some("localhost"))?;
    let mut tls = TlsStream::new(conn, TcpStream::connect(addr)?);
    let mut reply = String::new();
    tls.read_to_string(&mut reply)?;
    print!("client with a certificate got: {reply}");

    // Without one: the server refuses the handshake.
    let bare = ClientConfig::with_roots(TrustAnchors::from_pem(ca_cert.pem().as_bytes())?);
    let conn = Connection::client(Arc::new(bare), Some("localhost"))?;
    let mut tls = TlsStream::new(conn, TcpStream::connect(addr)?);
    let refused = tls.read_to_string(&mut String::new()).is_err();
    println!("client without a certificate refused: {refused}");

    for line in server.join().map_err(|_| "server thread panicked")?? {
        println!("{line}");
    }
    if !refused {
        return Err("a client without a certificate was let in".into());
    }
    Ok(())
}
