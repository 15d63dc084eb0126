//! The sorted-set commands (Redis 7.0), over [`crate::store::zset::SortedSet`]. Each command has
//! its own file (close variants share one); the helpers here are what several share: score and
//! range arguments, and the WITHSCORES reply shapes.
//!
//! Scores are replied as Redis 7.0 does (`%.17g`): a bulk string in RESP2, a double in RESP3.
//! WITHSCORES replies are one flat array in RESP2 and an array of `[member, score]` pairs in
//! RESP3. The blocking BZPOPMIN/BZPOPMAX/BZMPOP are not here.

mod lookup;
mod zadd;
mod zcount;
mod zpop;
mod zrandmember;
mod zrange;
mod zrem;
mod zremrange;
mod zscan;
mod zsetops;

use bytes::Bytes;

use crate::command::read::reads;
use crate::command::write::writes;
use crate::command::{CommandError, DEL, DELF, R, RF, W, WF};
use crate::protocol::{Frame, ReplyWriter};
use crate::store::zset::{LexBound, ScoreBound, parse_lex_bound, parse_score, parse_score_bound};

reads! { ZSetRead {
    Card(lookup::ZCard),
    Score(lookup::ZScore),
    Rank(lookup::ZRank),
    Count(zcount::ZCount),
    Range(zrange::ZRange),
    Combine(zsetops::ZCombine),
    InterCard(zsetops::ZInterCard),
    RandMember(zrandmember::ZRandMember),
    Scan(zscan::ZScan),
}}

writes! { ZSetWrite {
    Add(zadd::ZAdd),
    Rem(zrem::ZRem),
    RangeStore(zrange::ZRangeStore),
    Pop(zpop::ZPop),
    RemRange(zremrange::ZRemRange),
    CombineStore(zsetops::ZCombineStore),
    BlockingPop(zpop::ZBlockingPop),
}}

/// Keys after a numkeys argument.
const MOVABLE: crate::command::Flags = crate::command::Flags::MOVABLE_KEYS;
/// BZPOPMIN, BZPOPMAX: `write noscript fast blocking`, as Redis 7.0 flags them.
const BLOCKING: crate::command::Flags = WF
    .union(crate::command::Flags::NOSCRIPT)
    .union(crate::command::Flags::BLOCKING);
/// BZMPOP: `write blocking movablekeys`.
const BLOCKING_MOVABLE: crate::command::Flags = crate::command::DEL
    .union(crate::command::Flags::BLOCKING)
    .union(MOVABLE);

crate::command::table::commands! { COMMANDS;
    "zadd", -4, WF, (1, 1, 1), "sorted-set", "1.2.0", Write(zadd::zadd),
        "Add one or more members to a sorted set, or update its score if it already exists";
    "zincrby", 4, WF, (1, 1, 1), "sorted-set", "1.2.0", Write(zadd::zincrby),
        "Increment the score of a member in a sorted set";
    "zrem", -3, DELF, (1, 1, 1), "sorted-set", "1.2.0", Write(zrem::parse),
        "Remove one or more members from a sorted set";
    "zcard", 2, RF, (1, 1, 1), "sorted-set", "1.2.0", Read(lookup::zcard),
        "Get the number of members in a sorted set";
    "zscore", 3, RF, (1, 1, 1), "sorted-set", "1.2.0", Read(lookup::zscore),
        "Get the score associated with the given member in a sorted set";
    "zmscore", -3, RF, (1, 1, 1), "sorted-set", "6.2.0", Read(lookup::zmscore),
        "Get the score associated with the given members in a sorted set";
    "zrank", 3, RF, (1, 1, 1), "sorted-set", "2.0.0", Read(lookup::zrank),
        "Determine the index of a member in a sorted set";
    "zrevrank", 3, RF, (1, 1, 1), "sorted-set", "2.0.0", Read(lookup::zrevrank),
        "Determine the index of a member in a sorted set, with scores ordered from high to low";
    "zcount", 4, RF, (1, 1, 1), "sorted-set", "2.0.0", Read(zcount::zcount),
        "Count the members in a sorted set with scores within the given values";
    "zlexcount", 4, RF, (1, 1, 1), "sorted-set", "2.8.9", Read(zcount::zlexcount),
        "Count the number of members in a sorted set between a given lexicographical range";
    "zrange", -4, R, (1, 1, 1), "sorted-set", "1.2.0", Read(zrange::zrange),
        "Return a range of members in a sorted set";
    "zrangestore", -5, W, (1, 2, 1), "sorted-set", "6.2.0", Write(zrange::zrangestore),
        "Store a range of members from sorted set into another key";
    "zrangebyscore", -4, R, (1, 1, 1), "sorted-set", "1.0.5", Read(zrange::zrangebyscore),
        "Return a range of members in a sorted set, by score";
    "zrevrangebyscore", -4, R, (1, 1, 1), "sorted-set", "2.2.0", Read(zrange::zrevrangebyscore),
        "Return a range of members in a sorted set, by score, with scores ordered from high to low";
    "zrangebylex", -4, R, (1, 1, 1), "sorted-set", "2.8.9", Read(zrange::zrangebylex),
        "Return a range of members in a sorted set, by lexicographical range";
    "zrevrangebylex", -4, R, (1, 1, 1), "sorted-set", "2.8.9", Read(zrange::zrevrangebylex),
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.";
    "zrevrange", -4, R, (1, 1, 1), "sorted-set", "1.2.0", Read(zrange::zrevrange),
        "Return a range of members in a sorted set, by index, with scores ordered from high to low";
    "zpopmin", -2, DELF, (1, 1, 1), "sorted-set", "5.0.0", Write(zpop::zpopmin),
        "Remove and return members with the lowest scores in a sorted set";
    "zpopmax", -2, DELF, (1, 1, 1), "sorted-set", "5.0.0", Write(zpop::zpopmax),
        "Remove and return members with the highest scores in a sorted set";
    "zmpop", -4, DEL.union(MOVABLE), (0, 0, 0), "sorted-set", "7.0.0", Write(zpop::zmpop),
        "Remove and return members with scores in a sorted set";
    "zremrangebyrank", 4, DEL, (1, 1, 1), "sorted-set", "2.0.0", Write(zremrange::zremrangebyrank),
        "Remove all members in a sorted set within the given indexes";
    "zremrangebyscore", 4, DEL, (1, 1, 1), "sorted-set", "1.2.0", Write(zremrange::zremrangebyscore),
        "Remove all members in a sorted set within the given scores";
    "zremrangebylex", 4, DEL, (1, 1, 1), "sorted-set", "2.8.9", Write(zremrange::zremrangebylex),
        "Remove all members in a sorted set between the given lexicographical range";
    "zunionstore", -4, W.union(MOVABLE), (1, 1, 1), "sorted-set", "2.0.0", Write(zsetops::zunionstore),
        "Add multiple sorted sets and store the resulting sorted set in a new key";
    "zinterstore", -4, W.union(MOVABLE), (1, 1, 1), "sorted-set", "2.0.0", Write(zsetops::zinterstore),
        "Intersect multiple sorted sets and store the resulting sorted set in a new key";
    "zdiffstore", -4, W.union(MOVABLE), (1, 1, 1), "sorted-set", "6.2.0", Write(zsetops::zdiffstore),
        "Subtract multiple sorted sets and store the resulting sorted set in a new key";
    "zunion", -3, R.union(MOVABLE), (0, 0, 0), "sorted-set", "6.2.0", Read(zsetops::zunion),
        "Add multiple sorted sets";
    "zinter", -3, R.union(MOVABLE), (0, 0, 0), "sorted-set", "6.2.0", Read(zsetops::zinter),
        "Intersect multiple sorted sets";
    "zdiff", -3, R.union(MOVABLE), (0, 0, 0), "sorted-set", "6.2.0", Read(zsetops::zdiff),
        "Subtract multiple sorted sets";
    "zintercard", -3, R.union(MOVABLE), (0, 0, 0), "sorted-set", "7.0.0", Read(zsetops::zintercard),
        "Intersect multiple sorted sets and return the cardinality of the result";
    "zrandmember", -2, R, (1, 1, 1), "sorted-set", "6.2.0", Read(zrandmember::parse),
        "Get one or multiple random elements from a sorted set";
    "zscan", -3, R, (1, 1, 1), "sorted-set", "2.8.0", Read(zscan::parse),
        "Incrementally iterate sorted sets elements and associated scores";
    "bzpopmin", -3, BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", Write(zpop::bzpopmin),
        "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available";
    "bzpopmax", -3, BLOCKING, (1, -2, 1), "sorted-set", "5.0.0", Write(zpop::bzpopmax),
        "Remove and return the member with the highest score from one or more sorted sets, or block until one is available";
    "bzmpop", -5, BLOCKING_MOVABLE, (0, 0, 0), "sorted-set", "7.0.0", Write(zpop::bzmpop),
        "Remove and return members with scores in a sorted set or block until one is available";
}

/// A score argument (ZADD, ZINCRBY).
fn score_arg(arg: &[u8]) -> Result<f64, CommandError> {
    parse_score(arg).ok_or(CommandError::NotFloat)
}

/// A `min max` score range (ZCOUNT, ZRANGEBYSCORE, …), as Redis's `zslParseRange`.
fn score_range(min: &[u8], max: &[u8]) -> Result<(ScoreBound, ScoreBound), CommandError> {
    match (parse_score_bound(min), parse_score_bound(max)) {
        (Some(min), Some(max)) => Ok((min, max)),
        _ => Err(CommandError::Message(
            "ERR min or max is not a float".to_owned(),
        )),
    }
}

/// A `min max` lex range (ZLEXCOUNT, ZRANGEBYLEX, …), as Redis's `zslParseLexRange`.
fn lex_range(min: &[u8], max: &[u8]) -> Result<(LexBound, LexBound), CommandError> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(min), Some(max)) => Ok((min, max)),
        _ => Err(CommandError::Message(
            "ERR min or max not valid string range item".to_owned(),
        )),
    }
}

/// An integer argument with Redis's range check and message (`getRangeLongFromObjectOrReply`
/// with a message: the same text for a non-integer and for a value out of `min..`).
fn integer_at_least(arg: &[u8], min: i64, message: &str) -> Result<i64, CommandError> {
    crate::store::parse_integer(arg)
        .filter(|&value| value >= min)
        .ok_or_else(|| CommandError::Message(format!("ERR {message}")))
}

/// Writes members, with their scores when `with_scores`: a flat array in RESP2, an array of
/// `[member, score]` pairs in RESP3 (Redis 7's WITHSCORES shapes).
fn write_members<'a>(
    out: &mut ReplyWriter,
    members: impl ExactSizeIterator<Item = (&'a [u8], f64)>,
    with_scores: bool,
) {
    if !with_scores {
        out.array_header(members.len());
        for (member, _) in members {
            out.bulk(member);
        }
        return;
    }
    out.pairs_header(members.len());
    for (member, score) in members {
        out.pair_header();
        out.bulk(member);
        out.double(score);
    }
}

/// A write's reply of members with their scores, shaped like [`write_members`] with scores.
fn pairs_frame(members: Vec<(Vec<u8>, f64)>) -> Frame {
    Frame::Pairs(
        members
            .into_iter()
            .map(|(member, score)| (Frame::Bulk(Bytes::from(member)), Frame::Double(score)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use crate::command::{Write, parse_write};

    /// Every write of the family survives the Raft log's encoding unchanged.
    #[test]
    fn writes_round_trip_through_the_log_encoding() {
        let commands = [
            "ZADD z XX GT CH 1.5 a -inf b",
            "ZINCRBY z 0.1 a",
            "ZREM z a b",
            "ZRANGESTORE d z (1 +inf BYSCORE REV LIMIT 1 2",
            "ZRANGESTORE d z [a (c BYLEX",
            "ZRANGESTORE d z 0 -1",
            "ZPOPMIN z 3",
            "ZPOPMAX z",
            "ZMPOP 2 a b MAX COUNT 4",
            "ZREMRANGEBYRANK z 1 -2",
            "ZREMRANGEBYSCORE z (1 5",
            "ZREMRANGEBYLEX z - [m",
            "ZUNIONSTORE d 2 a b WEIGHTS 2 0.5 AGGREGATE MAX",
            "ZINTERSTORE d 2 a b WEIGHTS 1 x",
            "ZDIFFSTORE d 2 a b",
        ];
        for command in commands {
            let args: Vec<Bytes> = command
                .split(' ')
                .map(|arg| Bytes::copy_from_slice(arg.as_bytes()))
                .collect();
            let write = parse_write(&args, 7).unwrap_or_else(|error| panic!("{command}: {error}"));
            assert!(matches!(write, Write::SortedSets(_)), "{command}");
            let encoded = bincode::serialize(&write).expect("encodes");
            let decoded: Write = bincode::deserialize(&encoded).expect("decodes");
            assert_eq!(decoded, write, "{command}");
        }
    }
}
