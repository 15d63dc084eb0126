//! Mutual authentication of a cluster-port connection with the cluster secret, before any frame.
//!
//! ```text
//!  dialer                                          listener
//!    ── MAGIC ‖ dialer nonce (32) ──────────────────►
//!    ◄── MAGIC ‖ listener nonce (32) ‖ HMAC(K, "listener" ‖ both nonces) ──
//!    checks it: the listener knows K
//!    ── HMAC(K, "dialer" ‖ both nonces) ────────────►
//!                                                   checks it: the dialer knows K
//!    ══ frames, both ways ══════════════════════════
//! ```
//!
//! Fresh nonces on both sides make every proof single-use (no replay), and the role labels keep a
//! listener's proof from being reflected back to it as a dialer's. The secret itself never
//! crosses the wire. The listener reads at most the fixed-size hello and proof before deciding,
//! so an unauthenticated peer cannot make it decode a frame or allocate a frame-sized buffer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Opens every authenticated connection (protocol name and version).
const MAGIC: &[u8; 8] = b"RCAUTH01";
const NONCE_LEN: usize = 32;
const PROOF_LEN: usize = 32;
/// Time a peer has to complete the handshake.
pub(crate) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// The cluster secret that authenticates cluster-port connections (its Debug output hides it).
#[derive(Clone)]
pub struct ClusterSecret {
    key: Arc<hmac::Key>,
}

impl ClusterSecret {
    /// A secret from its bytes (the node reads them from `--cluster-secret-file`).
    pub fn new(secret: &[u8]) -> Self {
        ClusterSecret {
            key: Arc::new(hmac::Key::new(hmac::HMAC_SHA256, secret)),
        }
    }

    fn proof(&self, role: &[u8], dialer_nonce: &[u8], listener_nonce: &[u8]) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(MAGIC);
        context.update(role);
        context.update(dialer_nonce);
        context.update(listener_nonce);
        context.sign()
    }

    fn verify(
        &self,
        role: &[u8],
        dialer_nonce: &[u8],
        listener_nonce: &[u8],
        proof: &[u8],
    ) -> bool {
        let mut message = Vec::with_capacity(MAGIC.len() + role.len() + 2 * NONCE_LEN);
        message.extend_from_slice(MAGIC);
        message.extend_from_slice(role);
        message.extend_from_slice(dialer_nonce);
        message.extend_from_slice(listener_nonce);
        hmac::verify(&self.key, &message, proof).is_ok()
    }
}

impl std::fmt::Debug for ClusterSecret {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("ClusterSecret(<redacted>)")
    }
}

const DIALER: &[u8] = b"dialer";
const LISTENER: &[u8] = b"listener";

/// Why a connection was refused; the labels of `ringcache_cluster_connections_rejected_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The peer did not open with the handshake (a raw frame, another protocol, or a member
    /// started without the secret).
    #[error(
        "the peer did not start the cluster handshake (is it a member of this cluster, started with the same --cluster-secret-file?)"
    )]
    NoHandshake,
    /// The peer's proof is not made with this cluster's secret.
    #[error("the peer does not know this cluster's secret (different --cluster-secret-file)")]
    WrongSecret,
    /// The peer closed the connection or went silent during the handshake.
    #[error("the peer did not finish the cluster handshake in time")]
    Incomplete,
    /// Mutual TLS failed: no client certificate, or one the cluster's CA did not sign.
    #[error("the peer's TLS handshake failed (no certificate, or not one the cluster's CA signed)")]
    Tls,
}

impl Rejection {
    pub const ALL: [Rejection; 4] = [
        Rejection::NoHandshake,
        Rejection::WrongSecret,
        Rejection::Incomplete,
        Rejection::Tls,
    ];

    /// Fixed metric label.
    pub fn label(self) -> &'static str {
        match self {
            Rejection::NoHandshake => "no_handshake",
            Rejection::WrongSecret => "wrong_secret",
            Rejection::Incomplete => "incomplete",
            Rejection::Tls => "tls",
        }
    }
}

/// Connections refused by the listener, by reason.
#[derive(Debug, Default)]
pub struct RejectionCounters {
    counts: [AtomicU64; 4],
}

impl RejectionCounters {
    pub(crate) fn count(&self, rejection: Rejection) {
        self.counts[rejection as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Connections refused for `rejection`.
    pub fn get(&self, rejection: Rejection) -> u64 {
        self.counts[rejection as usize].load(Ordering::Relaxed)
    }
}

/// Whether a handshake failure may be logged at warn now: at most one every 10 s per process, so
/// a peer with another secret, or anyone probing the port, cannot flood the log.
pub(crate) fn log_now() -> bool {
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    now >= last + 10
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}

fn nonce() -> std::io::Result<[u8; NONCE_LEN]> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| std::io::Error::other("no system randomness for the handshake nonce"))?;
    Ok(nonce)
}

/// The dialer's side: proves knowledge of `secret` and checks the listener's proof.
pub(crate) async fn dial<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    secret: &ClusterSecret,
) -> Result<(), String> {
    let exchange = async {
        let dialer_nonce = nonce().map_err(|error| error.to_string())?;
        let mut hello = Vec::with_capacity(MAGIC.len() + NONCE_LEN);
        hello.extend_from_slice(MAGIC);
        hello.extend_from_slice(&dialer_nonce);
        stream
            .write_all(&hello)
            .await
            .map_err(|error| format!("handshake: {error}"))?;
        let mut answer = [0u8; 8 + NONCE_LEN + PROOF_LEN];
        stream
            .read_exact(&mut answer)
            .await
            .map_err(|_| "the peer closed the connection during the cluster handshake (it may not share this cluster's secret, or run without one)".to_owned())?;
        if &answer[..8] != MAGIC {
            return Err("the peer does not speak the cluster handshake (started without --cluster-secret-file?)".to_owned());
        }
        let listener_nonce = &answer[8..8 + NONCE_LEN];
        if !secret.verify(
            LISTENER,
            &dialer_nonce,
            listener_nonce,
            &answer[8 + NONCE_LEN..],
        ) {
            return Err(Rejection::WrongSecret.to_string());
        }
        let proof = secret.proof(DIALER, &dialer_nonce, listener_nonce);
        stream
            .write_all(proof.as_ref())
            .await
            .map_err(|error| format!("handshake: {error}"))
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange)
        .await
        .map_err(|_| Rejection::Incomplete.to_string())?
}

/// The listener's side: nothing but the hello and the proof is read before the peer has proved
/// knowledge of `secret`.
pub(crate) async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    secret: &ClusterSecret,
) -> Result<(), Rejection> {
    let exchange = async {
        let mut hello = [0u8; 8 + NONCE_LEN];
        stream
            .read_exact(&mut hello[..8])
            .await
            .map_err(|_| Rejection::Incomplete)?;
        if &hello[..8] != MAGIC {
            return Err(Rejection::NoHandshake);
        }
        stream
            .read_exact(&mut hello[8..])
            .await
            .map_err(|_| Rejection::Incomplete)?;
        let dialer_nonce = &hello[8..];
        let listener_nonce = nonce().map_err(|_| Rejection::Incomplete)?;
        let proof = secret.proof(LISTENER, dialer_nonce, &listener_nonce);
        let mut answer = Vec::with_capacity(8 + NONCE_LEN + PROOF_LEN);
        answer.extend_from_slice(MAGIC);
        answer.extend_from_slice(&listener_nonce);
        answer.extend_from_slice(proof.as_ref());
        stream
            .write_all(&answer)
            .await
            .map_err(|_| Rejection::Incomplete)?;
        let mut dialer_proof = [0u8; PROOF_LEN];
        stream
            .read_exact(&mut dialer_proof)
            .await
            .map_err(|_| Rejection::Incomplete)?;
        if secret.verify(DIALER, dialer_nonce, &listener_nonce, &dialer_proof) {
            Ok(())
        } else {
            Err(Rejection::WrongSecret)
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, exchange)
        .await
        .map_err(|_| Rejection::Incomplete)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair(
        dialer_secret: Option<ClusterSecret>,
        listener_secret: ClusterSecret,
    ) -> (Result<(), String>, Result<(), Rejection>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            accept(&mut stream, &listener_secret).await
        });
        let mut stream = TcpStream::connect(address).await.unwrap();
        let dialed = match dialer_secret {
            Some(secret) => dial(&mut stream, &secret).await,
            None => {
                // A well-formed-looking frame header instead of the handshake.
                stream.write_all(&[0, 0, 0, 16, 1, 2, 3, 4]).await.unwrap();
                Ok(())
            }
        };
        (dialed, server.await.unwrap())
    }

    #[tokio::test]
    async fn same_secret_passes_both_ways() {
        let secret = ClusterSecret::new(b"0123456789abcdef0123456789abcdef");
        let (dialed, accepted) = pair(Some(secret.clone()), secret).await;
        assert_eq!(dialed, Ok(()));
        assert_eq!(accepted, Ok(()));
    }

    #[tokio::test]
    async fn a_different_secret_fails_on_both_sides() {
        let (dialed, accepted) = pair(
            Some(ClusterSecret::new(b"0123456789abcdef0123456789abcdef")),
            ClusterSecret::new(b"fedcba9876543210fedcba9876543210"),
        )
        .await;
        assert!(dialed.unwrap_err().contains("secret"));
        // The dialer stops at the listener's proof, so the listener never gets one.
        assert_eq!(accepted, Err(Rejection::Incomplete));
    }

    #[tokio::test]
    async fn a_raw_frame_is_refused_without_reading_it() {
        let secret = ClusterSecret::new(b"0123456789abcdef0123456789abcdef");
        let (_, accepted) = pair(None, secret).await;
        assert_eq!(accepted, Err(Rejection::NoHandshake));
    }

    #[tokio::test]
    async fn a_forged_dialer_proof_is_refused() {
        let secret = ClusterSecret::new(b"0123456789abcdef0123456789abcdef");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server_secret = secret.clone();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            accept(&mut stream, &server_secret).await
        });
        let mut stream = TcpStream::connect(address).await.unwrap();
        let mut hello = MAGIC.to_vec();
        hello.extend_from_slice(&[7u8; NONCE_LEN]);
        stream.write_all(&hello).await.unwrap();
        let mut answer = [0u8; 8 + NONCE_LEN + PROOF_LEN];
        stream.read_exact(&mut answer).await.unwrap();
        // Reflecting the listener's own proof back must not work (role labels differ).
        stream.write_all(&answer[8 + NONCE_LEN..]).await.unwrap();
        assert_eq!(server.await.unwrap(), Err(Rejection::WrongSecret));
    }
}
