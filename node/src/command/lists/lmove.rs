//! LMOVE source destination LEFT|RIGHT LEFT|RIGHT, RPOPLPUSH source destination, and their
//! blocking forms BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout, BRPOPLPUSH source
//! destination timeout.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::blocking::{Blocking, parse_timeout};
use super::{End, ListWrite, pop_at, push_at};
use crate::command::{CommandError, Keys, Write};
use crate::protocol::Frame;
use crate::store::Db;
use crate::store::types::{Kind, ListValue, WrongType};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LMove {
    source: Bytes,
    destination: Bytes,
    from: End,
    to: End,
    /// BLMOVE / BRPOPLPUSH: milliseconds to wait for an element (0: forever).
    timeout_ms: Option<u64>,
}

fn command(args: &[Bytes], from: End, to: End, timeout_ms: Option<u64>) -> Write {
    Write::Lists(ListWrite::Move(LMove {
        source: args[1].clone(),
        destination: args[2].clone(),
        from,
        to,
        timeout_ms,
    }))
}

pub fn lmove(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let (from, to) = (End::parse(&args[3])?, End::parse(&args[4])?);
    Ok(command(args, from, to, None))
}

pub fn rpoplpush(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    Ok(command(args, End::Right, End::Left, None))
}

pub fn blmove(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let (from, to) = (End::parse(&args[3])?, End::parse(&args[4])?);
    let timeout = parse_timeout(&args[5])?;
    Ok(command(args, from, to, Some(timeout)))
}

pub fn brpoplpush(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    let timeout = parse_timeout(&args[3])?;
    Ok(command(args, End::Right, End::Left, Some(timeout)))
}

impl LMove {
    pub fn keys(&self) -> Keys<'_> {
        Keys::Many(vec![&self.source, &self.destination])
    }

    /// BLMOVE and BRPOPLPUSH wait for the source alone.
    pub fn blocking(&self) -> Option<Blocking<'_>> {
        let timeout = self.timeout_ms?;
        Some(Blocking::new(std::slice::from_ref(&self.source), timeout))
    }

    /// The element moved. A missing source answers nil (the null array for the blocking forms:
    /// nothing yet). The destination's type is checked before anything changes; with source and
    /// destination the same key the list rotates and keeps its TTL.
    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        if db
            .store(&self.source)
            .read::<ListValue>(&self.source, now)?
            .is_none()
        {
            return Ok(if self.timeout_ms.is_some() {
                Frame::NullArray
            } else {
                Frame::Null
            });
        }
        let moved = if self.source == self.destination {
            db.store(&self.source)
                .update::<ListValue, _>(&self.source, now, false, |list| {
                    let element = pop_at(list, self.from)?;
                    push_at(list, self.to, &element);
                    Some(element)
                })?
                .flatten()
        } else {
            let destination_kind = db.store(&self.destination).kind(&self.destination, now);
            if destination_kind.is_some_and(|kind| kind != Kind::List) {
                return Err(WrongType.into());
            }
            let element = db
                .store(&self.source)
                .update::<ListValue, _>(&self.source, now, false, |list| pop_at(list, self.from))?
                .flatten();
            if let Some(element) = &element {
                db.store(&self.destination).update::<ListValue, _>(
                    &self.destination,
                    now,
                    true,
                    |list| push_at(list, self.to, element),
                )?;
            }
            element
        };
        db.signal_list_ready(&self.destination);
        Ok(moved.map_or(Frame::Null, |element| Frame::Bulk(Bytes::from(element))))
    }
}
