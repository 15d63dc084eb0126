//! ZUNION / ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX]
//! [WITHSCORES]; ZDIFF numkeys key [key ...] [WITHSCORES]; ZUNIONSTORE / ZINTERSTORE / ZDIFFSTORE
//! destination numkeys key [key ...] (options as above, without WITHSCORES);
//! ZINTERCARD numkeys key [key ...] [LIMIT limit]
//!
//! As Redis's `zunionInterDiffGenericCommand`: input keys may hold sets (each member scoring 1);
//! a weighted score that is NaN (`inf × 0`) counts as 0, and so does a SUM of `inf` and `-inf`.
//! Inputs are combined in order of cardinality (a stable sort, like glibc's `qsort`), which fixes
//! the order floating-point sums are taken in. Errors come in Redis's order: numkeys, then the
//! key types, then the options (hence [`Inputs::options`] keeps a parse error for later).

use std::collections::HashMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{ZSetRead, ZSetWrite, integer_at_least, write_members};
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, Write, integer_arg};
use crate::protocol::{Frame, ReplyWriter};
use crate::store::types::SetValue;
use crate::store::zset::{SortedSet, parse_score};
use crate::store::{Db, Entry, Object, WrongType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Redis's `zunionInterAggregate`.
    fn fold(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Options {
    /// One per key.
    weights: Vec<f64>,
    aggregate: Aggregate,
    with_scores: bool,
    /// ZINTERCARD's LIMIT; 0 is none.
    limit: u64,
}

/// The input keys and the options after them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Inputs {
    keys: Vec<Bytes>,
    /// A parse error is answered only after the keys' types were checked, as Redis does.
    options: Result<Options, String>,
}

/// What a command may take after its keys.
#[derive(Clone, Copy)]
enum Form {
    /// ZUNION/ZINTER/ZDIFF: WITHSCORES (and WEIGHTS/AGGREGATE unless a diff).
    Reply,
    /// The *STORE forms: no WITHSCORES.
    Store,
    /// ZINTERCARD: only LIMIT.
    Cardinality,
}

fn parse_inputs(
    args: &[Bytes],
    numkeys_at: usize,
    op: SetOp,
    form: Form,
    name: &str,
) -> Result<Inputs, CommandError> {
    let numkeys = integer_arg(&args[numkeys_at])?;
    if numkeys < 1 {
        return Err(CommandError::Message(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    let first = numkeys_at + 1;
    let count = match usize::try_from(numkeys) {
        Ok(count) if count <= args.len() - first => count,
        _ => return Err(CommandError::Syntax),
    };
    let keys = args[first..first + count].to_vec();
    let options =
        parse_options(&args[first + count..], count, op, form).map_err(|error| error.to_string());
    Ok(Inputs { keys, options })
}

fn parse_options(
    args: &[Bytes],
    keys: usize,
    op: SetOp,
    form: Form,
) -> Result<Options, CommandError> {
    let mut options = Options {
        weights: vec![1.0; keys],
        aggregate: Aggregate::Sum,
        with_scores: false,
        limit: 0,
    };
    let weighted = op != SetOp::Diff && !matches!(form, Form::Cardinality);
    let mut index = 0;
    while index < args.len() {
        let remaining = args.len() - index;
        let option = args[index].to_ascii_uppercase();
        match option.as_slice() {
            b"WEIGHTS" if weighted && remaining > keys => {
                for (weight, arg) in options.weights.iter_mut().zip(&args[index + 1..]) {
                    *weight = parse_score(arg).ok_or_else(|| {
                        CommandError::Message("ERR weight value is not a float".to_owned())
                    })?;
                }
                index += 1 + keys;
            }
            b"AGGREGATE" if weighted && remaining >= 2 => {
                options.aggregate = match args[index + 1].to_ascii_uppercase().as_slice() {
                    b"SUM" => Aggregate::Sum,
                    b"MIN" => Aggregate::Min,
                    b"MAX" => Aggregate::Max,
                    _ => return Err(CommandError::Syntax),
                };
                index += 2;
            }
            b"WITHSCORES" if matches!(form, Form::Reply) => {
                options.with_scores = true;
                index += 1;
            }
            b"LIMIT" if matches!(form, Form::Cardinality) && remaining >= 2 => {
                options.limit =
                    integer_at_least(&args[index + 1], 0, "LIMIT can't be negative")? as u64;
                index += 2;
            }
            _ => return Err(CommandError::Syntax),
        }
    }
    Ok(options)
}

/// One input: a sorted set, a set (members score 1) or nothing.
enum Source<'a> {
    Missing,
    ZSet(&'a SortedSet),
    Set(&'a SetValue),
}

impl Source<'_> {
    fn score(&self, member: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::ZSet(zset) => zset.score(member),
            Source::Set(set) => set.contains(member).then_some(1.0),
        }
    }

    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::ZSet(zset) => zset.len(),
            Source::Set(set) => set.len(),
        }
    }

    fn for_each(&self, mut visit: impl FnMut(&[u8], f64)) {
        match self {
            Source::Missing => {}
            Source::ZSet(zset) => zset.iter().for_each(|(member, score)| visit(member, score)),
            Source::Set(set) => set.iter().for_each(|member| visit(member, 1.0)),
        }
    }
}

/// Runs `work` on the input at `key` (its access recorded, as a read does).
fn with_source<R>(
    db: &mut Db<'_>,
    key: &[u8],
    work: impl FnOnce(Source<'_>) -> R,
) -> Result<R, WrongType> {
    let now = db.now_ms;
    let source = match db.store(key).get(key, now).map(Entry::object) {
        None => Source::Missing,
        Some(Some(Object::ZSet(zset))) => Source::ZSet(zset),
        Some(Some(Object::Set(set))) => Source::Set(set),
        Some(_) => return Err(WrongType),
    };
    Ok(work(source))
}

/// Weighted score of an input member; NaN (`inf × 0`) counts as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let value = score * weight;
    if value.is_nan() { 0.0 } else { value }
}

/// Members with their scores.
type Scored = Vec<(Vec<u8>, f64)>;

/// The combined members, sorted by (score, member) as the resulting sorted set orders them, and
/// how many input keys existed (for the hit/miss counters).
fn combine(db: &mut Db<'_>, inputs: &Inputs, op: SetOp) -> Result<(Scored, usize), CommandError> {
    let mut lengths = Vec::with_capacity(inputs.keys.len());
    let mut found = 0;
    for key in &inputs.keys {
        let (exists, len) = with_source(db, key, |source| {
            (!matches!(source, Source::Missing), source.len())
        })?;
        found += usize::from(exists);
        lengths.push(len);
    }
    let options = inputs.options.clone().map_err(CommandError::Message)?;
    let mut order: Vec<usize> = (0..inputs.keys.len()).collect();
    if op != SetOp::Diff {
        order.sort_by_key(|&index| lengths[index]);
    }
    let weight = |index: usize| options.weights[index];
    let aggregate = options.aggregate;
    let mut members: Scored = Vec::new();
    match op {
        SetOp::Union => {
            let mut scores: HashMap<Vec<u8>, f64> = HashMap::new();
            for &index in &order {
                with_source(db, &inputs.keys[index], |source| {
                    source.for_each(|member, score| {
                        let value = weighted(score, weight(index));
                        match scores.get_mut(member) {
                            Some(total) => aggregate.fold(total, value),
                            None => {
                                scores.insert(member.to_vec(), value);
                            }
                        }
                    })
                })?;
            }
            members.extend(scores);
        }
        SetOp::Inter | SetOp::Diff => {
            let first = order[0];
            if lengths[first] == 0 {
                return Ok((Vec::new(), found));
            }
            let first_weight = if op == SetOp::Inter {
                weight(first)
            } else {
                1.0
            };
            with_source(db, &inputs.keys[first], |source| {
                source.for_each(|member, score| {
                    let score = if op == SetOp::Inter {
                        weighted(score, first_weight)
                    } else {
                        score
                    };
                    members.push((member.to_vec(), score));
                })
            })?;
            for &index in &order[1..] {
                if members.is_empty() {
                    break;
                }
                with_source(db, &inputs.keys[index], |source| {
                    members.retain_mut(|(member, total)| match (op, source.score(member)) {
                        // Later inputs' weighted NaN is not zeroed first (Redis folds it as is).
                        (SetOp::Inter, Some(score)) => {
                            aggregate.fold(total, score * weight(index));
                            true
                        }
                        (SetOp::Inter, None) => false,
                        (_, found) => found.is_none(),
                    })
                })?;
            }
        }
    }
    // As the skiplist orders them: by score (-0 equal to 0; never NaN here), then by member.
    members.sort_by(|(a, x), (b, y)| {
        x.partial_cmp(y)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.cmp(b))
    });
    Ok((members, found))
}

fn count_hits(context: &mut ReadContext<'_>, keys: usize, found: usize) {
    for index in 0..keys {
        context.stats.hit_or_miss(index < found);
    }
}

/// ZUNION, ZINTER, ZDIFF.
#[derive(Debug)]
pub struct ZCombine {
    op: SetOp,
    inputs: Inputs,
}

fn combine_as(args: &[Bytes], op: SetOp, name: &str) -> Result<Read, CommandError> {
    Ok(Read::SortedSets(ZSetRead::Combine(ZCombine {
        op,
        inputs: parse_inputs(args, 1, op, Form::Reply, name)?,
    })))
}

pub fn zunion(args: &[Bytes]) -> Result<Read, CommandError> {
    combine_as(args, SetOp::Union, "zunion")
}

pub fn zinter(args: &[Bytes]) -> Result<Read, CommandError> {
    combine_as(args, SetOp::Inter, "zinter")
}

pub fn zdiff(args: &[Bytes]) -> Result<Read, CommandError> {
    combine_as(args, SetOp::Diff, "zdiff")
}

impl ZCombine {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.inputs.keys)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let keys = self.inputs.keys.iter().map(|key| &key[..]);
        let (members, found) = context.keyspace.with_keys(keys, context.now_ms, |db| {
            combine(db, &self.inputs, self.op)
        })?;
        count_hits(context, self.inputs.keys.len(), found);
        let with_scores = self
            .inputs
            .options
            .as_ref()
            .is_ok_and(|options| options.with_scores);
        let members = members.iter().map(|(member, score)| (&member[..], *score));
        write_members(out, members, with_scores);
        Ok(())
    }
}

/// ZINTERCARD.
#[derive(Debug)]
pub struct ZInterCard {
    inputs: Inputs,
}

pub fn zintercard(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::SortedSets(ZSetRead::InterCard(ZInterCard {
        inputs: parse_inputs(args, 1, SetOp::Inter, Form::Cardinality, "zintercard")?,
    })))
}

impl ZInterCard {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.inputs.keys)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let keys = self.inputs.keys.iter().map(|key| &key[..]);
        let (members, found) = context.keyspace.with_keys(keys, context.now_ms, |db| {
            combine(db, &self.inputs, SetOp::Inter)
        })?;
        count_hits(context, self.inputs.keys.len(), found);
        let limit = self
            .inputs
            .options
            .as_ref()
            .map_or(0, |options| options.limit);
        let count = match usize::try_from(limit) {
            Ok(limit) if limit > 0 => members.len().min(limit),
            _ => members.len(),
        };
        out.integer(count as i64);
        Ok(())
    }
}

/// ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE: the result replaces `dst` (without a TTL); an empty one
/// deletes it. Replies the result's size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZCombineStore {
    dst: Bytes,
    op: SetOp,
    inputs: Inputs,
}

fn store_as(args: &[Bytes], op: SetOp, name: &str) -> Result<Write, CommandError> {
    Ok(Write::SortedSets(ZSetWrite::CombineStore(ZCombineStore {
        dst: args[1].clone(),
        op,
        inputs: parse_inputs(args, 2, op, Form::Store, name)?,
    })))
}

pub fn zunionstore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    store_as(args, SetOp::Union, "zunionstore")
}

pub fn zinterstore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    store_as(args, SetOp::Inter, "zinterstore")
}

pub fn zdiffstore(args: &[Bytes], _now_ms: u64) -> Result<Write, CommandError> {
    store_as(args, SetOp::Diff, "zdiffstore")
}

impl ZCombineStore {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(std::iter::once(&self.dst).chain(&self.inputs.keys))
    }

    pub fn apply(&self, db: &mut Db<'_>) -> Result<Frame, CommandError> {
        let now = db.now_ms;
        let (members, _) = combine(db, &self.inputs, self.op)?;
        let mut result = SortedSet::new();
        for (member, score) in &members {
            result.insert(member, *score);
        }
        let stored = result.len();
        let entry = Entry::with_object(&self.dst, Object::ZSet(result), 0, now);
        db.store(&self.dst).put(entry, now);
        if stored > 0 {
            db.signal_list_ready(&self.dst);
        }
        Ok(Frame::Integer(stored as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eviction::EvictionPolicy;
    use crate::store::Keyspace;

    const NOW: u64 = 1_000;

    /// `{t}z` = {a: 1, b: 2, c: 3}, `{t}s` = the set {a, b, q}, `{t}str` a string.
    fn keyspace() -> Keyspace {
        let keyspace = Keyspace::new(0, EvictionPolicy::NoEviction);
        let keys: [&[u8]; 3] = [b"{t}z", b"{t}s", b"{t}str"];
        keyspace.with_keys(keys, NOW, |db| {
            let mut zset = SortedSet::new();
            for (member, score) in [("a", 1.0), ("b", 2.0), ("c", 3.0)] {
                zset.insert(member.as_bytes(), score);
            }
            let entry = Entry::with_object(b"{t}z", Object::ZSet(zset), 0, NOW);
            db.store(b"{t}z").put(entry, NOW);
            let mut set = SetValue::default();
            for member in ["a", "b", "q"] {
                set.insert(member.as_bytes());
            }
            let entry = Entry::with_object(b"{t}s", Object::Set(set), 0, NOW);
            db.store(b"{t}s").put(entry, NOW);
            db.store(b"{t}str")
                .put(Entry::new(b"{t}str", b"x", 0, NOW), NOW);
        });
        keyspace
    }

    fn args(text: &str) -> Vec<Bytes> {
        text.split(' ')
            .map(|arg| Bytes::copy_from_slice(arg.as_bytes()))
            .collect()
    }

    fn combined(keyspace: &Keyspace, op: SetOp, text: &str) -> Result<Vec<(String, f64)>, String> {
        let args = args(text);
        let inputs =
            parse_inputs(&args, 1, op, Form::Reply, "zunion").map_err(|e| e.to_string())?;
        let keys: Vec<&[u8]> = inputs.keys.iter().map(|key| &key[..]).collect();
        let (members, _) = keyspace
            .with_keys(keys, NOW, |db| combine(db, &inputs, op))
            .map_err(|e| e.to_string())?;
        Ok(members
            .into_iter()
            .map(|(member, score)| (String::from_utf8(member).unwrap_or_default(), score))
            .collect())
    }

    fn pairs(expected: &[(&str, f64)]) -> Vec<(String, f64)> {
        expected
            .iter()
            .map(|(member, score)| (member.to_string(), *score))
            .collect()
    }

    #[test]
    fn sets_are_inputs_whose_members_score_one() {
        let keyspace = keyspace();
        // Checked against redis-server 7.0.15 with SADD st a b q.
        assert_eq!(
            combined(&keyspace, SetOp::Union, "zunion 2 {t}z {t}s WITHSCORES"),
            Ok(pairs(&[("q", 1.0), ("a", 2.0), ("b", 3.0), ("c", 3.0)]))
        );
        assert_eq!(
            combined(&keyspace, SetOp::Inter, "zinter 2 {t}z {t}s WITHSCORES"),
            Ok(pairs(&[("a", 2.0), ("b", 3.0)]))
        );
        assert_eq!(
            combined(&keyspace, SetOp::Diff, "zdiff 2 {t}z {t}s"),
            Ok(pairs(&[("c", 3.0)]))
        );
        assert_eq!(
            combined(&keyspace, SetOp::Diff, "zdiff 2 {t}s {t}z"),
            Ok(pairs(&[("q", 1.0)]))
        );
        assert_eq!(
            combined(
                &keyspace,
                SetOp::Inter,
                "zinter 2 {t}s {t}z WEIGHTS 10 1 AGGREGATE MAX"
            ),
            Ok(pairs(&[("a", 10.0), ("b", 10.0)]))
        );
    }

    #[test]
    fn wrong_types_are_reported_before_bad_options() {
        let keyspace = keyspace();
        assert_eq!(
            combined(&keyspace, SetOp::Union, "zunion 2 {t}z {t}str WEIGHTS 1 x"),
            Err("WRONGTYPE Operation against a key holding the wrong kind of value".to_owned())
        );
        assert_eq!(
            combined(&keyspace, SetOp::Union, "zunion 2 {t}z {t}s WEIGHTS 1 x"),
            Err("ERR weight value is not a float".to_owned())
        );
        assert_eq!(
            combined(&keyspace, SetOp::Union, "zunion 3 {t}z {t}s"),
            Err("ERR syntax error".to_owned())
        );
    }

    #[test]
    fn intercard_and_store_take_sets_too() {
        let keyspace = keyspace();
        let card = parse_inputs(
            &args("zintercard 2 {t}z {t}s LIMIT 1"),
            1,
            SetOp::Inter,
            Form::Cardinality,
            "zintercard",
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(card.options.as_ref().map(|o| o.limit), Ok(1));
        let Ok(Write::SortedSets(ZSetWrite::CombineStore(store))) =
            zunionstore(&args("zunionstore {t}d 2 {t}s {t}z WEIGHTS 2 1"), NOW)
        else {
            panic!("ZUNIONSTORE parses");
        };
        let keys: Vec<&[u8]> = store.keys().iter().collect();
        let reply = keyspace.with_keys(keys, NOW, |db| store.apply(db));
        assert_eq!(reply.ok(), Some(Frame::Integer(4)));
        let stored = keyspace.with_key(b"{t}d", |store| {
            store
                .read::<SortedSet>(b"{t}d", NOW)
                .ok()
                .flatten()
                .map(|zset| {
                    zset.iter()
                        .map(|(member, score)| {
                            (String::from_utf8_lossy(member).into_owned(), score)
                        })
                        .collect::<Vec<_>>()
                })
        });
        assert_eq!(
            stored,
            Some(pairs(&[("q", 2.0), ("a", 3.0), ("c", 3.0), ("b", 4.0)]))
        );
    }
}
