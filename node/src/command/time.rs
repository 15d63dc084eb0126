//! TIME: unix seconds and microseconds.

use bytes::Bytes;

use super::{CommandResult, Context};
use crate::protocol::ReplyWriter;

pub fn time(_context: &mut Context<'_>, _args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    out.array_header(2);
    out.bulk(now.as_secs().to_string().as_bytes());
    out.bulk(now.subsec_micros().to_string().as_bytes());
    Ok(())
}
