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
