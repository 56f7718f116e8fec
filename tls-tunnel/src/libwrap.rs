//! stunnel's `libwrap = yes`: TCP wrappers access control, hosts_access(5)
//! read from /etc/hosts.allow and /etc/hosts.deny at each connection (as
//! libwrap does, so edits apply at once), the daemon name being the
//! service's name. A client is let in when a rule of hosts.allow matches,
//! else refused when one of hosts.deny matches, else let in.
//!
//! The subset operators use is understood: daemon lists of names and
//! `ALL`; client lists of `ALL`, IPv4 addresses, prefixes (`10.1.`),
//! networks (`10.0.0.0/255.0.0.0` or `/8`) and bracketed IPv6 addresses
//! and networks (`[fe80::]/10`); `EXCEPT` in both; `\` continuations and
//! `#` comments. A rule for the service (its daemon list matches the
//! name) that this does not evaluate (host names, LOCAL, KNOWN, PARANOID,
//! netgroups, `user@host`, option or shell command fields) is refused with
//! its file and line, at start, and a connection arriving while a file
//! holds one is refused (fail closed); rules for other daemons are left
//! alone (`daemon@host` words match no service).
//!
//! Under `chroot` the files are still the host's, as in stunnel (its
//! libwrap helper processes start before the chroot): /etc is held open
//! from before ([`hold_host_etc`]) and the files are opened through it.

use std::fs::File;
use std::io::Read;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::OnceLock;

/// The host's /etc (an `O_PATH` handle, which needs no read right),
/// held from before the chroot.
static HOST_ETC: OnceLock<File> = OnceLock::new();

/// Holds the host's /etc open, so that the rules read after chroot are the
/// host's. Call before entering the jail.
pub fn hold_host_etc() -> Result<(), String> {
    let etc = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
        .open("/etc")
        .map_err(|e| format!("libwrap: cannot hold /etc open before chroot: {e}"))?;
    let _ = HOST_ETC.set(etc);
    Ok(())
}

/// Opens `path` (one of [`ALLOW`], [`DENY`]) through the held host /etc
/// when there is one, else as it is.
fn open(path: &Path) -> std::io::Result<File> {
    let (Some(etc), Some(name)) = (HOST_ETC.get(), path.file_name()) else {
        return File::open(path);
    };
    let name = std::ffi::CString::new(name.as_encoded_bytes())
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid directory descriptor and a NUL-terminated name; the
    // descriptor returned is new and owned by the File alone.
    let fd = unsafe {
        libc::openat(
            etc.as_raw_fd(),
            name.as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    Ok(unsafe { File::from_raw_fd(fd) })
}

/// The files, in the order they are consulted.
pub const ALLOW: &str = "/etc/hosts.allow";
/// See [`ALLOW`].
pub const DENY: &str = "/etc/hosts.deny";

/// One `daemons : clients [: more]` rule.
struct Rule {
    /// `file:line`, for errors.
    at: String,
    daemons: Vec<String>,
    clients: Vec<String>,
    /// Option or shell command fields follow the clients.
    more: bool,
}

impl Rule {
    /// True when the rule is about `daemon`.
    fn concerns(&self, daemon: &str) -> bool {
        list_match(&self.daemons, &|d| {
            d == "ALL" || (!d.contains('@') && d.eq_ignore_ascii_case(daemon))
        })
    }

    /// Checks that a rule about the service can be evaluated.
    fn check(&self) -> Result<(), String> {
        let at = |why: String| format!("libwrap: {}: {why}", self.at);
        if self.more {
            return Err(at(
                "option and shell command fields are not supported (only DAEMONS : CLIENTS)".into(),
            ));
        }
        for c in self.clients.iter().filter(|c| *c != "EXCEPT") {
            client_pattern(c).map_err(at)?;
        }
        Ok(())
    }
}

/// The rules of `text` (the file `name`); an error names the line.
fn parse(name: &str, text: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    let mut joined = String::new();
    let mut first = 0;
    for (i, line) in text.lines().enumerate() {
        if joined.is_empty() {
            first = i + 1;
        }
        if let Some(head) = line.strip_suffix('\\') {
            joined.push_str(head);
            joined.push(' ');
            continue;
        }
        joined.push_str(line);
        let logical = std::mem::take(&mut joined);
        let trimmed = logical.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = format!("{name}:{first}");
        let fields = split_fields(trimmed);
        let (daemons, clients) = match fields.as_slice() {
            [d, c, ..] => (words(d), words(c)),
            _ => (Vec::new(), Vec::new()),
        };
        if daemons.is_empty() || clients.is_empty() {
            return Err(format!("libwrap: {at}: expected DAEMONS : CLIENTS"));
        }
        rules.push(Rule {
            at,
            daemons,
            clients,
            more: fields.len() > 2,
        });
    }
    Ok(rules)
}

/// Splits a rule at the colons outside `[...]` (IPv6 addresses).
fn split_fields(line: &str) -> Vec<&str> {
    let mut fields = Vec::new();
    let (mut depth, mut start) = (0u32, 0);
    for (i, c) in line.char_indices() {
        match c {
            '[' => depth = depth.saturating_add(1),
            ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => {
                fields.push(line.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
    }
    fields.push(line.get(start..).unwrap_or(""));
    fields
}

/// The words of a list: separated by blanks and/or commas.
fn words(list: &str) -> Vec<String> {
    list.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A client pattern this module evaluates.
enum Client {
    All,
    /// An address or network: the address and the prefix length.
    Net(IpAddr, u8),
    /// `10.1.`: the leading octets.
    Prefix(Vec<u8>),
}

fn client_pattern(p: &str) -> Result<Client, String> {
    let bad = |why: &str| format!("client pattern {p:?}: {why}");
    if p == "ALL" {
        return Ok(Client::All);
    }
    if let Some(v6) = p.strip_prefix('[') {
        let (addr, len) = match v6.split_once(']') {
            Some((a, "")) => (a, 128),
            Some((a, rest)) => {
                let len = rest
                    .strip_prefix('/')
                    .and_then(|l| l.parse::<u8>().ok())
                    .filter(|l| *l <= 128)
                    .ok_or_else(|| bad("expected [IPv6] or [IPv6]/LENGTH"))?;
                (a, len)
            }
            None => return Err(bad("unclosed [")),
        };
        let ip: std::net::Ipv6Addr = addr.parse().map_err(|_| bad("not an IPv6 address"))?;
        return Ok(Client::Net(IpAddr::V6(ip), len));
    }
    if let Some(prefix) = p.strip_suffix('.') {
        let octets: Option<Vec<u8>> = prefix.split('.').map(|o| o.parse().ok()).collect();
        return match octets {
            Some(o) if (1..=3).contains(&o.len()) => Ok(Client::Prefix(o)),
            _ => Err(bad("expected an address prefix such as 10.1.")),
        };
    }
    let (addr, mask) = match p.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (p, None),
    };
    let Ok(ip) = addr.parse::<std::net::Ipv4Addr>() else {
        return Err(bad(
            "host names, LOCAL, KNOWN, UNKNOWN, PARANOID, netgroups and user@host are not \
             supported: use addresses and networks",
        ));
    };
    let len = match mask {
        None => 32,
        Some(m) => match (m.parse::<u8>(), m.parse::<std::net::Ipv4Addr>()) {
            (Ok(l), _) if l <= 32 => l,
            (_, Ok(mask)) => {
                let bits = u32::from(mask);
                if bits.leading_ones() + bits.trailing_zeros() != 32 {
                    return Err(bad("the mask is not contiguous"));
                }
                u8::try_from(bits.leading_ones()).map_err(|_| bad("bad mask"))?
            }
            _ => return Err(bad("expected ADDRESS/MASK or ADDRESS/LENGTH")),
        },
    };
    Ok(Client::Net(IpAddr::V4(ip), len))
}

/// True when `ip` (IPv4-mapped IPv6 taken as IPv4) is in `pattern`.
fn client_matches(pattern: &Client, ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match (pattern, ip) {
        (Client::All, _) => true,
        (Client::Prefix(octets), IpAddr::V4(v4)) => v4.octets().starts_with(octets),
        (Client::Net(IpAddr::V4(net), len), IpAddr::V4(v4)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
            u32::from(*net) & mask == u32::from(v4) & mask
        }
        (Client::Net(IpAddr::V6(net), len), IpAddr::V6(v6)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
            u128::from(*net) & mask == u128::from(v6) & mask
        }
        _ => false,
    }
}

/// hosts_access(5)'s list matching: a word matches unless it follows an
/// `EXCEPT` whose right-hand list also matches.
fn list_match(list: &[String], matches: &dyn Fn(&str) -> bool) -> bool {
    for (i, word) in list.iter().enumerate() {
        if word == "EXCEPT" {
            return false;
        }
        if matches(word) {
            let rest = list.get(i + 1..).unwrap_or_default();
            return match rest.iter().position(|w| w == "EXCEPT") {
                None => true,
                Some(j) => !list_match(rest.get(j + 1..).unwrap_or_default(), matches),
            };
        }
    }
    false
}

/// True when a rule of `rules` matches `daemon` and `ip`; an error when a
/// rule about `daemon` cannot be evaluated.
fn any_rule(rules: &[Rule], daemon: &str, ip: IpAddr) -> Result<bool, String> {
    for r in rules.iter().filter(|r| r.concerns(daemon)) {
        r.check()?;
        if list_match(&r.clients, &|c| {
            client_pattern(c).is_ok_and(|p| client_matches(&p, ip))
        }) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The rules of `path`: none when it does not exist, as libwrap.
fn read(path: &Path) -> Result<Vec<Rule>, String> {
    let mut text = String::new();
    match open(path).and_then(|mut f| f.read_to_string(&mut text)) {
        Ok(_) => parse(&path.display().to_string(), &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("libwrap: {}: {e}", path.display())),
    }
}

/// Checks both files at start for the service `daemon`: an error is one
/// line naming file and line.
pub fn check_files(daemon: &str) -> Result<(), String> {
    for file in [ALLOW, DENY] {
        for r in read(Path::new(file))?.iter().filter(|r| r.concerns(daemon)) {
            r.check()?;
        }
    }
    Ok(())
}

/// Whether the client at `ip` may use the service `daemon`: `Err` with the
/// reason when refused (or when a file cannot be evaluated).
pub fn allowed(daemon: &str, ip: Option<IpAddr>) -> Result<(), String> {
    let Some(ip) = ip else {
        // A Unix socket: libwrap has no address to check either.
        return Ok(());
    };
    if any_rule(&read(Path::new(ALLOW))?, daemon, ip)? {
        return Ok(());
    }
    if any_rule(&read(Path::new(DENY))?, daemon, ip)? {
        return Err(format!("refused by libwrap ({DENY})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(allow: &str, deny: &str, daemon: &str, ip: &str) -> bool {
        let ip: IpAddr = ip.parse().unwrap();
        let (a, d) = (parse("a", allow).unwrap(), parse("d", deny).unwrap());
        any_rule(&a, daemon, ip).unwrap() || !any_rule(&d, daemon, ip).unwrap()
    }

    #[test]
    fn hosts_access_subset() {
        let allow = "# comment\nweb: 10.1. 192.168.0.0/255.255.0.0, [2001:db8::]/32\n\
                     db : 127.0.0.1 \\\n  127.0.0.2\nALL EXCEPT web: 172.16.0.0/12 EXCEPT 172.16.0.9\n";
        let deny = "ALL: ALL\n";
        assert!(decide(allow, deny, "web", "10.1.2.3"));
        assert!(decide(allow, deny, "WEB", "192.168.7.7"));
        assert!(decide(allow, deny, "web", "2001:db8::1"));
        assert!(decide(allow, deny, "web", "::ffff:10.1.0.1"));
        assert!(!decide(allow, deny, "web", "10.2.0.1"));
        assert!(decide(allow, deny, "db", "127.0.0.2"));
        assert!(!decide(allow, deny, "db", "127.0.0.3"));
        assert!(decide(allow, deny, "mail", "172.16.1.1"));
        assert!(!decide(allow, deny, "mail", "172.16.0.9"));
        assert!(!decide(allow, deny, "web", "172.16.1.1"));
        // No deny rule: everyone else is let in.
        assert!(decide(allow, "", "web", "10.9.9.9"));
        assert!(!decide(
            "",
            "web: ALL EXCEPT 127.0.0.1\n",
            "web",
            "127.0.0.2"
        ));
        assert!(decide(
            "",
            "web: ALL EXCEPT 127.0.0.1\n",
            "web",
            "127.0.0.1"
        ));
    }

    #[test]
    fn unsupported_rules_name_their_line() {
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for (text, why) in [
            ("\nweb: .example.com\n", "host names"),
            ("\nALL: LOCAL\n", "host names"),
            ("\nweb, sshd: ALL: spawn echo\n", "option and shell command"),
            ("\nweb: 10.0.0.0/255.0.255.0\n", "not contiguous"),
        ] {
            let rules = parse("/etc/hosts.allow", text).unwrap();
            let e = any_rule(&rules, "web", ip).unwrap_err();
            assert!(e.starts_with("libwrap: /etc/hosts.allow:2: "), "{e}");
            assert!(e.contains(why), "{e}");
            // Rules about other daemons are not this service's concern.
            let other = text
                .replace("web, ", "")
                .replace("web", "sshd")
                .replace("ALL:", "sshd:");
            let rules = parse("/etc/hosts.allow", &other).unwrap();
            assert_eq!(any_rule(&rules, "web", ip), Ok(false), "{other}");
        }
        let rules = parse("a", "sshd@host: ALL\n").unwrap();
        assert_eq!(any_rule(&rules, "sshd", ip), Ok(false));
        let e = parse("/etc/hosts.allow", "\nsshd\n").err().unwrap();
        assert!(e.contains(":2: expected DAEMONS : CLIENTS"), "{e}");
    }
}
