//! `ringcache-operator run`: the controller loop, with the metrics server and leader election
//! around it. Works in a cluster (service account) and from a kubeconfig.

use crate::api::CacheCluster;
use crate::build::OperatorPods;
use crate::cli::RunArgs;
use crate::events::EventSink;
use crate::key::{KeyError, OperatorKey};
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
    /// The operator key is missing or unusable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// `--operator-pod-selector` without a namespace to apply it in.
    #[error(
        "--operator-pod-selector is set but the operator's namespace is not: pass --operator-namespace (or POD_NAMESPACE from the downward API), or neither outside a cluster"
    )]
    SelectorWithoutNamespace,
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

/// Where the operator's pods are, from `--operator-namespace` and `--operator-pod-selector`; says
/// once, at start, what the NetworkPolicies will and will not admit.
pub fn operator_pods(args: &RunArgs) -> Result<OperatorPods, RunError> {
    let pods = OperatorPods {
        namespace: args
            .operator_namespace
            .clone()
            .filter(|namespace| !namespace.is_empty()),
        labels: args.operator_pod_selector.clone(),
    };
    match (&pods.namespace, &pods.labels) {
        (None, Some(_)) => return Err(RunError::SelectorWithoutNamespace),
        (None, None) => tracing::warn!(
            "the operator's namespace is unknown (no --operator-namespace or POD_NAMESPACE: not in a cluster?): \
             the clusters' NetworkPolicies admit no operator to the admin port (9090). Where the \
             network enforces NetworkPolicies, an operator outside the cluster needs \
             spec.networkPolicy.enabled=false or its address as an ipBlock in spec.networkPolicy.monitoring"
        ),
        (Some(namespace), None) => tracing::warn!(
            %namespace,
            "no --operator-pod-selector: the clusters' NetworkPolicies admit every pod of the operator's namespace to the admin port (9090)"
        ),
        (Some(namespace), Some(labels)) => {
            tracing::info!(%namespace, ?labels, "NetworkPolicies admit the operator's pods to the admin port")
        }
    }
    Ok(pods)
}

/// Runs the operator until Ctrl-C / SIGTERM (Ok) or a fatal condition (Err).
pub async fn run(args: RunArgs) -> Result<(), RunError> {
    // The key first: without it nothing can be reconciled, so fail before touching the API.
    let key = OperatorKey::read(args.cluster_key_file.as_deref())?;
    let operator = operator_pods(&args)?;
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
        Context::new(
            client,
            EventSink::Kubernetes(recorder),
            metrics.clone(),
            key,
        )
        .with_operator(operator)
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
