//! Captures to TCP byte streams: pcap and pcapng files (Ethernet, Linux
//! cooked, raw IP and BSD loopback link types; IPv4 and IPv6), TCP segments
//! reassembled per connection and direction by sequence number, with
//! retransmissions dropped and gaps reported.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dir {
    /// From the client (the side that sent the SYN, or the ClientHello).
    ClientToServer,
    /// From the server.
    ServerToClient,
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dir::ClientToServer => "client -> server",
            Dir::ServerToClient => "server -> client",
        })
    }
}

/// One TCP connection's payload, in the order the capture saw it.
#[derive(Debug)]
pub struct Stream {
    /// The client's address.
    pub client: SocketAddr,
    /// The server's address.
    pub server: SocketAddr,
    /// Contiguous pieces of each direction's byte stream, ordered by the
    /// packet that delivered them.
    pub chunks: Vec<(Dir, Vec<u8>)>,
    /// Problems found while reassembling (a gap in a direction's bytes:
    /// packets the capture missed).
    pub problems: Vec<String>,
}

/// A capture file that cannot be read.
#[derive(Debug)]
pub struct CaptureError(pub String);

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CaptureError {}

fn err<T>(msg: impl Into<String>) -> Result<T, CaptureError> {
    Err(CaptureError(msg.into()))
}

/// A little reader over a byte slice with a chosen byte order.
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
    big_endian: bool,
}

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CaptureError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.data.len());
        match end.and_then(|end| Some((end, self.data.get(self.at..end)?))) {
            Some((end, out)) => {
                self.at = end;
                Ok(out)
            }
            None => err(format!("capture truncated at byte {}", self.at)),
        }
    }
    fn u32(&mut self) -> Result<u32, CaptureError> {
        let b: [u8; 4] = self
            .take(4)?
            .try_into()
            .map_err(|_| CaptureError("short".into()))?;
        Ok(if self.big_endian {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    }
    fn u16(&mut self) -> Result<u16, CaptureError> {
        let b: [u8; 2] = self
            .take(2)?
            .try_into()
            .map_err(|_| CaptureError("short".into()))?;
        Ok(if self.big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

/// A captured frame and its link type.
struct Frame<'a> {
    link: u32,
    data: &'a [u8],
}

/// The frames of a pcap or pcapng file.
fn frames(file: &[u8]) -> Result<Vec<Frame<'_>>, CaptureError> {
    let magic = file
        .get(..4)
        .ok_or_else(|| CaptureError("empty capture".into()))?;
    match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => pcap_frames(file, false),
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => pcap_frames(file, true),
        [0x0a, 0x0d, 0x0d, 0x0a] => pcapng_frames(file),
        _ => err("not a pcap or pcapng file"),
    }
}

fn pcap_frames(file: &[u8], big_endian: bool) -> Result<Vec<Frame<'_>>, CaptureError> {
    let mut r = Bytes {
        data: file,
        at: 0,
        big_endian,
    };
    r.take(20)?; // magic, version, zone, sigfigs, snaplen
    let link = r.u32()?;
    let mut out = Vec::new();
    while !r.done() {
        r.take(8)?; // timestamp
        let captured = r.u32()? as usize;
        r.u32()?; // original length
        out.push(Frame {
            link,
            data: r.take(captured)?,
        });
    }
    Ok(out)
}

fn pcapng_frames(file: &[u8]) -> Result<Vec<Frame<'_>>, CaptureError> {
    // The section header's byte-order magic decides the endianness.
    let big_endian = match file.get(8..12) {
        Some([0x1a, 0x2b, 0x3c, 0x4d]) => true,
        Some([0x4d, 0x3c, 0x2b, 0x1a]) => false,
        _ => return err("pcapng: bad byte-order magic"),
    };
    let mut r = Bytes {
        data: file,
        at: 0,
        big_endian,
    };
    let mut links = Vec::new();
    let mut out = Vec::new();
    while !r.done() {
        let typ = r.u32()?;
        let len = r.u32()? as usize;
        let body_len = len
            .checked_sub(12)
            .ok_or_else(|| CaptureError("pcapng: block too short".into()))?;
        let body = r.take(body_len)?;
        r.u32()?; // trailing length
        let mut b = Bytes {
            data: body,
            at: 0,
            big_endian,
        };
        match typ {
            0x0a0d_0d0a => links.clear(), // a new section: new interfaces
            1 => {
                let link = u32::from(b.u16()?);
                links.push(link);
            }
            6 => {
                let iface = b.u32()? as usize;
                b.take(8)?; // timestamp
                let captured = b.u32()? as usize;
                b.u32()?;
                let link = *links
                    .get(iface)
                    .ok_or_else(|| CaptureError("pcapng: packet on an unknown interface".into()))?;
                out.push(Frame {
                    link,
                    data: b.take(captured)?,
                });
            }
            3 => {
                let orig = b.u32()? as usize;
                let link = *links
                    .first()
                    .ok_or_else(|| CaptureError("pcapng: packet before any interface".into()))?;
                let n = orig.min(body.len().saturating_sub(4));
                out.push(Frame {
                    link,
                    data: b.take(n)?,
                });
            }
            _ => {} // statistics, name resolution, custom blocks
        }
    }
    Ok(out)
}

/// A TCP segment.
struct Segment<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    ack: bool,
    payload: &'a [u8],
}

/// The IP packet inside a frame, by link type; `None` for frames that are
/// not IP (ARP, ...).
fn ip_packet<'a>(frame: &Frame<'a>) -> Option<&'a [u8]> {
    let d = frame.data;
    let (ethertype, rest) = match frame.link {
        // Ethernet, with any 802.1Q tags.
        1 => {
            let mut at = 12;
            let mut et = u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]);
            while et == 0x8100 || et == 0x88a8 {
                at += 4;
                et = u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]);
            }
            (Some(et), d.get(at + 2..)?)
        }
        // Raw IP.
        12 | 101 | 228 | 229 => (None, d),
        // Linux cooked capture v1 (16-byte header, protocol at 14).
        113 => (
            Some(u16::from_be_bytes([*d.get(14)?, *d.get(15)?])),
            d.get(16..)?,
        ),
        // Linux cooked capture v2 (20-byte header, protocol first).
        276 => (
            Some(u16::from_be_bytes([*d.first()?, *d.get(1)?])),
            d.get(20..)?,
        ),
        // BSD loopback: a 4-byte address family in host order.
        0 | 108 => (None, d.get(4..)?),
        _ => return None,
    };
    match ethertype {
        None | Some(0x0800) | Some(0x86dd) => Some(rest),
        Some(_) => None,
    }
}

fn tcp_segment(ip: &[u8]) -> Option<Segment<'_>> {
    let version = ip.first()? >> 4;
    let (src, dst, tcp) = match version {
        4 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            if *ip.get(9)? != 6 {
                return None;
            }
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            // Frames can carry Ethernet padding past the IP length.
            let end = if total >= ihl {
                total.min(ip.len())
            } else {
                ip.len()
            };
            (
                IpAddr::V4(Ipv4Addr::from(src)),
                IpAddr::V4(Ipv4Addr::from(dst)),
                ip.get(ihl..end)?,
            )
        }
        6 => {
            // Extension headers are not followed: such packets are skipped.
            if *ip.get(6)? != 6 {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + len).min(ip.len());
            (
                IpAddr::V6(Ipv6Addr::from(src)),
                IpAddr::V6(Ipv6Addr::from(dst)),
                ip.get(40..end)?,
            )
        }
        _ => return None,
    };
    let sport = u16::from_be_bytes([*tcp.first()?, *tcp.get(1)?]);
    let dport = u16::from_be_bytes([*tcp.get(2)?, *tcp.get(3)?]);
    let seq = u32::from_be_bytes(tcp.get(4..8)?.try_into().ok()?);
    let offset = usize::from(tcp.get(12)? >> 4) * 4;
    let flags = *tcp.get(13)?;
    Some(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq,
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        payload: tcp.get(offset..)?,
    })
}

/// One direction of a connection being reassembled.
#[derive(Default)]
struct HalfStream {
    /// The sequence number of the first payload byte, once known.
    start: Option<u32>,
    /// Payload pieces: (offset from `start`, packet index, bytes).
    pieces: Vec<(u64, usize, Vec<u8>)>,
    /// The highest offset seen, to unwrap 32-bit sequence numbers.
    last: u64,
}

impl HalfStream {
    fn add(&mut self, seq: u32, index: usize, payload: &[u8]) {
        if payload.is_empty() {
            return; // SYNs, FINs and bare ACKs carry no stream bytes
        }
        let start = *self.start.get_or_insert(seq);
        // The 64-bit offset nearest the last one seen with these low 32 bits
        // (sequence numbers wrap every 4 GiB).
        let rel = u64::from(seq.wrapping_sub(start));
        let base = self.last & !0xffff_ffff;
        let offset = [
            base.checked_sub(1 << 32),
            Some(base),
            base.checked_add(1 << 32),
        ]
        .into_iter()
        .flatten()
        .map(|b| b + rel)
        .min_by_key(|o| o.abs_diff(self.last))
        .unwrap_or(rel);
        self.last = self.last.max(offset);
        self.pieces.push((offset, index, payload.to_vec()));
    }

    /// The stream's bytes in order, each piece tagged with the packet that
    /// first delivered it; stops at a gap, reported in `problems`.
    fn assemble(mut self, dir: Dir, problems: &mut Vec<String>) -> Vec<(usize, Dir, Vec<u8>)> {
        self.pieces.sort_by_key(|&(off, idx, _)| (off, idx));
        let mut next = 0u64;
        let mut out = Vec::new();
        for (off, idx, bytes) in self.pieces {
            let end = off + bytes.len() as u64;
            if end <= next {
                continue; // a retransmission of bytes already placed
            }
            if off > next {
                problems.push(format!(
                    "{dir}: {} bytes missing from the capture at stream offset {next}",
                    off - next
                ));
                break;
            }
            let skip = usize::try_from(next - off).unwrap_or(usize::MAX);
            out.push((idx, dir, bytes.get(skip..).unwrap_or_default().to_vec()));
            next = end;
        }
        out
    }
}

/// A connection being gathered.
struct Conn {
    client: SocketAddr,
    server: SocketAddr,
    /// The client was named by a SYN (else guessed from the first payload).
    sure: bool,
    halves: BTreeMap<Dir, HalfStream>,
    first_index: usize,
}

/// Reads a capture file and returns its TCP connections, in the order they
/// started. Connections on `port` only, when given (either end).
///
/// # Errors
///
/// The file is not a pcap/pcapng capture or is truncated.
pub fn read_streams(file: &[u8], port: Option<u16>) -> Result<Vec<Stream>, CaptureError> {
    let mut conns: Vec<Conn> = Vec::new();
    for (index, frame) in frames(file)?.iter().enumerate() {
        let Some(seg) = ip_packet(frame).and_then(tcp_segment) else {
            continue;
        };
        if port.is_some_and(|p| seg.src.port() != p && seg.dst.port() != p) {
            continue;
        }
        // A SYN without ACK opens a new connection (the 4-tuple may be reused).
        let opening = seg.syn && !seg.ack;
        let found = conns.iter().rposition(|c| {
            (c.client == seg.src && c.server == seg.dst)
                || (c.client == seg.dst && c.server == seg.src)
        });
        // A SYN after payload on the same addresses: the ports were reused.
        let reused = |c: &Conn| opening && c.halves.values().any(|h| !h.pieces.is_empty());
        let at = match found {
            Some(at) if !conns.get(at).is_some_and(reused) => at,
            _ => {
                // Without a SYN, the side that sends the first payload is
                // taken for the client until a ClientHello says otherwise.
                conns.push(Conn {
                    client: seg.src,
                    server: seg.dst,
                    sure: opening,
                    halves: BTreeMap::new(),
                    first_index: index,
                });
                conns.len() - 1
            }
        };
        let Some(conn) = conns.get_mut(at) else {
            continue;
        };
        if !conn.sure && seg.syn && !seg.ack {
            conn.client = seg.src;
            conn.server = seg.dst;
            conn.sure = true;
        } else if !conn.sure && seg.syn && seg.ack {
            conn.client = seg.dst;
            conn.server = seg.src;
            conn.sure = true;
        }
        let dir = if seg.src == conn.client {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        };
        let half = conn.halves.entry(dir).or_default();
        if seg.syn {
            // Data starts one past the SYN's sequence number.
            half.start.get_or_insert(seg.seq.wrapping_add(1));
        }
        half.add(seg.seq, index, seg.payload);
    }
    let mut out = Vec::new();
    conns.sort_by_key(|c| c.first_index);
    for conn in conns {
        let mut problems = Vec::new();
        let mut pieces = Vec::new();
        for (dir, half) in conn.halves {
            pieces.extend(half.assemble(dir, &mut problems));
        }
        pieces.sort_by_key(|&(idx, dir, _)| (idx, dir));
        let mut chunks: Vec<(Dir, Vec<u8>)> = pieces.into_iter().map(|(_, d, b)| (d, b)).collect();
        let (mut client, mut server) = (conn.client, conn.server);
        // Guessed direction: a ClientHello record starts the client's bytes.
        if !conn.sure && starts_with_server_bytes(&chunks) {
            std::mem::swap(&mut client, &mut server);
            for (dir, _) in &mut chunks {
                *dir = match dir {
                    Dir::ClientToServer => Dir::ServerToClient,
                    Dir::ServerToClient => Dir::ClientToServer,
                };
            }
        }
        out.push(Stream {
            client,
            server,
            chunks,
            problems,
        });
    }
    Ok(out)
}

/// True when the side taken for the client does not start with a
/// ClientHello record while the other side does.
fn starts_with_server_bytes(chunks: &[(Dir, Vec<u8>)]) -> bool {
    let first = |d: Dir| {
        chunks
            .iter()
            .find(|(dir, _)| *dir == d)
            .map(|(_, b)| b.as_slice())
    };
    let hello = |b: Option<&[u8]>| matches!(b, Some([0x16, 3, _, _, _, 1, ..]));
    !hello(first(Dir::ClientToServer)) && hello(first(Dir::ServerToClient))
}
