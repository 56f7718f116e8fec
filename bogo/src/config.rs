//! tls-core configurations built from the shim's options.
//!
//! What lives across the connections of one run (the client's session store,
//! the server's ticket key and session cache) is made once in [`Shared`];
//! everything else is built per connection from that connection's options.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tls_core::config::{
    CertifiedKey, ClientConfig, ClientHelloInfo, ResolvesServerCert, ServerConfig, UnixTime,
};
use tls_core::stapling::OcspStapler;
use tls_core::tickets::{ClientSessionStore, MemorySessionStore, RotatingTicketer, StoredTicket};
use tls_core::verify::{
    verify_tls12_with_certificate_key, verify_with_certificate_key, ClientCertVerified,
    ClientCertVerifier, ServerCertVerified, ServerCertVerifier, SignatureVerified,
};
use tls_core::StoredSession12;
use tls_core::{
    Clock, Error, MemorySessionCache, NamedGroup, ProtocolVersion, SignatureScheme, SystemClock,
};

use crate::opts::{Credential, Options, ParseError};
use crate::policy::Policy;

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
    /// What the last full handshake learnt of the peer: what a resumed
    /// session reports, as BoringSSL keeps it in the session.
    pub session: Mutex<SessionFacts>,
}

/// What BoringSSL keeps in a session about the peer, and reports again
/// when the session is resumed.
#[derive(Debug, Default)]
pub struct SessionFacts {
    /// The scheme the peer signed with.
    pub scheme: Option<SignatureScheme>,
    /// The OCSP response the server stapled.
    pub ocsp_response: Option<Vec<u8>>,
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
            session: Mutex::new(SessionFacts::default()),
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
    /// Client: BoringSSL's OCSP callback is installed and fails
    /// (`-use-ocsp-callback -fail-ocsp-callback`).
    ocsp_callback_fails: bool,
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
            // A compliance policy narrows our defaults.
            let allowed = |s: &SignatureScheme| !matches!(o.policy, Some(p) if !p.allows(*s));
            (
                tls_core::verify::TLS13_SIGNATURE_SCHEMES
                    .iter()
                    .copied()
                    .filter(allowed)
                    .collect(),
                tls_core::internal::crypto::TLS12_SIGNATURE_SCHEMES
                    .iter()
                    .copied()
                    .filter(allowed)
                    .collect(),
            )
        } else {
            let all: Vec<_> = o
                .verify_prefs
                .iter()
                // 0xff01 is BoringSSL's internal value for TLS 1.0's MD5+SHA-1
                // RSA signatures: never sent (its runner refuses a hello
                // naming it), so a peer signing with it used a scheme we did
                // not offer.
                .filter(|&&v| v != 0xff01)
                .map(|&v| SignatureScheme::from_wire(v))
                .collect();
            // BoringSSL offers its verify preferences as given in both
            // versions (RFC 8446 §4.2.3 lets a TLS 1.3 signature_algorithms
            // name RSA PKCS#1 schemes for certificates); the engine refuses
            // such a scheme in a TLS 1.3 CertificateVerify: illegal_parameter.
            (all.clone(), all)
        };
        ShimVerifier {
            fail: o.verify_fail && o.verify_peer,
            // BoringSSL's client runs its OCSP callback once the chain is
            // verified, whether or not a response was stapled, when it
            // asked for stapling.
            ocsp_callback_fails: !o.server
                && o.enable_ocsp_stapling
                && o.use_ocsp_callback
                && o.fail_ocsp_callback,
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
            // BoringSSL's custom verify callback refuses with
            // certificate_unknown (its ssl_verify_invalid).
            Err(Error::CertificateUnknown("-verify-fail"))
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

impl ServerCertVerifier for ShimVerifier {
    fn verify_server_cert(
        &self,
        _end_entity: &[u8],
        _intermediates: &[Vec<u8>],
        _server_name: Option<&str>,
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        self.check_chain()?;
        if self.ocsp_callback_fails {
            return Err(Error::BadCertificateStatus("-fail-ocsp-callback"));
        }
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

/// An end-entity certificate (DER) and the OCSP response stapled with it.
type Staple = (Vec<u8>, Vec<u8>);

/// The server's OCSP responses (`-ocsp-response`), each for the
/// end-entity certificate of its credential.
struct Staples(Vec<Staple>);

impl OcspStapler for Staples {
    fn staple(&self, end_entity: &[u8]) -> Option<Vec<u8>> {
        self.0
            .iter()
            .find(|(leaf, _)| leaf.as_slice() == end_entity)
            .map(|(_, response)| response.clone())
    }
}

/// The server's credentials in BoringSSL's preference order: those of
/// `-new-x509-credential` first, then the default one. The first whose key
/// the client can accept (`ClientHelloInfo::accepts_key`: a scheme it offers
/// for the negotiated version; in TLS 1.2 an ECDSA curve it offered) is
/// presented, as BoringSSL selects (tls-core then picks the scheme); the
/// choice is recorded for
/// `-expect-selected-credential`. When none can, the first is presented
/// unrecorded, and the engine refuses the handshake for want of a common
/// scheme, as BoringSSL does (a `None` from a resolver means "no
/// certificate for this name" to tls-core: unrecognized_name).
pub struct Credentials {
    /// Each credential with its index (-1 for the default one).
    keys: Vec<(i32, Arc<CertifiedKey>)>,
    /// The index of the credential last presented.
    pub selected: Mutex<Option<i32>>,
}

impl ResolvesServerCert for Credentials {
    fn resolve(&self, hello: &ClientHelloInfo<'_>) -> Option<Arc<CertifiedKey>> {
        // A key that signs with a scheme the client offers for the
        // negotiated version, on a curve it offered in TLS 1.2.
        let fits = self.keys.iter().find(|(_, k)| hello.accepts_key(k.key()));
        if let (Some((index, _)), Ok(mut selected)) = (fits, self.selected.lock()) {
            *selected = Some(*index);
        }
        fits.or(self.keys.first()).map(|(_, key)| key.clone())
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

/// The groups of a compliance policy, or of `-curves` (the classical groups
/// and the ML-KEM hybrids; refusing any this engine lacks).
fn groups(o: &Options) -> Result<Option<Vec<NamedGroup>>, SetupError> {
    if let Some(policy) = o.policy {
        if !o.curves.is_empty() || !o.verify_prefs.is_empty() {
            return Err(SetupError::Unimplemented(
                "a compliance policy with -curves or -verify-prefs".into(),
            ));
        }
        return Ok(Some(policy.groups()));
    }
    if o.curves.is_empty() {
        return Ok(None);
    }
    o.curves
        .iter()
        .map(|&c| {
            let g = NamedGroup::from_wire(c);
            // The post-quantum hybrids (TLS 1.3 only: tls-core leaves them
            // out of a TLS 1.2 hello and never negotiates them there).
            let hybrid = [
                NamedGroup::X25519MlKem768,
                NamedGroup::Secp256r1MlKem768,
                NamedGroup::Secp384r1MlKem1024,
            ];
            if tls_core::internal::crypto::supported_group(g) || hybrid.contains(&g) {
                Ok(g)
            } else {
                Err(SetupError::Unimplemented(format!("group {c}")))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// The default credential of the options.
fn default_credential(o: &Options) -> Credential {
    Credential {
        cert_file: o.cert_file.clone(),
        key_file: o.key_file.clone(),
        ocsp_response: o.ocsp_response.clone(),
        signing_prefs: o.signing_prefs.clone(),
    }
}

/// A credential's certificate and key, if both are named, checked against
/// its `-signing-prefs`.
fn load_credential(
    c: &Credential,
    policy: Option<Policy>,
) -> Result<Option<Arc<CertifiedKey>>, SetupError> {
    let key = load_key(&c.cert_file, &c.key_file)?;
    if let Some(key) = &key {
        check_signing_prefs(&c.signing_prefs, key)?;
        check_policy(policy, key)?;
    }
    Ok(key)
}

/// A compliance policy is honoured for our signatures when every scheme
/// tls-core may sign with using this key is one the policy allows (see
/// `policy`).
fn check_policy(policy: Option<Policy>, key: &CertifiedKey) -> Result<(), SetupError> {
    let Some(policy) = policy else {
        return Ok(());
    };
    let ours = key.key().tls12_schemes();
    if ours.iter().all(|s| policy.allows(*s)) {
        Ok(())
    } else {
        Err(SetupError::Unimplemented(format!(
            "{policy:?}: tls-core may sign with {ours:?} with this key"
        )))
    }
}

/// `-signing-prefs` restricts and orders the schemes BoringSSL signs with.
/// tls-core signs with the first of its key's own schemes (a fixed list,
/// best first) that the peer offers, so the flag is honoured exactly when
/// that list, in that order, is what the preferences leave for this key;
/// any other list is unimplemented (exit 89).
fn check_signing_prefs(prefs: &[u16], key: &CertifiedKey) -> Result<(), SetupError> {
    if prefs.is_empty() {
        return Ok(());
    }
    let ours: Vec<u16> = key
        .key()
        .tls12_schemes()
        .iter()
        .map(|s| s.to_wire())
        .collect();
    let left: Vec<u16> = prefs.iter().copied().filter(|p| ours.contains(p)).collect();
    if left == ours {
        Ok(())
    } else {
        Err(SetupError::Unimplemented(format!(
            "-signing-prefs {prefs:?}: tls-core signs with {ours:?} in that order"
        )))
    }
}

/// A certificate and key from PEM files, if both are named.
fn load_key(
    cert: &Option<String>,
    key: &Option<String>,
) -> Result<Option<Arc<CertifiedKey>>, SetupError> {
    match (cert, key) {
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
    let credential_ocsp = o.credentials.iter().any(|c| c.ocsp_response.is_some());
    if o.ocsp_response.is_some() || credential_ocsp || o.select_alpn.is_some() {
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
    if let Some(policy) = o.policy {
        c.cipher_suites = policy.cipher_suites();
    }
    if let Some(g) = groups(o)? {
        c.groups = g;
    }
    c.alpn_protocols = o.advertise_alpn.clone();
    c.session_store = Some(shared.store.clone());
    c.request_ocsp = o.enable_ocsp_stapling;
    c.client_cert = client_credential(o)?;
    Ok((c, verifier))
}

/// The client's certificate. tls-core's client has one certificate, sent
/// when asked, so the shim can stand for BoringSSL's client only when one
/// credential is configured (BoringSSL's selection among several has no
/// counterpart).
fn client_credential(o: &Options) -> Result<Option<Arc<CertifiedKey>>, SetupError> {
    let default = load_credential(&default_credential(o), o.policy)?;
    match (o.credentials.as_slice(), default) {
        ([], default) => Ok(default),
        ([only], None) => load_credential(only, o.policy),
        _ => Err(SetupError::Unimplemented(
            "client certificate selection among several credentials".into(),
        )),
    }
}

/// A server configuration for one connection, with its client verifier and
/// its credentials.
pub fn server(
    o: &Options,
    shared: &Shared,
) -> Result<(ServerConfig, Arc<ShimVerifier>, Arc<Credentials>), SetupError> {
    if o.fail_ocsp_callback {
        // tls-core's stapler can only staple or not, not fail the handshake.
        return Err(SetupError::Unimplemented(
            "a server OCSP callback that fails".into(),
        ));
    }
    let (credentials, staples) = server_credentials(o)?;
    let verifier = Arc::new(ShimVerifier::new(o));
    let mut c = ServerConfig::new(
        credentials.clone(),
        Arc::new(entropy::HostEntropy),
        Arc::new(SystemClock),
    );
    c.versions = versions(o)?;
    if let Some(policy) = o.policy {
        c.cipher_suites = policy.cipher_suites();
    }
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
    // BoringSSL's callback declining (-decline-ocsp-callback) staples
    // nothing, as if the client had not asked; supplying the response from
    // the callback (-set-ocsp-in-callback) staples the same one.
    let declined = o.use_ocsp_callback && o.decline_ocsp_callback;
    if !staples.is_empty() && !declined {
        c.ocsp_stapler = Some(Arc::new(Staples(staples)));
    }
    Ok((c, verifier, credentials))
}

/// The server's credentials (each with its OCSP response, if any).
fn server_credentials(o: &Options) -> Result<(Arc<Credentials>, Vec<Staple>), SetupError> {
    let mut keys = Vec::new();
    let mut staples = Vec::new();
    let default = default_credential(o);
    let numbered = o.credentials.iter().zip(0..);
    for (credential, index) in numbered.chain([(&default, -1)]) {
        let Some(key) = load_credential(credential, o.policy)? else {
            continue;
        };
        if let (Some(response), Some(leaf)) = (&credential.ocsp_response, key.chain().first()) {
            staples.push((leaf.clone(), response.clone()));
        }
        keys.push((index, key));
    }
    if keys.is_empty() {
        return Err(SetupError::Unimplemented(
            "a server without a certificate (PSK-only)".into(),
        ));
    }
    let credentials = Credentials {
        keys,
        selected: Mutex::new(None),
    };
    Ok((Arc::new(credentials), staples))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_map_the_classical_groups_and_the_hybrids() {
        let o = Options {
            curves: vec![0x11ec, 0x11eb, 0x11ed, 29, 23, 24],
            ..Options::default()
        };
        let want = vec![
            NamedGroup::X25519MlKem768,
            NamedGroup::Secp256r1MlKem768,
            NamedGroup::Secp384r1MlKem1024,
            NamedGroup::X25519,
            NamedGroup::Secp256r1,
            NamedGroup::Secp384r1,
        ];
        assert_eq!(groups(&o).unwrap(), Some(want));
        // P-521 and the Kyber draft are out of scope: the test is unimplemented.
        for c in [25, 0x6399] {
            let o = Options {
                curves: vec![c],
                ..Options::default()
            };
            assert!(matches!(groups(&o), Err(SetupError::Unimplemented(_))));
        }
    }
}
