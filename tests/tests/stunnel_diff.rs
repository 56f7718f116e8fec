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
//!   [groups=G] [suite13=S] [verify=NAME] [psk=IDENTITY:HEX]`: `openssl
//!   s_client` to the Nth accept port (TLS 1.2 with only SUITE, one version,
//!   groups, TLS 1.3 suites, the chain verified against the CA for NAME, an
//!   external PSK offered);
//!   observes the server certificate's CN and the backend's greeting
//!   (`backend-b1`, `backend-b2`) if it gets through;
//! - `tls6 N`: the same over IPv6 (`::1`);
//! - `tls-twice N`: two connections; observes the set of backends reached;
//! - `plain N`: a plaintext client of a client-mode service, whose target
//!   is `openssl s_server -rev`; observes the reversed line;
//! - `plain-end N`: a plaintext client that reads to the end (sending
//!   nothing: unread data would make any close a reset); observes how the
//!   connection ended: `eof` (FIN) or `reset` (RST, ECONNRESET);
//! - `resume N [ver=1.2]`: a second connection offers the first's session;
//!   observes whether it resumed;
//! - `resume-restart N`: a TLS 1.3 session from before a restart of the
//!   tool, offered after it; observes whether it resumed;
//! - `recorded`: what `@REC@` received, for files with no accept port
//!   (exec+connect): waits for a first `ping` line, then for three more
//!   seconds (the time for two restarts one second apart); observes whether
//!   there was one run or several.
//!
//! Placeholders: `@DIR@` (the PKI), `@PORTn@` (accept ports), `@B1@`,
//! `@B2@` (plaintext backends), `@TLS1@` (the TLS backend), `@TLS2@` (one
//! requiring a client certificate), `@TLS3@` (one whose certificate names an
//! email address), `@TLS4@` (one with no certificate that takes only the
//! PSK `bob` of `@DIR@/psk.txt`, [`PSK_FILE`]), `@TLS5@` (one presenting
//! the expired self-signed `old-server`), `@DEAD@` (a port nobody listens
//! on), `@REC@` (a TLS server started for each run of the file, printing
//! what it receives).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tls_tests::openssl_peer::{s_client_run_at, Log, SServerBuilder};
use tls_tests::peer::{connect_local, free_port, require, wait_for_port, Peer, PEER_TIMEOUT};
use tls_tests::stunnel::{write_pki, Greeter};
use tls_tests::tunnel::{temp_dir, tunnel_bin};

/// The differences we keep on purpose, with the reason (README.md's table).
const DIFFERENCES: [(&str, &str); 9] = [
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
        "self-signed-default",
        "a server section without cert serves a self-signed certificate (fingerprint \
         logged) where stunnel refuses the file: a file stunnel runs is unaffected",
    ),
    (
        "p12-chain",
        "the other certificates of a PKCS#12 cert file go out as the chain; stunnel 5.68 \
         sends the leaf alone (later stunnel versions send them too)",
    ),
    (
        "psk-server-preference",
        "a server with a certificate and PSKsecrets picks the TLS 1.3 suite by its own order \
         (a SHA-256 one first), so a client offering a known PSK gets the PSK handshake; \
         stunnel takes the client's order and, when that puts a SHA-384 suite first, drops \
         the SHA-256 PSK for its certificate",
    ),
    (
        "nntp-server",
        "protocol = nntp is also taken in server mode (STARTTLS offered in front of a \
         plaintext news server); stunnel has it in client mode only and refuses the file",
    ),
    (
        "bounded-cache",
        "sessionCacheSize = 0 (unlimited) is refused: a client could fill the memory",
    ),
];

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/stunnel")
}

/// The fixed parts of a run: PKI, backends.
struct World {
    dir: PathBuf,
    b1: Greeter,
    b2: Greeter,
    /// `backend-u1` on the Unix socket `@DIR@/u1.sock`.
    _u1: Greeter,
    tls1: u16,
    /// A TLS backend that requires a client certificate from the CA.
    tls2: u16,
    /// A TLS backend whose certificate also names ops@example.test.
    tls3: u16,
    /// A TLS backend taking only the PSK `bob`, with no certificate.
    tls4: u16,
    /// A TLS backend presenting an expired self-signed certificate.
    tls5: u16,
    dead: u16,
    _tls_backends: [Peer; 5],
}

/// `@DIR@/psk.txt`: the PSKsecrets file of the corpus (stunnel's format).
const PSK_FILE: &str = "alice:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\
                        bob:b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0\n";

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
        .replace("@TLS3@", &world.tls3.to_string())
        .replace("@TLS4@", &world.tls4.to_string())
        .replace("@TLS5@", &world.tls5.to_string())
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

/// Starts `tool` on `conf`; `Err` with its output when it exits (refuses
/// the file, or a port was taken meanwhile) before listening on every one
/// of `ports`.
fn start(tool: Tool, conf: &Path, ports: &[u16]) -> Result<Peer, String> {
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
            return Err(peer.stderr());
        }
        assert!(
            Instant::now() < deadline,
            "{tool:?} neither listens nor exits\n{}",
            peer.diagnostics()
        );
    }
    Ok(peer)
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
    let mut args: Vec<String> = vec!["-ign_eof".into()];
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
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    s_client_run_at(host, port, &args).stdout
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
    let data = ["b1", "b2", "u1"]
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

/// A plaintext client that reads until the connection ends; observes how
/// it ended.
fn plain_end(port: u16) -> String {
    let Ok(mut s) = connect_local(port) else {
        return "refused".into();
    };
    let _ = s.set_read_timeout(Some(PEER_TIMEOUT));
    let mut buf = [0u8; 256];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return "end=eof".into(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return "end=reset".into(),
            Err(e) => return format!("end={:?}", e.kind()),
        }
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
            if let Some((identity, key)) = opt("psk=").and_then(|p| p.split_once(':')) {
                extra.extend([
                    "-psk".into(),
                    key.into(),
                    "-psk_identity".into(),
                    identity.into(),
                ]);
            }
            if let Some(name) = opt("verify=") {
                // The client checks the chain it is sent against our CA.
                let ca = world.dir.join("ca.crt");
                extra.extend([
                    "-CAfile".into(),
                    ca.to_str().unwrap().into(),
                    "-verify_return_error".into(),
                    "-verify_hostname".into(),
                    name.into(),
                ]);
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
        "plain-end" => plain_end(port(1)),
        other => panic!("unknown oracle action {other:?}"),
    }
}

/// `openssl s_server` with the corpus's server certificate, printing what
/// its clients send (one at a time, as many as come).
fn recorder(world: &World) -> (Peer, u16) {
    let server =
        SServerBuilder::with_cert(&world.dir.join("server.crt"), &world.dir.join("server.key"))
            .naccept(0)
            .quiet(false)
            .log(Log::Off)
            .start();
    (server.peer, server.port)
}

/// The `recorded` action: how many clients of `rec` said `ping`.
fn recorded(rec: &Peer) -> String {
    let pings = || {
        String::from_utf8_lossy(&rec.stdout())
            .lines()
            .filter(|l| l.trim() == "ping")
            .count()
    };
    if !rec.wait_output_contains("ping", PEER_TIMEOUT) {
        return "runs=0".into();
    }
    std::thread::sleep(Duration::from_secs(3));
    match pings() {
        1 => "runs=1".into(),
        _ => "runs=several".into(),
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
    // A recording TLS server of this run, and the file naming it.
    let rec = text.contains("@REC@").then(|| recorder(world));
    let owned;
    let text = match &rec {
        Some((_, port)) => {
            owned = text.replace("@REC@", &port.to_string());
            owned.as_str()
        }
        None => text,
    };
    let uses = |i: usize| {
        let p = format!("@PORT{i}@");
        text.contains(&p) || fragments.iter().any(|(_, f)| f.contains(&p))
    };
    // Ports free a moment ago may be taken by the time the tool binds them:
    // then it is started again on others.
    let mut attempts = 0;
    let (mut peer, ports, conf) = loop {
        let ports: Vec<u16> = (1..=4).filter(|&i| uses(i)).map(|_| free_port()).collect();
        let conf_d = world.dir.join("conf.d");
        for (file, fragment) in &fragments {
            // The foreground prelude belongs to the main file only.
            let filled = instantiate(world, fragment, &ports).replacen(PRELUDE, "", 1);
            std::fs::write(conf_d.join(file), filled).unwrap();
        }
        let conf = world.dir.join(format!("{name}.{tool:?}.conf"));
        std::fs::write(&conf, instantiate(world, text, &ports)).unwrap();
        match start(tool, &conf, &ports) {
            Ok(peer) => break (peer, ports, conf),
            Err(out) if out.contains("in use") && attempts < 3 => attempts += 1,
            Err(_) => return vec!["file refused".to_string(); actions.len()],
        }
    };
    let mut seen = Vec::new();
    for action in actions {
        if action == "recorded" {
            seen.push(recorded(
                rec.as_ref().map(|(p, _)| p).expect("@REC@ in the file"),
            ));
            continue;
        }
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
        let Ok(restarted) = start(tool, &conf, &ports) else {
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
    let dir = temp_dir("oracle");
    write_pki(&dir);
    let conf_d = dir.join("conf.d");
    std::fs::create_dir_all(&conf_d).unwrap();
    let ca_crt = dir.join("ca.crt");
    let s_server = |cert: &str, extra: &[&str]| {
        let server = SServerBuilder::with_cert(
            &dir.join(format!("{cert}.crt")),
            &dir.join(format!("{cert}.key")),
        )
        .naccept(0)
        .log(Log::Off)
        .args(&["-rev"])
        .args(extra)
        .start();
        (server.peer, server.port)
    };

    let (tls_backend, tls1) = s_server("server", &[]);
    let ca = ca_crt.to_str().unwrap();
    let (mtls_backend, tls2) = s_server(
        "server",
        &["-Verify", "1", "-CAfile", ca, "-verify_return_error"],
    );
    let (mail_backend, tls3) = s_server("server-mail", &[]);
    let psk_file = dir.join("psk.txt");
    std::fs::write(&psk_file, PSK_FILE).unwrap();
    // As stunnel asks: readable by its owner only.
    let owner_only = std::os::unix::fs::PermissionsExt::from_mode(0o600);
    std::fs::set_permissions(&psk_file, owner_only).unwrap();
    let bob = PSK_FILE
        .lines()
        .nth(1)
        .and_then(|l| l.split_once(':'))
        .unwrap()
        .1;
    let (psk_backend, tls4) = s_server("server", &["-nocert", "-psk", bob, "-psk_identity", "bob"]);
    let (old_backend, tls5) = s_server("old-server", &[]);
    let world = World {
        dir: dir.clone(),
        b1: Greeter::start("b1"),
        b2: Greeter::start("b2"),
        _u1: Greeter::start_unix("u1", &dir.join("u1.sock")),
        tls1,
        tls2,
        tls3,
        tls4,
        tls5,
        dead: free_port(),
        _tls_backends: [
            tls_backend,
            mtls_backend,
            mail_backend,
            psk_backend,
            old_backend,
        ],
    };

    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        // STUNNEL_DIFF_ONLY=prefix runs only the files whose name starts so.
        .filter(|p| {
            std::env::var("STUNNEL_DIFF_ONLY").map_or(true, |only| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&only))
            })
        })
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
    if std::env::var_os("STUNNEL_DIFF_ONLY").is_none() {
        assert!(counts.get("same").copied().unwrap_or(0) >= 30, "{counts:?}");
    }
}
