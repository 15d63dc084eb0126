//! What the self-repair scenarios add to `rebalance_support`: checks on the Raft ids the members
//! report (every partition back to RF voters whose ids are their members' current ids), the pods
//! as the API shows them, the CacheCluster's conditions and spec, and a member's admin API.

pub mod pods;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams};
use ringcache_admin::{AdminClient, MemberStatus, Role};
use ringcache_e2e::credentials::read_cluster_secret;
use ringcache_e2e::observer::Observer;

use crate::rebalance_support::{ConditionView, Env, PARTITIONS, REPLICATION_FACTOR};

/// Every partition `0..partitions` is fully replicated with live ids: a leader that answered, RF
/// voters in its view, each voter's id the current id of an answering member that hosts the
/// partition, no learners, no joint configuration. The error names every partition that is not.
pub fn replicated_with_live_ids(
    statuses: &BTreeMap<u32, MemberStatus>,
    partitions: u32,
    replication_factor: usize,
) -> Result<(), String> {
    let live: BTreeMap<u32, &MemberStatus> = statuses
        .iter()
        .map(|(ordinal, status)| (*ordinal, status))
        .collect();
    let mut problems = Vec::new();
    for partition in 0..partitions {
        let leader_view = statuses
            .values()
            .flat_map(|status| &status.partitions)
            .filter(|view| view.partition == partition && view.role == Role::Leader)
            .max_by_key(|view| view.term);
        let Some(view) = leader_view else {
            problems.push(format!("p{partition}: no answering leader"));
            continue;
        };
        let dead: Vec<String> = view
            .voters
            .iter()
            .filter(|voter| {
                live.get(&u32::from(voter.ordinal)).is_none_or(|member| {
                    member.member.id != voter.id
                        || !member.partitions.iter().any(|p| p.partition == partition)
                })
            })
            .map(|voter| format!("{}@{:x}", voter.ordinal, voter.id))
            .collect();
        if view.voters.len() != replication_factor || !dead.is_empty() {
            problems.push(format!(
                "p{partition}: {} voters, not live: {dead:?}",
                view.voters.len()
            ));
        }
        if !view.learners.is_empty() || view.joint {
            problems.push(format!(
                "p{partition}: learners {:?}, joint {}",
                view.learners.len(),
                view.joint
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Waits until [`replicated_with_live_ids`] holds for the test cluster (16 partitions, RF 3);
/// returns how long it took from `since`, or panics with the last difference after `timeout`.
pub async fn wait_replicated(observer: &Observer, since: Instant, timeout: Duration) -> Duration {
    let deadline = Instant::now() + timeout;
    loop {
        let report = observer.fresh_report().await;
        match replicated_with_live_ids(&report.last, PARTITIONS, REPLICATION_FACTOR as usize) {
            Ok(()) => return since.elapsed(),
            Err(error) if Instant::now() >= deadline => {
                panic!("not fully replicated with live ids within {timeout:?}: {error}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

/// Waits until the operator has nothing left to do for a `members`-member cluster: rebalance
/// `Idle` (placement and leadership balanced) and `Progressing=False`, so that it requeues at its
/// settled pace. Faults are injected from there: what notices them is then the operator's ordinary
/// watch and requeue, not a reconcile loop that happened to be running every second.
pub async fn wait_settled(env: &Env, members: u32) {
    env.wait_rebalanced(members, Duration::from_secs(120)).await;
    wait_condition(env, "Progressing", Duration::from_secs(60), "False", |c| {
        c.status == "False"
    })
    .await;
}

/// The numbers in `text` (runs of digits), in order.
pub fn numbers_in(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|run| !run.is_empty())
        .filter_map(|run| run.parse().ok())
        .collect()
}

/// The byte quantities in `text`: plain numbers (bytes) and numbers with a unit (`4.0MiB`,
/// `512KiB`, `1.5GiB`, `80B`), in order, as bytes.
pub fn byte_quantities(text: &str) -> Vec<f64> {
    let mut found = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut index = 0;
    while index < chars.len() {
        if !chars[index].is_ascii_digit() {
            index += 1;
            continue;
        }
        let start = index;
        while index < chars.len() && (chars[index].is_ascii_digit() || chars[index] == '.') {
            index += 1;
        }
        let number: String = chars[start..index].iter().collect();
        let Ok(value) = number.trim_end_matches('.').parse::<f64>() else {
            continue;
        };
        let rest: String = chars[index..].iter().take(3).collect();
        let scale = [("KiB", 1024.0), ("MiB", 1048576.0), ("GiB", 1073741824.0)]
            .iter()
            .find(|(unit, _)| rest.starts_with(unit))
            .map_or(1.0, |(_, scale)| *scale);
        found.push(value * scale);
    }
    found
}

/// Condition `kind` as it stands now (default when absent).
pub async fn condition(env: &Env, kind: &str) -> ConditionView {
    env.status().await.condition(kind).unwrap_or_default()
}

/// Waits until condition `kind` satisfies `check`; returns it and how long it took, or panics
/// with the last value after `timeout`.
pub async fn wait_condition(
    env: &Env,
    kind: &str,
    timeout: Duration,
    what: &str,
    check: impl Fn(&ConditionView) -> bool,
) -> (ConditionView, Duration) {
    let started = Instant::now();
    loop {
        let current = condition(env, kind).await;
        if check(&current) {
            return (current, started.elapsed());
        }
        assert!(
            started.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {kind}: {what}; last {current:?}\n\
             operator log tail:\n{}",
            env.operator_log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Merge-patches the CacheCluster's `spec` with `spec` (as `kubectl patch --type=merge`).
pub async fn patch_spec(env: &Env, spec: serde_json::Value) {
    env.api()
        .patch(
            env.name(),
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "spec": spec })),
        )
        .await
        .expect("patch the CacheCluster's spec");
}

/// The admin API of member `ordinal` (its pod IP), with the cluster secret the operator wrote into
/// the Secret `<name>-cluster-secret` (the members refuse admin calls without it).
pub async fn admin(env: &Env, ordinal: u32) -> AdminClient {
    let endpoint = env.endpoint(ordinal).await;
    let host = endpoint
        .rsplit_once(':')
        .map_or(endpoint.as_str(), |(host, _)| host);
    let secret = read_cluster_secret(&env.client(), env.namespace(), env.name())
        .await
        .expect("the operator wrote the cluster's Secret");
    AdminClient::new(format!("{host}:9090"))
        .with_timeout(Duration::from_secs(10))
        .with_credential(Some(secret))
}

/// The Raft id each member reports now.
pub fn member_ids(statuses: &BTreeMap<u32, MemberStatus>) -> BTreeMap<u32, u64> {
    statuses
        .iter()
        .map(|(ordinal, status)| (*ordinal, status.member.id))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_admin::{PartitionStatus, Replica};

    fn replica(ordinal: u16, incarnation: u64) -> Replica {
        Replica {
            id: (u64::from(ordinal) << 48) | incarnation,
            ordinal,
            address: format!("127.0.0.{ordinal}:6379@16379"),
        }
    }

    fn view(partition: u32, role: Role, voters: &[Replica]) -> PartitionStatus {
        serde_json::from_value(serde_json::json!({
            "partition": partition, "slots": [0, 1], "role": role, "term": 3,
            "leader": null, "voters": voters, "learners": [], "joint": false,
            "lastLogIndex": null, "committedIndex": null, "appliedIndex": null,
            "snapshotIndex": null, "keys": 0
        }))
        .unwrap()
    }

    fn member(me: Replica, partitions: Vec<PartitionStatus>) -> MemberStatus {
        serde_json::from_value(serde_json::json!({
            "member": me, "cluster": null, "ready": true, "notReadyReason": null,
            "partitions": partitions
        }))
        .unwrap()
    }

    #[test]
    fn stale_ids_and_missing_voters_are_found() {
        let voters = [replica(0, 1), replica(1, 1), replica(2, 1)];
        let healthy: BTreeMap<u32, MemberStatus> = (0..3u16)
            .map(|ordinal| {
                let role = if ordinal == 0 {
                    Role::Leader
                } else {
                    Role::Follower
                };
                (
                    u32::from(ordinal),
                    member(replica(ordinal, 1), vec![view(0, role, &voters)]),
                )
            })
            .collect();
        assert_eq!(replicated_with_live_ids(&healthy, 1, 3), Ok(()));
        // Member 2 came back empty with a new incarnation: the group still names the old id.
        let mut wiped = healthy.clone();
        wiped.insert(2, member(replica(2, 2), vec![]));
        let error = replicated_with_live_ids(&wiped, 1, 3).unwrap_err();
        assert!(error.contains("p0") && error.contains("2@"), "{error}");
        // Two voters removed by hand.
        let mut removed = healthy.clone();
        removed.insert(
            0,
            member(replica(0, 1), vec![view(0, Role::Leader, &voters[..1])]),
        );
        assert!(replicated_with_live_ids(&removed, 1, 3).is_err());
        // No leader answering.
        let mut leaderless = healthy;
        leaderless.remove(&0);
        assert!(replicated_with_live_ids(&leaderless, 1, 3).is_err());
    }

    #[test]
    fn numbers_are_read_out_of_messages() {
        assert_eq!(
            numbers_in("projected 5033164 bytes per member > maxmemory 4194304 (p3, 7)"),
            vec![5033164, 4194304, 3, 7]
        );
        assert!(numbers_in("none").is_empty());
    }

    #[test]
    fn byte_quantities_are_read_with_their_units() {
        let message = "scale-in from 4 to 3 members is held: member 0 would hold 4.4MiB of data, \
                       more than maxMemory 4.0MiB; or 4194304 bytes, 512KiB";
        assert_eq!(
            byte_quantities(message),
            vec![
                4.0,
                3.0,
                0.0,
                4.4 * 1048576.0,
                4.0 * 1048576.0,
                4194304.0,
                524288.0
            ]
        );
    }
}
