//! A real OpenLDAP server for the tunnel's LDAP tests: Debian's `slapd` with
//! its own `slapd.conf` and MDB database in a temporary directory, loaded by
//! `slapadd`, listening only on `ldap://127.0.0.1:PORT/`, in the foreground
//! (`-d stats`, so its log is the peer's stderr). Killed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peer::{require, Peer};
use crate::tunnel::{cert_for, temp_dir, CertFiles};

/// The directory's suffix (naming context).
pub const SUFFIX: &str = "dc=example,dc=test";
/// The entry `slapadd` loads below [`SUFFIX`], found by the tests' searches.
pub const ENTRY: &str = "cn=tunnel,dc=example,dc=test";
/// The `sn` of [`ENTRY`]: a search that prints it read the directory.
pub const ENTRY_SN: &str = "through-the-tunnel";

/// An OpenLDAP program from Debian's `package`, found in /usr/sbin (not
/// always on an unprivileged `PATH`) or on `PATH`.
fn sbin(tool: &str, package: &str) -> PathBuf {
    let path = Path::new("/usr/sbin").join(tool);
    if path.exists() {
        path
    } else {
        require(tool, package)
    }
}

/// A running slapd.
pub struct Slapd {
    /// The server process (its log is on stderr).
    pub peer: Peer,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The certificate it serves for StartTLS (CN and DNS name
    /// `localhost`), when started with TLS.
    pub cert: CertFiles,
}

impl Slapd {
    /// Starts slapd with one MDB database holding [`SUFFIX`] and [`ENTRY`].
    /// With `tls`, it has a certificate and `security tls=1`: every
    /// operation other than StartTLS on a plaintext connection is refused
    /// with confidentialityRequired, so a search that succeeds went over
    /// TLS. Without, it has no certificate and refuses StartTLS.
    pub fn start(tls: bool) -> Slapd {
        let slapd = sbin("slapd", "slapd");
        let slapadd = sbin("slapadd", "slapd");
        let dir = temp_dir("slapd");
        let db = dir.join("db");
        std::fs::create_dir(&db).expect("create the slapd database directory");
        let cert = cert_for(&dir, "localhost", &["localhost"]);
        let tls_lines = if tls {
            format!(
                "TLSCertificateFile {}\nTLSCertificateKeyFile {}\nsecurity tls=1\n",
                cert.cert.display(),
                cert.key.display()
            )
        } else {
            String::new()
        };
        let conf = dir.join("slapd.conf");
        std::fs::write(
            &conf,
            format!(
                "include /etc/ldap/schema/core.schema\n\
                 pidfile {pid}\n\
                 modulepath /usr/lib/ldap\n\
                 moduleload back_mdb\n\
                 {tls_lines}\
                 database mdb\n\
                 maxsize 10485760\n\
                 suffix \"{SUFFIX}\"\n\
                 rootdn \"cn=admin,{SUFFIX}\"\n\
                 directory {db}\n",
                pid = dir.join("slapd.pid").display(),
                db = db.display(),
            ),
        )
        .expect("write slapd.conf");
        let ldif = dir.join("data.ldif");
        std::fs::write(
            &ldif,
            format!(
                "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\n\
                 o: Example\ndc: example\n\n\
                 dn: {ENTRY}\nobjectClass: person\ncn: tunnel\nsn: {ENTRY_SN}\n"
            ),
        )
        .expect("write the LDIF");
        let out = Command::new(&slapadd)
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(&ldif)
            .output()
            .expect("run slapadd");
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let conf = conf.display().to_string();
        let (peer, port) = Peer::spawn_listening(&slapd, |port| {
            [
                "-d",
                "stats",
                "-h",
                &format!("ldap://127.0.0.1:{port}/"),
                "-f",
                &conf,
            ]
            .map(String::from)
            .to_vec()
        });
        Slapd { peer, port, cert }
    }
}

/// `ldapsearch -x` (simple anonymous bind) at `ldap://127.0.0.1:port` for
/// [`ENTRY`]'s `sn`. Without `starttls` it speaks plaintext and ignores the
/// system's ldap.conf (`LDAPNOINIT`); with `Some(cacert)` it asks for
/// StartTLS (`-ZZ`: failing if it cannot) and verifies the server's
/// certificate against `cacert`, which must name the IP address 127.0.0.1
/// (libldap checks a host named `localhost` against the machine's own
/// name). Returns (success, stdout, stderr); bounded through `-l` and
/// `-o nettimeout`.
pub fn ldapsearch(port: u16, starttls: Option<&Path>) -> (bool, String, String) {
    let ldapsearch = require("ldapsearch", "ldap-utils");
    let mut cmd = Command::new(ldapsearch);
    match starttls {
        None => cmd.env("LDAPNOINIT", "1"),
        Some(cacert) => cmd
            .env("LDAPTLS_CACERT", cacert)
            .env("LDAPTLS_REQCERT", "demand")
            .arg("-ZZ"),
    };
    let out = cmd
        .args([
            "-x",
            "-LLL",
            "-o",
            "nettimeout=20",
            "-l",
            "20",
            "-H",
            &format!("ldap://127.0.0.1:{port}"),
            "-b",
            SUFFIX,
            "(cn=tunnel)",
            "sn",
        ])
        .output()
        .expect("run ldapsearch");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
