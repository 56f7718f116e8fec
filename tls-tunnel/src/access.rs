//! Access control on a verified client certificate: subject common name, DNS
//! SAN or URI SAN (SPIFFE IDs), as ghostunnel's --allow-cn / --allow-uri.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::config::Access;

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
    for email in cert.subject().iter_email() {
        if let Ok(s) = email.as_str() {
            names.email.push(s.to_string());
        }
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(s) | GeneralName::URI(s) => names.san.push(s.to_string()),
                GeneralName::RFC822Name(s) => names.email.push(s.to_string()),
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
    if access.allow_all
        || names.cn.iter().any(|cn| access.allow_cn.contains(cn))
        || names
            .san
            .iter()
            .any(|san| access.allow_san.iter().any(|a| a.eq_ignore_ascii_case(san)))
        || names
            .email
            .iter()
            .any(|e| access.allow_email.iter().any(|a| a.eq_ignore_ascii_case(e)))
    {
        Ok(Some(names))
    } else {
        Err(format!(
            "client certificate not allowed (CN {:?}, SAN {:?}, email {:?})",
            names.cn, names.san, names.email
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
}
