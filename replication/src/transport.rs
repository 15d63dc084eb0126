//! The cluster-port transport: one TCP connection per peer process, shared by all groups.
//!
//! ```text
//!  group 1 ─┐                                   ┌─► reader ─► spawn: handler(group 1)
//!  group 2 ─┼─► PeerConnection ══ TCP ══► accept ┼─► reader ─► spawn: handler(group 2)
//!  group 9 ─┘   (writer task drains the queue   └─► responses queued on the same socket
//!               and writes everything pending
//!               in one go: heartbeats of many
//!               groups share one write)
//! ```
//!
//! Requests carry a request id; responses come back on the same connection in any order.
//!
//! Frames go in one of two [`Lane`]s. Replication and its answers are written as soon as the
//! writer task runs. Heartbeats (which the host sends for all its groups at the same moment) and
//! their answers let every other ready task queue its frames first, so that the heartbeats of
//! all groups to one peer leave in one write and arrive in one read.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::codec::{self, Frame, RemoteFailure, RequestBody, ResponseBody};
use crate::handshake::{self, ClusterSecret, Rejection, RejectionCounters};
use crate::raft_types::{Snapshot, SnapshotMeta, Vote};
use crate::storage::snapshot_sink::SnapshotSink;
use crate::{GroupId, RaftNodeId};

/// Frames queued per connection before senders wait.
const QUEUE_DEPTH: usize = 4096;

/// How soon a frame must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// On the path of a client's request (replication, votes, snapshots): write at once.
    Immediate,
    /// Heartbeats and their answers: let the other ready tasks queue their frames first (one
    /// scheduler turn, not a timer), so that many of them share one write.
    Batched,
}

/// A frame waiting in a connection's queue.
struct Outgoing {
    bytes: Vec<u8>,
    lane: Lane,
}

/// Frames and socket writes of all cluster connections of a host, both directions: how well
/// the writer batches (exported in the node's `/metrics`).
#[derive(Debug, Default)]
pub struct WireCounters {
    frames_sent: AtomicU64,
    socket_writes: AtomicU64,
    rejected: RejectionCounters,
}

impl WireCounters {
    /// Frames (requests and responses) written to peers.
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent.load(Ordering::Relaxed)
    }

    /// Socket writes that carried them: fewer than frames when frames were batched.
    pub fn socket_writes(&self) -> u64 {
        self.socket_writes.load(Ordering::Relaxed)
    }

    /// Incoming connections closed before any frame because the peer did not prove it knows
    /// the cluster secret.
    pub fn rejected(&self) -> &RejectionCounters {
        &self.rejected
    }
}

/// A request as handed to the receiving host: snapshot pieces already reassembled.
pub(crate) enum Incoming {
    Rpc(RequestBody),
    FullSnapshot { vote: Vote, snapshot: Snapshot },
}

/// What the receiving side does with requests (implemented by the host).
pub(crate) trait RequestHandler: Send + Sync + 'static {
    fn handle(
        &self,
        group: GroupId,
        target: RaftNodeId,
        request: Incoming,
    ) -> Pin<Box<dyn Future<Output = Result<ResponseBody, RemoteFailure>> + Send + '_>>;

    /// Where a snapshot for `group` being received is written, piece by piece: a temporary file
    /// in the group's directory, or buffers in memory mode.
    fn snapshot_sink(&self, group: GroupId) -> Result<SnapshotSink, RemoteFailure>;
}

/// Why a call to a peer failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// Could not connect, or the peer refused the request (wrong incarnation, group not hosted):
    /// openraft should back off.
    #[error("peer unreachable: {0}")]
    Unreachable(String),
    /// The connection broke or the answer came too late: retry soon.
    #[error("network: {0}")]
    Network(String),
}

type PendingMap = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<ResponseBody, RemoteFailure>>>>>;

/// A live connection to one peer.
struct Link {
    queue: mpsc::Sender<Outgoing>,
    pending: PendingMap,
    alive: Arc<AtomicBool>,
}

/// The client side: connections to peers by address, made on first use and remade after failure.
pub(crate) struct Transport {
    /// The address outgoing connections are bound to, when the host listens on a specific one.
    source: Option<std::net::IpAddr>,
    links: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Link>>>>>,
    next_request_id: AtomicU64,
    rpc_timeout: Duration,
    shutdown: watch::Receiver<bool>,
    counters: Arc<WireCounters>,
    /// Proves this host a member on every connection it makes (`None`: no handshake).
    secret: Option<ClusterSecret>,
    /// Mutual TLS on every connection (`None`: plain TCP).
    tls: Option<Arc<dyn crate::tls::ClusterTls>>,
    /// When a peer last failed the handshake, by address.
    handshake_failures: Mutex<HashMap<String, std::time::Instant>>,
}

/// How long after a failed handshake a peer is not dialled again.
const HANDSHAKE_RETRY: Duration = Duration::from_secs(1);

impl Transport {
    /// `source`: the address outgoing connections are bound to (`None`: the system picks).
    pub(crate) fn new(
        rpc_timeout: Duration,
        shutdown: watch::Receiver<bool>,
        counters: Arc<WireCounters>,
        source: Option<std::net::IpAddr>,
        secret: Option<ClusterSecret>,
        tls: Option<Arc<dyn crate::tls::ClusterTls>>,
    ) -> Self {
        Transport {
            secret,
            tls,
            handshake_failures: Mutex::new(HashMap::new()),
            source,
            links: Mutex::new(HashMap::new()),
            next_request_id: AtomicU64::new(1),
            rpc_timeout,
            shutdown,
            counters,
        }
    }

    /// The address outgoing connections are bound to.
    pub(crate) fn source(&self) -> Option<std::net::IpAddr> {
        self.source
    }

    /// Frames and socket writes of this host's cluster connections, both directions (the
    /// server side of the connections shares them).
    pub(crate) fn counters(&self) -> &Arc<WireCounters> {
        &self.counters
    }

    /// Sends one request to `group` on the peer at `address` and waits for the answer.
    pub(crate) async fn call(
        &self,
        address: &str,
        group: GroupId,
        target: RaftNodeId,
        body: RequestBody,
        timeout: Option<Duration>,
        lane: Lane,
    ) -> Result<ResponseBody, CallError> {
        let timeout = timeout.unwrap_or(self.rpc_timeout);
        let request_id = self.next_request_id.fetch_add(1, Ordering::Relaxed);
        let bytes = codec::encode(&Frame::Request {
            request_id,
            group,
            target,
            body,
        })
        .map_err(|error| CallError::Network(error.to_string()))?;
        let (queue, pending) = self.link(address).await?;
        let (answer_sender, answer) = oneshot::channel();
        pending.lock().insert(request_id, answer_sender);
        if queue.send(Outgoing { bytes, lane }).await.is_err() {
            pending.lock().remove(&request_id);
            return Err(CallError::Network("connection closed".to_owned()));
        }
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(Ok(body))) => Ok(body),
            Ok(Ok(Err(failure))) => Err(CallError::Unreachable(failure.to_string())),
            Ok(Err(_)) => Err(CallError::Network("connection lost".to_owned())),
            Err(_) => {
                pending.lock().remove(&request_id);
                Err(CallError::Network(format!("no answer within {timeout:?}")))
            }
        }
    }

    fn start_link<R, W>(&self, reader: R, writer: W) -> Link
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        start_link(
            reader,
            writer,
            self.shutdown.clone(),
            Arc::clone(&self.counters),
        )
    }

    /// The live connection to `address`, connecting if needed.
    async fn link(&self, address: &str) -> Result<(mpsc::Sender<Outgoing>, PendingMap), CallError> {
        if *self.shutdown.borrow() {
            return Err(CallError::Unreachable("shutting down".to_owned()));
        }
        let slot = Arc::clone(self.links.lock().entry(address.to_owned()).or_default());
        // One connection attempt at a time per peer; others wait for its result.
        let mut slot = slot.lock().await;
        if let Some(link) = slot.as_ref()
            && link.alive.load(Ordering::Acquire)
        {
            return Ok((link.queue.clone(), Arc::clone(&link.pending)));
        }
        // A peer that just failed the handshake (another secret, another CA) is not dialled
        // again at once: every waiting call would otherwise make a full TCP, TLS and HMAC
        // handshake of its own.
        if let Some(failed) = self.handshake_failures.lock().get(address).copied()
            && failed.elapsed() < HANDSHAKE_RETRY
        {
            return Err(CallError::Unreachable(format!(
                "{address} failed the cluster handshake {:?} ago; retrying after {HANDSHAKE_RETRY:?}",
                failed.elapsed()
            )));
        }
        let dial = cluster_port_address(address);
        // Connecting and proving membership share one deadline, so a peer that accepts but
        // never answers the handshake holds this slot no longer than an unreachable one.
        let connect = async {
            let stream = connect_from(self.source, &dial).await.map_err(|error| {
                CallError::Unreachable(format!("connect to {address}: {error}"))
            })?;
            let _ = stream.set_nodelay(true);
            let refused = |error: String| {
                if handshake::log_now() {
                    tracing::warn!(peer = address, %error, "cluster handshake failed (further failures within 10 s are logged at debug)");
                } else {
                    tracing::debug!(peer = address, %error, "cluster handshake failed");
                }
                self.handshake_failures
                    .lock()
                    .insert(address.to_owned(), std::time::Instant::now());
                CallError::Unreachable(format!("{address}: {error}"))
            };
            match &self.tls {
                None => {
                    let mut stream = stream;
                    if let Some(secret) = &self.secret {
                        handshake::dial(&mut stream, secret)
                            .await
                            .map_err(refused)?;
                    }
                    let (reader, writer) = stream.into_split();
                    Ok::<Link, CallError>(self.start_link(reader, writer))
                }
                Some(tls) => {
                    let mut stream = crate::tls::dial(tls.as_ref(), &dial, stream)
                        .await
                        .map_err(|error| refused(format!("TLS: {error}")))?;
                    if let Some(secret) = &self.secret {
                        handshake::dial(&mut stream, secret)
                            .await
                            .map_err(refused)?;
                    }
                    let (reader, writer) = tokio::io::split(stream);
                    Ok(self.start_link(reader, writer))
                }
            }
        };
        let link = tokio::time::timeout(self.rpc_timeout, connect)
            .await
            .map_err(|_| CallError::Unreachable(format!("connect to {address} timed out")))??;
        self.handshake_failures.lock().remove(address);
        let handles = (link.queue.clone(), Arc::clone(&link.pending));
        *slot = Some(link);
        Ok(handles)
    }
}

/// Connects to `address`, from `source` when given (as Redis Cluster binds its outgoing bus
/// connections to its bind address): peers and firewalls see the member's own address.
pub async fn connect_from(
    source: Option<std::net::IpAddr>,
    address: &str,
) -> std::io::Result<TcpStream> {
    let Some(source) = source else {
        return TcpStream::connect(address).await;
    };
    let mut last_error = None;
    for target in tokio::net::lookup_host(address).await? {
        if target.is_ipv4() != source.is_ipv4() {
            continue;
        }
        let socket = match source {
            std::net::IpAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::IpAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.bind(std::net::SocketAddr::new(source, 0))?;
        match socket.connect(target).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last_error = Some(error),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::AddrNotAvailable,
            format!("{address} has no address of the same family as {source}"),
        )
    }))
}

/// Where to dial a member: addresses are either `host:port` (the cluster port itself) or Redis
/// Cluster's `host:port@clusterPort`, whose cluster port follows the `@`.
pub fn cluster_port_address(address: &str) -> std::borrow::Cow<'_, str> {
    match address.split_once('@') {
        Some((client, cluster_port)) => {
            let host = client.rsplit_once(':').map_or(client, |(host, _)| host);
            std::borrow::Cow::Owned(format!("{host}:{cluster_port}"))
        }
        None => std::borrow::Cow::Borrowed(address),
    }
}

/// Starts the writer and reader tasks of a client connection (plain TCP halves, or TLS).
fn start_link<R, W>(
    reader: R,
    writer: W,
    mut shutdown: watch::Receiver<bool>,
    counters: Arc<WireCounters>,
) -> Link
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
    let pending: PendingMap = Arc::default();
    let alive = Arc::new(AtomicBool::new(true));
    tokio::spawn(write_loop(writer, receiver, Arc::clone(&alive), counters));
    let reader_pending = Arc::clone(&pending);
    let reader_alive = Arc::clone(&alive);
    tokio::spawn(async move {
        let mut reader = tokio::io::BufReader::new(reader);
        loop {
            let frame = tokio::select! {
                frame = codec::read_frame(&mut reader) => frame,
                _ = shutdown.wait_for(|stop| *stop) => break,
            };
            crate::idle_poll::note_activity();
            match frame {
                Ok(Some(Frame::Response { request_id, body })) => {
                    if let Some(sender) = reader_pending.lock().remove(&request_id) {
                        let _ = sender.send(body);
                    }
                }
                Ok(Some(Frame::Request { .. })) => {
                    tracing::warn!("peer sent a request on a client connection; closing it");
                    break;
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%error, "cluster connection closed");
                    break;
                }
            }
        }
        reader_alive.store(false, Ordering::Release);
        // Dropping the senders tells every waiting caller that the connection is gone.
        reader_pending.lock().clear();
    });
    Link {
        queue,
        pending,
        alive,
    }
}

/// Writes queued frames; everything queued at the moment is written before one flush.
///
/// A batched frame first yields once: a frame wakes this task, and Tokio runs the woken task
/// right after the waker, so without the yield the heartbeats that many group tasks queue in
/// one scheduler turn would each get a write of their own.
async fn write_loop<W: AsyncWrite + Unpin>(
    writer: W,
    mut queue: mpsc::Receiver<Outgoing>,
    alive: Arc<AtomicBool>,
    counters: Arc<WireCounters>,
) {
    let mut writer = BufWriter::with_capacity(64 << 10, writer);
    while let Some(first) = queue.recv().await {
        if first.lane == Lane::Batched {
            tokio::task::yield_now().await;
        }
        let mut frames = 1;
        let mut result = writer.write_all(&first.bytes).await;
        while result.is_ok()
            && let Ok(more) = queue.try_recv()
        {
            frames += 1;
            result = writer.write_all(&more.bytes).await;
        }
        if result.is_err() || writer.flush().await.is_err() {
            break;
        }
        counters.frames_sent.fetch_add(frames, Ordering::Relaxed);
        counters.socket_writes.fetch_add(1, Ordering::Relaxed);
    }
    alive.store(false, Ordering::Release);
}

/// Accepts cluster connections on `listener` and serves them until shutdown.
pub(crate) fn serve(
    listener: TcpListener,
    handler: Weak<dyn RequestHandler>,
    mut shutdown: watch::Receiver<bool>,
    counters: Arc<WireCounters>,
    secret: Option<ClusterSecret>,
    tls: Option<Arc<dyn crate::tls::ClusterTls>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.wait_for(|stop| *stop) => return,
            };
            match accepted {
                Ok((mut stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    let shutdown = shutdown.clone();
                    let counters = Arc::clone(&counters);
                    let secret = secret.clone();
                    let tls = tls.clone();
                    tokio::spawn(async move {
                        let refuse = |rejection: Rejection| {
                            counters.rejected.count(rejection);
                            // Anyone can connect: counted always, logged at most every 10 s.
                            if handshake::log_now() {
                                tracing::warn!(%peer, reason = rejection.label(), "refused a cluster connection: {rejection} (further refusals within 10 s are logged at debug; all are counted in ringcache_cluster_connections_rejected_total)");
                            } else {
                                tracing::debug!(%peer, reason = rejection.label(), "refused a cluster connection: {rejection}");
                            }
                        };
                        let Some(tls) = tls else {
                            if let Some(secret) = &secret
                                && let Err(rejection) = handshake::accept(&mut stream, secret).await
                            {
                                return refuse(rejection);
                            }
                            let (reader, writer) = stream.into_split();
                            return serve_connection(reader, writer, handler, shutdown, counters)
                                .await;
                        };
                        let mut stream = match crate::tls::accept(tls.as_ref(), stream).await {
                            Ok(stream) => stream,
                            Err(rejection) => return refuse(rejection),
                        };
                        if let Some(secret) = &secret
                            && let Err(rejection) = handshake::accept(&mut stream, secret).await
                        {
                            return refuse(rejection);
                        }
                        let (reader, writer) = tokio::io::split(stream);
                        serve_connection(reader, writer, handler, shutdown, counters).await;
                    });
                }
                Err(error) => {
                    // Usually too many open files: wait instead of spinning.
                    tracing::warn!(%error, "accept on the cluster port failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
}

/// A snapshot being received, piece by piece, each piece written out as it arrives.
struct PartialSnapshot {
    meta: SnapshotMeta,
    sink: SnapshotSink,
}

async fn serve_connection<R, W>(
    reader: R,
    writer: W,
    handler: Weak<dyn RequestHandler>,
    mut shutdown: watch::Receiver<bool>,
    counters: Arc<WireCounters>,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (queue, receiver) = mpsc::channel(QUEUE_DEPTH);
    tokio::spawn(write_loop(
        writer,
        receiver,
        Arc::new(AtomicBool::new(true)),
        counters,
    ));
    let mut reader = tokio::io::BufReader::new(reader);
    let mut snapshots: HashMap<GroupId, PartialSnapshot> = HashMap::new();
    loop {
        let frame = tokio::select! {
            frame = codec::read_frame(&mut reader) => frame,
            _ = shutdown.wait_for(|stop| *stop) => return,
        };
        crate::idle_poll::note_activity();
        let (request_id, group, target, body) = match frame {
            Ok(Some(Frame::Request {
                request_id,
                group,
                target,
                body,
            })) => (request_id, group, target, body),
            Ok(Some(Frame::Response { .. })) => {
                tracing::warn!("peer sent a response on a server connection; closing it");
                return;
            }
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(%error, "dropping cluster connection");
                return;
            }
        };
        // An AppendEntries without entries is a heartbeat (or a commit notice): its answer can
        // share a write with the answers to the other groups' heartbeats.
        let lane = match &body {
            RequestBody::AppendEntries(request) if request.entries.is_empty() => Lane::Batched,
            _ => Lane::Immediate,
        };
        let incoming = match body {
            RequestBody::SnapshotChunk {
                vote,
                meta,
                offset,
                data,
                last,
            } => match assemble(&mut snapshots, &handler, group, meta, offset, data, last) {
                Err(failure) => {
                    respond(&queue, request_id, Err(failure), Lane::Immediate).await;
                    continue;
                }
                Ok(None) => {
                    respond(
                        &queue,
                        request_id,
                        Ok(ResponseBody::SnapshotChunkReceived),
                        Lane::Immediate,
                    )
                    .await;
                    continue;
                }
                Ok(Some(snapshot)) => Incoming::FullSnapshot { vote, snapshot },
            },
            other => Incoming::Rpc(other),
        };
        let Some(handler) = handler.upgrade() else {
            return;
        };
        let queue = queue.clone();
        // Each request runs on its own task, so one slow group never holds up the others.
        tokio::spawn(async move {
            let result = handler.handle(group, target, incoming).await;
            respond(&queue, request_id, result, lane).await;
        });
    }
}

/// Adds one piece to the snapshot `group` is receiving; returns the snapshot after the last.
/// Dropping a partial snapshot (restarted, out of order, connection gone) deletes what it wrote.
fn assemble(
    snapshots: &mut HashMap<GroupId, PartialSnapshot>,
    handler: &Weak<dyn RequestHandler>,
    group: GroupId,
    meta: SnapshotMeta,
    offset: u64,
    data: Vec<u8>,
    last: bool,
) -> Result<Option<Snapshot>, RemoteFailure> {
    if offset == 0 {
        // A restart from the beginning replaces any earlier attempt.
        snapshots.remove(&group);
        let handler = handler.upgrade().ok_or_else(|| {
            RemoteFailure::Raft("the receiving member is shutting down".to_owned())
        })?;
        let sink = handler.snapshot_sink(group)?;
        snapshots.insert(
            group,
            PartialSnapshot {
                meta: meta.clone(),
                sink,
            },
        );
    }
    let Some(partial) = snapshots.get_mut(&group) else {
        return Err(RemoteFailure::BadRequest(format!(
            "snapshot piece at offset {offset} without a start"
        )));
    };
    if partial.meta != meta || partial.sink.written() != offset {
        snapshots.remove(&group);
        return Err(RemoteFailure::BadRequest(format!(
            "snapshot piece at offset {offset} does not follow the previous one"
        )));
    }
    if let Err(error) = partial.sink.write(data) {
        snapshots.remove(&group);
        return Err(RemoteFailure::Storage(format!(
            "cannot write a snapshot piece: {error}"
        )));
    }
    if !last {
        return Ok(None);
    }
    let Some(partial) = snapshots.remove(&group) else {
        return Ok(None);
    };
    let snapshot = partial.sink.finish().map_err(|error| {
        RemoteFailure::Storage(format!("cannot finish a received snapshot: {error}"))
    })?;
    Ok(Some(Snapshot {
        meta: partial.meta,
        snapshot,
    }))
}

async fn respond(
    queue: &mpsc::Sender<Outgoing>,
    request_id: u64,
    body: Result<ResponseBody, RemoteFailure>,
    lane: Lane,
) {
    match codec::encode(&Frame::Response { request_id, body }) {
        Ok(bytes) => {
            let _ = queue.send(Outgoing { bytes, lane }).await;
        }
        Err(error) => tracing::warn!(%error, "cannot encode a response"),
    }
}

impl From<io::Error> for CallError {
    fn from(error: io::Error) -> Self {
        CallError::Network(error.to_string())
    }
}

#[cfg(test)]
mod address_tests {
    use super::cluster_port_address;

    #[test]
    fn dials_the_cluster_port_of_a_redis_style_address() {
        assert_eq!(
            cluster_port_address("10.0.0.1:6379@16379"),
            "10.0.0.1:16379"
        );
        assert_eq!(
            cluster_port_address("rc-0.rc-nodes.ns.svc:6379@16379"),
            "rc-0.rc-nodes.ns.svc:16379"
        );
        assert_eq!(cluster_port_address("127.0.0.1:7000"), "127.0.0.1:7000");
    }
}
