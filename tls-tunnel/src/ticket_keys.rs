//! Session-ticket keys a fleet shares: a key file every instance reads, so
//! that a ticket sealed by one instance opens on any other, and stunnel's
//! fixed `ticketKeySecret`/`ticketMacSecret` key on the same footing.
//!
//! The key file holds one key a line, each 32 random bytes written as 64
//! hexadecimal digits (`openssl rand -hex 32`). The first key seals new
//! tickets; the others only open tickets sealed earlier (keys being
//! retired). Blank lines and lines starting with `#` are ignored. A ticket
//! whose key is no longer in the file is refused: that client makes a full
//! handshake. Rotation is the writer's job (a cron job, a Kubernetes Secret
//! update): put a new key first and keep the old one second for at least one
//! ticket lifetime, then drop it.
//!
//! The file is read at start (a bad file stops the start with `FILE:LINE`),
//! again on SIGHUP, and whenever it changes (its inode, size or modification
//! time; checked every [`POLL_EVERY`]). A bad new file keeps the keys in use
//! and logs why.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tls_core::{
    Clock, HashAlg, RotatingTicketer, SystemClock, TicketEncrypter, TicketKey, UnixTime,
};

use crate::config::TicketSecret;
use crate::service::ServiceHandle;

/// How often the key files are checked for changes.
pub const POLL_EVERY: Duration = Duration::from_secs(2);

/// Keys in one file at most: a current one and those being retired.
const MAX_KEYS: usize = 32;

/// The ticket key a 32-byte secret (a key-file line, or stunnel's pair of
/// secrets) stands for: instances given the same secret make the same key.
pub fn key_from_secret(secret: &[u8; 32]) -> TicketKey {
    let part = |label: &[u8]| {
        let mut input = label.to_vec();
        input.extend_from_slice(secret);
        HashAlg::Sha256.hash(&input)
    };
    let mut key = TicketKey {
        id: [0; 16],
        key: [0; 32],
    };
    for (to, from) in key
        .id
        .iter_mut()
        .zip(part(b"tls-tunnel ticket key id").as_ref())
    {
        *to = *from;
    }
    for (to, from) in key
        .key
        .iter_mut()
        .zip(part(b"tls-tunnel ticket key").as_ref())
    {
        *to = *from;
    }
    key
}

/// A ticketer sealing with one fixed key (stunnel's ticketKeySecret and
/// ticketMacSecret): a key file of one line, that never changes.
pub fn fixed(secret: &TicketSecret, lifetime: u32) -> Result<RotatingTicketer, String> {
    ticketer(key_from_secret(&secret.0), Vec::new(), lifetime)
}

fn ticketer(
    current: TicketKey,
    previous: Vec<TicketKey>,
    lifetime: u32,
) -> Result<RotatingTicketer, String> {
    let now = SystemClock.now();
    let mut t = RotatingTicketer::new(Arc::new(entropy::HostEntropy), lifetime, now)
        .map_err(|e| format!("cannot make session ticket keys: {e}"))?;
    t.set_keys(current, previous, now);
    Ok(t)
}

/// Parses a key file's text (`file` names it in errors): the current key
/// first, then the keys that only open tickets.
pub fn parse(file: &str, text: &str) -> Result<Vec<TicketKey>, String> {
    let mut keys = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = n.saturating_add(1);
        let secret = hex32(line).ok_or_else(|| {
            format!("{file}:{at}: a ticket key is 64 hexadecimal digits (32 bytes, `openssl rand -hex 32`)")
        })?;
        if keys.len() == MAX_KEYS {
            return Err(format!(
                "{file}:{at}: more than {MAX_KEYS} ticket keys; drop retired ones"
            ));
        }
        keys.push(key_from_secret(&secret));
    }
    if keys.is_empty() {
        return Err(format!(
            "{file}: no ticket key (one a line, 64 hexadecimal digits, the current one first)"
        ));
    }
    Ok(keys)
}

fn hex32(s: &str) -> Option<[u8; 32]> {
    let digits = s.as_bytes();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
        let text = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

/// What identifies one version of a file: a rename over it or a write
/// changes one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: i64,
    mtime_nsec: i64,
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    Ok(Stamp {
        dev: m.dev(),
        ino: m.ino(),
        len: m.len(),
        mtime: m.mtime(),
        mtime_nsec: m.mtime_nsec(),
    })
}

/// Seals and opens tickets with the keys of a key file, swapped for the
/// file's new keys when it changes.
pub struct KeyFileTicketer {
    path: PathBuf,
    lifetime: u32,
    keys: RwLock<Arc<RotatingTicketer>>,
    seen: Mutex<Option<Stamp>>,
}

impl KeyFileTicketer {
    /// Reads `path`; an error names the file (and line) and what is wrong.
    pub fn load(path: &Path, lifetime: u32) -> Result<KeyFileTicketer, String> {
        let seen = stamp(path).ok();
        let t = Self::read(path, lifetime)?;
        Ok(KeyFileTicketer {
            path: path.to_path_buf(),
            lifetime,
            keys: RwLock::new(Arc::new(t)),
            seen: Mutex::new(seen),
        })
    }

    fn read(path: &Path, lifetime: u32) -> Result<RotatingTicketer, String> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read ticket key file {name}: {e}"))?;
        let mut keys = parse(&name, &text)?.into_iter();
        let current = keys
            .next()
            .ok_or_else(|| format!("{name}: no ticket key"))?;
        ticketer(current, keys.collect(), lifetime)
    }

    /// The file it reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file again (SIGHUP, or `changed_only` when it changed
    /// since the last read). Returns whether new keys are in use; a bad
    /// file keeps the old keys and is the error.
    pub fn reload(&self, changed_only: bool) -> Result<bool, String> {
        let now = stamp(&self.path).ok();
        let Ok(mut seen) = self.seen.lock() else {
            return Ok(false);
        };
        if changed_only && *seen == now {
            return Ok(false);
        }
        // Once per version of the file, good or bad: a bad file is
        // reported once, not at every poll.
        *seen = now;
        let fresh = Self::read(&self.path, self.lifetime)?;
        if let Ok(mut keys) = self.keys.write() {
            *keys = Arc::new(fresh);
        }
        Ok(true)
    }

    fn current(&self) -> Option<Arc<RotatingTicketer>> {
        self.keys.read().ok().map(|k| k.clone())
    }
}

impl TicketEncrypter for KeyFileTicketer {
    fn encrypt(&self, plain: &[u8], now: UnixTime) -> Option<Vec<u8>> {
        self.current()?.encrypt(plain, now)
    }

    fn decrypt(&self, ticket: &[u8], now: UnixTime) -> Option<Vec<u8>> {
        self.current()?.decrypt(ticket, now)
    }

    fn lifetime(&self) -> u32 {
        self.lifetime
    }
}

/// Re-reads each key file (`changed_only`: those that changed), logging
/// what happened; `why` says what asked (SIGHUP, a change).
pub fn reload_all(files: &[Arc<KeyFileTicketer>], changed_only: bool, why: &str) {
    for f in files {
        match f.reload(changed_only) {
            Ok(true) => {
                tracing::info!(trigger = why, file = %f.path().display(), "ticket keys reloaded")
            }
            Ok(false) => {}
            Err(e) => tracing::error!(trigger = why, "{e}; keeping the ticket keys in use"),
        }
    }
}

/// The key files the services' current configurations read.
pub fn in_use(handles: &[Arc<ServiceHandle>]) -> Vec<Arc<KeyFileTicketer>> {
    handles
        .iter()
        .filter_map(|h| h.current().sessions.key_file())
        .collect()
}

/// Re-reads the services' key files whenever they change, forever.
pub async fn watch(handles: Vec<Arc<ServiceHandle>>) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        reload_all(&in_use(&handles), true, "file changed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const B: &str = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn file_format() {
        let keys = parse("k", &format!("# rotated daily\n\n{A}\n  {B}  \n")).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].id, key_from_secret(&hex32(A).unwrap()).id);
        assert_ne!(keys[0].id, keys[1].id);
        assert_eq!(
            parse("k", "# none\n").unwrap_err(),
            "k: no ticket key (one a line, 64 hexadecimal digits, the current one first)"
        );
        let e = parse("k", &format!("{A}\n\nzz{}\n", &B[2..])).unwrap_err();
        assert!(
            e.starts_with("k:3: a ticket key is 64 hexadecimal digits"),
            "{e}"
        );
        assert!(parse("k", &A[..62]).unwrap_err().starts_with("k:1:"));
        assert!(parse("k", "é".repeat(32).as_str()).is_err());
        let many = format!("{A}\n").repeat(MAX_KEYS + 1);
        assert!(parse("k", &many)
            .unwrap_err()
            .starts_with(&format!("k:{}: more than", MAX_KEYS + 1)));
    }

    #[test]
    fn rotation_through_the_file() {
        let dir = std::env::temp_dir().join(format!("tls-tunnel-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys");
        std::fs::write(&path, format!("{A}\n")).unwrap();
        let one = KeyFileTicketer::load(&path, 300).unwrap();
        let other = KeyFileTicketer::load(&path, 300).unwrap();
        let now = SystemClock.now();
        let old = one.encrypt(b"session", now).unwrap();
        // Another instance with the same file opens it.
        assert_eq!(other.decrypt(&old, now).unwrap(), b"session");
        assert!(!other.reload(true).unwrap(), "unchanged file");

        // A new current key, the old one kept: old tickets still open.
        std::fs::write(&path, format!("{B}\n{A}\n")).unwrap();
        assert!(other.reload(false).unwrap());
        assert_eq!(other.decrypt(&old, now).unwrap(), b"session");
        let new = other.encrypt(b"later", now).unwrap();
        assert!(one.decrypt(&new, now).is_none(), "one has not reloaded");

        // A bad file keeps the keys in use.
        std::fs::write(&path, "not a key\n").unwrap();
        assert!(other
            .reload(false)
            .unwrap_err()
            .contains(":1: a ticket key"));
        assert_eq!(other.decrypt(&new, now).unwrap(), b"later");

        // The old key dropped: its tickets are refused.
        std::fs::write(&path, format!("{B}\n")).unwrap();
        assert!(other.reload(false).unwrap());
        assert!(other.decrypt(&old, now).is_none());
        assert_eq!(other.decrypt(&new, now).unwrap(), b"later");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
