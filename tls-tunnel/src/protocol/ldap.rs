//! LDAP StartTLS (RFC 4511, sections 4.12 and 4.14): an ExtendedRequest
//! naming [`START_TLS_OID`], answered by an ExtendedResponse whose
//! resultCode 0 (success) means TLS starts next. Messages are BER; only the
//! few elements the exchange needs are read, each length checked.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{fail, Failure};

/// The StartTLS extended operation's name.
pub const START_TLS_OID: &[u8] = b"1.3.6.1.4.1.1466.20037";

/// Largest LDAP message read during the prelude.
const MAX_MESSAGE: usize = 16 * 1024;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const ENUMERATED: u8 = 0x0a;
const OCTET_STRING: u8 = 0x04;
/// [APPLICATION 23], constructed: ExtendedRequest.
const EXTENDED_REQUEST: u8 = 0x77;
/// [APPLICATION 24], constructed: ExtendedResponse.
const EXTENDED_RESPONSE: u8 = 0x78;
/// [0], primitive: ExtendedRequest.requestName.
const REQUEST_NAME: u8 = 0x80;
/// [10], primitive: ExtendedResponse.responseName.
const RESPONSE_NAME: u8 = 0x8a;

/// Splits one definite-length BER element off `input`: (tag, value, rest).
fn element(input: &[u8]) -> Result<(u8, &[u8], &[u8]), String> {
    let [tag, first, rest @ ..] = input else {
        return Err("truncated element".into());
    };
    let (len, rest) = match *first {
        n @ 0..=0x7f => (usize::from(n), rest),
        n @ 0x81..=0x84 => {
            let count = usize::from(n & 0x7f);
            let bytes = rest.get(..count).ok_or("truncated length")?;
            let len = bytes
                .iter()
                .try_fold(0usize, |acc, b| {
                    acc.checked_mul(256)?.checked_add(usize::from(*b))
                })
                .ok_or("length overflows")?;
            (len, rest.get(count..).unwrap_or_default())
        }
        n => return Err(format!("unsupported length octet 0x{n:02x}")),
    };
    let value = rest.get(..len).ok_or("element longer than its container")?;
    Ok((*tag, value, rest.get(len..).unwrap_or_default()))
}

/// The element of `input` with `tag`, and what follows it.
fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(&'a [u8], &'a [u8]), String> {
    let (t, value, rest) = element(input).map_err(|e| format!("{what}: {e}"))?;
    if t != tag {
        return Err(format!("{what}: expected tag 0x{tag:02x}, found 0x{t:02x}"));
    }
    Ok((value, rest))
}

/// A small non-negative INTEGER or ENUMERATED value (at most four octets).
fn small_uint(value: &[u8], what: &str) -> Result<u32, String> {
    if value.is_empty() || value.len() > 4 || value.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(format!("{what}: not a small non-negative number"));
    }
    Ok(value.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

/// Reads one LDAPMessage (a SEQUENCE) and returns its contents.
async fn read_message<R: AsyncRead + Unpin>(r: &mut R) -> Result<Vec<u8>, Failure> {
    let tag = r.read_u8().await?;
    if tag != SEQUENCE {
        return fail(format!("not an LDAP message (first byte 0x{tag:02x})"));
    }
    let first = r.read_u8().await?;
    let len = match first {
        n @ 0..=0x7f => usize::from(n),
        n @ 0x81..=0x84 => {
            let mut len = 0usize;
            for _ in 0..(n & 0x7f) {
                let b = r.read_u8().await?;
                len = len
                    .checked_mul(256)
                    .and_then(|l| l.checked_add(usize::from(b)))
                    .unwrap_or(usize::MAX);
            }
            len
        }
        n => return fail(format!("unsupported LDAP message length octet 0x{n:02x}")),
    };
    if len > MAX_MESSAGE {
        return fail(format!(
            "LDAP message of {len} bytes (at most {MAX_MESSAGE})"
        ));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).await?;
    Ok(body)
}

/// What an ExtendedResponse said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The messageID it answers.
    pub message_id: u32,
    /// resultCode (0 is success).
    pub result_code: u32,
    /// diagnosticMessage.
    pub diagnostic: String,
}

/// Parses the contents of an LDAPMessage holding an ExtendedResponse.
pub fn parse_extended_response(body: &[u8]) -> Result<Response, String> {
    let (id, rest) = expect(body, INTEGER, "messageID")?;
    let message_id = small_uint(id, "messageID")?;
    let (op, _controls) = expect(rest, EXTENDED_RESPONSE, "ExtendedResponse")?;
    let (code, op) = expect(op, ENUMERATED, "resultCode")?;
    let result_code = small_uint(code, "resultCode")?;
    let (_matched, op) = expect(op, OCTET_STRING, "matchedDN")?;
    let (diag, _) = expect(op, OCTET_STRING, "diagnosticMessage")?;
    Ok(Response {
        message_id,
        result_code,
        diagnostic: String::from_utf8_lossy(diag).chars().take(200).collect(),
    })
}

/// Parses the contents of an LDAPMessage holding a StartTLS
/// ExtendedRequest; returns its messageID's encoded value.
pub fn parse_extended_request(body: &[u8]) -> Result<&[u8], String> {
    let (id, rest) = expect(body, INTEGER, "messageID")?;
    small_uint(id, "messageID")?;
    let (op, _controls) = expect(rest, EXTENDED_REQUEST, "ExtendedRequest")?;
    let (name, _value) = expect(op, REQUEST_NAME, "requestName")?;
    if name != START_TLS_OID {
        return Err(format!(
            "extended operation {:?} is not StartTLS",
            String::from_utf8_lossy(name)
        ));
    }
    Ok(id)
}

/// Client: send the StartTLS request (messageID 1), expect success.
pub async fn client<R: AsyncRead + AsyncWrite + Unpin>(remote: &mut R) -> Result<(), Failure> {
    let oid_len = START_TLS_OID.len() as u8; // 22
    let mut req = vec![SEQUENCE, 5 + 2 + oid_len, INTEGER, 1, 1];
    req.extend_from_slice(&[EXTENDED_REQUEST, 2 + oid_len, REQUEST_NAME, oid_len]);
    req.extend_from_slice(START_TLS_OID);
    remote.write_all(&req).await?;
    remote.flush().await?;
    let body = read_message(remote).await?;
    let resp =
        parse_extended_response(&body).map_err(|e| Failure::new(format!("bad reply: {e}")))?;
    if resp.message_id != 1 {
        return fail(format!(
            "reply to message {} (server notice?): resultCode {} {:?}",
            resp.message_id, resp.result_code, resp.diagnostic
        ));
    }
    if resp.result_code != 0 {
        return fail(format!(
            "server refused StartTLS: resultCode {} {:?}",
            resp.result_code, resp.diagnostic
        ));
    }
    Ok(())
}

/// Server: expect the StartTLS request, answer success.
pub async fn server<L: AsyncRead + AsyncWrite + Unpin>(local: &mut L) -> Result<(), Failure> {
    let body = read_message(local).await?;
    let id = match parse_extended_request(&body) {
        Ok(id) => id,
        Err(e) => return fail(format!("client did not ask for StartTLS: {e}")),
    };
    // resultCode success, empty matchedDN and diagnosticMessage, the name.
    let oid_len = START_TLS_OID.len() as u8;
    let mut op = vec![
        ENUMERATED,
        1,
        0,
        OCTET_STRING,
        0,
        OCTET_STRING,
        0,
        RESPONSE_NAME,
        oid_len,
    ];
    op.extend_from_slice(START_TLS_OID);
    let mut msg = vec![INTEGER, id.len() as u8];
    msg.extend_from_slice(id);
    msg.push(EXTENDED_RESPONSE);
    msg.push(op.len() as u8);
    msg.extend_from_slice(&op);
    let mut out = vec![SEQUENCE, msg.len() as u8];
    out.extend_from_slice(&msg);
    local.write_all(&out).await?;
    local.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_bounded() {
        assert!(element(&[0x04, 0x05, 1, 2]).is_err());
        assert!(element(&[0x04, 0x85, 0, 0, 0, 0, 1]).is_err());
        assert!(element(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert_eq!(
            element(&[0x04, 0x81, 1, 7, 9]),
            Ok((0x04, &[7u8][..], &[9u8][..]))
        );
    }

    #[test]
    fn responses_parse() {
        let ok = [
            0x02, 0x01, 0x01, 0x78, 0x07, 0x0a, 0x01, 0x00, 0x04, 0x00, 0x04, 0x00,
        ];
        assert_eq!(
            parse_extended_response(&ok),
            Ok(Response {
                message_id: 1,
                result_code: 0,
                diagnostic: String::new()
            })
        );
        let refused = [
            0x02, 0x01, 0x01, 0x78, 0x09, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x02, b'n', b'o',
        ];
        assert_eq!(
            parse_extended_response(&refused).map(|r| r.result_code),
            Ok(2)
        );
        assert!(parse_extended_response(&ok[..5]).is_err());
    }
}
