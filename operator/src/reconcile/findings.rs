//! What the data plane showed beyond the placement, for the status phase (pure): partition health,
//! a held scale-in, who has been silent since when, and the per-member figures and their spread.

use std::collections::{BTreeMap, BTreeSet};

use ringcache_placement::{Health, ObservedCluster, name_partitions};

use super::capacity::{ScaleInBlock, human_bytes};
use super::data_plane::secret_rejected_message;
use super::repair::Absences;
use crate::api::SpreadStatus;

/// Partitions named in a condition message before `and N more`.
const NAMED_PARTITIONS: usize = 64;

/// Inputs of the status phase that come from observing the members.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Findings {
    /// Partition health; `None` until the cluster is formed.
    pub health: Option<Health>,
    /// A scale-in held by the capacity guard.
    pub scale_in: Option<ScaleInBlock>,
    /// Members that do not answer, since when, and which are lost.
    pub absences: Absences,
    /// Members that refused the operator's cluster secret (HTTP 401) this round.
    pub rejected_secret: BTreeSet<u32>,
}

/// `Degraded`/`ClusterSecretRejected` when members refused the cluster secret: they cannot be
/// observed or moved until they have it, and nothing else explains why.
pub fn degraded_by_secret(rejected: &BTreeSet<u32>, secret_name: &str) -> Option<Verdict> {
    let names: Vec<String> = rejected.iter().map(ToString::to_string).collect();
    let members = match names.as_slice() {
        [] => return None,
        [one] => format!("member {one}"),
        many => format!("members {}", many.join(", ")),
    };
    Some(Verdict {
        status: true,
        reason: "ClusterSecretRejected",
        message: secret_rejected_message(&members, secret_name),
    })
}

/// A condition's status, reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

/// `Available` from partition health: every partition has a leader and a live majority.
pub fn available(health: Option<&Health>, replication_factor: u32) -> Verdict {
    let Some(health) = health else {
        return Verdict {
            status: false,
            reason: "NotFormed",
            message: "the Raft cluster is not formed yet".to_owned(),
        };
    };
    if health.available() {
        Verdict {
            status: true,
            reason: "QuorumReady",
            message: format!(
                "every partition has a leader and a live majority of its {replication_factor} voters"
            ),
        }
    } else {
        Verdict {
            status: false,
            reason: "PartitionsWithoutQuorum",
            message: format!(
                "{} partitions cannot commit writes (no leader or no live majority): {}",
                health.without_quorum.len(),
                name_partitions(&health.without_quorum, NAMED_PARTITIONS)
            ),
        }
    }
}

/// The health part of `Degraded`, when something is wrong: partitions without a leader first,
/// then under-replicated ones.
pub fn degraded_by_health(
    health: Option<&Health>,
    replication_factor: u32,
    absences: &Absences,
) -> Option<Verdict> {
    let health = health?;
    if !health.without_leader.is_empty() {
        return Some(Verdict {
            status: true,
            reason: "PartitionsWithoutLeader",
            message: format!(
                "{} partitions have no leader: {}",
                health.without_leader.len(),
                name_partitions(&health.without_leader, NAMED_PARTITIONS)
            ),
        });
    }
    if !health.under_replicated.is_empty() {
        let silent: Vec<String> = absences.since.keys().map(ToString::to_string).collect();
        let waiting = if silent.is_empty() {
            String::new()
        } else {
            format!("; members not answering: {}", silent.join(", "))
        };
        return Some(Verdict {
            status: true,
            reason: "UnderReplicated",
            message: format!(
                "{} partitions have fewer than {replication_factor} live voters: {}{waiting}",
                health.under_replicated.len(),
                name_partitions(&health.under_replicated, NAMED_PARTITIONS)
            ),
        });
    }
    None
}

/// `ScaleInBlocked`.
pub fn scale_in_blocked(block: Option<&ScaleInBlock>) -> Verdict {
    match block {
        Some(block) => Verdict {
            status: true,
            reason: "InsufficientMemory",
            message: block.message(),
        },
        None => Verdict {
            status: false,
            reason: "NotBlocked",
            message: String::new(),
        },
    }
}

/// The fewest and most of each figure over the members that answered, among `ring_members`.
pub fn spread(placement: &ObservedCluster, ring_members: u32) -> Option<SpreadStatus> {
    let leads = placement.leader_counts();
    let members: BTreeMap<u32, _> = placement
        .members
        .iter()
        .filter(|(ordinal, _)| **ordinal < ring_members)
        .map(|(ordinal, member)| (*ordinal, member))
        .collect();
    if members.is_empty() {
        return None;
    }
    let range = |values: Vec<u64>, show: &dyn Fn(u64) -> String| {
        let least = values.iter().copied().min().unwrap_or(0);
        let most = values.iter().copied().max().unwrap_or(0);
        format!("{}-{}", show(least), show(most))
    };
    let plain = |value: u64| value.to_string();
    Some(SpreadStatus {
        replicas: range(
            members
                .values()
                .map(|member| member.hosted.len() as u64)
                .collect(),
            &plain,
        ),
        leaders: range(
            members
                .keys()
                .map(|ordinal| u64::from(leads.get(ordinal).copied().unwrap_or(0)))
                .collect(),
            &plain,
        ),
        memory: range(
            members.values().map(|member| member.used_memory).collect(),
            &human_bytes,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_placement::{ObservedGroup, ObservedMember};

    #[test]
    fn members_refusing_the_secret_are_named_with_the_remedy() {
        assert_eq!(
            degraded_by_secret(&BTreeSet::new(), "demo-cluster-secret"),
            None
        );
        let one = degraded_by_secret(&BTreeSet::from([2]), "demo-cluster-secret").unwrap();
        assert!(one.status);
        assert_eq!(one.reason, "ClusterSecretRejected");
        assert!(
            one.message.starts_with("member 2 refused"),
            "{}",
            one.message
        );
        assert!(
            one.message.contains("Secret demo-cluster-secret"),
            "{}",
            one.message
        );
        let two = degraded_by_secret(&BTreeSet::from([0, 1]), "demo-cluster-secret").unwrap();
        assert!(
            two.message.starts_with("members 0, 1 refused"),
            "{}",
            two.message
        );
    }

    fn health(without_leader: &[u32], without_quorum: &[u32], under: &[u32]) -> Health {
        Health {
            without_leader: without_leader.to_vec(),
            without_quorum: without_quorum.to_vec(),
            under_replicated: under.to_vec(),
        }
    }

    #[test]
    fn availability_names_the_partitions_that_cannot_commit() {
        let verdict = available(Some(&health(&[], &[3, 7], &[3, 7])), 3);
        assert_eq!(
            (verdict.status, verdict.reason),
            (false, "PartitionsWithoutQuorum")
        );
        assert!(verdict.message.ends_with(": 3, 7"), "{}", verdict.message);
        assert!(available(Some(&Health::default()), 3).status);
        assert_eq!(available(None, 3).reason, "NotFormed");
    }

    #[test]
    fn degraded_prefers_missing_leaders_then_under_replication() {
        let absences = Absences::default();
        let no_leader = degraded_by_health(Some(&health(&[5], &[5], &[5, 6])), 3, &absences);
        assert_eq!(no_leader.unwrap().reason, "PartitionsWithoutLeader");
        let under = degraded_by_health(Some(&health(&[], &[], &[6])), 3, &absences).unwrap();
        assert_eq!(under.reason, "UnderReplicated");
        assert!(under.message.contains(": 6"), "{}", under.message);
        assert_eq!(
            degraded_by_health(Some(&Health::default()), 3, &absences),
            None
        );
    }

    #[test]
    fn spread_is_over_answering_ring_members() {
        let mut placement = ObservedCluster::default();
        for (ordinal, hosted, memory) in [(0u32, 2u32, 2048u64), (1, 1, 1024), (2, 9, 9)] {
            placement.members.insert(
                ordinal,
                ObservedMember {
                    hosted: (0..hosted).collect::<BTreeSet<_>>(),
                    used_memory: memory,
                    ..ObservedMember::default()
                },
            );
        }
        placement.groups.insert(
            0,
            ObservedGroup {
                leader: Some(0),
                ..ObservedGroup::default()
            },
        );
        let spread = spread(&placement, 2).unwrap();
        assert_eq!(spread.replicas, "1-2");
        assert_eq!(spread.leaders, "0-1");
        assert_eq!(spread.memory, "1.0KiB-2.0KiB");
    }
}
