//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE,
//! PUBLISH, SPUBLISH, PUBSUB, and RESET (which leaves every subscription). The registry and
//! delivery are in [`crate::pubsub`].
//!
//! Confirmations are pushes (`>` in RESP3, arrays in RESP2), one per channel, each with the
//! connection's count after it: channels and patterns together for (P)SUBSCRIBE, shard channels
//! alone for SSUBSCRIBE, as Redis 7.0 counts them.

mod introspect;
mod publish;

use bytes::Bytes;

use super::table::{CONN_NOAUTH, commands};
use super::{CommandError, CommandResult, CommandSpec, Flags, Keys, Session};
use crate::protocol::ReplyWriter;
use crate::pubsub::{Kind, Registry, ShardHome};

const SUBSCRIBING: Flags = Flags::PUBSUB
    .union(Flags::NOSCRIPT)
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::SUBSCRIBED_OK);
const PUBLISHING: Flags = Flags::PUBSUB
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::FAST);
const INTROSPECTION: Flags = Flags::PUBSUB.union(Flags::LOADING).union(Flags::STALE);

commands! { COMMANDS;
    "subscribe", -2, SUBSCRIBING, (0, 0, 0), "pubsub", "2.0.0", Server(subscribe),
        "Listens for messages published to channels.";
    "unsubscribe", -1, SUBSCRIBING, (0, 0, 0), "pubsub", "2.0.0", Server(unsubscribe),
        "Stops listening to messages posted to channels.";
    "psubscribe", -2, SUBSCRIBING, (0, 0, 0), "pubsub", "2.0.0", Server(psubscribe),
        "Listens for messages published to channels that match one or more patterns.";
    "punsubscribe", -1, SUBSCRIBING, (0, 0, 0), "pubsub", "2.0.0", Server(punsubscribe),
        "Stops listening to messages published to channels that match one or more patterns.";
    "ssubscribe", -2, SUBSCRIBING, (1, -1, 1), "pubsub", "7.0.0", Server(ssubscribe),
        "Listens for messages published to shard channels.";
    "sunsubscribe", -1, SUBSCRIBING, (1, -1, 1), "pubsub", "7.0.0", Server(sunsubscribe),
        "Stops listening to messages posted to shard channels.";
    "publish", 3, PUBLISHING, (0, 0, 0), "pubsub", "2.0.0", Server(publish::publish),
        "Posts a message to a channel.";
    "spublish", 3, PUBLISHING, (1, 1, 1), "pubsub", "7.0.0", Server(publish::spublish),
        "Post a message to a shard channel";
    "pubsub", -2, INTROSPECTION, (0, 0, 0), "pubsub", "2.8.0", Server(introspect::pubsub),
        "A container for Pub/Sub commands.";
    "reset", 1, CONN_NOAUTH.union(Flags::SUBSCRIBED_OK), (0, 0, 0), "connection", "6.2.0", Server(super::reset::reset),
        "Resets the connection.";
}

/// Redis's refusal of a command in RESP2 subscribed mode (`config|get` for a subcommand).
pub fn not_in_subscribed_mode(spec: &CommandSpec, args: &[Bytes]) -> String {
    const CONTAINERS: &[&str] = &["client", "cluster", "command", "config", "object", "pubsub"];
    let name = match args.get(1) {
        Some(sub) if CONTAINERS.contains(&spec.name) => {
            format!("{}|{}", spec.name, super::text(sub).to_ascii_lowercase())
        }
        _ => spec.name.to_owned(),
    };
    format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    )
}

fn words(kind: Kind) -> (&'static [u8], &'static [u8]) {
    match kind {
        Kind::Channel => (b"subscribe", b"unsubscribe"),
        Kind::Pattern => (b"psubscribe", b"punsubscribe"),
        Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
    }
}

/// The count a confirmation carries.
fn count(session: &Session<'_>, kind: Kind) -> i64 {
    let subscriptions = &session.client.pubsub;
    match kind {
        Kind::Shard => subscriptions.shard_count() as i64,
        Kind::Channel | Kind::Pattern => subscriptions.count() as i64,
    }
}

fn confirm(out: &mut ReplyWriter, word: &[u8], name: Option<&[u8]>, count: i64) {
    out.push_header(3);
    out.bulk(word);
    match name {
        Some(name) => out.bulk(name),
        None => out.null(),
    }
    out.integer(count);
}

fn subscribe_to(
    session: &mut Session<'_>,
    kind: Kind,
    names: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    if kind == Kind::Shard {
        shard_route(session, names)?;
    }
    let id = session.client.handle.id;
    for name in names {
        session
            .shared
            .pubsub
            .subscribe(&mut session.client.pubsub, id, kind, name);
        confirm(out, words(kind).0, Some(name), count(session, kind));
    }
    Ok(())
}

fn unsubscribe_from(
    session: &mut Session<'_>,
    kind: Kind,
    names: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    if kind == Kind::Shard && !names.is_empty() {
        shard_route(session, names)?;
    }
    let word = words(kind).1;
    let names = if names.is_empty() {
        let all = Registry::subscribed(&session.client.pubsub, kind);
        if all.is_empty() {
            confirm(out, word, None, count(session, kind));
            return Ok(());
        }
        all
    } else {
        names.to_vec()
    };
    for name in &names {
        session
            .shared
            .pubsub
            .unsubscribe(&mut session.client.pubsub, kind, name);
        confirm(out, word, Some(name), count(session, kind));
    }
    Ok(())
}

/// Cluster mode: shard channels of one request must share a slot (`-CROSSSLOT`), and a
/// cluster-aware client is sent (`-MOVED`) to the partition's leader when no replica of it is
/// here, as Redis Cluster does. A plain client is served where it is: SPUBLISH reaches every
/// member (so is a cluster-aware one while no leader of the slot is known).
fn shard_route(session: &Session<'_>, channels: &[Bytes]) -> CommandResult {
    let Some(remote) = session.shared.pubsub.remote() else {
        return Ok(());
    };
    let slot = Keys::many(channels)
        .slot()
        .map_err(|_| CommandError::Message(super::CrossSlot::REPLY.to_owned()))?;
    let Some(slot) = slot else {
        return Ok(());
    };
    if !session.client.cluster_aware {
        return Ok(());
    }
    match remote.shard_home(slot) {
        ShardHome::Here => Ok(()),
        ShardHome::Elsewhere(address) => {
            Err(CommandError::Message(format!("MOVED {slot} {address}")))
        }
        // No leader known right now (an election, or routes not learned yet): served here,
        // which works since SPUBLISH reaches every member.
        ShardHome::Unknown => Ok(()),
    }
}

pub fn subscribe(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    subscribe_to(session, Kind::Channel, &args[1..], out)
}

pub fn psubscribe(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    subscribe_to(session, Kind::Pattern, &args[1..], out)
}

pub fn ssubscribe(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    subscribe_to(session, Kind::Shard, &args[1..], out)
}

pub fn unsubscribe(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    unsubscribe_from(session, Kind::Channel, &args[1..], out)
}

pub fn punsubscribe(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    unsubscribe_from(session, Kind::Pattern, &args[1..], out)
}

pub fn sunsubscribe(
    session: &mut Session<'_>,
    args: &[Bytes],
    out: &mut ReplyWriter,
) -> CommandResult {
    unsubscribe_from(session, Kind::Shard, &args[1..], out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_the_subcommand_of_a_container() {
        let config = super::super::lookup(b"config").expect("config");
        let args = [Bytes::from("CONFIG"), Bytes::from("GET"), Bytes::from("x")];
        assert_eq!(
            not_in_subscribed_mode(config, &args),
            "ERR Can't execute 'config|get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        );
        let get = super::super::lookup(b"get").expect("get");
        assert!(
            not_in_subscribed_mode(get, &[Bytes::from("GET")])
                .starts_with("ERR Can't execute 'get':")
        );
    }
}
