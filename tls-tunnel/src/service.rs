//! Running one service: the accept loop with its connection limit, and the
//! life of one connection from accept to the log line that ends it.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tls_core::{CipherSuite, Error, Negotiated, ProtocolVersion};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::config::QuietKind;
use crate::limits::{Admission, HandshakeSlot, SourceSlot};
use crate::listen::{Listener, Stream};
use crate::metrics::{ConnState, Reason, ServiceMetrics};
use crate::ratelog::{Kind, LogLimits};
use crate::tls::{Live, TlsConfig};
use crate::tls_io::{Bytes, Outcome};

/// A running service: its current configuration (swapped on reload), its
/// admission state, counters and log budgets.
pub struct ServiceHandle {
    /// The service name.
    pub name: String,
    /// The configuration new connections take; established ones keep theirs.
    pub live: RwLock<Arc<Live>>,
    /// One permit per allowed simultaneous connection.
    pub limit: Arc<Semaphore>,
    /// Handshake places and per-source counts.
    pub admission: Arc<Admission>,
    /// Counters.
    pub metrics: Arc<ServiceMetrics>,
    /// Budgets of the log lines outsiders can cause.
    pub logs: LogLimits,
}

impl ServiceHandle {
    /// The configuration for a new connection.
    pub fn current(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Installs a new configuration for connections accepted from now on.
    pub fn replace(&self, live: Live) {
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(live);
    }
}

/// Counts established connections so shutdown can wait for them to drain.
#[derive(Default)]
pub struct Tracker {
    active: AtomicUsize,
    idle: Notify,
}

impl Tracker {
    /// Connections still open.
    pub fn active(&self) -> usize {
        self.active.load(Ordering::SeqCst)
    }

    /// Waits until no connection is open.
    pub async fn drained(&self) {
        loop {
            let notified = self.idle.notified();
            if self.active() == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Held by a connection task; its drop updates the tracker and the gauge
/// and gives back the connection's place and its count against its source.
struct Guard {
    tracker: Arc<Tracker>,
    metrics: Arc<ServiceMetrics>,
    _permit: OwnedSemaphorePermit,
    _source: SourceSlot,
    _open: crate::trim::Open,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.metrics.active.fetch_sub(1, Ordering::Relaxed);
        if self.tracker.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.tracker.idle.notify_waiters();
        }
    }
}

/// What the accept loop waits on besides its work: the stop signal, and the
/// once-a-second tick that writes the log summaries.
struct Waits<'a> {
    stop: watch::Receiver<bool>,
    tick: tokio::time::Interval,
    logs: &'a LogLimits,
}

/// Runs `fut` to completion unless the stop signal comes first (`None`; a ready `fut`
/// wins, so queued connections are accepted at a stop); writes log summaries each second.
async fn until_stop<F: Future>(fut: F, w: &mut Waits<'_>) -> Option<F::Output> {
    tokio::pin!(fut);
    let Waits { stop, tick, logs } = w;
    loop {
        tokio::select! {
            biased;
            r = &mut fut => return Some(r),
            _ = stop.changed() => return None,
            _ = tick.tick() => logs.flush(),
        }
    }
}

/// A peer address for logs: `1.2.3.4:5678`, `[::1]:5678`, or `unix`.
pub fn show_peer(peer: Option<SocketAddr>) -> String {
    peer.map_or_else(|| "unix".to_string(), |p| p.to_string())
}

/// Accepts connections until `stop` turns true, then drops the listener.
///
/// Admission follows [`crate::config::Limits`]: with every connection place
/// taken, or every handshake place held by a connection past its
/// ClientHello, the loop does not accept at all and the kernel's backlog
/// holds newcomers; a connection from an address that has its most is
/// closed at once; a full handshake table evicts its oldest connection
/// without a ClientHello.
///
/// In client mode each accepted connection makes us connect to the target
/// and run a handshake there at once (nothing is awaited from the plaintext
/// side), so there is nothing to evict: the handshake places are taken as
/// if the ClientHello had arrived, and with all of them busy the loop stops
/// accepting. That bounds the outgoing connections and key exchanges a
/// burst of local connections starts at once.
pub async fn accept_loop(
    listener: Listener,
    handle: Arc<ServiceHandle>,
    tracker: Arc<Tracker>,
    stop: watch::Receiver<bool>,
) {
    let tls_server = matches!(handle.current().tls, TlsConfig::Server(..));
    if let Some(stapler) = &handle.current().stapler {
        stapler.kick();
    }
    let logs = &handle.logs;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut w = Waits { stop, tick, logs };
    loop {
        let Some(Ok(permit)) = until_stop(handle.limit.clone().acquire_owned(), &mut w).await
        else {
            break;
        };
        if until_stop(handle.admission.room(), &mut w).await.is_none() {
            break;
        }
        let Some(accepted) = until_stop(listener.accept(), &mut w).await else {
            break;
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                if logs.allow(Kind::AcceptError) {
                    tracing::warn!(service = %handle.name, "accept failed: {e}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        handle.metrics.accepted.fetch_add(1, Ordering::Relaxed);
        let peer = stream.peer_addr();
        let Some(source) = handle.admission.source(peer.map(|p| p.ip())) else {
            handle.metrics.count(Reason::PerSource);
            if logs.allow(Kind::Refused) {
                tracing::warn!(service = %handle.name, peer = %show_peer(peer),
                    "connection refused: max connections per source address reached");
            }
            continue;
        };
        let Some(slot) = until_stop(handle.admission.admit(), &mut w).await else {
            break;
        };
        if !tls_server {
            slot.hello_received();
        }
        tracker.active.fetch_add(1, Ordering::SeqCst);
        handle.metrics.active.fetch_add(1, Ordering::Relaxed);
        let guard = Guard {
            tracker: tracker.clone(),
            metrics: handle.metrics.clone(),
            _permit: permit,
            _source: source,
            _open: crate::trim::Open::new(),
        };
        let live = handle.current();
        let handle = handle.clone();
        tokio::spawn(async move {
            connection(stream, live, &handle, slot).await;
            drop(guard);
        });
    }
}

/// Serves one connection that something else accepted (inetd mode): its
/// whole life and its closing line, as for a connection we accepted.
pub async fn serve_one(stream: Stream, handle: &ServiceHandle) {
    handle.metrics.accepted.fetch_add(1, Ordering::Relaxed);
    // The only connection: its handshake place is never contested.
    let slot = handle.admission.admit().await;
    connection(stream, handle.current(), handle, slot).await;
}

/// The IANA name of a protocol version.
pub fn version_name(v: ProtocolVersion) -> String {
    match v {
        ProtocolVersion::Tls13 => "TLSv1.3".into(),
        ProtocolVersion::Tls12 => "TLSv1.2".into(),
        other => format!("0x{:04x}", other.to_wire()),
    }
}

/// The IANA name of a cipher suite.
pub fn suite_name(s: CipherSuite) -> String {
    match s.to_wire() {
        0x1301 => "TLS_AES_128_GCM_SHA256".into(),
        0x1302 => "TLS_AES_256_GCM_SHA384".into(),
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256".into(),
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".into(),
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into(),
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256".into(),
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".into(),
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into(),
        w => format!("0x{w:04x}"),
    }
}

/// Open connections by number: service, peer and when it was accepted
/// (for stunnel's SIGUSR2).
static OPEN: Mutex<BTreeMap<u64, (String, String, Instant)>> = Mutex::new(BTreeMap::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A connection's entry in [`OPEN`], removed when the connection's task
/// ends however it ends.
struct OpenEntry(u64);

impl OpenEntry {
    fn new(service: &str, peer: &str, since: Instant) -> OpenEntry {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        OPEN.lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, (service.to_string(), peer.to_string(), since));
        OpenEntry(id)
    }
}

impl Drop for OpenEntry {
    fn drop(&mut self) {
        OPEN.lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

/// Logs every open connection (stunnel's SIGUSR2).
pub fn log_connections() {
    let open = OPEN.lock().unwrap_or_else(|e| e.into_inner());
    tracing::info!(count = open.len(), "open connections");
    for (id, (service, peer, since)) in open.iter() {
        tracing::info!(id, service = %service, peer = %peer, seconds = since.elapsed().as_secs(), "open connection");
    }
}

/// What the closing log line reports.
pub(crate) struct Report {
    pub(crate) peer: Option<SocketAddr>,
    pub(crate) negotiated: Option<Negotiated>,
    pub(crate) bytes: Bytes,
    pub(crate) outcome: Outcome,
    /// The failure was a goodbye in the protocol's words: closed in order
    /// even under `reset = yes` (see [`crate::protocol::Failure`]).
    pub(crate) graceful: bool,
}

/// The closing line's reason, with how to allow what was refused by a
/// default that an operator may lift.
fn reason(o: &Outcome) -> String {
    let mut r = o.to_string();
    if let Outcome::Tls(Error::HandshakeFailure(why)) = o {
        if why.contains("extended master secret") {
            r.push_str(
                "; allow such peers with --allow-no-ems, allow_no_ems = true (TOML) or \
                 allowNoEMS = yes (stunnel.conf)",
            );
        }
    }
    r
}

async fn connection(
    mut stream: Stream,
    live: Arc<Live>,
    handle: &ServiceHandle,
    slot: HandshakeSlot,
) {
    let started = Instant::now();
    let metrics = &handle.metrics;
    let mut report = Report {
        peer: stream.peer_addr(),
        negotiated: None,
        bytes: Bytes::default(),
        outcome: Outcome::Closed,
        graceful: false,
    };
    let peer = show_peer(report.peer);
    let entry = OpenEntry::new(&live.service.name, &peer, started);
    let id = entry.0;
    if !crate::quiet::is(QuietKind::Conns) && handle.logs.allow(Kind::Accepted) {
        tracing::info!(id, service = %live.service.name, peer = %peer, "connection accepted");
    }
    if let Stream::Tcp(tcp) = &stream {
        if let Err(e) =
            crate::listen::set_options(socket2::SockRef::from(tcp), &live.service.net.local)
        {
            tracing::warn!(service = %live.service.name, peer = %peer, "socket options: {e}");
        }
    }
    let mut state = ConnState::new(metrics.clone());
    // The setup's many steps live in their own allocation, given back
    // before the relay: an idle connection's task holds only the relay.
    let mut setup = Box::pin(crate::setup::run(
        &mut stream,
        &live,
        metrics,
        slot,
        &mut state,
        &mut report,
    ))
    .await;
    if let Some(relay) = &mut setup {
        relay.run(&mut stream, &mut report).await;
    }
    if let Some(child) = setup.and_then(crate::setup::Relay::into_program) {
        let s = &live.service;
        Box::pin(crate::exec::reap(child, s.timeouts.close, &s.name)).await;
    }
    if live.service.net.reset && !report.graceful {
        reset_if_failed(&stream, &report.outcome);
    }
    drop(state);
    drop(entry);
    // A PROXY header may have named the real peer.
    let peer = show_peer(report.peer);
    let s = &live.service;
    let n = report.negotiated.as_ref();
    metrics
        .bytes_from_tls
        .fetch_add(report.bytes.from_tls, Ordering::Relaxed);
    metrics
        .bytes_to_tls
        .fetch_add(report.bytes.to_tls, Ordering::Relaxed);
    // Anyone can make a connection fail before its handshake ends, as often
    // as they like: those closing lines are rate-limited.
    if n.is_none() && !handle.logs.allow(Kind::Failed) {
        return;
    }
    // A connection that failed is worth an operator's attention.
    let failed = matches!(
        report.outcome,
        Outcome::Tls(_) | Outcome::Io(_) | Outcome::HandshakeTimeout
    );
    let kind = match (failed, n.is_some()) {
        (false, _) => QuietKind::Conns,
        (true, true) => QuietKind::ConnErrs,
        (true, false) => QuietKind::HandshakeErrs,
    };
    if crate::quiet::is(kind) {
        return;
    }
    macro_rules! closed {
        ($level:expr) => {
            tracing::event!(
                $level,
                id,
                service = %s.name,
                peer = %peer,
                sni = %n.and_then(|n| n.server_name.as_deref()).unwrap_or("-"),
                version = %n.map_or_else(|| "-".into(), |n| version_name(n.version)),
                suite = %n.map_or_else(|| "-".into(), |n| suite_name(n.suite)),
                resumed = n.is_some_and(|n| n.resumed),
                bytes_in = report.bytes.from_tls,
                bytes_out = report.bytes.to_tls,
                duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                reason = %reason(&report.outcome),
                "connection closed"
            )
        };
    }
    if failed {
        closed!(tracing::Level::WARN);
    } else {
        closed!(tracing::Level::INFO);
    }
}

/// stunnel's `reset = yes`: a connection that ended in an error (a TLS
/// error or alert, an I/O error such as an unreachable target, a timeout)
/// is closed with a TCP RST rather than a FIN, so the client sees it fail
/// (ECONNRESET) instead of an orderly end of file.
fn reset_if_failed(stream: &Stream, outcome: &Outcome) {
    let failed = matches!(
        outcome,
        Outcome::Tls(_)
            | Outcome::Io(_)
            | Outcome::HandshakeTimeout
            | Outcome::IdleTimeout
            | Outcome::MaxLifetime
    );
    if let (true, Stream::Tcp(tcp)) = (failed, stream) {
        // SO_LINGER with a zero timeout: close() sends RST.
        let _ = socket2::SockRef::from(tcp).set_linger(Some(Duration::ZERO));
    }
}
