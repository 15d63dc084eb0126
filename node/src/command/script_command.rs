//! SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP. Scripts are kept per member, as Redis Cluster
//! keeps them per node; EVALSHA forwarded to a leader that lacks the script is sent as EVAL.

use bytes::Bytes;

use super::{CommandError, CommandResult, Session, text};
use crate::protocol::ReplyWriter;

const HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

pub fn script(session: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let subcommand = args[1].to_ascii_lowercase();
    let shared = session.shared;
    let wrong = || match &subcommand[..] {
        b"load" | b"exists" | b"flush" | b"kill" | b"help" => CommandError::Message(format!(
            "ERR wrong number of arguments for 'script|{}' command",
            text(&subcommand)
        )),
        _ => CommandError::Message(format!(
            "ERR unknown subcommand '{}'. Try SCRIPT HELP.",
            text(&args[1])
        )),
    };
    match (&subcommand[..], args.len()) {
        (b"load", 3) => {
            let sha = shared
                .scripts
                .load(args[2].clone())
                .map_err(|error| CommandError::Message(error.to_string()))?;
            out.bulk(sha.as_bytes());
        }
        (b"exists", count) if count >= 3 => {
            out.array_header(count - 2);
            for sha in &args[2..] {
                out.integer(i64::from(shared.scripts.exists(sha)));
            }
        }
        (b"flush", 2) => {
            shared.scripts.flush();
            out.ok();
        }
        (b"flush", 3) => {
            let mode = args[2].to_ascii_lowercase();
            if mode != b"async" && mode != b"sync" {
                return Err(CommandError::Message(
                    "ERR SCRIPT FLUSH only support SYNC|ASYNC option".to_owned(),
                ));
            }
            shared.scripts.flush();
            out.ok();
        }
        (b"kill", 2) => {
            if !shared.running_scripts.kill_all() {
                return Err(CommandError::Message(
                    "NOTBUSY No scripts in execution right now.".to_owned(),
                ));
            }
            out.ok();
        }
        (b"help", 2) => {
            out.array_header(HELP.len());
            for line in HELP {
                out.simple(line);
            }
        }
        _ => return Err(wrong()),
    }
    Ok(())
}
