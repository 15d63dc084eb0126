//! The openraft type configuration. Private: no openraft type appears in the public API.
//!
//! Commands travel as opaque bytes (`CommandBytes`) so that the transport and the log store are not
//! generic over the state machine; only the state machine adapter decodes them.

use std::any::Any;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::RaftNodeId;

openraft::declare_raft_types!(
    /// Types openraft is instantiated with.
    pub(crate) RaftTypes:
        D = CommandBytes,
        R = ApplyOutput,
        NodeId = RaftNodeId,
        Node = openraft::BasicNode,
);

pub(crate) type Raft<M> = openraft::Raft<RaftTypes, M>;
pub(crate) type Entry = openraft::alias::EntryOf<RaftTypes>;
pub(crate) type LogId = openraft::alias::LogIdOf<RaftTypes>;
pub(crate) type Vote = openraft::alias::VoteOf<RaftTypes>;
pub(crate) type SnapshotMeta = openraft::alias::SnapshotMetaOf<RaftTypes>;
pub(crate) type StoredMembership = openraft::alias::StoredMembershipOf<RaftTypes>;
pub(crate) type Snapshot =
    openraft::alias::SnapshotOf<RaftTypes, crate::storage::snapshot_data::SnapshotData>;

/// A serialized state machine command, as stored in the log and sent to followers.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CommandBytes(pub(crate) Vec<u8>);

impl fmt::Debug for CommandBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "CommandBytes({} bytes)", self.0.len())
    }
}

impl fmt::Display for CommandBytes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "command of {} bytes", self.0.len())
    }
}

impl Serialize for CommandBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        bytes::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for CommandBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        bytes::deserialize(deserializer).map(CommandBytes)
    }
}

/// What applying one entry produced, handed back to the proposer in this process only.
///
/// It holds the state machine's `Response` type-erased, because the Raft types are not generic over
/// the state machine. It never crosses the network: it serializes as nothing and deserializes as
/// empty, which openraft's serde bounds require but never exercise.
#[derive(Default)]
pub(crate) struct ApplyOutput(pub(crate) Option<Result<Box<dyn Any + Send + Sync>, String>>);

impl fmt::Debug for ApplyOutput {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => formatter.write_str("ApplyOutput(none)"),
            Some(Ok(_)) => formatter.write_str("ApplyOutput(response)"),
            Some(Err(error)) => write!(formatter, "ApplyOutput(undecodable: {error})"),
        }
    }
}

impl Serialize for ApplyOutput {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for ApplyOutput {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <()>::deserialize(deserializer).map(|()| ApplyOutput(None))
    }
}

/// Serde helpers that write a `Vec<u8>` as one byte string (bincode otherwise encodes it element by
/// element).
pub(crate) mod bytes {
    use std::fmt;

    use serde::de::{SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(value)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<u8>, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Vec<u8>;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a byte string")
            }
            fn visit_bytes<E>(self, value: &[u8]) -> Result<Vec<u8>, E> {
                Ok(value.to_vec())
            }
            fn visit_byte_buf<E>(self, value: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(value)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(byte) = sequence.next_element::<u8>()? {
                    out.push(byte);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}
