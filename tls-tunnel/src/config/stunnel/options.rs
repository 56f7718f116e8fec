//! Every option of stunnel's manual: applied with stunnel's meaning,
//! accepted as restating tls-tunnel's fixed policy (a notice logged at
//! start), or refused with the reason. tls-tunnel/README.md carries the
//! same table for operators.

use std::path::PathBuf;
use std::time::Duration;

use tls_core::ProtocolVersion;

use super::super::algorithms::{
    parse_group_list, parse_tls12_suites, parse_tls13_suites, parse_version,
};
use super::super::net::{parse_socket_option, SocketSide};
use super::super::ocsp::OcspSettings;
use super::super::{check_session_cache_size, check_session_timeout, Addr, Failover, Global};
use super::{Loc, Section};

/// Options that only make sense for the whole process.
const GLOBAL_ONLY: [&str; 19] = [
    "chroot",
    "compression",
    "egd",
    "engine",
    "enginectrl",
    "enginedefault",
    "fips",
    "foreground",
    "iconactive",
    "iconerror",
    "iconidle",
    "log",
    "output",
    "pid",
    "rndbytes",
    "rndfile",
    "rndoverwrite",
    "syslog",
    "taskbar",
];

/// Why `engine = auto` changes nothing.
const ENGINE_AUTO: &str = "no OpenSSL engines: ring uses the CPU's AES, SHA and \
                           carry-less multiply instructions itself";
const ENGINE: &str = "cryptographic engines (PKCS#11, CNG) are not supported: certificates, keys \
                      and CA certificates are read from files";
const WINDOWS: &str = "a Windows GUI option (stunnel on Unix refuses it too)";
const RANDOM: &str = "randomness comes from the operating system (getrandom), there is no OpenSSL \
                      generator to seed";

/// Options refused whatever their value, with the reason.
const REFUSED: [(&str, &str); 6] = [
    ("caengine", ENGINE),
    ("engineid", ENGINE),
    ("enginenum", ENGINE),
    (
        "config",
        "OpenSSL configuration commands have no meaning: tls-tunnel does not use OpenSSL (use \
         ciphers, ciphersuites, curves and sslVersion)",
    ),
    (
        "sessiond",
        "the sessiond shared session cache is not supported",
    ),
    (
        "protocoldomain",
        "protocolDomain is the NTLM domain of protocolAuthentication = ntlm, and NTLM is not \
         supported (it rests on MD4 and DES): use protocolAuthentication = basic",
    ),
];

/// Curves OpenSSL offers that tls-core does not implement.
const LACKING_CURVES: [&str; 12] = [
    "X448",
    "X448MLKEM1024",
    "MLKEM512",
    "MLKEM768",
    "MLKEM1024",
    "P-521",
    "secp521r1",
    "ffdhe2048",
    "ffdhe3072",
    "ffdhe4096",
    "ffdhe6144",
    "ffdhe8192",
];

/// The other groups OpenSSL 3.0 takes in a curve list (and stunnel with
/// it): old binary-field, Koblitz and Brainpool curves, and prime curves
/// under 256 bits. Left out like [`LACKING_CURVES`].
const OTHER_OPENSSL_CURVES: [&str; 27] = [
    "secp160k1",
    "secp160r1",
    "secp160r2",
    "secp192k1",
    "secp224k1",
    "secp224r1",
    "secp256k1",
    "prime192v1",
    "P-192",
    "P-224",
    "sect163k1",
    "sect163r1",
    "sect163r2",
    "sect193r1",
    "sect193r2",
    "sect233k1",
    "sect233r1",
    "sect239k1",
    "sect283k1",
    "sect283r1",
    "sect409k1",
    "sect409r1",
    "sect571k1",
    "sect571r1",
    "brainpoolP256r1",
    "brainpoolP384r1",
    "brainpoolP512r1",
];

/// Adds a notice (once) for the start-up log.
pub(super) fn note(global: &mut Global, key: &str, value: &str, why: &str) {
    let line = format!("stunnel option {key} = {value}: accepted without effect: {why}");
    if !global.notices.contains(&line) {
        global.notices.push(line);
    }
}

/// Applies one `key = value` line: to the global settings, to `section`, or
/// (before the first section) to the defaults every section starts from.
pub(super) fn apply(
    global: &mut Global,
    section: Option<&mut Section>,
    defaults: &mut Section,
    key: &str,
    value: &str,
    at: &Loc,
) -> Result<(), String> {
    let lower = key.to_ascii_lowercase();
    if GLOBAL_ONLY.contains(&lower.as_str()) {
        if section.is_some() {
            // An option refused anyway says why; else where it belongs.
            global_option(&mut Global::default(), key, &lower, value)?;
            return Err(format!(
                "{key} is a global option: put it before the first [section]"
            ));
        }
        return global_option(global, key, &lower, value);
    }
    match lower.as_str() {
        "debug" => {
            // stunnel accepts a per-service level; we log per process, at
            // the most verbose level asked for.
            let (facility, level) = parse_debug(value)?;
            if section.is_none() {
                global.log_level = level;
                if let Some(f) = facility {
                    global.syslog_facility = f;
                }
            } else if level > global.log_level {
                global.log_level = level;
            }
            return Ok(());
        }
        "setuid" | "setgid" if section.is_none() => {
            if value.is_empty() {
                return Err(format!("{key} needs a user or group name or number"));
            }
            let slot = match lower.as_str() {
                "setuid" => &mut global.setuid,
                _ => &mut global.setgid,
            };
            *slot = Some(value.to_string());
            return Ok(());
        }
        "setuid" | "setgid" => {
            // In a section: the owner of its Unix accept socket.
            if value.is_empty() {
                return Err(format!("{key} needs a user or group name or number"));
            }
            let s = section.unwrap_or(defaults);
            let owner = s.net.unix_owner.get_or_insert_with(Default::default);
            match lower.as_str() {
                "setuid" => owner.user = Some(value.to_string()),
                _ => owner.group = Some(value.to_string()),
            }
            return Ok(());
        }
        "service" => {
            if section.is_none() {
                global.syslog_ident = value.to_string();
            } else {
                note(
                    global,
                    key,
                    value,
                    "in a section it names nothing (as in stunnel)",
                );
            }
            return Ok(());
        }
        _ => {}
    }
    let s = section.unwrap_or(defaults);
    service_option(global, s, key, &lower, value, at)
}

fn global_option(global: &mut Global, key: &str, lower: &str, value: &str) -> Result<(), String> {
    match lower {
        "chroot" => global.chroot = Some(PathBuf::from(value)),
        "compression" => match value.to_ascii_lowercase().as_str() {
            "no" | "none" => note(global, key, value, "TLS compression is never used"),
            _ => {
                return Err(format!(
                    "compression = {value}: TLS compression is never used (it leaks secrets: \
                     CRIME)"
                ))
            }
        },
        "egd" | "rndbytes" | "rndfile" | "rndoverwrite" => note(global, key, value, RANDOM),
        // `engine = auto` only lets OpenSSL use built-in hardware engines
        // (AES-NI, RDRAND...): nothing an operator configures hangs on it.
        "engine" if value.eq_ignore_ascii_case("auto") => note(global, key, value, ENGINE_AUTO),
        "enginedefault" => note(global, key, value, ENGINE_AUTO),
        "engine" | "enginectrl" => return Err(format!("{key}: {ENGINE}")),
        "fips" => match yes_no(key, value)? {
            false => note(global, key, value, "FIPS mode is off, as stunnel's default"),
            true => {
                return Err("fips = yes: tls-tunnel has no FIPS 140 validated module (ring)".into())
            }
        },
        "foreground" => {
            (global.foreground, global.quiet) = match value.to_ascii_lowercase().as_str() {
                "yes" => (true, false),
                "quiet" => (true, true),
                "no" => (false, false),
                _ => {
                    return Err(format!(
                        "foreground must be yes, quiet or no, not {value:?}"
                    ))
                }
            }
        }
        "iconactive" | "iconerror" | "iconidle" | "taskbar" => {
            return Err(format!("{key}: {WINDOWS}"))
        }
        "log" => {
            global.log_overwrite = match value.to_ascii_lowercase().as_str() {
                "append" => false,
                "overwrite" => true,
                _ => return Err(format!("log must be append or overwrite, not {value:?}")),
            }
        }
        "output" => global.log_file = Some(PathBuf::from(value)),
        "pid" => global.pid_file = (!value.is_empty()).then(|| PathBuf::from(value)),
        _ => global.syslog = yes_no(key, value)?,
    }
    Ok(())
}

/// Applies one service-level option.
fn service_option(
    global: &mut Global,
    s: &mut Section,
    key: &str,
    lower: &str,
    value: &str,
    at: &Loc,
) -> Result<(), String> {
    let secs = |v: &str| -> Result<Duration, String> {
        let n: u64 = v
            .parse()
            .map_err(|_| format!("{key} takes a number of seconds, not {v:?}"))?;
        Ok(Duration::from_secs(n.max(1)))
    };
    let at = at.clone();
    match lower {
        "accept" => {
            let accept = (address(value, "0.0.0.0")?, at);
            match s.accept {
                None => s.accept = Some(accept),
                Some(_) => s.more_accepts.push(accept),
            }
        }
        "connect" => s.connect.push(address(value, "localhost")?),
        "redirect" => s.redirect.push((address(value, "localhost")?, at)),
        "client" => s.client = Some(yes_no(key, value)?),
        "cert" => s.cert = Some(value.to_string()),
        "key" => s.key = Some(value.to_string()),
        "cafile" => s.cafile = Some(value.to_string()),
        "capath" => s.capath = Some(value.to_string()),
        "crlfile" => s.crlfile = Some(value.to_string()),
        "crlpath" => s.crlpath = Some(value.to_string()),
        // `yes` also sets requireCert, as in stunnel: a later
        // `requireCert = no` makes the certificate optional, an earlier
        // one does not.
        "verifychain" | "verifypeer" => {
            let on = yes_no(key, value)?;
            match lower {
                "verifychain" => s.verify_chain = Some(on),
                _ => s.verify_peer = Some(on),
            }
            if on {
                s.require_cert = Some((true, at));
            }
        }
        // The legacy form sets the flags that verifyChain, verifyPeer and
        // requireCert set, so whichever line comes later wins, as in
        // stunnel (0 request and ignore, 1 verify if present, 2 verify,
        // 3 verify and require the certificate in the CA store, 4 only
        // the certificate in the store).
        "verify" => match value.parse::<u8>() {
            Ok(level @ 0..=4) => {
                s.verify_chain = Some((1..=3).contains(&level));
                s.verify_peer = Some(level >= 3);
                s.require_cert = Some((level >= 2, at));
            }
            _ => return Err(format!("verify takes a level from 0 to 4, not {value:?}")),
        },
        "requirecert" => s.require_cert = Some((yes_no(key, value)?, at)),
        "checkhost" => s.check_host.push(value.to_string()),
        "checkip" => s.check_ip.push(
            value
                .parse()
                .map_err(|_| format!("checkIP: {value:?} is not an IP address"))?,
        ),
        "checkemail" => {
            if !value.contains('@') {
                return Err(format!("checkEmail: {value:?} is not an email address"));
            }
            s.check_email.push((value.to_string(), at));
        }
        "sni" => s.sni = Some((value.to_string(), at)),
        "timeoutbusy" => s.timeouts.handshake = secs(value)?,
        "timeoutidle" => s.timeouts.idle = secs(value)?,
        "timeoutclose" => s.timeouts.close = secs(value)?,
        "timeoutconnect" => s.timeouts.connect = secs(value)?,
        "sessionresume" => s.session_resume = Some((yes_no(key, value)?, at)),
        "sessioncachetimeout" => {
            let n: u64 = value
                .parse()
                .map_err(|_| format!("{key} takes a number of seconds, not {value:?}"))?;
            if n == 0 {
                // OpenSSL keeps a session while its time plus the timeout,
                // in whole seconds, is not past: 0 leaves it resumable for
                // the rest of the second (stunnel 5.68 resumes a TLS 1.2
                // session at once with it).
                global.notices.push(format!(
                    "stunnel option {key} = 0: sessions are resumable for 1 second, as \
                     OpenSSL's whole-second expiry gives stunnel"
                ));
            }
            let timeout = check_session_timeout(Duration::from_secs(n.max(1)))
                .map_err(|e| format!("{key}: {e}"))?;
            s.session_timeout = Some((timeout, at));
        }
        "sessioncachesize" => {
            let n: usize = value
                .parse()
                .map_err(|_| format!("{key} takes a number of sessions, not {value:?}"))?;
            let size = check_session_cache_size(n).map_err(|e| format!("{key}: {e}"))?;
            s.session_cache_size = Some((size, at));
        }
        "allownoems" => s.allow_no_ems = yes_no(key, value)?,
        "psksecrets" => s.psk_secrets = Some((value.to_string(), at)),
        "pskidentity" => s.psk_identity = Some((value.to_string(), at)),
        "options" => super::ssl_options::apply(global, s, value, at)?,
        "exec" => s.exec = Some((value.to_string(), at)),
        "pty" => s.pty = yes_no(key, value)?,
        "execargs" => s.exec_args = Some(value.to_string()),
        "protocol"
        | "protocolhost"
        | "protocolusername"
        | "protocolpassword"
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
            if s.protocol.1.is_none() || lower == "protocol" {
                s.protocol.1 = Some(at);
            }
        }
        "protocolheader" => {
            // One header, as stunnel: a later line replaces an earlier one.
            s.protocol.0.headers = vec![value.to_string()];
            if s.protocol.1.is_none() {
                s.protocol.1 = Some(at);
            }
        }
        "ticketkeysecret" => s.ticket_key = Some((hex_secret(key, value)?, at)),
        "ticketmacsecret" => s.ticket_mac = Some((hex_secret(key, value)?, at)),
        "sslversionmin" => {
            // A lower minimum asks to allow older versions too: honoured by
            // our floor of TLS 1.2, since we need not offer them.
            let v = match value.to_ascii_lowercase().as_str() {
                "all" => None,
                _ => parse_version(value).map_err(|e| format!("{key}: {e}"))?,
            };
            if v.is_none() {
                note(
                    global,
                    key,
                    value,
                    "TLS below 1.2 is never spoken: the minimum is TLS 1.2",
                );
            }
            s.version_min = Some((v.unwrap_or(ProtocolVersion::Tls12), at));
        }
        "sslversionmax" => {
            let v = match value.to_ascii_lowercase().as_str() {
                "all" => ProtocolVersion::Tls13,
                _ => modern_version(key, value)?,
            };
            s.version_max = Some((v, at));
        }
        "sslversion" => {
            let (min, max) = match value.to_ascii_lowercase().as_str() {
                "all" => {
                    note(global, key, value, "tls-tunnel speaks TLS 1.2 and 1.3");
                    (ProtocolVersion::Tls12, ProtocolVersion::Tls13)
                }
                _ => {
                    let v = modern_version(key, value)?;
                    (v, v)
                }
            };
            s.version_min = Some((min, at.clone()));
            s.version_max = Some((max, at));
        }
        "ciphersuites" => {
            let suites = parse_tls13_suites(value).map_err(|e| format!("{key} = {value}: {e}"))?;
            s.tls13_suites = Some((suites, at));
        }
        "ciphers" => match parse_tls12_suites(value) {
            Ok(suites) => s.tls12_suites = Some((suites, at)),
            // `ciphers = PSK` (stunnel's manual's PSK example): TLS 1.2
            // with PSK suites only. tls-core has none, so TLS 1.2 is off
            // and PSK clients are served over TLS 1.3.
            Err(_) if psk_only(value) => {
                global.notices.push(format!(
                    "{at}: {key} = {value}: tls-tunnel has no TLS 1.2 PSK cipher suites: TLS 1.2 \
                     is off for this service, PSK clients are served over TLS 1.3 (psk_dhe_ke)"
                ));
                s.tls12_suites = Some((Vec::new(), at));
            }
            Err(e) => return Err(format!("{key} = {value}: {e}")),
        },
        "curves" => {
            // Curves OpenSSL has and tls-core lacks are left out (fewer
            // curves weaken nothing), so stunnel's own default list works.
            let groups = parse_group_list(value, |c| {
                LACKING_CURVES
                    .iter()
                    .chain(&OTHER_OPENSSL_CURVES)
                    .any(|l| l.eq_ignore_ascii_case(c))
            })
            .map_err(|e| format!("{key} = {value}: {e}"))?;
            let lacking = &groups.left_out;
            if !lacking.is_empty() {
                note(
                    global,
                    key,
                    value,
                    &format!(
                        "{} left out: tls-tunnel has X25519MLKEM768, SecP256r1MLKEM768, \
                         SecP384r1MLKEM1024, X25519, P-256 and P-384",
                        lacking.join(", ")
                    ),
                );
            }
            s.groups = Some((groups, at));
        }
        "socket" => {
            let (side, opt) = parse_socket_option(value).map_err(|e| format!("socket: {e}"))?;
            match side {
                SocketSide::Accept => s.net.accept.push(opt),
                SocketSide::Local => s.net.local.push(opt),
                SocketSide::Remote => s.net.remote.push(opt),
            }
        }
        "local" => {
            s.net.source = Some(
                value
                    .parse()
                    .map_err(|_| format!("local = {value}: give the IP address to connect from"))?,
            )
        }
        "failover" => {
            s.net.failover = match value.to_ascii_lowercase().as_str() {
                "rr" => Failover::RoundRobin,
                "prio" => Failover::Priority,
                _ => return Err(format!("failover must be rr or prio, not {value:?}")),
            }
        }
        // Host names are resolved at each connection, which is what
        // `delay = yes` asks for and a safe reading of `delay = no`.
        "delay" => {
            yes_no(key, value)?;
        }
        "retry" => s.net.retry = yes_no(key, value)?,
        "libwrap" => s.net.libwrap = yes_no(key, value)?,
        "ident" => s.net.ident = Some(value.to_string()),
        "renegotiation" => {
            if yes_no(key, value)? {
                return Err(
                    "renegotiation = yes: tls-tunnel never renegotiates (it invites a \
                            CPU-exhaustion attack, and TLS 1.3 has none)"
                        .into(),
                );
            }
            note(global, key, value, "tls-tunnel never renegotiates");
        }
        "reset" => s.reset = Some(yes_no(key, value)?),
        "transparent" => s.net.transparent = super::super::net::Transparent::parse(value)?,
        "securitylevel" => match value.parse::<u8>() {
            Ok(0..=2) => note(
                global,
                key,
                value,
                "tls-tunnel's fixed policy (TLS 1.2 and up, AEAD suites with ECDHE) is at least \
                 OpenSSL level 2",
            ),
            Ok(level @ 3..=5) => s.security_level = Some((level, at)),
            _ => return Err(format!("securityLevel takes 0 to 5, not {value:?}")),
        },
        "ocsp" => {
            crate::config::ocsp::parse_http_url(value)?;
            s.ocsp.url = Some(value.to_string());
        }
        "ocspaia" => s.ocsp.aia = yes_no(key, value)?,
        "ocspflag" => note(global, key, value, OcspSettings::check_flag(value)?),
        "ocspnonce" => s.ocsp.nonce = yes_no(key, value)?,
        "ocsprequire" => s.ocsp.require = yes_no(key, value)?,
        "timeoutocsp" => s.ocsp.timeout = secs(value)?,
        "logid" => note(
            global,
            key,
            value,
            "log lines name the service and the peer address instead",
        ),
        "stack" => note(
            global,
            key,
            value,
            "connections are tasks, not threads with a stack of their own",
        ),
        _ => {
            if let Some((_, why)) = REFUSED.iter().find(|(name, _)| *name == lower) {
                return Err(format!("{key}: {why}"));
            }
            return Err(format!("unknown option {key:?}: not a stunnel option"));
        }
    }
    if lower.starts_with("timeout") {
        s.timeouts.check()?;
    }
    Ok(())
}

/// stunnel's address: a Unix socket path, `PORT` (on `default_host`), or
/// `HOST:PORT` split at the last colon, so `::1:443` is IPv6 `::1` port 443.
/// The port may be a TCP service name (`imaps`), as getaddrinfo takes it.
/// `[v6]:port` and `unix:/path` are accepted too.
fn address(value: &str, default_host: &str) -> Result<Addr, String> {
    if value.starts_with('/') || value.starts_with("unix:") || value.starts_with('[') {
        return Addr::parse(value);
    }
    let (host, port) = value.rsplit_once(':').unwrap_or((default_host, value));
    let port = port_number(port).ok_or_else(|| {
        format!(
            "bad port {port:?} in address {value:?} (not a number nor a TCP service of {SERVICES})"
        )
    })?;
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("bad host in address {value:?}"));
    }
    if host.contains(':') {
        let ip: std::net::Ipv6Addr = host
            .parse()
            .map_err(|_| format!("bad IPv6 address {host:?} in {value:?}"))?;
        return Ok(Addr::Tcp(format!("[{ip}]:{port}")));
    }
    Ok(Addr::Tcp(format!("{host}:{port}")))
}

/// The services database getaddrinfo reads service names from.
const SERVICES: &str = "/etc/services";

/// A port: a number, or a TCP service name or alias of [`SERVICES`].
fn port_number(port: &str) -> Option<u16> {
    if let Ok(n) = port.parse() {
        return Some(n);
    }
    let name_like = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+');
    if port.is_empty() || !port.chars().all(name_like) {
        return None;
    }
    let services = std::fs::read_to_string(SERVICES).ok()?;
    services.lines().find_map(|line| {
        let mut words = line.split('#').next().unwrap_or("").split_whitespace();
        let name = words.next()?;
        let (number, protocol) = words.next()?.split_once('/')?;
        let named = name == port || words.any(|alias| alias == port);
        (named && protocol == "tcp")
            .then(|| number.parse().ok())
            .flatten()
    })
}

/// Whether an OpenSSL cipher list selects PSK suites only: every element
/// that adds suites (`PSK`, `ECDHEPSK`, `PSK-AES128-GCM-SHA256`...) names
/// PSK; exclusions (`!`, `-`), reorderings (`+`) and `@` commands add none.
fn psk_only(list: &str) -> bool {
    let adding: Vec<&str> = list
        .split([':', ',', ' '])
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.starts_with(['!', '-', '+', '@']))
        .collect();
    !adding.is_empty()
        && adding
            .iter()
            .all(|e| e.to_ascii_uppercase().contains("PSK"))
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

/// stunnel's ticket secrets: 16 or 32 bytes in hexadecimal, colons allowed
/// between bytes.
fn hex_secret(key: &str, value: &str) -> Result<Vec<u8>, String> {
    let digits: String = value.chars().filter(|c| *c != ':').collect();
    let bad = || format!("{key} takes 16 or 32 bytes as 32 or 64 hexadecimal digits");
    if !matches!(digits.len(), 32 | 64) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    digits
        .as_bytes()
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

fn yes_no(key: &str, value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("{key} must be yes or no, not {value:?}")),
    }
}

/// Syslog facilities by name, with their codes (RFC 5424, section 6.2.1).
const FACILITIES: [(&str, u8); 20] = [
    ("kern", 0),
    ("user", 1),
    ("mail", 2),
    ("daemon", 3),
    ("auth", 4),
    ("syslog", 5),
    ("lpr", 6),
    ("news", 7),
    ("uucp", 8),
    ("cron", 9),
    ("authpriv", 10),
    ("ftp", 11),
    ("local0", 16),
    ("local1", 17),
    ("local2", 18),
    ("local3", 19),
    ("local4", 20),
    ("local5", 21),
    ("local6", 22),
    ("local7", 23),
];

/// stunnel's `debug = [facility.]level`: the syslog facility if given, and
/// the level (0..7 or a syslog name), case ignored.
fn parse_debug(value: &str) -> Result<(Option<u8>, tracing::Level), String> {
    let (facility, level) = match value.split_once('.') {
        Some((f, l)) => {
            let code = FACILITIES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(f.trim()))
                .map(|(_, code)| *code)
                .ok_or_else(|| format!("debug: unknown syslog facility {f:?}"))?;
            (Some(code), l)
        }
        None => (None, value),
    };
    let level = match level.trim().to_ascii_lowercase().as_str() {
        "emerg" | "0" | "alert" | "1" | "crit" | "2" | "err" | "3" => tracing::Level::ERROR,
        "warning" | "4" => tracing::Level::WARN,
        "notice" | "5" | "info" | "6" => tracing::Level::INFO,
        "debug" | "7" => tracing::Level::DEBUG,
        _ => {
            return Err(format!(
                "debug level must be 0-7 or a syslog level name, not {value:?}"
            ))
        }
    };
    Ok((facility, level))
}
