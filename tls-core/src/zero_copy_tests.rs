//! [`Connection::write_with`] and [`Connection::feed_with`]: the same
//! behaviour as `write` and `feed` in every state, without the copies.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use core::convert::Infallible;

use crate::conn::{Connection, Event};
use crate::crypto::RecordKey12;
use crate::crypto::{tls13_suite, TrafficKey};
use crate::error::Error;
use crate::msgs::enums::{CipherSuite, ProtocolVersion};
use crate::record::{HEADER_LEN, MAX_PLAINTEXT};
use crate::support::{configs, pki_p256, pump, read_all, take};
use crate::tls12::suites::tls12_suite;

const TLS13_SUITES: [CipherSuite; 3] = [
    CipherSuite::Tls13Aes128GcmSha256,
    CipherSuite::Tls13Aes256GcmSha384,
    CipherSuite::Tls13Chacha20Poly1305Sha256,
];
const TLS12_SUITES: [CipherSuite; 3] = [
    CipherSuite::EcdheEcdsaAes128GcmSha256,
    CipherSuite::EcdheEcdsaAes256GcmSha384,
    CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
];

fn all_suites() -> impl Iterator<Item = CipherSuite> {
    TLS13_SUITES.into_iter().chain(TLS12_SUITES)
}

fn is_tls12(suite: CipherSuite) -> bool {
    tls12_suite(suite).is_some()
}

/// A client and a server agreeing on `suite` only, not yet connected.
fn pair(suite: CipherSuite) -> (Connection, Connection) {
    let version = if is_tls12(suite) {
        ProtocolVersion::Tls12
    } else {
        ProtocolVersion::Tls13
    };
    let (mut cc, mut sc) = configs(pki_p256());
    cc.cipher_suites = vec![suite];
    cc.versions = vec![version];
    sc.cipher_suites = vec![suite];
    sc.versions = vec![version];
    (
        Connection::client(Arc::new(cc), Some("localhost")).unwrap(),
        Connection::server(Arc::new(sc)),
    )
}

fn connected(suite: CipherSuite) -> (Connection, Connection) {
    let (mut client, mut server) = pair(suite);
    pump(&mut client, &mut server).unwrap();
    assert_eq!(client.next_event(), Some(Event::HandshakeComplete));
    assert_eq!(server.next_event(), Some(Event::HandshakeComplete));
    assert_eq!(client.negotiated().unwrap().suite, suite);
    (client, server)
}

/// A fill that copies as much of `data` as fits.
fn copy_from(data: &[u8]) -> impl FnOnce(&mut [u8]) -> Result<usize, Infallible> + '_ {
    move |buf| {
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

/// Writes all of `data` with `write_with`, `max` bytes at a time.
fn write_all_with(conn: &mut Connection, data: &[u8], max: usize) {
    let mut rest = data;
    while !rest.is_empty() {
        let n = conn.write_with(max, copy_from(rest)).unwrap().unwrap();
        assert_eq!(n, rest.len().min(max).min(MAX_PLAINTEXT));
        rest = &rest[n..];
    }
}

/// Feeds all of `wire` with `feed_with`, at most `max` bytes at a time.
fn feed_all_with(conn: &mut Connection, wire: &[u8], max: usize) {
    let mut rest = wire;
    while !rest.is_empty() {
        let n = conn.feed_with(max, copy_from(rest)).unwrap().unwrap();
        assert!(n > 0 && n <= max);
        rest = &rest[n..];
    }
}

/// The lengths of the records in `wire`.
fn record_lengths(wire: &[u8]) -> Vec<usize> {
    let mut lens = Vec::new();
    let mut rest = wire;
    while rest.len() >= HEADER_LEN {
        let len = HEADER_LEN + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        lens.push(len);
        rest = &rest[len..];
    }
    assert!(rest.is_empty(), "a partial record");
    lens
}

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 7 + seed) % 251) as u8).collect()
}

#[test]
fn write_with_and_feed_with_round_trip_for_every_suite() {
    for suite in all_suites() {
        let (mut client, mut server) = connected(suite);
        let data = pattern(3 * MAX_PLAINTEXT + 1234, 1);
        // Client to server: write_with in assorted sizes, feed_with whole.
        for max in [1, 1000, MAX_PLAINTEXT, 1 << 20] {
            write_all_with(&mut client, &data, max);
            let wire = take(&mut client);
            feed_all_with(&mut server, &wire, 1 << 20);
            assert_eq!(read_all(&mut server), data, "{suite:?} max {max}");
        }
        // Server to client: write_with, then feed_with a record at a time.
        write_all_with(&mut server, &data, MAX_PLAINTEXT);
        let wire = take(&mut server);
        assert_eq!(record_lengths(&wire).len(), 4);
        feed_all_with(&mut client, &wire, HEADER_LEN + MAX_PLAINTEXT + 256);
        assert_eq!(read_all(&mut client), data, "{suite:?}");
        assert!(client.error().is_none() && server.error().is_none());
    }
}

#[test]
fn write_with_gives_the_bytes_write_gives() {
    for suite in all_suites() {
        let (mut client, _server) = connected(suite);
        // The same key and sequence number for both writes.
        let reset_key = |conn: &mut Connection| {
            if let Some(s12) = tls12_suite(suite) {
                let key =
                    RecordKey12::new(s12.aead, &[3; 32][..s12.aead.key_len()], &[4; 12]).unwrap();
                conn.common.set_tls12_write_key(key);
            } else {
                let s13 = tls13_suite(suite).unwrap();
                let secret = vec![5; s13.hash.output_len()];
                conn.common
                    .set_write_key(TrafficKey::from_secret(s13, &secret).unwrap());
            }
        };
        let data = pattern(2 * MAX_PLAINTEXT + 99, 2);
        reset_key(&mut client);
        client.write(&data).unwrap();
        let by_write = take(&mut client);
        reset_key(&mut client);
        write_all_with(&mut client, &data, 1 << 20);
        let by_write_with = take(&mut client);
        assert_eq!(record_lengths(&by_write).len(), 3);
        assert_eq!(by_write, by_write_with, "{suite:?}");
    }
}

#[test]
fn fill_writes_where_the_record_is_sealed() {
    for suite in all_suites() {
        let (mut client, mut server) = connected(suite);
        let mut seen = Vec::new();
        for round in 0..3 {
            let mut at = 0;
            let n = client
                .write_with(MAX_PLAINTEXT, |buf| {
                    at = buf.as_ptr() as usize;
                    buf.fill(round);
                    Ok::<_, Infallible>(buf.len())
                })
                .unwrap()
                .unwrap();
            assert_eq!(n, MAX_PLAINTEXT);
            // TLS 1.2 AES-GCM's explicit nonce, TLS 1.3's inner content type.
            let (explicit, inner_type) = match suite {
                CipherSuite::EcdheEcdsaAes128GcmSha256 | CipherSuite::EcdheEcdsaAes256GcmSha384 => {
                    (8, 0)
                }
                CipherSuite::EcdheEcdsaChacha20Poly1305Sha256 => (0, 0),
                _ => (0, 1),
            };
            // The plaintext was encrypted where fill wrote it, in a buffer
            // that is reused from record to record.
            assert_eq!(
                client.pending_tls().as_ptr() as usize + HEADER_LEN + explicit,
                at
            );
            seen.push(at);
            let wire = take(&mut client);
            assert_eq!(
                wire.len(),
                HEADER_LEN + explicit + MAX_PLAINTEXT + inner_type + 16
            );
            // Received data is read where it was decrypted.
            let mut landed = 0;
            server
                .feed_with(wire.len(), |buf| {
                    landed = buf.as_ptr() as usize;
                    buf[..wire.len()].copy_from_slice(&wire);
                    Ok::<_, Infallible>(wire.len())
                })
                .unwrap()
                .unwrap();
            let plain = server.peek_plaintext();
            assert_eq!(plain, vec![round; MAX_PLAINTEXT]);
            assert_eq!(plain.as_ptr() as usize, landed + HEADER_LEN + explicit);
            server.consume_plaintext(MAX_PLAINTEXT);
        }
        assert!(seen.iter().all(|&at| at == seen[0]), "{suite:?}: {seen:x?}");
    }
}

#[test]
fn steady_writes_reuse_one_buffer() {
    for suite in all_suites() {
        let (mut client, _server) = connected(suite);
        let mut at = Vec::new();
        for round in 0..4u8 {
            if round % 2 == 0 {
                client.write(&[round; MAX_PLAINTEXT]).unwrap();
            } else {
                write_all_with(&mut client, &[round; MAX_PLAINTEXT], MAX_PLAINTEXT);
            }
            at.push(client.pending_tls().as_ptr() as usize);
            // No larger than the one record's worth that is kept when drained.
            let sendable = &client.common.sendable;
            assert!(sendable.capacity() <= HEADER_LEN + crate::record::MAX_CIPHERTEXT);
            assert!(sendable.initialised() >= sendable.len());
            take(&mut client);
        }
        assert!(at.iter().all(|&a| a == at[0]), "{suite:?}: {at:x?}");
    }
}

#[test]
fn received_records_alternate_between_two_initialised_buffers() {
    let (mut client, mut server) = connected(CipherSuite::Tls13Aes128GcmSha256);
    let mut buffers = Vec::new();
    for round in 0..6u8 {
        client.write(&[round; MAX_PLAINTEXT]).unwrap();
        let wire = take(&mut client);
        feed_all_with(&mut server, &wire, wire.len());
        buffers.push(server.peek_plaintext().as_ptr() as usize);
        assert_eq!(read_all(&mut server), [round; MAX_PLAINTEXT]);
        // The drained buffers keep their memory initialised for reuse.
        assert!(server.common.plaintext.initialised() >= wire.len());
    }
    assert_ne!(buffers[0], buffers[1]);
    for (i, b) in buffers.iter().enumerate() {
        assert_eq!(*b, buffers[i % 2], "round {i}");
    }
}

#[test]
fn data_written_before_the_handshake_arrives_after_it() {
    for suite in [
        CipherSuite::Tls13Aes128GcmSha256,
        CipherSuite::EcdheEcdsaChacha20Poly1305Sha256,
    ] {
        let (mut client, mut server) = pair(suite);
        let data = pattern(MAX_PLAINTEXT + 10, 3);
        // A fill that fails or writes nothing holds nothing.
        assert_eq!(
            client.write_with(100, |buf| {
                buf.fill(0xee);
                Err("would block")
            }),
            Ok(Err("would block"))
        );
        assert_eq!(client.write_with(100, |_| Ok::<_, ()>(0)), Ok(Ok(0)));
        assert_eq!(
            client.write_with(100, |_| Ok::<_, ()>(101)),
            Err(Error::Misuse("fill wrote more than it was given"))
        );
        write_all_with(&mut client, &data[..1000], 1 << 20);
        client.write(&data[1000..2000]).unwrap();
        write_all_with(&mut client, &data[2000..], 1 << 20);
        assert!(client.is_handshaking());
        // The handshake, with server input through feed_with byte by byte.
        for _ in 0..10 {
            let to_server = take(&mut client);
            let to_client = take(&mut server);
            if to_server.is_empty() && to_client.is_empty() {
                break;
            }
            feed_all_with(&mut server, &to_server, 1);
            client.feed(&to_client).unwrap();
        }
        assert!(!client.is_handshaking() && !server.is_handshaking());
        assert_eq!(read_all(&mut server), data, "{suite:?}");
    }
}

#[test]
fn after_close_or_failure_fill_is_not_called() {
    let never = |_: &mut [u8]| -> Result<usize, ()> { panic!("fill called") };
    // Closed before and after the handshake.
    let (mut client, _server) = pair(CipherSuite::Tls13Aes128GcmSha256);
    client.close();
    assert_eq!(client.write_with(10, never), Err(Error::Closed));
    let (mut client, mut server) = connected(CipherSuite::Tls13Aes128GcmSha256);
    client.close();
    assert_eq!(client.write_with(10, never), Err(Error::Closed));
    assert_eq!(client.write(b"x"), Err(Error::Closed));
    // The server reads the close_notify; later bytes are read and ignored,
    // as `feed` ignores them.
    let wire = take(&mut client);
    feed_all_with(&mut server, &wire, 1000);
    assert!(server.peer_closed());
    assert_eq!(
        server.feed_with(10, copy_from(b"\x17\x03\x03\x00\x01x")),
        Ok(Ok(6))
    );
    assert_eq!(server.feed(b"junk"), Ok(()));
    assert!(server.error().is_none() && server.plaintext_len() == 0);
    // A failed connection: every call returns its error.
    let (mut client, mut server) = connected(CipherSuite::Tls13Aes128GcmSha256);
    let junk = b"GET / HTTP/1.1\r\n";
    let err = server.feed_with(100, copy_from(junk)).unwrap_err();
    assert_eq!(server.error(), Some(&err));
    let alert = take(&mut server);
    assert!(!alert.is_empty(), "the alert is queued");
    assert_eq!(server.feed_with(10, never), Err(err.clone()));
    assert_eq!(server.write_with(10, never), Err(err.clone()));
    assert_eq!(server.feed(b"x"), Err(err.clone()));
    assert!(take(&mut server).is_empty());
    client.feed(&alert).unwrap_err();
    let err = client.error().cloned().unwrap();
    assert_eq!(client.write_with(10, never), Err(err.clone()));
    assert_eq!(client.feed_with(10, never), Err(err));
}

#[test]
fn a_failed_or_empty_fill_changes_nothing() {
    for suite in [
        CipherSuite::Tls13Chacha20Poly1305Sha256,
        CipherSuite::EcdheEcdsaAes128GcmSha256,
    ] {
        let (mut client, mut server) = connected(suite);
        for max in [0, 1, MAX_PLAINTEXT] {
            assert_eq!(
                client.write_with(max, |buf| {
                    buf.fill(0xee);
                    Err("would block")
                }),
                Ok(Err("would block"))
            );
            assert_eq!(client.write_with(max, |_| Ok::<_, ()>(0)), Ok(Ok(0)));
            assert_eq!(
                client.write_with(max, |buf| Ok::<_, ()>(buf.len() + 1)),
                Err(Error::Misuse("fill wrote more than it was given"))
            );
            assert!(!client.wants_write());
            assert!(client.error().is_none());
        }
        // The same for the receiving side, with a partial record held.
        client.write(b"hello").unwrap();
        let wire = take(&mut client);
        feed_all_with(&mut server, &wire[..3], 3);
        for max in [0, 1, 100] {
            assert_eq!(
                server.feed_with(max, |buf| {
                    buf.fill(0xee);
                    Err("would block")
                }),
                Ok(Err("would block"))
            );
            assert_eq!(server.feed_with(max, |_| Ok::<_, ()>(0)), Ok(Ok(0)));
            assert_eq!(
                server.feed_with(max, |buf| Ok::<_, ()>(buf.len() + 1)),
                Err(Error::Misuse("fill wrote more than it was given"))
            );
            assert!(server.error().is_none());
        }
        feed_all_with(&mut server, &wire[3..], 1 << 20);
        assert_eq!(read_all(&mut server), b"hello");
        // Both still work, and the sequence numbers did not move.
        write_all_with(&mut server, b"world", 5);
        let wire = take(&mut server);
        feed_all_with(&mut client, &wire, 1);
        assert_eq!(read_all(&mut client), b"world");
    }
}

#[test]
fn max_beyond_a_record_seals_one_full_record() {
    for suite in all_suites() {
        let (mut client, mut server) = connected(suite);
        let mut given = 0;
        let n = client
            .write_with(usize::MAX, |buf| {
                given = buf.len();
                buf.fill(9);
                Ok::<_, Infallible>(buf.len())
            })
            .unwrap()
            .unwrap();
        assert_eq!((given, n), (MAX_PLAINTEXT, MAX_PLAINTEXT));
        let wire = take(&mut client);
        assert_eq!(record_lengths(&wire).len(), 1);
        // feed_with hands out no more than one full record's room.
        let mut given = 0;
        server
            .feed_with(usize::MAX, |buf| {
                given = buf.len();
                buf[..wire.len()].copy_from_slice(&wire);
                Ok::<_, Infallible>(wire.len())
            })
            .unwrap()
            .unwrap();
        assert_eq!(given, HEADER_LEN + crate::record::MAX_CIPHERTEXT);
        assert_eq!(read_all(&mut server), [9; MAX_PLAINTEXT]);
    }
}

#[test]
fn keys_are_updated_automatically_before_the_record_limit() {
    let (mut client, mut server) = connected(CipherSuite::Tls13Aes256GcmSha384);
    client.common.records_per_key = 3;
    let data = pattern(10 * MAX_PLAINTEXT, 4);
    for (i, chunk) in data.chunks(MAX_PLAINTEXT).enumerate() {
        if i == 3 {
            // The key is due for an update: a failed or empty fill sends
            // nothing, not even the KeyUpdate.
            assert_eq!(client.write_with(10, |_| Err(())), Ok(Err(())));
            assert_eq!(client.write_with(10, |_| Ok::<_, ()>(0)), Ok(Ok(0)));
            assert_eq!(record_lengths(client.pending_tls()).len(), 3);
        }
        write_all_with(&mut client, chunk, 1 << 20);
    }
    let wire = take(&mut client);
    // 10 data records and 3 KeyUpdates (after records 3, 6 and 9 of each key).
    let lens = record_lengths(&wire);
    let key_update = HEADER_LEN + 5 + 1 + 16;
    let full = HEADER_LEN + MAX_PLAINTEXT + 1 + 16;
    assert_eq!(
        lens,
        [
            full, full, full, key_update, full, full, full, key_update, full, full, full,
            key_update, full
        ]
    );
    feed_all_with(&mut server, &wire, 1 << 20);
    assert_eq!(read_all(&mut server), data);
}

#[test]
fn feed_with_takes_records_cut_anywhere() {
    for suite in [
        CipherSuite::Tls13Aes128GcmSha256,
        CipherSuite::EcdheEcdsaAes128GcmSha256,
    ] {
        let (mut client, mut server) = connected(suite);
        let data = pattern(2 * MAX_PLAINTEXT + 5000, 5);
        for piece in [
            1,
            2,
            7,
            100,
            4096,
            16_000,
            HEADER_LEN + MAX_PLAINTEXT + 256,
            1 << 20,
        ] {
            // Small and large records, several at once.
            client.write(b"a").unwrap();
            client.write(&data).unwrap();
            write_all_with(&mut client, b"bc", 10);
            if !is_tls12(suite) {
                client.update_keys(true).unwrap();
            }
            write_all_with(&mut client, &data, 3000);
            let wire = take(&mut client);
            feed_all_with(&mut server, &wire, piece);
            let mut expected = b"a".to_vec();
            expected.extend_from_slice(&data);
            expected.extend_from_slice(b"bc");
            expected.extend_from_slice(&data);
            assert_eq!(
                read_all(&mut server),
                expected,
                "{suite:?} in pieces of {piece}"
            );
            // The server's answer to the KeyUpdate request arrives too.
            let answer = take(&mut server);
            feed_all_with(&mut client, &answer, piece);
            assert!(client.error().is_none());
        }
    }
}

#[test]
fn queued_handshake_records_keep_their_place() {
    let (mut client, mut server) = connected(CipherSuite::Tls13Aes128GcmSha256);
    write_all_with(&mut client, b"one", 100);
    // A KeyUpdate queued between two writes, nothing taken out meanwhile.
    client.update_keys(false).unwrap();
    write_all_with(&mut client, b"two", 100);
    client.write(b"three").unwrap();
    write_all_with(&mut client, b"four", 100);
    let wire = take(&mut client);
    assert_eq!(
        record_lengths(&wire),
        [25, 27, 25, 27, 26],
        "data, KeyUpdate, data, data, data"
    );
    // Each record opens only under its own key, so the order is checked too.
    feed_all_with(&mut server, &wire, 1);
    assert_eq!(read_all(&mut server), b"onetwothreefour");
    // A KeyUpdate the server answers is queued before the data it writes next.
    client.update_keys(true).unwrap();
    let wire = take(&mut client);
    server.feed(&wire).unwrap();
    write_all_with(&mut server, b"reply", 100);
    let wire = take(&mut server);
    assert_eq!(record_lengths(&wire), [27, 27]);
    feed_all_with(&mut client, &wire, 3);
    assert_eq!(read_all(&mut client), b"reply");
}
