//! 0-RTT with OpenSSL: our server never accepts early data, and rejects it
//! the way RFC 8446 §4.2.10 says: no early_data in EncryptedExtensions, the
//! client's 0-RTT records skipped (they fail to decrypt under the handshake
//! key), a bounded amount of them, and none of their bytes handed to the
//! application. (That our client sends no early data unasked is checked in
//! openssl_resumption.rs, against an s_server whose tickets allow it.)
//!
//! `openssl s_client -sess_in F -early_data FILE` sends FILE as 0-RTT data
//! only if the saved session allows early data. Our tickets carry no
//! early_data extension, so the session s_client saves from us says 0; the
//! tests that need s_client to send early data set the session's
//! max_early_data (through `openssl sess_id`) as if our ticket had allowed it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tls_core::{NamedGroup, ServerConfig};
use tls_tests::engine::{Outcome, EXCHANGE_TIMEOUT};
use tls_tests::openssl_peer::{
    s_client, s_client_session, session_der, session_with_max_early_data, unique_file,
    write_session, SClient, Trace,
};
use tls_tests::{payload, server_config, KeyType, OneShotServer, Step, PEER_TIMEOUT};

fn arg(path: &Path) -> String {
    path.display().to_string()
}

/// One s_client connection to our server (sharing `config`): 2048 bytes
/// each way, our close_notify, then s_client's. `extra` are s_client
/// arguments (`-sess_out F`, `-sess_in F`, `-early_data F`). Only what
/// s_client sends after the handshake counts as its 2048 bytes.
fn connection(
    config: &Arc<ServerConfig>,
    tag: &str,
    seed: u64,
    extra: &[&str],
) -> (Outcome, SClient) {
    s_client_session(config, tag, seed, 2048, extra)
}

/// A session saved by s_client from a full handshake with our server.
fn saved_session(config: &Arc<ServerConfig>, tag: &str) -> PathBuf {
    let sess = unique_file(&format!("{tag}.sess"));
    let (outcome, _) = connection(config, tag, 1, &["-sess_out", &arg(&sess)]);
    assert!(!outcome.negotiated.expect("negotiated").resumed);
    assert!(sess.exists(), "s_client saved a session");
    sess
}

/// The early data file: digits, distinct from every other payload.
fn early_data_file(len: usize) -> (PathBuf, Vec<u8>) {
    let data = payload(999, len);
    let path = unique_file("early.txt");
    std::fs::write(&path, &data).expect("write the early data file");
    (path, data)
}

/// A copy of `sess` that allows `max` bytes of early data.
fn session_allowing_early_data(sess: &Path, max: u32) -> PathBuf {
    let edited = unique_file("early.sess");
    write_session(
        &session_with_max_early_data(&session_der(sess), max),
        &edited,
    );
    edited
}

fn stdout_text(client: &SClient) -> String {
    String::from_utf8_lossy(&client.peer.stdout()).into_owned()
}

/// Application data records s_client sent before it received the server's
/// ServerHello (or HelloRetryRequest): its 0-RTT records.
fn early_records_sent(trace: &Trace) -> usize {
    let text = &trace.text;
    let first_received = text.find("Received Record").unwrap_or(text.len());
    text[..first_received]
        .split("Sent Record")
        .filter(|r| r.contains("Content Type = ApplicationData (23)"))
        .count()
}

#[test]
fn s_client_sends_no_early_data_on_our_tickets() {
    let config = Arc::new(server_config(KeyType::EcdsaP256));
    let sess = saved_session(&config, "no-early");
    let (early, _) = early_data_file(1000);
    let (outcome, mut client) = connection(
        &config,
        "no-early2",
        2,
        &["-sess_in", &arg(&sess), "-early_data", &arg(&early)],
    );
    assert!(outcome.negotiated.expect("negotiated").resumed);
    let trace = client.trace();
    assert!(
        !trace.messages(true, "ClientHello")[0].has_extension("early_data"),
        "our ticket did not allow early data\n{}",
        trace.text
    );
    assert_eq!(early_records_sent(&trace), 0);
    assert!(
        stdout_text(&client).contains("Early data was not sent"),
        "{}",
        client.peer.diagnostics()
    );
}

/// s_client resumes with a session that allows early data and sends
/// `early_len` bytes of it; our server (with `config`) rejects it and the
/// connection goes on.
fn early_data_is_rejected(
    config: ServerConfig,
    early_len: usize,
    extra: &[&str],
) -> (Outcome, SClient) {
    let config = Arc::new(config);
    let sess = saved_session(&config, "early");
    let allowing = session_allowing_early_data(&sess, 16384);
    let (early, _) = early_data_file(early_len);
    let mut args = vec![
        "-sess_in".to_string(),
        arg(&allowing),
        "-early_data".into(),
        arg(&early),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (outcome, mut client) = connection(&config, "early2", 3, &args);
    let trace = client.trace();
    let n = outcome.negotiated.as_ref().expect("negotiated");
    assert!(
        n.resumed,
        "our server resumed: {n:?}\n{}\n{}",
        trace.text,
        client.peer.diagnostics()
    );
    assert!(
        trace.messages(true, "ClientHello")[0].has_extension("early_data"),
        "s_client offered early data\n{}",
        trace.text
    );
    assert!(
        early_records_sent(&trace) > 0,
        "s_client sent 0-RTT records\n{}",
        trace.text
    );
    let ee = trace.messages(false, "EncryptedExtensions");
    assert_eq!(ee.len(), 1);
    assert!(
        !ee[0].has_extension("early_data"),
        "our server did not accept it"
    );
    assert!(trace.messages(true, "EndOfEarlyData").is_empty());
    assert!(
        stdout_text(&client).contains("Early data was rejected"),
        "{}",
        client.peer.diagnostics()
    );
    (outcome, client)
}

#[test]
fn our_server_skips_rejected_early_data_from_s_client() {
    let (outcome, _) = early_data_is_rejected(server_config(KeyType::EcdsaP256), 4000, &[]);
    assert!(outcome.negotiated.expect("negotiated").resumed);
}

#[test]
fn our_server_skips_a_full_record_of_rejected_early_data() {
    // 16 KiB of early data: the largest amount the session allows, in
    // full-size records.
    let (outcome, _) = early_data_is_rejected(server_config(KeyType::EcdsaP256), 16384, &[]);
    assert!(outcome.negotiated.expect("negotiated").resumed);
}

#[test]
fn our_server_skips_early_data_sent_before_its_hello_retry_request() {
    // Our server wants P-384; s_client's key share is X25519: a
    // HelloRetryRequest. s_client sent its 0-RTT records right after its
    // first ClientHello; they reach our server before it has any key, and
    // must be skipped all the same (RFC 8446 §4.2.10).
    let mut config = server_config(KeyType::EcdsaP256);
    config.groups = vec![NamedGroup::Secp384r1];
    let (outcome, mut client) = early_data_is_rejected(config, 4000, &["-groups", "X25519:P-384"]);
    let n = outcome.negotiated.expect("negotiated");
    assert!(n.hello_retry && n.resumed, "{n:?}");
    let trace = client.trace();
    let hellos = trace.messages(true, "ClientHello");
    assert_eq!(hellos.len(), 2);
    assert!(!hellos[1].has_extension("early_data"));
}

#[test]
fn too_much_rejected_early_data_is_refused_without_a_hang() {
    // A session allowing 200 KB, and 100 KB of early data: more than our
    // server skips (64 KiB). It gives up with unexpected_message.
    let config = Arc::new(server_config(KeyType::EcdsaP256));
    let sess = saved_session(&config, "flood");
    let allowing = session_allowing_early_data(&sess, 200_000);
    let (early, _) = early_data_file(100_000);
    let server = OneShotServer::start_shared(config, vec![Step::Read(1)]);
    let mut client = s_client(
        server.port,
        "early-flood",
        false,
        &["-sess_in", &arg(&allowing), "-early_data", &arg(&early)],
    );
    client.peer.write_stdin(payload(4, 64));
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let failure = outcome
        .failure
        .expect("too much early data must be refused");
    assert_eq!(failure.step, 0, "in the handshake");
    assert_eq!(
        failure.tls,
        Some(tls_core::Error::UnexpectedMessage("too much early data")),
        "our error: {}",
        failure.error
    );
    assert!(outcome.received.is_empty());
    assert_eq!(
        tls_core::Error::UnexpectedMessage("too much early data").alert(),
        Some(tls_core::AlertDescription::UnexpectedMessage)
    );
    // s_client fails: it reads our unexpected_message alert or, still
    // writing its early data when our server closed with that data unread,
    // its connection is reset first ("Error writing early data", errno 104):
    // which one is a race. The alert bytes are checked in memory
    // (tls-core/tests/loopback.rs).
    let status = client.peer.wait(PEER_TIMEOUT).expect("s_client exits");
    assert!(!status.success(), "{}", client.peer.diagnostics());
}
