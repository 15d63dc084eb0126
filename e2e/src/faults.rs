//! A fault layer between cluster members that needs no root: a TCP proxy in front of each member,
//! which peers reach instead of the member itself (the member advertises the proxy's address).
//!
//! ```text
//!   member 0 ──(bound to 127.x.y.1)──▶ proxy of member 1 (127.x.y.101) ──▶ member 1 (127.x.y.2)
//!                                        │ who is calling? the source address → member 0
//!                                        │ link 0→1 cut?    hold the bytes until it heals
//!                                        │ link 0→1 slow?   deliver each chunk `delay` later
//! ```
//!
//! Members bind their outgoing cluster connections to their own address, so the proxy knows
//! which member is calling; anything else (test clients) is never faulted. A cut link holds the
//! bytes of its direction (a partition: TCP keeps them until the network heals, unless the
//! application gives up first), and connections made across a cut link are accepted but carry
//! nothing. Rules are per direction, so one-way partitions, bridges and isolated leaders are all
//! sets of cut links.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// A member, by its index in the test (its ordinal).
pub type MemberIndex = usize;

/// What happens to bytes from one member to another.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkState {
    /// Bytes are held (not delivered) while the link is cut.
    pub cut: bool,
    /// Extra one-way latency.
    pub delay: Duration,
}

/// The rules of every link, and the proxies that apply them.
#[derive(Clone, Default)]
pub struct FaultNetwork {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Which member an address belongs to (the source address of its outgoing connections).
    members: Mutex<HashMap<IpAddr, MemberIndex>>,
    links: Mutex<BTreeMap<(MemberIndex, MemberIndex), LinkState>>,
    /// Bumped on every rule change; pumps waiting on a cut link watch it.
    version: watch::Sender<u64>,
    /// Bumped to close every proxied connection of some links (see [`FaultNetwork::reset`]).
    resets: watch::Sender<Vec<(MemberIndex, MemberIndex)>>,
}

impl FaultNetwork {
    pub fn new() -> Self {
        FaultNetwork::default()
    }

    /// Records that connections from `address` come from `member`.
    pub fn register(&self, member: MemberIndex, address: IpAddr) {
        self.inner.members.lock().insert(address, member);
    }

    /// Serves a proxy for `member` on `listen`, forwarding to `upstream`, until the network is
    /// dropped. Returns the bound address.
    pub async fn proxy(
        &self,
        member: MemberIndex,
        listen: SocketAddr,
        upstream: SocketAddr,
    ) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(listen).await?;
        let bound = listener.local_addr()?;
        let network = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                let Ok((client, peer)) = listener.accept().await else {
                    // Out of file descriptors, most likely: do not spin on it.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let Some(inner) = network.upgrade() else {
                    return;
                };
                let from = inner.members.lock().get(&peer.ip()).copied();
                tokio::spawn(relay(inner, client, from, member, upstream));
            }
        });
        Ok(bound)
    }

    fn update(&self, change: impl FnOnce(&mut BTreeMap<(MemberIndex, MemberIndex), LinkState>)) {
        change(&mut self.inner.links.lock());
        self.inner.version.send_modify(|version| *version += 1);
    }

    /// Cuts `from → to` only (a one-way partition).
    pub fn cut_one_way(&self, from: MemberIndex, to: MemberIndex) {
        self.update(|links| links.entry((from, to)).or_default().cut = true);
    }

    /// Cuts both directions between `a` and `b`.
    pub fn cut(&self, a: MemberIndex, b: MemberIndex) {
        self.update(|links| {
            links.entry((a, b)).or_default().cut = true;
            links.entry((b, a)).or_default().cut = true;
        });
    }

    /// Splits `members` into `sides` that cannot reach each other (members in no side keep
    /// every link).
    pub fn partition(&self, sides: &[BTreeSet<MemberIndex>]) {
        self.update(|links| {
            for (index, side) in sides.iter().enumerate() {
                for other in sides.iter().skip(index + 1) {
                    for &a in side {
                        for &b in other {
                            links.entry((a, b)).or_default().cut = true;
                            links.entry((b, a)).or_default().cut = true;
                        }
                    }
                }
            }
        });
    }

    /// Cuts `member` off from every other member of `all`, both ways.
    pub fn isolate(&self, member: MemberIndex, all: impl IntoIterator<Item = MemberIndex>) {
        let rest: BTreeSet<MemberIndex> = all.into_iter().filter(|&m| m != member).collect();
        self.partition(&[BTreeSet::from([member]), rest]);
    }

    /// Adds `delay` to `from → to`.
    pub fn delay(&self, from: MemberIndex, to: MemberIndex, delay: Duration) {
        self.update(|links| links.entry((from, to)).or_default().delay = delay);
    }

    /// Closes every proxied connection between `a` and `b` (both directions), as a connection
    /// reset would; the members connect again.
    pub fn reset(&self, a: MemberIndex, b: MemberIndex) {
        self.inner.resets.send_replace(vec![(a, b), (b, a)]);
    }

    /// Closes every proxied connection between `member` and the others of `all`, at once (one
    /// notification: relays that wake late still see every link of it).
    pub fn reset_member(&self, member: MemberIndex, all: impl IntoIterator<Item = MemberIndex>) {
        let links = all
            .into_iter()
            .filter(|&other| other != member)
            .flat_map(|other| [(member, other), (other, member)])
            .collect();
        self.inner.resets.send_replace(links);
    }

    /// Restores every link: no cut, no delay. Held bytes are delivered.
    pub fn heal(&self) {
        self.update(|links| links.clear());
    }
}

/// Carries one connection `from → to` (`from`: `None` for a client, never faulted).
async fn relay(
    inner: Arc<Inner>,
    client: TcpStream,
    from: Option<MemberIndex>,
    to: MemberIndex,
    upstream: SocketAddr,
) {
    let _ = client.set_nodelay(true);
    let mut version = inner.version.subscribe();
    // Connecting across a cut link waits for the heal: the caller sees a connection that
    // carries nothing, as it would behind a partition once its SYN got through.
    if let Some(from) = from {
        while link_of(&inner, from, to).cut {
            if version.changed().await.is_err() {
                return;
            }
        }
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let outward = from.map(|from| (from, to));
    let inward = from.map(|from| (to, from));
    let mut resets = inner.resets.subscribe();
    let forward = pump(Arc::clone(&inner), client_read, server_write, outward);
    let backward = pump(Arc::clone(&inner), server_read, client_write, inward);
    let reset = async {
        loop {
            if resets.changed().await.is_err() {
                return;
            }
            let links = resets.borrow_and_update().clone();
            if outward.is_some_and(|link| links.contains(&link)) {
                return;
            }
        }
    };
    // Either direction ending (or a reset) closes the whole connection.
    tokio::select! {
        _ = forward => {}
        _ = backward => {}
        _ = reset => {}
    }
}

fn link_of(inner: &Inner, from: MemberIndex, to: MemberIndex) -> LinkState {
    inner
        .links
        .lock()
        .get(&(from, to))
        .copied()
        .unwrap_or_default()
}

/// Copies one direction: a reader task stamps each chunk when it arrives, and the writer
/// delivers it once the link is up and its delay has passed (so a delay is latency, not a
/// throughput cap).
async fn pump(
    inner: Arc<Inner>,
    mut source: tokio::net::tcp::OwnedReadHalf,
    mut sink: tokio::net::tcp::OwnedWriteHalf,
    link: Option<(MemberIndex, MemberIndex)>,
) {
    let (chunks, mut received) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let reader = async move {
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match source.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => {
                    if chunks
                        .send((Instant::now(), buffer[..read].to_vec()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
        }
    };
    let writer = async move {
        let mut version = inner.version.subscribe();
        while let Some((arrived, chunk)) = received.recv().await {
            if let Some((from, to)) = link {
                loop {
                    let state = link_of(&inner, from, to);
                    if state.cut {
                        if version.changed().await.is_err() {
                            return;
                        }
                        continue;
                    }
                    let due = arrived + state.delay;
                    if Instant::now() >= due {
                        break;
                    }
                    // A rule change while waiting is re-read (a heal ends the delay too).
                    tokio::select! {
                        _ = tokio::time::sleep_until(due) => {}
                        changed = version.changed() => if changed.is_err() { return },
                    }
                }
            }
            if sink.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = sink.shutdown().await;
    };
    tokio::join!(reader, writer);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0u8; 1024];
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 || stream.write_all(&buffer[..read]).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        address
    }

    async fn round_trip(stream: &mut TcpStream, limit: Duration) -> bool {
        stream.write_all(b"ping").await.expect("write");
        let mut answer = [0u8; 4];
        matches!(
            tokio::time::timeout(limit, stream.read_exact(&mut answer)).await,
            Ok(Ok(_))
        ) && &answer == b"ping"
    }

    /// A caller at 127.0.0.1 registered as member 0, a proxy for member 1.
    async fn proxied() -> (FaultNetwork, TcpStream) {
        let network = FaultNetwork::new();
        network.register(0, "127.0.0.1".parse().expect("ip"));
        let upstream = echo_server().await;
        let proxy = network
            .proxy(1, "127.0.0.1:0".parse().expect("address"), upstream)
            .await
            .expect("proxy");
        let stream = TcpStream::connect(proxy).await.expect("connect");
        (network, stream)
    }

    #[tokio::test]
    async fn a_cut_link_holds_bytes_until_it_heals() {
        let (network, mut stream) = proxied().await;
        assert!(round_trip(&mut stream, Duration::from_secs(5)).await);
        network.cut_one_way(0, 1);
        assert!(!round_trip(&mut stream, Duration::from_millis(300)).await);
        network.heal();
        let mut answer = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut answer))
            .await
            .expect("delivered after the heal")
            .expect("read");
        assert_eq!(&answer, b"ping");
    }

    #[tokio::test]
    async fn the_answer_direction_can_be_cut_alone() {
        let (network, mut stream) = proxied().await;
        network.cut_one_way(1, 0);
        assert!(!round_trip(&mut stream, Duration::from_millis(300)).await);
        network.heal();
        assert!(round_trip(&mut stream, Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_delay_is_added_to_each_direction() {
        let (network, mut stream) = proxied().await;
        network.delay(0, 1, Duration::from_millis(200));
        let started = std::time::Instant::now();
        assert!(round_trip(&mut stream, Duration::from_secs(5)).await);
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn unknown_callers_are_never_faulted() {
        let network = FaultNetwork::new();
        let upstream = echo_server().await;
        let proxy = network
            .proxy(1, "127.0.0.1:0".parse().expect("address"), upstream)
            .await
            .expect("proxy");
        network.isolate(1, [0, 1, 2]);
        let mut stream = TcpStream::connect(proxy).await.expect("connect");
        assert!(round_trip(&mut stream, Duration::from_secs(5)).await);
    }

    #[tokio::test]
    async fn a_member_reset_closes_its_connections_to_every_peer() {
        let network = FaultNetwork::new();
        network.register(0, "127.0.0.1".parse().expect("ip"));
        let mut streams = Vec::new();
        for peer in 1..=3 {
            let upstream = echo_server().await;
            let proxy = network
                .proxy(peer, "127.0.0.1:0".parse().expect("address"), upstream)
                .await
                .expect("proxy");
            let mut stream = TcpStream::connect(proxy).await.expect("connect");
            assert!(round_trip(&mut stream, Duration::from_secs(5)).await);
            streams.push(stream);
        }
        network.reset_member(0, 0..4);
        for mut stream in streams {
            let mut buffer = [0u8; 4];
            let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
                .await
                .expect("closed promptly");
            assert!(matches!(read, Ok(0) | Err(_)));
        }
    }

    #[tokio::test]
    async fn a_reset_closes_the_connections_of_a_link() {
        let (network, mut stream) = proxied().await;
        assert!(round_trip(&mut stream, Duration::from_secs(5)).await);
        network.reset(0, 1);
        let mut buffer = [0u8; 4];
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("closed promptly");
        assert!(matches!(read, Ok(0) | Err(_)));
    }
}
