//! HSCAN key cursor [MATCH pattern] [COUNT count]; also the cursor and options SSCAN shares.
//!
//! The cursor is a position in the hash's dense vector of fields, scanned downwards (see `Dense::scan`
//! in `store/types/set.rs`): as in Redis, every field present for the whole iteration is returned
//! at least once, however the hash grows or shrinks meanwhile, and exactly once when no field was
//! removed; a scan always ends. NOVALUES is Redis 7.4 and not accepted, as in 7.0.

use bytes::Bytes;

use super::HashRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::types::HashValue;

/// The cursor and options of HSCAN and SSCAN. As in Redis, the cursor is checked first, then the
/// key (a missing key answers an empty scan whatever the options), then the options.
#[derive(Debug)]
pub(crate) struct ScanArgs {
    pub cursor: u64,
    pub options: Result<ScanOptions, String>,
}

#[derive(Debug)]
pub(crate) struct ScanOptions {
    /// `None` matches everything.
    pub pattern: Option<Bytes>,
    pub count: usize,
}

impl ScanOptions {
    pub fn matches(&self, element: &[u8]) -> bool {
        self.pattern
            .as_deref()
            .is_none_or(|pattern| crate::glob::matches(pattern, element))
    }
}

impl ScanArgs {
    /// `args[2]` is the cursor, options follow.
    pub fn parse(args: &[Bytes]) -> Result<ScanArgs, CommandError> {
        let cursor = parse_cursor(&args[2])
            .ok_or_else(|| CommandError::Message("ERR invalid cursor".to_owned()))?;
        Ok(ScanArgs {
            cursor,
            options: parse_options(&args[3..]).map_err(|error| error.to_string()),
        })
    }

    /// The options, or their error (once the key is known to be there).
    pub fn options(&self) -> Result<&ScanOptions, CommandError> {
        self.options
            .as_ref()
            .map_err(|error| CommandError::Message(error.clone()))
    }
}

/// As Redis's `strtoul`: an optional sign (`-1` is the largest cursor), digits, nothing else;
/// an empty text is 0.
fn parse_cursor(text: &[u8]) -> Option<u64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if text.is_empty() {
        return Some(0);
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits.iter().try_fold(0u64, |value, &digit| {
        value.checked_mul(10)?.checked_add(u64::from(digit - b'0'))
    })?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn parse_options(options: &[Bytes]) -> Result<ScanOptions, CommandError> {
    let mut parsed = ScanOptions {
        pattern: None,
        count: 10,
    };
    let mut index = 0;
    while index < options.len() {
        let Some(value) = options.get(index + 1) else {
            return Err(CommandError::Syntax);
        };
        match options[index].to_ascii_uppercase().as_slice() {
            b"COUNT" => {
                let count = integer_arg(value)?;
                if count < 1 {
                    return Err(CommandError::Syntax);
                }
                parsed.count = usize::try_from(count).unwrap_or(usize::MAX);
            }
            b"MATCH" => parsed.pattern = Some(value.clone()).filter(|p| &p[..] != b"*"),
            _ => return Err(CommandError::Syntax),
        }
        index += 2;
    }
    Ok(parsed)
}

/// Writes `[cursor, [elements...]]`, a flat array of elements in RESP2 and RESP3 alike.
pub(crate) fn write_scan_reply(out: &mut ReplyWriter, cursor: u64, elements: &[&[u8]]) {
    out.array_header(2);
    out.bulk(cursor.to_string().as_bytes());
    out.array_header(elements.len());
    for element in elements {
        out.bulk(element);
    }
}

#[derive(Debug)]
pub struct HScan {
    key: Bytes,
    args: ScanArgs,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Hashes(HashRead::Scan(HScan {
        key: args[1].clone(),
        args: ScanArgs::parse(args)?,
    })))
}

impl HScan {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    /// Fields and values alternate in the reply; MATCH filters on the field.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let Some(hash) = store.read::<HashValue>(&self.key, now)? else {
                write_scan_reply(out, 0, &[]);
                return Ok::<_, CommandError>(false);
            };
            let options = self.args.options()?;
            let mut elements = Vec::new();
            let next = hash.scan(self.args.cursor, options.count, |field, value| {
                if options.matches(field) {
                    elements.push(field);
                    elements.push(value);
                }
            });
            write_scan_reply(out, next, &elements);
            Ok(true)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"+5"), Some(5));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551616"), None);
        assert_eq!(parse_cursor(b"abc"), None);
        assert_eq!(parse_cursor(b" 1"), None);
        assert_eq!(parse_cursor(b"-"), None);
    }
}
