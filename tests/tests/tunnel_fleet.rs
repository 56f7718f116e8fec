//! tls-tunnel at fleet scale, without a balancer: instances sharing a
//! ticket key file resume each other's sessions (TLS 1.3 and 1.2, through
//! a rotation and a retirement), and a second instance binds the first's
//! address (SO_REUSEPORT) while the first drains, refusing no client.

use std::path::Path;

use std::process::Command;

use tls_tests::fleet::{failures, request, s_client_probe, write_key_file, LoadLoop, Probe};
use tls_tests::peer::{free_port, require, Peer, PEER_TIMEOUT};
use tls_tests::tunnel::{
    cert_for, http_get_path, run_tunnel, temp_dir, tunnel_bin, Backend, BackendKind, CertFiles,
    Tunnel,
};

/// The versions tested: a name as OpenSSL prints it and the flag forcing it.
const VERSIONS: [(&str, &[&str]); 2] = [("TLSv1.3", &[]), ("TLSv1.2", &["-tls1_2"])];

const KEY_1: &str = "6b1e3f0a9c2d47e58f61a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7";
const KEY_2: &str = "f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff";

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

/// A server-mode instance on `port` reading ticket keys from `keys`.
fn instance(port: u16, backend: &Backend, cert: &CertFiles, keys: &Path) -> Tunnel {
    let listen = format!("127.0.0.1:{port}");
    Tunnel::server(
        &listen,
        &backend.addr(),
        cert,
        &["--ticket-key-file", keys.to_str().unwrap()],
        port,
    )
}

/// A connection to `port` saving its session to `sess` (`-sess_out`) or,
/// with `resume`, offering the session saved there (`-sess_in`).
fn connect(port: u16, flags: &[&str], sess: &Path, resume: bool) -> Probe {
    let flag = if resume { "-sess_in" } else { "-sess_out" };
    let args = [&[flag, sess.to_str().unwrap()][..], flags].concat();
    s_client_probe(port, &args, "fleet probe")
}

#[test]
fn instances_sharing_a_key_file_resume_each_others_sessions() {
    let dir = temp_dir("fleet-keys");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let keys = dir.join("ticket.keys");
    write_key_file(&keys, &[KEY_1]);
    let (pa, pb) = (free_port(), free_port());
    let a = instance(pa, &backend, &cert, &keys);
    let b = instance(pb, &backend, &cert, &keys);
    let logs = || format!("A:\n{}\nB:\n{}", a.log(), b.log());

    for (version, flags) in VERSIONS {
        let sess = dir.join(format!("{version}-1.sess"));
        let first = connect(pa, flags, &sess, false);
        assert_eq!(
            first.session.as_deref(),
            Some(&*format!("New, {version}")),
            "{}",
            first.output
        );
        let other = connect(pb, flags, &sess, true);
        assert_eq!(
            other.session.as_deref(),
            Some(&*format!("Reused, {version}")),
            "a ticket from A resumes on B\n{}\n{}",
            other.output,
            logs()
        );
    }

    // Rotation: a new current key, the old one kept to open old tickets. A
    // is told by SIGHUP, B sees the file change.
    write_key_file(&keys, &[KEY_2, KEY_1]);
    a.signal("HUP");
    a.expect_log("trigger=\"SIGHUP\"");
    b.expect_log("ticket keys reloaded");
    for (version, flags) in VERSIONS {
        let old = dir.join(format!("{version}-1.sess"));
        let kept = connect(pb, flags, &old, true);
        assert!(
            kept.reused(),
            "an old-key ticket resumes after rotation\n{}\n{}",
            kept.output,
            logs()
        );
        let sess = dir.join(format!("{version}-2.sess"));
        assert!(!connect(pa, flags, &sess, false).reused());
        let new = connect(pb, flags, &sess, true);
        assert!(
            new.reused(),
            "a new-key ticket from A resumes on B\n{}\n{}",
            new.output,
            logs()
        );
    }

    // Retirement: the old key leaves the file; its tickets no longer resume.
    write_key_file(&keys, &[KEY_2]);
    b.signal("HUP");
    b.expect_log("trigger=\"SIGHUP\"");
    for (version, flags) in VERSIONS {
        let old = dir.join(format!("{version}-1.sess"));
        let refused = connect(pb, flags, &old, true);
        assert_eq!(
            refused.session.as_deref(),
            Some(&*format!("New, {version}")),
            "a retired key's ticket makes a full handshake\n{}\n{}",
            refused.output,
            logs()
        );
        let current = dir.join(format!("{version}-2.sess"));
        assert!(connect(pb, flags, &current, true).reused(), "{}", logs());
    }

    // A bad file on a running instance keeps the keys in use.
    std::fs::write(&keys, "not a key\n").unwrap();
    a.signal("HUP");
    a.expect_log("keeping the ticket keys in use");
    let current = dir.join("TLSv1.3-2.sess");
    assert!(connect(pa, &[], &current, true).reused(), "{}", logs());
}

#[test]
fn a_bad_key_file_stops_the_start_naming_file_and_line() {
    let dir = temp_dir("fleet-badkeys");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let keys = dir.join("ticket.keys");
    std::fs::write(&keys, format!("{KEY_1}\n# retired\n{}\n", &KEY_2[1..])).unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (code, _, err) = run_tunnel([
        "server",
        "--listen",
        &listen,
        "--target",
        "127.0.0.1:1",
        "--cert",
        cert.cert.to_str().unwrap(),
        "--key",
        cert.key.to_str().unwrap(),
        "--ticket-key-file",
        keys.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    let want = format!(
        "{}:3: a ticket key is 64 hexadecimal digits",
        keys.display()
    );
    assert!(err.contains(&want), "{want:?} in {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

fn greeter(name: &str) -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: format!("{name}\n"),
    })
}

/// How many of `results` the backend greeting `name` answered.
fn served_by(results: &[Result<String, String>], name: &str) -> usize {
    let greeting = format!("{name}\n");
    results
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|t| t.starts_with(&greeting)))
        .count()
}

#[test]
fn a_new_instance_binds_through_so_reuseport_while_the_old_one_drains() {
    let dir = temp_dir("fleet-reuseport");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let (old_backend, new_backend) = (greeter("old"), greeter("new"));
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let metrics_port = free_port();
    let metrics = format!("127.0.0.1:{metrics_port}");
    let old = Tunnel::server(
        &listen,
        &old_backend.addr(),
        &cert,
        &["--reuse-port", "--drain-grace", "3s", "--metrics", &metrics],
        port,
    );
    let load = LoadLoop::start(port, &cert.der);
    assert!(
        load.wait_for(|r| served_by(r, "old") >= 20),
        "{}",
        old.log()
    );

    // The "upgrade": a second process binds the same address.
    let new = Tunnel::spawn([
        "server",
        "--listen",
        &listen,
        "--target",
        &new_backend.addr(),
        "--cert",
        cert.cert.to_str().unwrap(),
        "--key",
        cert.key.to_str().unwrap(),
        "--reuse-port",
    ]);
    new.expect_log("ready");
    assert!(
        load.wait_for(|r| served_by(r, "new") >= 20),
        "the kernel spreads connections over both\n{}",
        new.log()
    );

    // The old one drains: unready first, still accepting for the grace,
    // then its listener closes and it exits.
    assert_eq!(http_get_path(metrics_port, "/readyz").0, 200);
    old.signal("TERM");
    old.expect_log("draining: unready, still accepting");
    let (code, body) = http_get_path(metrics_port, "/readyz");
    assert_eq!(code, 503, "{body}");
    let mut old = old;
    let status = old.peer.wait(PEER_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "{}", old.log());
    // Requests go on, all to the new one.
    let at_exit = served_by(&load.snapshot(), "new");
    assert!(load.wait_for(|r| served_by(r, "new") >= at_exit + 20));
    let results = load.finish();
    let failed = failures(&results);
    println!(
        "SO_REUSEPORT hand-over: {} requests, {} by the old instance, {} by the new, {} failed",
        results.len(),
        served_by(&results, "old"),
        served_by(&results, "new"),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "failed requests: {failed:?}\n{}",
        old.log()
    );
}

#[test]
fn a_socket_activated_listener_is_used() {
    let activate = require("systemd-socket-activate", "systemd");
    let dir = temp_dir("fleet-activation");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = greeter("backend");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(activate);
    cmd.args(["--listen", &listen, "--fdname=tls"])
        .arg(tunnel_bin())
        .args(["server", "--listen", &listen, "--target", &backend.addr()])
        .args(["--cert", cert.cert.to_str().unwrap()])
        .args(["--key", cert.key.to_str().unwrap()]);
    let mut tunnel = Peer::spawn_command(cmd);
    tunnel.wait_for_port(port);
    // systemd-socket-activate starts the tunnel at the first connection,
    // which waits in the socket's backlog meanwhile.
    let got = request(port, &cert.der);
    assert_eq!(
        got.as_deref(),
        Ok("backend\nping\n"),
        "{}",
        tunnel.diagnostics()
    );
    assert!(
        tunnel.wait_output_contains("listening socket from socket activation", PEER_TIMEOUT),
        "{}",
        tunnel.diagnostics()
    );
    assert_eq!(request(port, &cert.der).as_deref(), Ok("backend\nping\n"));
}

#[test]
fn socket_activation_variables_without_sockets_are_reported_and_ignored() {
    let dir = temp_dir("fleet-activation-bad");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = greeter("backend");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    // LISTEN_PID is ours (the shell execs the tunnel), but descriptors 3
    // and 4 are not open (or not sockets): reported, and the service binds
    // its own socket.
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg("LISTEN_PID=$$ LISTEN_FDS=2 LISTEN_FDNAMES=a:b exec \"$@\"")
        .arg("sh")
        .arg(tunnel_bin())
        .args(["server", "--listen", &listen, "--target", &backend.addr()])
        .args(["--cert", cert.cert.to_str().unwrap()])
        .args(["--key", cert.key.to_str().unwrap()]);
    let mut tunnel = Peer::spawn_command(cmd);
    tunnel.wait_for_port(port);
    assert_eq!(request(port, &cert.der).as_deref(), Ok("backend\nping\n"));
    assert!(
        tunnel.wait_output_contains("descriptor 4 (b) is not", PEER_TIMEOUT),
        "{}",
        tunnel.diagnostics()
    );
}
