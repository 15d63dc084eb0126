//! The report `ringcache-operator plan` prints: a plan between two member counts, with its cost.
//!
//! The JSON form is a stable interface for scripts and tests; docs/cli.md documents every key.

use crate::cli::PlanArgs;
use ringcache_placement::{
    InvalidPartitionCount, MoveStep, PartitionCount, Placement, PlacementError, PlacementSpec,
    PlanError, plan,
};
use serde::Serialize;
use std::fmt::Write as _;

/// Why a plan cannot be shown. Each message names the flag to change.
#[derive(Debug, thiserror::Error)]
pub enum PlanReportError {
    /// `--partitions` is outside `1..=16384`.
    #[error("--partitions: {0}")]
    Partitions(InvalidPartitionCount),
    /// `--from` is zero.
    #[error("--from must be at least 1 (the cluster's current member count)")]
    NoCurrentMembers,
    /// `--to` is zero.
    #[error("--to must be at least 1: a cluster cannot scale to zero members")]
    NoTargetMembers,
    /// The current member count cannot hold the replication factor.
    #[error("--from {members}: {reason}")]
    CurrentPlacement {
        /// The rejected `--from`.
        members: u32,
        /// The placement's reason.
        reason: PlacementError,
    },
    /// The target member count cannot hold the replication factor.
    #[error("--to {members}: {reason}")]
    TargetPlacement {
        /// The rejected `--to`.
        members: u32,
        /// The placement's reason.
        reason: PlacementError,
    },
    /// The two placements are not related by moves (cannot happen with the flags above).
    #[error("no plan between these placements: {0}")]
    Plan(PlanError),
}

/// A plan and its summary, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanReport {
    /// Member count before.
    pub from_members: u32,
    /// Member count after.
    pub to_members: u32,
    /// Partitions of the cluster.
    pub partitions: u32,
    /// Replicas per partition.
    pub replication_factor: u32,
    /// Placement seed.
    pub seed: u64,
    /// The moves, in execution order.
    pub moves: Vec<MoveReport>,
    /// Number of replicas that change member.
    pub replicas_moved: u64,
    /// All replicas of the cluster: partitions × replication factor.
    pub total_replicas: u64,
    /// The least any balanced placement must move: `R·P·|M−N| / max(N, M)`.
    pub ideal_replicas_moved: f64,
    /// Share of the data that moves, `replicas_moved / total_replicas`.
    pub moved_fraction: f64,
    /// Largest number of replicas on one member.
    pub max_load: LoadChange,
    /// Smallest number of replicas on one member.
    pub min_load: LoadChange,
}

/// One replica move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoveReport {
    /// Stable name of the move, `p<partition>:<from>-><to>`.
    pub id: String,
    /// The partition.
    pub partition: u32,
    /// The member giving up its replica.
    pub from: u32,
    /// The member receiving it.
    pub to: u32,
    /// The steps the operator runs for it, in order.
    pub steps: Vec<MoveStep>,
}

/// A load figure before and after the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LoadChange {
    /// With the current member count.
    pub before: u32,
    /// With the target member count.
    pub after: u32,
}

impl PlanReport {
    /// Validates the flags and computes the plan. Pure: no IO.
    pub fn compute(args: &PlanArgs) -> Result<Self, PlanReportError> {
        let partitions =
            PartitionCount::new(args.partitions).map_err(PlanReportError::Partitions)?;
        if args.from_members == 0 {
            return Err(PlanReportError::NoCurrentMembers);
        }
        if args.to_members == 0 {
            return Err(PlanReportError::NoTargetMembers);
        }
        let spec = |members| PlacementSpec {
            members,
            partitions,
            replication_factor: args.replication_factor,
            seed: args.seed,
        };
        let current = Placement::compute(spec(args.from_members)).map_err(|reason| {
            PlanReportError::CurrentPlacement {
                members: args.from_members,
                reason,
            }
        })?;
        let target = Placement::compute(spec(args.to_members)).map_err(|reason| {
            PlanReportError::TargetPlacement {
                members: args.to_members,
                reason,
            }
        })?;
        let plan = plan(&current, &target).map_err(PlanReportError::Plan)?;

        let total_replicas = u64::from(partitions.get()) * u64::from(args.replication_factor);
        let replicas_moved = plan.moves.len() as u64;
        let member_change = args.from_members.abs_diff(args.to_members);
        let larger = args.from_members.max(args.to_members);
        let ideal_replicas_moved =
            total_replicas as f64 * f64::from(member_change) / f64::from(larger);
        let (loads_before, loads_after) = (current.loads(), target.loads());
        let largest = |loads: &[u32]| loads.iter().copied().max().unwrap_or(0);
        let smallest = |loads: &[u32]| loads.iter().copied().min().unwrap_or(0);
        Ok(PlanReport {
            from_members: args.from_members,
            to_members: args.to_members,
            partitions: partitions.get(),
            replication_factor: args.replication_factor,
            seed: args.seed,
            moves: plan
                .moves
                .iter()
                .map(|replica_move| MoveReport {
                    id: replica_move.id(),
                    partition: replica_move.partition,
                    from: replica_move.from,
                    to: replica_move.to,
                    steps: replica_move.steps().to_vec(),
                })
                .collect(),
            replicas_moved,
            total_replicas,
            ideal_replicas_moved,
            moved_fraction: replicas_moved as f64 / total_replicas as f64,
            max_load: LoadChange {
                before: largest(&loads_before),
                after: largest(&loads_after),
            },
            min_load: LoadChange {
                before: smallest(&loads_before),
                after: smallest(&loads_after),
            },
        })
    }

    /// The human-readable form: one line per move, then the summary.
    pub fn render_table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Plan: {} -> {} members, {} partitions, replication factor {}",
            self.from_members, self.to_members, self.partitions, self.replication_factor
        );
        if self.moves.is_empty() {
            let _ = writeln!(out, "\nNo replica moves: the placement does not change.");
        } else {
            let _ = writeln!(
                out,
                "\n{:>5}  {:<14} {:>9} {:>6} {:>6}",
                "STEP", "MOVE", "PARTITION", "FROM", "TO"
            );
            for (index, replica_move) in self.moves.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{:>5}  {:<14} {:>9} {:>6} {:>6}",
                    index + 1,
                    replica_move.id,
                    replica_move.partition,
                    replica_move.from,
                    replica_move.to
                );
            }
            let _ = writeln!(
                out,
                "\nEach move runs: add-learner -> promote -> transfer-leadership -> remove-replica."
            );
        }
        let _ = writeln!(out, "\nSummary");
        let _ = writeln!(
            out,
            "  replicas moved      {} of {} ({:.1}% of the data)",
            self.replicas_moved,
            self.total_replicas,
            self.moved_fraction * 100.0
        );
        let _ = writeln!(
            out,
            "  ideal minimum       {:.1}",
            self.ideal_replicas_moved
        );
        let _ = writeln!(
            out,
            "  largest member      {} replicas before, {} after",
            self.max_load.before, self.max_load.after
        );
        let _ = writeln!(
            out,
            "  smallest member     {} replicas before, {} after",
            self.min_load.before, self.min_load.after
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::OutputFormat;

    fn args(
        from_members: u32,
        to_members: u32,
        partitions: u32,
        replication_factor: u32,
    ) -> PlanArgs {
        PlanArgs {
            from_members,
            to_members,
            partitions,
            replication_factor,
            seed: 0,
            output: OutputFormat::Json,
        }
    }

    #[test]
    fn three_to_four_moves_a_quarter_of_the_data() {
        let report = PlanReport::compute(&args(3, 4, 64, 3)).unwrap();
        assert_eq!(report.replicas_moved, 48);
        assert_eq!(report.total_replicas, 192);
        assert_eq!(report.ideal_replicas_moved, 48.0);
        assert_eq!(report.moved_fraction, 0.25);
        assert_eq!(
            report.max_load,
            LoadChange {
                before: 64,
                after: 48
            }
        );
        assert_eq!(
            report.min_load,
            LoadChange {
                before: 64,
                after: 48
            }
        );
        assert!(report.moves.iter().all(|replica_move| replica_move.to == 3));
    }

    #[test]
    fn scale_in_uses_the_larger_count_for_the_ideal() {
        let report = PlanReport::compute(&args(5, 4, 64, 3)).unwrap();
        assert_eq!(report.ideal_replicas_moved, 192.0 / 5.0);
        assert!(
            report
                .moves
                .iter()
                .all(|replica_move| replica_move.from == 4)
        );
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let message = |args: PlanArgs| PlanReport::compute(&args).unwrap_err().to_string();
        assert_eq!(
            message(args(3, 0, 64, 3)),
            "--to must be at least 1: a cluster cannot scale to zero members"
        );
        assert_eq!(
            message(args(3, 4, 0, 3)),
            "--partitions: partitions must be between 1 and 16384, got 0"
        );
        assert_eq!(
            message(args(3, 2, 64, 3)),
            "--to 2: replication factor 3 needs at least 3 members, got 2"
        );
        assert_eq!(
            message(args(0, 2, 64, 1)),
            "--from must be at least 1 (the cluster's current member count)"
        );
    }

    #[test]
    fn table_lists_moves_and_summary() {
        let table = PlanReport::compute(&args(1, 2, 4, 1))
            .unwrap()
            .render_table();
        assert!(table.starts_with("Plan: 1 -> 2 members, 4 partitions, replication factor 1\n"));
        assert_eq!(table.matches(":0->1").count(), 2, "{table}");
        assert!(
            table.contains("replicas moved      2 of 4 (50.0% of the data)"),
            "{table}"
        );
    }
}
