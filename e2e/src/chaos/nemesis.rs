//! The nemesis's schedule: which fault comes next, on whom, for how long. Pure and seeded, so a
//! run's schedule is printed with its seed and replayed by passing the seed again (what the
//! faults then meet, leaders and timings, is the cluster's own doing).

use std::fmt;
use std::time::Duration;

/// Who a fault hits, resolved when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The current leader of this partition (where faults hurt most).
    LeaderOf(u32),
    /// A member by ordinal.
    Member(usize),
}

/// One fault, from its start to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Cut the target off from every other member, both ways.
    Isolate(Target),
    /// Cut the target's outgoing links only (it hears the others, they do not hear it).
    MuteOutgoing(Target),
    /// Split the members in two at random: the first `minority` ordinals of a shuffled order on
    /// one side.
    Partition { order: Vec<usize>, minority: usize },
    /// Five or more members: two halves that hear only a bridge member in the middle.
    Bridge { order: Vec<usize> },
    /// Delay every link of the target by this much, both ways.
    Slow(Target, Duration),
    /// SIGSTOP the target, SIGCONT at the end.
    Pause(Target),
    /// SIGKILL the target, restart it with its data at the end.
    Kill(Target),
    /// SIGKILL the target, leave a torn record at the end of one of its partition logs, restart.
    KillAndTearLog(Target),
    /// Close every connection of the target (the members reconnect at once).
    ResetConnections(Target),
    /// Restart the target with its wall clock this many milliseconds off; restart it with the
    /// right time at the end.
    SkewClock(Target, i64),
}

impl Fault {
    /// A fixed category, for counts.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Isolate(_) => "isolate",
            Fault::MuteOutgoing(_) => "mute-outgoing",
            Fault::Partition { .. } => "partition",
            Fault::Bridge { .. } => "bridge",
            Fault::Slow(..) => "slow-links",
            Fault::Pause(_) => "pause",
            Fault::Kill(_) => "kill",
            Fault::KillAndTearLog(_) => "kill-torn-log",
            Fault::ResetConnections(_) => "reset-connections",
            Fault::SkewClock(..) => "skew-clock",
        }
    }

    /// Every fault kind the schedule draws from.
    pub const KINDS: [&'static str; 10] = [
        "isolate",
        "mute-outgoing",
        "partition",
        "bridge",
        "slow-links",
        "pause",
        "kill",
        "kill-torn-log",
        "reset-connections",
        "skew-clock",
    ];
}

impl fmt::Display for Fault {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{self:?}")
    }
}

/// A fault with its duration and the quiet time after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub fault: Fault,
    pub lasts: Duration,
    pub then_quiet: Duration,
}

/// SplitMix64: small, seedable, and the same on every platform.
#[derive(Debug, Clone)]
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Random(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..bound` (`bound > 0`).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    fn millis(&mut self, low: u64, high: u64) -> Duration {
        Duration::from_millis(low + self.below(high - low + 1))
    }

    fn shuffled(&mut self, count: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..count).collect();
        for index in (1..count).rev() {
            let other = self.below(index as u64 + 1) as usize;
            order.swap(index, other);
        }
        order
    }
}

/// The seeded sequence of faults for a cluster of `members` members and `partitions` partitions.
#[derive(Debug, Clone)]
pub struct Schedule {
    random: Random,
    members: usize,
    partitions: u32,
}

impl Schedule {
    pub fn new(seed: u64, members: usize, partitions: u32) -> Self {
        Schedule {
            random: Random::new(seed),
            members,
            partitions,
        }
    }

    fn target(&mut self) -> Target {
        // Leaders two times in three: that is where a fault tests the most.
        if self.random.below(3) < 2 {
            Target::LeaderOf(self.random.below(u64::from(self.partitions)) as u32)
        } else {
            Target::Member(self.random.below(self.members as u64) as usize)
        }
    }
}

impl Iterator for Schedule {
    type Item = Step;

    fn next(&mut self) -> Option<Step> {
        let fault = loop {
            let kind = Fault::KINDS[self.random.below(Fault::KINDS.len() as u64) as usize];
            let fault = match kind {
                "isolate" => Fault::Isolate(self.target()),
                "mute-outgoing" => Fault::MuteOutgoing(self.target()),
                "partition" => {
                    let order = self.random.shuffled(self.members);
                    // Any split: a minority on one side, the rest on the other.
                    let minority = 1 + self.random.below(((self.members - 1) / 2) as u64) as usize;
                    Fault::Partition { order, minority }
                }
                "bridge" if self.members >= 5 => Fault::Bridge {
                    order: self.random.shuffled(self.members),
                },
                "bridge" => continue,
                "slow-links" => {
                    let target = self.target();
                    Fault::Slow(target, self.random.millis(20, 300))
                }
                "pause" => Fault::Pause(self.target()),
                "kill" => Fault::Kill(self.target()),
                "kill-torn-log" => Fault::KillAndTearLog(self.target()),
                "skew-clock" => {
                    let target = self.target();
                    let magnitude = 1_000 + self.random.below(119_000) as i64;
                    let sign = if self.random.below(2) == 0 { 1 } else { -1 };
                    Fault::SkewClock(target, sign * magnitude)
                }
                _ => Fault::ResetConnections(self.target()),
            };
            break fault;
        };
        let lasts = self.random.millis(1_000, 6_000);
        let then_quiet = self.random.millis(500, 3_000);
        Some(Step {
            fault,
            lasts,
            then_quiet,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_schedule_every_time() {
        let first: Vec<Step> = Schedule::new(42, 5, 16).take(50).collect();
        let again: Vec<Step> = Schedule::new(42, 5, 16).take(50).collect();
        assert_eq!(first, again);
        let other: Vec<Step> = Schedule::new(43, 5, 16).take(50).collect();
        assert_ne!(first, other);
    }

    #[test]
    fn every_kind_comes_up_and_targets_stay_in_range() {
        let steps: Vec<Step> = Schedule::new(7, 5, 16).take(500).collect();
        for kind in Fault::KINDS {
            assert!(
                steps.iter().any(|step| step.fault.kind() == kind),
                "{kind} never drawn"
            );
        }
        for step in &steps {
            match &step.fault {
                Fault::Partition { order, minority } => {
                    assert_eq!(order.len(), 5);
                    assert!((1..=2).contains(minority));
                }
                Fault::Bridge { order } => assert_eq!(order.len(), 5),
                Fault::Isolate(target)
                | Fault::MuteOutgoing(target)
                | Fault::Slow(target, _)
                | Fault::Pause(target)
                | Fault::Kill(target)
                | Fault::KillAndTearLog(target)
                | Fault::ResetConnections(target)
                | Fault::SkewClock(target, _) => match target {
                    Target::LeaderOf(partition) => assert!(*partition < 16),
                    Target::Member(member) => assert!(*member < 5),
                },
            }
            assert!(step.lasts >= Duration::from_secs(1) && step.lasts <= Duration::from_secs(6));
            if let Fault::SkewClock(_, offset) = step.fault {
                assert!((1_000..120_000).contains(&offset.abs()), "{offset}");
            }
        }
    }

    #[test]
    fn three_members_get_no_bridge_and_one_member_minorities() {
        let steps: Vec<Step> = Schedule::new(9, 3, 4).take(300).collect();
        assert!(steps.iter().all(|step| step.fault.kind() != "bridge"));
        assert!(steps.iter().all(|step| match &step.fault {
            Fault::Partition { minority, .. } => *minority == 1,
            _ => true,
        }));
    }
}
