//! SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
//!
//! The cursor encodes a shard and a position inside it (see [`crate::store::ScanCursor`]). Every key
//! present for the whole iteration is returned at least once, as Redis guarantees.

use bytes::Bytes;

use super::{CommandError, CommandResult, Context, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::ScanCursor;

pub fn scan(context: &mut Context<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| CommandError::Message("ERR invalid cursor".to_owned()))?;
    let mut pattern: Option<&[u8]> = None;
    let mut count = 10usize;
    let mut strings_only = true;
    let mut index = 2;
    while index < args.len() {
        let Some(value) = args.get(index + 1) else {
            return Err(CommandError::Syntax);
        };
        match args[index].to_ascii_uppercase().as_slice() {
            b"MATCH" => pattern = Some(value).filter(|p| &p[..] != b"*").map(|p| &p[..]),
            b"COUNT" => {
                let requested = integer_arg(value)?;
                if requested < 1 {
                    return Err(CommandError::Syntax);
                }
                count = requested as usize;
            }
            // Every value is a string, so any other type filter matches nothing.
            b"TYPE" => strings_only = value.eq_ignore_ascii_case(b"string"),
            _ => return Err(CommandError::Syntax),
        }
        index += 2;
    }
    let (next, keys) = if strings_only {
        context
            .shared
            .keyspace
            .scan(ScanCursor::decode(cursor), count, context.now_ms, |key| {
                pattern.is_none_or(|pattern| crate::glob::matches(pattern, key))
            })
    } else {
        context
            .shared
            .keyspace
            .scan(ScanCursor::decode(cursor), count, context.now_ms, |_| false)
    };
    out.array_header(2);
    out.bulk(next.encode().to_string().as_bytes());
    out.array_header(keys.len());
    for key in &keys {
        out.bulk(key);
    }
    Ok(())
}
