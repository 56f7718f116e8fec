//! The tokio adapter against real peers: our client against `openssl
//! s_server` and a rustls server, our server against `openssl s_client` and
//! a rustls client, in TLS 1.3 and TLS 1.2; an 8 MiB echo both ways checked
//! by SHA-256.

use std::io::{Read, Write};
use std::net::TcpListener as StdListener;
use std::sync::Arc;
use std::thread;

use tls_core::{ClientConfig, ProtocolVersion, ServerConfig};
use tls_tests::openssl_peer::{SClientBuilder, SServerBuilder};
use tls_tests::rustls_peer::{self, TLS12_SUITES, TLS13_SUITES};
use tls_tests::{assert_same_bytes, payload, KeyType, IO_TIMEOUT, MIB, PEER_TIMEOUT};
use tls_tokio::{TlsAcceptor, TlsConnector, TlsStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// Our client config for the test PKI's P-256 leaf, limited to `version`.
fn client_config(version: ProtocolVersion) -> Arc<ClientConfig> {
    let mut config = tls_tests::client_config(KeyType::EcdsaP256);
    config.versions = vec![version];
    Arc::new(config)
}

/// Our server config with the test PKI's P-256 chain, limited to `version`.
fn server_config(version: ProtocolVersion) -> Arc<ServerConfig> {
    let mut config = tls_tests::server_config(KeyType::EcdsaP256);
    config.versions = vec![version];
    Arc::new(config)
}

fn version_flag(version: ProtocolVersion) -> &'static str {
    match version {
        ProtocolVersion::Tls12 => "-tls1_2",
        _ => "-tls1_3",
    }
}

/// Reads exactly `n` bytes from `tls`, echoing each chunk back as it
/// arrives, then sends close_notify and reads until the peer's.
async fn echo_n<IO: AsyncRead + AsyncWrite + Unpin>(
    tls: &mut TlsStream<IO>,
    n: usize,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 32 * 1024];
    let mut left = n;
    while left > 0 {
        let want = left.min(buf.len());
        let got = tls.read(&mut buf[..want]).await?;
        if got == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        tls.write_all(&buf[..got]).await?;
        left -= got;
    }
    tls.shutdown().await?;
    let mut rest = Vec::new();
    tls.read_to_end(&mut rest).await?;
    assert!(rest.is_empty(), "data after the echo");
    Ok(())
}

/// Our client against `openssl s_server`: data both ways, then
/// close_notify both ways (ours first; reading after it still works).
async fn client_against_s_server(version: ProtocolVersion) {
    let mut server = SServerBuilder::new(KeyType::EcdsaP256)
        .args(&[version_flag(version)])
        .start();
    let sock = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .expect("connect");
    let connector = TlsConnector::from(client_config(version));
    let mut tls = connector
        .connect("localhost", sock)
        .await
        .unwrap_or_else(|e| panic!("handshake: {e}\n{}", server.peer.diagnostics()));
    assert_eq!(tls.protocol_version(), Some(version));
    assert!(tls.cipher_suite().is_some());
    assert_eq!(
        tls.peer_certificates().first(),
        Some(&tls_tests::pki().leaf(KeyType::EcdsaP256).cert_der)
    );
    assert_eq!(tls.server_name(), Some("localhost"));

    let to_server = payload(1, 256 * 1024);
    tls.write_all(&to_server).await.expect("write");
    tls.flush().await.expect("flush");
    assert!(
        server.peer.wait_stdout_len(to_server.len(), PEER_TIMEOUT),
        "s_server did not print our data\n{}",
        server.peer.diagnostics()
    );
    assert_same_bytes("s_server received", &server.peer.stdout(), &to_server);

    let from_server = payload(2, 64 * 1024);
    server.peer.write_stdin(from_server.clone());
    let mut got = vec![0u8; from_server.len()];
    tls.read_exact(&mut got).await.expect("read");
    assert_same_bytes("our client received", &got, &from_server);
    server.peer.finish_stdin_write();

    tls.shutdown().await.expect("close_notify");
    let mut after = Vec::new();
    tls.read_to_end(&mut after).await.unwrap_or_else(|e| {
        panic!(
            "s_server's close_notify: {e}\n{}",
            server.peer.diagnostics()
        )
    });
    assert!(after.is_empty(), "data after s_server's close_notify");
    assert!(tls.connection().peer_closed());
}

#[tokio::test]
async fn client_against_openssl_tls13() {
    client_against_s_server(ProtocolVersion::Tls13).await;
}

#[tokio::test]
async fn client_against_openssl_tls12() {
    client_against_s_server(ProtocolVersion::Tls12).await;
}

/// Our server (echoing `len` bytes) against `openssl s_client`, which sends
/// `len` bytes; the echo is compared by SHA-256.
async fn server_against_s_client(version: ProtocolVersion, len: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = TlsAcceptor::from(server_config(version));
    let data = payload(3, len);
    let mut client = SClientBuilder::new(port, "tokio-adapter")
        .args(&[version_flag(version)])
        .start();
    client.peer.write_stdin(data.clone());
    let (sock, _) = listener.accept().await.expect("accept");
    let mut tls = acceptor.accept(sock).await.expect("handshake");
    assert_eq!(tls.protocol_version(), Some(version));
    assert_eq!(tls.server_name(), Some("localhost"));
    echo_n(&mut tls, len)
        .await
        .unwrap_or_else(|e| panic!("echo: {e}\n{}", client.peer.diagnostics()));
    client.peer.wait_success(PEER_TIMEOUT);
    let echoed = client.peer.stdout();
    assert_eq!(echoed.len(), len, "s_client received the whole echo");
    assert_eq!(sha256(&echoed), sha256(&data), "the echo's SHA-256");
}

#[tokio::test]
async fn server_against_openssl_tls13_8mib() {
    server_against_s_client(ProtocolVersion::Tls13, 8 * MIB).await;
}

#[tokio::test]
async fn server_against_openssl_tls12() {
    server_against_s_client(ProtocolVersion::Tls12, MIB).await;
}

/// A ring rustls provider with only `version`'s suites for a P-256 key.
fn rustls_provider(version: ProtocolVersion) -> Arc<rustls::crypto::CryptoProvider> {
    let suites: Vec<_> = match version {
        ProtocolVersion::Tls12 => TLS12_SUITES
            .iter()
            .filter(|(_, _, key)| *key == KeyType::EcdsaP256)
            .map(|&(_, theirs, _)| theirs)
            .collect(),
        _ => TLS13_SUITES.iter().map(|&(_, theirs)| theirs).collect(),
    };
    rustls_peer::provider(&suites, &rustls_peer::GROUPS)
}

/// Our client against a rustls server (in a thread) that echoes `len`
/// bytes and then sends close_notify.
async fn client_against_rustls(version: ProtocolVersion) {
    let len = MIB;
    let listener = StdListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let config = Arc::new(rustls_peer::server_config(
        KeyType::EcdsaP256,
        rustls_provider(version),
    ));
    let server = thread::spawn(move || {
        let (sock, _) = listener.accept().expect("accept");
        sock.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let conn = rustls::ServerConnection::new(config).expect("rustls server");
        let mut tls = rustls::StreamOwned::new(conn, sock);
        let mut buf = vec![0u8; len];
        tls.read_exact(&mut buf).expect("rustls reads");
        tls.write_all(&buf).expect("rustls echoes");
        tls.conn.send_close_notify();
        tls.flush().expect("rustls flushes");
        let mut rest = Vec::new();
        tls.read_to_end(&mut rest).expect("our close_notify");
        rest.len()
    });
    let sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut tls = TlsConnector::from(client_config(version))
        .connect("localhost", sock)
        .await
        .expect("handshake with rustls");
    assert_eq!(tls.protocol_version(), Some(version));
    let data = payload(4, len);
    let (mut reader, mut writer) = tokio::io::split(tls);
    let sent = data.clone();
    let write = tokio::spawn(async move {
        writer.write_all(&sent).await?;
        writer.flush().await?;
        Ok::<_, std::io::Error>(writer)
    });
    let mut echoed = Vec::new();
    reader
        .read_to_end(&mut echoed)
        .await
        .expect("echo until close_notify");
    let writer = write.await.expect("join").expect("write");
    tls = reader.unsplit(writer);
    // Half-close: the server's close_notify has arrived, we can still write.
    tls.shutdown().await.expect("our close_notify");
    assert_eq!(sha256(&echoed), sha256(&data));
    assert_eq!(server.join().expect("rustls thread"), 0);
}

#[tokio::test]
async fn client_against_rustls_tls13() {
    client_against_rustls(ProtocolVersion::Tls13).await;
}

#[tokio::test]
async fn client_against_rustls_tls12() {
    client_against_rustls(ProtocolVersion::Tls12).await;
}

/// Our server (echo) against a rustls client (in a thread).
async fn server_against_rustls(version: ProtocolVersion) {
    let len = MIB;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let config = Arc::new(rustls_peer::client_config(rustls_provider(version)));
    let data = payload(5, len);
    let sent = data.clone();
    let client = thread::spawn(move || {
        let sock = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        sock.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
        let conn = rustls::ClientConnection::new(config, name).expect("rustls client");
        let mut tls = rustls::StreamOwned::new(conn, sock);
        tls.write_all(&sent).expect("rustls writes");
        let mut echoed = vec![0u8; sent.len()];
        tls.read_exact(&mut echoed).expect("rustls reads the echo");
        let mut rest = Vec::new();
        tls.read_to_end(&mut rest).expect("our close_notify");
        tls.conn.send_close_notify();
        tls.flush().expect("rustls flushes");
        (echoed, rest.len())
    });
    let (sock, _) = listener.accept().await.expect("accept");
    let mut tls = TlsAcceptor::from(server_config(version))
        .accept(sock)
        .await
        .expect("handshake with rustls");
    assert_eq!(tls.protocol_version(), Some(version));
    echo_n(&mut tls, len).await.expect("echo");
    let (echoed, after) = client.join().expect("rustls thread");
    assert_eq!(after, 0);
    assert_eq!(sha256(&echoed), sha256(&data));
}

#[tokio::test]
async fn server_against_rustls_tls13() {
    server_against_rustls(ProtocolVersion::Tls13).await;
}

#[tokio::test]
async fn server_against_rustls_tls12() {
    server_against_rustls(ProtocolVersion::Tls12).await;
}

/// 8 MiB each way at once between our client and our server over TCP, the
/// client writing while it reads: the echo's SHA-256 matches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_8mib_both_ways() {
    let len = 8 * MIB;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = TlsAcceptor::from(server_config(ProtocolVersion::Tls13));
    let server = tokio::spawn(async move {
        let (sock, _) = listener.accept().await?;
        let mut tls = acceptor.accept(sock).await?;
        echo_n(&mut tls, len).await
    });
    let sock = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let tls = TlsConnector::from(client_config(ProtocolVersion::Tls13))
        .connect("localhost", sock)
        .await
        .expect("handshake");
    let data = payload(6, len);
    let (mut reader, mut writer) = tokio::io::split(tls);
    let sent = data.clone();
    let write = tokio::spawn(async move {
        writer.write_all(&sent).await?;
        writer.shutdown().await
    });
    let mut echoed = Vec::new();
    reader
        .read_to_end(&mut echoed)
        .await
        .expect("read the echo");
    write.await.expect("join").expect("write");
    server.await.expect("join").expect("server");
    assert_eq!(echoed.len(), len);
    assert_eq!(sha256(&echoed), sha256(&data));
}
