//! The `ringcache-node` binary: for now it only prints its version; the cache server is being built.

fn main() {
    println!("ringcache-node {}", env!("CARGO_PKG_VERSION"));
}
