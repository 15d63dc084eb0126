//! PING [message] (`["pong", message]` in RESP2 subscribed mode)

use bytes::Bytes;

use super::{CommandError, CommandResult, Session};
use crate::protocol::ReplyWriter;

pub fn ping(context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    if args.len() <= 2
        && context.client.pubsub.active()
        && out.protocol() == crate::protocol::Protocol::Resp2
    {
        // RESP2 subscribed mode: a reply shaped like the pushes around it, as Redis sends it.
        out.array_header(2);
        out.bulk(b"pong");
        out.bulk(args.get(1).map_or(&b""[..], |message| &message[..]));
        return Ok(());
    }
    match args.len() {
        1 => out.simple("PONG"),
        2 => out.bulk(&args[1]),
        _ => return Err(CommandError::WrongArity("ping".to_owned())),
    }
    Ok(())
}
