//! `ringcache-operator run`: the controller loop, with the metrics server and leader election
//! around it. Works in a cluster (service account) and from a kubeconfig.

use crate::api::CacheCluster;
use crate::cli::RunArgs;
use crate::events::EventSink;
use crate::leader::{Elector, ElectorConfig};
use crate::metrics::Metrics;
use crate::reconcile::{Context, error_policy, reconcile};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Service;
use kube::runtime::controller::Controller;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{WatchStreamExt, predicates, reflector, watcher};
use kube::{Api, Client};
use std::sync::Arc;

/// Why `run` stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// No kubeconfig and not in a cluster, or the config is unusable.
    #[error(
        "cannot create a Kubernetes client (no usable kubeconfig, and not running in a cluster)"
    )]
    Client(#[source] kube::Error),
    /// The metrics address cannot be bound.
    #[error("cannot listen on --metrics-addr {address}")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The metrics server stopped.
    #[error("metrics server failed")]
    MetricsServer(#[source] std::io::Error),
    /// Another replica took the Lease, or it could not be renewed in time.
    #[error("lost leadership of Lease {namespace}/{name}; exiting so that only one replica acts")]
    LostLeadership {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
    },
}

fn identity(args: &RunArgs) -> String {
    args.identity.clone().unwrap_or_else(|| {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "ringcache-operator".to_owned());
        format!("{host}-{}", std::process::id())
    })
}

/// Runs the operator until Ctrl-C / SIGTERM (Ok) or a fatal condition (Err).
pub async fn run(args: RunArgs) -> Result<(), RunError> {
    let client = Client::try_default().await.map_err(RunError::Client)?;
    let metrics = Arc::new(Metrics::new());
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .map_err(|source| RunError::Listen {
            address: args.metrics_addr,
            source,
        })?;
    tracing::info!(address = %args.metrics_addr, "serving /metrics and /healthz");
    let server = tokio::spawn(crate::http_server::serve(listener, metrics.clone()));

    let me = identity(&args);
    let lease_namespace = args
        .lease_namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let elector = args.leader_election.then(|| {
        Elector::new(
            client.clone(),
            ElectorConfig::new(args.lease_name.clone(), lease_namespace.clone(), me.clone()),
        )
    });
    if let Some(elector) = &elector {
        tracing::info!(lease = %args.lease_name, namespace = %lease_namespace, identity = %me, "waiting for leadership");
        tokio::select! {
            () = elector.acquire() => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
    metrics.leader.set(1);

    let (clusters, statefulsets, services): (Api<CacheCluster>, Api<StatefulSet>, Api<Service>) =
        match &args.namespace {
            Some(namespace) => (
                Api::namespaced(client.clone(), namespace),
                Api::namespaced(client.clone(), namespace),
                Api::namespaced(client.clone(), namespace),
            ),
            None => (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client.clone()),
            ),
        };
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "ringcache-operator".to_owned(),
            instance: Some(me),
        },
    );

    let owned =
        watcher::Config::default().labels("app.kubernetes.io/managed-by=ringcache-operator");
    // CacheClusters trigger a reconcile when their generation changes (spec edits, `kubectl
    // scale`), not on status writes: each reconcile writes status, and reacting to its own write
    // made the operator reconcile back to back while replicas moved, costing CPU that clients
    // needed. Moves are paced by the reconcile's own requeue instead.
    let (reader, writer) = reflector::store();
    let context = Arc::new(
        Context::new(client, EventSink::Kubernetes(recorder), metrics.clone())
            .with_clusters(reader.clone()),
    );
    let cluster_changes = watcher(clusters, watcher::Config::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    let controller = Controller::for_stream(cluster_changes, reader)
        .owns(statefulsets, owned.clone())
        .owns(services, owned)
        .shutdown_on_signal()
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(cluster = %object.name, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile loop"),
            }
        });
    let lost = async {
        match &elector {
            Some(elector) => elector.hold().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = controller => {
            tracing::info!("controller stopped");
            Ok(())
        }
        () = lost => {
            metrics.leader.set(0);
            Err(RunError::LostLeadership { namespace: lease_namespace, name: args.lease_name.clone() })
        }
        result = server => match result {
            Ok(Err(error)) => Err(RunError::MetricsServer(error)),
            _ => Err(RunError::MetricsServer(std::io::Error::other("metrics server task ended"))),
        },
    }
}
