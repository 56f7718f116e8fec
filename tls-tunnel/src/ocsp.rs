//! OCSP checks of the peer's certificates after the handshake (stunnel's
//! `OCSP`, `OCSPaia`, `OCSPnonce`, `OCSPrequire`, `OCSPflag`,
//! `TIMEOUTocsp`): each certificate of the peer's path below the trust
//! anchor is asked about, at the responders of its authorityInfoAccess
//! (with `OCSPaia`) and then at the configured one, until one gives a
//! conclusive answer. `revoked` refuses the connection; no conclusive
//! answer (responder down, error, a response that does not verify,
//! `unknown`) refuses it too unless `OCSPrequire = no`.
//!
//! In client mode the server is asked to staple a response (status_request),
//! and for its own certificate a stapled response is looked at first, as
//! stunnel does: `good` or `revoked` there is the answer and no responder is
//! contacted; a staple that does not verify or says `unknown`, or none at
//! all, leaves the responders to ask.
//!
//! The check runs once the handshake is done and before any byte is
//! forwarded: a refused peer is closed. Responses, stapled or fetched, are
//! verified by `tls_core::x509` (signature, signer, CertID, times, and the
//! nonce of a fetched one); the fetch is a bounded HTTP/1.0 POST here.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use entropy::EntropySource;
use tls_core::x509::{
    OcspIssuer, OcspSigners, OcspStatus, OcspTarget, MAX_OCSP_RESPONSE, OCSP_NONCE_LEN,
};
use tls_core::{Negotiated, TrustAnchors, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::config::ocsp::{parse_http_url, OcspSettings};
use crate::config::{Role, ServerVerify, Service};
use crate::trust::CaFile;

/// Certificates of one path checked at most (the peer's chain is bounded by
/// the handshake's size limits too).
const MAX_DEPTH: usize = 10;
/// AIA responders asked per certificate, at most.
const MAX_AIA_URLS: usize = 4;
/// Bytes of HTTP headers accepted before the response body.
const MAX_HEADERS: usize = 16 * 1024;

/// A service's OCSP settings with the CA certificates that may issue the
/// peer's certificates.
pub struct OcspChecker {
    settings: OcspSettings,
    issuers: Vec<OcspIssuer>,
}

/// The result for one certificate.
enum Answer {
    Good,
    Revoked(String),
    Inconclusive(String),
}

impl OcspChecker {
    /// The checker for `service`, or `None` when OCSP is off or cannot
    /// apply (no verification of the peer: there is then no issuer to ask
    /// about, as in stunnel where OCSP runs inside certificate verification).
    pub fn build(service: &Service) -> Result<Option<Arc<OcspChecker>>, String> {
        let settings = service.trust.ocsp.clone();
        if !settings.enabled() {
            return Ok(None);
        }
        let ca_file = |path: &std::path::Path| -> Result<Vec<OcspIssuer>, String> {
            Ok(CaFile::load(path, &service.trust)?
                .certs
                .iter()
                .filter_map(|der| OcspIssuer::from_cert(der).ok())
                .collect())
        };
        let issuers = match &service.role {
            Role::Server(server) => server.access.cacert.as_deref().map(ca_file).transpose()?,
            Role::Client(client) => match &client.verify {
                ServerVerify::Chain(Some(path)) | ServerVerify::Pinned(path) => {
                    Some(ca_file(path)?)
                }
                ServerVerify::Chain(None) => Some(
                    TrustAnchors::from_system()
                        .map_err(|e| format!("cannot load the system trust store: {e}"))?
                        .iter()
                        .map(OcspIssuer::from_anchor)
                        .collect(),
                ),
                ServerVerify::Insecure | ServerVerify::Spki(_) => None,
            },
        };
        let Some(issuers) = issuers else {
            tracing::warn!(service = %service.name,
                "OCSP has no effect: the peer's certificate is not verified");
            return Ok(None);
        };
        Ok(Some(Arc::new(OcspChecker { settings, issuers })))
    }

    /// Checks the peer's chain (end-entity first, as sent), its own
    /// certificate first against the response it stapled, if any. `Err`
    /// says why the peer is refused.
    pub async fn check(&self, negotiated: &Negotiated, service: &str) -> Result<(), String> {
        let chain = &negotiated.peer_certificates;
        let Some(leaf) = chain.first() else {
            return Ok(()); // no certificate (requireCert = no): nothing to ask
        };
        let sent = chain.get(1..).unwrap_or_default();
        let mut issuers = self.issuers.clone();
        let mut issuer_certs: Vec<Option<&Vec<u8>>> = vec![None; issuers.len()];
        for der in sent {
            if let Ok(i) = OcspIssuer::from_cert(der) {
                issuers.push(i);
                issuer_certs.push(Some(der));
            }
        }
        let mut cert = leaf;
        for depth in 0..MAX_DEPTH {
            let found = OcspTarget::find(cert, &issuers);
            let stapled = negotiated.ocsp_response.as_deref().filter(|_| depth == 0);
            let answer = match (
                &found,
                stapled.and_then(|r| stapled_answer(&found, r, service)),
            ) {
                (_, Some(answer)) => answer,
                (Some((target, _)), None) => self.ask(target).await,
                (None, None) => Answer::Inconclusive("the issuer certificate is not known".into()),
            };
            match answer {
                Answer::Good => {
                    tracing::debug!(service, depth, "OCSP: certificate good");
                }
                Answer::Revoked(at) => {
                    tracing::warn!(service, depth, "OCSP: certificate revoked ({at})");
                    return Err(format!("certificate at depth {depth} revoked"));
                }
                Answer::Inconclusive(why) if self.settings.require => {
                    return Err(format!(
                        "no conclusive OCSP answer for the certificate at depth {depth}: {why}"
                    ));
                }
                Answer::Inconclusive(why) => {
                    tracing::warn!(
                        service,
                        depth,
                        "OCSP: no conclusive answer ({why}): allowed by OCSPrequire = no"
                    );
                }
            }
            // On to the issuer when the peer sent it (an anchor ends the path).
            match found.and_then(|(_, i)| issuer_certs.get(i).copied().flatten()) {
                Some(next) if next != cert => cert = next,
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    /// Asks the responders about one certificate, until one answers
    /// conclusively.
    async fn ask(&self, target: &OcspTarget) -> Answer {
        let mut urls = if self.settings.aia {
            target.aia_urls()
        } else {
            Vec::new()
        };
        // A certificate could name many: each may cost TIMEOUTocsp.
        urls.truncate(MAX_AIA_URLS);
        urls.extend(self.settings.url.iter().cloned());
        if urls.is_empty() {
            return Answer::Inconclusive("the certificate names no OCSP responder".into());
        }
        // The CA and delegated responders may both sign (see
        // `OcspSettings::check_flag` for NOCASIGN and NODELEGATED).
        let signers = OcspSigners::default();
        let mut last = String::new();
        for url in &urls {
            let nonce = if self.settings.nonce {
                let mut n = [0u8; OCSP_NONCE_LEN];
                if entropy::HostEntropy.fill(&mut n).is_err() {
                    return Answer::Inconclusive("no randomness for the nonce".into());
                }
                Some(n)
            } else {
                None
            };
            let request = target.request(nonce.as_ref().map(|n| n.as_slice()));
            let response = match fetch(url, &request, self.settings.timeout).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("OCSP: {url}: {e}");
                    last = format!("{url}: {e}");
                    continue;
                }
            };
            match target.verify(
                &response,
                nonce.as_ref().map(|n| n.as_slice()),
                signers,
                now(),
            ) {
                Ok(v) => match v.status {
                    OcspStatus::Good => return Answer::Good,
                    OcspStatus::Revoked(at) => {
                        return Answer::Revoked(format!("revoked at {at} by {url}"))
                    }
                    OcspStatus::Unknown => last = format!("{url}: status unknown"),
                },
                Err(e) => {
                    tracing::warn!("OCSP: {url}: response refused: {e}");
                    last = format!("{url}: response refused: {e}");
                }
            }
        }
        Answer::Inconclusive(last)
    }
}

/// The answer of the server's stapled `response` for its certificate, when
/// it is conclusive: it must verify as a fetched one does (without a nonce,
/// which a staple cannot carry), for the issuer `found`. `None` (logged)
/// leaves the responders to ask, as stunnel does.
fn stapled_answer(
    found: &Option<(OcspTarget, usize)>,
    response: &[u8],
    service: &str,
) -> Option<Answer> {
    let Some((target, _)) = found else {
        tracing::warn!(
            service,
            "OCSP: stapled response not checked: the issuer is not known"
        );
        return None;
    };
    match target.verify(response, None, OcspSigners::default(), now()) {
        Ok(v) => match v.status {
            OcspStatus::Good => {
                tracing::info!(service, "OCSP: stapled response: certificate good");
                Some(Answer::Good)
            }
            OcspStatus::Revoked(at) => Some(Answer::Revoked(format!(
                "revoked at {at} (stapled response)"
            ))),
            OcspStatus::Unknown => {
                tracing::warn!(service, "OCSP: stapled response: status unknown");
                None
            }
        },
        Err(e) => {
            tracing::warn!(service, "OCSP: stapled response refused: {e}");
            None
        }
    }
}

/// The wall clock, for response freshness.
fn now() -> UnixTime {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UnixTime(secs)
}

/// POSTs `request` to `url` and returns the response body, all within
/// `timeout`.
pub async fn fetch(url: &str, request: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let u = parse_http_url(url)?;
    let exchange = async {
        let mut sock = tokio::net::TcpStream::connect((u.host.as_str(), u.port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let host = if u.host.contains(':') {
            format!("[{}]", u.host)
        } else {
            u.host.clone()
        };
        let head = format!(
            "POST {} HTTP/1.0\r\nHost: {host}:{}\r\nContent-Type: application/ocsp-request\r\n\
             Accept: application/ocsp-response\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            u.path,
            u.port,
            request.len()
        );
        let mut out = head.into_bytes();
        out.extend_from_slice(request);
        sock.write_all(&out)
            .await
            .map_err(|e| format!("send: {e}"))?;
        let limit = MAX_HEADERS + MAX_OCSP_RESPONSE;
        let mut reply = Vec::new();
        let read = (&mut sock)
            .take(u64::try_from(limit + 1).unwrap_or(u64::MAX))
            .read_to_end(&mut reply)
            .await;
        read.map_err(|e| format!("receive: {e}"))?;
        if reply.len() > limit {
            return Err("response too large".to_string());
        }
        http_body(&reply)
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {}s (TIMEOUTocsp)", timeout.as_secs()))?
}

/// The body of a complete HTTP/1.x `200` response with an OCSP body.
fn http_body(reply: &[u8]) -> Result<Vec<u8>, String> {
    let end = reply
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response")?;
    let head = std::str::from_utf8(reply.get(..end).unwrap_or_default())
        .map_err(|_| "malformed HTTP response")?;
    let body = reply.get(end + 4..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split(' ').nth(1).unwrap_or_default();
    if !status.starts_with("HTTP/1.") || code != "200" {
        return Err(format!("responder answered {status:?}"));
    }
    let mut length = None;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("malformed HTTP header")?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(value.parse::<usize>().map_err(|_| "bad Content-Length")?);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err("chunked transfer encoding is not supported".into());
        }
    }
    match length {
        Some(n) if n == body.len() => Ok(body.to_vec()),
        Some(_) => Err("response body shorter or longer than its Content-Length".into()),
        None => Ok(body.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocsp_http_bodies() {
        let ok = b"HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(http_body(ok).unwrap(), b"abc");
        assert_eq!(http_body(b"HTTP/1.1 200 OK\r\n\r\nxy").unwrap(), b"xy");
        for bad in [
            &b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"[..],
            b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nabc",
            b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            b"HTTP/1.0 200 OK\r\nContent-Length: 3",
            b"\xff\xfe 200\r\n\r\n",
        ] {
            assert!(http_body(bad).is_err());
        }
    }
}
