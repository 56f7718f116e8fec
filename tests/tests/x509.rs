//! `tls_core::x509` path validation on certificates generated here with
//! rcgen: expiry, names, EKU, pathLen, name constraints, budgets (a 50-deep
//! chain), CRLs, trust anchor loading and the `ServerCertVerifier` plug-in.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CidrSubnet, CustomExtension, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer,
    KeyIdMethod, KeyPair, KeyUsagePurpose, NameConstraints, RevokedCertParams, SanType,
    SerialNumber,
};
use tls_core::x509::{
    verify_chain, verify_chain_with_policy, Budget, CertError, KeyUsage, Policy, Profile,
    ServerName, TrustAnchors, WebPkiClientVerifier, WebPkiVerifier,
};
use tls_core::{ClientCertVerifier, Error, ServerCertVerifier, UnixTime};

/// 2024-01-01T00:00:00Z: inside every default validity period below.
const NOW: UnixTime = UnixTime(1_704_067_200);

/// A CA: its parameters (for issuing) and key, and its DER certificate.
struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: Vec<u8>,
}

fn ca_params(name: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    p
}

impl Ca {
    fn root(name: &str) -> Ca {
        Ca::root_with(ca_params(name, None), KeyPair::generate().expect("key"))
    }

    fn root_with(params: CertificateParams, key: KeyPair) -> Ca {
        let der = params
            .self_signed(&key)
            .expect("self-signed")
            .der()
            .to_vec();
        Ca { params, key, der }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }

    /// An intermediate signed by this CA.
    fn intermediate(&self, name: &str, path_len: Option<u8>) -> Ca {
        self.intermediate_with(ca_params(name, path_len), KeyPair::generate().expect("key"))
    }

    fn intermediate_with(&self, mut params: CertificateParams, key: KeyPair) -> Ca {
        params.use_authority_key_identifier_extension = true;
        let der = params
            .signed_by(&key, &self.issuer())
            .expect("signed")
            .der()
            .to_vec();
        Ca { params, key, der }
    }

    /// A leaf signed by this CA.
    fn leaf(&self, mut params: CertificateParams) -> Vec<u8> {
        params.use_authority_key_identifier_extension = true;
        let key = KeyPair::generate().expect("key");
        params
            .signed_by(&key, &self.issuer())
            .expect("signed")
            .der()
            .to_vec()
    }

    fn anchors(&self) -> TrustAnchors {
        let mut anchors = TrustAnchors::new();
        anchors.add_der(&self.der).expect("acceptable trust anchor");
        anchors
    }
}

/// A server leaf for `sans` (DNS names or IP literals): serverAuth,
/// digitalSignature, the first name as CN, valid 2020..2030.
fn leaf_params(sans: &[&str]) -> CertificateParams {
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name
        .push(DnType::CommonName, sans.first().copied().unwrap_or("leaf"));
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    p
}

fn name(s: &str) -> ServerName {
    ServerName::parse(s).expect("server name")
}

fn server(
    anchors: &TrustAnchors,
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    host: &str,
) -> Result<tls_core::x509::VerifiedPath, CertError> {
    verify_chain(
        anchors,
        leaf,
        intermediates,
        KeyUsage::ServerAuth,
        Some(&name(host)),
        NOW,
        &Budget::default(),
    )
}

#[test]
fn chain_through_an_intermediate_verifies() {
    let root = Ca::root("Test Root");
    let inter = root.intermediate("Test Intermediate", Some(0));
    let leaf = inter.leaf(leaf_params(&["example.com"]));
    let unrelated = Ca::root("Unrelated").intermediate("Unrelated Intermediate", None);
    let intermediates = vec![unrelated.der.clone(), inter.der.clone()];
    let path = server(&root.anchors(), &leaf, &intermediates, "example.com").expect("verifies");
    assert_eq!(path.intermediates(), &[1]);
    assert_eq!(path.anchor(), 0);
    // Straight from the root, too.
    let direct = root.leaf(leaf_params(&["example.com"]));
    assert!(server(&root.anchors(), &direct, &[], "example.com").is_ok());
    // Without the intermediate there is no path.
    assert_eq!(
        server(&root.anchors(), &leaf, &[], "example.com"),
        Err(CertError::UnknownIssuer)
    );
}

#[test]
fn other_key_types_verify() {
    for alg in [&rcgen::PKCS_ECDSA_P384_SHA384, &rcgen::PKCS_ED25519] {
        let root = Ca::root_with(
            ca_params("Alg Root", None),
            KeyPair::generate_for(alg).expect("key"),
        );
        let inter = root.intermediate_with(
            ca_params("Alg Intermediate", None),
            KeyPair::generate_for(alg).expect("key"),
        );
        let leaf = inter.leaf(leaf_params(&["example.com"]));
        assert!(server(
            &root.anchors(),
            &leaf,
            std::slice::from_ref(&inter.der),
            "example.com"
        )
        .is_ok());
    }
}

#[test]
fn expiry_and_not_yet_valid() {
    let root = Ca::root("Root");
    let mut expired = leaf_params(&["example.com"]);
    expired.not_before = date_time_ymd(2020, 1, 1);
    expired.not_after = date_time_ymd(2023, 12, 31);
    let leaf = root.leaf(expired);
    assert_eq!(
        server(&root.anchors(), &leaf, &[], "example.com"),
        Err(CertError::Expired)
    );

    let mut future = leaf_params(&["example.com"]);
    future.not_before = date_time_ymd(2024, 1, 2);
    let leaf = root.leaf(future);
    assert_eq!(
        server(&root.anchors(), &leaf, &[], "example.com"),
        Err(CertError::NotYetValid)
    );

    // An expired intermediate, and an expired root.
    let mut old = ca_params("Old Intermediate", None);
    old.not_after = date_time_ymd(2023, 6, 1);
    let inter = root.intermediate_with(old, KeyPair::generate().expect("key"));
    let leaf = inter.leaf(leaf_params(&["example.com"]));
    assert_eq!(
        server(
            &root.anchors(),
            &leaf,
            std::slice::from_ref(&inter.der),
            "example.com"
        ),
        Err(CertError::Expired)
    );
    let mut old_root = ca_params("Old Root", None);
    old_root.not_after = date_time_ymd(2023, 6, 1);
    let old_root = Ca::root_with(old_root, KeyPair::generate().expect("key"));
    let leaf = old_root.leaf(leaf_params(&["example.com"]));
    assert_eq!(
        server(&old_root.anchors(), &leaf, &[], "example.com"),
        Err(CertError::Expired)
    );
}

#[test]
fn an_expired_candidate_is_passed_over_for_a_valid_one() {
    let root = Ca::root("Root");
    let key = KeyPair::generate().expect("key");
    let serialized = key.serialize_der();
    let key_again =
        KeyPair::try_from(serialized.as_slice()).expect("same key for the second certificate");
    let mut old = ca_params("Intermediate", None);
    old.not_after = date_time_ymd(2023, 6, 1);
    let expired = root.intermediate_with(old, key);
    let fresh = root.intermediate_with(ca_params("Intermediate", None), key_again);
    let leaf = fresh.leaf(leaf_params(&["example.com"]));
    let path = server(
        &root.anchors(),
        &leaf,
        &[expired.der.clone(), fresh.der.clone()],
        "example.com",
    )
    .expect("verifies through the fresh intermediate");
    assert_eq!(path.intermediates(), &[1]);
}

#[test]
fn wrong_name_and_name_forms() {
    let root = Ca::root("Root");
    let anchors = root.anchors();
    let leaf = root.leaf(leaf_params(&["example.com", "*.wild.example", "192.0.2.7"]));
    assert!(server(&anchors, &leaf, &[], "example.com").is_ok());
    assert!(server(&anchors, &leaf, &[], "EXAMPLE.com.").is_ok());
    assert!(server(&anchors, &leaf, &[], "a.wild.example").is_ok());
    assert!(server(&anchors, &leaf, &[], "192.0.2.7").is_ok());
    for wrong in [
        "example.org",
        "www.example.com",
        "wild.example",
        "a.b.wild.example",
        "192.0.2.8",
        "::1",
    ] {
        assert_eq!(
            server(&anchors, &leaf, &[], wrong),
            Err(CertError::NameMismatch),
            "{wrong}"
        );
    }
    // No Common Name fallback.
    let mut cn_only = leaf_params(&[]);
    cn_only.distinguished_name = rcgen::DistinguishedName::new();
    cn_only
        .distinguished_name
        .push(DnType::CommonName, "example.com");
    let leaf = root.leaf(cn_only);
    assert_eq!(
        server(&anchors, &leaf, &[], "example.com"),
        Err(CertError::NameMismatch)
    );
    // A CN that respells a SAN is refused.
    let mut respelled = leaf_params(&["example.com"]);
    respelled.distinguished_name = rcgen::DistinguishedName::new();
    respelled
        .distinguished_name
        .push(DnType::CommonName, "EXAMPLE.COM");
    let leaf = root.leaf(respelled);
    assert!(matches!(
        server(&anchors, &leaf, &[], "example.com"),
        Err(CertError::Profile(_))
    ));
}

#[test]
fn wrong_eku() {
    let root = Ca::root("Root");
    let anchors = root.anchors();
    let mut client_only = leaf_params(&["example.com"]);
    client_only.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let leaf = root.leaf(client_only);
    assert!(matches!(
        server(&anchors, &leaf, &[], "example.com"),
        Err(CertError::ExtendedKeyUsage(_))
    ));
    // The same certificate is fine for a client (mTLS), with no name.
    assert!(verify_chain(
        &anchors,
        &leaf,
        &[],
        KeyUsage::ClientAuth,
        None,
        NOW,
        &Budget::default()
    )
    .is_ok());

    // No EKU: refused by the Web PKI profile, allowed by RFC 5280.
    let mut no_eku = leaf_params(&["example.com"]);
    no_eku.extended_key_usages.clear();
    let leaf = root.leaf(no_eku);
    assert!(matches!(
        server(&anchors, &leaf, &[], "example.com"),
        Err(CertError::ExtendedKeyUsage(_))
    ));
    let mut policy = Policy::new(KeyUsage::ServerAuth);
    policy.profile = Profile::Rfc5280;
    assert!(verify_chain_with_policy(
        &anchors,
        &leaf,
        &[],
        Some(&name("example.com")),
        NOW,
        &policy
    )
    .is_ok());

    // An intermediate whose EKU excludes serverAuth constrains the leaf.
    let mut clients_ca = ca_params("Client CA", None);
    clients_ca.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let inter = root.intermediate_with(clients_ca, KeyPair::generate().expect("key"));
    let leaf = inter.leaf(leaf_params(&["example.com"]));
    assert!(matches!(
        server(
            &anchors,
            &leaf,
            std::slice::from_ref(&inter.der),
            "example.com"
        ),
        Err(CertError::ExtendedKeyUsage(_))
    ));
}

#[test]
fn path_length_constraints() {
    let root = Ca::root("Root");
    // root -> A (pathlen 0) -> B -> leaf: B may not issue under A.
    let a = root.intermediate("A", Some(0));
    let b = a.intermediate("B", None);
    let leaf = b.leaf(leaf_params(&["example.com"]));
    assert_eq!(
        server(
            &root.anchors(),
            &leaf,
            &[b.der.clone(), a.der.clone()],
            "example.com"
        ),
        Err(CertError::PathLength)
    );
    // With pathlen 1 on A it is fine.
    let a1 = root.intermediate("A1", Some(1));
    let b1 = a1.intermediate("B1", Some(0));
    let leaf = b1.leaf(leaf_params(&["example.com"]));
    let chain = vec![b1.der.clone(), a1.der.clone()];
    assert!(server(&root.anchors(), &leaf, &chain, "example.com").is_ok());
    // A caller's maximum chain depth counts intermediates.
    let mut policy = Policy::new(KeyUsage::ServerAuth);
    policy.max_chain_depth = Some(1);
    assert_eq!(
        verify_chain_with_policy(
            &root.anchors(),
            &leaf,
            &chain,
            Some(&name("example.com")),
            NOW,
            &policy
        ),
        Err(CertError::PathLength)
    );
    // A non-CA certificate cannot issue.
    let mut not_ca = leaf_params(&["issuer.example"]);
    not_ca.distinguished_name = rcgen::DistinguishedName::new();
    not_ca
        .distinguished_name
        .push(DnType::CommonName, "Not A CA");
    let not_ca = root.intermediate_with(not_ca, KeyPair::generate().expect("key"));
    let leaf = not_ca.leaf(leaf_params(&["example.com"]));
    assert!(matches!(
        server(
            &root.anchors(),
            &leaf,
            std::slice::from_ref(&not_ca.der),
            "example.com"
        ),
        Err(CertError::BasicConstraints(_))
    ));
}

#[test]
fn name_constraints() {
    let root = Ca::root("Root");
    let mut constrained = ca_params("Constrained", None);
    constrained.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("example.com".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                "192.0.2.0".parse::<IpAddr>().expect("ip"),
                24,
            )),
        ],
        excluded_subtrees: vec![GeneralSubtree::DnsName("secret.example.com".into())],
    });
    let inter = root.intermediate_with(constrained, KeyPair::generate().expect("key"));
    let chain = vec![inter.der.clone()];
    let anchors = root.anchors();

    let ok = inter.leaf(leaf_params(&["www.example.com", "192.0.2.10"]));
    assert!(server(&anchors, &ok, &chain, "www.example.com").is_ok());

    for (sans, host) in [
        (&["evil.test"][..], "evil.test"),
        (&["www.example.com", "evil.test"][..], "www.example.com"),
        (&["a.secret.example.com"][..], "a.secret.example.com"),
        (&["www.example.com", "198.51.100.1"][..], "www.example.com"),
        // A wildcard that could match an excluded name.
        (&["*.secret.example.com"][..], "x.secret.example.com"),
    ] {
        let leaf = inter.leaf(leaf_params(sans));
        assert!(
            matches!(
                server(&anchors, &leaf, &chain, host),
                Err(CertError::NameConstraints(_))
            ),
            "{sans:?}"
        );
    }

    // Constraints on the trust anchor itself apply too.
    let mut nc_root = ca_params("NC Root", None);
    nc_root.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName("example.net".into())],
        excluded_subtrees: vec![],
    });
    let nc_root = Ca::root_with(nc_root, KeyPair::generate().expect("key"));
    let leaf = nc_root.leaf(leaf_params(&["example.com"]));
    assert!(matches!(
        server(&nc_root.anchors(), &leaf, &[], "example.com"),
        Err(CertError::NameConstraints(_))
    ));
}

#[test]
fn name_constraint_comparisons_are_budgeted() {
    let root = Ca::root("Root");
    let mut many = ca_params("Many Constraints", None);
    many.name_constraints = Some(NameConstraints {
        permitted_subtrees: (0..300)
            .map(|i| GeneralSubtree::DnsName(format!("p{i}.test")))
            .collect(),
        excluded_subtrees: vec![],
    });
    let inter = root.intermediate_with(many, KeyPair::generate().expect("key"));
    let names: Vec<String> = (0..300).map(|i| format!("p{i}.test")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let leaf = inter.leaf(leaf_params(&refs));
    let mut budget = Budget {
        max_name_constraint_comparisons: 1_000,
        ..Budget::default()
    };
    assert_eq!(
        verify_chain(
            &root.anchors(),
            &leaf,
            std::slice::from_ref(&inter.der),
            KeyUsage::ServerAuth,
            Some(&name("p0.test")),
            NOW,
            &budget
        ),
        Err(CertError::BudgetExceeded("name constraint comparisons"))
    );
    // Within a larger budget the same chain verifies.
    budget.max_name_constraint_comparisons = 1_000_000;
    assert!(verify_chain(
        &root.anchors(),
        &leaf,
        std::slice::from_ref(&inter.der),
        KeyUsage::ServerAuth,
        Some(&name("p0.test")),
        NOW,
        &budget
    )
    .is_ok());
}

#[test]
fn fifty_deep_chain_hits_the_budget() {
    let root = Ca::root("Deep Root");
    let mut cas = vec![root.intermediate("Deep 0", None)];
    for i in 1..50 {
        let next = cas
            .last()
            .expect("previous")
            .intermediate(&format!("Deep {i}"), None);
        cas.push(next);
    }
    let leaf = cas
        .last()
        .expect("deepest")
        .leaf(leaf_params(&["example.com"]));
    // Sent leaf-first, as a server would.
    let chain: Vec<Vec<u8>> = cas.iter().rev().map(|c| c.der.clone()).collect();
    let started = std::time::Instant::now();
    assert_eq!(
        server(&root.anchors(), &leaf, &chain, "example.com"),
        Err(CertError::BudgetExceeded("path depth"))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // It is the budget that stops it: with room for 50 intermediates (and
    // their signatures) the same chain verifies.
    let mut budget = Budget {
        max_depth: 60,
        ..Budget::default()
    };
    let path = verify_chain(
        &root.anchors(),
        &leaf,
        &chain,
        KeyUsage::ServerAuth,
        Some(&name("example.com")),
        NOW,
        &budget,
    )
    .expect("verifies with a bigger budget");
    assert_eq!(path.intermediates().len(), 50);

    // And the signature budget is enforced on its own.
    budget.max_signatures = 10;
    assert_eq!(
        verify_chain(
            &root.anchors(),
            &leaf,
            &chain,
            KeyUsage::ServerAuth,
            Some(&name("example.com")),
            NOW,
            &budget
        ),
        Err(CertError::BudgetExceeded("signature checks"))
    );
}

#[test]
fn unknown_critical_extension_is_refused() {
    let root = Ca::root("Root");
    let mut params = leaf_params(&["example.com"]);
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55738, 666, 1], vec![5, 0]);
    ext.set_criticality(true);
    params.custom_extensions.push(ext);
    let leaf = root.leaf(params);
    assert_eq!(
        server(&root.anchors(), &leaf, &[], "example.com"),
        Err(CertError::UnsupportedCriticalExtension)
    );
}

#[test]
fn revoked_by_crl() {
    let root = Ca::root("CRL Root");
    let mut params = leaf_params(&["example.com"]);
    params.serial_number = Some(SerialNumber::from(4242u64));
    let leaf = root.leaf(params);
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2023, 1, 1),
        next_update: date_time_ymd(2025, 1, 1),
        crl_number: SerialNumber::from(7u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(4242u64),
            revocation_time: date_time_ymd(2023, 6, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&root.issuer())
    .expect("CRL");
    let mut policy = Policy::new(KeyUsage::ServerAuth);
    policy.crls = vec![crl.der().to_vec()];
    let anchors = root.anchors();
    assert_eq!(
        verify_chain_with_policy(
            &anchors,
            &leaf,
            &[],
            Some(&name("example.com")),
            NOW,
            &policy
        ),
        Err(CertError::Revoked)
    );
    let other = root.leaf(leaf_params(&["example.com"]));
    assert!(verify_chain_with_policy(
        &anchors,
        &other,
        &[],
        Some(&name("example.com")),
        NOW,
        &policy
    )
    .is_ok());
}

#[test]
fn trust_anchors_from_pem_and_the_system() {
    let root = Ca::root("PEM Root");
    let pem = root.params.self_signed(&root.key).expect("cert").pem();
    let two = format!(
        "{pem}\n{}",
        Ca::root("Second")
            .params
            .self_signed(&KeyPair::generate().expect("key"))
            .expect("cert")
            .pem()
    );
    assert_eq!(
        TrustAnchors::from_pem(two.as_bytes())
            .expect("two anchors")
            .len(),
        2
    );
    assert!(TrustAnchors::from_pem(b"not pem").is_err());
    // A leaf is not a CA: refused as a trust anchor.
    let leaf = root.leaf(leaf_params(&["example.com"]));
    assert!(TrustAnchors::new().add_der(&leaf).is_err());

    let bundle = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(bundle).exists() {
        let system = TrustAnchors::from_system().expect("system bundle");
        eprintln!(
            "system bundle: {} anchors, {} skipped",
            system.len(),
            system.skipped()
        );
        assert!(system.len() > 50, "{} anchors", system.len());
        assert!(
            system.skipped() * 5 < system.len(),
            "{} skipped",
            system.skipped()
        );
    } else {
        eprintln!("no {bundle} here; system bundle loading not exercised");
    }
}

#[test]
fn plugs_in_as_a_server_cert_verifier() {
    let root = Ca::root("Root");
    let inter = root.intermediate("Intermediate", None);
    let leaf = inter.leaf(leaf_params(&["example.com"]));
    let verifier = WebPkiVerifier::new(Arc::new(root.anchors()));
    let chain = vec![inter.der.clone()];
    assert!(verifier
        .verify_server_cert(&leaf, &chain, Some("example.com"), NOW)
        .is_ok());
    assert_eq!(
        verifier
            .verify_server_cert(&leaf, &chain, Some("example.org"), NOW)
            .err(),
        Some(Error::BadCertificate("certificate not valid for name"))
    );
    assert!(matches!(
        verifier.verify_server_cert(&leaf, &chain, None, NOW),
        Err(Error::BadCertificate(_))
    ));
    assert_eq!(
        verifier
            .verify_server_cert(&leaf, &chain, Some("example.com"), UnixTime(1_999_999_999))
            .err(),
        Some(Error::BadCertificate("certificate expired"))
    );
    assert_eq!(
        Error::from(CertError::BudgetExceeded("path depth")),
        Error::BadCertificate("path depth")
    );
}

#[test]
fn san_types_from_rcgen_round_trip() {
    // An IPv6 SAN and an e-mail SAN on a client certificate.
    let root = Ca::root("Root");
    let mut params = leaf_params(&["::1"]);
    params.subject_alt_names.push(SanType::Rfc822Name(
        "user@example.com".try_into().expect("ia5"),
    ));
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let leaf = root.leaf(params);
    assert!(server(&root.anchors(), &leaf, &[], "::1").is_ok());
    assert!(verify_chain(
        &root.anchors(),
        &leaf,
        &[],
        KeyUsage::ClientAuth,
        None,
        NOW,
        &Budget::default()
    )
    .is_ok());
}

#[test]
fn plugs_in_as_a_client_cert_verifier() {
    let root = Ca::root("Client Root");
    let inter = root.intermediate("Client Issuing CA", None);
    let verifier = WebPkiClientVerifier::new(Arc::new(root.anchors()));
    let chain = vec![inter.der.clone()];

    let mut client = leaf_params(&[]);
    client.distinguished_name.push(DnType::CommonName, "alice");
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let alice = inter.leaf(client.clone());
    assert!(verifier.verify_client_cert(&alice, &chain, NOW).is_ok());

    // No EKU is fine for a client (RFC 5280); a server-only EKU is not.
    client.extended_key_usages.clear();
    let no_eku = inter.leaf(client.clone());
    assert!(verifier.verify_client_cert(&no_eku, &chain, NOW).is_ok());
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_only = inter.leaf(client);
    assert_eq!(
        verifier.verify_client_cert(&server_only, &chain, NOW).err(),
        Some(Error::BadCertificate(
            "end-entity certificate is not valid for this usage"
        ))
    );
    // A client from another PKI is unknown.
    let mut other = leaf_params(&["example.com"]);
    other.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let stranger = Ca::root("Other Root").leaf(other);
    assert_eq!(
        verifier.verify_client_cert(&stranger, &[], NOW).err(),
        Some(Error::BadCertificate("unknown issuer"))
    );
}

#[test]
fn a_trusted_certificate_is_checked_for_validity_key_usage_and_name() {
    use tls_core::x509::{check_trusted_certificate, CertError};
    use tls_core::UnixTime;
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["svc.internal".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("10.0.0.7".parse().unwrap()));
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let in_2025 = UnixTime(1_735_689_600);
    assert_eq!(check_trusted_certificate(&der, None, in_2025), Ok(()));
    assert_eq!(
        check_trusted_certificate(&der, Some("svc.internal"), in_2025),
        Ok(())
    );
    assert_eq!(
        check_trusted_certificate(&der, Some("10.0.0.7"), in_2025),
        Ok(())
    );
    assert_eq!(
        check_trusted_certificate(&der, Some("other.internal"), in_2025),
        Err(CertError::NameMismatch)
    );
    let in_2031 = UnixTime(1_924_992_000);
    assert!(check_trusted_certificate(&der, Some("svc.internal"), in_2031).is_err());

    // Issue 13 item 5: its keyUsage must allow signing, as for any TLS
    // end-entity; being a CA certificate is fine for one trusted as it is.
    for (usages, ca, expected) in [
        (vec![rcgen::KeyUsagePurpose::KeyEncipherment], false, false),
        (vec![rcgen::KeyUsagePurpose::KeyCertSign], true, false),
        (vec![rcgen::KeyUsagePurpose::DigitalSignature], false, true),
        (vec![], true, true),
    ] {
        params.key_usages = usages.clone();
        params.is_ca = if ca {
            IsCa::Ca(BasicConstraints::Unconstrained)
        } else {
            IsCa::NoCa
        };
        let der = params.self_signed(&key).unwrap().der().to_vec();
        assert_eq!(
            check_trusted_certificate(&der, Some("svc.internal"), in_2025).is_ok(),
            expected,
            "{usages:?} cA {ca}"
        );
    }
}

#[test]
fn a_client_with_roots_validates_a_real_chain_in_a_handshake() {
    use std::sync::Arc;
    use tls_core::{CertifiedKey, ClientConfig, Connection, ServerConfig, TrustAnchors};
    let pki = tls_tests::pki();
    let leaf = pki.leaf(tls_tests::KeyType::EcdsaP256);
    let anchors = TrustAnchors::from_pem_file(&pki.ca_pem).unwrap();
    let key = CertifiedKey::from_pem(&leaf.chain_pem_bytes, &leaf.key_pem_bytes).unwrap();
    let server_config = Arc::new(ServerConfig::with_single_cert(key));
    for (name, accepted) in [
        ("localhost", true),
        ("127.0.0.1", true),
        ("elsewhere.example", false),
    ] {
        let client_config = Arc::new(ClientConfig::with_roots(anchors.clone()));
        let mut client = Connection::client(client_config, Some(name)).unwrap();
        let mut server = Connection::server(server_config.clone());
        let mut outcome = Ok(());
        for _ in 0..10 {
            let to_server = client.pending_tls().to_vec();
            client.consume_tls(to_server.len());
            let to_client = server.pending_tls().to_vec();
            server.consume_tls(to_client.len());
            outcome = server
                .feed(&to_server)
                .and_then(|()| client.feed(&to_client));
            if outcome.is_err() || !client.is_handshaking() {
                break;
            }
        }
        assert_eq!(
            outcome.is_ok() && !client.is_handshaking(),
            accepted,
            "{name}: {outcome:?}"
        );
    }
}

/// A leaf for both usages: SAN example.com, EKU serverAuth and clientAuth,
/// CN "leaf", and the keyUsage bits given (none: no keyUsage extension).
fn dual_use_leaf(key_usages: &[KeyUsagePurpose]) -> CertificateParams {
    let mut p = leaf_params(&["example.com"]);
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, "leaf");
    p.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    p.key_usages = key_usages.to_vec();
    p
}

/// The verdict for `leaf` as a server certificate (for example.com) and as a
/// client certificate, each as `Err(reason)` when refused.
fn both_sides(
    anchors: &TrustAnchors,
    leaf: &[u8],
    inters: &[Vec<u8>],
) -> [Result<(), &'static str>; 2] {
    let anchors = Arc::new(anchors.clone());
    let reason = |e: Error| match e {
        Error::BadCertificate(why) => why,
        other => panic!("not a certificate refusal: {other:?}"),
    };
    [
        WebPkiVerifier::new(anchors.clone())
            .verify_server_cert(leaf, inters, Some("example.com"), NOW)
            .map(|_| ())
            .map_err(reason),
        WebPkiClientVerifier::new(anchors)
            .verify_client_cert(leaf, inters, NOW)
            .map(|_| ())
            .map_err(reason),
    ]
}

/// Issue 13 item 5: an end-entity's keyUsage must allow digitalSignature and
/// a CA certificate is no end-entity, for servers and clients alike.
#[test]
fn end_entity_key_usage_and_ca_bit_are_checked_alike_on_both_sides() {
    use KeyUsagePurpose::{
        ContentCommitment, DigitalSignature, KeyAgreement, KeyCertSign, KeyEncipherment,
    };
    let root = Ca::root("KU Root");
    let anchors = root.anchors();
    const NO_DS: Result<(), &str> = Err("end-entity keyUsage lacks digitalSignature");
    for (usages, expected) in [
        (&[][..], Ok(())),
        (&[DigitalSignature][..], Ok(())),
        (&[DigitalSignature, KeyEncipherment][..], Ok(())),
        (&[KeyEncipherment][..], NO_DS),
        (&[KeyAgreement][..], NO_DS),
        (&[ContentCommitment][..], NO_DS),
    ] {
        let leaf = root.leaf(dual_use_leaf(usages));
        assert_eq!(
            both_sides(&anchors, &leaf, &[]),
            [expected, expected],
            "{usages:?}"
        );
    }
    // cA TRUE in the leaf position: refused as server and as client.
    let mut ca_leaf = dual_use_leaf(&[DigitalSignature, KeyCertSign]);
    ca_leaf.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_leaf = root.leaf(ca_leaf);
    let refused = Err("CA certificate used as end-entity");
    assert_eq!(both_sides(&anchors, &ca_leaf, &[]), [refused, refused]);
    // Even under the plain RFC 5280 profile.
    let mut policy = Policy::new(KeyUsage::ServerAuth);
    policy.profile = Profile::Rfc5280;
    assert_eq!(
        verify_chain_with_policy(&anchors, &ca_leaf, &[], None, NOW, &policy).err(),
        Some(CertError::BasicConstraints(
            "CA certificate used as end-entity"
        ))
    );
}

/// Issue 13 item 7: no authorityKeyIdentifier anywhere on the path; the
/// issuer is found by name and signature, also among same-named CAs.
#[test]
fn certificates_without_authority_key_identifier_verify_on_both_sides() {
    let root = Ca::root("No-AKI Root");
    let mut inter_params = ca_params("No-AKI Issuing CA", None);
    inter_params.use_authority_key_identifier_extension = false;
    let inter_key = KeyPair::generate().expect("key");
    let inter_der = inter_params
        .signed_by(&inter_key, &root.issuer())
        .expect("signed")
        .der()
        .to_vec();
    let inter = Ca {
        params: inter_params,
        key: inter_key,
        der: inter_der,
    };
    // A decoy with the same name and another key, offered first.
    let decoy = root.intermediate("No-AKI Issuing CA", None);
    let leaf_key = KeyPair::generate().expect("key");
    let leaf = dual_use_leaf(&[KeyUsagePurpose::DigitalSignature])
        .signed_by(&leaf_key, &inter.issuer())
        .expect("signed")
        .der()
        .to_vec();
    let inters = vec![decoy.der.clone(), inter.der.clone()];
    assert_eq!(
        both_sides(&root.anchors(), &leaf, &inters),
        [Ok(()), Ok(())]
    );
    let path = server(&root.anchors(), &leaf, &inters, "example.com").expect("verifies");
    assert_eq!(path.intermediates(), &[1], "the CA whose key signed it");
    // Without its issuer the chain is still refused.
    assert_eq!(
        both_sides(&root.anchors(), &leaf, std::slice::from_ref(&decoy.der)),
        [Err("bad signature"), Err("bad signature")]
    );
}

/// Issue 13 item 10: the subject commonName is not used to match names, so
/// one that names another host, an IP address outside the SANs, or is text
/// we cannot decode leaves the chain valid. Only a CN that respells one of
/// the SAN entries is refused (CA/Browser Forum BR §7.1.4.3).
#[test]
fn a_common_name_naming_something_else_does_not_invalidate_the_chain() {
    let root = Ca::root("CN Root");
    let anchors = root.anchors();
    let leaf_with_cn = |cn: rcgen::DnValue| {
        let mut p = leaf_params(&["example.com", "192.0.2.1"]);
        p.distinguished_name = rcgen::DistinguishedName::new();
        p.distinguished_name.push(DnType::CommonName, cn);
        root.leaf(p)
    };
    let text = |s: &str| rcgen::DnValue::Utf8String(s.to_string());
    for cn in [
        text("10.1.2.3"),
        text("010.1.2.3"),
        text("12345"),
        text("Bücher-Server"),
        text("bücher.example"),
        text("other.example.net"),
        rcgen::DnValue::TeletexString("legacy-name".try_into().expect("T61")),
    ] {
        let leaf = leaf_with_cn(cn.clone());
        assert!(
            server(&anchors, &leaf, &[], "example.com").is_ok(),
            "CN {cn:?}"
        );
        assert!(
            server(&anchors, &leaf, &[], "192.0.2.1").is_ok(),
            "CN {cn:?}"
        );
    }
    for (cn, why) in [
        (
            "192.0.2.001",
            "commonName is another spelling of an iPAddress",
        ),
        (
            "0xC0000201",
            "commonName is another spelling of an iPAddress",
        ),
        ("Example.COM", "commonName differs in case from a dNSName"),
    ] {
        let leaf = leaf_with_cn(text(cn));
        assert_eq!(
            server(&anchors, &leaf, &[], "example.com").err(),
            Some(CertError::Profile(why)),
            "CN {cn}"
        );
    }
}

/// Issue 13 item 10: a zero serial number is accepted (RFC 5280 §4.1.2.2
/// asks users to handle one; OpenSSL, Go and webpki accept it).
#[test]
fn a_zero_serial_number_is_accepted() {
    let root = Ca::root("Serial Root");
    let mut params = dual_use_leaf(&[KeyUsagePurpose::DigitalSignature]);
    params.serial_number = Some(SerialNumber::from(vec![0u8]));
    let leaf = root.leaf(params);
    assert_eq!(both_sides(&root.anchors(), &leaf, &[]), [Ok(()), Ok(())]);
}

/// OpenSSL as the oracle (issue 13 items 5, 7 and 10): certificates made by
/// `openssl x509 -req` with the extension sections private CAs use, each
/// judged by `openssl verify -purpose sslclient/sslserver` and by us as
/// client and server certificate. Where we differ from OpenSSL on purpose it
/// is spelled out: OpenSSL's sslserver purpose takes keyEncipherment alone
/// (static RSA key exchange, which we never do), and OpenSSL lets a CA
/// certificate stand as leaf (we side with webpki).
#[test]
fn openssl_verify_agrees_on_private_ca_certificates() {
    use std::process::Command;
    let openssl = tls_tests::openssl_peer::openssl();
    let dir = tls_tests::tunnel::temp_dir("x509-oracle");
    let common = "extendedKeyUsage = serverAuth, clientAuth\nsubjectAltName = DNS:example.com\n";
    let config = format!(
        "[req]\ndistinguished_name = dn\n[dn]\n\
         [root]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
         subjectKeyIdentifier = hash\nauthorityKeyIdentifier = none\n\
         [ds]\nkeyUsage = critical, digitalSignature\n{common}\
         [no_ku]\nbasicConstraints = CA:FALSE\n{common}\
         [kenc]\nkeyUsage = critical, keyEncipherment\n{common}\
         [ca_leaf]\nbasicConstraints = critical, CA:TRUE\n\
         keyUsage = critical, digitalSignature, keyCertSign\n{common}\
         [no_aki]\nkeyUsage = digitalSignature\nauthorityKeyIdentifier = none\n{common}\
         [aki_issuer_only]\nkeyUsage = digitalSignature\nauthorityKeyIdentifier = issuer:always\n{common}\
         [aki_keyid_issuer]\nkeyUsage = digitalSignature\n\
         authorityKeyIdentifier = keyid, issuer:always\n{common}"
    );
    let cnf = dir.join("openssl.cnf");
    std::fs::write(&cnf, config).expect("write config");
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let run = |args: &[&str]| {
        let out = Command::new(&openssl)
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &path("root.key"),
        "-out",
        &path("root.pem"),
        "-subj",
        "/CN=Oracle Root",
        "-days",
        "30",
        "-config",
        &path("openssl.cnf"),
        "-extensions",
        "root",
    ]);
    let anchors = TrustAnchors::from_pem_file(dir.join("root.pem")).expect("root loads");
    // Certificates made this second are valid from this second on.
    let now = || {
        UnixTime(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs(),
        )
    };
    let openssl_accepts = |purpose: &str, leaf: &str| {
        Command::new(&openssl)
            .args([
                "verify",
                "-purpose",
                purpose,
                "-CAfile",
                &path("root.pem"),
                leaf,
            ])
            .output()
            .expect("run openssl verify")
            .status
            .success()
    };
    // (section, CN, serial, we accept, OpenSSL sslserver accepts, sslclient accepts)
    for (section, cn, serial, ours, ossl_server, ossl_client) in [
        ("ds", "leaf", "1", true, true, true),
        ("no_ku", "leaf", "2", true, true, true),
        ("kenc", "leaf", "3", false, true, false),
        ("ca_leaf", "leaf", "4", false, true, true),
        ("no_aki", "leaf", "5", true, true, true),
        ("aki_issuer_only", "leaf", "6", true, true, true),
        ("aki_keyid_issuer", "leaf", "7", true, true, true),
        ("ds", "10.9.8.7", "8", true, true, true),
        ("ds", "leaf", "0", true, true, true),
    ] {
        let name = format!("{section}-{serial}");
        let (key, csr, pem) = (
            path(&format!("{name}.key")),
            path(&format!("{name}.csr")),
            path(&format!("{name}.pem")),
        );
        run(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
            "-config",
            &path("openssl.cnf"),
        ]);
        run(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &path("root.pem"),
            "-CAkey",
            &path("root.key"),
            "-set_serial",
            serial,
            "-days",
            "10",
            "-out",
            &pem,
            "-extfile",
            &path("openssl.cnf"),
            "-extensions",
            section,
        ]);
        let der = tls_core::x509::pem_certificates(&std::fs::read(&pem).expect("leaf"))
            .expect("PEM")
            .remove(0);
        let as_server = WebPkiVerifier::new(Arc::new(anchors.clone())).verify_server_cert(
            &der,
            &[],
            Some("example.com"),
            now(),
        );
        let as_client = WebPkiClientVerifier::new(Arc::new(anchors.clone())).verify_client_cert(
            &der,
            &[],
            now(),
        );
        let case = format!("{section} CN={cn} serial={serial}");
        assert_eq!(as_server.is_ok(), ours, "{case} as server: {as_server:?}");
        assert_eq!(as_client.is_ok(), ours, "{case} as client: {as_client:?}");
        assert_eq!(
            openssl_accepts("sslserver", &pem),
            ossl_server,
            "{case}: openssl sslserver"
        );
        assert_eq!(
            openssl_accepts("sslclient", &pem),
            ossl_client,
            "{case}: openssl sslclient"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 13 item 10: an rfc822Name with a quoted local part is a valid RFC
/// 5321 Mailbox (RFC 5280 §4.2.1.6), so it does not invalidate the leaf; an
/// unquoted one with two `@` still does.
#[test]
fn a_quoted_mailbox_in_the_subject_alt_name_is_valid() {
    let root = Ca::root("Mailbox Root");
    let with_mailbox = |mailbox: &str| {
        let mut p = leaf_params(&["example.com"]);
        p.subject_alt_names.push(SanType::Rfc822Name(
            mailbox.to_string().try_into().expect("IA5"),
        ));
        root.leaf(p)
    };
    let quoted = with_mailbox("\"john doe\"@example.com");
    assert!(server(&root.anchors(), &quoted, &[], "example.com").is_ok());
    let broken = with_mailbox("invalid@address@example.com");
    assert_eq!(
        server(&root.anchors(), &broken, &[], "example.com").err(),
        Some(CertError::Profile("invalid rfc822Name in subjectAltName"))
    );
}

/// Issue 13 item 10: a subject emailAddress that is not an IA5String cannot
/// be checked against rfc822Name constraints, so it fails only where such
/// constraints exist (RFC 5280 §4.2.1.10), not under DNS-only ones.
#[test]
fn an_unchecked_subject_email_fails_only_under_email_constraints() {
    let email_oid = vec![1, 2, 840, 113_549, 1, 9, 1];
    for (subtree, expected) in [
        (GeneralSubtree::DnsName("example.com".into()), Ok(())),
        (
            GeneralSubtree::Rfc822Name("example.com".into()),
            Err(CertError::NameConstraints(
                "subject emailAddress that cannot be checked",
            )),
        ),
    ] {
        let mut params = ca_params("Constrained Root", None);
        params.name_constraints = Some(NameConstraints {
            permitted_subtrees: vec![subtree.clone()],
            excluded_subtrees: vec![],
        });
        let root = Ca::root_with(params, KeyPair::generate().expect("key"));
        let mut leaf = leaf_params(&["example.com"]);
        leaf.distinguished_name.push(
            DnType::CustomDnType(email_oid.clone()),
            rcgen::DnValue::Utf8String("admin@example.com".into()),
        );
        let leaf = root.leaf(leaf);
        assert_eq!(
            server(&root.anchors(), &leaf, &[], "example.com").map(|_| ()),
            expected,
            "{subtree:?}"
        );
    }
}

/// Issue 13 item 5 on the wire: a server requiring client certificates
/// refuses one whose keyUsage is keyEncipherment alone, or that is a CA
/// certificate, with a bad_certificate alert in the handshake (TLS 1.3 and
/// 1.2); one with digitalSignature gets through.
#[test]
fn a_server_refuses_a_client_certificate_that_cannot_sign_in_the_handshake() {
    use tls_core::{
        AlertDescription, CertifiedKey, ClientConfig, Connection, ProtocolVersion, ServerConfig,
    };
    let pki = tls_tests::pki();
    let server_leaf = pki.leaf(tls_tests::KeyType::EcdsaP256);
    let server_key = || {
        CertifiedKey::from_pem(&server_leaf.chain_pem_bytes, &server_leaf.key_pem_bytes)
            .expect("server key")
    };
    let client_root = Ca::root("Client Root");
    let client_cert = |params: CertificateParams| {
        let key = KeyPair::generate().expect("key");
        let cert = params
            .signed_by(&key, &client_root.issuer())
            .expect("signed");
        Arc::new(
            CertifiedKey::from_pem(cert.pem().as_bytes(), key.serialize_pem().as_bytes())
                .expect("client key"),
        )
    };
    let mut ca_leaf = dual_use_leaf(&[
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
    ]);
    ca_leaf.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cases = [
        (
            "digitalSignature",
            client_cert(dual_use_leaf(&[KeyUsagePurpose::DigitalSignature])),
            None,
        ),
        (
            "keyEncipherment",
            client_cert(dual_use_leaf(&[KeyUsagePurpose::KeyEncipherment])),
            Some("end-entity keyUsage lacks digitalSignature"),
        ),
        (
            "cA",
            client_cert(ca_leaf),
            Some("CA certificate used as end-entity"),
        ),
    ];
    for version in [ProtocolVersion::Tls13, ProtocolVersion::Tls12] {
        for (what, cert, refusal) in &cases {
            let mut server_config = ServerConfig::with_single_cert(server_key());
            server_config.client_verifier = Some(Arc::new(WebPkiClientVerifier::new(Arc::new(
                client_root.anchors(),
            ))));
            server_config.versions = vec![version];
            let mut client_config =
                ClientConfig::with_roots(TrustAnchors::from_pem_file(&pki.ca_pem).expect("CA"));
            client_config.client_cert = Some(cert.clone());
            client_config.versions = vec![version];
            let mut client =
                Connection::client(Arc::new(client_config), Some("localhost")).expect("client");
            let mut server = Connection::server(Arc::new(server_config));
            let (mut server_result, mut client_result) = (Ok(()), Ok(()));
            for _ in 0..10 {
                let to_server = client.pending_tls().to_vec();
                client.consume_tls(to_server.len());
                server_result = server.feed(&to_server);
                let to_client = server.pending_tls().to_vec();
                server.consume_tls(to_client.len());
                client_result = client.feed(&to_client);
                if server_result.is_err() || client_result.is_err() || !server.is_handshaking() {
                    break;
                }
            }
            let case = format!("{version:?} {what}");
            match refusal {
                None => {
                    assert!(
                        server_result.is_ok() && !server.is_handshaking(),
                        "{case}: {server_result:?}"
                    );
                }
                Some(why) => {
                    assert_eq!(server_result, Err(Error::BadCertificate(why)), "{case}");
                    assert_eq!(
                        client_result,
                        Err(Error::AlertReceived(AlertDescription::BadCertificate)),
                        "{case}"
                    );
                }
            }
        }
    }
}
