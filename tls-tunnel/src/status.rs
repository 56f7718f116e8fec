//! What the process reports about itself, for the endpoints of
//! [`crate::http`]: the `/_status` page (JSON, in the manner of ghostunnel's:
//! `ok`, `status`, `message`, `backend_ok`, plus every service with its
//! mode, addresses, open connections and certificates), readiness for
//! `/readyz`, and the metrics that need the running services (certificate
//! expiry, build information) on top of the counters of [`crate::metrics`].

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::metrics::{escape, family, Registry};
use crate::service::ServiceHandle;

/// The version, and the commit when the build was given one (set
/// `TLS_TUNNEL_GIT_COMMIT` in the build environment, as packaging does).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The commit the binary was built from, when the build environment said.
pub const COMMIT: Option<&str> = option_env!("TLS_TUNNEL_GIT_COMMIT");

/// The longest a `/_status` request waits for a target to accept a connection.
const BACKEND_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What a loaded certificate says, for `/_status` and the expiry gauge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Which of the service's certificates: `default`, `sni:NAME`, `client`.
    pub role: String,
    /// The subject, e.g. `CN=example.com`.
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// Start of validity (Unix seconds).
    pub not_before: i64,
    /// End of validity (Unix seconds).
    pub not_after: i64,
    /// SHA-256 of the certificate, colon-separated hex.
    pub fingerprint: String,
}

impl CertInfo {
    /// Reads an end-entity certificate (DER); `None` when it does not parse
    /// (it was accepted by the engine, so this does not happen in practice).
    pub fn from_der(role: String, der: &[u8]) -> Option<CertInfo> {
        let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
        let validity = cert.validity();
        Some(CertInfo {
            role,
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            fingerprint: crate::tls::fingerprint(der),
        })
    }
}

/// Where the process is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// Binding listeners, dropping privileges.
    Starting = 0,
    /// Every listener bound, accepting.
    Listening = 1,
    /// Re-reading the configuration (SIGHUP); still accepting.
    Reloading = 2,
    /// Stopping: no longer accepting, waiting for open connections.
    Draining = 3,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Listening => "listening",
            Phase::Reloading => "reloading",
            Phase::Draining => "draining",
        }
    }
}

/// The process as the endpoints see it.
pub struct Status {
    /// The counters.
    pub registry: Arc<Registry>,
    services: Vec<Arc<ServiceHandle>>,
    phase: AtomicU8,
}

impl Status {
    /// The status of these running services, starting.
    pub fn new(registry: Arc<Registry>, services: Vec<Arc<ServiceHandle>>) -> Arc<Status> {
        Arc::new(Status {
            registry,
            services,
            phase: AtomicU8::new(Phase::Starting as u8),
        })
    }

    /// Moves to `phase`; draining also turns open connections into
    /// draining ones in the metrics.
    pub fn set(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::SeqCst);
        if phase == Phase::Draining {
            self.registry.draining.store(true, Ordering::Relaxed);
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            1 => Phase::Listening,
            2 => Phase::Reloading,
            3 => Phase::Draining,
            _ => Phase::Starting,
        }
    }

    /// The current phase's name: starting, listening, reloading, draining.
    pub fn phase_name(&self) -> &'static str {
        self.phase().name()
    }

    /// Ready for traffic: every listener bound and not draining (a reload
    /// keeps accepting with the old configuration, so it stays ready).
    pub fn ready(&self) -> bool {
        matches!(self.phase(), Phase::Listening | Phase::Reloading)
    }

    /// The Prometheus page: the counters, then certificate expiry and build
    /// information.
    pub fn metrics(&self) -> String {
        let mut out = self.registry.render();
        let name = "tls_tunnel_certificate_expiry_seconds";
        family(
            &mut out,
            name,
            "gauge",
            "Seconds until each served or presented certificate expires (negative once \
             expired); follows reloads.",
        );
        let now = unix_now();
        for handle in &self.services {
            let live = handle.current();
            for c in &live.certificates {
                let _ = writeln!(
                    out,
                    "{name}{{service=\"{}\",certificate=\"{}\",subject=\"{}\"}} {}",
                    escape(&handle.name),
                    escape(&c.role),
                    escape(&c.subject),
                    c.not_after.saturating_sub(now)
                );
            }
        }
        let name = "tls_tunnel_build_info";
        family(
            &mut out,
            name,
            "gauge",
            "The running build: version and commit.",
        );
        match COMMIT {
            Some(commit) => {
                let commit = escape(commit);
                let _ = writeln!(out, "{name}{{version=\"{VERSION}\",commit=\"{commit}\"}} 1");
            }
            None => {
                let _ = writeln!(out, "{name}{{version=\"{VERSION}\"}} 1");
            }
        }
        let name = "tls_tunnel_ready";
        family(
            &mut out,
            name,
            "gauge",
            "1 when every listener is bound and the process is not draining.",
        );
        let _ = writeln!(out, "{name} {}", u8::from(self.ready()));
        out
    }

    /// The `/_status` page and whether all is well (HTTP 200, else 503):
    /// ready, and every service's first reachable target accepts a
    /// connection (checked now, bounded by its connect timeout and two
    /// seconds).
    pub async fn page(&self) -> (bool, String) {
        let checks: Vec<_> = self
            .services
            .iter()
            .map(|h| {
                let live = h.current();
                tokio::spawn(async move { check_backend(&live).await })
            })
            .collect();
        let mut backends = Vec::with_capacity(checks.len());
        for check in checks {
            backends.push(match check.await {
                Ok(r) => r,
                Err(e) => Err(format!("check failed: {e}")),
            });
        }
        let backend_ok = backends.iter().all(Result::is_ok);
        let ok = self.ready() && backend_ok;
        let now = unix_now();
        let mut j = String::from("{");
        let _ = write!(
            j,
            "\"ok\":{ok},\"status\":{},\"message\":{},\"backend_ok\":{backend_ok},\
             \"backend_status\":{},\"time\":{},",
            json(if ok { "ok" } else { "critical" }),
            json(self.phase_name()),
            json(if backend_ok { "ok" } else { "critical" }),
            json(&rfc3339(now)),
        );
        if let Some(host) = hostname() {
            let _ = write!(j, "\"hostname\":{},", json(&host));
        }
        let _ = write!(
            j,
            "\"version\":{},\"revision\":{},\"services\":[",
            json(VERSION),
            json(COMMIT.unwrap_or(VERSION))
        );
        for (i, (handle, backend)) in self.services.iter().zip(&backends).enumerate() {
            if i > 0 {
                j.push(',');
            }
            service_json(&mut j, handle, backend, now);
        }
        j.push_str("]}\n");
        (ok, j)
    }
}

/// One service in `/_status`.
fn service_json(j: &mut String, handle: &ServiceHandle, backend: &Result<(), String>, now: i64) {
    let live = handle.current();
    let s = &live.service;
    let mode = s.role.mode().name();
    let targets: Vec<String> = s.targets.iter().map(|t| json(&t.to_string())).collect();
    let (handshaking, established) = handle.metrics.open();
    let _ = write!(
        j,
        "{{\"name\":{},\"mode\":{},\"listen\":{},\"targets\":[{}],\
         \"connections\":{{\"handshaking\":{handshaking},\"established\":{established}}},\
         \"backend_ok\":{}",
        json(&handle.name),
        json(mode),
        json(&s.listen.to_string()),
        targets.join(","),
        backend.is_ok()
    );
    if let Err(e) = backend {
        let _ = write!(j, ",\"backend_error\":{}", json(e));
    }
    j.push_str(",\"certificates\":[");
    for (i, c) in live.certificates.iter().enumerate() {
        if i > 0 {
            j.push(',');
        }
        let _ = write!(
            j,
            "{{\"role\":{},\"subject\":{},\"issuer\":{},\"not_before\":{},\"not_after\":{},\
             \"expires_in_seconds\":{},\"sha256_fingerprint\":{}}}",
            json(&c.role),
            json(&c.subject),
            json(&c.issuer),
            json(&rfc3339(c.not_before)),
            json(&rfc3339(c.not_after)),
            c.not_after.saturating_sub(now),
            json(&c.fingerprint)
        );
    }
    j.push_str("]}");
}

/// Connects to the service's targets (in failover order, without counting
/// failures in the metrics) and closes again. A service without fixed
/// targets (exec, SOCKS, CONNECT) has nothing to check.
async fn check_backend(live: &crate::tls::Live) -> Result<(), String> {
    let s = &live.service;
    if s.targets.is_empty() || s.exec.is_some() {
        return Ok(());
    }
    let timeout = s.timeouts.connect.min(BACKEND_CHECK_TIMEOUT);
    crate::listen::connect(&s.targets, timeout, &s.net, 0, |_| {})
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The host name, from the kernel (none when it cannot be read).
fn hostname() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// A JSON string literal.
pub fn json(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Unix seconds as an RFC 3339 UTC time, e.g. `2026-12-03T04:05:06Z`
/// (the proleptic Gregorian calendar, for any year X.509 can state).
pub fn rfc3339(secs: i64) -> String {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm,
    // with eras of 400 years starting on 0000-03-01).
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe
        .saturating_add(era.saturating_mul(400))
        .saturating_add(i64::from(month <= 2));
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_272_706), "2026-12-03T04:38:26Z");
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json("a\"b\\c\n\u{1}é"), "\"a\\\"b\\\\c\\u000a\\u0001é\"");
    }
}
