//! Tests of the key exchanges, classical and hybrid.

use super::*;

const GROUPS: [NamedGroup; 3] = [
    NamedGroup::X25519,
    NamedGroup::Secp256r1,
    NamedGroup::Secp384r1,
];

#[test]
fn both_sides_agree() {
    for g in GROUPS {
        assert!(supported_group(g));
        let a = KeyExchange::generate(g).unwrap();
        let b = KeyExchange::generate(g).unwrap();
        assert_eq!(a.group(), g);
        assert_eq!(a.public_key().len(), share_len(g));
        let a_pub = a.public_key().to_vec();
        let b_pub = b.public_key().to_vec();
        let s1 = a.complete(&b_pub).unwrap_or_else(|e| panic!("{g:?}: {e}"));
        let s2 = b.complete(&a_pub).unwrap();
        assert_eq!(s1.as_ref(), s2.as_ref());
        assert_eq!(s1.len(), if g == NamedGroup::Secp384r1 { 48 } else { 32 });
    }
}

#[test]
fn bad_peer_shares() {
    let bad = Err(Error::IllegalParameter("bad key share"));
    for g in GROUPS {
        let n = share_len(g);
        let wrong_len = alloc::vec![4u8; n - 1];
        assert_eq!(
            KeyExchange::generate(g)
                .unwrap()
                .complete(&wrong_len)
                .map(|_| ()),
            bad
        );
        assert_eq!(
            KeyExchange::generate(g).unwrap().complete(&[]).map(|_| ()),
            bad
        );
        let mut zeros = alloc::vec![0u8; n];
        assert_eq!(
            KeyExchange::generate(g)
                .unwrap()
                .complete(&zeros)
                .map(|_| ()),
            bad
        );
        if g != NamedGroup::X25519 {
            zeros[0] = 4; // uncompressed prefix, but (0, 0) is not on the curve
            assert_eq!(
                KeyExchange::generate(g)
                    .unwrap()
                    .complete(&zeros)
                    .map(|_| ()),
                bad
            );
        }
    }
    // a compressed P-256 point
    let p = KeyExchange::generate(NamedGroup::Secp256r1).unwrap();
    let mut compressed = p.public_key()[..33].to_vec();
    compressed[0] = 2;
    assert_eq!(p.complete(&compressed).map(|_| ()), bad);
    // a low-order X25519 point (order 8) gives the all-zero result
    let mut low = [0u8; 32];
    low[0] = 1; // u = 1 has small order
    assert_eq!(
        KeyExchange::generate(NamedGroup::X25519)
            .unwrap()
            .complete(&low)
            .map(|_| ()),
        bad
    );
}

#[test]
fn unsupported_group() {
    assert!(!supported_group(NamedGroup::X448));
    assert!(matches!(
        KeyExchange::generate(NamedGroup::Secp521r1),
        Err(Error::Internal(_))
    ));
    assert!(!supported_group(NamedGroup::Unknown(0x11ec)));
}

/// The hybrid groups with their client share, server share and secret
/// lengths, and whether ML-KEM comes first, as RFC 10024 lays them out.
const HYBRIDS: [(NamedGroup, usize, usize, usize, bool); 3] = [
    (
        NamedGroup::X25519MlKem768,
        1184 + 32,
        1088 + 32,
        32 + 32,
        true,
    ),
    (
        NamedGroup::Secp256r1MlKem768,
        65 + 1184,
        65 + 1088,
        32 + 32,
        false,
    ),
    (
        NamedGroup::Secp384r1MlKem1024,
        97 + 1568,
        97 + 1568,
        48 + 32,
        false,
    ),
];

/// A random source giving 0, 1, 2, ... from the start of every request.
struct Counting;

impl EntropySource for Counting {
    fn fill(&self, dest: &mut [u8]) -> Result<(), entropy::EntropyError> {
        for (b, i) in dest.iter_mut().zip(0u8..) {
            *b = i;
        }
        Ok(())
    }
}

/// A random source that always fails.
struct Failing;

impl EntropySource for Failing {
    fn fill(&self, _: &mut [u8]) -> Result<(), entropy::EntropyError> {
        Err(entropy::EntropyError("test source failed"))
    }
}

fn host() -> entropy::HostEntropy {
    entropy::HostEntropy
}

const BAD_SHARE: Result<(), Error> = Err(Error::IllegalParameter("bad key share"));

#[test]
fn every_group_agrees_through_start_and_respond() {
    let classical = GROUPS.map(|g| {
        (
            g,
            share_len(g),
            share_len(g),
            if g == NamedGroup::Secp384r1 { 48 } else { 32 },
        )
    });
    let hybrid = HYBRIDS.map(|(g, c, s, n, _)| (g, c, s, n));
    for (g, client_len, server_len, secret_len) in classical.into_iter().chain(hybrid) {
        assert!(supported_tls13_group(g), "{g:?}");
        let client = KeyExchange::start(g, &host()).unwrap();
        assert_eq!(client.group(), g);
        assert_eq!(client.public_key().len(), client_len, "{g:?}");
        let (server_share, server_secret) =
            KeyExchange::respond(g, client.public_key(), &host()).unwrap();
        assert_eq!(server_share.len(), server_len, "{g:?}");
        assert_eq!(server_secret.len(), secret_len, "{g:?}");
        let client_secret = client.complete(&server_share).unwrap();
        assert_eq!(client_secret.as_ref(), server_secret.as_ref(), "{g:?}");
    }
}

#[test]
fn the_exposed_calls_agree_and_know_the_lengths() {
    // What the fuzz targets drive (`internal::crypto`).
    let classical = GROUPS.map(|g| (g, share_len(g), share_len(g)));
    let hybrid = HYBRIDS.map(|(g, c, s, _, _)| (g, c, s));
    for (g, client_len, server_len) in classical.into_iter().chain(hybrid) {
        assert_eq!(share_lengths(g), Some((client_len, server_len)), "{g:?}");
        let client = ClientShare::start(g, &host()).unwrap();
        let (share, server_secret) = server_share(g, client.share(), &host()).unwrap();
        assert_eq!(*client.complete(&share).unwrap(), *server_secret, "{g:?}");
        let short = &share[..server_len - 1];
        let client = ClientShare::start(g, &host()).unwrap();
        assert_eq!(client.complete(short).map(|_| ()), BAD_SHARE, "{g:?}");
    }
    assert_eq!(
        share_lengths(NamedGroup::X25519MlKem768),
        Some((1216, 1120))
    );
    assert_eq!(share_lengths(NamedGroup::Unknown(0x0200)), None);
}

#[test]
fn hybrids_are_tls13_only() {
    for (g, ..) in HYBRIDS {
        assert!(!supported_group(g), "{g:?} must not be offered to TLS 1.2");
        assert!(supported_tls13_group(g));
        // generate() is the classical, OS-random path only.
        assert!(matches!(KeyExchange::generate(g), Err(Error::Internal(_))));
    }
    assert!(!supported_tls13_group(NamedGroup::X448));
    assert!(matches!(
        KeyExchange::respond(NamedGroup::Secp521r1, &[4; 133], &host()),
        Err(Error::Internal(_))
    ));
}

#[test]
fn hybrid_shares_of_the_wrong_length_are_refused() {
    for (g, client_len, server_len, ..) in HYBRIDS {
        let good = KeyExchange::start(g, &host())
            .unwrap()
            .public_key()
            .to_vec();
        for len in [0, 1, client_len - 1, client_len + 1, server_len] {
            if len == client_len {
                continue;
            }
            let mut share = good.clone();
            share.resize(len, 4);
            let got = KeyExchange::respond(g, &share, &host()).map(|_| ());
            assert_eq!(got, BAD_SHARE, "{g:?} client share of {len}");
        }
        let (server, _) = KeyExchange::respond(g, &good, &host()).unwrap();
        for len in [0, 1, server_len - 1, server_len + 1, client_len] {
            if len == server_len {
                continue;
            }
            let mut share = server.clone();
            share.resize(len, 4);
            let kx = KeyExchange::start(g, &host()).unwrap();
            assert_eq!(
                kx.complete(&share).map(|_| ()),
                BAD_SHARE,
                "{g:?} server share of {len}"
            );
        }
    }
}

/// Where the ML-KEM and ECDH parts sit in a share of `len` bytes.
fn parts(
    kem_first: bool,
    len: usize,
    ecdh_len: usize,
) -> (core::ops::Range<usize>, core::ops::Range<usize>) {
    if kem_first {
        (0..len - ecdh_len, len - ecdh_len..len)
    } else {
        (ecdh_len..len, 0..ecdh_len)
    }
}

#[test]
fn tampered_encapsulation_keys_and_points_are_refused() {
    for (g, client_len, server_len, _, kem_first) in HYBRIDS {
        let ecdh = Hybrid::of(g).unwrap().ecdh;
        let good = KeyExchange::start(g, &host())
            .unwrap()
            .public_key()
            .to_vec();
        let (kem, point) = parts(kem_first, client_len, share_len(ecdh));
        // The first 12-bit coefficient of the encapsulation key set to
        // 4095, not below q = 3329: FIPS 203's modulus check fails.
        let mut bad_ek = good.clone();
        bad_ek[kem.start] = 0xff;
        bad_ek[kem.start + 1] |= 0x0f;
        let got = KeyExchange::respond(g, &bad_ek, &host()).map(|_| ());
        assert_eq!(got, BAD_SHARE, "{g:?} encapsulation key");
        // An ECDH part that is not a usable point: all zeros (a low-order
        // X25519 point, or no uncompressed-point prefix).
        let mut bad_point = good.clone();
        bad_point[point.clone()].fill(0);
        let got = KeyExchange::respond(g, &bad_point, &host()).map(|_| ());
        assert_eq!(got, BAD_SHARE, "{g:?} client point");
        // The same in the server's share, seen by the client.
        let client = KeyExchange::start(g, &host()).unwrap();
        let (mut server, _) = KeyExchange::respond(g, client.public_key(), &host()).unwrap();
        let (_, point) = parts(kem_first, server_len, share_len(ecdh));
        server[point].fill(0);
        assert_eq!(
            client.complete(&server).map(|_| ()),
            BAD_SHARE,
            "{g:?} server point"
        );
    }
}

#[test]
fn a_tampered_ciphertext_gives_a_different_secret_not_an_error() {
    // ML-KEM's implicit rejection: decapsulation always yields a secret.
    for (g, _, server_len, _, kem_first) in HYBRIDS {
        let ecdh = Hybrid::of(g).unwrap().ecdh;
        let client = KeyExchange::start(g, &host()).unwrap();
        let (mut server, secret) = KeyExchange::respond(g, client.public_key(), &host()).unwrap();
        let (ct, _) = parts(kem_first, server_len, share_len(ecdh));
        server[ct.start] ^= 1;
        let got = client.complete(&server).unwrap();
        assert_ne!(got.as_ref(), secret.as_ref(), "{g:?}");
    }
}

#[test]
fn ml_kem_randomness_comes_from_the_configured_source() {
    for (g, ..) in HYBRIDS {
        assert_eq!(
            KeyExchange::start(g, &Failing).map(|_| ()),
            Err(Error::Entropy)
        );
        let client = KeyExchange::start(g, &host()).unwrap();
        let got = KeyExchange::respond(g, client.public_key(), &Failing).map(|_| ());
        assert_eq!(got, Err(Error::Entropy));
    }
    // Classical groups take nothing from it (ring draws from the OS).
    for g in GROUPS {
        let client = KeyExchange::start(g, &Failing).unwrap();
        assert!(KeyExchange::respond(g, client.public_key(), &Failing).is_ok());
    }
}

// Independent computations for the known-answer tests: ML-KEM straight from
// libcrux-ml-kem, ECDH straight from ring, put together by the test itself.

fn crate_keygen(kem: hybrid::Kem, seed: [u8; 64]) -> Vec<u8> {
    match kem {
        hybrid::Kem::MlKem768 => libcrux_ml_kem::mlkem768::generate_key_pair(seed)
            .pk()
            .to_vec(),
        hybrid::Kem::MlKem1024 => libcrux_ml_kem::mlkem1024::generate_key_pair(seed)
            .pk()
            .to_vec(),
    }
}

fn crate_encaps(kem: hybrid::Kem, ek: &[u8], seed: [u8; 32]) -> (Vec<u8>, [u8; 32]) {
    match kem {
        hybrid::Kem::MlKem768 => {
            let ek = libcrux_ml_kem::MlKemPublicKey::try_from(ek).unwrap();
            let (ct, ss) = libcrux_ml_kem::mlkem768::encapsulate(&ek, seed);
            (ct.as_ref().to_vec(), ss)
        }
        hybrid::Kem::MlKem1024 => {
            let ek = libcrux_ml_kem::MlKemPublicKey::try_from(ek).unwrap();
            let (ct, ss) = libcrux_ml_kem::mlkem1024::encapsulate(&ek, seed);
            (ct.as_ref().to_vec(), ss)
        }
    }
}

fn crate_decaps(kem: hybrid::Kem, seed: [u8; 64], ct: &[u8]) -> [u8; 32] {
    match kem {
        hybrid::Kem::MlKem768 => {
            let pair = libcrux_ml_kem::mlkem768::generate_key_pair(seed);
            let ct = libcrux_ml_kem::MlKemCiphertext::try_from(ct).unwrap();
            libcrux_ml_kem::mlkem768::decapsulate(pair.private_key(), &ct)
        }
        hybrid::Kem::MlKem1024 => {
            let pair = libcrux_ml_kem::mlkem1024::generate_key_pair(seed);
            let ct = libcrux_ml_kem::MlKemCiphertext::try_from(ct).unwrap();
            libcrux_ml_kem::mlkem1024::decapsulate(pair.private_key(), &ct)
        }
    }
}

fn ring_pair(g: NamedGroup) -> (agreement::EphemeralPrivateKey, Vec<u8>) {
    let private =
        agreement::EphemeralPrivateKey::generate(ring_alg(g).unwrap(), &SystemRandom::new())
            .unwrap();
    let public = private.compute_public_key().unwrap().as_ref().to_vec();
    (private, public)
}

fn ring_agree(g: NamedGroup, private: agreement::EphemeralPrivateKey, peer: &[u8]) -> Vec<u8> {
    let peer = agreement::UnparsedPublicKey::new(ring_alg(g).unwrap(), peer);
    agreement::agree_ephemeral(private, &peer, |k| k.to_vec()).unwrap()
}

/// `kem` and `ecdh` in the order RFC 10024 gives the group.
fn in_order(kem_first: bool, kem: &[u8], ecdh: &[u8]) -> Vec<u8> {
    if kem_first {
        [kem, ecdh].concat()
    } else {
        [ecdh, kem].concat()
    }
}

#[test]
fn hybrid_known_answers_layout_and_secret() {
    // What Counting gives: the ML-KEM key generation seed d ‖ z = 00..3f,
    // and the encapsulation seed m = 00..1f.
    let keygen_seed: [u8; 64] = core::array::from_fn(|i| i as u8);
    let encaps_seed: [u8; 32] = core::array::from_fn(|i| i as u8);
    for (g, client_len, server_len, secret_len, kem_first) in HYBRIDS {
        let Hybrid { ecdh, kem, .. } = Hybrid::of(g).unwrap();
        let ek = crate_keygen(kem, keygen_seed);

        // Our client against a server computed by hand.
        let client = KeyExchange::start(g, &Counting).unwrap();
        let share = client.public_key().to_vec();
        assert_eq!(share.len(), client_len, "{g:?}");
        let (kem_part, ecdh_part) = parts(kem_first, client_len, share_len(ecdh));
        assert_eq!(
            &share[kem_part],
            &ek[..],
            "{g:?}: the encapsulation key's place"
        );
        let (server_key, server_point) = ring_pair(ecdh);
        let ecdh_secret = ring_agree(ecdh, server_key, &share[ecdh_part]);
        let (ct, kem_secret) = crate_encaps(kem, &ek, [7; 32]);
        let server_share = in_order(kem_first, &ct, &server_point);
        let expected = in_order(kem_first, &kem_secret, &ecdh_secret);
        assert_eq!(expected.len(), secret_len);
        let got = client.complete(&server_share).unwrap();
        assert_eq!(got.as_ref(), &expected[..], "{g:?}: client's secret");

        // Our server against a client computed by hand.
        let (client_key, client_point) = ring_pair(ecdh);
        let client_share = in_order(kem_first, &ek, &client_point);
        let (share, secret) = KeyExchange::respond(g, &client_share, &Counting).unwrap();
        assert_eq!(share.len(), server_len, "{g:?}");
        let (ct_part, ecdh_part) = parts(kem_first, server_len, share_len(ecdh));
        let (ct, kem_secret) = crate_encaps(kem, &ek, encaps_seed);
        assert_eq!(&share[ct_part], &ct[..], "{g:?}: the ciphertext's place");
        assert_eq!(crate_decaps(kem, keygen_seed, &ct), kem_secret);
        let ecdh_secret = ring_agree(ecdh, client_key, &share[ecdh_part]);
        let expected = in_order(kem_first, &kem_secret, &ecdh_secret);
        assert_eq!(secret.as_ref(), &expected[..], "{g:?}: server's secret");
    }
}

#[test]
fn ml_kem_key_generation_matches_the_published_examples() {
    // draft-ietf-lamps-kyber-certificates (ML-KEM in X.509), Appendix C:
    // the example keys from seed d ‖ z = 00 01 .. 3f. Compared by the
    // SHA-256 of the encapsulation key (taken from the example's SPKI).
    let seed: [u8; 64] = core::array::from_fn(|i| i as u8);
    let cases = [
        (
            hybrid::Kem::MlKem768,
            "0b7934c83125c788995e2ba6bd761e33046b3e40571be53e023309a29f398cc9",
        ),
        (
            hybrid::Kem::MlKem1024,
            "c7b8fa0aa471d5ae18922d6ccad5b31e1d84f92ae723abfd13747018740a8530",
        ),
    ];
    for (kem, sha256) in cases {
        let (_, ek) = kem.generate(&seed);
        assert_eq!(ek.len(), kem.ek_len());
        let digest = ring::digest::digest(&ring::digest::SHA256, &ek);
        assert_eq!(
            digest.as_ref(),
            &crate::crypto::unhex(sha256)[..],
            "{kem:?}"
        );
    }
    // And through the engine's path: X25519MLKEM768's share starts with it.
    let share = KeyExchange::start(NamedGroup::X25519MlKem768, &Counting).unwrap();
    let digest = ring::digest::digest(&ring::digest::SHA256, &share.public_key()[..1184]);
    assert_eq!(digest.as_ref(), &crate::crypto::unhex(cases[0].1)[..]);
}

mod arbitrary_shares {
    use super::*;
    use proptest::prelude::*;

    /// A hybrid group and arbitrary bytes near its share lengths.
    fn group_and_share() -> impl Strategy<Value = (NamedGroup, Vec<u8>)> {
        (0..HYBRIDS.len()).prop_flat_map(|i| {
            let (g, client_len, server_len, ..) = HYBRIDS[i];
            let lens = prop_oneof![
                Just(client_len),
                Just(server_len),
                0..client_len.max(server_len) + 2
            ];
            lens.prop_flat_map(move |n| (Just(g), proptest::collection::vec(any::<u8>(), n)))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random bytes never make either side panic, and as a client's
        /// share they are refused: a random encapsulation key passes the
        /// modulus check with probability (3329/4096)^768, about 2^-230.
        #[test]
        fn random_shares_fail_closed((g, share) in group_and_share()) {
            let got = KeyExchange::respond(g, &share, &host()).map(|_| ());
            prop_assert_eq!(got, BAD_SHARE);
            let client = KeyExchange::start(g, &host()).unwrap();
            let _ = client.complete(&share);
        }
    }
}

/// A hybrid offering its ECDH share alone too: the second share is the
/// hybrid's ECDH half, and the key exchange completes with a server of
/// either group; a classical group other than the hybrid's ECDH group is
/// not taken.
#[test]
fn a_hybrid_offers_its_ecdh_half_as_the_classical_share() {
    for (hybrid, ecdh, other) in [
        (
            NamedGroup::X25519MlKem768,
            NamedGroup::X25519,
            NamedGroup::Secp256r1,
        ),
        (
            NamedGroup::Secp256r1MlKem768,
            NamedGroup::Secp256r1,
            NamedGroup::X25519,
        ),
    ] {
        let start = || KeyExchange::start(hybrid, &entropy::HostEntropy).unwrap();
        let mut plain = start();
        assert!(!plain.offer_classical_too(other));
        assert_eq!(plain.shares().count(), 1);
        assert!(!plain.offers(ecdh));
        assert!(!KeyExchange::generate(ecdh)
            .unwrap()
            .offer_classical_too(ecdh));

        for server_group in [hybrid, ecdh] {
            let mut kx = start();
            assert!(kx.offer_classical_too(ecdh));
            let shares: Vec<(NamedGroup, Vec<u8>)> =
                kx.shares().map(|(g, s)| (g, s.to_vec())).collect();
            assert_eq!(shares.len(), 2);
            assert_eq!(shares[0].0, hybrid);
            assert_eq!(shares[1].0, ecdh);
            let layout = Hybrid::of(hybrid).unwrap();
            let (_, half) = layout.split_client_share(&shares[0].1).unwrap();
            assert_eq!(half, &shares[1].1[..], "{hybrid:?}: the ECDH halves");
            assert!(kx.offers(hybrid) && kx.offers(ecdh) && !kx.offers(other));

            let client_share = &shares.iter().find(|(g, _)| *g == server_group).unwrap().1;
            let (server_share, server_secret) =
                KeyExchange::respond(server_group, client_share, &entropy::HostEntropy).unwrap();
            let secret = kx.complete_for(server_group, &server_share).unwrap();
            assert_eq!(secret.as_ref(), server_secret.as_ref(), "{server_group:?}");
        }
        assert_eq!(
            start().complete_for(ecdh, &[0u8; 65]).map(|_| ()),
            Err(Error::Internal("key share for a group we did not offer"))
        );
    }
}
