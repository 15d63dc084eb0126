//! Measuring one request in the executor: its time, and whether its reply is an error and of
//! which kind (a refused call or a failed one, as Redis tells them apart).

use std::time::Instant;

use bytes::Bytes;

use super::commands::SLOTS;
use crate::command::CommandSpec;
use crate::protocol::ReplyWriter;

/// Errors Redis counts as `rejected_calls` (refused before the command ran) rather than
/// `failed_calls`: by code, plus the arity error (`ERR wrong number of arguments`).
const REJECTING_CODES: &[&str] = &[
    "NOAUTH",
    "NOPERM",
    "OOM",
    "MOVED",
    "ASK",
    "CROSSSLOT",
    "CLUSTERDOWN",
    "TRYAGAIN",
    "READONLY",
    "LOADING",
    "MASTERDOWN",
    "MISCONF",
];

/// Measures one request in the executor: started before the command is looked up, finished
/// after its reply is written.
pub struct Measure {
    started: Instant,
    reply_from: usize,
}

impl Measure {
    pub fn start(out: &ReplyWriter) -> Measure {
        Measure {
            started: Instant::now(),
            reply_from: out.len(),
        }
    }

    /// Counts the request: a call of `spec` (when the command exists) taking the time since
    /// [`Measure::start`], and, when the reply it wrote is an error, that error by code.
    pub fn finish(
        self,
        local: &mut super::LocalStats,
        spec: Option<&'static CommandSpec>,
        args: &[Bytes],
        out: &ReplyWriter,
    ) {
        let nanos = u64::try_from(self.started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let reply = out.buffer().get(self.reply_from..).unwrap_or_default();
        let error = error_code(reply).map(|code| (code, error_rejects(code, reply)));
        if let Some((code, _)) = error {
            local.per_command.error(code);
        }
        let Some(slot) = spec.and_then(|spec| SLOTS.of(spec, args)) else {
            return;
        };
        let Some(figures) = local.per_command.figures(slot) else {
            return;
        };
        // As in Redis, a refused call is not a call: it counts only as rejected.
        match error {
            Some((_, true)) => figures.rejected += 1,
            Some((_, false)) => {
                figures.calls += 1;
                figures.nanos += nanos;
                figures.failed += 1;
            }
            None => {
                figures.calls += 1;
                figures.nanos += nanos;
            }
        }
    }
}

/// The code of an error reply (`-CODE message`), `None` for any other reply.
fn error_code(reply: &[u8]) -> Option<&str> {
    let text = reply.strip_prefix(b"-")?;
    let end = text
        .iter()
        .position(|byte| matches!(byte, b' ' | b'\r'))
        .unwrap_or(text.len());
    let code = std::str::from_utf8(&text[..end]).ok()?;
    // Redis names a code only when it looks like one; anything else is counted as ERR.
    let looks_like_code = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_');
    Some(if looks_like_code { code } else { "ERR" })
}

fn error_rejects(code: &str, reply: &[u8]) -> bool {
    REJECTING_CODES.contains(&code) || reply.starts_with(b"-ERR wrong number of arguments")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_read_from_the_reply() {
        assert_eq!(error_code(b"-ERR syntax error\r\n"), Some("ERR"));
        assert_eq!(
            error_code(b"-WRONGTYPE Operation against a key\r\n"),
            Some("WRONGTYPE")
        );
        assert_eq!(error_code(b"-MOVED 3999 127.0.0.1:6381\r\n"), Some("MOVED"));
        assert_eq!(error_code(b"-oops lower case\r\n"), Some("ERR"));
        assert_eq!(error_code(b"+OK\r\n"), None);
        assert_eq!(error_code(b"$1\r\n-\r\n"), None);
    }

    #[test]
    fn arity_and_redirections_are_rejections() {
        assert!(error_rejects(
            "ERR",
            b"-ERR wrong number of arguments for 'get' command\r\n"
        ));
        assert!(error_rejects("MOVED", b"-MOVED 1 a:1\r\n"));
        assert!(!error_rejects("ERR", b"-ERR syntax error\r\n"));
        assert!(!error_rejects("WRONGTYPE", b"-WRONGTYPE x\r\n"));
    }
}
