//! Path-building tests on graphs generated with rcgen: cycles, the
//! pathological same-subject/same-key graph, and cross-signing.

use alloc::string::ToString;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};

use super::*;

const NOW: UnixTime = UnixTime(1_704_067_200); // 2024-01-01

fn ca_params(name: &str, serial: u64) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(DnType::CommonName, name);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    p.serial_number = Some(SerialNumber::from(serial));
    p.use_authority_key_identifier_extension = true;
    p
}

fn leaf_params() -> CertificateParams {
    let mut p = CertificateParams::new(vec!["example.com".to_string()]).unwrap();
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    p.use_authority_key_identifier_extension = true;
    p
}

fn sign(
    params: &CertificateParams,
    key: &KeyPair,
    issuer: (&CertificateParams, &KeyPair),
) -> Vec<u8> {
    params
        .signed_by(key, &Issuer::from_params(issuer.0, issuer.1))
        .unwrap()
        .der()
        .to_vec()
}

fn example() -> ServerName {
    ServerName::parse("example.com").unwrap()
}

fn check(
    anchors: &TrustAnchors,
    leaf: &[u8],
    inters: &[Vec<u8>],
) -> Result<VerifiedPath, CertError> {
    verify_chain(
        anchors,
        leaf,
        inters,
        KeyUsage::ServerAuth,
        Some(&example()),
        NOW,
        &Budget::default(),
    )
}

#[test]
fn x509_cycle_without_anchor_is_unknown_issuer() {
    // A and B sign each other; the leaf is under A; the trusted root is
    // unrelated.
    let (ka, kb, kr) = (
        KeyPair::generate().unwrap(),
        KeyPair::generate().unwrap(),
        KeyPair::generate().unwrap(),
    );
    let (pa, pb, pr) = (ca_params("A", 1), ca_params("B", 2), ca_params("Root", 3));
    let a_by_b = sign(&pa, &ka, (&pb, &kb));
    let b_by_a = sign(&pb, &kb, (&pa, &ka));
    let leaf = sign(&leaf_params(), &KeyPair::generate().unwrap(), (&pa, &ka));
    let mut anchors = TrustAnchors::new();
    anchors.add_der(pr.self_signed(&kr).unwrap().der()).unwrap();
    assert_eq!(
        check(&anchors, &leaf, &[a_by_b.clone(), b_by_a.clone()]),
        Err(CertError::UnknownIssuer)
    );
    // Trust B and the same graph verifies: leaf -> A (by B) -> B.
    anchors.add_der(pb.self_signed(&kb).unwrap().der()).unwrap();
    let path = check(&anchors, &leaf, &[b_by_a, a_by_b]).unwrap();
    assert_eq!((path.intermediates(), path.anchor()), (&[1][..], 1));
}

#[test]
fn x509_same_subject_same_key_graph_hits_the_budget() {
    // 40 certificates, all "ICA", all the same key, each signed by that key:
    // every one looks like the issuer of every other.
    let key = KeyPair::generate().unwrap();
    let inters: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            let p = ca_params("ICA", 100 + i);
            sign(&p, &key, (&p, &key))
        })
        .collect();
    let leaf = sign(
        &leaf_params(),
        &KeyPair::generate().unwrap(),
        (&ca_params("ICA", 1), &key),
    );
    let mut anchors = TrustAnchors::new();
    let kr = KeyPair::generate().unwrap();
    anchors
        .add_der(ca_params("Root", 9).self_signed(&kr).unwrap().der())
        .unwrap();
    let err = check(&anchors, &leaf, &inters).unwrap_err();
    assert!(matches!(err, CertError::BudgetExceeded(_)), "{err:?}");
}

#[test]
fn x509_verifier_trait_and_error_mapping() {
    let kr = KeyPair::generate().unwrap();
    let pr = ca_params("Root", 3);
    let mut anchors = TrustAnchors::new();
    anchors.add_der(pr.self_signed(&kr).unwrap().der()).unwrap();
    let leaf = sign(&leaf_params(), &KeyPair::generate().unwrap(), (&pr, &kr));
    let verifier = WebPkiVerifier::new(Arc::new(anchors));
    assert!(verifier
        .verify_server_cert(&leaf, &[], Some("example.com"), NOW)
        .is_ok());
    assert_eq!(
        verifier
            .verify_server_cert(&leaf, &[], Some("example.org"), NOW)
            .unwrap_err(),
        Error::BadCertificate("certificate not valid for name")
    );
    assert_eq!(
        verifier
            .verify_server_cert(&leaf, &[], Some("example.com"), UnixTime(0))
            .unwrap_err(),
        Error::BadCertificate("certificate not yet valid")
    );
    assert!(verifier
        .verify_server_cert(b"junk", &[], Some("example.com"), NOW)
        .is_err());
    assert_eq!(CertError::Expired.to_string(), "certificate expired");
    assert_eq!(
        CertError::NameConstraints("name is not in a permitted subtree").to_string(),
        "name constraints: name is not in a permitted subtree"
    );
}

#[test]
fn x509_truncated_and_mangled_certificates_fail_closed() {
    let kr = KeyPair::generate().unwrap();
    let pr = ca_params("Root", 3);
    let mut anchors = TrustAnchors::new();
    anchors.add_der(pr.self_signed(&kr).unwrap().der()).unwrap();
    let leaf = sign(&leaf_params(), &KeyPair::generate().unwrap(), (&pr, &kr));
    assert!(check(&anchors, &leaf, &[]).is_ok());
    for cut in [0, 1, 10, leaf.len() / 2, leaf.len() - 1] {
        assert!(check(&anchors, &leaf[..cut], &[]).is_err(), "cut {cut}");
    }
    // Flip every byte in turn: nothing panics and nothing verifies.
    for i in 0..leaf.len() {
        let mut bad = leaf.clone();
        bad[i] ^= 0x55;
        assert!(check(&anchors, &bad, &[]).is_err(), "flip at {i}");
        assert!(check(&anchors, &leaf, &[bad]).is_ok());
    }
}
