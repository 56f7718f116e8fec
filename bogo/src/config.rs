//! tls-core configurations built from the shim's options.
//!
//! What lives across the connections of one run (the client's session store,
//! the server's ticket key and session cache) is made once in [`Shared`];
//! everything else is built per connection from that connection's options.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tls_core::config::{CertifiedKey, ClientConfig, ServerConfig, SingleCert, UnixTime};
use tls_core::stapling::OcspStapler;
use tls_core::tickets::{ClientSessionStore, MemorySessionStore, RotatingTicketer, StoredTicket};
use tls_core::tls12::session::StoredSession12;
use tls_core::verify::{
    verify_tls12_with_certificate_key, verify_with_certificate_key, ClientCertVerified,
    ClientCertVerifier, ServerCertVerified, ServerCertVerifier, SignatureVerified,
};
use tls_core::{
    Clock, Error, MemorySessionCache, NamedGroup, ProtocolVersion, SignatureScheme, SystemClock,
};

use crate::opts::{Options, ParseError};

/// Why a configuration could not be built.
#[derive(Debug)]
pub enum SetupError {
    /// The options ask for something this engine does not do: exit 89.
    Unimplemented(String),
    /// A file could not be loaded.
    Failed(String),
}

impl From<ParseError> for SetupError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Unimplemented(what) => SetupError::Unimplemented(what),
            ParseError::Bad(what) => SetupError::Failed(what),
        }
    }
}

/// State kept across the connections of one shim run.
pub struct Shared {
    /// The client's sessions, counted as they arrive.
    pub store: Arc<CountingStore>,
    ticketer: Option<Arc<RotatingTicketer>>,
    session_cache: Arc<MemorySessionCache>,
    /// The scheme the peer signed with in the last full handshake: what a
    /// resumed session reports, as BoringSSL keeps it in the session.
    pub session_scheme: Mutex<Option<SignatureScheme>>,
}

impl Shared {
    /// Fresh state: an empty session store, a new ticket key and session cache.
    pub fn new() -> Result<Self, SetupError> {
        let now = SystemClock.now();
        let ticketer = RotatingTicketer::new(Arc::new(entropy::HostEntropy), 7200, now)
            .map_err(|e| SetupError::Failed(format!("ticketer: {e}")))?;
        Ok(Shared {
            store: Arc::new(CountingStore::default()),
            ticketer: Some(Arc::new(ticketer)),
            session_cache: Arc::new(MemorySessionCache::new(16)),
            session_scheme: Mutex::new(None),
        })
    }
}

/// A session store that counts the sessions (tickets) it is given, so the
/// shim can check that a TLS 1.3 server sent one.
#[derive(Debug)]
pub struct CountingStore {
    inner: MemorySessionStore,
    received: AtomicUsize,
}

impl Default for CountingStore {
    fn default() -> Self {
        CountingStore {
            inner: MemorySessionStore::new(4),
            received: AtomicUsize::new(0),
        }
    }
}

impl CountingStore {
    /// How many sessions have been stored so far.
    pub fn received(&self) -> usize {
        self.received.load(Ordering::Relaxed)
    }
}

impl ClientSessionStore for CountingStore {
    fn put(&self, server_name: &str, ticket: StoredTicket) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.inner.put(server_name, ticket);
    }
    fn take(&self, server_name: &str, now: UnixTime) -> Option<StoredTicket> {
        self.inner.take(server_name, now)
    }
    fn put_tls12(&self, server_name: &str, session: StoredSession12) {
        self.received.fetch_add(1, Ordering::Relaxed);
        self.inner.put_tls12(server_name, session);
    }
    fn take_tls12(&self, server_name: &str, now: UnixTime) -> Option<StoredSession12> {
        self.inner.take_tls12(server_name, now)
    }
}

/// The certificate verifier of BoringSSL's shim: any chain is accepted
/// unless `-verify-fail`, handshake signatures are checked, and the scheme
/// the peer signed with is recorded for `-expect-peer-signature-algorithm`.
///
/// `-verify-fail` refuses the chain only with `-verify-peer` (BoringSSL's
/// clients otherwise run in soft-fail mode: the failure is recorded, the
/// handshake goes on). The refusal sends what BoringSSL's verify callback
/// sends: handshake_failure, or bad_certificate for the custom callback
/// (BoringSSL sends certificate_unknown there, for which tls-core has no
/// error).
pub struct ShimVerifier {
    fail: bool,
    custom_callback: bool,
    /// Set when this verifier refused the peer's chain.
    pub refused: AtomicBool,
    mandatory: bool,
    tls13: Vec<SignatureScheme>,
    tls12: Vec<SignatureScheme>,
    /// The scheme of the last handshake signature verified.
    pub seen: Mutex<Option<SignatureScheme>>,
}

impl ShimVerifier {
    fn new(o: &Options) -> Self {
        let (tls13, tls12) = if o.verify_prefs.is_empty() {
            (
                tls_core::verify::TLS13_SIGNATURE_SCHEMES.to_vec(),
                tls_core::crypto::TLS12_SIGNATURE_SCHEMES.to_vec(),
            )
        } else {
            let all: Vec<_> = o
                .verify_prefs
                .iter()
                .map(|&v| SignatureScheme::from_wire(v))
                .collect();
            let tls13 = all.iter().copied().filter(|s| !is_pkcs1(*s)).collect();
            (tls13, all)
        };
        ShimVerifier {
            fail: o.verify_fail && o.verify_peer,
            custom_callback: o.use_custom_verify_callback,
            refused: AtomicBool::new(false),
            mandatory: o.require_any_client_cert,
            tls13,
            tls12,
            seen: Mutex::new(None),
        }
    }

    fn check_chain(&self) -> Result<(), Error> {
        if !self.fail {
            // Without -verify-peer a -verify-fail is BoringSSL's soft fail:
            // the handshake goes on (-expect-verify-result then finds the
            // failure recorded, which a completed handshake implies here).
            return Ok(());
        }
        self.refused.store(true, Ordering::Relaxed);
        if self.custom_callback {
            Err(Error::BadCertificate("-verify-fail"))
        } else {
            Err(Error::HandshakeFailure("-verify-fail"))
        }
    }

    fn record(
        &self,
        scheme: SignatureScheme,
        result: Result<SignatureVerified, Error>,
    ) -> Result<SignatureVerified, Error> {
        if result.is_ok() {
            if let Ok(mut seen) = self.seen.lock() {
                *seen = Some(scheme);
            }
        }
        result
    }
}

/// True for the RSA PKCS#1 v1.5 schemes, which TLS 1.3 handshakes never use.
fn is_pkcs1(s: SignatureScheme) -> bool {
    matches!(s.to_wire() & 0x00ff, 0x01) && s.to_wire() >> 8 != 0x08
}

impl ServerCertVerifier for ShimVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.check_chain()?;
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls13_signature(
        &self,
        ee: &[u8],
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<SignatureVerified, Error> {
        self.record(scheme, verify_with_certificate_key(ee, scheme, msg, sig))
    }
    fn verify_tls12_signature(
        &self,
        ee: &[u8],
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<SignatureVerified, Error> {
        self.record(
            scheme,
            verify_tls12_with_certificate_key(ee, scheme, msg, sig),
        )
    }
    fn supported_schemes(&self) -> &[SignatureScheme] {
        &self.tls13
    }
    fn supported_tls12_schemes(&self) -> &[SignatureScheme] {
        &self.tls12
    }
}

impl ClientCertVerifier for ShimVerifier {
    fn verify_client_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        self.check_chain()?;
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls13_signature(
        &self,
        ee: &[u8],
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<SignatureVerified, Error> {
        self.record(scheme, verify_with_certificate_key(ee, scheme, msg, sig))
    }
    fn verify_tls12_signature(
        &self,
        ee: &[u8],
        scheme: SignatureScheme,
        msg: &[u8],
        sig: &[u8],
    ) -> Result<SignatureVerified, Error> {
        self.record(
            scheme,
            verify_tls12_with_certificate_key(ee, scheme, msg, sig),
        )
    }
    fn supported_schemes(&self) -> &[SignatureScheme] {
        &self.tls13
    }
    fn supported_tls12_schemes(&self) -> &[SignatureScheme] {
        &self.tls12
    }
    fn mandatory(&self) -> bool {
        self.mandatory
    }
}

/// A stapler with one fixed OCSP response (`-ocsp-response`).
struct FixedStaple(Vec<u8>);

impl OcspStapler for FixedStaple {
    fn staple(&self, _end_entity: &[u8]) -> Option<Vec<u8>> {
        Some(self.0.clone())
    }
}

/// The protocol versions the options allow, most preferred first.
fn versions(o: &Options) -> Result<Vec<ProtocolVersion>, SetupError> {
    let min = o.min_version.unwrap_or(0);
    let max = o.max_version.unwrap_or(u16::MAX);
    let mut out = Vec::new();
    for (v, off) in [
        (ProtocolVersion::Tls13, o.no_tls13),
        (ProtocolVersion::Tls12, o.no_tls12),
    ] {
        let wire = v.to_wire();
        if !off && (min..=max).contains(&wire) {
            out.push(v);
        }
    }
    if out.is_empty() {
        return Err(SetupError::Unimplemented(format!(
            "no version of TLS 1.2/1.3 in {min:#06x}..={max:#06x} (TLS < 1.2 is out of scope)"
        )));
    }
    Ok(out)
}

/// The groups of `-curves`, refusing any this engine lacks.
fn groups(o: &Options) -> Result<Option<Vec<NamedGroup>>, SetupError> {
    if o.curves.is_empty() {
        return Ok(None);
    }
    o.curves
        .iter()
        .map(|&c| {
            let g = NamedGroup::from_wire(c);
            if tls_core::crypto::supported_group(g) {
                Ok(g)
            } else {
                Err(SetupError::Unimplemented(format!("group {c}")))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// Our certificate and key, if the options name them.
fn certified_key(o: &Options) -> Result<Option<Arc<CertifiedKey>>, SetupError> {
    match (&o.cert_file, &o.key_file) {
        (Some(cert), Some(key)) => CertifiedKey::from_pem_files(cert, key)
            .map(|k| Some(Arc::new(k)))
            .map_err(|e| SetupError::Failed(format!("{cert} / {key}: {e}"))),
        (None, None) => Ok(None),
        _ => Err(SetupError::Failed(
            "-cert-file and -key-file go together".into(),
        )),
    }
}

/// A client configuration for one connection, with its verifier.
pub fn client(
    o: &Options,
    shared: &Shared,
) -> Result<(ClientConfig, Arc<ShimVerifier>), SetupError> {
    if o.ocsp_response.is_some() || o.select_alpn.is_some() {
        return Err(SetupError::Unimplemented(
            "server-only flag on a client".into(),
        ));
    }
    let verifier = Arc::new(ShimVerifier::new(o));
    let mut c = ClientConfig::new(
        verifier.clone(),
        Arc::new(entropy::HostEntropy),
        Arc::new(SystemClock),
    );
    c.versions = versions(o)?;
    if let Some(g) = groups(o)? {
        c.groups = g;
    }
    c.alpn_protocols = o.advertise_alpn.clone();
    c.session_store = Some(shared.store.clone());
    c.client_cert = certified_key(o)?;
    Ok((c, verifier))
}

/// A server configuration for one connection, with its client verifier.
pub fn server(
    o: &Options,
    shared: &Shared,
) -> Result<(ServerConfig, Arc<ShimVerifier>), SetupError> {
    let key = certified_key(o)?.ok_or_else(|| {
        SetupError::Unimplemented("a server without a certificate (PSK-only)".into())
    })?;
    let verifier = Arc::new(ShimVerifier::new(o));
    let mut c = ServerConfig::new(
        Arc::new(SingleCert(key)),
        Arc::new(entropy::HostEntropy),
        Arc::new(SystemClock),
    );
    c.versions = versions(o)?;
    if let Some(g) = groups(o)? {
        c.groups = g;
    }
    if let (Some(alpn), false) = (&o.select_alpn, o.decline_alpn) {
        c.alpn_protocols = vec![alpn.clone()];
    }
    if o.verify_peer {
        c.client_verifier = Some(verifier.clone());
    }
    c.ticketer = shared.ticketer.clone().map(|t| t as _);
    c.session_cache = Some(shared.session_cache.clone());
    c.ocsp_stapler = o
        .ocsp_response
        .clone()
        .map(|r| Arc::new(FixedStaple(r)) as _);
    Ok((c, verifier))
}
