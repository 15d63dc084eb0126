//! Persistence of Raft state: the log and vote ([`log_store`]) and the state machine with its
//! snapshots ([`state_machine_store`]), framed by [`record`]; snapshot images are encoded by
//! [`snapshot_format`], written through [`snapshot_sink`], held by [`snapshot_data`] and read back
//! by [`snapshot_reader`].

pub(crate) mod log_store;
pub(crate) mod record;
pub(crate) mod snapshot_data;
pub(crate) mod snapshot_format;
pub(crate) mod snapshot_reader;
pub(crate) mod snapshot_sink;
pub(crate) mod state_machine_store;
