//! The move phase: rounds of decide (pure) → admin calls → observe the members again, for at most
//! [`STEP_BUDGET`] of one reconcile. A move needs up to six calls, each possible only once the
//! previous one is observed done; taking those steps within one reconcile, against the members'
//! admin API only, keeps the Kubernetes API out of the per-step path (one status write per
//! reconcile, not one per step).
//!
//! ```text
//!   ┌─► decide ─► execute (all calls at once) ─► track ─┐
//!   │                                                    │ moves in flight, budget left,
//!   └──── observe the members (GET /v1/status) ◄────────┘ and not every call failed
//! ```

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use ringcache_admin::ClusterSettings;
use ringcache_placement::{ObservedCluster, Options, decide};

use super::data_plane::DataPlane;
use super::mover;
use super::observe::Observed;
use super::progress::{Progress, track};
use super::ring::RingDecision;
use crate::api::{RebalanceSpec, RebalanceStatus};
use crate::build::ClusterIdentity;

/// How long one reconcile keeps stepping moves before it writes status.
pub const STEP_BUDGET: Duration = Duration::from_secs(2);
/// Pause before observing again after a round that called nothing (learners catching up).
const WAIT_PAUSE: Duration = Duration::from_millis(100);

/// What the move phase works from.
pub struct MoveInputs<'a> {
    pub ring: &'a RingDecision,
    /// Members lost past the grace period: their replicas go to stand-ins.
    pub lost: &'a BTreeSet<u32>,
    pub options: Options,
    pub settings: ClusterSettings,
    /// The rebalance status of the previous reconcile.
    pub previous: Option<&'a RebalanceStatus>,
    pub spec: &'a RebalanceSpec,
    /// Pods, for the members' addresses when observing again.
    pub observed: &'a Observed,
    pub identity: &'a ClusterIdentity,
    /// Ordinals below this are observed.
    pub watched: i32,
    /// Whether the CacheCluster's spec changed since this reconcile began (a pause, a reversed
    /// scale): the phase then ends after the current round, and the next reconcile acts on it.
    pub spec_changed: &'a (dyn Fn() -> bool + Sync),
}

/// What the move phase did.
pub struct Stepped {
    /// All rounds' progress, merged.
    pub progress: Progress,
    /// The placement as last observed.
    pub placement: ObservedCluster,
    /// When the members were last observed.
    pub now: Time,
    /// Whether any call succeeded (the next step is likely possible soon).
    pub stepped: bool,
}

/// Runs rounds until nothing moves, every call of a round failed, the spec changed, or the budget
/// is spent.
pub async fn step_moves(
    inputs: MoveInputs<'_>,
    mut plane: DataPlane,
    mut placement: ObservedCluster,
    mut now: Time,
) -> Stepped {
    let started = Instant::now();
    let target = inputs.ring.target.standing_in_for(inputs.lost);
    let mut ring = inputs.ring.clone();
    let mut merged: Option<Progress> = None;
    let mut stepped = false;
    loop {
        // Lost members' replicas are rebuilt on stand-ins; their silence no longer holds the
        // placement back.
        let mut reachable = placement.clone();
        reachable
            .silent
            .retain(|member| !inputs.lost.contains(member));
        let decision = decide(&reachable, &target, inputs.options);
        let results = mover::execute(&decision.actions, &plane, inputs.settings).await;
        let succeeded = results.iter().any(|result| result.failure.is_none());
        stepped |= succeeded;
        let previous = merged
            .as_ref()
            .map(|progress| &progress.rebalance)
            .or(inputs.previous);
        let round = track(
            previous,
            &ring,
            &decision,
            &placement,
            &results,
            inputs.spec,
            &now,
        );
        // The ring was adopted (counters reset) in the first round only.
        ring.adopted = false;
        let progress = match merged.take() {
            Some(progress) => progress.then(round),
            None => round,
        };
        let moving = !decision.actions.is_empty() || !decision.in_flight.is_empty();
        let all_failed = !decision.actions.is_empty() && !succeeded;
        let pause = if succeeded {
            Duration::ZERO
        } else {
            WAIT_PAUSE
        };
        let done = !moving
            || all_failed
            || started.elapsed() + pause >= STEP_BUDGET
            || (inputs.spec_changed)();
        let next = if done {
            None
        } else {
            tokio::time::sleep(pause).await;
            Some(
                DataPlane::read(
                    inputs.observed,
                    inputs.identity,
                    inputs.watched,
                    &plane.credential,
                )
                .await,
            )
            .filter(DataPlane::formed)
        };
        let Some(next) = next else {
            return Stepped {
                progress,
                placement,
                now,
                stepped,
            };
        };
        merged = Some(progress);
        plane = next;
        placement = plane.placement(inputs.watched as u32);
        now = Time(k8s_openapi::jiff::Timestamp::now());
    }
}
