//! An OCSP test PKI made with the `openssl` command line, and `openssl ocsp`
//! as the responder (offline on a request file, or behind a small HTTP
//! front on 127.0.0.1: [`ResponderSocket`]).
//!
//! The PKI: a CA (ECDSA P-256); leaves `good` (serial 1001) and `revoked`
//! (serial 1002, revoked in the responder's index) for `localhost` with
//! serverAuth and clientAuth, each with an authorityInfoAccess OCSP URL
//! naming `http://127.0.0.1:<aia_port>/`; a delegated responder
//! certificate `resp` (serial 1003, id-kp-OCSPSigning); and a leaf from
//! another CA, `stranger`, that the responder does not know.

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::openssl_peer::openssl;
use crate::peer::{connect_local, local_listener, run_tool, set_timeouts};

/// The files of the OCSP test PKI, in one directory.
#[derive(Debug, Clone)]
pub struct OcspPki {
    /// The directory.
    pub dir: PathBuf,
    /// The port the leaves' AIA OCSP URL names.
    pub aia_port: u16,
}

const CONFIG: &str = "[req]
distinguished_name=dn
[dn]
[v3ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
[leaf]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
authorityInfoAccess=OCSP;URI:http://127.0.0.1:AIA_PORT/
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
[resp]
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=OCSPSigning
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
";

impl OcspPki {
    /// Generates the PKI in `dir` (which must exist), with `aia_port` in
    /// the leaves' AIA URL.
    pub fn generate(dir: &Path, aia_port: u16) -> OcspPki {
        let pki = OcspPki {
            dir: dir.to_path_buf(),
            aia_port,
        };
        let cnf = pki.file("ext.cnf");
        fs::write(&cnf, CONFIG.replace("AIA_PORT", &aia_port.to_string())).expect("write cnf");
        let cnf = cnf.to_str().expect("utf-8 path").to_string();
        let path = |name: &str| pki.file(name).to_str().expect("utf-8 path").to_string();
        let tool = openssl();
        let key = |name: &str| {
            run_tool(
                &tool,
                [
                    "genpkey",
                    "-algorithm",
                    "EC",
                    "-pkeyopt",
                    "ec_paramgen_curve:P-256",
                    "-out",
                    &path(&format!("{name}.key")),
                ],
            );
        };
        let self_signed = |name: &str, cn: &str| {
            key(name);
            run_tool(
                &tool,
                [
                    "req",
                    "-x509",
                    "-new",
                    "-key",
                    &path(&format!("{name}.key")),
                    "-subj",
                    &format!("/CN={cn}"),
                    "-days",
                    "36500",
                    "-set_serial",
                    "1",
                    "-config",
                    &cnf,
                    "-extensions",
                    "v3ca",
                    "-out",
                    &path(&format!("{name}.pem")),
                ],
            );
        };
        let issue = |name: &str, ca: &str, serial: &str, section: &str| {
            key(name);
            let csr = path(&format!("{name}.csr"));
            run_tool(
                &tool,
                [
                    "req",
                    "-new",
                    "-key",
                    &path(&format!("{name}.key")),
                    "-subj",
                    &format!("/CN={name}"),
                    "-config",
                    &cnf,
                    "-out",
                    &csr,
                ],
            );
            run_tool(
                &tool,
                [
                    "x509",
                    "-req",
                    "-in",
                    &csr,
                    "-CA",
                    &path(&format!("{ca}.pem")),
                    "-CAkey",
                    &path(&format!("{ca}.key")),
                    "-set_serial",
                    serial,
                    "-days",
                    "36500",
                    "-extfile",
                    &cnf,
                    "-extensions",
                    section,
                    "-out",
                    &path(&format!("{name}.pem")),
                ],
            );
        };
        self_signed("ca", "OCSP Test CA");
        self_signed("other-ca", "Other Test CA");
        issue("good", "ca", "0x1001", "leaf");
        issue("revoked", "ca", "0x1002", "leaf");
        issue("resp", "ca", "0x1003", "resp");
        issue("stranger", "other-ca", "0x1001", "leaf");
        fs::write(
            pki.file("index.txt"),
            "V\t491231235959Z\t\t1001\tunknown\t/CN=good\n\
             R\t491231235959Z\t240101000000Z,keyCompromise\t1002\tunknown\t/CN=revoked\n\
             V\t491231235959Z\t\t1003\tunknown\t/CN=resp\n",
        )
        .expect("write index");
        pki
    }

    /// A file of the PKI (`ca.pem`, `good.pem`, `good.key`, ...).
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The DER of certificate `name` (`ca`, `good`, `revoked`, `resp`, ...).
    pub fn der(&self, name: &str) -> Vec<u8> {
        let pem = self.file(&format!("{name}.pem"));
        run_tool(
            &openssl(),
            [
                "x509",
                "-in",
                pem.to_str().expect("utf-8"),
                "-outform",
                "DER",
            ],
        )
    }

    /// The arguments that make `openssl ocsp` answer from the index,
    /// signing as `signer` (`ca` or `resp`), with a nextUpdate a day on.
    fn responder_args(&self, signer: &str) -> Vec<String> {
        let p = |n: &str| self.file(n).to_str().expect("utf-8").to_string();
        vec![
            "ocsp".into(),
            "-index".into(),
            p("index.txt"),
            "-CA".into(),
            p("ca.pem"),
            "-rsigner".into(),
            p(&format!("{signer}.pem")),
            "-rkey".into(),
            p(&format!("{signer}.key")),
            "-ndays".into(),
            "1".into(),
        ]
    }

    /// `openssl ocsp`'s answer to the DER request `request`, signed by
    /// `signer`, with `extra` responder arguments.
    pub fn respond(&self, request: &[u8], signer: &str, extra: &[&str]) -> Vec<u8> {
        static N: AtomicUsize = AtomicUsize::new(0);
        let tag = N.fetch_add(1, Ordering::Relaxed);
        let req = self.file(&format!("req-{tag}.der"));
        let resp = self.file(&format!("resp-{tag}.der"));
        fs::write(&req, request).expect("write request");
        let mut args = self.responder_args(signer);
        args.extend(["-reqin".into(), req.to_str().expect("utf-8").into()]);
        args.extend(["-respout".into(), resp.to_str().expect("utf-8").into()]);
        args.extend(extra.iter().map(|s| s.to_string()));
        run_tool(&openssl(), args);
        fs::read(&resp).expect("read response")
    }
}

/// An HTTP OCSP responder on 127.0.0.1: each POSTed request is answered by
/// `openssl ocsp` run on it (`openssl ocsp -port` cannot bind to loopback
/// only). It serves at most a fixed number of requests, one at a time, and
/// stops when dropped.
pub struct Responder {
    port: u16,
    served: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A bound, not yet serving, responder socket (so the port can go in the
/// certificates first).
pub struct ResponderSocket {
    listener: TcpListener,
    /// Its port.
    pub port: u16,
}

impl ResponderSocket {
    /// Binds 127.0.0.1 on a free port.
    pub fn bind() -> ResponderSocket {
        let (listener, port) = local_listener();
        ResponderSocket { listener, port }
    }

    /// Serves up to `max` requests from `pki`'s index, signed by `signer`.
    pub fn serve(self, pki: &OcspPki, signer: &str, max: usize) -> Responder {
        let served = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (pki, signer) = (pki.clone(), signer.to_string());
        let (count, halt) = (served.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for _ in 0..max {
                let Ok((sock, _)) = self.listener.accept() else {
                    return;
                };
                if halt.load(Ordering::SeqCst) {
                    return;
                }
                let _ = answer(sock, &pki, &signer, &count);
            }
        });
        Responder {
            port: self.port,
            served,
            stop,
            thread: Some(thread),
        }
    }
}

impl Responder {
    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL to give as the responder.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Requests answered so far (counted as each reply is sent).
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept if the thread still waits in it.
        let _ = connect_local(self.port);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one HTTP POST (bounded), answers it with `openssl ocsp`'s response.
/// `served` is counted before the reply is written, so a test that has seen
/// the tunnel act on the answer also sees the count.
fn answer(
    mut sock: TcpStream,
    pki: &OcspPki,
    signer: &str,
    served: &AtomicUsize,
) -> std::io::Result<()> {
    set_timeouts(&sock)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let body = loop {
        let n = sock.read(&mut chunk)?;
        if n == 0 || buf.len() > 1 << 16 {
            return Err(std::io::ErrorKind::InvalidData.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        if buf.len() >= end + 4 + len {
            break buf[end + 4..end + 4 + len].to_vec();
        }
    };
    let response = pki.respond(&body, signer, &[]);
    let mut reply = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\nContent-Length: {}\r\n\r\n",
        response.len()
    )
    .into_bytes();
    reply.extend_from_slice(&response);
    served.fetch_add(1, Ordering::SeqCst);
    sock.write_all(&reply)
}
