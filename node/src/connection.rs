//! One client connection: read, parse every complete request, execute in order, write all replies
//! of the batch with one write.

use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;

use crate::clients::ClientHandle;
use crate::command::{ClientState, Session};
use crate::executor::{ConnectionState, Executor};
use crate::protocol::{Limits, ParseOutcome, Parser, Protocol, ReplyWriter};
use crate::shared::Shared;
use crate::stats::LocalStats;
use crate::store::unix_ms;

/// Read buffer growth step.
const READ_CHUNK: usize = 16 * 1024;
/// Replies are flushed mid-batch beyond this, so a long pipeline of large values does not buffer
/// without bound.
const OUTPUT_FLUSH_THRESHOLD: usize = 64 * 1024;
/// Input buffered while a blocking command waits; beyond it the client is not read (and its
/// departure not noticed) until the command ends.
const READ_WHILE_BLOCKED: usize = 1024 * 1024;

/// Serves one connection until the client leaves, sends garbage, QUITs, or the server shuts down
/// (then the batch in progress is finished first).
pub async fn serve<S>(
    mut stream: S,
    (shared, executor, handle): (Arc<Shared>, Executor, Arc<ClientHandle>),
    mut shutdown: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let authenticated = shared.settings.read().password.is_none();
    let mut client = ClientState::new(handle.clone(), authenticated);
    let mut parser = Parser::new(Limits::default());
    let mut input = BytesMut::with_capacity(READ_CHUNK);
    let mut out = ReplyWriter::new(Protocol::Resp2);
    let mut stats = LocalStats::default();
    let mut executor_state = ConnectionState::default();

    // Bytes of pushes encoded into `out` and not yet written (they count against the
    // subscriber's output limit until they are).
    let mut pushes_in_out = 0usize;
    'connection: loop {
        // Messages that arrived before this batch go out before its replies, as in Redis.
        pushes_in_out += drain_pushes(&mut client, &mut out);
        executor_state.new_batch();
        let mut last_command = None;
        // One clock read per batch (refreshed every 64 commands): the commands of a batch run within
        // microseconds of each other.
        let mut now_ms = unix_ms();
        let mut executed = 0u32;
        loop {
            match parser.parse(&mut input, client.authenticated) {
                Ok(ParseOutcome::Complete(args)) => {
                    if args.is_empty() {
                        continue;
                    }
                    let mut session = Session {
                        shared: &shared,
                        client: &mut client,
                        stats: &mut stats,
                        now_ms,
                    };
                    // A blocking command (BLPOP …) may wait long: it is abandoned when the
                    // client leaves or the server shuts down meanwhile. What the client sends
                    // behind it is read into `input` and served in turn.
                    let left = async {
                        tokio::select! {
                            () = crate::executor::client_left(
                                &mut stream,
                                &mut input,
                                READ_WHILE_BLOCKED,
                            ) => {}
                            _ = shutdown.wait_for(|stopped| *stopped) => {}
                        }
                    };
                    let executed_command = executor
                        .execute_watching(&mut session, &mut executor_state, &args, &mut out, left)
                        .await;
                    last_command = executed_command.or(last_command);
                    executed += 1;
                    if executed.is_multiple_of(64) {
                        now_ms = unix_ms();
                    }
                    if client.closing {
                        break;
                    }
                    if out.len() >= OUTPUT_FLUSH_THRESHOLD {
                        stats.output_bytes += out.len() as u64;
                        if !write_out(&mut stream, &client, &out, &mut pushes_in_out, &shared).await
                        {
                            break 'connection;
                        }
                        out.clear();
                    }
                }
                Ok(ParseOutcome::Incomplete) => break,
                Err(error) => {
                    tracing::debug!(client = handle.id, %error, "protocol error, closing");
                    out.error(&format!("ERR {error}"));
                    stats.per_command.error("ERR"); // INFO errorstats, as Redis counts it
                    client.closing = true;
                    break;
                }
            }
        }
        if !out.is_empty() {
            stats.output_bytes += out.len() as u64;
            if !write_out(&mut stream, &client, &out, &mut pushes_in_out, &shared).await {
                break;
            }
            out.clear();
        }
        if let Some(command) = last_command {
            handle.record(now_ms, command.name);
            handle.record_view(crate::clients::ClientView {
                subscriptions: client.pubsub.channel_count(),
                patterns: client.pubsub.pattern_count(),
                shard_subscriptions: client.pubsub.shard_count(),
                queued: client.transaction.queued.as_ref().map(Vec::len),
                dirty: client.transaction.dirty,
            });
        }
        shared.stats.add(&mut stats);
        if client.closing {
            break;
        }
        if input.capacity() - input.len() < READ_CHUNK / 4 {
            input.reserve(READ_CHUNK);
        }
        // A subscriber also waits for messages (written as they come) and for being cut off
        // for exceeding its output limit. Requests first: every batch also writes the messages
        // queued by then (`drain_pushes`), so a busy client does not starve its messages.
        let subscriber = client.pubsub.current().cloned();
        let cut_off = async {
            match &subscriber {
                Some(subscriber) => subscriber.closed().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            () = cut_off => {
                tracing::debug!(client = handle.id, "pubsub output limit exceeded, closing");
                break;
            }
            read = stream.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => break,
                Ok(count) => {
                    ringcache_replication::note_activity();
                    stats.input_bytes += count as u64
                }
            },
            push = client.pubsub.next() => {
                if let Some(push) = push {
                    pushes_in_out += push.cost();
                    push.write(&mut out);
                }
            }
        }
    }
    shared.pubsub.leave_all(&mut client.pubsub);
    shared.stats.add(&mut stats);
    let _ = stream.shutdown().await;
    shared.clients.unregister(handle.id);
}

/// Pushes written per round at most, so a flood of messages leaves room for the client's
/// requests.
const PUSHES_PER_ROUND: usize = 64 * 1024;

/// Encodes messages already queued for a subscribed connection into `out`; returns their cost.
fn drain_pushes(client: &mut ClientState, out: &mut ReplyWriter) -> usize {
    let mut cost = 0;
    while cost < PUSHES_PER_ROUND
        && let Some(push) = client.pubsub.try_next()
    {
        cost += push.cost();
        push.write(out);
    }
    cost
}

/// Writes `out`; `false` when the client is gone or, subscribed, was cut off for its output
/// limit while the write waited (a subscriber that never reads would otherwise hold its task
/// here for ever). Written pushes stop counting against the limit.
async fn write_out<S: AsyncWrite + Unpin>(
    stream: &mut S,
    client: &ClientState,
    out: &ReplyWriter,
    pushes: &mut usize,
    shared: &Shared,
) -> bool {
    let Some(subscriber) = client.pubsub.current() else {
        return stream.write_all(out.buffer()).await.is_ok();
    };
    let written = tokio::select! {
        written = stream.write_all(out.buffer()) => written.is_ok(),
        () = subscriber.closed() => false,
    };
    if written && *pushes > 0 {
        subscriber.written(*pushes, shared.pubsub.limit());
        *pushes = 0;
    }
    written
}
