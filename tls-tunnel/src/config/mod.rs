//! The validated configuration model shared by every front end: the command
//! line, our TOML format and stunnel.conf all end up as a [`Config`].
//!
//! Parsing checks syntax and consistency; loading certificates and keys is
//! done later by [`crate::tls`], so `--check` and reloads go through both.

pub mod algorithms;
mod cipher_string;
pub mod net;
pub mod ocsp;
pub mod peer;
pub mod psk;
mod service;
pub mod stunnel;
pub mod toml;

pub use algorithms::Algorithms;
pub use net::{listen_reuse_port, Failover, NetOptions, SockOpt};
pub use peer::{NameRules, SpkiPin};
pub use service::{
    validate, Access, CertFiles, ClientRole, Exec, Mode, ProxyVersion, Role, ServerRole,
    ServerVerify, Service, SniRoute, TrustExtras,
};

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A configuration problem, already worded for the operator: where, then what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `file:line`, `file`, or a command-line option name.
    pub location: String,
    /// What is wrong, in one line.
    pub message: String,
    /// Further problems found in the same file, in file order: a front end
    /// that can go on after an error reports them all at once.
    pub more: Vec<ConfigError>,
}

impl ConfigError {
    /// An error at `location`.
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            location: location.into(),
            message: message.into(),
            more: Vec::new(),
        }
    }

    /// The first of `errors` carrying the others, or `None` when there are none.
    pub fn all(mut errors: Vec<ConfigError>) -> Option<ConfigError> {
        if errors.is_empty() {
            return None;
        }
        let mut first = errors.remove(0);
        first.more.extend(errors);
        Some(first)
    }

    /// Every problem as one `location: message` line each.
    pub fn lines(&self) -> Vec<String> {
        std::iter::once(self)
            .chain(&self.more)
            .map(|e| format!("{}: {}", e.location, e.message.replace('\n', " ")))
            .collect()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line per problem: newlines from nested errors are flattened.
        f.write_str(&self.lines().join("\n"))
    }
}

impl std::error::Error for ConfigError {}

/// Where a tunnel listens or connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A TCP address: `host:port`, `[v6]:port` or `ip:port`, resolved when used.
    Tcp(String),
    /// A Unix stream socket path (`unix:/path` or an absolute path).
    Unix(PathBuf),
    /// No listener: the one connection is the socket on standard input and
    /// output, as inetd, xinetd or systemd (`Accept=yes`) hand it over
    /// (stunnel's inetd mode, a stunnel.conf without sections). Never a target.
    Stdio,
    /// No listener: stunnel's exec+connect (a section with `exec` and
    /// `connect` and no `accept`): at start the program is run and the
    /// target connected, the program's standard input and output being the
    /// plaintext side; with `retry` again after each end. Never a target.
    Exec,
}

impl Addr {
    /// Parses `unix:/path`, `/path`, `host:port`, `[::1]:port`, or a bare
    /// port (all interfaces).
    pub fn parse(s: &str) -> Result<Addr, String> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("unix:") {
            if path.is_empty() {
                return Err("empty Unix socket path".into());
            }
            return Ok(Addr::Unix(PathBuf::from(path)));
        }
        if s.starts_with('/') {
            return Ok(Addr::Unix(PathBuf::from(s)));
        }
        if let Ok(port) = s.parse::<u16>() {
            return Ok(Addr::Tcp(format!("[::]:{port}")));
        }
        if s.parse::<SocketAddr>().is_ok() {
            return Ok(Addr::Tcp(s.to_string()));
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(format!(
                "address {s:?} has no port (expected host:port or unix:/path)"
            ));
        };
        if host.is_empty() || host.contains(':') || host.contains(char::is_whitespace) {
            return Err(format!(
                "bad host in address {s:?} (IPv6 addresses go in brackets: [::1]:443)"
            ));
        }
        port.parse::<u16>()
            .map_err(|_| format!("bad port {port:?} in address {s:?}"))?;
        Ok(Addr::Tcp(s.to_string()))
    }

    /// The host part of a TCP address (for a default SNI name), if any.
    pub fn host(&self) -> Option<&str> {
        match self {
            Addr::Tcp(s) => {
                let (host, _) = s.rsplit_once(':')?;
                Some(host.trim_start_matches('[').trim_end_matches(']'))
            }
            Addr::Unix(_) | Addr::Stdio | Addr::Exec => None,
        }
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp(s) => f.write_str(s),
            Addr::Unix(p) => write!(f, "unix:{}", p.display()),
            Addr::Stdio => f.write_str("stdin (inetd mode)"),
            Addr::Exec => f.write_str("its program (exec+connect)"),
        }
    }
}

/// Per-connection time limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// From accept to the end of the TLS handshake (stunnel's TIMEOUTbusy).
    pub handshake: Duration,
    /// Longest time with no byte moving either way (TIMEOUTidle).
    pub idle: Duration,
    /// Connecting to the target (TIMEOUTconnect).
    pub connect: Duration,
    /// After one side finished, how long the other may stay silent (TIMEOUTclose).
    pub close: Duration,
    /// Longest life of a connection after its handshake, traffic or not
    /// (ghostunnel's --max-conn-lifetime); `None`: no limit.
    pub max_lifetime: Option<Duration>,
}

/// The longest handshake timeout: a TLS handshake takes milliseconds; an
/// hour already keeps a silent socket far longer than any client needs.
pub const MAX_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest idle timeout: 30 days.
pub const MAX_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 24 * 3600);
/// The longest connect timeout: an hour (the kernel gives up on a SYN long before).
pub const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(3600);
/// The longest close timeout: a day.
pub const MAX_CLOSE_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The longest drain timeout on SIGTERM: a day.
pub const MAX_DRAIN_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Checks that `d`, the value of the knob described by `what`, is at most `max`.
fn check_at_most(what: &str, d: Duration, max: Duration) -> Result<(), String> {
    if d > max {
        return Err(format!(
            "{what} {} is too long: at most {}",
            show_duration(d),
            show_duration(max)
        ));
    }
    Ok(())
}

/// A duration as the operator writes it: `90s`, `1500ms`.
fn show_duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

impl Timeouts {
    /// Checks each limit against its maximum ([`MAX_HANDSHAKE_TIMEOUT`] and
    /// the others), so that no deadline computed from one can overflow.
    pub fn check(&self) -> Result<(), String> {
        check_at_most(
            "handshake timeout (--handshake-timeout, handshake_timeout, TIMEOUTbusy)",
            self.handshake,
            MAX_HANDSHAKE_TIMEOUT,
        )?;
        check_at_most(
            "idle timeout (--idle-timeout, idle_timeout, TIMEOUTidle)",
            self.idle,
            MAX_IDLE_TIMEOUT,
        )?;
        check_at_most(
            "connect timeout (--connect-timeout, connect_timeout, TIMEOUTconnect)",
            self.connect,
            MAX_CONNECT_TIMEOUT,
        )?;
        check_at_most(
            "close timeout (--close-timeout, close_timeout, TIMEOUTclose)",
            self.close,
            MAX_CLOSE_TIMEOUT,
        )?;
        check_at_most(
            "connection lifetime (--max-conn-lifetime, max_conn_lifetime)",
            self.max_lifetime.unwrap_or_default(),
            MAX_IDLE_TIMEOUT,
        )
    }
}

/// Checks the SIGTERM drain grace against [`MAX_DRAIN_TIMEOUT`].
pub fn check_drain_grace(d: Duration) -> Result<Duration, String> {
    check_at_most(
        "drain grace (--drain-grace, drain_grace)",
        d,
        MAX_DRAIN_TIMEOUT,
    )?;
    Ok(d)
}

/// Checks the SIGTERM drain timeout against [`MAX_DRAIN_TIMEOUT`].
pub fn check_drain_timeout(d: Duration) -> Result<Duration, String> {
    check_at_most(
        "drain timeout (--shutdown-timeout, drain_timeout)",
        d,
        MAX_DRAIN_TIMEOUT,
    )?;
    Ok(d)
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            handshake: Duration::from_secs(10),
            idle: Duration::from_secs(43200),
            connect: Duration::from_secs(10),
            close: Duration::from_secs(60),
            max_lifetime: None,
        }
    }
}

/// How a server resumes sessions, when [`Service::resume`] is on: a
/// returning client skips the full handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumption {
    /// Issue encrypted session tickets (TLS 1.3, and TLS 1.2 tickets when
    /// asked for). Without them (stunnel's `options = NO_TICKET`) sessions
    /// stay in the server's cache and a ticket only names one, as OpenSSL
    /// does.
    pub tickets: bool,
    /// How long a ticket or cached session may be resumed (stunnel's
    /// sessionCacheTimeout).
    pub timeout: Duration,
    /// TLS 1.2 sessions kept for resumption by session ID (stunnel's
    /// sessionCacheSize).
    pub cache_size: usize,
    /// The ticket key comes from this secret instead of being random and
    /// rotated, so instances sharing it, and restarts, resume each other's
    /// sessions (stunnel's ticketKeySecret and ticketMacSecret).
    pub ticket_secret: Option<TicketSecret>,
}

/// Secret material a fixed ticket key is derived from; never printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TicketSecret(pub [u8; 32]);

impl fmt::Debug for TicketSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TicketSecret(..)")
    }
}

impl Resumption {
    /// The timeout in whole seconds, as tls-core takes lifetimes (validated to
    /// at most seven days).
    pub fn lifetime_secs(&self) -> u32 {
        u32::try_from(self.timeout.as_secs()).unwrap_or(u32::MAX)
    }
}

impl Default for Resumption {
    fn default() -> Self {
        Resumption {
            tickets: true,
            timeout: DEFAULT_SESSION_TIMEOUT,
            cache_size: DEFAULT_SESSION_CACHE_SIZE,
            ticket_secret: None,
        }
    }
}

/// stunnel's default sessionCacheTimeout.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest session timeout: a TLS 1.3 ticket lasts at most seven days
/// (RFC 8446, section 4.6.1).
pub const MAX_SESSION_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);
/// stunnel's default sessionCacheSize.
pub const DEFAULT_SESSION_CACHE_SIZE: usize = 1000;
/// The largest session-ID cache (each lookup scans it).
pub const MAX_SESSION_CACHE_SIZE: usize = 100_000;

/// Checks a session timeout: whole seconds, from 1 second to 7 days.
pub fn check_session_timeout(d: Duration) -> Result<Duration, String> {
    if d.subsec_nanos() != 0 || d.is_zero() || d > MAX_SESSION_TIMEOUT {
        return Err(format!(
            "session timeout must be a whole number of seconds from 1s to 7 days ({}s), not {d:?}",
            MAX_SESSION_TIMEOUT.as_secs()
        ));
    }
    Ok(d)
}

/// Parses a session timeout written as a duration (`300`, `300s`, `5m`, `2h`).
pub fn parse_session_timeout(s: &str) -> Result<Duration, String> {
    check_session_timeout(parse_duration(s)?)
}

/// Checks a session-ID cache size: 1 to [`MAX_SESSION_CACHE_SIZE`].
pub fn check_session_cache_size(n: usize) -> Result<usize, String> {
    if n == 0 {
        return Err(format!(
            "session cache size 0 (unlimited in stunnel) is not supported: give a number of \
             sessions from 1 to {MAX_SESSION_CACHE_SIZE}"
        ));
    }
    if n > MAX_SESSION_CACHE_SIZE {
        return Err(format!(
            "session cache size {n} is too large: at most {MAX_SESSION_CACHE_SIZE}"
        ));
    }
    Ok(n)
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object a line.
    Json,
}

/// Process-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Global {
    /// Stay in the foreground (always true for the command line and TOML).
    pub foreground: bool,
    /// Write our process id here.
    pub pid_file: Option<PathBuf>,
    /// The most verbose level logged.
    pub log_level: tracing::Level,
    /// Log to this file instead of stderr.
    pub log_file: Option<PathBuf>,
    /// Text or JSON logs.
    pub log_format: LogFormat,
    /// Serve metrics, status and probes here (see `crate::http`).
    pub metrics: Option<SocketAddr>,
    /// On SIGTERM, how long established connections may take to finish.
    pub drain_timeout: Duration,
    /// On SIGTERM, how long the listeners keep accepting while the
    /// readiness probe already says "draining", so that a balancer stops
    /// sending before they close (0: close at once).
    pub drain_grace: Duration,
    /// Truncate the log file when it is opened (stunnel's `log = overwrite`).
    pub log_overwrite: bool,
    /// In the foreground, do not log to stderr (stunnel's `foreground = quiet`).
    pub quiet: bool,
    /// Log to syslog (stunnel's `syslog = yes`, its default): used when
    /// running in the background without a log file.
    pub syslog: bool,
    /// The name syslog lines carry (stunnel's `service`).
    pub syslog_ident: String,
    /// The syslog socket lines are sent to (`/dev/log`).
    pub syslog_socket: PathBuf,
    /// Kinds of log lines left out (ghostunnel's --quiet).
    pub quiet_kinds: Vec<QuietKind>,
    /// Reload every this often, as on SIGHUP (ghostunnel's --timed-reload).
    pub timed_reload: Option<Duration>,
    /// The syslog facility code (stunnel's `debug = FACILITY.level`; daemon).
    pub syslog_facility: u8,
    /// Once every listener is bound: change root to this directory.
    pub chroot: Option<PathBuf>,
    /// Once every listener is bound: run as this group (name or number).
    pub setgid: Option<String>,
    /// Once every listener is bound: run as this user (name or number).
    pub setuid: Option<String>,
    /// Lines logged at start: options accepted as restating our fixed
    /// policy, or accepted without effect, with why.
    pub notices: Vec<String>,
    /// Restrict the process after start-up (Landlock, seccomp); see
    /// `crate::sandbox`. On unless `--no-sandbox` or `sandbox = false`.
    pub sandbox: bool,
    /// Where the self-signed default key is kept (`--state-dir`,
    /// `state_dir`); `None`: the default place (`crate::selfsigned`).
    pub state_dir: Option<PathBuf>,
    /// Directories stunnel.conf's `include` read (the sandbox keeps them
    /// readable for reloads).
    pub include_dirs: Vec<PathBuf>,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            foreground: true,
            pid_file: None,
            log_level: tracing::Level::INFO,
            log_file: None,
            log_format: LogFormat::Text,
            metrics: None,
            drain_timeout: Duration::from_secs(30),
            drain_grace: Duration::ZERO,
            log_overwrite: false,
            quiet: false,
            syslog: false,
            syslog_ident: "tls-tunnel".into(),
            syslog_socket: PathBuf::from("/dev/log"),
            quiet_kinds: Vec::new(),
            timed_reload: None,
            syslog_facility: 3,
            chroot: None,
            setgid: None,
            setuid: None,
            notices: Vec::new(),
            sandbox: true,
            state_dir: None,
            include_dirs: Vec::new(),
        }
    }
}

/// Kinds of log lines `--quiet` leaves out, as ghostunnel names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuietKind {
    /// Every line but errors.
    All,
    /// Connection opened and closed lines.
    Conns,
    /// Connections that failed after their handshake (target, relay).
    ConnErrs,
    /// Failed and refused handshakes.
    HandshakeErrs,
}

/// A whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Process-wide settings.
    pub global: Global,
    /// The tunnels, at least one.
    pub services: Vec<Service>,
}

/// How a service admits connections, as HAProxy does: at `max_connections`
/// it stops accepting (the kernel's listen backlog holds newcomers) rather
/// than accepting and closing; connections still in their handshake have
/// their own, smaller cap, and when it is full the oldest connection that
/// has not yet sent a complete ClientHello is closed to admit the new one,
/// so silent or trickling sockets cannot starve real clients; and one source
/// address can be held to a share of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Most simultaneous connections, handshaking or established. `None`:
    /// derived at start from the file-descriptor limit (each relayed
    /// connection takes two descriptors), see `crate::limits`.
    pub max_connections: Option<usize>,
    /// Most connections still in their handshake (PROXY header and TLS
    /// handshake; in client mode from the target connect on). `None`:
    /// [`DEFAULT_MAX_HANDSHAKES`], at most `max_connections`.
    pub max_handshakes: Option<usize>,
    /// Most simultaneous connections from one source IP address; more are
    /// closed at accept. `None`: no per-source limit (clients behind one NAT
    /// or proxy share an address).
    pub max_per_source: Option<usize>,
}

/// The largest connection limit accepted in a configuration.
pub const MAX_CONNECTIONS_CEILING: usize = 1_000_000;
/// The default cap on connections still in their handshake.
pub const DEFAULT_MAX_HANDSHAKES: usize = 1024;

impl Limits {
    /// Checks each limit: from 1 to [`MAX_CONNECTIONS_CEILING`].
    pub fn check(&self) -> Result<(), String> {
        for (what, value) in [
            (
                "max connections (--max-connections, max_connections)",
                self.max_connections,
            ),
            (
                "max handshakes (--max-handshakes, max_handshakes)",
                self.max_handshakes,
            ),
            (
                "max connections per source (--max-connections-per-source, \
                 max_connections_per_source)",
                self.max_per_source,
            ),
        ] {
            match value {
                Some(0) => return Err(format!("{what} must be at least 1")),
                Some(n) if n > MAX_CONNECTIONS_CEILING => {
                    return Err(format!(
                        "{what} {n} is too large: at most {MAX_CONNECTIONS_CEILING}"
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// Parses a duration: a number of seconds, or a number with `ms`, `s`, `m`,
/// `h` or `d`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("bad duration {s:?} (expected e.g. 30, 30s, 500ms, 5m)"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        "d" => Duration::from_secs(n.saturating_mul(86400)),
        _ => return Err(format!("bad duration unit in {s:?} (use ms, s, m, h or d)")),
    };
    if d.is_zero() {
        return Err(format!("duration {s:?} must be more than zero"));
    }
    Ok(d)
}

/// Reads a configuration file, choosing the format by content: stunnel.conf
/// unless the name ends in `.toml`.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError::new(&display, format!("cannot read config: {e}")))?;
    let config = if path.extension().is_some_and(|e| e == "toml") {
        toml::parse(&display, &text)?
    } else {
        stunnel::parse(&display, &text)?
    };
    Ok(config)
}
