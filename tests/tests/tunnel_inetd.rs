//! stunnel's inetd mode: a stunnel.conf without sections, tls-tunnel started
//! the way inetd, xinetd or systemd (`Accept=yes`) start it, with an
//! accepted TCP connection as its standard input and output. Server mode
//! to a target and to a program (exec, with stunnel's environment), client
//! mode to a TLS server; the process serves that one connection and exits,
//! and nothing but the connection's bytes reaches standard output. Also
//! exec with `pty = yes`: the program runs on a pseudo-terminal. stunnel4
//! runs the same inetd files as the oracle.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tls_tests::openssl_peer::s_client_at;
use tls_tests::peer::{local_listener, require, set_timeouts, PEER_TIMEOUT};
use tls_tests::tunnel::{
    cert_for, read_n, temp_dir, tls_over, tunnel_bin, Backend, BackendKind, Tunnel,
};

/// Starts tls-tunnel on `conf` with `conn` (an accepted connection) as its
/// standard input and output, as inetd does; stderr goes to `log`.
fn inetd_tunnel(conf: &Path, conn: TcpStream, log: &Path) -> Child {
    let input = OwnedFd::from(conn.try_clone().expect("dup the connection"));
    Command::new(tunnel_bin())
        .arg("--config")
        .arg(conf)
        .stdin(Stdio::from(input))
        .stdout(Stdio::from(OwnedFd::from(conn)))
        .stderr(Stdio::from(std::fs::File::create(log).expect("log file")))
        .spawn()
        .expect("start tls-tunnel")
}

/// Waits for the process to exit by itself; it must succeed.
fn exits_cleanly(child: &mut Child, log: &Path) {
    let deadline = Instant::now() + PEER_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let log = std::fs::read_to_string(log).unwrap_or_default();
            assert!(status.success(), "tls-tunnel ended with {status}:\n{log}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!(
                "tls-tunnel still running after its connection ended:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A connected pair of TCP sockets on 127.0.0.1: (client end, accepted end).
fn tcp_pair() -> (TcpStream, TcpStream) {
    let (listener, port) = local_listener();
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let (accepted, _) = listener.accept().expect("accept");
    set_timeouts(&client).expect("timeouts");
    (client, accepted)
}

#[test]
fn inetd_server_mode_serves_its_standard_input_to_a_target() {
    let dir = temp_dir("inetd-server");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: "backend\n".into(),
    });
    let conf = dir.join("inetd.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\ncert = {}\nkey = {}\nconnect = {}\n",
            cert.cert.display(),
            cert.key.display(),
            backend.addr()
        ),
    )
    .unwrap();
    let (client, accepted) = tcp_pair();
    let log = dir.join("tunnel.log");
    let mut child = inetd_tunnel(&conf, accepted, &log);
    let mut tls = tls_over(client, "localhost", &cert.der);
    assert_eq!(read_n(&mut tls, 8), b"backend\n");
    tls.write_all(b"through stdin\n").unwrap();
    assert_eq!(read_n(&mut tls, 14), b"through stdin\n");
    drop(tls);
    exits_cleanly(&mut child, &log);
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("connection closed"), "{log}");
    assert!(log.contains("service=stunnel"), "{log}");
}

#[test]
fn inetd_exec_runs_the_program_with_stunnels_environment() {
    let dir = temp_dir("inetd-exec");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let alice = cert_for(&dir, "alice", &[]);
    let script = dir.join("prog.sh");
    std::fs::write(
        &script,
        "echo \"REMOTE_HOST=$REMOTE_HOST\"\necho \"SSL_CLIENT_DN=$SSL_CLIENT_DN\"\n\
         echo \"ARG1=$1\"\nread line\necho \"got: $line\"\n",
    )
    .unwrap();
    let conf = dir.join("inetd.conf");
    // No foreground: logs go to syslog, as stunnel's; a service name.
    std::fs::write(
        &conf,
        format!(
            "service = imaps\ncert = {}\nkey = {}\nCAfile = {}\nverifyPeer = yes\n\
             exec = /bin/sh\nexecArgs = sh {} first\n",
            cert.cert.display(),
            cert.key.display(),
            alice.cert.display(),
            script.display()
        ),
    )
    .unwrap();
    // openssl s_client connects to us; what we accept becomes the tunnel's stdio.
    let (listener, port) = local_listener();
    let mut client = s_client_at(
        port,
        &[
            "-cert",
            alice.cert.to_str().unwrap(),
            "-key",
            alice.key.to_str().unwrap(),
            "-quiet",
        ],
    );
    let (accepted, _) = listener.accept().expect("accept s_client");
    let log = dir.join("tunnel.log");
    let mut child = inetd_tunnel(&conf, accepted, &log);
    client.write_stdin(b"hello program\n".to_vec());
    assert!(
        client.wait_output_contains("got: hello program", PEER_TIMEOUT),
        "{}\n{}",
        client.diagnostics(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let out = String::from_utf8_lossy(&client.stdout()).into_owned();
    for want in [
        "REMOTE_HOST=127.0.0.1\n",
        "SSL_CLIENT_DN=CN=alice\n",
        "ARG1=first\n",
    ] {
        assert!(out.contains(want), "{want:?} missing from {out:?}");
    }
    client.close_stdin();
    exits_cleanly(&mut child, &log);
    // Logs went to syslog, not to the connection or stderr.
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.is_empty(), "{log}");
}

#[test]
fn inetd_client_mode_speaks_tls_to_the_target() {
    let dir = temp_dir("inetd-client");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: "tls backend\n".into(),
    });
    let (probe, tport) = local_listener();
    drop(probe);
    let _server = Tunnel::server(
        &format!("127.0.0.1:{tport}"),
        &backend.addr(),
        &cert,
        &[],
        tport,
    );
    let conf = dir.join("inetd.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\nclient = yes\nconnect = 127.0.0.1:{tport}\nsni = localhost\n\
             checkHost = localhost\nCAfile = {}\nverifyChain = yes\n",
            cert.cert.display()
        ),
    )
    .unwrap();
    let (mut client, accepted) = tcp_pair();
    let log = dir.join("tunnel.log");
    let mut child = inetd_tunnel(&conf, accepted, &log);
    assert_eq!(read_n(&mut client, 12), b"tls backend\n");
    client.write_all(b"plain in\n").unwrap();
    assert_eq!(read_n(&mut client, 9), b"plain in\n");
    client.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = client.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    exits_cleanly(&mut child, &log);
}

#[test]
fn inetd_mode_refuses_a_standard_input_that_is_not_a_socket() {
    let dir = temp_dir("inetd-pipe");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let conf = dir.join("inetd.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\ncert = {}\nkey = {}\nconnect = 127.0.0.1:1\n",
            cert.cert.display(),
            cert.key.display()
        ),
    )
    .unwrap();
    let out = Command::new(tunnel_bin())
        .arg("--config")
        .arg(&conf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("run tls-tunnel");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "{:?}", out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("inetd mode"), "{err}");
}

#[test]
fn pty_yes_runs_the_program_on_a_terminal() {
    let dir = temp_dir("pty");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let script = dir.join("prog.sh");
    std::fs::write(
        &script,
        "[ -t 0 ] && [ -t 1 ] && echo \"terminal: yes\"\ntty\nread line\necho \"got: $line\"\n",
    )
    .unwrap();
    let (probe, port) = local_listener();
    drop(probe);
    let conf = dir.join("pty.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[prog]\naccept = 127.0.0.1:{port}\ncert = {}\nkey = {}\n\
             exec = /bin/sh\nexecArgs = sh {}\npty = yes\n",
            cert.cert.display(),
            cert.key.display(),
            script.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    set_timeouts(&sock).unwrap();
    let mut tls = tls_over(sock, "localhost", &cert.der);
    tls.write_all(b"hello terminal\n").unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    let mut ended = String::from("(still open)");
    while !String::from_utf8_lossy(&seen).contains("got: hello terminal") {
        match tls.read(&mut buf) {
            Ok(0) => {
                ended = "closed by the tunnel".into();
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                ended = format!("read error: {e}");
                break;
            }
            Ok(n) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let seen = String::from_utf8_lossy(&seen).into_owned();
    // A terminal: the program sees one, and its lines end in CR LF.
    assert!(
        seen.contains("terminal: yes\r\n"),
        "{seen:?}\n{}",
        tunnel.log()
    );
    assert!(seen.contains("/dev/pts/"), "{seen:?}");
    assert!(
        seen.contains("got: hello terminal"),
        "{seen:?} ({ended})\n{}",
        tunnel.log()
    );
}

/// stunnel4 is the oracle: the same inetd-mode file, the same connection
/// on standard input, the same bytes through (server mode to a backend
/// that greets, and exec).
#[test]
fn stunnel_and_tls_tunnel_agree_in_inetd_mode() {
    let stunnel = require("stunnel4", "stunnel4");
    let dir = temp_dir("inetd-oracle");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let greeter = tls_tests::stunnel::Greeter::start("b1");
    let script = dir.join("prog.sh");
    std::fs::write(&script, "echo \"program for $REMOTE_HOST\"\n").unwrap();
    let files = [
        (
            "connect",
            format!("connect = 127.0.0.1:{}\n", greeter.port),
            "backend-b1\n",
        ),
        (
            "exec",
            format!("exec = /bin/sh\nexecArgs = sh {}\n", script.display()),
            "program for 127.0.0.1\n",
        ),
    ];
    for (name, service, want) in files {
        let conf = dir.join(format!("{name}.conf"));
        std::fs::write(
            &conf,
            format!(
                "foreground = yes\nsyslog = no\npid =\ncert = {}\nkey = {}\n{service}",
                cert.cert.display(),
                cert.key.display()
            ),
        )
        .unwrap();
        for tool in ["stunnel4", "tls-tunnel"] {
            let (client, accepted) = tcp_pair();
            let log = dir.join(format!("{name}-{tool}.log"));
            let input = OwnedFd::from(accepted.try_clone().unwrap());
            let mut cmd = if tool == "stunnel4" {
                Command::new(&stunnel)
            } else {
                let mut c = Command::new(tunnel_bin());
                c.arg("--config");
                c
            };
            let mut child = cmd
                .arg(&conf)
                .stdin(Stdio::from(input))
                .stdout(Stdio::from(OwnedFd::from(accepted)))
                .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
                .spawn()
                .unwrap();
            let mut tls = tls_over(client, "localhost", &cert.der);
            let mut got = Vec::new();
            let _ = tls.read_to_end(&mut got);
            assert_eq!(
                String::from_utf8_lossy(&got),
                want,
                "{tool} on {name}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            drop(tls);
            exits_cleanly(&mut child, &log);
        }
    }
}

/// A field of /proc/PID/status, e.g. "Seccomp" (0: none, 2: filter).
fn proc_status(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Waits (bounded) until the log file contains `needle`.
fn log_shows(log: &Path, needle: &str) {
    let deadline = Instant::now() + PEER_TIMEOUT;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "log never said {needle:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn inetd_mode_runs_under_the_seccomp_filter_unless_it_runs_programs() {
    let dir = temp_dir("inetd-seccomp");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::Echo {
        greeting: "backend\n".into(),
    });
    let conf = dir.join("inetd.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\ncert = {}\nkey = {}\nconnect = {}\n",
            cert.cert.display(),
            cert.key.display(),
            backend.addr()
        ),
    )
    .unwrap();
    let (client, accepted) = tcp_pair();
    let log = dir.join("tunnel.log");
    let mut child = inetd_tunnel(&conf, accepted, &log);
    let mut tls = tls_over(client, "localhost", &cert.der);
    // The connection is being served: the filter is in place by now.
    assert_eq!(read_n(&mut tls, 8), b"backend\n");
    assert_eq!(
        proc_status(child.id(), "Seccomp"),
        "2",
        "seccomp filter mode"
    );
    assert_eq!(proc_status(child.id(), "NoNewPrivs"), "1");
    log_shows(&log, "seccomp filter installed");
    tls.write_all(b"under seccomp\n").unwrap();
    assert_eq!(read_n(&mut tls, 14), b"under seccomp\n");
    drop(tls);
    exits_cleanly(&mut child, &log);

    // exec: no filter (the program would inherit it), and the program runs.
    let script = dir.join("prog.sh");
    std::fs::write(&script, "echo ready\nread line\necho \"got: $line\"\n").unwrap();
    let conf = dir.join("inetd-exec.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\ncert = {}\nkey = {}\nexec = /bin/sh\nexecArgs = sh {}\n",
            cert.cert.display(),
            cert.key.display(),
            script.display()
        ),
    )
    .unwrap();
    let (client, accepted) = tcp_pair();
    let log = dir.join("tunnel-exec.log");
    let mut child = inetd_tunnel(&conf, accepted, &log);
    let mut tls = tls_over(client, "localhost", &cert.der);
    assert_eq!(read_n(&mut tls, 6), b"ready\n");
    assert_eq!(proc_status(child.id(), "Seccomp"), "0");
    log_shows(&log, "no seccomp filter, because a service runs programs");
    tls.write_all(b"program\n").unwrap();
    assert_eq!(read_n(&mut tls, 13), b"got: program\n");
    drop(tls);
    exits_cleanly(&mut child, &log);
}
