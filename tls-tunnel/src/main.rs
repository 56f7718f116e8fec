//! tls-tunnel: the stunnel replacement (work in progress).
fn main() {
    eprintln!("usage: tls-tunnel server|client ... (not implemented yet)");
    std::process::exit(2);
}
