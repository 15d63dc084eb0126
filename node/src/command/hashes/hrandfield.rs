//! HRANDFIELD key [count [WITHVALUES]]

use bytes::Bytes;

use super::{HashRead, MAX_REPEATED_PICKS, call_rng, count_arg, too_many_picks};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext};
use crate::protocol::{Protocol, ReplyWriter};
use crate::store::types::HashValue;

#[derive(Debug)]
pub struct HRandField {
    key: Bytes,
    /// `None`: one field as a bulk string (or nil).
    count: Option<i64>,
    with_values: bool,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let mut command = HRandField {
        key: args[1].clone(),
        count: None,
        with_values: false,
    };
    if let Some(count) = args.get(2) {
        let count = count_arg(count)?;
        match args.get(3) {
            _ if args.len() > 4 => return Err(CommandError::Syntax),
            Some(option) if !option.eq_ignore_ascii_case(b"withvalues") => {
                return Err(CommandError::Syntax);
            }
            Some(_) => {
                if !(-i64::MAX / 2..=i64::MAX / 2).contains(&count) {
                    return Err(CommandError::Message(
                        "ERR value is out of range".to_owned(),
                    ));
                }
                command.with_values = true;
            }
            None => {}
        }
        if count < -MAX_REPEATED_PICKS {
            return Err(too_many_picks());
        }
        command.count = Some(count);
    }
    Ok(Read::Hashes(HashRead::RandField(command)))
}

impl HRandField {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// With a count: distinct fields when it is positive (at most all of them), `-count` fields
    /// picked independently (repeats possible) when negative; an array, whose elements are
    /// `[field, value]` pairs in RESP3 with WITHVALUES (a flat array in RESP2), as Redis replies.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let mut rng = call_rng();
        let found = context.keyspace.with_key(&self.key, |store| {
            let hash = store.read::<HashValue>(&self.key, now)?;
            let Some(count) = self.count else {
                out.optional_bulk(hash.and_then(|hash| hash.random(&mut rng)).map(|(f, _)| f));
                return Ok::<_, CommandError>(hash.is_some());
            };
            let Some(hash) = hash.filter(|_| count != 0) else {
                out.array_header(0);
                return Ok(hash.is_some());
            };
            let pairs_flat = self.with_values && out.protocol() == Protocol::Resp2;
            let write = |out: &mut ReplyWriter, (field, value): (&[u8], &[u8])| {
                if self.with_values && !pairs_flat {
                    out.array_header(2);
                }
                out.bulk(field);
                if self.with_values {
                    out.bulk(value);
                }
            };
            let header = |picks: usize| if pairs_flat { picks * 2 } else { picks };
            if count > 0 {
                let picks = hash.random_distinct(count as usize, &mut rng);
                out.array_header(header(picks.len()));
                for pick in picks {
                    write(out, pick);
                }
            } else {
                // Written as picked: no list of up to MAX_REPEATED_PICKS is built.
                let picks = count.unsigned_abs() as usize;
                out.array_header(header(picks));
                for _ in 0..picks {
                    if let Some(pick) = hash.random(&mut rng) {
                        write(out, pick);
                    }
                }
            }
            Ok(true)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}
