//! stunnel's `libwrap = yes` end to end, with stunnel4 (Debian's is built
//! with libwrap) as the oracle: in fresh namespaces ([`tls_tests::netns`])
//! the test's own /etc/hosts.allow and /etc/hosts.deny are bind-mounted over
//! the system's, and clients from several loopback addresses connect to a
//! server-mode service `[web]`; each is let in (the backend greets it) or
//! refused the same way under both tools.

use std::path::Path;

use tls_tests::netns::{self, Tool, BACKEND_PORT, TUNNEL_PORT};
use tls_tests::tunnel::{cert_for, temp_dir};

/// The client addresses tried.
const SOURCES: [&str; 4] = ["127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.1.1"];

/// What clients from [`SOURCES`] saw under `tool` with these files.
/// `global` holds more global options of the file.
fn observe(
    dir: &Path,
    case: &str,
    tool: Tool,
    (allow, deny): (&str, &str),
    global: &str,
) -> Vec<String> {
    let cert = cert_for(dir, "localhost", &["localhost"]);
    let conf = dir.join(format!("{case}.{tool:?}.conf"));
    std::fs::write(
        &conf,
        format!(
            "foreground = yes\npid =\nsyslog = no\n{global}[web]\naccept = 127.0.0.1:{TUNNEL_PORT}\n\
             connect = 127.0.0.1:{BACKEND_PORT}\ncert = {}\nkey = {}\nlibwrap = yes\n",
            cert.cert.display(),
            cert.key.display()
        ),
    )
    .expect("write conf");
    let (allow_file, deny_file) = (
        dir.join(format!("{case}.allow")),
        dir.join(format!("{case}.deny")),
    );
    std::fs::write(&allow_file, allow).expect("write hosts.allow");
    std::fs::write(&deny_file, deny).expect("write hosts.deny");
    let setup = format!(
        "mount --bind {} /etc/hosts.allow\nmount --bind {} /etc/hosts.deny",
        allow_file.display(),
        deny_file.display()
    );
    let body: Vec<String> = SOURCES
        .iter()
        .map(|s| netns::probe(dir, TUNNEL_PORT, s))
        .collect();
    let out = netns::run(
        dir,
        &format!("{case}.{tool:?}"),
        tool,
        &conf,
        &setup,
        &body.join("\n"),
    );
    out.lines().map(str::to_string).collect()
}

fn agree(case: &str, allow: &str, deny: &str, admitted: &[&str]) {
    agree_with(case, (allow, deny), admitted, |_| String::new());
}

/// [`agree`] with more global options (`global` gets the test directory).
fn agree_with(
    case: &str,
    files: (&str, &str),
    admitted: &[&str],
    global: impl Fn(&Path) -> String,
) {
    let dir = temp_dir(&format!("libwrap-{case}"));
    netns::write_probe(&dir);
    let global = global(&dir);
    let theirs = observe(&dir, case, Tool::Stunnel, files, &global);
    let ours = observe(&dir, case, Tool::Tunnel, files, &global);
    let expected: Vec<String> = SOURCES
        .iter()
        .map(|s| match admitted.contains(s) {
            true => "source=127.0.0.1 data=hello".to_string(),
            false => "source=- data=refused".to_string(),
        })
        .collect();
    assert_eq!(theirs, expected, "stunnel4, {case}");
    assert_eq!(ours, theirs, "tls-tunnel vs stunnel4, {case}");
}

#[test]
fn allow_list_then_deny_all() {
    agree(
        "allow-list",
        "# ours\nweb: 127.0.0.5, 127.0.1.\n",
        "ALL: ALL\n",
        &["127.0.0.5", "127.0.1.1"],
    );
}

#[test]
fn networks_and_except() {
    agree(
        "except",
        "web: 127.0.0.0/255.255.255.0 EXCEPT 127.0.0.6\nother: ALL\n",
        "web: ALL EXCEPT 127.0.1.0/24\n",
        &["127.0.0.5", "127.0.0.7", "127.0.1.1"],
    );
}

#[test]
fn another_daemon_name_is_not_this_service() {
    agree(
        "other-daemon",
        "sshd: ALL\n",
        "ALL EXCEPT sshd: 127.0.0.6\n",
        &["127.0.0.5", "127.0.0.7", "127.0.1.1"],
    );
}

/// Under `chroot` the rules are still the host's files, as stunnel's
/// (its libwrap helpers start before the chroot): a jail without
/// /etc/hosts.deny does not let everyone in.
#[test]
fn chroot_keeps_the_hosts_files() {
    agree_with(
        "chroot",
        ("web: 127.0.0.5\n", "ALL: ALL\n"),
        &["127.0.0.5"],
        |dir| {
            let jail = dir.join("jail");
            std::fs::create_dir_all(&jail).expect("make the jail");
            format!("chroot = {}\n", jail.display())
        },
    );
}
