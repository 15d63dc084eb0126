//! CONFIG GET parameter [parameter ...] | SET parameter value [parameter value ...] | RESETSTAT | HELP

use bytes::Bytes;

use super::{CommandError, CommandResult, Session, text};
use crate::eviction::EvictionPolicy;
use crate::protocol::ReplyWriter;
use crate::shared::Shared;

/// Parameters CONFIG GET knows, in the order it reports them.
const PARAMETERS: &[&str] = &[
    "maxmemory",
    "maxmemory-policy",
    "maxmemory-samples",
    "save",
    "appendonly",
    "maxclients",
    "port",
    "bind",
    "databases",
    "timeout",
    "requirepass",
    "proto-max-bulk-len",
    "client-output-buffer-limit",
];

fn value_of(shared: &Shared, parameter: &str) -> String {
    let settings = shared.settings.read();
    match parameter {
        "maxmemory" => shared.keyspace.maxmemory().to_string(),
        "maxmemory-policy" => shared.keyspace.policy().to_string(),
        "maxmemory-samples" => crate::eviction::SAMPLES.to_string(),
        "save" => settings.save.clone(),
        "appendonly" => settings.appendonly.clone(),
        "maxclients" => settings.maxclients.to_string(),
        "port" => shared.port.to_string(),
        "bind" => shared.config.bind.to_string(),
        "databases" => "1".to_owned(),
        "timeout" => "0".to_owned(),
        "requirepass" => settings.password.clone().unwrap_or_default(),
        "proto-max-bulk-len" => (512 * 1024 * 1024).to_string(),
        "client-output-buffer-limit" => crate::pubsub::config_value(shared.pubsub.limit()),
        _ => String::new(),
    }
}

fn failed(parameter: &str, reason: &str) -> CommandError {
    CommandError::Message(format!(
        "ERR CONFIG SET failed (possibly related to argument '{parameter}') - {reason}"
    ))
}

fn set_one(
    shared: &Shared,
    parameter: &str,
    value: &[u8],
    now_ms: u64,
) -> Result<(), CommandError> {
    let value = text(value);
    match parameter {
        "maxmemory" => {
            let bytes = crate::config::parse_memory(&value)
                .map_err(|_| failed(parameter, "argument couldn't be parsed into an integer"))?;
            shared.keyspace.set_maxmemory(bytes);
            // Like Redis, apply a lowered limit right away where the policy allows it.
            let _ = shared.keyspace.make_room(now_ms);
        }
        "maxmemory-policy" => {
            let policy: EvictionPolicy = value.parse().map_err(|_| {
                failed(
                    parameter,
                    "argument(s) must be one of the following: volatile-lru, allkeys-lru, volatile-lfu, allkeys-lfu, volatile-random, allkeys-random, volatile-ttl, noeviction",
                )
            })?;
            shared.keyspace.set_policy(policy);
        }
        "save" => shared.settings.write().save = value.into_owned(),
        "appendonly" => match value.to_ascii_lowercase().as_str() {
            "no" => shared.settings.write().appendonly = "no".to_owned(),
            "yes" => {
                return Err(failed(
                    parameter,
                    "persistence is not supported by ringcache-node yet",
                ));
            }
            _ => return Err(failed(parameter, "argument must be 'yes' or 'no'")),
        },
        "maxclients" => {
            let clients = value
                .parse::<usize>()
                .ok()
                .filter(|clients| *clients > 0)
                .ok_or_else(|| failed(parameter, "argument couldn't be parsed into an integer"))?;
            shared.settings.write().maxclients = clients;
        }
        "client-output-buffer-limit" => {
            let limit = crate::pubsub::parse_config_value(&value)
                .map_err(|reason| failed(parameter, reason))?;
            if let Some(limit) = limit {
                shared.pubsub.set_limit(limit);
            }
        }
        _ => {
            return Err(CommandError::Message(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{parameter}'"
            )));
        }
    }
    Ok(())
}

pub fn config(context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let subcommand = args[1].to_ascii_lowercase();
    match subcommand.as_slice() {
        b"get" => {
            if args.len() < 3 {
                return Err(CommandError::WrongArity("config|get".to_owned()));
            }
            let mut matched: Vec<&str> = Vec::new();
            for pattern in &args[2..] {
                let pattern = pattern.to_ascii_lowercase();
                for parameter in PARAMETERS {
                    if crate::glob::matches(&pattern, parameter.as_bytes())
                        && !matched.contains(parameter)
                    {
                        matched.push(parameter);
                    }
                }
            }
            out.map_header(matched.len());
            for parameter in matched {
                out.bulk(parameter.as_bytes());
                out.bulk(value_of(context.shared, parameter).as_bytes());
            }
        }
        b"set" => {
            if args.len() < 4 || !args.len().is_multiple_of(2) {
                return Err(CommandError::WrongArity("config|set".to_owned()));
            }
            for pair in args[2..].chunks_exact(2) {
                let parameter = text(&pair[0]).to_ascii_lowercase();
                set_one(context.shared, &parameter, &pair[1], context.now_ms)?;
            }
            out.ok();
        }
        b"resetstat" => {
            context.shared.stats.reset(&context.shared.keyspace);
            out.ok();
        }
        b"help" => {
            let lines = [
                "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value>",
                "    Set the configuration <directive> to <value>.",
                "RESETSTAT",
                "    Reset statistics reported by the INFO command.",
                "HELP",
                "    Print this help.",
            ];
            out.array_header(lines.len());
            lines.iter().for_each(|line| out.simple(line));
        }
        _ => {
            return Err(CommandError::Message(format!(
                "ERR unknown subcommand '{}'. Try CONFIG HELP.",
                text(&args[1])
            )));
        }
    }
    Ok(())
}
