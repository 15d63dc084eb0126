//! Where the rebalance scenarios run and how they drive and read a CacheCluster: a local cluster
//! (API stand-in, pod runner, the real operator binary) or, with `RINGCACHE_E2E_REAL=1` and
//! `KUBECONFIG`, a real cluster whose operator is already installed and whose pod IPs are reachable
//! from here. Process-level faults (SIGSTOP of a member) exist only locally; killing the operator
//! becomes deleting its pods (`RINGCACHE_E2E_OPERATOR_NAMESPACE`, default `ringcache-system`); the
//! operator's metrics are scraped from `RINGCACHE_E2E_OPERATOR_METRICS` (a URL) when set.

pub mod cluster;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use ringcache_e2e::local::{
    ControlPlane, LocalCluster, LocalOptions, cache_cluster_resource, sibling_binary,
};

pub use cluster::*;

/// Partitions of every test cluster: few, so a scale step moves ~10-20 replicas.
pub const PARTITIONS: u32 = 16;
pub const REPLICATION_FACTOR: u32 = 3;

/// One cluster at a time: a few members with their Raft groups, the load and the checker already
/// fill two cores; two clusters at once would starve heartbeats into needless elections.
pub static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub fn real_cluster() -> bool {
    std::env::var("RINGCACHE_E2E_REAL").as_deref() == Ok("1")
}

/// The CacheCluster every scenario uses, with `replicas` members.
pub fn manifest(name: &str, replicas: u32) -> String {
    manifest_with(name, replicas, "")
}

/// [`manifest`] with more `spec` fields (YAML lines indented by two spaces, each ending in `\n`).
pub fn manifest_with(name: &str, replicas: u32, extra_spec: &str) -> String {
    format!(
        "apiVersion: cache.ringcache.dev/v1alpha1
kind: CacheCluster
metadata:
  name: {name}
spec:
  replicas: {replicas}
  partitions: {PARTITIONS}
  replicationFactor: {REPLICATION_FACTOR}
  rebalance:
    maxConcurrentMoves: 4
    progressDeadlineSeconds: 30
{extra_spec}"
    )
}

enum Kind {
    Local(Box<LocalCluster>),
    Real,
}

/// A running CacheCluster to test against.
pub struct Env {
    kind: Kind,
    client: Client,
    namespace: String,
    name: String,
}

impl Env {
    /// Creates CacheCluster `name` with `replicas` members and waits until it is `Available`.
    /// `subnet` picks the local pods' addresses (127.`subnet`.x.y).
    pub async fn start(subnet: u8, name: &str, replicas: u32) -> Self {
        Self::start_with(subnet, name, &manifest(name, replicas)).await
    }

    /// [`Env::start`] with the CacheCluster manifest `text` (named `name`).
    pub async fn start_with(subnet: u8, name: &str, text: &str) -> Self {
        let text = text.to_owned();
        if !real_cluster() {
            let state_dir = std::env::temp_dir().join(format!(
                "ringcache-e2e-rebalance-{}-{subnet}",
                std::process::id()
            ));
            let _ = std::fs::remove_dir_all(&state_dir);
            std::fs::create_dir_all(&state_dir).unwrap();
            let manifest_path = state_dir.join("cachecluster.yaml");
            std::fs::write(&manifest_path, &text).unwrap();
            let cluster = LocalCluster::start(LocalOptions {
                manifest: manifest_path,
                state_dir,
                node_binary: sibling_binary("ringcache-node", "RINGCACHE_NODE_BIN"),
                operator_binary: sibling_binary("ringcache-operator", "RINGCACHE_OPERATOR_BIN"),
                second_octet: subnet,
                timeout: Duration::from_secs(180),
                operator_rbac: None,
                control_plane: ControlPlane::from_env(),
            })
            .await
            .expect("local cluster starts (cargo build -p ringcache-node -p ringcache-operator)");
            cluster
                .wait_available(|progress| eprintln!("e2e {name}: {progress}"))
                .await
                .expect("the CacheCluster becomes Available");
            return Env {
                client: cluster.client(),
                namespace: cluster.namespace().to_owned(),
                name: name.to_owned(),
                kind: Kind::Local(Box::new(cluster)),
            };
        }
        let client = Client::try_default()
            .await
            .expect("KUBECONFIG reaches a cluster");
        let namespace =
            std::env::var("RINGCACHE_E2E_NAMESPACE").unwrap_or_else(|_| "default".to_owned());
        let object: DynamicObject = serde_yaml::from_str(&text).unwrap();
        let env = Env {
            kind: Kind::Real,
            client,
            namespace,
            name: name.to_owned(),
        };
        env.api()
            .patch(
                name,
                &PatchParams::apply("ringcache-e2e").force(),
                &Patch::Apply(&object),
            )
            .await
            .unwrap();
        eventually(
            "the CacheCluster is Available",
            Duration::from_secs(600),
            || async {
                env.status()
                    .await
                    .condition("Available")
                    .is_some_and(|c| c.status == "True")
            },
        )
        .await;
        env
    }

    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The local cluster (pod runner, operator process), when the test runs one.
    #[allow(dead_code)] // used by the self-repair and rolling-update tests, not by rebalance.rs
    pub fn local(&self) -> Option<&LocalCluster> {
        match &self.kind {
            Kind::Local(cluster) => Some(cluster),
            Kind::Real => None,
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn api(&self) -> Api<DynamicObject> {
        Api::namespaced_with(
            self.client.clone(),
            &self.namespace,
            &cache_cluster_resource(),
        )
    }

    /// `host:port` of a member's Redis port (its pod IP).
    pub async fn endpoint(&self, ordinal: u32) -> String {
        self.try_endpoint(ordinal)
            .await
            .unwrap_or_else(|| panic!("member {ordinal}'s pod has no IP"))
    }

    /// [`Env::endpoint`], or `None` while the pod does not exist or has no IP yet.
    pub async fn try_endpoint(&self, ordinal: u32) -> Option<String> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let pod = pods.get(&format!("{}-{ordinal}", self.name)).await.ok()?;
        let ip = pod.status?.pod_ip?;
        Some(format!("{ip}:6379"))
    }

    /// The Redis endpoints of members 0..3, which exist at every size the tests use.
    pub async fn stable_endpoints(&self) -> Vec<String> {
        let mut endpoints = Vec::new();
        for ordinal in 0..3 {
            endpoints.push(self.endpoint(ordinal).await);
        }
        endpoints
    }

    /// The operator crashes (SIGKILL, or its pods are force-deleted) and comes back.
    pub async fn crash_operator(&mut self) {
        match &mut self.kind {
            Kind::Local(cluster) => {
                cluster.kill_operator().await;
                cluster.start_operator().expect("the operator restarts");
            }
            Kind::Real => {
                let namespace = std::env::var("RINGCACHE_E2E_OPERATOR_NAMESPACE")
                    .unwrap_or_else(|_| "ringcache-system".to_owned());
                let pods: Api<Pod> = Api::namespaced(self.client.clone(), &namespace);
                pods.delete_collection(
                    &DeleteParams::default().grace_period(0),
                    &ListParams::default().labels("app.kubernetes.io/name=ringcache-operator"),
                )
                .await
                .expect("delete the operator's pods");
            }
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to member `ordinal`'s process; `false` on a real cluster,
    /// where the test has no processes to signal.
    pub fn signal_member(&self, ordinal: u32, signal: &str) -> bool {
        let Kind::Local(cluster) = &self.kind else {
            return false;
        };
        let pid = cluster
            .runner()
            .pod_pid(&self.namespace, &format!("{}-{ordinal}", self.name))
            .expect("the member's process runs");
        let status = std::process::Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {pid}");
        true
    }

    /// Where the operator's `/metrics` is, if the test can reach it.
    pub fn operator_metrics_url(&self) -> Option<String> {
        match &self.kind {
            Kind::Local(cluster) => cluster.operator_metrics_url(),
            Kind::Real => std::env::var("RINGCACHE_E2E_OPERATOR_METRICS").ok(),
        }
    }

    /// The operator's log (local only), for failure messages.
    pub fn operator_log_tail(&self) -> String {
        let Kind::Local(cluster) = &self.kind else {
            return String::new();
        };
        let path = cluster.kubeconfig_path().with_file_name("operator.log");
        let log = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Deletes the CacheCluster (real cluster) or stops everything (local).
    pub async fn shutdown(self) {
        match self.kind {
            Kind::Local(cluster) => cluster.shutdown().await,
            Kind::Real => {
                let _ = self
                    .api()
                    .delete(&self.name, &DeleteParams::default())
                    .await;
            }
        }
    }
}

/// Polls `check` every 200 ms until it is true; panics after `timeout`.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `ringcache-operator plan --output json`: what the preview says a scale step moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlanPreview {
    pub replicas_moved: usize,
    pub ideal_replicas_moved: f64,
}

pub fn plan_preview(from: u32, to: u32) -> PlanPreview {
    let operator = sibling_binary("ringcache-operator", "RINGCACHE_OPERATOR_BIN");
    let output = std::process::Command::new(&operator)
        .args(["plan", "--from", &from.to_string(), "--to", &to.to_string()])
        .args(["--partitions", &PARTITIONS.to_string()])
        .args(["--replication-factor", &REPLICATION_FACTOR.to_string()])
        .args(["--output", "json"])
        .output()
        .expect("ringcache-operator plan runs");
    assert!(
        output.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("plan JSON");
    PlanPreview {
        replicas_moved: json["replicas_moved"].as_u64().expect("replicas_moved") as usize,
        ideal_replicas_moved: json["ideal_replicas_moved"]
            .as_f64()
            .expect("ideal_replicas_moved"),
    }
}

/// GETs `url` (plain HTTP) and returns the body.
pub async fn http_get(url: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority)
            .await
            .map_err(|error| error.to_string())?;
        let request =
            format!("GET /{path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|error| error.to_string())?;
        let mut response = Vec::new();
        stream
            .read_to_end(&mut response)
            .await
            .map_err(|error| error.to_string())?;
        Ok::<_, String>(String::from_utf8_lossy(&response).into_owned())
    };
    let response = tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .map_err(|_| format!("{url}: no answer in 5 s"))??;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{url}: malformed response"))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!("{url}: {}", head.lines().next().unwrap_or("")));
    }
    Ok(body.to_owned())
}

/// The value of the sample `metric{…}` whose labels include every `label="value"` in `labels`.
pub fn metric_value(exposition: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    exposition.lines().find_map(|line| {
        let rest = line.strip_prefix(metric)?;
        // `metric{…} v` or `metric v`, not a longer name such as `metric_total`.
        let (label_text, value) = match rest.strip_prefix('{') {
            Some(rest) => rest.split_once('}')?,
            None if rest.starts_with(' ') => ("", rest),
            None => return None,
        };
        let pairs: Vec<&str> = label_text.split(',').map(str::trim).collect();
        let matches = labels
            .iter()
            .all(|(key, value)| pairs.contains(&format!("{key}=\"{value}\"").as_str()));
        if !matches {
            return None;
        }
        value.trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_samples_are_found_by_name_and_labels() {
        let exposition = "# TYPE ringcache_operator_rebalance_stalled gauge\n\
            ringcache_operator_rebalance_stalled{namespace=\"default\",name=\"other\"} 0\n\
            ringcache_operator_rebalance_stalled{namespace=\"default\",name=\"stall\"} 1\n\
            ringcache_operator_rebalance_stalled_total 3\n\
            ringcache_operator_up 1\n";
        let labels = [("namespace", "default"), ("name", "stall")];
        assert_eq!(
            metric_value(exposition, "ringcache_operator_rebalance_stalled", &labels),
            Some(1.0)
        );
        assert_eq!(
            metric_value(
                exposition,
                "ringcache_operator_rebalance_stalled",
                &[("name", "x")]
            ),
            None
        );
        assert_eq!(
            metric_value(exposition, "ringcache_operator_up", &[]),
            Some(1.0)
        );
        assert_eq!(metric_value(exposition, "ringcache_operator", &[]), None);
    }
}
