//! BITFIELD key [GET encoding offset | [OVERFLOW WRAP | SAT | FAIL] SET encoding offset value |
//! INCRBY encoding offset increment ...], and BITFIELD_RO key [GET encoding offset ...]

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{BitsRead, BitsWrite, bit_offset_error, owned_string};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, Write, integer_arg};
use crate::protocol::{Frame, ReplyWriter};
use crate::store::bits::{self, BitfieldType, Overflow};
use crate::store::{Db, Entry};

/// One subcommand, with the overflow behaviour in force where it appeared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum FieldOp {
    Get {
        kind: BitfieldType,
        offset: u64,
    },
    Set {
        kind: BitfieldType,
        offset: u64,
        value: i64,
        overflow: Overflow,
    },
    IncrBy {
        kind: BitfieldType,
        offset: u64,
        increment: i64,
        overflow: Overflow,
    },
}

impl FieldOp {
    /// Runs it on `value` (grown by the writes as needed): the integer, or nil when FAIL refused
    /// the write.
    fn run(self, value: &mut Vec<u8>) -> Frame {
        let reply = match self {
            FieldOp::Get { kind, offset } => Some(bits::field_get(value, kind, offset)),
            FieldOp::Set {
                kind,
                offset,
                value: new,
                overflow,
            } => bits::field_set(value, kind, offset, new, overflow),
            FieldOp::IncrBy {
                kind,
                offset,
                increment,
                overflow,
            } => bits::field_incr(value, kind, offset, increment, overflow),
        };
        reply.map_or(Frame::Null, Frame::Integer)
    }

    fn get(self, value: &[u8]) -> i64 {
        match self {
            FieldOp::Get { kind, offset } => bits::field_get(value, kind, offset),
            // BITFIELD_RO holds only GETs.
            FieldOp::Set { .. } | FieldOp::IncrBy { .. } => 0,
        }
    }

    fn writes(self) -> bool {
        !matches!(self, FieldOp::Get { .. })
    }
}

/// The subcommands, checked as Redis checks them (in order; BITFIELD_RO refuses SET/INCRBY only
/// once everything parsed).
fn parse_ops(args: &[Bytes], read_only: bool) -> Result<Vec<FieldOp>, CommandError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut at = 2;
    while at < args.len() {
        let remaining = args.len() - at - 1;
        let name = &args[at];
        let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
        let arguments = if is("get") && remaining >= 2 {
            2
        } else if (is("set") || is("incrby")) && remaining >= 3 {
            3
        } else if is("overflow") && remaining >= 1 {
            overflow = Overflow::parse(&args[at + 1]).ok_or_else(|| {
                CommandError::Message("ERR Invalid OVERFLOW type specified".to_owned())
            })?;
            at += 2;
            continue;
        } else {
            return Err(CommandError::Syntax);
        };
        let kind = bits::parse_type(&args[at + 1]).ok_or_else(|| {
            CommandError::Message(
                "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not \
                 supported but i64 is."
                    .to_owned(),
            )
        })?;
        let offset = bits::parse_offset(&args[at + 2], kind).ok_or_else(bit_offset_error)?;
        ops.push(if arguments == 2 {
            FieldOp::Get { kind, offset }
        } else if is("set") {
            FieldOp::Set {
                kind,
                offset,
                value: integer_arg(&args[at + 3])?,
                overflow,
            }
        } else {
            FieldOp::IncrBy {
                kind,
                offset,
                increment: integer_arg(&args[at + 3])?,
                overflow,
            }
        });
        at += 1 + arguments;
    }
    if read_only && ops.iter().any(|op| op.writes()) {
        return Err(CommandError::Message(
            "ERR BITFIELD_RO only supports the GET subcommand".to_owned(),
        ));
    }
    Ok(ops)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BitField {
    key: Bytes,
    ops: Vec<FieldOp>,
}

pub fn parse(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(Write::Bits(BitsWrite::BitField(BitField {
        key: args[1].clone(),
        ops: parse_ops(args, false)?,
    })))
}

impl BitField {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// One reply per subcommand. With a SET or INCRBY the key is created (or grown with zero
    /// bytes) to hold every written field, even those FAIL refuses, and keeps its TTL; with only
    /// GETs nothing is written.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let store = db.store(&self.key);
        if !self.ops.iter().any(|op| op.writes()) {
            let value = match store.get(&self.key, now) {
                Some(entry) => entry.string()?,
                None => &[],
            };
            let replies = self.ops.iter().map(|op| Frame::Integer(op.get(value)));
            return Ok(Frame::Array(replies.collect()));
        }
        let (mut value, expire_at_ms) = owned_string(store, &self.key, now)?.unwrap_or_default();
        let replies: Vec<Frame> = self.ops.iter().map(|op| op.run(&mut value)).collect();
        store.put(Entry::new(&self.key, &value, expire_at_ms, now), now);
        Ok(Frame::Array(replies))
    }
}

#[derive(Debug)]
pub struct BitFieldRo {
    key: Bytes,
    ops: Vec<FieldOp>,
}

pub fn parse_ro(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Bits(BitsRead::BitFieldRo(BitFieldRo {
        key: args[1].clone(),
        ops: parse_ops(args, true)?,
    })))
}

impl BitFieldRo {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let (found, value) = match store.get(&self.key, now) {
                Some(entry) => (true, entry.string()?),
                None => (false, &[][..]),
            };
            out.array_header(self.ops.len());
            for op in &self.ops {
                out.integer(op.get(value));
            }
            Ok::<_, CommandError>(found)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
