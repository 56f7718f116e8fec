//! OCSP stapling in server mode (stunnel.conf services; issue #14 asks for
//! it, though Debian's stunnel 5.68 sent no staple for the same file in our
//! test). For each certificate the service presents whose
//! authorityInfoAccess names an OCSP responder and whose issuer is known
//! (the rest of the certificate file, or the CA file), a response is
//! fetched in the background, verified (it must say `good`), kept, and
//! refreshed half-way to its nextUpdate (or hourly without one). Clients
//! that send status_request get it stapled; an expired or missing response
//! is simply not stapled. Fetches start with the accept loop and on
//! connections when due, retried at most once a minute after a failure.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tls_core::stapling::OcspStapler;
use tls_core::x509::{OcspIssuer, OcspSigners, OcspStatus, OcspTarget};
use tls_core::{CertifiedKey, UnixTime};

use crate::config::{ServerRole, Service};
use crate::trust::CaFile;

/// Seconds between attempts after a failure.
const RETRY: Duration = Duration::from_secs(60);
/// Refresh period of a response without nextUpdate, in seconds.
const NO_NEXT_UPDATE_REFRESH: i64 = 3600;

/// The stapled responses of one service.
pub struct Stapler {
    service: String,
    timeout: Duration,
    entries: Vec<Arc<Entry>>,
}

/// One certificate's response.
struct Entry {
    target: OcspTarget,
    urls: Vec<String>,
    current: RwLock<Option<Kept>>,
    fetching: AtomicBool,
    last_attempt: Mutex<Option<Instant>>,
}

/// A verified response, with its refresh time and its end of validity
/// (seconds since the epoch).
struct Kept {
    response: Vec<u8>,
    refresh_at: i64,
    valid_until: Option<i64>,
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl Stapler {
    /// The stapler for the certificates of `service`, whose server side is
    /// `server`, or `None` when stapling is off or no certificate can be
    /// stapled; the CA file of client certificates is searched for issuers
    /// too.
    pub fn build(
        service: &Service,
        server: &ServerRole,
        certs: &[Arc<CertifiedKey>],
    ) -> Result<Option<Arc<Stapler>>, String> {
        if !server.staple_ocsp {
            return Ok(None);
        }
        let mut issuers = Vec::new();
        if let Some(ca) = &server.access.cacert {
            let ca = CaFile::load(ca, &service.trust)?;
            issuers.extend(
                ca.certs
                    .iter()
                    .filter_map(|d| OcspIssuer::from_cert(d).ok()),
            );
        }
        let mut entries = Vec::new();
        for certified in certs {
            let chain = certified.chain();
            let Some(leaf) = chain.first() else { continue };
            let mut candidates: Vec<OcspIssuer> = chain
                .iter()
                .skip(1)
                .filter_map(|d| OcspIssuer::from_cert(d).ok())
                .collect();
            candidates.extend(issuers.iter().cloned());
            let Some((target, _)) = OcspTarget::find(leaf, &candidates) else {
                continue;
            };
            let urls: Vec<String> = target.aia_urls();
            if urls.is_empty() {
                continue;
            }
            entries.push(Arc::new(Entry {
                target,
                urls,
                current: RwLock::new(None),
                fetching: AtomicBool::new(false),
                last_attempt: Mutex::new(None),
            }));
        }
        if entries.is_empty() {
            return Ok(None);
        }
        Ok(Some(Arc::new(Stapler {
            service: service.name.clone(),
            timeout: service.trust.ocsp.timeout,
            entries,
        })))
    }

    /// Starts the fetches that are due (from within the runtime).
    pub fn kick(&self) {
        for entry in &self.entries {
            self.refresh_if_due(entry);
        }
    }

    fn refresh_if_due(&self, entry: &Arc<Entry>) {
        let now = now_secs();
        let due = match &*entry.current.read().unwrap_or_else(|e| e.into_inner()) {
            Some(kept) => now >= kept.refresh_at,
            None => true,
        };
        if !due {
            return;
        }
        {
            let mut last = entry.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < RETRY) {
                return;
            }
            *last = Some(Instant::now());
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if entry.fetching.swap(true, Ordering::SeqCst) {
            return;
        }
        let (entry, service, timeout) = (entry.clone(), self.service.clone(), self.timeout);
        handle.spawn(async move {
            fetch_into(&entry, &service, timeout).await;
            entry.fetching.store(false, Ordering::SeqCst);
        });
    }
}

/// Fetches a response for `entry` from its responders in turn and keeps the
/// first that verifies as `good`.
async fn fetch_into(entry: &Entry, service: &str, timeout: Duration) {
    for url in &entry.urls {
        let request = entry.target.request(None);
        let response = match crate::ocsp::fetch(url, &request, timeout).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(service, "OCSP stapling: {url}: {e}");
                continue;
            }
        };
        let now = now_secs();
        let at = UnixTime(u64::try_from(now).unwrap_or(0));
        match entry
            .target
            .verify(&response, None, OcspSigners::default(), at)
        {
            Ok(v) if v.status == OcspStatus::Good => {
                let refresh_at = match v.next_update {
                    Some(next) => v
                        .this_update
                        .saturating_add(next.saturating_sub(v.this_update).max(0) / 2),
                    None => now.saturating_add(NO_NEXT_UPDATE_REFRESH),
                };
                tracing::info!(service, "OCSP stapling: response from {url} kept");
                *entry.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Kept {
                    response,
                    refresh_at,
                    valid_until: v.next_update,
                });
                return;
            }
            Ok(v) => tracing::warn!(
                service,
                "OCSP stapling: {url} says {:?}: not stapled",
                v.status
            ),
            Err(e) => tracing::warn!(service, "OCSP stapling: {url}: response refused: {e}"),
        }
    }
}

impl OcspStapler for Stapler {
    fn staple(&self, end_entity: &[u8]) -> Option<Vec<u8>> {
        let entry = self
            .entries
            .iter()
            .find(|e| e.target.cert() == end_entity)?;
        self.refresh_if_due(entry);
        let current = entry.current.read().unwrap_or_else(|e| e.into_inner());
        let kept = current.as_ref()?;
        if kept.valid_until.is_some_and(|end| end < now_secs()) {
            return None;
        }
        Some(kept.response.clone())
    }
}
