//! OpenSSL's command-line peers for the TLS 1.3 feature tests (resumption,
//! mutual TLS, KeyUpdate, 0-RTT): starting `s_server`/`s_client` with a
//! `-trace` file, reading those traces, and editing the sessions `s_client`
//! saves with `-sess_out` (through `openssl sess_id`, DER in and out).
//!
//! A `-trace` file is a run of blocks, each opened by a line `Sent Record`
//! or `Received Record`; inside, a handshake message is a line such as
//! `    ServerHello, Length=118` followed by its details (extensions as
//! `extension_type=psk(41), length=2`), and an alert is a line such as
//! `    Level=fatal(2), description=certificate required(116)`.

use std::path::{Path, PathBuf};

use crate::peer::{require, run_tool, Peer};
use crate::pki::{pki, KeyType};

/// The `openssl` tool (Debian package `openssl`).
pub fn openssl() -> PathBuf {
    require("openssl", "openssl")
}

/// A file in the PKI directory for a peer's `-msgfile` trace.
pub fn trace_file(tag: &str, port: u16) -> PathBuf {
    pki().dir.join(format!("{tag}-{port}.trace"))
}

/// One message or alert from a `-trace` file.
#[derive(Debug, Clone)]
pub struct TraceItem {
    /// True if the traced peer sent it, false if it received it.
    pub sent: bool,
    /// The handshake message name (`ClientHello`, `KeyUpdate`, ...) or `Alert`.
    pub name: String,
    /// The lines that describe it (extensions, alert level and description).
    pub detail: String,
}

impl TraceItem {
    /// True if the message carries the extension `name` (e.g. `psk`, `early_data`).
    pub fn has_extension(&self, name: &str) -> bool {
        self.detail.contains(&format!("extension_type={name}("))
    }
}

/// A parsed `-trace` file.
#[derive(Debug, Clone)]
pub struct Trace {
    /// The raw text, for failure messages.
    pub text: String,
    /// Messages and alerts in order.
    pub items: Vec<TraceItem>,
}

impl Trace {
    /// Reads and parses `path` (empty if it does not exist).
    pub fn read(path: &Path) -> Trace {
        Trace::parse(&std::fs::read_to_string(path).unwrap_or_default())
    }

    /// Parses the text of a `-trace` file.
    pub fn parse(text: &str) -> Trace {
        let mut items: Vec<TraceItem> = Vec::new();
        let mut sent = None;
        for line in text.lines() {
            match line {
                "Sent Record" => {
                    sent = Some(true);
                    continue;
                }
                "Received Record" => {
                    sent = Some(false);
                    continue;
                }
                _ => {}
            }
            let Some(sent) = sent else { continue };
            let body = line.trim_start();
            let indent = line.len() - body.len();
            if indent == 4 && body.starts_with("Level=") {
                items.push(TraceItem {
                    sent,
                    name: "Alert".into(),
                    detail: body.to_string(),
                });
            } else if let (4, Some((name, _))) = (indent, body.split_once(", Length=")) {
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()) {
                    items.push(TraceItem {
                        sent,
                        name: name.to_string(),
                        detail: String::new(),
                    });
                }
            } else if indent > 4 {
                if let Some(item) = items.last_mut() {
                    item.detail.push_str(body);
                    item.detail.push('\n');
                }
            }
        }
        Trace {
            text: text.to_string(),
            items,
        }
    }

    /// The messages named `name` that the traced peer sent (`sent`) or received.
    pub fn messages(&self, sent: bool, name: &str) -> Vec<&TraceItem> {
        self.items
            .iter()
            .filter(|i| i.sent == sent && i.name == name)
            .collect()
    }

    /// True if an alert with this description code went in that direction
    /// (matched by number: OpenSSL 3.0 names 116, certificate_required,
    /// `unknown(116)`).
    pub fn has_alert(&self, sent: bool, code: u8) -> bool {
        self.messages(sent, "Alert").iter().any(|a| {
            a.detail
                .split_once("description=")
                .is_some_and(|(_, d)| d.trim_end().ends_with(&format!("({code})")))
        })
    }
}

/// An `openssl s_server` child and what a test needs to look at it.
pub struct SServer {
    /// The process.
    pub peer: Peer,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// Its `-trace` file.
    pub trace: PathBuf,
}

impl SServer {
    /// Its trace so far.
    pub fn trace(&self) -> Trace {
        Trace::read(&self.trace)
    }
}

/// Starts `openssl s_server -tls1_3` with the `key_type` leaf (and the CA as
/// its chain) for `naccept` connections, tracing into a file. With `quiet`,
/// stdin and stdout carry exactly the application data; without it,
/// s_server prints connection details (and reads command letters).
pub fn s_server(key_type: KeyType, naccept: u32, quiet: bool, extra: &[&str]) -> SServer {
    let p = pki();
    let leaf = p.leaf(key_type);
    let args = |port: u16| {
        let mut args: Vec<String> = vec!["s_server".into(), "-tls1_3".into()];
        if quiet {
            args.push("-quiet".into());
        }
        args.extend([
            "-naccept".into(),
            naccept.to_string(),
            "-accept".into(),
            format!("127.0.0.1:{port}"),
        ]);
        for (flag, path) in [
            ("-cert", &leaf.cert_pem),
            ("-key", &leaf.key_pem),
            ("-cert_chain", &p.ca_pem),
        ] {
            args.extend([flag.to_string(), path.display().to_string()]);
        }
        args.extend([
            "-trace".into(),
            "-msgfile".into(),
            trace_file("s_server", port).display().to_string(),
        ]);
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let (peer, port) = Peer::spawn_listening(&openssl(), args);
    SServer {
        peer,
        port,
        trace: trace_file("s_server", port),
    }
}

/// An `openssl s_client` child.
pub struct SClient {
    /// The process.
    pub peer: Peer,
    /// Its `-trace` file.
    pub trace: PathBuf,
}

impl SClient {
    /// Its trace so far.
    pub fn trace(&self) -> Trace {
        Trace::read(&self.trace)
    }
}

/// Starts `openssl s_client -tls1_3` against 127.0.0.1:`port`, verifying the
/// server against the test CA for `localhost`, tracing into a file named
/// after `tag`. With `quiet`, stdin and stdout carry exactly the application
/// data; without it, s_client prints the session (`New`/`Reused`) and takes
/// command letters (`k`, `K`) at the start of a read from stdin.
pub fn s_client(port: u16, tag: &str, quiet: bool, extra: &[&str]) -> SClient {
    let p = pki();
    let trace = pki().dir.join(format!("s_client-{tag}-{port}.trace"));
    let mut args: Vec<String> = vec!["s_client".into(), "-tls1_3".into()];
    if quiet {
        args.push("-quiet".into());
    }
    args.extend(["-connect".into(), format!("127.0.0.1:{port}")]);
    args.extend(["-CAfile".into(), p.ca_pem.display().to_string()]);
    for a in [
        "-verify_return_error",
        "-verify_hostname",
        "localhost",
        "-servername",
        "localhost",
        "-trace",
    ] {
        args.push(a.into());
    }
    args.extend(["-msgfile".into(), trace.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    SClient {
        peer: Peer::spawn(&openssl(), &args),
        trace,
    }
}

// ---- saved sessions (`s_client -sess_out`) ----

/// The DER form of a session file written by `s_client -sess_out`.
pub fn session_der(pem: &Path) -> Vec<u8> {
    let der = run_tool(
        &openssl(),
        [
            "sess_id".as_ref(),
            "-in".as_ref(),
            pem.as_os_str(),
            "-outform".as_ref(),
            "DER".as_ref(),
        ],
    );
    assert!(
        !der.is_empty(),
        "openssl sess_id gave no DER for {}",
        pem.display()
    );
    der
}

/// Writes the session `der` as a PEM session file at `pem` (for `-sess_in`).
pub fn write_session(der: &[u8], pem: &Path) {
    let mut der_path = pem.as_os_str().to_owned();
    der_path.push(".der");
    let der_path = PathBuf::from(der_path);
    std::fs::write(&der_path, der).unwrap_or_else(|e| panic!("write {}: {e}", der_path.display()));
    run_tool(
        &openssl(),
        [
            "sess_id".as_ref(),
            "-inform".as_ref(),
            "DER".as_ref(),
            "-in".as_ref(),
            der_path.as_os_str(),
            "-out".as_ref(),
            pem.as_os_str(),
        ],
    );
}

/// One DER element: its (one-byte) tag and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tlv {
    tag: u8,
    contents: Vec<u8>,
}

/// Splits DER bytes into elements (one-byte tags, lengths up to 4 bytes).
fn der_elements(mut der: &[u8]) -> Vec<Tlv> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let tag = der[0];
        assert!(tag & 0x1f != 0x1f, "multi-byte DER tag");
        let first = *der.get(1).expect("DER length");
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            assert!((1..=4).contains(&n), "DER length of {n} bytes");
            let len = der[2..2 + n]
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            (len, 2 + n)
        };
        out.push(Tlv {
            tag,
            contents: der[header..header + len].to_vec(),
        });
        der = &der[header + len..];
    }
    out
}

fn der_encode(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(contents);
    out
}

/// The fields of an SSL_SESSION (the outer SEQUENCE's elements).
fn session_fields(der: &[u8]) -> Vec<Tlv> {
    let outer = der_elements(der);
    assert_eq!(outer.len(), 1, "one SSL_SESSION SEQUENCE");
    assert_eq!(outer[0].tag, 0x30, "SSL_SESSION is a SEQUENCE");
    der_elements(&outer[0].contents)
}

fn session_from_fields(fields: &[Tlv]) -> Vec<u8> {
    let body: Vec<u8> = fields
        .iter()
        .flat_map(|f| der_encode(f.tag, &f.contents))
        .collect();
    der_encode(0x30, &body)
}

/// Context-specific constructed tag `[n]`.
const fn context_tag(n: u8) -> u8 {
    0xa0 | n
}

/// The session's opaque ticket (field `[10]`, an OCTET STRING).
pub fn session_ticket(der: &[u8]) -> Vec<u8> {
    let fields = session_fields(der);
    let ticket = fields
        .iter()
        .find(|f| f.tag == context_tag(10))
        .expect("the session holds a ticket");
    let inner = der_elements(&ticket.contents);
    assert_eq!(inner[0].tag, 0x04, "the ticket is an OCTET STRING");
    inner[0].contents.clone()
}

/// The session with its ticket's last byte flipped: the server cannot open it.
pub fn session_with_tampered_ticket(der: &[u8]) -> Vec<u8> {
    let mut fields = session_fields(der);
    let ticket = fields
        .iter_mut()
        .find(|f| f.tag == context_tag(10))
        .expect("the session holds a ticket");
    let mut inner = der_elements(&ticket.contents);
    *inner[0].contents.last_mut().expect("non-empty ticket") ^= 1;
    ticket.contents = der_encode(inner[0].tag, &inner[0].contents);
    session_from_fields(&fields)
}

/// The session with a byte of its master key (in TLS 1.3, the ticket's
/// PSK) flipped: the ticket still opens, but the client's binder is wrong.
pub fn session_with_wrong_psk(der: &[u8]) -> Vec<u8> {
    let mut fields = session_fields(der);
    // version, ssl_version, cipher, session_id, master_key.
    let master_key = &mut fields[4];
    assert_eq!(master_key.tag, 0x04, "master_key is an OCTET STRING");
    master_key.contents[0] ^= 1;
    session_from_fields(&fields)
}

/// The session with its max_early_data (field `[15]`) set to `n`, as if the
/// ticket had carried an early_data extension allowing `n` bytes.
pub fn session_with_max_early_data(der: &[u8], n: u32) -> Vec<u8> {
    let tag = context_tag(15);
    let mut fields: Vec<Tlv> = session_fields(der)
        .into_iter()
        .filter(|f| f.tag != tag)
        .collect();
    let mut int: Vec<u8> = n
        .to_be_bytes()
        .into_iter()
        .skip_while(|&b| b == 0)
        .collect();
    if int.first().map_or(true, |&b| b & 0x80 != 0) {
        int.insert(0, 0);
    }
    let field = Tlv {
        tag,
        contents: der_encode(0x02, &int),
    };
    // Context-tagged fields are in tag order after the universal ones.
    let at = fields
        .iter()
        .position(|f| f.tag & 0xc0 == 0x80 && f.tag > tag)
        .unwrap_or(fields.len());
    fields.insert(at, field);
    session_from_fields(&fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_items_are_parsed() {
        let text = "Sent Record\nHeader:\n  Version = TLS 1.0 (0x301)\n  Content Type = Handshake (22)\n  Length = 300\n    ClientHello, Length=296\n      client_version=0x303 (TLS 1.2)\n      extensions, length = 100\n        extension_type=early_data(42), length=0\n        extension_type=psk(41), length=80\n\nReceived Record\nHeader:\n  Inner Content Type = Alert (21)\n    Level=fatal(2), description=certificate required(116)\n\n";
        let t = Trace::parse(text);
        assert_eq!(t.items.len(), 2);
        let ch = &t.messages(true, "ClientHello")[0];
        assert!(ch.has_extension("early_data") && ch.has_extension("psk"));
        assert!(!ch.has_extension("key_share"));
        assert!(t.has_alert(false, 116));
        assert!(!t.has_alert(true, 116));
        assert!(!t.has_alert(false, 16));
    }

    #[test]
    fn session_fields_round_trip_and_early_data_is_inserted_in_order() {
        let fields = vec![
            Tlv {
                tag: 0x02,
                contents: vec![1],
            },
            Tlv {
                tag: 0x04,
                contents: vec![0x13, 0x01],
            },
            Tlv {
                tag: context_tag(14),
                contents: der_encode(0x02, &[5]),
            },
            Tlv {
                tag: context_tag(16),
                contents: der_encode(0x04, b"h2"),
            },
            Tlv {
                tag: context_tag(3),
                contents: vec![0x55; 300],
            },
        ];
        let der = session_from_fields(&fields);
        assert_eq!(session_fields(&der), fields);
        let edited = session_fields(&session_with_max_early_data(&der, 0x8000));
        assert_eq!(edited.len(), fields.len() + 1);
        assert_eq!(edited[3].tag, context_tag(15));
        assert_eq!(edited[3].contents, [0x02, 0x03, 0x00, 0x80, 0x00]);
        assert_eq!(edited[4].tag, context_tag(16));
    }
}
