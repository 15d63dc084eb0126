//! Command-line interface of `ringcache-operator`.

use clap::{Parser, Subcommand, ValueEnum};

/// The ringcache Kubernetes operator.
#[derive(Debug, Parser)]
#[command(name = "ringcache-operator", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preview the replica moves of scaling a cluster from one member count to another.
    ///
    /// Prints every move (partition, from member, to member) and a summary: replicas moved, the ideal
    /// minimum, the share of the data that moves, and the largest and smallest member load before and
    /// after. Nothing is contacted; the plan is computed locally, exactly as the operator computes it.
    Plan(PlanArgs),
    /// Print the CacheCluster CustomResourceDefinition as YAML (what `crds/` holds).
    Crd,
    /// Run the operator: watch CacheClusters and reconcile them into Kubernetes objects.
    ///
    /// Uses the in-cluster service account, or the kubeconfig (`KUBECONFIG`, `~/.kube/config`) outside
    /// a cluster.
    Run(RunArgs),
}

/// Flags of `ringcache-operator run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Watch CacheClusters in this namespace only; all namespaces when unset.
    #[arg(long, value_name = "NAMESPACE", env = "RINGCACHE_WATCH_NAMESPACE")]
    pub namespace: Option<String>,
    /// Address of the HTTP server for `/metrics` (Prometheus) and `/healthz`.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
    /// Act only while holding a `coordination.k8s.io` Lease, so that two replicas never both act.
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// Name of the leader-election Lease.
    #[arg(long, value_name = "NAME", default_value = "ringcache-operator")]
    pub lease_name: String,
    /// Namespace of the leader-election Lease; the pod's namespace (`POD_NAMESPACE`) when unset, else
    /// `default`.
    #[arg(long, value_name = "NAMESPACE", env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Identity written into the Lease; the pod name (`POD_NAME`) or the host name when unset.
    #[arg(long, value_name = "ID", env = "POD_NAME")]
    pub identity: Option<String>,
    /// Required. File holding the operator key (at least 32 bytes; one trailing newline is
    /// trimmed), from which every CacheCluster's secret is derived. The Helm chart generates one,
    /// keeps it across upgrades and mounts it. Changing it changes every cluster's secret.
    #[arg(long, value_name = "PATH", env = "RINGCACHE_CLUSTER_KEY_FILE")]
    pub cluster_key_file: Option<std::path::PathBuf>,
    /// Namespace the operator's pods run in (the downward API's `POD_NAMESPACE`): the NetworkPolicies
    /// admit the operator to the members' admin port from there. When unset (outside a cluster) they
    /// admit no operator, and a warning says so.
    #[arg(long, value_name = "NAMESPACE", env = "POD_NAMESPACE")]
    pub operator_namespace: Option<String>,
    /// Labels of the operator's pods, `key=value,key=value` (the chart passes its Deployment's pod
    /// selector): within `--operator-namespace` only these pods are admitted to the admin port. When
    /// unset, every pod of that namespace is.
    #[arg(
        long,
        value_name = "LABELS",
        env = "RINGCACHE_OPERATOR_POD_SELECTOR",
        value_parser = parse_label_selector
    )]
    pub operator_pod_selector: Option<LabelMap>,
}

/// Labels, by key.
pub type LabelMap = std::collections::BTreeMap<String, String>;

/// Parses `key=value,key=value` (equality only, as `kubectl -l` writes it) into labels, checking
/// each key and value against Kubernetes' label syntax.
pub fn parse_label_selector(text: &str) -> Result<LabelMap, String> {
    let mut labels = LabelMap::new();
    for pair in text.split(',').map(str::trim) {
        let (key, value) = pair
            .split_once('=')
            .map(|(key, value)| (key.trim(), value.trim()))
            .ok_or_else(|| format!("{pair:?} is not key=value"))?;
        if value.starts_with('=') || key.ends_with('!') {
            return Err(format!(
                "{pair:?}: only key=value pairs are supported, not == or !="
            ));
        }
        if !valid_label_key(key) {
            return Err(format!("{key:?} is not a label key"));
        }
        if !valid_label_value(value) {
            return Err(format!("{value:?} (of {key}) is not a label value"));
        }
        if labels.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(format!("{key} appears twice"));
        }
    }
    Ok(labels)
}

/// A name segment: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn valid_name_segment(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
        && text.starts_with(|c: char| c.is_ascii_alphanumeric())
        && text.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `[prefix/]name`, the prefix a DNS subdomain.
fn valid_label_key(key: &str) -> bool {
    match key.split_once('/') {
        Some((prefix, name)) => {
            !prefix.is_empty()
                && prefix.len() <= 253
                && prefix.split('.').all(|part| {
                    valid_name_segment(part)
                        && part.bytes().all(|byte| {
                            byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-'
                        })
                })
                && valid_name_segment(name)
        }
        None => valid_name_segment(key),
    }
}

/// Empty, or a name segment.
fn valid_label_value(value: &str) -> bool {
    value.is_empty() || valid_name_segment(value)
}

/// Flags of `ringcache-operator plan`.
#[derive(Debug, Clone, clap::Args)]
pub struct PlanArgs {
    /// Current number of members (StatefulSet replicas).
    #[arg(long = "from", value_name = "MEMBERS")]
    pub from_members: u32,
    /// Target number of members.
    #[arg(long = "to", value_name = "MEMBERS")]
    pub to_members: u32,
    /// Number of partitions of the cluster (fixed when it is created), 1 to 16384.
    #[arg(long, value_name = "P", default_value_t = ringcache_placement::DEFAULT_PARTITIONS)]
    pub partitions: u32,
    /// Replicas per partition.
    #[arg(long, value_name = "R", default_value_t = 3)]
    pub replication_factor: u32,
    /// Placement seed of the cluster (shown in its status); 0 unless the cluster was created with another.
    #[arg(long, value_name = "SEED", default_value_t = 0)]
    pub seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

/// How `plan` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A human-readable table and summary.
    Table,
    /// One JSON document, for scripts (keys documented in docs/cli.md).
    Json,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_selectors_parse_into_labels() {
        let labels = parse_label_selector(
            "app.kubernetes.io/name=ringcache-operator, app.kubernetes.io/instance=rc",
        )
        .unwrap();
        assert_eq!(
            labels,
            LabelMap::from([
                ("app.kubernetes.io/instance".to_owned(), "rc".to_owned()),
                (
                    "app.kubernetes.io/name".to_owned(),
                    "ringcache-operator".to_owned()
                ),
            ])
        );
        assert_eq!(parse_label_selector("tier=").unwrap()["tier"], "");
        for bad in [
            "",
            "app",
            "app==x",
            "app!=x",
            "-app=x",
            "app=x y",
            "Bad.Prefix/app=x",
            "a=1,a=2",
        ] {
            assert!(parse_label_selector(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
