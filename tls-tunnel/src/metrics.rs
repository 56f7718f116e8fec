//! Counters per service, rendered as Prometheus text: connections by state,
//! refusals and failures by a fixed machine-readable reason, bytes, and a
//! handshake latency histogram. The HTTP endpoint serving them is
//! [`crate::http`]; what needs the running services (certificate expiry,
//! build information) is added by [`crate::status`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
/// A counter's metric name, help text, type, and how to read it.
type Counter = (
    &'static str,
    &'static str,
    &'static str,
    fn(&ServiceMetrics) -> u64,
);

/// Why a connection was refused or failed: the `reason` label, a fixed
/// snake_case value (never free text), so dashboards and alerts can match it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Refused at accept: the source address had its most connections.
    PerSource,
    /// Refused by the access rules (allow-cn, allow-san...) after the
    /// client certificate verified.
    AccessDenied,
    /// The incoming PROXY protocol header was missing or malformed.
    ProxyHeader,
    /// The application protocol's prelude (STARTTLS, CONNECT...) failed.
    ProtocolPrelude,
    /// The handshake (with its PROXY header and prelude) did not finish in time.
    HandshakeTimeout,
    /// The peer closed the connection before the handshake finished.
    PeerClosed,
    /// A socket error during the handshake.
    IoError,
    /// The peer sent a fatal alert.
    PeerAlert,
    /// Undecodable handshake bytes (decode_error alert).
    DecodeError,
    /// A message the handshake state did not expect.
    UnexpectedMessage,
    /// A well-formed but forbidden value.
    IllegalParameter,
    /// No acceptable parameters in common (versions, suites, groups, EMS).
    HandshakeFailure,
    /// A Finished MAC or a signature did not verify.
    DecryptError,
    /// A record failed authentication.
    BadRecordMac,
    /// A record was too large.
    RecordOverflow,
    /// Only refused protocol versions offered.
    ProtocolVersion,
    /// A required extension was missing.
    MissingExtension,
    /// An extension where it is not allowed.
    UnsupportedExtension,
    /// A downgrade retry (TLS_FALLBACK_SCSV) refused.
    InappropriateFallback,
    /// No ALPN protocol in common.
    NoApplicationProtocol,
    /// No certificate for the name asked for.
    UnrecognizedName,
    /// The peer's certificate was rejected (chain, name, expiry, pin).
    BadCertificate,
    /// The peer's certificate uses an unsupported key or algorithm.
    UnsupportedCertificate,
    /// The server's stapled OCSP response was refused.
    BadCertificateStatusResponse,
    /// A client certificate was required and none was sent.
    CertificateRequired,
    /// A local failure (entropy, configuration, a primitive refused its input).
    InternalError,
    /// Every target failed to connect.
    TargetUnreachable,
    /// Writing the PROXY header to the target failed.
    TargetError,
    /// The PROXY v2 header to send did not fit the format's lengths.
    ProxyHeaderTooLong,
    /// The program of `exec` could not be started.
    ExecFailed,
    /// The SOCKS exchange inside TLS failed.
    SocksFailed,
}

impl Reason {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::PerSource => "per_source",
            Reason::AccessDenied => "access_denied",
            Reason::ProxyHeader => "proxy_header",
            Reason::ProtocolPrelude => "protocol_prelude",
            Reason::HandshakeTimeout => "handshake_timeout",
            Reason::PeerClosed => "peer_closed",
            Reason::IoError => "io_error",
            Reason::PeerAlert => "peer_alert",
            Reason::DecodeError => "decode_error",
            Reason::UnexpectedMessage => "unexpected_message",
            Reason::IllegalParameter => "illegal_parameter",
            Reason::HandshakeFailure => "handshake_failure",
            Reason::DecryptError => "decrypt_error",
            Reason::BadRecordMac => "bad_record_mac",
            Reason::RecordOverflow => "record_overflow",
            Reason::ProtocolVersion => "protocol_version",
            Reason::MissingExtension => "missing_extension",
            Reason::UnsupportedExtension => "unsupported_extension",
            Reason::InappropriateFallback => "inappropriate_fallback",
            Reason::NoApplicationProtocol => "no_application_protocol",
            Reason::UnrecognizedName => "unrecognized_name",
            Reason::BadCertificate => "bad_certificate",
            Reason::UnsupportedCertificate => "unsupported_certificate",
            Reason::BadCertificateStatusResponse => "bad_certificate_status_response",
            Reason::CertificateRequired => "certificate_required",
            Reason::InternalError => "internal_error",
            Reason::TargetUnreachable => "target_unreachable",
            Reason::TargetError => "target_error",
            Reason::ProxyHeaderTooLong => "proxy_header_too_long",
            Reason::ExecFailed => "exec_failed",
            Reason::SocksFailed => "socks_failed",
        }
    }

    /// The reason of a TLS engine error.
    pub fn of_tls(e: &tls_core::Error) -> Reason {
        use tls_core::Error as E;
        match e {
            E::Decode(_) => Reason::DecodeError,
            E::UnexpectedMessage(_) => Reason::UnexpectedMessage,
            E::IllegalParameter(_) => Reason::IllegalParameter,
            E::HandshakeFailure(_) => Reason::HandshakeFailure,
            E::DecryptError(_) => Reason::DecryptError,
            E::BadRecordMac => Reason::BadRecordMac,
            E::RecordOverflow => Reason::RecordOverflow,
            E::ProtocolVersion => Reason::ProtocolVersion,
            E::MissingExtension(_) => Reason::MissingExtension,
            E::UnsupportedExtension(_) => Reason::UnsupportedExtension,
            E::InappropriateFallback => Reason::InappropriateFallback,
            E::NoApplicationProtocol => Reason::NoApplicationProtocol,
            E::UnrecognizedName => Reason::UnrecognizedName,
            E::BadCertificate(_) => Reason::BadCertificate,
            E::UnsupportedCertificate(_) => Reason::UnsupportedCertificate,
            // A verifier's own refusal: tls-tunnel's verifiers do not make it.
            E::CertificateUnknown(_) => Reason::BadCertificate,
            E::BadCertificateStatus(_) => Reason::BadCertificateStatusResponse,
            E::CertificateRequired => Reason::CertificateRequired,
            E::AccessDenied(_) => Reason::AccessDenied,
            E::AlertReceived(_) => Reason::PeerAlert,
            E::UnexpectedEof | E::Closed => Reason::PeerClosed,
            E::Entropy | E::KeyMismatch | E::InvalidConfig(_) | E::Misuse(_) | E::Internal(_) => {
                Reason::InternalError
            }
            // A variant a later tls-core adds: counted as a local failure
            // until it gets its own reason.
            _ => Reason::InternalError,
        }
    }
}

/// The reasons of `tls_tunnel_connections_refused_total`.
const REFUSALS: [Reason; 2] = [Reason::PerSource, Reason::AccessDenied];

/// The reasons of `tls_tunnel_handshake_failures_total`: what ends a
/// connection before its TLS handshake is done.
const HANDSHAKE_FAILURES: [Reason; 24] = [
    Reason::ProxyHeader,
    Reason::ProtocolPrelude,
    Reason::HandshakeTimeout,
    Reason::PeerClosed,
    Reason::IoError,
    Reason::PeerAlert,
    Reason::DecodeError,
    Reason::UnexpectedMessage,
    Reason::IllegalParameter,
    Reason::HandshakeFailure,
    Reason::DecryptError,
    Reason::BadRecordMac,
    Reason::RecordOverflow,
    Reason::ProtocolVersion,
    Reason::MissingExtension,
    Reason::UnsupportedExtension,
    Reason::InappropriateFallback,
    Reason::NoApplicationProtocol,
    Reason::UnrecognizedName,
    Reason::BadCertificate,
    Reason::UnsupportedCertificate,
    Reason::BadCertificateStatusResponse,
    Reason::CertificateRequired,
    Reason::InternalError,
];

/// The reasons of `tls_tunnel_connection_failures_total`: what ends a
/// connection after its handshake, before any data is relayed.
const CONNECTION_FAILURES: [Reason; 5] = [
    Reason::TargetUnreachable,
    Reason::TargetError,
    Reason::ProxyHeaderTooLong,
    Reason::ExecFailed,
    Reason::SocksFailed,
];

/// How many [`Reason`]s there are (the size of the counter table).
const REASONS: usize = 31;
const _: () = assert!(Reason::SocksFailed as usize + 1 == REASONS);

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
    /// Open connections whose TLS handshake is not done yet (with their
    /// PROXY header, prelude, and in client mode the target connect).
    handshaking: AtomicU64,
    /// Open connections past their handshake.
    established: AtomicU64,
    /// Connections closed before their ClientHello to make room for newer ones.
    pub evicted: AtomicU64,
    /// Plaintext bytes received over TLS.
    pub bytes_from_tls: AtomicU64,
    /// Plaintext bytes sent over TLS.
    pub bytes_to_tls: AtomicU64,
    /// Attempts to connect to a target that failed (the next target, if
    /// any, was tried).
    pub target_failures: AtomicU64,
    /// Connections whose client certificate failed the checks and that
    /// went to the `redirect` targets instead (stunnel's redirect).
    pub redirected: AtomicU64,
    /// Refusals and failures, indexed by `Reason as usize`.
    reasons: [AtomicU64; REASONS],
    buckets: [AtomicU64; BUCKETS.len()],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
}

impl ServiceMetrics {
    /// Counts a refused or failed connection under `reason`.
    pub fn count(&self, reason: Reason) {
        if let Some(n) = self.reasons.get(reason as usize) {
            n.fetch_add(1, Relaxed);
        }
    }

    fn counted(&self, reason: Reason) -> u64 {
        self.reasons
            .get(reason as usize)
            .map_or(0, |n| n.load(Relaxed))
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

    /// Open connections now: (handshaking, established).
    pub fn open(&self) -> (u64, u64) {
        (
            self.handshaking.load(Relaxed),
            self.established.load(Relaxed),
        )
    }
}

/// A connection's place in the by-state gauges: handshaking from its
/// creation, established after [`ConnState::established`], gone on drop.
pub struct ConnState {
    metrics: Arc<ServiceMetrics>,
    established: bool,
}

impl ConnState {
    /// Counts a new connection as handshaking.
    pub fn new(metrics: Arc<ServiceMetrics>) -> ConnState {
        metrics.handshaking.fetch_add(1, Relaxed);
        ConnState {
            metrics,
            established: false,
        }
    }

    /// Moves the connection to the established gauge (once).
    pub fn established(&mut self) {
        if !self.established {
            self.established = true;
            self.metrics.established.fetch_add(1, Relaxed);
            self.metrics.handshaking.fetch_sub(1, Relaxed);
        }
    }
}

impl Drop for ConnState {
    fn drop(&mut self) {
        let gauge = if self.established {
            &self.metrics.established
        } else {
            &self.metrics.handshaking
        };
        gauge.fetch_sub(1, Relaxed);
    }
}

/// Every service's counters, by name.
#[derive(Debug, Default)]
pub struct Registry {
    services: Mutex<BTreeMap<String, Arc<ServiceMetrics>>>,
    /// Set when the process stops: open connections are then draining.
    pub draining: AtomicBool,
}

/// A label value with `\`, `"` and newlines escaped.
pub fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes a metric family's HELP and TYPE lines.
pub fn family(out: &mut String, name: &str, typ: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {typ}");
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
        let counters: [Counter; 7] = [
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
            (
                "tls_tunnel_connections_redirected_total",
                "counter",
                "Connections whose client certificate failed the checks, sent to the \
                 redirect targets.",
                |m| m.redirected.load(Relaxed),
            ),
        ];
        for (name, typ, help, get) in counters {
            family(&mut out, name, typ, help);
            for (svc, m) in map.iter() {
                let _ = writeln!(out, "{name}{{service=\"{}\"}} {}", escape(svc), get(m));
            }
        }
        let name = "tls_tunnel_connections_open";
        family(
            &mut out,
            name,
            "gauge",
            "Open connections by state: handshaking (before the TLS handshake is done), \
             established, draining (open while the process stops).",
        );
        let draining = self.draining.load(Relaxed);
        for (svc, m) in map.iter() {
            let (handshaking, established) = m.open();
            let (established, drained) = if draining {
                (0, established)
            } else {
                (established, 0)
            };
            for (state, n) in [
                ("handshaking", handshaking),
                ("established", established),
                ("draining", drained),
            ] {
                let _ = writeln!(
                    out,
                    "{name}{{service=\"{}\",state=\"{state}\"}} {n}",
                    escape(svc)
                );
            }
        }
        let families: [(&str, &str, &[Reason], bool); 3] = [
            (
                "tls_tunnel_connections_refused_total",
                "Connections refused: per_source (the source address had its most \
                 connections), access_denied (client certificate refused by the access rules).",
                &REFUSALS,
                true,
            ),
            (
                "tls_tunnel_handshake_failures_total",
                "Connections that ended before their TLS handshake was done, by reason.",
                &HANDSHAKE_FAILURES,
                false,
            ),
            (
                "tls_tunnel_connection_failures_total",
                "Connections that failed after their handshake, before relaying, by reason.",
                &CONNECTION_FAILURES,
                true,
            ),
        ];
        for (name, help, reasons, zeros) in families {
            family(&mut out, name, "counter", help);
            for (svc, m) in map.iter() {
                for &reason in reasons {
                    let n = m.counted(reason);
                    if n > 0 || zeros {
                        let _ = writeln!(
                            out,
                            "{name}{{service=\"{}\",reason=\"{}\"}} {n}",
                            escape(svc),
                            reason.as_str()
                        );
                    }
                }
            }
        }
        let name = "tls_tunnel_handshake_duration_seconds";
        family(&mut out, name, "histogram", "TLS handshake latency.");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_labels_are_snake_case_and_distinct() {
        let all: Vec<Reason> = REFUSALS
            .iter()
            .chain(&HANDSHAKE_FAILURES)
            .chain(&CONNECTION_FAILURES)
            .copied()
            .collect();
        assert_eq!(all.len(), REASONS);
        let mut seen = std::collections::BTreeSet::new();
        for r in all {
            let label = r.as_str();
            assert!(
                label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{label}"
            );
            assert!(seen.insert(label), "{label} twice");
            assert!(seen.len() <= REASONS);
            assert!((r as usize) < REASONS);
        }
    }

    #[test]
    fn render_shows_states_and_reasons() {
        let reg = Registry::default();
        let m = reg.service("web");
        m.count(Reason::HandshakeTimeout);
        m.count(Reason::of_tls(&tls_core::Error::BadCertificate("expired")));
        let mut a = ConnState::new(m.clone());
        let _b = ConnState::new(m.clone());
        a.established();
        let text = reg.render();
        for line in [
            "tls_tunnel_handshake_failures_total{service=\"web\",reason=\"handshake_timeout\"} 1",
            "tls_tunnel_handshake_failures_total{service=\"web\",reason=\"bad_certificate\"} 1",
            "tls_tunnel_connections_refused_total{service=\"web\",reason=\"access_denied\"} 0",
            "tls_tunnel_connections_open{service=\"web\",state=\"handshaking\"} 1",
            "tls_tunnel_connections_open{service=\"web\",state=\"established\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert!(!text.contains("reason=\"decode_error\""));
        reg.draining.store(true, Relaxed);
        let text = reg.render();
        for line in [
            "tls_tunnel_connections_open{service=\"web\",state=\"established\"} 0",
            "tls_tunnel_connections_open{service=\"web\",state=\"draining\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        drop(a);
        assert_eq!(m.open(), (1, 0));
    }
}
