//! Pub/Sub: who listens to which channel, pattern and shard channel, and delivery to them.
//!
//! ```text
//!  PUBLISH ch msg ─► Registry::publish ─► channels[ch], every matching pattern ──► Subscriber::deliver
//!        │            (read locks only; enqueueing never touches a socket)          │ bounded by bytes:
//!        │                                                                          │ over the output
//!        ▼ cluster mode: Remote::fan_out (cluster/pubsub.rs) to every other member   │ limit → closed
//!   CLUSTER RINGCACHE-PUBLISH there ─► Registry::publish_local                       ▼
//!                                                     connection.rs selects on the queue beside the
//!                                                     socket and writes each push as it comes
//! ```
//!
//! Subscriptions belong to a connection ([`Subscriptions`] in its `ClientState`); the registry
//! holds an `Arc<Subscriber>` per subscription so a publisher reaches its queue.

mod subscriber;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::RwLock;

pub use subscriber::{Push, Subscriber, Subscriptions};

pub use crate::config::OutputLimit;

/// CONFIG GET client-output-buffer-limit: Redis's defaults for the classes ringcache does not
/// limit (normal clients, replicas), then the pubsub limit in force.
pub fn config_value(limit: OutputLimit) -> String {
    format!(
        "normal 0 0 0 slave 268435456 67108864 60 pubsub {} {} {}",
        limit.hard, limit.soft, limit.soft_seconds
    )
}

/// CONFIG SET client-output-buffer-limit: `<class> <hard> <soft> <seconds>` repeated. Returns the
/// pubsub class's new limit if it is named (normal and replica limits are accepted but not
/// applied: ringcache bounds only subscribers); the error is Redis's wording.
pub fn parse_config_value(value: &str) -> Result<Option<OutputLimit>, &'static str> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if !parts.len().is_multiple_of(4) {
        return Err("Wrong number of arguments in buffer limit configuration.");
    }
    let mut pubsub = None;
    for class in parts.chunks_exact(4) {
        let limit = OutputLimit::from_parts(class[1], class[2], class[3]).map_err(
            |_| "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
        )?;
        match class[0].to_ascii_lowercase().as_str() {
            "pubsub" => pubsub = Some(limit),
            "normal" | "slave" | "replica" => {}
            _ => return Err("Invalid client class specified in buffer limit configuration."),
        }
    }
    Ok(pubsub)
}

/// Global channels (SUBSCRIBE/PUBLISH) or shard channels (SSUBSCRIBE/SPUBLISH).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    Shard,
}

/// Messages a transaction or script published, held until it commits: an aborted EXEC or a
/// killed script publishes nothing, a run repeated on fresh copies publishes once, and a
/// subscriber that reads after the message sees the writes made before it.
#[derive(Debug, Default)]
pub struct Held {
    messages: Vec<(Scope, Bytes, Bytes)>,
}

impl Held {
    pub fn push(&mut self, scope: Scope, channel: &Bytes, message: &Bytes) {
        self.messages
            .push((scope, channel.clone(), message.clone()));
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Publishes them, in order (the run committed).
    pub fn deliver(self, registry: &Registry) {
        for (scope, channel, message) in self.messages {
            registry.publish(scope, &channel, &message);
        }
    }
}

/// Where a shard channel's slot is served, from this member's point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardHome {
    /// A replica of the slot's partition is here.
    Here,
    /// Not here: the partition's leader, `host:port`.
    Elsewhere(String),
    /// No member known to serve it right now.
    Unknown,
}

/// What a cluster adds: other members' subscribers, and where shard channels live.
pub trait Remote: Send + Sync + std::fmt::Debug {
    /// A message published here goes to every other member (without waiting for them).
    fn fan_out(&self, scope: Scope, channel: &Bytes, message: &Bytes);
    /// Where the shard channels of `slot` are served.
    fn shard_home(&self, slot: u16) -> ShardHome;
    /// Another member (its Redis address) announced itself: include it in the fan-out.
    fn peer_announced(&self, address: &str);
}

type Subscribers = HashMap<u64, Arc<Subscriber>>;

/// Every subscription of this process.
#[derive(Debug)]
pub struct Registry {
    channels: RwLock<HashMap<Bytes, Subscribers>>,
    patterns: RwLock<HashMap<Bytes, Subscribers>>,
    shard_channels: RwLock<HashMap<Bytes, Subscribers>>,
    limit: RwLock<OutputLimit>,
    /// Subscribers closed for exceeding the output limit.
    disconnected: AtomicU64,
    remote: OnceLock<Arc<dyn Remote>>,
}

impl Registry {
    pub fn new(limit: OutputLimit) -> Self {
        Registry {
            channels: RwLock::default(),
            patterns: RwLock::default(),
            shard_channels: RwLock::default(),
            limit: RwLock::new(limit),
            disconnected: AtomicU64::new(0),
            remote: OnceLock::new(),
        }
    }

    /// Cluster mode: installs the fan-out to the other members (once, at start-up).
    pub fn set_remote(&self, remote: Arc<dyn Remote>) {
        let _ = self.remote.set(remote);
    }

    pub fn remote(&self) -> Option<&Arc<dyn Remote>> {
        self.remote.get()
    }

    pub fn limit(&self) -> OutputLimit {
        *self.limit.read()
    }

    pub fn set_limit(&self, limit: OutputLimit) {
        *self.limit.write() = limit;
    }

    /// Subscribers disconnected for exceeding the output limit since start-up.
    pub fn disconnected(&self) -> u64 {
        self.disconnected.load(Ordering::Relaxed)
    }

    fn table(&self, kind: Kind) -> &RwLock<HashMap<Bytes, Subscribers>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    /// Adds `name` to the connection's subscriptions of `kind`; `false` when it was there.
    pub fn subscribe(
        &self,
        subscriptions: &mut Subscriptions,
        client_id: u64,
        kind: Kind,
        name: &Bytes,
    ) -> bool {
        if !kind.set(subscriptions).insert(name.clone()) {
            return false;
        }
        let subscriber = subscriptions.subscriber(client_id);
        self.table(kind)
            .write()
            .entry(name.clone())
            .or_default()
            .insert(client_id, subscriber);
        true
    }

    /// Removes `name` from the connection's subscriptions of `kind`; `false` when it was not
    /// there.
    pub fn unsubscribe(&self, subscriptions: &mut Subscriptions, kind: Kind, name: &[u8]) -> bool {
        if !kind.set(subscriptions).remove(name) {
            return false;
        }
        let Some(id) = subscriptions
            .subscriber
            .as_ref()
            .map(|subscriber| subscriber.id)
        else {
            return true;
        };
        let mut table = self.table(kind).write();
        if let Some(subscribers) = table.get_mut(name) {
            subscribers.remove(&id);
            if subscribers.is_empty() {
                table.remove(name);
            }
        }
        true
    }

    /// The connection's subscriptions of `kind`, in no particular order (as Redis).
    pub fn subscribed(subscriptions: &Subscriptions, kind: Kind) -> Vec<Bytes> {
        let set = match kind {
            Kind::Channel => &subscriptions.channels,
            Kind::Pattern => &subscriptions.patterns,
            Kind::Shard => &subscriptions.shard_channels,
        };
        set.iter().cloned().collect()
    }

    /// Drops every subscription of a connection that resets or ends.
    pub fn leave_all(&self, subscriptions: &mut Subscriptions) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in Self::subscribed(subscriptions, kind) {
                self.unsubscribe(subscriptions, kind, &name);
            }
        }
    }

    /// PUBLISH / SPUBLISH: delivers here, then (cluster mode) sends it to the other members.
    /// Returns the receivers here, as Redis Cluster counts them.
    pub fn publish(&self, scope: Scope, channel: &Bytes, message: &Bytes) -> usize {
        let receivers = self.publish_local(scope, channel, message);
        if let Some(remote) = self.remote.get() {
            remote.fan_out(scope, channel, message);
        }
        receivers
    }

    /// Delivers to this process's subscribers only (a message another member fanned out).
    /// Holds read locks while it enqueues: that never waits on a socket.
    pub fn publish_local(&self, scope: Scope, channel: &Bytes, message: &Bytes) -> usize {
        let limit = self.limit();
        let mut receivers = 0;
        let mut closed = 0;
        let mut deliver = |subscriber: &Subscriber, push: Push| {
            receivers += 1;
            if subscriber.deliver(push, limit) {
                closed += 1;
            }
        };
        match scope {
            Scope::Shard => {
                if let Some(subscribers) = self.shard_channels.read().get(channel) {
                    for subscriber in subscribers.values() {
                        let push = Push::Shard {
                            channel: channel.clone(),
                            payload: message.clone(),
                        };
                        deliver(subscriber, push);
                    }
                }
            }
            Scope::Global => {
                if let Some(subscribers) = self.channels.read().get(channel) {
                    for subscriber in subscribers.values() {
                        let push = Push::Message {
                            channel: channel.clone(),
                            payload: message.clone(),
                        };
                        deliver(subscriber, push);
                    }
                }
                for (pattern, subscribers) in self.patterns.read().iter() {
                    if !crate::glob::matches(pattern, channel) {
                        continue;
                    }
                    for subscriber in subscribers.values() {
                        let push = Push::Pattern {
                            pattern: pattern.clone(),
                            channel: channel.clone(),
                            payload: message.clone(),
                        };
                        deliver(subscriber, push);
                    }
                }
            }
        }
        if closed > 0 {
            self.disconnected.fetch_add(closed, Ordering::Relaxed);
        }
        receivers
    }

    /// The receivers a message would have here now (PUBLISH's reply), without sending it.
    pub fn receivers(&self, scope: Scope, channel: &[u8]) -> usize {
        match scope {
            Scope::Shard => self.count(Kind::Shard, channel),
            Scope::Global => {
                let by_pattern: usize = self
                    .patterns
                    .read()
                    .iter()
                    .filter(|(pattern, _)| crate::glob::matches(pattern, channel))
                    .map(|(_, subscribers)| subscribers.len())
                    .sum();
                self.count(Kind::Channel, channel) + by_pattern
            }
        }
    }

    /// Active channels (or shard channels) matching `pattern` (all without one).
    pub fn channels(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Bytes> {
        self.table(kind)
            .read()
            .keys()
            .filter(|name| pattern.is_none_or(|pattern| crate::glob::matches(pattern, name)))
            .cloned()
            .collect()
    }

    /// Subscribers of a channel (or shard channel), patterns not counted.
    pub fn count(&self, kind: Kind, name: &[u8]) -> usize {
        self.table(kind).read().get(name).map_or(0, HashMap::len)
    }

    /// Distinct names subscribed to, of `kind`.
    pub fn len(&self, kind: Kind) -> usize {
        self.table(kind).read().len()
    }

    /// INFO's stats lines for Pub/Sub, as Redis 7.0 names them.
    pub fn info_stats(&self) -> String {
        format!(
            "pubsub_channels:{}\r\npubsub_patterns:{}\r\npubsubshard_channels:{}\r\n\
             client_output_buffer_limit_disconnections:{}\r\n",
            self.len(Kind::Channel),
            self.len(Kind::Pattern),
            self.len(Kind::Shard),
            self.disconnected(),
        )
    }
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(OutputLimit::PUBSUB_DEFAULT)
    }
}

/// What a subscription names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn set(self, subscriptions: &mut Subscriptions) -> &mut std::collections::HashSet<Bytes> {
        match self {
            Kind::Channel => &mut subscriptions.channels,
            Kind::Pattern => &mut subscriptions.patterns,
            Kind::Shard => &mut subscriptions.shard_channels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(text: &str) -> Bytes {
        Bytes::from(text.to_owned())
    }

    #[tokio::test]
    async fn channels_and_patterns_reach_their_subscribers() {
        let registry = Registry::default();
        let mut first = Subscriptions::default();
        let mut second = Subscriptions::default();
        assert!(registry.subscribe(&mut first, 1, Kind::Channel, &bytes("news")));
        assert!(!registry.subscribe(&mut first, 1, Kind::Channel, &bytes("news")));
        assert!(registry.subscribe(&mut second, 2, Kind::Pattern, &bytes("n*")));
        assert_eq!(
            registry.publish(Scope::Global, &bytes("news"), &bytes("hi")),
            2
        );
        assert_eq!(
            registry.publish(Scope::Shard, &bytes("news"), &bytes("x")),
            0
        );
        assert!(matches!(first.try_next(), Some(Push::Message { .. })));
        assert!(matches!(second.try_next(), Some(Push::Pattern { .. })));
        registry.leave_all(&mut first);
        assert_eq!(registry.len(Kind::Channel), 0);
        assert_eq!(
            registry.publish(Scope::Global, &bytes("news"), &bytes("hi")),
            1
        );
    }

    #[test]
    fn a_subscriber_over_the_hard_limit_is_closed_once() {
        let registry = Registry::new(OutputLimit {
            hard: 1000,
            soft: 0,
            soft_seconds: 0,
        });
        let mut slow = Subscriptions::default();
        registry.subscribe(&mut slow, 7, Kind::Channel, &bytes("c"));
        let payload = Bytes::from(vec![b'x'; 300]);
        for _ in 0..10 {
            registry.publish(Scope::Global, &bytes("c"), &payload);
        }
        let subscriber = slow.current().expect("subscribed").clone();
        assert!(subscriber.is_closed());
        assert!(subscriber.pending() <= 1000 + payload.len() + 100);
        assert_eq!(registry.disconnected(), 1);
    }

    #[test]
    fn the_soft_limit_needs_its_whole_period() {
        let limit = OutputLimit {
            hard: 0,
            soft: 100,
            soft_seconds: 3600,
        };
        let registry = Registry::new(limit);
        let mut slow = Subscriptions::default();
        registry.subscribe(&mut slow, 7, Kind::Channel, &bytes("c"));
        let payload = Bytes::from(vec![b'x'; 300]);
        registry.publish(Scope::Global, &bytes("c"), &payload);
        registry.publish(Scope::Global, &bytes("c"), &payload);
        assert!(!slow.current().expect("subscribed").is_closed());
        registry.set_limit(OutputLimit {
            soft_seconds: 0,
            ..limit
        });
        registry.publish(Scope::Global, &bytes("c"), &payload);
        assert!(slow.current().expect("subscribed").is_closed());
    }

    #[test]
    fn config_set_takes_the_pubsub_class() {
        assert_eq!(
            parse_config_value("normal 0 0 0 pubsub 1mb 512kb 10"),
            Ok(Some(OutputLimit {
                hard: 1024 * 1024,
                soft: 512 * 1024,
                soft_seconds: 10
            }))
        );
        assert_eq!(parse_config_value("normal 0 0 0"), Ok(None));
        assert!(parse_config_value("pubsub 1mb").is_err());
        assert!(parse_config_value("bogus 1 1 1").is_err());
        assert_eq!(
            config_value(OutputLimit::PUBSUB_DEFAULT),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
        );
    }

    #[test]
    fn limits_parse_as_redis_writes_them() {
        assert_eq!(
            OutputLimit::parse("32mb 8mb 60"),
            Ok(OutputLimit::PUBSUB_DEFAULT)
        );
        assert!(OutputLimit::parse("32mb 8mb").is_err());
        assert!(OutputLimit::parse("a b c").is_err());
    }
}
