//! SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
//!
//! The cursor encodes a shard and a position inside it (see [`crate::store::ScanCursor`]). Every key
//! present for the whole iteration is returned at least once, as Redis guarantees.

use bytes::Bytes;

use super::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::store::ScanCursor;

#[derive(Debug)]
pub struct Scan {
    cursor: u64,
    /// `None` matches every key.
    pattern: Option<Bytes>,
    count: usize,
    /// `TYPE`: only keys of this type (lower-case, as TYPE names it).
    type_name: Option<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let cursor = std::str::from_utf8(&args[1])
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .ok_or_else(|| CommandError::Message("ERR invalid cursor".to_owned()))?;
    let mut scan = Scan {
        cursor,
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut index = 2;
    while index < args.len() {
        let Some(value) = args.get(index + 1) else {
            return Err(CommandError::Syntax);
        };
        match args[index].to_ascii_uppercase().as_slice() {
            b"MATCH" => scan.pattern = Some(value.clone()).filter(|p| &p[..] != b"*"),
            b"COUNT" => {
                let requested = integer_arg(value)?;
                if requested < 1 {
                    return Err(CommandError::Syntax);
                }
                scan.count = requested as usize;
            }
            b"TYPE" => scan.type_name = Some(Bytes::from(value.to_ascii_lowercase())),
            _ => return Err(CommandError::Syntax),
        }
        index += 2;
    }
    Ok(Read::Scan(scan))
}

impl Scan {
    /// Keyless: it walks the keys this process holds.
    pub fn keys(&self) -> Keys<'_> {
        Keys::None
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let pattern = self.pattern.as_deref();
        let type_name = self.type_name.as_deref();
        let (next, keys) = context.keyspace.scan(
            ScanCursor::decode(self.cursor),
            self.count,
            context.now_ms,
            |entry| {
                type_name.is_none_or(|name| entry.kind().name().as_bytes() == name)
                    && pattern.is_none_or(|pattern| crate::glob::matches(pattern, entry.key()))
            },
        );
        out.array_header(2);
        out.bulk(next.encode().to_string().as_bytes());
        out.array_header(keys.len());
        for key in &keys {
            out.bulk(key);
        }
        Ok(())
    }
}
