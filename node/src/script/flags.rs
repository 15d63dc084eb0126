//! The Redis 7 script shebang: `#!lua flags=no-writes,allow-oom` on the first line.

use super::ScriptError;

/// What a script's shebang declares. Without a shebang every flag is false and `shebang` is
/// false: Redis then runs the script in "EVAL compatibility mode" (it may write, and it is
/// refused when the server is out of memory only if it writes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScriptFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot_keys: bool,
    /// The script starts with a `#!lua` line (flags then apply instead of compatibility mode).
    pub shebang: bool,
}

/// The flags of a script, or the error EVAL / SCRIPT LOAD reply with for a malformed shebang.
pub fn flags_of(source: &[u8]) -> Result<ScriptFlags, ScriptError> {
    parse(source).map(|(flags, _)| flags)
}

/// The flags and the length of the shebang line (without its line feed, which is kept in the
/// compiled source so that line numbers in errors stay the user's).
pub(crate) fn parse(source: &[u8]) -> Result<(ScriptFlags, usize), ScriptError> {
    if !source.starts_with(b"#!") {
        return Ok((ScriptFlags::default(), 0));
    }
    let Some(end) = source.iter().position(|&b| b == b'\n') else {
        return Err(ScriptError::Shebang("Invalid script shebang".into()));
    };
    let line = String::from_utf8_lossy(&source[..end]);
    let mut parts = line.split_ascii_whitespace();
    let Some(engine) = parts.next() else {
        return Err(ScriptError::Shebang(
            "Invalid engine in script shebang".into(),
        ));
    };
    if engine != "#!lua" {
        return Err(ScriptError::Shebang(format!(
            "Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = ScriptFlags {
        shebang: true,
        ..ScriptFlags::default()
    };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(ScriptError::Shebang(format!(
                "Unknown lua shebang option: {part}"
            )));
        };
        // `flags=` alone declares no flag (Redis splits an empty list into nothing).
        for name in list.split(',').filter(|name| !name.is_empty()) {
            let slot = match name {
                "no-writes" => &mut flags.no_writes,
                "allow-oom" => &mut flags.allow_oom,
                "allow-stale" => &mut flags.allow_stale,
                "no-cluster" => &mut flags.no_cluster,
                "allow-cross-slot-keys" => &mut flags.allow_cross_slot_keys,
                other => {
                    return Err(ScriptError::Shebang(format!(
                        "Unexpected flag in script shebang: {other}"
                    )));
                }
            };
            *slot = true;
        }
    }
    Ok((flags, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(source: &str) -> String {
        match flags_of(source.as_bytes()) {
            Ok(flags) => panic!("expected an error, got {flags:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn no_shebang_is_compatibility_mode() {
        assert_eq!(flags_of(b"return 1"), Ok(ScriptFlags::default()));
    }

    #[test]
    fn flags_are_parsed() {
        let flags = flags_of(b"#!lua flags=no-writes,allow-stale\nreturn 1").unwrap();
        assert!(flags.shebang && flags.no_writes && flags.allow_stale);
        assert!(!flags.allow_oom && !flags.no_cluster && !flags.allow_cross_slot_keys);
        let all = flags_of(
            b"#!lua flags=no-writes,allow-oom,allow-stale,no-cluster,allow-cross-slot-keys\n",
        )
        .unwrap();
        assert!(all.allow_oom && all.no_cluster && all.allow_cross_slot_keys);
        let bare = flags_of(b"#!lua\nreturn 1").unwrap();
        assert_eq!(
            bare,
            ScriptFlags {
                shebang: true,
                ..ScriptFlags::default()
            }
        );
        assert_eq!(flags_of(b"#!lua flags=\nreturn 1"), Ok(bare));
    }

    #[test]
    fn malformed_shebangs_are_refused_as_redis_words_it() {
        assert_eq!(error("#!lua"), "ERR Invalid script shebang");
        assert_eq!(
            error("#!lua flags=no-writes,foo\nreturn 1"),
            "ERR Unexpected flag in script shebang: foo"
        );
        assert_eq!(
            error("#!luax\nreturn 1"),
            "ERR Unexpected engine in script shebang: #!luax"
        );
        assert_eq!(
            error("#!lua name=x\nreturn 1"),
            "ERR Unknown lua shebang option: name=x"
        );
        assert_eq!(
            error("#! \nreturn 1"),
            "ERR Unexpected engine in script shebang: #!"
        );
        assert_eq!(
            error("#!  \n"),
            "ERR Unexpected engine in script shebang: #!"
        );
    }

    #[test]
    fn shebang_length_excludes_the_line_feed() {
        let source = b"#!lua flags=no-writes\nreturn 1";
        assert_eq!(parse(source).unwrap().1, 21);
    }
}
