//! Reading the logs OpenSSL's peers write with `-msgfile`.
//!
//! A `-trace` file is a run of blocks, each opened by a line `Sent Record`
//! or `Received Record`; inside, a handshake message is a line such as
//! `    ServerHello, Length=118` followed by its details (extensions as
//! `extension_type=psk(41), length=2`), and an alert is a line such as
//! `    Level=fatal(2), description=certificate required(116)`.
//!
//! A `-msg` file has a header line per message: `>>>` sent, `<<<` received.

use std::path::Path;

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
    pub(crate) fn read(path: &Path) -> Trace {
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

/// The lines of a `-msg` file: one header line per record or message, `>>>`
/// for what the peer sent and `<<<` for what it received, such as
/// `<<< TLS 1.3, Alert [length 0002], warning close_notify`.
#[derive(Debug, Clone)]
pub struct MsgLog {
    /// The raw text, for failure messages.
    pub text: String,
}

impl MsgLog {
    /// Reads `path` (empty if it does not exist).
    pub(crate) fn read(path: &Path) -> MsgLog {
        MsgLog {
            text: std::fs::read_to_string(path).unwrap_or_default(),
        }
    }

    /// True if an alert named `name` (`close_notify`, `bad_certificate`, ...)
    /// went in that direction: sent by the logged peer, or received by it.
    pub fn has_alert(&self, sent: bool, name: &str) -> bool {
        let dir = if sent { ">>>" } else { "<<<" };
        self.text
            .lines()
            .any(|l| l.starts_with(dir) && l.contains("Alert") && l.contains(name))
    }
}

impl std::fmt::Display for MsgLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
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
}
