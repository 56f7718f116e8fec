//! One tunnel as every front end describes it: a [`Service`], its side
//! ([`Role`]) with the settings only that side has, and the checks
//! ([`validate`]) every front end's result must pass.

use std::path::PathBuf;

use super::{
    check_session_cache_size, check_session_timeout, ocsp, peer, psk, Addr, Algorithms, Limits,
    NameRules, NetOptions, Resumption, SpkiPin, Timeouts,
};

/// Which way TLS goes, as a plain value (a [`Role`] carries the settings
/// of its side): for labels and protocol preludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Accept TLS, forward plaintext.
    Server,
    /// Accept plaintext, connect with TLS.
    Client,
}

impl Mode {
    /// `server` or `client`, as logs and the status page name it.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Server => "server",
            Mode::Client => "client",
        }
    }
}

/// Which way TLS goes, with the settings only that way has: a client-mode
/// service cannot carry client-certificate rules, a server-mode one no
/// server-certificate check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Accept TLS, forward plaintext.
    Server(ServerRole),
    /// Accept plaintext, connect with TLS.
    Client(ClientRole),
}

impl Role {
    /// The direction alone, for logs, the status page and protocol preludes.
    pub fn mode(&self) -> Mode {
        match self {
            Role::Server(_) => Mode::Server,
            Role::Client(_) => Mode::Client,
        }
    }

    /// The SNI routes: a server's, none for a client.
    pub fn sni_routes(&self) -> &[SniRoute] {
        match self {
            Role::Server(server) => &server.sni_routes,
            Role::Client(_) => &[],
        }
    }
}

/// What only a server-mode service has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerRole {
    /// Client-certificate checks.
    pub access: Access,
    /// Routes chosen by SNI.
    pub sni_routes: Vec<SniRoute>,
    /// How sessions are resumed.
    pub resumption: Resumption,
    /// Session-ticket keys shared with other instances come from this file
    /// (see `crate::ticket_keys`).
    pub ticket_key_file: Option<PathBuf>,
    /// Our own certificates get OCSP responses fetched from their AIA
    /// responders and stapled (set for stunnel.conf server services).
    pub staple_ocsp: bool,
}

/// What only a client-mode service has: how the server is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRole {
    /// How the server's certificate is checked.
    pub verify: ServerVerify,
    /// The SNI name sent (and checked, unless `check_host` is set).
    pub server_name: Option<String>,
    /// Names the server certificate must match (checkHost).
    pub check_host: Vec<String>,
    /// IP addresses the server certificate must match (checkIP).
    pub check_ip: Vec<std::net::IpAddr>,
    /// Email addresses the server certificate may carry instead
    /// (checkEmail); any match of checkHost, checkIP or checkEmail will do.
    pub check_email: Vec<String>,
    /// Names the server certificate must also carry, any one of them
    /// (ghostunnel's --verify-cn/-ou/-dns/-uri).
    pub verify_names: NameRules,
}

impl Default for ClientRole {
    /// Chain validation against the system trust store, no name given.
    fn default() -> Self {
        ClientRole {
            verify: ServerVerify::Chain(None),
            server_name: None,
            check_host: Vec::new(),
            check_ip: Vec::new(),
            check_email: Vec::new(),
            verify_names: NameRules::default(),
        }
    }
}

/// A certificate chain file and its private key file: PEM, or a PKCS#12 key
/// store holding both (then `key` is the same path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    /// The chain, end-entity first.
    pub cert: PathBuf,
    /// The private key.
    pub key: PathBuf,
    /// The password of a PKCS#12 file; none means the empty password.
    pub password: Option<crate::keystore::StorePass>,
}

/// How a client-mode service checks the server's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerVerify {
    /// Chain validation against `cacert`, or the system trust store when `None`.
    Chain(Option<PathBuf>),
    /// The server's certificate must be one of those in this file (stunnel's verifyPeer).
    Pinned(PathBuf),
    /// No verification at all (stunnel's default, only when asked for explicitly).
    Insecure,
    /// The server's public key must match one of these pins (ghostunnel's
    /// --verify-spki-pin): no chain, validity or name check.
    Spki(Vec<SpkiPin>),
}

/// Which client certificates a server-mode service admits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    /// Client certificates are validated against this CA file.
    pub cacert: Option<PathBuf>,
    /// stunnel's verifyPeer: the client's certificate must be in `cacert`.
    pub pinned: bool,
    /// Any verified client certificate is admitted.
    pub allow_all: bool,
    /// Admitted subject common names.
    pub allow_cn: Vec<String>,
    /// Admitted DNS or URI subject alternative names (e.g. SPIFFE IDs).
    pub allow_san: Vec<String>,
    /// Admitted subject organizational units (ghostunnel's --allow-ou).
    pub allow_ou: Vec<String>,
    /// Admitted DNS subject alternative names (--allow-dns).
    pub allow_dns: Vec<String>,
    /// Admitted URI subject alternative names, `*` and `**` wildcards
    /// allowed (--allow-uri).
    pub allow_uri: Vec<String>,
    /// Clients are admitted by the public key of their certificate alone
    /// (--allow-spki-pin): no CA, chain or validity check.
    pub allow_spki: Vec<SpkiPin>,
    /// Admitted email addresses (rfc822Name SANs or subject emailAddress):
    /// stunnel's checkEmail.
    pub allow_email: Vec<String>,
    /// Admitted IP address subject alternative names (stunnel's checkIP in
    /// server mode).
    pub allow_ip: Vec<std::net::IpAddr>,
    /// A client without a certificate is let in (stunnel's `requireCert = no`);
    /// a certificate it does present is still verified and checked.
    pub optional: bool,
    /// Without a CA: a client must present a certificate, any certificate
    /// (stunnel's `requireCert = yes` without verifyChain or verifyPeer);
    /// the handshake still proves it holds the key.
    pub require_any: bool,
    /// stunnel's `redirect`: a client whose certificate fails these checks
    /// (or who sends none) is not refused but connected here instead of the
    /// service's targets. Empty: such clients are refused.
    pub redirect: Vec<Addr>,
}

impl Access {
    /// True when client certificates are requested.
    pub fn enabled(&self) -> bool {
        self.cacert.is_some() || !self.allow_spki.is_empty()
    }

    /// True when a name rule (CN, OU, SAN, email, IP) is given.
    pub fn has_name_rule(&self) -> bool {
        !self.allow_ip.is_empty()
            || [
                &self.allow_cn,
                &self.allow_san,
                &self.allow_ou,
                &self.allow_dns,
                &self.allow_uri,
                &self.allow_email,
            ]
            .iter()
            .any(|v| !v.is_empty())
    }
}

/// One SNI route: a server name (or `*.suffix` wildcard) with its own
/// certificate and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SniRoute {
    /// The name matched against the client's SNI, case-insensitively.
    pub name: String,
    /// The certificate presented for it (the service's own when `None`).
    pub cert: Option<CertFiles>,
    /// Where its connections go.
    pub targets: Vec<Addr>,
}

/// PROXY protocol versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyVersion {
    /// The human-readable line.
    V1,
    /// The binary header, with TLS TLVs.
    V2,
}

/// Trust material stunnel.conf can add to a CA file: a hashed CA
/// directory and certificate revocation lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustExtras {
    /// CA certificates from every file of this directory (stunnel's CApath),
    /// besides the CA file.
    pub ca_dir: Option<PathBuf>,
    /// CRLs (PEM or DER) from this file (CRLfile).
    pub crl_file: Option<PathBuf>,
    /// CRLs from every file of this directory (CRLpath).
    pub crl_dir: Option<PathBuf>,
    /// OCSP checks of the peer's certificates.
    pub ocsp: ocsp::OcspSettings,
}

/// One tunnel: a listener, its TLS settings, and where connections go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The name used in logs and metrics.
    pub name: String,
    /// Where the service was defined (`file:line`), for errors found later.
    pub origin: String,
    /// Server or client, with the settings only that side has.
    pub role: Role,
    /// Where to accept connections.
    pub listen: Addr,
    /// Where to connect, tried in order.
    pub targets: Vec<Addr>,
    /// Our certificate: the server's (a self-signed one is generated when
    /// absent) or the client's for mutual TLS.
    pub cert: Option<CertFiles>,
    /// ALPN protocols offered (client) or accepted (server).
    pub alpn: Vec<String>,
    /// Send a PROXY header to the target.
    pub proxy_send: Option<ProxyVersion>,
    /// Expect a PROXY header (v1 or v2) from whoever connects.
    pub proxy_accept: bool,
    /// An application protocol spoken before TLS (stunnel's `protocol`).
    pub protocol: Option<crate::protocol::Protocol>,
    /// Server mode: run this program per connection instead of connecting
    /// to a target (stunnel's `exec`/`execArgs`); either mode: with
    /// [`Addr::Exec`], the program of exec+connect.
    pub exec: Option<Exec>,
    /// Time limits.
    pub timeouts: Timeouts,
    /// Connection admission: how many, how many handshaking, how many per source.
    pub limits: Limits,
    /// Session resumption at all. Server mode: issue tickets and keep a TLS
    /// 1.2 session-ID cache, as [`ServerRole::resumption`] says; client
    /// mode: keep the server's sessions and offer them on the next
    /// connection.
    pub resume: bool,
    /// Protocol versions, cipher suites and groups.
    pub algorithms: Algorithms,
    /// CA directory and CRLs besides the CA file.
    pub trust: TrustExtras,
    /// Socket options, source address and failover between targets.
    pub net: NetOptions,
    /// TLS 1.3 external PSKs (stunnel's PSKsecrets and PSKidentity).
    pub psk: Option<psk::PskSettings>,
}

#[cfg(test)]
impl Service {
    /// The server side of a service the test made in server mode.
    pub(crate) fn server(&self) -> &ServerRole {
        match &self.role {
            Role::Server(server) => server,
            Role::Client(_) => panic!("{}: a client-mode service", self.name),
        }
    }

    /// The client side of a service the test made in client mode.
    pub(crate) fn client(&self) -> &ClientRole {
        match &self.role {
            Role::Client(client) => client,
            Role::Server(_) => panic!("{}: a server-mode service", self.name),
        }
    }
}

/// A program run per connection, its standard input and output the
/// plaintext side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    /// The program (an absolute path, or found on `PATH`).
    pub program: PathBuf,
    /// Its arguments, starting with its name (`argv[0]`).
    pub args: Vec<String>,
    /// Its standard input and output are a pseudo-terminal (stunnel's
    /// `pty = yes`) instead of a socket.
    pub pty: bool,
}

/// Checks what every front end must agree on; the caller adds where the
/// service was defined.
pub fn validate(service: &Service) -> Result<(), String> {
    let sni_routes = service.role.sni_routes();
    if service.listen == Addr::Exec {
        // stunnel's exec+connect, either mode: the program on one side,
        // the target on the other.
        if service.exec.is_none() || service.targets.is_empty() {
            return Err("a service without accept needs exec and connect (exec+connect)".into());
        }
        if !sni_routes.is_empty() || service.proxy_accept {
            return Err("exec+connect takes no SNI routes and no PROXY header in".into());
        }
    } else if service.exec.is_some() {
        if let Role::Client(_) = service.role {
            return Err("exec is supported in server mode only".into());
        }
        if !service.targets.is_empty() || !sni_routes.is_empty() {
            return Err("exec and connect (target, SNI routes) exclude each other".into());
        }
        if service.protocol.is_some() || service.proxy_send.is_some() {
            return Err("exec takes no protocol and no PROXY header".into());
        }
    }
    // SOCKS clients name their own destination; exec runs a program.
    let socks = service
        .protocol
        .as_ref()
        .is_some_and(|p| p.kind == crate::protocol::Kind::Socks);
    if !socks
        && service.exec.is_none()
        && !service.net.transparent.destination
        && service.targets.is_empty()
        && sni_routes.iter().all(|r| r.targets.is_empty())
    {
        return Err(format!(
            "service {:?} has no target (connect)",
            service.name
        ));
    }
    if service.targets.is_empty() && sni_routes.iter().any(|r| r.targets.is_empty()) {
        return Err(format!(
            "service {:?}: an SNI route has no target and the service has no default target",
            service.name
        ));
    }
    service.limits.check()?;
    service.timeouts.check()?;
    service.algorithms.check()?;
    if service.psk.is_some() {
        psk::check(&service.algorithms)?;
    }
    match &service.role {
        Role::Server(server) => {
            check_session_timeout(server.resumption.timeout)?;
            check_session_cache_size(server.resumption.cache_size)?;
            if let Some(p) = &service.protocol {
                if p.kind.connects_early() && !server.sni_routes.is_empty() {
                    return Err(format!(
                        "protocol = {} in server mode takes no SNI routes (the server is \
                         connected before the client sends its name)",
                        p.kind
                    ));
                }
            }
            let a = &server.access;
            let has_rule = a.allow_all || a.has_name_rule();
            if a.cacert.is_none() && (has_rule || a.pinned) {
                return Err(
                    "client-certificate rules (allow-cn/-ou/-dns/-uri/-san/-all, verifyPeer) \
                            need a CA file (cacert/CAfile)"
                        .into(),
                );
            }
            if !a.redirect.is_empty() && a.cacert.is_none() {
                return Err(
                    "redirect needs a CA file (cacert/CAfile): it sends clients whose \
                            certificate fails verification elsewhere"
                        .into(),
                );
            }
            if a.allow_all && a.has_name_rule() {
                return Err("allow-all cannot be combined with the other allow rules".into());
            }
            peer::check_server_rules(a)
        }
        Role::Client(client) => peer::check_client_rules(client),
    }
}
