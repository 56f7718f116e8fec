//! Turning the sections of a stunnel.conf into validated services: modes,
//! certificates, the peer checks stunnel's verify options describe, SNI
//! sections attached to their parent.

use std::path::PathBuf;

use tls_core::ProtocolVersion;

use super::super::{
    validate, Access, Addr, Algorithms, CertFiles, ClientRole, Limits, Mode, Role, ServerRole,
    ServerVerify, Service, SniRoute, TicketSecret, TrustExtras,
};
use super::{Errors, Loc, Section};

/// The services of `sections`; each section's problems go to `errors`,
/// options accepted without effect to `notices`.
pub(super) fn build(
    sections: &[Section],
    errors: &mut Errors,
    notices: &mut Vec<String>,
) -> Vec<Service> {
    let mut services: Vec<Service> = Vec::new();
    // SNI sections, attached to their parent once all parents exist.
    let mut slaves: Vec<(String, SniRoute, Loc)> = Vec::new();
    // Sections with more than one `accept`: copied once routes are attached.
    let mut more_accepts: Vec<(String, &[(Addr, Loc)])> = Vec::new();
    for s in sections.iter().filter(|s| !s.broken) {
        match section(s, notices) {
            Ok(Built::Service(service)) => {
                if !s.more_accepts.is_empty() {
                    more_accepts.push((service.name.clone(), &s.more_accepts));
                }
                services.push(*service)
            }
            Ok(Built::Route(parent, route, at)) => slaves.push((parent, route, at)),
            Err((at, e)) => errors.add(&at, e),
        }
    }
    for (parent, route, at) in slaves {
        let Some(p) = services.iter_mut().find(|s| s.name == parent) else {
            // A parent with an error of its own has been reported already.
            if !sections.iter().any(|s| s.broken && s.name == parent) {
                errors.add(&at, format!("sni refers to unknown service [{parent}]"));
            }
            continue;
        };
        match &mut p.role {
            Role::Server(server) => server.sni_routes.push(route),
            Role::Client(_) => errors.add(
                &at,
                format!("sni parent [{parent}] is not a server-mode service"),
            ),
        }
    }
    for (name, accepts) in more_accepts {
        listen_also(&mut services, &name, accepts, notices);
    }
    for s in &services {
        if let Err(e) = validate(s) {
            errors.add_last(super::ConfigError::new(
                &s.origin,
                format!("[{}]: {e}", s.name),
            ));
        }
    }
    services
}

/// stunnel listens on every `accept` of a section: each further address
/// becomes a copy of the service `name` (SNI routes included), named
/// `name#N` in logs and metrics, as a second section of the same name is.
fn listen_also(
    services: &mut Vec<Service>,
    name: &str,
    accepts: &[(Addr, Loc)],
    notices: &mut Vec<String>,
) {
    let Some(first) = services.iter().find(|s| s.name == name).cloned() else {
        return;
    };
    for (listen, at) in accepts {
        let mut n = 2;
        while services.iter().any(|s| s.name == format!("{name}#{n}")) {
            n += 1;
        }
        let mut copy = first.clone();
        copy.name = format!("{name}#{n}");
        copy.origin = at.to_string();
        copy.listen = listen.clone();
        notices.push(format!(
            "{at}: a further accept of [{name}] runs as [{}] in logs and metrics (its own \
             session cache)",
            copy.name
        ));
        services.push(copy);
    }
}

/// What one section becomes.
enum Built {
    Service(Box<Service>),
    /// A server-mode `sni = parent:pattern` section: a route of its parent.
    Route(String, SniRoute, Loc),
}

/// The peer checks stunnel's options ask for (`verify = LEVEL` has set
/// the same flags, see `options::service_option`).
struct Checks {
    chain: Option<bool>,
    peer: Option<bool>,
    require: Option<bool>,
}

fn checks(s: &Section) -> Checks {
    Checks {
        chain: s.verify_chain,
        peer: s.verify_peer,
        require: s.require_cert.as_ref().map(|(r, _)| *r),
    }
}

fn section(s: &Section, notices: &mut Vec<String>) -> Result<Built, (Loc, String)> {
    let err = |msg: &str| (s.at.clone(), format!("[{}]: {msg}", s.name));
    let mode = if s.client.unwrap_or(false) {
        Mode::Client
    } else {
        Mode::Server
    };
    let cert = match (&s.cert, &s.key) {
        (Some(c), Some(k)) => Some(CertFiles {
            cert: c.into(),
            key: k.into(),
            password: None,
        }),
        // stunnel reads the key from the certificate file when no key is given.
        (Some(c), None) => Some(CertFiles {
            cert: c.into(),
            key: c.into(),
            password: None,
        }),
        (None, Some(_)) => return Err(err("key given without cert")),
        (None, None) => None,
    };

    if mode == Mode::Server {
        if let Some((sni, at)) = &s.sni {
            return route(s, sni, at, cert, notices);
        }
    }

    let listen = match (s.accept.clone(), s.inetd) {
        (Some((listen, _)), _) => listen,
        (None, true) => Addr::Stdio,
        (None, false) if s.exec.is_some() && !s.connect.is_empty() => Addr::Exec,
        (None, false) => {
            return Err(err(
                "no accept address (stunnel's inetd mode, serving standard input, is a file \
                 without [sections], its service options before any section; a section with \
                 exec and connect and no accept runs its program connected to the target)",
            ))
        }
    };
    let mut net = s.net.clone();
    net.reset = s.reset.unwrap_or(true);
    if net.retry && listen != Addr::Exec {
        // As stunnel: accepted, with nothing to act on.
        net.retry = false;
        notices.push(format!(
            "[{}]: retry = yes has no effect: it restarts an exec+connect section (exec and \
             connect, no accept)",
            s.name
        ));
    }
    if net.unix_owner.is_some() && !matches!(listen, Addr::Unix(_)) {
        // As stunnel: accepted, with nothing to act on.
        net.unix_owner = None;
        notices.push(format!(
            "[{}]: setuid/setgid in a section set the owner of a Unix accept socket: accept \
             here is TCP, so they have no effect (before the first section they change the \
             user the process runs as)",
            s.name
        ));
    }
    let algorithms = algorithms(s)?;
    let checks = checks(s);
    // The CA file, else the CA directory, is the primary trust source; a
    // directory given with a file is added to it.
    let (primary, ca_dir) = match (&s.cafile, &s.capath) {
        (Some(f), dir) => (Some(PathBuf::from(f)), dir.as_ref().map(PathBuf::from)),
        (None, Some(dir)) => (Some(PathBuf::from(dir)), None),
        (None, None) => (None, None),
    };
    let mut service = Service {
        name: s.name.clone(),
        origin: s.at.to_string(),
        role: match mode {
            Mode::Server => Role::Server(ServerRole::default()),
            Mode::Client => Role::Client(ClientRole::default()),
        },
        listen,
        targets: s.connect.clone(),
        cert,
        alpn: Vec::new(),
        proxy_send: None,
        proxy_accept: false,
        protocol: None,
        exec: None,
        timeouts: s.timeouts,
        limits: Limits::default(),
        resume: s.session_resume.as_ref().is_none_or(|(on, _)| *on),
        algorithms,
        trust: TrustExtras {
            ca_dir,
            crl_file: s.crlfile.as_ref().map(PathBuf::from),
            crl_dir: s.crlpath.as_ref().map(PathBuf::from),
            ocsp: s.ocsp.clone(),
        },
        net,
        psk: psk(s)?,
    };
    let need_ca = || err("verifyChain/verifyPeer need CAfile or CApath");
    match &mut service.role {
        Role::Client(client) => {
            // From the global defaults they are meant for server sections;
            // written in a client section they would be silently ignored.
            if let Some((what, at)) = own_session_option(s, false) {
                return Err((
                    at,
                    format!(
                        "[{}]: {what} applies to server mode only (a client keeps a session as \
                         long as the server's ticket says; sessionResume = no turns resumption \
                         off)",
                        s.name
                    ),
                ));
            }
            let verifying = checks.chain == Some(true) || checks.peer == Some(true);
            if !verifying
                && (!s.check_host.is_empty() || !s.check_ip.is_empty() || !s.check_email.is_empty())
            {
                return Err(err(
                    "checkHost, checkIP and checkEmail need verifyChain = yes or verifyPeer = \
                     yes (stunnel refuses them without too)",
                ));
            }
            client.verify = match (checks.peer, checks.chain) {
                (Some(true), _) => ServerVerify::Pinned(primary.ok_or_else(need_ca)?),
                (_, Some(false)) => ServerVerify::Insecure,
                _ => ServerVerify::Chain(primary),
            };
            client.check_host = s.check_host.clone();
            client.check_ip = s.check_ip.clone();
            client.check_email = s.check_email.iter().map(|(e, _)| e.clone()).collect();
            client.server_name = match &s.sni {
                Some((name, _)) if name.is_empty() => None,
                Some((name, _)) => Some(name.clone()),
                None => s.check_host.first().cloned().or_else(|| {
                    service
                        .targets
                        .first()
                        .and_then(|t| t.host())
                        .filter(|h| h.parse::<std::net::IpAddr>().is_err())
                        .map(str::to_string)
                }),
            };
        }
        Role::Server(server) => {
            server.staple_ocsp = true;
            let r = &mut server.resumption;
            if let Some((timeout, _)) = s.session_timeout {
                r.timeout = timeout;
            }
            if let Some((size, _)) = s.session_cache_size {
                r.cache_size = size;
            }
            // securityLevel 3 and up turns tickets off, as in OpenSSL.
            r.tickets = s.no_ticket.is_none() && service.algorithms.security_level < 3;
            r.ticket_secret = ticket_secret(s)?;
            let pinned = checks.peer == Some(true);
            if checks.chain == Some(true) || pinned {
                let emails: Vec<String> = s.check_email.iter().map(|(e, _)| e.clone()).collect();
                server.access = Access {
                    cacert: Some(primary.ok_or_else(need_ca)?),
                    pinned,
                    allow_all: s.check_host.is_empty()
                        && emails.is_empty()
                        && s.check_ip.is_empty(),
                    allow_cn: s.check_host.clone(),
                    allow_san: s.check_host.clone(),
                    allow_email: emails,
                    allow_ip: s.check_ip.clone(),
                    optional: checks.require == Some(false),
                    require_any: false,
                    ..Access::default()
                };
            } else if checks.require == Some(true) {
                // stunnel's meaning: any certificate, but one.
                server.access.require_any = true;
            } else if !s.check_host.is_empty()
                || !s.check_email.is_empty()
                || !s.check_ip.is_empty()
            {
                return Err(err(
                    "checkHost/checkIP/checkEmail in server mode need verifyChain = yes",
                ));
            }
        }
    }
    service.exec = s.exec.as_ref().map(|(program, _)| super::super::Exec {
        program: PathBuf::from(program),
        args: match &s.exec_args {
            Some(a) => a.split_whitespace().map(str::to_string).collect(),
            None => vec![program.clone()],
        },
        pty: s.pty,
    });
    let (options, at) = &s.protocol;
    let options = unused_credentials(s, options, notices);
    options.apply(&mut service).map_err(|e| {
        (
            at.clone().unwrap_or_else(|| s.at.clone()),
            format!("[{}]: {e}", s.name),
        )
    })?;
    redirect(s, &mut service, notices)?;
    Ok(Built::Service(Box::new(service)))
}

/// stunnel takes protocolUsername, protocolPassword and
/// protocolAuthentication with any protocol and uses them only for
/// `connect` and SMTP AUTH in client mode: with another prelude, or smtp in
/// server mode, they are dropped with a notice, as inert, rather than
/// refused.
fn unused_credentials(
    s: &Section,
    options: &crate::protocol::Options,
    notices: &mut Vec<String>,
) -> crate::protocol::Options {
    use crate::protocol::{parse_name, Choice, Kind};
    let mut options = options.clone();
    let inert = matches!(
        options.name.as_deref().map(parse_name),
        Some(Ok(Choice::Prelude(kind))) if !matches!(kind, Kind::Connect | Kind::Smtp)
            || (kind == Kind::Smtp && s.client != Some(true))
    );
    let set = options.username.is_some()
        || options.password.is_some()
        || options.authentication.is_some();
    if inert && set {
        options.username = None;
        options.password = None;
        options.authentication = None;
        notices.push(format!(
            "[{}]: protocolUsername/protocolPassword/protocolAuthentication have no effect with \
             protocol = {} (stunnel uses them for connect and client-mode smtp only)",
            s.name,
            options.name.as_deref().unwrap_or_default()
        ));
    }
    options
}

/// stunnel's PSKsecrets and PSKidentity (the identity matters in client
/// mode only; stunnel ignores it in server sections).
fn psk(s: &Section) -> Result<Option<super::super::psk::PskSettings>, (Loc, String)> {
    match (&s.psk_secrets, &s.psk_identity) {
        (None, None) => Ok(None),
        (None, Some((_, at))) => Err((
            at.clone(),
            format!("[{}]: PSKidentity needs PSKsecrets", s.name),
        )),
        (Some((file, _)), identity) => Ok(Some(super::super::psk::PskSettings {
            secrets: file.into(),
            identity: match s.client {
                Some(true) => identity.as_ref().map(|(id, _)| id.clone()),
                _ => None,
            },
        })),
    }
}

/// stunnel's `redirect`: server mode, clients that fail certificate
/// verification go to these addresses. As in stunnel it has no effect in
/// client mode or with a protocol (such clients are refused); without
/// certificate verification there is no failure to redirect.
fn redirect(
    s: &Section,
    service: &mut Service,
    notices: &mut Vec<String>,
) -> Result<(), (Loc, String)> {
    let Some((_, at)) = s.redirect.first() else {
        return Ok(());
    };
    let no_effect = match (&mut service.role, &service.protocol) {
        (Role::Client(_), _) => "it applies to server mode only",
        (Role::Server(_), Some(_)) => {
            "protocol negotiations do not combine with it: clients whose certificate fails \
             verification are refused"
        }
        (Role::Server(server), None) => {
            if !server.access.enabled() {
                return Err((
                    at.clone(),
                    format!(
                        "[{}]: redirect sends clients whose certificate fails verification \
                         elsewhere: it needs verifyChain or verifyPeer with CAfile",
                        s.name
                    ),
                ));
            }
            server.access.redirect = s.redirect.iter().map(|(a, _)| a.clone()).collect();
            return Ok(());
        }
    };
    notices.push(format!(
        "{at}: [{}]: redirect has no effect (as in stunnel): {no_effect}",
        s.name
    ));
    Ok(())
}

/// A server-mode `sni = parent:pattern` section.
fn route(
    s: &Section,
    sni: &str,
    at: &Loc,
    cert: Option<CertFiles>,
    notices: &mut Vec<String>,
) -> Result<Built, (Loc, String)> {
    let Some((parent, pattern)) = sni.split_once(':') else {
        return Err((
            at.clone(),
            "in server mode sni must be SERVICE:SERVER_NAME_PATTERN".into(),
        ));
    };
    let parent = parent.trim();
    // As stunnel: accepted, but the TLS settings and sessions of a
    // connection are its parent's (the name only picks the certificate and
    // the target).
    if let Some((what, at)) = own_session_option(s, true) {
        notices.push(format!(
            "{at}: [{}]: {what} has no effect in an sni section: it shares the sessions of \
             [{parent}]",
            s.name
        ));
    }
    for (what, at) in protocol_option_lines(s).filter(|(_, l)| *l > s.at) {
        notices.push(format!(
            "{at}: [{}]: {what} has no effect in an sni section: it uses the TLS settings of \
             [{parent}]",
            s.name
        ));
    }
    if s.accept.as_ref().is_some_and(|(_, l)| *l > s.at) {
        return Err((
            s.at.clone(),
            format!(
                "[{}]: an sni section takes its connections from its parent: remove accept",
                s.name
            ),
        ));
    }
    Ok(Built::Route(
        parent.to_string(),
        SniRoute {
            name: pattern.trim().to_ascii_lowercase(),
            cert,
            targets: s.connect.clone(),
        },
        at.clone(),
    ))
}

/// The protocol options of section `s` (versions, suites, curves), with
/// their lines, in no particular order.
fn protocol_option_lines(s: &Section) -> impl Iterator<Item = (&'static str, Loc)> + '_ {
    [
        s.version_min
            .as_ref()
            .map(|(_, l)| ("sslVersion/sslVersionMin", l.clone())),
        s.version_max
            .as_ref()
            .map(|(_, l)| ("sslVersion/sslVersionMax", l.clone())),
        s.tls13_suites
            .as_ref()
            .map(|(_, l)| ("ciphersuites", l.clone())),
        s.tls12_suites.as_ref().map(|(_, l)| ("ciphers", l.clone())),
        s.groups.as_ref().map(|(_, l)| ("curves", l.clone())),
    ]
    .into_iter()
    .flatten()
    .chain(
        s.no_versions
            .iter()
            .map(|(_, l)| ("options = NO_TLSv1_x", l.clone())),
    )
}

/// The versions, suites and groups section `s` asks for; an error names
/// the last line involved.
fn algorithms(s: &Section) -> Result<Algorithms, (Loc, String)> {
    let mut a = Algorithms::default();
    let min = s
        .version_min
        .as_ref()
        .map_or(ProtocolVersion::Tls12, |(v, _)| *v);
    let max = s
        .version_max
        .as_ref()
        .map_or(ProtocolVersion::Tls13, |(v, _)| *v);
    // A `ciphers` list of PSK suites only leaves TLS 1.2 no suite.
    let psk_only_ciphers = s
        .tls12_suites
        .as_ref()
        .filter(|(suites, _)| suites.is_empty());
    a.versions.retain(|v| {
        v.to_wire() >= min.to_wire()
            && v.to_wire() <= max.to_wire()
            && !s.no_versions.iter().any(|(off, _)| off == v)
            && !(*v == ProtocolVersion::Tls12 && psk_only_ciphers.is_some())
    });
    if a.versions.is_empty() {
        let at = [&s.version_min, &s.version_max]
            .into_iter()
            .flatten()
            .map(|(_, l)| l)
            .chain(psk_only_ciphers.map(|(_, l)| l))
            .chain(s.no_versions.iter().map(|(_, l)| l))
            .max()
            .unwrap_or(&s.at)
            .clone();
        return Err((
            at,
            format!(
                "[{}]: sslVersionMin, sslVersionMax, options = NO_TLSv1_x and a ciphers list \
                 of PSK suites only (no TLS 1.2) leave no protocol version enabled",
                s.name
            ),
        ));
    }
    if let Some((suites, _)) = &s.tls13_suites {
        a.tls13_suites = suites.clone();
    }
    if let Some((suites, _)) = &s.tls12_suites {
        a.tls12_suites = suites.clone();
    }
    if let Some((groups, _)) = &s.groups {
        a.set_groups(groups);
    }
    a.allow_no_ems = s.allow_no_ems;
    if let Some((level, at)) = &s.security_level {
        a.security_level = *level;
        crate::seclevel::restrict(&mut a, *level)
            .map_err(|e| (at.clone(), format!("[{}]: {e}", s.name)))?;
    }
    Ok(a)
}

/// The fixed ticket key stunnel's ticketKeySecret and ticketMacSecret
/// describe: both or neither. The key is derived from both with SHA-256,
/// so instances (and restarts) given the same pair share it.
fn ticket_secret(s: &Section) -> Result<Option<TicketSecret>, (Loc, String)> {
    match (&s.ticket_key, &s.ticket_mac) {
        (None, None) => Ok(None),
        (Some((key, _)), Some((mac, _))) => {
            let mut input = b"tls-tunnel stunnel ticket secrets".to_vec();
            for part in [key, mac] {
                input.push(part.len() as u8);
                input.extend_from_slice(part);
            }
            let digest = tls_core::HashAlg::Sha256.hash(&input);
            let mut secret = [0u8; 32];
            for (to, from) in secret.iter_mut().zip(digest.as_ref()) {
                *to = *from;
            }
            Ok(Some(TicketSecret(secret)))
        }
        (Some((_, at)), None) | (None, Some((_, at))) => Err((
            at.clone(),
            format!(
                "[{}]: ticketKeySecret and ticketMacSecret go together: give both",
                s.name
            ),
        )),
    }
}

/// The first session option written in section `s` itself rather than
/// inherited from the global part, with its line: in a client section only
/// the server-side ones (`with_resume` false), in an SNI section any.
fn own_session_option(s: &Section, with_resume: bool) -> Option<(&'static str, Loc)> {
    [
        s.session_resume
            .as_ref()
            .filter(|_| with_resume)
            .map(|(_, l)| ("sessionResume", l.clone())),
        s.session_timeout
            .as_ref()
            .map(|(_, l)| ("sessionCacheTimeout", l.clone())),
        s.session_cache_size
            .as_ref()
            .map(|(_, l)| ("sessionCacheSize", l.clone())),
        s.no_ticket
            .as_ref()
            .map(|l| ("options = NO_TICKET", l.clone())),
        s.ticket_key
            .as_ref()
            .map(|(_, l)| ("ticketKeySecret", l.clone())),
        s.ticket_mac
            .as_ref()
            .map(|(_, l)| ("ticketMacSecret", l.clone())),
    ]
    .into_iter()
    .flatten()
    .filter(|(_, l)| *l > s.at)
    .min_by(|a, b| a.1.cmp(&b.1))
}
