//! The reconciler: one CacheCluster through named phases, with the Kubernetes client only at the
//! ends.
//!
//! ```text
//!  observe (GET StatefulSet, LIST pods) ─► validate (pure) ─► plan ring (pure) ─► build (pure)
//!     ─► apply (server-side apply, field manager ringcache-operator, owner references)
//!     ─► form (admin API of the nodes: POST /v1/cluster/form on a fresh cluster)
//!     ─► status (pure computation, then SSA of /status) ─► Events, metrics
//! ```
//!
//! After apply, the form phase (`form.rs`) forms the Raft cluster through the nodes' admin API
//! once every member of a fresh cluster runs. Replica moves on scale (executing the plan the
//! plan-ring phase computes and reports) are the rebalancing issue's work.

pub mod apply;
pub mod context;
pub mod form;
pub mod observe;
pub mod ring;
pub mod status;
pub mod validate;

pub use context::Context;

use crate::api::{CacheCluster, CacheClusterStatus, ConditionType};
use crate::build::{ClusterIdentity, DesiredCluster};
use crate::error::ReconcileError;
use crate::events::notices;
use crate::metrics::ClusterLabels;
use apply::{apply_all, apply_params};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use observe::Observed;
use ring::decide_ring;
use serde_json::json;
use status::{Outcome, compute_status, find_condition};
use std::sync::Arc;
use std::time::{Duration, Instant};
use validate::validate;

/// Requeue while something is changing.
pub const REQUEUE_BUSY: Duration = Duration::from_secs(15);
/// Requeue of a settled cluster (a periodic re-check; watches trigger the rest).
pub const REQUEUE_SETTLED: Duration = Duration::from_secs(300);

/// Reconciles one CacheCluster. Errors are retried by the controller with backoff
/// ([`error_policy`]).
pub async fn reconcile(
    cluster: Arc<CacheCluster>,
    context: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = run_phases(&cluster, &context).await;
    let label = match &result {
        Ok((_, invalid)) if *invalid => "invalid_spec",
        Ok(_) => "ok",
        Err(_) => "error",
    };
    context.metrics.reconciled(label, started.elapsed());
    if result.is_ok() {
        context.backoff.reset(&cluster);
    }
    result.map(|(action, _)| action)
}

/// What the controller does after a failed reconcile: count it by category and retry with
/// exponential backoff (5 s doubling up to 5 minutes) per object.
pub fn error_policy(
    cluster: Arc<CacheCluster>,
    error: &ReconcileError,
    context: Arc<Context>,
) -> Action {
    let category = error.category();
    context.metrics.failed(category.as_str());
    let delay = context.backoff.next_delay(&cluster);
    tracing::warn!(
        cluster = %cluster.name_any(),
        namespace = cluster.namespace().unwrap_or_default(),
        category = category.as_str(),
        retry_in_seconds = delay.as_secs(),
        %error,
        "reconcile failed"
    );
    Action::requeue(delay)
}

/// The phases; returns the next action and whether the spec was invalid.
async fn run_phases(
    cluster: &CacheCluster,
    context: &Context,
) -> Result<(Action, bool), ReconcileError> {
    // observe
    let identity = ClusterIdentity::of(cluster).ok_or_else(|| ReconcileError::MissingIdentity {
        name: cluster.name_any(),
    })?;
    let observed = Observed::read(&context.client, &identity).await?;
    let statefulset_before = observed.statefulset_replicas();
    let now = Time(k8s_openapi::jiff::Timestamp::now());

    // validate
    let valid = match validate(cluster) {
        Ok(valid) => valid,
        Err(problems) => {
            let status = compute_status(
                cluster,
                &identity,
                &observed,
                Outcome::Invalid {
                    problems: &problems,
                },
                now,
            );
            finish(
                cluster,
                context,
                &identity,
                status,
                statefulset_before,
                None,
            )
            .await?;
            return Ok((Action::await_change(), true));
        }
    };

    // plan ring + build
    let ring = decide_ring(cluster, &valid);
    let desired = DesiredCluster {
        cluster: cluster.clone(),
        identity: identity.clone(),
        max_memory_bytes: valid.max_memory_bytes,
        statefulset_replicas: ring.statefulset_replicas,
        ring_version: ring.version,
        ring_members: ring.members,
        claim_size: observed
            .claim_size()
            .unwrap_or_else(|| cluster.spec.persistence.size.clone()),
    };

    // apply
    match apply_all(&context.client, &desired).await {
        Ok(warnings) => {
            // form
            let settings = ringcache_admin::ClusterSettings {
                partitions: valid.partitions.get(),
                replication_factor: valid.replication_factor,
            };
            let formation =
                form::form_if_needed(&observed, &identity, ring.members, settings).await;
            match &formation {
                form::Formation::JustFormed => {
                    context
                        .events
                        .publish(
                            cluster,
                            crate::events::Notice {
                                warning: false,
                                reason: "ClusterFormed".to_owned(),
                                action: "Form",
                                note: format!(
                                    "formed the Raft cluster: {} members, {} partitions, replication factor {}",
                                    ring.members, settings.partitions, settings.replication_factor
                                ),
                            },
                        )
                        .await;
                }
                form::Formation::Waiting(reason) => {
                    tracing::info!(cluster = %identity.name, %reason, "formation waiting");
                }
                form::Formation::Partial(reason) => {
                    tracing::warn!(cluster = %identity.name, %reason, "formation incomplete");
                }
                form::Formation::Formed => {}
            }
            let status = compute_status(
                cluster,
                &identity,
                &observed,
                Outcome::Applied {
                    valid: &valid,
                    ring: &ring,
                    warnings: &warnings,
                },
                now,
            );
            let settled = formation == form::Formation::Formed
                && find_condition(&status, ConditionType::Progressing)
                    .is_some_and(|condition| condition.status == "False");
            finish(
                cluster,
                context,
                &identity,
                status,
                statefulset_before,
                Some(ring.statefulset_replicas),
            )
            .await?;
            Ok((
                Action::requeue(if settled {
                    REQUEUE_SETTLED
                } else {
                    REQUEUE_BUSY
                }),
                false,
            ))
        }
        Err(error) => {
            // Say so in status (best effort), then let the controller retry with backoff.
            let message = error.to_string();
            let status = compute_status(
                cluster,
                &identity,
                &observed,
                Outcome::ApplyFailed {
                    valid: &valid,
                    ring: &ring,
                    error: &message,
                },
                now,
            );
            if let Err(status_error) = finish(
                cluster,
                context,
                &identity,
                status,
                statefulset_before,
                None,
            )
            .await
            {
                tracing::warn!(%status_error, "could not record the apply failure in status");
            }
            Err(error)
        }
    }
}

/// The status phase's IO: write status (SSA on `/status`), publish Events, update gauges.
async fn finish(
    cluster: &CacheCluster,
    context: &Context,
    identity: &ClusterIdentity,
    status: CacheClusterStatus,
    statefulset_before: Option<i32>,
    statefulset_after: Option<i32>,
) -> Result<(), ReconcileError> {
    let api: Api<CacheCluster> = Api::namespaced(context.client.clone(), &identity.namespace);
    let body = json!({
        "apiVersion": CacheCluster::api_version(&()),
        "kind": CacheCluster::kind(&()),
        "status": status,
    });
    api.patch_status(&identity.name, &apply_params(), &Patch::Apply(&body))
        .await
        .map_err(|source| ReconcileError::Status {
            namespace: identity.namespace.clone(),
            name: identity.name.clone(),
            source,
        })?;
    for notice in notices(
        cluster.status.as_ref(),
        &status,
        statefulset_before,
        statefulset_after,
    ) {
        context.events.publish(cluster, notice).await;
    }
    let labels = ClusterLabels {
        namespace: identity.namespace.clone(),
        name: identity.name.clone(),
    };
    let metrics = &context.metrics;
    metrics
        .desired_members
        .get_or_create(&labels)
        .set(cluster.spec.replicas.into());
    metrics
        .ready_members
        .get_or_create(&labels)
        .set(status.ready_replicas.into());
    let pending = status
        .rebalance
        .as_ref()
        .map_or(0, |rebalance| rebalance.moves_total - rebalance.moves_done);
    metrics
        .rebalance_moves_pending
        .get_or_create(&labels)
        .set(pending.into());
    let degraded = find_condition(&status, ConditionType::Degraded)
        .is_some_and(|condition| condition.status == "True");
    metrics
        .degraded
        .get_or_create(&labels)
        .set(i64::from(degraded));
    Ok(())
}
