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
