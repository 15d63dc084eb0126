//! The accept loop, the connection limit and graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use crate::config::{Config, ConfigError};
use crate::shared::Shared;

/// How long shutdown waits for connections to finish their current batch.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read the listener address: {0}")]
    Listener(#[from] std::io::Error),
}

/// Serves Redis clients on `listener` until `shutdown` completes, then stops accepting, lets every
/// connection finish the batch it is executing, and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let port = listener.local_addr()?.port();
    let password = config.password()?;
    config.prepare_data_dir()?;
    let shared = Arc::new(Shared::new(config, port, password));
    run_with(listener, shared, shutdown).await;
    Ok(())
}

/// As [`run`], with state built by the caller (tests inspect it).
pub async fn run_with(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let (shutdown_sender, shutdown_receiver) = watch::channel(false);
    // Every connection task holds a sender; when all are dropped, `recv` returns None.
    let (done_sender, mut done_receiver) = mpsc::channel::<()>(1);
    let sweeper = tokio::spawn(crate::expiry::run(shared.clone()));
    tokio::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (mut stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Typically out of file descriptors: back off instead of spinning.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let maxclients = shared.settings.read().maxclients;
        if shared.clients.count() >= maxclients {
            shared
                .stats
                .rejected_connections
                .fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let _ = stream
                    .write_all(b"-ERR max number of clients reached\r\n")
                    .await;
            });
            continue;
        }
        shared
            .stats
            .total_connections_received
            .fetch_add(1, Ordering::Relaxed);
        let _ = stream.set_nodelay(true);
        let local = stream.local_addr().unwrap_or(peer);
        let handle = shared.clients.register(peer, local);
        tracing::debug!(client = handle.id, %peer, "client connected");
        let task_shared = shared.clone();
        let task_shutdown = shutdown_receiver.clone();
        let task_done = done_sender.clone();
        tokio::spawn(async move {
            crate::connection::serve(stream, task_shared, handle, task_shutdown).await;
            drop(task_done);
        });
    }

    tracing::info!("shutting down: no longer accepting connections");
    drop(listener);
    let _ = shutdown_sender.send(true);
    drop(done_sender);
    if tokio::time::timeout(SHUTDOWN_GRACE, done_receiver.recv())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the grace period; closing anyway");
    }
    sweeper.abort();
    tracing::info!("shutdown complete");
}
