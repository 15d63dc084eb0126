//! The `ringcache-node` binary: parses flags, sets up logging and the listener, and hands over to
//! [`ringcache_node::server::run`].

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use ringcache_node::config::{Config, LogFormat};
use tracing_subscriber::EnvFilter;

// mimalloc: smaller per-allocation overhead than glibc malloc for the many small entries of a cache,
// and faster (measured in docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let config = Config::parse();
    init_logging(config.log_format);
    match run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("ringcache-node: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    // openraft logs every heartbeat it receives at info: 170-200 lines per second per member.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(ringcache_node::config::DEFAULT_LOG_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

fn run(config: Config) -> anyhow::Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = config.threads {
        runtime.worker_threads(threads.get());
    }
    let runtime = runtime
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    config.prepare_data_dir()?;
    runtime.block_on(async move {
        // Before anything is served: a signal that arrived between "ready" and the first poll
        // of a lazily registered handler would get the default action and kill the process.
        let shutdown = listen_for_shutdown()?;
        let bind = |ip: std::net::IpAddr, port: u16, what: &'static str| async move {
            tokio::net::TcpListener::bind((ip, port))
                .await
                .with_context(|| format!("cannot listen on {ip}:{port} ({what})"))
        };
        let client = bind(config.bind, config.port, "Redis clients").await?;
        let client_port = client.local_addr().context("listener address")?.port();
        let cluster = if config.cluster_enabled {
            let port = config.cluster_port(client_port)?;
            Some(bind(config.bind, port, "cluster bus").await?)
        } else {
            None
        };
        let admin = match config.admin_port() {
            Some(port) => {
                let ip = config.admin_bind.unwrap_or(config.bind);
                Some(bind(ip, port, "admin API").await?)
            }
            None => None,
        };
        tracing::info!(
            address = %client.local_addr().context("listener address")?,
            cluster = ?cluster.as_ref().and_then(|listener| listener.local_addr().ok()),
            admin = ?admin.as_ref().and_then(|listener| listener.local_addr().ok()),
            maxmemory = config.maxmemory,
            policy = %config.maxmemory_policy,
            version = env!("CARGO_PKG_VERSION"),
            mode = if config.cluster_enabled { "cluster member" } else { "single process, in memory" },
            "ringcache-node ready"
        );
        let listeners = ringcache_node::server::Listeners {
            client,
            cluster,
            admin,
        };
        ringcache_replication::start_idle_polling(config.idle_poll);
        ringcache_node::server::run_node(listeners, config, shutdown).await?;
        Ok(())
    })
}

/// Starts listening for Ctrl-C and SIGTERM at once; the future completes on either.
#[cfg(unix)]
fn listen_for_shutdown() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("received Ctrl-C"),
            _ = terminate.recv() => tracing::info!("received SIGTERM"),
        }
    })
}

/// Completes on Ctrl-C (no SIGTERM outside Unix).
#[cfg(not(unix))]
fn listen_for_shutdown() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("received Ctrl-C");
        } else {
            std::future::pending::<()>().await;
        }
    })
}
