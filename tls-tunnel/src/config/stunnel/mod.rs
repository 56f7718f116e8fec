//! stunnel.conf, read directly with stunnel's meaning: global options,
//! `[service]` sections, `include` directories. Every option of stunnel's
//! manual is either implemented, accepted as restating our fixed policy
//! (with a line logged at start), or refused with a line naming the option,
//! the line and the reason. All problems of a file are reported at once.
//!
//! [`lexer`] splits the text into lines, [`options`] applies each option to
//! the global settings or to a [`Section`] ([`ssl_options`] the `options`
//! lines), [`build`] turns sections into services.

mod build;
mod lexer;
mod options;
mod ssl_options;
#[cfg(test)]
mod tests;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use tls_core::{CipherSuite, ProtocolVersion};

use super::algorithms::GroupList;
use super::{Addr, Config, ConfigError, Global, NetOptions, Timeouts};
use lexer::Item;

/// Where a line is: `file:line` for messages, and its position in the
/// whole configuration (included files spliced in) for ordering.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Loc {
    seq: usize,
    at: String,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.at)
    }
}

/// The problems found so far, each with its position in the whole
/// configuration (lines are read, applied and built in separate passes).
#[derive(Debug, Default)]
pub(super) struct Errors(Vec<(usize, ConfigError)>);

impl Errors {
    fn add(&mut self, at: &Loc, message: impl Into<String>) {
        self.0.push((at.seq, ConfigError::new(&at.at, message)));
    }

    /// A problem of the file as a whole, reported after those of its lines.
    fn add_last(&mut self, error: ConfigError) {
        self.0.push((usize::MAX, error));
    }

    /// The problems in file order.
    fn in_file_order(mut self) -> Vec<ConfigError> {
        self.0.sort_by_key(|(seq, _)| *seq);
        self.0.into_iter().map(|(_, e)| e).collect()
    }
}

/// Options of a service (or the global defaults), as written, with the line
/// each came from.
#[derive(Debug, Clone, Default)]
pub(super) struct Section {
    name: String,
    at: Loc,
    accept: Option<(Addr, Loc)>,
    /// Further `accept` lines: stunnel listens on every one.
    more_accepts: Vec<(Addr, Loc)>,
    connect: Vec<Addr>,
    /// `redirect` addresses, with their lines.
    redirect: Vec<(Addr, Loc)>,
    client: Option<bool>,
    cert: Option<String>,
    key: Option<String>,
    cafile: Option<String>,
    capath: Option<String>,
    crlfile: Option<String>,
    crlpath: Option<String>,
    ocsp: super::ocsp::OcspSettings,
    verify_chain: Option<bool>,
    verify_peer: Option<bool>,
    require_cert: Option<(bool, Loc)>,
    check_host: Vec<String>,
    check_ip: Vec<IpAddr>,
    check_email: Vec<(String, Loc)>,
    sni: Option<(String, Loc)>,
    timeouts: Timeouts,
    // Session options, with their lines: see `build::own_session_option`.
    session_resume: Option<(bool, Loc)>,
    session_timeout: Option<(Duration, Loc)>,
    session_cache_size: Option<(usize, Loc)>,
    no_ticket: Option<Loc>,
    ticket_key: Option<(Vec<u8>, Loc)>,
    ticket_mac: Option<(Vec<u8>, Loc)>,
    // Protocol options, with their lines: see `build::protocol_option_lines`.
    version_min: Option<(ProtocolVersion, Loc)>,
    version_max: Option<(ProtocolVersion, Loc)>,
    /// Versions turned off by `options = NO_TLSv1_2` / `NO_TLSv1_3`.
    no_versions: Vec<(ProtocolVersion, Loc)>,
    tls13_suites: Option<(Vec<CipherSuite>, Loc)>,
    tls12_suites: Option<(Vec<CipherSuite>, Loc)>,
    groups: Option<(GroupList, Loc)>,
    /// Our extension `allowNoEMS = yes`: admit TLS 1.2 peers without the
    /// extended master secret (OpenSSL has no such requirement to lift).
    allow_no_ems: bool,
    /// `securityLevel` 3 to 5, with its line (0 to 2 restate our policy).
    security_level: Option<(u8, Loc)>,
    /// `exec` and `execArgs` (split on whitespace, as stunnel: no quoting).
    exec: Option<(String, Loc)>,
    exec_args: Option<String>,
    /// `pty = yes`: exec on a pseudo-terminal.
    pty: bool,
    /// `protocol` and `protocol*` options, with the line of `protocol` (or
    /// of the first of the others).
    protocol: (crate::protocol::Options, Option<Loc>),
    net: NetOptions,
    /// `reset`, when written (stunnel's default is yes).
    reset: Option<bool>,
    /// `PSKsecrets` with its line, and `PSKidentity`.
    psk_secrets: Option<(String, Loc)>,
    psk_identity: Option<(String, Loc)>,
    /// The service of a file without sections: stunnel's inetd mode, which
    /// serves the connection on standard input instead of accepting.
    inetd: bool,
    /// One of its lines was refused: its service is not built, so that the
    /// error is not followed by consequences of it ("no target").
    broken: bool,
}

/// Parses stunnel.conf text; `file` names it in errors. Included
/// directories are read from disk.
pub fn parse(file: &str, text: &str) -> Result<Config, ConfigError> {
    parse_with(file, text, true)
}

/// [`parse`] without reading the files it names: `include` is an error
/// (for the fuzz target, which must not read whatever directory it names;
/// a port given as a service name is still looked up in /etc/services).
pub fn parse_text(file: &str, text: &str) -> Result<Config, ConfigError> {
    parse_with(file, text, false)
}

fn parse_with(file: &str, text: &str, includes: bool) -> Result<Config, ConfigError> {
    let mut errors = Errors::default();
    let items = lexer::read(file, text, includes, &mut errors);
    let mut global = Global {
        foreground: false,
        // stunnel logs to syslog unless told otherwise.
        syslog: true,
        syslog_ident: "stunnel".into(),
        ..Global::default()
    };
    let mut defaults = Section::default();
    let mut sections: Vec<Section> = Vec::new();
    for item in items {
        match item {
            Item::Included(dir) => global.include_dirs.push(dir),
            Item::Section { mut name, at } => {
                // stunnel runs both sections of one name; logs, metrics and
                // reloads tell services apart by name, so the later one gets
                // a suffix (and a start-up line says so).
                if sections.iter().any(|s| s.name == name) {
                    let mut n = 2;
                    while sections.iter().any(|s| s.name == format!("{name}#{n}")) {
                        n += 1;
                    }
                    let renamed = format!("{name}#{n}");
                    global.notices.push(format!(
                        "{at}: a second section [{name}] runs as [{renamed}] in logs and metrics"
                    ));
                    name = renamed;
                }
                let mut s = defaults.clone();
                s.name = name;
                s.at = at;
                sections.push(s);
            }
            Item::Option { key, value, at } => {
                let mut section = sections.last_mut();
                if let Err(e) = options::apply(
                    &mut global,
                    section.as_deref_mut(),
                    &mut defaults,
                    &key,
                    &value,
                    &at,
                ) {
                    errors.add(&at, e);
                    section.unwrap_or(&mut defaults).broken = true;
                }
            }
        }
    }
    if sections.is_empty() && (!defaults.connect.is_empty() || defaults.exec.is_some()) {
        // stunnel's inetd mode: the service options are the global ones.
        defaults.name = global.syslog_ident.clone();
        defaults.at = Loc {
            seq: 0,
            at: file.to_string(),
        };
        defaults.inetd = true;
        sections.push(defaults);
    } else if sections.is_empty() && errors.0.is_empty() {
        errors.add_last(ConfigError::new(
            file,
            "no [service] section (and no connect or exec for inetd mode)",
        ));
    }
    // stunnel takes CApath and CRLpath inside the chroot jail (OpenSSL
    // looks certificates and CRLs up there during handshakes); they are
    // loaded at start, so from the jail's place on the host.
    if let Some(root) = &global.chroot {
        for s in &mut sections {
            for dir in [&mut s.capath, &mut s.crlpath].into_iter().flatten() {
                let jailed = crate::process::in_jail(root, std::path::Path::new(dir.as_str()));
                *dir = jailed.to_string_lossy().into_owned();
            }
        }
    }
    let services = build::build(&sections, &mut errors, &mut global.notices);
    global.notices.dedup();
    match ConfigError::all(errors.in_file_order()) {
        Some(e) => Err(e),
        None => Ok(Config { global, services }),
    }
}
