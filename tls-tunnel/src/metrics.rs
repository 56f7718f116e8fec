//! Counters per service and a tiny HTTP endpoint serving them as Prometheus
//! text: connections, handshake failures by reason, bytes, and a handshake
//! latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A counter's metric name, help text, type, and how to read it.
type Counter = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ServiceMetrics) -> u64,
);

/// Upper bounds (seconds) of the handshake latency buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The counters of one service.
#[derive(Debug, Default)]
pub struct ServiceMetrics {
    /// Connections accepted.
    pub accepted: AtomicU64,
    /// Connections open now.
    pub active: AtomicU64,
    /// Connections closed at accept: their source address had its most.
    pub refused_source: AtomicU64,
    /// Clients refused by the access rules (allow-cn, allow-san), with an
    /// access_denied alert.
    pub refused_access: AtomicU64,
    /// Connections closed before their ClientHello to make room for newer ones.
    pub evicted: AtomicU64,
    /// Plaintext bytes received over TLS.
    pub bytes_from_tls: AtomicU64,
    /// Plaintext bytes sent over TLS.
    pub bytes_to_tls: AtomicU64,
    /// Attempts to connect to a target that failed (the next target, if
    /// any, was tried).
    pub target_failures: AtomicU64,
    failures: Mutex<BTreeMap<String, u64>>,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
}

impl ServiceMetrics {
    /// Counts a failed handshake under `reason`.
    pub fn handshake_failed(&self, reason: &str) {
        if let Ok(mut map) = self.failures.lock() {
            // Bound the label set: reasons are short engine strings, but be safe.
            let key = if map.len() < 64 || map.contains_key(reason) {
                reason
            } else {
                "other"
            };
            *map.entry(key.to_string()).or_default() += 1;
        }
    }

    /// Records a completed handshake's duration.
    pub fn handshake_done(&self, took: Duration) {
        let secs = took.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                self.buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.latency_sum_us
            .fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Relaxed);
        self.latency_count.fetch_add(1, Relaxed);
    }
}

/// Every service's counters, by name.
#[derive(Debug, Default)]
pub struct Registry {
    services: Mutex<BTreeMap<String, Arc<ServiceMetrics>>>,
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Registry {
    /// The counters of `service`, created on first use (kept across reloads).
    pub fn service(&self, service: &str) -> Arc<ServiceMetrics> {
        let mut map = self.services.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(service.to_string()).or_default().clone()
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let map = self.services.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = String::new();
        let counters: [Counter; 6] = [
            (
                "tls_tunnel_connections_total",
                "counter",
                "Connections accepted.",
                |m| m.accepted.load(Relaxed),
            ),
            (
                "tls_tunnel_connections_active",
                "gauge",
                "Connections open now.",
                |m| m.active.load(Relaxed),
            ),
            (
                "tls_tunnel_handshakes_evicted_total",
                "counter",
                "Connections closed before their ClientHello to make room for newer ones.",
                |m| m.evicted.load(Relaxed),
            ),
            (
                "tls_tunnel_bytes_received_total",
                "counter",
                "Plaintext bytes received from TLS peers.",
                |m| m.bytes_from_tls.load(Relaxed),
            ),
            (
                "tls_tunnel_bytes_sent_total",
                "counter",
                "Plaintext bytes sent to TLS peers.",
                |m| m.bytes_to_tls.load(Relaxed),
            ),
            (
                "tls_tunnel_target_failures_total",
                "counter",
                "Failed attempts to connect to a target (failover to the next).",
                |m| m.target_failures.load(Relaxed),
            ),
        ];
        for (name, typ, help, get) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {typ}");
            for (svc, m) in map.iter() {
                let _ = writeln!(out, "{name}{{service=\"{}\"}} {}", escape(svc), get(m));
            }
        }
        let name = "tls_tunnel_connections_refused_total";
        let _ = writeln!(
            out,
            "# HELP {name} Connections refused: per_source (the source address had its most \
             connections), access (client certificate refused by the access rules).\n\
             # TYPE {name} counter"
        );
        for (svc, m) in map.iter() {
            for (reason, n) in [
                ("per_source", &m.refused_source),
                ("access", &m.refused_access),
            ] {
                let _ = writeln!(
                    out,
                    "{name}{{service=\"{}\",reason=\"{reason}\"}} {}",
                    escape(svc),
                    n.load(Relaxed)
                );
            }
        }
        let name = "tls_tunnel_handshake_failures_total";
        let _ = writeln!(
            out,
            "# HELP {name} Failed TLS handshakes by reason.\n# TYPE {name} counter"
        );
        for (svc, m) in map.iter() {
            let failures = m.failures.lock().unwrap_or_else(|e| e.into_inner());
            for (reason, n) in failures.iter() {
                let _ = writeln!(
                    out,
                    "{name}{{service=\"{}\",reason=\"{}\"}} {n}",
                    escape(svc),
                    escape(reason)
                );
            }
        }
        let name = "tls_tunnel_handshake_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} TLS handshake latency.\n# TYPE {name} histogram"
        );
        for (svc, m) in map.iter() {
            let svc = escape(svc);
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{name}_bucket{{service=\"{svc}\",le=\"{bound}\"}} {}",
                    m.buckets[i].load(Relaxed)
                );
            }
            let count = m.latency_count.load(Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{service=\"{svc}\",le=\"+Inf\"}} {count}"
            );
            let sum = m.latency_sum_us.load(Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{{service=\"{svc}\"}} {sum}");
            let _ = writeln!(out, "{name}_count{{service=\"{svc}\"}} {count}");
        }
        out
    }
}

/// Serves `registry` at `http://addr/metrics` until the process ends.
pub async fn serve(listener: TcpListener, registry: Arc<Registry>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let registry = registry.clone();
        tokio::spawn(async move {
            let mut req = Vec::with_capacity(512);
            let mut buf = [0u8; 1024];
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 8192 {
                    let n = sock.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                Ok::<_, std::io::Error>(())
            })
            .await;
            if !matches!(read, Ok(Ok(()))) {
                return;
            }
            let path_ok = req.starts_with(b"GET /metrics ") || req.starts_with(b"GET / ");
            let (status, body) = if path_ok {
                ("200 OK", registry.render())
            } else {
                ("404 Not Found", "not found: try /metrics\n".to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

/// Binds the metrics endpoint.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}
