//! A real Dovecot (Debian `dovecot-imapd` and `dovecot-pop3d`) for the
//! IMAP and POP3 tests, started in the foreground (`dovecot -F -c CONF`)
//! with its own configuration, state, log and mail under a temporary
//! directory, and stopped when the guard drops.
//!
//! With [`Tls::Required`] it wants TLS before a password (`ssl = required`,
//! `disable_plaintext_auth = yes`), so a login that works proves STARTTLS
//! (or STLS) happened. Dovecot counts a connection whose two ends have the
//! same address as secure whatever the transport, so it listens on
//! 127.0.0.2: connections reach it from 127.0.0.1 and are judged on their
//! TLS. Its log says `TLS` on each login that came over TLS.
//!
//! Run as root (as in CI), the login and internal processes use the
//! package's `dovenull` and `dovecot` users and the mail processes run as
//! `dovecot` (Dovecot refuses mail processes as root); run as anyone else,
//! everything runs as that user, without chroot.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::peer::{Peer, PEER_TIMEOUT};

/// The address Dovecot listens on (see the module documentation).
pub const HOST: &str = "127.0.0.2";
/// [`HOST`] as an address.
const HOST_IP: [u8; 4] = [127, 0, 0, 2];
/// The test user.
pub const USER: &str = "alice";
/// The test user's password.
pub const PASSWORD: &str = "wonderland";
/// The one message in the test user's INBOX.
pub const MESSAGE: &str = "From: bob@example.org\r\nTo: alice@example.org\r\n\
                           Subject: hello\r\n\r\nThe message body, delivered through the tunnel.\r\n";

/// The Debian packages a test needs.
const PACKAGES: &str = "dovecot-imapd dovecot-pop3d";

/// Whether Dovecot offers TLS.
#[derive(Debug, Clone, Copy)]
pub enum Tls<'a> {
    /// `ssl = required` with this certificate and key (PEM files), and no
    /// password before TLS.
    Required {
        /// The certificate.
        cert: &'a Path,
        /// Its private key.
        key: &'a Path,
    },
    /// `ssl = no`: no STARTTLS, no STLS, passwords in plaintext.
    Off,
}

/// A running Dovecot; stopped (SIGTERM, then SIGKILL) on drop.
pub struct Dovecot {
    peer: Peer,
    log: PathBuf,
    /// Its IMAP port on [`HOST`].
    pub imap: u16,
    /// Its POP3 port on [`HOST`].
    pub pop3: u16,
}

/// The Dovecot binary; panics naming the packages if it, or the IMAP or
/// POP3 part, is missing.
fn binary() -> PathBuf {
    let found = ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or_else(|| crate::peer::require("dovecot", PACKAGES));
    for (part, package) in [
        ("imap-login", "dovecot-imapd"),
        ("pop3-login", "dovecot-pop3d"),
    ] {
        let present = ["/usr/lib/dovecot", "/usr/libexec/dovecot"]
            .iter()
            .any(|d| Path::new(d).join(part).is_file());
        assert!(
            present,
            "Dovecot's {part} not found: apt-get install {package}"
        );
    }
    found
}

/// (name, uid, gid) of the /etc/passwd entry whose name or uid is `who`.
fn passwd_entry(who: &str) -> Option<(String, u32, u32)> {
    let text = std::fs::read_to_string("/etc/passwd").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let (name, _, uid, gid) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        if name != who && uid != who {
            return None;
        }
        Some((name.to_string(), uid.parse().ok()?, gid.parse().ok()?))
    })
}

/// A free TCP port on [`HOST`].
fn free_port() -> u16 {
    let listener = TcpListener::bind(SocketAddr::from((HOST_IP, 0))).expect("bind 127.0.0.2:0");
    listener.local_addr().expect("local_addr").port()
}

/// The name of group `gid` from /etc/group.
fn group_name(gid: u32) -> Option<String> {
    let text = std::fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|line| {
        let mut fields = line.split(':');
        let (name, _, id) = (fields.next()?, fields.next()?, fields.next()?);
        (id.parse() == Ok(gid)).then(|| name.to_string())
    })
}

/// The settings that depend on who runs the test: the service users, and
/// the uid, gid and lowest uid of the mail processes. Not as root, the
/// login processes and anvil cannot chroot, and the internal group is the
/// user's (Dovecot's documented way of running as one user).
fn users(dir: &Path) -> String {
    let meta = std::fs::metadata(dir).expect("stat the temporary directory");
    if meta.uid() == 0 {
        let (_, uid, gid) = passwd_entry("dovecot")
            .unwrap_or_else(|| panic!("no `dovecot` user: apt-get install {PACKAGES}"));
        format!("mail_uid = {uid}\nmail_gid = {gid}\nfirst_valid_uid = {uid}\n")
    } else {
        let (uid, gid) = (meta.uid(), meta.gid());
        let name = passwd_entry(&uid.to_string())
            .map(|(name, _, _)| name)
            .expect("the current user in /etc/passwd");
        let group = group_name(gid).expect("the current group in /etc/group");
        let mut out = format!(
            "default_login_user = {name}\ndefault_internal_user = {name}\n\
             default_internal_group = {group}\nmail_uid = {uid}\nmail_gid = {gid}\n\
             first_valid_uid = {uid}\n"
        );
        for service in ["imap-login", "pop3-login", "anvil"] {
            out.push_str(&format!("service {service} {{\n  chroot =\n}}\n"));
        }
        out
    }
}

/// The user's Maildir with [`MESSAGE`] in it, open to the mail processes'
/// user.
fn deliver(mail: &Path) {
    let maildir = mail.join(USER).join("Maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("create the Maildir");
    }
    let message = maildir.join("new").join("1700000000.M1P1.test");
    std::fs::write(&message, MESSAGE).expect("write the message");
    for dir in [
        mail.to_path_buf(),
        mail.join(USER),
        maildir.clone(),
        maildir.join("cur"),
        maildir.join("new"),
        maildir.join("tmp"),
    ] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))
            .expect("open the Maildir");
    }
    std::fs::set_permissions(&message, std::fs::Permissions::from_mode(0o666))
        .expect("open the message");
}

impl Dovecot {
    /// Starts Dovecot with its files under `dir` and waits until it listens
    /// for IMAP and POP3. A port taken meanwhile is retried with others.
    pub fn start(dir: &Path, tls: Tls) -> Dovecot {
        let program = binary();
        let mut last = String::new();
        for attempt in 0..3 {
            let run = dir.join(format!("dovecot-{attempt}"));
            let (base, state, mail) = (run.join("run"), run.join("state"), run.join("mail"));
            for d in [&base, &state, &mail] {
                std::fs::create_dir_all(d).expect("create Dovecot's directories");
            }
            deliver(&mail);
            let passwd = run.join("passwd");
            std::fs::write(&passwd, format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"))
                .expect("write the passwd-file");
            let ssl = match tls {
                Tls::Required { cert, key } => format!(
                    "ssl = required\nssl_cert = <{}\nssl_key = <{}\ndisable_plaintext_auth = yes\n",
                    cert.display(),
                    key.display()
                ),
                Tls::Off => "ssl = no\ndisable_plaintext_auth = no\n".to_string(),
            };
            let (imap, pop3) = (free_port(), free_port());
            let log = run.join("dovecot.log");
            let conf = run.join("dovecot.conf");
            std::fs::write(
                &conf,
                format!(
                    "base_dir = {base}\nstate_dir = {state}\nlog_path = {log}\n\
                     instance_name = tls-tunnel-test-{attempt}\n{users}\
                     protocols = imap pop3\nlisten = {HOST}\n{ssl}\
                     auth_mechanisms = plain login\n\
                     passdb {{\n  driver = passwd-file\n  args = {passwd}\n}}\n\
                     userdb {{\n  driver = static\n  args = home={mail}/%u\n}}\n\
                     mail_location = maildir:~/Maildir\n\
                     service imap-login {{\n  inet_listener imap {{\n    port = {imap}\n  }}\n  \
                     inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
                     service pop3-login {{\n  inet_listener pop3 {{\n    port = {pop3}\n  }}\n  \
                     inet_listener pop3s {{\n    port = 0\n  }}\n}}\n",
                    base = base.display(),
                    state = state.display(),
                    log = log.display(),
                    users = users(dir),
                    passwd = passwd.display(),
                    mail = mail.display(),
                ),
            )
            .expect("write dovecot.conf");
            let mut cmd = Command::new(&program);
            cmd.arg("-F").arg("-c").arg(&conf);
            let mut dovecot = Dovecot {
                peer: Peer::spawn_command(cmd),
                log,
                imap,
                pop3,
            };
            if dovecot.listens() {
                return dovecot;
            }
            last = dovecot.diagnostics();
        }
        panic!("Dovecot did not start\n{last}");
    }

    /// Waits until it accepts connections on both ports; false if it
    /// exited first. A connection is the test, not /proc: another process
    /// may listen on the same port number on another address.
    fn listens(&mut self) -> bool {
        let deadline = Instant::now() + PEER_TIMEOUT;
        let mut pending = vec![self.imap, self.pop3];
        while !pending.is_empty() {
            pending.retain(|&port| {
                let addr = SocketAddr::from((HOST_IP, port));
                TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err()
            });
            if self.peer.try_status().is_some() {
                return false;
            }
            assert!(
                Instant::now() < deadline,
                "Dovecot not listening after {PEER_TIMEOUT:?}\n{}",
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// `127.0.0.2:port` of IMAP.
    pub fn imap_addr(&self) -> String {
        format!("{HOST}:{}", self.imap)
    }

    /// `127.0.0.2:port` of POP3.
    pub fn pop3_addr(&self) -> String {
        format!("{HOST}:{}", self.pop3)
    }

    /// Its log file so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until its log contains `needle`; false if it never did.
    pub fn wait_log(&self, needle: &str) -> bool {
        let deadline = Instant::now() + PEER_TIMEOUT;
        while !self.log().contains(needle) {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }

    /// Its output and log, for failure messages.
    pub fn diagnostics(&self) -> String {
        format!(
            "{}\n--- dovecot.log ---\n{}",
            self.peer.diagnostics(),
            self.log()
        )
    }
}

impl Drop for Dovecot {
    /// SIGTERM lets the master stop its login, auth and mail processes; it
    /// is killed if it has not exited within [`PEER_TIMEOUT`].
    fn drop(&mut self) {
        if self.peer.try_status().is_none() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.peer.id().to_string())
                .status();
            self.peer.wait(PEER_TIMEOUT);
        }
    }
}
