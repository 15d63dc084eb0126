//! The admin port over TLS: a listener for axum that hands over connections whose handshake is
//! done, each with the binding exported from its session (for secret-bound credentials).
//!
//! ```text
//!  TcpListener ─► task per connection: TLS handshake (≤ 10 s) ─► export binding ─┐
//!                 (a slow client holds up nobody)                                 ▼
//!  axum ◄── accept() ◄── channel of (TLS stream, AdminPeer {address, binding}) ───┘
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::tls::Tls;

/// Who is on the other end of an admin connection.
#[derive(Debug, Clone)]
pub struct AdminPeer {
    pub address: SocketAddr,
    /// Exported from the TLS session ([`ringcache_admin::credential::EXPORTER_LABEL`]); `None`
    /// on plain HTTP.
    pub binding: Option<[u8; ringcache_admin::credential::BINDING_LEN]>,
}

impl Connected<IncomingStream<'_, TcpListener>> for AdminPeer {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        AdminPeer {
            address: *stream.remote_addr(),
            binding: None,
        }
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for AdminPeer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// Accepts TCP connections and completes their TLS handshakes off the accept path.
pub struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, AdminPeer)>,
}

impl TlsListener {
    /// Starts accepting on `listener`; stops when the listener is dropped.
    pub fn start(listener: TcpListener, tls: Arc<Tls>) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (sender, accepted) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let (tcp, address) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Usually out of file descriptors: wait instead of spinning.
                        tracing::warn!(%error, "accept on the admin port failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if sender.is_closed() {
                    return;
                }
                let (tls, sender) = (tls.clone(), sender.clone());
                tokio::spawn(async move {
                    match tls.accept(tcp).await {
                        Ok(stream) => {
                            let binding = stream
                                .get_ref()
                                .1
                                .export_keying_material(
                                    [0u8; ringcache_admin::credential::BINDING_LEN],
                                    ringcache_admin::credential::EXPORTER_LABEL,
                                    None,
                                )
                                .ok();
                            let _ = sender.send((stream, AdminPeer { address, binding })).await;
                        }
                        Err(error) => {
                            tracing::debug!(%address, %error, "admin TLS handshake failed")
                        }
                    }
                });
            }
        });
        Ok(TlsListener { local, accepted })
    }
}

impl Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = AdminPeer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(accepted) => accepted,
            // The accept task ended (it never does while the listener lives).
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(AdminPeer {
            address: self.local,
            binding: None,
        })
    }
}
