//! COMMAND [COUNT | INFO [name ...] | DOCS [name ...] | LIST | GETKEYS command [arg ...]]
//!
//! Enough for `redis-cli` (which reads COMMAND DOCS for its hints) and cluster-aware clients (which read
//! key positions from COMMAND INFO).

use bytes::Bytes;

use super::{CommandError, CommandResult, CommandSpec, Session, lookup, specs, text};
use crate::protocol::{Frame, ReplyWriter};

fn info_frame(spec: &CommandSpec) -> Frame {
    Frame::Array(vec![
        Frame::bulk(spec.name),
        Frame::Integer(i64::from(spec.arity)),
        Frame::Set(spec.flags.names().into_iter().map(Frame::simple).collect()),
        Frame::Integer(i64::from(spec.first_key)),
        Frame::Integer(i64::from(spec.last_key)),
        Frame::Integer(i64::from(spec.step)),
        Frame::Set(vec![Frame::simple(acl_category(spec.group))]),
        Frame::Set(Vec::new()),
        Frame::Array(Vec::new()),
        Frame::Array(Vec::new()),
    ])
}

/// The ACL category Redis lists for a command group (`generic` commands are `@keyspace`).
fn acl_category(group: &str) -> String {
    match group {
        "generic" => "@keyspace".to_owned(),
        "sorted-set" => "@sortedset".to_owned(),
        other => format!("@{other}"),
    }
}

/// COMMAND GETKEYS: the keys of a full command, as this node parses it.
fn getkeys(args: &[Bytes]) -> Result<Frame, CommandError> {
    let invalid = || CommandError::Message("ERR Invalid command specified".to_owned());
    let name = args.first().ok_or_else(invalid)?;
    let spec = lookup(&name.to_ascii_lowercase()).ok_or_else(invalid)?;
    if !spec.accepts(args.len()) {
        return Err(CommandError::Message(
            "ERR Invalid number of arguments specified for command".to_owned(),
        ));
    }
    let keys: Vec<Frame> = match spec.kind {
        super::Kind::Read(parse) => parse(args)?
            .keys()
            .iter()
            .map(|key| Frame::bulk(Bytes::copy_from_slice(key)))
            .collect(),
        super::Kind::Write(parse) => parse(args, 0)?
            .keys()
            .iter()
            .map(|key| Frame::bulk(Bytes::copy_from_slice(key)))
            .collect(),
        super::Kind::Script(parse) => parse(args)?.keys.into_iter().map(Frame::Bulk).collect(),
        super::Kind::Transaction => args[1..]
            .iter()
            .filter(|_| spec.first_key > 0)
            .cloned()
            .map(Frame::Bulk)
            .collect(),
        _ => Vec::new(),
    };
    if keys.is_empty() {
        return Err(CommandError::Message(
            "ERR The command has no key arguments".to_owned(),
        ));
    }
    Ok(Frame::Array(keys))
}

fn docs_frame(spec: &CommandSpec) -> Frame {
    Frame::map([
        ("summary", Frame::bulk(spec.summary)),
        ("since", Frame::bulk(spec.since)),
        ("group", Frame::bulk(spec.group)),
        ("complexity", Frame::bulk("O(1)")),
    ])
}

fn named(args: &[Bytes]) -> Vec<Option<&'static CommandSpec>> {
    args.iter()
        .map(|name| lookup(&name.to_ascii_lowercase()))
        .collect()
}

pub fn command(_context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let Some(subcommand) = args.get(1) else {
        out.frame(&Frame::Array(
            specs().iter().copied().map(info_frame).collect(),
        ));
        return Ok(());
    };
    match subcommand.to_ascii_lowercase().as_slice() {
        b"count" => out.integer(specs().len() as i64),
        b"info" => {
            let frames = if args.len() == 2 {
                specs().iter().copied().map(info_frame).collect()
            } else {
                named(&args[2..])
                    .into_iter()
                    .map(|spec| spec.map_or(Frame::NullArray, info_frame))
                    .collect()
            };
            out.frame(&Frame::Array(frames));
        }
        b"docs" => {
            let chosen: Vec<&CommandSpec> = if args.len() == 2 {
                specs().to_vec()
            } else {
                named(&args[2..]).into_iter().flatten().collect()
            };
            out.frame(&Frame::map(
                chosen.into_iter().map(|spec| (spec.name, docs_frame(spec))),
            ));
        }
        b"getkeys" if args.len() >= 3 => out.frame(&getkeys(&args[2..])?),
        b"list" => {
            out.frame(&Frame::Array(
                specs().iter().map(|spec| Frame::bulk(spec.name)).collect(),
            ));
        }
        _ => {
            return Err(CommandError::Message(format!(
                "ERR unknown subcommand '{}'. Try COMMAND HELP.",
                text(subcommand)
            )));
        }
    }
    Ok(())
}
