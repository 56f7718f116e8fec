//! TLS 1.3 external PSKs in the tunnel (TOML `psk_secrets`/`psk_identity`,
//! stunnel's PSKsecrets/PSKidentity; the stunnel.conf form is compared with
//! stunnel4 itself in `stunnel_diff`): a PSK-only server service and a
//! client service talking through each other, `openssl s_client -psk` on
//! the server service, and a bad secrets file refused with one line naming
//! the file and the line.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use tls_tests::openssl_peer::s_client_at;
use tls_tests::peer::{connect_local, free_port, PEER_TIMEOUT};
use tls_tests::tunnel::{run_tunnel, temp_dir, Backend, BackendKind, Tunnel};

const ALICE: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const BOB: &str = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0";

fn write_secrets(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Plaintext through `port` to the echo backend: what comes back.
fn echo_through(port: u16, data: &[u8]) -> Vec<u8> {
    let mut sock = connect_local(port).unwrap();
    sock.write_all(data).unwrap();
    sock.shutdown(std::net::Shutdown::Write).unwrap();
    let mut got = Vec::new();
    let _ = sock.read_to_end(&mut got);
    got
}

/// `openssl s_client -psk` to `port`: its stdout after sending `line` and
/// seeing it echoed, or (when the handshake fails) after its error.
fn s_client_psk(port: u16, identity: &str, key: &str, line: &str) -> String {
    let args = ["-tls1_3", "-psk", key, "-psk_identity", identity, "-quiet"];
    let mut client = s_client_at(port, &args);
    client.write_stdin(line.as_bytes().to_vec());
    // A failed handshake: s_client prints OpenSSL's error and exits.
    client.wait_output(PEER_TIMEOUT, |out, err| {
        out.contains(line.trim()) || err.contains(":error:")
    });
    if client.try_status().is_none() {
        client.kill();
    }
    String::from_utf8_lossy(&client.stdout()).into_owned()
}

#[test]
fn tunnel_psk_services_and_openssl() {
    let dir = temp_dir("psk");
    let secrets = dir.join("psk.txt");
    // Others may read it: used, with a warning (as stunnel).
    write_secrets(&secrets, &format!("alice:{ALICE}\nbob:{BOB}\n"), 0o644);
    let backend = Backend::start(BackendKind::Echo {
        greeting: String::new(),
    });
    let (server, client) = (free_port(), free_port());
    let conf = format!(
        "[global]\nlog_level = \"info\"\n\n\
         [[service]]\nname = \"psk-server\"\nmode = \"server\"\nlisten = \"127.0.0.1:{server}\"\n\
         target = \"{backend}\"\npsk_secrets = \"{secrets}\"\n\n\
         [[service]]\nname = \"psk-client\"\nmode = \"client\"\nlisten = \"127.0.0.1:{client}\"\n\
         target = \"127.0.0.1:{server}\"\nserver_name = \"localhost\"\n\
         psk_secrets = \"{secrets}\"\npsk_identity = \"bob\"\n",
        backend = backend.addr(),
        secrets = secrets.display(),
    );
    let path = dir.join("psk.toml");
    std::fs::write(&path, conf).unwrap();
    let tunnel = Tunnel::start(["--config", path.to_str().unwrap()], &[server, client]);
    tunnel.expect_log("insecure file permissions on the PSKsecrets file");

    // Our client offers bob's key to our PSK-only server.
    assert_eq!(
        echo_through(client, b"through two tunnels"),
        b"through two tunnels",
        "{}",
        tunnel.log()
    );
    // openssl with alice's key; then a wrong key and an unknown identity fail.
    let out = s_client_psk(server, "alice", ALICE, "hello from openssl\n");
    assert!(
        out.contains("hello from openssl"),
        "{out}\n{}",
        tunnel.log()
    );
    let wrong = ALICE.replace("0011", "0012");
    assert!(!s_client_psk(server, "alice", &wrong, "wrong key\n").contains("wrong key"));
    assert!(!s_client_psk(server, "carol", ALICE, "stranger\n").contains("stranger"));
}

#[test]
fn tunnel_refuses_a_bad_psk_file_naming_the_line() {
    let dir = temp_dir("psk-bad");
    let secrets = dir.join("psk.txt");
    write_secrets(
        &secrets,
        &format!("alice:{ALICE}\nbob:0123456789abcdef\n"),
        0o600,
    );
    let conf = dir.join("stunnel.conf");
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\n[svc]\naccept = 127.0.0.1:{}\nconnect = 127.0.0.1:1\n\
             PSKsecrets = {}\n",
            free_port(),
            secrets.display()
        ),
    )
    .unwrap();
    let (code, _, stderr) = run_tunnel(["--check", "--config", conf.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let want = format!(
        "PSKsecrets {} line 2: key shorter than 16 bytes",
        secrets.display()
    );
    assert!(stderr.contains(&want), "{want:?} in {stderr:?}");
    assert!(stderr.contains("[svc]"), "{stderr}");

    // The command line's form: an identity the file lacks.
    let good = dir.join("good.txt");
    write_secrets(&good, &format!("alice:{ALICE}\n"), 0o600);
    let (code, _, stderr) = run_tunnel([
        "client",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:2",
        "--psk-secrets",
        good.to_str().unwrap(),
        "--psk-identity",
        "carol",
        "--check",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("PSKidentity \"carol\" is not in the PSKsecrets file"),
        "{stderr}"
    );
}
