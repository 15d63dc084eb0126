//! `ringcache-node`: one member of a ringcache cluster.
//!
//! A cache server that speaks the Redis protocol (RESP2 and RESP3). It runs as a single process, or
//! with `--cluster-enabled` as one member of a cluster where every partition is a Raft group (see
//! [`cluster`] for the replicated request path, and [`admin`] for the admin HTTP API).
//!
//! How a request flows (layers import downward only: connection → executor → cluster → command →
//! store → protocol):
//!
//! ```text
//!  TCP socket ──► connection.rs: read into a bounded buffer
//!                   │
//!                   ▼
//!                protocol::Parser ── arguments as zero-copy Bytes slices of the read buffer
//!                   │
//!                   ▼
//!                command::prepare ── name lookup, arity, AUTH, then parsed once into a typed
//!                   │                Parsed::{Read, Write, Flush, Server, Cluster,
//!                   │                         Transaction, Script}
//!                   ▼
//!                executor::Executor ── chosen at start-up
//!                   │
//!      ┌────────────┴──────────────────────────────┐
//!      ▼ Local (single process)                    ▼ Replicated (--cluster-enabled, cluster::dispatch)
//!   maxmemory (eviction.rs)                    keys → slot → partition; -CROSSSLOT
//!   Read::run on the keyspace                  leader elsewhere: -MOVED or forward the request
//!   Keyspace::with_keys → Write::apply         leader here: Read::run after a confirmed read,
//!      │                                         or PartitionCommand::Write { now_ms, write }
//!      │                                         proposed → committed → every replica's
//!      │                                         cluster::machine applies Write::apply alike
//!      ▼                                         (only the proposer renders the reply Frame)
//!   store::Keyspace ── shard = slot's partition, one mutex each; a Db holds the shards of the
//!      │               command's keys, locked in ascending order
//!      ▼
//!   protocol::ReplyWriter ── RESP2 or RESP3 into one output buffer
//!      │
//!      ▼
//!  TCP socket ◄── one write per pipelined batch, replies in request order
//! ```
//!
//! A SET: `command/set.rs` parses it into `Set { key, value, expiry, condition }` (a relative
//! expiry made absolute with the clock of the member that parsed it); the executor locks the key's
//! shard and `Set::apply` calls `Store::apply` (or, in a cluster, the leader proposes it and each
//! replica does that when the entry commits).
//!
//! An HSET takes the same path: `command/hashes/hset.rs` parses it into `HSet { key, pairs }`,
//! wrapped as `Write::Hashes(HashWrite::HSet(..))`; its `apply` calls
//! `Store::update::<HashValue>` (`store/state_machine.rs`), which finds or creates the hash,
//! answers `WRONGTYPE` for another type, lets the command change it (`store/types/hash.rs`) and
//! accounts its memory. Values other than strings are [`store::Object`]s held by the key's entry;
//! they travel in snapshots and `DUMP` in Redis's serialization format (`store/rdb/`).
//!
//! Scripts (EVAL, EVALSHA, SCRIPT): [`script`] is the Lua 5.1 runtime — a sandboxed interpreter
//! per thread, the script cache, and Redis's conversions between replies and Lua values; the
//! commands hand it a closure that runs one command for `redis.call`.
//!
//! Background: `expiry.rs` sweeps expired keys ten times a second (single process; in a cluster
//! the partition leaders propose expiry, `cluster/expiry.rs`); `server.rs` accepts connections and
//! shuts down gracefully.

pub mod admin;
pub mod clients;
pub mod cluster;
pub mod command;
pub mod config;
pub mod connection;
pub mod departure;
pub mod eviction;
pub mod executor;
pub mod expiry;
pub mod glob;
pub mod info;
pub mod password_watch;
pub mod protocol;
pub mod pubsub;
pub mod script;
pub mod security;
pub mod server;
pub mod shared;
pub mod stats;
pub mod store;
pub mod tls;
pub mod transaction;

/// The Redis version this node reports (`INFO`, `HELLO`) so clients enable the features it has.
pub const REDIS_COMPATIBLE_VERSION: &str = "7.0.0";
