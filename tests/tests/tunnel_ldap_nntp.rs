//! Client mode in front of real LDAP and news servers (issue #15): OpenLDAP's
//! slapd requiring TLS (`security tls=1`), read with `ldapsearch` through
//! the tunnel's LDAP StartTLS; INN's nnrpd, read with a plain NNTP client
//! through the tunnel's NNTP STARTTLS (RFC 4642). Each front end (command
//! line, stunnel.conf, TOML) is driven. A server that cannot start TLS ends
//! the connection with a log line naming its reply, never a hang. Server
//! mode's LDAP StartTLS is driven by `ldapsearch -ZZ` in front of slapd,
//! its NNTP STARTTLS by `openssl s_client -starttls nntp` in front of a
//! plaintext nnrpd.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;

use tls_tests::nnrpd::{Nnrpd, GROUP, GROUP_DESCRIPTION};
use tls_tests::openssl_peer::s_client_at;
use tls_tests::peer::{connect_local, free_port, PEER_TIMEOUT};
use tls_tests::slapd::{ldapsearch, Slapd, ENTRY, ENTRY_SN};
use tls_tests::tunnel::{cert_for, starttls_client, temp_dir, Tunnel};

/// The three ways of configuring one client-mode service with `protocol`
/// in front of 127.0.0.1:`server`, trusting `cacert` for `localhost`.
#[derive(Debug, Clone, Copy)]
enum FrontEnd {
    /// `tls-tunnel client ... --starttls PROTO`.
    Cli,
    /// stunnel.conf: `client = yes`, `protocol = PROTO`.
    StunnelConf,
    /// TOML: `mode = "client"`, `protocol = "PROTO"`.
    Toml,
}

const FRONT_ENDS: [FrontEnd; 3] = [FrontEnd::Cli, FrontEnd::StunnelConf, FrontEnd::Toml];

/// Starts a client-mode tunnel configured through `front`; returns it and
/// its listening port.
fn client_tunnel(front: FrontEnd, protocol: &str, server: u16, cacert: &Path) -> (Tunnel, u16) {
    let dir = temp_dir(protocol);
    let port = free_port();
    let ca = cacert.display();
    let config = match front {
        FrontEnd::Cli => {
            return starttls_client(protocol, &format!("127.0.0.1:{server}"), cacert, &[]);
        }
        FrontEnd::StunnelConf => (
            dir.join("client.conf"),
            format!(
                "foreground = yes\ndebug = info\n[{protocol}]\nclient = yes\naccept = 127.0.0.1:{port}\n\
                 connect = 127.0.0.1:{server}\nCAfile = {ca}\nverifyChain = yes\n\
                 checkHost = localhost\nprotocol = {protocol}\n"
            ),
        ),
        FrontEnd::Toml => (
            dir.join("client.toml"),
            format!(
                "[[service]]\nname = \"{protocol}\"\nmode = \"client\"\n\
                 listen = \"127.0.0.1:{port}\"\ntarget = \"127.0.0.1:{server}\"\n\
                 cacert = \"{ca}\"\nserver_name = \"localhost\"\nprotocol = \"{protocol}\"\n"
            ),
        ),
    };
    let (path, text) = config;
    std::fs::write(&path, text).expect("write the tunnel's configuration");
    (
        Tunnel::start(["--config".as_ref(), path.as_os_str()], &[port]),
        port,
    )
}

// ---- LDAP: slapd and ldapsearch ----

#[test]
fn ldap_client_mode_with_a_real_slapd() {
    let slapd = Slapd::start(true);
    // Without TLS, slapd refuses the bind: confidentiality required (13).
    let (ok, out, err) = ldapsearch(slapd.port, None);
    assert!(
        !ok && err.contains("Confidentiality required"),
        "a plaintext search was not refused\n{out}\n{err}\n{}",
        slapd.peer.diagnostics()
    );
    for front in FRONT_ENDS {
        let (tunnel, port) = client_tunnel(front, "ldap", slapd.port, &slapd.cert.cert);
        // ldapsearch speaks plaintext LDAP to the tunnel, which has upgraded
        // its connection to slapd with the StartTLS extended operation.
        let (ok, out, err) = ldapsearch(port, None);
        assert!(
            ok && out.contains(&format!("dn: {ENTRY}")) && out.contains(&format!("sn: {ENTRY_SN}")),
            "{front:?}: search through the tunnel failed\n{out}\n{err}\n{}\n{}",
            tunnel.log(),
            slapd.peer.diagnostics()
        );
        tunnel.expect_log("version=TLSv1.3");
    }
    assert!(
        slapd
            .peer
            .wait_output_contains("TLS established", PEER_TIMEOUT),
        "{}",
        slapd.peer.diagnostics()
    );
}

#[test]
fn ldap_client_mode_when_slapd_refuses_starttls() {
    // No certificate: slapd answers StartTLS with an error result.
    let slapd = Slapd::start(false);
    for front in FRONT_ENDS {
        let (tunnel, port) = client_tunnel(front, "ldap", slapd.port, &slapd.cert.cert);
        let (ok, out, err) = ldapsearch(port, None);
        assert!(!ok, "{front:?}: search succeeded without TLS\n{out}\n{err}");
        // slapd without a certificate does not know the operation.
        tunnel.expect_log("ldap prelude: server refused StartTLS: resultCode 2");
        assert!(
            !tunnel.log().contains("version=TLS"),
            "{front:?}: {}",
            tunnel.log()
        );
    }
}

#[test]
fn ldap_server_mode_in_front_of_a_real_slapd() {
    // slapd without TLS; the tunnel offers StartTLS in front of it.
    let slapd = Slapd::start(false);
    let dir = temp_dir("ldap-server");
    let cert = cert_for(&dir, "localhost", &["localhost", "127.0.0.1"]);
    let port = free_port();
    let tunnel = Tunnel::server(
        &format!("127.0.0.1:{port}"),
        &format!("127.0.0.1:{}", slapd.port),
        &cert,
        &["--starttls", "ldap"],
        port,
    );
    // ldapsearch -ZZ: StartTLS answered by the tunnel, the certificate
    // verified, the search over TLS and on to slapd in plaintext.
    let (ok, out, err) = ldapsearch(port, Some(&cert.cert));
    assert!(
        ok && out.contains(&format!("sn: {ENTRY_SN}")),
        "search with StartTLS failed\n{out}\n{err}\n{}",
        tunnel.log()
    );
    tunnel.expect_log("version=TLSv1.3");
    // A client that does not ask for StartTLS is turned away.
    let (ok, out, err) = ldapsearch(port, None);
    assert!(!ok, "a plaintext search passed\n{out}\n{err}");
    tunnel.expect_log("ldap prelude: client did not ask for StartTLS");
}

// ---- NNTP: nnrpd and a plain NNTP client ----

/// Reads one CRLF line (bounded by the socket timeouts).
fn line(r: &mut impl BufRead) -> String {
    let mut s = String::new();
    r.read_line(&mut s).expect("read an NNTP line");
    s
}

/// Sends `command` and reads a multi-line answer: its status line, then the
/// lines up to the terminating ".".
fn multi_line(w: &mut TcpStream, r: &mut impl BufRead, command: &str) -> (String, Vec<String>) {
    w.write_all(format!("{command}\r\n").as_bytes())
        .expect("send an NNTP command");
    let status = line(r);
    let mut lines = Vec::new();
    if !(status.starts_with("101 ") || status.starts_with("215 ")) {
        return (status, lines);
    }
    loop {
        let l = line(r);
        if l.is_empty() || l == ".\r\n" {
            return (status, lines);
        }
        lines.push(l.trim_end().to_string());
    }
}

/// A plain NNTP session on `port`: the greeting, CAPABILITIES and
/// LIST NEWSGROUPS, then QUIT.
fn nntp_session(port: u16) -> (String, Vec<String>, Vec<String>) {
    let sock = connect_local(port).expect("connect");
    let mut w = sock.try_clone().expect("clone the socket");
    let mut r = BufReader::new(sock);
    let greeting = line(&mut r);
    let (status, capabilities) = multi_line(&mut w, &mut r, "CAPABILITIES");
    assert!(status.starts_with("101 "), "CAPABILITIES: {status:?}");
    let (status, groups) = multi_line(&mut w, &mut r, "LIST NEWSGROUPS");
    assert!(status.starts_with("215 "), "LIST NEWSGROUPS: {status:?}");
    w.write_all(b"QUIT\r\n").expect("send QUIT");
    assert!(line(&mut r).starts_with("205"), "QUIT not answered");
    (greeting, capabilities, groups)
}

#[test]
fn nntp_client_mode_with_a_real_nnrpd() {
    let nnrpd = Nnrpd::start(true);
    let want_group = format!("{GROUP}\t{GROUP_DESCRIPTION}");
    // Directly, in plaintext, nnrpd offers STARTTLS.
    let (greeting, capabilities, groups) = nntp_session(nnrpd.port);
    assert!(greeting.starts_with("200 "), "{greeting:?}");
    assert!(
        capabilities.iter().any(|c| c == "STARTTLS"),
        "{capabilities:?}"
    );
    assert_eq!(groups, std::slice::from_ref(&want_group));
    for front in FRONT_ENDS {
        let (tunnel, port) = client_tunnel(front, "nntp", nnrpd.port, &nnrpd.cert.cert);
        // Through the tunnel the client gets nnrpd's greeting, then talks to
        // it over TLS: RFC 4642 has the server stop offering STARTTLS once
        // TLS is on.
        let (greeting, capabilities, groups) = nntp_session(port);
        assert!(
            greeting.starts_with("200 ") && greeting.contains("INN"),
            "{front:?}: greeting {greeting:?}\n{}",
            tunnel.log()
        );
        assert!(
            capabilities.iter().any(|c| c == "READER")
                && !capabilities.iter().any(|c| c == "STARTTLS"),
            "{front:?}: capabilities after TLS {capabilities:?}\n{}",
            tunnel.log()
        );
        assert_eq!(groups, std::slice::from_ref(&want_group), "{front:?}");
        tunnel.expect_log("version=TLSv1.3");
    }
}

#[test]
fn nntp_client_mode_when_nnrpd_cannot_start_tls() {
    // inn.conf names a certificate that does not exist: STARTTLS gets 580.
    let nnrpd = Nnrpd::start(false);
    for front in FRONT_ENDS {
        let (tunnel, port) = client_tunnel(front, "nntp", nnrpd.port, &nnrpd.cert.cert);
        let mut sock = connect_local(port).expect("connect");
        let mut got = Vec::new();
        match sock.read_to_end(&mut got) {
            // The greeting was passed on, then the connection closed.
            Ok(_) => {
                let got = String::from_utf8_lossy(&got);
                assert!(
                    got.starts_with("200 ") && got.lines().count() == 1,
                    "{front:?}: {got:?}"
                );
            }
            // stunnel.conf services reset a failed connection (stunnel's
            // `reset = yes` default, as stunnel does for this failure), which
            // may discard the greeting still unread.
            Err(e) => assert!(
                matches!(front, FrontEnd::StunnelConf)
                    && e.kind() == std::io::ErrorKind::ConnectionReset,
                "{front:?}: tunnel did not close: {e}\n{}",
                tunnel.log()
            ),
        }
        tunnel.expect_log("nntp prelude: server refused STARTTLS: \"580");
    }
}

#[test]
fn nntp_server_mode_in_front_of_a_plaintext_nnrpd() {
    // nnrpd without a usable certificate: the tunnel offers STARTTLS.
    let nnrpd = Nnrpd::start(false);
    let dir = temp_dir("nntp-server");
    let cert = cert_for(&dir, "localhost", &["localhost"]);
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let tunnel = Tunnel::server(
        &listen,
        &format!("127.0.0.1:{}", nnrpd.port),
        &cert,
        &["--starttls", "nntp"],
        port,
    );
    // s_client reads the greeting, asks CAPABILITIES for STARTTLS, sends
    // STARTTLS and expects 382; then LIST NEWSGROUPS, over TLS, reaches
    // nnrpd.
    let mut client = s_client_at(
        port,
        &[
            "-starttls",
            "nntp",
            "-servername",
            "localhost",
            "-verify_return_error",
            "-CAfile",
            cert.cert.to_str().expect("utf-8"),
            "-crlf",
            "-quiet",
        ],
    );
    client.write_stdin(b"LIST NEWSGROUPS\n".to_vec());
    assert!(
        client.wait_output_contains(GROUP_DESCRIPTION, PEER_TIMEOUT),
        "{}\n{}",
        client.diagnostics(),
        tunnel.log()
    );
    drop(client);
    tunnel.expect_log("version=TLSv1.3");
    // A client that does not ask for STARTTLS gets 483 for its commands.
    let sock = connect_local(port).expect("connect");
    let mut w = sock.try_clone().expect("clone the socket");
    let mut r = BufReader::new(sock);
    assert!(line(&mut r).starts_with("200 "));
    w.write_all(b"LIST\r\n").expect("send LIST");
    let reply = line(&mut r);
    assert!(reply.starts_with("483 "), "{reply:?}");
}
