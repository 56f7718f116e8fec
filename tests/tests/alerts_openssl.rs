//! Malformed or misplaced first messages, sent as raw bytes to OpenSSL and
//! to our engine: both must answer with the same alert (OpenSSL is the
//! oracle here; the table in tls-core's negative_tests/alert_table.rs covers
//! every state). Server side: the bytes go to `openssl s_server` and to our
//! server. Client side: a raw listener in the test answers the ClientHello of
//! `openssl s_client` and of our client with them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use tls_core::{Connection, TlsStream};
use tls_tests::engine::{client_config, server_config, OneShotServer};
use tls_tests::openssl_peer::{s_client, s_server};
use tls_tests::peer::{connect_local, set_timeouts, PEER_TIMEOUT};
use tls_tests::pki::KeyType;

const UNEXPECTED_MESSAGE: u8 = 10;
const DECODE_ERROR: u8 = 50;

/// Reads one whole record (`None` at end of stream or on a timeout).
fn read_record(sock: &mut TcpStream) -> Option<(u8, Vec<u8>)> {
    let mut header = [0u8; 5];
    sock.read_exact(&mut header).ok()?;
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    sock.read_exact(&mut body).ok()?;
    Some((header[0], body))
}

/// The description of the first alert record that arrives on `sock`.
fn alert_received(sock: &mut TcpStream) -> Option<u8> {
    while let Some((typ, body)) = read_record(sock) {
        if typ == 21 {
            return match body[..] {
                [_, description] => Some(description),
                _ => panic!("malformed alert record {body:?}"),
            };
        }
    }
    None
}

/// Sends `bytes` to a server on `port` and returns the alert it answers with.
fn server_answer(port: u16, bytes: &[u8]) -> Option<u8> {
    let mut sock = connect_local(port).expect("connect");
    sock.write_all(bytes).expect("send");
    alert_received(&mut sock)
}

/// Accepts one client on `listener`, answers its ClientHello with `bytes`
/// and returns the alert the client sends back.
fn client_answer(listener: &TcpListener, bytes: &[u8]) -> Option<u8> {
    let (mut sock, _) = listener.accept().expect("accept");
    set_timeouts(&sock).unwrap();
    let (typ, _hello) = read_record(&mut sock).expect("ClientHello");
    assert_eq!(typ, 22, "a handshake record first");
    sock.write_all(bytes).expect("send");
    alert_received(&mut sock)
}

/// A handshake record holding one message of `typ` with a one-byte body.
fn message(typ: u8) -> Vec<u8> {
    vec![22, 3, 3, 0, 5, typ, 0, 0, 1, 3]
}

#[test]
fn first_flight_alerts_match_openssl_s_server() {
    let cases: Vec<(&str, Vec<u8>, u8)> = vec![
        (
            "zero-length alert record",
            vec![21, 3, 3, 0, 0],
            UNEXPECTED_MESSAGE,
        ),
        (
            "zero-length alert record, version 3.1",
            vec![21, 3, 1, 0, 0],
            UNEXPECTED_MESSAGE,
        ),
        ("ServerHello first", message(2), UNEXPECTED_MESSAGE),
        ("Certificate first", message(11), UNEXPECTED_MESSAGE),
        ("Finished first", message(20), UNEXPECTED_MESSAGE),
        ("KeyUpdate first", message(24), UNEXPECTED_MESSAGE),
        (
            "Certificate of 16 MiB first",
            vec![22, 3, 1, 0, 4, 11, 0xff, 0xff, 0xff],
            UNEXPECTED_MESSAGE,
        ),
        (
            "ChangeCipherSpec first",
            vec![20, 3, 3, 0, 1, 1],
            UNEXPECTED_MESSAGE,
        ),
        (
            "application data first",
            vec![23, 3, 3, 0, 1, 1],
            UNEXPECTED_MESSAGE,
        ),
        (
            "unknown record type",
            vec![99, 3, 3, 0, 1, 1],
            UNEXPECTED_MESSAGE,
        ),
        (
            "ClientHello cut short",
            vec![22, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0, 0],
            DECODE_ERROR,
        ),
    ];
    let openssl = s_server(KeyType::EcdsaP256, cases.len() as u32, true, &[]);
    for (what, bytes, want) in &cases {
        let theirs = server_answer(openssl.port, bytes);
        let server = OneShotServer::start(server_config(KeyType::EcdsaP256), Vec::new());
        let ours = server_answer(server.port, bytes);
        let outcome = server.finish(PEER_TIMEOUT);
        assert_eq!(theirs, Some(*want), "{what}: openssl s_server");
        assert_eq!(ours, theirs, "{what}: ours against openssl ({outcome:?})");
    }
}

#[test]
fn first_flight_alerts_match_openssl_s_client() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("zero-length alert record", vec![21, 3, 3, 0, 0]),
        ("ClientHello instead of ServerHello", message(1)),
        ("NewSessionTicket instead of ServerHello", message(4)),
        ("EncryptedExtensions instead of ServerHello", message(8)),
        ("Certificate instead of ServerHello", message(11)),
        ("Finished instead of ServerHello", message(20)),
    ];
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    for (what, bytes) in &cases {
        let _openssl = s_client(port, "alerts", true, &[]);
        let theirs = client_answer(&listener, bytes);

        let ours = thread::spawn(move || {
            let sock = connect_local(port).expect("connect");
            let config = Arc::new(client_config(KeyType::EcdsaP256));
            let conn = Connection::client(config, Some("localhost")).unwrap();
            TlsStream::new(conn, sock).handshake().is_err()
        });
        let answer = client_answer(&listener, bytes);
        assert!(ours.join().unwrap(), "{what}: our client accepted it");
        assert_eq!(theirs, Some(UNEXPECTED_MESSAGE), "{what}: openssl s_client");
        assert_eq!(answer, theirs, "{what}: ours against openssl");
    }
}
