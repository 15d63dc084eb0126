//! The reconciler: one CacheCluster through named phases, in one straight line, with the
//! Kubernetes client only at the ends and the admin API of the nodes in the middle.
//!
//! ```text
//!  observe (GET StatefulSet, LIST pods) ─► validate (pure) ─► observe data plane (every member's
//!     GET /v1/status, in parallel) ─► health (pure) ─► ring (pure: capacity guard, target,
//!     version, StatefulSet size; lost members get stand-ins)
//!     ─► build (pure) ─► apply (server-side apply, owner references; the cluster's Secret holds
//!        the secret derived from the operator key, which every admin call below sends)
//!     ─► form (a fresh cluster: POST /v1/cluster/form)   or   move (rounds of pure decide →
//!        admin calls → observe the members again)
//!     ─► status (pure, then one SSA of /status) ─► Events, metrics
//! ```
//!
//! The move phase takes observed steps for up to [`stepping::STEP_BUDGET`], observing the members
//! again between rounds; while anything moves the reconcile requeues after [`REQUEUE_STEPPED`] or
//! [`REQUEUE_MOVING`]. A status write does not trigger a reconcile (the watch passes generation
//! changes only).

pub mod apply;
pub mod capacity;
pub mod context;
pub mod data_plane;
pub mod findings;
pub mod form;
pub mod mover;
pub mod observe;
pub mod progress;
pub mod repair;
pub mod ring;
pub mod status;
pub mod stepping;
pub mod validate;

pub use context::Context;

use crate::api::{CacheCluster, CacheClusterStatus, ConditionType, RebalancePhase};
use crate::build::{ClusterIdentity, DesiredCluster};
use crate::error::ReconcileError;
use crate::events::{notice, notices};
use crate::metrics::{ClusterLabels, MemberLabels, MoveFailureLabels};
use apply::{apply_all, apply_params};
use capacity::check_scale_in;
use data_plane::{Credential, DataPlane};
use findings::Findings;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, Patch};
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use observe::Observed;
use progress::Progress;
use repair::absences;
use ring::Holders;
use ring::decide_ring;
use ringcache_placement::{Options, health};
use serde_json::json;
use status::{Outcome, compute_status, find_condition};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stepping::{MoveInputs, step_moves};
use validate::{ValidSpec, validate};

/// Requeue after a move phase in which calls succeeded: the moves go on after the status write.
pub const REQUEUE_STEPPED: Duration = Duration::from_millis(250);
/// Requeue while replicas move but no call succeeded (learners catching up for longer than the
/// move phase's budget, calls refused, a leader being elected).
pub const REQUEUE_MOVING: Duration = Duration::from_secs(1);
/// Requeue while something is changing.
pub const REQUEUE_BUSY: Duration = Duration::from_secs(5);
/// Requeue of a settled cluster. Health comes from the members, not from Kubernetes objects, so no
/// watch reports a replica removed by hand or a leader that cannot commit: the reconcile polls.
pub const REQUEUE_SETTLED: Duration = Duration::from_secs(10);

/// Reconciles one CacheCluster. Errors are retried by the controller with backoff
/// ([`error_policy`]).
pub async fn reconcile(
    cluster: Arc<CacheCluster>,
    context: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let started = Instant::now();
    let result = match fresh(&cluster, &context).await {
        Ok(Some(fresh)) => run_phases(&fresh, &context).await,
        Ok(None) => Ok((Action::await_change(), false)),
        Err(error) => Err(error),
    };
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

/// The CacheCluster as the API server has it now (`None`: deleted). The watch cache may still hold
/// the status before the previous reconcile's write, and counting finished moves from a stale status
/// would count them twice.
async fn fresh(
    cluster: &CacheCluster,
    context: &Context,
) -> Result<Option<CacheCluster>, ReconcileError> {
    let namespace = cluster.namespace().unwrap_or_default();
    let api: Api<CacheCluster> = Api::namespaced(context.client.clone(), &namespace);
    api.get_opt(&cluster.name_any())
        .await
        .map_err(|source| ReconcileError::Observe {
            kind: "CacheCluster",
            namespace,
            name: cluster.name_any(),
            source,
        })
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
    // Derived once per reconcile: the Secret's content and every admin call's credential.
    let credential = Credential::of(&context.key, &identity, cluster.spec.tls.is_some());
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
                &ringcache_placement::ObservedCluster::default(),
                &Findings::default(),
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
                None,
            )
            .await?;
            return Ok((Action::await_change(), true));
        }
    };

    // observe the data plane: every pod the StatefulSet has or will have
    let watched = observed
        .statefulset_replicas()
        .unwrap_or(0)
        .max(valid.members as i32);
    let plane = DataPlane::read(&observed, &identity, watched, &credential).await;
    let rejected_secret = plane.rejected_secret.clone();
    let placement = plane.placement(watched as u32);
    let health = plane
        .formed()
        .then(|| health(&placement, valid.partitions, valid.replication_factor));

    // ring: the spec's member count, unless a scale-in would not fit in memory
    let recorded_ring = cluster
        .status
        .as_ref()
        .map_or(0, |status| status.ring_members);
    let scale_in = plane
        .formed()
        .then(|| check_scale_in(recorded_ring, &valid, &placement))
        .flatten();
    let ring_spec = match &scale_in {
        Some(block) => ValidSpec {
            members: block.from_members,
            ..valid.clone()
        },
        None => valid.clone(),
    };
    let holders = Holders::of(plane.formed(), &placement, valid.partitions.get());
    let ring = decide_ring(
        cluster,
        &ring_spec,
        observed.statefulset_replicas(),
        holders,
    );
    let previous_members = cluster
        .status
        .as_ref()
        .map_or(&[][..], |status| status.members.as_slice());
    let absences = absences(
        previous_members,
        &placement.silent,
        ring.members.max(0) as u32,
        &cluster.spec.self_repair,
        &now,
    );

    // build
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
        cluster_secret: credential.secret.clone(),
        operator: context.operator.clone(),
    };

    // apply
    let warnings = match apply_all(&context.client, &desired).await {
        Ok(warnings) => warnings,
        Err(error) => {
            // Say so in status (best effort), then let the controller retry with backoff.
            let message = error.to_string();
            let outcome = Outcome::ApplyFailed {
                valid: &valid,
                ring: &ring,
                error: &message,
            };
            let findings = Findings {
                health: health.clone(),
                scale_in: scale_in.clone(),
                absences: absences.clone(),
                rejected_secret: rejected_secret.clone(),
            };
            let status = compute_status(
                cluster, &identity, &observed, &placement, &findings, outcome, now,
            );
            if let Err(status_error) = finish(
                cluster,
                context,
                &identity,
                status,
                statefulset_before,
                None,
                findings.health.as_ref(),
            )
            .await
            {
                tracing::warn!(%status_error, "could not record the apply failure in status");
            }
            return Err(error);
        }
    };

    // form a fresh cluster, or move replicas toward the ring
    let settings = ringcache_admin::ClusterSettings {
        partitions: valid.partitions.get(),
        replication_factor: valid.replication_factor,
    };
    let formed = plane.formed();
    let (progress, placement, now, stepped) = if formed {
        let inputs = MoveInputs {
            ring: &ring,
            lost: &absences.lost,
            options: Options {
                max_concurrent_moves: cluster.spec.rebalance.max_concurrent_moves.max(1) as usize,
                paused: cluster.spec.rebalance.paused,
            },
            settings,
            previous: cluster
                .status
                .as_ref()
                .and_then(|status| status.rebalance.as_ref()),
            spec: &cluster.spec.rebalance,
            observed: &observed,
            identity: &identity,
            watched,
            spec_changed: &|| context.spec_changed(cluster),
        };
        let moved = step_moves(inputs, plane, placement, now).await;
        // Health stays what this reconcile found: a partition repaired within the move phase
        // still shows (and raises its Event) once; the next reconcile reports it healthy.
        (
            Some(moved.progress),
            moved.placement,
            moved.now,
            moved.stepped,
        )
    } else {
        match form::form_if_needed(&observed, &plane, &identity, ring.members, settings).await {
            form::Formation::JustFormed => {
                let note = format!(
                    "formed the Raft cluster: {} members, {} partitions, replication factor {}",
                    ring.members, settings.partitions, settings.replication_factor
                );
                context
                    .events
                    .publish(cluster, notice(false, "ClusterFormed", "Form", note))
                    .await;
            }
            form::Formation::Waiting(reason) => {
                tracing::info!(cluster = %identity.name, %reason, "formation waiting");
            }
            form::Formation::Formed => {}
        }
        (None, placement, now, false)
    };

    // status
    let outcome = Outcome::Applied {
        valid: &valid,
        ring: &ring,
        warnings: &warnings,
        progress: progress.as_ref(),
    };
    let findings = Findings {
        health,
        scale_in,
        absences,
        rejected_secret,
    };
    let status = compute_status(
        cluster, &identity, &observed, &placement, &findings, outcome, now,
    );
    let moving = status
        .rebalance
        .as_ref()
        .is_some_and(|rebalance| rebalance.phase != RebalancePhase::Idle);
    let settled = formed
        && !moving
        && find_condition(&status, ConditionType::Progressing)
            .is_some_and(|condition| condition.status == "False");
    // The moves' Events go first: whoever reads the status that counts a move finished finds its
    // Event already there.
    if let Some(progress) = &progress {
        report_progress(cluster, context, &identity, progress).await;
    }
    finish(
        cluster,
        context,
        &identity,
        status,
        statefulset_before,
        Some(ring.statefulset_replicas),
        findings.health.as_ref(),
    )
    .await?;
    let requeue = if stepped {
        REQUEUE_STEPPED
    } else if moving {
        REQUEUE_MOVING
    } else if settled {
        REQUEUE_SETTLED
    } else {
        REQUEUE_BUSY
    };
    Ok((Action::requeue(requeue), false))
}

/// The metric labels of one cluster.
fn cluster_labels(identity: &ClusterIdentity) -> ClusterLabels {
    ClusterLabels {
        namespace: identity.namespace.clone(),
        name: identity.name.clone(),
    }
}

/// Events and metrics of the round's moves.
async fn report_progress(
    cluster: &CacheCluster,
    context: &Context,
    identity: &ClusterIdentity,
    progress: &Progress,
) {
    let labels = cluster_labels(identity);
    let metrics = &context.metrics;
    metrics
        .moves_started
        .get_or_create(&labels)
        .inc_by(u64::from(progress.started));
    for reason in &progress.failures {
        metrics
            .moves_failed
            .get_or_create(&MoveFailureLabels {
                namespace: identity.namespace.clone(),
                name: identity.name.clone(),
                reason: reason.as_str(),
            })
            .inc();
    }
    metrics
        .rebalance_stalled
        .get_or_create(&labels)
        .set(i64::from(progress.stall.is_some()));
    for finished in &progress.finished {
        // A "move" with neither giver nor receiver settled a membership change a former leader
        // left half-way: no replica moved.
        if finished.from < 0 && finished.to < 0 {
            tracing::info!(
                partition = finished.partition,
                "settled a half-way membership change"
            );
            continue;
        }
        metrics.moves_completed.get_or_create(&labels).inc();
        metrics
            .keys_moved
            .get_or_create(&labels)
            .inc_by(finished.keys.max(0) as u64);
        // One Event per move: the action names the move, so the Recorder never folds two together.
        let action = format!(
            "MovePartition{}From{}To{}",
            finished.partition, finished.from, finished.to
        );
        let note = format!(
            "partition {}: member {} -> member {} in {:.1}s ({} keys)",
            finished.partition, finished.from, finished.to, finished.seconds, finished.keys
        );
        context
            .events
            .publish(cluster, notice(false, "ReplicaMoved", &action, note))
            .await;
    }
    if let Some(seconds) = progress.completed_after {
        metrics.rebalance_duration.observe(seconds);
        let rebalance = &progress.rebalance;
        let note = format!(
            "the ring of {} members is in place: {} moves in {seconds:.1}s",
            rebalance.to_members, rebalance.moves_done
        );
        context
            .events
            .publish(
                cluster,
                notice(false, "RebalanceCompleted", "Rebalance", note),
            )
            .await;
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
    health: Option<&ringcache_placement::Health>,
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
    let labels = cluster_labels(identity);
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
    if let Some(health) = health {
        metrics
            .partitions_without_quorum
            .get_or_create(&labels)
            .set(health.without_quorum.len() as i64);
        metrics
            .partitions_under_replicated
            .get_or_create(&labels)
            .set(health.under_replicated.len() as i64);
    }
    record_members(metrics, identity, cluster.status.as_ref(), &status);
    Ok(())
}

/// Per-member gauges: set for the members status lists, removed for members it no longer lists.
fn record_members(
    metrics: &crate::metrics::Metrics,
    identity: &ClusterIdentity,
    old: Option<&CacheClusterStatus>,
    new: &CacheClusterStatus,
) {
    let labels = |ordinal: i32| MemberLabels {
        namespace: identity.namespace.clone(),
        name: identity.name.clone(),
        member: ordinal.to_string(),
    };
    for member in &new.members {
        let labels = labels(member.ordinal);
        metrics
            .member_leaders
            .get_or_create(&labels)
            .set(member.leader_of.into());
        let figures = [
            (
                &metrics.member_replicas,
                member.hosted_replicas.map(i64::from),
            ),
            (&metrics.member_used_memory, member.used_memory_bytes),
            (&metrics.member_keys, member.keys),
        ];
        for (family, value) in figures {
            match value {
                Some(value) => {
                    family.get_or_create(&labels).set(value);
                }
                // Not answering: no figure rather than a stale one.
                None => {
                    family.remove(&labels);
                }
            }
        }
    }
    let gone = old
        .into_iter()
        .flat_map(|status| &status.members)
        .filter(|member| {
            new.members
                .iter()
                .all(|kept| kept.ordinal != member.ordinal)
        });
    for member in gone {
        let labels = labels(member.ordinal);
        for family in [
            &metrics.member_replicas,
            &metrics.member_leaders,
            &metrics.member_used_memory,
            &metrics.member_keys,
        ] {
            family.remove(&labels);
        }
    }
}
