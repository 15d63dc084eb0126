//! MULTI, EXEC, DISCARD, WATCH, UNWATCH: parsed here, with the state a connection keeps for them.
//! The executor runs them (EXEC and WATCH depend on where the keys live; see
//! `crate::transaction`).

use bytes::Bytes;

use super::atomic::Guard;
use super::{CommandError, Keys};

/// A transaction command.
#[derive(Debug, Clone, PartialEq)]
pub enum TxCommand {
    Multi,
    Exec,
    Discard,
    Watch(Vec<Bytes>),
    Unwatch,
}

impl TxCommand {
    pub fn keys(&self) -> Keys<'_> {
        match self {
            TxCommand::Watch(keys) => Keys::many(keys),
            _ => Keys::None,
        }
    }
}

pub fn parse(name: &str, args: &[Bytes]) -> Result<TxCommand, CommandError> {
    Ok(match name {
        "multi" => TxCommand::Multi,
        "exec" => TxCommand::Exec,
        "discard" => TxCommand::Discard,
        "watch" => TxCommand::Watch(args[1..].to_vec()),
        "unwatch" => TxCommand::Unwatch,
        _ => return Err(CommandError::Syntax),
    })
}

/// The most a MULTI queue may hold: a client cannot make the server buffer without bound.
pub const MAX_QUEUED_BYTES: usize = 256 * 1024 * 1024;

/// Whether a request is served at once even inside MULTI (the others are queued).
pub fn runs_inside_multi(name: &[u8]) -> bool {
    ["exec", "discard", "multi", "watch", "quit", "reset"]
        .iter()
        .any(|control| name.eq_ignore_ascii_case(control.as_bytes()))
}

/// Where a plain client's `WATCH` went in cluster mode when this member did not lead the keys:
/// the leader's address and the forwarding connection it was sent on (the watch lives in that
/// connection's state at the leader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteWatch {
    pub address: String,
    pub link: u64,
}

/// A connection's MULTI queue and watched keys.
#[derive(Debug, Default)]
pub struct TransactionState {
    /// `Some` between MULTI and EXEC/DISCARD: the queued requests.
    pub queued: Option<Vec<Vec<Bytes>>>,
    /// A request was refused while queuing: EXEC answers EXECABORT.
    pub failed: bool,
    /// Bytes of the queued requests (bounded by [`MAX_QUEUED_BYTES`]).
    pub queued_bytes: usize,
    /// Watched keys with the digest of their values when watched.
    pub watched: Vec<Guard>,
    /// A watched key was read with a value other than the one watched: EXEC answers null.
    pub dirty: bool,
    pub remote: Option<RemoteWatch>,
}

impl TransactionState {
    pub fn in_multi(&self) -> bool {
        self.queued.is_some()
    }

    /// After EXEC, DISCARD, RESET: no queue, nothing watched.
    pub fn reset(&mut self) {
        *self = TransactionState::default();
    }

    pub fn unwatch(&mut self) {
        self.watched.clear();
        self.dirty = false;
        self.remote = None;
    }

    pub fn is_watching(&self) -> bool {
        !self.watched.is_empty() || self.remote.is_some()
    }
}
