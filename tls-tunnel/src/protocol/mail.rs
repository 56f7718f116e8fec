//! The line-based preludes: SMTP (RFC 3207), IMAP and POP3 (RFC 2595),
//! NNTP (RFC 4642; server mode is ours, stunnel has it in client mode only). Client mode passes the server's greeting on to the
//! plaintext client (IMAP's without its capability list), as stunnel does:
//! after the handshake the client goes on as if it had just been greeted.

use tokio::io::{AsyncRead, AsyncWrite};

use super::{fail, goodbye, has_prefix, quoted, read_line, write_line, Failure, MAX_LINES};

/// Reads a reply's lines while they start with `more` (e.g. `250-`), then
/// returns the last one; at most [`MAX_LINES`].
async fn last_line<R: AsyncRead + Unpin>(r: &mut R, more: &str) -> Result<String, Failure> {
    for _ in 0..MAX_LINES {
        let line = read_line(r).await?;
        if !has_prefix(&line, more) {
            return Ok(line);
        }
    }
    fail(format!("reply longer than {MAX_LINES} lines"))
}

/// SMTP client: copy the greeting to the client, `EHLO`, `STARTTLS`, 220.
pub async fn smtp_client<L, R>(
    host: Option<&str>,
    local: &mut L,
    remote: &mut R,
) -> Result<(), Failure>
where
    L: AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    let mut greeting = None;
    for _ in 0..MAX_LINES {
        let line = read_line(remote).await?;
        write_line(local, &line).await?;
        if !has_prefix(&line, "220-") {
            greeting = Some(line);
            break;
        }
    }
    let Some(greeting) = greeting else {
        return fail(format!("server greeting longer than {MAX_LINES} lines"));
    };
    if !has_prefix(&greeting, "220 ") && greeting != "220" {
        return fail(format!("server greeting is not 220: {}", quoted(&greeting)));
    }
    write_line(remote, &format!("EHLO {}", host.unwrap_or("localhost"))).await?;
    let ehlo = last_line(remote, "250-").await?;
    if !has_prefix(&ehlo, "250 ") && ehlo != "250" {
        return fail(format!("server refused EHLO: {}", quoted(&ehlo)));
    }
    write_line(remote, "STARTTLS").await?;
    let reply = last_line(remote, "220-").await?;
    if !has_prefix(&reply, "220 ") && reply != "220" {
        return fail(format!("server refused STARTTLS: {}", quoted(&reply)));
    }
    Ok(())
}

/// SMTP server: greet with the server's greeting, answer `EHLO` offering
/// STARTTLS, answer `STARTTLS` with 220. The client's EHLO after the
/// handshake goes to the server, which has not seen one.
pub async fn smtp_server<L, R>(local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let first = read_line(remote).await?;
    let multi = has_prefix(&first, "220-");
    if !multi && !has_prefix(&first, "220 ") {
        return fail(format!("server greeting is not 220: {}", quoted(&first)));
    }
    let rest = first.get(4..).unwrap_or_default();
    let (domain, text) = rest.split_once(' ').unwrap_or((rest, ""));
    let domain = if domain.is_empty() {
        "localhost"
    } else {
        domain
    };
    let sep = if multi { '-' } else { ' ' };
    if text.is_empty() {
        write_line(local, &format!("220{sep}{domain} tls-tunnel")).await?;
    } else {
        write_line(local, &format!("220{sep}{domain} tls-tunnel for {text}")).await?;
    }
    if multi {
        for n in 0.. {
            if n >= MAX_LINES {
                return fail(format!("server greeting longer than {MAX_LINES} lines"));
            }
            let line = read_line(remote).await?;
            write_line(local, &line).await?;
            if !has_prefix(&line, "220-") {
                break;
            }
        }
    }
    let ehlo = read_line(local).await?;
    if !has_prefix(&ehlo, "EHLO ") {
        write_line(local, "503 5.5.1 EHLO first, then STARTTLS").await?;
        return fail(format!("client sent {} instead of EHLO", quoted(&ehlo)));
    }
    write_line(local, &format!("250-{domain}")).await?;
    write_line(local, "250 STARTTLS").await?;
    let starttls = read_line(local).await?;
    if !starttls.eq_ignore_ascii_case("STARTTLS") {
        write_line(local, "530 5.7.0 Must issue a STARTTLS command first").await?;
        return fail(format!(
            "client sent {} instead of STARTTLS",
            quoted(&starttls)
        ));
    }
    write_line(local, "220 2.0.0 Ready to start TLS").await
}

/// POP3 client: `+OK` greeting (copied to the client), `STLS`, `+OK`.
pub async fn pop3_client<L, R>(local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    let greeting = read_line(remote).await?;
    if !is_pop3_ok(&greeting) {
        return fail(format!("server greeting is not +OK: {}", quoted(&greeting)));
    }
    write_line(local, &greeting).await?;
    write_line(remote, "STLS").await?;
    let reply = read_line(remote).await?;
    if !is_pop3_ok(&reply) {
        return fail(format!("server refused STLS: {}", quoted(&reply)));
    }
    Ok(())
}

fn is_pop3_ok(line: &str) -> bool {
    has_prefix(line, "+OK ") || line.eq_ignore_ascii_case("+OK")
}

/// POP3 server: the server's greeting, `CAPA` answered with STLS, `STLS`
/// answered with `+OK`.
pub async fn pop3_server<L, R>(local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let greeting = read_line(remote).await?;
    if !is_pop3_ok(&greeting) {
        return fail(format!("server greeting is not +OK: {}", quoted(&greeting)));
    }
    write_line(local, &format!("{greeting} + tls-tunnel")).await?;
    let mut line = read_line(local).await?;
    if line.eq_ignore_ascii_case("CAPA") {
        write_line(local, "+OK capability list follows").await?;
        write_line(local, "STLS").await?;
        write_line(local, ".").await?;
        line = read_line(local).await?;
    }
    if !line.eq_ignore_ascii_case("STLS") {
        write_line(local, "-ERR STLS required").await?;
        return fail(format!("client sent {} instead of STLS", quoted(&line)));
    }
    write_line(local, "+OK begin TLS negotiation").await
}

/// The tag of the tunnel's own IMAP command.
const IMAP_TAG: &str = "tunnel";

/// IMAP client: `* OK` greeting (copied to the client without its
/// capability list, see [`without_capabilities`]), `tunnel STARTTLS`,
/// `tunnel OK` (untagged lines before it are skipped).
pub async fn imap_client<L, R>(local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    let greeting = read_line(remote).await?;
    if !has_prefix(&greeting, "* OK") {
        return fail(format!(
            "server greeting is not * OK: {}",
            quoted(&greeting)
        ));
    }
    write_line(local, &without_capabilities(&greeting)).await?;
    write_line(remote, &format!("{IMAP_TAG} STARTTLS")).await?;
    let reply = last_line(remote, "* ").await?;
    if !has_prefix(&reply, &format!("{IMAP_TAG} OK")) {
        write_line(local, "* BYE tls-tunnel: server does not support TLS").await?;
        return goodbye(format!("server refused STARTTLS: {}", quoted(&reply)));
    }
    Ok(())
}

/// The greeting without a `[CAPABILITY ...]` response code (RFC 3501,
/// section 7.1). That list describes the plaintext connection: a server
/// that wants TLS first lists STARTTLS and LOGINDISABLED and no AUTH=
/// mechanisms (Dovecot does). A client trusting it would send STARTTLS
/// over the tunnel's TLS, or find no way to log in. Without the list it
/// asks with CAPABILITY, which the server answers over TLS, as RFC 3501
/// (section 6.2.1) has a client do after STARTTLS. stunnel 5 leaves the
/// list out too: it sends `* OK Connected.` in place of the greeting; the
/// server's own text is kept here.
fn without_capabilities(greeting: &str) -> String {
    const CODE: &str = "* OK [CAPABILITY ";
    let code_start = greeting
        .get(..CODE.len())
        .is_some_and(|s| s.eq_ignore_ascii_case(CODE));
    let end = greeting.find(']');
    let (true, Some(end)) = (code_start, end) else {
        return greeting.to_string();
    };
    let text = greeting.get(end + 1..).unwrap_or_default().trim_start();
    if text.is_empty() {
        "* OK ready".to_string()
    } else {
        format!("* OK {text}")
    }
}

/// Adds STARTTLS to a capability list (`* CAPABILITY ...` or the greeting's
/// `[CAPABILITY ...]` response code) that lacks it.
fn with_starttls(line: &str) -> String {
    let upper = line.to_ascii_uppercase();
    if upper.contains("STARTTLS") {
        return line.to_string();
    }
    let Some(start) = upper.find("CAPABILITY") else {
        return line.to_string();
    };
    if upper.get(..start).is_some_and(|s| s.ends_with('[')) {
        if let Some(end) = line.get(start..).and_then(|s| s.find(']')) {
            let at = start + end;
            return format!(
                "{} STARTTLS{}",
                line.get(..at).unwrap_or(line),
                line.get(at..).unwrap_or("")
            );
        }
        return line.to_string();
    }
    format!("{line} STARTTLS")
}

/// Most client commands answered before STARTTLS.
const MAX_COMMANDS_BEFORE_TLS: usize = 16;

/// IMAP server: the server's greeting (STARTTLS added to its capabilities),
/// then client commands: `CAPABILITY` goes to the server and comes back
/// with STARTTLS, `STARTTLS` is answered OK, `LOGOUT` ends, anything else is
/// refused (the client must start TLS first).
pub async fn imap_server<L, R>(local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    let greeting = read_line(remote).await?;
    if !has_prefix(&greeting, "* OK") {
        return fail(format!(
            "server greeting is not * OK: {}",
            quoted(&greeting)
        ));
    }
    write_line(local, &with_starttls(&greeting)).await?;
    for _ in 0..MAX_COMMANDS_BEFORE_TLS {
        let line = read_line(local).await?;
        let Some((tag, command)) = line.split_once(' ') else {
            write_line(local, "* BAD missing command").await?;
            return fail(format!("client sent {}", quoted(&line)));
        };
        let verb = command.split(' ').next().unwrap_or_default();
        if verb.eq_ignore_ascii_case("STARTTLS") {
            return write_line(local, &format!("{tag} OK begin TLS negotiation now")).await;
        } else if verb.eq_ignore_ascii_case("CAPABILITY") {
            write_line(remote, &line).await?;
            for n in 0.. {
                if n >= MAX_LINES {
                    return fail(format!("server reply longer than {MAX_LINES} lines"));
                }
                let reply = read_line(remote).await?;
                if has_prefix(&reply, "* ") {
                    write_line(local, &with_starttls(&reply)).await?;
                    continue;
                }
                write_line(local, &reply).await?;
                if !has_prefix(&reply, &format!("{tag} OK")) {
                    write_line(local, "* BYE tls-tunnel: unexpected server response").await?;
                    return goodbye(format!("server refused CAPABILITY: {}", quoted(&reply)));
                }
                break;
            }
        } else if verb.eq_ignore_ascii_case("LOGOUT") {
            write_line(local, "* BYE logging out").await?;
            write_line(local, &format!("{tag} OK LOGOUT completed")).await?;
            return goodbye("client logged out before STARTTLS");
        } else {
            write_line(local, "* BYE tls-tunnel: STARTTLS required").await?;
            write_line(local, &format!("{tag} BAD {verb} before STARTTLS")).await?;
            return goodbye(format!("client sent {} before STARTTLS", quoted(verb)));
        }
    }
    fail(format!(
        "no STARTTLS within {MAX_COMMANDS_BEFORE_TLS} commands"
    ))
}

/// NNTP client: 200/201 greeting (copied to the client), `STARTTLS`, 382.
pub async fn nntp_client<L, R>(local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncWrite + Unpin,
    R: AsyncRead + AsyncWrite + Unpin,
{
    let greeting = read_line(remote).await?;
    if !has_prefix(&greeting, "200 ") && !has_prefix(&greeting, "201 ") {
        return fail(format!(
            "server greeting is not 200 or 201: {}",
            quoted(&greeting)
        ));
    }
    write_line(local, &greeting).await?;
    write_line(remote, "STARTTLS").await?;
    let reply = read_line(remote).await?;
    if !has_prefix(&reply, "382 ") && reply != "382" {
        return fail(format!("server refused STARTTLS: {}", quoted(&reply)));
    }
    Ok(())
}

/// NNTP server (RFC 4642; stunnel has none): the server's 200/201
/// greeting, `CAPABILITIES` answered with STARTTLS, `STARTTLS` answered with
/// 382; any other command gets 483 (privacy required), at most
/// [`MAX_COMMANDS_BEFORE_TLS`] of them.
pub async fn nntp_server<L, R>(local: &mut L, remote: &mut R) -> Result<(), Failure>
where
    L: AsyncRead + AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let greeting = read_line(remote).await?;
    if !has_prefix(&greeting, "200 ") && !has_prefix(&greeting, "201 ") {
        return fail(format!(
            "server greeting is not 200 or 201: {}",
            quoted(&greeting)
        ));
    }
    write_line(local, &greeting).await?;
    for _ in 0..MAX_COMMANDS_BEFORE_TLS {
        let line = read_line(local).await?;
        let command = line.split_ascii_whitespace().next().unwrap_or("");
        if command.eq_ignore_ascii_case("STARTTLS") {
            return write_line(local, "382 Continue with TLS negotiation").await;
        }
        if command.eq_ignore_ascii_case("CAPABILITIES") {
            for reply in ["101 Capability list:", "VERSION 2", "STARTTLS", "."] {
                write_line(local, reply).await?;
            }
        } else if command.eq_ignore_ascii_case("QUIT") {
            write_line(local, "205 Bye").await?;
            return fail("client quit before STARTTLS");
        } else {
            write_line(local, "483 Encryption required: STARTTLS first").await?;
        }
    }
    fail(format!(
        "no STARTTLS within {MAX_COMMANDS_BEFORE_TLS} commands"
    ))
}

#[cfg(test)]
mod tests {
    use super::{with_starttls, without_capabilities};

    #[test]
    fn the_plaintext_capability_list_is_not_passed_on() {
        assert_eq!(
            without_capabilities(
                "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] Dovecot (Debian) ready."
            ),
            "* OK Dovecot (Debian) ready."
        );
        assert_eq!(
            without_capabilities("* ok [capability IMAP4rev1]   hi"),
            "* OK hi"
        );
        assert_eq!(
            without_capabilities("* OK [CAPABILITY IMAP4rev1]"),
            "* OK ready"
        );
        for unchanged in [
            "* OK ready",
            "* OK [ALERT] note",
            "* OK [CAPABILITY x",
            "* OK",
        ] {
            assert_eq!(without_capabilities(unchanged), unchanged);
        }
    }

    #[test]
    fn starttls_is_added_to_capability_lists() {
        assert_eq!(
            with_starttls("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready"),
            "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN STARTTLS] ready"
        );
        assert_eq!(
            with_starttls("* CAPABILITY IMAP4rev1"),
            "* CAPABILITY IMAP4rev1 STARTTLS"
        );
        assert_eq!(with_starttls("* OK ready"), "* OK ready");
        assert_eq!(
            with_starttls("* CAPABILITY IMAP4rev1 STARTTLS"),
            "* CAPABILITY IMAP4rev1 STARTTLS"
        );
    }
}
