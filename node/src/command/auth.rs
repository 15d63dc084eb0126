//! AUTH [username] password

use bytes::Bytes;

use super::{CommandError, CommandResult, Session};
use crate::protocol::ReplyWriter;
use crate::shared::Shared;

pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

/// Checks credentials against the configured password; only the `default` user exists. Without a
/// configured password the default user accepts any password when named explicitly (Redis's `nopass`),
/// while the one-argument form is refused as a likely misconfiguration, as Redis does.
pub fn check(
    shared: &Shared,
    username: Option<&[u8]>,
    password: &[u8],
) -> Result<(), CommandError> {
    if username == Some(crate::security::MEMBER_USER.as_bytes()) {
        // Another member forwarding a client's command: it proves itself with the cluster
        // secret, so a password rotation reaching the members one by one never breaks it.
        return if shared.security.is_member_secret(password) {
            Ok(())
        } else {
            Err(CommandError::Message(WRONGPASS.to_owned()))
        };
    }
    let settings = shared.settings.read();
    let Some(expected) = settings.password.as_deref() else {
        return match username {
            None => Err(CommandError::Message(
                "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?".to_owned(),
            )),
            Some(b"default") => Ok(()),
            Some(_) => Err(CommandError::Message(WRONGPASS.to_owned())),
        };
    };
    let username = username.unwrap_or(b"default");
    if username == b"default" && constant_time_eq(expected.as_bytes(), password) {
        Ok(())
    } else {
        Err(CommandError::Message(WRONGPASS.to_owned()))
    }
}

/// Compares without an early exit on the first differing byte, so timing does not leak the prefix.
fn constant_time_eq(expected: &[u8], given: &[u8]) -> bool {
    let mut difference = expected.len() ^ given.len();
    for (index, byte) in given.iter().enumerate() {
        difference |= usize::from(
            byte ^ expected
                .get(index % expected.len().max(1))
                .copied()
                .unwrap_or(0),
        );
    }
    difference == 0
}

pub fn auth(context: &mut Session<'_>, args: &[Bytes], out: &mut ReplyWriter) -> CommandResult {
    let (username, password): (Option<&[u8]>, &[u8]) = match args.len() {
        2 => (None, &args[1]),
        3 => (Some(&args[1]), &args[2]),
        _ => return Err(CommandError::Syntax),
    };
    check(context.shared, username, password)?;
    context.client.authenticated = true;
    context.client.member = username == Some(crate::security::MEMBER_USER.as_bytes());
    out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn comparison_is_exact() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"secret", b""));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
