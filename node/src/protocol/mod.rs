//! The Redis serialization protocol (RESP2 and RESP3).
//!
//! Requests always arrive as RESP2-style arrays of bulk strings (or as "inline" text lines, which is what
//! `telnet` and `redis-cli` in some modes send); replies are written in the version the connection
//! negotiated with `HELLO`. The parser never trusts a declared length: it only looks at bytes that have
//! arrived and rejects lengths beyond [`Limits`] before buffering them.

pub mod decode;
pub mod frame;
pub mod parser;
pub mod writer;

pub use frame::Frame;
pub use parser::{Limits, ParseOutcome, Parser, ProtocolError};
pub use writer::{Protocol, ReplyWriter};
