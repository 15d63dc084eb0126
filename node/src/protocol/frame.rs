//! Reply values that are built as a tree before encoding (HELLO, CONFIG GET, COMMAND, …). Hot-path
//! replies (GET, SET, INCR) are written straight into the output buffer by [`super::ReplyWriter`]
//! without building a `Frame`.

use bytes::Bytes;

/// A reply in RESP3's vocabulary; [`super::ReplyWriter::frame`] lowers RESP3-only types for RESP2
/// clients (maps become flat arrays, sets become arrays, nulls become `$-1`, booleans become 1/0,
/// doubles and verbatim strings become bulk strings).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// `+OK`, the most common reply, without an allocation.
    Ok,
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Bytes),
    Null,
    NullArray,
    Array(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    Set(Vec<Frame>),
    Boolean(bool),
    Double(f64),
    /// A verbatim string with its three-letter format (`txt`, `mkd`).
    Verbatim(&'static str, Bytes),
    /// Ordered pairs (a sorted set's members with their scores, as ZPOPMIN with a count replies):
    /// an array of two-element arrays in RESP3, one flat array of both in RESP2.
    Pairs(Vec<(Frame, Frame)>),
}

impl Frame {
    pub fn bulk(value: impl Into<Bytes>) -> Frame {
        Frame::Bulk(value.into())
    }

    pub fn simple(value: impl Into<String>) -> Frame {
        Frame::Simple(value.into())
    }

    /// A map from string keys, the common shape of HELLO and COMMAND DOCS.
    pub fn map<I, K>(entries: I) -> Frame
    where
        I: IntoIterator<Item = (K, Frame)>,
        K: Into<Bytes>,
    {
        Frame::Map(
            entries
                .into_iter()
                .map(|(key, value)| (Frame::Bulk(key.into()), value))
                .collect(),
        )
    }
}
