//! Reply encoding for the protocol version a connection negotiated.

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
}

impl ReplyWriter {
    pub fn new(protocol: Protocol) -> Self {
        ReplyWriter {
            buffer: BytesMut::with_capacity(16 * 1024),
            protocol,
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

    pub fn double(&mut self, value: f64) {
        let text = format_double(value);
        match self.protocol {
            Protocol::Resp2 => self.bulk(text.as_bytes()),
            Protocol::Resp3 => {
                self.buffer.put_u8(b',');
                self.buffer.extend_from_slice(text.as_bytes());
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
    fn error_messages_cannot_break_framing() {
        assert_eq!(
            encode(Protocol::Resp2, &Frame::Error("ERR a\r\nb".into())),
            b"-ERR a  b\r\n"
        );
    }
}
