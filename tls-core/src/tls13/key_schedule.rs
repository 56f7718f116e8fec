//! The TLS 1.3 key schedule (RFC 8446 §7.1).
//!
//! Three typestates walk the schedule in order: [`EarlySecret`] →
//! [`HandshakeSecret`] → [`MasterSecret`]; each step consumes the previous
//! one, so no stage can be skipped or reused after moving on. Transcript
//! hashes are passed in as bytes (from [`Transcript::current`](crate::crypto::Transcript::current)).

use crate::crypto::{
    hkdf_expand_label, hkdf_expand_label_secret, hkdf_extract, hmac_sign, hmac_verify, Expander,
    HashAlg, HashOutput, Secret,
};
use crate::error::Error;
use crate::msgs::handshake::check_verify_data_len;

/// Derive-Secret(Secret, Label, Messages), given Transcript-Hash(Messages).
fn derive_secret(alg: HashAlg, secret: &Secret, label: &[u8], hash: &[u8]) -> Secret {
    hkdf_expand_label_secret(alg, secret.as_ref(), label, hash)
}

/// Derive-Secret(Secret, "derived", ""): the salt of the next extract.
fn derived(alg: HashAlg, secret: &Secret) -> Secret {
    derive_secret(alg, secret, b"derived", alg.hash(b"").as_ref())
}

/// The Early Secret: HKDF-Extract(0, PSK).
#[derive(Debug)]
pub(crate) struct EarlySecret {
    alg: HashAlg,
    secret: Secret,
}

impl EarlySecret {
    /// The early secret from a PSK, or from `Hash.length` zeros without one.
    pub(crate) fn new(alg: HashAlg, psk: Option<&[u8]>) -> EarlySecret {
        let ikm = psk.unwrap_or(alg.zeros());
        EarlySecret {
            alg,
            secret: hkdf_extract(alg, alg.zeros(), ikm),
        }
    }

    /// The hash function.
    #[cfg(test)]
    pub(crate) fn alg(&self) -> HashAlg {
        self.alg
    }

    /// The PSK binder key: "ext binder" for an external PSK, "res binder" for
    /// a resumption PSK. The binder is [`finished_verify_data`] keyed by it.
    pub(crate) fn binder_key(&self, external: bool) -> Secret {
        let label: &[u8] = if external {
            b"ext binder"
        } else {
            b"res binder"
        };
        derive_secret(self.alg, &self.secret, label, self.alg.hash(b"").as_ref())
    }

    /// client_early_traffic_secret ("c e traffic", over the ClientHello).
    #[cfg(test)]
    pub(crate) fn client_early_traffic(&self, client_hello_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"c e traffic", client_hello_hash)
    }

    /// early_exporter_master_secret ("e exp master", over the ClientHello).
    #[cfg(test)]
    pub(crate) fn early_exporter(&self, client_hello_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"e exp master", client_hello_hash)
    }

    /// The Handshake Secret: HKDF-Extract(Derive-Secret(., "derived", ""), (EC)DHE).
    pub(crate) fn into_handshake(self, ecdhe_shared: &[u8]) -> HandshakeSecret {
        let salt = derived(self.alg, &self.secret);
        HandshakeSecret {
            alg: self.alg,
            secret: hkdf_extract(self.alg, salt.as_ref(), ecdhe_shared),
        }
    }
}

/// The two handshake traffic secrets, each held under the name of the side
/// that writes with it. The connection installs its keys from this value by
/// its own side (reading with the peer's, writing with its own), so read
/// and write cannot be swapped by a caller.
#[derive(Debug)]
pub(crate) struct HandshakeTrafficSecrets {
    client: Secret,
    server: Secret,
}

impl HandshakeTrafficSecrets {
    /// client_handshake_traffic_secret: the client writes with it; it also
    /// keys the client's Finished.
    pub(crate) fn client(&self) -> &Secret {
        &self.client
    }

    /// server_handshake_traffic_secret: the server writes with it; it also
    /// keys the server's Finished.
    pub(crate) fn server(&self) -> &Secret {
        &self.server
    }
}

/// The Handshake Secret.
#[derive(Debug)]
pub(crate) struct HandshakeSecret {
    alg: HashAlg,
    secret: Secret,
}

impl HandshakeSecret {
    /// client_handshake_traffic_secret ("c hs traffic", over ClientHello..ServerHello).
    #[cfg(test)]
    pub(crate) fn client_traffic(&self, hello_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"c hs traffic", hello_hash)
    }

    /// server_handshake_traffic_secret ("s hs traffic", over ClientHello..ServerHello).
    #[cfg(test)]
    pub(crate) fn server_traffic(&self, hello_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"s hs traffic", hello_hash)
    }

    /// Both handshake traffic secrets, over ClientHello..ServerHello, as
    /// the one value the connection installs its handshake keys from.
    pub(crate) fn traffic_secrets(&self, hello_hash: &[u8]) -> HandshakeTrafficSecrets {
        let secret = Expander::new(self.alg, self.secret.as_ref());
        HandshakeTrafficSecrets {
            client: secret.expand_label_secret(b"c hs traffic", hello_hash),
            server: secret.expand_label_secret(b"s hs traffic", hello_hash),
        }
    }

    /// The Master Secret: HKDF-Extract(Derive-Secret(., "derived", ""), 0).
    pub(crate) fn into_master(self) -> MasterSecret {
        let salt = derived(self.alg, &self.secret);
        MasterSecret {
            alg: self.alg,
            secret: hkdf_extract(self.alg, salt.as_ref(), self.alg.zeros()),
        }
    }
}

/// The Master Secret.
#[derive(Debug)]
pub(crate) struct MasterSecret {
    alg: HashAlg,
    secret: Secret,
}

impl MasterSecret {
    /// The hash function.
    #[cfg(test)]
    pub(crate) fn alg(&self) -> HashAlg {
        self.alg
    }

    /// client_application_traffic_secret_0 ("c ap traffic", over ClientHello..server Finished).
    #[cfg(test)]
    pub(crate) fn client_traffic(&self, handshake_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"c ap traffic", handshake_hash)
    }

    /// server_application_traffic_secret_0 ("s ap traffic", over ClientHello..server Finished).
    #[cfg(test)]
    pub(crate) fn server_traffic(&self, handshake_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"s ap traffic", handshake_hash)
    }

    /// exporter_master_secret ("exp master", over ClientHello..server Finished).
    #[cfg(test)]
    pub(crate) fn exporter(&self, handshake_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"exp master", handshake_hash)
    }

    /// client_application_traffic_secret_0, server_application_traffic_secret_0
    /// and exporter_master_secret, in that order: [`client_traffic`](Self::client_traffic),
    /// [`server_traffic`](Self::server_traffic) and [`exporter`](Self::exporter)
    /// with the master secret's HMAC key set up once.
    pub(crate) fn app_secrets(&self, handshake_hash: &[u8]) -> (Secret, Secret, Secret) {
        let secret = Expander::new(self.alg, self.secret.as_ref());
        (
            secret.expand_label_secret(b"c ap traffic", handshake_hash),
            secret.expand_label_secret(b"s ap traffic", handshake_hash),
            secret.expand_label_secret(b"exp master", handshake_hash),
        )
    }

    /// resumption_master_secret ("res master", over ClientHello..client Finished).
    pub(crate) fn resumption(&self, full_hash: &[u8]) -> Secret {
        derive_secret(self.alg, &self.secret, b"res master", full_hash)
    }
}

/// Proof that a Finished (or PSK binder) verified: only [`check_finished`]
/// makes one.
#[derive(Debug)]
pub(crate) struct FinishedVerified(());

/// Finished verify_data (RFC 8446 §4.4.4): HMAC(finished_key, transcript_hash)
/// with finished_key = HKDF-Expand-Label(base_traffic_secret, "finished", "", Hash.length).
pub(crate) fn finished_verify_data(
    alg: HashAlg,
    base_traffic_secret: &[u8],
    transcript_hash: &[u8],
) -> HashOutput {
    let finished_key = hkdf_expand_label_secret(alg, base_traffic_secret, b"finished", b"");
    hmac_sign(alg, finished_key.as_ref(), transcript_hash)
}

/// Checks a received Finished verify_data in constant time. A length other
/// than the hash's is `Error::Decode` (a malformed message); a mismatch is
/// `Error::DecryptError("bad Finished")`.
pub(crate) fn check_finished(
    alg: HashAlg,
    base_traffic_secret: &[u8],
    transcript_hash: &[u8],
    received: &[u8],
) -> Result<FinishedVerified, Error> {
    check_verify_data_len(received, alg.output_len())?;
    let finished_key = hkdf_expand_label_secret(alg, base_traffic_secret, b"finished", b"");
    hmac_verify(alg, finished_key.as_ref(), transcript_hash, received)?;
    Ok(FinishedVerified(()))
}

/// application_traffic_secret_N+1 = HKDF-Expand-Label(secret_N, "traffic upd", "", Hash.length)
/// (RFC 8446 §7.2, KeyUpdate).
pub(crate) fn next_traffic_secret(alg: HashAlg, secret: &[u8]) -> Secret {
    hkdf_expand_label_secret(alg, secret, b"traffic upd", b"")
}

/// The PSK of a NewSessionTicket (RFC 8446 §4.6.1):
/// HKDF-Expand-Label(resumption_master_secret, "resumption", ticket_nonce, Hash.length).
/// A nonce over 255 bytes is `Error::Internal`.
pub(crate) fn resumption_psk(
    alg: HashAlg,
    resumption_master: &[u8],
    ticket_nonce: &[u8],
) -> Result<Secret, Error> {
    let mut buf = [0u8; crate::crypto::MAX_HASH_LEN];
    let out = buf
        .get_mut(..alg.output_len())
        .ok_or(Error::Internal("hash too long"))?;
    hkdf_expand_label(alg, resumption_master, b"resumption", ticket_nonce, out)?;
    let psk = Secret::from_slice(out);
    zeroize::Zeroize::zeroize(&mut buf);
    psk
}

/// TLS-Exporter(label, context, out.len()) of RFC 8446 §7.5 (an absent
/// context is the empty one). Fails with `Error::Internal` for a label over
/// 249 bytes or an output over 255 × hash length.
pub(crate) fn export_keying_material(
    alg: HashAlg,
    exporter_master: &[u8],
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let mut buf = [0u8; crate::crypto::MAX_HASH_LEN];
    let derived = buf
        .get_mut(..alg.output_len())
        .ok_or(Error::Internal("hash too long"))?;
    let result = hkdf_expand_label(alg, exporter_master, label, alg.hash(b"").as_ref(), derived)
        .and_then(|()| {
            hkdf_expand_label(alg, derived, b"exporter", alg.hash(context).as_ref(), out)
        });
    zeroize::Zeroize::zeroize(&mut buf);
    result
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use super::*;
    use crate::crypto::rfc8448 as v;
    use crate::crypto::{unhex, TrafficKey, Transcript, TLS13_AES_128_GCM_SHA256};

    const SHA256: HashAlg = HashAlg::Sha256;

    fn finished_msg(verify_data: &[u8]) -> Vec<u8> {
        let mut m = alloc::vec![20, 0, 0, verify_data.len() as u8];
        m.extend_from_slice(verify_data);
        m
    }

    #[test]
    fn rfc8448_transcript_hashes() {
        let flight = unhex(v::SERVER_FLIGHT);
        assert_eq!(flight.len(), 657);
        let (to_cv, server_finished) = flight.split_at(flight.len() - 36);
        assert_eq!(server_finished, &finished_msg(&unhex(v::S_VERIFY_DATA))[..]);

        let mut t = Transcript::new(SHA256);
        t.update(&unhex(v::CLIENT_HELLO));
        t.update(&unhex(v::SERVER_HELLO));
        assert_eq!(t.current().as_ref(), &unhex(v::HASH_CH_SH)[..]);
        t.update(to_cv);
        assert_eq!(t.current().as_ref(), &unhex(v::HASH_CH_CV)[..]);
        t.update(server_finished);
        assert_eq!(t.current().as_ref(), &unhex(v::HASH_CH_SF)[..]);
        t.update(&finished_msg(&unhex(v::C_VERIFY_DATA)));
        assert_eq!(t.current().as_ref(), &unhex(v::HASH_CH_CF)[..]);
    }

    #[test]
    fn rfc8448_key_schedule() {
        let early = EarlySecret::new(SHA256, None);
        assert_eq!(early.secret.as_ref(), &unhex(v::EARLY_SECRET)[..]);
        assert_eq!(early.alg(), SHA256);

        let hs = early.into_handshake(&unhex(v::ECDHE));
        assert_eq!(hs.secret.as_ref(), &unhex(v::HANDSHAKE_SECRET)[..]);
        let hello_hash = unhex(v::HASH_CH_SH);
        let c_hs = hs.client_traffic(&hello_hash);
        let s_hs = hs.server_traffic(&hello_hash);
        assert_eq!(c_hs.as_ref(), &unhex(v::C_HS_TRAFFIC)[..]);
        assert_eq!(s_hs.as_ref(), &unhex(v::S_HS_TRAFFIC)[..]);
        // The same two from one HMAC key set-up.
        let both = hs.traffic_secrets(&hello_hash);
        assert_eq!(both.client().as_ref(), &unhex(v::C_HS_TRAFFIC)[..]);
        assert_eq!(both.server().as_ref(), &unhex(v::S_HS_TRAFFIC)[..]);

        let master = hs.into_master();
        assert_eq!(master.secret.as_ref(), &unhex(v::MASTER_SECRET)[..]);
        let sf_hash = unhex(v::HASH_CH_SF);
        assert_eq!(
            master.client_traffic(&sf_hash).as_ref(),
            &unhex(v::C_AP_TRAFFIC)[..]
        );
        assert_eq!(
            master.server_traffic(&sf_hash).as_ref(),
            &unhex(v::S_AP_TRAFFIC)[..]
        );
        let (c_ap, s_ap, exp) = master.app_secrets(&sf_hash);
        assert_eq!(c_ap.as_ref(), &unhex(v::C_AP_TRAFFIC)[..]);
        assert_eq!(s_ap.as_ref(), &unhex(v::S_AP_TRAFFIC)[..]);
        assert_eq!(exp.as_ref(), &unhex(v::EXP_MASTER)[..]);
        assert_eq!(
            master.exporter(&sf_hash).as_ref(),
            &unhex(v::EXP_MASTER)[..]
        );
        assert_eq!(
            master.resumption(&unhex(v::HASH_CH_CF)).as_ref(),
            &unhex(v::RES_MASTER)[..]
        );
    }

    #[test]
    fn rfc8448_traffic_keys() {
        let cases = [
            (v::S_HS_TRAFFIC, v::S_HS_KEY, v::S_HS_IV),
            (v::C_HS_TRAFFIC, v::C_HS_KEY, v::C_HS_IV),
            (v::S_AP_TRAFFIC, v::S_AP_KEY, v::S_AP_IV),
            (v::C_AP_TRAFFIC, v::C_AP_KEY, v::C_AP_IV),
        ];
        for (secret, key, iv) in cases {
            let secret = unhex(secret);
            let (mut k, mut i) = ([0u8; 16], [0u8; 12]);
            hkdf_expand_label(SHA256, &secret, b"key", b"", &mut k).unwrap();
            hkdf_expand_label(SHA256, &secret, b"iv", b"", &mut i).unwrap();
            assert_eq!(&k[..], &unhex(key)[..]);
            assert_eq!(&i[..], &unhex(iv)[..]);
        }
    }

    #[test]
    fn rfc8448_server_flight_record() {
        let key =
            TrafficKey::from_secret(&TLS13_AES_128_GCM_SHA256, &unhex(v::S_HS_TRAFFIC)).unwrap();
        let record = unhex(v::SERVER_FLIGHT_RECORD);
        let (header, body) = record.split_at(5);
        let mut inner = unhex(v::SERVER_FLIGHT);
        inner.push(22); // TLSInnerPlaintext content type: handshake

        let mut buf = body.to_vec();
        assert_eq!(key.open_in_place(0, header, &mut buf).unwrap(), &inner[..]);

        // sealing the same plaintext reproduces the record
        let mut sealed = inner.clone();
        key.seal_in_place(0, header, &mut sealed).unwrap();
        assert_eq!(sealed, body);

        // the client's handshake key, or the next sequence number, does not open it
        let client =
            TrafficKey::from_secret(&TLS13_AES_128_GCM_SHA256, &unhex(v::C_HS_TRAFFIC)).unwrap();
        assert_eq!(
            client.open_in_place(0, header, &mut body.to_vec()),
            Err(Error::BadRecordMac)
        );
        assert_eq!(
            key.open_in_place(1, header, &mut body.to_vec()),
            Err(Error::BadRecordMac)
        );
    }

    #[test]
    fn rfc8448_finished() {
        let s_hs = unhex(v::S_HS_TRAFFIC);
        let c_hs = unhex(v::C_HS_TRAFFIC);
        assert_eq!(
            hkdf_expand_label_secret(SHA256, &s_hs, b"finished", b"").as_ref(),
            &unhex(v::S_FINISHED_KEY)[..]
        );
        assert_eq!(
            hkdf_expand_label_secret(SHA256, &c_hs, b"finished", b"").as_ref(),
            &unhex(v::C_FINISHED_KEY)[..]
        );

        let cv_hash = unhex(v::HASH_CH_CV);
        let sf_hash = unhex(v::HASH_CH_SF);
        let s_vd = unhex(v::S_VERIFY_DATA);
        let c_vd = unhex(v::C_VERIFY_DATA);
        assert_eq!(
            finished_verify_data(SHA256, &s_hs, &cv_hash).as_ref(),
            &s_vd[..]
        );
        assert_eq!(
            finished_verify_data(SHA256, &c_hs, &sf_hash).as_ref(),
            &c_vd[..]
        );
        check_finished(SHA256, &s_hs, &cv_hash, &s_vd).unwrap();
        check_finished(SHA256, &c_hs, &sf_hash, &c_vd).unwrap();

        let bad = Err(Error::DecryptError("bad Finished"));
        let mut flipped = s_vd.clone();
        flipped[31] ^= 0x80;
        assert_eq!(
            check_finished(SHA256, &s_hs, &cv_hash, &flipped).map(|_| ()),
            bad
        );
        let short = Err(Error::Decode("Finished of the wrong length"));
        assert_eq!(
            check_finished(SHA256, &s_hs, &cv_hash, &s_vd[..31]).map(|_| ()),
            short
        );
        assert_eq!(
            check_finished(SHA256, &s_hs, &cv_hash, &[]).map(|_| ()),
            short
        );
        assert_eq!(
            check_finished(SHA256, &c_hs, &cv_hash, &s_vd).map(|_| ()),
            bad
        );
        assert_eq!(
            check_finished(HashAlg::Sha384, &s_hs, &cv_hash, &s_vd).map(|_| ()),
            short
        );
    }

    #[test]
    fn psk_changes_everything() {
        let psk = [7u8; 48];
        let a = EarlySecret::new(HashAlg::Sha384, Some(&psk));
        let b = EarlySecret::new(HashAlg::Sha384, None);
        assert_eq!(a.secret.len(), 48);
        assert_ne!(a.secret.as_ref(), b.secret.as_ref());
        assert_ne!(a.binder_key(true).as_ref(), a.binder_key(false).as_ref());
        let ch = HashAlg::Sha384.hash(b"ch");
        assert_ne!(
            a.client_early_traffic(ch.as_ref()).as_ref(),
            a.early_exporter(ch.as_ref()).as_ref()
        );
        let hs = a.into_handshake(&[1; 32]);
        assert_eq!(hs.client_traffic(ch.as_ref()).len(), 48);
        assert_eq!(hs.into_master().alg(), HashAlg::Sha384);
    }

    #[test]
    fn key_update_and_resumption_and_exporter() {
        let s0 = unhex(v::C_AP_TRAFFIC);
        let s1 = next_traffic_secret(SHA256, &s0);
        assert_eq!(
            s1.as_ref(),
            hkdf_expand_label_secret(SHA256, &s0, b"traffic upd", b"").as_ref()
        );
        assert_ne!(s1.as_ref(), &s0[..]);

        let res = unhex(v::RES_MASTER);
        let psk = resumption_psk(SHA256, &res, &[0, 0]).unwrap();
        assert_eq!(psk.len(), 32);
        assert!(resumption_psk(SHA256, &res, &[0; 256]).is_err());

        let exp = unhex(v::EXP_MASTER);
        let (mut a, mut b, mut c) = ([0u8; 20], [0u8; 20], [0u8; 20]);
        export_keying_material(SHA256, &exp, b"EXPORTER-test", b"", &mut a).unwrap();
        export_keying_material(SHA256, &exp, b"EXPORTER-test", b"", &mut b).unwrap();
        export_keying_material(SHA256, &exp, b"EXPORTER-test", b"ctx", &mut c).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(export_keying_material(SHA256, &exp, &[b'x'; 250], b"", &mut a).is_err());
    }
}
