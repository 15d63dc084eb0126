//! Finding where one RESP reply ends, so forwarded replies are passed through byte for byte.

/// Length of the first complete RESP2/RESP3 reply in `buffer`: `Ok(None)` if incomplete,
/// `Err` if the bytes are not RESP.
pub fn reply_length(buffer: &[u8]) -> Result<Option<usize>, String> {
    frame_end(buffer, 0, 0)
}

/// Nesting beyond this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

fn line_end(buffer: &[u8], start: usize) -> Option<usize> {
    buffer
        .get(start..)?
        .windows(2)
        .position(|window| window == b"\r\n")
        .map(|offset| start + offset)
}

fn frame_end(buffer: &[u8], start: usize, depth: usize) -> Result<Option<usize>, String> {
    if depth > MAX_DEPTH {
        return Err("reply nested too deeply".to_owned());
    }
    let Some(&kind) = buffer.get(start) else {
        return Ok(None);
    };
    let Some(end) = line_end(buffer, start + 1) else {
        return Ok(None);
    };
    let after_line = end + 2;
    let header = &buffer[start + 1..end];
    let count = || -> Result<i64, String> {
        std::str::from_utf8(header)
            .ok()
            .and_then(|text| text.parse::<i64>().ok())
            .ok_or_else(|| format!("bad length {:?}", String::from_utf8_lossy(header)))
    };
    match kind {
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Ok(Some(after_line)),
        b'$' | b'!' | b'=' => {
            let length = count()?;
            if length < 0 {
                return Ok(Some(after_line));
            }
            let total = after_line + length as usize + 2;
            Ok((buffer.len() >= total).then_some(total))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let length = count()?;
            if length < 0 {
                return Ok(Some(after_line));
            }
            let elements = if matches!(kind, b'%' | b'|') {
                length as usize * 2
            } else {
                length as usize
            };
            let mut position = after_line;
            for _ in 0..elements {
                match frame_end(buffer, position, depth + 1)? {
                    Some(next) => position = next,
                    None => return Ok(None),
                }
            }
            Ok(Some(position))
        }
        other => Err(format!("unexpected RESP type byte {other:#04x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_end_of_each_reply_type() {
        assert_eq!(reply_length(b"+OK\r\nextra"), Ok(Some(5)));
        assert_eq!(reply_length(b"$3\r\nabc\r\n"), Ok(Some(9)));
        assert_eq!(reply_length(b"$-1\r\n"), Ok(Some(5)));
        assert_eq!(reply_length(b"*2\r\n:1\r\n$1\r\nx\r\n"), Ok(Some(15)));
        assert_eq!(reply_length(b"%1\r\n+a\r\n:1\r\n"), Ok(Some(12)));
        assert_eq!(reply_length(b"_\r\n"), Ok(Some(3)));
    }

    #[test]
    fn incomplete_and_garbage() {
        assert_eq!(reply_length(b"$3\r\nab"), Ok(None));
        assert_eq!(reply_length(b"*2\r\n:1\r\n"), Ok(None));
        assert_eq!(reply_length(b""), Ok(None));
        assert!(reply_length(b"?x\r\n").is_err());
        assert!(reply_length(b"$x\r\n").is_err());
    }
}
