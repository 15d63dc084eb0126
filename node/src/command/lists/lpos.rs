//! LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]

use bytes::Bytes;

use super::{ListRead, integer_at_least};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::types::ListValue;

#[derive(Debug)]
pub struct LPos {
    key: Bytes,
    element: Bytes,
    /// Which match is the first reported: 1 the first from the head, -1 the first from the tail.
    rank: i64,
    /// COUNT: `None` answers one index (or nil), `Some(0)` every match.
    count: Option<i64>,
    /// Elements compared at most; 0 means all.
    maxlen: i64,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let mut command = LPos {
        key: args[1].clone(),
        element: args[2].clone(),
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut options = args[3..].iter();
    while let Some(option) = options.next() {
        // Every option takes a value; a later one replaces an earlier one.
        let value = if options.len() > 0 {
            options.next()
        } else {
            None
        };
        match (option.to_ascii_lowercase().as_slice(), value) {
            (b"rank", Some(value)) => {
                command.rank = integer_arg(value)?;
                if command.rank == 0 {
                    return Err(CommandError::Message(
                        "ERR RANK can't be zero: use 1 to start from the first match, 2 from \
                         the second ... or use negative to start from the end of the list"
                            .to_owned(),
                    ));
                }
            }
            (b"count", Some(value)) => {
                command.count = Some(integer_at_least(value, 0, "COUNT can't be negative")?);
            }
            (b"maxlen", Some(value)) => {
                command.maxlen = integer_at_least(value, 0, "MAXLEN can't be negative")?;
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok(Read::Lists(ListRead::Position(command)))
}

impl LPos {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let Some(list) = store.read::<ListValue>(&self.key, now)? else {
                match self.count {
                    Some(_) => out.array_header(0),
                    None => out.null(),
                }
                return Ok::<_, CommandError>(false);
            };
            let matches = self.matches(list);
            match self.count {
                Some(_) => {
                    out.array_header(matches.len());
                    matches.iter().for_each(|&index| out.integer(index as i64));
                }
                None => match matches.first() {
                    Some(&index) => out.integer(index as i64),
                    None => out.null(),
                },
            }
            Ok(true)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }

    /// The indexes reported, as Redis's `lposCommand` finds them. Its arithmetic is kept exactly,
    /// wrapping included: a RANK of `i64::MIN` stays negative when negated, so every match counts
    /// from the first.
    fn matches(&self, list: &ListValue) -> Vec<usize> {
        let from_tail = self.rank < 0;
        let rank = if from_tail {
            self.rank.wrapping_neg()
        } else {
            self.rank
        };
        let wanted = self.count.unwrap_or(1);
        let length = list.len();
        let limit = if self.maxlen == 0 {
            usize::MAX
        } else {
            usize::try_from(self.maxlen).unwrap_or(usize::MAX)
        };
        let elements: Box<dyn Iterator<Item = &[u8]>> = if from_tail {
            Box::new(list.iter().rev())
        } else {
            Box::new(list.iter())
        };
        let mut found = Vec::new();
        let mut seen: i64 = 0;
        for (position, element) in elements.take(limit).enumerate() {
            if element != &self.element[..] {
                continue;
            }
            seen += 1;
            if seen < rank {
                continue;
            }
            found.push(if from_tail {
                length - position - 1
            } else {
                position
            });
            if self.count.is_none()
                || (wanted != 0 && seen.wrapping_sub(rank).wrapping_add(1) >= wanted)
            {
                break;
            }
        }
        found
    }
}
