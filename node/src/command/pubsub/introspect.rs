//! PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS [pattern] |
//! SHARDNUMSUB [shardchannel ...] | HELP. What this member knows (Redis Cluster answers for the
//! node asked, too).

use bytes::Bytes;

use super::super::{CommandError, CommandResult, Session, text};
use crate::protocol::ReplyWriter;
use crate::pubsub::Kind;

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

pub fn pubsub(session: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let registry = &session.shared.pubsub;
    let subcommand = args[1].to_ascii_lowercase();
    match (subcommand.as_slice(), args.len()) {
        (b"channels", 2 | 3) | (b"shardchannels", 2 | 3) => {
            let kind = if subcommand.as_slice() == b"channels" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            let channels = registry.channels(kind, args.get(2).map(|pattern| &pattern[..]));
            out.array_header(channels.len());
            for channel in &channels {
                out.bulk(channel);
            }
        }
        (b"numsub", _) | (b"shardnumsub", _) => {
            let kind = if subcommand.as_slice() == b"numsub" {
                Kind::Channel
            } else {
                Kind::Shard
            };
            out.array_header(2 * (args.len() - 2));
            for channel in &args[2..] {
                out.bulk(channel);
                out.integer(registry.count(kind, channel) as i64);
            }
        }
        (b"numpat", 2) => out.integer(registry.len(Kind::Pattern) as i64),
        (b"help", 2) => {
            out.array_header(HELP.len());
            for line in HELP {
                out.simple(line);
            }
        }
        // Fixed arity in Redis's table of subcommands, checked before the command runs.
        (b"numpat" | b"help", _) => {
            return Err(CommandError::WrongArity(format!(
                "pubsub|{}",
                text(&subcommand)
            )));
        }
        (b"channels" | b"shardchannels", _) => {
            return Err(CommandError::Message(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try PUBSUB HELP.",
                text(&args[1])
            )));
        }
        _ => {
            return Err(CommandError::Message(format!(
                "ERR unknown subcommand '{}'. Try PUBSUB HELP.",
                text(&args[1])
            )));
        }
    }
    Ok(())
}
