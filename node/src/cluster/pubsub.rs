//! Pub/Sub across members: a message published at one member reaches subscribers on every
//! member (Redis Cluster semantics; the PUBLISH reply counts the receivers where it was sent).
//!
//! ```text
//!  PUBLISH at A ─► A's subscribers (crate::pubsub::Registry)
//!              └─► Fanout::fan_out: the command encoded once, queued for each other member
//!                    (bounded queue per member, never awaited by the publisher)
//!                    └─► one task per member: one connection to its Redis port (AUTH
//!                        ringcache-member <cluster secret>), everything queued sent as one
//!                        pipelined batch, replies read, next batch
//!  at B: CLUSTER RINGCACHE-PUBLISH channel message ─► B's subscribers only (no further fan-out)
//! ```
//!
//! One queue and one connection per member keep each publisher's messages in order. Delivery is
//! at most once, as in Redis: while a member is unreachable (or its queue is full: 16384
//! messages or 64 MiB) its messages are dropped and counted. The member list is refreshed from
//! the cluster's view ([`Cluster::known_members`]) every second, so the fan-out follows joins
//! and departures.
//!
//! A member that joined but hosts no replica yet is in no group the others see: every member
//! announces itself each second to the members it knows (`CLUSTER RINGCACHE-PUBSUB-PEER`), and
//! announced members stay in the list for [`ANNOUNCED_FOR`].
//!
//! SPUBLISH goes the same way, to every member (a plain client may subscribe to a shard
//! channel at any member, see `command/pubsub`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::forward::{Link, connect, encode_command};
use super::frame::reply_length;
use super::{Cluster, Route};
use crate::protocol::Protocol;
use crate::pubsub::{Remote, Scope, ShardHome};

/// The internal command that delivers a message fanned out by another member. Only members
/// authenticated with the member credential may send it (see `cluster/commands.rs`).
pub const PUBLISH_COMMAND: &str = "RINGCACHE-PUBLISH";
/// As [`PUBLISH_COMMAND`], for shard channels.
pub const SPUBLISH_COMMAND: &str = "RINGCACHE-SPUBLISH";
/// `CLUSTER RINGCACHE-PUBSUB-PEER <host:port>`: a member's announcement of itself, members only.
pub const ANNOUNCE_COMMAND: &str = "RINGCACHE-PUBSUB-PEER";

/// How often the member list is read again (and members announce themselves).
const MEMBERS_REFRESH: Duration = Duration::from_secs(1);
/// How long an announced member stays in the list without announcing itself again.
const ANNOUNCED_FOR: Duration = Duration::from_secs(5);
/// Messages waiting for one member at most; more are dropped (the member is too slow or gone).
const QUEUE: usize = 16 * 1024;
/// Bytes waiting for one member at most, so large messages are bounded too.
const QUEUE_BYTES: usize = 64 * 1024 * 1024;
/// Messages sent in one pipelined batch at most.
const BATCH: usize = 512;
/// Time allowed for a batch's replies.
const BATCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Wait before connecting again to a member that could not be reached.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// What waits for one member: bounded by messages and by bytes.
#[derive(Debug, Clone)]
struct Queue {
    sender: mpsc::Sender<Bytes>,
    bytes: Arc<AtomicUsize>,
}

impl Queue {
    /// Queues `request` unless the queue is full; `false` when it is dropped.
    fn offer(&self, request: &Bytes) -> bool {
        let queued = self.bytes.fetch_add(request.len(), Ordering::Relaxed);
        if queued + request.len() > QUEUE_BYTES || self.sender.try_send(request.clone()).is_err() {
            self.bytes.fetch_sub(request.len(), Ordering::Relaxed);
            return false;
        }
        true
    }
}

/// The fan-out of one member.
#[derive(Debug)]
pub struct Fanout {
    cluster: Weak<Cluster>,
    own_address: String,
    peers: Mutex<Peers>,
    /// Members that announced themselves ([`ANNOUNCE_COMMAND`]) and when: a member that joined
    /// but hosts no replica yet is in no group this member sees, yet has subscribers too.
    announced: Mutex<HashMap<String, Instant>>,
    counters: Arc<FanoutCounters>,
}

/// What the fan-out did, for logs and tests.
#[derive(Debug, Default)]
pub struct FanoutCounters {
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
}

#[derive(Debug, Default)]
struct Peers {
    refreshed: Option<Instant>,
    queues: Arc<Vec<(String, Queue)>>,
}

impl Fanout {
    pub fn new(cluster: &Arc<Cluster>) -> Self {
        Fanout {
            cluster: Arc::downgrade(cluster),
            own_address: cluster.member().client_address().to_owned(),
            peers: Mutex::new(Peers::default()),
            announced: Mutex::default(),
            counters: Arc::default(),
        }
    }

    /// Starts announcing this member to every member it knows, every [`MEMBERS_REFRESH`], so
    /// members that do not see it in their groups (it hosts nothing yet) fan out to it too.
    pub fn start(self: &Arc<Self>) {
        let fanout = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(MEMBERS_REFRESH);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                interval.tick().await;
                let Some(fanout) = fanout.upgrade() else {
                    return;
                };
                let args = [
                    Bytes::from_static(b"CLUSTER"),
                    Bytes::from_static(ANNOUNCE_COMMAND.as_bytes()),
                    Bytes::from(fanout.own_address.clone()),
                ];
                let mut request = BytesMut::new();
                encode_command(&mut request, &args);
                let request = request.freeze();
                for (_, queue) in fanout.queues().iter() {
                    queue.offer(&request);
                }
            }
        });
    }

    pub fn counters(&self) -> &FanoutCounters {
        &self.counters
    }

    /// The queues of the other members, the list read again when it is older than
    /// [`MEMBERS_REFRESH`]: queues of members still listed are kept (with their connection),
    /// the others dropped (their task ends).
    fn queues(&self) -> Arc<Vec<(String, Queue)>> {
        let mut peers = self.peers.lock();
        if peers
            .refreshed
            .is_some_and(|at| at.elapsed() < MEMBERS_REFRESH)
        {
            return peers.queues.clone();
        }
        let Some(cluster) = self.cluster.upgrade() else {
            return Arc::default();
        };
        let mut existing: HashMap<String, Queue> = peers
            .queues
            .iter()
            .map(|(address, queue)| (address.clone(), queue.clone()))
            .collect();
        let mut queues: Vec<(String, Queue)> = Vec::new();
        let announced: Vec<String> = {
            let mut announced = self.announced.lock();
            announced.retain(|_, at| at.elapsed() < ANNOUNCED_FOR);
            announced.keys().cloned().collect()
        };
        let known = cluster
            .known_members()
            .into_iter()
            .map(|member| member.client_address().to_owned());
        for address in known.chain(announced) {
            if address == self.own_address || queues.iter().any(|(known, _)| *known == address) {
                continue;
            }
            let queue = match existing.remove(&address) {
                Some(queue) if !queue.sender.is_closed() => queue,
                _ => {
                    let (sender, receiver) = mpsc::channel(QUEUE);
                    let queue = Queue {
                        sender,
                        bytes: Arc::default(),
                    };
                    tokio::spawn(run_link(
                        address.clone(),
                        self.cluster.clone(),
                        (receiver, queue.bytes.clone()),
                        self.counters.clone(),
                    ));
                    queue
                }
            };
            queues.push((address, queue));
        }
        peers.queues = Arc::new(queues);
        peers.refreshed = Some(Instant::now());
        peers.queues.clone()
    }
}

impl Remote for Fanout {
    fn fan_out(&self, scope: Scope, channel: &Bytes, message: &Bytes) {
        let queues = self.queues();
        if queues.is_empty() {
            return;
        }
        let name = match scope {
            Scope::Global => PUBLISH_COMMAND,
            Scope::Shard => SPUBLISH_COMMAND,
        };
        let mut request = BytesMut::new();
        let args = [
            Bytes::from_static(b"CLUSTER"),
            Bytes::from_static(name.as_bytes()),
            channel.clone(),
            message.clone(),
        ];
        encode_command(&mut request, &args);
        let request = request.freeze();
        for (_, queue) in queues.iter() {
            if !queue.offer(&request) {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn peer_announced(&self, address: &str) {
        if address != self.own_address {
            self.announced
                .lock()
                .insert(address.to_owned(), Instant::now());
        }
    }

    fn shard_home(&self, slot: u16) -> ShardHome {
        let Some(cluster) = self.cluster.upgrade() else {
            return ShardHome::Unknown;
        };
        let Some(partition) = cluster.partition_of(slot) else {
            return ShardHome::Unknown;
        };
        if cluster.hosts(partition) {
            return ShardHome::Here;
        }
        match cluster.route(partition) {
            Route::Remote(leader) => ShardHome::Elsewhere(leader.client_address().to_owned()),
            Route::Local | Route::Unknown => ShardHome::Unknown,
        }
    }
}

/// Sends what is queued for the member at `address`, batch by batch, until the queue is
/// dropped (the member left the list) or the cluster is gone.
async fn run_link(
    address: String,
    cluster: Weak<Cluster>,
    (mut queue, queued_bytes): (mpsc::Receiver<Bytes>, Arc<AtomicUsize>),
    counters: Arc<FanoutCounters>,
) {
    let mut link: Option<Link> = None;
    let mut retry_at: Option<Instant> = None;
    let mut warned = false;
    let mut batch = BytesMut::new();
    while let Some(first) = queue.recv().await {
        batch.clear();
        batch.extend_from_slice(&first);
        let mut count = 1;
        while count < BATCH
            && let Ok(next) = queue.try_recv()
        {
            batch.extend_from_slice(&next);
            count += 1;
        }
        queued_bytes.fetch_sub(batch.len(), Ordering::Relaxed);
        if link.is_none() {
            if retry_at.is_some_and(|at| Instant::now() < at) {
                counters.dropped.fetch_add(count as u64, Ordering::Relaxed);
                continue;
            }
            let Some(cluster) = cluster.upgrade() else {
                return;
            };
            let source = cluster.host().source_address();
            let access = cluster.peer_access();
            drop(cluster);
            match connect(&address, source, Protocol::Resp2, &access).await {
                Ok(connected) => {
                    link = Some(connected);
                    retry_at = None;
                }
                Err(error) => {
                    if !warned {
                        tracing::warn!(%address, %error, "pubsub fan-out: member unreachable; its messages are dropped until it is back");
                        warned = true;
                    }
                    counters.dropped.fetch_add(count as u64, Ordering::Relaxed);
                    retry_at = Some(Instant::now() + RETRY_AFTER);
                    continue;
                }
            }
        }
        let Some(current) = link.as_mut() else {
            continue;
        };
        let exchanged = tokio::time::timeout(BATCH_TIMEOUT, exchange(current, &batch, count))
            .await
            .unwrap_or_else(|_| Err(format!("no replies within {BATCH_TIMEOUT:?}")));
        match exchanged {
            Ok(refused) => {
                warned = false;
                counters.sent.fetch_add(count as u64, Ordering::Relaxed);
                if let Some(refused) = refused {
                    // A member without the cluster secret cannot prove itself: say so.
                    tracing::warn!(%address, reply = %refused, "pubsub fan-out refused by a member");
                }
            }
            Err(detail) => {
                tracing::debug!(%address, %detail, "pubsub fan-out connection lost");
                counters.dropped.fetch_add(count as u64, Ordering::Relaxed);
                link = None;
            }
        }
    }
}

/// Writes a batch of `count` requests and reads their replies; `Ok(Some(error))` when the
/// member refused them.
async fn exchange(link: &mut Link, batch: &[u8], count: usize) -> Result<Option<String>, String> {
    link.stream
        .write_all(batch)
        .await
        .map_err(|error| error.to_string())?;
    let mut refused = None;
    let mut replies = 0;
    while replies < count {
        if let Some(length) = reply_length(&link.buffer)? {
            let reply = link.buffer.split_to(length);
            if reply.first() == Some(&b'-') && refused.is_none() {
                refused = Some(String::from_utf8_lossy(&reply).trim_end().to_owned());
            }
            replies += 1;
            continue;
        }
        link.buffer.reserve(16 * 1024);
        match link.stream.read_buf(&mut link.buffer).await {
            Ok(0) => return Err("connection closed".to_owned()),
            Ok(_) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_bounded_by_bytes_and_by_messages() {
        let (sender, mut receiver) = mpsc::channel(2);
        let queue = Queue {
            sender,
            bytes: Arc::default(),
        };
        let large = Bytes::from(vec![0u8; QUEUE_BYTES / 2 + 1]);
        assert!(queue.offer(&large));
        assert!(!queue.offer(&large), "over the byte bound");
        let small = Bytes::from_static(b"x");
        assert!(queue.offer(&small));
        assert!(!queue.offer(&small), "over the message bound");
        assert_eq!(queue.bytes.load(Ordering::Relaxed), large.len() + 1);
        assert!(receiver.try_recv().is_ok());
    }
}
