//! PUBLISH channel message; SPUBLISH shardchannel message. The reply counts the receivers on this
//! member (Redis Cluster's count); in a cluster the message also goes to every other member.
//! Inside a transaction or script the message is held until the run commits.

use bytes::Bytes;

use super::super::{CommandResult, Session};
use crate::protocol::ReplyWriter;
use crate::pubsub::Scope;

pub fn publish(session: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let receivers = publish_or_hold(session, Scope::Global, &args[1], &args[2]);
    own_messages_first(session, out);
    out.integer(receivers as i64);
    Ok(())
}

pub fn spublish(session: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    super::shard_route(session, &args[1..2])?;
    let receivers = publish_or_hold(session, Scope::Shard, &args[1], &args[2]);
    own_messages_first(session, out);
    out.integer(receivers as i64);
    Ok(())
}

/// Publishes now, or (inside a transaction or script) holds the message until the run commits
/// and answers with the receivers it has now.
fn publish_or_hold(
    session: &mut Session<'_>,
    scope: Scope,
    channel: &Bytes,
    message: &Bytes,
) -> usize {
    let registry = &session.shared.pubsub;
    match &mut session.client.held_messages {
        Some(held) => {
            held.push(scope, channel, message);
            registry.receivers(scope, channel)
        }
        None => registry.publish(scope, channel, message),
    }
}

/// A RESP3 client subscribed to what it publishes gets the message before the reply, as from
/// Redis (which writes it into the client's output first): what is queued for this connection
/// goes into the reply buffer now, and no longer counts against its output limit.
fn own_messages_first(session: &mut Session<'_>, out: &mut ReplyWriter) {
    let subscriptions = &mut session.client.pubsub;
    let Some(subscriber) = subscriptions.current().cloned() else {
        return;
    };
    let mut cost = 0;
    while let Some(push) = subscriptions.try_next() {
        cost += push.cost();
        push.write(out);
    }
    if cost > 0 {
        subscriber.written(cost, session.shared.pubsub.limit());
    }
}
