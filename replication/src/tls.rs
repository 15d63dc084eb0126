//! Mutual TLS on the cluster port. The embedder (the node) supplies the configurations through
//! [`ClusterTls`], so a certificate replaced on disk is used by the next connection.
//!
//! ```text
//!  dial:   TCP ─► TLS (verify the peer for the dialled host; present our certificate)
//!                 ─► cluster-secret handshake ─► frames
//!  accept: TCP ─► TLS (require a client certificate the cluster's CA signed)
//!                 ─► cluster-secret handshake ─► frames
//! ```

use std::sync::Arc;

use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};

use crate::handshake::{HANDSHAKE_TIMEOUT, Rejection};

/// Where the cluster port's TLS configurations come from. `server` must require client
/// certificates (mutual TLS); `client` must present this member's certificate.
pub trait ClusterTls: Send + Sync + std::fmt::Debug + 'static {
    /// The configuration for connections this member accepts.
    fn server(&self) -> Arc<rustls::ServerConfig>;
    /// The configuration for connections this member makes.
    fn client(&self) -> Arc<rustls::ClientConfig>;
}

/// The name a member's certificate is verified for when it is dialled at `address`
/// (`host:port`, `[v6]:port`): the host, a DNS name or an IP address.
pub fn server_name(address: &str) -> std::io::Result<rustls::pki_types::ServerName<'static>> {
    let host = address
        .rsplit_once(':')
        .map_or(address, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|error| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{host} is not a TLS server name: {error}"),
        )
    })
}

/// TLS to the member at `address` (`host:port`), its certificate verified for `host`.
pub(crate) async fn dial(
    tls: &dyn ClusterTls,
    address: &str,
    stream: TcpStream,
) -> std::io::Result<client::TlsStream<TcpStream>> {
    TlsConnector::from(tls.client())
        .connect(server_name(address)?, stream)
        .await
}

/// Accepts a member's TLS handshake (its certificate verified by the server configuration).
pub(crate) async fn accept(
    tls: &dyn ClusterTls,
    stream: TcpStream,
) -> Result<server::TlsStream<TcpStream>, Rejection> {
    match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        TlsAcceptor::from(tls.server()).accept(stream),
    )
    .await
    {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(error)) => {
            tracing::debug!(%error, "cluster TLS handshake failed");
            Err(Rejection::Tls)
        }
        Err(_) => Err(Rejection::Incomplete),
    }
}
