//! Setting a connection up, from the accepted socket to what the relay
//! needs: access checks, preludes, the handshake, the target. It runs in its
//! own allocation ([`crate::service`] boxes it), given back before the
//! relay, so an idle connection's task holds only what relaying needs.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Instant;

use tls_core::{Connection, Negotiated};

use crate::config::{Addr, ProxyVersion, QuietKind};
use crate::limits::HandshakeSlot;
use crate::listen::{connect, Stream};
use crate::metrics::{ConnState, Reason, ServiceMetrics};
use crate::protocol::{socks, Kind as ProtocolKind};
use crate::proxy_protocol::{self, TlsInfo};
use crate::redirect::Destination;
use crate::service::{show_peer, suite_name, version_name, Report};
use crate::tls::{Live, TlsConfig};
use crate::tls_io::{self, Outcome, RelayLimits};

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
fn failed(
    metrics: &ServiceMetrics,
    report: &mut Report,
    reason: Reason,
    what: String,
) -> Option<Relay> {
    metrics.count(reason);
    end(report, Outcome::Io(what))
}

/// Ends a connection before its relay, with `outcome`.
fn end(report: &mut Report, outcome: Outcome) -> Option<Relay> {
    report.outcome = outcome;
    None
}

/// What a connection relays once it is set up.
pub(crate) struct Relay {
    conn: Connection,
    target: Stream,
    /// Client mode: the TLS peer is the target and the plaintext side the
    /// accepted socket.
    tls_is_target: bool,
    limits: RelayLimits,
    /// exec+connect: the program, reaped after the relay (boxed: most
    /// connections have none, and every idle one holds this struct).
    program: Option<Box<tokio::process::Child>>,
}

impl Relay {
    /// Relays between the accepted socket and the target until both
    /// directions have finished.
    pub(crate) async fn run(&mut self, stream: &mut Stream, report: &mut Report) {
        let (conn, limits, bytes) = (&mut self.conn, self.limits, &mut report.bytes);
        report.outcome = match self.tls_is_target {
            true => tls_io::relay(conn, &self.target, stream, limits, bytes).await,
            false => tls_io::relay(conn, stream, &mut self.target, limits, bytes).await,
        };
    }

    /// The program to reap once the relay has ended; the rest (the target
    /// socket, the program's end of its socket pair) is closed.
    pub(crate) fn into_program(self) -> Option<tokio::process::Child> {
        self.program.map(|p| *p)
    }
}

/// Sets a connection up (checks, preludes, handshake, target): what to
/// relay, or `None` when it ended here (`report` says why).
pub(crate) async fn run(
    stream: &mut Stream,
    live: &Live,
    metrics: &ServiceMetrics,
    slot: HandshakeSlot,
    state: &mut ConnState,
    report: &mut Report,
) -> Option<Relay> {
    let s = &live.service;
    let t = s.timeouts;
    if s.net.libwrap {
        // Checked on the address that connected, as libwrap does.
        if let Err(why) = crate::libwrap::allowed(&s.name, report.peer.map(|p| p.ip())) {
            metrics.count(Reason::AccessDenied);
            return end(report, Outcome::Io(why));
        }
    }
    let mut local = stream.local_addr();
    if let Some(user) = &s.net.ident {
        // Asked about the TCP connection itself, as stunnel does.
        let asked = match (report.peer, local) {
            (Some(peer), Some(ours)) => {
                Box::pin(crate::ident::check(peer, ours, user, t.connect)).await
            }
            _ => Err("ident: not a TCP connection".into()),
        };
        if let Err(why) = asked {
            metrics.count(Reason::AccessDenied);
            return end(report, Outcome::Io(why));
        }
    }
    if s.proxy_accept {
        let header = Box::pin(tokio::time::timeout(
            t.handshake,
            proxy_protocol::read_header(stream),
        ));
        let header = tokio::select! {
            r = header => r,
            _ = slot.evicted() => {
                metrics.evicted.fetch_add(1, Ordering::Relaxed);
                return end(report, Outcome::Evicted);
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
                return end(report, Outcome::Io(e));
            }
            Err(_) => {
                metrics.count(Reason::HandshakeTimeout);
                return end(report, Outcome::HandshakeTimeout);
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
                match Box::pin(crate::protocol::run_server(p, stream, connect, t.handshake)).await {
                    Ok(target) => early = target,
                    Err(e) => {
                        metrics.count(Reason::ProtocolPrelude);
                        report.graceful = e.graceful;
                        return end(report, Outcome::Io(e.message));
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
                let mut handshake =
                    Box::pin(tls_io::handshake(&mut conn, stream, t.handshake, hello));
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
                return end(report, o);
            }
            metrics.handshake_done(hs.elapsed());
            state.established();
            let negotiated = conn.negotiated().cloned();
            report.negotiated = negotiated.clone();
            let Some(n) = negotiated else {
                return end(report, Outcome::Io("no negotiated parameters".into()));
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
                        return end(report, Outcome::Io(format!("access denied: {why}")));
                    }
                },
            };
            if let Some(ocsp) = &live.ocsp {
                if let Err(why) = Box::pin(ocsp.check(&n, &s.name)).await {
                    return end(report, Outcome::Io(format!("OCSP: {why}")));
                }
            }
            handshake_done(s, &n);
            if s.protocol
                .as_ref()
                .is_some_and(|p| p.kind == ProtocolKind::Socks)
            {
                match Box::pin(socks::serve(
                    &mut conn,
                    stream,
                    t.handshake,
                    t.connect,
                    &s.net,
                ))
                .await
                {
                    Ok(target) => early = Some(target),
                    Err(socks::Outcome::Tls(e)) => {
                        metrics.count(Reason::SocksFailed);
                        return end(report, Outcome::Tls(e));
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
                        program = Some(Box::new(child));
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
                    match Box::pin(connect_target(live, metrics, targets, report.peer)).await {
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
                if let Err(e) = Box::pin(send_proxy_header(&mut target, header)).await {
                    return failed(metrics, report, e.0, e.1);
                }
            }
            Some(Relay {
                conn,
                target,
                tls_is_target: false,
                limits,
                program,
            })
        }
        TlsConfig::Client(config, name) => {
            // The target connect and everything up to the end of the
            // handshake count as handshaking (the handshake place is held).
            let targets = original.as_deref().unwrap_or(&s.targets);
            let mut target =
                match Box::pin(connect_target(live, metrics, targets, report.peer)).await {
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
                if let Err(e) = Box::pin(send_proxy_header(&mut target, header)).await {
                    return failed(metrics, report, e.0, e.1);
                }
            }
            if let Some(p) = &s.protocol {
                let prelude = crate::protocol::run_client(p, stream, &mut target, t.handshake);
                if let Err(e) = Box::pin(prelude).await {
                    metrics.count(Reason::ProtocolPrelude);
                    report.graceful = e.graceful;
                    return end(report, Outcome::Io(e.message));
                }
            }
            let mut conn = match Connection::client(config.clone(), name.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    metrics.count(Reason::of_tls(&e));
                    return end(report, Outcome::Tls(e));
                }
            };
            let hs = Instant::now();
            let handshake = tls_io::handshake(&mut conn, &target, t.handshake, || {});
            if let Err(o) = Box::pin(handshake).await {
                count_failure(metrics, &o);
                return end(report, o);
            }
            drop(slot);
            metrics.handshake_done(hs.elapsed());
            state.established();
            report.negotiated = conn.negotiated().cloned();
            if let Some(n) = &report.negotiated {
                if let Some(ocsp) = &live.ocsp {
                    if let Err(why) = Box::pin(ocsp.check(n, &s.name)).await {
                        return end(report, Outcome::Io(format!("OCSP: {why}")));
                    }
                }
                handshake_done(s, n);
            }
            if let Some(p) = &s.protocol {
                // SMTP AUTH, inside TLS to the verified server.
                let auth = crate::protocol::run_client_after_handshake;
                if let Err(e) = Box::pin(auth(p, &mut conn, &mut target, t.handshake)).await {
                    metrics.count(Reason::ProtocolPrelude);
                    report.graceful = e.graceful;
                    return end(report, Outcome::Io(e.message));
                }
            }
            Some(Relay {
                conn,
                target,
                tls_is_target: true,
                limits,
                program: None,
            })
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
