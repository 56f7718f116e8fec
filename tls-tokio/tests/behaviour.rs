//! The adapter's stream semantics, our client and server over an in-memory
//! pipe: half-close and close_notify, EOF without close_notify, errors
//! carrying the TLS error, bounded write buffering, vectored writes.

use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use tls_core::{ProtocolVersion, ServerConfig};
use tls_tests::KeyType;
use tls_tokio::{TlsAcceptor, TlsConnector, TlsStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream};

fn server_config() -> Arc<ServerConfig> {
    Arc::new(tls_tests::server_config(KeyType::EcdsaP256))
}

/// A handshaken client and server over a pipe holding `capacity` bytes
/// each way, in `version`.
async fn pair(
    version: ProtocolVersion,
    capacity: usize,
) -> (TlsStream<DuplexStream>, TlsStream<DuplexStream>) {
    let (client_io, server_io) = tokio::io::duplex(capacity);
    let mut client_config = tls_tests::client_config(KeyType::EcdsaP256);
    client_config.versions = vec![version];
    let connector = TlsConnector::from(Arc::new(client_config));
    let acceptor = TlsAcceptor::from(server_config());
    let (client, server) = tokio::join!(
        connector.connect("localhost", client_io),
        acceptor.accept(server_io)
    );
    (
        client.expect("client handshake"),
        server.expect("server handshake"),
    )
}

/// The TLS error inside an adapter error.
fn tls_error(e: &io::Error) -> Option<&tls_core::Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref())
}

/// After the peer's close_notify, reads return EOF and writes still go
/// through; after ours, the peer reads EOF and can still answer.
async fn half_close(version: ProtocolVersion) {
    let (mut client, mut server) = pair(version, 64 * 1024).await;
    client.write_all(b"request").await.expect("write");
    client.shutdown().await.expect("client close_notify");

    let mut request = Vec::new();
    server
        .read_to_end(&mut request)
        .await
        .expect("EOF at close_notify");
    assert_eq!(request, b"request");
    assert_eq!(server.read(&mut [0u8; 8]).await.expect("EOF again"), 0);
    // Half-close: the server still writes after the client's close_notify.
    server
        .write_all(b"response")
        .await
        .expect("write after peer closed");
    server.shutdown().await.expect("server close_notify");

    let mut response = Vec::new();
    client
        .read_to_end(&mut response)
        .await
        .expect("read after our shutdown");
    assert_eq!(response, b"response");
    assert!(client.connection().peer_closed());

    // Nothing can be written after our own close_notify.
    let err = client
        .write_all(b"late")
        .await
        .expect_err("write after shutdown");
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(tls_error(&err), Some(&tls_core::Error::Closed));
}

#[tokio::test]
async fn half_close_tls13() {
    half_close(ProtocolVersion::Tls13).await;
}

#[tokio::test]
async fn half_close_tls12() {
    half_close(ProtocolVersion::Tls12).await;
}

/// A transport that ends without close_notify is an `UnexpectedEof` error
/// (a truncation), not a clean EOF.
#[tokio::test]
async fn eof_without_close_notify_is_an_error() {
    let (mut client, server) = pair(ProtocolVersion::Tls13, 64 * 1024).await;
    let (server_io, _) = server.into_inner();
    drop(server_io);
    let err = client.read(&mut [0u8; 16]).await.expect_err("truncation");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(tls_error(&err), Some(&tls_core::Error::UnexpectedEof));
}

/// A refused certificate fails `connect` with the TLS error inside, and the
/// server learns of it through the alert.
#[tokio::test]
async fn handshake_failure_carries_the_tls_error() {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let pinned = vec![tls_tests::pki().unrelated.cert_der.clone()];
    let connector = TlsConnector::from(Arc::new(tls_core::ClientConfig::with_pinned_certs(pinned)));
    let acceptor = TlsAcceptor::from(server_config());
    let (client, server) = tokio::join!(
        connector.connect("localhost", client_io),
        acceptor.accept(server_io)
    );
    let err = client.expect_err("pinned to another certificate");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(
        matches!(tls_error(&err), Some(tls_core::Error::BadCertificate(_))),
        "{err:?}"
    );
    let err = server.expect_err("the client's alert");
    assert!(
        matches!(tls_error(&err), Some(tls_core::Error::AlertReceived(_))),
        "{err:?}"
    );
}

/// A name that is neither a DNS name nor an IP address fails at once,
/// before anything is sent; a typed `ServerName` is taken as it is.
#[tokio::test]
async fn server_names_are_checked() {
    let connector = TlsConnector::from(Arc::new(tls_tests::client_config(KeyType::EcdsaP256)));
    for bad in ["not a host name!", "", "example.com.", "host:443"] {
        let (client_io, mut server_io) = tokio::io::duplex(1024);
        let err = connector
            .connect(bad, client_io)
            .await
            .expect_err("bad name");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        let mut sent = Vec::new();
        server_io.read_to_end(&mut sent).await.expect("read");
        assert!(sent.is_empty(), "nothing sent for {bad:?}");
    }
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let name = tls_core::ServerName::try_from("localhost").expect("name");
    let (client, server) = tokio::join!(
        connector.connect(name, client_io),
        TlsAcceptor::from(server_config()).accept(server_io)
    );
    assert_eq!(client.expect("client").server_name(), Some("localhost"));
    server.expect("server");
}

/// Against a peer that does not read, writes stop being accepted once a
/// bounded amount is queued: the writer waits instead of buffering 8 MiB.
#[tokio::test]
async fn writes_wait_for_a_slow_transport() {
    let (mut client, _server) = pair(ProtocolVersion::Tls13, 4096).await;
    let data = vec![7u8; 8 << 20];
    let accepted = poll_fn(|cx| {
        let mut accepted = 0usize;
        while accepted < data.len() {
            match Pin::new(&mut client).poll_write(cx, &data[accepted..]) {
                Poll::Ready(Ok(n)) => accepted += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => break,
            }
        }
        Poll::Ready(Ok::<_, io::Error>(accepted))
    })
    .await
    .expect("writes");
    assert!(accepted > 0, "some data is accepted");
    assert!(
        accepted <= 256 * 1024,
        "{accepted} bytes accepted with nobody reading"
    );
    assert!(client.connection().pending_tls().len() <= 256 * 1024);
}

/// `write_vectored` takes many small slices in one call, coalesced into
/// records, and the peer reads them in order.
#[tokio::test]
async fn vectored_writes() {
    let (mut client, mut server) = pair(ProtocolVersion::Tls13, 64 * 1024).await;
    assert!(client.is_write_vectored());
    let parts: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i; 10]).collect();
    let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
    let n = client
        .write_vectored(&slices)
        .await
        .expect("write_vectored");
    assert_eq!(n, 1000, "all slices taken in one call");
    client.shutdown().await.expect("close_notify");
    let mut got = Vec::new();
    server.read_to_end(&mut got).await.expect("read");
    assert_eq!(got, parts.concat());
}

/// A generic check that the stream is usable where `AsyncRead + AsyncWrite`
/// is required, e.g. `tokio::io::copy_bidirectional`.
#[tokio::test]
async fn works_with_copy_bidirectional() {
    fn assert_io<T: AsyncRead + AsyncWrite + Unpin + Send>(_: &T) {}
    let (mut client, mut server) = pair(ProtocolVersion::Tls13, 64 * 1024).await;
    assert_io(&client);
    let (mut plain_a, mut plain_b) = tokio::io::duplex(64 * 1024);
    let relay =
        tokio::spawn(async move { tokio::io::copy_bidirectional(&mut server, &mut plain_a).await });
    client.write_all(b"through the relay").await.expect("write");
    let mut buf = [0u8; 17];
    plain_b.read_exact(&mut buf).await.expect("relayed");
    assert_eq!(&buf, b"through the relay");
    plain_b.write_all(b"back").await.expect("write back");
    plain_b.shutdown().await.expect("plain EOF");
    let mut back = Vec::new();
    client
        .read_to_end(&mut back)
        .await
        .expect("read to close_notify");
    assert_eq!(back, b"back");
    client.shutdown().await.expect("close");
    relay.await.expect("join").expect("relay");
}

/// A record the peer cannot have sealed: the read fails with the TLS error
/// and the alert goes out, so the peer's next read reports it.
#[tokio::test]
async fn a_forged_record_fails_with_an_alert() {
    let (mut client, mut server) = pair(ProtocolVersion::Tls13, 64 * 1024).await;
    // Application data (type 23) the server's keys did not seal.
    let forged = [
        23u8, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ];
    server
        .get_mut()
        .write_all(&forged)
        .await
        .expect("raw write");
    let err = client
        .read(&mut [0u8; 64])
        .await
        .expect_err("forged record");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert_eq!(tls_error(&err), Some(&tls_core::Error::BadRecordMac));
    // Later calls report the same error; nothing more is written.
    let again = client.write_all(b"x").await.expect_err("poisoned");
    assert_eq!(tls_error(&again), Some(&tls_core::Error::BadRecordMac));
    let err = server.read(&mut [0u8; 64]).await.expect_err("the alert");
    assert_eq!(
        tls_error(&err),
        Some(&tls_core::Error::AlertReceived(
            tls_core::AlertDescription::BadRecordMac
        ))
    );
}

/// A KeyUpdate asking the peer to update too: the peer's answer, queued by
/// its engine while reading, goes out with its reads and writes, and data
/// keeps flowing both ways under the new keys.
#[tokio::test]
async fn key_update_through_the_adapter() {
    let (mut client, mut server) = pair(ProtocolVersion::Tls13, 64 * 1024).await;
    client
        .connection_mut()
        .update_keys(true)
        .expect("KeyUpdate");
    client.write_all(b"after update").await.expect("write");
    let mut got = [0u8; 12];
    server.read_exact(&mut got).await.expect("read");
    assert_eq!(&got, b"after update");
    server.write_all(b"answer").await.expect("write back");
    let mut back = [0u8; 6];
    client.read_exact(&mut back).await.expect("read back");
    assert_eq!(&back, b"answer");
    client.shutdown().await.expect("close");
    let mut rest = Vec::new();
    server.read_to_end(&mut rest).await.expect("EOF");
    assert!(rest.is_empty());
}
