//! TLS 1.3 KeyUpdate with OpenSSL in the middle of a transfer, started by
//! either side, with or without asking the other to update too; the data
//! before and after each update arrives intact. And a flood of KeyUpdates
//! without data between them is cut off with unexpected_message.
//!
//! OpenSSL's peers take a KeyUpdate command from stdin: a read from stdin
//! that starts with `k` (update) or `K` (update and request one), and only
//! when not `-quiet`. So a command is written only once the data before it
//! has gone through (our side acknowledged it, or read all of it), and the
//! next data only once the peer printed that it acted on it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use tls_core::{CipherSuite, TlsStream};
use tls_tests::data::{read_exact_within, read_to_close, write_chunked};
use tls_tests::engine::{connect, EXCHANGE_TIMEOUT};
use tls_tests::openssl_peer::{s_client, s_server, SClient, SServer, Trace};
use tls_tests::{
    assert_same_bytes, client_config, payload, server_config, KeyType, OneShotServer, Peer, Step,
    PEER_TIMEOUT,
};

const PART: usize = 200 * 1024;

/// What `s_client` prints (to stderr) when it takes a KeyUpdate command.
const S_CLIENT_SAYS: &str = "KEYUPDATE";
/// What `s_server` prints (to stdout, at exit: stdio) when it has sent a KeyUpdate.
const S_SERVER_SAYS: &str = "SSL_do_handshake -> 1";

fn printed(peer: &Peer, marker: &str) -> usize {
    let out = String::from_utf8_lossy(&peer.stdout()).into_owned();
    out.matches(marker).count() + peer.stderr().matches(marker).count()
}

/// Writes a command line to the peer's stdin and waits until it has acted
/// on it (printed `marker` for the `n`th time).
fn command(peer: &mut Peer, letter: &str, marker: &str, n: usize) {
    peer.write_stdin(format!("{letter}\n").into_bytes());
    peer.finish_stdin_write();
    assert!(
        peer.wait_output(PEER_TIMEOUT, |out, err| {
            out.matches(marker).count() + err.matches(marker).count() >= n
        }),
        "the peer did not take `{letter}` as KeyUpdate command {n}\n{}",
        peer.diagnostics()
    );
    assert_eq!(printed(peer, marker), n);
}

/// Waits until the peer printed `text` (a line of our data).
fn wait_printed(peer: &Peer, text: &[u8]) {
    let text = String::from_utf8(text.to_vec()).expect("digits");
    assert!(
        peer.wait_output_contains(&text, PEER_TIMEOUT),
        "the peer did not print {text:?}\n{}",
        peer.diagnostics()
    );
}

/// KeyUpdate messages in `trace` in one direction, by request_update value.
fn key_updates(trace: &Trace, sent: bool) -> Vec<&'static str> {
    trace
        .messages(sent, "KeyUpdate")
        .iter()
        .map(|m| {
            if m.detail.contains("update_not_requested") {
                "not_requested"
            } else if m.detail.contains("update_requested") {
                "requested"
            } else {
                "?"
            }
        })
        .collect()
}

// ---- openssl s_client updates, our server ----

/// s_client sends part 1, `k`, part 2, `K`, part 3; our server acknowledges
/// each part with a short line (the last one under the key it moved to
/// because `K` asked it to).
fn s_client_updates(suite: CipherSuite, openssl_name: &str) {
    let parts = [payload(31, PART), payload(32, PART), payload(33, PART)];
    let acks = [payload(41, 64), payload(42, 64), payload(43, 64)];
    let mut steps = Vec::new();
    for (part, ack) in parts.iter().zip(&acks) {
        steps.push(Step::Read(part.len()));
        steps.push(Step::Write(ack.clone()));
    }
    steps.extend([Step::SendClose, Step::ExpectClose]);
    let server = OneShotServer::start(server_config(KeyType::EcdsaP256), steps);
    let mut client: SClient = s_client(
        server.port,
        "keyupdate",
        false,
        &["-ciphersuites", openssl_name],
    );
    let peer = &mut client.peer;
    for (i, (part, ack)) in parts.iter().zip(&acks).enumerate() {
        peer.write_stdin(part.clone());
        peer.finish_stdin_write();
        wait_printed(peer, ack);
        match i {
            0 => command(peer, "k", S_CLIENT_SAYS, 1),
            1 => command(peer, "K", S_CLIENT_SAYS, 2),
            _ => {}
        }
    }
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    if outcome.failure.is_some() {
        peer.wait(Duration::from_secs(2));
        println!("{}", peer.diagnostics());
    }
    outcome.expect_ok("our server vs s_client's KeyUpdates");
    peer.wait_success(PEER_TIMEOUT);

    assert_same_bytes("our server received", &outcome.received, &parts.concat());
    assert!(outcome.saw_close_notify);
    assert_eq!(outcome.negotiated.expect("negotiated").suite, suite);
    let trace = client.trace();
    assert_eq!(
        key_updates(&trace, true),
        ["not_requested", "requested"],
        "s_client sent k then K\n{}",
        trace.text
    );
    assert_eq!(
        key_updates(&trace, false),
        ["not_requested"],
        "our server answered K with its own KeyUpdate"
    );
}

#[test]
fn s_client_key_updates_mid_transfer_aes128() {
    s_client_updates(CipherSuite::Tls13Aes128GcmSha256, "TLS_AES_128_GCM_SHA256");
}

#[test]
fn s_client_key_updates_mid_transfer_aes256() {
    s_client_updates(CipherSuite::Tls13Aes256GcmSha384, "TLS_AES_256_GCM_SHA384");
}

#[test]
fn s_client_key_updates_mid_transfer_chacha20() {
    s_client_updates(
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        "TLS_CHACHA20_POLY1305_SHA256",
    );
}

#[test]
fn s_client_key_update_flood_is_cut_off_with_unexpected_message() {
    let part = payload(34, 4096);
    let ack = payload(44, 64);
    let server = OneShotServer::start(
        server_config(KeyType::EcdsaP256),
        vec![
            Step::Read(part.len()),
            Step::Write(ack.clone()),
            Step::Read(1),
        ],
    );
    let mut client = s_client(server.port, "flood", false, &[]);
    let peer = &mut client.peer;
    // 32 KeyUpdates in a row are accepted; data resets the count.
    for n in 1..=32 {
        command(peer, "k", S_CLIENT_SAYS, n);
    }
    peer.write_stdin(part.clone());
    peer.finish_stdin_write();
    wait_printed(peer, &ack);
    for n in 33..=65 {
        command(peer, "k", S_CLIENT_SAYS, n);
    }
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let failure = outcome.failure.expect("the flood must be refused");
    assert_eq!(failure.step, 3, "refused while waiting for more data");
    assert_eq!(
        failure.tls,
        Some(tls_core::Error::UnexpectedMessage("KeyUpdate flood")),
        "our error: {}",
        failure.error
    );
    assert_same_bytes("our server received", &outcome.received, &part);
    let status = peer.wait(PEER_TIMEOUT).expect("s_client exits");
    assert!(!status.success(), "s_client fails\n{}", peer.diagnostics());
    let trace = client.trace();
    assert_eq!(trace.messages(true, "KeyUpdate").len(), 65);
    assert!(
        trace.has_alert(false, 10),
        "s_client received unexpected_message\n{}",
        client.peer.diagnostics()
    );
}

// ---- our client updates, openssl s_server ----

#[test]
fn our_client_updates_keys_mid_transfer_with_s_server() {
    let mut server = s_server(KeyType::EcdsaP256, 1, true, &[]);
    let mut stream = connect(
        server.port,
        client_config(KeyType::EcdsaP256),
        Some("localhost"),
    )
    .unwrap_or_else(|e| panic!("handshake: {e}\n{}", server.peer.diagnostics()));
    let up = [payload(51, PART), payload(52, PART), payload(53, PART)];
    let down = [payload(61, PART), payload(62, PART)];
    let mut sent = 0;
    let mut got = Vec::new();
    for (i, part) in up.iter().enumerate() {
        write_chunked(&mut stream, part, 16 * 1024).expect("write to s_server");
        sent += part.len();
        assert!(
            server.peer.wait_stdout_len(sent, PEER_TIMEOUT),
            "s_server printed {} of {sent} bytes\n{}",
            server.peer.stdout().len(),
            server.peer.diagnostics()
        );
        match i {
            // Ask s_server to update too; its answer comes before its next data.
            0 => stream.conn_mut().update_keys(true).expect("KeyUpdate"),
            1 => stream.conn_mut().update_keys(false).expect("KeyUpdate"),
            _ => {}
        }
        if let Some(part) = down.get(i) {
            server.peer.write_stdin(part.clone());
            server.peer.finish_stdin_write();
            got.extend(read_exact_within(&mut stream, part.len(), EXCHANGE_TIMEOUT).expect("read"));
        }
    }
    stream.close_notify().expect("close_notify");
    read_to_close(&mut stream, 0, EXCHANGE_TIMEOUT).expect("s_server's close_notify");
    server.peer.wait_success(PEER_TIMEOUT);
    assert_same_bytes("s_server received", &server.peer.stdout(), &up.concat());
    assert_same_bytes("our client received", &got, &down.concat());
    let trace = server.trace();
    assert_eq!(
        key_updates(&trace, false),
        ["requested", "not_requested"],
        "s_server received our KeyUpdates\n{}",
        trace.text
    );
    assert_eq!(
        key_updates(&trace, true),
        ["not_requested"],
        "s_server answered the request"
    );
}

// ---- openssl s_server updates, our client ----

/// Reads one record straight from the socket and feeds it to our client:
/// after an `s_server` KeyUpdate command, with no data in flight, that is the
/// KeyUpdate. (s_server writes what it prints about it with stdio, which a
/// pipe does not flush, so the test watches the wire instead.) Returns true
/// if our client queued an answer.
fn take_key_update(stream: &mut TlsStream<TcpStream>) -> bool {
    let mut header = [0u8; 5];
    let mut sock: &TcpStream = stream.get_ref();
    sock.read_exact(&mut header)
        .expect("a record from s_server");
    assert_eq!(header[0], 23, "a protected record");
    let mut body = vec![0u8; usize::from(u16::from_be_bytes([header[3], header[4]]))];
    sock.read_exact(&mut body).expect("the record's body");
    let conn = stream.conn_mut();
    conn.feed(&header).expect("feed");
    conn.feed(&body).expect("feed the KeyUpdate");
    assert_eq!(conn.plaintext_len(), 0, "the record carried no data");
    let answered = conn.wants_write();
    stream.flush().expect("send our answer");
    answered
}

/// Has s_server send a KeyUpdate (`k`, or `K` to request ours too).
fn s_server_command(server: &mut SServer, stream: &mut TlsStream<TcpStream>, letter: &str) {
    server.peer.write_stdin(format!("{letter}\n").into_bytes());
    server.peer.finish_stdin_write();
    let answered = take_key_update(stream);
    assert_eq!(answered, letter == "K", "our client answers only a request");
}

#[test]
fn s_server_key_updates_mid_transfer_to_our_client() {
    let mut server = s_server(KeyType::EcdsaP256, 1, false, &[]);
    let mut stream = connect(
        server.port,
        client_config(KeyType::EcdsaP256),
        Some("localhost"),
    )
    .unwrap_or_else(|e| panic!("handshake: {e}\n{}", server.peer.diagnostics()));
    let down = [payload(71, PART), payload(72, PART), payload(73, PART)];
    let up = [payload(81, 4096), payload(82, 4096), payload(83, 4096)];
    let mut got = Vec::new();
    for (i, (d, u)) in down.iter().zip(&up).enumerate() {
        server.peer.write_stdin(d.clone());
        server.peer.finish_stdin_write();
        got.extend(read_exact_within(&mut stream, d.len(), EXCHANGE_TIMEOUT).expect("read"));
        // Our data goes under our current key (after answering a `K`).
        write_chunked(&mut stream, u, 16 * 1024).expect("write");
        wait_printed(&server.peer, u);
        match i {
            0 => s_server_command(&mut server, &mut stream, "k"),
            1 => s_server_command(&mut server, &mut stream, "K"),
            _ => {}
        }
    }
    stream.close_notify().expect("close_notify");
    read_to_close(&mut stream, 0, EXCHANGE_TIMEOUT).expect("s_server's close_notify");
    server.peer.wait(PEER_TIMEOUT).expect("s_server exits");
    assert_same_bytes("our client received", &got, &down.concat());
    assert_eq!(
        printed(&server.peer, S_SERVER_SAYS),
        2,
        "{}",
        server.peer.diagnostics()
    );
    let trace = server.trace();
    assert_eq!(
        key_updates(&trace, true),
        ["not_requested", "requested"],
        "s_server sent k then K\n{}",
        trace.text
    );
    assert_eq!(
        key_updates(&trace, false),
        ["not_requested"],
        "our client answered K"
    );
}
