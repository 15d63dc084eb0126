//! One subscribed connection as the registry sees it ([`Subscriber`]: its queue and the bytes it
//! has not written yet) and as the connection keeps it ([`Subscriptions`]).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::{Notify, mpsc};

use super::OutputLimit;
use crate::protocol::ReplyWriter;

/// Bytes a push costs besides its strings (its RESP headers and the queue entry), so a flood of
/// empty messages is bounded too.
const PUSH_OVERHEAD: usize = 64;

/// A message on its way to one subscriber.
#[derive(Debug)]
pub enum Push {
    /// `message channel payload`
    Message { channel: Bytes, payload: Bytes },
    /// `pmessage pattern channel payload`
    Pattern {
        pattern: Bytes,
        channel: Bytes,
        payload: Bytes,
    },
    /// `smessage channel payload`
    Shard { channel: Bytes, payload: Bytes },
}

impl Push {
    /// What it counts against the output limit while queued or unwritten.
    pub fn cost(&self) -> usize {
        PUSH_OVERHEAD
            + match self {
                Push::Message { channel, payload } | Push::Shard { channel, payload } => {
                    channel.len() + payload.len()
                }
                Push::Pattern {
                    pattern,
                    channel,
                    payload,
                } => pattern.len() + channel.len() + payload.len(),
            }
    }

    /// Encodes it as a push (`>` in RESP3, an array in RESP2).
    pub fn write(&self, out: &mut ReplyWriter) {
        match self {
            Push::Message { channel, payload } => {
                out.push_header(3);
                out.bulk(b"message");
                out.bulk(channel);
                out.bulk(payload);
            }
            Push::Pattern {
                pattern,
                channel,
                payload,
            } => {
                out.push_header(4);
                out.bulk(b"pmessage");
                out.bulk(pattern);
                out.bulk(channel);
                out.bulk(payload);
            }
            Push::Shard { channel, payload } => {
                out.push_header(3);
                out.bulk(b"smessage");
                out.bulk(channel);
                out.bulk(payload);
            }
        }
    }
}

/// The registry's handle on a subscribed connection. Publishers only enqueue (never touch the
/// socket); the queue is bounded by bytes: past the output limit the subscriber is closed and
/// gets nothing more, so what it holds never exceeds the hard limit by more than one message.
#[derive(Debug)]
pub struct Subscriber {
    pub id: u64,
    queue: mpsc::UnboundedSender<Push>,
    /// Bytes queued or taken but not yet written to the socket.
    pending: AtomicUsize,
    /// Milliseconds since `created` when `pending` went over the soft limit (0: it is not).
    over_soft_since: AtomicU64,
    created: Instant,
    closed: AtomicBool,
    close: Notify,
}

impl Subscriber {
    fn new(id: u64) -> (Arc<Subscriber>, mpsc::UnboundedReceiver<Push>) {
        let (queue, receiver) = mpsc::unbounded_channel();
        let subscriber = Arc::new(Subscriber {
            id,
            queue,
            pending: AtomicUsize::new(0),
            over_soft_since: AtomicU64::new(0),
            created: Instant::now(),
            closed: AtomicBool::new(false),
            close: Notify::new(),
        });
        (subscriber, receiver)
    }

    /// Queues `push` unless that takes the subscriber over its output limit; then it is closed
    /// instead. Returns `true` when this call closed it (to be counted once).
    pub fn deliver(&self, push: Push, limit: OutputLimit) -> bool {
        if self.closed.load(Ordering::Relaxed) {
            return false;
        }
        let cost = push.cost();
        let pending = self.pending.fetch_add(cost, Ordering::Relaxed) + cost;
        if self.over_limit(pending, limit) {
            return self.shut();
        }
        // The receiver is gone only while the connection ends; nothing to do then.
        let _ = self.queue.send(push);
        false
    }

    /// Whether `pending` bytes break the limit: over the hard limit, or over the soft limit for
    /// its whole period (as Redis's `client-output-buffer-limit`).
    fn over_limit(&self, pending: usize, limit: OutputLimit) -> bool {
        if limit.hard > 0 && pending as u64 > limit.hard {
            return true;
        }
        if limit.soft == 0 || pending as u64 <= limit.soft {
            self.over_soft_since.store(0, Ordering::Relaxed);
            return false;
        }
        // +1 so that "since the very start" is not confused with "not over".
        let now = self.created.elapsed().as_millis() as u64 + 1;
        let since = match self.over_soft_since.compare_exchange(
            0,
            now,
            Ordering::Relaxed,
            Ordering::Relaxed,
        ) {
            Ok(_) => now,
            Err(since) => since,
        };
        now.saturating_sub(since) >= limit.soft_seconds.saturating_mul(1000)
    }

    /// Bytes of taken messages are written: they no longer count.
    pub fn written(&self, cost: usize, limit: OutputLimit) {
        let pending = self
            .pending
            .fetch_sub(cost, Ordering::Relaxed)
            .saturating_sub(cost);
        if !self.closed.load(Ordering::Relaxed) && limit.soft > 0 && pending as u64 <= limit.soft {
            self.over_soft_since.store(0, Ordering::Relaxed);
        }
    }

    /// Closes it; `true` the first time.
    fn shut(&self) -> bool {
        let first = !self.closed.swap(true, Ordering::Relaxed);
        if first {
            self.close.notify_one();
        }
        first
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// Completes once the subscriber was closed for exceeding its output limit.
    pub async fn closed(&self) {
        while !self.is_closed() {
            self.close.notified().await;
        }
    }

    /// Bytes waiting to be written.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Relaxed)
    }
}

/// A connection's subscriptions: what it subscribed to, and its queue once it subscribed.
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub(super) channels: HashSet<Bytes>,
    pub(super) patterns: HashSet<Bytes>,
    pub(super) shard_channels: HashSet<Bytes>,
    pub(super) subscriber: Option<Arc<Subscriber>>,
    receiver: Option<mpsc::UnboundedReceiver<Push>>,
}

impl Subscriptions {
    /// Channels and patterns (what SUBSCRIBE and PSUBSCRIBE count).
    pub fn count(&self) -> usize {
        self.channels.len() + self.patterns.len()
    }

    /// Channels alone (CLIENT LIST's `sub`).
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Patterns alone (CLIENT LIST's `psub`).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Shard channels (what SSUBSCRIBE counts).
    pub fn shard_count(&self) -> usize {
        self.shard_channels.len()
    }

    /// Whether the connection is in subscribed mode (RESP2 then only allows the subscription
    /// commands, PING, QUIT and RESET).
    pub fn active(&self) -> bool {
        self.count() + self.shard_count() > 0
    }

    /// The connection's subscriber, made on its first subscription.
    pub(super) fn subscriber(&mut self, client_id: u64) -> Arc<Subscriber> {
        if let Some(subscriber) = &self.subscriber {
            return subscriber.clone();
        }
        let (subscriber, receiver) = Subscriber::new(client_id);
        self.subscriber = Some(subscriber.clone());
        self.receiver = Some(receiver);
        subscriber
    }

    /// The subscriber whose queue the connection drains, if it ever subscribed.
    pub fn current(&self) -> Option<&Arc<Subscriber>> {
        self.subscriber.as_ref()
    }

    /// The next message for this connection; pending forever when it never subscribed.
    pub async fn next(&mut self) -> Option<Push> {
        match &mut self.receiver {
            Some(receiver) => receiver.recv().await,
            None => std::future::pending().await,
        }
    }

    /// A message already queued, without waiting.
    pub fn try_next(&mut self) -> Option<Push> {
        self.receiver.as_mut()?.try_recv().ok()
    }
}
