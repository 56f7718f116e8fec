//! The command line (clap derive), and its translation to a [`Config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::toml::{client_verify, parse_level, parse_log_format, parse_proxy_version};
use crate::config::{
    check_drain_timeout, parse_duration, parse_session_timeout, validate, Access, Addr, Algorithms,
    CertFiles, ClientRole, Config, ConfigError, Global, Limits, LogFormat, NameRules, ProxyVersion,
    QuietKind, Resumption, Role, ServerRole, ServerVerify, Service, SpkiPin, Timeouts,
};
use crate::keystore::StorePass;

/// The help heading of the options accepted before or after the subcommand.
const GLOBAL: &str = "Global options (before or after the subcommand)";

const ABOUT: &str = "A TLS tunnel: the stunnel replacement built on tls-core.";

const LONG_ABOUT: &str = "\
tls-tunnel wraps plaintext TCP or Unix-socket services in TLS (server mode) or
carries plaintext clients to a TLS service (client mode). TLS 1.3 and 1.2 are
spoken, with ECDHE and AEAD cipher suites only.

MODES
  server   accept TLS on --listen, forward plaintext to --target
  client   accept plaintext on --listen, connect with TLS to --target
  --config run every service of a TOML file (name ending .toml) or a stunnel.conf

ADDRESSES
  host:port, 1.2.3.4:443, [::1]:443, a bare port (all interfaces), or a Unix
  socket as unix:/path or /path. The plaintext side (server --target, client
  --listen) must be loopback, localhost or a Unix socket unless --unsafe-target
  or --unsafe-listen is given.";

const AFTER_HELP: &str = "\
EXAMPLES
  tls-tunnel server --listen 0.0.0.0:8443 --target 127.0.0.1:8080
      TLS on 8443 with the self-signed default (its key kept in the state
      directory; its fingerprint and public-key pin are logged), plaintext to 8080.
  tls-tunnel server --listen [::]:5433 --target unix:/run/postgresql/.s.PGSQL.5432 \\
      --cert db.pem --key db.key
  tls-tunnel client --listen 127.0.0.1:2525 --target mail.example.com:465 --cacert ca.pem
  tls-tunnel --config /etc/tls-tunnel/stunnel.conf --check

SESSION RESUMPTION
  On by default. A server issues TLS 1.3 and TLS 1.2 session tickets and keeps a
  TLS 1.2 session-ID cache; a client offers its last session to the same server.
  Ticket keys and caches survive SIGHUP unless the reload changes the session
  settings or how peers are verified. --no-session-resumption turns it off.
  --ticket-key-file shares ticket keys across instances: one key a line (64 hex
  digits, `openssl rand -hex 32`), the first seals, the rest only open; the file
  is re-read on SIGHUP and when it changes, a bad file keeps the keys in use.

CONNECTION LIMITS
  At --max-connections (default: a share of the open-file limit, which is raised
  to its hard limit at start) the listener stops accepting and the kernel's
  backlog holds newcomers. At most --max-handshakes connections are in their
  handshake; when full, the oldest one that has not sent a ClientHello is closed
  for the newcomer. --max-connections-per-source caps one IP address. Lines about
  refused or failed connections are limited to 10 a second per kind, the rest
  counted in a 'suppressed N similar lines' line.

SIGNALS
  SIGHUP   reload certificates, keys, CA files and targets; established connections
           stay; a bad reload keeps the old configuration and logs why (--timed-reload
           does the same on a clock)
  SIGTERM  stop accepting, let established connections finish (drain), exit
  SIGUSR1  reopen the log file (after rotation)
  SIGUSR2  log every open connection

EXIT STATUS
  0 on success, 1 on a runtime failure (cannot bind), 2 on a bad configuration
  or command line (one line on stderr names the file and line).

SANDBOX
  After start-up the process restricts itself: Landlock leaves only the files
  and directories the configuration names (read-only) and the log, pid and Unix
  socket directories (writable); a seccomp filter allows only the system calls
  the tunnel makes (others fail with EPERM). --no-sandbox turns both off.

SYSTEMD
  With Type=notify, READY=1 is sent once every listener is bound; RELOADING=1 and
  STOPPING=1 accompany SIGHUP and SIGTERM.";

/// The parsed command line.
#[derive(Debug, Parser)]
#[command(name = "tls-tunnel", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = AFTER_HELP)]
pub struct Cli {
    /// Run the services of this file: TOML (*.toml) or stunnel.conf syntax.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate the configuration (including certificates and keys) and exit.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub check: bool,

    /// Log format.
    #[arg(long, value_name = "text|json", global = true, value_parser = parse_log_format, help_heading = GLOBAL)]
    pub log_format: Option<LogFormat>,

    /// Most verbose level logged: error, warn, info, debug, trace.
    #[arg(long, value_name = "LEVEL", global = true, value_parser = parse_level, help_heading = GLOBAL)]
    pub log_level: Option<tracing::Level>,

    /// Serve HTTP on this address (e.g. 127.0.0.1:9100): Prometheus metrics at
    /// /metrics, JSON status at /_status, probes at /livez and /readyz.
    #[arg(long, value_name = "ADDR", global = true, help_heading = GLOBAL)]
    pub metrics: Option<SocketAddr>,

    /// Stay in the foreground even if a stunnel.conf says `foreground = no`.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub foreground: bool,

    /// Write the process id to this file.
    #[arg(long, value_name = "FILE", global = true, help_heading = GLOBAL)]
    pub pid_file: Option<PathBuf>,

    /// Send log lines to syslog instead of stderr.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub syslog: bool,

    /// The syslog socket (with --syslog).
    #[arg(long, value_name = "PATH", global = true, default_value = "/dev/log", help_heading = GLOBAL)]
    pub syslog_socket: PathBuf,

    /// Leave out log lines of a kind (repeatable): conns (opened and
    /// closed), conn-errs (failures after the handshake), handshake-errs
    /// (failed handshakes), all (everything but errors).
    #[arg(long, value_name = "KIND", global = true, value_parser = parse_quiet, help_heading = GLOBAL)]
    pub quiet: Vec<QuietKind>,

    /// Reload certificates, keys and CA files this often, as SIGHUP does
    /// (a failed reload keeps the running configuration).
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_duration, help_heading = GLOBAL)]
    pub timed_reload: Option<Duration>,

    /// On SIGTERM, how long established connections may take to finish
    /// before they are closed (default 30s).
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_duration, help_heading = GLOBAL)]
    pub shutdown_timeout: Option<Duration>,

    /// On SIGTERM, keep accepting this long while /readyz already says
    /// draining, so that a balancer stops sending first (default 0s).
    #[arg(long, value_name = "DURATION", global = true, value_parser = parse_duration, help_heading = GLOBAL)]
    pub drain_grace: Option<Duration>,

    /// Do not restrict the process after start-up (Landlock file rules and
    /// the seccomp system-call filter are on by default).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_sandbox: bool,

    /// Append every TLS session's secrets to FILE in the NSS key log format
    /// (for Wireshark; the SSLKEYLOGFILE environment variable does the same).
    /// Whoever reads FILE can decrypt the traffic: for debugging only.
    #[arg(long, value_name = "FILE", global = true, help_heading = GLOBAL)]
    pub keylog: Option<PathBuf>,

    /// Keep the self-signed default key here (default: $STATE_DIRECTORY,
    /// $XDG_STATE_HOME/tls-tunnel or ~/.local/state/tls-tunnel).
    #[arg(long, value_name = "DIR", global = true, help_heading = GLOBAL)]
    pub state_dir: Option<PathBuf>,

    /// The tunnel to run, when no --config is given.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// A single tunnel given on the command line.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Accept TLS, forward plaintext.
    Server(ServerArgs),
    /// Accept plaintext, connect with TLS.
    Client(ClientArgs),
}

/// Options both modes share.
#[derive(Debug, Args)]
pub struct Common {
    /// Address to accept connections on.
    #[arg(long, value_name = "ADDR")]
    pub listen: String,
    /// Address to connect to.
    #[arg(long, value_name = "ADDR")]
    pub target: String,
    /// Set SO_REUSEPORT on the listener, so that a new instance can bind the
    /// same address while this one drains (zero-downtime restarts).
    #[arg(long)]
    pub reuse_port: bool,
    /// Certificate chain (PEM): the server's, or the client's for mutual
    /// TLS; it may hold the private key too.
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, SEC1 or PKCS#1) for --cert (default: the
    /// --cert file).
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Certificate chain and private key in one file, instead of --cert and
    /// --key (ghostunnel's --keystore): a PKCS#12 key store (.p12/.pfx) or a
    /// PEM file holding both.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["cert", "key"])]
    pub keystore: Option<PathBuf>,
    /// Password of a PKCS#12 --keystore (default: the KEYSTORE_PASS
    /// environment variable, else the empty password). Other users can see
    /// it in the process list: prefer --storepass-file or KEYSTORE_PASS.
    #[arg(
        long,
        value_name = "PASS",
        requires = "keystore",
        conflicts_with = "storepass_file"
    )]
    pub storepass: Option<String>,
    /// File whose first line is the --keystore password (read again on reload).
    #[arg(long, value_name = "FILE", requires = "keystore")]
    pub storepass_file: Option<PathBuf>,
    /// CA certificates (PEM): verify the peer against them.
    #[arg(long, value_name = "PEM")]
    pub cacert: Option<PathBuf>,
    /// ALPN protocol to offer or accept (repeatable).
    #[arg(long, value_name = "PROTO")]
    pub alpn: Vec<String>,
    /// TLS 1.3 external PSKs: a file of IDENTITY:KEY lines (stunnel's PSKsecrets).
    #[arg(long, value_name = "FILE")]
    pub psk_secrets: Option<PathBuf>,
    /// Send a PROXY protocol header (v1 or v2) to the target.
    #[arg(long, value_name = "v1|v2", value_parser = parse_proxy_version)]
    pub proxy_protocol: Option<ProxyVersion>,
    /// Expect a PROXY protocol header (v1 or v2) from each incoming connection.
    #[arg(long)]
    pub accept_proxy: bool,
    /// Speak this application protocol's plaintext prelude before TLS
    /// (stunnel's `protocol`): smtp, imap, pop3, nntp, ldap, pgsql (both
    /// modes) or connect (client mode).
    #[arg(long, value_name = "PROTO")]
    pub starttls: Option<String>,
    /// With --starttls connect: the host:port the proxy connects to (--target
    /// names the proxy); with smtp: the EHLO name.
    #[arg(long, value_name = "HOST", requires = "starttls")]
    pub protocol_host: Option<String>,
    /// Limit for the TLS handshake (e.g. 10s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub handshake_timeout: Duration,
    /// Close a connection after this long without traffic.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "12h")]
    pub idle_timeout: Duration,
    /// Limit for connecting to the target.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub connect_timeout: Duration,
    /// Once one side has finished, how long the other may stay silent.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "60s")]
    pub close_timeout: Duration,
    /// Close a connection this long after its handshake, traffic or not
    /// (default: no limit).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_conn_lifetime: Option<Duration>,
    /// Most simultaneous connections; at the limit the listener stops
    /// accepting until one ends (default: from the open-file limit).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most connections still in their handshake; when full, the oldest one
    /// that has not sent a complete ClientHello is closed (default: 1024).
    #[arg(long, value_name = "N")]
    pub max_handshakes: Option<usize>,
    /// Most simultaneous connections from one IP address; more are closed at
    /// accept (default: no limit).
    #[arg(long, value_name = "N")]
    pub max_connections_per_source: Option<usize>,
    /// Let TLS 1.2 peers without the extended master secret (RFC 7627) connect.
    #[arg(long)]
    pub allow_no_ems: bool,
    /// Turn session resumption off: every connection makes a full handshake.
    #[arg(long)]
    pub no_session_resumption: bool,
}

/// `tls-tunnel server`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Service options")]
pub struct ServerArgs {
    #[command(flatten)]
    /// Shared options.
    pub common: Common,
    /// Admit client certificates with this subject common name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub allow_cn: Vec<String>,
    /// Admit client certificates with this DNS or URI SAN, exact (repeatable;
    /// ours: --allow-dns or --allow-uri say which).
    #[arg(long, value_name = "NAME")]
    pub allow_san: Vec<String>,
    /// Admit client certificates with this subject organizational unit (repeatable).
    #[arg(long, value_name = "OU")]
    pub allow_ou: Vec<String>,
    /// Admit client certificates with this DNS SAN (repeatable).
    #[arg(long, value_name = "NAME")]
    pub allow_dns: Vec<String>,
    /// Admit client certificates with this URI SAN, e.g. a SPIFFE ID; `*`
    /// matches within a path segment, `**` across them (repeatable).
    #[arg(long, value_name = "URI")]
    pub allow_uri: Vec<String>,
    /// Admit clients by the key of their certificate alone, no CA: the pin
    /// is sha256:BASE64 (or curl's sha256//BASE64) of the DER public key
    /// (repeatable; excludes --cacert and the other --allow rules).
    #[arg(long, value_name = "PIN", value_parser = SpkiPin::parse)]
    pub allow_spki_pin: Vec<SpkiPin>,
    /// Let --target be other than loopback or a Unix socket (plaintext
    /// leaves the host).
    #[arg(long)]
    pub unsafe_target: bool,
    /// Admit any client certificate that verifies against --cacert.
    #[arg(long)]
    pub allow_all: bool,
    /// How long session tickets and cached sessions may be resumed (1s to 7d).
    #[arg(long, value_name = "DURATION", value_parser = parse_session_timeout, default_value = "5m")]
    pub session_timeout: Duration,
    /// Session-ticket keys shared with other instances: one key a line, 64
    /// hex digits, the current one first; re-read on SIGHUP and on change.
    #[arg(long, value_name = "FILE", conflicts_with = "no_session_resumption")]
    pub ticket_key_file: Option<PathBuf>,
}

/// `tls-tunnel client`.
#[derive(Debug, Args)]
#[command(next_help_heading = "Service options")]
pub struct ClientArgs {
    #[command(flatten)]
    /// Shared options.
    pub common: Common,
    /// Name sent as SNI and checked in the server certificate (default: the target's host).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// How the server is checked: chain (against --cacert or the system
    /// store, and the name), pinned (its certificate must be in --cacert),
    /// insecure (not at all).
    #[arg(long, value_name = "chain|pinned|insecure", default_value = "chain")]
    pub verify: String,
    /// The server certificate must also have this subject common name
    /// (repeatable; any --verify-* match will do).
    #[arg(long, value_name = "CN")]
    pub verify_cn: Vec<String>,
    /// ... or this subject organizational unit (repeatable).
    #[arg(long, value_name = "OU")]
    pub verify_ou: Vec<String>,
    /// ... or this DNS SAN (repeatable).
    #[arg(long, value_name = "NAME")]
    pub verify_dns: Vec<String>,
    /// ... or this URI SAN, `*`/`**` wildcards allowed (repeatable).
    #[arg(long, value_name = "URI")]
    pub verify_uri: Vec<String>,
    /// Accept the server by the key of its certificate alone: no chain,
    /// validity or name check (sha256:BASE64, repeatable).
    #[arg(long, value_name = "PIN", value_parser = SpkiPin::parse,
        conflicts_with_all = ["cacert", "verify"])]
    pub verify_spki_pin: Vec<SpkiPin>,
    /// Let --listen be other than loopback or a Unix socket (plaintext
    /// arrives from the network).
    #[arg(long)]
    pub unsafe_listen: bool,
    /// The identity of --psk-secrets to offer (default: the file's first).
    #[arg(long, value_name = "ID", requires = "psk_secrets")]
    pub psk_identity: Option<String>,
}

/// Parses a --quiet kind.
fn parse_quiet(s: &str) -> Result<QuietKind, String> {
    match s {
        "all" => Ok(QuietKind::All),
        "conns" => Ok(QuietKind::Conns),
        "conn-errs" => Ok(QuietKind::ConnErrs),
        "handshake-errs" => Ok(QuietKind::HandshakeErrs),
        _ => Err(format!(
            "quiet kind must be all, conns, conn-errs or handshake-errs, not {s:?}"
        )),
    }
}

/// ghostunnel's guard: the plaintext side of a command-line tunnel stays on
/// this host (a loopback address, `localhost` or a Unix socket) unless
/// `--unsafe-target`/`--unsafe-listen` says otherwise.
fn check_local(addr: &Addr, option: &str, unsafe_flag: &str) -> Result<(), ConfigError> {
    let local = match addr {
        Addr::Unix(_) | Addr::Stdio | Addr::Exec => true,
        Addr::Tcp(_) => addr.host().is_some_and(|h| {
            h.eq_ignore_ascii_case("localhost")
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }),
    };
    if local {
        return Ok(());
    }
    Err(ConfigError::new(
        option,
        format!(
            "{addr} is not a loopback address or a Unix socket: the plaintext side would \
             cross the network; give {unsafe_flag} if that is meant"
        ),
    ))
}

impl Cli {
    /// The configuration the command line describes: a file's, or one tunnel's.
    pub fn to_config(&self) -> Result<Config, ConfigError> {
        let mut config = match (&self.config, &self.command) {
            (Some(path), None) => crate::config::load_file(path)?,
            (None, Some(cmd)) => Config {
                global: Global::default(),
                services: vec![command_service(cmd)?],
            },
            (None, None) => {
                return Err(ConfigError::new(
                    "command line",
                    "nothing to run: give `server`, `client` or --config FILE (see --help)",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "command line",
                    "--config and a subcommand are exclusive",
                ))
            }
        };
        let g = &mut config.global;
        if let Some(f) = self.log_format {
            g.log_format = f;
        }
        if let Some(l) = self.log_level {
            g.log_level = l;
        }
        if self.metrics.is_some() {
            g.metrics = self.metrics;
        }
        if self.pid_file.is_some() {
            g.pid_file = self.pid_file.clone();
        }
        if self.foreground {
            g.foreground = true;
        }
        if self.syslog {
            // As ghostunnel: syslog instead of stderr.
            g.syslog = true;
            g.quiet = true;
            g.syslog_socket = self.syslog_socket.clone();
        }
        if !self.quiet.is_empty() {
            g.quiet_kinds = self.quiet.clone();
        }
        if self.timed_reload.is_some() {
            g.timed_reload = self.timed_reload;
        }
        if let Some(d) = self.shutdown_timeout {
            g.drain_timeout =
                check_drain_timeout(d).map_err(|e| ConfigError::new("--shutdown-timeout", e))?;
        }
        if let Some(d) = self.drain_grace {
            g.drain_grace = crate::config::check_drain_grace(d)
                .map_err(|e| ConfigError::new("--drain-grace", e))?;
        }
        if self.no_sandbox {
            g.sandbox = false;
        }
        if self.state_dir.is_some() {
            g.state_dir = self.state_dir.clone();
        }
        Ok(config)
    }
}

fn command_service(cmd: &Command) -> Result<Service, ConfigError> {
    let c = match cmd {
        Command::Server(a) => &a.common,
        Command::Client(a) => &a.common,
    };
    let arg_err = |opt: &str, e: String| ConfigError::new(opt, e);
    let target = Addr::parse(&c.target).map_err(|e| arg_err("--target", e))?;
    let listen = Addr::parse(&c.listen).map_err(|e| arg_err("--listen", e))?;
    let role = match cmd {
        Command::Server(a) => {
            let access = Access {
                cacert: c.cacert.clone(),
                pinned: false,
                allow_all: a.allow_all,
                allow_cn: a.allow_cn.clone(),
                allow_san: a.allow_san.clone(),
                allow_ou: a.allow_ou.clone(),
                allow_dns: a.allow_dns.clone(),
                allow_uri: a.allow_uri.clone(),
                allow_spki: a.allow_spki_pin.clone(),
                ..Access::default()
            };
            if c.cacert.is_some() && !a.allow_all && !access.has_name_rule() {
                return Err(ConfigError::new(
                    "--cacert",
                    "server mode with --cacert needs --allow-all, --allow-cn, --allow-ou, \
                     --allow-dns, --allow-uri or --allow-san",
                ));
            }
            if !a.unsafe_target {
                check_local(&target, "--target", "--unsafe-target")?;
            }
            Role::Server(ServerRole {
                access,
                resumption: Resumption {
                    timeout: a.session_timeout,
                    ..Resumption::default()
                },
                ticket_key_file: a.ticket_key_file.clone(),
                ..ServerRole::default()
            })
        }
        Command::Client(a) => {
            let verify = if a.verify_spki_pin.is_empty() {
                client_verify(Some(&a.verify), c.cacert.clone())
                    .map_err(|e| ConfigError::new("--verify", e))?
            } else {
                ServerVerify::Spki(a.verify_spki_pin.clone())
            };
            if !a.unsafe_listen {
                check_local(&listen, "--listen", "--unsafe-listen")?;
            }
            Role::Client(ClientRole {
                verify,
                server_name: a.server_name.clone().or_else(|| {
                    target
                        .host()
                        .filter(|h| h.parse::<std::net::IpAddr>().is_err())
                        .map(str::to_string)
                }),
                verify_names: NameRules {
                    cn: a.verify_cn.clone(),
                    ou: a.verify_ou.clone(),
                    dns: a.verify_dns.clone(),
                    uri: a.verify_uri.clone(),
                },
                ..ClientRole::default()
            })
        }
    };
    let mut service = Service {
        name: role.mode().name().into(),
        origin: "command line".into(),
        role,
        listen,
        targets: vec![target],
        // The key may be in the certificate's file, as stunnel and ghostunnel allow.
        cert: c.cert.as_ref().map(|cert| CertFiles {
            cert: cert.clone(),
            key: c.key.clone().unwrap_or_else(|| cert.clone()),
            password: None,
        }),
        alpn: c.alpn.clone(),
        proxy_send: c.proxy_protocol,
        proxy_accept: c.accept_proxy,
        protocol: None,
        exec: None,
        psk: c
            .psk_secrets
            .as_ref()
            .map(|secrets| crate::config::psk::PskSettings {
                secrets: secrets.clone(),
                identity: match cmd {
                    Command::Client(a) => a.psk_identity.clone(),
                    Command::Server(_) => None,
                },
            }),
        timeouts: Timeouts {
            handshake: c.handshake_timeout,
            idle: c.idle_timeout,
            connect: c.connect_timeout,
            close: c.close_timeout,
            max_lifetime: c.max_conn_lifetime,
        },
        limits: Limits {
            max_connections: c.max_connections,
            max_handshakes: c.max_handshakes,
            max_per_source: c.max_connections_per_source,
        },
        resume: !c.no_session_resumption,
        algorithms: Algorithms {
            allow_no_ems: c.allow_no_ems,
            ..Algorithms::default()
        },
        trust: Default::default(),
        net: crate::config::NetOptions {
            accept: crate::config::listen_reuse_port(c.reuse_port),
            ..Default::default()
        },
    };
    if let Some(store) = &c.keystore {
        service.cert = Some(CertFiles {
            cert: store.clone(),
            key: store.clone(),
            password: StorePass::from_cli(c.storepass.as_deref(), c.storepass_file.as_deref()),
        });
    }
    crate::protocol::Options {
        name: c.starttls.clone(),
        host: c.protocol_host.clone(),
        ..Default::default()
    }
    .apply(&mut service)
    .map_err(|e| ConfigError::new("--starttls", e))?;
    validate(&service).map_err(|e| ConfigError::new("command line", e))?;
    Ok(service)
}
