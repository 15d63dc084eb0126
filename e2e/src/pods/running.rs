//! The kubelet's part for one pod, in both modes: its process runs (restarted when it exits, on
//! the pod's own loopback address, with its volume and secrets), and its status says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::{Client, ResourceExt};
use parking_lot::Mutex;
use serde_json::json;

use super::probe;
use super::process::{NodeProcess, ProcessOwner};
use super::terminate::{self, StopReason};
use super::{PodRunnerOptions, RunnerState, is_terminating, spec, terminate_in_background};

/// The data directory of a pod (its volume), under the runner's state directory.
pub(super) fn data_dir(state_dir: &Path, namespace: &str, pod: &str) -> PathBuf {
    state_dir.join("volumes").join(namespace).join(pod)
}

/// Keeps one pod's process running and its status current; returns whether it is ready.
pub(super) async fn run_pod(
    client: &Client,
    options: &PodRunnerOptions,
    state: &Arc<Mutex<RunnerState>>,
    statefulset: &StatefulSet,
    pod: &Pod,
) -> bool {
    let namespace = pod.namespace().unwrap_or_default();
    let key = (namespace.clone(), pod.name_any());
    let ip = address_of(state, options, statefulset, pod);
    if is_terminating(state, &key) {
        return false;
    }
    // A process started for another Pod object of this name (deleted and recreated meanwhile):
    // it stops first; the new pod's process starts once it has.
    let stale = state
        .lock()
        .processes
        .get(&key)
        .is_some_and(|process| process.owner().uid != pod.uid());
    if stale {
        terminate_in_background(state, key, None, StopReason::Orphaned, || async {});
        return false;
    }
    let (running, mut restarts) = {
        let mut guard = state.lock();
        match guard.processes.get_mut(&key) {
            Some(process) => (process.is_running(), process.restarts()),
            None => (false, 0),
        }
    };
    if !running {
        let data_dir = data_dir(&options.state_dir, &namespace, &pod.name_any());
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
        restarts = previous
            .as_ref()
            .map_or(0, |process| process.restarts() + 1);
        let owner = ProcessOwner {
            namespace: namespace.clone(),
            pod: pod.name_any(),
            uid: pod.uid(),
            stop_plan: terminate::stop_plan(pod, &ip),
        };
        match NodeProcess::start(
            &options.node_binary,
            &plan,
            &log,
            &data_dir,
            restarts,
            owner,
        ) {
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
    let timing = probe::probe_timing(pod);
    // HTTPS probes (spec.tls) are not verified, as by the kubelet.
    let https = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.containers.first())
        .and_then(|container| container.readiness_probe.as_ref())
        .and_then(|probe| probe.http_get.as_ref())
        .and_then(|get| get.scheme.as_deref())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("HTTPS"));
    let answered_ready = ringcache_admin::AdminClient::new(format!("{ip}:{admin_port}"))
        .with_timeout(timing.timeout)
        .with_tls(https.then_some(ringcache_admin::AdminTls::SecretBound))
        .ready()
        .await
        .unwrap_or(false);
    // Readiness as the kubelet keeps it (probe.rs): a short "not ready" does not flip it.
    let ready = state.lock().processes.get_mut(&key).is_some_and(|process| {
        let running = process.is_running();
        process
            .readiness
            .observe(answered_ready && running, Instant::now(), timing)
            && running
    });
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

/// Writes one file of a secret volume with the volume's mode (`0o440` and the like). The pod's
/// process runs as the runner's user, who owns the file, so the owner bits are what count here
/// (the kubelet makes such files root's with the pod's fsGroup as group). An earlier file is
/// replaced, not rewritten: a read-only mode would refuse the write.
fn write_secret_file(path: &Path, value: &[u8], mode: i32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    std::fs::write(path, value)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode((mode & 0o777) as u32))
}

/// Writes the pod's secret volumes to files (with the volume's modes); returns mount path →
/// directory.
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
        // The kubelet's defaults: mode 0644 unless the volume or the item says otherwise.
        let default_mode = source.default_mode.unwrap_or(0o644);
        let items: Vec<(String, String, i32)> = match &source.items {
            Some(items) => items
                .iter()
                .map(|item| {
                    (
                        item.key.clone(),
                        item.path.clone(),
                        item.mode.unwrap_or(default_mode),
                    )
                })
                .collect(),
            None => secret
                .data
                .iter()
                .flatten()
                .map(|(key, _)| (key.clone(), key.clone(), default_mode))
                .collect(),
        };
        for (key, path, mode) in items {
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
            write_secret_file(&directory.join(path), &value, mode)
                .map_err(|error| format!("secret {secret_name} key {key}: {error}"))?;
        }
        mounted.insert(mount.mount_path.clone(), directory);
    }
    Ok(mounted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn secret_files_get_their_mode_and_can_be_written_again() {
        let dir =
            std::env::temp_dir().join(format!("ringcache-secret-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("cluster-secret").join("secret");
        write_secret_file(&path, b"first", 0o440).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o440);
        // A pod started again gets the Secret's current value, read-only mode or not.
        write_secret_file(&path, b"second", 0o440).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
