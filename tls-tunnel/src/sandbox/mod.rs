//! The sandbox entered after start-up, on unless `--no-sandbox` (TOML
//! `sandbox = false`):
//!
//! - Landlock (before the runtime's threads start, so that every thread
//!   inherits it): the files and directories the configuration names
//!   (config file, include directories, certificates, keys, CA files and
//!   directories, CRLs, the state directory; for a file, the directory
//!   holding it, so that renewal by renaming works) become read-only, the places
//!   the process writes (log file's and pid file's directories, Unix
//!   listening sockets' directories) writable, and a few system files
//!   (name resolution, shared libraries for NSS) readable. Everything else
//!   on the file system is out of reach. A kernel without Landlock logs a
//!   line and the tunnel runs without it.
//! - seccomp (once privileges are dropped, in the daemon and in inetd
//!   mode alike): the system calls the tunnel makes (see [`syscalls`]) are
//!   allowed; any other fails with EPERM.
//!
//! A service that runs programs (`exec`) gets what programs need (system
//! directories readable and executable); its programs inherit the
//! Landlock rules, and the seccomp filter is left out, because it would be
//! inherited too and a program's system calls are not known in advance.
//!
//! Reloads read the same paths; a reload naming a path outside what was
//! allowed at start is refused before anything is read ([`check_reload`]).
//! With `chroot`, the log and pid files and programs are inside the jail,
//! and so is every path a reload reads: those places are allowed too.

mod syscalls;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use landlock::{
    Access, AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, ABI,
};

use crate::config::{Addr, Config, Global, Role, ServerVerify, Service};
use crate::process::join_root;

/// The Landlock ABI whose file-system rights are asked for (best effort:
/// older kernels enforce the subset they know).
const ABI_USED: ABI = ABI::V5;

/// Test hook, documented in the README: after the sandbox is in place,
/// the daemon tries to open the file this variable names and logs the
/// outcome, so that tests can see the daemon itself confined. It reads a
/// path chosen by whoever starts the process, who can read it anyway.
pub const PROBE_VAR: &str = "TLS_TUNNEL_SANDBOX_PROBE";

/// System files read for name resolution and by the C library.
const SYSTEM_FILES: [&str; 11] = [
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/host.conf",
    "/etc/services",
    "/etc/ld.so.cache",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/dev/urandom",
];
/// Shared libraries (NSS modules are loaded at the first name lookup).
const LIBRARY_DIRS: [&str; 4] = ["/lib", "/lib64", "/usr/lib", "/usr/lib64"];
/// Where programs run by `exec` and their interpreters usually live.
const PROGRAM_DIRS: [&str; 5] = ["/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/local/bin"];

/// The read roots allowed at start, for [`check_reload`]; set once the
/// sandbox is entered.
static ALLOWED: OnceLock<Vec<PathBuf>> = OnceLock::new();

/// What the process may touch, gathered from the configuration.
#[derive(Debug, Default)]
pub struct Plan {
    /// Read-only files and directories.
    read: Vec<PathBuf>,
    /// Read and execute (programs and their libraries).
    exec: Vec<PathBuf>,
    /// Directories where files are created, written and removed.
    write_dirs: Vec<PathBuf>,
    /// Files written in place.
    write_files: Vec<PathBuf>,
    /// Directories where Unix sockets are created and removed.
    socket_dirs: Vec<PathBuf>,
    /// Terminal devices (`pty = yes`): opened read-write, with ioctls.
    terminals: Vec<PathBuf>,
    /// A service runs programs: no seccomp filter.
    runs_programs: bool,
}

/// The files and directories a configuration reads (at start and on every
/// reload): `config_file`, include directories, and each service's
/// certificates, keys, CA and CRL files and directories.
pub fn config_reads(
    config_file: Option<&Path>,
    global: &Global,
    services: &[Service],
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = config_file.map(Path::to_path_buf).into_iter().collect();
    out.extend(global.include_dirs.iter().cloned());
    for s in services {
        let routes = s.role.sni_routes();
        for files in s
            .cert
            .iter()
            .chain(routes.iter().filter_map(|r| r.cert.as_ref()))
        {
            out.push(files.cert.clone());
            out.push(files.key.clone());
            // A key store's password file is read again at every reload.
            if let Some(crate::keystore::StorePass::File(p)) = &files.password {
                out.push(p.clone());
            }
        }
        out.extend(s.psk.iter().map(|p| p.secrets.clone()));
        if s.net.libwrap {
            // Read at each connection.
            out.extend([crate::libwrap::ALLOW, crate::libwrap::DENY].map(PathBuf::from));
        }
        match &s.role {
            Role::Server(server) => out.extend(
                server
                    .access
                    .cacert
                    .iter()
                    .chain(&server.ticket_key_file)
                    .cloned(),
            ),
            Role::Client(client) => match &client.verify {
                ServerVerify::Chain(Some(p)) | ServerVerify::Pinned(p) => out.push(p.clone()),
                ServerVerify::Chain(None) => {
                    out.extend(
                        tls_core::x509::SYSTEM_BUNDLE_PATHS
                            .iter()
                            .map(PathBuf::from),
                    );
                }
                ServerVerify::Insecure | ServerVerify::Spki(_) => {}
            },
        }
        let t = &s.trust;
        out.extend(
            [&t.ca_dir, &t.crl_file, &t.crl_dir]
                .into_iter()
                .flatten()
                .cloned(),
        );
    }
    out
}

impl Plan {
    /// What the configuration (from `config_file`) needs, with the
    /// self-signed key's `state_dir` when one is used.
    pub fn new(
        config_file: Option<&Path>,
        g: &Global,
        services: &[Service],
        state_dir: Option<&Path>,
    ) -> Plan {
        // Reloads happen inside the chroot jail, where every path the
        // configuration names is taken: those places are readable too.
        let mut reads = config_reads(config_file, g, services);
        if let Some(root) = &g.chroot {
            let jailed: Vec<PathBuf> = reads.iter().map(|p| join_root(root, p)).collect();
            reads.extend(jailed);
        }
        let mut plan = Plan {
            read: reads.iter().flat_map(|p| read_roots(p)).collect(),
            ..Plan::default()
        };
        plan.read.extend(state_dir.map(Path::to_path_buf));
        for file in SYSTEM_FILES {
            plan.read.push(file.into());
            // A link (resolv.conf to /run/...) also reaches its target's
            // directory, where the file is replaced by renaming.
            let target = Path::new(file).canonicalize().ok();
            if target.as_deref().is_some_and(|t| t != Path::new(file)) {
                plan.read.extend(target.as_deref().and_then(parent));
            }
        }
        plan.read.extend(LIBRARY_DIRS.iter().map(PathBuf::from));
        plan.write_files.push("/dev/null".into());
        // The log and pid files are written after chroot, inside it.
        let in_root = |p: &Path| match &g.chroot {
            Some(root) => join_root(root, p),
            None => p.to_path_buf(),
        };
        // After chroot, name resolution and the C library read the jail's
        // copies of the system files (the host's serve until then).
        if g.chroot.is_some() {
            let jailed = SYSTEM_FILES.iter().chain(&LIBRARY_DIRS);
            plan.read.extend(jailed.map(|f| in_root(Path::new(f))));
            plan.write_files.push(in_root(Path::new("/dev/null")));
        }
        for file in g.log_file.iter().chain(&g.pid_file) {
            let p = in_root(file);
            plan.write_dirs.extend(parent(&p));
            plan.write_files.push(p);
        }
        for s in services {
            if let Addr::Unix(p) = &s.listen {
                plan.socket_dirs.extend(parent(p));
            }
            if let Some(exec) = &s.exec {
                plan.runs_programs = true;
                // Run after chroot: inside the jail.
                plan.exec
                    .extend(find_program(&exec.program).map(|p| in_root(&p)));
                if exec.pty {
                    // The multiplexer, and the terminal the program gets
                    // (the jail's under chroot).
                    plan.terminals = ["/dev/ptmx", "/dev/pts"]
                        .iter()
                        .map(|d| in_root(Path::new(d)))
                        .collect();
                }
            }
        }
        if plan.runs_programs {
            // Programs run after chroot, so from the jail's directories.
            let dirs = || PROGRAM_DIRS.iter().chain(&LIBRARY_DIRS).map(PathBuf::from);
            plan.exec.extend(dirs());
            if g.chroot.is_some() {
                plan.exec.extend(dirs().map(|d| in_root(&d)));
            }
        }
        plan
    }
}

/// Where reading `p` is allowed: a directory itself; for a file, its
/// directory (as named, and as reached through links), because
/// certificates and keys are renewed by writing a new file and renaming it
/// over the old one (certbot, cert-manager), which a rule on the old file
/// would not cover.
fn read_roots(p: &Path) -> Vec<PathBuf> {
    if p.is_dir() {
        return vec![p.to_path_buf()];
    }
    let mut roots: Vec<PathBuf> = parent(p).into_iter().collect();
    if let Some(target) = p.canonicalize().ok().as_deref().and_then(parent) {
        if !roots.contains(&target) {
            roots.push(target);
        }
    }
    roots
}

/// The directory holding `p` (the current one for a bare name).
fn parent(p: &Path) -> Option<PathBuf> {
    match p.parent() {
        Some(d) if d.as_os_str().is_empty() => Some(PathBuf::from(".")),
        other => other.map(Path::to_path_buf),
    }
}

/// A program as `exec` runs it: a path, or the first match on `PATH`.
fn find_program(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return Some(program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Adds a rule for `path` with `rights` (the file subset for a file);
/// a path that does not exist is skipped.
fn add_rule(
    ruleset: landlock::RulesetCreated,
    path: &Path,
    rights: BitFlags<AccessFs>,
) -> Result<landlock::RulesetCreated, String> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(ruleset);
    };
    let rights = if meta.is_dir() {
        rights
    } else {
        rights & AccessFs::from_file(ABI_USED)
    };
    let Ok(fd) = PathFd::new(path) else {
        return Ok(ruleset);
    };
    ruleset
        .add_rule(PathBeneath::new(fd, rights))
        .map_err(|e| format!("Landlock rule for {}: {e}", path.display()))
}

/// Enters the Landlock part of the sandbox for the calling thread and the
/// threads it starts later. Call before the runtime starts its threads.
pub fn enter_landlock(plan: &Plan) -> Result<(), String> {
    let read = AccessFs::ReadFile | AccessFs::ReadDir;
    let write = AccessFs::WriteFile | AccessFs::MakeReg | AccessFs::Truncate | AccessFs::RemoveFile;
    let mut ruleset = Ruleset::default()
        .handle_access(AccessFs::from_all(ABI_USED))
        .and_then(Ruleset::create)
        .map_err(|e| format!("Landlock: {e}"))?;
    for p in &plan.read {
        ruleset = add_rule(ruleset, p, read)?;
    }
    for p in &plan.exec {
        ruleset = add_rule(ruleset, p, read | AccessFs::Execute)?;
    }
    for p in &plan.write_dirs {
        ruleset = add_rule(ruleset, p, write)?;
    }
    for p in &plan.write_files {
        ruleset = add_rule(
            ruleset,
            p,
            AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::Truncate,
        )?;
    }
    for p in &plan.socket_dirs {
        ruleset = add_rule(ruleset, p, AccessFs::MakeSock | AccessFs::RemoveFile)?;
    }
    for p in &plan.terminals {
        ruleset = add_rule(
            ruleset,
            p,
            AccessFs::ReadFile | AccessFs::WriteFile | AccessFs::IoctlDev | AccessFs::ReadDir,
        )?;
    }
    let status = ruleset
        .restrict_self()
        .map_err(|e| format!("Landlock: {e}"))?;
    if status.ruleset != RulesetStatus::NotEnforced {
        let allowed = plan
            .read
            .iter()
            .filter_map(|p| p.canonicalize().ok())
            .collect();
        let _ = ALLOWED.set(allowed);
    }
    match status.ruleset {
        RulesetStatus::FullyEnforced => tracing::info!(
            "sandbox: Landlock file rules enforced (files read: configuration, certificates, \
             keys, CA and CRL files; writes: log, pid file, Unix sockets)"
        ),
        RulesetStatus::PartiallyEnforced => tracing::info!(
            "sandbox: Landlock file rules enforced in part (this kernel knows fewer rights)"
        ),
        RulesetStatus::NotEnforced => tracing::warn!(
            "sandbox: this kernel does not support Landlock (or it is disabled at boot): \
             running without file restrictions"
        ),
    }
    Ok(())
}

/// Installs the seccomp filter on every thread, unless a service runs
/// programs.
pub fn enter_seccomp(plan: &Plan) -> Result<(), String> {
    if plan.runs_programs {
        tracing::info!(
            "sandbox: no seccomp filter, because a service runs programs (exec) and they \
             would inherit it; the Landlock rules apply to them"
        );
    } else {
        syscalls::install()?;
        tracing::info!(
            "sandbox: seccomp filter installed ({} system calls allowed; others fail with EPERM)",
            syscalls::ALLOWED.len()
        );
    }
    Ok(())
}

/// The test probe ([`PROBE_VAR`]): once start-up is over, opens the file
/// the variable names and logs what happened.
pub fn probe() {
    if let Some(path) = std::env::var_os(PROBE_VAR) {
        let path = PathBuf::from(path);
        match std::fs::File::open(&path) {
            Ok(_) => tracing::info!("sandbox probe: opened {}", path.display()),
            Err(e) => tracing::info!("sandbox probe: cannot open {}: {e}", path.display()),
        }
    }
}

/// Refuses a reload that would read a path outside what the sandbox allowed
/// at start (it could not be read; the reason is clearer said up front).
pub fn check_reload(config_file: Option<&Path>, config: &Config) -> Result<(), String> {
    let Some(allowed) = ALLOWED.get() else {
        return Ok(());
    };
    for p in config_reads(config_file, &config.global, &config.services) {
        let full = p.canonicalize().unwrap_or_else(|_| p.clone());
        // Inside the chroot jail, a path is compared at its host place.
        let full = match crate::process::jail() {
            Some(root) => join_root(root, &full),
            None => full,
        };
        if !allowed.iter().any(|a| full.starts_with(a)) {
            return Err(format!(
                "{} is outside the sandbox set up at start (only the files and directories \
                 named then can be read); restart tls-tunnel to use it, or run with --no-sandbox",
                p.display()
            ));
        }
    }
    Ok(())
}
