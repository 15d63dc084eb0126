//! SPOP key [count]
//!
//! Which members SPOP removes is a random choice, so it is not applied as parsed: where the write
//! is decided (this process, or the partition leader before proposing), [`SPop::resolve`] picks
//! the members on the set as it is then and turns the command into [`SPopChosen`], which names
//! them; every replica applies that alike, as Redis replicates SPOP as SREM.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::SetWrite;
use crate::command::hashes::call_rng;
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::types::{SetValue, ValueType};
use crate::store::{Db, Keyspace};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SPop {
    key: Bytes,
    /// `None`: one member, replied as a bulk string (or nil).
    count: Option<u64>,
}

/// SPOP with its members chosen: removes those still present and replies with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SPopChosen {
    key: Bytes,
    members: Vec<Bytes>,
    /// A count was given: the reply is a set (an array in RESP2), else a bulk string or nil.
    with_count: bool,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    if args.len() > 3 {
        return Err(CommandError::Syntax);
    }
    let count = match args.get(2) {
        None => None,
        Some(count) => Some(
            crate::store::parse_integer(count)
                .and_then(|count| u64::try_from(count).ok())
                .ok_or_else(|| {
                    CommandError::Message("ERR value is out of range, must be positive".to_owned())
                })?,
        ),
    };
    Ok(Write::Sets(SetWrite::SPop(SPop {
        key: args[1].clone(),
        count,
    })))
}

impl SPop {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// Picks the members at random on the set `keyspace` holds now. A missing key, a key of
    /// another type and a count of 0 need no choice and stay as they are.
    pub fn resolve(self, keyspace: &Keyspace, now_ms: u64) -> SetWrite {
        if self.count == Some(0) {
            return SetWrite::SPop(self);
        }
        let chosen = keyspace.with_key(&self.key, |store| {
            let set = store
                .peek(&self.key, now_ms)?
                .object()
                .and_then(SetValue::cast)?;
            let mut rng = call_rng();
            let members: Vec<Bytes> = match self.count {
                None => set.random(&mut rng).into_iter().collect::<Vec<_>>(),
                Some(count) => {
                    set.random_distinct(usize::try_from(count).unwrap_or(usize::MAX), &mut rng)
                }
            }
            .into_iter()
            .map(Bytes::copy_from_slice)
            .collect();
            Some(members)
        });
        match chosen {
            Some(members) => SetWrite::SPopChosen(SPopChosen {
                key: self.key,
                members,
                with_count: self.count.is_some(),
            }),
            None => SetWrite::SPop(self),
        }
    }

    /// Only reached unresolved for a missing key, another type or a count of 0 (or if a caller
    /// skipped [`SPop::resolve`]: then the first members in iteration order go).
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let wanted = self
            .count
            .map_or(1, |count| usize::try_from(count).unwrap_or(usize::MAX));
        let popped = db
            .store(&self.key)
            .update::<SetValue, _>(&self.key, now, false, |set| {
                let members: Vec<Bytes> = set
                    .iter()
                    .take(wanted)
                    .map(Bytes::copy_from_slice)
                    .collect();
                for member in &members {
                    set.remove(member);
                }
                members
            })?
            .unwrap_or_default();
        Ok(reply(popped, self.count.is_some()))
    }
}

fn reply(popped: Vec<Bytes>, with_count: bool) -> Frame {
    if with_count {
        Frame::Set(popped.into_iter().map(Frame::Bulk).collect())
    } else {
        popped.into_iter().next().map_or(Frame::Null, Frame::Bulk)
    }
}

impl SPopChosen {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// Removes the chosen members still present (all of them, unless another write came between
    /// the choice and this) and replies with those; a set left empty is deleted.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let popped = db
            .store(&self.key)
            .update::<SetValue, _>(&self.key, now, false, |set| {
                self.members
                    .iter()
                    .filter(|member| set.remove(member))
                    .cloned()
                    .collect::<Vec<Bytes>>()
            })?
            .unwrap_or_default();
        Ok(reply(popped, self.with_count))
    }
}
