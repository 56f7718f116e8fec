//! [`ServerName`]: the name a client connects to, checked once.

use alloc::string::{String, ToString};
use core::fmt;
use core::net::IpAddr;

use crate::error::Error;

/// The server a client connects to: a DNS name (sent as SNI and checked
/// against the certificate) or an IP address (checked against the
/// certificate's IP addresses; no SNI, RFC 6066 §3).
///
/// Made by [`ServerName::try_from`] from text, which refuses anything that is
/// neither an IP address nor a DNS name: labels of 1 to 63 letters, digits,
/// hyphens (not first or last) or underscores, separated by single dots,
/// 253 bytes at most, no trailing dot.
///
/// ```
/// use tls_core::config::ServerName;
///
/// let name = ServerName::try_from("example.com").unwrap();
/// assert_eq!(name.as_str(), "example.com");
/// assert!(matches!(ServerName::try_from("192.0.2.1"), Ok(ServerName::Ip(_))));
/// assert!(ServerName::try_from("not a host!").is_err());
/// assert!(ServerName::try_from("").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerName {
    /// A DNS name, as given (comparisons with certificate names ignore case).
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

impl ServerName {
    /// The name as text, as [`crate::Connection::client`] takes it.
    pub fn as_str(&self) -> alloc::borrow::Cow<'_, str> {
        match self {
            ServerName::Dns(name) => alloc::borrow::Cow::Borrowed(name),
            ServerName::Ip(ip) => alloc::borrow::Cow::Owned(ip.to_string()),
        }
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerName::Dns(name) => f.write_str(name),
            ServerName::Ip(ip) => ip.fmt(f),
        }
    }
}

impl TryFrom<&str> for ServerName {
    type Error = Error;

    /// # Errors
    ///
    /// [`Error::InvalidConfig`] for text that is neither an IP address nor a
    /// valid DNS name.
    fn try_from(name: &str) -> Result<Self, Error> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(ServerName::Ip(ip));
        }
        if is_dns_name(name) {
            Ok(ServerName::Dns(name.to_string()))
        } else {
            Err(Error::InvalidConfig(
                "server name is neither a DNS name nor an IP address",
            ))
        }
    }
}

impl TryFrom<String> for ServerName {
    type Error = Error;

    /// # Errors
    ///
    /// As for `&str`.
    fn try_from(name: String) -> Result<Self, Error> {
        ServerName::try_from(name.as_str())
    }
}

impl From<IpAddr> for ServerName {
    fn from(ip: IpAddr) -> Self {
        ServerName::Ip(ip)
    }
}

/// A host name as RFC 1123 allows it (plus underscores, which real names
/// carry), without a trailing dot.
fn is_dns_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').all(|label| {
        let bytes = label.as_bytes();
        !bytes.is_empty()
            && bytes.len() <= 63
            && bytes.first() != Some(&b'-')
            && bytes.last() != Some(&b'-')
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_names_and_addresses() {
        for ok in [
            "localhost",
            "example.com",
            "a-b.c_d.example",
            "xn--bcher-kva.example",
            "1.example",
        ] {
            assert_eq!(
                ServerName::try_from(ok),
                Ok(ServerName::Dns(ok.to_string())),
                "{ok}"
            );
        }
        assert!(matches!(
            ServerName::try_from("::1"),
            Ok(ServerName::Ip(IpAddr::V6(_)))
        ));
        assert!(matches!(
            ServerName::try_from("127.0.0.1"),
            Ok(ServerName::Ip(IpAddr::V4(_)))
        ));
    }

    #[test]
    fn refuses_what_is_neither() {
        let long_label = "a".repeat(64);
        let long_name = ["abcdefghi"; 26].join(".");
        for bad in [
            "",
            ".",
            "example.com.",
            ".example.com",
            "a..b",
            "-a.example",
            "a-.example",
            "not a host!",
            "exa mple.com",
            "ex\u{e4}mple.com",
            "host:443",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(ServerName::try_from(bad).is_err(), "{bad:?} accepted");
        }
    }
}
