//! Self-repair timing (pure): since when each member has not answered, and which ones are lost
//! (silent longer than `spec.selfRepair.gracePeriodSeconds`). The mover then aims at the ring with
//! stand-ins for the lost members ([`ringcache_placement::Placement::standing_in_for`]), so their
//! replicas are rebuilt elsewhere; a member that answers again gets them back.
//!
//! The first time a member was seen silent is kept in `status.members[].notAnsweringSince`, so an
//! operator restart does not reset the clock.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::api::{MemberStatus, SelfRepairSpec};

/// Who is silent since when, and who is lost.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Absences {
    /// Members that did not answer, with the first time they were seen silent.
    pub since: BTreeMap<u32, Time>,
    /// Members of the ring silent past the grace period (empty when self-repair is off).
    pub lost: BTreeSet<u32>,
}

/// From this round's silent members and what the previous status recorded.
pub fn absences(
    previous: &[MemberStatus],
    silent: &BTreeSet<u32>,
    ring_members: u32,
    spec: &SelfRepairSpec,
    now: &Time,
) -> Absences {
    let recorded: BTreeMap<u32, &Time> = previous
        .iter()
        .filter_map(|member| {
            let since = member.not_answering_since.as_ref()?;
            Some((u32::try_from(member.ordinal).ok()?, since))
        })
        .collect();
    let since: BTreeMap<u32, Time> = silent
        .iter()
        .map(|member| {
            let first = recorded
                .get(member)
                .map_or_else(|| now.clone(), |time| (*time).clone());
            (*member, first)
        })
        .collect();
    let grace = i64::from(spec.grace_period_seconds.max(0));
    let lost = if spec.enabled {
        since
            .iter()
            .filter(|(member, first)| {
                **member < ring_members && now.0.as_second() - first.0.as_second() >= grace
            })
            .map(|(member, _)| *member)
            .collect()
    } else {
        BTreeSet::new()
    };
    Absences { since, lost }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn time(seconds: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(seconds).unwrap())
    }

    fn recorded(ordinal: i32, since: i64) -> MemberStatus {
        MemberStatus {
            ordinal,
            not_answering_since: Some(time(since)),
            ..MemberStatus::default()
        }
    }

    #[test]
    fn a_member_is_lost_only_after_the_grace_period_counted_from_its_first_silence() {
        let spec = SelfRepairSpec {
            enabled: true,
            grace_period_seconds: 60,
        };
        let silent = BTreeSet::from([1, 2]);
        let previous = [recorded(1, 1000)];
        let early = absences(&previous, &silent, 3, &spec, &time(1059));
        assert_eq!(early.since[&1], time(1000), "the first silence is kept");
        assert_eq!(early.since[&2], time(1059), "a new silence starts now");
        assert!(early.lost.is_empty());
        let late = absences(&previous, &silent, 3, &spec, &time(1060));
        assert_eq!(late.lost, BTreeSet::from([1]));
        // Answering again forgets the silence.
        let back = absences(&previous, &BTreeSet::new(), 3, &spec, &time(2000));
        assert!(back.since.is_empty() && back.lost.is_empty());
    }

    #[test]
    fn members_outside_the_ring_and_a_disabled_repair_lose_nobody() {
        let silent = BTreeSet::from([3]);
        let previous = [recorded(3, 0)];
        let spec = SelfRepairSpec::default();
        assert!(
            absences(&previous, &silent, 3, &spec, &time(10_000))
                .lost
                .is_empty()
        );
        let off = SelfRepairSpec {
            enabled: false,
            ..spec
        };
        assert!(
            absences(&previous, &silent, 4, &off, &time(10_000))
                .lost
                .is_empty()
        );
    }
}
