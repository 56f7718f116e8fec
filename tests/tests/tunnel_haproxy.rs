//! tls-tunnel behind a real HAProxy (Debian's `haproxy`), all on 127.0.0.1:
//! HAProxy in TCP mode with `send-proxy-v2` and health checks on each
//! tunnel's `/readyz`, balancing round-robin over three tls-tunnel
//! instances that share one ticket key file and send PROXY v2 on to one
//! backend. Shown: reconnecting clients land on different instances and
//! resume (TLS 1.3 and 1.2); the backend sees the real client address; a
//! rolling restart of the three under a request loop fails no request, nor
//! does a binary "upgrade" of one through SO_REUSEPORT.

use std::net::TcpStream;
use std::path::Path;

use tls_tests::fleet::{failures, s_client_probe, write_key_file, Haproxy, LoadLoop};
use tls_tests::peer::{free_port, set_timeouts, PEER_TIMEOUT};
use tls_tests::tunnel::{cert_for, temp_dir, tls_over, Backend, BackendKind, CertFiles, Tunnel};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
/// Reconnections per TLS version.
const RECONNECTS: usize = 20;

/// One tls-tunnel instance of the fleet: its service and probe ports.
struct Instance {
    port: u16,
    metrics: u16,
    tunnel: Option<Tunnel>,
}

impl Instance {
    fn start(&mut self, backend: &Backend, cert: &CertFiles, keys: &Path) {
        self.tunnel = Some(Tunnel::start(self.args(backend, cert, keys), &[self.port]));
    }

    /// `tls-tunnel server ...` for this instance: PROXY v2 in and out, the
    /// shared keys, probes on its metrics port, SO_REUSEPORT.
    fn args(&self, backend: &Backend, cert: &CertFiles, keys: &Path) -> Vec<String> {
        let listen = format!("127.0.0.1:{}", self.port);
        let metrics = format!("127.0.0.1:{}", self.metrics);
        [
            "server",
            "--listen",
            &listen,
            "--target",
            &backend.addr(),
            "--cert",
            cert.cert.to_str().unwrap(),
            "--key",
            cert.key.to_str().unwrap(),
            "--accept-proxy",
            "--proxy-protocol",
            "v2",
            "--ticket-key-file",
            keys.to_str().unwrap(),
            "--metrics",
            &metrics,
            "--drain-grace",
            "1s",
            "--reuse-port",
        ]
        .map(String::from)
        .to_vec()
    }

    fn tunnel(&self) -> &Tunnel {
        self.tunnel.as_ref().expect("instance running")
    }
}

/// HAProxy's configuration: TCP mode, round-robin over `instances`,
/// PROXY v2 to them, an HTTP check of each one's /readyz every 100 ms.
fn haproxy_config(port: u16, instances: &[Instance]) -> String {
    let mut cfg = format!(
        "global\n  maxconn 1000\n\
         defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n\
         frontend tls\n  bind 127.0.0.1:{port}\n  default_backend tunnels\n\
         backend tunnels\n  balance roundrobin\n\
         \x20 option httpchk\n  http-check send meth GET uri /readyz\n  http-check expect status 200\n\
         \x20 default-server inter 100ms fall 1 rise 1 send-proxy-v2\n"
    );
    for (i, inst) in instances.iter().enumerate() {
        cfg.push_str(&format!(
            "  server t{i} 127.0.0.1:{} check port {}\n",
            inst.port, inst.metrics
        ));
    }
    cfg
}

/// The source address in a PROXY v2 header for TCP over IPv4.
fn proxy_v2_source(header: &[u8]) -> Option<std::net::SocketAddr> {
    if header.get(..12)? != b"\r\n\r\n\0\r\nQUIT\n" || *header.get(13)? != 0x11 {
        return None;
    }
    let ip: [u8; 4] = header.get(16..20)?.try_into().ok()?;
    let port = u16::from_be_bytes(header.get(24..26)?.try_into().ok()?);
    Some((std::net::Ipv4Addr::from(ip), port).into())
}

#[test]
fn haproxy_in_front_of_three_tunnels_sharing_ticket_keys() {
    let dir = temp_dir("haproxy");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let backend = Backend::start(BackendKind::ProxyV2Echo);
    let keys = dir.join("ticket.keys");
    write_key_file(&keys, &[KEY]);
    let mut fleet: Vec<Instance> = (0..3)
        .map(|_| Instance {
            port: free_port(),
            metrics: free_port(),
            tunnel: None,
        })
        .collect();
    for inst in &mut fleet {
        inst.start(&backend, &cert, &keys);
    }
    let port = free_port();
    let _haproxy = Haproxy::start(&dir, &haproxy_config(port, &fleet), port);
    let logs = |fleet: &[Instance]| {
        fleet
            .iter()
            .enumerate()
            .map(|(i, f)| format!("--- t{i} ---\n{}", f.tunnel().log()))
            .collect::<String>()
    };
    // Every instance is up in HAProxy's eyes once each has served one.
    let load = LoadLoop::start(port, &cert.der);
    for inst in &fleet {
        inst.tunnel().expect_log("connection accepted");
    }
    assert!(failures(&load.finish()).is_empty(), "{}", logs(&fleet));

    // The backend sees the client's own address, through HAProxy and the tunnel.
    let sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    set_timeouts(&sock).unwrap();
    let client = sock.local_addr().unwrap();
    let mut tls = tls_over(sock, "localhost", &cert.der);
    std::io::Write::write_all(&mut tls, b"ping\n").unwrap();
    let mut buf = [0u8; 5];
    std::io::Read::read_exact(&mut tls, &mut buf).unwrap();
    drop(tls);
    let sources: Vec<_> = backend
        .headers
        .lock()
        .unwrap()
        .iter()
        .filter_map(|h| proxy_v2_source(h))
        .collect();
    assert!(
        sources.contains(&client),
        "client {client} not among the sources the backend saw: {sources:?}"
    );
    println!("backend saw the client address {client} in the tunnel's PROXY v2 header");

    // Reconnections through HAProxy land on every instance and resume.
    for (version, flags) in [("TLSv1.3", &[][..]), ("TLSv1.2", &["-tls1_2"][..])] {
        let before: Vec<usize> = fleet
            .iter()
            .map(|f| f.tunnel().log().matches("resumed=true").count())
            .collect();
        let sess = dir.join(format!("{version}.sess"));
        let sess = sess.to_str().unwrap();
        let first = s_client_probe(port, &[&["-sess_out", sess][..], flags].concat(), "probe");
        assert!(first.session.is_some(), "{}", first.output);
        let mut reused = 0;
        for _ in 0..RECONNECTS {
            let p = s_client_probe(port, &[&["-sess_in", sess][..], flags].concat(), "probe");
            reused += usize::from(p.reused());
        }
        // The tunnels log each connection as it closes.
        let per_instance: Vec<usize> = fleet
            .iter()
            .zip(&before)
            .map(|(f, b)| f.tunnel().log().matches("resumed=true").count() - b)
            .collect();
        let rate = 100.0 * reused as f64 / RECONNECTS as f64;
        println!(
            "{version}: {reused}/{RECONNECTS} reconnections resumed ({rate:.0}%), resumed per instance {per_instance:?}"
        );
        assert!(reused * 100 >= RECONNECTS * 95, "{}", logs(&fleet));
        assert!(
            per_instance.iter().filter(|&&n| n > 0).count() >= 2,
            "resumptions on different instances: {per_instance:?}"
        );
    }

    // A rolling restart under load: each instance in turn drains (unready,
    // HAProxy stops sending, the listener closes, connections finish),
    // stops, and starts again; the next waits until HAProxy uses it.
    let load = LoadLoop::start(port, &cert.der);
    assert!(load.wait_for(|r| r.len() >= 20));
    for inst in &mut fleet {
        let mut old = inst.tunnel.take().expect("running");
        old.signal("TERM");
        let status = old.peer.wait(PEER_TIMEOUT);
        assert!(status.is_some_and(|s| s.success()), "{}", old.log());
        inst.start(&backend, &cert, &keys);
        inst.tunnel().expect_log("connection accepted");
    }
    let at_end = load.snapshot().len();
    assert!(load.wait_for(|r| r.len() >= at_end + 20));
    let results = load.finish();
    let failed = failures(&results);
    println!(
        "rolling restart of 3 instances: {} requests, {} failed",
        results.len(),
        failed.len()
    );
    assert!(failed.is_empty(), "failed: {failed:?}\n{}", logs(&fleet));

    // A binary "upgrade" of one instance through SO_REUSEPORT: the new
    // process binds the same service and probe addresses, then the old one
    // drains and exits.
    let load = LoadLoop::start(port, &cert.der);
    assert!(load.wait_for(|r| r.len() >= 20));
    let new = Tunnel::spawn(fleet[0].args(&backend, &cert, &keys));
    new.expect_log("ready");
    let mut old = fleet[0].tunnel.replace(new).expect("running");
    old.signal("TERM");
    let status = old.peer.wait(PEER_TIMEOUT);
    assert!(status.is_some_and(|s| s.success()), "{}", old.log());
    fleet[0].tunnel().expect_log("connection accepted");
    let at_end = load.snapshot().len();
    assert!(load.wait_for(|r| r.len() >= at_end + 20));
    let results = load.finish();
    let failed = failures(&results);
    println!(
        "SO_REUSEPORT upgrade of one instance: {} requests, {} failed or refused",
        results.len(),
        failed.len()
    );
    assert!(
        failed.is_empty(),
        "failed: {failed:?}\n{}{}",
        old.log(),
        logs(&fleet)
    );
}
