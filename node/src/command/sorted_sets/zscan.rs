//! ZSCAN key cursor [MATCH pattern] [COUNT count]
//!
//! A set of up to 128 members is returned whole with cursor 0, as Redis does for its listpack
//! encoding. A larger one is walked in the order of a fixed 48-bit hash of each member: the cursor
//! is the next hash value to visit, so every member present for the whole iteration is returned
//! (at least once), whatever is added, removed or rescored meanwhile. Each call looks at every
//! member (O(n)), and returns at least COUNT members and at least 1/64 of the set.

use std::hash::{BuildHasher, Hasher};

use bytes::Bytes;

use super::ZSetRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::ReplyWriter;
use crate::protocol::writer::format_g17;
use crate::store::zset::{SMALL_MAX, SortedSet};

/// The hash members are visited in; fixed, so a cursor stays valid on any member of a cluster.
const HASH_STATE: foldhash::fast::FixedState =
    foldhash::fast::FixedState::with_seed(0x7a73_6361_6e5f_6375);

/// Cursors stay below 2^48 (exact in clients that read them as a double, such as JavaScript's).
fn member_hash(member: &[u8]) -> u64 {
    let mut hasher = HASH_STATE.build_hasher();
    hasher.write(member);
    hasher.finish() >> 16
}

#[derive(Debug)]
struct ScanOptions {
    pattern: Option<Bytes>,
    count: usize,
}

#[derive(Debug)]
pub struct ZScan {
    key: Bytes,
    cursor: u64,
    /// A parse error is answered only when the key exists and holds a sorted set, as in Redis.
    options: Result<ScanOptions, String>,
}

/// The cursor as C's `strtoul` reads it (Redis's `parseScanCursorOrReply`): an optional sign
/// (negative values wrap), decimal digits, nothing else; the empty string is 0.
fn parse_cursor(arg: &[u8]) -> Option<u64> {
    if arg.is_empty() {
        return Some(0);
    }
    let (negative, digits) = match arg[0] {
        b'-' => (true, &arg[1..]),
        b'+' => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}

fn parse_options(args: &[Bytes]) -> Result<ScanOptions, CommandError> {
    let mut options = ScanOptions {
        pattern: None,
        count: 10,
    };
    let mut index = 0;
    while index < args.len() {
        let Some(value) = args.get(index + 1) else {
            return Err(CommandError::Syntax);
        };
        match args[index].to_ascii_uppercase().as_slice() {
            b"COUNT" => {
                let count = integer_arg(value)?;
                if count < 1 {
                    return Err(CommandError::Syntax);
                }
                options.count = usize::try_from(count).unwrap_or(usize::MAX);
            }
            b"MATCH" => options.pattern = Some(value.clone()).filter(|p| &p[..] != b"*"),
            _ => return Err(CommandError::Syntax),
        }
        index += 2;
    }
    Ok(options)
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    let cursor = parse_cursor(&args[2])
        .ok_or_else(|| CommandError::Message("ERR invalid cursor".to_owned()))?;
    Ok(Read::SortedSets(ZSetRead::Scan(ZScan {
        key: args[1].clone(),
        cursor,
        options: parse_options(&args[3..]).map_err(|error| error.to_string()),
    })))
}

/// One step: the next cursor (0 when done) and the members returned, with their scores.
pub fn scan_step(zset: &SortedSet, cursor: u64, count: usize) -> (u64, Vec<(&[u8], f64)>) {
    if zset.len() <= SMALL_MAX {
        return (0, zset.iter().collect());
    }
    let batch = count.max(zset.len() / 64).max(1);
    let mut candidates: Vec<(u64, &[u8], f64)> = zset
        .iter()
        .map(|(member, score)| (member_hash(member), member, score))
        .filter(|(hash, _, _)| *hash >= cursor)
        .collect();
    let next = if candidates.len() <= batch {
        0
    } else {
        candidates.select_nth_unstable_by_key(batch - 1, |(hash, _, _)| *hash);
        let boundary = candidates[batch - 1].0;
        // Members sharing the boundary hash are all returned now.
        candidates.retain(|(hash, _, _)| *hash <= boundary);
        boundary + 1
    };
    candidates.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let members = candidates
        .into_iter()
        .map(|(_, member, score)| (member, score))
        .collect();
    (next, members)
}

impl ZScan {
    pub fn keys(&self) -> Keys<'_> {
        Keys::One(&self.key)
    }

    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let now = context.now_ms;
        let found = context.keyspace.with_key(&self.key, |store| {
            let Some(zset) = store.read::<SortedSet>(&self.key, now)? else {
                out.array_header(2);
                out.bulk(b"0");
                out.array_header(0);
                return Ok(false);
            };
            let options = self
                .options
                .as_ref()
                .map_err(|error| CommandError::Message(error.clone()))?;
            let (next, mut members) = scan_step(zset, self.cursor, options.count);
            if let Some(pattern) = &options.pattern {
                members.retain(|(member, _)| crate::glob::matches(pattern, member));
            }
            out.array_header(2);
            out.bulk(itoa::Buffer::new().format(next).as_bytes());
            out.array_header(2 * members.len());
            for (member, score) in members {
                out.bulk(member);
                out.bulk(format_g17(score).as_bytes());
            }
            Ok::<_, CommandError>(true)
        })?;
        context.stats.hit_or_miss(found);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn full_scan(zset: &SortedSet, count: usize) -> (Vec<Vec<u8>>, usize) {
        let (mut cursor, mut seen, mut calls) = (0, Vec::new(), 0);
        loop {
            let (next, members) = scan_step(zset, cursor, count);
            seen.extend(members.iter().map(|(member, _)| member.to_vec()));
            calls += 1;
            if next == 0 {
                return (seen, calls);
            }
            assert!(
                next > cursor && next <= 1 << 48,
                "cursor {next} after {cursor}"
            );
            cursor = next;
        }
    }

    #[test]
    fn cursors_parse_like_strtoul() {
        assert_eq!(parse_cursor(b"0"), Some(0));
        assert_eq!(parse_cursor(b"+7"), Some(7));
        assert_eq!(parse_cursor(b"-1"), Some(u64::MAX));
        assert_eq!(parse_cursor(b""), Some(0));
        assert_eq!(parse_cursor(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"x",
            b"-",
            b"0x1",
        ] {
            assert_eq!(parse_cursor(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn small_sets_come_whole_in_order() {
        let mut zset = SortedSet::new();
        for index in 0..SMALL_MAX {
            zset.insert(format!("m{index}").as_bytes(), -(index as f64));
        }
        let (next, members) = scan_step(&zset, 12345, 1);
        assert_eq!(next, 0);
        assert_eq!(members, zset.iter().collect::<Vec<_>>());
    }

    #[test]
    fn large_sets_are_walked_once_each_in_batches() {
        let mut zset = SortedSet::new();
        for index in 0..5000 {
            zset.insert(format!("member-{index}").as_bytes(), (index % 7) as f64);
        }
        let (seen, calls) = full_scan(&zset, 10);
        assert_eq!(seen.len(), 5000, "each member once");
        let distinct: BTreeSet<&Vec<u8>> = seen.iter().collect();
        assert_eq!(distinct.len(), 5000);
        // At least 1/64 of the set a call: about 64 calls, not 500.
        assert!((60..=70).contains(&calls), "{calls} calls");
        let (_, calls) = full_scan(&zset, 1000);
        assert!((5..=6).contains(&calls), "{calls} calls");
    }

    #[test]
    fn members_present_throughout_are_returned_despite_changes() {
        let mut zset = SortedSet::new();
        for index in 0..3000 {
            zset.insert(format!("stable-{index}").as_bytes(), index as f64);
        }
        for index in 0..3000 {
            zset.insert(format!("doomed-{index}").as_bytes(), index as f64);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let (next, members) = scan_step(&zset, cursor, 50);
            seen.extend(members.iter().map(|(member, _)| member.to_vec()));
            // Between calls: remove many members, add new ones, rescore stable ones.
            for index in (step * 200)..((step + 1) * 200).min(3000) {
                zset.remove(format!("doomed-{index}").as_bytes());
                zset.insert(format!("new-{step}-{index}").as_bytes(), 0.5);
                zset.insert(format!("stable-{index}").as_bytes(), -(index as f64));
            }
            step += 1;
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for index in 0..3000 {
            assert!(
                seen.contains(format!("stable-{index}").as_bytes()),
                "stable-{index} missed"
            );
        }
    }
}
