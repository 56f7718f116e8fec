//! The stunnel.conf front end end to end, beyond the oracle
//! (`stunnel_diff.rs`): Debian's sample file, every error of a file at once,
//! debug events along a connection's life, the log file and stunnel's
//! signals, failover logged and counted, chroot/setgid/setuid after binding,
//! paths inside the chroot jail (against stunnel4) and reloads in it.

use std::path::Path;
use std::time::{Duration, Instant};

use tls_tests::openssl_peer::s_client_run;
use tls_tests::peer::{free_port, require, Peer, PEER_TIMEOUT};
use tls_tests::stunnel::{write_pki, Greeter};
use tls_tests::tunnel::{run_tunnel, temp_dir, tunnel_bin};

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
        !out.contains("OCSPaia = yes: accepted without effect"),
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
         socket = r:SO_NOSUCH=yes\n[b]\naccept = 3\nconnect = 4\nrenegotiation = yes\n",
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
            format!("tls-tunnel: {path}:6: socket: unknown socket option \"SO_NOSUCH\" (tls-tunnel sets SO_KEEPALIVE, TCP_NODELAY, SO_REUSEADDR, SO_REUSEPORT, SO_LINGER, SO_RCVBUF, SO_SNDBUF, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT, SO_BINDTODEVICE, IP_TTL, IP_TOS, IPV6_V6ONLY, SO_OOBINLINE, IP_FREEBIND, SO_RCVLOWAT, SO_SNDLOWAT, SO_DEBUG, SO_DONTROUTE, SO_RCVTIMEO, SO_SNDTIMEO)"),
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
    let seen = s_client_run(port, &["-ign_eof", "-noservername"]).stdout;
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

#[test]
fn failover_logs_and_counts_the_failed_target() {
    let dir = temp_dir("failover");
    write_pki(&dir);
    let backend = Greeter::start("b2");
    let (port, dead, metrics) = (free_port(), free_port(), free_port());
    let conf = dir.join("failover.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\nsyslog = no\n[fo]\naccept = 127.0.0.1:{port}\n\
             connect = 127.0.0.1:{dead}\nconnect = 127.0.0.1:{}\ncert = {}\n",
            backend.port,
            dir.join("server.pem").display()
        ),
    )
    .unwrap();
    let metrics_addr = format!("127.0.0.1:{metrics}");
    let mut tunnel = Peer::spawn(
        &tunnel_bin(),
        [
            "--config",
            conf.to_str().unwrap(),
            "--metrics",
            metrics_addr.as_str(),
        ],
    );
    tunnel.wait_for_port(port);
    tunnel.wait_for_port(metrics);
    let out = s_client_run(port, &["-ign_eof"]).stdout;
    assert!(out.contains("backend-b2"), "{out}");
    assert!(
        tunnel.wait_output_contains("target failed", PEER_TIMEOUT),
        "{}",
        tunnel.diagnostics()
    );
    let log = tunnel.stderr();
    let line = log.lines().find(|l| l.contains("target failed")).unwrap();
    assert!(
        line.contains("WARN") && line.contains(&format!("127.0.0.1:{dead}")),
        "{line}"
    );
    let page = tls_tests::tunnel::http_get(metrics);
    assert!(
        page.contains("tls_tunnel_target_failures_total{service=\"fo\"} 1"),
        "{page}"
    );
    tunnel.kill();
}

#[test]
fn chroot_setgid_setuid_after_binding() {
    let dir = temp_dir("jail");
    write_pki(&dir);
    let backend = Greeter::start("b1");
    // A privileged port (free a moment ago): only bindable before the
    // privileges go.
    let port = if is_root() {
        (900..1024)
            .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .expect("a free port below 1024")
    } else {
        free_port()
    };
    // As stunnel, the pid file is written by the setuid user.
    let run_dir = dir.join("run");
    std::fs::create_dir_all(&run_dir).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&run_dir, Some(65534), Some(65534)).unwrap();
    }
    let conf = dir.join("jail.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\nsyslog = no\nchroot = {}\nsetuid = nobody\nsetgid = nogroup\n\
             pid = /run/tunnel.pid\n[jailed]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{}\n\
             cert = {}\n",
            dir.display(),
            backend.port,
            dir.join("server.pem").display()
        ),
    )
    .unwrap();
    let mut tunnel = Peer::spawn(
        &tunnel_bin(),
        [Path::new("--config").as_os_str(), conf.as_os_str()],
    );
    if !is_root() {
        // Without the privilege to give up, it says so and stops.
        let status = tunnel.wait(PEER_TIMEOUT).expect("exits");
        assert_eq!(status.code(), Some(1), "{}", tunnel.diagnostics());
        assert!(
            tunnel.stderr().contains("chroot"),
            "{}",
            tunnel.diagnostics()
        );
        return;
    }
    tunnel.wait_for_port(port);
    // The pid file is written inside the jail, then the ids change.
    let pid_file = run_dir.join("tunnel.pid");
    let deadline = Instant::now() + PEER_TIMEOUT;
    while !std::fs::read_to_string(&pid_file).is_ok_and(|p| p.trim() == tunnel.id().to_string()) {
        assert!(Instant::now() < deadline, "no pid file in the jail");
        std::thread::sleep(Duration::from_millis(20));
    }
    let proc_dir = format!("/proc/{}", tunnel.id());
    let deadline = Instant::now() + PEER_TIMEOUT;
    loop {
        let status = std::fs::read_to_string(format!("{proc_dir}/status")).unwrap();
        let ids = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
                .unwrap_or_default()
        };
        if ids("Uid:") == "65534 65534 65534 65534" {
            assert_eq!(ids("Gid:"), "65534 65534 65534 65534");
            assert_eq!(ids("Groups:"), "");
            break;
        }
        assert!(Instant::now() < deadline, "still {status}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read_link(format!("{proc_dir}/root")).unwrap(),
        dir.canonicalize().unwrap()
    );
    // Still serving: everything it needs was loaded before.
    let out = s_client_run(port, &["-ign_eof"]).stdout;
    assert!(
        out.contains("backend-b1"),
        "{out}\n{}",
        tunnel.diagnostics()
    );
    tunnel.kill();
}

/// Polls `f` until it holds; panics with `what` after [`PEER_TIMEOUT`].
fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + PEER_TIMEOUT;
    while !f() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The outcome of a client's connection: the backend's greeting seen
/// (client certificate `name` accepted) or not.
fn greeted(port: u16, dir: &Path, name: &str) -> bool {
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    let args = [
        "-ign_eof",
        "-cert",
        cert.to_str().unwrap(),
        "-key",
        key.to_str().unwrap(),
    ];
    s_client_run(port, &args).stdout.contains("backend-jail")
}

/// An old stunnel sample's chroot layout, run by stunnel4 and by
/// tls-tunnel: `CApath = /certs`, `CRLpath = /crls`, `output` and `pid`
/// exist only inside the jail, `cert` and `CAfile` only outside. Both take
/// the first four inside the jail (the log file written by the setuid
/// user) and the last two from the host, accept the client certificate
/// and refuse the revoked one. A SIGHUP reload then reads the
/// configuration and the certificate inside the jail, and SIGUSR1 reopens
/// the log file there.
#[test]
fn chroot_jail_paths_as_stunnel() {
    let dir = temp_dir("jail-paths");
    write_pki(&dir);
    let backend = Greeter::start("jail");
    let jail = dir.join("jail");
    let copy_dir = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    };
    // Hashed directories, as `openssl rehash` left them (real files here:
    // the links would point outside the jail).
    copy_dir(&dir.join("capath"), &jail.join("certs"));
    copy_dir(&dir.join("crlpath"), &jail.join("crls"));
    let log_dir = jail.join("log");
    std::fs::create_dir_all(&log_dir).unwrap();
    if is_root() {
        std::os::unix::fs::chown(&log_dir, Some(65534), Some(65534)).unwrap();
    }
    assert!(!Path::new("/certs").exists() && !Path::new("/crls").exists());
    let port = free_port();
    let conf = dir.join("jail-paths.conf");
    // The CA file names an unrelated certificate: clients are admitted by
    // the jail's CApath alone.
    let text = format!(
        "foreground = yes\nsyslog = no\nchroot = {}\nsetuid = 65534\nsetgid = 65534\n\
         pid = /log/tunnel.pid\noutput = /log/tunnel.log\n[jailed]\naccept = 127.0.0.1:{port}\n\
         connect = 127.0.0.1:{}\ncert = {}\nverify = 2\nCAfile = {}\nCApath = /certs\n\
         CRLpath = /crls\n",
        jail.display(),
        backend.port,
        dir.join("server.pem").display(),
        dir.join("stranger.crt").display(),
    );
    std::fs::write(&conf, &text).unwrap();
    let args = [Path::new("--config").as_os_str(), conf.as_os_str()];
    let mut tunnel = Peer::spawn(&tunnel_bin(), args);
    if !is_root() {
        // Without the privilege to give up, it says so and stops.
        let status = tunnel.wait(PEER_TIMEOUT).expect("exits");
        assert_eq!(status.code(), Some(1), "{}", tunnel.diagnostics());
        assert!(
            tunnel.stderr().contains("chroot"),
            "{}",
            tunnel.diagnostics()
        );
        return;
    }
    tunnel.kill();
    let log = log_dir.join("tunnel.log");
    let pid = log_dir.join("tunnel.pid");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    // The oracle first, then tls-tunnel, on the same file.
    let stunnel = require("stunnel4", "stunnel4");
    for (tool, program) in [("stunnel4", stunnel), ("tls-tunnel", tunnel_bin())] {
        let _ = std::fs::remove_file(&log);
        let mut daemon = if tool == "stunnel4" {
            Peer::spawn(&program, [&conf])
        } else {
            Peer::spawn(&program, args)
        };
        daemon.wait_for_port(port);
        let id = daemon.id().to_string();
        wait_until(&format!("{tool}: no pid file in the jail"), || {
            std::fs::read_to_string(&pid).is_ok_and(|p| p.trim() == id)
        });
        assert!(
            greeted(port, &dir, "client"),
            "{tool}: client refused\n{}",
            read_log()
        );
        assert!(
            !greeted(port, &dir, "revoked"),
            "{tool}: revoked client admitted\n{}",
            read_log()
        );
        // The log file is in the jail, made by the setuid user.
        let meta = std::fs::metadata(&log).unwrap_or_else(|e| panic!("{tool}: {e}"));
        assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 65534, "{tool}");
        assert!(!Path::new("/log/tunnel.log").exists(), "{tool}");
        if tool == "tls-tunnel" {
            wait_until("revocation not logged", || {
                read_log().contains("certificate revoked")
            });
            // A reload reads the configuration and the certificate at the
            // same paths inside the jail: a copy there serves a.test.
            let in_jail = |p: &Path| jail.join(p.strip_prefix("/").unwrap());
            let served = in_jail(&dir.join("server.pem"));
            std::fs::create_dir_all(served.parent().unwrap()).unwrap();
            std::fs::copy(dir.join("a.pem"), &served).unwrap();
            let ca_file = dir.join("stranger.crt");
            std::fs::copy(&ca_file, in_jail(&ca_file)).unwrap();
            std::fs::write(in_jail(&conf), &text).unwrap();
            let status = std::process::Command::new("kill")
                .args(["-HUP", &id])
                .status()
                .unwrap();
            assert!(status.success());
            wait_until(&format!("no reload in\n{}", read_log()), || {
                read_log().contains("reloaded 1 service(s)")
            });
            let out = s_client_run(
                port,
                &[
                    "-ign_eof",
                    "-cert",
                    dir.join("client.crt").to_str().unwrap(),
                    "-key",
                    dir.join("client.key").to_str().unwrap(),
                ],
            )
            .stdout;
            assert!(
                out.contains("a.test") && out.contains("backend-jail"),
                "{out}\n{}",
                read_log()
            );
            // SIGUSR1 reopens the rotated log at its place in the jail.
            std::fs::rename(&log, log_dir.join("tunnel.log.1")).unwrap();
            let status = std::process::Command::new("kill")
                .args(["-USR1", &id])
                .status()
                .unwrap();
            assert!(status.success());
            wait_until("log file not reopened in the jail", || {
                read_log().contains("log file reopened")
            });
            let meta = std::fs::metadata(&log).unwrap();
            assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 65534);
        }
        daemon.kill();
    }
}

/// `exec` under chroot runs the jail's program, for stunnel4 and for
/// tls-tunnel (with its sandbox on): /bin/echo and its libraries are
/// copied into the jail at `/bin/greet`; a program only on the host is not
/// found by either.
#[test]
fn chroot_exec_runs_the_jails_program() {
    if !is_root() {
        // chroot needs root; chroot_setgid_setuid_after_binding shows the
        // refusal without it.
        return;
    }
    let dir = temp_dir("jail-exec");
    write_pki(&dir);
    let jail = dir.join("jail");
    let in_jail = |p: &Path| jail.join(p.strip_prefix("/").unwrap());
    let ldd = std::process::Command::new("ldd")
        .arg("/bin/echo")
        .output()
        .expect("ldd: apt-get install libc-bin");
    let libs = String::from_utf8_lossy(&ldd.stdout).into_owned();
    for lib in libs.split_whitespace().filter(|w| w.starts_with('/')) {
        let to = in_jail(Path::new(lib));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(lib, to).unwrap();
    }
    std::fs::create_dir_all(jail.join("bin")).unwrap();
    std::fs::copy("/bin/echo", jail.join("bin/greet")).unwrap();
    assert!(!Path::new("/bin/greet").exists());
    let stunnel = require("stunnel4", "stunnel4");
    for program in ["/bin/greet", "/bin/echo"] {
        let port = free_port();
        let conf = dir.join("exec.conf");
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\nsyslog = no\nchroot = {}\nsetuid = 65534\nsetgid = 65534\n\
                 [run]\naccept = 127.0.0.1:{port}\nexec = {program}\nexecArgs = greet from-jail\n\
                 cert = {}\n",
                jail.display(),
                dir.join("server.pem").display()
            ),
        )
        .unwrap();
        for tool in [stunnel.clone(), tunnel_bin()] {
            let mut daemon = if tool == stunnel {
                Peer::spawn(&tool, [&conf])
            } else {
                Peer::spawn(&tool, [Path::new("--config"), &conf])
            };
            daemon.wait_for_port(port);
            let out = s_client_run(port, &["-ign_eof"]).stdout;
            // /bin/echo is only on the host: not found in the jail.
            assert_eq!(
                out.contains("from-jail"),
                program == "/bin/greet",
                "{} {program}: {out}\n{}",
                tool.display(),
                daemon.diagnostics()
            );
            daemon.kill();
        }
    }
}

/// syslog keeps receiving lines from inside the chroot jail (where the
/// socket's path does not exist), as stunnel's openlog(LOG_NDELAY) does.
#[test]
fn chroot_keeps_syslog() {
    if !is_root() {
        // chroot needs root; chroot_setgid_setuid_after_binding shows the
        // refusal without it.
        return;
    }
    let dir = temp_dir("jail-syslog");
    write_pki(&dir);
    let backend = Greeter::start("syslog");
    let jail = dir.join("jail");
    std::fs::create_dir_all(&jail).unwrap();
    let socket_path = dir.join("log.sock");
    let syslog = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    syslog.set_read_timeout(Some(PEER_TIMEOUT)).unwrap();
    let port = free_port();
    let conf = dir.join("syslog.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\nchroot = {}\nsetuid = 65534\nsetgid = 65534\n[logged]\n\
             accept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{}\ncert = {}\n",
            jail.display(),
            backend.port,
            dir.join("server.pem").display()
        ),
    )
    .unwrap();
    let mut tunnel = Peer::spawn(
        &tunnel_bin(),
        [
            Path::new("--config").as_os_str(),
            conf.as_os_str(),
            "--syslog".as_ref(),
            "--syslog-socket".as_ref(),
            socket_path.as_os_str(),
        ],
    );
    tunnel.wait_for_port(port);
    let out = s_client_run(port, &["-ign_eof"]).stdout;
    assert!(out.contains("backend-syslog"), "{out}");
    // "ready" comes after chroot, the connection's lines later still.
    let mut lines = Vec::new();
    while !lines
        .iter()
        .any(|l: &String| l.contains("connection closed"))
    {
        let mut buf = [0u8; 4096];
        let n = syslog
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("{e}: {lines:?}\n{}", tunnel.diagnostics()));
        lines.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(lines.iter().any(|l| l.contains("ready")), "{lines:?}");
    tunnel.kill();
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

#[test]
fn setuid_in_a_section_owns_its_unix_socket() {
    let dir = temp_dir("unix-owner");
    write_pki(&dir);
    let backend = Greeter::start("b1");
    let socket = dir.join("front.sock");
    // As root the socket goes to nobody; otherwise to ourselves (all a
    // user may give away).
    let (user, group, id) = if is_root() {
        ("nobody".to_string(), "nogroup".to_string(), 65534)
    } else {
        let me = std::fs::metadata(&dir).unwrap();
        let uid = std::os::unix::fs::MetadataExt::uid(&me);
        let gid = std::os::unix::fs::MetadataExt::gid(&me);
        (uid.to_string(), gid.to_string(), uid)
    };
    let conf = dir.join("owner.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\nsyslog = no\n[front]\naccept = {}\nconnect = 127.0.0.1:{}\n\
             cert = {}\nsetuid = {user}\nsetgid = {group}\n",
            socket.display(),
            backend.port,
            dir.join("server.pem").display()
        ),
    )
    .unwrap();
    let mut tunnel = Peer::spawn(
        &tunnel_bin(),
        [Path::new("--config").as_os_str(), conf.as_os_str()],
    );
    assert!(
        tunnel.wait_output_contains("ready", PEER_TIMEOUT),
        "{}",
        tunnel.diagnostics()
    );
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), id);
    tunnel.kill();
}
