//! PKCS#12 key stores end to end: files made by `openssl pkcs12 -export`
//! (OpenSSL 3's default PBES2/AES-256-CBC with a SHA-256 MAC, `-legacy`
//! 3DES/RC2, `-nomac`, the empty password, no encryption at all) serve
//! their certificate through `--keystore` (which takes a combined PEM file
//! too), TOML's `keystore` and stunnel.conf's `cert = x.p12`; a wrong
//! password, a damaged file, a key store without a key and a key that is
//! not the certificate's are refused with one line naming the file, at
//! start and on SIGHUP (which keeps the old configuration).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tls_tests::openssl_peer::{openssl, s_client};
use tls_tests::peer::{free_port, run_tool, Peer, PEER_TIMEOUT};
use tls_tests::pki::{pki, KeyType, Leaf};
use tls_tests::tunnel::{
    cert_for, read_n, run_tunnel, temp_dir, tls_client, tunnel_bin, Backend, BackendKind, Tunnel,
};

/// One way of making and opening a key store: name, export password,
/// `openssl pkcs12` options, tls-tunnel options, environment.
type Case<'a> = (
    &'a str,
    &'a str,
    &'a [&'a str],
    &'a [&'a str],
    &'a [(&'a str, &'a str)],
);

fn arg(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

/// `openssl pkcs12 -export` of `chain` (certificates, and the key unless
/// `key` is given separately) into `dir/name`, with password `pass`.
fn export(
    dir: &Path,
    name: &str,
    chain: &Path,
    key: Option<&Path>,
    pass: &str,
    extra: &[&str],
) -> PathBuf {
    let out = dir.join(name);
    let mut args = vec![
        "pkcs12".to_string(),
        "-export".into(),
        "-in".into(),
        arg(chain),
    ];
    if let Some(key) = key {
        args.extend(["-inkey".into(), arg(key)]);
    }
    args.extend([
        "-out".into(),
        arg(&out),
        "-passout".into(),
        format!("pass:{pass}"),
    ]);
    args.extend(extra.iter().map(|s| s.to_string()));
    run_tool(&openssl(), &args);
    out
}

fn echo() -> Backend {
    Backend::start(BackendKind::Echo {
        greeting: String::new(),
    })
}

/// A handshake pinned to `leaf`'s certificate, and a round trip.
fn assert_serves(port: u16, leaf: &[u8], what: &str) {
    let mut tls = tls_client(port, "localhost", leaf);
    tls.write_all(what.as_bytes()).unwrap();
    assert_eq!(read_n(&mut tls, what.len()), what.as_bytes(), "{what}");
}

/// `tls-tunnel server --keystore p12 extra...` on a free port, with `env`.
fn keystore_tunnel(
    p12: &Path,
    target: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Tunnel, u16) {
    let port = free_port();
    let mut cmd = Command::new(tunnel_bin());
    cmd.args([
        "server",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--target",
        target,
    ]);
    cmd.args(["--keystore", &arg(p12)]).args(extra);
    cmd.env_remove("KEYSTORE_PASS");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut peer = Peer::spawn_command(cmd);
    peer.wait_for_port(port);
    (Tunnel { peer }, port)
}

#[test]
fn tunnel_serves_pkcs12_keystores_from_openssl() {
    let dir = temp_dir("p12-kinds");
    let backend = echo();
    let pass_file = dir.join("storepass");
    std::fs::write(&pass_file, "pw\n").unwrap();
    let pass_flag = ["--storepass", "pw"];
    let pass_from_file = ["--storepass-file", pass_file.to_str().unwrap()];
    for key_type in [KeyType::EcdsaP256, KeyType::Rsa2048] {
        let leaf: &Leaf = pki().leaf(key_type);
        let t = key_type.name();
        let cases: [Case; 6] = [
            ("modern", "pw", &[], &pass_flag, &[]),
            ("env", "pw", &[], &[], &[("KEYSTORE_PASS", "pw")]),
            ("legacy", "pw", &["-legacy"], &pass_from_file, &[]),
            ("nomac", "pw", &["-nomac"], &pass_flag, &[]),
            ("empty", "", &[], &[], &[]),
            (
                "plain",
                "",
                &["-nomac", "-keypbe", "NONE", "-certpbe", "NONE"],
                &[],
                &[],
            ),
        ];
        for (kind, pass, export_args, flags, env) in cases {
            let name = format!("{t}-{kind}.p12");
            let p12 = export(
                &dir,
                &name,
                &leaf.chain_pem,
                Some(&leaf.key_pem),
                pass,
                export_args,
            );
            let (tunnel, port) = keystore_tunnel(&p12, &backend.addr(), flags, env);
            assert_serves(port, &leaf.cert_der, &name);
            drop(tunnel);
        }
    }
}

/// `--keystore` also takes one PEM file holding the chain and the key, as
/// ghostunnel's does.
#[test]
fn tunnel_keystore_takes_a_combined_pem_file() {
    let dir = temp_dir("p12-pem");
    let leaf = pki().leaf(KeyType::Ed25519);
    let combined = dir.join("combined.pem");
    let mut text = leaf.chain_pem_bytes.clone();
    text.extend_from_slice(&leaf.key_pem_bytes);
    std::fs::write(&combined, text).unwrap();
    let backend = echo();
    let (_tunnel, port) = keystore_tunnel(&combined, &backend.addr(), &[], &[]);
    assert_serves(port, &leaf.cert_der, "combined PEM");
}

/// openssl s_client sees the chain of the key store (leaf, then CA) and
/// verifies it against the CA.
#[test]
fn tunnel_pkcs12_chain_verifies_with_openssl_s_client() {
    let dir = temp_dir("p12-chain");
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let p12 = export(
        &dir,
        "chain.p12",
        &leaf.chain_pem,
        Some(&leaf.key_pem),
        "pw",
        &[],
    );
    let backend = Backend::start(BackendKind::Echo {
        greeting: "through\n".into(),
    });
    let (_tunnel, port) = keystore_tunnel(&p12, &backend.addr(), &["--storepass", "pw"], &[]);
    let mut client = s_client(port, "p12-chain", false, &["-showcerts"]);
    assert!(
        client.peer.wait_output_contains("through", PEER_TIMEOUT),
        "{}",
        client.peer.diagnostics()
    );
    client.peer.close_stdin();
    client.peer.wait(PEER_TIMEOUT);
    let out = String::from_utf8_lossy(&client.peer.stdout()).into_owned();
    assert!(out.contains("Verification: OK"), "{out}");
    assert_eq!(
        out.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{out}"
    );
    let first = out.find("-----BEGIN CERTIFICATE-----").unwrap();
    let leaf_pem = std::fs::read_to_string(&leaf.cert_pem).unwrap();
    let leaf_b64 = leaf_pem.lines().nth(1).unwrap();
    assert!(
        out[first..].starts_with(&format!("-----BEGIN CERTIFICATE-----\n{leaf_b64}")),
        "{out}"
    );
}

/// Runs `args`: exit 2 and exactly one line on stderr containing each of `want`.
fn assert_refused(args: &[String], want: &[&str]) {
    let (code, _, stderr) = run_tunnel(args);
    assert_eq!(code, Some(2), "exit code for {args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}:\n{stderr}");
    for w in want {
        assert!(stderr.contains(w), "{w:?} in {stderr:?}");
    }
}

fn keystore_check(p12: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "server",
        "--listen",
        "127.0.0.1:1",
        "--target",
        "127.0.0.1:1",
        "--check",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(["--keystore".into(), arg(p12)]);
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

#[test]
fn tunnel_refuses_bad_pkcs12_keystores_naming_the_file() {
    let dir = temp_dir("p12-bad");
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let modern = export(
        &dir,
        "modern.p12",
        &leaf.chain_pem,
        Some(&leaf.key_pem),
        "pw",
        &[],
    );
    let legacy = export(
        &dir,
        "legacy.p12",
        &leaf.chain_pem,
        Some(&leaf.key_pem),
        "pw",
        &["-legacy"],
    );
    let nomac = export(
        &dir,
        "nomac.p12",
        &leaf.chain_pem,
        Some(&leaf.key_pem),
        "pw",
        &["-nomac"],
    );
    let wrong = "wrong key store password";
    for p12 in [&modern, &legacy] {
        assert_refused(
            &keystore_check(p12, &["--storepass", "nope"]),
            &[&arg(p12), wrong],
        );
    }
    assert_refused(
        &keystore_check(&modern, &[]),
        &[&arg(&modern), wrong, "no password was given"],
    );
    assert_refused(
        &keystore_check(&nomac, &["--storepass", "nope"]),
        &[&arg(&nomac), "cannot decrypt the key store"],
    );
    // Damaged: cut short, and one byte of the encrypted contents flipped.
    let bytes = std::fs::read(&modern).unwrap();
    let cut = dir.join("cut.p12");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    assert_refused(
        &keystore_check(&cut, &["--storepass", "pw"]),
        &[&arg(&cut), "neither PEM nor a readable PKCS#12 file"],
    );
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    let flip = dir.join("flipped.p12");
    std::fs::write(&flip, &flipped).unwrap();
    assert_refused(
        &keystore_check(&flip, &["--storepass", "pw"]),
        &[&arg(&flip)],
    );
    // Certificates only.
    let certs_only = export(&dir, "certs.p12", &leaf.chain_pem, None, "pw", &["-nokeys"]);
    assert_refused(
        &keystore_check(&certs_only, &["--storepass", "pw"]),
        &[&arg(&certs_only), "holds no private key"],
    );
    // A password file that cannot be read.
    let missing = dir.join("no-such-pass");
    assert_refused(
        &keystore_check(&modern, &["--storepass-file", missing.to_str().unwrap()]),
        &["cannot read key store password file", &arg(&missing)],
    );
    // --keystore stands for --cert and --key.
    let (code, _, stderr) = run_tunnel(keystore_check(&modern, &["--cert", &arg(&leaf.cert_pem)]));
    assert_eq!(code, Some(2), "{stderr}");
}

/// stunnel.conf: `cert = x.p12` with the empty password serves it; a
/// certificate-only key store with a `key` file that is not its key is
/// refused (the pair check still runs); a password-protected one is
/// refused saying no password was given.
#[test]
fn tunnel_stunnel_conf_takes_pkcs12_cert_files() {
    let dir = temp_dir("p12-stunnel");
    let leaf = pki().leaf(KeyType::Rsa2048);
    let other = pki().leaf(KeyType::EcdsaP256);
    let empty = export(
        &dir,
        "server.PFX",
        &leaf.chain_pem,
        Some(&leaf.key_pem),
        "",
        &[],
    );
    let certs_only = export(&dir, "certs.p12", &leaf.chain_pem, None, "", &["-nokeys"]);
    let locked = export(
        &dir,
        "locked.p12",
        &leaf.chain_pem,
        Some(&leaf.key_pem),
        "pw",
        &[],
    );
    let backend = echo();
    let port = free_port();
    let conf = dir.join("stunnel.conf");
    let write = |cert: &Path, key: Option<&Path>| {
        let key = key
            .map(|k| format!("key = {}\n", k.display()))
            .unwrap_or_default();
        let text = format!(
            "foreground = yes\npid =\n[p12]\naccept = 127.0.0.1:{port}\nconnect = {}\ncert = {}\n{key}",
            backend.addr(),
            cert.display()
        );
        std::fs::write(&conf, text).unwrap();
    };
    write(&empty, None);
    let tunnel = Tunnel::start(["--config", conf.to_str().unwrap()], &[port]);
    assert_serves(port, &leaf.cert_der, "stunnel.conf p12");
    drop(tunnel);

    let check = || vec!["--config".to_string(), arg(&conf), "--check".into()];
    // A key store's own key wins over `key`, as stunnel 5.68 ignores it.
    write(&empty, Some(&other.key_pem));
    let (code, _, stderr) = run_tunnel(check());
    assert_eq!(code, Some(0), "{stderr}");
    write(&certs_only, Some(&other.key_pem));
    assert_refused(
        &check(),
        &[
            &arg(&certs_only),
            &arg(&other.key_pem),
            "does not hold the private key",
        ],
    );
    write(&certs_only, Some(&leaf.key_pem));
    let (code, _, stderr) = run_tunnel(check());
    assert_eq!(code, Some(0), "{stderr}");
    write(&locked, None);
    assert_refused(&check(), &[&arg(&locked), "no password was given"]);
}

#[test]
fn tunnel_toml_keystore_with_password_file() {
    let dir = temp_dir("p12-toml");
    let leaf = pki().leaf(KeyType::EcdsaP256);
    let p12 = export(
        &dir,
        "id.p12",
        &leaf.chain_pem,
        Some(&leaf.key_pem),
        "toml pw",
        &[],
    );
    let pass = dir.join("pass");
    std::fs::write(&pass, "toml pw").unwrap();
    let backend = echo();
    let port = free_port();
    let toml = dir.join("tunnel.toml");
    std::fs::write(
        &toml,
        format!(
            "[[service]]\nname = \"p12\"\nmode = \"server\"\nlisten = \"127.0.0.1:{port}\"\n\
             target = \"{}\"\nkeystore = \"{}\"\nkeystore_password_file = \"{}\"\n",
            backend.addr(),
            p12.display(),
            pass.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(["--config", toml.to_str().unwrap()], &[port]);
    assert_serves(port, &leaf.cert_der, "toml p12");
    drop(tunnel);
    // keystore and cert together are one too many.
    let text = std::fs::read_to_string(&toml).unwrap();
    std::fs::write(
        &toml,
        format!("{text}cert = \"{}\"\n", leaf.cert_pem.display()),
    )
    .unwrap();
    assert_refused(
        &["--config".into(), arg(&toml), "--check".into()],
        &["keystore replaces cert and key"],
    );
}

/// A key store rotated with a password that the password file does not
/// have yet: SIGHUP is refused and the old identity keeps serving; once the
/// password file is updated, the next SIGHUP takes the new one.
#[test]
fn tunnel_pkcs12_reload_with_a_wrong_password_keeps_the_old_identity() {
    let dir = temp_dir("p12-reload");
    let first = pki().leaf(KeyType::EcdsaP256);
    let second = cert_for(&dir, "second", &["localhost"]);
    let live = dir.join("live.p12");
    let pass = dir.join("pass");
    std::fs::write(&pass, "one\n").unwrap();
    std::fs::copy(
        export(
            &dir,
            "first.p12",
            &first.chain_pem,
            Some(&first.key_pem),
            "one",
            &[],
        ),
        &live,
    )
    .unwrap();
    let backend = echo();
    let (tunnel, port) = keystore_tunnel(
        &live,
        &backend.addr(),
        &["--storepass-file", pass.to_str().unwrap()],
        &[],
    );
    assert_serves(port, &first.cert_der, "before");

    let rotated = export(
        &dir,
        "second.p12",
        &second.cert,
        Some(&second.key),
        "two",
        &[],
    );
    std::fs::copy(&rotated, &live).unwrap();
    tunnel.signal("HUP");
    tunnel.expect_log("reload failed, keeping the old configuration");
    tunnel.expect_log(&format!("{}: wrong key store password", live.display()));
    assert_serves(port, &first.cert_der, "after a refused reload");

    std::fs::write(&pass, "two\n").unwrap();
    tunnel.signal("HUP");
    tunnel.expect_log("reloaded 1 service(s)");
    assert_serves(port, &second.der, "after the rotation");
}
