//! TIME: unix seconds and microseconds.

use bytes::Bytes;

use super::{CommandResult, Session};
use crate::protocol::ReplyWriter;

pub fn time(_context: &mut Session<'_>, _args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    // The same clock as expiry decisions (a fault test may shift it).
    let micros = crate::store::unix_micros();
    out.array_header(2);
    out.bulk((micros / 1_000_000).to_string().as_bytes());
    out.bulk((micros % 1_000_000).to_string().as_bytes());
    Ok(())
}
