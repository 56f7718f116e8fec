//! The small HTTP/1.x server of `--metrics ADDR`: `/metrics` (Prometheus
//! text), `/_status` (JSON), `/livez` and `/readyz` (probes). Anything else
//! is 404.
//!
//! It faces whoever can reach the port, so it is bounded everywhere: at most
//! [`MAX_CLIENTS`] connections at once (more wait in the kernel's backlog),
//! a request head of at most [`MAX_REQUEST`] bytes that must arrive within
//! [`REQUEST_TIMEOUT`] in total (so a client sending a byte at a time is cut
//! off), one request per connection, and junk answered with 400.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::status::Status;

/// Connections served at once.
const MAX_CLIENTS: usize = 32;
/// The longest request line and headers accepted.
const MAX_REQUEST: usize = 8 * 1024;
/// The time a client has to send its whole request head.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The time a client has to take the response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long, and how many bytes, a response waits for the client to close.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 64 * 1024;

/// Binds the endpoint; with `reuse_port` (a service listens with
/// SO_REUSEPORT) the next process of a hand-over binds it too and answers
/// the probes on the same address while this one drains.
pub async fn bind(addr: std::net::SocketAddr, reuse_port: bool) -> std::io::Result<TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.set_reuseport(reuse_port)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves `status` on `listener` until the process ends.
pub async fn serve(listener: TcpListener, status: Arc<Status>) {
    let places = Arc::new(Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok(permit) = places.clone().acquire_owned().await else {
            return;
        };
        let sock = match listener.accept().await {
            Ok((sock, _)) => sock,
            Err(_) => {
                // Out of descriptors and the like: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let status = status.clone();
        tokio::spawn(async move {
            answer(sock, &status).await;
            drop(permit);
        });
    }
}

/// A response: status line, content type, body.
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: String,
}

impl Response {
    fn text(status: &'static str, body: &str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.to_string(),
        }
    }
}

/// Where the request head ends (the index after its blank line), if it
/// has ended.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Reads one request head; `Err` with the response to give when it is too
/// big or too slow, `Ok(None)` when the client went away.
async fn read_head(sock: &mut TcpStream) -> Result<Option<Vec<u8>>, Response> {
    let mut req = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(REQUEST_TIMEOUT, async {
        loop {
            if let Some(end) = head_end(&req) {
                req.truncate(end);
                return Ok(Some(()));
            }
            if req.len() >= MAX_REQUEST {
                return Err(Response::text(
                    "431 Request Header Fields Too Large",
                    "request too large\n",
                ));
            }
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return Ok(None),
                Ok(n) => req.extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
    })
    .await;
    match read {
        Ok(Ok(Some(()))) => Ok(Some(req)),
        Ok(Ok(None)) => Ok(None),
        Ok(Err(resp)) => Err(resp),
        Err(_) => Err(Response::text("408 Request Timeout", "request timeout\n")),
    }
}

/// Reads one request and answers it, then closes.
async fn answer(mut sock: TcpStream, status: &Status) {
    let (resp, head_only) = match read_head(&mut sock).await {
        Ok(None) => return,
        Ok(Some(head)) => route(&head, status).await,
        Err(resp) => (resp, false),
    };
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         Connection: close\r\n",
        resp.status,
        resp.content_type,
        resp.body.len()
    );
    if resp.status.starts_with("405") {
        out.push_str("Allow: GET, HEAD\r\n");
    }
    out.push_str("\r\n");
    if !head_only {
        out.push_str(&resp.body);
    }
    let _ = tokio::time::timeout(RESPONSE_TIMEOUT, async {
        sock.write_all(out.as_bytes()).await?;
        sock.shutdown().await
    })
    .await;
    // Closing with unread bytes (the rest of an oversized request) would
    // reset the connection, and the client could lose the response: read
    // what is left, within bounds, until the client closes.
    let _ = tokio::time::timeout(LINGER, async {
        let mut buf = [0u8; 1024];
        let mut left = LINGER_BYTES;
        while left > 0 {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    })
    .await;
}

/// The response to a request head, and whether it was a HEAD request.
async fn route(head: &[u8], status: &Status) -> (Response, bool) {
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (Response::text("400 Bad Request", "bad request\n"), false);
    };
    if !version.starts_with(b"HTTP/1.") || !target.starts_with(b"/") {
        return (Response::text("400 Bad Request", "bad request\n"), false);
    }
    let head_only = match method {
        b"GET" => false,
        b"HEAD" => true,
        _ => {
            return (
                Response::text("405 Method Not Allowed", "method not allowed\n"),
                false,
            )
        }
    };
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let resp = match path {
        b"/metrics" => Response {
            status: "200 OK",
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: status.metrics(),
        },
        b"/_status" => {
            let (ok, body) = status.page().await;
            Response {
                status: if ok {
                    "200 OK"
                } else {
                    "503 Service Unavailable"
                },
                content_type: "application/json",
                body,
            }
        }
        b"/livez" => Response::text("200 OK", "ok\n"),
        b"/readyz" => {
            if status.ready() {
                Response::text("200 OK", "ready\n")
            } else {
                let body = format!("not ready: {}\n", status.phase_name());
                Response {
                    status: "503 Service Unavailable",
                    content_type: "text/plain; charset=utf-8",
                    body,
                }
            }
        }
        _ => Response::text(
            "404 Not Found",
            "not found: try /metrics, /_status, /livez or /readyz\n",
        ),
    };
    (resp, head_only)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_ends_at_the_first_blank_line() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), Some(27));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\n"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
        assert_eq!(head_end(b""), None);
    }
}
