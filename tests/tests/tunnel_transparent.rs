//! stunnel's `transparent` end to end, with stunnel4 as the oracle. Each
//! case runs in fresh namespaces ([`tls_tests::netns`]), so its netfilter
//! rules touch nothing else: for `destination` an nftables rule redirects
//! the client's connections to the backend port to the tunnel instead (NAT
//! REDIRECT, as the manual's iptables lines). The probe's client connects
//! from 127.0.0.5 and speaks TLS; its backend reports the source address
//! it sees and greets.
//!
//! - `source`: the backend sees the client's address (127.0.0.5), not the
//!   tunnel's;
//! - `destination`: the tunnel has no `connect`; the client's connection
//!   to the backend port, redirected to the tunnel, reaches the backend
//!   (the original destination) through it.
//!
//! Without the privilege it needs, `transparent = source` is one line at
//! start naming the option and CAP_NET_ADMIN.

use std::path::Path;

use tls_tests::netns::{self, Tool, BACKEND_PORT, TUNNEL_PORT};
use tls_tests::peer::{require, Peer, PEER_TIMEOUT};
use tls_tests::tunnel::{cert_for, temp_dir, tunnel_bin};

/// Runs `tool` with `transparent = mode` in fresh namespaces (for
/// `destination` with the redirect rule): what the probe printed.
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
    let (setup, connect_port) = match mode {
        "destination" => {
            let nft = require("nft", "nftables");
            let nft = nft.display();
            (
                format!(
                    "{nft} add table ip t\n\
                     {nft} add chain ip t out '{{ type nat hook output priority -100; }}'\n\
                     {nft} add rule ip t out ip saddr 127.0.0.5 tcp dport {BACKEND_PORT} \
                     redirect to :{TUNNEL_PORT}"
                ),
                BACKEND_PORT,
            )
        }
        _ => (String::new(), TUNNEL_PORT),
    };
    let body = netns::probe(dir, connect_port, "127.0.0.5");
    netns::run(dir, &format!("{mode}.{tool:?}"), tool, &conf, &setup, &body)
}

fn agree(mode: &str, expected: &str) {
    let dir = temp_dir(&format!("transparent-{mode}"));
    netns::write_probe(&dir);
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
