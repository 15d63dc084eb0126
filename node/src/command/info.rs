//! INFO [section [section ...]]

use bytes::Bytes;

use super::{CommandResult, Session};
use crate::protocol::ReplyWriter;

pub fn info(context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let sections: Vec<String> = args[1..]
        .iter()
        .map(|arg| super::text(arg).to_ascii_lowercase())
        .collect();
    let text = crate::info::render(context.shared, &sections, context.now_ms);
    out.verbatim("txt", text.as_bytes());
    Ok(())
}
