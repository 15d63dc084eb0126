//! [`Forwarder`]: transparent forwarding of a plain client's command to the partition leader.
//!
//! Each client connection keeps its own connections to the leaders it forwards to (so pipelined
//! replies stay in request order: one request in flight per connection at a time). A forwarding
//! connection declares itself cluster-aware, so the receiver answers `-MOVED` instead of
//! forwarding again; the forwarder follows a few redirections, then gives up with `-TRYAGAIN`.

use std::collections::HashMap;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::frame::reply_length;
use crate::protocol::Protocol;
use crate::security::PeerAccess;

/// Time allowed for one forwarded request (connect, send, reply); a blocking command (BLPOP …)
/// gets its own timeout on top (`Forwarder::forward`'s `block_wait`).
const FORWARD_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirections followed before giving up.
const MAX_REDIRECTIONS: usize = 3;
/// Largest reply accepted from a peer.
const MAX_REPLY: usize = 512 * 1024 * 1024;

/// Why forwarding failed. Nothing was applied unless the peer received the request; the caller
/// reports `Sent` failures as "outcome unknown" for writes.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("cannot reach {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("{address} did not accept the forwarding connection: {reply}")]
    Handshake { address: String, reply: String },
    #[error("lost {address} after sending the request: {detail}")]
    Sent { address: String, detail: String },
    #[error("{address} answered something that is not RESP: {detail}")]
    Protocol { address: String, detail: String },
    /// `address` did not answer before another member became the partition's leader; the
    /// connection was closed (a late answer could never be matched). `sent`: whether the request
    /// itself went out (if not, it was still connecting, and nothing can apply).
    #[error("{address} stopped answering and the partition has a new leader")]
    Abandoned { address: String, sent: bool },
}

/// Asked while a forwarded request waits: `true` when the member now at `address` should no
/// longer be waited for (another member leads the partition).
pub type GiveUp<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// How long a forwarded request waits before [`GiveUp`] is first asked: a healthy leader answers
/// well within it, so a planned leadership hand-over never abandons a request in flight.
const ABANDON_AFTER: Duration = Duration::from_secs(1);
/// How often [`GiveUp`] is asked after that.
const ABANDON_CHECK: Duration = Duration::from_millis(50);

/// An authenticated connection to another member's Redis port (also used by the Pub/Sub
/// fan-out, `super::pubsub`).
pub(super) struct Link {
    /// Unique per connection made: a transaction forwarded in pieces (WATCH, then MULTI … EXEC)
    /// must reach the leader on the connection that holds its watch.
    pub(super) id: u64,
    pub(super) stream: Box<dyn PeerStream>,
    pub(super) buffer: BytesMut,
}

static NEXT_LINK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A connection to another member's Redis port: plain TCP or TLS.
pub(super) trait PeerStream:
    tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send
{
}
impl<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> PeerStream for S {}

/// Forwarding connections of one client connection, keyed by address and protocol.
#[derive(Default)]
pub struct Forwarder {
    links: HashMap<(String, Protocol), Link>,
}

impl Forwarder {
    /// Sends `args` to `address` (following `-MOVED`) and returns the reply bytes exactly.
    /// `source`: the address to connect from (the member's own, see
    /// [`connect_from`](ringcache_replication::connect_from)). `give_up`: whether to stop
    /// waiting for the member at an address (see [`ForwardError::Abandoned`]).
    pub async fn forward(
        &mut self,
        address: &str,
        source: Option<std::net::IpAddr>,
        protocol: Protocol,
        access: &PeerAccess,
        args: &[Bytes],
        give_up: Option<GiveUp<'_>>,
    ) -> Result<Bytes, ForwardError> {
        let request = (args, give_up, Duration::ZERO);
        self.forward_waiting(address, source, protocol, access, request)
            .await
    }

    /// As [`Forwarder::forward`], for a request the leader may legitimately hold for
    /// `block_wait` before answering (a blocking command's timeout, `Duration::MAX` for one
    /// that waits forever): that is added to the forwarding timeout.
    pub async fn forward_waiting(
        &mut self,
        address: &str,
        source: Option<std::net::IpAddr>,
        protocol: Protocol,
        access: &PeerAccess,
        (args, give_up, block_wait): (&[Bytes], Option<GiveUp<'_>>, Duration),
    ) -> Result<Bytes, ForwardError> {
        let mut address = address.to_owned();
        let mut request = BytesMut::new();
        encode_command(&mut request, args);
        for _ in 0..=MAX_REDIRECTIONS {
            let reply = self
                .exchange(
                    &address,
                    source,
                    protocol,
                    access,
                    &request,
                    (give_up, block_wait),
                )
                .await?;
            match moved_target(&reply) {
                Some(next) if next != address => address = next,
                _ => return Ok(reply),
            }
        }
        Ok(Bytes::from(format!(
            "-TRYAGAIN the partition's leader moved {MAX_REDIRECTIONS} times while forwarding; retry\r\n"
        )))
    }

    /// Sends `args` to `address` without following `-MOVED`, and returns the reply with the
    /// identity of the connection it went on (see [`Forwarder::link`]).
    pub async fn forward_pinned(
        &mut self,
        address: &str,
        source: Option<std::net::IpAddr>,
        protocol: Protocol,
        access: &PeerAccess,
        args: &[Bytes],
    ) -> Result<(Bytes, u64), ForwardError> {
        let mut request = BytesMut::new();
        encode_command(&mut request, args);
        let reply = self
            .exchange(
                address,
                source,
                protocol,
                access,
                &request,
                (None, Duration::ZERO),
            )
            .await?;
        let link = self.link(address, protocol).unwrap_or_default();
        Ok((reply, link))
    }

    /// The identity of the open connection to `address`, if there is one.
    pub fn link(&self, address: &str, protocol: Protocol) -> Option<u64> {
        self.links
            .get(&(address.to_owned(), protocol))
            .map(|link| link.id)
    }

    async fn exchange(
        &mut self,
        address: &str,
        source: Option<std::net::IpAddr>,
        protocol: Protocol,
        access: &PeerAccess,
        request: &[u8],
        (give_up, block_wait): (Option<GiveUp<'_>>, Duration),
    ) -> Result<Bytes, ForwardError> {
        let key = (address.to_owned(), protocol);
        // Taken out while in use: put back only after a complete answer, so a connection whose
        // state is unknown (an error, an abandoned exchange) is never reused.
        let existing = self.links.remove(&key);
        let sent = std::sync::atomic::AtomicBool::new(false);
        let work = async {
            let mut link = match existing {
                Some(link) => link,
                None => connect(address, source, protocol, access).await?,
            };
            sent.store(true, std::sync::atomic::Ordering::Relaxed);
            // A timeout too far ahead to represent waits forever.
            let limit = FORWARD_TIMEOUT.saturating_add(block_wait);
            let answer = tokio::time::timeout(limit, round_trip(&mut link, request))
                .await
                .unwrap_or_else(|_| Err(format!("no reply within {limit:?}")));
            match answer {
                Ok(reply) => Ok((reply, link)),
                Err(detail) => Err(ForwardError::Sent {
                    address: address.to_owned(),
                    detail,
                }),
            }
        };
        let abandoned = async {
            let Some(give_up) = give_up else {
                return std::future::pending().await;
            };
            tokio::time::sleep(ABANDON_AFTER).await;
            while !give_up(address) {
                tokio::time::sleep(ABANDON_CHECK).await;
            }
        };
        let outcome = tokio::select! {
            outcome = work => Some(outcome),
            () = abandoned => None,
        };
        match outcome {
            Some(Ok((reply, link))) => {
                self.links.insert(key, link);
                Ok(reply)
            }
            Some(Err(error)) => Err(error),
            None => Err(ForwardError::Abandoned {
                address: address.to_owned(),
                sent: sent.load(std::sync::atomic::Ordering::Relaxed),
            }),
        }
    }
}

/// `MOVED <slot> <host:port>` → the address.
fn moved_target(reply: &[u8]) -> Option<String> {
    let text = reply.strip_prefix(b"-MOVED ")?;
    let text = std::str::from_utf8(text).ok()?.trim_end();
    text.split(' ').nth(1).map(str::to_owned)
}

pub(super) async fn connect(
    address: &str,
    source: Option<std::net::IpAddr>,
    protocol: Protocol,
    access: &PeerAccess,
) -> Result<Link, ForwardError> {
    let stream = tokio::time::timeout(
        FORWARD_TIMEOUT,
        ringcache_replication::connect_from(source, address),
    )
    .await
    .map_err(|_| ForwardError::Connect {
        address: address.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
    })?
    .map_err(|source| ForwardError::Connect {
        address: address.to_owned(),
        source,
    })?;
    let _ = stream.set_nodelay(true);
    let stream: Box<dyn PeerStream> = match &access.tls {
        None => Box::new(stream),
        Some(tls) => Box::new(
            tokio::time::timeout(FORWARD_TIMEOUT, tls.connect(address, stream))
                .await
                .unwrap_or_else(|_| {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "TLS handshake timed out",
                    ))
                })
                .map_err(|source| ForwardError::Connect {
                    address: address.to_owned(),
                    source,
                })?,
        ),
    };
    let mut link = Link {
        id: NEXT_LINK.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        stream,
        buffer: BytesMut::with_capacity(16 * 1024),
    };
    let mut handshake: Vec<Vec<&[u8]>> = Vec::new();
    if let Some(credential) = &access.credential {
        handshake.push(vec![b"AUTH", &credential.user, &credential.password]);
    }
    if protocol == Protocol::Resp3 {
        handshake.push(vec![b"HELLO", b"3"]);
    }
    handshake.push(vec![b"CLUSTER", b"RINGCACHE-FORWARDER"]);
    for command in handshake {
        let args: Vec<Bytes> = command.into_iter().map(Bytes::copy_from_slice).collect();
        let mut request = BytesMut::new();
        encode_command(&mut request, &args);
        let reply = tokio::time::timeout(FORWARD_TIMEOUT, round_trip(&mut link, &request))
            .await
            .unwrap_or_else(|_| Err("timed out".to_owned()))
            .map_err(|reply| ForwardError::Handshake {
                address: address.to_owned(),
                reply,
            })?;
        if reply.starts_with(b"-") {
            return Err(ForwardError::Handshake {
                address: address.to_owned(),
                reply: String::from_utf8_lossy(&reply).trim_end().to_owned(),
            });
        }
    }
    Ok(link)
}

async fn round_trip(link: &mut Link, request: &[u8]) -> Result<Bytes, String> {
    link.stream
        .write_all(request)
        .await
        .map_err(|error| error.to_string())?;
    loop {
        if let Some(length) = reply_length(&link.buffer)? {
            return Ok(link.buffer.split_to(length).freeze());
        }
        if link.buffer.len() > MAX_REPLY {
            return Err("reply too large".to_owned());
        }
        link.buffer.reserve(16 * 1024);
        match link.stream.read_buf(&mut link.buffer).await {
            Ok(0) => return Err("connection closed".to_owned()),
            Ok(_) => {}
            Err(error) => return Err(error.to_string()),
        }
    }
}

/// RESP array of bulk strings.
pub fn encode_command(buffer: &mut BytesMut, args: &[Bytes]) {
    buffer.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        buffer.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        buffer.extend_from_slice(arg);
        buffer.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moved_replies_name_the_new_address() {
        assert_eq!(
            moved_target(b"-MOVED 3999 127.0.0.2:6379\r\n").as_deref(),
            Some("127.0.0.2:6379")
        );
        assert_eq!(moved_target(b"+OK\r\n"), None);
    }

    #[test]
    fn commands_encode_as_arrays_of_bulk_strings() {
        let mut buffer = BytesMut::new();
        encode_command(&mut buffer, &[Bytes::from("GET"), Bytes::from("k")]);
        assert_eq!(&buffer[..], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    }
}
