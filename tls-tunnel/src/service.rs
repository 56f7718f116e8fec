//! Running one service: the accept loop with its connection limit, and the
//! life of one connection from accept to the log line that ends it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tls_core::{CipherSuite, Connection, Negotiated, ProtocolVersion};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::config::{Mode, ProxyVersion};
use crate::listen::{connect, Listener, Stream};
use crate::metrics::ServiceMetrics;
use crate::proxy_protocol::{self, TlsInfo};
use crate::tls::{Live, TlsConfig};
use crate::tls_io::{self, Bytes, Outcome, RelayLimits};

/// A running service: its current configuration (swapped on reload), its
/// connection limit and counters.
pub struct ServiceHandle {
    /// The service name.
    pub name: String,
    /// The configuration new connections take; established ones keep theirs.
    pub live: RwLock<Arc<Live>>,
    /// One permit per allowed simultaneous connection.
    pub limit: Arc<Semaphore>,
    /// Counters.
    pub metrics: Arc<ServiceMetrics>,
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

/// Held by a connection task; its drop updates the tracker and the gauge.
struct Guard {
    tracker: Arc<Tracker>,
    metrics: Arc<ServiceMetrics>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.metrics.active.fetch_sub(1, Ordering::Relaxed);
        if self.tracker.active.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.tracker.idle.notify_waiters();
        }
    }
}

/// Accepts connections until `stop` turns true, then drops the listener.
pub async fn accept_loop(
    listener: Listener,
    handle: Arc<ServiceHandle>,
    tracker: Arc<Tracker>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.changed() => break,
            r = listener.accept() => r,
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: back off instead of spinning.
                tracing::warn!(service = %handle.name, "accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        handle.metrics.accepted.fetch_add(1, Ordering::Relaxed);
        let Ok(permit) = handle.limit.clone().try_acquire_owned() else {
            handle.metrics.refused_limit.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(service = %handle.name, peer = ?stream.peer_addr(), "connection refused: max connections reached");
            continue;
        };
        tracker.active.fetch_add(1, Ordering::SeqCst);
        handle.metrics.active.fetch_add(1, Ordering::Relaxed);
        let guard = Guard {
            tracker: tracker.clone(),
            metrics: handle.metrics.clone(),
            _permit: permit,
        };
        let live = handle.current();
        let metrics = handle.metrics.clone();
        tokio::spawn(async move {
            connection(stream, live, metrics).await;
            drop(guard);
        });
    }
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

/// The metric label for a failed handshake.
fn failure_label(o: &Outcome) -> String {
    match o {
        Outcome::Tls(e) => e.to_string(),
        Outcome::HandshakeTimeout => "timeout".into(),
        Outcome::Io(_) => "io error".into(),
        other => other.to_string(),
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
}

async fn connection(mut stream: Stream, live: Arc<Live>, metrics: Arc<ServiceMetrics>) {
    let started = Instant::now();
    let mut report = Report {
        peer: stream.peer_addr(),
        negotiated: None,
        bytes: Bytes::default(),
        outcome: Outcome::Closed,
    };
    let peer = report
        .peer
        .map_or_else(|| "unix".to_string(), |p| p.to_string());
    let entry = OpenEntry::new(&live.service.name, &peer, started);
    let id = entry.0;
    tracing::info!(id, service = %live.service.name, peer = %peer, "connection accepted");
    if let Stream::Tcp(tcp) = &stream {
        if let Err(e) =
            crate::listen::set_options(socket2::SockRef::from(tcp), &live.service.net.local)
        {
            tracing::warn!(service = %live.service.name, peer = %peer, "socket options: {e}");
        }
    }
    run(&mut stream, &live, &metrics, &mut report).await;
    drop(entry);
    // A PROXY header may have named the real peer.
    let peer = report
        .peer
        .map_or_else(|| "unix".to_string(), |p| p.to_string());
    let s = &live.service;
    let n = report.negotiated.as_ref();
    metrics
        .bytes_from_tls
        .fetch_add(report.bytes.from_tls, Ordering::Relaxed);
    metrics
        .bytes_to_tls
        .fetch_add(report.bytes.to_tls, Ordering::Relaxed);
    // A connection that failed is worth an operator's attention.
    let failed = matches!(
        report.outcome,
        Outcome::Tls(_) | Outcome::Io(_) | Outcome::HandshakeTimeout
    );
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
                duration_ms = started.elapsed().as_millis() as u64,
                reason = %report.outcome,
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
/// address and socket options; a failed attempt is logged and counted.
async fn connect_target(
    live: &Live,
    metrics: &ServiceMetrics,
    targets: &[crate::config::Addr],
) -> std::io::Result<Stream> {
    let s = &live.service;
    let start = live.next_target.fetch_add(1, Ordering::Relaxed);
    let target = connect(targets, s.timeouts.connect, &s.net, start, |e| {
        metrics.target_failures.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(service = %s.name, "target failed: {e}");
    })
    .await?;
    tracing::debug!(
        service = %s.name,
        target = %target.peer_addr().map_or_else(|| "unix".to_string(), |a| a.to_string()),
        "target connected"
    );
    Ok(target)
}

async fn run(stream: &mut Stream, live: &Live, metrics: &ServiceMetrics, report: &mut Report) {
    let s = &live.service;
    let t = s.timeouts;
    let mut local = stream.local_addr();
    if s.proxy_accept {
        match tokio::time::timeout(t.handshake, proxy_protocol::read_header(stream)).await {
            Ok(Ok(Some((src, dst)))) => {
                report.peer = Some(src);
                local = Some(dst);
            }
            Ok(Ok(None)) => {}
            Ok(Err(e)) => return report.outcome = Outcome::Io(e),
            Err(_) => return report.outcome = Outcome::HandshakeTimeout,
        }
    }
    let addrs = report.peer.zip(local);
    let limits = RelayLimits {
        idle: t.idle,
        close: t.close,
    };
    match &live.tls {
        TlsConfig::Server(config) => {
            let mut conn = Connection::server(config.clone());
            let hs = Instant::now();
            if let Err(o) = tls_io::handshake(&mut conn, stream, t.handshake).await {
                metrics.handshake_failed(&failure_label(&o));
                return report.outcome = o;
            }
            metrics.handshake_done(hs.elapsed());
            let negotiated = conn.negotiated().cloned();
            report.negotiated = negotiated.clone();
            let Some(n) = negotiated else {
                return report.outcome = Outcome::Io("no negotiated parameters".into());
            };
            let leaf = n.peer_certificates.first().map(Vec::as_slice);
            let names = match crate::access::check(&s.access, leaf) {
                Ok(names) => names,
                Err(why) => {
                    metrics.handshake_failed("access denied");
                    return report.outcome = Outcome::Io(format!("access denied: {why}"));
                }
            };
            handshake_done(s, &n);
            let targets = live.targets_for(n.server_name.as_deref());
            let mut target = match connect_target(live, metrics, targets).await {
                Ok(target) => target,
                Err(e) => return report.outcome = Outcome::Io(format!("target: {e}")),
            };
            if let Some(v) = s.proxy_send {
                let cn = names.and_then(|n| n.cn.first().cloned());
                let header = match v {
                    ProxyVersion::V1 => proxy_protocol::encode_v1(addrs),
                    ProxyVersion::V2 => proxy_protocol::encode_v2(addrs, Some(&tls_info(&n, cn))),
                };
                if let Err(e) = target.write_all(&header).await {
                    return report.outcome = Outcome::Io(format!("target: {e}"));
                }
            }
            report.outcome =
                tls_io::relay(&mut conn, stream, &mut target, limits, &mut report.bytes).await;
        }
        TlsConfig::Client(config, name) => {
            debug_assert_eq!(s.mode, Mode::Client);
            let mut target = match connect_target(live, metrics, &s.targets).await {
                Ok(target) => target,
                Err(e) => return report.outcome = Outcome::Io(format!("target: {e}")),
            };
            if let Some(v) = s.proxy_send {
                let header = match v {
                    ProxyVersion::V1 => proxy_protocol::encode_v1(addrs),
                    ProxyVersion::V2 => proxy_protocol::encode_v2(addrs, None),
                };
                if let Err(e) = target.write_all(&header).await {
                    return report.outcome = Outcome::Io(format!("target: {e}"));
                }
            }
            let mut conn = match Connection::client(config.clone(), name.as_deref()) {
                Ok(c) => c,
                Err(e) => return report.outcome = Outcome::Tls(e),
            };
            let hs = Instant::now();
            if let Err(o) = tls_io::handshake(&mut conn, &target, t.handshake).await {
                metrics.handshake_failed(&failure_label(&o));
                return report.outcome = o;
            }
            metrics.handshake_done(hs.elapsed());
            report.negotiated = conn.negotiated().cloned();
            if let Some(n) = &report.negotiated {
                handshake_done(s, n);
            }
            // In client mode the TLS peer is the target and the plaintext side the accepted socket.
            let mut bytes = Bytes::default();
            report.outcome = tls_io::relay(&mut conn, &target, stream, limits, &mut bytes).await;
            report.bytes = bytes;
        }
    }
}
