//! The command line (clap derive), and its translation to a [`Config`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::toml::{parse_level, parse_log_format, parse_proxy_version};
use crate::config::{
    parse_duration, parse_session_timeout, validate, Access, Addr, Algorithms, CertFiles, Config,
    ConfigError, Global, Limits, LogFormat, Mode, ProxyVersion, Resumption, ServerVerify, Service,
    Timeouts,
};

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
  socket as unix:/path or /path.";

const AFTER_HELP: &str = "\
EXAMPLES
  tls-tunnel server --listen 0.0.0.0:8443 --target 127.0.0.1:8080
      TLS on 8443 with a self-signed certificate generated in memory (its SHA-256
      fingerprint is logged), plaintext to 8080.
  tls-tunnel server --listen [::]:5433 --target unix:/run/postgresql/.s.PGSQL.5432 \\
      --cert db.pem --key db.key
  tls-tunnel client --listen 127.0.0.1:2525 --target mail.example.com:465 --cacert ca.pem
  tls-tunnel --config /etc/tls-tunnel/stunnel.conf --check

SESSION RESUMPTION
  On by default. A server issues TLS 1.3 and TLS 1.2 session tickets and keeps a
  TLS 1.2 session-ID cache; a client offers its last session to the same server.
  Ticket keys and caches survive SIGHUP unless the reload changes the session
  settings or how peers are verified. --no-session-resumption turns it off.

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
           stay; a bad reload keeps the old configuration and logs why
  SIGTERM  stop accepting, let established connections finish (drain), exit
  SIGUSR1  reopen the log file (after rotation)
  SIGUSR2  log every open connection

EXIT STATUS
  0 on success, 1 on a runtime failure (cannot bind), 2 on a bad configuration
  or command line (one line on stderr names the file and line).

SYSTEMD
  With Type=notify, READY=1 is sent once every listener is bound; RELOADING=1 and
  STOPPING=1 accompany SIGHUP and SIGTERM.";

/// The parsed command line.
#[derive(Debug, Parser)]
#[command(name = "tls-tunnel", version, about = ABOUT, long_about = LONG_ABOUT, after_long_help = AFTER_HELP,
    args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Run the services of this file: TOML (*.toml) or stunnel.conf syntax.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate the configuration (including certificates and keys) and exit.
    #[arg(long, global = true)]
    pub check: bool,

    /// Log format.
    #[arg(long, value_name = "text|json", global = true, value_parser = parse_log_format)]
    pub log_format: Option<LogFormat>,

    /// Most verbose level logged: error, warn, info, debug, trace.
    #[arg(long, value_name = "LEVEL", global = true, value_parser = parse_level)]
    pub log_level: Option<tracing::Level>,

    /// Serve Prometheus metrics over HTTP on this address (e.g. 127.0.0.1:9100).
    #[arg(long, value_name = "ADDR", global = true)]
    pub metrics: Option<SocketAddr>,

    /// Stay in the foreground even if a stunnel.conf says `foreground = no`.
    #[arg(long, global = true)]
    pub foreground: bool,

    /// Write the process id to this file.
    #[arg(long, value_name = "FILE", global = true)]
    pub pid_file: Option<PathBuf>,

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
    /// Certificate chain (PEM): the server's, or the client's for mutual TLS.
    #[arg(long, value_name = "PEM", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Private key (PEM: PKCS#8, SEC1 or PKCS#1) for --cert.
    #[arg(long, value_name = "PEM", requires = "cert")]
    pub key: Option<PathBuf>,
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
    /// (stunnel's `protocol`): smtp, imap, pop3, ldap, pgsql (both modes),
    /// nntp or connect (client mode).
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
pub struct ServerArgs {
    #[command(flatten)]
    /// Shared options.
    pub common: Common,
    /// Admit client certificates with this subject common name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub allow_cn: Vec<String>,
    /// Admit client certificates with this DNS or URI SAN, e.g. a SPIFFE ID (repeatable).
    #[arg(long, value_name = "NAME")]
    pub allow_san: Vec<String>,
    /// Admit any client certificate that verifies against --cacert.
    #[arg(long)]
    pub allow_all: bool,
    /// How long session tickets and cached sessions may be resumed (1s to 7d).
    #[arg(long, value_name = "DURATION", value_parser = parse_session_timeout, default_value = "5m")]
    pub session_timeout: Duration,
}

/// `tls-tunnel client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    /// Shared options.
    pub common: Common,
    /// Name sent as SNI and checked in the server certificate (default: the target's host).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// The identity of --psk-secrets to offer (default: the file's first).
    #[arg(long, value_name = "ID", requires = "psk_secrets")]
    pub psk_identity: Option<String>,
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
                    "tls-tunnel",
                    "nothing to run: give `server`, `client` or --config FILE (see --help)",
                ))
            }
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    "tls-tunnel",
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
        Ok(config)
    }
}

fn command_service(cmd: &Command) -> Result<Service, ConfigError> {
    let (c, mode) = match cmd {
        Command::Server(a) => (&a.common, Mode::Server),
        Command::Client(a) => (&a.common, Mode::Client),
    };
    let arg_err = |opt: &str, e: String| ConfigError::new(opt, e);
    let target = Addr::parse(&c.target).map_err(|e| arg_err("--target", e))?;
    let mut service = Service {
        name: match mode {
            Mode::Server => "server".into(),
            Mode::Client => "client".into(),
        },
        origin: "command line".into(),
        mode,
        listen: Addr::parse(&c.listen).map_err(|e| arg_err("--listen", e))?,
        targets: vec![target.clone()],
        cert: match (&c.cert, &c.key) {
            (Some(cert), Some(key)) => Some(CertFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        verify: ServerVerify::Chain(None),
        server_name: None,
        check_host: Vec::new(),
        check_ip: Vec::new(),
        check_email: Vec::new(),
        access: Access::default(),
        sni_routes: Vec::new(),
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
            ..Timeouts::default()
        },
        limits: Limits {
            max_connections: c.max_connections,
            max_handshakes: c.max_handshakes,
            max_per_source: c.max_connections_per_source,
        },
        resumption: Resumption {
            enabled: !c.no_session_resumption,
            ..Resumption::default()
        },
        algorithms: Algorithms {
            allow_no_ems: c.allow_no_ems,
            ..Algorithms::default()
        },
        trust: Default::default(),
        net: Default::default(),
    };
    match cmd {
        Command::Server(a) => {
            service.resumption.timeout = a.session_timeout;
            service.access = Access {
                cacert: c.cacert.clone(),
                pinned: false,
                allow_all: a.allow_all,
                allow_cn: a.allow_cn.clone(),
                allow_san: a.allow_san.clone(),
                ..Access::default()
            };
            if c.cacert.is_some() && !a.allow_all && a.allow_cn.is_empty() && a.allow_san.is_empty()
            {
                return Err(ConfigError::new(
                    "--cacert",
                    "server mode with --cacert needs --allow-all, --allow-cn or --allow-san",
                ));
            }
        }
        Command::Client(a) => {
            service.verify = ServerVerify::Chain(c.cacert.clone());
            service.server_name = a.server_name.clone().or_else(|| {
                target
                    .host()
                    .filter(|h| h.parse::<std::net::IpAddr>().is_err())
                    .map(str::to_string)
            });
        }
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
