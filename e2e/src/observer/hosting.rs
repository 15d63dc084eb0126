//! Which member hosted which partition over time, and what that says about the moves executed.
//!
//! A member's own status is authoritative for what it hosts. Over one scale step towards a fixed
//! ring, a correct rebalance only ever adds a partition to a member the ring assigns it to, and
//! only ever drops one from a member the ring does not assign it to:
//!
//! ```text
//!  p in ring(m):      absent… present…      (present → absent: a replica moved off and back again)
//!  p not in ring(m):  present… absent…      (absent → present: a move repeated, or reversed)
//! ```
//!
//! Each "absent → present" is one replica received, i.e. one move executed.

use std::collections::{BTreeMap, BTreeSet};

/// Per (member ordinal, partition): the hosting states seen, consecutive repeats collapsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostingHistory {
    states: BTreeMap<(u32, u32), Vec<bool>>,
}

impl HostingHistory {
    /// Records one sample of member `ordinal`, which hosts `hosted` of `partitions`. A `newcomer`
    /// (created during the window) is taken to have hosted nothing before its first sample.
    pub fn record(
        &mut self,
        ordinal: u32,
        partitions: u32,
        hosted: &BTreeSet<u32>,
        newcomer: bool,
    ) {
        let all = (0..partitions).chain(hosted.iter().copied().filter(|p| *p >= partitions));
        for partition in all {
            let now = hosted.contains(&partition);
            let states = self
                .states
                .entry((ordinal, partition))
                .or_insert_with(|| if newcomer { vec![false] } else { Vec::new() });
            if states.last() != Some(&now) {
                states.push(now);
            }
        }
    }

    /// Members with ordinal ≥ `members` are gone after a scale-in: whatever they were last seen
    /// hosting counts as given up (the last drop and the pod's deletion can fall between samples).
    pub fn close_removed(&mut self, members: u32) {
        for ((ordinal, _), states) in self.states.iter_mut() {
            if *ordinal >= members && states.last() == Some(&true) {
                states.push(false);
            }
        }
    }

    /// The states seen for (member, partition).
    pub fn states(&self, ordinal: u32, partition: u32) -> &[bool] {
        self.states
            .get(&(ordinal, partition))
            .map_or(&[], Vec::as_slice)
    }
}

/// Replicas received during the window: every "absent → present".
pub fn replicas_added(history: &HostingHistory) -> usize {
    history
        .states
        .values()
        .map(|states| states.windows(2).filter(|pair| !pair[0] && pair[1]).count())
        .sum()
}

/// Replicas given up during the window: every "present → absent".
pub fn replicas_dropped(history: &HostingHistory) -> usize {
    history
        .states
        .values()
        .map(|states| states.windows(2).filter(|pair| pair[0] && !pair[1]).count())
        .sum()
}

/// Every hosting change that goes against the ring `target` (partition → members): a partition
/// dropped from a member the ring gives it to, or taken on by a member the ring does not.
pub fn hosting_flaps(history: &HostingHistory, target: &[BTreeSet<u32>]) -> Vec<String> {
    let mut flaps = Vec::new();
    for ((ordinal, partition), states) in &history.states {
        let assigned = target
            .get(*partition as usize)
            .is_some_and(|members| members.contains(ordinal));
        let against = states
            .windows(2)
            .filter(|pair| {
                if assigned {
                    pair[0] && !pair[1]
                } else {
                    !pair[0] && pair[1]
                }
            })
            .count();
        if against > 0 {
            flaps.push(format!(
                "member {ordinal} p{partition} (ring assigns it: {assigned}): \
                 hosting went {states:?}"
            ));
        }
    }
    flaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[u32]) -> BTreeSet<u32> {
        items.iter().copied().collect()
    }

    #[test]
    fn a_clean_move_adds_one_and_drops_one() {
        let mut history = HostingHistory::default();
        // Member 0 gives p1 to newcomer 3.
        history.record(0, 2, &set(&[0, 1]), false);
        history.record(3, 2, &set(&[]), true);
        history.record(3, 2, &set(&[1]), true);
        history.record(0, 2, &set(&[0, 1]), false);
        history.record(0, 2, &set(&[0]), false);
        let target = vec![set(&[0]), set(&[3])];
        assert_eq!(replicas_added(&history), 1);
        assert_eq!(replicas_dropped(&history), 1);
        assert!(hosting_flaps(&history, &target).is_empty());
    }

    #[test]
    fn a_newcomer_first_seen_hosting_still_counts_as_a_receiver() {
        let mut history = HostingHistory::default();
        history.record(4, 1, &set(&[0]), true);
        assert_eq!(replicas_added(&history), 1);
        // A member that existed before the window did not receive what it already had.
        history.record(1, 1, &set(&[0]), false);
        assert_eq!(replicas_added(&history), 1);
        assert_eq!(history.states(1, 0), &[true]);
    }

    #[test]
    fn a_removed_member_gave_up_what_it_was_last_seen_hosting() {
        let mut history = HostingHistory::default();
        history.record(3, 2, &set(&[0, 1]), false);
        history.record(3, 2, &set(&[1]), false);
        history.record(2, 2, &set(&[0, 1]), false);
        history.close_removed(3);
        assert_eq!(replicas_dropped(&history), 2);
        assert_eq!(history.states(2, 1), &[true], "member 2 stays");
    }

    #[test]
    fn a_repeated_or_reversed_move_is_a_flap() {
        let target = vec![set(&[0, 1, 2])];
        let mut history = HostingHistory::default();
        // Member 3 is outside the ring for p0 but takes it twice.
        for hosted in [&[][..], &[0], &[], &[0], &[]] {
            history.record(3, 1, &set(hosted), true);
        }
        // Member 0 is in the ring for p0 but loses it and gets it back.
        for hosted in [&[0][..], &[], &[0]] {
            history.record(0, 1, &set(hosted), false);
        }
        let flaps = hosting_flaps(&history, &target);
        assert_eq!(flaps.len(), 2, "{flaps:?}");
        assert_eq!(replicas_added(&history), 3);
    }
}
