//! A TLS relay on the tokio adapter (tls-tokio), for `benches/tunnel-bench.sh`
//! to measure against tls-tunnel's own relay loop: each connection is a
//! `TlsAcceptor`/`TlsConnector` handshake and `tokio::io::copy_bidirectional`
//! between the TLS stream and the plaintext socket. Settings as the bench's:
//! TLS 1.3 only, TLS_AES_128_GCM_SHA256, X25519; sockets with TCP_NODELAY
//! and a multi-threaded runtime with one worker per core, as the tunnel.
//!
//! ```text
//! adapter_relay server LISTEN TARGET CERT_PEM KEY_PEM [--buffer BYTES]
//! adapter_relay client LISTEN TARGET CA_PEM SERVER_NAME [--buffer BYTES]
//! ```
//!
//! `server` accepts TLS on LISTEN and forwards plaintext to TARGET; `client`
//! accepts plaintext and connects with TLS to TARGET as SERVER_NAME,
//! accepting the certificates listed in CA_PEM (the bench's is self-signed). `--buffer BYTES` sets each
//! direction's copy buffer (`copy_bidirectional_with_sizes`); without it,
//! `copy_bidirectional`'s default (8 KiB). Runs until killed.

use std::io;
use std::sync::Arc;

use tls_core::{
    keys::certs_from_pem_file, CertifiedKey, CipherSuite, ClientConfig, NamedGroup,
    ProtocolVersion, ServerConfig,
};
use tls_tokio::{TlsAcceptor, TlsConnector};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// What a connection does after it is accepted.
#[derive(Clone)]
enum Side {
    /// TLS in, plaintext out.
    Server(TlsAcceptor),
    /// Plaintext in, TLS out to `name`.
    Client(TlsConnector, String),
}

/// Copies both ways until both ends are done; `buffer` is each direction's
/// buffer size, or tokio's default.
async fn relay<A, B>(a: &mut A, b: &mut B, buffer: Option<usize>) -> io::Result<(u64, u64)>
where
    A: AsyncRead + AsyncWrite + Unpin + ?Sized,
    B: AsyncRead + AsyncWrite + Unpin + ?Sized,
{
    match buffer {
        Some(n) => tokio::io::copy_bidirectional_with_sizes(a, b, n, n).await,
        None => tokio::io::copy_bidirectional(a, b).await,
    }
}

/// Serves one accepted connection.
async fn connection(
    side: Side,
    accepted: TcpStream,
    target: String,
    buffer: Option<usize>,
) -> io::Result<()> {
    accepted.set_nodelay(true)?;
    let mut outward = TcpStream::connect(target).await?;
    outward.set_nodelay(true)?;
    match side {
        Side::Server(acceptor) => {
            let mut tls = acceptor.accept(accepted).await?;
            relay(&mut tls, &mut outward, buffer).await?;
        }
        Side::Client(connector, name) => {
            let mut tls = connector.connect(name, outward).await?;
            let mut plain = accepted;
            relay(&mut plain, &mut tls, buffer).await?;
        }
    }
    Ok(())
}

/// The side to run, from the command line.
fn side(mode: &str, a: &str, b: &str) -> Result<Side, Error> {
    let versions = vec![ProtocolVersion::Tls13];
    let suites = vec![CipherSuite::Tls13Aes128GcmSha256];
    let groups = vec![NamedGroup::X25519];
    match mode {
        "server" => {
            let mut config = ServerConfig::with_single_cert(CertifiedKey::from_pem_files(a, b)?);
            (config.versions, config.cipher_suites, config.groups) = (versions, suites, groups);
            Ok(Side::Server(TlsAcceptor::from(Arc::new(config))))
        }
        "client" => {
            // The bench's certificate is self-signed: listed, as the
            // tunnel's --cacert accepts it.
            let mut config = ClientConfig::with_pinned_certs(certs_from_pem_file(a)?);
            (config.versions, config.cipher_suites, config.groups) = (versions, suites, groups);
            Ok(Side::Client(
                TlsConnector::from(Arc::new(config)),
                b.to_string(),
            ))
        }
        _ => Err(format!("unknown mode {mode}").into()),
    }
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (mode, listen, target, a, b, buffer) = match args.as_slice() {
        [m, l, t, a, b] => (*m, *l, *t, *a, *b, None),
        [m, l, t, a, b, "--buffer", n] => (*m, *l, *t, *a, *b, Some(n.parse::<usize>()?)),
        _ => return Err(
            "usage: adapter_relay server LISTEN TARGET CERT_PEM KEY_PEM [--buffer BYTES]\n       \
                        adapter_relay client LISTEN TARGET CA_PEM SERVER_NAME [--buffer BYTES]"
                .into(),
        ),
    };
    let side = side(mode, a, b)?;
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = TcpListener::bind(listen).await?;
        loop {
            let (sock, _) = listener.accept().await?;
            let (side, target) = (side.clone(), target.to_string());
            tokio::spawn(async move {
                // Errors end the connection only; the bench reads the figures.
                let _ = connection(side, sock, target, buffer).await;
            });
        }
    })
}
