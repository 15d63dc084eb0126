//! `ringcache-node`: one member of a ringcache cluster.
//!
//! A cache server that speaks the Redis protocol (RESP2 and RESP3). It runs as a single process, or
//! with `--cluster-enabled` as one member of a cluster where every partition is a Raft group (see
//! [`cluster`] for the replicated request path, and [`admin`] for the admin HTTP API).
//!
//! How a request flows:
//!
//! ```text
//!  TCP socket ──► connection.rs: read into a bounded buffer
//!                   │
//!                   ▼
//!                protocol::Parser ── arguments as zero-copy Bytes slices of the read buffer
//!                   │
//!                   ▼
//!                command::execute ── name lookup, arity, AUTH, maxmemory (eviction.rs)
//!                   │
//!                   ▼
//!                store::Keyspace ── shard = slot's partition, one mutex each
//!                   │  reads: Store::get/peek(now)     writes: Store::apply(WriteOp)
//!                   ▼
//!                protocol::ReplyWriter ── RESP2 or RESP3 into one output buffer
//!                   │
//!                   ▼
//!  TCP socket ◄── one write per pipelined batch, replies in request order
//! ```
//!
//! Background: `expiry.rs` sweeps expired keys ten times a second; `server.rs` accepts connections
//! and shuts down gracefully.

pub mod admin;
pub mod clients;
pub mod cluster;
pub mod command;
pub mod config;
pub mod connection;
pub mod eviction;
pub mod expiry;
pub mod glob;
pub mod info;
pub mod password_watch;
pub mod protocol;
pub mod security;
pub mod server;
pub mod shared;
pub mod stats;
pub mod store;
pub mod tls;

/// The Redis version this node reports (`INFO`, `HELLO`) so clients enable the features it has.
pub const REDIS_COMPATIBLE_VERSION: &str = "7.0.0";
