//! The search for a linearization of one key's history (see [the crate docs](crate#the-search)).
//!
//! A node is a prefix of a linearization: the operations linearized so far and the key's value. Its
//! candidates are the calls before the first pending return F (in time order), then operations of
//! unknown outcome called before F. The search is depth-first over an explicit stack; these rules
//! cut it down without changing the verdict, since each keeps at least one linearization of every
//! linearizable history reachable (the brute-force cross-check holds them to it):
//!
//! - A candidate read that fits the value is the only move tried: it can be moved to the front of
//!   any linearization from here (it changes nothing, and nothing pending must precede it).
//! - A dead write (see [`prepare`]) is only linearized right before another write, as soon as it
//!   may be (moving it there keeps a linearization one), or alone when it must go now (its return
//!   is F) or at the very end.
//! - Operations of unknown outcome come in chains: at most one write, then increments. No write
//!   follows one (it would hide its effect: drop the chain instead), increments of a class are
//!   applied in blocks, classes in a fixed order (increments commute while nothing overflows), and
//!   a chain must be able to end on a value that a candidate read or increment needs, since one of
//!   those comes next (see [`unknown`]).
//! - Memoisation (see [`Search::visit`] and [`Memo`]).

mod setup;
mod unknown;

use crate::history::Record;
use crate::memo::Memo;
use crate::model::{Step, Value};
use crate::prepare::{Op, prepare};
use unknown::Targets;

/// The verdict on one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyVerdict {
    Linearizable,
    Violation,
    /// The step budget ran out first.
    Inconclusive,
}

/// The verdict on one key and the search steps it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyOutcome {
    pub(crate) verdict: KeyVerdict,
    pub(crate) steps: u64,
}

/// Checks one key's records, giving up after `max_steps` search steps.
pub(crate) fn check_key(records: &[&Record], max_steps: u64) -> KeyOutcome {
    let mut steps = Steps {
        taken: 0,
        max: max_steps,
    };
    let verdict = Search::new(prepare(records))
        .search(&mut steps)
        .unwrap_or(KeyVerdict::Inconclusive);
    KeyOutcome {
        verdict,
        steps: steps.taken,
    }
}

/// The step counter: one step per event, class, block size or candidate looked at; `tick` is
/// `None` once the budget is spent.
struct Steps {
    taken: u64,
    max: u64,
}

impl Steps {
    fn tick(&mut self) -> Option<()> {
        if self.taken >= self.max {
            return None;
        }
        self.taken += 1;
        Some(())
    }
}

/// One call or return event of an operation whose outcome is known.
#[derive(Debug, Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
    time: u64,
}

/// Where the enumeration of a node's candidates continues.
#[derive(Debug, Clone, Copy)]
enum Resume {
    /// At this event of the list (calls before the first return are candidates).
    List(usize),
    /// At the classes of unknown-outcome operations below `below`, from the last down, blocks of
    /// at least `take` in the first; `limit`: the first pending return's time (later calls are not
    /// candidates).
    Classes { below: usize, take: u32, limit: u64 },
    /// This read, the only candidate worth trying.
    Forced(usize),
    /// Nothing is left to try.
    Exhausted,
}

/// What [`Search::visit`] found.
#[derive(Debug, Clone, Copy)]
enum Visited {
    /// The node, or one with at least its options, was seen before: skip it.
    Seen,
    /// A new node; a read that fits its value, if there is one.
    New { forced: Option<usize> },
}

/// A move: an operation with a reply, or a block of `take` operations of unknown outcome.
#[derive(Debug, Clone, Copy)]
enum Move {
    Known(usize),
    Unknown { class: usize, take: u32 },
}

/// A move made, to undo on backtracking.
#[derive(Debug, Clone, Copy)]
struct Frame {
    made: Move,
    /// Dead writes linearized just before it: the last `flushed` of [`Search::flushed`].
    flushed: usize,
    previous: Value,
    resume: Resume,
    /// The first class the node after it may take unknown-outcome operations from; 0: any, and
    /// writes too (it was not of unknown outcome).
    floor: usize,
}

struct Search {
    ops: Vec<Op>,
    /// Call and return events of the operations whose outcome is known, in time order.
    events: Vec<Event>,
    call_event: Vec<usize>,
    return_event: Vec<usize>,
    /// Doubly linked list over `events`; index `events.len()` is the head/tail sentinel.
    next: Vec<usize>,
    previous: Vec<usize>,
    /// For each return event: the operations open across it (called before, returning after),
    /// `open[open_start[e]..open_start[e + 1]]`.
    open_start: Vec<usize>,
    open: Vec<usize>,
    /// Operations of unknown outcome, grouped by identical step, each group in call order; the
    /// classes of writes first (the latest called first), then those of increments, smallest
    /// first. Blocks of a chain go in this order; a node tries them in the reverse order.
    classes: Vec<Vec<usize>>,
    /// The first class of increments.
    first_increment: usize,
    /// The most all increments of unknown outcome together can move a value.
    magnitude: i128,
    /// How many of each class are linearized: always the first ones.
    counts: Vec<u32>,
    linearized: Vec<bool>,
    pending_returns: usize,
    pending_dead: usize,
    flushed: Vec<usize>,
    memo: Memo,
    key: Vec<u32>,
    unknowns: Vec<u32>,
    /// Per depth: the values the candidate reads and increments of that node need.
    targets: Vec<Targets>,
    /// Per depth: the node's first pending return event.
    first_return: Vec<usize>,
}

impl Search {
    /// Whether the node at `depth` (value `state`; `floor` as in [`Frame`]) is worth exploring,
    /// recording it if so; `None`: out of steps (or, never expected, no return is pending: the
    /// caller has returned before; an honest "inconclusive" either way).
    ///
    /// Two nodes with the same value and the same linearized operations of known outcome have the
    /// same futures, except that linearized operations of unknown outcome are no longer available:
    /// a node is skipped when a node seen before had a subset of its unknown-outcome operations
    /// linearized (per class, a smaller or equal count; classes are linearized in call order).
    /// The set of known-outcome operations linearized is exactly "all whose return comes before the
    /// first pending return F, plus those linearized among the ones open across F", hence the key.
    fn visit(
        &mut self,
        state: Value,
        floor: usize,
        depth: usize,
        steps: &mut Steps,
    ) -> Option<Visited> {
        let sentinel = self.events.len();
        let mut cursor = self.next[sentinel];
        let mut forced = None;
        loop {
            let event = *self.events.get(cursor)?;
            if !event.is_call {
                break;
            }
            steps.tick()?;
            if forced.is_none() && self.ops[event.op].step == Step::Read(state) {
                forced = Some(event.op);
            }
            cursor = self.next[cursor];
        }
        if self.first_return.len() <= depth {
            self.first_return.resize(depth + 1, 0);
        }
        self.first_return[depth] = cursor;
        self.key.clear();
        self.key.push(cursor as u32);
        match state {
            Value::Absent => self.key.extend([0, 0, 0]),
            Value::Bytes(id) => self.key.extend([1, id, 0]),
            Value::Int(value) => self.key.extend([2, value as u32, (value >> 32) as u32]),
        }
        self.key.push(floor as u32);
        let open = &self.open[self.open_start[cursor]..self.open_start[cursor + 1]];
        for chunk in open.chunks(32) {
            let mut word = 0u32;
            for (bit, &op) in chunk.iter().enumerate() {
                if self.linearized[op] {
                    word |= 1 << bit;
                }
            }
            self.key.push(word);
        }
        self.unknowns.clear();
        for (class, &count) in self.counts.iter().enumerate() {
            if count > 0 {
                self.unknowns.extend([class as u32, count]);
            }
        }
        if self.memo.insert(&self.key, &self.unknowns, &self.counts) {
            Some(Visited::New { forced })
        } else {
            Some(Visited::Seen)
        }
    }

    /// `None`: out of steps.
    fn search(&mut self, steps: &mut Steps) -> Option<KeyVerdict> {
        if self.pending_returns == 0 {
            return Some(KeyVerdict::Linearizable);
        }
        let sentinel = self.events.len();
        let mut state = Value::Absent;
        let mut stack: Vec<Frame> = Vec::new();
        let mut resume = match self.visit(state, 0, 0, steps)? {
            Visited::New { forced: Some(read) } => Resume::Forced(read),
            _ => Resume::List(self.next[sentinel]),
        };
        loop {
            steps.tick()?;
            let depth = stack.len();
            let floor = stack.last().map_or(0, |frame| frame.floor);
            let candidate = match resume {
                Resume::List(cursor) => {
                    // With returns pending, the walk meets one before the end of the list.
                    let event = *self.events.get(cursor)?;
                    if !event.is_call {
                        self.collect_targets(depth, steps)?;
                        resume = Resume::Classes {
                            below: self.classes.len(),
                            take: 1,
                            limit: event.time,
                        };
                        continue;
                    }
                    resume = Resume::List(self.next[cursor]);
                    let op = &self.ops[event.op];
                    // No write right after an operation of unknown outcome.
                    if floor > 0 && matches!(op.step, Step::Write(_)) {
                        continue;
                    }
                    // A dead write goes with the next write; alone only when nothing can come
                    // before it (its return is the first pending one) or at the very end.
                    if op.dead
                        && self.pending_returns > self.pending_dead
                        && self.return_event[event.op] != self.first_return[depth]
                    {
                        continue;
                    }
                    Some(Move::Known(event.op))
                }
                Resume::Classes { below, take, limit } => {
                    let found =
                        self.next_unknown(depth, state, floor, below, take, limit, steps)?;
                    if let Some((class, take)) = found {
                        resume = Resume::Classes {
                            below: class + 1,
                            take: take + 1,
                            limit,
                        };
                        Some(Move::Unknown { class, take })
                    } else {
                        None
                    }
                }
                Resume::Forced(read) => {
                    resume = Resume::Exhausted;
                    Some(Move::Known(read))
                }
                Resume::Exhausted => None,
            };
            let Some(made) = candidate else {
                // Nothing more fits here: undo the latest move and go on with the candidates after it.
                let Some(frame) = stack.pop() else {
                    return Some(KeyVerdict::Violation);
                };
                self.undo(frame.made);
                self.unflush(frame.flushed);
                state = frame.previous;
                resume = frame.resume;
                continue;
            };
            let (new_state, is_write, child_floor) = match made {
                Move::Known(op) => {
                    let step = self.ops[op].step;
                    let Some(new_state) = step.apply(state) else {
                        continue;
                    };
                    let is_write = matches!(step, Step::Write(_)) && !self.ops[op].dead;
                    (new_state, is_write, 0)
                }
                Move::Unknown { class, take } => {
                    let Some(new_state) = self.apply_block(class, take, state) else {
                        continue;
                    };
                    let is_write = class < self.first_increment;
                    (new_state, is_write, self.floor_after(class, new_state))
                }
            };
            let flushed = if is_write { self.flush(steps)? } else { 0 };
            self.make(made);
            if self.pending_returns == 0 {
                return Some(KeyVerdict::Linearizable);
            }
            match self.visit(new_state, child_floor, depth + 1, steps)? {
                Visited::New { forced } => {
                    stack.push(Frame {
                        made,
                        flushed,
                        previous: state,
                        resume,
                        floor: child_floor,
                    });
                    state = new_state;
                    resume = match forced {
                        Some(read) => Resume::Forced(read),
                        None => Resume::List(self.next[sentinel]),
                    };
                }
                Visited::Seen => {
                    self.undo(made);
                    self.unflush(flushed);
                }
            }
        }
    }
}
