//! stunnel.conf, read directly: global options, `[service]` sections and the
//! subset of service options tls-tunnel implements. Anything else is an error
//! naming its line, never silently ignored.

use std::path::PathBuf;
use std::time::Duration;

use tls_core::{CipherSuite, NamedGroup, ProtocolVersion};

use super::algorithms::{parse_groups, parse_tls12_suites, parse_tls13_suites, parse_version};
use super::{
    check_session_cache_size, check_session_timeout, validate, Access, Addr, Algorithms, CertFiles,
    Config, ConfigError, Global, Mode, Resumption, ServerVerify, Service, SniRoute, Timeouts,
    DEFAULT_MAX_CONNECTIONS,
};

/// Options of a service (or the global defaults), as written, with the line
/// each came from.
#[derive(Debug, Clone, Default)]
struct Section {
    name: String,
    line: usize,
    accept: Option<(String, usize)>,
    connect: Vec<(String, usize)>,
    client: Option<bool>,
    cert: Option<String>,
    key: Option<String>,
    cafile: Option<String>,
    verify_chain: Option<bool>,
    verify_peer: Option<bool>,
    check_host: Vec<String>,
    check_ip: Vec<(String, usize)>,
    sni: Option<(String, usize)>,
    timeouts: Timeouts,
    // Session options, with their lines: see `own_session_option`.
    session_resume: Option<(bool, usize)>,
    session_timeout: Option<(Duration, usize)>,
    session_cache_size: Option<(usize, usize)>,
    no_ticket: Option<usize>,
    // Protocol options, with their lines: see `protocol_option_lines`.
    version_min: Option<(ProtocolVersion, usize)>,
    version_max: Option<(ProtocolVersion, usize)>,
    /// Versions turned off by `options = NO_TLSv1_2` / `NO_TLSv1_3`.
    no_versions: Vec<(ProtocolVersion, usize)>,
    tls13_suites: Option<(Vec<CipherSuite>, usize)>,
    tls12_suites: Option<(Vec<CipherSuite>, usize)>,
    groups: Option<(Vec<NamedGroup>, usize)>,
    /// `exec` and `execArgs` (split on whitespace, as stunnel: no quoting).
    exec: Option<String>,
    exec_args: Option<String>,
    /// `protocol` and `protocol*` options, with the first one's line.
    protocol: (crate::protocol::Options, usize),
}

/// `options` values that only restate tls-tunnel's fixed policy: SSLv2/3 and
/// TLS below 1.2 are never spoken, there is no compression, every ECDHE key
/// is fresh (and there is no DHE), and the server's suite order always wins.
const POLICY_OPTIONS: [&str; 8] = [
    "NO_SSLv2",
    "NO_SSLv3",
    "NO_TLSv1",
    "NO_TLSv1_1",
    "NO_COMPRESSION",
    "SINGLE_ECDH_USE",
    "SINGLE_DH_USE",
    "CIPHER_SERVER_PREFERENCE",
];

/// Parses stunnel.conf text; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    let at = |line: usize| format!("{file}:{line}");
    let mut global = Global {
        foreground: false,
        ..Global::default()
    };
    let mut defaults = Section::default();
    let mut sections: Vec<Section> = Vec::new();

    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim();
        if l.is_empty() || l.starts_with(';') || l.starts_with('#') {
            continue;
        }
        if let Some(rest) = l.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(ConfigError::new(
                    at(line),
                    "section header must end with ']'",
                ));
            };
            let name = name.trim();
            if name.is_empty() {
                return Err(ConfigError::new(at(line), "empty section name"));
            }
            if sections.iter().any(|s| s.name == name) {
                return Err(ConfigError::new(
                    at(line),
                    format!("section [{name}] defined twice"),
                ));
            }
            let mut s = defaults.clone();
            s.name = name.to_string();
            s.line = line;
            sections.push(s);
            continue;
        }
        let Some((key, value)) = l.split_once('=') else {
            return Err(ConfigError::new(
                at(line),
                format!("expected 'option = value', found {l:?}"),
            ));
        };
        let (key, value) = (key.trim(), value.trim());
        let err = |msg: String| ConfigError::new(at(line), msg);
        let in_global = sections.is_empty();
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "foreground" | "pid" | "debug" | "output" if !in_global && lower != "debug" => {
                return Err(err(format!(
                    "{key} is a global option: put it before the first [section]"
                )));
            }
            "foreground" => {
                global.foreground = match value.to_ascii_lowercase().as_str() {
                    "yes" | "quiet" => true,
                    "no" => false,
                    _ => {
                        return Err(err(format!(
                            "foreground must be yes, quiet or no, not {value:?}"
                        )))
                    }
                }
            }
            "pid" => global.pid_file = (!value.is_empty()).then(|| PathBuf::from(value)),
            "output" => global.log_file = Some(PathBuf::from(value)),
            "debug" => {
                if in_global {
                    global.log_level = parse_debug(value).map_err(err)?;
                } else {
                    // stunnel accepts a per-service level; we log per process.
                    let level = parse_debug(value).map_err(err)?;
                    if level > global.log_level {
                        global.log_level = level;
                    }
                }
            }
            _ => {
                let section = sections.last_mut().unwrap_or(&mut defaults);
                service_option(section, key, &lower, value, line).map_err(err)?;
            }
        }
    }

    if sections.is_empty() {
        return Err(ConfigError::new(file, "no [service] section"));
    }
    build(file, global, sections)
}

/// Applies one service-level option.
fn service_option(
    s: &mut Section,
    key: &str,
    lower: &str,
    value: &str,
    line: usize,
) -> Result<(), String> {
    let secs = |v: &str| -> Result<Duration, String> {
        let n: u64 = v
            .parse()
            .map_err(|_| format!("{key} takes a number of seconds, not {v:?}"))?;
        Ok(Duration::from_secs(n.max(1)))
    };
    match lower {
        "accept" => s.accept = Some((value.to_string(), line)),
        "connect" => s.connect.push((value.to_string(), line)),
        "client" => s.client = Some(yes_no(key, value)?),
        "cert" => s.cert = Some(value.to_string()),
        "key" => s.key = Some(value.to_string()),
        "cafile" => s.cafile = Some(value.to_string()),
        "verifychain" => s.verify_chain = Some(yes_no(key, value)?),
        "verifypeer" => s.verify_peer = Some(yes_no(key, value)?),
        "checkhost" => s.check_host.push(value.to_string()),
        "checkip" => s.check_ip.push((value.to_string(), line)),
        "sni" => s.sni = Some((value.to_string(), line)),
        "timeoutbusy" => s.timeouts.handshake = secs(value)?,
        "timeoutidle" => s.timeouts.idle = secs(value)?,
        "timeoutclose" => s.timeouts.close = secs(value)?,
        "timeoutconnect" => s.timeouts.connect = secs(value)?,
        "sessionresume" => s.session_resume = Some((yes_no(key, value)?, line)),
        "sessioncachetimeout" => {
            let n: u64 = value
                .parse()
                .map_err(|_| format!("{key} takes a number of seconds, not {value:?}"))?;
            let timeout = check_session_timeout(Duration::from_secs(n))
                .map_err(|e| format!("{key}: {e}"))?;
            s.session_timeout = Some((timeout, line));
        }
        "sessioncachesize" => {
            let n: usize = value
                .parse()
                .map_err(|_| format!("{key} takes a number of sessions, not {value:?}"))?;
            let size = check_session_cache_size(n).map_err(|e| format!("{key}: {e}"))?;
            s.session_cache_size = Some((size, line));
        }
        "options" => option(s, value, line)?,
        "exec" => s.exec = Some(value.to_string()),
        "execargs" => s.exec_args = Some(value.to_string()),
        "protocol" | "protocolhost" | "protocolusername" | "protocolpassword"
        | "protocolauthentication" => {
            let p = &mut s.protocol.0;
            let slot = match lower {
                "protocol" => &mut p.name,
                "protocolhost" => &mut p.host,
                "protocolusername" => &mut p.username,
                "protocolpassword" => &mut p.password,
                _ => &mut p.authentication,
            };
            *slot = Some(value.to_string());
            if s.protocol.1 == 0 || lower == "protocol" {
                s.protocol.1 = line;
            }
        }
        "sslversionmin" => {
            // A lower minimum asks to allow older versions too: honoured by
            // our floor of TLS 1.2, since we need not offer them.
            let v = match value.to_ascii_lowercase().as_str() {
                "all" => None,
                _ => parse_version(value).map_err(|e| format!("{key}: {e}"))?,
            };
            s.version_min = Some((v.unwrap_or(ProtocolVersion::Tls12), line));
        }
        "sslversionmax" => {
            let v = match value.to_ascii_lowercase().as_str() {
                "all" => ProtocolVersion::Tls13,
                _ => modern_version(key, value)?,
            };
            s.version_max = Some((v, line));
        }
        "sslversion" => {
            let (min, max) = match value.to_ascii_lowercase().as_str() {
                "all" => (ProtocolVersion::Tls12, ProtocolVersion::Tls13),
                _ => {
                    let v = modern_version(key, value)?;
                    (v, v)
                }
            };
            s.version_min = Some((min, line));
            s.version_max = Some((max, line));
        }
        "ciphersuites" => {
            let suites = parse_tls13_suites(value).map_err(|e| format!("{key} = {value}: {e}"))?;
            s.tls13_suites = Some((suites, line));
        }
        "ciphers" => {
            let suites = parse_tls12_suites(value).map_err(|e| format!("{key} = {value}: {e}"))?;
            s.tls12_suites = Some((suites, line));
        }
        "curves" => {
            let groups = parse_groups(value).map_err(|e| format!("{key} = {value}: {e}"))?;
            s.groups = Some((groups, line));
        }
        _ => {
            return Err(format!(
                "unsupported option {key:?} (tls-tunnel reads accept, connect, client, cert, key, CAfile, \
                 verifyChain, verifyPeer, checkHost, checkIP, sni, TIMEOUTbusy/idle/close/connect, \
                 sessionResume, sessionCacheTimeout, sessionCacheSize, options, sslVersion, \
                 sslVersionMin, sslVersionMax, ciphersuites, ciphers, curves, exec, execArgs, protocol, protocolHost, \
                 protocolUsername, protocolPassword, protocolAuthentication, foreground, pid, \
                 debug, output)"
            ))
        }
    }
    Ok(())
}

/// A version for `sslVersion` or `sslVersionMax`, which cannot be below TLS 1.2.
fn modern_version(key: &str, value: &str) -> Result<ProtocolVersion, String> {
    parse_version(value)
        .map_err(|e| format!("{key}: {e}"))?
        .ok_or_else(|| {
            format!(
                "{key} = {value}: TLS below 1.2 is not supported (tls-tunnel speaks TLSv1.2 and \
                 TLSv1.3)"
            )
        })
}

/// Applies one `options = NAME` line (stunnel takes one option a line).
fn option(s: &mut Section, value: &str, line: usize) -> Result<(), String> {
    let upper = value.to_ascii_uppercase();
    match upper.as_str() {
        "NO_TICKET" => s.no_ticket = Some(line),
        "NO_TLSV1_2" => s.no_versions.push((ProtocolVersion::Tls12, line)),
        "NO_TLSV1_3" => s.no_versions.push((ProtocolVersion::Tls13, line)),
        _ if POLICY_OPTIONS
            .iter()
            .any(|o| o.eq_ignore_ascii_case(&upper)) => {}
        "ALLOW_UNSAFE_LEGACY_RENEGOTIATION"
        | "UNSAFE_LEGACY_RENEGOTIATION"
        | "LEGACY_SERVER_CONNECT" => {
            return Err(format!(
                "options = {value}: cannot be honoured (tls-tunnel never renegotiates and \
                 requires secure renegotiation support from TLS 1.2 peers)"
            ))
        }
        _ if upper.starts_with('-') => {
            return Err(format!(
                "options = {value}: clearing an option is not supported"
            ))
        }
        _ => {
            return Err(format!(
                "options = {value}: unsupported (tls-tunnel accepts NO_TICKET, NO_TLSv1_2, \
                 NO_TLSv1_3, and {} as restating its fixed policy)",
                POLICY_OPTIONS.join(", ")
            ))
        }
    }
    Ok(())
}

/// The protocol options of section `s` (versions, suites, curves), with
/// their lines, in no particular order.
fn protocol_option_lines(s: &Section) -> impl Iterator<Item = (&'static str, usize)> + '_ {
    [
        s.version_min.map(|(_, l)| ("sslVersion/sslVersionMin", l)),
        s.version_max.map(|(_, l)| ("sslVersion/sslVersionMax", l)),
        s.tls13_suites.as_ref().map(|(_, l)| ("ciphersuites", *l)),
        s.tls12_suites.as_ref().map(|(_, l)| ("ciphers", *l)),
        s.groups.as_ref().map(|(_, l)| ("curves", *l)),
    ]
    .into_iter()
    .flatten()
    .chain(
        s.no_versions
            .iter()
            .map(|(_, l)| ("options = NO_TLSv1_x", *l)),
    )
}

/// The versions, suites and groups section `s` asks for; an error names
/// the last line involved.
fn algorithms(s: &Section) -> Result<Algorithms, (String, usize)> {
    let mut a = Algorithms::default();
    let min = s.version_min.map_or(ProtocolVersion::Tls12, |(v, _)| v);
    let max = s.version_max.map_or(ProtocolVersion::Tls13, |(v, _)| v);
    a.versions.retain(|v| {
        v.to_wire() >= min.to_wire()
            && v.to_wire() <= max.to_wire()
            && !s.no_versions.iter().any(|(off, _)| off == v)
    });
    if a.versions.is_empty() {
        let line = [s.version_min, s.version_max]
            .into_iter()
            .flatten()
            .chain(s.no_versions.iter().copied())
            .map(|(_, l)| l)
            .max()
            .unwrap_or(s.line);
        return Err((
            "sslVersionMin, sslVersionMax and options = NO_TLSv1_x leave no protocol version \
             enabled"
                .into(),
            line,
        ));
    }
    if let Some((suites, _)) = &s.tls13_suites {
        a.tls13_suites = suites.clone();
    }
    if let Some((suites, _)) = &s.tls12_suites {
        a.tls12_suites = suites.clone();
    }
    if let Some((groups, _)) = &s.groups {
        a.groups = groups.clone();
    }
    Ok(a)
}

/// The first session option written in section `s` itself rather than
/// inherited from the global part, with its line: in a client section only
/// the server-side ones (`with_resume` false), in an SNI section any.
fn own_session_option(s: &Section, with_resume: bool) -> Option<(&'static str, usize)> {
    [
        s.session_resume
            .filter(|_| with_resume)
            .map(|(_, l)| ("sessionResume", l)),
        s.session_timeout.map(|(_, l)| ("sessionCacheTimeout", l)),
        s.session_cache_size.map(|(_, l)| ("sessionCacheSize", l)),
        s.no_ticket.map(|l| ("options = NO_TICKET", l)),
    ]
    .into_iter()
    .flatten()
    .find(|(_, l)| *l > s.line)
}

fn yes_no(key: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("{key} must be yes or no, not {value:?}")),
    }
}

/// stunnel's `debug = [facility.]level`, level 0..7 or a syslog name.
fn parse_debug(value: &str) -> Result<tracing::Level, String> {
    let level = value
        .rsplit('.')
        .next()
        .unwrap_or(value)
        .to_ascii_lowercase();
    let n = match level.as_str() {
        "emerg" | "0" | "alert" | "1" | "crit" | "2" | "err" | "3" => 3,
        "warning" | "4" => 4,
        "notice" | "5" | "info" | "6" => 6,
        "debug" | "7" => 7,
        _ => {
            return Err(format!(
                "debug level must be 0-7 or a syslog level name, not {value:?}"
            ))
        }
    };
    Ok(match n {
        3 => tracing::Level::ERROR,
        4 => tracing::Level::WARN,
        6 => tracing::Level::INFO,
        _ => tracing::Level::DEBUG,
    })
}

fn build(file: &str, global: Global, sections: Vec<Section>) -> Result<Config, ConfigError> {
    let at = |line: usize| format!("{file}:{line}");
    let mut services: Vec<Service> = Vec::new();
    // SNI slave sections, attached to their parent once all parents exist.
    let mut slaves: Vec<(String, SniRoute, usize)> = Vec::new();

    for s in &sections {
        let err = |msg: String| ConfigError::new(at(s.line), format!("[{}]: {msg}", s.name));
        let mode = if s.client.unwrap_or(false) {
            Mode::Client
        } else {
            Mode::Server
        };
        let mut targets = Vec::new();
        for (c, line) in &s.connect {
            targets.push(Addr::parse(c).map_err(|e| ConfigError::new(at(*line), e))?);
        }
        let cert = match (&s.cert, &s.key) {
            (Some(c), Some(k)) => Some(CertFiles {
                cert: c.into(),
                key: k.into(),
            }),
            // stunnel reads the key from the certificate file when no key is given.
            (Some(c), None) => Some(CertFiles {
                cert: c.into(),
                key: c.into(),
            }),
            (None, Some(_)) => return Err(err("key given without cert".into())),
            (None, None) => None,
        };

        // A server-mode `sni = parent:pattern` section is a route of its parent.
        if mode == Mode::Server {
            if let Some((sni, line)) = &s.sni {
                let Some((parent, pattern)) = sni.split_once(':') else {
                    return Err(ConfigError::new(
                        at(*line),
                        "in server mode sni must be SERVICE:SERVER_NAME_PATTERN",
                    ));
                };
                if let Some((what, line)) = own_session_option(s, true) {
                    return Err(ConfigError::new(
                        at(line),
                        format!(
                            "[{}]: {what} belongs in [{}]: an sni section shares the sessions of its parent",
                            s.name,
                            parent.trim()
                        ),
                    ));
                }
                if let Some((what, line)) = protocol_option_lines(s)
                    .filter(|(_, l)| *l > s.line)
                    .min_by_key(|(_, l)| *l)
                {
                    return Err(ConfigError::new(
                        at(line),
                        format!(
                            "[{}]: {what} belongs in [{}]: an sni section uses the TLS settings \
                             of its parent",
                            s.name,
                            parent.trim()
                        ),
                    ));
                }
                if s.accept.as_ref().is_some_and(|(_, l)| *l > s.line) {
                    return Err(err(
                        "an sni section takes its connections from its parent: remove accept"
                            .into(),
                    ));
                }
                slaves.push((
                    parent.trim().to_string(),
                    SniRoute {
                        name: pattern.trim().to_ascii_lowercase(),
                        cert,
                        targets,
                    },
                    *line,
                ));
                continue;
            }
        }

        let Some((accept, accept_line)) = &s.accept else {
            return Err(err("no accept address".into()));
        };
        let listen = Addr::parse(accept).map_err(|e| ConfigError::new(at(*accept_line), e))?;
        let mut check_ip = Vec::new();
        for (ip, line) in &s.check_ip {
            check_ip.push(ip.parse().map_err(|_| {
                ConfigError::new(at(*line), format!("checkIP: {ip:?} is not an IP address"))
            })?);
        }
        let algorithms = algorithms(s)
            .map_err(|(e, line)| ConfigError::new(at(line), format!("[{}]: {e}", s.name)))?;
        let mut service = Service {
            name: s.name.clone(),
            origin: at(s.line),
            mode,
            listen,
            targets,
            cert,
            verify: ServerVerify::Chain(None),
            server_name: None,
            check_host: Vec::new(),
            check_ip: Vec::new(),
            access: Access::default(),
            sni_routes: Vec::new(),
            alpn: Vec::new(),
            proxy_send: None,
            proxy_accept: false,
            protocol: None,
            exec: s.exec.as_ref().map(|program| super::Exec {
                program: PathBuf::from(program),
                args: match &s.exec_args {
                    Some(a) => a.split_whitespace().map(str::to_string).collect(),
                    None => vec![program.clone()],
                },
            }),
            timeouts: s.timeouts,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            resumption: Resumption {
                enabled: s.session_resume.map_or(true, |(on, _)| on),
                ..Resumption::default()
            },
            algorithms,
        };
        let cafile = s.cafile.as_ref().map(PathBuf::from);
        match mode {
            Mode::Client => {
                // From the global defaults they are meant for server sections;
                // written in a client section they would be silently ignored.
                if let Some((what, line)) = own_session_option(s, false) {
                    return Err(ConfigError::new(
                        at(line),
                        format!(
                            "[{}]: {what} applies to server mode only (a client keeps a session \
                             as long as the server's ticket says; sessionResume = no turns \
                             resumption off)",
                            s.name
                        ),
                    ));
                }
                service.verify = match (s.verify_peer, s.verify_chain) {
                    (Some(true), _) => ServerVerify::Pinned(
                        cafile
                            .clone()
                            .ok_or_else(|| err("verifyPeer needs CAfile".into()))?,
                    ),
                    (_, Some(false)) => ServerVerify::Insecure,
                    _ => ServerVerify::Chain(cafile),
                };
                service.check_host = s.check_host.clone();
                service.check_ip = check_ip;
                service.server_name = match &s.sni {
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
            Mode::Server => {
                let r = &mut service.resumption;
                if let Some((timeout, _)) = s.session_timeout {
                    r.timeout = timeout;
                }
                if let Some((size, _)) = s.session_cache_size {
                    r.cache_size = size;
                }
                r.tickets = s.no_ticket.is_none();
                if !check_ip.is_empty() {
                    return Err(err("checkIP is supported in client mode only".into()));
                }
                let verify = s.verify_chain == Some(true) || s.verify_peer == Some(true);
                if verify {
                    service.access = Access {
                        cacert: Some(
                            cafile
                                .ok_or_else(|| err("verifyChain/verifyPeer need CAfile".into()))?,
                        ),
                        pinned: s.verify_peer == Some(true),
                        allow_all: s.check_host.is_empty(),
                        allow_cn: s.check_host.clone(),
                        allow_san: s.check_host.clone(),
                    };
                } else if !s.check_host.is_empty() {
                    return Err(err(
                        "checkHost in server mode needs verifyChain = yes".into()
                    ));
                }
            }
        }
        let (options, line) = &s.protocol;
        options
            .apply(&mut service)
            .map_err(|e| ConfigError::new(at((*line).max(s.line)), format!("[{}]: {e}", s.name)))?;
        services.push(service);
    }

    for (parent, route, line) in slaves {
        let Some(p) = services.iter_mut().find(|s| s.name == parent) else {
            return Err(ConfigError::new(
                at(line),
                format!("sni refers to unknown service [{parent}]"),
            ));
        };
        if p.mode != Mode::Server {
            return Err(ConfigError::new(
                at(line),
                format!("sni parent [{parent}] is not a server-mode service"),
            ));
        }
        p.sni_routes.push(route);
    }
    for s in &services {
        validate(s).map_err(|e| ConfigError::new(&s.origin, format!("[{}]: {e}", s.name)))?;
    }
    Ok(Config { global, services })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_services_and_globals() {
        let conf = "; comment\nforeground = yes\npid = /tmp/x.pid\ndebug = 7\nTIMEOUTidle = 30\n\n[web]\naccept = 8443\nconnect = 127.0.0.1:80\ncert = /c.pem\nkey = /k.pem\n\n[db]\nclient = yes\naccept = 127.0.0.1:5432\nconnect = db.example.com:5433\nCAfile = /ca.pem\nverifyChain = yes\n";
        let c = parse("s.conf", conf).unwrap();
        assert!(c.global.foreground);
        assert_eq!(c.global.log_level, tracing::Level::DEBUG);
        assert_eq!(c.services.len(), 2);
        assert_eq!(c.services[0].listen, Addr::Tcp("[::]:8443".into()));
        assert_eq!(c.services[0].timeouts.idle, Duration::from_secs(30));
        assert_eq!(c.services[1].mode, Mode::Client);
        assert_eq!(c.services[1].server_name.as_deref(), Some("db.example.com"));
        assert_eq!(
            c.services[1].verify,
            ServerVerify::Chain(Some("/ca.pem".into()))
        );
    }

    #[test]
    fn unknown_option_names_line() {
        let e = parse("s.conf", "[a]\naccept = 1\nengine = pkcs11\n").unwrap_err();
        assert_eq!(e.location, "s.conf:3");
        assert!(
            e.message.starts_with("unsupported option \"engine\""),
            "{e}"
        );
        assert!(e.message.contains("ciphersuites, ciphers, curves"), "{e}");
    }

    #[test]
    fn sni_slave_becomes_route() {
        let conf = "[main]\naccept = 443\nconnect = 127.0.0.1:1\n[a]\nsni = main:a.example\nconnect = 127.0.0.1:2\ncert = /a.pem\n";
        let c = parse("s.conf", conf).unwrap();
        assert_eq!(c.services.len(), 1);
        assert_eq!(c.services[0].sni_routes[0].name, "a.example");
    }

    #[test]
    fn session_options() {
        let conf = "sessionCacheTimeout = 600\n\
                    [a]\naccept = 1\nconnect = 127.0.0.1:1\nsessionCacheSize = 50\noptions = NO_TICKET\n\
                    [b]\naccept = 2\nconnect = 127.0.0.1:1\n\
                    [c]\nclient = yes\naccept = 3\nconnect = 127.0.0.1:1\nsessionResume = no\n";
        let c = parse("s.conf", conf).unwrap();
        let r: Vec<Resumption> = c.services.iter().map(|s| s.resumption).collect();
        assert_eq!(
            r[0],
            Resumption {
                enabled: true,
                tickets: false,
                timeout: Duration::from_secs(600),
                cache_size: 50,
            }
        );
        assert_eq!(
            r[1],
            Resumption {
                timeout: Duration::from_secs(600),
                ..Resumption::default()
            }
        );
        // The global sessionCacheTimeout is meant for server sections.
        assert!(!r[2].enabled);
        assert_eq!(r[2].timeout, Duration::from_secs(300));
    }

    #[test]
    fn bad_session_options_name_their_line() {
        let bad = |option: &str, want: &str| {
            let conf = format!("[a]\naccept = 1\nconnect = 127.0.0.1:1\n{option}\n");
            let e = parse("s.conf", &conf).unwrap_err();
            assert_eq!(e.location, "s.conf:4", "{e}");
            assert!(e.message.contains(want), "{want:?} in {e}");
        };
        bad("sessionCacheTimeout = soon", "takes a number of seconds");
        bad("sessionCacheTimeout = 0", "from 1s to 7 days");
        bad("sessionCacheTimeout = 604801", "from 1s to 7 days");
        bad(
            "sessionCacheSize = 0",
            "0 (unlimited in stunnel) is not supported",
        );
        bad("sessionCacheSize = 100001", "at most 100000");
        bad("sessionCacheSize = -1", "takes a number of sessions");
        bad(
            "options = NO_RENEGOTIATION",
            "options = NO_RENEGOTIATION: unsupported",
        );
        bad("sessionResume = maybe", "yes or no");

        let client = "[c]\nclient = yes\naccept = 1\nconnect = 127.0.0.1:1\noptions = NO_TICKET\n";
        let e = parse("s.conf", client).unwrap_err();
        assert_eq!(e.location, "s.conf:5", "{e}");
        assert!(e.message.contains("server mode only"), "{e}");

        let sni = "[main]\naccept = 443\nconnect = 127.0.0.1:1\n[a]\nsni = main:a.example\nsessionResume = no\n";
        let e = parse("s.conf", sni).unwrap_err();
        assert_eq!(e.location, "s.conf:6", "{e}");
        assert!(e.message.contains("sessionResume belongs in [main]"), "{e}");
    }

    /// The algorithms of a one-service config with `options` in its section.
    fn algorithms_of(options: &str) -> Result<Algorithms, ConfigError> {
        let conf = format!("[a]\naccept = 1\nconnect = 127.0.0.1:1\n{options}\n");
        parse("s.conf", &conf).map(|mut c| c.services.remove(0).algorithms)
    }

    /// The error of a config whose fourth line is `bad`: at that line, naming `want`.
    fn bad_at_line_4(bad: &str, want: &str) {
        let e = algorithms_of(bad).unwrap_err();
        assert_eq!(e.location, "s.conf:4", "{e}");
        assert!(e.message.contains(want), "{want:?} in {e}");
    }

    #[test]
    fn protocol_versions() {
        use ProtocolVersion::{Tls12, Tls13};
        let versions = |o: &str| algorithms_of(o).unwrap().versions;
        assert_eq!(versions(""), [Tls13, Tls12]);
        assert_eq!(versions("sslVersionMin = TLSv1.3"), [Tls13]);
        assert_eq!(versions("sslVersionMax = TLSv1.2"), [Tls12]);
        assert_eq!(versions("sslVersion = TLSv1.2"), [Tls12]);
        assert_eq!(versions("sslVersion = all"), [Tls13, Tls12]);
        assert_eq!(versions("sslVersionMax = all"), [Tls13, Tls12]);
        // A minimum below 1.2 allows older versions too: we just do not offer them.
        assert_eq!(versions("sslVersionMin = TLSv1"), [Tls13, Tls12]);
        assert_eq!(versions("sslVersionMin = SSLv3"), [Tls13, Tls12]);
        assert_eq!(versions("options = NO_TLSv1_3"), [Tls12]);
        assert_eq!(versions("options = NO_TLSv1_2"), [Tls13]);
        // Global defaults reach every section; a section overrides them.
        let conf = "sslVersionMin = TLSv1.3\n[a]\naccept = 1\nconnect = 127.0.0.1:1\n\
                    [b]\naccept = 2\nconnect = 127.0.0.1:1\nsslVersion = TLSv1.2\n";
        let c = parse("s.conf", conf).unwrap();
        assert_eq!(c.services[0].algorithms.versions, [Tls13]);
        assert_eq!(c.services[1].algorithms.versions, [Tls12]);

        bad_at_line_4(
            "sslVersion = TLSv1",
            "sslVersion = TLSv1: TLS below 1.2 is not supported",
        );
        bad_at_line_4(
            "sslVersionMax = TLSv1.1",
            "sslVersionMax = TLSv1.1: TLS below 1.2 is not supported",
        );
        bad_at_line_4(
            "sslVersionMin = TLSv9",
            "unknown protocol version \"TLSv9\"",
        );
        let e = algorithms_of("sslVersionMin = TLSv1.3\nsslVersionMax = TLSv1.2").unwrap_err();
        assert_eq!(e.location, "s.conf:5", "{e}");
        assert!(e.message.contains("leave no protocol version"), "{e}");
        let e = algorithms_of("options = NO_TLSv1_2\noptions = NO_TLSv1_3").unwrap_err();
        assert_eq!(e.location, "s.conf:5", "{e}");
    }

    #[test]
    fn suites_and_curves() {
        let a = algorithms_of(
            "ciphersuites = TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384\n\
             ciphers = ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:!aNULL\n\
             curves = P-384:prime256v1",
        )
        .unwrap();
        assert_eq!(
            a.cipher_suites(),
            [
                CipherSuite::Tls13Chacha20Poly1305Sha256,
                CipherSuite::Tls13Aes256GcmSha384,
                CipherSuite::EcdheRsaChacha20Poly1305Sha256,
                CipherSuite::EcdheEcdsaAes128GcmSha256,
            ]
        );
        assert_eq!(a.groups, [NamedGroup::Secp384r1, NamedGroup::Secp256r1]);
        // Only what is set changes.
        let a = algorithms_of("curves = X25519").unwrap();
        assert_eq!(a.groups, [NamedGroup::X25519]);
        assert_eq!(a.versions, Algorithms::default().versions);
        assert_eq!(a.cipher_suites(), Algorithms::default().cipher_suites());

        bad_at_line_4(
            "ciphersuites = TLS_AES_128_CCM_SHA256",
            "\"TLS_AES_128_CCM_SHA256\" is not supported",
        );
        bad_at_line_4("ciphers = HIGH:!aNULL", "\"HIGH\" is an OpenSSL keyword");
        bad_at_line_4("ciphers = AES128-SHA", "\"AES128-SHA\" is not supported");
        bad_at_line_4(
            "curves = X25519:secp521r1",
            "curve \"secp521r1\" is not supported",
        );
        bad_at_line_4("curves = ", "names no curve");
    }

    #[test]
    fn options_restating_policy_are_accepted() {
        let conf = "options = NO_SSLv2\noptions = NO_SSLv3\noptions = NO_TLSv1\n\
                    options = NO_TLSv1_1\noptions = NO_COMPRESSION\noptions = SINGLE_ECDH_USE\n\
                    options = SINGLE_DH_USE\noptions = CIPHER_SERVER_PREFERENCE\n\
                    [a]\naccept = 1\nconnect = 127.0.0.1:1\n";
        let c = parse("s.conf", conf).unwrap();
        assert_eq!(c.services[0].algorithms, Algorithms::default());
        assert_eq!(c.services[0].resumption, Resumption::default());

        bad_at_line_4(
            "options = ALLOW_UNSAFE_LEGACY_RENEGOTIATION",
            "ALLOW_UNSAFE_LEGACY_RENEGOTIATION: cannot be honoured",
        );
        bad_at_line_4("options = -NO_SSLv3", "clearing an option is not supported");
        bad_at_line_4("options = ALL", "options = ALL: unsupported");
    }

    #[test]
    fn sni_section_takes_protocol_options_from_its_parent() {
        let conf = "curves = P-256\n[main]\naccept = 443\nconnect = 127.0.0.1:1\n\
                    [a]\nsni = main:a.example\nciphers = ECDHE-RSA-AES128-GCM-SHA256\n";
        let e = parse("s.conf", conf).unwrap_err();
        assert_eq!(e.location, "s.conf:7", "{e}");
        assert!(e.message.contains("ciphers belongs in [main]"), "{e}");
    }

    #[test]
    fn missing_connect_is_an_error() {
        let e = parse("s.conf", "[a]\naccept = 1\n").unwrap_err();
        assert!(e.to_string().starts_with("s.conf:1: [a]"), "{e}");
    }
}
