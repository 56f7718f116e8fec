//! tls-tunnel's sandbox (Landlock and seccomp, on by default) and its
//! self-signed default kept across restarts, driving the binary.
//!
//! The daemon's own confinement is observed through its documented test
//! hook: `TLS_TUNNEL_SANDBOX_PROBE=PATH` makes it try to open PATH once
//! start-up is over and log the outcome. On a kernel without Landlock the
//! sandbox tests fail saying so, rather than passing without showing it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use tls_tests::peer::{free_port, require, Peer};
use tls_tests::tunnel::{
    cert_for, read_n, temp_dir, tls_client, tunnel_command, Backend, BackendKind, CertFiles, Tunnel,
};

const PROBE: &str = "TLS_TUNNEL_SANDBOX_PROBE";

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

/// Starts a tunnel with `env` set, waiting for `port`.
fn start_with_env(args: &[&str], env: &[(&str, &Path)], port: u16) -> Tunnel {
    let mut cmd = tunnel_command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut peer = Peer::spawn_command(cmd);
    peer.wait_for_port(port);
    Tunnel { peer }
}

/// Fails, naming the reason, when this kernel cannot enforce Landlock.
fn require_landlock(tunnel: &Tunnel) {
    tunnel.expect_log("sandbox:");
    let log = tunnel.log();
    assert!(
        !log.contains("does not support Landlock"),
        "this kernel ({}) has no Landlock (CONFIG_SECURITY_LANDLOCK, lsm=landlock at boot): \
         the sandbox cannot be shown to forbid anything here\n{log}",
        String::from_utf8_lossy(
            &Command::new("uname")
                .arg("-r")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        )
        .trim()
    );
    assert!(log.contains("Landlock file rules enforced"), "{log}");
}

/// A file outside every directory the configuration names.
fn secret() -> PathBuf {
    let path = temp_dir("sandbox-secret").join("secret.txt");
    std::fs::write(&path, "top secret\n").unwrap();
    path
}

/// Relays one message through a server tunnel on `port` serving `cert`.
fn relays(port: u16, cert: &[u8]) {
    let mut tls = tls_client(port, "localhost", cert);
    tls.write_all(b"ping through the sandbox").unwrap();
    assert_eq!(read_n(&mut tls, 24), b"ping through the sandbox");
}

/// A line of /proc/PID/status, e.g. "Seccomp".
fn proc_status(pid: u32, field: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_default()
        .trim()
        .to_string()
}

#[test]
fn sandbox_forbids_unlisted_files_and_still_relays() {
    let dir = temp_dir("sandbox");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let secret = secret();
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let args = [
        "server",
        "--listen",
        &listen,
        "--target",
        &backend.addr(),
        "--cert",
        cert.cert.to_str().unwrap(),
        "--key",
        cert.key.to_str().unwrap(),
    ];
    let tunnel = start_with_env(&args, &[(PROBE, &secret)], port);
    require_landlock(&tunnel);
    tunnel.expect_log(&format!(
        "sandbox probe: cannot open {}: Permission denied",
        secret.display()
    ));
    tunnel.expect_log("seccomp filter installed");
    let pid = tunnel.peer.id();
    assert_eq!(proc_status(pid, "Seccomp"), "2", "seccomp filter mode");
    assert_eq!(proc_status(pid, "NoNewPrivs"), "1");
    relays(port, &cert.der);
    // The same file is readable without the sandbox: the probe is honest.
    drop(tunnel);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut args = args.to_vec();
    args[2] = &listen;
    args.push("--no-sandbox");
    let tunnel = start_with_env(&args, &[(PROBE, &secret)], port);
    tunnel.expect_log(&format!("sandbox probe: opened {}", secret.display()));
    tunnel.expect_log("sandbox: off");
    assert_eq!(proc_status(tunnel.peer.id(), "Seccomp"), "0");
    relays(port, &cert.der);
}

fn write_toml(conf: &Path, port: u16, target: &str, cert: &CertFiles) {
    std::fs::write(
        conf,
        format!(
            "[[service]]\nname = \"web\"\nmode = \"server\"\nlisten = \"127.0.0.1:{port}\"\n\
             target = \"{target}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            cert.cert.display(),
            cert.key.display()
        ),
    )
    .unwrap();
}

#[test]
fn reload_under_the_sandbox_and_a_new_path_outside_it() {
    let dir = temp_dir("sandbox-reload");
    let first = cert_for(&dir, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let conf = dir.join("tunnel.toml");
    write_toml(&conf, port, &backend.addr(), &first);
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    require_landlock(&tunnel);
    relays(port, &first.der);

    // Renewal the usual way: a new certificate renamed over the old one.
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).unwrap();
    let second = cert_for(&staging, "localhost", &["localhost"]);
    std::fs::rename(&second.cert, &first.cert).unwrap();
    std::fs::rename(&second.key, &first.key).unwrap();
    tunnel.signal("HUP");
    tunnel.expect_log("reloaded 1 service(s)");
    relays(port, &second.der);

    // A configuration naming a directory that was not named at start.
    let elsewhere = temp_dir("sandbox-elsewhere");
    let third = cert_for(&elsewhere, "localhost", &["localhost"]);
    write_toml(&conf, port, &backend.addr(), &third);
    tunnel.signal("HUP");
    tunnel.expect_log(&format!(
        "reload failed, keeping the old configuration: {} is outside the sandbox",
        third.cert.display()
    ));
    relays(port, &second.der);
}

#[test]
fn exec_programs_run_inside_the_sandbox() {
    let dir = temp_dir("sandbox-exec");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let secret = secret();
    let script = dir.join("prog.sh");
    std::fs::write(
        &script,
        format!(
            "if cat {} >/dev/null 2>&1; then echo leaked; else echo denied; fi\n\
             read line\necho \"got: $line\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let conf = dir.join("exec.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[prog]\naccept = 127.0.0.1:{port}\ncert = {}\nkey = {}\n\
             exec = /bin/sh\nexecArgs = sh {}\n",
            cert.cert.display(),
            cert.key.display(),
            script.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    require_landlock(&tunnel);
    tunnel.expect_log("no seccomp filter, because a service runs programs");
    let mut tls = tls_client(port, "localhost", &cert.der);
    tls.write_all(b"hello\n").unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    assert_eq!(out, "denied\ngot: hello\n", "{}", tunnel.log());
}

/// The fingerprint and pin a self-signed start-up line gives.
fn fingerprint_and_pin(tunnel: &Tunnel) -> (String, String) {
    tunnel.expect_log("(curl --pinnedpubkey)");
    let log = tunnel.log();
    let field = |after: &str| {
        log.split(after)
            .nth(1)
            .and_then(|s| s.split([';', ' ']).next())
            .unwrap_or_else(|| panic!("no {after:?} in {log}"))
            .to_string()
    };
    (field("SHA-256 fingerprint "), field("public key pin "))
}

fn curl(args: &[&str]) -> (bool, String) {
    let curl = require("curl", "curl");
    let out = Command::new(curl)
        .args(["--silent", "--show-error", "--max-time", "20"])
        .args(args)
        .output()
        .expect("run curl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn self_signed_key_is_kept_and_curl_trusts_or_pins_it() {
    let state = temp_dir("state");
    let backend = Backend::start(BackendKind::Http("hello from the backend".into()));
    let start = || {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let tunnel = Tunnel::start(
            [
                "server",
                "--listen",
                &listen,
                "--target",
                &backend.addr(),
                "--state-dir",
                state.to_str().unwrap(),
            ],
            &[port],
        );
        (tunnel, port)
    };
    let (tunnel, port) = start();
    let key = state.join("self-signed.key");
    let crt = state.join("self-signed.crt");
    tunnel.expect_log(&format!("key {} created", key.display()));
    tunnel.expect_log(&format!("certificate exported to {}", crt.display()));
    tunnel.expect_log("CN=tls-tunnel self-signed; localhost, 127.0.0.1, ::1");
    let (fp, pin) = fingerprint_and_pin(&tunnel);
    assert!(pin.starts_with("sha256//") && pin.ends_with('='), "{pin}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "key file mode");

    let url = format!("https://127.0.0.1:{port}/");
    let (ok, out) = curl(&["--cacert", crt.to_str().unwrap(), &url]);
    assert!(ok, "curl --cacert {}: {out}", crt.display());
    assert_eq!(out, "hello from the backend");
    let (ok, out) = curl(&["--insecure", "--pinnedpubkey", &pin, &url]);
    assert!(ok && out == "hello from the backend", "pinned: {out}");
    let wrong = "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let (ok, out) = curl(&["--insecure", "--pinnedpubkey", wrong, &url]);
    assert!(!ok, "a wrong pin was accepted: {out}");
    drop(tunnel);

    // Restarted: the same key and certificate.
    let (tunnel, port) = start();
    tunnel.expect_log(&format!("key {} reused", key.display()));
    assert_eq!(fingerprint_and_pin(&tunnel), (fp, pin));
    let (ok, out) = curl(&[
        "--cacert",
        crt.to_str().unwrap(),
        &format!("https://localhost:{port}/"),
    ]);
    assert!(ok, "{out}");
    drop(tunnel);

    // A damaged key stops the start, naming the file.
    std::fs::write(&key, "-----BEGIN PRIVATE KEY-----\nbroken\n").unwrap();
    let (code, _, err) = tls_tests::tunnel::run_tunnel([
        "server",
        "--listen",
        "127.0.0.1:1",
        "--target",
        &backend.addr(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains(&format!("self-signed key {}", key.display())) && err.contains("remove it"),
        "{err}"
    );
}

#[test]
fn self_signed_default_state_directory_is_xdg_state_home() {
    let home = temp_dir("xdg");
    let backend = echo();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = start_with_env(
        &["server", "--listen", &listen, "--target", &backend.addr()],
        &[("XDG_STATE_HOME", &home)],
        port,
    );
    let key = home.join("tls-tunnel").join("self-signed.key");
    tunnel.expect_log(&format!("key {} created", key.display()));
    let mode = std::fs::metadata(key.parent().unwrap())
        .unwrap()
        .permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o777, 0o700, "state directory mode");
    let der = std::fs::read(home.join("tls-tunnel").join("self-signed.crt")).unwrap();
    let ders = tls_core::keys::certs_from_pem(&der).unwrap();
    relays(port, &ders[0]);
}

#[test]
fn stunnel_conf_writes_and_includes_work_under_the_sandbox() {
    let dir = temp_dir("sandbox-files");
    let certs = dir.join("certs");
    let include = dir.join("conf.d");
    let run = dir.join("run");
    for d in [&certs, &include, &run] {
        std::fs::create_dir_all(d).unwrap();
    }
    let first = cert_for(&certs, "localhost", &["localhost"]);
    let backend = echo();
    let port = free_port();
    let (log, pid) = (run.join("tunnel.log"), run.join("tunnel.pid"));
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\nsyslog = no\noutput = {}\npid = {}\ninclude = {}\n",
            log.display(),
            pid.display(),
            include.display()
        ),
    )
    .unwrap();
    let section = |cert: &CertFiles| {
        format!(
            "[web]\naccept = 127.0.0.1:{port}\nconnect = {}\ncert = {}\nkey = {}\n",
            backend.addr(),
            cert.cert.display(),
            cert.key.display()
        )
    };
    std::fs::write(include.join("web.conf"), section(&first)).unwrap();
    let mut tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    let log_has = |needle: &str| std::fs::read_to_string(&log).is_ok_and(|l| l.contains(needle));
    let wait_log = |needle: &str| {
        let deadline = std::time::Instant::now() + tls_tests::peer::PEER_TIMEOUT;
        while !log_has(needle) {
            assert!(
                std::time::Instant::now() < deadline,
                "{} never contained {needle:?}: {:?}",
                log.display(),
                std::fs::read_to_string(&log)
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_log("ready");
    assert!(
        log_has("Landlock file rules enforced"),
        "this kernel has no Landlock"
    );
    assert!(pid.exists());
    relays(port, &first.der);

    // A new certificate file beside the old one, named by the included file.
    let second = cert_for(&certs, "second", &["localhost"]);
    std::fs::write(include.join("web.conf"), section(&second)).unwrap();
    tunnel.signal("HUP");
    wait_log("reloaded 1 service(s)");
    relays(port, &second.der);

    // Log rotation: the file moved away, SIGUSR1 makes a new one.
    std::fs::rename(&log, run.join("tunnel.log.1")).unwrap();
    tunnel.signal("USR1");
    wait_log("log file reopened");

    // SIGTERM: the pid file is removed on the way out.
    tunnel.signal("TERM");
    let status = tunnel.peer.wait(tls_tests::peer::PEER_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    assert!(!pid.exists(), "pid file left behind");
}
