//! tls-tunnel: the stunnel replacement built on tls-core.
//!
//! Data flows cli/config → tls (engine configurations) → listen (sockets) →
//! service (accept, one task per connection) → tls_io (the engine driver) →
//! the target, with proxy_protocol, metrics and reload alongside.

mod access;
mod cli;
mod config;
mod exec;
mod listen;
mod metrics;
mod protocol;
mod proxy_protocol;
mod reload;
mod service;
mod systemd;
mod tls;
mod tls_io;

use std::process::ExitCode;
use std::sync::{Arc, RwLock};

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::{watch, Semaphore};

use crate::cli::Cli;
use crate::config::{Global, LogFormat, Mode};
use crate::listen::Listener;
use crate::metrics::Registry;
use crate::service::{ServiceHandle, Tracker};
use crate::tls::Live;

/// Exit status for a bad configuration or command line.
const EXIT_CONFIG: u8 = 2;
/// Exit status for a runtime failure (cannot bind, cannot start).
const EXIT_RUNTIME: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.to_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tls-tunnel: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let mut lives = Vec::new();
    for service in config.services {
        let (origin, name) = (service.origin.clone(), service.name.clone());
        match Live::build(service, None) {
            Ok(live) => lives.push(live),
            Err(e) => {
                eprintln!("tls-tunnel: {origin}: [{name}]: {e}");
                return ExitCode::from(EXIT_CONFIG);
            }
        }
    }
    if cli.check {
        println!("tls-tunnel: configuration OK ({} service(s))", lives.len());
        return ExitCode::SUCCESS;
    }
    let global = config.global;
    if !global.foreground {
        if let Err(e) = daemonize() {
            eprintln!("tls-tunnel: cannot go to the background: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    }
    if let Err(e) = init_logging(&global) {
        eprintln!("tls-tunnel: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tls-tunnel: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_RUNTIME);
        }
    };
    let code = runtime.block_on(run(cli, global.clone(), lives));
    if let Some(pid) = &global.pid_file {
        let _ = std::fs::remove_file(pid);
    }
    // Connections still open after the drain are dropped with the runtime.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    code
}

fn init_logging(global: &Global) -> Result<(), String> {
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let (writer, ansi) = match &global.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("cannot open log file {}: {e}", path.display()))?;
            (BoxMakeWriter::new(std::sync::Mutex::new(file)), false)
        }
        None => (
            BoxMakeWriter::new(std::io::stderr),
            std::io::IsTerminal::is_terminal(&std::io::stderr()),
        ),
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(global.log_level)
        .with_writer(writer)
        .with_target(false);
    match global.log_format {
        LogFormat::Json => builder.json().with_current_span(false).init(),
        LogFormat::Text => builder.with_ansi(ansi).init(),
    }
    Ok(())
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

async fn run(cli: Cli, global: Global, lives: Vec<Live>) -> ExitCode {
    let registry = Arc::new(Registry::default());
    let tracker = Arc::new(Tracker::default());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut handles = Vec::new();
    let mut tasks = Vec::new();

    for live in lives {
        let s = &live.service;
        let listener = match Listener::bind(&s.listen).await {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(service = %s.name, "cannot listen on {}: {e}", s.listen);
                eprintln!(
                    "tls-tunnel: {}: [{}]: cannot listen on {}: {e}",
                    s.origin, s.name, s.listen
                );
                return ExitCode::from(EXIT_RUNTIME);
            }
        };
        if s.mode == Mode::Server
            && (s.cert.is_none() || s.sni_routes.iter().any(|r| r.cert.is_none()))
        {
            if let Ok((_, fp)) = tls::self_signed() {
                tracing::warn!(service = %s.name, "no certificate given: serving a self-signed certificate for localhost, SHA-256 fingerprint {fp}");
            }
        }
        tracing::info!(service = %s.name, mode = ?s.mode, listen = %listener.describe(),
            targets = %s.targets.iter().map(ToString::to_string).collect::<Vec<_>>().join(","), "listening");
        let handle = Arc::new(ServiceHandle {
            name: s.name.clone(),
            limit: Arc::new(Semaphore::new(s.max_connections)),
            metrics: registry.service(&s.name),
            live: RwLock::new(Arc::new(live)),
        });
        tasks.push(tokio::spawn(service::accept_loop(
            listener,
            handle.clone(),
            tracker.clone(),
            stop_rx.clone(),
        )));
        handles.push(handle);
    }
    if let Some(addr) = global.metrics {
        match metrics::bind(addr).await {
            Ok(l) => {
                tracing::info!("metrics on http://{addr}/metrics");
                tokio::spawn(metrics::serve(l, registry.clone()));
            }
            Err(e) => {
                eprintln!("tls-tunnel: cannot serve metrics on {addr}: {e}");
                return ExitCode::from(EXIT_RUNTIME);
            }
        }
    }
    if let Some(pid) = &global.pid_file {
        if let Err(e) = std::fs::write(pid, format!("{}\n", std::process::id())) {
            eprintln!("tls-tunnel: cannot write pid file {}: {e}", pid.display());
            return ExitCode::from(EXIT_RUNTIME);
        }
    }

    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("tls-tunnel: cannot install signal handlers");
        return ExitCode::from(EXIT_RUNTIME);
    };
    systemd::notify("READY=1");
    tracing::info!("ready");
    loop {
        tokio::select! {
            _ = hup.recv() => {
                systemd::notify("RELOADING=1");
                match reload::reload(&cli, &handles) {
                    Ok(n) => tracing::info!("reloaded {n} service(s)"),
                    Err(e) => tracing::error!("reload failed, keeping the old configuration: {e}"),
                }
                systemd::notify("READY=1");
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    systemd::notify("STOPPING=1");
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
