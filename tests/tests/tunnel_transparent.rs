//! stunnel's `transparent` end to end, with stunnel4 as the oracle. Each
//! case runs in a fresh network namespace (`unshare -n`, as root; `-rn`
//! otherwise), so its netfilter rules touch nothing else: the loopback
//! interface up, then for `destination` an nftables rule that redirects the
//! client's connections to the backend port to the tunnel instead (NAT
//! REDIRECT, as the manual's iptables lines). A Python probe plays backend
//! and client: the client connects from 127.0.0.5 and speaks TLS, the
//! backend reports the source address it sees and greets.
//!
//! - `source`: the backend sees the client's address (127.0.0.5), not the
//!   tunnel's;
//! - `destination`: the tunnel has no `connect`; the client's connection
//!   to the backend port, redirected to the tunnel, reaches the backend
//!   (the original destination) through it.
//!
//! Without the privilege it needs, `transparent = source` is one line at
//! start naming the option and CAP_NET_ADMIN.

use std::path::{Path, PathBuf};
use std::process::Command;

use tls_tests::peer::{require, Peer, PEER_TIMEOUT};
use tls_tests::tunnel::{cert_for, temp_dir, tunnel_bin};

/// Inside the namespace every port is free: fixed ones will do.
const TUNNEL_PORT: u16 = 4433;
const BACKEND_PORT: u16 = 8080;

/// The probe: `probe.py CONNECT_PORT`. Starts the backend on BACKEND_PORT,
/// waits until the tunnel listens (read from /proc, without connecting),
/// connects from 127.0.0.5 to CONNECT_PORT with TLS, and prints what the
/// backend saw and what came back.
const PROBE: &str = r#"
import socket, ssl, sys, threading, time
connect_port = int(sys.argv[1])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", BACKEND_PORT))
ls.listen()
ls.settimeout(20)
seen = []
def serve():
    try:
        c, a = ls.accept()
        seen.append(a[0])
        c.sendall(b"hello\n")
        c.close()
    except OSError:
        pass
backend = threading.Thread(target=serve, daemon=True)
backend.start()
deadline = time.time() + 20
while ":%04X 00000000:0000 0A" % TUNNEL_PORT not in open("/proc/net/tcp").read():
    if time.time() > deadline:
        print("tunnel-not-listening")
        sys.exit(0)
    time.sleep(0.05)
s = socket.socket()
s.bind(("127.0.0.5", 0))
s.settimeout(20)
data = b""
try:
    s.connect(("127.0.0.1", connect_port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    data = t.recv(100)
except OSError as e:
    data = ("error:" + type(e).__name__).encode()
backend.join(5)
print("source=%s data=%s" % (seen[0] if seen else "-", data.decode().strip() or "-"))
"#;

/// Which program runs the file.
#[derive(Clone, Copy, Debug)]
enum Tool {
    Stunnel,
    Tunnel,
}

/// The namespace's sh script: loopback up, the `destination` rule, the
/// tool on `conf` in the background, the probe, the tool stopped.
fn script(dir: &Path, tool: Tool, conf: &Path, mode: &str) -> PathBuf {
    let run = match tool {
        Tool::Stunnel => format!(
            "{} {}",
            require("stunnel4", "stunnel4").display(),
            conf.display()
        ),
        Tool::Tunnel => format!("{} --config {}", tunnel_bin().display(), conf.display()),
    };
    let nft = require("nft", "nftables");
    let redirect = match mode {
        "destination" => format!(
            "{nft} add table ip t\n\
             {nft} add chain ip t out '{{ type nat hook output priority -100; }}'\n\
             {nft} add rule ip t out ip saddr 127.0.0.5 tcp dport {BACKEND_PORT} redirect to :{TUNNEL_PORT}\n",
            nft = nft.display()
        ),
        _ => String::new(),
    };
    let connect_port = match mode {
        "destination" => BACKEND_PORT,
        _ => TUNNEL_PORT,
    };
    let text = format!(
        "set -e\n{ip} link set lo up\n{redirect}{run} > {log} 2>&1 &\npid=$!\n\
         {python} {probe} {connect_port}\nkill $pid\nwait $pid || true\n",
        ip = require("ip", "iproute2").display(),
        log = dir.join(format!("{mode}.{tool:?}.log")).display(),
        python = require("python3", "python3").display(),
        probe = dir.join("probe.py").display(),
    );
    let path = dir.join(format!("{mode}.{tool:?}.sh"));
    std::fs::write(&path, text).expect("write script");
    path
}

/// Runs `tool` with `transparent = mode` in a fresh namespace: what the
/// probe printed.
fn observe(dir: &Path, tool: Tool, mode: &str) -> String {
    let cert = cert_for(dir, "localhost", &["localhost"]);
    let connect = match mode {
        "destination" => String::new(),
        _ => format!("connect = 127.0.0.1:{BACKEND_PORT}\n"),
    };
    let conf = dir.join(format!("{mode}.{tool:?}.conf"));
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\nsyslog = no\n[t]\naccept = 127.0.0.1:{TUNNEL_PORT}\n\
             {connect}cert = {}\nkey = {}\ntransparent = {mode}\n",
            cert.cert.display(),
            cert.key.display()
        ),
    )
    .expect("write conf");
    let sh = script(dir, tool, &conf, mode);
    let root = Command::new("id").arg("-u").output().expect("id -u").stdout == b"0\n";
    let unshare = require("unshare", "util-linux");
    let flags = if root { "-n" } else { "-rn" };
    let mut run = Peer::spawn(&unshare, [flags, "sh", sh.to_str().expect("utf-8")]);
    assert!(
        run.wait(PEER_TIMEOUT * 2).is_some(),
        "{tool:?} {mode}: the namespace run did not end\n{}",
        run.diagnostics()
    );
    let out = String::from_utf8_lossy(&run.stdout()).trim().to_string();
    let log = std::fs::read_to_string(dir.join(format!("{mode}.{tool:?}.log"))).unwrap_or_default();
    println!(
        "{tool:?} transparent = {mode}: {out}\n{}\n{log}",
        run.stderr()
    );
    out
}

fn agree(mode: &str, expected: &str) {
    let dir = temp_dir(&format!("transparent-{mode}"));
    std::fs::write(
        dir.join("probe.py"),
        PROBE
            .replace("BACKEND_PORT", &BACKEND_PORT.to_string())
            .replace("TUNNEL_PORT", &TUNNEL_PORT.to_string()),
    )
    .expect("write probe");
    let theirs = observe(&dir, Tool::Stunnel, mode);
    let ours = observe(&dir, Tool::Tunnel, mode);
    assert_eq!(theirs, expected, "stunnel4, transparent = {mode}");
    assert_eq!(ours, theirs, "tls-tunnel vs stunnel4, transparent = {mode}");
}

#[test]
fn source_connects_to_the_target_from_the_client_address() {
    agree("source", "source=127.0.0.5 data=hello");
}

#[test]
fn destination_connects_to_the_original_destination() {
    agree("destination", "source=127.0.0.1 data=hello");
}

#[test]
fn source_without_the_privilege_is_one_line_at_start() {
    let dir = temp_dir("transparent-setuid");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let conf = dir.join("t.conf");
    let port = tls_tests::peer::free_port();
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\nsyslog = no\nsetuid = nobody\n[t]\naccept = 127.0.0.1:{port}\n\
             connect = 127.0.0.1:1\ncert = {}\nkey = {}\ntransparent = source\n",
            cert.cert.display(),
            cert.key.display()
        ),
    )
    .expect("write conf");
    let mut t = Peer::spawn(
        &tunnel_bin(),
        [Path::new("--config").as_os_str(), conf.as_os_str()],
    );
    let status = t.wait(PEER_TIMEOUT).expect("tls-tunnel exits");
    assert!(!status.success());
    let err = t.stderr();
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("transparent")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("transparent = source") && lines[0].contains("CAP_NET_ADMIN"),
        "{err}"
    );
}
