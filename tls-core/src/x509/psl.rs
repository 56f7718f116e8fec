//! The public suffix list (publicsuffix.org), used to refuse wildcard
//! names that span a public suffix (`*.co.uk`, `*.s3.amazonaws.com`).

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
#[cfg(feature = "std")]
use std::path::Path;

#[cfg(feature = "std")]
use super::error::CertError;

/// Where Debian and its derivatives install the list (package `publicsuffix`).
pub const SYSTEM_PUBLIC_SUFFIX_LIST: &str = "/usr/share/publicsuffix/public_suffix_list.dat";

/// A parsed public suffix list: plain rules, wildcard rules (`*.ck`) and
/// exception rules (`!www.ck`), ICANN and private sections alike. Rules
/// are compared in lower case; rules not in ASCII (U-labels) never match
/// the ASCII names certificates carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublicSuffixList {
    rules: BTreeSet<String>,
    wildcards: BTreeSet<String>,
    exceptions: BTreeSet<String>,
}

impl PublicSuffixList {
    /// Parses the list's text format: one rule per line, `//` comments and
    /// blank lines ignored, only the first whitespace-separated word counts.
    pub fn parse(text: &str) -> PublicSuffixList {
        let mut list = PublicSuffixList::default();
        for line in text.lines() {
            let Some(rule) = line.split_whitespace().next() else {
                continue;
            };
            if rule.starts_with("//") {
                continue;
            }
            let rule = rule.to_ascii_lowercase();
            if let Some(exception) = rule.strip_prefix('!') {
                list.exceptions.insert(exception.to_string());
            } else if let Some(parent) = rule.strip_prefix("*.") {
                list.wildcards.insert(parent.to_string());
            } else {
                list.rules.insert(rule);
            }
        }
        list
    }

    /// Reads and parses a list file.
    #[cfg(feature = "std")]
    pub fn from_file(path: impl AsRef<Path>) -> Result<PublicSuffixList, CertError> {
        let text = std::fs::read_to_string(path)
            .map_err(|_| CertError::Io("cannot read public suffix list"))?;
        Ok(PublicSuffixList::parse(&text))
    }

    /// Number of rules of all kinds.
    pub fn len(&self) -> usize {
        self.rules.len() + self.wildcards.len() + self.exceptions.len()
    }

    /// True if the list has no rule.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True if `name` (a DNS name) is itself a public suffix: listed, or
    /// matched by a wildcard rule and not excepted, or a single label (the
    /// list's implicit `*` rule).
    pub fn is_public_suffix(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if self.exceptions.contains(&name) {
            return false;
        }
        if self.rules.contains(&name) {
            return true;
        }
        match name.split_once('.') {
            Some((_, parent)) => self.wildcards.contains(parent),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x509_psl_rules() {
        let psl = PublicSuffixList::parse(
            "// comment\ncom\nco.uk\n*.ck\n!www.ck\ns3.amazonaws.com extra words\n\n",
        );
        assert_eq!(psl.len(), 5);
        for yes in [
            "com",
            "co.uk",
            "CO.UK",
            "foo.ck",
            "s3.amazonaws.com",
            "unlisted",
        ] {
            assert!(psl.is_public_suffix(yes), "{yes}");
        }
        for no in [
            "example.com",
            "example.co.uk",
            "www.ck",
            "a.b.ck",
            "amazonaws.com",
        ] {
            assert!(!psl.is_public_suffix(no), "{no}");
        }
    }
}
