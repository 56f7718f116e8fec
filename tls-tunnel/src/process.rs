//! The process side of stunnel's global options: where log lines go
//! (stderr, a file reopened on SIGUSR1, syslog) and giving up privileges
//! (chroot, setgid, setuid) once every listener is bound.
//!
//! Paths under `chroot` follow stunnel: the log file (`output`), the pid
//! file, `CApath`, `CRLpath`, programs run by `exec`, and every file a
//! reload reads are inside the jail; `cert`, `key`, `CAfile`, `CRLfile`,
//! `include` and the configuration file at start are read from the host
//! before the jail is entered ([`in_jail`] says where a jailed path is).

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{Global, Service};

/// The chroot jail once entered (its host path, canonical).
static JAIL: OnceLock<PathBuf> = OnceLock::new();

/// The chroot jail the process is in (its host path), if any.
pub fn jail() -> Option<&'static Path> {
    JAIL.get().map(PathBuf::as_path)
}

/// `p` joined to `root` as seen from the host: where a path taken inside
/// the jail `root` is (a relative one is taken from the jail's top).
pub fn join_root(root: &Path, p: &Path) -> PathBuf {
    root.join(p.strip_prefix("/").unwrap_or(p))
}

/// Where `p`, a path stunnel takes inside the chroot jail `root`
/// (`CApath`, `CRLpath`), is now: under `root` before the process enters
/// the jail, as it is once inside (on reloads).
pub fn in_jail(root: &Path, p: &Path) -> PathBuf {
    match jail() {
        Some(_) => p.to_path_buf(),
        None => join_root(root, p),
    }
}

/// Lines logged before a deferred log file is opened are kept, up to this
/// many bytes, and written to it first.
const EARLY_LINES_MAX: usize = 1 << 20;

/// A log file that can be reopened (after log rotation).
struct LogFile {
    path: PathBuf,
    overwrite: bool,
    /// The open file; `None` until [`LogSink::open_deferred`] when the file
    /// is opened as stunnel does, inside the jail and as the setuid user.
    file: Mutex<Option<File>>,
    /// Lines logged before the file is open.
    early: Mutex<Vec<u8>>,
}

fn open_log(path: &Path, overwrite: bool) -> Result<File, String> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true);
    if overwrite {
        options.write(true).truncate(true);
    } else {
        options.append(true);
    }
    options
        .open(path)
        .map_err(|e| format!("cannot open log file {}: {e}", path.display()))
}

/// Where log lines go: any of stderr, a file and syslog.
pub struct LogSink {
    stderr: bool,
    file: Option<LogFile>,
    /// The syslog socket, the name lines carry and the facility code.
    syslog: Option<(UnixDatagram, String, u8)>,
    /// Where syslog lines are sent.
    syslog_path: PathBuf,
}

impl LogSink {
    /// The destinations `global` asks for, as stunnel chooses them: the
    /// `output` file if given, else stderr in the foreground (not with
    /// `foreground = quiet`); and syslog when `syslog = yes`. With
    /// `chroot`, `setuid` or `setgid` the file is opened later, by
    /// [`LogSink::open_deferred`], as stunnel opens it.
    pub fn new(global: &Global) -> Result<Arc<LogSink>, String> {
        let deferred =
            global.chroot.is_some() || global.setuid.is_some() || global.setgid.is_some();
        let file = match &global.log_file {
            Some(path) => Some(LogFile {
                path: path.clone(),
                overwrite: global.log_overwrite,
                file: Mutex::new(match deferred {
                    true => None,
                    false => Some(open_log(path, global.log_overwrite)?),
                }),
                early: Mutex::new(Vec::new()),
            }),
            None => None,
        };
        let syslog = if global.syslog {
            UnixDatagram::unbound().ok().map(|s| {
                // Connected at once, as stunnel's openlog(LOG_NDELAY): the
                // socket keeps reaching syslog from inside a chroot jail,
                // where its path does not lead there.
                let _ = s.connect(&global.syslog_socket);
                (s, global.syslog_ident.clone(), global.syslog_facility)
            })
        } else {
            None
        };
        Ok(Arc::new(LogSink {
            stderr: file.is_none() && global.foreground && !global.quiet,
            file,
            syslog,
            syslog_path: global.syslog_socket.clone(),
        }))
    }

    /// True when lines go to a terminal only (colours are then fine).
    pub fn terminal_only(&self) -> bool {
        self.stderr
            && self.file.is_none()
            && self.syslog.is_none()
            && std::io::IsTerminal::is_terminal(&std::io::stderr())
    }

    /// True when lines go to syslog only, which stamps them itself.
    pub fn syslog_only(&self) -> bool {
        self.syslog.is_some() && !self.stderr && self.file.is_none()
    }

    /// Opens a deferred log file: stunnel opens `output` once inside the
    /// chroot and after setgid/setuid, so the path is taken inside the jail
    /// and the setuid user must be able to write it. The lines logged so
    /// far go first; if it cannot be opened they go to stderr instead.
    pub fn open_deferred(&self) -> Result<(), String> {
        let Some(f) = &self.file else {
            return Ok(());
        };
        let mut slot = f.file.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_some() {
            return Ok(());
        }
        let early = std::mem::take(&mut *f.early.lock().unwrap_or_else(|e| e.into_inner()));
        match open_log(&f.path, f.overwrite) {
            Ok(mut file) => {
                let _ = file.write_all(&early);
                *slot = Some(file);
                Ok(())
            }
            Err(e) => {
                let _ = io::stderr().write_all(&early);
                let jail = jail().map(|j| format!(" inside the chroot {}", j.display()));
                Err(format!(
                    "{e} (opened{} after setgid/setuid, as stunnel does)",
                    jail.unwrap_or_default()
                ))
            }
        }
    }

    /// Reopens the log file (stunnel's SIGUSR1).
    pub fn reopen(&self) -> Result<(), String> {
        if let Some(f) = &self.file {
            let mut slot = f.file.lock().unwrap_or_else(|e| e.into_inner());
            if slot.is_some() {
                *slot = Some(open_log(&f.path, f.overwrite)?);
            }
        }
        Ok(())
    }

    fn emit(&self, level: Level, line: &[u8]) {
        if self.stderr {
            let _ = io::stderr().write_all(line);
        }
        if let Some(f) = &self.file {
            match f.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                Some(file) => {
                    let _ = file.write_all(line);
                }
                None => {
                    let mut early = f.early.lock().unwrap_or_else(|e| e.into_inner());
                    if early.len().saturating_add(line.len()) <= EARLY_LINES_MAX {
                        early.extend_from_slice(line);
                    }
                }
            }
        }
        if let Some((socket, ident, facility)) = &self.syslog {
            // The facility, with the syslog severity of the level.
            let severity = match level {
                Level::ERROR => 3,
                Level::WARN => 4,
                Level::INFO => 5,
                _ => 7,
            };
            let text = String::from_utf8_lossy(line);
            let msg = format!(
                "<{}>{ident}[{}]: {}",
                u16::from(*facility) * 8 + severity,
                std::process::id(),
                text.trim()
            );
            // Unconnected (no syslog at start) or syslog restarted: by path.
            if socket.send(msg.as_bytes()).is_err() {
                let _ = socket.send_to(msg.as_bytes(), &self.syslog_path);
            }
        }
    }
}

/// One event's text, sent to every destination when complete.
pub struct LineWriter<'a> {
    sink: &'a LogSink,
    level: Level,
    buf: Vec<u8>,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            self.sink.emit(self.level, &self.buf);
        }
    }
}

/// The writer tracing formats into: shares the sink with the SIGUSR1 handler.
pub struct SharedSink(pub Arc<LogSink>);

impl<'a> MakeWriter<'a> for SharedSink {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            sink: &self.0,
            level: Level::INFO,
            buf: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LineWriter {
            sink: &self.0,
            level: *meta.level(),
            buf: Vec::new(),
        }
    }
}

/// The user and group to run as, resolved while the user database is
/// still reachable (before chroot), and the directory to change root to.
#[derive(Debug, Default)]
pub struct Privileges {
    chroot: Option<PathBuf>,
    gid: Option<libc::gid_t>,
    uid: Option<libc::uid_t>,
    /// Owners of services' Unix accept sockets, by service name.
    owners: Vec<(String, Option<libc::uid_t>, Option<libc::gid_t>)>,
}

/// A group by name or number (`setgid`). Not thread-safe: call before any
/// thread starts.
fn group_id(g: &str) -> Result<libc::gid_t, String> {
    if let Ok(n) = g.parse() {
        return Ok(n);
    }
    let name = CString::new(g).map_err(|_| format!("setgid = {g:?}: bad name"))?;
    // SAFETY: a NUL-terminated name; the result is read before any other call.
    let gr = unsafe { libc::getgrnam(name.as_ptr()) };
    if gr.is_null() {
        return Err(format!("setgid = {g}: no such group"));
    }
    // SAFETY: checked non-null above.
    Ok(unsafe { (*gr).gr_gid })
}

/// A user by name or number (`setuid`). Not thread-safe: call before any
/// thread starts.
fn user_id(u: &str) -> Result<libc::uid_t, String> {
    if let Ok(n) = u.parse() {
        return Ok(n);
    }
    let name = CString::new(u).map_err(|_| format!("setuid = {u:?}: bad name"))?;
    // SAFETY: a NUL-terminated name; the result is read before any other call.
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        return Err(format!("setuid = {u}: no such user"));
    }
    // SAFETY: checked non-null above.
    Ok(unsafe { (*pw).pw_uid })
}

impl Privileges {
    /// Resolves `setuid`/`setgid` (names or numbers), global and of each
    /// service. Call before any thread starts: the user database functions
    /// are not thread-safe.
    pub fn resolve(global: &Global, services: &[Service]) -> Result<Privileges, String> {
        let mut owners = Vec::new();
        for s in services {
            if let Some(owner) = &s.net.unix_owner {
                let uid = owner.user.as_deref().map(user_id).transpose()?;
                let gid = owner.group.as_deref().map(group_id).transpose()?;
                owners.push((s.name.clone(), uid, gid));
            }
        }
        Ok(Privileges {
            chroot: global.chroot.clone(),
            gid: global.setgid.as_deref().map(group_id).transpose()?,
            uid: global.setuid.as_deref().map(user_id).transpose()?,
            owners,
        })
    }

    /// Gives service `name`'s Unix accept socket at `path` the owner its
    /// section asks for (stunnel's setuid/setgid in a section).
    pub fn own_socket(&self, name: &str, path: &Path) -> Result<(), String> {
        if let Some((_, uid, gid)) = self.owners.iter().find(|(n, _, _)| n == name) {
            std::os::unix::fs::chown(path, *uid, *gid)
                .map_err(|e| format!("cannot set the owner of {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// stunnel's chroot, once the listeners are bound.
    pub fn enter_chroot(&self) -> Result<(), String> {
        let Some(dir) = &self.chroot else {
            return Ok(());
        };
        let host = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        crate::libwrap::hold_host_etc()?;
        let path = CString::new(dir.as_os_str().as_encoded_bytes())
            .map_err(|_| format!("chroot = {}: bad path", dir.display()))?;
        // SAFETY: a NUL-terminated path.
        if unsafe { libc::chroot(path.as_ptr()) } != 0 {
            return Err(format!(
                "chroot {}: {}",
                dir.display(),
                io::Error::last_os_error()
            ));
        }
        let _ = JAIL.set(host);
        std::env::set_current_dir("/").map_err(|e| format!("chdir / in the chroot: {e}"))
    }

    /// stunnel's setgid (dropping every other group) then setuid, once the
    /// listeners are bound (for every thread of the process).
    pub fn drop_ids(&self) -> Result<(), String> {
        if let Some(gid) = self.gid {
            // SAFETY: plain system calls; glibc applies them to every thread.
            let failed =
                unsafe { libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 };
            if failed {
                return Err(format!("setgid {gid}: {}", io::Error::last_os_error()));
            }
        }
        if let Some(uid) = self.uid {
            // SAFETY: as above.
            if unsafe { libc::setuid(uid) } != 0 {
                return Err(format!("setuid {uid}: {}", io::Error::last_os_error()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_the_jail_are_under_its_root_before_chroot() {
        let root = Path::new("/var/lib/stunnel4");
        assert_eq!(
            in_jail(root, Path::new("/certs")),
            Path::new("/var/lib/stunnel4/certs")
        );
        // A relative path is taken from the jail's top (the working
        // directory there is /).
        assert_eq!(
            in_jail(root, Path::new("crls")),
            Path::new("/var/lib/stunnel4/crls")
        );
        assert_eq!(
            join_root(root, Path::new("/")),
            Path::new("/var/lib/stunnel4")
        );
    }

    #[test]
    fn a_deferred_log_file_keeps_earlier_lines_for_the_file() {
        let dir = std::env::temp_dir().join(format!("tls-tunnel-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deferred.log");
        let global = Global {
            log_file: Some(path.clone()),
            setuid: Some("nobody".into()),
            ..Global::default()
        };
        let sink = LogSink::new(&global).unwrap();
        sink.emit(Level::INFO, b"before\n");
        assert!(!path.exists());
        sink.open_deferred().unwrap();
        sink.emit(Level::INFO, b"after\n");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "before\nafter\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
