//! A real news server for the tunnel's NNTP tests: INN's reader daemon
//! `nnrpd` (Debian `inn2`) standalone (`-D -f`, forking per connection) on
//! 127.0.0.1, with a private `inn.conf` (`INNCONF`) whose paths all lie in a
//! temporary directory: readers.conf admitting 127.0.0.1, an active file with
//! one group, an empty tradindexed overview made by `makehistory -O -x`.
//! Killed when dropped; a child serving a connection ends when the client
//! closes it (or after `clienttimeout`).
//!
//! nnrpd logs only to syslog, so its complaints do not reach the test's
//! output; the NNTP replies carry the error codes.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peer::{require, Peer};
use crate::tunnel::{cert_for, temp_dir, CertFiles};

/// INN's private programs.
const INN_BIN: &str = "/usr/lib/news/bin";
/// The group in the server's active file.
pub const GROUP: &str = "test.tunnel";
/// Its description in the newsgroups file (LIST NEWSGROUPS).
pub const GROUP_DESCRIPTION: &str = "Reached through the tunnel.";

/// One of INN's programs; panics naming the package when it is missing.
fn inn_program(name: &str) -> PathBuf {
    let path = Path::new(INN_BIN).join(name);
    assert!(
        path.exists(),
        "`{}` not found: apt-get install inn2",
        path.display()
    );
    path
}

/// Whether we run as root (nnrpd then drops to the `news` user, which
/// must own its files).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// A running nnrpd.
pub struct Nnrpd {
    /// The daemon (parent) process.
    pub peer: Peer,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The certificate it serves after STARTTLS (CN and DNS name
    /// `localhost`).
    pub cert: CertFiles,
}

impl Nnrpd {
    /// Starts nnrpd. With `tls`, inn.conf names a certificate and key and
    /// STARTTLS (RFC 4642) works; without, they name missing files and
    /// nnrpd answers STARTTLS with 580.
    pub fn start(tls: bool) -> Nnrpd {
        let nnrpd = inn_program("nnrpd");
        let makehistory = inn_program("makehistory");
        let dir = temp_dir("nnrpd");
        for sub in ["etc", "db", "run", "spool", "spool/overview", "log", "tmp"] {
            std::fs::create_dir(dir.join(sub)).expect("create an INN directory");
        }
        let cert = cert_for(&dir.join("etc"), "localhost", &["localhost"]);
        let (cert_file, key_file) = if tls {
            (cert.cert.clone(), cert.key.clone())
        } else {
            (dir.join("etc/missing.crt"), dir.join("etc/missing.key"))
        };
        // nnrpd wants its key readable only by itself.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&cert.key, std::fs::Permissions::from_mode(0o600))
            .expect("chmod the key");
        let inn_conf = dir.join("etc/inn.conf");
        std::fs::write(
            &inn_conf,
            format!(
                "domain: localdomain\n\
                 pathhost: news.test\n\
                 pathnews: {news}\n\
                 pathbin: {INN_BIN}\n\
                 mta: \"/bin/false %s\"\n\
                 ovmethod: tradindexed\n\
                 hismethod: hisv6\n\
                 clienttimeout: 60\n\
                 initialtimeout: 20\n\
                 tlscertfile: {cert}\n\
                 tlskeyfile: {key}\n",
                news = dir.display(),
                cert = cert_file.display(),
                key = key_file.display(),
            ),
        )
        .expect("write inn.conf");
        std::fs::write(
            dir.join("etc/readers.conf"),
            "auth \"local\" {\n    hosts: \"127.0.0.1\"\n    default: \"<local>\"\n}\n\
             access \"local\" {\n    users: \"<local>\"\n    newsgroups: \"*\"\n}\n",
        )
        .expect("write readers.conf");
        std::fs::write(
            dir.join("etc/storage.conf"),
            "method timehash {\n    newsgroups: *\n    class: 0\n}\n",
        )
        .expect("write storage.conf");
        std::fs::write(
            dir.join("db/active"),
            format!("{GROUP} 0000000000 0000000001 y\n"),
        )
        .expect("write active");
        std::fs::write(
            dir.join("db/newsgroups"),
            format!("{GROUP}\t{GROUP_DESCRIPTION}\n"),
        )
        .expect("write newsgroups");
        let root = is_root();
        if root {
            let status = Command::new("chown")
                .args(["-R", "news:news"])
                .arg(&dir)
                .status()
                .expect("run chown");
            assert!(status.success(), "chown news {}", dir.display());
        }
        // The (empty) overview database nnrpd opens at each connection.
        let mut overview = if root {
            let mut cmd = Command::new(require("runuser", "util-linux"));
            cmd.args(["-u", "news", "--"]).arg(&makehistory);
            cmd
        } else {
            Command::new(&makehistory)
        };
        let out = overview
            .args(["-O", "-x"])
            .env("INNCONF", &inn_conf)
            .output()
            .expect("run makehistory");
        assert!(
            out.status.success(),
            "makehistory -O -x failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env = Path::new("/usr/bin/env");
        let (inn_conf, nnrpd) = (
            format!("INNCONF={}", inn_conf.display()),
            nnrpd.display().to_string(),
        );
        let (peer, port) = Peer::spawn_listening(env, |port| {
            [
                &inn_conf,
                &nnrpd,
                "-D",
                "-f",
                "-n",
                "-b",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ]
            .map(String::from)
            .to_vec()
        });
        Nnrpd { peer, port, cert }
    }
}
