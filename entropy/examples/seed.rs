//! Seeds a pool and prints 32 random bytes in hex.
//!
//! `cargo run -p entropy --example seed -- /path/to/stream` seeds from
//! xentropyd over that stream: a Unix socket, or a device/FIFO opened for
//! reading and writing (a Xen console such as `/dev/hvc1`). Without a path it
//! seeds from the host's getrandom.

use std::fs::OpenOptions;
use std::os::unix::fs::FileTypeExt;
use std::process::ExitCode;
use std::time::Duration;

use entropy::pool::{Pool, PoolConfig, SharedPool, SourceKind, StdClock};
use entropy::xentropyd::{IoStream, Xentropyd};
use entropy::{EntropySource, HostEntropy};

fn main() -> ExitCode {
    match run(std::env::args().nth(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("seed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(path: Option<String>) -> Result<(), Box<dyn std::error::Error>> {
    let mut pool = Pool::new(PoolConfig::default());
    match &path {
        Some(path) => {
            let is_socket = std::fs::metadata(path)?.file_type().is_socket();
            if is_socket {
                let x = Xentropyd::connect_unix(path, Duration::from_secs(10))?;
                pool.add_source("xentropyd", SourceKind::Conditioned, x);
            } else {
                // A console device or FIFO: no read timeout is available on
                // a plain file, so a silent daemon blocks here.
                let file = OpenOptions::new().read(true).write(true).open(path)?;
                let x = Xentropyd::handshake(IoStream(file))?;
                pool.add_source("xentropyd", SourceKind::Conditioned, x);
            }
            eprintln!("seeding from xentropyd at {path}");
        }
        None => {
            pool.add_source("host", SourceKind::Conditioned, HostEntropy);
            eprintln!("seeding from the host's getrandom");
        }
    }
    let shared = SharedPool::new(pool, StdClock::default());
    shared.seed()?;
    let mut out = [0u8; 32];
    shared.fill(&mut out)?;
    let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
    println!("{hex}");
    Ok(())
}
