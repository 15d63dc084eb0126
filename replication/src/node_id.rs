//! Raft identity of one member: its StatefulSet ordinal plus an incarnation that changes whenever the
//! member's data directory starts empty.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Bits of [`RaftNodeId`] holding the incarnation; the ordinal takes the 16 bits above them.
const INCARNATION_BITS: u32 = 48;
const INCARNATION_MASK: u64 = (1 << INCARNATION_BITS) - 1;

/// 2024-01-01T00:00:00Z in Unix seconds: incarnations count from there.
const EPOCH_2024: u64 = 1_704_067_200;

/// Name of the file, inside the data directory, that remembers the incarnation.
pub const IDENTITY_FILE: &str = "raft-identity";

/// The Raft identity of one member of the cluster: `(ordinal, incarnation)` packed into a `u64`.
///
/// * The **ordinal** is the member's stable placement identity (the StatefulSet pod ordinal, at most
///   65535). Placement, `CLUSTER NODES` and the operator talk about ordinals.
/// * The **incarnation** (48 bits) names one life of that member's Raft state. It is stored in the
///   data directory ([`IDENTITY_FILE`]); a member whose data directory is empty draws a fresh one
///   from the wall clock (seconds) mixed with random bits.
///
/// Why: Raft assumes a node id always refers to one log. A member that lost its log (a new pod,
/// a wiped volume) and came back under its old id could vote as if it still held entries it no
/// longer has, and two quorums could commit different values. With a fresh incarnation it is a new
/// Raft node: it must be added as a learner again and its old id removed, exactly like a new member.
///
/// Layout: `ordinal << 48 | incarnation`; the derived order sorts by ordinal first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub struct RaftNodeId(u64);

impl RaftNodeId {
    /// Builds an id from its parts; the incarnation is truncated to 48 bits.
    pub fn new(ordinal: u16, incarnation: u64) -> Self {
        RaftNodeId((u64::from(ordinal) << INCARNATION_BITS) | (incarnation & INCARNATION_MASK))
    }

    /// Reinterprets a packed value (as stored or shown by [`RaftNodeId::as_u64`]).
    pub fn from_u64(packed: u64) -> Self {
        RaftNodeId(packed)
    }

    /// The packed value.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// The StatefulSet ordinal of the member.
    pub fn ordinal(self) -> u16 {
        (self.0 >> INCARNATION_BITS) as u16
    }

    /// The incarnation: which life of the member's Raft state this is.
    pub fn incarnation(self) -> u64 {
        self.0 & INCARNATION_MASK
    }

    /// A fresh id for `ordinal`, for a member that has no Raft state.
    pub fn fresh(ordinal: u16) -> Self {
        RaftNodeId::new(ordinal, fresh_incarnation())
    }

    /// Loads the member's id from `data_dir`, or, when the directory holds no identity file (an
    /// empty data directory), picks a fresh incarnation and writes it there before returning.
    ///
    /// Fails if the stored identity belongs to another ordinal (the volume was attached to the
    /// wrong member) or cannot be parsed: guessing would risk reusing someone else's identity.
    pub fn load_or_create(data_dir: &Path, ordinal: u16) -> io::Result<Self> {
        fs::create_dir_all(data_dir)?;
        let path = data_dir.join(IDENTITY_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let id = text
                    .trim()
                    .parse::<u64>()
                    .map(RaftNodeId)
                    .map_err(|error| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{}: not a Raft node id: {error}", path.display()),
                        )
                    })?;
                if id.ordinal() != ordinal {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "{}: belongs to ordinal {}, this member is ordinal {ordinal}",
                            path.display(),
                            id.ordinal()
                        ),
                    ));
                }
                Ok(id)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let id = RaftNodeId::fresh(ordinal);
                // Write then rename, so a crash never leaves a half-written identity behind.
                let temporary = data_dir.join(format!("{IDENTITY_FILE}.tmp"));
                let mut file = fs::File::create(&temporary)?;
                file.write_all(format!("{}\n", id.0).as_bytes())?;
                file.sync_all()?;
                fs::rename(&temporary, &path)?;
                Ok(id)
            }
            Err(error) => Err(error),
        }
    }
}

/// Seconds since 2024-01-01 in the high 30 bits of the incarnation (good for 34 years), random bits
/// in the low 18: two lives of one ordinal would need the same second and the same random draw.
fn fresh_incarnation() -> u64 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
        .saturating_sub(EPOCH_2024);
    let random = {
        use std::hash::{BuildHasher, Hasher};
        // RandomState is seeded from the operating system's randomness per process.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|elapsed| elapsed.as_nanos())
                .unwrap_or(0),
        );
        hasher.finish()
    };
    let incarnation = ((seconds & 0x3fff_ffff) << 18) | (random & 0x3_ffff);
    // Zero is kept free so that a default-constructed id never looks like a real one.
    (incarnation & INCARNATION_MASK).max(1)
}

impl fmt::Display for RaftNodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{:x}", self.ordinal(), self.incarnation())
    }
}

impl fmt::Debug for RaftNodeId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "RaftNodeId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_and_unpacks() {
        let id = RaftNodeId::new(7, 0xabcdef);
        assert_eq!(id.ordinal(), 7);
        assert_eq!(id.incarnation(), 0xabcdef);
        assert_eq!(RaftNodeId::from_u64(id.as_u64()), id);
        assert_eq!(id.to_string(), "7/abcdef");
    }

    #[test]
    fn identity_survives_restart_but_not_an_empty_dir() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let first = RaftNodeId::load_or_create(dir.path(), 3).expect("create");
        let again = RaftNodeId::load_or_create(dir.path(), 3).expect("load");
        assert_eq!(first, again);
        assert_eq!(first.ordinal(), 3);

        let empty = tempfile::tempdir().expect("temporary directory");
        let fresh = RaftNodeId::load_or_create(empty.path(), 3).expect("create");
        assert_ne!(first, fresh, "an empty data dir must give a new identity");
    }

    #[test]
    fn refuses_another_ordinals_identity_and_garbage() {
        let dir = tempfile::tempdir().expect("temporary directory");
        RaftNodeId::load_or_create(dir.path(), 1).expect("create");
        let error = RaftNodeId::load_or_create(dir.path(), 2).expect_err("wrong ordinal");
        assert!(error.to_string().contains("ordinal 1"), "{error}");

        fs::write(dir.path().join(IDENTITY_FILE), "not a number").expect("write");
        let error = RaftNodeId::load_or_create(dir.path(), 1).expect_err("garbage");
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
    }
}
