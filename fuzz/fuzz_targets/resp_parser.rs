//! The RESP request parser on arbitrary bytes, fed in arbitrary pieces: it must answer with a
//! request, "incomplete" or a protocol error, never panic, never return an argument over the
//! limits, and never grow its bookkeeping past the request it holds.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ringcache_node::protocol::{Limits, ParseOutcome, Parser};

fuzz_target!(|data: &[u8]| {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    // Small limits, so the fuzzer reaches them.
    let limits = Limits {
        max_bulk_len: 256,
        max_array_len: 16,
        max_inline_len: 128,
        max_request_len: 1024,
        unauthenticated_max_array_len: 4,
        unauthenticated_max_bulk_len: 32,
    };
    let authenticated = control & 1 == 0;
    let piece = usize::from(control >> 1).max(1);
    let mut parser = Parser::new(limits);
    let mut buffer = BytesMut::new();
    for chunk in input.chunks(piece) {
        buffer.extend_from_slice(chunk);
        loop {
            match parser.parse(&mut buffer, authenticated) {
                Ok(ParseOutcome::Complete(args)) => {
                    assert!(args.len() <= limits.max_array_len.max(1) * 2 + 64);
                    for arg in &args {
                        assert!(arg.len() <= limits.max_bulk_len.max(limits.max_inline_len));
                    }
                }
                Ok(ParseOutcome::Incomplete) => break,
                // The connection replies with the error and closes: nothing more is read.
                Err(_) => return,
            }
        }
        assert!(buffer.len() <= limits.max_request_len + chunk.len());
    }
});
