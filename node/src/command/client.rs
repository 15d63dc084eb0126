//! CLIENT SETNAME | GETNAME | ID | SETINFO | LIST | INFO | HELP

use bytes::Bytes;

use super::{CommandError, CommandResult, Session, text};
use crate::protocol::ReplyWriter;

/// Redis refuses names with spaces, newlines and other non-printable characters.
pub fn validate_name(name: &[u8]) -> Result<(), CommandError> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CommandError::Message(
            "ERR Client names cannot contain spaces, newlines or special characters.".to_owned(),
        ));
    }
    Ok(())
}

fn arity(args: &[Bytes], expected: usize, name: &str) -> Result<(), CommandError> {
    if args.len() != expected {
        return Err(CommandError::WrongArity(format!("client|{name}")));
    }
    Ok(())
}

pub fn client(context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let subcommand = args[1].to_ascii_lowercase();
    let handle = &context.client.handle;
    match subcommand.as_slice() {
        b"setname" => {
            arity(args, 3, "setname")?;
            validate_name(&args[2])?;
            handle.names.lock().name = text(&args[2]).into_owned();
            out.ok();
        }
        b"getname" => {
            arity(args, 2, "getname")?;
            let name = handle.names.lock().name.clone();
            if name.is_empty() {
                out.null();
            } else {
                out.bulk(name.as_bytes());
            }
        }
        b"id" => {
            arity(args, 2, "id")?;
            out.integer(handle.id as i64);
        }
        b"setinfo" => {
            arity(args, 4, "setinfo")?;
            validate_name(&args[3]).map_err(|_| {
                CommandError::Message(format!(
                    "ERR {} cannot contain spaces, newlines or special characters.",
                    text(&args[2]).to_ascii_lowercase()
                ))
            })?;
            let mut names = handle.names.lock();
            match args[2].to_ascii_lowercase().as_slice() {
                b"lib-name" => names.library_name = text(&args[3]).into_owned(),
                b"lib-ver" => names.library_version = text(&args[3]).into_owned(),
                _ => {
                    return Err(CommandError::Message(format!(
                        "ERR Unrecognized option '{}'",
                        text(&args[2])
                    )));
                }
            }
            out.ok();
        }
        b"list" => {
            let mut listing = String::new();
            for client in context.shared.clients.all() {
                listing.push_str(&client.describe());
                listing.push('\n');
            }
            out.verbatim("txt", listing.as_bytes());
        }
        b"info" => {
            arity(args, 2, "info")?;
            let mut line = handle.describe();
            line.push('\n');
            out.verbatim("txt", line.as_bytes());
        }
        b"help" => {
            let lines = [
                "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "LIST",
                "    Return information about client connections.",
                "SETINFO <option> <value>",
                "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "HELP",
                "    Print this help.",
            ];
            out.array_header(lines.len());
            lines.iter().for_each(|line| out.simple(line));
        }
        _ => {
            return Err(CommandError::Message(format!(
                "ERR unknown subcommand '{}'. Try CLIENT HELP.",
                text(&args[1])
            )));
        }
    }
    Ok(())
}
