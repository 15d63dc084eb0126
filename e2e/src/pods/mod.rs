//! The pod runner: plays the StatefulSet controller and the kubelet for the API stand-in (or any
//! API server the runner's client reaches), running every pod as a real `ringcache-node` process
//! on this machine.
//!
//! ```text
//!  every 500 ms, for each StatefulSet (controller.rs):
//!    create missing pods  <name>-0 … <name>-(replicas-1)  (owner = StatefulSet, bound to the
//!                         runner's node, labelled with their template revision)
//!    scale-in: delete the highest ordinal first, one at a time (its volume goes once it is gone)
//!    rolling update of a changed template (rollout.rs): delete the highest old-revision pod, wait
//!                         until its replacement is Ready, then the next
//!    StatefulSet status: replicas, readyReplicas, availableReplicas, currentReplicas,
//!                        updatedReplicas, currentRevision, updateRevision, observedGeneration
//!  the kubelet, for every pod bound to the runner's node (kubelet.rs, running.rs):
//!    process running on its own 127.x.y.z (restarted if it exited), status: podIP, phase
//!    Running, Ready from the node's /readyz
//!    a pod being deleted: preStop hook, SIGTERM, SIGKILL after the grace period (terminate.rs),
//!    in the background; then the Pod object is deleted for good
//!  processes whose pod is gone: stopped the same way
//! ```
//!
//! Each ordinal keeps its data directory across pod restarts and replacements, like a PVC.
//!
//! Against a real control plane, whose kube-controller-manager runs the StatefulSet controller, the
//! runner plays only the kubelet ([`PodRunnerMode::Kubelet`]).

mod controller;
mod kubelet;
pub mod probe;
pub mod process;
pub mod rollout;
mod running;
pub mod spec;
pub mod terminate;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::PodTemplateSpec;
use kube::Client;
use parking_lot::Mutex;

use process::NodeProcess;
use terminate::{StopPlan, StopReason, Termination};

/// How often the runner reconciles.
pub const INTERVAL: Duration = Duration::from_millis(500);
/// The node the stand-in's pods are bound to (with a real control plane, the runner's node name).
pub const STANDIN_NODE: &str = "ringcache-pod-runner";

/// Where pods run and with which binary.
#[derive(Debug, Clone)]
pub struct PodRunnerOptions {
    /// The `ringcache-node` binary run for every pod, whatever the image says.
    pub node_binary: PathBuf,
    /// Data directories, logs and secret files live under it.
    pub state_dir: PathBuf,
    /// Pods get addresses 127.`second_octet`.x.y.
    pub second_octet: u8,
    /// Which controllers the runner plays.
    pub mode: PodRunnerMode,
}

/// What the runner plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodRunnerMode {
    /// StatefulSet controller and kubelet (the stand-in has no controllers).
    StatefulSetControllerAndKubelet,
    /// Only the kubelet of a node of this name (and the scheduler's binding of pending pods to it):
    /// a real kube-controller-manager creates and deletes the pods.
    Kubelet { node_name: String },
}

/// Why the runner stopped.
#[derive(Debug, thiserror::Error)]
pub enum PodRunnerError {
    #[error("cannot create {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// (namespace, pod name).
type PodKey = (String, String);

#[derive(Default)]
struct RunnerState {
    /// Running processes by pod.
    processes: HashMap<PodKey, NodeProcess>,
    /// Pods whose process is being stopped in the background: a new process for the same pod name
    /// (same address, same data directory) starts only once the old one ended.
    terminating: HashMap<PodKey, tokio::task::JoinHandle<()>>,
    /// Every process stop, in order.
    terminations: Vec<Termination>,
    /// Stable address per pod.
    addresses: HashMap<PodKey, String>,
    /// Third octet per (namespace, StatefulSet).
    subnets: HashMap<(String, String), u8>,
    /// Pod templates by (namespace, revision name) seen by the controller, so that pods below a
    /// rolling update's partition are recreated from the current revision.
    revisions: HashMap<(String, String), PodTemplateSpec>,
    /// Volumes of scaled-in ordinals to delete once their pod is gone (`whenScaled: Delete`).
    volumes_to_delete: HashMap<PodKey, PathBuf>,
}

/// A running pod runner; dropping it (or [`PodRunner::shutdown`]) stops every process.
pub struct PodRunner {
    task: tokio::task::JoinHandle<()>,
    state: Arc<Mutex<RunnerState>>,
    state_dir: PathBuf,
}

impl PodRunner {
    /// Starts reconciling with `client` (it needs the rights of a StatefulSet controller and a
    /// kubelet: pods, pods/status, statefulsets/status, secrets).
    pub fn start(client: Client, options: PodRunnerOptions) -> Result<Self, PodRunnerError> {
        std::fs::create_dir_all(&options.state_dir).map_err(|source| PodRunnerError::StateDir {
            path: options.state_dir.clone(),
            source,
        })?;
        let state = Arc::new(Mutex::new(RunnerState::default()));
        let state_dir = options.state_dir.clone();
        let task_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let round = match &options.mode {
                    PodRunnerMode::StatefulSetControllerAndKubelet => {
                        controller::reconcile(&client, &options, &task_state).await
                    }
                    PodRunnerMode::Kubelet { node_name } => {
                        kubelet::reconcile(&client, &options, node_name, &task_state).await
                    }
                };
                if let Err(error) = round {
                    tracing::warn!(%error, "pod runner round failed");
                }
                tokio::time::sleep(INTERVAL).await;
            }
        });
        Ok(PodRunner {
            task,
            state,
            state_dir,
        })
    }

    /// The address of a running pod, if it runs.
    pub fn pod_address(&self, namespace: &str, pod: &str) -> Option<String> {
        let key = (namespace.to_owned(), pod.to_owned());
        let state = self.state.lock();
        state
            .processes
            .contains_key(&key)
            .then(|| state.addresses[&key].clone())
    }

    /// The process id of a running pod (tests kill it to simulate a crash).
    pub fn pod_pid(&self, namespace: &str, pod: &str) -> Option<u32> {
        let state = self.state.lock();
        state
            .processes
            .get(&(namespace.to_owned(), pod.to_owned()))
            .and_then(NodeProcess::pid)
    }

    /// The data directory of a pod (its volume: kept across restarts and replacements).
    pub fn pod_data_dir(&self, namespace: &str, pod: &str) -> PathBuf {
        running::data_dir(&self.state_dir, namespace, pod)
    }

    /// Every pod process stopped so far (rolling updates, scale-in, deletions), oldest first.
    pub fn terminations(&self) -> Vec<Termination> {
        self.state.lock().terminations.clone()
    }

    /// Stops reconciling and stops every process (SIGTERM, then SIGKILL after a grace period).
    pub async fn shutdown(self) {
        self.task.abort();
        let (processes, stopping): (Vec<NodeProcess>, Vec<_>) = {
            let mut state = self.state.lock();
            (
                state
                    .processes
                    .drain()
                    .map(|(_, process)| process)
                    .collect(),
                state.terminating.drain().map(|(_, task)| task).collect(),
            )
        };
        // Background stops end now (their processes are killed when the tasks drop them).
        for task in stopping {
            task.abort();
        }
        for process in processes {
            process.stop(Duration::from_secs(5)).await;
        }
    }
}

/// Whether `key`'s process is being stopped.
fn is_terminating(state: &Arc<Mutex<RunnerState>>, key: &PodKey) -> bool {
    state.lock().terminating.contains_key(key)
}

/// Stops `key`'s process (if any) in the background, with `plan` (default: the plan it was started
/// with), then runs `then` (deleting the Pod object, say). Until both are done the pod counts as
/// terminating and gets no new process. Does nothing if it is already being stopped.
fn terminate_in_background<F, Fut>(
    state: &Arc<Mutex<RunnerState>>,
    key: PodKey,
    plan: Option<StopPlan>,
    reason: StopReason,
    then: F,
) where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut guard = state.lock();
    if guard.terminating.contains_key(&key) {
        return;
    }
    let process = guard.processes.remove(&key);
    let task_state = state.clone();
    let task_key = key.clone();
    let task = tokio::spawn(async move {
        if let Some(process) = process {
            let record = match plan {
                Some(plan) => terminate::stop_with(process, &plan, reason).await,
                None => terminate::stop(process, reason).await,
            };
            task_state.lock().terminations.push(record);
        }
        then().await;
        task_state.lock().terminating.remove(&task_key);
    });
    // The task cannot remove its entry before this insert: it needs the lock held here.
    guard.terminating.insert(key, task);
}
