//! The nemesis runner: a real cluster under a steady recorded load while a seeded schedule of
//! faults hits it, then every operation checked.
//!
//! ```text
//!  ProcessCluster (real ringcache-node processes, a fault proxy in front of each)
//!        ▲ SET/GET/DEL from plain and cluster-aware clients (crate::workload), all recorded
//!        │
//!  Schedule(seed) ─▶ fault ─ lasts ─▶ undo ─ quiet ─▶ next fault …   until the duration is up
//!                   (links cut/slowed/reset, SIGSTOP, kill -9, torn log tail, wall clock off)
//!        │
//!  heal everything ─▶ the load must make progress again (liveness)
//!                 ─▶ final read of every key ─▶ history + final reads linearizable (safety)
//! ```

pub mod cluster;
pub mod nemesis;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ringcache_admin::ClusterSettings;

use crate::final_reads::FinalReads;
use crate::workload::{Workload, WorkloadCounts, WorkloadOptions};
pub use cluster::ProcessCluster;
use nemesis::{Fault, Random, Schedule, Target};

/// What to run.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    pub seed: u64,
    /// How long faults are injected (the checks come after).
    pub duration: Duration,
    pub members: usize,
    pub partitions: u32,
    pub node_binary: PathBuf,
    /// Data directories and member logs (emptied first).
    pub work_dir: PathBuf,
    /// Where the history goes when the check fails (JSON lines, see `ringcache-check`).
    pub history_file: Option<PathBuf>,
}

/// Why a run could not be carried out (a failed check is a [`ChaosReport`], not an error).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    #[error("no ringcache-node binary at {0}: build it first (cargo build -p ringcache-node)")]
    NodeBinary(PathBuf),
    #[error("cannot prepare {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no free loopback address block 127.x.y.0 with ports 6379, 16379 and 9090 free")]
    NoAddresses,
    #[error("cannot start the fault proxy on {address}: {source}")]
    Proxy {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start member {ordinal}: {source}")]
    Spawn {
        ordinal: usize,
        source: std::io::Error,
    },
    #[error("member {ordinal} exited while starting (see its log)")]
    Exited { ordinal: usize },
    #[error("member {ordinal} was not ready in time (see its log)")]
    NotReady { ordinal: usize },
    #[error("the cluster did not form: {0}")]
    Formation(String),
}

/// What a run saw.
#[derive(Debug, Clone)]
pub struct ChaosReport {
    pub seed: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    pub counts: WorkloadCounts,
    /// Operations in the checked history.
    pub operations: usize,
    pub elapsed: Duration,
    /// `Ok` when the load made progress after the heal and everything checked out.
    pub verdict: Result<(), String>,
}

impl ChaosReport {
    /// One line per figure, for logs and `docs/reliability.md`.
    pub fn summary(&self) -> String {
        let faults: Vec<String> = self
            .faults
            .iter()
            .map(|(kind, count)| format!("{kind} {count}"))
            .collect();
        format!(
            "seed {seed}: {verdict} after {elapsed:.0?}\n\
             faults: {faults} ({total} in all)\n\
             operations: {operations} checked; {writes} SETs, {deletes} DELs and {increments} \
             INCRBYs acknowledged, {reads} reads, {unknown} of unknown outcome, {not_applied} \
             refused (not applied)",
            seed = self.seed,
            verdict = match &self.verdict {
                Ok(()) => "linearizable, and available again after the heal".to_owned(),
                Err(error) => format!("FAILED: {error}"),
            },
            elapsed = self.elapsed,
            faults = faults.join(", "),
            total = self.faults.values().sum::<u64>(),
            operations = self.operations,
            writes = self.counts.writes_ok,
            deletes = self.counts.deletes_ok,
            increments = self.counts.increments_ok,
            reads = self.counts.reads_ok,
            unknown = self.counts.unknown,
            not_applied = self.counts.not_applied,
        )
    }
}

/// How long the cluster gets to serve again once every fault is undone.
const RECOVERY: Duration = Duration::from_secs(60);

/// Runs the whole thing; `log` gets one line per fault.
pub async fn run(options: &ChaosOptions, log: impl Fn(&str)) -> Result<ChaosReport, ChaosError> {
    let started = Instant::now();
    let settings = ClusterSettings {
        partitions: options.partitions,
        replication_factor: 3,
    };
    let mut cluster = ProcessCluster::start(
        &options.node_binary,
        &options.work_dir,
        options.members,
        settings,
    )
    .await?;
    let endpoints: Vec<String> = (0..cluster.len())
        .map(|ordinal| cluster.redis_address(ordinal))
        .collect();
    let mut workload_options = WorkloadOptions::new(endpoints, "chaos");
    workload_options.plain_clients = 3;
    workload_options.cluster_clients = 3;
    workload_options.keys = 40;
    workload_options.counters = 4;
    let workload = Workload::start(workload_options);
    let mut faults: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut verdict = Ok(());
    if !workload.wait_for_writes(20, Duration::from_secs(30)).await {
        verdict = Err("the load made no progress before any fault".to_owned());
    }
    let mut random = Random::new(options.seed ^ 0x5EED);
    let schedule = Schedule::new(options.seed, options.members, options.partitions);
    let injecting = Instant::now();
    for step in schedule {
        if verdict.is_err() || injecting.elapsed() >= options.duration {
            break;
        }
        let at = started.elapsed().as_secs_f64();
        let described = apply(&mut cluster, &step.fault, &mut random).await;
        log(&format!("{at:7.1}s  {described} for {:.1?}", step.lasts));
        *faults.entry(step.fault.kind()).or_default() += 1;
        tokio::time::sleep(step.lasts).await;
        if let Err(error) = undo(&mut cluster, &step.fault).await {
            verdict = Err(format!("undoing {}: {error}", step.fault));
            break;
        }
        tokio::time::sleep(step.then_quiet).await;
    }
    // Everything healed: every member running and ready, and the load going again.
    cluster.network.heal();
    for ordinal in 0..cluster.len() {
        cluster.resume(ordinal);
        if !cluster.is_running(ordinal)
            && let Err(error) = cluster.restart(ordinal).await
        {
            verdict = verdict.and(Err(format!("restarting member {ordinal}: {error}")));
        }
    }
    for ordinal in 0..cluster.len() {
        if let Err(error) = cluster.wait_ready(ordinal, RECOVERY).await {
            verdict = verdict.and(Err(format!("after the heal: {error}")));
        }
    }
    if !workload.wait_for_writes(50, RECOVERY).await {
        verdict = verdict.and(Err(format!(
            "after the heal, the load did not get 50 more writes acknowledged within {RECOVERY:?}"
        )));
    }
    let report = workload.stop().await;
    let finals = FinalReads::read(&cluster.redis_address(0), &report.keys, RECOVERY).await;
    let checked = finals.and_then(|finals| report.verify(&finals));
    verdict = verdict.and(checked);
    if verdict.is_err()
        && let Some(path) = &options.history_file
    {
        match crate::linearizability::write_history(path, &report.history) {
            Ok(()) => log(&format!(
                "history written to {} (check it again with ringcache-check)",
                path.display()
            )),
            Err(error) => log(&format!("could not write the history: {error}")),
        }
    }
    Ok(ChaosReport {
        seed: options.seed,
        faults,
        counts: report.counts,
        operations: report.history.len(),
        elapsed: started.elapsed(),
        verdict,
    })
}

/// The member a target names now (a partition's leader as the members report it, else a
/// member picked from the partition number).
async fn resolve(cluster: &ProcessCluster, target: Target) -> (usize, String) {
    match target {
        Target::Member(ordinal) => (ordinal, format!("member {ordinal}")),
        Target::LeaderOf(partition) => match cluster.leaders().await.get(&partition) {
            Some(&ordinal) => (ordinal, format!("member {ordinal} (leader of {partition})")),
            None => {
                let ordinal = partition as usize % cluster.len();
                (
                    ordinal,
                    format!("member {ordinal} (partition {partition} has no leader)"),
                )
            }
        },
    }
}

/// Starts a fault; returns what it did, for the log.
async fn apply(cluster: &mut ProcessCluster, fault: &Fault, random: &mut Random) -> String {
    let members = cluster.len();
    let everyone = 0..members;
    match fault {
        Fault::Isolate(target) => {
            let (member, who) = resolve(cluster, *target).await;
            cluster.network.isolate(member, everyone);
            format!("isolate {who}")
        }
        Fault::MuteOutgoing(target) => {
            let (member, who) = resolve(cluster, *target).await;
            for other in everyone.filter(|&other| other != member) {
                cluster.network.cut_one_way(member, other);
            }
            format!("cut the outgoing links of {who}")
        }
        Fault::Partition { order, minority } => {
            let (small, large) = order.split_at(*minority);
            cluster.network.partition(&[
                small.iter().copied().collect(),
                large.iter().copied().collect(),
            ]);
            format!("partition {small:?} | {large:?}")
        }
        Fault::Bridge { order } => {
            let half = order.len() / 2;
            let (left, rest) = order.split_at(half);
            let (bridge, right) = rest.split_at(1);
            cluster.network.partition(&[
                left.iter().copied().collect(),
                right.iter().copied().collect(),
            ]);
            format!("bridge {left:?} | {bridge:?} | {right:?}")
        }
        Fault::Slow(target, delay) => {
            let (member, who) = resolve(cluster, *target).await;
            for other in everyone.filter(|&other| other != member) {
                cluster.network.delay(member, other, *delay);
                cluster.network.delay(other, member, *delay);
            }
            format!("delay every link of {who} by {delay:?}")
        }
        Fault::Pause(target) => {
            let (member, who) = resolve(cluster, *target).await;
            cluster.pause(member);
            format!("pause (SIGSTOP) {who}")
        }
        Fault::Kill(target) => {
            let (member, who) = resolve(cluster, *target).await;
            cluster.kill(member);
            format!("kill -9 {who}")
        }
        Fault::KillAndTearLog(target) => {
            let (member, who) = resolve(cluster, *target).await;
            cluster.kill(member);
            match cluster.tear_log_tail(member, random.next_u64()) {
                Some(partition) => {
                    format!("kill -9 {who}, tear the tail of its partition {partition} log")
                }
                None => format!("kill -9 {who} (no partition log to tear)"),
            }
        }
        Fault::ResetConnections(target) => {
            let (member, who) = resolve(cluster, *target).await;
            cluster.network.reset_member(member, everyone);
            format!("reset the connections of {who}")
        }
        Fault::SkewClock(target, offset) => {
            let (member, who) = resolve(cluster, *target).await;
            match cluster.restart_with_clock(member, *offset).await {
                Ok(()) => format!("restart {who} with its clock {offset} ms off"),
                Err(error) => format!("restart {who} with its clock {offset} ms off: {error}"),
            }
        }
    }
}

/// Ends a fault: links healed, paused members resumed, killed members restarted.
async fn undo(cluster: &mut ProcessCluster, fault: &Fault) -> Result<(), ChaosError> {
    cluster.network.heal();
    for ordinal in 0..cluster.len() {
        if cluster.clock_offset(ordinal) != 0 {
            cluster.restart_with_clock(ordinal, 0).await?;
        }
    }
    match fault {
        Fault::Pause(_) | Fault::Kill(_) | Fault::KillAndTearLog(_) => {
            for ordinal in 0..cluster.len() {
                cluster.resume(ordinal);
                if !cluster.is_running(ordinal) {
                    cluster.restart(ordinal).await?;
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}
