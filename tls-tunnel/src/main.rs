//! The `tls-tunnel` binary: the daemon of the `tls_tunnel` library.

fn main() -> std::process::ExitCode {
    tls_tunnel::daemon::main()
}
