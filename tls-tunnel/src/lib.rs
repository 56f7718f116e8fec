//! tls-tunnel, the stunnel replacement built on tls-core, as a library: the
//! `tls-tunnel` binary is [`daemon::main`]; the input parsers (the config
//! front ends, TOML and stunnel.conf, the PROXY protocol, the application
//! protocols' preludes) are public for the fuzz targets.
//!
//! Data flows cli/config → tls (engine configurations) → listen (sockets) →
//! service (accept, one task per connection) → tls_io (the engine driver) →
//! the target, with proxy_protocol, metrics and reload alongside.

mod access;
mod activation;
mod cli;
pub mod config;
pub mod daemon;
mod exec;
mod exec_connect;
mod generate;
mod http;
mod ident;
mod inetd;
mod keyfile;
mod keylog;
pub mod keystore;
mod libwrap;
mod limits;
pub mod listen;
mod metrics;
mod ocsp;
mod peer_checks;
mod process;
pub mod protocol;
pub mod proxy_protocol;
mod quiet;
mod ratelog;
mod redirect;
mod reload;
mod sandbox;
pub mod seclevel;
mod selfsigned;
mod service;
mod setup;
mod stapling;
mod stateful_tickets;
mod status;
mod systemd;
mod ticket_keys;
mod tls;
mod tls_io;
mod transparent;
mod trim;
mod trust;
mod wipe;
