//! The pod runner: plays the StatefulSet controller and the kubelet for the API stand-in (or any
//! API server the runner's client reaches), running every pod as a real `ringcache-node` process
//! on this machine.
//!
//! ```text
//!  every 500 ms, for each StatefulSet:
//!    create missing pods  <name>-0 … <name>-(replicas-1)       (Pod objects, owner = StatefulSet)
//!    scale-in: stop and delete the highest ordinal first, one per round
//!    each pod: process running on its own 127.x.y.z (restart it if it exited),
//!              status: podIP, phase Running, Ready from the node's /readyz
//!    StatefulSet status: replicas, readyReplicas, availableReplicas, observedGeneration
//!  pods whose object is gone (deleted, or collected with their StatefulSet): process stopped
//! ```
//!
//! Each ordinal keeps its data directory across pod restarts and deletions, like a PVC.
//!
//! Against a real control plane, whose kube-controller-manager runs the StatefulSet controller, the
//! runner plays only the kubelet ([`PodRunnerMode::Kubelet`], in `kubelet.rs`).

mod kubelet;
pub mod process;
pub mod spec;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;

use process::NodeProcess;

/// How often the runner reconciles.
pub const INTERVAL: Duration = Duration::from_millis(500);

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

#[derive(Default)]
struct RunnerState {
    /// Running processes by (namespace, pod name).
    processes: HashMap<(String, String), NodeProcess>,
    /// Stable address per (namespace, pod name).
    addresses: HashMap<(String, String), String>,
    /// Third octet per (namespace, StatefulSet).
    subnets: HashMap<(String, String), u8>,
}

/// A running pod runner; dropping it (or [`PodRunner::shutdown`]) stops every process.
pub struct PodRunner {
    task: tokio::task::JoinHandle<()>,
    state: Arc<Mutex<RunnerState>>,
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
        let task_state = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let round = match &options.mode {
                    PodRunnerMode::StatefulSetControllerAndKubelet => {
                        reconcile(&client, &options, &task_state).await
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
        Ok(PodRunner { task, state })
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

    /// Stops reconciling and stops every process (SIGTERM, then SIGKILL after a grace period).
    pub async fn shutdown(self) {
        self.task.abort();
        let processes: Vec<NodeProcess> = {
            let mut state = self.state.lock();
            state
                .processes
                .drain()
                .map(|(_, process)| process)
                .collect()
        };
        for process in processes {
            process.stop(Duration::from_secs(5)).await;
        }
    }
}

/// One round over every StatefulSet.
async fn reconcile(
    client: &Client,
    options: &PodRunnerOptions,
    state: &Arc<Mutex<RunnerState>>,
) -> Result<(), kube::Error> {
    let statefulsets: Api<StatefulSet> = Api::all(client.clone());
    let all_pods: Api<Pod> = Api::all(client.clone());
    let pods = all_pods.list(&ListParams::default()).await?.items;
    let mut wanted: std::collections::HashSet<(String, String)> = Default::default();
    for statefulset in statefulsets.list(&ListParams::default()).await? {
        let namespace = statefulset.namespace().unwrap_or_default();
        if statefulset.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let owned: Vec<&Pod> = pods
            .iter()
            .filter(|pod| {
                pod.namespace().as_deref() == Some(namespace.as_str())
                    && pod
                        .owner_references()
                        .iter()
                        .any(|owner| Some(&owner.uid) == statefulset.metadata.uid.as_ref())
            })
            .collect();
        let replicas = statefulset.spec.replicas.unwrap_or(1);
        let pods_api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        for ordinal in 0..replicas {
            let name = spec::pod_name(&statefulset, ordinal);
            if !owned.iter().any(|pod| pod.name_any() == name) {
                match spec::pod_object(&statefulset, ordinal) {
                    Ok(pod) => {
                        if let Err(error) = pods_api.create(&PostParams::default(), &pod).await {
                            tracing::warn!(pod = name, %error, "cannot create pod");
                        }
                    }
                    Err(error) => tracing::warn!(%error, "cannot build pod"),
                }
            }
        }
        // Scale-in: the highest ordinal first, one per round, as the StatefulSet controller does.
        let surplus = owned
            .iter()
            .filter_map(|pod| Some((spec::ordinal_of(&statefulset, pod)?, *pod)))
            .filter(|(ordinal, _)| *ordinal >= replicas)
            .max_by_key(|(ordinal, _)| *ordinal);
        if let Some((_, pod)) = surplus {
            let key = (namespace.clone(), pod.name_any());
            let process = state.lock().processes.remove(&key);
            if let Some(process) = process {
                process.stop(Duration::from_secs(30)).await;
            }
            let _ = pods_api
                .delete(&pod.name_any(), &DeleteParams::default())
                .await;
            // `whenScaled: Delete`: the StatefulSet controller deletes the removed ordinal's claims,
            // so a returning ordinal starts with an empty volume (and a new Raft identity).
            let delete_volume = statefulset
                .spec
                .persistent_volume_claim_retention_policy
                .as_ref()
                .and_then(|policy| policy.when_scaled.as_deref())
                == Some("Delete");
            if delete_volume {
                let volume = options
                    .state_dir
                    .join("volumes")
                    .join(&namespace)
                    .join(pod.name_any());
                if let Err(error) = std::fs::remove_dir_all(&volume)
                    && error.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(volume = %volume.display(), %error, "cannot delete a scaled-in volume");
                }
            }
        }
        let mut ready = 0;
        for pod in &owned {
            let ordinal = spec::ordinal_of(&statefulset, pod).unwrap_or(i32::MAX);
            if ordinal >= replicas || pod.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let key = (namespace.clone(), pod.name_any());
            wanted.insert(key.clone());
            if run_pod(client, options, state, &statefulset, pod).await {
                ready += 1;
            }
        }
        let current = owned.len().min(replicas as usize);
        let status = json!({
            "status": {
                "observedGeneration": statefulset.metadata.generation,
                "replicas": current,
                "readyReplicas": ready,
                "availableReplicas": ready,
                "currentReplicas": current,
                "updatedReplicas": current,
            }
        });
        let _ = Api::<StatefulSet>::namespaced(client.clone(), &namespace)
            .patch_status(
                &statefulset.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&status),
            )
            .await;
    }
    // Processes whose pod is gone: stop them.
    let orphans: Vec<NodeProcess> = {
        let mut state = state.lock();
        let gone: Vec<(String, String)> = state
            .processes
            .keys()
            .filter(|key| !wanted.contains(*key))
            .cloned()
            .collect();
        gone.into_iter()
            .filter_map(|key| state.processes.remove(&key))
            .collect()
    };
    for process in orphans {
        process.stop(Duration::from_secs(10)).await;
    }
    Ok(())
}

/// Keeps one pod's process running and its status current; returns whether it is ready.
async fn run_pod(
    client: &Client,
    options: &PodRunnerOptions,
    state: &Arc<Mutex<RunnerState>>,
    statefulset: &StatefulSet,
    pod: &Pod,
) -> bool {
    let namespace = pod.namespace().unwrap_or_default();
    let key = (namespace.clone(), pod.name_any());
    let ip = address_of(state, options, statefulset, pod);
    let (running, restarts) = {
        let mut guard = state.lock();
        match guard.processes.get_mut(&key) {
            Some(process) => (process.is_running(), process.restarts()),
            None => (false, 0),
        }
    };
    if !running {
        let data_dir = options
            .state_dir
            .join("volumes")
            .join(&namespace)
            .join(pod.name_any());
        let secrets = match mount_secrets(client, options, pod).await {
            Ok(secrets) => secrets,
            Err(error) => {
                tracing::warn!(pod = %key.1, %error, "cannot mount secrets");
                return false;
            }
        };
        let plan = match spec::process_plan(pod, &ip, &data_dir, &secrets) {
            Ok(plan) => plan,
            Err(error) => {
                tracing::warn!(%error, "cannot run pod");
                return false;
            }
        };
        let log =
            options
                .state_dir
                .join("logs")
                .join(format!("{}_{}.log", namespace, pod.name_any()));
        let previous = state.lock().processes.remove(&key);
        let restarts = previous
            .as_ref()
            .map_or(0, |process| process.restarts() + 1);
        match NodeProcess::start(&options.node_binary, &plan, &log, &data_dir, restarts) {
            Ok(process) => {
                tracing::info!(pod = %key.1, %ip, restarts, "started pod process");
                state.lock().processes.insert(key.clone(), process);
            }
            Err(error) => {
                tracing::warn!(pod = %key.1, %error, "cannot start pod process");
                return false;
            }
        }
    }
    let admin_port = admin_port(pod);
    let ready = ringcache_admin::AdminClient::new(format!("{ip}:{admin_port}"))
        .with_timeout(Duration::from_secs(2))
        .ready()
        .await
        .unwrap_or(false);
    let current_ready = pod
        .status
        .as_ref()
        .and_then(|status| status.conditions.as_ref())
        .and_then(|conditions| {
            conditions
                .iter()
                .find(|condition| condition.type_ == "Ready")
        })
        .map(|condition| condition.status == "True");
    let current_ip = pod.status.as_ref().and_then(|status| status.pod_ip.clone());
    if current_ready != Some(ready) || current_ip.as_deref() != Some(ip.as_str()) || !running {
        let now = k8s_openapi::jiff::Timestamp::now().to_string();
        let condition = |kind: &str| json!({"type": kind, "status": if ready { "True" } else { "False" }, "lastTransitionTime": now});
        let status = json!({
            "status": {
                "phase": "Running",
                "podIP": ip,
                "podIPs": [{"ip": ip}],
                "hostIP": "127.0.0.1",
                "conditions": [condition("Ready"), condition("ContainersReady"),
                    {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}],
                "containerStatuses": [{
                    "name": pod.spec.as_ref().and_then(|spec| spec.containers.first()).map(|c| c.name.clone()).unwrap_or_default(),
                    "ready": ready, "restartCount": restarts, "image": "ringcache-node (local process)",
                    "imageID": "", "started": true, "state": {"running": {"startedAt": now}}
                }]
            }
        });
        let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);
        let _ = pods
            .patch_status(
                &pod.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&status),
            )
            .await;
    }
    ready
}

fn admin_port(pod: &Pod) -> u16 {
    pod.spec
        .as_ref()
        .and_then(|spec| spec.containers.first())
        .and_then(|container| container.ports.as_ref())
        .and_then(|ports| {
            ports
                .iter()
                .find(|port| port.name.as_deref() == Some("admin"))
        })
        .and_then(|port| u16::try_from(port.container_port).ok())
        .unwrap_or(ringcache_admin::DEFAULT_ADMIN_PORT)
}

/// A stable address per pod: 127.<second>.<one per StatefulSet>.<ordinal + 1>.
fn address_of(
    state: &Arc<Mutex<RunnerState>>,
    options: &PodRunnerOptions,
    statefulset: &StatefulSet,
    pod: &Pod,
) -> String {
    let namespace = pod.namespace().unwrap_or_default();
    let key = (namespace.clone(), pod.name_any());
    let mut state = state.lock();
    if let Some(address) = state.addresses.get(&key) {
        return address.clone();
    }
    let subnet_key = (namespace, statefulset.name_any());
    let next = state.subnets.len() as u8 + 1;
    let subnet = *state.subnets.entry(subnet_key).or_insert(next);
    let ordinal = spec::ordinal_of(statefulset, pod).unwrap_or(0);
    let address = format!(
        "127.{}.{subnet}.{}",
        options.second_octet,
        (ordinal + 1).clamp(1, 254)
    );
    state.addresses.insert(key, address.clone());
    address
}

/// Writes the pod's secret volumes to files; returns mount path → directory.
async fn mount_secrets(
    client: &Client,
    options: &PodRunnerOptions,
    pod: &Pod,
) -> Result<spec::MountedSecrets, String> {
    let namespace = pod.namespace().unwrap_or_default();
    let Some(pod_spec) = &pod.spec else {
        return Ok(BTreeMap::new());
    };
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let mut mounted = BTreeMap::new();
    let mounts = pod_spec
        .containers
        .first()
        .and_then(|container| container.volume_mounts.clone())
        .unwrap_or_default();
    for volume in pod_spec.volumes.iter().flatten() {
        let Some(source) = &volume.secret else {
            continue;
        };
        let Some(mount) = mounts.iter().find(|mount| mount.name == volume.name) else {
            continue;
        };
        let secret_name = source.secret_name.clone().unwrap_or_default();
        let secret = secrets
            .get(&secret_name)
            .await
            .map_err(|error| format!("secret {namespace}/{secret_name}: {error}"))?;
        let directory = options
            .state_dir
            .join("secrets")
            .join(&namespace)
            .join(pod.name_any())
            .join(&volume.name);
        std::fs::create_dir_all(&directory).map_err(|error| error.to_string())?;
        let items: Vec<(String, String)> = match &source.items {
            Some(items) => items
                .iter()
                .map(|item| (item.key.clone(), item.path.clone()))
                .collect(),
            None => secret
                .data
                .iter()
                .flatten()
                .map(|(key, _)| (key.clone(), key.clone()))
                .collect(),
        };
        for (key, path) in items {
            let value = secret
                .data
                .as_ref()
                .and_then(|data| data.get(&key))
                .map(|value| value.0.clone())
                .or_else(|| {
                    secret
                        .string_data
                        .as_ref()
                        .and_then(|data| data.get(&key))
                        .map(|value| value.clone().into_bytes())
                })
                .ok_or_else(|| format!("secret {secret_name} has no key {key}"))?;
            std::fs::write(directory.join(path), value).map_err(|error| error.to_string())?;
        }
        mounted.insert(mount.mount_path.clone(), directory);
    }
    Ok(mounted)
}
