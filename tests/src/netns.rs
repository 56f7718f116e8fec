//! Scenarios that need the kernel's network configuration or files in
//! /etc changed (stunnel's `transparent`, `libwrap`): a shell script run in
//! fresh network and mount namespaces (`unshare -mn` as root, `-rmn`
//! otherwise), so its loopback, netfilter rules and bind mounts touch
//! nothing else, with a Python probe as backend and client.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peer::{require, Peer, PEER_TIMEOUT};
use crate::tunnel::tunnel_bin;

/// Where the tool listens inside the namespace (every port is free there).
pub const TUNNEL_PORT: u16 = 4433;
/// Where the probe's backend listens.
pub const BACKEND_PORT: u16 = 8080;

/// The probe: `probe.py CONNECT_PORT SOURCE_IP`. Starts the backend on
/// BACKEND_PORT (it greets each client with `hello` and notes its source
/// address), waits until the tool listens on TUNNEL_PORT (read from /proc,
/// without connecting), connects from SOURCE_IP to CONNECT_PORT with TLS
/// (no verification), and prints `source=BACKEND_SAW data=WHAT_CAME_BACK`
/// (`data=refused` when the connection failed); `tool-exited` when the
/// tool (`TOOL_PID`) is gone before it listens, `tunnel-not-listening` after
/// 20 s without it.
const PROBE: &str = r#"
import os, socket, ssl, sys, threading, time
connect_port, source = int(sys.argv[1]), sys.argv[2]
def tool_gone():
    try:
        return open("/proc/%s/stat" % os.environ.get("TOOL_PID", "")).read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", BACKEND_PORT))
ls.listen()
ls.settimeout(5)
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
    if tool_gone():
        print("tool-exited")
        sys.exit(0)
    time.sleep(0.05)
s = socket.socket()
s.bind((source, 0))
s.settimeout(20)
try:
    s.connect(("127.0.0.1", connect_port))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(s)
    data = t.recv(100).decode().strip() or "-"
except OSError:
    data = "refused"
backend.join(6)
print("source=%s data=%s" % (seen[0] if seen else "-", data))
"#;

/// Which program runs the configuration.
#[derive(Clone, Copy, Debug)]
pub enum Tool {
    /// stunnel4, the oracle.
    Stunnel,
    /// tls-tunnel.
    Tunnel,
}

impl Tool {
    /// The command line running `conf` in the foreground.
    pub fn command(self, conf: &Path) -> String {
        match self {
            Tool::Stunnel => format!(
                "{} {}",
                require("stunnel4", "stunnel4").display(),
                conf.display()
            ),
            Tool::Tunnel => format!("{} --config {}", tunnel_bin().display(), conf.display()),
        }
    }
}

/// Writes the probe into `dir` (once per directory is enough).
pub fn write_probe(dir: &Path) {
    std::fs::write(
        dir.join("probe.py"),
        PROBE
            .replace("BACKEND_PORT", &BACKEND_PORT.to_string())
            .replace("TUNNEL_PORT", &TUNNEL_PORT.to_string()),
    )
    .expect("write probe");
}

/// The shell line running the probe of `dir`.
pub fn probe(dir: &Path, connect_port: u16, source: &str) -> String {
    format!(
        "{} {} {connect_port} {source}",
        require("python3", "python3").display(),
        dir.join("probe.py").display()
    )
}

/// Runs `body` (sh lines) in fresh namespaces after bringing loopback up,
/// with `tool` on `conf` in the background (its output in `NAME.log`);
/// returns what `body` printed. `NAME` names the files in `dir`.
pub fn run(dir: &Path, name: &str, tool: Tool, conf: &Path, setup: &str, body: &str) -> String {
    let log = dir.join(format!("{name}.log"));
    let text = format!(
        "set -e\n{ip} link set lo up\n{setup}\n{run} > {log} 2>&1 &\npid=$!\nexport TOOL_PID=$pid\n{body}\n\
         kill $pid\nwait $pid || true\n",
        ip = require("ip", "iproute2").display(),
        run = tool.command(conf),
        log = log.display(),
    );
    let script: PathBuf = dir.join(format!("{name}.sh"));
    std::fs::write(&script, text).expect("write script");
    let root = Command::new("id").arg("-u").output().expect("id -u").stdout == b"0\n";
    let flags = if root { "-mn" } else { "-rmn" };
    let mut run = Peer::spawn(
        &require("unshare", "util-linux"),
        [flags, "sh", script.to_str().expect("utf-8")],
    );
    assert!(
        run.wait(PEER_TIMEOUT * 2).is_some(),
        "{name}: the namespace run did not end\n{}\n--- the tool's log ---\n{}",
        run.diagnostics(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let out = String::from_utf8_lossy(&run.stdout()).trim().to_string();
    println!(
        "{name}: {out}\n{}\n{}",
        run.stderr(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    out
}
