//! Every handshake message decoder (TLS 1.3 and 1.2, and through them every
//! extension decoder), plus alerts. Input: one byte of handshake type, then
//! the body. Whatever decodes must re-encode to something that decodes to
//! the same value, and to the same bytes except for the one documented
//! normalisation (an explicit empty extensions block in a hello).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_core::internal::msgs::alert::Alert;
use tls_core::internal::msgs::enums::HandshakeType;
use tls_core::internal::msgs::handshake::HandshakeMessage;
use tls_core::internal::msgs::handshake12::Message12;

/// The body of an encoded message (after the 4-byte header).
fn body(encoded: &[u8]) -> &[u8] {
    &encoded[4..]
}

fuzz_target!(|data: &[u8]| {
    let Some((&typ, input)) = data.split_first() else {
        return;
    };
    let typ = HandshakeType::from_wire(typ);
    if let Ok(msg) = HandshakeMessage::decode(typ, input) {
        let encoded = msg.to_vec();
        assert_eq!(encoded[0], typ.to_wire());
        let again = HandshakeMessage::decode(typ, body(&encoded)).expect("re-encoding decodes");
        assert_eq!(again, msg, "decode(encode(m)) != m");
        if body(&encoded) != input {
            // Only an explicit empty extensions block may vanish.
            let hello = matches!(typ, HandshakeType::ClientHello | HandshakeType::ServerHello);
            assert!(
                hello && input.len() == body(&encoded).len() + 2 && input.ends_with(&[0, 0]),
                "encode(decode(b)) != b for {typ:?}"
            );
        }
    }
    if let Ok(msg) = Message12::decode(typ, input) {
        let encoded = msg.to_vec();
        let again = Message12::decode(typ, body(&encoded)).expect("re-encoding decodes");
        assert_eq!(again, msg, "TLS 1.2: decode(encode(m)) != m");
    }
    if let Ok(alert) = Alert::decode(input) {
        assert_eq!(alert.encode().as_slice(), input);
    }
});
