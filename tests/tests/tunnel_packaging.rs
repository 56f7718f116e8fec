//! What a packager ships, checked with the tools that consume it: the man
//! page (`tls-tunnel generate man`) through groff and mandoc's linters, the
//! bash completion script loaded into bash, and the systemd unit, sample
//! configuration and logrotate file in tls-tunnel/dist through
//! `systemd-analyze verify`, `--check` and a real rotation; the deploy/
//! files (Kubernetes manifests, systemd template units, HAProxy example)
//! through deploy/check-manifests.py and kubernetes-validate (Kubernetes's
//! schemas), `systemd-analyze verify` and `haproxy -c`.

use std::path::{Path, PathBuf};
use std::process::Command;

use tls_tests::peer::{free_port, require, run_tool, Peer, PEER_TIMEOUT};
use tls_tests::tunnel::{run_tunnel, temp_dir, tunnel_bin, Tunnel};

/// A file of tls-tunnel/dist.
fn dist(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tls-tunnel/dist")
        .join(name)
}

/// Runs `cmd` to completion (bounded); returns its exit code, stdout, stderr.
fn run(cmd: Command) -> (Option<i32>, String, String) {
    let mut peer = Peer::spawn_command(cmd);
    peer.close_stdin();
    let status = peer
        .wait(PEER_TIMEOUT)
        .unwrap_or_else(|| panic!("did not exit\n{}", peer.diagnostics()));
    (
        status.code(),
        String::from_utf8_lossy(&peer.stdout()).into_owned(),
        peer.stderr(),
    )
}

/// Writes the man page under `dir/man8/tls-tunnel.8`, as it is installed.
fn install_man_page(dir: &Path) -> PathBuf {
    let man8 = dir.join("man8");
    std::fs::create_dir_all(&man8).unwrap();
    let page = man8.join("tls-tunnel.8");
    let (code, out, err) = run_tunnel([
        "generate".as_ref(),
        "man".as_ref(),
        "--output".as_ref(),
        page.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.is_empty() && err.is_empty(), "{out}{err}");
    page
}

#[test]
fn man_page_renders_without_warnings() {
    let dir = temp_dir("man");
    let page = install_man_page(&dir);
    // The same page on standard output.
    let (code, stdout, _) = run_tunnel(["generate", "man"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains(".TH TLS-TUNNEL 8"), "{stdout}");

    let groff = require("groff", "groff-base");
    let mut cmd = Command::new(&groff);
    cmd.args(["-man", "-Tutf8", "-ww", "-z"]).arg(&page);
    let (code, _, err) = run(cmd);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.is_empty(), "groff warnings:\n{err}");

    let mandoc = require("mandoc", "mandoc");
    let mut cmd = Command::new(&mandoc);
    cmd.args(["-Tlint", "-Wwarning"]).arg(&page);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "mandoc warnings:\n{out}{err}");

    // As a reader sees it: every mode, with its options.
    let ascii = run_tool(&mandoc, ["-Tascii".as_ref(), page.as_os_str()]);
    let text = strip_overstrike(&String::from_utf8(ascii).unwrap());
    for needle in [
        "SERVER OPTIONS",
        "CLIENT OPTIONS",
        "--allow-cn",
        "--server-name",
        "SIGNALS",
        "EXIT STATUS",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
}

/// mandoc's ASCII output bolds with "c\bc": keeps the last of each pair.
fn strip_overstrike(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn bash_completion_completes_subcommands_and_options() {
    let dir = temp_dir("bash");
    let script = dir.join("tls-tunnel.bash");
    let (code, _, err) = run_tunnel([
        "generate".as_ref(),
        "completions".as_ref(),
        "bash".as_ref(),
        "--output".as_ref(),
        script.as_os_str(),
    ]);
    assert_eq!(code, Some(0), "{err}");
    let bash = require("bash", "bash");
    // Load the script as bash-completion would, then ask for the words
    // after `tls-tunnel ` and after `tls-tunnel server --allow-`.
    let probe = format!(
        "source {script}\n\
         f=$(complete -p tls-tunnel | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')\n\
         COMP_WORDS=(tls-tunnel ''); COMP_CWORD=1; $f tls-tunnel '' tls-tunnel\n\
         echo \"top: ${{COMPREPLY[*]}}\"\n\
         COMP_WORDS=(tls-tunnel server --allow-); COMP_CWORD=2; $f tls-tunnel --allow- server\n\
         echo \"server: ${{COMPREPLY[*]}}\"\n",
        script = script.display()
    );
    let mut cmd = Command::new(bash);
    cmd.args(["--norc", "-c", &probe]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "{out}{err}");
    let line = |tag: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(tag))
            .unwrap_or_else(|| panic!("no {tag} line:\n{out}{err}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let top = line("top:");
    for word in ["server", "client", "--config", "--log-level"] {
        assert!(top.iter().any(|w| w == word), "{word} not offered: {top:?}");
    }
    assert!(
        !top.iter().any(|w| w == "generate"),
        "the packaging tool is hidden"
    );
    let server = line("server:");
    for word in ["--allow-cn", "--allow-san", "--allow-all"] {
        assert!(
            server.iter().any(|w| w == word),
            "{word} not offered: {server:?}"
        );
    }
}

#[test]
fn generate_refuses_bad_arguments_with_one_line() {
    let (code, _, err) = run_tunnel(["generate", "completions", "tcsh"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");

    let missing = temp_dir("gen").join("no/such/dir/tls-tunnel.8");
    let (code, out, err) = run_tunnel([
        "generate".as_ref(),
        "man".as_ref(),
        "--output".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("tls-tunnel: cannot write ") && err.contains("no/such/dir"),
        "{err}"
    );
}

#[test]
fn systemd_unit_verifies() {
    let analyze = require("systemd-analyze", "systemd");
    let dir = temp_dir("unit");
    // The unit as installed, with the binary where it names it: the one
    // under test. Its Documentation= page must resolve through `man`.
    let unit = std::fs::read_to_string(dist("tls-tunnel.service")).unwrap();
    assert!(unit.contains("Documentation=man:tls-tunnel(8)"));
    let bin = tunnel_bin();
    let unit = unit.replace("/usr/local/bin/tls-tunnel", bin.to_str().unwrap());
    let path = dir.join("tls-tunnel.service");
    std::fs::write(&path, unit).unwrap();
    let mandir = dir.join("man");
    install_man_page(&mandir);
    require("man", "man-db");
    let mut cmd = Command::new(&analyze);
    cmd.arg("verify")
        .arg(&path)
        // The trailing colon keeps the system's pages (kill(1) for ExecReload).
        .env("MANPATH", format!("{}:", mandir.display()));
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "systemd-analyze verify:\n{out}{err}");
    assert!(err.is_empty(), "systemd-analyze verify:\n{err}");

    // Without the page installed, the Documentation= check fails: the
    // verification above did look it up.
    let mut cmd = Command::new(&analyze);
    cmd.arg("verify")
        .arg(&path)
        .env("MANPATH", dir.join("empty"));
    let (code, _, err) = run(cmd);
    assert_ne!(code, Some(0), "{err}");
    assert!(err.contains("tls-tunnel(8)"), "{err}");
}

#[test]
fn sample_config_checks() {
    let (code, out, err) = run_tunnel([
        "--config".as_ref(),
        dist("tunnel.toml").as_os_str(),
        "--check".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("configuration OK (1 service(s))"), "{out}");
}

/// The logrotate file rotates a running tunnel's log_file: logrotate renames
/// it, the postrotate signal makes the daemon reopen it by name, and new
/// lines go to the new file.
#[test]
fn logrotate_rotates_a_running_tunnels_log() {
    let logrotate = require("logrotate", "logrotate");
    let dir = temp_dir("logrotate");
    let log = dir.join("tunnel.log");
    let port = free_port();
    let conf = dir.join("tunnel.toml");
    std::fs::write(
        &conf,
        format!(
            "[global]\nlog_file = \"{}\"\n[[service]]\nname = \"web\"\nmode = \"server\"\n\
             listen = \"127.0.0.1:{port}\"\ntarget = \"127.0.0.1:9\"\n",
            log.display()
        ),
    )
    .unwrap();
    let tunnel = Tunnel::start(
        [
            "--config".as_ref(),
            conf.as_os_str(),
            "--foreground".as_ref(),
        ],
        &[port],
    );
    let wait_for = |path: &Path, needle: &str| {
        let deadline = std::time::Instant::now() + PEER_TIMEOUT;
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{needle:?} never in {}:\n{text}\n{}",
                path.display(),
                tunnel.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    wait_for(&log, "ready");

    // The shipped rules, for this directory and this process.
    let rules = std::fs::read_to_string(dist("tls-tunnel.logrotate")).unwrap();
    let signal = "systemctl kill --signal=USR1 --kill-whom=main tls-tunnel.service";
    assert!(rules.contains(signal) && rules.contains("/var/log/tls-tunnel/*.log"));
    let rules = rules
        .replace("/var/log/tls-tunnel", dir.to_str().unwrap())
        .replace(signal, &format!("kill -USR1 {}", tunnel.peer.id()));
    let rules_path = dir.join("logrotate.conf");
    std::fs::write(&rules_path, rules).unwrap();
    let mut cmd = Command::new(logrotate);
    cmd.arg("--force")
        .arg("--state")
        .arg(dir.join("state"))
        .arg(&rules_path);
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "logrotate:\n{out}{err}");

    let old = wait_for(&dir.join("tunnel.log.1"), "ready");
    assert!(!old.contains("log file reopened"), "{old}");
    wait_for(&log, "log file reopened");
}

/// A file of deploy/.
fn deploy(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(name)
}

#[test]
fn deploy_kubernetes_manifests_agree_with_the_configuration() {
    let python = require("python3", "python3");
    let (code, _, err) = run({
        let mut c = Command::new(&python);
        c.args(["-c", "import yaml, tomllib"]);
        c
    });
    assert_eq!(
        code,
        Some(0),
        "python3's yaml module: apt-get install python3-yaml\n{err}"
    );
    let dir = temp_dir("deploy-k8s");
    let check = |manifest: &Path, toml: &Path| {
        let mut c = Command::new(&python);
        c.arg(deploy("check-manifests.py")).arg(manifest).arg(toml);
        run(c)
    };
    let manifest = deploy("kubernetes/tls-tunnel.yaml");
    let toml = dir.join("tunnel.toml");
    let (code, out, err) = check(&manifest, &toml);
    assert_eq!(code, Some(0), "check-manifests.py:\n{out}{err}");

    // The check does bite: a probe path the tunnel does not answer, a grace
    // period shorter than the drain.
    let text = std::fs::read_to_string(&manifest).unwrap();
    let broken = dir.join("broken.yaml");
    std::fs::write(
        &broken,
        text.replace("path: /livez", "path: /healthz").replace(
            "terminationGracePeriodSeconds: 45",
            "terminationGracePeriodSeconds: 20",
        ),
    )
    .unwrap();
    let (code, out, _) = check(&broken, &dir.join("unused.toml"));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("livenessProbe asks '/healthz'"), "{out}");
    assert!(out.contains("terminationGracePeriodSeconds 20"), "{out}");

    // The ConfigMap's configuration, with the mounted files made here, is one
    // tls-tunnel accepts.
    let cert = tls_tests::tunnel::cert_for(&dir, "localhost", &["localhost"]);
    let keys = dir.join("keys");
    let secret_keys: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.len() == 64 && l.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    assert_eq!(secret_keys.len(), 2, "the Secret's example keys");
    std::fs::write(&keys, secret_keys.join("\n")).unwrap();
    let config = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("/etc/tls-tunnel/cert/tls.crt", cert.cert.to_str().unwrap())
        .replace("/etc/tls-tunnel/cert/tls.key", cert.key.to_str().unwrap())
        .replace("/etc/tls-tunnel/tickets/keys", keys.to_str().unwrap());
    std::fs::write(&toml, config).unwrap();
    let (code, out, err) = run_tunnel(["--config".as_ref(), toml.as_os_str(), "--check".as_ref()]);
    assert_eq!(code, Some(0), "{out}{err}");
}

/// The manifests against Kubernetes's own OpenAPI schemas (strict: no
/// unknown fields), offline, with kubernetes-validate (PyPI); a field with
/// the wrong type fails it.
#[test]
fn deploy_kubernetes_manifests_pass_the_kubernetes_schemas() {
    let tool = require(
        "kubernetes-validate",
        "python3-pip (pip install kubernetes-validate)",
    );
    let manifest = deploy("kubernetes/tls-tunnel.yaml");
    let validate = |path: &Path| {
        let mut c = Command::new(&tool);
        c.args(["--strict", "--quiet"]).arg(path);
        run(c)
    };
    let (code, out, err) = validate(&manifest);
    assert_eq!(code, Some(0), "kubernetes-validate:\n{out}{err}");

    let dir = temp_dir("deploy-k8s-schema");
    let broken = dir.join("broken.yaml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains("terminationGracePeriodSeconds: 45"));
    std::fs::write(
        &broken,
        text.replace(
            "terminationGracePeriodSeconds: 45",
            "terminationGracePeriodSeconds: soon",
        ),
    )
    .unwrap();
    let (code, out, err) = validate(&broken);
    assert_ne!(
        code,
        Some(0),
        "a string where an integer goes passed:\n{out}{err}"
    );
}

#[test]
fn deploy_systemd_template_units_verify() {
    let analyze = require("systemd-analyze", "systemd");
    require("man", "man-db");
    let dir = temp_dir("deploy-units");
    let bin = tunnel_bin();
    for unit in ["tls-tunnel@.service", "tls-tunnel@.socket"] {
        let text = std::fs::read_to_string(deploy(&format!("systemd/{unit}"))).unwrap();
        let text = text.replace("/usr/local/bin/tls-tunnel", bin.to_str().unwrap());
        std::fs::write(dir.join(unit), text).unwrap();
    }
    let mandir = dir.join("man");
    install_man_page(&mandir);
    let mut cmd = Command::new(&analyze);
    cmd.arg("verify")
        .arg(dir.join("tls-tunnel@web.service"))
        .arg(dir.join("tls-tunnel@web.socket"))
        .env("MANPATH", format!("{}:", mandir.display()));
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "systemd-analyze verify:\n{out}{err}");
    assert!(err.is_empty(), "systemd-analyze verify:\n{err}");
}

#[test]
fn deploy_haproxy_example_checks() {
    let haproxy = require("haproxy", "haproxy");
    let mut cmd = Command::new(haproxy);
    cmd.arg("-c").arg("-f").arg(deploy("haproxy/haproxy.cfg"));
    let (code, out, err) = run(cmd);
    assert_eq!(code, Some(0), "haproxy -c:\n{out}{err}");
}
