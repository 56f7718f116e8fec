//! Writes seed corpora for every fuzz target from real handshakes:
//! `gen_corpus [DIR]` (default `fuzz/corpus`), one subdirectory per target.
//!
//! Handshakes are run in memory: our client against our server (TLS 1.3
//! with and without HelloRetryRequest, each post-quantum hybrid group, a
//! HelloRetryRequest for X25519MLKEM768, TLS 1.2, ALPN, resumption, OCSP
//! stapling), and
//! rustls's client and server against ours. Every flight is recorded as
//! sent; the seeds are those flights (whole, and cut into small pieces),
//! the handshake messages inside them, certificate chains and keys from
//! rcgen, key shares of every group (classical and hybrid) for `kx_shares`,
//! configs in both tunnel formats, and PROXY headers from the
//! tunnel's own encoder. Nothing here is a binary blob of unknown origin:
//! rerun it and you get equivalent seeds (the ECDHE shares differ, see
//! `tls_core_fuzz`'s notes on determinism).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tls_core::internal::crypto::{server_share, ClientShare};
use tls_core::internal::msgs::enums::{NamedGroup, ProtocolVersion, SignatureScheme};
use tls_core::internal::msgs::extensions::EncryptedExtension;
use tls_core::internal::msgs::extensions::UnknownExtension;
use tls_core::internal::msgs::handshake::*;
use tls_core::{
    ClientConfig, Connection, MemorySessionCache, MemorySessionStore, PinnedCertVerifier,
    RotatingTicketer, ServerConfig, SingleCert, TicketEncrypter,
};
use tls_core_fuzz::{
    certified_key, join_pieces, server_identity, FixedClock, FixedEntropy, FIXED_NOW,
};

struct Out {
    root: PathBuf,
    n: usize,
}

impl Out {
    fn put(&mut self, target: &str, data: &[u8]) {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir).expect("corpus directory");
        self.n += 1;
        std::fs::write(dir.join(format!("seed-{:04}", self.n)), data).expect("write seed");
    }
}

/// Both directions of one handshake: each flight as sent.
#[derive(Default)]
struct Transcript {
    to_server: Vec<Vec<u8>>,
    to_client: Vec<Vec<u8>>,
}

fn client_config(versions: &[ProtocolVersion], groups: &[NamedGroup]) -> ClientConfig {
    let mut c = ClientConfig::new(
        Arc::new(PinnedCertVerifier::new(vec![server_identity().0.clone()])),
        Arc::new(FixedEntropy(tls_core_fuzz::CLIENT_SEED)),
        Arc::new(FixedClock),
    );
    c.versions = versions.to_vec();
    c.groups = groups.to_vec();
    c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    c
}

/// Staples a fixed DER-shaped response (the engine does not parse it).
struct FixedStapler;

impl tls_core::stapling::OcspStapler for FixedStapler {
    fn staple(&self, _end_entity: &[u8]) -> Option<Vec<u8>> {
        Some(vec![0x30, 0x03, 0x0a, 0x01, 0x00])
    }
}

/// Our client asking for a staple and our server sending one: the TLS 1.2
/// flight carries a CertificateStatus, the TLS 1.3 certificate entry a status.
fn ours_stapled(versions: &[ProtocolVersion]) -> Transcript {
    let all = tls_core::config::DEFAULT_GROUPS;
    let mut cc = client_config(versions, &all);
    cc.request_ocsp = true;
    let mut sc = server_config(versions, &all);
    sc.ocsp_stapler = Some(Arc::new(FixedStapler));
    ours(cc, sc)
}

fn server_config(versions: &[ProtocolVersion], groups: &[NamedGroup]) -> ServerConfig {
    let mut c = ServerConfig::new(
        Arc::new(SingleCert(certified_key())),
        Arc::new(FixedEntropy(tls_core_fuzz::SERVER_SEED)),
        Arc::new(FixedClock),
    );
    c.versions = versions.to_vec();
    c.groups = groups.to_vec();
    c.alpn_protocols = vec![b"h2".to_vec()];
    c.ticketer = RotatingTicketer::new(
        Arc::new(FixedEntropy(tls_core_fuzz::SERVER_SEED)),
        7200,
        FIXED_NOW,
    )
    .ok()
    .map(|t| Arc::new(t) as Arc<dyn TicketEncrypter>);
    c.session_cache = Some(Arc::new(MemorySessionCache::new(4)));
    c
}

/// Moves bytes both ways until neither side sends, recording each flight.
fn pump(client: &mut Connection, server: &mut Connection, t: &mut Transcript) {
    for _ in 0..20 {
        let c = client.pending_tls().to_vec();
        client.consume_tls(c.len());
        let s = server.pending_tls().to_vec();
        server.consume_tls(s.len());
        if c.is_empty() && s.is_empty() {
            return;
        }
        if !c.is_empty() {
            t.to_server.push(c.clone());
            if let Err(e) = server.feed(&c) {
                eprintln!("  our server: {e:?}");
            }
        }
        if !s.is_empty() {
            t.to_client.push(s.clone());
            if let Err(e) = client.feed(&s) {
                eprintln!("  our client: {e:?}");
            }
        }
    }
}

fn ours(cc: ClientConfig, sc: ServerConfig) -> Transcript {
    let mut t = Transcript::default();
    let mut client = Connection::client(Arc::new(cc), Some("localhost")).expect("client");
    let mut server = Connection::server(Arc::new(sc));
    pump(&mut client, &mut server, &mut t);
    let _ = client.write(b"GET / HTTP/1.1\r\n\r\n");
    let _ = server.write(b"HTTP/1.1 200 OK\r\n\r\n");
    let _ = client.update_keys(true);
    client.close();
    pump(&mut client, &mut server, &mut t);
    t
}

/// Our client, resuming: a first handshake fills the store, a second uses it.
fn ours_resumed(versions: &[ProtocolVersion]) -> Transcript {
    let store = Arc::new(MemorySessionStore::new(4));
    let sc = Arc::new(server_config(versions, &tls_core::config::DEFAULT_GROUPS));
    let mut t = Transcript::default();
    for _ in 0..2 {
        let mut cc = client_config(versions, &tls_core::config::DEFAULT_GROUPS);
        cc.session_store = Some(store.clone());
        let mut client = Connection::client(Arc::new(cc), Some("localhost")).expect("client");
        let mut server = Connection::server(sc.clone());
        t = Transcript::default();
        pump(&mut client, &mut server, &mut t);
        let _ = client.write(b"ping");
        pump(&mut client, &mut server, &mut t);
    }
    t
}

fn rustls_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// rustls's client against our server.
fn rustls_client(versions: &[&'static rustls::SupportedProtocolVersion]) -> Transcript {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(server_identity().0.clone().into()).expect("root");
    let mut cc = rustls::ClientConfig::builder_with_provider(rustls_provider())
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    cc.alpn_protocols = vec![b"h2".to_vec()];
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut client = rustls::ClientConnection::new(Arc::new(cc), name).expect("client");
    let mut server = Connection::server(Arc::new(server_config(
        &tls_core::config::DEFAULT_VERSIONS,
        &tls_core::config::DEFAULT_GROUPS,
    )));
    let mut t = Transcript::default();
    for _ in 0..20 {
        let mut c = Vec::new();
        while client.wants_write() {
            if client.write_tls(&mut c).is_err() {
                break;
            }
        }
        let s = server.pending_tls().to_vec();
        server.consume_tls(s.len());
        if c.is_empty() && s.is_empty() {
            break;
        }
        if !c.is_empty() {
            t.to_server.push(c.clone());
            if let Err(e) = server.feed(&c) {
                eprintln!("  our server: {e:?}");
            }
        }
        if !s.is_empty() {
            t.to_client.push(s.clone());
            let mut rd = &s[..];
            while !rd.is_empty() {
                if client.read_tls(&mut rd).is_err() {
                    break;
                }
                if let Err(e) = client.process_new_packets() {
                    eprintln!("  rustls client: {e:?}");
                    break;
                }
            }
        }
    }
    t
}

/// Our client against rustls's server.
fn rustls_server(versions: &[&'static rustls::SupportedProtocolVersion], hrr: bool) -> Transcript {
    let (cert, key) = server_identity();
    let mut provider = rustls::crypto::ring::default_provider();
    if hrr {
        // Only X25519, while our client's first share is P-384: a HelloRetryRequest.
        provider.kx_groups = vec![rustls::crypto::ring::kx_group::X25519];
    }
    let sc = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.clone().into()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.clone().into()),
        )
        .expect("key");
    let mut server = rustls::ServerConnection::new(Arc::new(sc)).expect("server");
    let groups: &[NamedGroup] = if hrr {
        &[NamedGroup::Secp384r1, NamedGroup::X25519]
    } else {
        &tls_core::config::DEFAULT_GROUPS
    };
    let mut client = Connection::client(
        Arc::new(client_config(&tls_core::config::DEFAULT_VERSIONS, groups)),
        Some("localhost"),
    )
    .expect("client");
    let mut t = Transcript::default();
    for _ in 0..20 {
        let c = client.pending_tls().to_vec();
        client.consume_tls(c.len());
        let mut s = Vec::new();
        while server.wants_write() {
            if server.write_tls(&mut s).is_err() {
                break;
            }
        }
        if c.is_empty() && s.is_empty() {
            break;
        }
        if !c.is_empty() {
            t.to_server.push(c.clone());
            let mut rd = &c[..];
            while !rd.is_empty() {
                if server.read_tls(&mut rd).is_err() {
                    break;
                }
                if let Err(e) = server.process_new_packets() {
                    eprintln!("  rustls server: {e:?}");
                    break;
                }
            }
        }
        if !s.is_empty() {
            t.to_client.push(s.clone());
            if let Err(e) = client.feed(&s) {
                eprintln!("  our client: {e:?}");
            }
        }
    }
    t
}

/// The records in `wire`: (type, body).
fn records(wire: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut rest = wire;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let Some(body) = rest.get(5..5 + len) else {
            break;
        };
        out.push((rest[0], body));
        rest = &rest[5 + len..];
    }
    out
}

/// The plaintext handshake messages in `wire`: (type, body).
fn plaintext_messages(wire: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut joined = Vec::new();
    for (typ, body) in records(wire) {
        if typ == 22 {
            joined.extend_from_slice(body);
        } else {
            // A CCS: what follows is encrypted.
            break;
        }
    }
    let mut out = Vec::new();
    let mut rest = &joined[..];
    while rest.len() >= 4 {
        let len = u32::from_be_bytes([0, rest[1], rest[2], rest[3]]) as usize;
        let Some(body) = rest.get(4..4 + len) else {
            break;
        };
        out.push((rest[0], body.to_vec()));
        rest = &rest[4 + len..];
    }
    out
}

/// The first record of `wire`, with its header.
fn first_record(wire: &[u8]) -> &[u8] {
    let len = wire
        .get(3..5)
        .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
    wire.get(..5 + len).unwrap_or(wire)
}

/// TLS 1.3 messages that only travel encrypted, built with the encoder.
fn encrypted_messages() -> Vec<HandshakeMessage> {
    use HandshakeMessage as M;
    vec![
        M::EncryptedExtensions(EncryptedExtensions {
            extensions: vec![
                EncryptedExtension::Alpn(b"h2".to_vec()),
                EncryptedExtension::ServerName,
                EncryptedExtension::SupportedGroups(vec![NamedGroup::X25519]),
                EncryptedExtension::RecordSizeLimit(16385),
                EncryptedExtension::EarlyData,
            ],
        }),
        M::Certificate(CertificatePayload {
            context: Vec::new(),
            entries: vec![CertificateEntry {
                cert: server_identity().0.clone(),
                extensions: vec![UnknownExtension {
                    typ: 18,
                    data: vec![0, 0],
                }],
            }],
        }),
        M::CertificateRequest(CertificateRequest {
            context: vec![1, 2, 3],
            extensions: vec![
                tls_core::internal::msgs::extensions::CertReqExtension::SignatureAlgorithms(vec![
                    SignatureScheme::Ed25519,
                    SignatureScheme::EcdsaSecp256r1Sha256,
                ]),
                tls_core::internal::msgs::extensions::CertReqExtension::CertificateAuthorities(
                    vec![b"\x30\x00".to_vec()],
                ),
            ],
        }),
        M::CertificateVerify(CertificateVerify {
            scheme: SignatureScheme::Ed25519,
            signature: vec![0x55; 64],
        }),
        M::Finished(Finished {
            verify_data: vec![0xaa; 32],
        }),
        M::NewSessionTicket(NewSessionTicket {
            lifetime: 7200,
            age_add: 0x01020304,
            nonce: vec![0, 1],
            ticket: vec![0x77; 48],
            extensions: vec![
                tls_core::internal::msgs::extensions::TicketExtension::EarlyData(16384),
            ],
        }),
        M::KeyUpdate(KeyUpdateRequest::Requested),
        M::EndOfEarlyData,
    ]
}

/// Chains for the x509 target: (mode byte, anchors, end-entity, intermediates).
fn chains(out: &mut Out) {
    use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, KeyPair};
    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "Fuzz Root");
    let ca_cert = ca.self_signed(&ca_key).expect("root");
    let int_key = KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
    let mut int = CertificateParams::new(Vec::<String>::new()).expect("params");
    int.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    int.distinguished_name
        .push(rcgen::DnType::CommonName, "Fuzz Intermediate");
    int.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("localhost".into())],
        excluded_subtrees: vec![],
    });
    let issuer_root = rcgen::Issuer::new(ca, ca_key);
    let int_cert = int.signed_by(&int_key, &issuer_root).expect("intermediate");
    let issuer_int = rcgen::Issuer::new(int, int_key);
    let ee_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384).expect("key");
    let mut ee = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("params");
    ee.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let ee_direct = ee.signed_by(&ee_key, &issuer_root).expect("ee");
    let ee_via = ee.signed_by(&ee_key, &issuer_int).expect("ee");
    let root = ca_cert.der().to_vec();
    let inter = int_cert.der().to_vec();
    let direct = ee_direct.der().to_vec();
    let via = ee_via.der().to_vec();
    for mode in [0x40u8, 0x41, 0x44, 0x46] {
        out.put(
            "x509",
            &[&[mode][..], &join_pieces(&[&root, &direct])].concat(),
        );
        out.put(
            "x509",
            &[&[mode][..], &join_pieces(&[&root, &via, &inter])].concat(),
        );
    }
    out.put(
        "x509",
        &[
            &[0x80u8][..],
            &join_pieces(&[&root, &inter, &via, &inter, &direct]),
        ]
        .concat(),
    );
    // The fixed server identity, self-signed, as its own anchor.
    out.put(
        "x509",
        &[
            &[0x40u8][..],
            &join_pieces(&[&server_identity().0, &server_identity().0]),
        ]
        .concat(),
    );

    // Keys and certificates for the keys target.
    for cert in [&root, &inter, &direct, &via, &server_identity().0] {
        out.put("keys", &[&[3u8][..], cert].concat());
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            pem_base64(cert)
        );
        out.put("keys", &[&[0u8][..], pem.as_bytes()].concat());
    }
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
        &rcgen::PKCS_ED25519,
    ] {
        let k = KeyPair::generate_for(alg).expect("key");
        out.put("keys", &[&[1u8][..], k.serialize_pem().as_bytes()].concat());
        out.put("keys", &[&[2u8][..], &k.serialize_der()].concat());
        out.put(
            "keys",
            &[
                &[4u8][..],
                &rcgen::PublicKeyData::subject_public_key_info(&k),
            ]
            .concat(),
        );
    }
}

fn pem_base64(der: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for (i, c) in der.chunks(3).enumerate() {
        if i > 0 && i % 16 == 0 {
            s.push('\n');
        }
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for k in 0..4 {
            if k <= c.len() {
                s.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn tunnel(out: &mut Out) {
    let toml = [
        "[global]\nlog_format = \"json\"\nlog_level = \"debug\"\nmetrics = \"127.0.0.1:9100\"\ndrain_timeout = \"5s\"\npid_file = \"/run/t.pid\"\n\n[[service]]\nname = \"web\"\nmode = \"server\"\nlisten = \"0.0.0.0:8443\"\ntarget = \"unix:/run/app.sock\"\ncert = \"/c.pem\"\nkey = \"/k.pem\"\ncacert = \"/ca.pem\"\nverify = \"require\"\nallow_cn = [\"alice\"]\nallow_san = [\"spiffe://x/y\"]\nalpn = [\"h2\", \"http/1.1\"]\nproxy_protocol = \"v2\"\naccept_proxy = true\nhandshake_timeout = \"10s\"\nidle_timeout = \"5m\"\nmax_connections = 100\nsession_timeout = \"10m\"\nsession_cache_size = 50\nsession_tickets = false\n\n[[service.sni]]\nname = \"A.example\"\ntarget = \"127.0.0.1:81\"\ncert = \"/a.pem\"\nkey = \"/a.key\"\n",
        "[[service]]\nname = \"db\"\nmode = \"client\"\nlisten = \"127.0.0.1:5432\"\ntargets = [\"db1:5433\", \"[::1]:5433\"]\nserver_name = \"db.example.com\"\ncacert = \"/ca.pem\"\nconnect_timeout = \"3s\"\nclose_timeout = \"1s\"\nsession_resumption = false\n",
    ];
    for t in toml {
        out.put("tunnel_toml", t.as_bytes());
    }
    let conf = [
        "; comment\nforeground = yes\npid = /tmp/x.pid\ndebug = 7\noutput = /var/log/t.log\nTIMEOUTidle = 30\n\n[web]\naccept = 8443\nconnect = 127.0.0.1:80\ncert = /c.pem\nkey = /k.pem\nCAfile = /ca.pem\nverifyPeer = yes\nTIMEOUTbusy = 10\nTIMEOUTclose = 0\nsessionCacheTimeout = 600\nsessionCacheSize = 50\noptions = NO_TICKET\n\n[db]\nclient = yes\naccept = 127.0.0.1:5432\nconnect = db.example.com:5433\nCAfile = /ca.pem\nverifyChain = yes\ncheckHost = db.example.com\ncheckIP = 10.0.0.1\nTIMEOUTconnect = 5\nsessionResume = no\n",
        "[main]\naccept = 443\nconnect = 127.0.0.1:1\n[a]\nsni = main:a.example\nconnect = 127.0.0.1:2\ncert = /a.pem\n",
    ];
    for c in conf {
        out.put("tunnel_stunnel", c.as_bytes());
    }
    use std::net::SocketAddr;
    use tls_tunnel::proxy_protocol::{encode_v1, encode_v2, TlsInfo};
    let v4: (SocketAddr, SocketAddr) = (
        "10.0.0.1:1234".parse().unwrap(),
        "10.0.0.2:443".parse().unwrap(),
    );
    let v6: (SocketAddr, SocketAddr) = (
        "[2001:db8::1]:1234".parse().unwrap(),
        "[::1]:443".parse().unwrap(),
    );
    let info = TlsInfo {
        version: "TLSv1.3".into(),
        cipher: "TLS_AES_128_GCM_SHA256".into(),
        alpn: Some(b"h2".to_vec()),
        sni: Some("a.example".into()),
        client_cn: Some("alice".into()),
    };
    for a in [Some(v4), Some(v6), None] {
        out.put("proxy_protocol", &encode_v1(a));
        out.put("proxy_protocol", &encode_v2(a, None).expect("small header"));
        out.put(
            "proxy_protocol",
            &encode_v2(a, Some(&info)).expect("small header"),
        );
    }
}

/// Seeds for `protocol_prelude`: each protocol's good exchange (selector,
/// the far peer's byte count, its bytes, the plaintext peer's bytes).
fn preludes(out: &mut Out) {
    let ldap_ok: &[u8] = &[
        0x30, 0x0c, 0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
    ];
    let mut ldap_req = vec![0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16];
    ldap_req.extend_from_slice(b"1.3.6.1.4.1.1466.20037");
    let seeds: [(u8, &[u8], &[u8]); 12] = [
        (
            0,
            b"220-a\r\n220 b\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n",
            b"",
        ),
        (1, b"* OK ready\r\n* note\r\ntunnel OK go\r\n", b""),
        (2, b"+OK hi\r\n+OK go\r\n", b""),
        (3, b"200 news\r\n382 go\r\n", b""),
        (4, ldap_ok, b""),
        (5, b"S", b""),
        (
            0x46,
            b"HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\n",
            b"",
        ),
        (0x80, b"220 mail ESMTP\r\n", b"EHLO c\r\nSTARTTLS\r\n"),
        (
            0x81,
            b"* OK [CAPABILITY IMAP4rev1] hi\r\n* CAPABILITY IMAP4rev1\r\na OK\r\n",
            b"a CAPABILITY\r\nb STARTTLS\r\n",
        ),
        (0x82, b"+OK hi\r\n", b"CAPA\r\nSTLS\r\n"),
        (0x84, b"", &ldap_req),
        (
            0x85,
            b"",
            &[
                0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30, 0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f,
            ],
        ),
    ];
    // SOCKS messages, which the target also parses whole.
    out.put("protocol_prelude", &[5, 2, 0, 2]);
    out.put("protocol_prelude", b"\x05\x01\x00\x03\x09localhost\x1f\x90");
    out.put(
        "protocol_prelude",
        b"\x04\x01\x01\xbb\x00\x00\x00\x01user\x00example.org\x00",
    );
    for (sel, far, near) in seeds {
        let mut input = vec![sel];
        input.extend_from_slice(&(far.len() as u16).to_be_bytes());
        input.extend_from_slice(far);
        input.extend_from_slice(near);
        out.put("protocol_prelude", &input);
    }
}

/// `kx_shares`: for every group, real shares of each side with each length
/// selector (short, exact, long), and whole exchanges with a byte flipped.
fn key_shares(out: &mut Out) {
    let rng = FixedEntropy(tls_core_fuzz::CLIENT_SEED);
    for (g, group) in [
        NamedGroup::X25519MlKem768,
        NamedGroup::Secp256r1MlKem768,
        NamedGroup::Secp384r1MlKem1024,
        NamedGroup::X25519,
        NamedGroup::Secp256r1,
        NamedGroup::Secp384r1,
    ]
    .into_iter()
    .enumerate()
    {
        let g = g as u8;
        let client = ClientShare::start(group, &rng).expect("start");
        let (server, _) = server_share(group, client.share(), &rng).expect("respond");
        for selector in [0u8, 1, 2, 4 * 7, 4 * 7 + 2] {
            out.put(
                "kx_shares",
                &[&[g, 0, selector][..], client.share()].concat(),
            );
            out.put("kx_shares", &[&[g, 1, selector][..], &server].concat());
        }
        for (selector, at, flip) in [(0u8, 0u16, 0u8), (0, 5, 1), (1, 0, 0x80), (1, 1100, 2)] {
            let [hi, lo] = at.to_be_bytes();
            out.put("kx_shares", &[g, 2, selector, hi, lo, flip]);
        }
    }
}

fn main() {
    let root = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let mut out = Out { root, n: 0 };
    preludes(&mut out);
    use ProtocolVersion::{Tls12, Tls13};
    let all = tls_core::config::DEFAULT_GROUPS;
    let transcripts = vec![
        (
            "tls13",
            ours(client_config(&[Tls13], &all), server_config(&[Tls13], &all)),
        ),
        (
            "tls13-hrr",
            ours(
                client_config(&[Tls13], &[NamedGroup::X25519, NamedGroup::Secp384r1]),
                server_config(&[Tls13], &[NamedGroup::Secp384r1]),
            ),
        ),
        // The other two hybrids, and a HelloRetryRequest that asks for
        // X25519MLKEM768 (the client's first share is X25519).
        (
            "tls13-p256mlkem768",
            ours(
                client_config(&[Tls13], &[NamedGroup::Secp256r1MlKem768]),
                server_config(&[Tls13], &[NamedGroup::Secp256r1MlKem768]),
            ),
        ),
        (
            "tls13-p384mlkem1024",
            ours(
                client_config(&[Tls13], &[NamedGroup::Secp384r1MlKem1024]),
                server_config(&[Tls13], &[NamedGroup::Secp384r1MlKem1024]),
            ),
        ),
        (
            "tls13-hrr-x25519mlkem768",
            ours(
                client_config(&[Tls13], &[NamedGroup::X25519, NamedGroup::X25519MlKem768]),
                server_config(&[Tls13], &[NamedGroup::X25519MlKem768]),
            ),
        ),
        (
            "tls12",
            ours(client_config(&[Tls12], &all), server_config(&[Tls12], &all)),
        ),
        (
            "both",
            ours(
                client_config(&[Tls13, Tls12], &all),
                server_config(&[Tls13, Tls12], &all),
            ),
        ),
        ("tls13-resumed", ours_resumed(&[Tls13])),
        ("tls12-resumed", ours_resumed(&[Tls12])),
        ("tls13-stapled", ours_stapled(&[Tls13])),
        ("tls12-stapled", ours_stapled(&[Tls12])),
        (
            "rustls-client-13",
            rustls_client(&[&rustls::version::TLS13]),
        ),
        (
            "rustls-client-12",
            rustls_client(&[&rustls::version::TLS12]),
        ),
        (
            "rustls-server-13",
            rustls_server(&[&rustls::version::TLS13], false),
        ),
        (
            "rustls-server-13-hrr",
            rustls_server(&[&rustls::version::TLS13], true),
        ),
        (
            "rustls-server-12",
            rustls_server(&[&rustls::version::TLS12], false),
        ),
    ];
    for (name, t) in &transcripts {
        eprintln!(
            "{name}: {} flights to the server, {} to the client",
            t.to_server.len(),
            t.to_client.len()
        );
        let client_bytes: Vec<u8> = t.to_server.concat();
        let server_bytes: Vec<u8> = t.to_client.concat();
        // Engines: the whole peer side (control byte 0: one feed), and cut
        // into 7-byte and 1-byte pieces. The client target's first flight
        // is what answers its hello; later flights follow.
        for control in [0x00u8, 0x86, 0x80] {
            out.put("server_engine", &[&[control][..], &client_bytes].concat());
            out.put("client_engine", &[&[control][..], &server_bytes].concat());
        }
        if let Some(first) = t.to_server.first() {
            out.put("server_engine", &[&[0u8][..], first].concat());
            // Differential: the ClientHello record to both servers.
            out.put("differential", &[&[0u8][..], first_record(first)].concat());
        }
        if let Some(first) = t.to_client.first() {
            out.put("client_engine", &[&[0u8][..], first].concat());
            // Differential: the server's first record (ServerHello or HRR) to both clients.
            out.put("differential", &[&[1u8][..], first_record(first)].concat());
        }
        for control in [0x00u8, 0x04, 0x3f] {
            out.put("deframer", &[&[control][..], &client_bytes].concat());
            out.put("deframer", &[&[control][..], &server_bytes].concat());
        }
        for flight in t.to_server.iter().chain(&t.to_client) {
            for (typ, body) in plaintext_messages(flight) {
                out.put("handshake_msgs", &[&[typ][..], &body].concat());
            }
        }
    }
    for msg in encrypted_messages() {
        let enc = msg.to_vec();
        out.put("handshake_msgs", &[&[enc[0]][..], &enc[4..]].concat());
    }
    out.put("handshake_msgs", &[21u8, 2, 40]);
    chains(&mut out);
    key_shares(&mut out);
    tunnel(&mut out);
    eprintln!("{} seeds in {}", out.n, out.root.display());
}
