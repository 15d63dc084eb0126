//! Scripts (EVAL and kin): the Lua runtime (`crate::script`) runs a script on a [`Scratch`]
//! copy, its `redis.call`s going through the same commands as a client's; what it changed is
//! then committed as one guarded step, like a transaction. Replicas never run Lua: they apply
//! the script's effects, so a script with a random or time-dependent outcome still leaves every
//! replica alike, and a script is applied once even when it had to run again on fresh copies.
//!
//! A running script can be stopped with SCRIPT KILL: nothing it did is applied then (its
//! writes only ever touched the copy), so even a script that wrote may be killed.

use bytes::Bytes;

use super::scratch::{Caller, Scratch};
use super::{MAX_ATTEMPTS, TOO_BUSY, commit_here};
use crate::command::Session;
use crate::command::atomic::Outcome;
use crate::command::eval::{ScriptBody, ScriptCall};
use crate::protocol::decode::decode;
use crate::protocol::{Frame, ReplyWriter};
use crate::script::{RunOptions, ScriptError};
use crate::shared::Shared;

/// A script ready to run: its text, its name, and whether it may write.
pub struct Prepared {
    pub source: Bytes,
    pub sha: String,
    pub read_only: bool,
}

/// Finds the script's text (EVALSHA: in the cache; EVAL: cached on the way, as Redis does) and
/// reads its shebang flags. Errors are the reply.
pub fn prepare(shared: &Shared, call: &ScriptCall) -> Result<Prepared, String> {
    let (source, sha) = match &call.body {
        ScriptBody::Source(source) => {
            let sha = shared
                .scripts
                .load(source.clone())
                .map_err(|error| error.to_string())?;
            (source.clone(), sha)
        }
        ScriptBody::Sha(sha) => {
            let source = shared
                .scripts
                .get(sha)
                .ok_or_else(|| "NOSCRIPT No matching script. Please use EVAL.".to_owned())?;
            (source, String::from_utf8_lossy(sha).into_owned())
        }
    };
    let flags = crate::script::flags_of(&source).map_err(|error| error.to_string())?;
    Ok(Prepared {
        source,
        sha,
        read_only: call.read_only || flags.no_writes,
    })
}

/// Runs the script on `scratch`. Each `redis.call` runs one command on the copy and hands its
/// reply back as a value.
pub fn execute(
    scratch: &mut Scratch<'_>,
    session: &mut Session<'_>,
    call: &ScriptCall,
    script: &Prepared,
) -> Result<Frame, ScriptError> {
    let running = session.shared.running_scripts.enter();
    let options = RunOptions {
        kill: running.kill(),
    };
    let caller = Caller::Script {
        read_only: script.read_only,
    };
    let mut run_command = |args: &[Bytes]| -> Frame {
        let mut reply = ReplyWriter::for_script();
        scratch.run(session, args, caller, &mut reply);
        decode(reply.buffer()).map_or_else(
            || Frame::Error("ERR the command's reply could not be read".to_owned()),
            |(frame, _)| frame,
        )
    };
    let mut run = || {
        crate::script::run(
            &script.source,
            &script.sha,
            &call.keys,
            &call.args,
            &options,
            &mut run_command,
        )
    };
    // A script may run long: on a multi-threaded runtime its worker hands its other tasks to
    // the rest meanwhile.
    match tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(run),
        _ => run(),
    }
}

/// Writes a script's result (or the error it raised).
pub fn answer(result: Result<Frame, ScriptError>, out: &mut ReplyWriter) {
    match result {
        Ok(frame) => out.frame(&frame),
        Err(error) => out.error(&error.to_string()),
    }
}

/// A script inside a transaction (EVAL queued after MULTI): it runs on the transaction's copy
/// and commits with it.
pub fn run_on(
    scratch: &mut Scratch<'_>,
    session: &mut Session<'_>,
    call: &ScriptCall,
    out: &mut ReplyWriter,
) {
    match prepare(session.shared, call) {
        Ok(script) => answer(execute(scratch, session, call, &script), out),
        Err(error) => out.error(&error),
    }
}

/// EVAL in a single process.
pub fn eval_here(session: &mut Session<'_>, call: &ScriptCall, out: &mut ReplyWriter) {
    let script = match prepare(session.shared, call) {
        Ok(script) => script,
        Err(error) => return out.error(&error),
    };
    for _ in 0..MAX_ATTEMPTS {
        let mut scratch = Scratch::new(&session.shared.keyspace, session.now_ms, None);
        let result = execute(&mut scratch, session, call, &script);
        if matches!(result, Err(ScriptError::Killed(_))) {
            // Nothing it did is applied.
            return answer(result, out);
        }
        // A script that raised an error keeps what it wrote before (Redis does not roll back).
        match commit_here(session, &scratch.finish(Vec::new())) {
            Outcome::Conflict => session.now_ms = crate::store::unix_ms(),
            Outcome::Applied | Outcome::Aborted => return answer(result, out),
        }
    }
    out.error(TOO_BUSY);
}
