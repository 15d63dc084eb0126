//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO: parsed into a [`ScriptCall`]; the executor runs it (see
//! `crate::transaction`).

use bytes::Bytes;

use super::{CommandError, Keys, integer_arg};

/// Which script: its text, or the SHA1 of a text loaded before.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptBody {
    Source(Bytes),
    Sha(Bytes),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScriptCall {
    pub body: ScriptBody,
    pub keys: Vec<Bytes>,
    pub args: Vec<Bytes>,
    /// EVAL_RO / EVALSHA_RO: the script may not write.
    pub read_only: bool,
}

impl ScriptCall {
    pub fn keys(&self) -> Keys<'_> {
        Keys::many(&self.keys)
    }

    /// The request as EVAL with the script's text (forwarded to a member that may not have
    /// loaded it).
    pub fn as_eval(&self, source: Bytes) -> Vec<Bytes> {
        let name = if self.read_only { "EVAL_RO" } else { "EVAL" };
        let mut args = vec![Bytes::from_static(name.as_bytes()), source];
        args.push(Bytes::from(self.keys.len().to_string()));
        args.extend(self.keys.iter().cloned());
        args.extend(self.args.iter().cloned());
        args
    }
}

fn parse(args: &[Bytes], by_sha: bool, read_only: bool) -> Result<ScriptCall, CommandError> {
    let count = integer_arg(&args[2])?;
    let available = args.len() - 3;
    if count < 0 {
        return Err(CommandError::Message(
            "ERR Number of keys can't be negative".to_owned(),
        ));
    }
    let count = usize::try_from(count).unwrap_or(usize::MAX);
    if count > available {
        return Err(CommandError::Message(
            "ERR Number of keys can't be greater than number of args".to_owned(),
        ));
    }
    let body = if by_sha {
        ScriptBody::Sha(Bytes::from(args[1].to_ascii_lowercase()))
    } else {
        ScriptBody::Source(args[1].clone())
    };
    Ok(ScriptCall {
        body,
        keys: args[3..3 + count].to_vec(),
        args: args[3 + count..].to_vec(),
        read_only,
    })
}

pub fn eval(args: &[Bytes]) -> Result<ScriptCall, CommandError> {
    parse(args, false, false)
}

pub fn evalsha(args: &[Bytes]) -> Result<ScriptCall, CommandError> {
    parse(args, true, false)
}

pub fn eval_ro(args: &[Bytes]) -> Result<ScriptCall, CommandError> {
    parse(args, false, true)
}

pub fn evalsha_ro(args: &[Bytes]) -> Result<ScriptCall, CommandError> {
    parse(args, true, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(items: &[&str]) -> Vec<Bytes> {
        items
            .iter()
            .map(|item| Bytes::from(item.to_string()))
            .collect()
    }

    #[test]
    fn keys_and_arguments_are_split_by_numkeys() {
        let call = eval(&args(&["EVAL", "return 1", "2", "a", "b", "c"])).expect("parses");
        assert_eq!(call.keys, args(&["a", "b"]));
        assert_eq!(call.args, args(&["c"]));
        assert!(eval(&args(&["EVAL", "s", "3", "a"])).is_err());
        assert!(eval(&args(&["EVAL", "s", "-1"])).is_err());
        assert!(eval(&args(&["EVAL", "s", "x"])).is_err());
        let by_sha = evalsha(&args(&["EVALSHA", "ABC", "0"])).expect("parses");
        assert_eq!(by_sha.body, ScriptBody::Sha(Bytes::from("abc")));
    }
}
