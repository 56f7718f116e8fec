//! stunnel's `ident = USERNAME`: after accepting a client, ask the identd
//! of the client's host (TCP port 113, RFC 1413) who owns the connection,
//! and let the client in only when the answer is a USERID equal to
//! USERNAME. No identd, an ERROR reply, another user or a reply that does
//! not parse refuse the connection (fail closed), the reason going to the
//! connection's closing line.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The identification protocol's port (RFC 1413).
const IDENT_PORT: u16 = 113;

/// RFC 1413: a reply line is at most 1000 characters; longer is malformed.
const MAX_REPLY: usize = 1000;

/// Asks the identd at `peer`'s address who owns the connection from `peer`
/// to our `local`, within `timeout` (connect, query and reply together).
/// `Ok` when it names `user`; else why the client is refused.
pub async fn check(
    peer: SocketAddr,
    local: SocketAddr,
    user: &str,
    timeout: Duration,
) -> Result<(), String> {
    let query = tokio::time::timeout(timeout, ask(peer, local.port()));
    let reply = match query.await {
        Ok(r) => r?,
        Err(_) => {
            return Err(format!(
                "ident: no reply from {} within {timeout:?}",
                ident_addr(peer)
            ))
        }
    };
    match parse(&reply, peer.port(), local.port())? {
        found if found == user => Ok(()),
        found => Err(format!("ident: refused user {found:?} (expected {user:?})")),
    }
}

/// Where the identd of `peer` listens.
fn ident_addr(peer: SocketAddr) -> SocketAddr {
    SocketAddr::new(peer.ip(), IDENT_PORT)
}

/// Sends the query and reads one reply line (without its end).
async fn ask(peer: SocketAddr, local_port: u16) -> Result<String, String> {
    let at = ident_addr(peer);
    let mut s = TcpStream::connect(at)
        .await
        .map_err(|e| format!("ident: no identd at {at}: {e}"))?;
    // The port on the identd's host first, then ours (RFC 1413).
    let query = format!("{} , {local_port}\r\n", peer.port());
    s.write_all(query.as_bytes())
        .await
        .map_err(|e| format!("ident: query to {at}: {e}"))?;
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = s
            .read(&mut buf)
            .await
            .map_err(|e| format!("ident: reply from {at}: {e}"))?;
        let got = buf.get(..n).unwrap_or_default();
        if let Some(end) = got.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(got.get(..end).unwrap_or_default());
            break;
        }
        line.extend_from_slice(got);
        if n == 0 {
            if line.is_empty() {
                return Err(format!("ident: {at} closed without a reply"));
            }
            break;
        }
        if line.len() > MAX_REPLY {
            return Err(format!(
                "ident: malformed reply from {at}: longer than {MAX_REPLY} bytes"
            ));
        }
    }
    if line.len() > MAX_REPLY {
        return Err(format!(
            "ident: malformed reply from {at}: longer than {MAX_REPLY} bytes"
        ));
    }
    let line = String::from_utf8_lossy(&line);
    Ok(line.trim_end_matches('\r').to_string())
}

/// The user id of a reply `line` to the query for `their_port , our_port`:
/// `PORTS : USERID : OPSYS[,CHARSET] : USER-ID`. An `ERROR` reply, other
/// ports or any other shape is an error naming the reason.
pub fn parse(line: &str, their_port: u16, our_port: u16) -> Result<String, String> {
    let malformed = || format!("ident: malformed reply {line:?}");
    let mut fields = line.splitn(4, ':');
    let (Some(ports), Some(kind)) = (fields.next(), fields.next()) else {
        return Err(malformed());
    };
    let mut pair = ports.split(',').map(|p| p.trim().parse::<u16>());
    match (pair.next(), pair.next(), pair.next()) {
        (Some(Ok(a)), Some(Ok(b)), None) if a == their_port && b == our_port => {}
        (Some(Ok(_)), Some(Ok(_)), None) => {
            return Err(format!("ident: reply for other ports {line:?}"));
        }
        _ => return Err(malformed()),
    }
    match kind.trim() {
        "USERID" => {}
        "ERROR" => {
            let why = fields.next().unwrap_or_default().trim();
            return Err(format!("ident: identd answered ERROR {why}"));
        }
        _ => return Err(malformed()),
    }
    let (Some(_opsys), Some(id)) = (fields.next(), fields.next()) else {
        return Err(malformed());
    };
    // Blanks around the user id are padding (RFC 1413: white space
    // between tokens is not important); an empty one identifies nobody.
    match id.trim_matches([' ', '\t']) {
        "" => Err(malformed()),
        user => Ok(user.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn userid_replies() {
        // oidentd's and RFC 1413's spellings.
        assert_eq!(
            parse("60040,47199:USERID:UNIX:root", 60040, 47199).unwrap(),
            "root"
        );
        assert_eq!(
            parse("6193, 23 : USERID : UNIX : stjohns", 6193, 23).unwrap(),
            "stjohns"
        );
        assert_eq!(
            parse("6195, 23 : USERID : OTHER,US-ASCII :  joe ", 6195, 23).unwrap(),
            "joe"
        );
        // The user id may hold colons and inner blanks: they belong to it.
        assert_eq!(parse("1,2:USERID:UNIX:a:b", 1, 2).unwrap(), "a:b");
        assert_eq!(parse("1,2:USERID:OTHER: a b\t", 1, 2).unwrap(), "a b");
    }

    #[test]
    fn refusals_name_the_reason() {
        let err = |line: &str| parse(line, 1, 2).unwrap_err();
        assert!(err("1 , 2 : ERROR : NO-USER").contains("ERROR NO-USER"));
        assert!(err("1 , 3 : USERID : UNIX : root").contains("other ports"));
        for bad in [
            "",
            "garbage",
            "1,2",
            "1,2:USERID",
            "1,2:USERID:UNIX",
            "1,2:USERID:UNIX:   ",
            "1,2,3:USERID:UNIX:root",
            "x,2:USERID:UNIX:root",
            "70000,2:USERID:UNIX:root",
            "1,2:NOTATYPE:UNIX:root",
            ":::",
        ] {
            assert!(err(bad).contains("malformed"), "{bad:?}: {}", err(bad));
        }
    }
}
