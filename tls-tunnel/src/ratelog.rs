//! Rate-limited log lines: a flood of refused or failed connections must
//! not flood the log. Each service keeps, for each kind of line that an
//! outsider can cause at will, a budget of [`LINES_PER_SECOND`] lines a
//! second; lines past it are counted, and the count is written as one
//! summary line ("suppressed N similar lines") when the second is over.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines of one kind written per service and second before the rest are
/// only counted.
pub const LINES_PER_SECOND: u32 = 10;
const WINDOW: Duration = Duration::from_secs(1);

/// Kinds of line an outsider can cause once per connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A connection refused at accept (per-source limit).
    Refused,
    /// The closing line of a connection that never finished its handshake
    /// (failed, timed out, evicted, refused by the access rules).
    Failed,
    /// accept(2) itself failed (out of descriptors).
    AcceptError,
    /// The line that opens a connection (before anything is known of it).
    Accepted,
}

impl Kind {
    const ALL: [Kind; 4] = [
        Kind::Refused,
        Kind::Failed,
        Kind::AcceptError,
        Kind::Accepted,
    ];

    fn index(self) -> usize {
        match self {
            Kind::Refused => 0,
            Kind::Failed => 1,
            Kind::AcceptError => 2,
            Kind::Accepted => 3,
        }
    }

    /// The name used in summary lines.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Refused => "connection refused",
            Kind::Failed => "connection failed",
            Kind::AcceptError => "accept failed",
            Kind::Accepted => "connection accepted",
        }
    }
}

#[derive(Debug)]
struct Window {
    start: Instant,
    written: u32,
    suppressed: u64,
}

/// The log budgets of one service.
#[derive(Debug)]
pub struct LogLimits {
    service: String,
    windows: [Mutex<Window>; 4],
}

impl LogLimits {
    /// Fresh budgets for `service`.
    pub fn new(service: &str) -> LogLimits {
        let now = Instant::now();
        let window = || {
            Mutex::new(Window {
                start: now,
                written: 0,
                suppressed: 0,
            })
        };
        LogLimits {
            service: service.to_string(),
            windows: [window(), window(), window(), window()],
        }
    }

    /// True when a line of `kind` may be written now; false when it is only
    /// counted. A new second first writes the summary of the last one.
    pub fn allow(&self, kind: Kind) -> bool {
        let Some(slot) = self.windows.get(kind.index()) else {
            return true;
        };
        let mut w = slot.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if now.saturating_duration_since(w.start) >= WINDOW {
            self.summarize(kind, &mut w);
            w.start = now;
            w.written = 0;
        }
        if w.written < LINES_PER_SECOND {
            w.written += 1;
            true
        } else {
            w.suppressed = w.suppressed.saturating_add(1);
            false
        }
    }

    /// Writes the summary of every kind whose second is over; called once a
    /// second so that the count of the last burst is not lost.
    pub fn flush(&self) {
        let now = Instant::now();
        for kind in Kind::ALL {
            if let Some(slot) = self.windows.get(kind.index()) {
                let mut w = slot.lock().unwrap_or_else(|e| e.into_inner());
                if now.saturating_duration_since(w.start) >= WINDOW {
                    self.summarize(kind, &mut w);
                }
            }
        }
    }

    fn summarize(&self, kind: Kind, w: &mut Window) {
        if w.suppressed > 0 {
            tracing::warn!(
                service = %self.service,
                kind = kind.name(),
                suppressed = w.suppressed,
                "suppressed {} similar lines ({}: at most {LINES_PER_SECOND} a second)",
                w.suppressed,
                kind.name()
            );
            w.suppressed = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_per_kind() {
        let l = LogLimits::new("s");
        let allowed = (0..100).filter(|_| l.allow(Kind::Refused)).count();
        assert_eq!(allowed, LINES_PER_SECOND as usize);
        assert!(l.allow(Kind::Failed));
        let w = l.windows[0].lock().unwrap();
        assert_eq!(w.suppressed, 100 - u64::from(LINES_PER_SECOND));
    }
}
