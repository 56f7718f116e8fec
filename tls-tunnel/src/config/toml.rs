//! tls-tunnel's own TOML format: a `[global]` table and `[[service]]` tables,
//! each with optional `[[service.sni]]` routes. Unknown keys are errors.

use std::path::PathBuf;

use serde::Deserialize;

use crate::keystore::StorePass;
use toml::Spanned;

use super::{
    algorithms, check_drain_timeout, check_session_cache_size, parse_duration,
    parse_session_timeout, validate, Access, Addr, Algorithms, CertFiles, ClientRole, Config,
    ConfigError, Global, Limits, LogFormat, Mode, NameRules, ProxyVersion, Role, ServerRole,
    ServerVerify, Service, SniRoute, SpkiPin, Timeouts,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    global: Option<GlobalToml>,
    #[serde(default)]
    service: Vec<Spanned<ServiceToml>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct GlobalToml {
    pid_file: Option<PathBuf>,
    log_level: Option<String>,
    log_file: Option<PathBuf>,
    log_format: Option<String>,
    metrics: Option<String>,
    drain_timeout: Option<String>,
    drain_grace: Option<String>,
    timed_reload: Option<String>,
    sandbox: Option<bool>,
    state_dir: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ServiceToml {
    name: String,
    mode: String,
    listen: String,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    targets: Vec<String>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    keystore: Option<PathBuf>,
    keystore_password_file: Option<PathBuf>,
    cacert: Option<PathBuf>,
    #[serde(default)]
    verify: Option<String>,
    server_name: Option<String>,
    #[serde(default)]
    allow_all: bool,
    #[serde(default)]
    allow_cn: Vec<String>,
    #[serde(default)]
    allow_san: Vec<String>,
    #[serde(default)]
    allow_ou: Vec<String>,
    #[serde(default)]
    allow_dns: Vec<String>,
    #[serde(default)]
    allow_uri: Vec<String>,
    #[serde(default)]
    allow_spki_pin: Vec<String>,
    #[serde(default)]
    verify_cn: Vec<String>,
    #[serde(default)]
    verify_ou: Vec<String>,
    #[serde(default)]
    verify_dns: Vec<String>,
    #[serde(default)]
    verify_uri: Vec<String>,
    #[serde(default)]
    verify_spki_pin: Vec<String>,
    #[serde(default)]
    alpn: Vec<String>,
    proxy_protocol: Option<String>,
    #[serde(default)]
    accept_proxy: bool,
    exec: Option<Vec<String>>,
    /// exec on a pseudo-terminal (stunnel's `pty = yes`).
    #[serde(default)]
    exec_pty: bool,
    /// Where clients failing certificate verification go (stunnel's `redirect`).
    #[serde(default)]
    redirect: Vec<String>,
    /// OpenSSL's security level, 0 to 4 (stunnel's `securityLevel`).
    security_level: Option<u8>,
    protocol: Option<String>,
    protocol_host: Option<String>,
    protocol_username: Option<String>,
    protocol_password: Option<String>,
    protocol_authentication: Option<String>,
    /// Extra CONNECT request header lines (`protocolHeader`).
    protocol_headers: Option<Vec<String>>,
    handshake_timeout: Option<String>,
    idle_timeout: Option<String>,
    connect_timeout: Option<String>,
    close_timeout: Option<String>,
    max_conn_lifetime: Option<String>,
    max_connections: Option<usize>,
    max_handshakes: Option<usize>,
    max_connections_per_source: Option<usize>,
    #[serde(default)]
    allow_no_ems: bool,
    /// TLS 1.3 external PSKs: a file in stunnel's PSKsecrets format.
    psk_secrets: Option<PathBuf>,
    /// Client mode: the identity of `psk_secrets` to offer (default: the first).
    psk_identity: Option<String>,
    session_resumption: Option<bool>,
    session_tickets: Option<bool>,
    session_timeout: Option<String>,
    session_cache_size: Option<usize>,
    /// Session-ticket keys shared by a fleet (`crate::ticket_keys`).
    ticket_key_file: Option<PathBuf>,
    /// SO_REUSEPORT on the listener: another process may bind it too.
    #[serde(default)]
    reuse_port: bool,
    versions: Option<Vec<String>>,
    cipher_suites: Option<Vec<String>>,
    groups: Option<Vec<String>>,
    #[serde(default)]
    sni: Vec<SniToml>,
    /// stunnel's OCSP options: `[service.ocsp]`.
    ocsp: Option<super::ocsp::OcspToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SniToml {
    name: String,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    keystore: Option<PathBuf>,
    keystore_password_file: Option<PathBuf>,
    target: Option<String>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Parses our TOML format; `file` names it in errors.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    let parsed: File = ::toml::from_str(text).map_err(|e| {
        let loc = match e.span() {
            Some(span) => format!("{file}:{}", line_of(text, span.start)),
            None => file.to_string(),
        };
        ConfigError::new(loc, e.message().trim().to_string())
    })?;
    let g = parsed.global.unwrap_or_default();
    let gerr = |m: String| ConfigError::new(format!("{file}: [global]"), m);
    let mut global = Global {
        pid_file: g.pid_file,
        log_file: g.log_file,
        sandbox: g.sandbox.unwrap_or(true),
        state_dir: g.state_dir,
        ..Global::default()
    };
    if let Some(l) = g.log_level {
        global.log_level = parse_level(&l).map_err(gerr)?;
    }
    if let Some(f) = g.log_format {
        global.log_format = parse_log_format(&f).map_err(gerr)?;
    }
    if let Some(m) = g.metrics {
        global.metrics = Some(
            m.parse()
                .map_err(|_| gerr(format!("metrics: {m:?} is not an ip:port address")))?,
        );
    }
    if let Some(d) = g.drain_timeout {
        global.drain_timeout = parse_duration(&d)
            .and_then(check_drain_timeout)
            .map_err(gerr)?;
    }
    if let Some(d) = g.drain_grace {
        global.drain_grace = parse_duration(&d)
            .and_then(super::check_drain_grace)
            .map_err(gerr)?;
    }
    if let Some(d) = g.timed_reload {
        global.timed_reload = Some(parse_duration(&d).map_err(gerr)?);
    }
    if parsed.service.is_empty() {
        return Err(ConfigError::new(file, "no [[service]] table"));
    }
    let mut services: Vec<Service> = Vec::new();
    for spanned in parsed.service {
        let origin = format!("{file}:{}", line_of(text, spanned.span().start));
        let s = spanned.into_inner();
        let err = |m: String| ConfigError::new(&origin, format!("service {:?}: {m}", s.name));
        if services.iter().any(|o| o.name == s.name) {
            return Err(err("name used twice".into()));
        }
        let service = convert(&s, origin.clone()).map_err(err)?;
        validate(&service).map_err(err)?;
        services.push(service);
    }
    Ok(Config { global, services })
}

/// Parses a log level name.
pub fn parse_level(s: &str) -> Result<tracing::Level, String> {
    s.parse()
        .map_err(|_| format!("log level must be error, warn, info, debug or trace, not {s:?}"))
}

/// Parses `text` or `json`.
pub fn parse_log_format(s: &str) -> Result<LogFormat, String> {
    match s {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(format!("log format must be text or json, not {s:?}")),
    }
}

/// A client's `verify` (TOML) or `--verify` (command line): chain (the
/// default), pinned (the server's certificate is in `cacert`) or insecure.
pub fn client_verify(v: Option<&str>, cacert: Option<PathBuf>) -> Result<ServerVerify, String> {
    match v {
        None | Some("chain") => Ok(ServerVerify::Chain(cacert)),
        Some("pinned") => Ok(ServerVerify::Pinned(
            cacert.ok_or("verify = pinned needs a CA file (cacert) holding the certificate")?,
        )),
        Some("insecure") => Ok(ServerVerify::Insecure),
        Some(v) => Err(format!(
            "verify must be chain, pinned or insecure (client mode), not {v:?}"
        )),
    }
}

fn pins(texts: &[String]) -> Result<Vec<SpkiPin>, String> {
    texts.iter().map(|t| SpkiPin::parse(t)).collect()
}

/// Parses `v1` or `v2`.
pub fn parse_proxy_version(s: &str) -> Result<ProxyVersion, String> {
    match s {
        "v1" | "1" => Ok(ProxyVersion::V1),
        "v2" | "2" => Ok(ProxyVersion::V2),
        _ => Err(format!(
            "proxy protocol version must be v1 or v2, not {s:?}"
        )),
    }
}

fn cert_files(
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
    keystore: &Option<PathBuf>,
    password_file: &Option<PathBuf>,
) -> Result<Option<CertFiles>, String> {
    if let Some(store) = keystore {
        if cert.is_some() || key.is_some() {
            return Err("keystore replaces cert and key: give one or the other".into());
        }
        return Ok(Some(CertFiles {
            cert: store.clone(),
            key: store.clone(),
            password: password_file.clone().map(StorePass::File),
        }));
    }
    if password_file.is_some() {
        return Err("keystore_password_file goes with keystore".into());
    }
    match (cert, key) {
        (Some(c), Some(k)) => Ok(Some(CertFiles {
            cert: c.clone(),
            key: k.clone(),
            password: None,
        })),
        // The key may be in the certificate's file, as stunnel and ghostunnel allow.
        (Some(c), None) => Ok(Some(CertFiles {
            cert: c.clone(),
            key: c.clone(),
            password: None,
        })),
        (None, None) => Ok(None),
        (None, Some(_)) => Err("key without cert".into()),
    }
}

fn convert(s: &ServiceToml, origin: String) -> Result<Service, String> {
    let mode = match s.mode.as_str() {
        "server" => Mode::Server,
        "client" => Mode::Client,
        m => return Err(format!("mode must be server or client, not {m:?}")),
    };
    let mut targets = Vec::new();
    for t in s.target.iter().chain(&s.targets) {
        targets.push(Addr::parse(t)?);
    }
    let mut timeouts = Timeouts::default();
    for (field, slot) in [
        (&s.handshake_timeout, &mut timeouts.handshake),
        (&s.idle_timeout, &mut timeouts.idle),
        (&s.connect_timeout, &mut timeouts.connect),
        (&s.close_timeout, &mut timeouts.close),
    ] {
        if let Some(v) = field {
            *slot = parse_duration(v)?;
        }
    }
    timeouts.max_lifetime = s
        .max_conn_lifetime
        .as_deref()
        .map(parse_duration)
        .transpose()?;
    let mut sni_routes = Vec::new();
    for r in &s.sni {
        sni_routes.push(SniRoute {
            name: r.name.to_ascii_lowercase(),
            cert: cert_files(&r.cert, &r.key, &r.keystore, &r.keystore_password_file)?,
            targets: r
                .target
                .as_deref()
                .map(Addr::parse)
                .transpose()?
                .into_iter()
                .collect(),
        });
    }
    let client = |verify| {
        Role::Client(ClientRole {
            verify,
            ..ClientRole::default()
        })
    };
    let mut role = match (mode, s.verify.as_deref()) {
        (Mode::Client, v) if s.verify_spki_pin.is_empty() => {
            client(client_verify(v, s.cacert.clone())?)
        }
        (Mode::Client, None) => client(ServerVerify::Spki(pins(&s.verify_spki_pin)?)),
        (Mode::Client, Some(_)) => {
            return Err("verify and verify_spki_pin exclude each other".into())
        }
        (Mode::Server, None) => Role::Server(ServerRole::default()),
        (Mode::Server, Some(v)) => {
            return Err(format!(
                "verify must be chain, pinned or insecure (client mode), not {v:?}"
            ))
        }
    };
    match &mut role {
        Role::Server(server) => {
            let resumption = &mut server.resumption;
            if let Some(t) = &s.session_timeout {
                resumption.timeout = parse_session_timeout(t)?;
            }
            if let Some(n) = s.session_cache_size {
                resumption.cache_size = check_session_cache_size(n)?;
            }
            // From securityLevel 3 tickets are off, as in OpenSSL.
            resumption.tickets =
                s.session_tickets.unwrap_or(true) && s.security_level.unwrap_or(2) < 3;
            if s.ticket_key_file.is_some()
                && (!resumption.tickets || s.session_resumption == Some(false))
            {
                return Err(
                    "ticket_key_file needs session tickets (session_resumption = false, \
                     session_tickets = false or security_level 3 and above turn them off)"
                        .into(),
                );
            }
            server.ticket_key_file = s.ticket_key_file.clone();
        }
        Role::Client(_) => {
            if s.session_timeout.is_some()
                || s.session_cache_size.is_some()
                || s.session_tickets.is_some()
                || s.ticket_key_file.is_some()
            {
                return Err("session_timeout, session_cache_size, session_tickets and ticket_key_file apply to \
                     server mode only (a client keeps a session as long as the server's ticket says)"
                    .into());
            }
        }
    }
    let mut algorithms = Algorithms::default();
    if let Some(names) = &s.versions {
        algorithms.versions.clear();
        for name in names {
            let version = algorithms::parse_version(name)?.ok_or_else(|| {
                format!("versions: {name} is not supported (tls-core speaks TLS 1.2 and 1.3 only)")
            })?;
            if !algorithms.versions.contains(&version) {
                algorithms.versions.push(version);
            }
        }
        // Most preferred first: TLS 1.3 before TLS 1.2.
        algorithms
            .versions
            .sort_by_key(|v| std::cmp::Reverse(v.to_wire()));
    }
    if let Some(names) = &s.cipher_suites {
        algorithms.set_suites(names.iter().map(String::as_str))?;
    }
    if let Some(names) = &s.groups {
        // Each item is a name or an OpenSSL 3.5 group list (`?`, `*`, `/`).
        let list = algorithms::parse_group_list(&names.join(":"), |_| false)?;
        algorithms.set_groups(&list);
    }
    algorithms.allow_no_ems = s.allow_no_ems;
    if let Some(level) = s.security_level {
        algorithms.security_level = level;
        crate::seclevel::restrict(&mut algorithms, level)
            .map_err(|e| e.replace("securityLevel", "security_level"))?;
    }
    if mode == Mode::Client && !s.redirect.is_empty() {
        return Err("redirect applies to server mode only".into());
    }
    if s.exec_pty && s.exec.is_none() {
        return Err("exec_pty needs exec".into());
    }
    let verify_names = NameRules {
        cn: s.verify_cn.clone(),
        ou: s.verify_ou.clone(),
        dns: s.verify_dns.clone(),
        uri: s.verify_uri.clone(),
    };
    if mode == Mode::Server && (!verify_names.is_empty() || !s.verify_spki_pin.is_empty()) {
        return Err(
            "verify_cn, verify_ou, verify_dns, verify_uri and verify_spki_pin apply to \
                    client mode only"
                .into(),
        );
    }
    if mode == Mode::Client
        && (s.allow_all
            || !s.allow_cn.is_empty()
            || !s.allow_san.is_empty()
            || !s.allow_ou.is_empty()
            || !s.allow_dns.is_empty()
            || !s.allow_uri.is_empty()
            || !s.allow_spki_pin.is_empty())
    {
        return Err("allow_* rules apply to server mode only (client mode: verify_*)".into());
    }
    match &mut role {
        Role::Server(server) => {
            server.access = Access {
                cacert: s.cacert.clone(),
                pinned: false,
                allow_all: s.allow_all,
                allow_cn: s.allow_cn.clone(),
                allow_san: s.allow_san.clone(),
                allow_ou: s.allow_ou.clone(),
                allow_dns: s.allow_dns.clone(),
                allow_uri: s.allow_uri.clone(),
                allow_spki: pins(&s.allow_spki_pin)?,
                redirect: s
                    .redirect
                    .iter()
                    .map(|a| Addr::parse(a))
                    .collect::<Result<_, _>>()?,
                ..Access::default()
            };
            server.sni_routes = sni_routes;
        }
        Role::Client(client) => {
            if !sni_routes.is_empty() {
                return Err("client mode takes no client-certificate rules or SNI routes".into());
            }
            client.verify_names = verify_names;
            client.server_name = s.server_name.clone().or_else(|| {
                targets
                    .first()
                    .and_then(|t| t.host())
                    .filter(|h| h.parse::<std::net::IpAddr>().is_err())
                    .map(str::to_string)
            });
        }
    }
    let mut service = Service {
        name: s.name.clone(),
        origin,
        role,
        listen: Addr::parse(&s.listen)?,
        targets,
        cert: cert_files(&s.cert, &s.key, &s.keystore, &s.keystore_password_file)?,
        alpn: s.alpn.clone(),
        proxy_send: s
            .proxy_protocol
            .as_deref()
            .map(parse_proxy_version)
            .transpose()?,
        proxy_accept: s.accept_proxy,
        protocol: None,
        psk: match (&s.psk_secrets, &s.psk_identity) {
            (None, None) => None,
            (None, Some(_)) => return Err("psk_identity needs psk_secrets".into()),
            (Some(secrets), identity) => Some(super::psk::PskSettings {
                secrets: secrets.clone(),
                identity: identity.clone().filter(|_| mode == Mode::Client),
            }),
        },
        exec: match s.exec.as_deref() {
            None => None,
            Some([program, ..]) => Some(super::Exec {
                program: PathBuf::from(program),
                args: s.exec.clone().unwrap_or_default(),
                pty: s.exec_pty,
            }),
            Some([]) => return Err("exec needs the program: exec = [\"/path\", \"arg\"...]".into()),
        },
        timeouts,
        limits: Limits {
            max_connections: s.max_connections,
            max_handshakes: s.max_handshakes,
            max_per_source: s.max_connections_per_source,
        },
        resume: s.session_resumption.unwrap_or(true),
        algorithms,
        trust: super::TrustExtras {
            ocsp: s.ocsp.clone().unwrap_or_default().settings()?,
            ..Default::default()
        },
        net: super::NetOptions {
            accept: super::listen_reuse_port(s.reuse_port),
            ..Default::default()
        },
    };
    crate::protocol::Options {
        name: s.protocol.clone(),
        host: s.protocol_host.clone(),
        username: s.protocol_username.clone(),
        password: s.protocol_password.clone(),
        authentication: s.protocol_authentication.clone(),
        headers: s.protocol_headers.clone().unwrap_or_default(),
    }
    .apply(&mut service)?;
    Ok(service)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Resumption;

    #[test]
    fn parses_services_and_routes() {
        let text = r#"
[global]
log_format = "json"
metrics = "127.0.0.1:9100"

[[service]]
name = "web"
mode = "server"
listen = "0.0.0.0:8443"
target = "unix:/run/app.sock"
proxy_protocol = "v2"

[[service.sni]]
name = "A.example"
target = "127.0.0.1:81"
"#;
        let c = parse("t.toml", text).unwrap();
        assert_eq!(c.global.log_format, LogFormat::Json);
        let s = &c.services[0];
        assert_eq!(s.targets, vec![Addr::Unix("/run/app.sock".into())]);
        assert_eq!(s.server().sni_routes[0].name, "a.example");
        assert_eq!(s.proxy_send, Some(ProxyVersion::V2));
        assert_eq!(s.origin, "t.toml:6");
    }

    #[test]
    fn sandbox_and_state_dir() {
        let service = "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\ntarget = \"127.0.0.1:1\"\n";
        let c = parse("t.toml", service).unwrap();
        assert!(c.global.sandbox && c.global.state_dir.is_none());
        let text = format!("[global]\nsandbox = false\nstate_dir = \"/var/lib/t\"\n{service}");
        let c = parse("t.toml", &text).unwrap();
        assert!(!c.global.sandbox);
        assert_eq!(c.global.state_dir, Some("/var/lib/t".into()));
    }

    #[test]
    fn unknown_key_names_line() {
        let text = "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\nbogus = 1\n";
        let e = parse("t.toml", text).unwrap_err();
        assert_eq!(e.location, "t.toml:5", "{e}");
        assert!(e.message.contains("bogus"), "{e}");
    }

    #[test]
    fn session_keys() {
        let text = "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\ntarget = \"127.0.0.1:1\"\n\
                    session_timeout = \"10m\"\nsession_cache_size = 10\nsession_tickets = false\n\
                    [[service]]\nname = \"b\"\nmode = \"client\"\nlisten = \"2\"\ntarget = \"127.0.0.1:1\"\n\
                    session_resumption = false\n\
                    [[service]]\nname = \"c\"\nmode = \"server\"\nlisten = \"3\"\ntarget = \"127.0.0.1:1\"\n";
        let c = parse("t.toml", text).unwrap();
        assert!(c.services[0].resume);
        assert_eq!(
            c.services[0].server().resumption,
            Resumption {
                tickets: false,
                timeout: std::time::Duration::from_secs(600),
                cache_size: 10,
                ticket_secret: None,
            }
        );
        assert!(!c.services[1].resume);
        assert!(c.services[2].resume);
        assert_eq!(c.services[2].server().resumption, Resumption::default());
    }

    #[test]
    fn algorithm_keys() {
        use tls_core::{CipherSuite, NamedGroup, ProtocolVersion};
        let service = |keys: &str| {
            let text = format!(
                "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\n\
                 target = \"127.0.0.1:1\"\n{keys}\n"
            );
            parse("t.toml", &text).map(|mut c| c.services.remove(0).algorithms)
        };
        let a = service(
            "versions = [\"TLSv1.2\", \"TLSv1.3\"]\n\
             cipher_suites = [\"ECDHE-RSA-AES128-GCM-SHA256\", \"TLS_AES_256_GCM_SHA384\"]\n\
             groups = [\"P-384\", \"X25519\"]",
        )
        .unwrap();
        assert_eq!(a.versions, [ProtocolVersion::Tls13, ProtocolVersion::Tls12]);
        assert_eq!(
            a.cipher_suites(),
            [
                CipherSuite::Tls13Aes256GcmSha384,
                CipherSuite::EcdheRsaAes128GcmSha256
            ]
        );
        assert_eq!(a.groups, [NamedGroup::Secp384r1, NamedGroup::X25519]);

        let bad = |keys: &str, want: &str| {
            let e = service(keys).unwrap_err();
            assert!(
                e.to_string().starts_with("t.toml:1: service \"a\": "),
                "{e}"
            );
            assert!(e.message.contains(want), "{want:?} in {e}");
        };
        bad(
            "versions = [\"TLSv1.1\"]",
            "versions: TLSv1.1 is not supported",
        );
        bad("versions = []", "no protocol version left");
        bad("groups = [\"X448\"]", "curve \"X448\" is not supported");
        // OpenSSL 3.5's group-list syntax, in one item or spread over several.
        let a = service("groups = [\"*X25519MLKEM768/X25519\", \"?X448\"]").unwrap();
        assert_eq!(a.groups, [NamedGroup::X25519MlKem768, NamedGroup::X25519]);
        assert!(!a.classical_share_with_hybrid);
        let a = service("groups = [\"?X448\", \"*X25519MLKEM768\", \"*X25519\"]").unwrap();
        assert_eq!(a.groups, [NamedGroup::X25519MlKem768, NamedGroup::X25519]);
        assert!(a.classical_share_with_hybrid);
        bad(
            "cipher_suites = [\"AES128-SHA\"]",
            "cipher suite \"AES128-SHA\" is not supported",
        );
        bad(
            "cipher_suites = [\"TLS_AES_128_GCM_SHA256\"]",
            "TLS 1.2 is enabled but no TLS 1.2 cipher suite is",
        );
        assert!(
            service("versions = [\"TLSv1.3\"]\ncipher_suites = [\"TLS_AES_128_GCM_SHA256\"]")
                .is_ok()
        );
    }

    #[test]
    fn ghostunnel_keys() {
        let service = |mode: &str, keys: &str| {
            let text = format!(
                "[global]\ntimed_reload = \"5m\"\n[[service]]\nname = \"a\"\nmode = \"{mode}\"\n\
                 listen = \"1\"\ntarget = \"127.0.0.1:1\"\n{keys}\n"
            );
            parse("t.toml", &text)
        };
        let c = service(
            "server",
            "cert = \"/both.pem\"\ncacert = \"/ca.pem\"\nallow_ou = [\"eng\"]\n\
             allow_dns = [\"a.internal\"]\nallow_uri = [\"spiffe://x/*\"]\nmax_conn_lifetime = \"1h\"",
        )
        .unwrap();
        assert_eq!(
            c.global.timed_reload,
            Some(std::time::Duration::from_secs(300))
        );
        let s = &c.services[0];
        assert_eq!(s.cert.as_ref().unwrap().key, PathBuf::from("/both.pem"));
        let access = &s.server().access;
        assert_eq!(access.allow_ou, ["eng"]);
        assert_eq!(access.allow_dns, ["a.internal"]);
        assert_eq!(access.allow_uri, ["spiffe://x/*"]);
        assert_eq!(
            s.timeouts.max_lifetime,
            Some(std::time::Duration::from_secs(3600))
        );
        let pin = format!("sha256:{}", "A".repeat(43) + "=");
        let c = service(
            "client",
            &format!("verify_cn = [\"db\"]\nverify_uri = [\"spiffe://x/db\"]\nverify_spki_pin = [\"{pin}\"]"),
        );
        // Pins replace chain verification, which the name rules build on.
        assert!(c.unwrap_err().message.contains("verify-spki-pin"));
        let c = service("client", "verify_cn = [\"db\"]").unwrap();
        assert_eq!(c.services[0].client().verify_names.cn, ["db"]);
        let c = service("client", &format!("verify_spki_pin = [\"{pin}\"]")).unwrap();
        assert!(matches!(
            c.services[0].client().verify,
            ServerVerify::Spki(_)
        ));
        for (mode, keys, want) in [
            ("server", "verify_cn = [\"x\"]", "client mode only"),
            ("client", "allow_ou = [\"x\"]", "server mode only"),
            ("client", "verify = \"pinned\"", "needs a CA file"),
            ("server", "allow_spki_pin = [\"sha256:xx\"]", "SPKI pin"),
            ("server", "key = \"/k.pem\"", "key without cert"),
        ] {
            let e = service(mode, keys).unwrap_err();
            assert!(e.message.contains(want), "{keys}: {e}");
        }
    }

    #[test]
    fn client_mode_takes_no_sni_routes() {
        let text = "[[service]]\nname = \"a\"\nmode = \"client\"\nlisten = \"1\"\n\
                    target = \"db.example:1\"\n[[service.sni]]\nname = \"a.example\"\n\
                    target = \"127.0.0.1:2\"\n";
        let e = parse("t.toml", text).unwrap_err();
        assert!(e.location.starts_with("t.toml:"), "{e}");
        assert!(
            e.message
                .contains("client mode takes no client-certificate rules or SNI routes"),
            "{e}"
        );
    }

    #[test]
    fn bad_session_keys() {
        let bad = |mode: &str, keys: &str, want: &str| {
            let text = format!(
                "[global]\n\n[[service]]\nname = \"a\"\nmode = \"{mode}\"\nlisten = \"1\"\n\
                 target = \"127.0.0.1:1\"\n{keys}\n"
            );
            let e = parse("t.toml", &text).unwrap_err();
            assert!(e.location.starts_with("t.toml:"), "{e}");
            assert!(e.to_string().contains(want), "{want:?} in {e}");
        };
        bad(
            "server",
            "session_timeout = \"0\"",
            "t.toml:3: service \"a\": duration",
        );
        bad(
            "server",
            "session_timeout = \"500ms\"",
            "whole number of seconds",
        );
        bad("server", "session_timeout = \"169h\"", "from 1s to 7 days");
        bad("server", "session_cache_size = 0", "not supported");
        bad("server", "session_cache_size = -3", "t.toml:8:");
        bad("server", "session_resumption = \"yes\"", "t.toml:8:");
        bad("client", "session_timeout = \"5m\"", "server mode only");
        bad("client", "session_tickets = false", "server mode only");
        bad("client", "ticket_key_file = \"/k\"", "server mode only");
        bad(
            "server",
            "ticket_key_file = \"/k\"\nsession_tickets = false",
            "ticket_key_file needs session tickets",
        );
        bad(
            "server",
            "ticket_key_file = \"/k\"\nsession_resumption = false",
            "ticket_key_file needs session tickets",
        );
        bad("client", "redirect = [\"127.0.0.1:2\"]", "server mode only");
        bad(
            "server",
            "redirect = [\"127.0.0.1:2\"]",
            "redirect needs a CA file",
        );
        bad("server", "security_level = 5", "P-521");
        bad("server", "exec_pty = true", "exec_pty needs exec");
    }

    #[test]
    fn security_level_and_redirect() {
        let c = parse(
            "t.toml",
            "[[service]]\nname = \"a\"\nmode = \"server\"\nlisten = \"1\"\n\
             target = \"127.0.0.1:1\"\ncacert = \"/ca.pem\"\nallow_all = true\n\
             redirect = [\"127.0.0.1:2\"]\nsecurity_level = 4\n",
        )
        .unwrap();
        let s = &c.services[0];
        assert_eq!(
            s.server().access.redirect,
            vec![Addr::Tcp("127.0.0.1:2".into())]
        );
        assert_eq!(s.algorithms.security_level, 4);
        // The hybrid is rated by its ML-KEM-768 part (192 bits), as OpenSSL does.
        assert_eq!(
            s.algorithms.groups,
            [
                tls_core::NamedGroup::X25519MlKem768,
                tls_core::NamedGroup::Secp384r1
            ]
        );
        assert!(!s.server().resumption.tickets);
    }

    #[test]
    fn fleet_keys() {
        let c = parse(
            "t.toml",
            "[global]\ndrain_grace = \"5s\"\n[[service]]\nname = \"a\"\nmode = \"server\"\n\
             listen = \"1\"\ntarget = \"127.0.0.1:1\"\nreuse_port = true\nticket_key_file = \"/k\"\n",
        )
        .unwrap();
        assert_eq!(c.global.drain_grace, std::time::Duration::from_secs(5));
        let s = &c.services[0];
        assert_eq!(s.net.accept, [crate::config::SockOpt::ReusePort(true)]);
        assert_eq!(s.server().ticket_key_file, Some(PathBuf::from("/k")));
        let e = parse("t.toml", "[global]\ndrain_grace = \"2d\"\n").unwrap_err();
        assert!(e.to_string().starts_with("t.toml: [global]"), "{e}");
        assert!(
            e.to_string()
                .contains("drain grace (--drain-grace, drain_grace) 172800s is too long"),
            "{e}"
        );
    }
}
