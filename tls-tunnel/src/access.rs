//! Access control on a verified client certificate: subject common name or
//! organizational unit, DNS SAN or URI SAN (SPIFFE IDs), email, or the
//! public key alone (SPKI pin), as ghostunnel's --allow-* flags; and the
//! same name checks on a server certificate (--verify-*).

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::peer::uri_matches;
use crate::config::{Access, NameRules};

/// The names of a certificate that access rules look at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PeerNames {
    /// Subject common names.
    pub cn: Vec<String>,
    /// DNS and URI subject alternative names.
    pub san: Vec<String>,
    /// Email addresses: rfc822Name subject alternative names and subject
    /// emailAddress attributes.
    pub email: Vec<String>,
    /// Subject organizational units.
    pub ou: Vec<String>,
    /// DNS subject alternative names.
    pub dns: Vec<String>,
    /// URI subject alternative names.
    pub uri: Vec<String>,
    /// IP address subject alternative names.
    pub ip: Vec<std::net::IpAddr>,
    /// The DER SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
}

impl PeerNames {
    /// True when one of the names matches one of `rules` (exact CN and OU,
    /// case-insensitive DNS, URI with wildcards).
    pub fn match_rules(&self, rules: &NameRules) -> bool {
        self.cn.iter().any(|cn| rules.cn.contains(cn))
            || self.ou.iter().any(|ou| rules.ou.contains(ou))
            || self
                .dns
                .iter()
                .any(|d| rules.dns.iter().any(|r| r.eq_ignore_ascii_case(d)))
            || self
                .uri
                .iter()
                .any(|u| rules.uri.iter().any(|r| uri_matches(r, u)))
    }
}

/// Extracts the names of a DER certificate.
pub fn peer_names(der: &[u8]) -> Result<PeerNames, String> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| format!("client certificate: {e}"))?;
    let mut names = PeerNames::default();
    for cn in cert.subject().iter_common_name() {
        if let Ok(s) = cn.as_str() {
            names.cn.push(s.to_string());
        }
    }
    for ou in cert.subject().iter_organizational_unit() {
        if let Ok(s) = ou.as_str() {
            names.ou.push(s.to_string());
        }
    }
    names.spki = cert.public_key().raw.to_vec();
    for email in cert.subject().iter_email() {
        if let Ok(s) = email.as_str() {
            names.email.push(s.to_string());
        }
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(s) => {
                    names.san.push(s.to_string());
                    names.dns.push(s.to_string());
                }
                GeneralName::URI(s) => {
                    names.san.push(s.to_string());
                    names.uri.push(s.to_string());
                }
                GeneralName::RFC822Name(s) => names.email.push(s.to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        names.ip.push(std::net::IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        names.ip.push(std::net::IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(names)
}

/// Checks a verified client leaf against the rules; `Err` says why it was refused.
pub fn check(access: &Access, leaf: Option<&[u8]>) -> Result<Option<PeerNames>, String> {
    if !access.enabled() {
        return Ok(None);
    }
    let Some(leaf) = leaf else {
        // stunnel's requireCert = no: a client without a certificate is let in.
        return if access.optional {
            Ok(None)
        } else {
            Err("no client certificate".into())
        };
    };
    let names = peer_names(leaf)?;
    if !access.allow_spki.is_empty() {
        return if access.allow_spki.iter().any(|p| p.matches(&names.spki)) {
            Ok(Some(names))
        } else {
            Err("client certificate's public key matches no --allow-spki-pin".into())
        };
    }
    let rules = NameRules {
        cn: access.allow_cn.clone(),
        ou: access.allow_ou.clone(),
        dns: access.allow_dns.clone(),
        uri: access.allow_uri.clone(),
    };
    if access.allow_all
        || names.match_rules(&rules)
        || names
            .san
            .iter()
            .any(|san| access.allow_san.iter().any(|a| a.eq_ignore_ascii_case(san)))
        || names
            .email
            .iter()
            .any(|e| access.allow_email.iter().any(|a| a.eq_ignore_ascii_case(e)))
        || names.ip.iter().any(|ip| access.allow_ip.contains(ip))
    {
        Ok(Some(names))
    } else {
        Err(format!(
            "client certificate not allowed (CN {:?}, OU {:?}, SAN {:?}, email {:?}, IP {:?})",
            names.cn, names.ou, names.san, names.email, names.ip
        ))
    }
}

/// Client mode's --verify-* check of a verified server certificate: with
/// rules, one of its names must match one of them.
pub fn check_server(rules: &NameRules, leaf: &[u8]) -> Result<(), String> {
    if rules.is_empty() {
        return Ok(());
    }
    let names = peer_names(leaf)?;
    if names.match_rules(rules) {
        Ok(())
    } else {
        Err(format!(
            "server certificate matches no --verify-cn/-ou/-dns/-uri (CN {:?}, OU {:?}, DNS {:?}, \
             URI {:?})",
            names.cn, names.ou, names.dns, names.uri
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(cn: &str, sans: &[&str]) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        for san in sans {
            params.subject_alt_names.push(if san.contains("://") {
                rcgen::SanType::URI(rcgen::string::Ia5String::try_from(*san).unwrap())
            } else {
                rcgen::SanType::DnsName(rcgen::string::Ia5String::try_from(*san).unwrap())
            });
        }
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn rules(cn: &[&str], san: &[&str]) -> Access {
        Access {
            cacert: Some("/ca.pem".into()),
            allow_cn: cn.iter().map(|s| s.to_string()).collect(),
            allow_san: san.iter().map(|s| s.to_string()).collect(),
            ..Access::default()
        }
    }

    #[test]
    fn cn_dns_and_spiffe_rules() {
        let leaf = cert(
            "alice",
            &["alice.internal", "spiffe://example.org/ns/prod/sa/alice"],
        );
        assert!(check(&rules(&["alice"], &[]), Some(&leaf)).is_ok());
        assert!(check(&rules(&[], &["alice.internal"]), Some(&leaf)).is_ok());
        assert!(check(
            &rules(&[], &["spiffe://example.org/ns/prod/sa/alice"]),
            Some(&leaf)
        )
        .is_ok());
        assert!(check(
            &rules(&["bob"], &["spiffe://example.org/ns/prod/sa/bob"]),
            Some(&leaf)
        )
        .is_err());
        assert!(check(&rules(&["alice"], &[]), None).is_err());
    }

    #[test]
    fn ou_dns_uri_and_pin_rules() {
        let leaf = cert(
            "alice",
            &["alice.internal", "spiffe://example.org/ns/prod/sa/alice"],
        );
        let base = rules(&[], &[]);
        let dns = Access {
            allow_dns: vec!["ALICE.internal".into()],
            ..base.clone()
        };
        assert!(check(&dns, Some(&leaf)).is_ok());
        // A URI SAN is not a DNS name, and the other way round.
        let wrong_kind = Access {
            allow_dns: vec!["spiffe://example.org/ns/prod/sa/alice".into()],
            allow_uri: vec!["alice.internal".into()],
            ..base.clone()
        };
        assert!(check(&wrong_kind, Some(&leaf)).is_err());
        let uri = Access {
            allow_uri: vec!["spiffe://example.org/ns/*/sa/alice".into()],
            ..base.clone()
        };
        assert!(check(&uri, Some(&leaf)).is_ok());
        let names = peer_names(&leaf).unwrap();
        let pin = crate::config::SpkiPin::of(crate::config::peer::PinAlg::Sha256, &names.spki);
        let pinned = Access {
            cacert: None,
            allow_spki: vec![pin],
            ..Access::default()
        };
        assert!(check(&pinned, Some(&leaf)).is_ok());
        let other = cert("bob", &[]);
        assert!(check(&pinned, Some(&other)).is_err());
        assert!(check_server(&NameRules::default(), &other).is_ok());
        let verify = NameRules {
            dns: vec!["alice.internal".into()],
            ..NameRules::default()
        };
        assert!(check_server(&verify, &leaf).is_ok());
        assert!(check_server(&verify, &other).is_err());
    }
}
