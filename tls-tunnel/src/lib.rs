//! The tunnel's input parsers as a library, so the fuzz targets (and tests)
//! can reach them: the config front ends (TOML and stunnel.conf) and the
//! PROXY protocol parser. The daemon itself is the `tls-tunnel` binary,
//! which compiles these same modules on its own.
#![allow(dead_code)]

pub mod config;
pub mod keystore;
// `proxy_protocol` reads headers from a `listen::Stream`.
pub mod listen;
pub mod protocol;
pub mod proxy_protocol;
pub mod seclevel;
mod wipe;
