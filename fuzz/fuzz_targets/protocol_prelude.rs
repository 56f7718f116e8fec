//! The application-protocol preludes (`tls_tunnel::protocol`: SMTP, IMAP,
//! POP3, NNTP, LDAP, PostgreSQL, HTTP CONNECT) on scripted peers, and the
//! LDAP BER parsers and the SOCKS request parser on the raw bytes.
//!
//! Input: a selector byte (low bits: the protocol; 0x80: server mode;
//! 0x40: credentials, for CONNECT or SMTP AUTH), a big-endian u16 `n`, then bytes cut after `n`
//! (or at the end): the far peer's (the TLS server in client mode, the
//! plaintext server in server mode) before the cut, the plaintext-side
//! peer's after it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tls_tunnel::config::Mode;
use tls_tunnel::protocol::script::{run, Script};
use tls_tunnel::protocol::socks::{self, Step};
use tls_tunnel::protocol::{ldap, pgsql, Credentials, Kind, Mechanism, Protocol};

fuzz_target!(|data: &[u8]| {
    let _ = ldap::parse_extended_response(data);
    let _ = ldap::parse_extended_request(data);
    for greeted in [false, true] {
        // What a step uses lies within the input.
        match socks::parse(data, greeted) {
            Step::Greeted { used, .. } | Step::Connect { used, .. } => assert!(used <= data.len()),
            Step::More | Step::Refuse { .. } => {}
        }
    }
    let [sel, hi, lo, rest @ ..] = data else {
        return;
    };
    let kind = Kind::ALL[usize::from(sel & 0x3f) % Kind::ALL.len()];
    let mode = if sel & 0x80 != 0 {
        Mode::Server
    } else {
        Mode::Client
    };
    if matches!(
        (mode, kind),
        (Mode::Server, Kind::Connect) | (_, Kind::Socks)
    ) {
        return; // refused by the configuration, or spoken inside TLS (parsed above)
    }
    let p = Protocol {
        kind,
        host: (kind == Kind::Connect).then(|| "db.example:443".to_string()),
        credentials: (sel & 0x40 != 0).then(|| Credentials {
            username: "user".into(),
            password: "pass".into(),
            // SMTP AUTH (LOGIN when 0x10), spoken on the far peer's bytes
            // after STARTTLS; Basic for CONNECT.
            mechanism: match kind {
                Kind::Smtp if sel & 0x10 != 0 => Mechanism::Login,
                Kind::Smtp => Mechanism::Plain,
                _ => Mechanism::Basic,
            },
        }),
        headers: (sel & 0x20 != 0)
            .then(|| "User-Agent: fuzz".to_string())
            .into_iter()
            .collect(),
    };
    let cut = usize::from(u16::from_be_bytes([*hi, *lo])).min(rest.len());
    let (far, near) = rest.split_at(cut);
    let (mut local, mut remote) = (Script::new(near), Script::new(far));
    let result = run(&p, mode, &mut local, &mut remote);
    if mode == Mode::Client && kind == Kind::Pgsql {
        // TLS starts exactly when the server answered S to our SSLRequest.
        assert_eq!(result.is_ok(), far.first() == Some(&b'S'));
        assert_eq!(remote.output, pgsql::SSL_REQUEST);
    }
    if mode == Mode::Server && kind == Kind::Pgsql && result.is_ok() {
        assert!(local.output.ends_with(b"S"));
    }
});
