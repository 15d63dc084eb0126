//! [`decode`]: a reply's bytes back into a [`Frame`]. Replies are written straight into output
//! buffers; a script's `redis.call` needs them as values, so the commands it calls write RESP3
//! (which keeps every type apart) and the bytes are decoded here.

use bytes::Bytes;

use super::Frame;

/// The attribute a script's writer puts before ordered pairs (see `ReplyWriter::for_script`).
pub const PAIRS_MARK: &[u8] = b"|1\r\n+pairs\r\n_\r\n";

/// Nesting beyond this is refused.
const MAX_DEPTH: usize = 64;

/// The first complete reply in `bytes` and its length; `None` when the bytes are not one
/// complete RESP2/RESP3 reply.
pub fn decode(bytes: &[u8]) -> Option<(Frame, usize)> {
    decode_at(bytes, 0, 0)
}

fn line(bytes: &[u8], start: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(start..)?;
    let end = rest.windows(2).position(|window| window == b"\r\n")?;
    Some((&rest[..end], start + end + 2))
}

fn number(text: &[u8]) -> Option<i64> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn decode_at(bytes: &[u8], start: usize, depth: usize) -> Option<(Frame, usize)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let kind = *bytes.get(start)?;
    let (header, after) = line(bytes, start + 1)?;
    let text = || String::from_utf8_lossy(header).into_owned();
    let elements = |count: usize, after: usize| -> Option<(Vec<Frame>, usize)> {
        let mut items = Vec::with_capacity(count.min(1024));
        let mut at = after;
        for _ in 0..count {
            let (item, next) = decode_at(bytes, at, depth + 1)?;
            items.push(item);
            at = next;
        }
        Some((items, at))
    };
    match kind {
        b'+' if header == b"OK" => Some((Frame::Ok, after)),
        b'+' => Some((Frame::Simple(text()), after)),
        b'-' => Some((Frame::Error(text()), after)),
        b':' => Some((Frame::Integer(number(header)?), after)),
        b'(' => Some((Frame::Simple(text()), after)),
        b'_' => Some((Frame::Null, after)),
        b'#' => Some((Frame::Boolean(header == b"t"), after)),
        b',' => {
            let value = match header {
                b"inf" => f64::INFINITY,
                b"-inf" => f64::NEG_INFINITY,
                _ => std::str::from_utf8(header).ok()?.parse().ok()?,
            };
            Some((Frame::Double(value), after))
        }
        b'$' | b'=' | b'!' => {
            let length = number(header)?;
            if length < 0 {
                return Some((Frame::Null, after));
            }
            let end = after.checked_add(usize::try_from(length).ok()?)?;
            let body = bytes.get(after..end)?;
            if bytes.get(end..end + 2)? != b"\r\n" {
                return None;
            }
            let frame = match kind {
                b'!' => Frame::Error(String::from_utf8_lossy(body).into_owned()),
                // Verbatim: "txt:" then the text.
                b'=' => Frame::Bulk(Bytes::copy_from_slice(body.get(4..).unwrap_or_default())),
                _ => Frame::Bulk(Bytes::copy_from_slice(body)),
            };
            Some((frame, end + 2))
        }
        b'*' | b'~' | b'>' => {
            let count = number(header)?;
            if count < 0 {
                return Some((Frame::NullArray, after));
            }
            let (items, next) = elements(usize::try_from(count).ok()?, after)?;
            Some((
                if kind == b'~' {
                    Frame::Set(items)
                } else {
                    Frame::Array(items)
                },
                next,
            ))
        }
        b'%' | b'|' => {
            let count = usize::try_from(number(header)?).ok()?;
            let (items, next) = elements(count.checked_mul(2)?, after)?;
            let mut items = items.into_iter();
            let mut pairs = Vec::with_capacity(count);
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                pairs.push((key, value));
            }
            if kind == b'|' {
                // An attribute precedes the reply it describes.
                let (described, end) = decode_at(bytes, next, depth + 1)?;
                let marks_pairs = pairs
                    .first()
                    .is_some_and(|(key, _)| *key == Frame::Simple("pairs".to_owned()));
                return Some(match described {
                    Frame::Array(items) if marks_pairs => {
                        let mut paired = Vec::with_capacity(items.len());
                        for item in items {
                            match item {
                                Frame::Array(pair) if pair.len() == 2 => {
                                    let mut pair = pair.into_iter();
                                    if let (Some(first), Some(second)) = (pair.next(), pair.next())
                                    {
                                        paired.push((first, second));
                                    }
                                }
                                _ => return None,
                            }
                        }
                        (Frame::Pairs(paired), end)
                    }
                    other => (other, end),
                });
            }
            Some((Frame::Map(pairs), next))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ReplyWriter;

    #[test]
    fn what_the_writer_writes_in_resp3_decodes_to_the_same_frame() {
        let frames = [
            Frame::Ok,
            Frame::Simple("QUEUED".into()),
            Frame::Error("ERR bad".into()),
            Frame::Integer(-7),
            Frame::bulk("a\r\nb"),
            Frame::Null,
            Frame::Array(vec![
                Frame::Integer(1),
                Frame::Array(vec![Frame::bulk("x")]),
            ]),
            Frame::Map(vec![(Frame::bulk("k"), Frame::Integer(2))]),
            Frame::Set(vec![Frame::bulk("m")]),
            Frame::Boolean(true),
            Frame::Double(1.5),
            Frame::Pairs(vec![(Frame::bulk("a"), Frame::Double(1.0))]),
        ];
        for frame in frames {
            let mut out = ReplyWriter::for_script();
            out.frame(&frame);
            let (decoded, used) = decode(out.buffer()).expect("decodes");
            assert_eq!(decoded, frame);
            assert_eq!(used, out.len());
        }
    }

    #[test]
    fn incomplete_or_foreign_bytes_decode_to_nothing() {
        assert!(decode(b"$5\r\nab").is_none());
        assert!(decode(b"?x\r\n").is_none());
        assert!(decode(b"*2\r\n:1\r\n").is_none());
    }
}
