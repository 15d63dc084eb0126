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
use crate::executor::Executor;
use crate::shared::Shared;

/// How long shutdown waits for connections to finish their current batch.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read the listener address: {0}")]
    Listener(#[from] std::io::Error),
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// The listeners of a node: Redis clients, and in cluster mode the cluster bus; the admin API
/// when it is served.
pub struct Listeners {
    pub client: TcpListener,
    pub cluster: Option<TcpListener>,
    pub admin: Option<TcpListener>,
}

/// Serves a node on its `listeners` until `shutdown` completes: the single-process cache, or
/// with `--cluster-enabled` a cluster member (then `listeners.cluster` is required).
pub async fn run_node(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let port = listeners.client.local_addr()?.port();
    let password = config.password()?;
    config.prepare_data_dir()?;
    let tls = load_tls(&config)?;
    // Read once: the cluster port, the admin API and forwarding must use the same value even if
    // the file changes meanwhile.
    let secret = config.cluster_secret()?;
    let cluster_options = if config.cluster_enabled {
        let mut options = config.cluster_options(port)?;
        options.cluster_secret = secret
            .as_deref()
            .map(ringcache_replication::ClusterSecret::new);
        options.cluster_tls = tls
            .clone()
            .map(|tls| tls as Arc<dyn ringcache_replication::ClusterTls>);
        Some(options)
    } else {
        None
    };
    if config.cluster_enabled && secret.is_none() {
        tracing::warn!(
            "no --cluster-secret-file: the admin API and the cluster port accept anyone who can \
             reach them (see docs/security.md)"
        );
    }
    let password_file = config.requirepass_file.clone();
    let mut shared = Shared::new(config, port, password);
    shared.security = crate::security::Security::new(secret);
    shared.tls = tls;
    let shared = Arc::new(shared);
    crate::password_watch::follow(password_file, &shared);
    let (stop_sender, stop_receiver) = watch::channel(false);
    let mut cluster = None;
    if let Some(options) = cluster_options {
        let listener = listeners.cluster.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "no cluster listener")
        })?;
        let started = crate::cluster::Cluster::start(&shared, options, listener).await?;
        let weak = Arc::downgrade(&started);
        let _ = shared
            .leadership
            .set(crate::shared::LeadershipSource(Box::new(move || {
                weak.upgrade()
                    .map(|cluster| crate::cluster::leadership::of(&cluster))
            })));
        let fanout = Arc::new(crate::cluster::pubsub::Fanout::new(&started));
        fanout.start();
        shared.pubsub.set_remote(fanout);
        tokio::spawn(crate::cluster::routes::refresh(Arc::downgrade(&started)));
        tokio::spawn(crate::cluster::expiry::run(
            Arc::downgrade(&started),
            Arc::downgrade(&shared),
        ));
        cluster = Some(started);
    }
    let executor = match &cluster {
        Some(cluster) => Executor::Replicated(cluster.clone()),
        None => Executor::Local,
    };
    let admin = listeners.admin.map(|listener| {
        let mut stop = stop_receiver.clone();
        let state = Arc::new(crate::admin::AdminState {
            shared: shared.clone(),
            cluster: cluster.clone(),
        });
        tokio::spawn(crate::admin::serve(listener, state, async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        }))
    });
    run_with(listeners.client, shared.clone(), executor, shutdown).await;
    if let Some(cluster) = cluster {
        // Hand leadership away first, so clients see a short failover instead of an election
        // timeout (the pre-stop hook normally did this already).
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, cluster.leave()).await;
        cluster.shutdown().await;
    }
    let _ = stop_sender.send(true);
    if let Some(admin) = admin {
        let _ = tokio::time::timeout(SHUTDOWN_GRACE, admin).await;
    }
    Ok(())
}

/// Loads the TLS files when TLS is configured and starts following them for changes.
fn load_tls(config: &Config) -> Result<Option<Arc<crate::tls::Tls>>, ServerError> {
    let Some(files) = config.tls_files() else {
        return Ok(None);
    };
    let tls = Arc::new(crate::tls::Tls::load(files)?);
    tokio::spawn(crate::tls::watch(Arc::downgrade(&tls)));
    Ok(Some(tls))
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
    let password_file = config.requirepass_file.clone();
    let tls = load_tls(&config)?;
    let mut shared = Shared::new(config, port, password);
    shared.tls = tls;
    let shared = Arc::new(shared);
    crate::password_watch::follow(password_file, &shared);
    run_with(listener, shared, Executor::Local, shutdown).await;
    Ok(())
}

/// As [`run`], with state built by the caller (tests inspect it).
pub async fn run_with(
    listener: TcpListener,
    shared: Arc<Shared>,
    executor: Executor,
    shutdown: impl Future<Output = ()>,
) {
    let (shutdown_sender, shutdown_receiver) = watch::channel(false);
    // Every connection task holds a sender; when all are dropped, `recv` returns None.
    let (done_sender, mut done_receiver) = mpsc::channel::<()>(1);
    // In cluster mode expiry is proposed by partition leaders instead (cluster::expiry).
    let sweeper = matches!(executor, Executor::Local)
        .then(|| tokio::spawn(crate::expiry::run(shared.clone())));
    // INFO's instantaneous figures and memory peak.
    let sampler = tokio::spawn(crate::stats::sampler::run(Arc::downgrade(&shared)));
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
        let task_executor = executor.clone();
        let task_shutdown = shutdown_receiver.clone();
        let task_done = done_sender.clone();
        tokio::spawn(async move {
            match task_shared.tls.clone() {
                None => {
                    let connection = (task_shared, task_executor, handle);
                    crate::connection::serve(stream, connection, task_shutdown).await
                }
                Some(tls) => match tls.accept(stream).await {
                    Ok(stream) => {
                        let connection = (task_shared, task_executor, handle);
                        crate::connection::serve(stream, connection, task_shutdown).await
                    }
                    Err(error) => {
                        tracing::debug!(client = handle.id, %peer, %error, "TLS handshake failed");
                        task_shared.clients.unregister(handle.id);
                    }
                },
            }
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
    if let Some(sweeper) = sweeper {
        sweeper.abort();
    }
    sampler.abort();
    tracing::info!("shutdown complete");
}
