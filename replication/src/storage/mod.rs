//! Persistence of Raft state: the log and vote ([`log_store`]) and the state machine with its
//! snapshots ([`state_machine_store`]), framed by [`record`].

pub(crate) mod log_store;
pub(crate) mod record;
pub(crate) mod state_machine_store;
