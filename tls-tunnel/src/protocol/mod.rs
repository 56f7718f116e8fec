//! stunnel's application protocols (`protocol = smtp`, ...): a plaintext
//! prelude spoken before the TLS handshake.
//!
//! In client mode the tunnel speaks the prelude to the TLS server (the
//! target) and then starts TLS: SMTP, IMAP, POP3 and NNTP STARTTLS, the LDAP
//! StartTLS extended operation, PostgreSQL's SSLRequest, or an HTTP CONNECT
//! through a proxy. In server mode it offers the upgrade to clients in front
//! of a server that speaks only plaintext (SMTP, IMAP, POP3, LDAP,
//! PostgreSQL). The preludes are written against any async byte stream, so
//! [`script`] can run them on fixed bytes (unit tests and fuzz targets).
//!
//! Every read is bounded (line length, line count, message size) and the
//! whole prelude runs within the handshake timeout; an unexpected reply ends
//! the connection with a reason naming the protocol and the reply.

mod connect;
pub mod ldap;
mod mail;
pub mod pgsql;
mod smtp_auth;

pub use smtp_auth::run_client_after_handshake;
// The fuzz targets' and unit tests' way in; the daemon itself never runs a script.
pub mod script;
pub mod socks;

use std::fmt;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::config::{Addr, Mode, ProxyVersion, Role, Service};
use crate::listen::Stream;

/// The application protocols with a prelude.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SMTP STARTTLS (RFC 3207).
    Smtp,
    /// IMAP STARTTLS (RFC 2595).
    Imap,
    /// POP3 STLS (RFC 2595).
    Pop3,
    /// NNTP STARTTLS (RFC 4642); client mode only, as in stunnel.
    Nntp,
    /// LDAP StartTLS extended operation (RFC 4511, section 4.14).
    Ldap,
    /// PostgreSQL SSLRequest.
    Pgsql,
    /// HTTP CONNECT through a proxy (RFC 9110, section 9.3.6); client mode only.
    Connect,
    /// SOCKS 4/4a/5 inside TLS, choosing the destination; server mode only.
    Socks,
}

impl Kind {
    /// Every kind, for tests and fuzz targets.
    pub const ALL: [Kind; 8] = [
        Kind::Smtp,
        Kind::Imap,
        Kind::Pop3,
        Kind::Nntp,
        Kind::Ldap,
        Kind::Pgsql,
        Kind::Connect,
        Kind::Socks,
    ];

    /// The stunnel.conf / TOML / CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Smtp => "smtp",
            Kind::Imap => "imap",
            Kind::Pop3 => "pop3",
            Kind::Nntp => "nntp",
            Kind::Ldap => "ldap",
            Kind::Pgsql => "pgsql",
            Kind::Connect => "connect",
            Kind::Socks => "socks",
        }
    }

    /// Server mode: whether the plaintext server must be connected before
    /// the prelude (its greeting is passed on to the client).
    pub fn connects_early(self) -> bool {
        matches!(self, Kind::Smtp | Kind::Imap | Kind::Pop3 | Kind::Nntp)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `protocol = NAME` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// A prelude.
    Prelude(Kind),
    /// `protocol = proxy`: a PROXY protocol v1 header to the target, which
    /// the tunnel has as `proxy_send`.
    ProxyHeader,
}

/// Parses a protocol name (case-insensitive), refusing stunnel's protocols
/// tls-tunnel does not implement with the reason.
pub fn parse_name(s: &str) -> Result<Choice, String> {
    let lower = s.trim().to_ascii_lowercase();
    if lower == "proxy" {
        return Ok(Choice::ProxyHeader);
    }
    if let Some(k) = Kind::ALL.iter().find(|k| k.name() == lower) {
        return Ok(Choice::Prelude(*k));
    }
    Err(match lower.as_str() {
        "cifs" => "protocol = cifs is not supported (Samba dropped this extension in 3.0.0)".into(),
        "capwin" | "capwinctrl" => format!("protocol = {lower} is not supported"),
        _ => format!(
            "unknown protocol {s:?} (expected smtp, imap, pop3, nntp, ldap, pgsql, connect, \
             socks or proxy)"
        ),
    })
}

/// How the credentials are presented (`protocolAuthentication`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// HTTP Basic to a CONNECT proxy (RFC 7617).
    Basic,
    /// SMTP `AUTH PLAIN` with the initial response (RFC 4954, RFC 4616);
    /// stunnel's default for smtp.
    Plain,
    /// SMTP `AUTH LOGIN`: the user name and the password, each answering a
    /// 334 challenge.
    Login,
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mechanism::Basic => "Basic",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        })
    }
}

/// The credentials the tunnel presents: to a CONNECT proxy, or to the SMTP
/// server once TLS is up (`protocolUsername`/`protocolPassword`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `protocolUsername`.
    pub username: String,
    /// `protocolPassword`.
    pub password: String,
    /// `protocolAuthentication`.
    pub mechanism: Mechanism,
}

/// Never shows the password.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("mechanism", &self.mechanism)
            .finish_non_exhaustive()
    }
}

/// A service's application protocol and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// Which prelude.
    pub kind: Kind,
    /// `protocolHost`: the CONNECT target (`host:port`) or the SMTP EHLO name.
    pub host: Option<String>,
    /// `protocolUsername`/`protocolPassword`: HTTP Basic proxy credentials,
    /// or SMTP AUTH after STARTTLS (client mode).
    pub credentials: Option<Credentials>,
    /// `protocolHeader`: extra header lines of the CONNECT request.
    pub headers: Vec<String>,
}

/// The protocol options as written in a configuration, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// `protocol`.
    pub name: Option<String>,
    /// `protocolHost`.
    pub host: Option<String>,
    /// `protocolUsername`.
    pub username: Option<String>,
    /// `protocolPassword`.
    pub password: Option<String>,
    /// `protocolAuthentication`.
    pub authentication: Option<String>,
    /// `protocolHeader` lines (one from stunnel.conf, any number from TOML).
    pub headers: Vec<String>,
}

impl Options {
    /// Applies the options to `service` (its mode and other options set):
    /// a prelude in `service.protocol`, or `protocol = proxy` as a PROXY v1
    /// header. Errors are worded for the operator.
    pub fn apply(&self, service: &mut Service) -> Result<(), String> {
        let Some(name) = &self.name else {
            let stray = [
                ("protocolHost", self.host.is_some()),
                ("protocolUsername", self.username.is_some()),
                ("protocolPassword", self.password.is_some()),
                ("protocolAuthentication", self.authentication.is_some()),
                ("protocolHeader", !self.headers.is_empty()),
            ];
            if let Some((key, _)) = stray.iter().find(|(_, set)| *set) {
                return Err(format!("{key} needs a protocol (protocol = ...)"));
            }
            return Ok(());
        };
        let kind = match parse_name(name)? {
            Choice::ProxyHeader => {
                if self.host.is_some() || self.username.is_some() || self.password.is_some() {
                    return Err("protocol = proxy takes no protocolHost/Username/Password".into());
                }
                if service.proxy_send == Some(ProxyVersion::V2) {
                    return Err(
                        "protocol = proxy (PROXY v1) conflicts with a PROXY v2 header".into(),
                    );
                }
                service.proxy_send = Some(ProxyVersion::V1);
                return Ok(());
            }
            Choice::Prelude(kind) => kind,
        };
        let mode = service.role.mode();
        if mode == Mode::Server && kind == Kind::Connect {
            return Err(format!(
                "protocol = {kind} is supported in client mode only (as in stunnel)"
            ));
        }
        if mode == Mode::Client && kind == Kind::Socks {
            return Err(
                "protocol = socks is supported in server mode only (stunnel's SOCKS \
                        client needs the original destination of a transparently redirected \
                        connection, which tls-tunnel does not take)"
                    .into(),
            );
        }
        if kind == Kind::Connect && self.host.is_none() {
            return Err(
                "protocol = connect needs protocolHost = host:port (the TLS server the \
                        proxy connects to; connect names the proxy)"
                    .into(),
            );
        }
        if self.host.is_some() && !matches!(kind, Kind::Connect | Kind::Smtp) {
            return Err(format!(
                "protocolHost applies to connect and smtp, not {kind}"
            ));
        }
        if self.host.is_some() && mode == Mode::Server {
            return Err(
                "protocolHost applies to client mode only (the server-mode greeting is \
                        the server's)"
                    .into(),
            );
        }
        if let Some(host) = &self.host {
            if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c.is_control()) {
                return Err(format!("protocolHost {host:?} must be one word"));
            }
            if kind == Kind::Connect {
                Addr::parse(host)
                    .ok()
                    .filter(|a| matches!(a, Addr::Tcp(_)) && !host.starts_with('/'))
                    .ok_or_else(|| format!("protocolHost {host:?} must be host:port"))?;
            }
        }
        let credentials = self.credentials(kind, mode)?;
        if mode == Mode::Server && kind.connects_early() && service.proxy_send.is_some() {
            return Err(format!(
                "protocol = {kind} in server mode cannot send a PROXY header (the server's \
                 greeting is read before the client is known)"
            ));
        }
        if let (Kind::Connect, Role::Client(client)) = (kind, &mut service.role) {
            // The default SNI name came from `connect`, which names the proxy:
            // the TLS server is protocolHost.
            let proxy_host = service.targets.first().and_then(Addr::host);
            if client.server_name.is_some() && client.server_name.as_deref() == proxy_host {
                client.server_name = self
                    .host
                    .as_deref()
                    .and_then(|h| Addr::Tcp(h.to_string()).host().map(str::to_string))
                    .filter(|h| h.parse::<std::net::IpAddr>().is_err());
            }
        }
        if !self.headers.is_empty() && kind != Kind::Connect {
            return Err(format!("protocolHeader applies to connect, not {kind}"));
        }
        for h in &self.headers {
            check_header(h)?;
        }
        service.protocol = Some(Protocol {
            kind,
            host: self.host.clone(),
            credentials,
            headers: self.headers.clone(),
        });
        Ok(())
    }
}

impl Options {
    /// `protocolUsername`/`protocolPassword`/`protocolAuthentication` for
    /// `kind` in `mode`, with stunnel's defaults (basic for connect, plain
    /// for smtp).
    fn credentials(&self, kind: Kind, mode: Mode) -> Result<Option<Credentials>, String> {
        let auth = self.authentication.as_deref().map(str::to_ascii_lowercase);
        let mechanism = match (kind, auth.as_deref()) {
            (Kind::Connect, None | Some("basic")) => Mechanism::Basic,
            (Kind::Connect, Some("ntlm")) => {
                return Err(
                    "protocolAuthentication = ntlm is not supported: NTLM rests on \
                            MD4 and DES, which tls-tunnel does not carry; use basic over a \
                            trusted network"
                        .into(),
                )
            }
            (Kind::Connect, Some(other)) => {
                return Err(format!(
                    "protocolAuthentication = {other}: expected basic (ntlm is not supported)"
                ))
            }
            // basic is stunnel's built-in default, which it sends as PLAIN.
            (Kind::Smtp, None | Some("plain" | "basic")) => Mechanism::Plain,
            (Kind::Smtp, Some("login")) => Mechanism::Login,
            (Kind::Smtp, Some(other)) => {
                return Err(format!(
                    "protocolAuthentication = {other}: expected plain or login for smtp \
                     (stunnel would send the password with PLAIN)"
                ))
            }
            (_, Some(_)) => {
                return Err(format!(
                    "protocolAuthentication applies to connect and smtp, not {kind}"
                ))
            }
            (_, None) => Mechanism::Basic,
        };
        let (username, password) = match (&self.username, &self.password) {
            (None, None) => return Ok(None),
            (Some(u), Some(p)) => (u, p),
            _ => return Err("protocolUsername and protocolPassword go together".into()),
        };
        match kind {
            Kind::Connect if username.contains(':') => {
                return Err("protocolUsername cannot contain ':' (HTTP Basic)".into())
            }
            Kind::Connect => {}
            Kind::Smtp if mode == Mode::Server => {
                return Err(
                    "protocolUsername/protocolPassword with protocol = smtp apply to \
                            client mode only (the tunnel authenticates to the mail server)"
                        .into(),
                )
            }
            Kind::Smtp if username.is_empty() => {
                return Err("protocolUsername is empty (SMTP AUTH needs a user name)".into())
            }
            Kind::Smtp if username.contains('\0') || password.contains('\0') => {
                return Err(
                    "protocolUsername/protocolPassword cannot contain NUL (SASL PLAIN)".into(),
                )
            }
            Kind::Smtp => {}
            _ => {
                return Err(format!(
                    "protocolUsername/protocolPassword apply to connect and smtp, not {kind}"
                ))
            }
        }
        Ok(Some(Credentials {
            username: username.clone(),
            password: password.clone(),
            mechanism,
        }))
    }
}

/// A `protocolHeader` line must be one HTTP header field, `Name: value`
/// (RFC 9110, section 5): a token name, and no line break that could end
/// the request early or smuggle another.
fn check_header(h: &str) -> Result<(), String> {
    let Some((name, value)) = h.split_once(':') else {
        return Err(format!("protocolHeader {h:?} must be \"Name: value\""));
    };
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!(
            "protocolHeader {h:?}: {name:?} is not a header name"
        ));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!(
            "protocolHeader {h:?}: control characters in the value"
        ));
    }
    Ok(())
}

/// A prelude failure, worded for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub message: String,
    /// The client was told goodbye in the protocol's own words (IMAP's
    /// `* BYE`), so the connection ends with an orderly close even under
    /// stunnel's `reset = yes`, as stunnel does for these.
    pub graceful: bool,
}

impl Failure {
    /// A failure that ends the connection as an error.
    pub fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            graceful: false,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Failure::new("peer closed the connection")
        } else {
            Failure::new(e.to_string())
        }
    }
}

/// Shorthand for a failure.
fn fail<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::new(msg))
}

/// Shorthand for a failure after the client was told goodbye
/// ([`Failure::graceful`]).
fn goodbye<T>(msg: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        message: msg.into(),
        graceful: true,
    })
}

/// Longest prelude line (RFC 5321 allows 512 for replies; IMAP greetings
/// with capabilities run longer).
pub const MAX_LINE: usize = 4096;
/// Most lines in one multi-line reply or header block.
pub const MAX_LINES: usize = 100;

/// Reads one line ending in LF (a CR before it is dropped), byte by byte so
/// nothing after it is consumed: the TLS handshake follows on the same socket.
async fn read_line<R: AsyncRead + Unpin>(r: &mut R) -> Result<String, Failure> {
    let mut line = Vec::new();
    loop {
        let b = r.read_u8().await?;
        if b == b'\n' {
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            return Ok(String::from_utf8_lossy(&line).into_owned());
        }
        if line.len() >= MAX_LINE {
            return fail(format!("line longer than {MAX_LINE} bytes"));
        }
        line.push(b);
    }
}

/// Writes `line` and CRLF.
async fn write_line<W: AsyncWrite + Unpin>(w: &mut W, line: &str) -> Result<(), Failure> {
    let mut buf = Vec::with_capacity(line.len() + 2);
    buf.extend_from_slice(line.as_bytes());
    buf.extend_from_slice(b"\r\n");
    w.write_all(&buf).await?;
    w.flush().await?;
    Ok(())
}

/// Whether `line` starts with `prefix`, ignoring ASCII case (stunnel's test).
fn has_prefix(line: &str, prefix: &str) -> bool {
    line.len() >= prefix.len()
        && line
            .as_bytes()
            .iter()
            .zip(prefix.as_bytes())
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// A line quoted for a log message, shortened.
fn quoted(line: &str) -> String {
    let short: String = line.chars().take(80).collect();
    format!("{short:?}")
}

/// Client mode: speaks `p`'s prelude to the TLS server `remote`, passing
/// the greeting on to the plaintext client `local` where stunnel does.
/// SMTP AUTH, which follows the handshake, is
/// [`run_client_after_handshake`].
pub async fn client<L, R>(p: &Protocol, local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    match p.kind {
        Kind::Smtp => mail::smtp_client(p.host.as_deref(), local, remote).await,
        Kind::Imap => mail::imap_client(local, remote).await,
        Kind::Pop3 => mail::pop3_client(local, remote).await,
        Kind::Nntp => mail::nntp_client(local, remote).await,
        Kind::Ldap => ldap::client(remote).await,
        Kind::Pgsql => pgsql::client(remote).await,
        Kind::Connect => connect::client(p, remote).await,
        Kind::Socks => fail("socks has no client-mode prelude"),
    }
}

/// Server mode: offers the upgrade to the client `local`; `remote` is the
/// plaintext server when [`Kind::connects_early`].
pub async fn server<L, R>(
    p: &Protocol,
    local: &mut L,
    remote: Option<&mut R>,
) -> Result<(), Failure>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    match (p.kind, remote) {
        (Kind::Smtp, Some(r)) => mail::smtp_server(local, r).await,
        (Kind::Imap, Some(r)) => mail::imap_server(local, r).await,
        (Kind::Pop3, Some(r)) => mail::pop3_server(local, r).await,
        (Kind::Nntp, Some(r)) => mail::nntp_server(local, r).await,
        (Kind::Ldap, _) => ldap::server(local).await,
        (Kind::Pgsql, _) => pgsql::server(local).await,
        (kind, _) => fail(format!("{kind} has no server-mode prelude")),
    }
}

/// Client mode, in the connection path: [`client`] within `limit`.
pub async fn run_client(
    p: &Protocol,
    local: &mut Stream,
    remote: &mut Stream,
    limit: Duration,
) -> Result<(), Failure> {
    match tokio::time::timeout(limit, client(p, local, remote)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(Failure {
            message: format!("{} prelude: {e}", p.kind),
            ..e
        }),
        Err(_) => Err(Failure::new(format!("{} prelude: timed out", p.kind))),
    }
}

/// How long a server-mode SMTP or IMAP prelude waits for the client to speak
/// first, which means it starts TLS at once (stunnel's RFC 2487/2595
/// detection, also 200 ms).
const SPEAKS_FIRST_WAIT: Duration = Duration::from_millis(200);

/// Whether the client sends a byte within [`SPEAKS_FIRST_WAIT`] (left in
/// the socket for the handshake). Unix sockets are not checked.
async fn speaks_first(local: &Stream) -> bool {
    let Stream::Tcp(s) = local else {
        return false;
    };
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(SPEAKS_FIRST_WAIT, s.peek(&mut byte)).await,
        Ok(Ok(n)) if n > 0
    )
}

/// Server mode, in the connection path: connects the plaintext server
/// first (with `connect`) when the prelude needs its greeting, then runs [`server`] within
/// `limit`. Returns the early connection, if one was made.
pub async fn run_server<F, C>(
    p: &Protocol,
    local: &mut Stream,
    connect: C,
    limit: Duration,
) -> Result<Option<Stream>, Failure>
where
    C: FnOnce() -> F,
    F: std::future::Future<Output = std::io::Result<Stream>>,
{
    let work = async {
        if p.kind == Kind::Socks {
            // Spoken inside TLS, after the handshake (see `socks::serve`).
            return Ok(None);
        }
        if !p.kind.connects_early() {
            return server::<_, Stream>(p, local, None).await.map(|()| None);
        }
        if matches!(p.kind, Kind::Smtp | Kind::Imap) && speaks_first(local).await {
            // The client spoke first: TLS without the prelude.
            return Ok(None);
        }
        let mut remote = connect()
            .await
            .map_err(|e| Failure::new(format!("target: {e}")))?;
        server(p, local, Some(&mut remote)).await?;
        Ok(Some(remote))
    };
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(remote)) => Ok(remote),
        Ok(Err(e)) => Err(Failure {
            message: format!("{} prelude: {e}", p.kind),
            ..e
        }),
        Err(_) => Err(Failure::new(format!("{} prelude: timed out", p.kind))),
    }
}

#[cfg(test)]
mod tests;
