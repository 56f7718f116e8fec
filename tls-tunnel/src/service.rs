//! Running one service: the accept loop with its connection limit, and the
//! life of one connection from accept to the log line that ends it.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tls_core::{CipherSuite, Connection, Error, Negotiated, ProtocolVersion};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::config::{Addr, ProxyVersion, QuietKind};
use crate::limits::{Admission, HandshakeSlot, SourceSlot};
use crate::listen::{connect, Listener, Stream};
use crate::metrics::{ConnState, Reason, ServiceMetrics};
use crate::protocol::{socks, Kind as ProtocolKind};
use crate::proxy_protocol::{self, TlsInfo};
use crate::ratelog::{Kind, LogLimits};
use crate::redirect::Destination;
use crate::tls::{Live, TlsConfig};
use crate::tls_io::{self, Bytes, Outcome, RelayLimits};

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

/// The metric reason of a connection that ended before its handshake was done.
fn failure_reason(o: &Outcome) -> Reason {
    match o {
        Outcome::Tls(e) => Reason::of_tls(e),
        Outcome::HandshakeTimeout | Outcome::IdleTimeout | Outcome::MaxLifetime => {
            Reason::HandshakeTimeout
        }
        Outcome::Io(_) => Reason::IoError,
        Outcome::Closed | Outcome::Truncated | Outcome::Evicted => Reason::PeerClosed,
    }
}

fn tls_info(n: &Negotiated, client_cn: Option<String>) -> TlsInfo {
    TlsInfo {
        version: version_name(n.version),
        cipher: suite_name(n.suite),
        alpn: n.alpn.clone(),
        sni: n.server_name.clone(),
        client_cn,
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
struct Report {
    peer: Option<SocketAddr>,
    negotiated: Option<Negotiated>,
    bytes: Bytes,
    outcome: Outcome,
    /// The failure was a goodbye in the protocol's words: closed in order
    /// even under `reset = yes` (see [`crate::protocol::Failure`]).
    graceful: bool,
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
    run(&mut stream, &live, metrics, slot, &mut state, &mut report).await;
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

/// The debug event of a finished handshake.
fn handshake_done(s: &crate::config::Service, n: &Negotiated) {
    tracing::debug!(
        service = %s.name,
        version = %version_name(n.version),
        suite = %suite_name(n.suite),
        sni = %n.server_name.as_deref().unwrap_or("-"),
        resumed = n.resumed,
        peer_certificate = !n.peer_certificates.is_empty(),
        "handshake done"
    );
}

/// Connects to one of `targets` with the service's failover, source
/// address (with `transparent = source`: the address of `client`) and
/// socket options; a failed attempt is logged and counted.
async fn connect_target(
    live: &Live,
    metrics: &ServiceMetrics,
    targets: &[Addr],
    client: Option<SocketAddr>,
) -> std::io::Result<Stream> {
    let s = &live.service;
    let start = live.next_target.fetch_add(1, Ordering::Relaxed);
    let source = crate::transparent::source_for(&s.net, client)?;
    let net = match source == s.net.source {
        true => std::borrow::Cow::Borrowed(&s.net),
        false => std::borrow::Cow::Owned(crate::config::NetOptions {
            source,
            ..s.net.clone()
        }),
    };
    let target = connect(targets, s.timeouts.connect, &net, start, |e| {
        metrics.target_failures.fetch_add(1, Ordering::Relaxed);
        if !crate::quiet::is(QuietKind::ConnErrs) {
            tracing::warn!(service = %s.name, "target failed: {e}");
        }
    })
    .await?;
    tracing::debug!(
        service = %s.name,
        target = %target.peer_addr().map_or_else(|| "unix".to_string(), |a| a.to_string()),
        "target connected"
    );
    Ok(target)
}

/// Counts a handshake that did not finish: refused by the access rules
/// (counted as a refusal: the reason is access_denied), evicted, or failed.
fn count_failure(metrics: &ServiceMetrics, o: &Outcome) {
    match o {
        Outcome::Evicted => {
            metrics.evicted.fetch_add(1, Ordering::Relaxed);
        }
        _ => metrics.count(failure_reason(o)),
    }
}

/// Ends a connection that failed after its handshake: counts `reason` and
/// reports `what` in the closing line.
fn failed(metrics: &ServiceMetrics, report: &mut Report, reason: Reason, what: String) {
    metrics.count(reason);
    report.outcome = Outcome::Io(what);
}

async fn run(
    stream: &mut Stream,
    live: &Live,
    metrics: &ServiceMetrics,
    slot: HandshakeSlot,
    state: &mut ConnState,
    report: &mut Report,
) {
    let s = &live.service;
    let t = s.timeouts;
    if s.net.libwrap {
        // Checked on the address that connected, as libwrap does.
        if let Err(why) = crate::libwrap::allowed(&s.name, report.peer.map(|p| p.ip())) {
            metrics.count(Reason::AccessDenied);
            return report.outcome = Outcome::Io(why);
        }
    }
    let mut local = stream.local_addr();
    if let Some(user) = &s.net.ident {
        // Asked about the TCP connection itself, as stunnel does.
        let asked = match (report.peer, local) {
            (Some(peer), Some(ours)) => crate::ident::check(peer, ours, user, t.connect).await,
            _ => Err("ident: not a TCP connection".into()),
        };
        if let Err(why) = asked {
            metrics.count(Reason::AccessDenied);
            return report.outcome = Outcome::Io(why);
        }
    }
    if s.proxy_accept {
        let header = tokio::time::timeout(t.handshake, proxy_protocol::read_header(stream));
        let header = tokio::select! {
            r = header => r,
            _ = slot.evicted() => {
                metrics.evicted.fetch_add(1, Ordering::Relaxed);
                return report.outcome = Outcome::Evicted;
            }
        };
        match header {
            Ok(Ok(Some((src, dst)))) => {
                report.peer = Some(src);
                local = Some(dst);
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => {
                metrics.count(Reason::ProxyHeader);
                return report.outcome = Outcome::Io(e);
            }
            Err(_) => {
                metrics.count(Reason::HandshakeTimeout);
                return report.outcome = Outcome::HandshakeTimeout;
            }
        }
    }
    let addrs = report.peer.zip(local);
    // transparent = destination: the target is where the client meant to go.
    let original = match s.net.transparent.destination {
        false => None,
        true => match crate::transparent::original_destination(stream) {
            Ok(addr) => Some(vec![addr]),
            Err(e) => {
                let what = format!("target: {e}");
                return failed(metrics, report, Reason::TargetUnreachable, what);
            }
        },
    };
    let limits = RelayLimits {
        idle: t.idle,
        close: t.close,
        lifetime: t.max_lifetime,
    };
    match &live.tls {
        TlsConfig::Server(config, access) => {
            // An application protocol's prelude, which may connect the target early.
            let mut early = None;
            if let Some(p) = &s.protocol {
                let targets = original.as_deref().unwrap_or(live.targets_for(None));
                let connect = || connect_target(live, metrics, targets, report.peer);
                match crate::protocol::run_server(p, stream, connect, t.handshake).await {
                    Ok(target) => early = target,
                    Err(e) => {
                        metrics.count(Reason::ProtocolPrelude);
                        report.graceful = e.graceful;
                        return report.outcome = Outcome::Io(e.message);
                    }
                }
            }
            if let Some(stapler) = &live.stapler {
                stapler.kick();
            }
            let mut conn = Connection::server(config.clone());
            let hs = Instant::now();
            let hello = || {
                slot.hello_received();
            };
            // The handshake goes first: a ClientHello already waiting in the
            // socket (a task scheduled late under load) is read, and a
            // connection chosen for eviction meanwhile is kept when it turns
            // out to have sent one (it runs outside the table, bounded by the
            // handshake timeout).
            let done = {
                let handshake = tls_io::handshake(&mut conn, stream, t.handshake, hello);
                tokio::pin!(handshake);
                tokio::select! {
                    biased;
                    r = &mut handshake => r,
                    _ = slot.evicted() => {
                        if slot.has_hello() {
                            handshake.await
                        } else {
                            Err(Outcome::Evicted)
                        }
                    }
                }
            };
            // The handshake place is free for the next connection.
            drop(slot);
            if let Err(o) = done {
                count_failure(metrics, &o);
                return report.outcome = o;
            }
            metrics.handshake_done(hs.elapsed());
            state.established();
            let negotiated = conn.negotiated().cloned();
            report.negotiated = negotiated.clone();
            let Some(n) = negotiated else {
                return report.outcome = Outcome::Io("no negotiated parameters".into());
            };
            // A full handshake already applied the access rules in the
            // verifier (refused with an access_denied alert); a resumed one
            // skipped it, so the rules in force now are applied again to the
            // session's certificate, and such a refusal can only close.
            let leaf = n.peer_certificates.first().map(Vec::as_slice);
            // stunnel's redirect: a client that failed goes elsewhere.
            let destination = crate::redirect::destination(live.redirect.as_ref(), &n);
            let names = match &destination {
                Destination::Redirected(_, why) => {
                    metrics.redirected.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(service = %s.name, peer = %show_peer(report.peer),
                        "client certificate refused ({why}): redirected");
                    None
                }
                Destination::Service(_) => match crate::access::check(access, leaf) {
                    Ok(names) => names,
                    Err(why) => {
                        metrics.count(Reason::AccessDenied);
                        return report.outcome = Outcome::Io(format!("access denied: {why}"));
                    }
                },
            };
            if let Some(ocsp) = &live.ocsp {
                if let Err(why) = ocsp.check(&n, &s.name).await {
                    return report.outcome = Outcome::Io(format!("OCSP: {why}"));
                }
            }
            handshake_done(s, &n);
            if s.protocol
                .as_ref()
                .is_some_and(|p| p.kind == ProtocolKind::Socks)
            {
                match socks::serve(&mut conn, stream, t.handshake, t.connect, &s.net).await {
                    Ok(target) => early = Some(target),
                    Err(socks::Outcome::Tls(e)) => {
                        metrics.count(Reason::SocksFailed);
                        return report.outcome = Outcome::Tls(e);
                    }
                    Err(socks::Outcome::Io(e)) => {
                        return failed(metrics, report, Reason::SocksFailed, e)
                    }
                }
            }
            let mut program = None;
            // exec+connect: the program is the TLS client; the target is connected.
            let per_connection = s.exec.as_ref().filter(|_| s.listen != Addr::Exec);
            if let (Some(exec), Destination::Service(_)) = (per_connection, &destination) {
                let env = crate::exec::environment(report.peer, leaf);
                match crate::exec::spawn(exec, &env) {
                    Ok((stdio, child)) => {
                        early = Some(stdio);
                        program = Some(child);
                    }
                    Err(e) => {
                        return failed(metrics, report, Reason::ExecFailed, format!("exec: {e}"))
                    }
                }
            }
            let mut target = match early {
                Some(target) => target,
                None => {
                    let targets = match &destination {
                        Destination::Service(_) => original
                            .as_deref()
                            .unwrap_or(live.targets_for(n.server_name.as_deref())),
                        Destination::Redirected(targets, _) => targets,
                    };
                    match connect_target(live, metrics, targets, report.peer).await {
                        Ok(target) => target,
                        Err(e) => {
                            let what = format!("target: {e}");
                            return failed(metrics, report, Reason::TargetUnreachable, what);
                        }
                    }
                }
            };
            if let Some(v) = s.proxy_send {
                let cn = names.and_then(|n| n.cn.first().cloned());
                let header = match v {
                    ProxyVersion::V1 => Ok(proxy_protocol::encode_v1(addrs)),
                    ProxyVersion::V2 => proxy_protocol::encode_v2(addrs, Some(&tls_info(&n, cn))),
                };
                if let Err(e) = send_proxy_header(&mut target, header).await {
                    return failed(metrics, report, e.0, e.1);
                }
            }
            report.outcome =
                tls_io::relay(&mut conn, stream, &mut target, limits, &mut report.bytes).await;
            if let Some(child) = program {
                drop(target);
                crate::exec::reap(child, t.close, &s.name).await;
            }
        }
        TlsConfig::Client(config, name) => {
            // The target connect and everything up to the end of the
            // handshake count as handshaking (the handshake place is held).
            let targets = original.as_deref().unwrap_or(&s.targets);
            let mut target = match connect_target(live, metrics, targets, report.peer).await {
                Ok(target) => target,
                Err(e) => {
                    let what = format!("target: {e}");
                    return failed(metrics, report, Reason::TargetUnreachable, what);
                }
            };
            if let Some(v) = s.proxy_send {
                let header = match v {
                    ProxyVersion::V1 => Ok(proxy_protocol::encode_v1(addrs)),
                    ProxyVersion::V2 => proxy_protocol::encode_v2(addrs, None),
                };
                if let Err(e) = send_proxy_header(&mut target, header).await {
                    return failed(metrics, report, e.0, e.1);
                }
            }
            if let Some(p) = &s.protocol {
                let prelude = crate::protocol::run_client(p, stream, &mut target, t.handshake);
                if let Err(e) = prelude.await {
                    metrics.count(Reason::ProtocolPrelude);
                    report.graceful = e.graceful;
                    return report.outcome = Outcome::Io(e.message);
                }
            }
            let mut conn = match Connection::client(config.clone(), name.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    metrics.count(Reason::of_tls(&e));
                    return report.outcome = Outcome::Tls(e);
                }
            };
            let hs = Instant::now();
            if let Err(o) = tls_io::handshake(&mut conn, &target, t.handshake, || {}).await {
                count_failure(metrics, &o);
                return report.outcome = o;
            }
            drop(slot);
            metrics.handshake_done(hs.elapsed());
            state.established();
            report.negotiated = conn.negotiated().cloned();
            if let Some(n) = &report.negotiated {
                if let Some(ocsp) = &live.ocsp {
                    if let Err(why) = ocsp.check(n, &s.name).await {
                        return report.outcome = Outcome::Io(format!("OCSP: {why}"));
                    }
                }
                handshake_done(s, n);
            }
            if let Some(p) = &s.protocol {
                // SMTP AUTH, inside TLS to the verified server.
                let auth = crate::protocol::run_client_after_handshake;
                if let Err(e) = auth(p, &mut conn, &mut target, t.handshake).await {
                    metrics.count(Reason::ProtocolPrelude);
                    report.graceful = e.graceful;
                    return report.outcome = Outcome::Io(e.message);
                }
            }
            // In client mode the TLS peer is the target and the plaintext side the accepted socket.
            let mut bytes = Bytes::default();
            report.outcome = tls_io::relay(&mut conn, &target, stream, limits, &mut bytes).await;
            report.bytes = bytes;
        }
    }
}

/// Writes the PROXY header (already encoded, or why it could not be) to
/// the target; a failure comes with its reason and the closing line's text.
async fn send_proxy_header(
    target: &mut Stream,
    header: Result<Vec<u8>, String>,
) -> Result<(), (Reason, String)> {
    let header = header.map_err(|e| (Reason::ProxyHeaderTooLong, e))?;
    target
        .write_all(&header)
        .await
        .map_err(|e| (Reason::TargetError, format!("target: {e}")))
}
