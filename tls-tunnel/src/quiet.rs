//! ghostunnel's --quiet: kinds of log lines left out, set once at start.

use std::sync::OnceLock;

use crate::config::QuietKind;

static QUIET: OnceLock<Vec<QuietKind>> = OnceLock::new();

/// Sets the kinds left out (once, before the first connection).
pub fn set(kinds: &[QuietKind]) {
    let _ = QUIET.set(kinds.to_vec());
}

/// True when lines of `kind` are to be left out.
pub fn is(kind: QuietKind) -> bool {
    QUIET
        .get()
        .is_some_and(|k| k.contains(&kind) || k.contains(&QuietKind::All))
}
