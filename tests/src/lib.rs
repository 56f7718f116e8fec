//! Helpers shared by the tests in `tests/*.rs`: real peers as child
//! processes ([`peer`]), the test PKI ([`pki`]), payloads and bounded
//! transfers ([`data`]), our engine over TCP ([`engine`]), the peers
//! OpenSSL ([`openssl_peer`]), GnuTLS ([`gnutls_peer`]) and rustls
//! ([`rustls_peer`]), and the helpers of
//! the tunnel and x509-limbo tests.
//!
//! Every wait is bounded: sockets have 20 s read/write timeouts, peers are
//! killed when their guard drops, and waits for peers give up after 30 s.

pub mod data;
pub mod dovecot;
pub mod engine;
pub mod fleet;
pub mod gnutls_peer;
pub mod limbo;
pub mod netns;
pub mod nnrpd;
pub mod ocsp;
pub mod openssl_peer;
pub mod pcap;
pub mod peer;
pub mod pki;
pub mod rustls_peer;
pub mod slapd;
pub mod stunnel;
pub mod tunnel;

pub use data::{assert_same_bytes, payload, MIB};
pub use engine::{client_config, connect, server_config, tls_error, OneShotServer, Outcome, Step};
pub use peer::{free_port, require, wait_for_port, Peer, IO_TIMEOUT, PEER_TIMEOUT};
pub use pki::{pki, KeyType, Leaf, TestPki};
