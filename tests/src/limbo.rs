//! The x509-limbo harness: reads limbo's testcase JSON, runs each case
//! through `tls_core::x509`, and produces limbo's result JSON, a summary,
//! and the list of cases we skip or disagree with (checked against the
//! exceptions file by `tests/limbo.rs`).
//!
//! How a testcase maps onto our verifier:
//! - `validation_kind` SERVER / CLIENT → `KeyUsage::ServerAuth` / `ClientAuth`;
//! - a non-empty `extended_key_usage` (the caller demands that EKU) → the
//!   Web PKI profile; an empty one → the RFC 5280 profile;
//! - `expected_peer_name` of kind DNS or IP → the name to check; RFC822
//!   names are not checked (we do not match e-mail identities);
//! - `max_chain_depth` → `Policy::max_chain_depth`; `crls` → `Policy::crls`;
//! - `validation_time` (RFC 3339, fractions floored) → the clock, or the
//!   system time when null.
//!
//! - wildcard names over a public suffix are refused with the public suffix
//!   list given in [`Options`] (the tests use the copy in `tests/data/limbo/`).
//!
//! Cases are skipped only for the fixed, per-id reasons in [`SKIPS`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tls_core::x509::{
    pem_blocks, pem_certificates, verify_chain_with_policy, KeyUsage, Policy, Profile,
    PublicSuffixList, ServerName, TrustAnchors,
};
use tls_core::UnixTime;

/// A limbo testcase file.
#[derive(Debug, Clone, Deserialize)]
pub struct Suite {
    /// The schema version.
    pub version: u32,
    /// The testcases.
    pub testcases: Vec<Testcase>,
}

/// A peer name in a testcase.
#[derive(Debug, Clone, Deserialize)]
pub struct PeerName {
    /// DNS, IP or RFC822.
    pub kind: String,
    /// The name.
    pub value: String,
}

/// One limbo testcase (the fields the harness uses).
#[derive(Debug, Clone, Deserialize)]
pub struct Testcase {
    /// Unique id, e.g. `rfc5280::nc::permitted-dns-match`.
    pub id: String,
    /// Ids of testcases that expect the opposite for the same input.
    #[serde(default)]
    pub conflicts_with: Vec<String>,
    /// Feature tags (`has-crl`, `pedantic-…`, …).
    #[serde(default)]
    pub features: Vec<String>,
    /// SERVER or CLIENT.
    pub validation_kind: String,
    /// Trusted certificates (PEM each).
    pub trusted_certs: Vec<String>,
    /// Intermediates the peer supplies (PEM each).
    pub untrusted_intermediates: Vec<String>,
    /// The peer's certificate (PEM).
    pub peer_certificate: String,
    /// RFC 3339 validation time, or null for "now".
    pub validation_time: Option<String>,
    /// Extended key usages the validator must demand.
    #[serde(default)]
    pub extended_key_usage: Vec<String>,
    /// SUCCESS or FAILURE.
    pub expected_result: String,
    /// The name to validate against.
    pub expected_peer_name: Option<PeerName>,
    /// Maximum number of intermediates.
    pub max_chain_depth: Option<usize>,
    /// CRLs (PEM each).
    #[serde(default)]
    pub crls: Vec<String>,
}

/// What the harness says about a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// The chain verified.
    #[serde(rename = "SUCCESS")]
    Success,
    /// The chain was refused.
    #[serde(rename = "FAILURE")]
    Failure,
    /// The harness did not run the case.
    #[serde(rename = "SKIPPED")]
    Skipped,
}

/// One result in limbo's result schema.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The testcase id.
    pub id: String,
    /// Our verdict.
    pub actual_result: Verdict,
    /// Why (the error, the path, or the skip reason).
    pub context: String,
}

/// Limbo's result file.
#[derive(Debug, Clone, Serialize)]
pub struct Results {
    /// Schema version (1).
    pub version: u32,
    /// The harness name.
    pub harness: String,
    /// One result per testcase.
    pub results: Vec<CaseResult>,
}

/// Parses a limbo testcase file.
pub fn parse_suite(json: &str) -> Result<Suite, String> {
    serde_json::from_str(json).map_err(|e| format!("limbo JSON: {e}"))
}

/// Cases we do not run, each with a one-line reason. Each is either a case
/// where limbo contradicts itself (a declared `conflicts_with` pair, or two
/// cases with the same shape and opposite expectations), so that running it
/// would mean a wrong accept or giving up the case it contradicts; or a
/// pedantic rule we deliberately do not enforce because OpenSSL, Go and
/// webpki accept what it refuses (issue 13: such certificates are common in
/// private PKIs).
pub const SKIPS: &[(&str, &str)] = &[
    (
        "rfc5280::nc::permitted-dns-match-noncritical",
        "conflicts with webpki::nc::permitted-dns-match-noncritical: we follow the CA/B Forum, which allows non-critical nameConstraints",
    ),
    (
        "rfc5280::ca-as-leaf",
        "conflicts with webpki::ca-as-leaf: a CA certificate is never a TLS end-entity here, server or client (as webpki's CaUsedAsEndEntity)",
    ),
    (
        "pathlen::validation-ignores-pathlen-in-leaf",
        "CA certificate as leaf, as in rfc5280::ca-as-leaf: never a TLS end-entity here, server or client (as webpki's CaUsedAsEndEntity)",
    ),
    (
        "webpki::eku::ee-without-eku",
        "conflicts with rfc5280::eku::ee-without-eku: with no EKU demanded an absent extendedKeyUsage allows any usage (RFC 5280)",
    ),
    (
        "rfc5280::aki::cross-signed-root-missing-aki",
        "pedantic-rfc5280: wants an authorityKeyIdentifier on a trust anchor, but cve::cve-2024-0567 trusts the same shape of root and must verify",
    ),
    (
        "rfc5280::aki::leaf-missing-aki",
        "deliberate: a certificate without authorityKeyIdentifier is accepted (issuer found by name and signature), as OpenSSL, Go and webpki do",
    ),
    (
        "rfc5280::aki::intermediate-missing-aki",
        "deliberate: a certificate without authorityKeyIdentifier is accepted (issuer found by name and signature), as OpenSSL, Go and webpki do",
    ),
    (
        "rfc5280::serial::zero",
        "pedantic-serial-number: RFC 5280 4.1.2.2 asks certificate users to handle a zero serial gracefully; OpenSSL, Go and webpki accept it",
    ),
    (
        "webpki::cn::not-in-san",
        "CN outside the SAN: limbo's valid cases (e.g. rfc5280::nc::permitted-dns-match-more) have the same shape; we refuse only a CN that respells a SAN",
    ),
    (
        "webpki::cn::utf8-vs-punycode-mismatch",
        "CN outside the SAN: the SAN xn--test--wg5h0h.com is not the A-label of the CN test-測試.com (that is xn--test--gs1lv54n.com), so the CN names another host, the shape of webpki::cn::not-in-san",
    ),
    (
        "webpki::cn::punycode-not-in-san",
        "CN outside the SAN: limbo's valid cases (e.g. webpki::san::leftmost-wildcard-san) have the same shape; we refuse only a CN that respells a SAN",
    ),
];

/// Why we do not run a case, if we do not (see [`SKIPS`]).
pub fn skip_reason(case: &Testcase) -> Option<&'static str> {
    SKIPS
        .iter()
        .find(|(id, _)| *id == case.id)
        .map(|(_, why)| *why)
}

/// Options for a run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The public suffix list for wildcard checks, if any.
    pub public_suffixes: Option<Arc<PublicSuffixList>>,
}

impl Options {
    /// The options the checked-in exceptions file is for: the public suffix
    /// list shipped in `tests/data/limbo/`.
    pub fn bundled() -> Result<Options, String> {
        let psl = PublicSuffixList::from_file(BUNDLED_PUBLIC_SUFFIX_LIST)
            .map_err(|e| format!("{BUNDLED_PUBLIC_SUFFIX_LIST}: {e}"))?;
        Ok(Options {
            public_suffixes: Some(Arc::new(psl)),
        })
    }
}

/// The public suffix list copy shipped with the tests (MPL-2.0, from
/// publicsuffix.org via Debian's `publicsuffix` package).
pub const BUNDLED_PUBLIC_SUFFIX_LIST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/limbo/public_suffix_list.dat"
);

/// The limbo-core testcases shipped with the tests.
pub const BUNDLED_LIMBO_CORE: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/limbo/limbo-core.json");

/// The exceptions file: every case of limbo-core we skip or disagree with.
pub const BUNDLED_EXCEPTIONS: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/data/limbo/exceptions.txt");

/// Parses an RFC 3339 timestamp (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`)
/// into Unix seconds, flooring any fraction.
pub fn parse_rfc3339(s: &str) -> Result<u64, String> {
    let bad = || format!("bad RFC 3339 time {s:?}");
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return Err(bad());
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, String> {
        let text = s.get(range).ok_or_else(bad)?;
        if !text.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        text.parse::<i64>().map_err(|_| bad())
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.get(3..4) == Some(":") =>
        {
            let hours: i64 = rest.get(1..3).ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let minutes: i64 = rest.get(4..6).ok_or_else(bad)?.parse().map_err(|_| bad())?;
            let total = hours * 3600 + minutes * 60;
            if rest.starts_with('-') {
                -total
            } else {
                total
            }
        }
        _ => return Err(bad()),
    };
    let secs =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    u64::try_from(secs).map_err(|_| bad())
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn pem_one(pem: &str) -> Result<Vec<u8>, String> {
    let mut ders = pem_certificates(pem.as_bytes()).map_err(|e| format!("PEM: {e}"))?;
    if ders.len() != 1 {
        return Err("PEM: expected exactly one certificate".into());
    }
    Ok(ders.remove(0))
}

/// Runs one testcase.
pub fn run_case(case: &Testcase, options: &Options) -> CaseResult {
    let result = |actual, context: String| CaseResult {
        id: case.id.clone(),
        actual_result: actual,
        context,
    };
    if let Some(why) = skip_reason(case) {
        return result(Verdict::Skipped, why.into());
    }
    match evaluate(case, options) {
        Ok(Ok(context)) => result(Verdict::Success, context),
        Ok(Err(context)) => result(Verdict::Failure, context),
        Err(why) => result(Verdict::Skipped, why),
    }
}

/// `Err` means the case cannot be run (skipped); `Ok(Err)` is a refusal.
fn evaluate(case: &Testcase, options: &Options) -> Result<Result<String, String>, String> {
    let (usage, wanted) = match case.validation_kind.as_str() {
        "SERVER" => (KeyUsage::ServerAuth, "serverAuth"),
        "CLIENT" => (KeyUsage::ClientAuth, "clientAuth"),
        other => return Err(format!("unknown validation kind {other}")),
    };
    if case.extended_key_usage.iter().any(|e| e != wanted) {
        return Err(format!(
            "extended_key_usage {:?} beyond the one for the validation kind",
            case.extended_key_usage
        ));
    }
    let mut policy = Policy::new(usage);
    policy.profile = if case.extended_key_usage.is_empty() {
        Profile::Rfc5280
    } else {
        Profile::WebPki
    };
    policy.max_chain_depth = case.max_chain_depth;
    policy.public_suffixes = options.public_suffixes.clone();
    for crl in &case.crls {
        match pem_blocks(crl.as_bytes(), "X509 CRL") {
            Ok(ders) => policy.crls.extend(ders),
            Err(e) => return Ok(Err(format!("CRL PEM: {e}"))),
        }
    }
    let now = match &case.validation_time {
        Some(t) => parse_rfc3339(t)?,
        None => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    };
    let name = match &case.expected_peer_name {
        Some(PeerName { kind, value }) if kind == "DNS" || kind == "IP" => {
            match ServerName::parse(value) {
                Ok(name) => Some(name),
                Err(e) => return Ok(Err(format!("peer name {value:?}: {e}"))),
            }
        }
        _ => None,
    };

    let mut anchors = TrustAnchors::new();
    let mut refused = Vec::new();
    for (i, pem) in case.trusted_certs.iter().enumerate() {
        let added = pem_one(pem).and_then(|der| anchors.add_der(&der).map_err(|e| e.to_string()));
        if let Err(e) = added {
            refused.push(format!("trusted cert {i} refused ({e})"));
        }
    }
    let intermediates = match case
        .untrusted_intermediates
        .iter()
        .map(|p| pem_one(p))
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(v) => v,
        Err(e) => return Ok(Err(format!("intermediate {e}"))),
    };
    let peer = match pem_one(&case.peer_certificate) {
        Ok(der) => der,
        Err(e) => return Ok(Err(format!("peer {e}"))),
    };
    let outcome = verify_chain_with_policy(
        &anchors,
        &peer,
        &intermediates,
        name.as_ref(),
        UnixTime(now),
        &policy,
    );
    let mut context = match &outcome {
        Ok(path) => format!(
            "verified through {} intermediate(s) to trust anchor {}",
            path.intermediates().len(),
            path.anchor()
        ),
        Err(e) => e.to_string(),
    };
    if !refused.is_empty() {
        let _ = write!(context, "; {}", refused.join("; "));
    }
    Ok(if outcome.is_ok() {
        Ok(context)
    } else {
        Err(context)
    })
}

/// A case with its result, for summaries.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The testcase id.
    pub id: String,
    /// SERVER or CLIENT.
    pub validation_kind: String,
    /// What limbo expects.
    pub expected: Verdict,
    /// What we said.
    pub result: CaseResult,
}

impl Scored {
    /// We ran the case and agree with limbo.
    pub fn agrees(&self) -> bool {
        self.result.actual_result == self.expected
    }

    /// We accepted a chain limbo expects refused.
    pub fn wrong_accept(&self) -> bool {
        self.result.actual_result == Verdict::Success && self.expected == Verdict::Failure
    }

    /// We skipped the case or disagree with limbo.
    pub fn is_exception(&self) -> bool {
        !self.agrees()
    }
}

/// Runs every case of a suite.
pub fn run_suite(suite: &Suite, options: &Options) -> Vec<Scored> {
    suite
        .testcases
        .iter()
        .map(|case| Scored {
            id: case.id.clone(),
            validation_kind: case.validation_kind.clone(),
            expected: if case.expected_result == "SUCCESS" {
                Verdict::Success
            } else {
                Verdict::Failure
            },
            result: run_case(case, options),
        })
        .collect()
}

/// Counts over a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Cases where we agree with limbo.
    pub agree: usize,
    /// Cases we ran and disagree on.
    pub disagree: usize,
    /// Of those, cases we accepted and limbo expects refused.
    pub wrong_accepts: usize,
    /// Cases we skipped.
    pub skipped: usize,
    /// SERVER cases in all.
    pub server_total: usize,
    /// SERVER cases where we agree.
    pub server_agree: usize,
}

impl Summary {
    /// Counts `scored`.
    pub fn of(scored: &[Scored]) -> Summary {
        let mut s = Summary::default();
        for c in scored {
            let server = c.validation_kind == "SERVER";
            s.server_total += usize::from(server);
            if c.result.actual_result == Verdict::Skipped {
                s.skipped += 1;
            } else if c.agrees() {
                s.agree += 1;
                s.server_agree += usize::from(server);
            } else {
                s.disagree += 1;
                s.wrong_accepts += usize::from(c.wrong_accept());
            }
        }
        s
    }

    /// Agreement on SERVER cases, in percent (skips count as not agreeing).
    pub fn server_agreement_percent(&self) -> f64 {
        if self.server_total == 0 {
            return 0.0;
        }
        100.0 * self.server_agree as f64 / self.server_total as f64
    }

    /// `limbo: N agree, M disagree (W wrong accepts), K skipped`.
    pub fn line(&self) -> String {
        format!(
            "limbo: {} agree, {} disagree ({} wrong accepts), {} skipped",
            self.agree, self.disagree, self.wrong_accepts, self.skipped
        )
    }
}

/// Limbo's result JSON for a run.
pub fn results_json(scored: &[Scored]) -> String {
    let results = Results {
        version: 1,
        harness: "tls-core".into(),
        results: scored.iter().map(|s| s.result.clone()).collect(),
    };
    serde_json::to_string(&results).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// Parses an exceptions file: `id<TAB>reason` per line; blank lines and
/// lines starting with `#` are ignored. Every id needs a reason.
pub fn parse_exceptions(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (id, reason) = line
            .split_once('\t')
            .ok_or_else(|| format!("exceptions line {}: expected id<TAB>reason", n + 1))?;
        if reason.trim().is_empty() {
            return Err(format!("exceptions line {}: empty reason for {id}", n + 1));
        }
        if out
            .insert(id.to_string(), reason.trim().to_string())
            .is_some()
        {
            return Err(format!("exceptions line {}: {id} listed twice", n + 1));
        }
    }
    Ok(out)
}

/// Differences between the run's exceptions (skipped or disagreeing cases)
/// and the exceptions file: empty when the file is up to date.
pub fn stale_exceptions(scored: &[Scored], listed: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for c in scored.iter().filter(|c| c.is_exception()) {
        if !listed.contains_key(&c.id) {
            problems.push(format!(
                "missing: {}\t(we say {:?}, limbo expects {:?}: {})",
                c.id, c.result.actual_result, c.expected, c.result.context
            ));
        }
    }
    for id in listed.keys() {
        match scored.iter().find(|c| &c.id == id) {
            None => problems.push(format!("stale: {id}\t(no such testcase)")),
            Some(c) if !c.is_exception() => {
                problems.push(format!("stale: {id}\t(we now agree with limbo)"))
            }
            Some(_) => {}
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:03+00:00"), Ok(3));
        assert_eq!(parse_rfc3339("2024-03-01T00:00:00Z"), Ok(1_709_251_200));
        assert_eq!(
            parse_rfc3339("2024-03-01T00:00:00.999+00:00"),
            Ok(1_709_251_200)
        );
        assert_eq!(
            parse_rfc3339("2024-03-01T01:00:00+01:00"),
            Ok(1_709_251_200)
        );
        assert!(parse_rfc3339("2024-03-01").is_err());
        assert!(parse_rfc3339("2024-13-01T00:00:00Z").is_err());
    }

    #[test]
    fn exceptions_format() {
        let parsed = parse_exceptions("# c\n\na::b\twhy\n").unwrap();
        assert_eq!(parsed.get("a::b").map(String::as_str), Some("why"));
        assert!(parse_exceptions("a::b\n").is_err());
        assert!(parse_exceptions("a\tx\na\ty\n").is_err());
    }
}
