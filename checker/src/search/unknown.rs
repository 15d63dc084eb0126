//! Moves of operations of unknown outcome: which blocks are worth trying at a node.
//!
//! After a chain of them, the next operation linearized is one with a reply (a read or an
//! increment: no write follows one of unknown outcome), and it is one of the node's candidates,
//! since the chain does not move the first pending return. So a chain must end on a value one of
//! them accepts: its *targets*. Whether increments can still get there is over-approximated by
//! the sums they can make (from the most negative to the most positive, in steps of their gcd),
//! which never rules out a chain that works.

use super::{Search, Steps};
use crate::model::{Step, Value};

/// The values that some candidate read or increment of a node accepts.
#[derive(Debug, Clone, Default)]
pub(super) struct Targets {
    values: Vec<Value>,
    /// An increment with a reply but no recorded result accepts any integer (or absent).
    any_integer: bool,
}

/// The sums the available increments of unknown outcome can make, over-approximated.
struct Reach {
    low: i128,
    high: i128,
    gcd: i128,
}

impl Reach {
    fn contains(&self, distance: i128) -> bool {
        (self.low..=self.high).contains(&distance)
            && if self.gcd == 0 {
                distance == 0
            } else {
                distance % self.gcd == 0
            }
    }
}

/// An integer value's magnitude, or `None` for bytes (increments do not apply).
fn integer(value: Value) -> Option<i128> {
    match value {
        Value::Absent => Some(0),
        Value::Int(value) => Some(i128::from(value)),
        Value::Bytes(_) => None,
    }
}

impl Search {
    /// Records, for the node at `depth`, what its candidate reads and increments need.
    pub(super) fn collect_targets(&mut self, depth: usize, steps: &mut Steps) -> Option<()> {
        if self.targets.len() <= depth {
            self.targets.resize_with(depth + 1, Targets::default);
        }
        let mut targets = std::mem::take(&mut self.targets[depth]);
        targets.values.clear();
        targets.any_integer = false;
        let sentinel = self.events.len();
        let mut cursor = self.next[sentinel];
        while let Some(&event) = self.events.get(cursor) {
            if !event.is_call {
                break;
            }
            steps.tick()?;
            match self.ops[event.op].step {
                Step::Read(value) => targets.values.push(value),
                Step::Increment {
                    by,
                    result: Some(result),
                } => {
                    if let Some(before) = result.checked_sub(by) {
                        targets.values.push(Value::Int(before));
                        if before == 0 {
                            targets.values.push(Value::Absent);
                        }
                    }
                }
                Step::Increment { result: None, .. } => targets.any_integer = true,
                Step::Write(_) => {}
            }
            cursor = self.next[cursor];
        }
        self.targets[depth] = targets;
        Some(())
    }

    /// How many operations of `class` are called by `limit` and not linearized.
    fn available(&self, class: usize, limit: u64) -> usize {
        let members = &self.classes[class];
        let called = members.partition_point(|&op| self.ops[op].call <= limit);
        called.saturating_sub(self.counts[class] as usize)
    }

    /// The amount a class of increments adds.
    fn amount(&self, class: usize) -> i64 {
        match self.ops[self.classes[class][0]].step {
            Step::Increment { by, .. } => by,
            Step::Read(_) | Step::Write(_) => 0,
        }
    }

    /// What the increment classes from `from` on, called by `limit`, can add up to.
    fn reach(&self, from: usize, limit: u64) -> Reach {
        let mut reach = Reach {
            low: 0,
            high: 0,
            gcd: 0,
        };
        for class in from.max(self.first_increment)..self.classes.len() {
            let available = self.available(class, limit) as i128;
            let by = i128::from(self.amount(class));
            if available == 0 || by == 0 {
                continue;
            }
            if by < 0 {
                reach.low += by * available;
            } else {
                reach.high += by * available;
            }
            let (mut a, mut b) = (reach.gcd, by.abs());
            while b != 0 {
                (a, b) = (b, a % b);
            }
            reach.gcd = a;
        }
        reach
    }

    /// Whether, from `value`, increments of the classes from `from` on might reach a target of the
    /// node at `depth`.
    fn may_reach(&self, depth: usize, value: Value, from: usize, limit: u64) -> bool {
        let targets = &self.targets[depth];
        if targets.values.contains(&value) {
            return true;
        }
        let Some(base) = integer(value) else {
            return false;
        };
        if targets.any_integer {
            return true;
        }
        let reach = self.reach(from, limit);
        targets.values.iter().any(|&target| match target {
            Value::Int(target) => reach.contains(i128::from(target) - base),
            Value::Absent | Value::Bytes(_) => false,
        })
    }

    /// The next block worth trying at the node at `depth` (value `state`), trying classes from the
    /// last down to `floor`, the larger ones of increments first: the first class below `below`
    /// with such a block, and its size (at least `take` in class `below - 1`). `None` inside: none
    /// left; outside: out of steps.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn next_unknown(
        &self,
        depth: usize,
        state: Value,
        floor: usize,
        below: usize,
        take: u32,
        limit: u64,
        steps: &mut Steps,
    ) -> Option<Option<(usize, u32)>> {
        let mut smallest = take as usize;
        for class in (floor..below).rev() {
            steps.tick()?;
            let available = self.available(class, limit);
            let at_least = std::mem::replace(&mut smallest, 1);
            if available < at_least {
                continue;
            }
            if class < self.first_increment {
                if self.ops[self.classes[class][0]].call > limit {
                    // Neither this class of writes nor any below was called yet.
                    break;
                }
                // A write: one at a time, then increments.
                let reaches = self.apply_block(class, 1, state).is_some_and(|written| {
                    self.may_reach(depth, written, self.first_increment, limit)
                });
                if at_least == 1 && reaches {
                    return Some(Some((class, 1)));
                }
                continue;
            }
            let Some(base) = integer(state) else {
                continue;
            };
            let by = i128::from(self.amount(class));
            // The later classes if blocks go in class order, else all of them (this one too).
            let later = if self.in_order(state) {
                class + 1
            } else {
                self.first_increment
            };
            let reach = self.reach(later, limit);
            if let Some(size) =
                self.block_size(depth, base, by, &reach, at_least, available, steps)?
            {
                return Some(Some((class, size)));
            }
        }
        Some(None)
    }

    /// The smallest block of increments by `by` from `base`, between `smallest` and `available`,
    /// after which `reach` can still get to a target.
    #[allow(clippy::too_many_arguments)]
    fn block_size(
        &self,
        depth: usize,
        base: i128,
        by: i128,
        reach: &Reach,
        smallest: usize,
        available: usize,
        steps: &mut Steps,
    ) -> Option<Option<u32>> {
        let targets = &self.targets[depth];
        let (smallest, available) = (smallest as i128, available as i128);
        if targets.any_integer {
            return Some(Some(smallest as u32));
        }
        if by == 0 {
            // Adds nothing (but makes an absent key 0): one is enough.
            let reaches = targets.values.iter().any(|&target| match target {
                Value::Int(target) => reach.contains(i128::from(target) - base),
                Value::Absent | Value::Bytes(_) => false,
            });
            return Some((reaches && smallest == 1).then_some(1));
        }
        let mut best: Option<i128> = None;
        for &target in &targets.values {
            steps.tick()?;
            let Value::Int(target) = target else {
                continue;
            };
            // base + size * by + rest = target, rest within [low, high].
            let distance = i128::from(target) - base;
            let (bound_a, bound_b) = (distance - reach.high, distance - reach.low);
            let (lowest, highest) = if by > 0 {
                (div_ceil(bound_a, by), div_floor(bound_b, by))
            } else {
                (div_ceil(bound_b, by), div_floor(bound_a, by))
            };
            let mut size = lowest.max(smallest);
            let highest = highest
                .min(available)
                .min(best.map_or(i128::MAX, |best| best - 1));
            // The gcd condition repeats with a period of at most gcd; look that far.
            let period = reach.gcd.max(1);
            while size <= highest && size < lowest.max(smallest) + period {
                steps.tick()?;
                if reach.contains(distance - size * by) && i64::try_from(base + size * by).is_ok() {
                    best = Some(size);
                    break;
                }
                size += 1;
            }
        }
        Some(best.and_then(|size| u32::try_from(size).ok()))
    }

    /// Whether increments commute from `state`: no sequence of them can overflow, so blocks may go
    /// in class order.
    fn in_order(&self, state: Value) -> bool {
        integer(state).is_some_and(|base| base.abs() + self.magnitude < i128::from(i64::MAX))
    }

    /// The value after `take` operations of `class` from `state`, if they fit.
    pub(super) fn apply_block(&self, class: usize, take: u32, state: Value) -> Option<Value> {
        let step = self.ops[self.classes[class][0]].step;
        match step {
            Step::Increment { by, result: None } => {
                let base = integer(state)?;
                let sum = base + i128::from(by) * i128::from(take);
                Some(Value::Int(i64::try_from(sum).ok()?))
            }
            _ if take == 1 => step.apply(state),
            _ => None,
        }
    }

    /// The floor (see [`super::Frame`]) after a block of `class` leading to `state`.
    pub(super) fn floor_after(&self, class: usize, state: Value) -> usize {
        if class >= self.first_increment && self.in_order(state) {
            class + 1
        } else {
            // Any increment may follow (with no class of writes, writes too: allowed, not needed).
            self.first_increment
        }
    }
}

/// `a / b` rounded up (towards positive infinity); `b` is not 0.
fn div_ceil(a: i128, b: i128) -> i128 {
    let quotient = a / b;
    if a % b != 0 && ((a < 0) == (b < 0)) {
        quotient + 1
    } else {
        quotient
    }
}

/// `a / b` rounded down (towards negative infinity); `b` is not 0.
fn div_floor(a: i128, b: i128) -> i128 {
    let quotient = a / b;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        quotient - 1
    } else {
        quotient
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisions_round_the_right_way() {
        for (a, b, floor, ceil) in [
            (7, 2, 3, 4),
            (-7, 2, -4, -3),
            (7, -2, -4, -3),
            (-7, -2, 3, 4),
            (6, 3, 2, 2),
            (-6, 3, -2, -2),
            (0, -5, 0, 0),
        ] {
            assert_eq!(div_floor(a, b), floor, "{a} / {b}");
            assert_eq!(div_ceil(a, b), ceil, "{a} / {b}");
        }
    }

    #[test]
    fn reach_over_approximates_sums() {
        let reach = Reach {
            low: -6,
            high: 10,
            gcd: 2,
        };
        assert!(reach.contains(0) && reach.contains(-6) && reach.contains(10));
        assert!(!reach.contains(3) && !reach.contains(12) && !reach.contains(-8));
        let nothing = Reach {
            low: 0,
            high: 0,
            gcd: 0,
        };
        assert!(nothing.contains(0) && !nothing.contains(1));
    }
}
