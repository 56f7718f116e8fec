//! Connection admission, as [`crate::config::Limits`] describes it: the
//! open-file limit and the connection limit derived from it, the table of
//! connections still in their handshake (where the oldest one that has not
//! sent a complete ClientHello makes way for a newcomer), and the count of
//! connections per source address.
//!
//! Why eviction: a handshake timeout alone lets a few hundred silent sockets
//! hold every handshake place for its whole length. A real client sends its
//! ClientHello right after connecting, so among the connections that have
//! not sent one, the oldest is the least likely to be a real client; closing
//! it keeps the handshake places turning over at the rate newcomers arrive.
//! A connection that has sent its ClientHello is never evicted: it is
//! bounded by the handshake timeout, and an attacker must do the key
//! exchange to get there.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::config::MAX_CONNECTIONS_CEILING;

/// Descriptors kept back for listeners, log files, the metrics endpoint,
/// reloads reading certificate files, and the like.
const RESERVED_FDS: u64 = 64;
/// Descriptors a relayed connection takes: the client's and the target's.
const FDS_PER_CONNECTION: u64 = 2;

/// Raises the soft open-file limit to the hard one, as servers do at start,
/// and returns the limit in force (1024 when it cannot be read).
pub fn raise_nofile_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 1024;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim.rlim_cur = lim.rlim_max;
        }
    }
    lim.rlim_cur
}

/// The connection limit of a service that set none: an equal share, among
/// the `services` that set none, of the descriptors left after a reserve,
/// two per connection; from 1 to [`MAX_CONNECTIONS_CEILING`].
pub fn default_max_connections(nofile: u64, services: usize) -> usize {
    let share = nofile.saturating_sub(RESERVED_FDS) / FDS_PER_CONNECTION;
    let share = share / u64::try_from(services.max(1)).unwrap_or(u64::MAX);
    usize::try_from(share)
        .unwrap_or(usize::MAX)
        .clamp(1, MAX_CONNECTIONS_CEILING)
}

/// One connection in the handshake table.
struct Entry {
    id: u64,
    hello: Arc<AtomicBool>,
    evict: Arc<Notify>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    /// In the order the connections were accepted, oldest first.
    handshaking: VecDeque<Entry>,
    /// Open connections per source address (only with a per-source limit).
    sources: HashMap<IpAddr, usize>,
}

/// The admission state of one service: its handshake table and its counts
/// per source address.
pub struct Admission {
    max_handshakes: usize,
    max_per_source: Option<usize>,
    state: Mutex<State>,
    /// Woken when a handshake place frees up.
    freed: Notify,
}

impl Admission {
    /// An empty table for at most `max_handshakes` handshakes at once and,
    /// when given, at most `max_per_source` connections per address.
    pub fn new(max_handshakes: usize, max_per_source: Option<usize>) -> Arc<Admission> {
        Arc::new(Admission {
            max_handshakes: max_handshakes.max(1),
            max_per_source,
            state: Mutex::new(State::default()),
            freed: Notify::new(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// True when a newcomer can get a place: a free one or one to evict.
    fn has_room(&self) -> bool {
        let st = self.lock();
        st.handshaking.len() < self.max_handshakes
            || st
                .handshaking
                .iter()
                .any(|e| !e.hello.load(Ordering::Relaxed))
    }

    /// Waits until a newcomer can get a handshake place. While every place
    /// is held by a connection past its ClientHello the service does not
    /// accept: the kernel's backlog holds newcomers.
    pub async fn room(&self) {
        loop {
            let freed = self.freed.notified();
            if self.has_room() {
                return;
            }
            freed.await;
        }
    }

    /// Gives a newly accepted connection a handshake place, telling the
    /// oldest connection without a ClientHello to close when the table is
    /// full (and waiting for a place when none can be evicted).
    pub async fn admit(self: &Arc<Self>) -> HandshakeSlot {
        loop {
            let freed = self.freed.notified();
            {
                let mut st = self.lock();
                if st.handshaking.len() >= self.max_handshakes {
                    let oldest_silent = st
                        .handshaking
                        .iter()
                        .position(|e| !e.hello.load(Ordering::Relaxed));
                    if let Some(victim) = oldest_silent.and_then(|i| st.handshaking.remove(i)) {
                        victim.evict.notify_one();
                    }
                }
                if st.handshaking.len() < self.max_handshakes {
                    let id = st.next_id;
                    st.next_id = st.next_id.wrapping_add(1);
                    let hello = Arc::new(AtomicBool::new(false));
                    let evict = Arc::new(Notify::new());
                    st.handshaking.push_back(Entry {
                        id,
                        hello: hello.clone(),
                        evict: evict.clone(),
                    });
                    let slot = HandshakeSlot {
                        admission: self.clone(),
                        id,
                        hello,
                        evict,
                    };
                    return slot;
                }
            }
            freed.await;
        }
    }

    /// Counts a connection from `ip`; `None` when that address already has
    /// its most connections.
    pub fn source(self: &Arc<Self>, ip: Option<IpAddr>) -> Option<SourceSlot> {
        let (Some(max), Some(ip)) = (self.max_per_source, ip) else {
            return Some(SourceSlot {
                admission: self.clone(),
                ip: None,
            });
        };
        let mut st = self.lock();
        let n = st.sources.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            admission: self.clone(),
            ip: Some(ip),
        })
    }

    /// Connections in their handshake now.
    #[cfg(test)]
    fn handshaking(&self) -> usize {
        self.lock().handshaking.len()
    }
}

/// A connection's handshake place; dropping it frees the place.
pub struct HandshakeSlot {
    admission: Arc<Admission>,
    id: u64,
    hello: Arc<AtomicBool>,
    evict: Arc<Notify>,
}

impl HandshakeSlot {
    /// Marks the connection as having sent a complete ClientHello: it is no
    /// longer evicted to make room.
    pub fn hello_received(&self) {
        self.hello.store(true, Ordering::Relaxed);
    }

    /// True once [`HandshakeSlot::hello_received`] was called.
    pub fn has_hello(&self) -> bool {
        self.hello.load(Ordering::Relaxed)
    }

    /// Completes when the connection was chosen to make room for a newcomer.
    pub async fn evicted(&self) {
        self.evict.notified().await
    }
}

impl Drop for HandshakeSlot {
    fn drop(&mut self) {
        let mut st = self.admission.lock();
        if let Some(i) = st.handshaking.iter().position(|e| e.id == self.id) {
            st.handshaking.remove(i);
        }
        drop(st);
        self.admission.freed.notify_waiters();
    }
}

/// A connection's count against its source address; dropping it gives it back.
pub struct SourceSlot {
    admission: Arc<Admission>,
    ip: Option<IpAddr>,
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let Some(ip) = self.ip else { return };
        let mut st = self.admission.lock();
        if let Some(n) = st.sources.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                st.sources.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limit_from_descriptors() {
        assert_eq!(default_max_connections(1024, 1), 480);
        assert_eq!(default_max_connections(1024, 2), 240);
        assert_eq!(default_max_connections(10, 1), 1);
        assert_eq!(
            default_max_connections(u64::MAX, 1),
            MAX_CONNECTIONS_CEILING
        );
        assert_eq!(default_max_connections(1 << 20, 0), 524_256);
    }

    #[tokio::test]
    async fn oldest_silent_handshake_makes_room() {
        let a = Admission::new(2, None);
        let first = a.admit().await;
        let second = a.admit().await;
        second.hello_received();
        assert!(second.has_hello() && !first.has_hello());
        // Full: the first (no ClientHello) is evicted, the second is kept.
        let third = a.admit().await;
        first.evicted().await;
        assert_eq!(a.handshaking(), 2);
        drop(first);
        assert_eq!(a.handshaking(), 2);
        // Both places past their ClientHello: no room until one ends.
        third.hello_received();
        assert!(!a.has_room());
        drop(second);
        assert!(a.has_room());
        a.room().await;
    }

    #[test]
    fn per_source_cap() {
        let a = Admission::new(10, Some(2));
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let x = a.source(Some(ip)).unwrap();
        let _y = a.source(Some(ip)).unwrap();
        assert!(a.source(Some(ip)).is_none());
        assert!(a.source(Some(other)).is_some());
        assert!(a.source(None).is_some());
        drop(x);
        assert!(a.source(Some(ip)).is_some());
    }
}
