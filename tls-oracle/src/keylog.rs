//! NSS key log files: each line `LABEL <client random hex> <secret hex>`;
//! comments (`#`) and blank lines are skipped.

use std::collections::HashMap;

/// The secrets of each session, by the ClientHello's random.
#[derive(Debug, Default)]
pub struct KeyLog {
    sessions: HashMap<[u8; 32], HashMap<String, Vec<u8>>>,
}

impl KeyLog {
    /// Parses a key log.
    ///
    /// # Errors
    ///
    /// Every malformed line, as `line N: why`, all at once.
    pub fn parse(text: &str) -> Result<KeyLog, Vec<String>> {
        let mut log = KeyLog::default();
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_ascii_whitespace();
            let (Some(label), Some(random), Some(secret), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                errors.push(format!("line {}: expected LABEL RANDOM SECRET", n + 1));
                continue;
            };
            let random = unhex(random).and_then(|r| <[u8; 32]>::try_from(r).ok());
            match (random, unhex(secret)) {
                (Some(random), Some(secret)) if !secret.is_empty() => {
                    log.sessions
                        .entry(random)
                        .or_default()
                        .insert(label.to_string(), secret);
                }
                _ => errors.push(format!(
                    "line {}: the client random must be 32 bytes and the secret non-empty, in hex",
                    n + 1
                )),
            }
        }
        if errors.is_empty() {
            Ok(log)
        } else {
            Err(errors)
        }
    }

    /// The secret logged under `label` for the session whose ClientHello
    /// carried `client_random`.
    pub fn secret(&self, client_random: &[u8; 32], label: &str) -> Option<&[u8]> {
        self.sessions
            .get(client_random)?
            .get(label)
            .map(Vec::as_slice)
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_reports_every_bad_one() {
        let random = "ab".repeat(32);
        let good = format!("# comment\n\nCLIENT_RANDOM {random} {}\n", "cd".repeat(48));
        let log = KeyLog::parse(&good).unwrap();
        assert_eq!(
            log.secret(&[0xab; 32], "CLIENT_RANDOM"),
            Some(&[0xcd; 48][..])
        );
        assert_eq!(log.secret(&[0xab; 32], "EXPORTER_SECRET"), None);
        let bad = format!("X {random}\nY abc {}\nZ {random} zz\n", "00");
        let errors = KeyLog::parse(&bad).unwrap_err();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(errors[0].starts_with("line 1:"));
    }
}
