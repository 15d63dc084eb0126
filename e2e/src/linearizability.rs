//! The linearizability checker, now the `ringcache-checker` crate (`checker/`), under its old path.
pub use ringcache_checker::*;
