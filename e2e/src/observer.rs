//! The data plane as the members report it: a background sampler of every member's
//! `GET /v1/status`, and pure functions comparing what it saw with the ring the operator should
//! reach.
//!
//! ```text
//!  every ~200 ms: list the cluster's pods (their IPs, through the Kubernetes API, so it works
//!  locally and against a real cluster) → GET http://<podIP>:9090/v1/status on each, in parallel,
//!  with the cluster secret read from the Secret <name>-cluster-secret
//!  → per partition: leader? voters? which members host it? → running statistics for the window
//! ```
//!
//! The statistics are what a test asserts after a scale step: the longest time each partition
//! was without a leader, the fewest voters its leader reported, and per (member, partition) the
//! sequence of "hosts it / does not" that gives the number of replicas added and any move undone or
//! repeated (see [`crate::observer::hosting`]).

pub mod hosting;
pub mod placement;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};
use ringcache_admin::{AdminClient, MemberStatus};

use crate::credentials::read_cluster_secret;

pub use hosting::{HostingHistory, hosting_flaps, replicas_added, replicas_dropped};
pub use placement::{
    ObservedPartition, ObservedPlacement, leadership_balanced, matches_ring, observed_placement,
    ring,
};

/// The admin port of every member.
const ADMIN_PORT: u16 = 9090;

/// What the sampler measured since the last [`Observer::reset`].
#[derive(Debug, Clone, Default)]
pub struct ObserverReport {
    /// Samples in which at least one member answered.
    pub samples: u64,
    /// Per partition, the longest stretch between a sample that found no leader and the next one
    /// that found one (a stretch still open counts up to now).
    pub longest_leaderless: BTreeMap<u32, Duration>,
    /// Per partition, the fewest voters its leader reported.
    pub min_voters: BTreeMap<u32, usize>,
    /// Per (member, partition): whether the member hosted the partition, in sample order.
    pub hosting: HostingHistory,
    /// The statuses of the last sample, by ordinal.
    pub last: BTreeMap<u32, MemberStatus>,
}

impl ObserverReport {
    /// The partition that was without a leader the longest, and for how long.
    pub fn worst_leaderless(&self) -> Option<(u32, Duration)> {
        self.longest_leaderless
            .iter()
            .max_by_key(|(_, duration)| **duration)
            .map(|(partition, duration)| (*partition, *duration))
    }
}

#[derive(Default)]
struct State {
    report: ObserverReport,
    leaderless_since: BTreeMap<u32, Instant>,
    /// Members that exist when the window starts; a member seen later starts "hosting nothing".
    baseline_members: u32,
}

/// A running sampler.
pub struct Observer {
    state: Arc<parking_lot::Mutex<State>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Observer {
    /// Samples the members of CacheCluster `name` (pods `<name>-<ordinal>`) every `interval`.
    /// `members` is the cluster's member count now (see [`Observer::reset`]).
    pub fn start(
        client: Client,
        namespace: &str,
        name: &str,
        members: u32,
        interval: Duration,
    ) -> Self {
        let state = Arc::new(parking_lot::Mutex::new(State {
            baseline_members: members,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(sample_loop(
            Sampled {
                pods: Api::namespaced(client.clone(), namespace),
                client,
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            },
            interval,
            state.clone(),
            stop.clone(),
        ));
        Observer { state, stop, task }
    }

    /// Starts a new window: statistics restart, and a member with ordinal ≥ `members` seen from now
    /// on counts as having hosted nothing before (a pod created by the coming scale-out).
    pub fn reset(&self, members: u32) {
        let mut state = self.state.lock();
        let last = std::mem::take(&mut state.report.last);
        state.report = ObserverReport {
            last,
            ..ObserverReport::default()
        };
        state.leaderless_since.clear();
        state.baseline_members = members;
        // The last sample before the reset is the window's baseline: a copy made between the reset
        // and the next sample (the operator acts within a fraction of the sampling interval) must
        // still count as received.
        let last = state.report.last.clone();
        record_hosting(&mut state, &last);
    }

    /// The statistics so far.
    pub fn report(&self) -> ObserverReport {
        let state = self.state.lock();
        let mut report = state.report.clone();
        let now = Instant::now();
        for (partition, since) in &state.leaderless_since {
            let open = now.duration_since(*since);
            let longest = report.longest_leaderless.entry(*partition).or_default();
            *longest = (*longest).max(open);
        }
        report
    }

    /// Waits for a sample taken after this call and returns the report then.
    pub async fn fresh_report(&self) -> ObserverReport {
        let before = self.state.lock().report.samples;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.state.lock().report.samples <= before && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.report()
    }

    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.task.await;
    }
}

/// The CacheCluster the sampler watches.
struct Sampled {
    client: Client,
    pods: Api<Pod>,
    namespace: String,
    name: String,
}

async fn sample_loop(
    sampled: Sampled,
    interval: Duration,
    state: Arc<parking_lot::Mutex<State>>,
    stop: Arc<AtomicBool>,
) {
    let prefix = format!("{}-", sampled.name);
    let mut members: BTreeMap<u32, String> = BTreeMap::new();
    let mut listed_at: Option<Instant> = None;
    // The members answer `/v1/status` only with the cluster secret; read once it exists.
    let mut credential: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let relist = listed_at.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
        if relist && credential.is_none() {
            credential = read_cluster_secret(&sampled.client, &sampled.namespace, &sampled.name)
                .await
                .ok();
        }
        // Pod IPs change rarely; listing once a second is enough and keeps the API quiet.
        if relist && let Ok(list) = sampled.pods.list(&ListParams::default()).await {
            members = list
                .items
                .iter()
                .filter_map(|pod| {
                    let ordinal = pod.metadata.name.as_deref()?.strip_prefix(&prefix)?;
                    let ordinal: u32 = ordinal.parse().ok()?;
                    let ip = pod.status.as_ref()?.pod_ip.clone()?;
                    Some((ordinal, format!("{ip}:{ADMIN_PORT}")))
                })
                .collect();
            listed_at = Some(Instant::now());
        }
        let answers = futures::future::join_all(members.iter().map(|(ordinal, address)| {
            let admin = AdminClient::new(address.clone())
                .with_timeout(Duration::from_secs(1))
                .with_credential(credential.clone());
            async move { (*ordinal, admin.status().await.ok()) }
        }))
        .await;
        let statuses: BTreeMap<u32, MemberStatus> = answers
            .into_iter()
            .filter_map(|(ordinal, status)| Some((ordinal, status?)))
            .collect();
        if !statuses.is_empty() {
            record_sample(&mut state.lock(), statuses, Instant::now());
        }
        let elapsed = started.elapsed();
        if elapsed < interval {
            tokio::time::sleep(interval - elapsed).await;
        }
    }
}

/// Whether the hosts of `partition` that answered name, as their leader, a member that did not
/// answer this sample. A status request can be slow on a busy machine; the group still has its
/// leader then, and counting it leaderless would blame the rebalance for the test's own sampling.
/// (A leader that died is named until the followers' election timeout, so a death is counted from
/// then on, a little late.)
fn leader_did_not_answer(statuses: &BTreeMap<u32, MemberStatus>, partition: u32) -> bool {
    let mut named = statuses
        .values()
        .flat_map(|status| &status.partitions)
        .filter(|view| view.partition == partition)
        .map(|view| {
            view.leader
                .as_ref()
                .map(|leader| u32::from(leader.ordinal))
                .filter(|ordinal| !statuses.contains_key(ordinal))
        })
        .peekable();
    named.peek().is_some() && named.all(|leader| leader.is_some())
}

/// Folds what each member hosts into the window's hosting history.
fn record_hosting(state: &mut State, statuses: &BTreeMap<u32, MemberStatus>) {
    let partitions = statuses
        .values()
        .find_map(|status| status.cluster.map(|cluster| cluster.partitions))
        .unwrap_or(0);
    for (ordinal, status) in statuses {
        let hosted: BTreeSet<u32> = status
            .partitions
            .iter()
            .map(|partition| partition.partition)
            .collect();
        let newcomer = *ordinal >= state.baseline_members;
        state
            .report
            .hosting
            .record(*ordinal, partitions, &hosted, newcomer);
    }
}

/// Folds one sample into the window's statistics.
fn record_sample(state: &mut State, statuses: BTreeMap<u32, MemberStatus>, now: Instant) {
    let observed = observed_placement(statuses.values());
    let partitions = statuses
        .values()
        .find_map(|status| status.cluster.map(|cluster| cluster.partitions))
        .unwrap_or(0);
    for partition in 0..partitions {
        let view = observed.partitions.get(&partition);
        let led = view.is_some_and(|view| view.leader.is_some())
            || leader_did_not_answer(&statuses, partition);
        if led {
            if let Some(since) = state.leaderless_since.remove(&partition) {
                let stretch = now.duration_since(since);
                let longest = state
                    .report
                    .longest_leaderless
                    .entry(partition)
                    .or_default();
                *longest = (*longest).max(stretch);
            }
            let voters = view.map_or(0, |view| view.voters.len());
            let fewest = state.report.min_voters.entry(partition).or_insert(voters);
            *fewest = (*fewest).min(voters);
        } else {
            state.leaderless_since.entry(partition).or_insert(now);
        }
    }
    record_hosting(state, &statuses);
    state.report.samples += 1;
    state.report.last = statuses;
}
