//! Reply encoding for the protocol version a connection negotiated.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

use super::Frame;

/// The protocol version of a connection: RESP2 until `HELLO 3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Resp2,
    Resp3,
}

impl Protocol {
    pub fn number(self) -> i64 {
        match self {
            Protocol::Resp2 => 2,
            Protocol::Resp3 => 3,
        }
    }
}

/// Appends encoded replies to one output buffer, so a pipelined batch is written with one syscall.
#[derive(Debug)]
pub struct ReplyWriter {
    buffer: BytesMut,
    protocol: Protocol,
    /// Replies to a script's `redis.call`: pairs are marked (see [`ReplyWriter::for_script`]).
    mark_pairs: bool,
}

impl ReplyWriter {
    pub fn new(protocol: Protocol) -> Self {
        ReplyWriter {
            buffer: BytesMut::with_capacity(16 * 1024),
            protocol,
            mark_pairs: false,
        }
    }

    /// A RESP3 writer for the replies a script's `redis.call` gets back as values
    /// ([`super::decode::decode`]): ordered pairs (WITHSCORES) are preceded by the attribute
    /// `pairs`, so they decode to [`Frame::Pairs`] and reach the script flat, as in RESP2,
    /// unless it asked for RESP3.
    pub fn for_script() -> Self {
        ReplyWriter {
            buffer: BytesMut::with_capacity(256),
            protocol: Protocol::Resp3,
            mark_pairs: true,
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    pub fn set_protocol(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    pub fn buffer(&self) -> &BytesMut {
        &self.buffer
    }

    pub fn buffer_mut(&mut self) -> &mut BytesMut {
        &mut self.buffer
    }

    pub fn len(&self) -> usize {
        self.buffer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    fn line(&mut self, prefix: u8, number: i64) {
        self.buffer.put_u8(prefix);
        let mut digits = itoa::Buffer::new();
        self.buffer
            .extend_from_slice(digits.format(number).as_bytes());
        self.buffer.extend_from_slice(b"\r\n");
    }

    pub fn simple(&mut self, text: &str) {
        self.buffer.put_u8(b'+');
        self.buffer.extend_from_slice(text.as_bytes());
        self.buffer.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buffer.extend_from_slice(b"+OK\r\n");
    }

    /// An error reply; `message` starts with its code (`ERR`, `WRONGTYPE`, `NOAUTH`, …). Line breaks
    /// are replaced so a client-supplied string can never break the framing.
    pub fn error(&mut self, message: &str) {
        self.buffer.put_u8(b'-');
        for &b in message.as_bytes() {
            self.buffer
                .put_u8(if b == b'\r' || b == b'\n' { b' ' } else { b });
        }
        self.buffer.extend_from_slice(b"\r\n");
    }

    pub fn integer(&mut self, value: i64) {
        self.line(b':', value);
    }

    pub fn bulk(&mut self, value: &[u8]) {
        self.line(b'$', value.len() as i64);
        self.buffer.extend_from_slice(value);
        self.buffer.extend_from_slice(b"\r\n");
    }

    pub fn null(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buffer.extend_from_slice(b"$-1\r\n"),
            Protocol::Resp3 => self.buffer.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn null_array(&mut self) {
        match self.protocol {
            Protocol::Resp2 => self.buffer.extend_from_slice(b"*-1\r\n"),
            Protocol::Resp3 => self.buffer.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn optional_bulk(&mut self, value: Option<&[u8]>) {
        match value {
            Some(value) => self.bulk(value),
            None => self.null(),
        }
    }

    pub fn array_header(&mut self, len: usize) {
        self.line(b'*', len as i64);
    }

    /// An out-of-band push (Pub/Sub confirmations and messages): `>n` in RESP3, an array in
    /// RESP2.
    pub fn push_header(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.line(b'*', len as i64),
            Protocol::Resp3 => self.line(b'>', len as i64),
        }
    }

    /// A map header: `%n` in RESP3, an array of `2n` elements in RESP2.
    pub fn map_header(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.line(b'*', 2 * len as i64),
            Protocol::Resp3 => self.line(b'%', len as i64),
        }
    }

    pub fn set_header(&mut self, len: usize) {
        match self.protocol {
            Protocol::Resp2 => self.line(b'*', len as i64),
            Protocol::Resp3 => self.line(b'~', len as i64),
        }
    }

    /// The header of `len` ordered pairs (WITHSCORES replies): an array of `len` two-element arrays
    /// in RESP3 (each opened by [`ReplyWriter::pair_header`]), a flat array of `2 len` in RESP2.
    pub fn pairs_header(&mut self, len: usize) {
        if self.mark_pairs {
            self.buffer.extend_from_slice(super::decode::PAIRS_MARK);
        }
        match self.protocol {
            Protocol::Resp2 => self.line(b'*', 2 * len as i64),
            Protocol::Resp3 => self.line(b'*', len as i64),
        }
    }

    /// Opens one pair after [`ReplyWriter::pairs_header`]: `*2` in RESP3, nothing in RESP2.
    pub fn pair_header(&mut self) {
        if self.protocol == Protocol::Resp3 {
            self.buffer.extend_from_slice(b"*2\r\n");
        }
    }

    /// A text blob: a verbatim string in RESP3 (as Redis does for INFO), a bulk string in RESP2.
    pub fn verbatim(&mut self, format: &str, text: &[u8]) {
        match self.protocol {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.line(b'=', (text.len() + 4) as i64);
                self.buffer.extend_from_slice(format.as_bytes());
                self.buffer.put_u8(b':');
                self.buffer.extend_from_slice(text);
                self.buffer.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn boolean(&mut self, value: bool) {
        match self.protocol {
            Protocol::Resp2 => self.integer(i64::from(value)),
            Protocol::Resp3 => {
                self.buffer
                    .extend_from_slice(if value { b"#t\r\n" } else { b"#f\r\n" })
            }
        }
    }

    /// A double as Redis 7.0 sends it: `%.17g` text (see [`format_g17`]) as a bulk string in
    /// RESP2, a `,` double in RESP3.
    pub fn double(&mut self, value: f64) {
        let text = format_g17(value);
        let text = text.as_bytes();
        match self.protocol {
            Protocol::Resp2 => self.bulk(text),
            Protocol::Resp3 => {
                self.buffer.put_u8(b',');
                self.buffer.extend_from_slice(text);
                self.buffer.extend_from_slice(b"\r\n");
            }
        }
    }

    pub fn frame(&mut self, frame: &Frame) {
        match frame {
            Frame::Ok => self.ok(),
            Frame::Simple(text) => self.simple(text),
            Frame::Error(text) => self.error(text),
            Frame::Integer(value) => self.integer(*value),
            Frame::Bulk(value) => self.bulk(value),
            Frame::Null => self.null(),
            Frame::NullArray => self.null_array(),
            Frame::Array(items) => {
                self.array_header(items.len());
                items.iter().for_each(|item| self.frame(item));
            }
            Frame::Set(items) => {
                self.set_header(items.len());
                items.iter().for_each(|item| self.frame(item));
            }
            Frame::Map(entries) => {
                self.map_header(entries.len());
                for (key, value) in entries {
                    self.frame(key);
                    self.frame(value);
                }
            }
            Frame::Boolean(value) => self.boolean(*value),
            Frame::Double(value) => self.double(*value),
            Frame::Verbatim(format, text) => self.verbatim(format, text),
            Frame::Pairs(pairs) => {
                self.pairs_header(pairs.len());
                for (first, second) in pairs {
                    self.pair_header();
                    self.frame(first);
                    self.frame(second);
                }
            }
        }
    }

    /// Takes the encoded bytes, leaving the writer empty (its allocation is kept when possible).
    pub fn take(&mut self) -> BytesMut {
        self.buffer.split()
    }

    pub fn clear(&mut self) {
        self.buffer.clear();
    }
}

/// Formats a double the way Redis replies with it: integers without a fraction, `inf`/`-inf`.
pub fn format_double(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if value.is_nan() {
        return "nan".into();
    }
    if value == value.trunc() && value.abs() < 1e17 {
        return format!("{}", value as i64);
    }
    format!("{value}")
}

/// A double as Redis 7.0 replies it (`addReplyDouble`, RESP2 bulk string and RESP3 double alike):
/// C's `%.17g`, infinities as `inf`/`-inf`. For example 1 → `1`, 0.1 → `0.10000000000000001`,
/// 3e20 → `3e+20`, 1e-7 → `9.9999999999999995e-08`, -0 → `-0`. (Sorted-set scores; not
/// INCRBYFLOAT, whose value is text formatted by [`format_double`].)
pub fn format_g17(value: f64) -> G17 {
    let mut buf = G17::new();
    format_into(value, &mut buf);
    buf
}

/// The longest `%.17g` output is 24 bytes (`-2.2250738585072014e-308`).
const FORMAT_BUF: usize = 32;

/// A double formatted by [`format_g17`] in a fixed buffer (no allocation); overflowing it
/// (impossible for the formats written here) truncates instead of panicking.
pub struct G17 {
    bytes: [u8; FORMAT_BUF],
    len: usize,
}

impl G17 {
    fn new() -> Self {
        G17 {
            bytes: [0; FORMAT_BUF],
            len: 0,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, byte: u8) {
        if let Some(slot) = self.bytes.get_mut(self.len) {
            *slot = byte;
            self.len += 1;
        }
    }

    fn push_all(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.push(byte);
        }
    }
}

impl std::fmt::Write for G17 {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        if self.len + text.len() > FORMAT_BUF {
            return Err(std::fmt::Error);
        }
        self.push_all(text.as_bytes());
        Ok(())
    }
}

fn format_into(score: f64, out: &mut G17) {
    if score.is_nan() {
        // Never stored (inserts reject NaN); glibc's spelling.
        out.push_all(b"nan");
        return;
    }
    if score.is_infinite() {
        out.push_all(if score > 0.0 { b"inf" } else { b"-inf" });
        return;
    }
    if score.fract() == 0.0 && score.abs() < 1e17 {
        // Fast path for the common integral scores: below 1e17 `%.17g` prints every digit, no
        // exponent, and the value fits an i64 exactly.
        if score == 0.0 && score.is_sign_negative() {
            out.push_all(b"-0");
        } else {
            let _ = write!(out, "{}", score as i64);
        }
        return;
    }
    // Rust prints the exactly rounded 17 significant digits (ties to even, as glibc); `%g` then
    // picks fixed or exponent notation from the decimal exponent and strips trailing zeros.
    let mut sci = G17::new();
    if write!(sci, "{score:.16e}").is_err() {
        return;
    }
    let text = sci.as_bytes();
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let Some(e_at) = text.iter().position(|&b| b == b'e') else {
        return;
    };
    let (mantissa, exponent) = (&text[..e_at], &text[e_at + 1..]);
    let mut digits = [b'0'; 17];
    let mut count = 0;
    for &b in mantissa.iter().filter(|b| b.is_ascii_digit()) {
        if let Some(slot) = digits.get_mut(count) {
            *slot = b;
            count += 1;
        }
    }
    let exp: i32 = std::str::from_utf8(exponent)
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    if negative {
        out.push(b'-');
    }
    let significant = {
        let mut end = digits.len();
        while end > 1 && digits[end - 1] == b'0' {
            end -= 1;
        }
        &digits[..end]
    };
    if !(-4..17).contains(&exp) {
        out.push(significant[0]);
        if significant.len() > 1 {
            out.push(b'.');
            out.push_all(&significant[1..]);
        }
        out.push(b'e');
        out.push(if exp < 0 { b'-' } else { b'+' });
        let magnitude = exp.unsigned_abs();
        if magnitude < 10 {
            out.push(b'0');
        }
        let _ = write!(out, "{magnitude}");
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        out.push_all(&digits[..int_len]);
        if significant.len() > int_len {
            out.push(b'.');
            out.push_all(&significant[int_len..]);
        }
    } else {
        out.push_all(b"0.");
        for _ in 0..(-exp - 1) {
            out.push(b'0');
        }
        out.push_all(significant);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn encode(protocol: Protocol, frame: &Frame) -> Vec<u8> {
        let mut writer = ReplyWriter::new(protocol);
        writer.frame(frame);
        writer.take().to_vec()
    }

    #[test]
    fn maps_lower_to_flat_arrays_in_resp2() {
        let frame = Frame::map([("proto", Frame::Integer(2))]);
        assert_eq!(
            encode(Protocol::Resp2, &frame),
            b"*2\r\n$5\r\nproto\r\n:2\r\n"
        );
        assert_eq!(
            encode(Protocol::Resp3, &frame),
            b"%1\r\n$5\r\nproto\r\n:2\r\n"
        );
    }

    #[test]
    fn nulls_booleans_doubles_and_verbatim_per_version() {
        assert_eq!(encode(Protocol::Resp2, &Frame::Null), b"$-1\r\n");
        assert_eq!(encode(Protocol::Resp3, &Frame::Null), b"_\r\n");
        assert_eq!(encode(Protocol::Resp3, &Frame::Boolean(true)), b"#t\r\n");
        assert_eq!(encode(Protocol::Resp2, &Frame::Boolean(true)), b":1\r\n");
        assert_eq!(encode(Protocol::Resp3, &Frame::Double(1.5)), b",1.5\r\n");
        assert_eq!(encode(Protocol::Resp2, &Frame::Double(3.0)), b"$1\r\n3\r\n");
        assert_eq!(
            encode(Protocol::Resp3, &Frame::Verbatim("txt", Bytes::from("hi"))),
            b"=6\r\ntxt:hi\r\n"
        );
        assert_eq!(
            encode(Protocol::Resp2, &Frame::Verbatim("txt", Bytes::from("hi"))),
            b"$2\r\nhi\r\n"
        );
    }

    #[test]
    fn doubles_are_written_as_redis_7_0_does() {
        for (value, text) in [
            (1.1, "1.1000000000000001"),
            (2.0, "2"),
            (-0.0, "-0"),
            (3e20, "3e+20"),
            (1e-7, "9.9999999999999995e-08"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            let resp3 = format!(",{text}\r\n");
            assert_eq!(
                encode(Protocol::Resp3, &Frame::Double(value)),
                resp3.as_bytes()
            );
            let resp2 = format!("${}\r\n{text}\r\n", text.len());
            assert_eq!(
                encode(Protocol::Resp2, &Frame::Double(value)),
                resp2.as_bytes()
            );
        }
        // INCRBYFLOAT's text keeps its shortest form.
        assert_eq!(format_double(1.1), "1.1");
    }

    #[test]
    fn pairs_nest_in_resp3_and_flatten_in_resp2() {
        let frame = Frame::Pairs(vec![
            (Frame::bulk("a"), Frame::Double(1.5)),
            (Frame::bulk("b"), Frame::Double(2.0)),
        ]);
        assert_eq!(
            encode(Protocol::Resp2, &frame),
            b"*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n"
        );
        assert_eq!(
            encode(Protocol::Resp3, &frame),
            b"*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,2\r\n"
        );
        assert_eq!(
            encode(Protocol::Resp3, &Frame::Pairs(Vec::new())),
            b"*0\r\n"
        );
    }

    #[test]
    fn error_messages_cannot_break_framing() {
        assert_eq!(
            encode(Protocol::Resp2, &Frame::Error("ERR a\r\nb".into())),
            b"-ERR a  b\r\n"
        );
    }
}
