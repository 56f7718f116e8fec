//! TLS 1.3 session resumption with OpenSSL, both ways, seen as resumed by
//! both sides; and the tickets that must not resume (tampered, expired,
//! wrong binder) with what each side then does.
//!
//! Our client against `openssl s_server -naccept 2` (not `-quiet`, so it
//! prints `Reused session-id` for a resumed connection): two connections
//! with one `ClientConfig`, whose session store keeps the tickets s_server
//! sends after the first handshake. Our client reads until s_server's
//! close_notify, so the tickets (sent after the handshake) are taken in.
//!
//! Our server against `openssl s_client -sess_out F` then `-sess_in F`:
//! s_client (not `-quiet`) prints `New, TLSv1.3` or `Reused, TLSv1.3`.
//! s_client takes our tickets in while it reads our data. The saved session
//! is edited through `openssl sess_id` for the negative cases.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tls_core::{ClientConfig, Clock, Negotiated, ServerConfig, UnixTime};
use tls_tests::engine::{Outcome, EXCHANGE_TIMEOUT};
use tls_tests::openssl_peer::{
    s_client, s_client_session, s_server, s_server_session, session_der, session_ticket,
    session_with_tampered_ticket, session_with_wrong_psk, unique_file, write_session, SClient,
    SServer,
};
use tls_tests::{
    client_config, payload, pki, server_config, KeyType, OneShotServer, Step, PEER_TIMEOUT,
};

// ---- our client, openssl s_server ----

/// One connection of our client to `server`: 4 KiB each way, then
/// close_notify both ways (reading to s_server's close_notify takes in the
/// tickets it sent). Returns what our client negotiated.
fn client_connection(server: &mut SServer, config: &Arc<ClientConfig>, seed: u64) -> Negotiated {
    s_server_session(
        server,
        config,
        &payload(seed, 4096),
        &payload(seed + 100, 4096),
    )
}

fn s_server_output(server: &SServer) -> String {
    String::from_utf8_lossy(&server.peer.stdout()).into_owned()
}

#[test]
fn our_client_resumes_with_s_server() {
    let mut server = s_server(KeyType::EcdsaP256, 2, false, &[]);
    let config = Arc::new(client_config(KeyType::EcdsaP256));
    let first = client_connection(&mut server, &config, 1);
    assert!(!first.resumed, "the first connection is a full handshake");
    let second = client_connection(&mut server, &config, 2);
    server.peer.wait_success(PEER_TIMEOUT);

    assert!(second.resumed, "our client resumed: {second:?}");
    assert_eq!(
        second.peer_certificates.first(),
        Some(&pki().leaf(KeyType::EcdsaP256).cert_der),
        "a resumed session keeps the server's certificate"
    );
    // s_server's view: it says so, and its trace shows a PSK handshake.
    let out = s_server_output(&server);
    assert_eq!(
        out.matches("Reused session-id").count(),
        1,
        "s_server reports exactly one reused session\n{out}"
    );
    let reused_at = out.find("Reused session-id").unwrap_or_default();
    let second_data = String::from_utf8(payload(2, 4096)).expect("digits");
    let second_data_at = out.find(&second_data).unwrap_or_default();
    assert!(
        reused_at < second_data_at
            && out.find(&String::from_utf8(payload(1, 4096)).expect("digits")) < Some(reused_at),
        "the reused session is the second one\n{out}"
    );
    let trace = server.trace();
    let hellos = trace.messages(false, "ClientHello");
    assert_eq!(hellos.len(), 2, "{}", trace.text);
    assert!(!hellos[0].has_extension("psk"), "no ticket yet");
    assert!(
        hellos[1].has_extension("psk"),
        "our client offers the ticket"
    );
    assert!(
        !hellos[1].has_extension("early_data"),
        "our client does not send early data unasked"
    );
    let server_hellos = trace.messages(true, "ServerHello");
    assert_eq!(server_hellos.len(), 2);
    assert!(!server_hellos[0].has_extension("psk"));
    assert!(
        server_hellos[1].has_extension("psk"),
        "s_server accepted the PSK"
    );
    assert_eq!(
        trace.messages(true, "Certificate").len(),
        1,
        "no Certificate in the resumed handshake"
    );
    assert!(!trace.messages(true, "NewSessionTicket").is_empty());
}

#[test]
fn our_client_resumes_with_s_server_offering_early_data_without_sending_any() {
    // s_server's tickets allow 0-RTT: our client still sends no early data.
    let mut server = s_server(
        KeyType::Ed25519,
        2,
        false,
        &["-early_data", "-max_early_data", "16384"],
    );
    let config = Arc::new(client_config(KeyType::Ed25519));
    client_connection(&mut server, &config, 3);
    let second = client_connection(&mut server, &config, 4);
    server.peer.wait_success(PEER_TIMEOUT);
    assert!(second.resumed);
    let trace = server.trace();
    let tickets = trace.messages(true, "NewSessionTicket");
    assert!(
        tickets.iter().any(|t| t.has_extension("early_data")),
        "s_server's tickets allow early data\n{}",
        trace.text
    );
    let hellos = trace.messages(false, "ClientHello");
    assert!(hellos[1].has_extension("psk"));
    assert!(!hellos[1].has_extension("early_data"));
    assert!(trace.messages(false, "EndOfEarlyData").is_empty());
}

/// A session store that corrupts every ticket it hands out.
struct TamperingStore(tls_core::MemorySessionStore);

impl tls_core::ClientSessionStore for TamperingStore {
    fn put(&self, server_name: &str, ticket: tls_core::StoredTicket) {
        self.0.put(server_name, ticket);
    }

    fn take(&self, server_name: &str, now: UnixTime) -> Option<tls_core::StoredTicket> {
        let mut ticket = self.0.take(server_name, now)?;
        ticket.tamper_for_test();
        Some(ticket)
    }
}

#[test]
fn our_tampered_ticket_gets_a_full_handshake_from_s_server() {
    let mut server = s_server(KeyType::EcdsaP256, 2, false, &[]);
    let mut config = client_config(KeyType::EcdsaP256);
    config.session_store = Some(Arc::new(TamperingStore(tls_core::MemorySessionStore::new(
        4,
    ))));
    let config = Arc::new(config);
    client_connection(&mut server, &config, 5);
    let second = client_connection(&mut server, &config, 6);
    server.peer.wait_success(PEER_TIMEOUT);
    assert!(!second.resumed);
    assert!(!s_server_output(&server).contains("Reused session-id"));
    let trace = server.trace();
    let hellos = trace.messages(false, "ClientHello");
    assert!(
        hellos[1].has_extension("psk"),
        "the tampered ticket was offered"
    );
    assert!(!trace.messages(true, "ServerHello")[1].has_extension("psk"));
    assert_eq!(trace.messages(true, "Certificate").len(), 2);
}

// ---- our server, openssl s_client ----

/// A clock the test moves by hand.
struct TestClock(AtomicU64);

impl Clock for TestClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// One s_client connection to our server (sharing `config`): 4096 bytes
/// each way, our close_notify, then s_client's. `extra` are s_client
/// arguments (`-sess_out F`, `-sess_in F`).
fn server_connection(
    config: &Arc<ServerConfig>,
    tag: &str,
    seed: u64,
    extra: &[&str],
) -> (Outcome, SClient) {
    s_client_session(config, tag, seed, 4096, extra)
}

fn s_client_says(client: &SClient, what: &str) -> bool {
    String::from_utf8_lossy(&client.peer.stdout()).contains(what)
}

fn path_arg(path: &std::path::Path) -> String {
    path.display().to_string()
}

/// A first connection that leaves a saved session in a new file.
fn saved_session(config: &Arc<ServerConfig>, tag: &str) -> PathBuf {
    let sess = unique_file(&format!("{tag}.sess"));
    let (outcome, mut client) =
        server_connection(config, tag, 10, &["-sess_out", &path_arg(&sess)]);
    assert!(!outcome.negotiated.expect("negotiated").resumed);
    assert!(
        s_client_says(&client, "New, TLSv1.3"),
        "{}",
        client.peer.diagnostics()
    );
    let trace = client.trace();
    assert_eq!(
        trace.messages(false, "NewSessionTicket").len(),
        2,
        "our server sends two tickets\n{}",
        trace.text
    );
    assert!(sess.exists(), "s_client saved the session");
    sess
}

#[test]
fn our_server_resumes_s_client() {
    let config = Arc::new(server_config(KeyType::EcdsaP256));
    let sess = saved_session(&config, "resume");
    let (outcome, mut client) =
        server_connection(&config, "resume2", 11, &["-sess_in", &path_arg(&sess)]);
    let n = outcome.negotiated.expect("negotiated");
    assert!(n.resumed, "our server resumed: {n:?}");
    assert!(
        s_client_says(&client, "Reused, TLSv1.3"),
        "s_client reports the session reused\n{}",
        client.peer.diagnostics()
    );
    let trace = client.trace();
    assert!(trace.messages(true, "ClientHello")[0].has_extension("psk"));
    assert!(trace.messages(false, "ServerHello")[0].has_extension("psk"));
    assert!(
        trace.messages(false, "Certificate").is_empty(),
        "no Certificate when resumed"
    );
    assert!(trace.messages(false, "CertificateVerify").is_empty());
}

#[test]
fn our_server_gives_a_tampered_s_client_ticket_a_full_handshake() {
    let config = Arc::new(server_config(KeyType::EcdsaP256));
    let sess = saved_session(&config, "tamper");
    let der = session_der(&sess);
    let tampered = session_with_tampered_ticket(&der);
    assert_ne!(session_ticket(&tampered), session_ticket(&der));
    let bad = unique_file("tampered.sess");
    write_session(&tampered, &bad);
    let (outcome, mut client) =
        server_connection(&config, "tamper2", 12, &["-sess_in", &path_arg(&bad)]);
    assert!(!outcome.negotiated.expect("negotiated").resumed);
    assert!(
        s_client_says(&client, "New, TLSv1.3"),
        "{}",
        client.peer.diagnostics()
    );
    let trace = client.trace();
    assert!(
        trace.messages(true, "ClientHello")[0].has_extension("psk"),
        "the ticket was offered"
    );
    assert!(!trace.messages(false, "ServerHello")[0].has_extension("psk"));
    assert_eq!(trace.messages(false, "Certificate").len(), 1);
}

#[test]
fn our_server_gives_an_expired_s_client_ticket_a_full_handshake() {
    let clock = Arc::new(TestClock(AtomicU64::new(1_700_000_000)));
    let mut config = server_config(KeyType::EcdsaP256);
    config.clock = clock.clone();
    config.ticketer = Some(Arc::new(
        tls_core::RotatingTicketer::new(config.rng.clone(), 3600, clock.now()).expect("ticketer"),
    ));
    let config = Arc::new(config);
    let sess = saved_session(&config, "expire");
    // Our server's clock moves past the ticket's one-hour lifetime; s_client's
    // does not, so it still offers the ticket.
    clock.0.fetch_add(2 * 3600, Ordering::SeqCst);
    let (outcome, mut client) =
        server_connection(&config, "expire2", 13, &["-sess_in", &path_arg(&sess)]);
    assert!(!outcome.negotiated.expect("negotiated").resumed);
    assert!(
        s_client_says(&client, "New, TLSv1.3"),
        "{}",
        client.peer.diagnostics()
    );
    let trace = client.trace();
    assert!(trace.messages(true, "ClientHello")[0].has_extension("psk"));
    assert!(!trace.messages(false, "ServerHello")[0].has_extension("psk"));
}

#[test]
fn our_server_refuses_a_wrong_binder_from_s_client_with_decrypt_error() {
    let config = Arc::new(server_config(KeyType::EcdsaP256));
    let sess = saved_session(&config, "binder");
    let bad = unique_file("wrong-psk.sess");
    write_session(&session_with_wrong_psk(&session_der(&sess)), &bad);
    let server = OneShotServer::start_shared(config, vec![Step::Read(1)]);
    let mut client = s_client(
        server.port,
        "binder2",
        false,
        &["-sess_in", &path_arg(&bad)],
    );
    client.peer.write_stdin(payload(14, 64));
    let outcome = server.finish(EXCHANGE_TIMEOUT);
    let failure = outcome
        .failure
        .expect("a wrong binder must fail the handshake");
    assert_eq!(failure.step, 0, "in the handshake");
    assert_eq!(
        failure.tls,
        Some(tls_core::Error::DecryptError("bad PSK binder")),
        "our error: {}",
        failure.error
    );
    let status = client.peer.wait(PEER_TIMEOUT).expect("s_client exits");
    assert!(!status.success(), "s_client fails");
    let trace = client.trace();
    assert!(trace.messages(true, "ClientHello")[0].has_extension("psk"));
    assert!(
        trace.has_alert(false, 51),
        "s_client received decrypt_error\n{}\n{}",
        trace.text,
        client.peer.diagnostics()
    );
}
