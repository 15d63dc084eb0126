//! The form phase: on a fresh cluster, once every member of the first ring runs, ask member 0's
//! admin API to form the Raft cluster (`POST /v1/cluster/form`). The decision is pure
//! ([`formation_members`], [`decide`]); the admin calls are the IO at the edge.
//!
//! Whether the cluster is formed is observed, not recorded: each member's `GET /v1/status` says
//! whether it joined. So a restarted or second operator never forms twice, and formation is
//! idempotent on the node side anyway.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;
use ringcache_admin::{ClusterSettings, FormMember, FormRequest};

use super::data_plane::DataPlane;
use super::observe::Observed;
use crate::build::{ADMIN_PORT, ClusterIdentity};

/// Formation waits for members and hosts every replica: give it time.
const FORM_TIMEOUT: Duration = Duration::from_secs(120);

/// Where formation stands after this reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Formation {
    /// Some member joined: the cluster exists (new members join through the mover).
    Formed,
    /// Formed by this reconcile.
    JustFormed,
    /// Not possible yet (pods starting); the reason says what is missing.
    Waiting(String),
}

/// The members of a ring of `members` and their admin addresses (pod IP : admin port), or why
/// they are not all there yet.
pub fn formation_members(
    observed: &Observed,
    identity: &ClusterIdentity,
    members: i32,
) -> Result<Vec<FormMember>, String> {
    (0..members)
        .map(|ordinal| {
            let name = format!("{}-{ordinal}", identity.statefulset_name());
            let pod = observed
                .pods
                .iter()
                .find(|pod| pod.name_any() == name && pod.metadata.deletion_timestamp.is_none())
                .ok_or_else(|| format!("waiting for pod {name}"))?;
            let ip = pod_ip(pod).ok_or_else(|| format!("waiting for pod {name} to get an IP"))?;
            Ok(FormMember {
                ordinal: ordinal as u16,
                admin_address: format!("{ip}:{ADMIN_PORT}"),
            })
        })
        .collect()
}

fn pod_ip(pod: &Pod) -> Option<String> {
    pod.status
        .as_ref()?
        .pod_ip
        .clone()
        .filter(|ip| !ip.is_empty())
}

/// Whether to form: only when no member has joined, and every member of the first ring answers.
pub fn decide(plane: &DataPlane, members: i32) -> Result<bool, String> {
    if plane.formed() {
        return Ok(false);
    }
    for ordinal in 0..members.max(0) as u32 {
        if !plane.statuses.contains_key(&ordinal) {
            let why = plane
                .unanswered
                .get(&ordinal)
                .cloned()
                .unwrap_or_else(|| "no pod IP yet".to_owned());
            return Err(format!("member {ordinal} is not answering yet: {why}"));
        }
    }
    Ok(true)
}

/// Runs the phase: forms the cluster when [`decide`] says so.
pub async fn form_if_needed(
    observed: &Observed,
    plane: &DataPlane,
    identity: &ClusterIdentity,
    members: i32,
    settings: ClusterSettings,
) -> Formation {
    match decide(plane, members) {
        Ok(false) => Formation::Formed,
        Err(reason) => Formation::Waiting(reason),
        Ok(true) => {
            let members = match formation_members(observed, identity, members) {
                Ok(members) => members,
                Err(reason) => return Formation::Waiting(reason),
            };
            let request = FormRequest { settings, members };
            let first = plane
                .credential
                .client(request.members[0].admin_address.clone(), FORM_TIMEOUT);
            match first.form(&request).await {
                Ok(_) => Formation::JustFormed,
                Err(error) => {
                    Formation::Waiting(format!("forming the Raft cluster failed: {error}"))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringcache_admin::{MemberStatus, Replica};

    fn status(ordinal: u16, joined: bool) -> MemberStatus {
        MemberStatus {
            member: Replica {
                id: u64::from(ordinal) << 48 | 1,
                ordinal,
                address: format!("10.0.0.{ordinal}:6379@16379"),
            },
            cluster: joined.then_some(ClusterSettings {
                partitions: 64,
                replication_factor: 3,
            }),
            ready: joined,
            not_ready_reason: None,
            partitions: vec![],
            used_memory: 0,
            max_memory: 0,
        }
    }

    #[test]
    fn forms_only_when_no_member_joined_and_all_answer() {
        let plane = |joined: &[bool]| DataPlane {
            statuses: joined
                .iter()
                .enumerate()
                .map(|(ordinal, joined)| (ordinal as u32, status(ordinal as u16, *joined)))
                .collect(),
            ..DataPlane::default()
        };
        assert_eq!(decide(&plane(&[false, false, false]), 3), Ok(true));
        assert_eq!(decide(&plane(&[true, true, true]), 3), Ok(false));
        assert_eq!(
            decide(&plane(&[true, false, false]), 5),
            Ok(false),
            "a formed cluster is never formed again; new members join through the mover"
        );
        let waiting = decide(&plane(&[false, false]), 3).unwrap_err();
        assert!(waiting.contains("member 2"), "{waiting}");
    }

    #[test]
    fn members_need_a_pod_with_an_ip() {
        use crate::build::desired::tests::cluster;
        let cluster = cluster(3);
        let identity = ClusterIdentity::of(&cluster).unwrap();
        let pod = |ordinal: i32, ip: Option<&str>| {
            let mut pod = Pod::default();
            pod.metadata.name = Some(format!("{}-{ordinal}", identity.statefulset_name()));
            pod.status = Some(k8s_openapi::api::core::v1::PodStatus {
                pod_ip: ip.map(str::to_owned),
                ..Default::default()
            });
            pod
        };
        let mut observed = Observed {
            statefulset: None,
            pods: vec![pod(0, Some("10.1.0.5")), pod(1, None)],
        };
        let waiting = formation_members(&observed, &identity, 2).unwrap_err();
        assert!(waiting.contains("-1 to get an IP"), "{waiting}");
        assert!(formation_members(&observed, &identity, 3).is_err());
        observed.pods[1] = pod(1, Some("10.1.0.6"));
        let members = formation_members(&observed, &identity, 2).unwrap();
        assert_eq!(members[1].admin_address, format!("10.1.0.6:{ADMIN_PORT}"));
        assert_eq!(members[0].ordinal, 0);
    }
}
