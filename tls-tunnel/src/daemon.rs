//! The daemon's start, run and stop: command line, logging, services,
//! signals (the `tls-tunnel` binary calls [`main`]).

use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Semaphore};

use crate::cli::Cli;
use crate::config::{Global, LogFormat, Role, Service, DEFAULT_MAX_HANDSHAKES};
use crate::limits::Admission;
use crate::listen::Listener;
use crate::metrics::Registry;
use crate::ratelog::LogLimits;
use crate::service::{ServiceHandle, Tracker};
use crate::tls::Live;
use crate::{
    activation, config, exec_connect, generate, http, inetd, keylog, libwrap, limits, process,
    quiet, reload, sandbox, selfsigned, service, status, systemd, ticket_keys, tls, transparent,
};

/// Exit status for a bad configuration or command line.
const EXIT_CONFIG: u8 = 2;
/// Exit status for a runtime failure (cannot bind, cannot start).
const EXIT_RUNTIME: u8 = 1;

/// The daemon: parses the command line (or generates a man page or
/// completions), loads the configuration, and runs the services until told to
/// stop; the exit status says how it ended.
pub fn main() -> ExitCode {
    if let Some(code) = generate::dispatch() {
        return code;
    }
    // Before any thread: the passed descriptors and their variables.
    activation::init();
    let cli = Cli::parse();
    let config = match cli.to_config() {
        Ok(c) => c,
        Err(e) => {
            for line in e.lines() {
                eprintln!("tls-tunnel: {line}");
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // The self-signed default is made (or read from the state directory)
    // before the services that use it are built.
    let self_signed = config.services.iter().any(wants_self_signed);
    if self_signed {
        if let Err(e) = selfsigned::init(config.global.state_dir.as_deref(), !cli.check) {
            eprintln!("tls-tunnel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    }
    // The key log is opened before the services' TLS configurations are
    // built (they take it) and before any sandbox or chroot.
    if let Some(path) = keylog::requested(cli.keylog.as_deref()) {
        if cli.check {
            println!(
                "tls-tunnel: would log TLS secrets to {} (--keylog / SSLKEYLOGFILE)",
                path.display()
            );
        } else if let Err(e) = keylog::init(path) {
            eprintln!("tls-tunnel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    }
    if let Some(warning) = keylog::warning() {
        eprintln!("tls-tunnel: {warning}");
    }
    // Every service is loaded, so that all their problems are reported at once.
    let mut lives = Vec::new();
    let mut failed = false;
    for service in config.services {
        let (origin, name) = (service.origin.clone(), service.name.clone());
        match Live::build(service, None) {
            Ok(live) => lives.push(live),
            Err(e) => {
                eprintln!("tls-tunnel: {origin}: [{name}]: {e}");
                failed = true;
            }
        }
    }
    if failed {
        return ExitCode::from(EXIT_CONFIG);
    }
    if cli.check {
        for notice in &config.global.notices {
            println!("tls-tunnel: {notice}");
        }
        println!("tls-tunnel: configuration OK ({} service(s))", lives.len());
        return ExitCode::SUCCESS;
    }
    let global = config.global;
    // inetd mode: the connection is on our standard streams; no fork.
    let inetd = lives
        .iter()
        .any(|l| l.service.listen == crate::config::Addr::Stdio);
    if !global.foreground && !inetd {
        if let Err(e) = daemonize() {
            eprintln!("tls-tunnel: cannot go to the background: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    }
    let sink = match init_logging(&global) {
        Ok(sink) => sink,
        Err(e) => {
            eprintln!("tls-tunnel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Some(warning) = keylog::warning() {
        tracing::warn!("{warning}");
    }
    // Names are looked up while the process has one thread and no chroot.
    let services: Vec<_> = lives.iter().map(|l| l.service.clone()).collect();
    let privileges = match process::Privileges::resolve(&global, &services) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("tls-tunnel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // Counted while /proc and cgroup files are readable (a container's CPU
    // quota counts), as tokio would count them.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Landlock before the runtime's threads start, so that they inherit it.
    let sandbox = if global.sandbox {
        let state_dir = match selfsigned::get() {
            Ok(selfsigned::SelfSigned {
                kept: selfsigned::Kept::Stored { key, .. },
                ..
            }) if self_signed => key.parent(),
            _ => None,
        };
        let plan = sandbox::Plan::new(cli.config.as_deref(), &global, &services, state_dir);
        if let Err(e) = sandbox::enter_landlock(&plan) {
            eprintln!("tls-tunnel: cannot enter the sandbox: {e} (--no-sandbox runs without it)");
            return ExitCode::from(EXIT_RUNTIME);
        }
        Some(plan)
    } else {
        tracing::info!("sandbox: off (--no-sandbox)");
        None
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tls-tunnel: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    for notice in &global.notices {
        tracing::info!("{notice}");
    }
    if inetd {
        // A file without sections has exactly one service.
        let Some(live) = lives.pop() else {
            return ExitCode::from(EXIT_CONFIG);
        };
        return match inetd::serve(&runtime, live, &privileges, &sink, sandbox.as_ref()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("tls-tunnel: {e}");
                ExitCode::from(EXIT_RUNTIME)
            }
        };
    }
    let code = runtime.block_on(run(cli, global.clone(), lives, sink, privileges, sandbox));
    if let Some(pid) = &global.pid_file {
        let _ = std::fs::remove_file(pid);
    }
    // Connections still open after the drain are dropped with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

/// A server-mode service with no certificate of its own, or an SNI route
/// without one: the self-signed default may be served.
fn wants_self_signed(s: &Service) -> bool {
    match &s.role {
        Role::Server(server) => {
            s.cert.is_none() || server.sni_routes.iter().any(|r| r.cert.is_none())
        }
        Role::Client(_) => false,
    }
}

/// Installs the log subscriber writing to the destinations `global` asks
/// for; the sink is returned for SIGUSR1 to reopen the file.
fn init_logging(global: &Global) -> Result<Arc<process::LogSink>, String> {
    let sink = process::LogSink::new(global)?;
    quiet::set(&global.quiet_kinds);
    // --quiet all: errors only.
    let level = if global.quiet_kinds.contains(&config::QuietKind::All) {
        tracing::Level::ERROR
    } else {
        global.log_level
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(process::SharedSink(sink.clone()))
        .with_target(false);
    match global.log_format {
        LogFormat::Json => builder.json().with_current_span(false).init(),
        LogFormat::Text if sink.syslog_only() => builder.without_time().with_ansi(false).init(),
        LogFormat::Text => builder.with_ansi(sink.terminal_only()).init(),
    }
    Ok(sink)
}

/// Forks into the background (stunnel's `foreground = no`): the parent exits,
/// the child starts a new session with standard streams on /dev/null.
fn daemonize() -> std::io::Result<()> {
    // SAFETY: called before any thread is started (the runtime comes later).
    match unsafe { libc::fork() } {
        -1 => return Err(std::io::Error::last_os_error()),
        0 => {}
        _ => std::process::exit(0),
    }
    // SAFETY: plain system calls on our own process and descriptors.
    unsafe {
        libc::setsid();
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
        }
    }
    Ok(())
}

async fn run(
    cli: Cli,
    global: Global,
    lives: Vec<Live>,
    sink: Arc<process::LogSink>,
    privileges: process::Privileges,
    sandbox: Option<sandbox::Plan>,
) -> ExitCode {
    let registry = Arc::new(Registry::default());
    // Servers raise their open-file limit; services without a connection
    // limit share what it allows.
    let nofile = limits::raise_nofile_limit();
    let unlimited = lives
        .iter()
        .filter(|l| l.service.limits.max_connections.is_none())
        .count();
    let default_max = limits::default_max_connections(nofile, unlimited);
    let tracker = Arc::new(Tracker::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let reuse_port = lives.iter().any(|l| {
        l.service
            .net
            .accept
            .contains(&crate::config::SockOpt::ReusePort(true))
    });
    let mut handles = Vec::new();
    let mut tasks = Vec::new();

    for live in lives {
        let s = &live.service;
        // exec+connect has no listener.
        let exec_connect = s.listen == crate::config::Addr::Exec;
        let bound = match exec_connect {
            true => None,
            false => match activation::take(&s.name, &s.listen) {
                Some(passed) => Some(passed),
                None => Some(Listener::bind(&s.listen, &s.net.accept).await),
            },
        };
        let listener = match bound {
            None => None,
            Some(Ok(l)) => Some(l),
            Some(Err(e)) => {
                tracing::error!(service = %s.name, "cannot listen on {}: {e}", s.listen);
                eprintln!(
                    "tls-tunnel: {}: [{}]: cannot listen on {}: {e}",
                    s.origin, s.name, s.listen
                );
                return ExitCode::from(EXIT_RUNTIME);
            }
        };
        if let crate::config::Addr::Unix(path) = &s.listen {
            if let Err(e) = privileges.own_socket(&s.name, path) {
                eprintln!("tls-tunnel: {}: [{}]: {e}", s.origin, s.name);
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
        let wrap = match s.net.libwrap {
            true => libwrap::check_files(&s.name),
            false => Ok(()),
        };
        if let Err(e) =
            wrap.and_then(|()| transparent::check_source_privilege(&s.net, global.setuid.is_some()))
        {
            eprintln!("tls-tunnel: {}: [{}]: {e}", s.origin, s.name);
            return ExitCode::from(EXIT_CONFIG);
        }
        if let Some(psk) = &s.psk {
            crate::config::psk::warn_if_insecure(&psk.secrets);
        }
        if wants_self_signed(s) && !tls::psk_only(s) {
            if let Ok(made) = selfsigned::get() {
                tracing::warn!(service = %s.name, "{}", made.describe());
            }
        }
        let mode = s.role.mode().name();
        let listen = listener
            .as_ref()
            .map_or_else(|| s.listen.to_string(), Listener::describe);
        tracing::info!(service = %s.name, mode, listen = %listen,
            targets = %s.targets.iter().map(ToString::to_string).collect::<Vec<_>>().join(","), "listening");
        let max_connections = s.limits.max_connections.unwrap_or(default_max);
        let max_handshakes = s
            .limits
            .max_handshakes
            .unwrap_or(DEFAULT_MAX_HANDSHAKES)
            .min(max_connections);
        tracing::info!(service = %s.name, max_connections, max_handshakes,
            max_connections_per_source = s.limits.max_per_source.unwrap_or(0), open_file_limit = nofile,
            "connection limits");
        let handle = Arc::new(ServiceHandle {
            name: s.name.clone(),
            limit: Arc::new(Semaphore::new(max_connections)),
            admission: Admission::new(max_handshakes, s.limits.max_per_source),
            metrics: registry.service(&s.name),
            logs: LogLimits::new(&s.name),
            live: RwLock::new(Arc::new(live)),
        });
        tasks.push(match listener {
            Some(listener) => tokio::spawn(service::accept_loop(
                listener,
                handle.clone(),
                tracker.clone(),
                stop_rx.clone(),
            )),
            None => tokio::spawn(exec_connect::run(handle.clone(), stop_rx.clone())),
        });
        handles.push(handle);
    }
    activation::report_unused();
    let status = status::Status::new(registry.clone(), handles.clone());
    if let Some(addr) = global.metrics {
        match http::bind(addr, reuse_port).await {
            Ok(l) => {
                tracing::info!(
                    "metrics on http://{addr}/metrics, status on /_status, probes on /livez and /readyz"
                );
                tokio::spawn(http::serve(l, status.clone()));
            }
            Err(e) => {
                eprintln!("tls-tunnel: cannot serve metrics on {addr}: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    }
    // As stunnel: bound first, then into the chroot, then the group and
    // user; only then the log file and the pid file are written, so both
    // are inside the jail and written as the setuid user.
    if let Err(e) = privileges.enter_chroot() {
        eprintln!("tls-tunnel: {e}");
        return ExitCode::from(EXIT_RUNTIME);
    }
    if let Err(e) = privileges.drop_ids().and_then(|()| sink.open_deferred()) {
        // Also to syslog when it is on (stderr is /dev/null in the background).
        tracing::error!("{e}");
        eprintln!("tls-tunnel: {e}");
        return ExitCode::from(EXIT_RUNTIME);
    }
    if let Some(pid) = &global.pid_file {
        if let Err(e) = std::fs::write(pid, format!("{}\n", std::process::id())) {
            let jail = process::jail().map(|j| format!(" inside the chroot {}", j.display()));
            let line = format!(
                "cannot write pid file {}{}: {e}",
                pid.display(),
                jail.unwrap_or_default()
            );
            tracing::error!("{line}");
            eprintln!("tls-tunnel: {line}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    }
    if let Some(plan) = &sandbox {
        if let Err(e) = sandbox::enter_seccomp(plan) {
            eprintln!("tls-tunnel: cannot enter the sandbox: {e} (--no-sandbox runs without it)");
            return ExitCode::from(EXIT_RUNTIME);
        }
    }
    sandbox::probe();

    let (Ok(mut hup), Ok(mut term), Ok(mut int), Ok(mut usr1), Ok(mut usr2)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
    ) else {
        eprintln!("tls-tunnel: cannot install signal handlers");
        return ExitCode::from(EXIT_RUNTIME);
    };
    tokio::spawn(ticket_keys::watch(handles.clone()));
    tokio::spawn(crate::trim::watch());
    systemd::notify("READY=1");
    status.set(status::Phase::Listening);
    tracing::info!("ready");
    // --timed-reload: the SIGHUP reload, on a clock.
    let mut timed = global.timed_reload.map(|every| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        i
    });
    loop {
        tokio::select! {
            _ = hup.recv() => {
                status.set(status::Phase::Reloading);
                reload::run(&cli, &handles, "SIGHUP");
                ticket_keys::reload_all(&ticket_keys::in_use(&handles), false, "SIGHUP");
                status.set(status::Phase::Listening);
            }
            _ = async { timed.as_mut()?.tick().await; Some(()) }, if timed.is_some() => {
                status.set(status::Phase::Reloading);
                reload::run(&cli, &handles, "timed");
                status.set(status::Phase::Listening);
            }
            _ = usr1.recv() => match sink.reopen() {
                Ok(()) => tracing::info!("log file reopened"),
                Err(e) => tracing::error!("{e}"),
            },
            _ = usr2.recv() => service::log_connections(),
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    systemd::notify("STOPPING=1");
    status.set(status::Phase::Draining);
    if !global.drain_grace.is_zero() {
        // /readyz says draining; the listeners stay open until a balancer
        // has seen it. A second SIGTERM or SIGINT ends the wait.
        tracing::info!(grace = ?global.drain_grace, "draining: unready, still accepting");
        tokio::select! {
            _ = tokio::time::sleep(global.drain_grace) => {}
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = t.await;
    }
    tracing::info!(
        active = tracker.active(),
        "stopping: draining established connections"
    );
    if tokio::time::timeout(global.drain_timeout, tracker.drained())
        .await
        .is_err()
    {
        tracing::warn!(
            active = tracker.active(),
            "drain timeout: closing remaining connections"
        );
    }
    tracing::info!("stopped");
    ExitCode::SUCCESS
}
