//! OCSP settings of a service (stunnel's `OCSP`, `OCSPaia`, `OCSPflag`,
//! `OCSPnonce`, `OCSPrequire`, `TIMEOUTocsp`).

use std::time::Duration;

/// How the peer's certificates are checked with OCSP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspSettings {
    /// The responder asked about every certificate (`OCSP = URL`).
    pub url: Option<String>,
    /// The responders named in each certificate's authorityInfoAccess are
    /// asked first (`OCSPaia = yes`).
    pub aia: bool,
    /// A nonce is sent and must come back (`OCSPnonce = yes`).
    pub nonce: bool,
    /// Without a conclusive answer (good or revoked) the peer is refused
    /// (`OCSPrequire = yes`, the default); with `no` it is let in.
    pub require: bool,
    /// The longest one request may take, connect to last byte (`TIMEOUTocsp`),
    /// also when fetching a response to staple.
    pub timeout: Duration,
}

impl Default for OcspSettings {
    /// Off (no URL, no AIA); when turned on: no nonce, require a conclusive
    /// answer, 5 s per request (stunnel's defaults).
    fn default() -> Self {
        OcspSettings {
            url: None,
            aia: false,
            nonce: false,
            require: true,
            timeout: Duration::from_secs(5),
        }
    }
}

impl OcspSettings {
    /// True when certificates are checked at all.
    pub fn enabled(&self) -> bool {
        self.url.is_some() || self.aia
    }

    /// Checks one `OCSPflag` value (stunnel's names of OpenSSL's
    /// `OCSP_basic_verify` flags, case-insensitive). Flags that would skip
    /// a check of the response are refused, with the reason; the others
    /// change nothing, and `Ok` says why.
    pub fn check_flag(flag: &str) -> Result<&'static str, String> {
        const WEAKENS: &str = "it would skip a check of the responder's answer";
        match flag.to_ascii_uppercase().as_str() {
            // OpenSSL defines them but its verification never reads them, so
            // under stunnel they change nothing either.
            "NOCASIGN" | "NODELEGATED" => Ok(
                "OpenSSL's OCSP verification ignores this flag: responses signed by the CA \
                    or by a delegated responder are both accepted, as RFC 6960 allows",
            ),
            "NOCERTS" | "RESPID_KEY" => Ok(
                "it concerns signing requests or making responses, which tls-tunnel does not do",
            ),
            "NOSIGS" | "NOVERIFY" | "NOCHECKS" | "NOTIME" | "NOCHAIN" | "NOEXPLICIT"
            | "TRUSTOTHER" => Err(format!("OCSPflag = {flag}: refused: {WEAKENS}")),
            "NOINTERN" => Err(format!(
                "OCSPflag = {flag}: refused: a delegated responder's certificate is taken \
                     only from the response (there is no other place to look for it)"
            )),
            _ => Err(format!("OCSPflag: unknown flag {flag:?}")),
        }
    }
}

/// The OCSP keys of a TOML service, as written.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OcspToml {
    /// The responder asked about every certificate (stunnel's `OCSP`).
    pub url: Option<String>,
    /// Ask the responders of each certificate's AIA first (`OCSPaia`).
    #[serde(default)]
    pub aia: bool,
    /// `OCSPflag` values: those restating what is checked anyway are
    /// accepted, those skipping a check refused.
    #[serde(default)]
    pub flags: Vec<String>,
    /// Send a nonce, which must come back (`OCSPnonce`).
    #[serde(default)]
    pub nonce: bool,
    /// Refuse the peer without a conclusive answer (`OCSPrequire`, default true).
    pub require: Option<bool>,
    /// The longest one request may take, e.g. `"5s"` (`TIMEOUTocsp`).
    pub timeout: Option<String>,
}

impl OcspToml {
    /// The settings these keys describe (no stapling: that is the
    /// stunnel.conf front end's).
    pub fn settings(&self) -> Result<OcspSettings, String> {
        let mut s = OcspSettings {
            aia: self.aia,
            nonce: self.nonce,
            require: self.require.unwrap_or(true),
            ..OcspSettings::default()
        };
        if let Some(url) = &self.url {
            parse_http_url(url).map_err(|e| format!("ocsp.url: {e}"))?;
            s.url = Some(url.clone());
        }
        for flag in &self.flags {
            OcspSettings::check_flag(flag).map_err(|e| format!("ocsp.flags: {e}"))?;
        }
        if let Some(t) = &self.timeout {
            s.timeout = super::parse_duration(t).map_err(|e| format!("ocsp.timeout: {e}"))?;
            if s.timeout < Duration::from_secs(1) || s.timeout > Duration::from_secs(3600) {
                return Err(format!(
                    "ocsp.timeout = {t:?}: give 1s to 1h for one OCSP request"
                ));
            }
        }
        Ok(s)
    }
}

/// An `http://` responder URL, split for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// Host name or address (an IPv6 address without brackets).
    pub host: String,
    /// TCP port (80 when not given).
    pub port: u16,
    /// The path, `/` at least.
    pub path: String,
}

/// Parses a responder URL. Only `http://` is accepted: OCSP responses are
/// signed, and stunnel refuses TLS to the responder too.
pub fn parse_http_url(url: &str) -> Result<HttpUrl, String> {
    let rest = match url.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => &url[7..],
        _ => {
            return Err(format!(
                "OCSP responder {url:?}: only http:// URLs are supported"
            ))
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let bad = || format!("OCSP responder {url:?}: malformed URL");
    if path.bytes().any(|b| b.is_ascii_control() || b == b' ') || authority.contains('@') {
        return Err(bad());
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(bad)?,
        None => 80,
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-:".contains(&b))
    {
        return Err(bad());
    }
    Ok(HttpUrl {
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ocsp_urls() {
        let u = parse_http_url("http://ocsp.example.com/").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("ocsp.example.com", 80, "/")
        );
        let u = parse_http_url("HTTP://127.0.0.1:8888").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("127.0.0.1", 8888, "/")
        );
        let u = parse_http_url("http://[::1]:81/ocsp/x").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("::1", 81, "/ocsp/x")
        );
        for bad in [
            "https://ocsp.example.com/",
            "ocsp.example.com",
            "http://",
            "http://host:0/",
            "http://host:99999/",
            "http://user@host/",
            "http://host/a b",
        ] {
            assert!(parse_http_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn toml_keys() {
        let t = OcspToml {
            url: Some("http://127.0.0.1:8888/".into()),
            flags: vec!["NOCASIGN".into()],
            nonce: true,
            require: Some(false),
            timeout: Some("2s".into()),
            ..OcspToml::default()
        };
        let s = t.settings().unwrap();
        assert_eq!(s.url.as_deref(), Some("http://127.0.0.1:8888/"));
        assert!(s.nonce && !s.require && !s.aia && s.enabled());
        assert_eq!(s.timeout, Duration::from_secs(2));
        assert!(OcspToml::default().settings().unwrap().require);
        for bad in [
            OcspToml {
                url: Some("https://x/".into()),
                ..OcspToml::default()
            },
            OcspToml {
                flags: vec!["NOVERIFY".into()],
                ..OcspToml::default()
            },
            OcspToml {
                timeout: Some("0s".into()),
                ..OcspToml::default()
            },
        ] {
            assert!(bad.settings().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ocsp_flags() {
        for no_op in ["nocasign", "NODELEGATED", "NOCERTS", "respid_key"] {
            assert!(OcspSettings::check_flag(no_op).is_ok(), "{no_op}");
        }
        for weak in [
            "NOSIGS",
            "NOVERIFY",
            "NOTIME",
            "TRUSTOTHER",
            "NOINTERN",
            "BOGUS",
        ] {
            assert!(OcspSettings::check_flag(weak).is_err(), "{weak}");
        }
    }
}
