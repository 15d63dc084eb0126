//! LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]

use bytes::Bytes;

use super::BitsRead;
use crate::command::{CommandError, CommandResult, Keys, Read, ReadContext, integer_arg};
use crate::protocol::{Frame, ReplyWriter};
use crate::store::MAX_STRING_LEN;

#[derive(Debug)]
pub struct Lcs {
    keys: [Bytes; 2],
    /// The options, parsed when the command runs: Redis checks the keys' types first.
    options: Vec<Bytes>,
}

pub fn parse(args: &[Bytes]) -> Result<Read, CommandError> {
    Ok(Read::Bits(BitsRead::Lcs(Lcs {
        keys: [args[1].clone(), args[2].clone()],
        options: args[3..].to_vec(),
    })))
}

/// What to answer.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    len: bool,
    idx: bool,
    min_match_len: u64,
    with_match_len: bool,
}

fn parse_options(options: &[Bytes]) -> Result<Options, CommandError> {
    let mut parsed = Options::default();
    let mut at = 0;
    while at < options.len() {
        let option = &options[at];
        let is = |known: &str| option.eq_ignore_ascii_case(known.as_bytes());
        if is("idx") {
            parsed.idx = true;
        } else if is("len") {
            parsed.len = true;
        } else if is("withmatchlen") {
            parsed.with_match_len = true;
        } else if is("minmatchlen") && at + 1 < options.len() {
            parsed.min_match_len = integer_arg(&options[at + 1])?.max(0) as u64;
            at += 1;
        } else {
            return Err(CommandError::Syntax);
        }
        at += 1;
    }
    if parsed.idx && parsed.len {
        return Err(CommandError::Message(
            "ERR If you want both the length and indexes, please just use IDX.".to_owned(),
        ));
    }
    Ok(parsed)
}

/// One common run: its ranges in `a` and in `b` (inclusive) and its length.
#[derive(Debug, PartialEq, Eq)]
struct Match {
    a: (u32, u32),
    b: (u32, u32),
    len: u32,
}

/// The longest common subsequence of `a` and `b` and, with `ranges`, its runs from the end of the
/// strings backwards, walked exactly as Redis's `lcsCommand` walks its table (so the chosen
/// subsequence and the ranges are the same).
fn longest_common(a: &[u8], b: &[u8], ranges: bool) -> Result<(Vec<u8>, Vec<Match>), CommandError> {
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1) * (blen as u64 + 1);
    if cells.saturating_mul(4) > MAX_STRING_LEN as u64 {
        return Err(CommandError::Message(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len"
                .to_owned(),
        ));
    }
    let mut table: Vec<u32> = Vec::new();
    table.try_reserve_exact(cells as usize).map_err(|_| {
        CommandError::Message(
            "ERR Insufficient memory, failed allocating transient memory for LCS".to_owned(),
        )
    })?;
    table.resize(cells as usize, 0);
    let at = |i: usize, j: usize| j + i * (blen + 1);
    for i in 1..=alen {
        for j in 1..=blen {
            table[at(i, j)] = if a[i - 1] == b[j - 1] {
                table[at(i - 1, j - 1)] + 1
            } else {
                table[at(i - 1, j)].max(table[at(i, j - 1)])
            };
        }
    }
    let total = table[at(alen, blen)] as usize;
    let mut result = vec![0; total];
    let mut matches = Vec::new();
    let mut idx = total;
    // `arange_start == alen` means no run is being tracked, as in Redis.
    let alen32 = alen as u32;
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen32, 0u32, 0u32, 0u32);
    let (mut i, mut j) = (alen, blen);
    while i > 0 && j > 0 {
        let mut emit = false;
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            let (i32_, j32) = (i as u32, j as u32);
            if a_start == alen32 {
                (a_start, a_end, b_start, b_end) = (i32_ - 1, i32_ - 1, j32 - 1, j32 - 1);
            } else if a_start == i32_ && b_start == j32 {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if table[at(i - 1, j)] > table[at(i, j - 1)] {
                i -= 1;
            } else {
                j -= 1;
            }
            if a_start != alen32 {
                emit = true;
            }
        }
        if emit {
            if ranges {
                matches.push(Match {
                    a: (a_start, a_end),
                    b: (b_start, b_end),
                    len: a_end.wrapping_sub(a_start).wrapping_add(1),
                });
            }
            a_start = alen32;
        }
    }
    Ok((result, matches))
}

impl Lcs {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    /// The subsequence (a bulk string), its length (LEN), or a map of its matching runs and its
    /// length (IDX). Missing keys are empty strings. The values are copied out and the table is
    /// built after the keys' locks are released.
    pub fn run(&self, context: &mut ReadContext<'_>, out: &mut ReplyWriter) -> CommandResult {
        let keys = self.keys.iter().map(|key| &key[..]);
        let looked_up = context.keyspace.with_keys(keys, context.now_ms, |db| {
            let now = db.now_ms;
            self.keys
                .iter()
                .map(|key| match db.store(key).get(key, now) {
                    Some(entry) => entry.string().map(|value| Some(value.to_vec())),
                    None => Ok(None),
                })
                .collect::<Vec<_>>()
        });
        for value in &looked_up {
            context.stats.hit_or_miss(matches!(value, Ok(Some(_))));
        }
        let mut values = Vec::with_capacity(2);
        for value in looked_up {
            let Ok(value) = value else {
                return Err(CommandError::Message(
                    "ERR The specified keys must contain string values".to_owned(),
                ));
            };
            values.push(value.unwrap_or_default());
        }
        let options = parse_options(&self.options)?;
        let (subsequence, matches) = longest_common(&values[0], &values[1], options.idx)?;
        if options.idx {
            let shown: Vec<Frame> = matches
                .iter()
                .filter(|found| {
                    options.min_match_len == 0 || u64::from(found.len) >= options.min_match_len
                })
                .map(|found| {
                    let mut frames = vec![
                        Frame::Array(vec![
                            Frame::Integer(i64::from(found.a.0)),
                            Frame::Integer(i64::from(found.a.1)),
                        ]),
                        Frame::Array(vec![
                            Frame::Integer(i64::from(found.b.0)),
                            Frame::Integer(i64::from(found.b.1)),
                        ]),
                    ];
                    if options.with_match_len {
                        frames.push(Frame::Integer(i64::from(found.len)));
                    }
                    Frame::Array(frames)
                })
                .collect();
            out.frame(&Frame::Map(vec![
                (Frame::bulk("matches"), Frame::Array(shown)),
                (Frame::bulk("len"), Frame::Integer(subsequence.len() as i64)),
            ]));
        } else if options.len {
            out.integer(subsequence.len() as i64);
        } else {
            out.bulk(&subsequence);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Found = ((u32, u32), (u32, u32), u32);

    fn ranges(a: &str, b: &str) -> Vec<Found> {
        longest_common(a.as_bytes(), b.as_bytes(), true)
            .unwrap()
            .1
            .into_iter()
            .map(|found| (found.a, found.b, found.len))
            .collect()
    }

    /// Observed on redis-server 7.0.15.
    #[test]
    fn subsequence_and_ranges_match_redis() {
        let (subsequence, _) = longest_common(b"ohmytext", b"mynewtext", false).unwrap();
        assert_eq!(subsequence, b"mytext");
        assert_eq!(
            ranges("ohmytext", "mynewtext"),
            [((4, 7), (5, 8), 4), ((2, 3), (0, 1), 2)]
        );
        assert_eq!(ranges("", "abc"), []);
        assert_eq!(longest_common(b"", b"", false).unwrap().0, b"");
    }

    #[test]
    fn options_follow_redis() {
        let args = |text: &str| -> Vec<Bytes> {
            text.split_whitespace()
                .map(|word| Bytes::from(word.to_owned()))
                .collect()
        };
        assert_eq!(
            parse_options(&args("idx minmatchlen -5 WITHMATCHLEN")).unwrap(),
            Options {
                len: false,
                idx: true,
                min_match_len: 0,
                with_match_len: true,
            }
        );
        assert!(matches!(
            parse_options(&args("minmatchlen")),
            Err(CommandError::Syntax)
        ));
        assert!(matches!(
            parse_options(&args("len idx")),
            Err(CommandError::Message(_))
        ));
    }
}
