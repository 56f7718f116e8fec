//! Running one service: the accept loop with its connection limit, and the
//! life of one connection from accept to the log line that ends it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use tls_core::{CipherSuite, Connection, Negotiated, ProtocolVersion};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};

use crate::config::{Mode, ProxyVersion};
use crate::listen::{connect, Listener, Stream};
use crate::metrics::ServiceMetrics;
use crate::protocol::{socks, Kind};
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
    run(&mut stream, &live, &metrics, &mut report).await;
    let s = &live.service;
    let n = report.negotiated.as_ref();
    metrics
        .bytes_from_tls
        .fetch_add(report.bytes.from_tls, Ordering::Relaxed);
    metrics
        .bytes_to_tls
        .fetch_add(report.bytes.to_tls, Ordering::Relaxed);
    tracing::info!(
        service = %s.name,
        peer = %report.peer.map_or_else(|| "unix".to_string(), |p| p.to_string()),
        sni = %n.and_then(|n| n.server_name.as_deref()).unwrap_or("-"),
        version = %n.map_or_else(|| "-".into(), |n| version_name(n.version)),
        suite = %n.map_or_else(|| "-".into(), |n| suite_name(n.suite)),
        resumed = n.is_some_and(|n| n.resumed),
        bytes_in = report.bytes.from_tls,
        bytes_out = report.bytes.to_tls,
        duration_ms = started.elapsed().as_millis() as u64,
        reason = %report.outcome,
        "connection closed"
    );
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
            // An application protocol's prelude, which may connect the target early.
            let mut early = None;
            if let Some(p) = &s.protocol {
                let targets = live.targets_for(None);
                match crate::protocol::run_server(p, stream, targets, t.connect, t.handshake).await
                {
                    Ok(target) => early = target,
                    Err(e) => {
                        metrics.handshake_failed("protocol prelude");
                        return report.outcome = Outcome::Io(e);
                    }
                }
            }
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
            if s.protocol.as_ref().is_some_and(|p| p.kind == Kind::Socks) {
                match socks::serve(&mut conn, stream, t.handshake, t.connect).await {
                    Ok(target) => early = Some(target),
                    Err(socks::Outcome::Tls(e)) => return report.outcome = Outcome::Tls(e),
                    Err(socks::Outcome::Io(e)) => return report.outcome = Outcome::Io(e),
                }
            }
            let mut program = None;
            if let Some(exec) = &s.exec {
                let env = crate::exec::environment(report.peer, leaf);
                match crate::exec::spawn(exec, &env) {
                    Ok((stdio, child)) => {
                        early = Some(stdio);
                        program = Some(child);
                    }
                    Err(e) => return report.outcome = Outcome::Io(format!("exec: {e}")),
                }
            }
            let mut target = match early {
                Some(target) => target,
                None => {
                    match connect(live.targets_for(n.server_name.as_deref()), t.connect).await {
                        Ok(target) => target,
                        Err(e) => return report.outcome = Outcome::Io(format!("target: {e}")),
                    }
                }
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
            if let Some(child) = program {
                drop(target);
                crate::exec::reap(child, t.close, &s.name).await;
            }
        }
        TlsConfig::Client(config, name) => {
            debug_assert_eq!(s.mode, Mode::Client);
            let mut target = match connect(&s.targets, t.connect).await {
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
            if let Some(p) = &s.protocol {
                let prelude = crate::protocol::run_client(p, stream, &mut target, t.handshake);
                if let Err(e) = prelude.await {
                    metrics.handshake_failed("protocol prelude");
                    return report.outcome = Outcome::Io(e);
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
            // In client mode the TLS peer is the target and the plaintext side the accepted socket.
            let mut bytes = Bytes::default();
            report.outcome = tls_io::relay(&mut conn, &target, stream, limits, &mut bytes).await;
            report.bytes = bytes;
        }
    }
}
