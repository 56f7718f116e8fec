//! One TLS session watched from outside: both directions' records are split,
//! decrypted with the logged secrets and their handshake messages handed,
//! in capture order, to the version's rules ([`crate::tls13`],
//! [`crate::tls12`]). Everything that breaks a rule becomes a [`Deviation`].

use std::fmt;

use tls_core::internal::msgs::alert::{Alert, AlertLevel};
use tls_core::internal::msgs::enums::{AlertDescription, ContentType};
use tls_core::internal::msgs::handshake::{ClientHello, ServerHello};
use tls_core::internal::record::join::{HandshakeJoiner, RawHandshake};
use tls_core::internal::record::protect::RecordOpener;
use tls_core::{CipherSuite, HashAlg};

use crate::capture::{Dir, Stream};
use crate::keylog::KeyLog;

/// A rule the session broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deviation {
    /// Who sent what broke it (none for a problem of the capture itself).
    pub dir: Option<Dir>,
    /// The message or record concerned.
    pub what: String,
    /// What is wrong.
    pub rule: String,
    /// Where the rule is written, e.g. "RFC 8446 §4.4.4".
    pub section: &'static str,
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] ", self.section)?;
        if let Some(dir) = self.dir {
            write!(f, "{dir}, ")?;
        }
        write!(f, "{}: {}", self.what, self.rule)
    }
}

/// What a check covered, to tell a clean session from one not looked at.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The version the ServerHello chose, if one was seen.
    pub version: Option<&'static str>,
    /// Handshake messages checked.
    pub messages: usize,
    /// Records decrypted.
    pub decrypted: usize,
    /// Finished messages whose verify_data was recomputed.
    pub finished: usize,
    /// Signatures verified (CertificateVerify, ServerKeyExchange).
    pub signatures: usize,
}

/// TLS 1.3's record size limit for protected records (§5.2), the larger one.
const MAX_RECORD: usize = (1 << 14) + 256;

/// The version the ServerHello chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// TLS 1.3.
    Tls13,
    /// TLS 1.2.
    Tls12,
}

/// One direction's record state.
#[derive(Default)]
pub struct Half {
    buf: Vec<u8>,
    pub joiner: HandshakeJoiner,
    pub opener: Option<RecordOpener>,
    /// Why nothing more may come (close_notify, a fatal alert).
    pub closed: Option<&'static str>,
    /// Processing stopped (an undecryptable record, a missing key).
    pub stuck: bool,
    /// The sender's handshake is over (its Finished was seen).
    pub finished: bool,
    /// TLS 1.3: the current application traffic secret (for KeyUpdate).
    pub app_secret: Option<Vec<u8>>,
    /// TLS 1.3: the peer asked this side to update its key, and it has not yet.
    pub update_owed: bool,
    /// Application data sent while `update_owed`.
    pub data_while_owed: bool,
    /// TLS 1.2: this side's ChangeCipherSpec was seen.
    pub ccs: bool,
}

/// What both versions share about the session.
pub struct Shared<'k> {
    pub keys: &'k KeyLog,
    pub out: Vec<Deviation>,
    pub client: Half,
    pub server: Half,
    /// The (first) ClientHello.
    pub ch: Option<ClientHello>,
    /// The ServerHello.
    pub sh: Option<ServerHello>,
    /// The extension types the ClientHello offered (the renegotiation SCSV
    /// counts as renegotiation_info), read once from its bytes.
    pub offered: Vec<u16>,
    pub version: Option<Version>,
    pub suite: Option<CipherSuite>,
    pub hash: Option<HashAlg>,
    pub server_random: Option<[u8; 32]>,
    /// The handshake messages so far, as they enter the transcript.
    pub transcript: Vec<u8>,
    /// What was checked.
    pub summary: Summary,
}

impl Shared<'_> {
    /// Records a deviation.
    pub fn flag(&mut self, dir: Dir, what: &str, rule: impl Into<String>, section: &'static str) {
        self.out.push(Deviation {
            dir: Some(dir),
            what: what.to_string(),
            rule: rule.into(),
            section,
        });
    }

    /// A message the sender's state does not allow here: flagged under
    /// `section`, naming the step the sender is at, and `dir` stops.
    pub fn out_of_order(
        &mut self,
        dir: Dir,
        what: &str,
        step: &dyn fmt::Debug,
        section: &'static str,
    ) {
        self.flag(
            dir,
            what,
            format!("not expected here (the sender's next step is {step:?})"),
            section,
        );
        self.half(dir).stuck = true;
    }

    /// The half of `dir`'s sender.
    pub fn half(&mut self, dir: Dir) -> &mut Half {
        match dir {
            Dir::ClientToServer => &mut self.client,
            Dir::ServerToClient => &mut self.server,
        }
    }

    /// The client random of the first ClientHello.
    pub fn client_random(&self) -> Option<[u8; 32]> {
        self.ch.as_ref().map(|ch| ch.random)
    }

    /// A secret from the key log for this session; flags its absence once
    /// and stops `dir`.
    pub fn secret(&mut self, dir: Dir, label: &str) -> Option<Vec<u8>> {
        let found = self
            .client_random()
            .and_then(|r| self.keys.secret(&r, label).map(<[u8]>::to_vec));
        if found.is_none() {
            self.flag(
                dir,
                "key log",
                format!("no {label} for this session: its records cannot be checked"),
                "NSS key log",
            );
            self.half(dir).stuck = true;
        }
        found
    }

    /// The transcript hash so far.
    pub fn transcript_hash(&self) -> Option<Vec<u8>> {
        Some(self.hash?.hash(&self.transcript).as_ref().to_vec())
    }
}

/// The rules of one version, fed in capture order.
pub trait Rules {
    /// A complete handshake message from `dir`.
    fn handshake(&mut self, s: &mut Shared<'_>, dir: Dir, msg: RawHandshake);
    /// A ChangeCipherSpec record from `dir` (body already checked to be 0x01).
    fn ccs(&mut self, s: &mut Shared<'_>, dir: Dir);
    /// Application data from `dir` (after decryption).
    fn app_data(&mut self, s: &mut Shared<'_>, dir: Dir, len: usize);
}

/// Checks one TCP stream; the deviations in the order found.
pub fn check(stream: &Stream, keys: &KeyLog) -> Vec<Deviation> {
    examine(stream, keys).0
}

/// Checks one TCP stream; the deviations in the order found, and what was
/// checked.
pub fn examine(stream: &Stream, keys: &KeyLog) -> (Vec<Deviation>, Summary) {
    let mut s = Shared {
        summary: Summary::default(),
        keys,
        out: Vec::new(),
        client: Half::default(),
        server: Half::default(),
        ch: None,
        sh: None,
        offered: Vec::new(),
        version: None,
        suite: None,
        hash: None,
        server_random: None,
        transcript: Vec::new(),
    };
    for problem in &stream.problems {
        s.out.push(Deviation {
            dir: None,
            what: "capture".into(),
            rule: problem.clone(),
            section: "TCP",
        });
    }
    let mut rules = crate::tls13::Tls13::default();
    let mut rules12 = crate::tls12::Tls12::default();
    for (dir, bytes) in &stream.chunks {
        let half = s.half(*dir);
        if half.stuck {
            continue;
        }
        half.buf.extend_from_slice(bytes);
        while let Some((typ, header, body)) = next_record(&mut s, *dir) {
            match s.version {
                Some(Version::Tls12) => record(&mut s, &mut rules12, *dir, typ, header, body),
                _ => record(&mut s, &mut rules, *dir, typ, header, body),
            }
            if s.half(*dir).stuck {
                break;
            }
        }
    }
    for dir in [Dir::ClientToServer, Dir::ServerToClient] {
        let half = s.half(dir);
        if half.update_owed && half.data_while_owed {
            s.flag(
                dir,
                "KeyUpdate",
                "the peer asked for a KeyUpdate; this side sent data and never updated",
                "RFC 8446 §4.6.3",
            );
        }
        let half = s.half(dir);
        if !half.stuck && !half.buf.is_empty() {
            let n = half.buf.len();
            s.flag(
                dir,
                "record",
                format!("the stream ends inside a record ({n} bytes left)"),
                "RFC 8446 §5.1",
            );
        }
    }
    s.summary.version = match s.version {
        Some(Version::Tls13) => Some("TLS 1.3"),
        Some(Version::Tls12) => Some("TLS 1.2"),
        None => None,
    };
    (s.out, s.summary)
}

/// The next complete record of `dir`, if all of it is here.
fn next_record(s: &mut Shared<'_>, dir: Dir) -> Option<(u8, [u8; 5], Vec<u8>)> {
    let half = s.half(dir);
    let header: [u8; 5] = half.buf.get(..5)?.try_into().ok()?;
    let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if len > MAX_RECORD {
        half.stuck = true;
        s.flag(
            dir,
            "record",
            format!("length {len} exceeds 2^14 + 256"),
            "RFC 8446 §5.2",
        );
        return None;
    }
    let body = half.buf.get(5..5 + len)?.to_vec();
    half.buf.drain(..5 + len);
    Some((header[0], header, body))
}

/// Handles one record: decryption, then its content by type.
fn record(
    s: &mut Shared<'_>,
    rules: &mut dyn Rules,
    dir: Dir,
    typ: u8,
    header: [u8; 5],
    mut body: Vec<u8>,
) {
    let outer = ContentType::from_wire(typ);
    if let Some(why) = s.half(dir).closed {
        s.flag(dir, "record", format!("sent after {why}"), "RFC 8446 §6.1");
        s.half(dir).stuck = true;
        return;
    }
    let tls13 = s.version == Some(Version::Tls13);
    // TLS 1.3 protects everything but ChangeCipherSpec once keys are in use;
    // TLS 1.2 everything after the sender's ChangeCipherSpec.
    let protected =
        s.half(dir).opener.is_some() && !(tls13 && outer == ContentType::ChangeCipherSpec);
    let (typ, plain) = if protected {
        if tls13 && outer != ContentType::ApplicationData {
            s.flag(
                dir,
                "record",
                format!("unprotected {outer:?} record after keys were in use"),
                "RFC 8446 §5",
            );
            return;
        }
        let Some(opener) = s.half(dir).opener.as_mut() else {
            return;
        };
        match opener.open(&header, &mut body) {
            Ok((typ, plain)) => {
                s.summary.decrypted += 1;
                (typ, plain.to_vec())
            }
            Err(e) => {
                s.flag(
                    dir,
                    "record",
                    format!("does not decrypt with the logged key ({e})"),
                    "RFC 8446 §5.2",
                );
                s.half(dir).stuck = true;
                return;
            }
        }
    } else {
        if tls13 && outer == ContentType::ApplicationData && s.half(dir).opener.is_none() {
            // Early data, or keys the log does not have: nothing to check.
            if s.ch.is_some() && dir == Dir::ClientToServer && s.server_random.is_none() {
                return; // 0-RTT data before the ServerHello: not checked
            }
        }
        (outer, body)
    };
    match typ {
        ContentType::Handshake => {
            if plain.is_empty() {
                s.flag(dir, "record", "empty handshake record", "RFC 8446 §5.1");
                return;
            }
            if let Err(e) = s.half(dir).joiner.push(&plain) {
                s.flag(dir, "record", format!("{e}"), "RFC 8446 §5.1");
                return;
            }
            loop {
                match s.half(dir).joiner.next_message() {
                    Ok(Some(msg)) => {
                        s.summary.messages += 1;
                        rules.handshake(s, dir, msg);
                        if s.half(dir).stuck {
                            return;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        s.flag(dir, "handshake", format!("{e}"), "RFC 8446 §4");
                        s.half(dir).stuck = true;
                        return;
                    }
                }
            }
        }
        ContentType::ChangeCipherSpec => {
            if plain != [1] {
                s.flag(
                    dir,
                    "ChangeCipherSpec",
                    "body is not the single byte 0x01",
                    "RFC 8446 §5",
                );
            } else {
                rules.ccs(s, dir);
            }
        }
        ContentType::Alert => match Alert::decode(&plain) {
            Ok(alert) => {
                let half = s.half(dir);
                if alert.description == AlertDescription::CloseNotify {
                    half.closed = Some("close_notify");
                } else if alert.level == AlertLevel::Fatal
                    || tls13 && alert.description != AlertDescription::UserCanceled
                {
                    half.closed = Some("a fatal alert");
                }
            }
            Err(_) => s.flag(
                dir,
                "Alert",
                format!("{} bytes, not 2", plain.len()),
                "RFC 8446 §6",
            ),
        },
        ContentType::ApplicationData => {
            if !s.half(dir).finished {
                s.flag(
                    dir,
                    "application data",
                    "sent before the sender's Finished",
                    "RFC 8446 §2",
                );
            }
            if !plain.is_empty() && s.half(dir).update_owed {
                // Data may cross the request in flight: judged at the end.
                s.half(dir).data_while_owed = true;
            }
            rules.app_data(s, dir, plain.len());
        }
        other => s.flag(
            dir,
            "record",
            format!("unknown content type {other:?}"),
            "RFC 8446 §5",
        ),
    }
}
