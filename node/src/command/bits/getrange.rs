//! GETRANGE key start end, SUBSTR key start end

use bytes::Bytes;

use super::BitsRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;

#[derive(Debug)]
pub struct GetRange {
    key: Bytes,
    start: i64,
    end: i64,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Bits(BitsRead::GetRange(GetRange {
        key: args[1].clone(),
        start: integer_arg(&args[2])?,
        end: integer_arg(&args[3])?,
    })))
}

/// The inclusive range `start..=end` of a `len`-byte string as Redis's `getrangeCommand` takes it:
/// negative indexes from the end, clamped, and empty for two negative indexes in the wrong order
/// (even when clamping would make them overlap).
pub fn substring(len: usize, start: i64, end: i64) -> Option<std::ops::Range<usize>> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    let start = if start < 0 { start + len } else { start }.max(0);
    let end = if end < 0 { end + len } else { end }.max(0).min(len - 1);
    if start > end || len == 0 {
        return None;
    }
    Some(start as usize..end as usize + 1)
}

impl GetRange {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// The substring; an empty string for a missing key or an empty range.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found =
            context
                .keyspace
                .with_key(&self.key, |store| match store.get(&self.key, now) {
                    Some(entry) => {
                        let value = entry.string()?;
                        let range = substring(value.len(), self.start, self.end);
                        out.bulk(range.and_then(|range| value.get(range)).unwrap_or_default());
                        Ok(true)
                    }
                    None => {
                        out.bulk(b"");
                        Ok::<_, CommandError>(false)
                    }
                })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::substring;

    /// Observed on redis-server 7.0.15 with `SET s "This is a string"` (16 bytes).
    #[test]
    fn ranges_match_redis() {
        let cases = [
            ((0, 3), Some(0..4)),
            ((-3, -1), Some(13..16)),
            ((0, -1), Some(0..16)),
            ((10, 100), Some(10..16)),
            ((-1, -5), None),
            ((5, 3), None),
            ((-100, -50), Some(0..1)),
            ((100, 200), None),
            ((i64::MIN, i64::MAX), Some(0..16)),
        ];
        for ((start, end), expected) in cases {
            assert_eq!(substring(16, start, end), expected, "{start} {end}");
        }
        assert_eq!(substring(0, 0, -1), None);
    }
}
