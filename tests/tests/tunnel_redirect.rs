//! stunnel's `redirect` in server mode, with `openssl s_client` as the
//! client: a verified client certificate reaches `connect`; a certificate
//! that fails verification, or none, reaches the redirect address, also
//! when the session is resumed (the check runs again on the session's
//! certificate, so a resumed handshake cannot reach `connect`); with exec,
//! a failed client reaches the redirect address instead of the program.
//! stunnel itself agrees: tests/data/stunnel/redirect*.conf.

use std::path::Path;

use tls_tests::openssl_peer::s_client_run;
use tls_tests::peer::free_port;
use tls_tests::stunnel::{write_pki, Greeter};
use tls_tests::tunnel::{http_get, temp_dir, Tunnel};

/// `openssl s_client` to `port` with the PKI's certificate `cert` (or
/// none), saving or offering a session; its output.
fn s_client(dir: &Path, port: u16, cert: Option<&str>, session: &[&str]) -> String {
    let files = cert.map(|name| {
        ["crt", "key"].map(|ext| dir.join(format!("{name}.{ext}")).display().to_string())
    });
    let mut args = vec!["-ign_eof"];
    if let Some([crt, key]) = &files {
        args.extend(["-cert", crt.as_str(), "-key", key.as_str()]);
    }
    args.extend_from_slice(session);
    s_client_run(port, &args).stdout
}

fn backend(out: &str) -> &'static str {
    ["b1", "b2", "program"]
        .into_iter()
        .find(|b| out.contains(&format!("backend-{b}")))
        .unwrap_or("-")
}

#[test]
fn failed_client_certificates_are_redirected_also_on_resumption() {
    let dir = temp_dir("redirect");
    write_pki(&dir);
    let (b1, b2) = (Greeter::start("b1"), Greeter::start("b2"));
    let (port, metrics) = (free_port(), free_port());
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[r]\naccept = 127.0.0.1:{port}\nconnect = 127.0.0.1:{}\n\
             redirect = 127.0.0.1:{}\ncert = {d}/server.pem\nverifyChain = yes\n\
             CAfile = {d}/ca.crt\n",
            b1.port,
            b2.port,
            d = dir.display()
        ),
    )
    .unwrap();
    let metrics_addr = format!("127.0.0.1:{metrics}");
    let tunnel = Tunnel::start(
        [
            "--config".as_ref(),
            conf.as_os_str(),
            "--metrics".as_ref(),
            metrics_addr.as_ref(),
        ],
        &[port, metrics],
    );
    assert_eq!(backend(&s_client(&dir, port, Some("client"), &[])), "b1");
    assert_eq!(backend(&s_client(&dir, port, Some("stranger"), &[])), "b2");
    assert_eq!(backend(&s_client(&dir, port, None, &[])), "b2");
    tunnel.expect_log("redirected");
    // Counted: the two clients that went to the redirect, not the third.
    let page = http_get(metrics);
    assert!(
        page.contains("tls_tunnel_connections_redirected_total{service=\"r\"} 2"),
        "{page}"
    );
    // Sessions: a redirected client's session resumes into the redirect,
    // a verified client's into connect.
    for (cert, want) in [("stranger", "b2"), ("client", "b1")] {
        let sess = dir.join(format!("{cert}.sess"));
        let sess = sess.to_str().unwrap();
        let first = s_client(&dir, port, Some(cert), &["-sess_out", sess]);
        assert_eq!(backend(&first), want, "{first}");
        let again = s_client(&dir, port, None, &["-sess_in", sess]);
        assert!(again.contains("Reused"), "{again}\n{}", tunnel.log());
        assert_eq!(backend(&again), want, "{again}");
    }
}

#[test]
fn with_exec_a_failed_client_reaches_the_redirect_not_the_program() {
    let dir = temp_dir("redirect-exec");
    write_pki(&dir);
    let b2 = Greeter::start("b2");
    let port = free_port();
    let conf = dir.join("r.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[r]\naccept = 127.0.0.1:{port}\nexec = /bin/echo\n\
             execArgs = echo backend-program\nredirect = 127.0.0.1:{}\n\
             cert = {d}/server.pem\nverifyChain = yes\nCAfile = {d}/ca.crt\n",
            b2.port,
            d = dir.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config".as_ref(), conf.as_os_str()], &[port]);
    let good = s_client(&dir, port, Some("client"), &[]);
    assert_eq!(backend(&good), "program", "{good}\n{}", tunnel.log());
    assert_eq!(backend(&s_client(&dir, port, Some("stranger"), &[])), "b2");
}
