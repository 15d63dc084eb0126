//! What a blocking command waits for ([`Blocking`]), and how its timeout argument is read (lists,
//! and the blocking sorted-set pops, which wait the same way).

use std::time::Duration;

use bytes::Bytes;

use crate::command::CommandError;
use crate::store::Keyspace;

/// The wait of a blocking command (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP): the keys whose
/// lists it pops from, and how long it waits for one of them to get elements.
#[derive(Debug)]
pub struct Blocking<'a> {
    keys: &'a [Bytes],
    timeout_ms: u64,
}

impl<'a> Blocking<'a> {
    pub(crate) fn new(keys: &'a [Bytes], timeout_ms: u64) -> Self {
        Blocking { keys, timeout_ms }
    }

    /// The keys it pops from (for BLMOVE, the source alone).
    pub fn keys(&self) -> impl Iterator<Item = &'a [u8]> + use<'a> {
        self.keys.iter().map(|key| &key[..])
    }

    /// How long to wait; `None` waits forever (a timeout of 0).
    pub fn timeout(&self) -> Option<Duration> {
        (self.timeout_ms > 0).then(|| Duration::from_millis(self.timeout_ms))
    }

    /// Whether an attempt would do something now: one of the keys exists, so it holds a list
    /// with elements (an emptied list is deleted) or a value of another type (the attempt
    /// answers WRONGTYPE). A cluster leader asks this before proposing the attempt, so waiting
    /// adds nothing to the partition's log.
    pub fn ready(&self, keyspace: &Keyspace, now_ms: u64) -> bool {
        self.keys()
            .any(|key| keyspace.with_key(key, |store| store.peek(key, now_ms).is_some()))
    }
}

/// A timeout in seconds as Redis 7.0 reads it (`getTimeoutFromObjectOrReply`): a float, turned
/// into milliseconds rounding up; 0 waits forever. Redis converts the milliseconds to a `long
/// long`, which turns anything beyond its range (infinity included) into a negative number: so
/// does this.
pub(crate) fn parse_timeout(arg: &[u8]) -> Result<u64, CommandError> {
    let negative = || CommandError::Message("ERR timeout is negative".to_owned());
    // Whole seconds exactly (Redis computes in long double, precise beyond f64 for them).
    if let Some(seconds) = crate::store::parse_integer(arg) {
        let milliseconds = i128::from(seconds) * 1000;
        return u64::try_from(milliseconds)
            .ok()
            .filter(|&milliseconds| milliseconds <= i64::MAX as u64)
            .ok_or_else(negative);
    }
    let seconds = crate::store::parse_float(arg).ok_or_else(|| {
        CommandError::Message("ERR timeout is not a float or out of range".to_owned())
    })?;
    let milliseconds = if seconds == 0.0 && positive_underflow(arg) {
        // Below f64's range but not below Redis's long double: a tiny positive wait, 1 ms.
        1.0
    } else {
        (seconds * 1000.0).ceil()
    };
    // `-0.0` (a tiny negative timeout rounded up) counts as 0, as in Redis.
    if !(0.0..9_223_372_036_854_775_808.0).contains(&milliseconds) {
        return Err(negative());
    }
    Ok(milliseconds as u64)
}

/// A positive number written with a non-zero digit that parsed as 0 (such as `1e-400`).
fn positive_underflow(arg: &[u8]) -> bool {
    let mantissa = arg.split(|&byte| byte == b'e' || byte == b'E').next();
    arg.first() != Some(&b'-')
        && mantissa.is_some_and(|digits| digits.iter().any(|byte| (b'1'..=b'9').contains(byte)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout(text: &str) -> Result<u64, String> {
        parse_timeout(text.as_bytes()).map_err(|error| error.to_string())
    }

    #[test]
    fn timeouts_read_like_redis() {
        let not_float = Err("ERR timeout is not a float or out of range".to_owned());
        let negative = Err("ERR timeout is negative".to_owned());
        assert_eq!(timeout("0"), Ok(0));
        assert_eq!(timeout("1"), Ok(1000));
        assert_eq!(timeout("0.1"), Ok(100));
        assert_eq!(timeout(".5"), Ok(500));
        assert_eq!(timeout("+1"), Ok(1000));
        assert_eq!(timeout("1e-5"), Ok(1), "rounded up");
        assert_eq!(timeout("0.0009"), Ok(1));
        assert_eq!(timeout("1e-400"), Ok(1));
        assert_eq!(timeout("-0.0001"), Ok(0), "rounds up to 0: forever");
        assert_eq!(timeout("-1e-400"), Ok(0));
        assert_eq!(timeout("9223372036854775"), Ok(9_223_372_036_854_775_000));
        assert_eq!(timeout("9223372036854776"), negative);
        assert_eq!(timeout("1e30"), negative);
        assert_eq!(timeout("inf"), negative);
        assert_eq!(timeout("-inf"), negative);
        assert_eq!(timeout("-1"), negative);
        assert_eq!(timeout("nan"), not_float);
        assert_eq!(timeout("x"), not_float);
        assert_eq!(timeout(""), not_float);
        assert_eq!(timeout(" 1"), not_float);
        assert_eq!(timeout("1 "), not_float);
        assert_eq!(timeout("1.5e"), not_float);
    }
}
