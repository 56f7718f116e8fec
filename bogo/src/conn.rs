//! One connection to the runner: handshake, the checks the options ask
//! for, the echo exchange and the shutdown, as BoringSSL's shim does them.

use std::io::{Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tls_core::{Connection, Error, Negotiated, ProtocolVersion};

use crate::config::{self, Credentials, SessionFacts, SetupError, Shared, ShimVerifier};
use crate::opts::Options;

/// How a connection failed.
#[derive(Debug)]
pub enum Failure {
    /// The options ask for something this engine does not do: exit 89.
    Unimplemented(String),
    /// The engine refused the connection (the error the runner checks).
    Tls(Error),
    /// Our verifier refused the peer's certificate (`-verify-fail`); the
    /// engine's error is the one the verifier returned.
    VerifyFailed(Error),
    /// The socket failed, or a check of the options did not hold.
    Other(String),
}

impl From<SetupError> for Failure {
    fn from(e: SetupError) -> Self {
        match e {
            SetupError::Unimplemented(what) => Failure::Unimplemented(what),
            SetupError::Failed(what) => Failure::Other(what),
        }
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Other(format!("socket: {e}"))
    }
}

/// What the BoringSSL shim writes first with `-shim-writes-first`.
const INITIAL_WRITE: &[u8] = b"hello";

/// A connection and its socket.
struct Link {
    tls: Connection,
    sock: TcpStream,
}

impl Link {
    /// Sends everything the engine has queued.
    fn flush(&mut self) -> Result<(), Failure> {
        while self.tls.wants_write() {
            let n = self.sock.write(self.tls.pending_tls())?;
            if n == 0 {
                return Err(Failure::Other("socket closed while writing".into()));
            }
            self.tls.consume_tls(n);
        }
        Ok(())
    }

    /// Reads once from the socket into the engine; false at end of stream.
    /// An engine error is returned after its alert has been sent.
    fn receive(&mut self) -> Result<bool, Failure> {
        let mut buf = [0u8; 16 * 1024];
        let n = self.sock.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        let fed = self.tls.feed(buf.get(..n).unwrap_or_default());
        // The alert for a failure (or our answers) go out first.
        let flushed = self.flush();
        fed.map_err(Failure::Tls)?;
        flushed?;
        Ok(true)
    }
}

/// Runs connection `index` (0 is the initial one) of the shim.
pub fn run(o: &Options, shared: &Shared, index: u32) -> Result<(), Failure> {
    let is_resume = index > 0;
    let mut credentials = None;
    let (tls, verifier) = if o.server {
        let (c, v, creds) = config::server(o, shared)?;
        credentials = Some(creds);
        (Connection::server(Arc::new(c)), v)
    } else {
        let (c, v) = config::client(o, shared)?;
        // Without -host-name, the loopback address names the runner: the
        // engine sends no SNI for an address, and sessions are kept under it.
        let name = o
            .host_name
            .clone()
            .unwrap_or_else(|| loopback(o).ip().to_string());
        (
            Connection::client(Arc::new(c), Some(&name)).map_err(Failure::Tls)?,
            v,
        )
    };
    let sessions_before = shared.store.received();
    let mut sock = TcpStream::connect(loopback(o))?;
    sock.set_nodelay(true)?;
    sock.write_all(&o.shim_id.to_le_bytes())?;
    let mut link = Link { tls, sock };

    if let Err(failure) = handshake(&mut link) {
        return Err(match failure {
            Failure::Tls(e) if verifier.refused.load(Ordering::Relaxed) => Failure::VerifyFailed(e),
            other => other,
        });
    }
    if o.no_op_extra_handshake {
        // The handshake returned with nothing left to send; called again,
        // it must return at once, without reading.
        if link.tls.wants_write() || link.tls.is_handshaking() {
            return Err(Failure::Other("the extra handshake call has work".into()));
        }
        handshake(&mut link)?;
    }
    let negotiated = link
        .tls
        .negotiated()
        .cloned()
        .ok_or_else(|| Failure::Other("handshake ended without a result".into()))?;
    let peer = session_facts(shared, &verifier, &negotiated);
    check_handshake(o, &negotiated, &peer, is_resume)?;
    check_credential(o, credentials.as_deref())?;

    if o.export_keying_material > 0 {
        let mut out = vec![0u8; o.export_keying_material];
        let context = o.use_export_context.then_some(o.export_context.as_slice());
        link.tls
            .export_keying_material(&mut out, &o.export_label, context)
            .map_err(Failure::Tls)?;
        link.tls.write(&out).map_err(Failure::Tls)?;
        link.flush()?;
    }
    if o.shim_writes_first {
        link.tls.write(INITIAL_WRITE).map_err(Failure::Tls)?;
        link.flush()?;
    }
    if !o.shim_shuts_down {
        echo(o, &mut link)?;
    }

    if !o.server && negotiated.version == ProtocolVersion::Tls13 {
        let got_session = shared.store.received() > sessions_before;
        let want_session = !o.expect_no_session && !o.shim_shuts_down;
        if got_session != want_session {
            return Err(Failure::Other(format!(
                "new session was{} received, but we expected the opposite",
                if got_session { "" } else { " not" }
            )));
        }
    }
    shutdown(o, &mut link)
}

/// The runner's address.
fn loopback(o: &Options) -> SocketAddr {
    if o.ipv6 {
        SocketAddr::from((Ipv6Addr::LOCALHOST, o.port))
    } else {
        SocketAddr::from(([127, 0, 0, 1], o.port))
    }
}

/// Drives the handshake to completion.
fn handshake(link: &mut Link) -> Result<(), Failure> {
    loop {
        link.flush()?;
        if let Some(e) = link.tls.error() {
            return Err(Failure::Tls(e.clone()));
        }
        if !link.tls.is_handshaking() {
            return Ok(());
        }
        if !link.receive()? {
            return Err(Failure::Tls(Error::UnexpectedEof));
        }
    }
}

/// What the connection reports of the peer: from a full handshake (the
/// scheme the verifier saw, the stapled OCSP response), which is kept for
/// the session, or the session's on resumption, as BoringSSL reports it.
fn session_facts(shared: &Shared, verifier: &ShimVerifier, n: &Negotiated) -> SessionFacts {
    let Ok(mut kept) = shared.session.lock() else {
        return SessionFacts::default();
    };
    if !n.resumed {
        kept.scheme = verifier.seen.lock().ok().and_then(|s| *s);
        kept.ocsp_response = n.ocsp_response.clone();
    }
    SessionFacts {
        scheme: kept.scheme,
        ocsp_response: kept.ocsp_response.clone(),
    }
}

/// The credential used must be the one `-expect-selected-credential` names:
/// on a server the one the resolver presented; on a client the only one
/// configured (see `config::client`: the runner checks it was sent).
fn check_credential(o: &Options, credentials: Option<&Credentials>) -> Result<(), Failure> {
    let Some(want) = o.expect_selected_credential else {
        return Ok(());
    };
    let selected = match credentials {
        Some(credentials) => credentials.selected.lock().ok().and_then(|s| *s),
        None if !o.credentials.is_empty() => Some(0),
        None => o.cert_file.as_ref().map(|_| -1),
    };
    if selected != Some(want) {
        return Err(Failure::Other(format!(
            "credential {selected:?} selected, expected {want}"
        )));
    }
    Ok(())
}

/// The checks BoringSSL's shim makes once the handshake is done.
fn check_handshake(
    o: &Options,
    n: &Negotiated,
    peer: &SessionFacts,
    is_resume: bool,
) -> Result<(), Failure> {
    let fail = |what: String| Err(Failure::Other(what));
    let expect_resume = is_resume && !o.expect_session_miss;
    if n.resumed != expect_resume {
        return fail(format!(
            "session unexpectedly was{} reused",
            if n.resumed { "" } else { " not" }
        ));
    }
    if let Some(v) = o.expect_version {
        if n.version.to_wire() != v {
            return fail(format!(
                "version {:#06x}, expected {v:#06x}",
                n.version.to_wire()
            ));
        }
    }
    if let Some(g) = o.expect_curve_id {
        if n.group.to_wire() != g {
            return fail(format!("group {}, expected {g}", n.group.to_wire()));
        }
    }
    if n.alpn != o.expect_alpn {
        return fail(format!("ALPN {:?}, expected {:?}", n.alpn, o.expect_alpn));
    }
    if let Some(name) = &o.expect_server_name {
        if n.server_name.as_deref() != Some(name.as_str()) {
            return fail(format!(
                "server name {:?}, expected {name:?}",
                n.server_name
            ));
        }
    }
    if let Some(hrr) = o.expect_hrr {
        if n.hello_retry != hrr {
            return fail(format!(
                "HelloRetryRequest: {}, expected {hrr}",
                n.hello_retry
            ));
        }
    }
    if let Some(want) = &o.expect_ocsp_response {
        if peer.ocsp_response.as_ref() != Some(want) {
            return fail(format!(
                "OCSP response {:?}, expected {want:?}",
                peer.ocsp_response
            ));
        }
    }
    if let Some(path) = &o.expect_peer_cert_file {
        let want = tls_core::keys::certs_from_pem_file(path)
            .map_err(|e| Failure::Other(format!("{path}: {e}")))?;
        if n.peer_certificates != want {
            return fail(format!(
                "the peer sent {} certificates, not the chain of {path}",
                n.peer_certificates.len()
            ));
        }
    }
    let peer_scheme = peer.scheme.map(|s| s.to_wire());
    if let Some(want) = o.expect_peer_signature_algorithm {
        if peer_scheme != Some(want) {
            return fail(format!(
                "peer signature algorithm {peer_scheme:?}, expected {want:#06x}"
            ));
        }
    }
    Ok(())
}

/// Echoes what the runner sends, each byte inverted, until it closes.
fn echo(o: &Options, link: &mut Link) -> Result<(), Failure> {
    let mut buf = vec![0u8; 512];
    loop {
        let n = if o.peek_then_read {
            peek_then_read(link, &mut buf)?
        } else {
            link.tls.read(&mut buf)
        };
        if n > 0 {
            if o.key_update {
                link.tls.update_keys(false).map_err(Failure::Tls)?;
            }
            let data = buf.get_mut(..n).unwrap_or_default();
            data.iter_mut().for_each(|b| *b ^= 0xff);
            link.tls.write(data).map_err(Failure::Tls)?;
            link.flush()?;
            continue;
        }
        if link.tls.peer_closed() {
            return Ok(());
        }
        // A close with or without close_notify ends the exchange, as in
        // BoringSSL's shim; -check-close-notify makes the shutdown strict.
        if !link.receive()? {
            return Ok(());
        }
    }
}

/// Reads as BoringSSL's shim does with `-peek-then-read`: a peek, a second
/// peek that must see the same bytes, and a read that must return them.
fn peek_then_read(link: &mut Link, buf: &mut [u8]) -> Result<usize, Failure> {
    let first = link.tls.peek_plaintext();
    let first = first
        .get(..first.len().min(buf.len()))
        .unwrap_or_default()
        .to_vec();
    if !link.tls.peek_plaintext().starts_with(&first) {
        return Err(Failure::Other("the second peek saw other data".into()));
    }
    let n = link.tls.read(buf);
    if buf.get(..n) != Some(first.as_slice()) {
        return Err(Failure::Other(
            "the read returned other data than the peek".into(),
        ));
    }
    Ok(n)
}

/// Ends the connection: with -check-close-notify (or -shim-shuts-down) we
/// send close_notify; with -check-close-notify the peer's must arrive too.
fn shutdown(o: &Options, link: &mut Link) -> Result<(), Failure> {
    if !(o.check_close_notify || o.shim_shuts_down) {
        return Ok(());
    }
    link.tls.close();
    link.flush()?;
    if !o.check_close_notify {
        return Ok(());
    }
    while !link.tls.peer_closed() {
        // The peer may still send data after our close_notify (a
        // half-closed connection): it is read and dropped.
        let pending = link.tls.plaintext_len();
        link.tls.consume_plaintext(pending);
        if !link.receive()? {
            return Err(Failure::Tls(Error::UnexpectedEof));
        }
    }
    Ok(())
}
