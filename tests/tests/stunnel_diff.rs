//! stunnel itself is the oracle: each stunnel.conf of `tests/data/stunnel/`
//! runs under stunnel4 and under tls-tunnel (ports substituted, both in the
//! foreground on 127.0.0.1), the same client actions are played against
//! each, and what a client observes must be the same: whether the file is
//! taken, which certificate is presented, whether a client certificate is
//! accepted, which target answers. Differences we keep on purpose are named
//! in the file (`; oracle-difference: KEY`) and listed in [`DIFFERENCES`],
//! the table tls-tunnel/README.md carries too.
//!
//! Actions, one `; oracle:` line each:
//! - `tls N [sni=NAME|none] [cert=NAME|none] [cipher12=SUITE] [ver=1.2|1.3]
//!   [groups=G] [suite13=S]`: `openssl s_client` to the Nth accept port
//!   (TLS 1.2 with only SUITE, one version, groups, TLS 1.3 suites);
//!   observes the server certificate's CN and the backend's greeting
//!   (`backend-b1`, `backend-b2`) if it gets through;
//! - `tls6 N`: the same over IPv6 (`::1`);
//! - `tls-twice N`: two connections; observes the set of backends reached;
//! - `plain N`: a plaintext client of a client-mode service, whose target
//!   is `openssl s_server -rev`; observes the reversed line;
//! - `resume N [ver=1.2]`: a second connection offers the first's session;
//!   observes whether it resumed;
//! - `resume-restart N`: a TLS 1.3 session from before a restart of the
//!   tool, offered after it; observes whether it resumed.
//!
//! Placeholders: `@DIR@` (the PKI), `@PORTn@` (accept ports), `@B1@`,
//! `@B2@` (plaintext backends), `@TLS1@` (the TLS backend), `@TLS2@` (one
//! requiring a client certificate), `@DEAD@` (a port nobody listens on).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};
use tls_tests::peer::{
    connect_local, free_port, local_listener, require, run_tool, wait_for_port, Peer, PEER_TIMEOUT,
};
use tls_tests::tunnel::{run_tunnel, temp_dir, tunnel_bin};

/// The differences we keep on purpose, with the reason (README.md's table).
const DIFFERENCES: [(&str, &str); 6] = [
    (
        "verify-by-default",
        "a client-mode service verifies the server against the system CAs unless told \
         verifyChain = no; stunnel verifies nothing by default",
    ),
    (
        "no-cbc",
        "CBC cipher suites are refused (padding-oracle history); stunnel takes them",
    ),
    (
        "no-renegotiation",
        "renegotiation = yes is refused: tls-tunnel never renegotiates",
    ),
    (
        "unresolvable-address",
        "a connect address that is not HOST:PORT is refused at start; stunnel starts and \
         fails every connection",
    ),
    (
        "duplicate-section",
        "two sections with one name are refused: logs, metrics and reloads tell services \
         apart by name; stunnel runs both",
    ),
    (
        "self-signed-default",
        "a server section without cert serves a self-signed certificate (fingerprint \
         logged) where stunnel refuses the file: a file stunnel runs is unaffected",
    ),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/stunnel")
}

/// Writes the test PKI into `dir`: a CA; server (server.test), a.test and
/// b.test certificates from it; client and revoked client certificates
/// from it with a CRL revoking the latter; another CA's CRL; a self-signed
/// stranger; a hashed CA directory.
fn write_pki(dir: &Path) {
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name.push(DnType::CommonName, "Oracle CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = date_time_ymd(2020, 1, 1);
    ca.not_after = date_time_ymd(2049, 12, 31);
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.crt"), ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |name: &str, cn: &str, sans: &[&str], client: bool, serial: u64| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        for san in sans {
            let ia5 = rcgen::string::Ia5String::try_from(*san).unwrap();
            p.subject_alt_names.push(if san.contains('@') {
                rcgen::SanType::Rfc822Name(ia5)
            } else {
                rcgen::SanType::DnsName(ia5)
            });
        }
        p.distinguished_name.push(DnType::CommonName, cn);
        p.serial_number = Some(SerialNumber::from(serial));
        p.not_before = date_time_ymd(2020, 1, 1);
        p.not_after = date_time_ymd(2049, 12, 31);
        p.use_authority_key_identifier_extension = true;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![if client {
            ExtendedKeyUsagePurpose::ClientAuth
        } else {
            ExtendedKeyUsagePurpose::ServerAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &issuer).unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
        std::fs::write(
            dir.join(format!("{name}.pem")),
            format!("{}{}", cert.pem(), key.serialize_pem()),
        )
        .unwrap();
    };
    leaf("server", "server", &["server.test", "localhost"], false, 10);
    leaf("a", "a.test", &["a.test"], false, 11);
    leaf("b", "b.test", &["b.test"], false, 12);
    leaf("client", "client", &[], true, 13);
    leaf("revoked", "revoked", &[], true, 4242);
    leaf("mail", "mail", &["alice@example.test"], true, 14);
    let listed = format!(
        "{}{}",
        std::fs::read_to_string(dir.join("client.crt")).unwrap(),
        ca_cert.pem()
    );
    std::fs::write(dir.join("client-and-ca.crt"), listed).unwrap();
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(2040, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(4242u64),
            revocation_time: date_time_ymd(2024, 1, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer)
    .unwrap();
    std::fs::write(dir.join("crl.pem"), crl.pem().unwrap()).unwrap();
    // A CRL from another CA: it says nothing about our clients.
    let mut other = CertificateParams::new(Vec::<String>::new()).unwrap();
    other
        .distinguished_name
        .push(DnType::CommonName, "Other CA");
    other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    other.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let other_key = KeyPair::generate().unwrap();
    other.self_signed(&other_key).unwrap();
    let other_crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2024, 1, 1),
        next_update: date_time_ymd(2040, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&Issuer::new(other, other_key))
    .unwrap();
    std::fs::write(dir.join("other-crl.pem"), other_crl.pem().unwrap()).unwrap();
    let crlpath = dir.join("crlpath");
    std::fs::create_dir_all(&crlpath).unwrap();
    std::fs::write(crlpath.join("crl.pem"), crl.pem().unwrap()).unwrap();
    let stranger = rcgen::generate_simple_self_signed(vec!["stranger".to_string()]).unwrap();
    std::fs::write(dir.join("stranger.crt"), stranger.cert.pem()).unwrap();
    std::fs::write(
        dir.join("stranger.key"),
        stranger.signing_key.serialize_pem(),
    )
    .unwrap();
    let capath = dir.join("capath");
    std::fs::create_dir_all(&capath).unwrap();
    std::fs::write(capath.join("ca.pem"), ca_cert.pem()).unwrap();
    for hashed in [&capath, &crlpath] {
        run_tool(
            &require("openssl", "openssl"),
            ["rehash", hashed.to_str().unwrap()],
        );
    }
}

/// A plaintext backend: each connection gets `backend-NAME\n`, then its
/// side is shut down. Stops when dropped.
struct Greeter {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Greeter {
    fn start(name: &str) -> Greeter {
        let (listener, port): (TcpListener, u16) = local_listener();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, greeting) = (stop.clone(), format!("backend-{name}\n"));
        std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let _ = s.write_all(greeting.as_bytes());
                        let _ = s.shutdown(Shutdown::Write);
                        let _ = s.read(&mut [0u8; 64]);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Greeter { port, stop }
    }
}

impl Drop for Greeter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The fixed parts of a run: PKI, backends.
struct World {
    dir: PathBuf,
    b1: Greeter,
    b2: Greeter,
    tls1: u16,
    /// A TLS backend that requires a client certificate from the CA.
    tls2: u16,
    dead: u16,
    _tls_backends: [Peer; 2],
}

/// Which program runs the file.
#[derive(Clone, Copy, Debug)]
enum Tool {
    Stunnel,
    Tunnel,
}

/// What the test puts before each file: both in the foreground, no pid
/// file, no syslog.
const PRELUDE: &str = "foreground = yes\npid =\nsyslog = no\n";

/// One file's text with placeholders filled in, and its accept ports.
fn instantiate(world: &World, text: &str, ports: &[u16]) -> String {
    let mut out = text
        .replace("@DIR@", world.dir.to_str().unwrap())
        .replace("@B1@", &world.b1.port.to_string())
        .replace("@B2@", &world.b2.port.to_string())
        .replace("@TLS1@", &world.tls1.to_string())
        .replace("@TLS2@", &world.tls2.to_string())
        .replace("@DEAD@", &world.dead.to_string());
    for (i, port) in ports.iter().enumerate() {
        out = out.replace(&format!("@PORT{}@", i + 1), &port.to_string());
    }
    // After a byte-order mark, which must stay first.
    let (bom, rest) = match out.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", out.as_str()),
    };
    format!("{bom}{PRELUDE}{rest}")
}

/// Starts `tool` on `conf`; `None` when it exits (refuses the file) before
/// listening on every one of `ports`.
fn start(tool: Tool, conf: &Path, ports: &[u16]) -> Option<Peer> {
    let mut peer = match tool {
        Tool::Stunnel => Peer::spawn(&require("stunnel4", "stunnel4"), [conf]),
        Tool::Tunnel => Peer::spawn(
            &tunnel_bin(),
            [Path::new("--config").as_os_str(), conf.as_os_str()],
        ),
    };
    let deadline = Instant::now() + PEER_TIMEOUT;
    let mut waiting: Vec<u16> = ports.to_vec();
    while !waiting.is_empty() {
        waiting.retain(|&p| !wait_for_port(p, Duration::from_millis(50)));
        if peer.try_status().is_some() {
            return None;
        }
        assert!(
            Instant::now() < deadline,
            "{tool:?} neither listens nor exits\n{}",
            peer.diagnostics()
        );
    }
    Some(peer)
}

/// `openssl s_client` to `host:port` with `extra` arguments; its output.
fn s_client(
    world: &World,
    host: &str,
    port: u16,
    sni: Option<&str>,
    cert: Option<&str>,
    extra: &[String],
) -> String {
    let mut args: Vec<String> = vec![
        "s_client".into(),
        "-connect".into(),
        format!("{host}:{port}"),
        "-ign_eof".into(),
    ];
    match sni {
        Some(name) => args.extend(["-servername".into(), name.into()]),
        None => args.push("-noservername".into()),
    }
    if let Some(name) = cert {
        let base = world.dir.join(name);
        args.extend([
            "-cert".into(),
            base.with_extension("crt").to_str().unwrap().into(),
            "-key".into(),
            base.with_extension("key").to_str().unwrap().into(),
        ]);
    }
    args.extend_from_slice(extra);
    let mut client = Peer::spawn(&require("openssl", "openssl"), &args);
    client.close_stdin();
    if client.wait(PEER_TIMEOUT).is_none() {
        client.kill();
    }
    String::from_utf8_lossy(&client.stdout()).into_owned()
}

/// What a TLS client saw: the server certificate's CN and the backend
/// greeting, `-` for what was not seen.
fn tls_seen(out: &str) -> String {
    let cn = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("0 s:"))
        .and_then(|s| s.split("CN = ").nth(1))
        .map_or("-".to_string(), |s| {
            s.split(',').next().unwrap_or("").trim().to_string()
        });
    let data = ["b1", "b2"]
        .into_iter()
        .find(|b| out.contains(&format!("backend-{b}")))
        .unwrap_or("-");
    format!("cn={cn} data={data}")
}

fn tls_client(
    world: &World,
    host: &str,
    port: u16,
    sni: Option<&str>,
    cert: Option<&str>,
) -> String {
    tls_seen(&s_client(world, host, port, sni, cert, &[]))
}

/// A plaintext client: sends `ping`, observes what comes back.
fn plain_client(port: u16) -> String {
    let Ok(mut s) = connect_local(port) else {
        return "refused".into();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = s.write_all(b"ping\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while !got.ends_with(b"\n") {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got).trim().to_string();
    if text.is_empty() {
        "data=-".into()
    } else {
        format!("data={text}")
    }
}

/// Plays one `; oracle:` action.
fn act(world: &World, action: &str, ports: &[u16]) -> String {
    let words: Vec<&str> = action.split_whitespace().collect();
    let port = |i: usize| -> u16 {
        let n: usize = words[i].parse().expect("port number");
        ports[n - 1]
    };
    let opt = |name: &str| -> Option<&str> {
        words
            .iter()
            .find_map(|w| w.strip_prefix(name))
            .filter(|v| *v != "none")
    };
    match words[0] {
        "tls" => {
            // TLS 1.2 with one suite, to see which suites a `ciphers` list leaves.
            let mut extra: Vec<String> = opt("cipher12=")
                .map(|c| vec!["-tls1_2".into(), "-cipher".into(), c.into()])
                .unwrap_or_default();
            match opt("ver=") {
                Some("1.2") => extra.push("-tls1_2".into()),
                Some("1.3") => extra.push("-tls1_3".into()),
                _ => {}
            }
            if let Some(g) = opt("groups=") {
                extra.extend(["-groups".into(), g.into()]);
            }
            if let Some(c) = opt("suite13=") {
                extra.extend(["-ciphersuites".into(), c.into()]);
            }
            let out = s_client(
                world,
                "127.0.0.1",
                port(1),
                opt("sni="),
                opt("cert="),
                &extra,
            );
            tls_seen(&out)
        }
        "tls6" => tls_client(world, "[::1]", port(1), None, None),
        "tls-twice" => {
            let mut seen = [
                tls_client(world, "127.0.0.1", port(1), None, None),
                tls_client(world, "127.0.0.1", port(1), None, None),
            ];
            seen.sort();
            seen.join(" + ")
        }
        "plain" => plain_client(port(1)),
        other => panic!("unknown oracle action {other:?}"),
    }
}

/// Runs one file under `tool`: one observation per action. A file that
/// includes `@DIR@/conf.d` gets the fragments of `data/stunnel/conf.d`
/// there, with this run's placeholders.
fn observe(world: &World, tool: Tool, name: &str, text: &str, actions: &[String]) -> Vec<String> {
    let mut fragments = Vec::new();
    if text.contains("@DIR@/conf.d") {
        for entry in std::fs::read_dir(corpus_dir().join("conf.d")).unwrap() {
            let path = entry.unwrap().path();
            fragments.push((
                path.file_name().unwrap().to_owned(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
    let uses = |i: usize| {
        let p = format!("@PORT{i}@");
        text.contains(&p) || fragments.iter().any(|(_, f)| f.contains(&p))
    };
    let ports: Vec<u16> = (1..=4).filter(|&i| uses(i)).map(|_| free_port()).collect();
    let conf_d = world.dir.join("conf.d");
    for (file, fragment) in &fragments {
        // The foreground prelude belongs to the main file only.
        let filled = instantiate(world, fragment, &ports).replacen(PRELUDE, "", 1);
        std::fs::write(conf_d.join(file), filled).unwrap();
    }
    let conf = world.dir.join(format!("{name}.{tool:?}.conf"));
    std::fs::write(&conf, instantiate(world, text, &ports)).unwrap();
    let Some(mut peer) = start(tool, &conf, &ports) else {
        return vec!["file refused".to_string(); actions.len()];
    };
    let mut seen = Vec::new();
    for action in actions {
        if let Some(rest) = action.strip_prefix("resume ") {
            // Two connections to the same instance, the second offering the
            // first's session (`ver=1.2` for TLS 1.2).
            let mut words = rest.split_whitespace();
            let n: usize = words
                .next()
                .and_then(|w| w.parse().ok())
                .expect("port number");
            let ver: Vec<String> = match words.next() {
                Some("ver=1.2") => vec!["-tls1_2".into()],
                _ => vec!["-tls1_3".into()],
            };
            let session = world.dir.join(format!("{name}.{tool:?}.{n}.session"));
            let session = session.to_str().unwrap().to_string();
            let with = |flag: &str| {
                let mut a = ver.clone();
                a.extend([flag.to_string(), session.clone()]);
                a
            };
            let port = ports[n - 1];
            s_client(world, "127.0.0.1", port, None, None, &with("-sess_out"));
            let second = s_client(world, "127.0.0.1", port, None, None, &with("-sess_in"));
            seen.push(format!("resumed={}", second.contains("Reused, TLSv1.")));
            continue;
        }
        let Some(n) = action.strip_prefix("resume-restart ") else {
            seen.push(act(world, action, &ports));
            continue;
        };
        // A session from before a restart, offered after it.
        let port = ports[n.trim().parse::<usize>().expect("port number") - 1];
        let session = world.dir.join(format!("{name}.{tool:?}.session"));
        let session = session.to_str().unwrap().to_string();
        let first = s_client(
            world,
            "127.0.0.1",
            port,
            None,
            None,
            &["-sess_out".into(), session.clone()],
        );
        peer.kill();
        let Some(restarted) = start(tool, &conf, &ports) else {
            seen.push("restart refused".into());
            continue;
        };
        peer = restarted;
        let second = s_client(
            world,
            "127.0.0.1",
            port,
            None,
            None,
            &["-sess_in".into(), session],
        );
        seen.push(format!(
            "{} then {} resumed={}",
            tls_seen(&first),
            tls_seen(&second),
            second.contains("Reused, TLSv1.3")
        ));
    }
    peer.kill();
    seen
}

#[test]
fn stunnel_and_tls_tunnel_agree_on_the_corpus() {
    require("stunnel4", "stunnel4");
    let openssl = require("openssl", "openssl");
    let dir = temp_dir("oracle");
    write_pki(&dir);
    let conf_d = dir.join("conf.d");
    std::fs::create_dir_all(&conf_d).unwrap();
    let (server_crt, server_key) = (dir.join("server.crt"), dir.join("server.key"));
    let (tls_backend, tls1) = Peer::spawn_listening(&openssl, |port| {
        vec![
            "s_server".into(),
            "-accept".into(),
            format!("127.0.0.1:{port}"),
            "-cert".into(),
            server_crt.to_str().unwrap().into(),
            "-key".into(),
            server_key.to_str().unwrap().into(),
            "-rev".into(),
            "-quiet".into(),
        ]
    });
    let ca_crt = dir.join("ca.crt");
    let (mtls_backend, tls2) = Peer::spawn_listening(&openssl, |port| {
        vec![
            "s_server".into(),
            "-accept".into(),
            format!("127.0.0.1:{port}"),
            "-cert".into(),
            server_crt.to_str().unwrap().into(),
            "-key".into(),
            server_key.to_str().unwrap().into(),
            "-Verify".into(),
            "1".into(),
            "-CAfile".into(),
            ca_crt.to_str().unwrap().into(),
            "-verify_return_error".into(),
            "-rev".into(),
            "-quiet".into(),
        ]
    });
    let world = World {
        dir: dir.clone(),
        b1: Greeter::start("b1"),
        b2: Greeter::start("b2"),
        tls1,
        tls2,
        dead: free_port(),
        _tls_backends: [tls_backend, mtls_backend],
    };

    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .collect();
    files.sort();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_stem().unwrap().to_str().unwrap().to_string();
        let text = std::fs::read_to_string(file).unwrap();
        let mut actions = Vec::new();
        let mut difference = None;
        for line in text.lines() {
            if let Some(a) = line
                .trim_start_matches('\u{feff}')
                .strip_prefix("; oracle: ")
            {
                actions.push(a.trim().to_string());
            }
            if let Some(d) = line.strip_prefix("; oracle-difference: ") {
                let d = d.trim();
                assert!(
                    DIFFERENCES.iter().any(|(k, _)| *k == d),
                    "{name}: difference {d:?} is not in the table"
                );
                difference = Some(d.to_string());
            }
        }
        assert!(!actions.is_empty(), "{name}: no oracle action");
        let theirs = observe(&world, Tool::Stunnel, &name, &text, &actions);
        let ours = observe(&world, Tool::Tunnel, &name, &text, &actions);
        for ((action, s), t) in actions.iter().zip(&theirs).zip(&ours) {
            let outcome = if s == t {
                "same"
            } else if difference.is_some() {
                "expected difference"
            } else {
                failures.push(format!(
                    "{name}: `{action}`: stunnel4 saw {s:?}, tls-tunnel saw {t:?}"
                ));
                "different"
            };
            *counts.entry(outcome).or_default() += 1;
            println!("{name}: {action}: stunnel4 {s} | tls-tunnel {t} => {outcome}");
        }
        if let Some(d) = &difference {
            if theirs == ours {
                failures.push(format!(
                    "{name}: expected difference {d:?} but both saw {theirs:?}"
                ));
            }
        }
    }
    println!(
        "oracle corpus: {} files, {} actions: {counts:?}",
        files.len(),
        counts.values().sum::<usize>()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The files that should work do work.
    assert!(counts.get("same").copied().unwrap_or(0) >= 30, "{counts:?}");
}

#[test]
fn debian_sample_config_passes_check_unchanged() {
    let sample = Path::new("/usr/share/doc/stunnel4/examples/stunnel.conf-sample");
    assert!(
        sample.exists(),
        "{} missing: apt-get install stunnel4",
        sample.display()
    );
    let (code, out, err) = run_tunnel(["--config", sample.to_str().unwrap(), "--check"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("configuration OK (3 service(s))"), "{out}");
    assert!(
        out.contains("OCSPaia = yes: accepted without effect"),
        "{out}"
    );
}

#[test]
fn every_error_of_a_file_is_reported_at_once() {
    let dir = temp_dir("errors");
    let conf = dir.join("bad.conf");
    std::fs::write(
        &conf,
        "\u{feff}compression = zlib\n[a]\naccept = 1\nconnect = 2\nbogus = 1\n\
         socket = r:SO_OOBINLINE=yes\n[b]\naccept = 3\nconnect = 4\nrenegotiation = yes\n",
    )
    .unwrap();
    let (code, _, err) = run_tunnel(["--config", conf.to_str().unwrap(), "--check"]);
    assert_eq!(code, Some(2), "{err}");
    let path = conf.display().to_string();
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            format!("tls-tunnel: {path}:1: compression = zlib: TLS compression is never used (it leaks secrets: CRIME)"),
            format!("tls-tunnel: {path}:5: unknown option \"bogus\": not a stunnel option"),
            format!("tls-tunnel: {path}:6: socket: SO_OOBINLINE: not supported (out-of-band data is not relayed)"),
            format!("tls-tunnel: {path}:10: renegotiation = yes: tls-tunnel never renegotiates (it invites a CPU-exhaustion attack, and TLS 1.3 has none)"),
        ],
        "{err}"
    );
}

#[test]
fn debug_events_log_file_and_signals() {
    let dir = temp_dir("process");
    write_pki(&dir);
    let backend = Greeter::start("b1");
    let port = free_port();
    let log = dir.join("tunnel.log");
    std::fs::write(&log, "from an earlier run\n").unwrap();
    let conf = dir.join("process.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\nsyslog = no\ndebug = 7\nlog = overwrite\noutput = {}\n\
             [svc]\naccept = 127.0.0.1:{port}\nconnect = {}\ncert = {}\n",
            log.display(),
            backend.port,
            dir.join("server.pem").display()
        ),
    )
    .unwrap();
    let mut tunnel = Peer::spawn(
        &tunnel_bin(),
        [Path::new("--config").as_os_str(), conf.as_os_str()],
    );
    tunnel.wait_for_port(port);
    let seen = {
        let mut client = Peer::spawn(
            &require("openssl", "openssl"),
            [
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-ign_eof",
                "-noservername",
            ],
        );
        client.close_stdin();
        client.wait(PEER_TIMEOUT);
        String::from_utf8_lossy(&client.stdout()).into_owned()
    };
    assert!(seen.contains("backend-b1"), "{seen}");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    let wait_log = |needle: &str| {
        let deadline = Instant::now() + PEER_TIMEOUT;
        while !read_log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "{needle:?} never logged:\n{}",
                read_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // `log = overwrite` truncated it; debug = 7 follows the connection's life.
    wait_log("connection closed");
    let text = read_log();
    assert!(!text.contains("earlier run"), "{text}");
    for event in [
        "connection accepted",
        "handshake done",
        "version=TLSv1.3",
        "target connected",
        "bytes_out=11",
    ] {
        assert!(text.contains(event), "{event:?} in\n{text}");
    }
    // SIGUSR2 lists open connections; SIGUSR1 reopens the (rotated) file.
    let kill = |sig: &str| {
        let status = std::process::Command::new("kill")
            .args([format!("-{sig}"), tunnel.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    };
    kill("USR2");
    wait_log("open connections count=0");
    std::fs::rename(&log, dir.join("tunnel.log.1")).unwrap();
    kill("USR1");
    wait_log("log file reopened");
    tunnel.kill();
}
