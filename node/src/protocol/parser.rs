//! Request parser: RESP arrays of bulk strings ("multibulk") and inline commands.
//!
//! The parser is written for hostile input. It only ever looks at bytes that have already arrived, it
//! validates every declared length against [`Limits`] before waiting for the data, and it never reserves
//! memory from a declared length: the only allocation proportional to a request is the argument list,
//! which is built after the whole request is in the buffer (so it is bounded by what the peer actually
//! sent). Arguments are `Bytes` slices of the read buffer, so a request is not copied.

use std::ops::Range;

use bytes::{Bytes, BytesMut};
use thiserror::Error;

/// Longest length line (`*123\r\n` / `$123\r\n`) accepted, as in Redis.
const MAX_LENGTH_LINE: usize = 32;

/// Size limits applied while parsing. The defaults match Redis's own (`proto-max-bulk-len`, the inline
/// buffer limit, the unauthenticated limits Redis 7 applies before `AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string accepted.
    pub max_bulk_len: usize,
    /// Largest number of arguments in one request.
    pub max_array_len: usize,
    /// Longest inline command line.
    pub max_inline_len: usize,
    /// Largest whole request (the query buffer limit).
    pub max_request_len: usize,
    /// Argument count accepted before the connection authenticated.
    pub unauthenticated_max_array_len: usize,
    /// Bulk length accepted before the connection authenticated.
    pub unauthenticated_max_bulk_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_array_len: 1024 * 1024,
            max_inline_len: 64 * 1024,
            max_request_len: 1024 * 1024 * 1024,
            unauthenticated_max_array_len: 10,
            unauthenticated_max_bulk_len: 16384,
        }
    }
}

/// A malformed request. The connection replies with the message and closes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    #[error("Protocol error: invalid multibulk length")]
    InvalidMultibulkLength,
    #[error("Protocol error: invalid bulk length")]
    InvalidBulkLength,
    #[error("Protocol error: unauthenticated multibulk length")]
    UnauthenticatedMultibulkLength,
    #[error("Protocol error: unauthenticated bulk length")]
    UnauthenticatedBulkLength,
    #[error("Protocol error: expected '$', got '{0}'")]
    ExpectedBulk(char),
    #[error("Protocol error: too big mbulk count string")]
    TooBigMultibulkCount,
    #[error("Protocol error: too big bulk count string")]
    TooBigBulkCount,
    #[error("Protocol error: too big inline request")]
    TooBigInline,
    #[error("Protocol error: too many arguments in inline request")]
    TooManyInlineArguments,
    #[error("Protocol error: unbalanced quotes in request")]
    UnbalancedQuotes,
    #[error("Protocol error: expected CRLF after bulk string")]
    MissingBulkTerminator,
    #[error("Protocol error: request exceeds the query buffer limit")]
    RequestTooLarge,
}

/// Result of one parse attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseOutcome {
    /// More bytes are needed; nothing was consumed.
    Incomplete,
    /// One request was taken off the buffer. An empty argument list (blank inline line, `*0`) is a no-op.
    Complete(Vec<Bytes>),
}

/// Incremental request parser; one per connection.
#[derive(Debug)]
pub struct Parser {
    limits: Limits,
    /// Argument positions of the request being scanned, reused between requests.
    ranges: Vec<Range<usize>>,
    /// Buffer length below which the pending request cannot be complete (skips rescanning a large
    /// bulk string on every read).
    needed: usize,
}

enum Scan {
    Incomplete { needed: usize },
    Multibulk { consumed: usize },
    Inline { line_end: usize, consumed: usize },
}

impl Parser {
    pub fn new(limits: Limits) -> Self {
        Parser {
            limits,
            ranges: Vec::new(),
            needed: 0,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes of argument bookkeeping currently held (for tests of boundedness).
    pub fn scratch_capacity(&self) -> usize {
        self.ranges.capacity()
    }

    /// Takes the next complete request off `buffer`, if there is one.
    pub fn parse(
        &mut self,
        buffer: &mut BytesMut,
        authenticated: bool,
    ) -> Result<ParseOutcome, ProtocolError> {
        if buffer.is_empty() || buffer.len() < self.needed {
            return Ok(ParseOutcome::Incomplete);
        }
        self.ranges.clear();
        match self.scan(buffer, authenticated)? {
            Scan::Incomplete { needed } => {
                if needed > self.limits.max_request_len
                    || buffer.len() > self.limits.max_request_len
                {
                    return Err(ProtocolError::RequestTooLarge);
                }
                self.needed = needed;
                Ok(ParseOutcome::Incomplete)
            }
            Scan::Multibulk { consumed } => {
                self.needed = 0;
                let request = buffer.split_to(consumed).freeze();
                let args = self
                    .ranges
                    .iter()
                    .map(|range| request.slice(range.clone()))
                    .collect();
                Ok(ParseOutcome::Complete(args))
            }
            Scan::Inline { line_end, consumed } => {
                self.needed = 0;
                let request = buffer.split_to(consumed).freeze();
                let args = split_inline(&request, line_end)?;
                // The argument limits hold whatever the framing.
                let most = if authenticated {
                    self.limits.max_array_len
                } else {
                    self.limits
                        .max_array_len
                        .min(self.limits.unauthenticated_max_array_len)
                };
                if args.len() > most {
                    return Err(ProtocolError::TooManyInlineArguments);
                }
                Ok(ParseOutcome::Complete(args))
            }
        }
    }

    fn scan(&mut self, buf: &[u8], authenticated: bool) -> Result<Scan, ProtocolError> {
        if buf[0] != b'*' {
            return scan_inline(buf, self.limits.max_inline_len);
        }
        let Some((count, mut pos)) =
            read_length_line(buf, 1).map_err(|()| ProtocolError::TooBigMultibulkCount)?
        else {
            return Ok(Scan::Incomplete {
                needed: buf.len() + 1,
            });
        };
        let count = count.ok_or(ProtocolError::InvalidMultibulkLength)?;
        if count > self.limits.max_array_len as i64 {
            return Err(ProtocolError::InvalidMultibulkLength);
        }
        if !authenticated && count > self.limits.unauthenticated_max_array_len as i64 {
            return Err(ProtocolError::UnauthenticatedMultibulkLength);
        }
        // `*0` and `*-1` are accepted and ignored, as Redis does.
        let count = usize::try_from(count).unwrap_or(0);
        for _ in 0..count {
            let Some(&marker) = buf.get(pos) else {
                return Ok(Scan::Incomplete { needed: pos + 1 });
            };
            if marker != b'$' {
                return Err(ProtocolError::ExpectedBulk(char::from(marker)));
            }
            let Some((length, after_line)) =
                read_length_line(buf, pos + 1).map_err(|()| ProtocolError::TooBigBulkCount)?
            else {
                return Ok(Scan::Incomplete {
                    needed: buf.len() + 1,
                });
            };
            let length = length.ok_or(ProtocolError::InvalidBulkLength)?;
            if length < 0 || length > self.limits.max_bulk_len as i64 {
                return Err(ProtocolError::InvalidBulkLength);
            }
            if !authenticated && length > self.limits.unauthenticated_max_bulk_len as i64 {
                return Err(ProtocolError::UnauthenticatedBulkLength);
            }
            let length = length as usize;
            let end = after_line + length;
            if buf.len() < end + 2 {
                return Ok(Scan::Incomplete { needed: end + 2 });
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(ProtocolError::MissingBulkTerminator);
            }
            self.ranges.push(after_line..end);
            pos = end + 2;
        }
        Ok(Scan::Multibulk { consumed: pos })
    }
}

/// Reads `<integer>\r\n` starting at `start`. `Ok(None)`: line not complete yet; `Err(())`: no line end
/// within [`MAX_LENGTH_LINE`]; `Ok(Some((None, _)))`: not an integer.
#[allow(clippy::type_complexity)]
fn read_length_line(buf: &[u8], start: usize) -> Result<Option<(Option<i64>, usize)>, ()> {
    let window_end = buf.len().min(start + MAX_LENGTH_LINE);
    let window = buf.get(start..window_end).unwrap_or_default();
    match window.iter().position(|&b| b == b'\r') {
        Some(offset) => {
            let cr = start + offset;
            match buf.get(cr + 1) {
                None => Ok(None),
                Some(b'\n') => Ok(Some((parse_length(&buf[start..cr]), cr + 2))),
                Some(_) => Ok(Some((None, cr + 2))),
            }
        }
        None if buf.len() >= start + MAX_LENGTH_LINE => Err(()),
        None => Ok(None),
    }
}

/// Strict decimal integer, as Redis's `string2ll`: optional '-', digits, no leading '+' or spaces.
fn parse_length(digits: &[u8]) -> Option<i64> {
    let (negative, digits) = match digits.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, digits),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    Some(if negative { -value } else { value })
}

fn scan_inline(buf: &[u8], max_inline_len: usize) -> Result<Scan, ProtocolError> {
    let window = &buf[..buf.len().min(max_inline_len)];
    match window.iter().position(|&b| b == b'\n') {
        Some(newline) => {
            let line_end = if newline > 0 && buf[newline - 1] == b'\r' {
                newline - 1
            } else {
                newline
            };
            Ok(Scan::Inline {
                line_end,
                consumed: newline + 1,
            })
        }
        None if buf.len() >= max_inline_len => Err(ProtocolError::TooBigInline),
        None => Ok(Scan::Incomplete {
            needed: buf.len() + 1,
        }),
    }
}

/// Splits an inline command line into arguments the way Redis's `sdssplitargs` does: whitespace
/// separated, with "double quotes" (supporting `\n \r \t \b \a \\ \" \xHH`) and 'single quotes'.
fn split_inline(request: &Bytes, line_end: usize) -> Result<Vec<Bytes>, ProtocolError> {
    let line = &request[..line_end];
    let mut args = Vec::new();
    let mut pos = 0;
    loop {
        while pos < line.len() && line[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= line.len() {
            return Ok(args);
        }
        match line[pos] {
            b'"' => {
                let mut current = Vec::new();
                pos += 1;
                loop {
                    let Some(&b) = line.get(pos) else {
                        return Err(ProtocolError::UnbalancedQuotes);
                    };
                    if b == b'\\' && line.get(pos + 1) == Some(&b'x') {
                        let high = line.get(pos + 2).and_then(|&c| (c as char).to_digit(16));
                        let low = line.get(pos + 3).and_then(|&c| (c as char).to_digit(16));
                        if let (Some(high), Some(low)) = (high, low) {
                            current.push((high * 16 + low) as u8);
                            pos += 4;
                            continue;
                        }
                    }
                    if b == b'\\' && pos + 1 < line.len() {
                        current.push(match line[pos + 1] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                        pos += 2;
                    } else if b == b'"' {
                        // The closing quote must be followed by a space or the end of the line.
                        if line.get(pos + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        pos += 1;
                        break;
                    } else {
                        current.push(b);
                        pos += 1;
                    }
                }
                args.push(Bytes::from(current));
            }
            b'\'' => {
                let mut current = Vec::new();
                pos += 1;
                loop {
                    let Some(&b) = line.get(pos) else {
                        return Err(ProtocolError::UnbalancedQuotes);
                    };
                    if b == b'\\' && line.get(pos + 1) == Some(&b'\'') {
                        current.push(b'\'');
                        pos += 2;
                    } else if b == b'\'' {
                        if line.get(pos + 1).is_some_and(|c| !c.is_ascii_whitespace()) {
                            return Err(ProtocolError::UnbalancedQuotes);
                        }
                        pos += 1;
                        break;
                    } else {
                        current.push(b);
                        pos += 1;
                    }
                }
                args.push(Bytes::from(current));
            }
            _ => {
                let start = pos;
                while pos < line.len() && !line[pos].is_ascii_whitespace() {
                    pos += 1;
                }
                args.push(request.slice(start..pos));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Bytes>>, ProtocolError> {
        let mut parser = Parser::new(Limits::default());
        let mut buffer = BytesMut::from(input);
        let mut requests = Vec::new();
        while let ParseOutcome::Complete(args) = parser.parse(&mut buffer, true)? {
            requests.push(args);
        }
        Ok(requests)
    }

    #[test]
    fn parses_pipelined_multibulk_requests() {
        let requests = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            requests,
            vec![
                vec![Bytes::from("GET"), Bytes::from("k")],
                vec![Bytes::from("PING")]
            ]
        );
    }

    #[test]
    fn incomplete_request_consumes_nothing() {
        let mut parser = Parser::new(Limits::default());
        let mut buffer = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$5\r\nab"[..]);
        assert_eq!(
            parser.parse(&mut buffer, true),
            Ok(ParseOutcome::Incomplete)
        );
        assert_eq!(buffer.len(), 19);
        buffer.extend_from_slice(b"cde\r\n");
        assert_eq!(
            parser.parse(&mut buffer, true),
            Ok(ParseOutcome::Complete(vec![
                Bytes::from("GET"),
                Bytes::from("abcde")
            ]))
        );
        assert!(buffer.is_empty());
    }

    #[test]
    fn binary_safe_bulk_strings() {
        let requests = parse_all(b"*1\r\n$4\r\n\r\n\0x\r\n").unwrap();
        assert_eq!(requests[0][0], Bytes::from_static(b"\r\n\0x"));
    }

    #[test]
    fn inline_commands_with_quotes() {
        let requests = parse_all(b"SET k \"a b\\x41\\n\" 'c d'\r\nPING\n\r\n").unwrap();
        assert_eq!(
            requests,
            vec![
                vec![
                    Bytes::from("SET"),
                    Bytes::from("k"),
                    Bytes::from("a bA\n"),
                    Bytes::from("c d")
                ],
                vec![Bytes::from("PING")],
                vec![],
            ]
        );
        assert_eq!(
            parse_all(b"SET \"k\r\n"),
            Err(ProtocolError::UnbalancedQuotes)
        );
    }

    #[test]
    fn rejects_bad_lengths_with_redis_messages() {
        assert_eq!(
            parse_all(b"*x\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$-2\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$abc\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n+OK\r\n"),
            Err(ProtocolError::ExpectedBulk('+'))
        );
        assert_eq!(
            parse_all(b"*99999999999\r\n"),
            Err(ProtocolError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$536870913\r\n"),
            Err(ProtocolError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$1\r\nab\r\n"),
            Err(ProtocolError::MissingBulkTerminator)
        );
        let long_count = [b"*".as_slice(), &[b'1'; 40]].concat();
        assert_eq!(
            parse_all(&long_count),
            Err(ProtocolError::TooBigMultibulkCount)
        );
        assert_eq!(
            parse_all(&vec![b'a'; 70_000]),
            Err(ProtocolError::TooBigInline)
        );
    }

    #[test]
    fn unauthenticated_connections_get_small_limits() {
        let mut parser = Parser::new(Limits::default());
        let mut buffer = BytesMut::from(&b"*11\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buffer, false),
            Err(ProtocolError::UnauthenticatedMultibulkLength)
        );
        let mut buffer = BytesMut::from(&b"*1\r\n$20000\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buffer, false),
            Err(ProtocolError::UnauthenticatedBulkLength)
        );
    }

    #[test]
    fn inline_requests_obey_the_argument_limits() {
        let limits = Limits {
            max_array_len: 8,
            unauthenticated_max_array_len: 4,
            ..Limits::default()
        };
        let mut parser = Parser::new(limits);
        let mut buffer = BytesMut::from(&b"a b c d e f g h i\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buffer, true),
            Err(ProtocolError::TooManyInlineArguments)
        );
        let mut buffer = BytesMut::from(&b"a b c d e f g h\r\n"[..]);
        assert!(matches!(
            parser.parse(&mut buffer, true),
            Ok(ParseOutcome::Complete(args)) if args.len() == 8
        ));
        let mut buffer = BytesMut::from(&b"a b c d e\r\n"[..]);
        assert_eq!(
            parser.parse(&mut buffer, false),
            Err(ProtocolError::TooManyInlineArguments)
        );
    }

    #[test]
    fn huge_declared_length_is_not_preallocated() {
        let mut parser = Parser::new(Limits::default());
        let mut buffer = BytesMut::from(&b"*1048576\r\n$536870912\r\nabc"[..]);
        assert_eq!(
            parser.parse(&mut buffer, true),
            Ok(ParseOutcome::Incomplete)
        );
        assert!(parser.scratch_capacity() < 16);
        assert!(buffer.capacity() < 1024);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_stay_bounded(
            chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..16),
            authenticated in any::<bool>(),
        ) {
            let limits = Limits { max_bulk_len: 100, max_array_len: 8, max_inline_len: 128,
                max_request_len: 1024, unauthenticated_max_array_len: 4, unauthenticated_max_bulk_len: 50 };
            let mut parser = Parser::new(limits);
            let mut buffer = BytesMut::new();
            let mut arrived = 0usize;
            'outer: for chunk in chunks {
                arrived += chunk.len();
                buffer.extend_from_slice(&chunk);
                loop {
                    match parser.parse(&mut buffer, authenticated) {
                        Ok(ParseOutcome::Complete(args)) => {
                            prop_assert!(args.len() <= limits.max_array_len);
                            prop_assert!(args.iter().all(|arg| arg.len() <= limits.max_bulk_len.max(limits.max_inline_len)));
                        }
                        Ok(ParseOutcome::Incomplete) => break,
                        Err(_) => break 'outer,
                    }
                }
                // Bookkeeping never exceeds what arrived, whatever lengths were declared.
                prop_assert!(parser.scratch_capacity() <= limits.max_array_len.max(4));
                prop_assert!(buffer.len() <= arrived);
                prop_assert!(buffer.len() <= limits.max_request_len + 64);
            }
        }

        #[test]
        fn well_formed_requests_round_trip(args in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..40), 1..8), split in 0usize..400) {
            let mut encoded = format!("*{}\r\n", args.len()).into_bytes();
            for arg in &args {
                encoded.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                encoded.extend_from_slice(arg);
                encoded.extend_from_slice(b"\r\n");
            }
            let split = split.min(encoded.len());
            let mut parser = Parser::new(Limits::default());
            let mut buffer = BytesMut::from(&encoded[..split]);
            let first = parser.parse(&mut buffer, true).unwrap();
            let parsed = match first {
                ParseOutcome::Complete(parsed) => parsed,
                ParseOutcome::Incomplete => {
                    buffer.extend_from_slice(&encoded[split..]);
                    match parser.parse(&mut buffer, true).unwrap() {
                        ParseOutcome::Complete(parsed) => parsed,
                        ParseOutcome::Incomplete => panic!("complete request reported incomplete"),
                    }
                }
            };
            let expected: Vec<Bytes> = args.into_iter().map(Bytes::from).collect();
            prop_assert_eq!(parsed, expected);
        }
    }
}
