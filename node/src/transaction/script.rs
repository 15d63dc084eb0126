//! Scripts (EVAL and kin): the Lua runtime (`crate::script`) runs a script on a [`Scratch`]
//! copy, its `redis.call`s going through the same commands as a client's; what it changed is
//! then committed as one guarded step, like a transaction. Replicas never run Lua: they apply
//! the script's effects, so a script with a random or time-dependent outcome still leaves every
//! replica alike, and a script is applied once even when it had to run again on fresh copies.
//!
//! A running script can be stopped with SCRIPT KILL: nothing it did is applied then (its
//! writes only ever touched the copy), so even a script that wrote may be killed.
//!
//! Where it runs: on the connection's async worker first, since most scripts take microseconds
//! and moving the worker's other tasks to another thread costs more than that. A run still going
//! after [`INLINE_BUDGET`] is given up (its copies dropped: nothing happened) and runs again from
//! the start with `block_in_place`, on a thread of its own, where it holds no other client up;
//! the script then starts there, until a run of it ends well within the budget. Giving a run up
//! loses nothing because nothing it did reaches outside its copies before it commits: the
//! messages it publishes are held until then (`crate::pubsub::Held`), and the commands that
//! change the server (CONFIG, ...) may not be called from scripts.

use std::time::{Duration, Instant};

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

/// Where a run happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// On the connection's async worker, given up past [`INLINE_BUDGET`]: most scripts take
    /// microseconds, less than a hand-off of the worker.
    Inline,
    /// To its end, on a thread of its own where the runtime has several (`block_in_place`: the
    /// worker's other tasks go on meanwhile), so a long script holds no other client up and
    /// SCRIPT KILL reaches it.
    Dedicated,
}

/// How long a script may hold its connection's worker before it is given up and run again on a
/// thread of its own.
pub const INLINE_BUDGET: Duration = Duration::from_millis(1);

/// Where a script starts: inline, unless it ran long before or the runtime has no other thread
/// (then it could not move anyway).
fn first_placement(shared: &Shared, script: &Prepared) -> Placement {
    if multi_thread_runtime() && !shared.scripts.runs_long(&script.sha) {
        Placement::Inline
    } else {
        Placement::Dedicated
    }
}

fn multi_thread_runtime() -> bool {
    matches!(
        tokio::runtime::Handle::try_current().map(|handle| handle.runtime_flavor()),
        Ok(tokio::runtime::RuntimeFlavor::MultiThread)
    )
}

/// Runs the script on fresh copies of its keys (`one_slot` as for [`Scratch::new`]), inline
/// first; a run given up past the budget leaves nothing behind (its copies are dropped), so it
/// runs again from the start on a thread of its own, and the script is remembered as long.
pub fn run_fresh<'s>(
    session: &mut Session<'s>,
    call: &ScriptCall,
    script: &Prepared,
    one_slot: Option<Option<u16>>,
) -> (Scratch<'s>, Result<Frame, ScriptError>) {
    let shared = session.shared;
    let mut placement = first_placement(shared, script);
    loop {
        let mut scratch = Scratch::new(&shared.keyspace, session.now_ms, one_slot);
        let started = Instant::now();
        let result = execute(&mut scratch, session, call, script, placement);
        match placement {
            Placement::Inline if matches!(result, Err(ScriptError::OverBudget)) => {
                shared.scripts.mark_long_running(&script.sha, true);
                placement = Placement::Dedicated;
                continue;
            }
            // Long once is not long always (its arguments, or the machine, differ): a script
            // that ran well within the budget goes back to starting inline.
            Placement::Dedicated if started.elapsed() < INLINE_BUDGET / 2 => {
                shared.scripts.mark_long_running(&script.sha, false);
            }
            _ => {}
        }
        return (scratch, result);
    }
}

/// Runs the script on `scratch`. Each `redis.call` runs one command on the copy and hands its
/// reply back as a value.
pub fn execute(
    scratch: &mut Scratch<'_>,
    session: &mut Session<'_>,
    call: &ScriptCall,
    script: &Prepared,
    placement: Placement,
) -> Result<Frame, ScriptError> {
    let running = session.shared.running_scripts.enter();
    let options = RunOptions {
        kill: running.kill(),
        budget: (placement == Placement::Inline).then_some(INLINE_BUDGET),
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
    if placement == Placement::Dedicated && multi_thread_runtime() {
        tokio::task::block_in_place(run)
    } else {
        run()
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
    // The transaction's copy holds what the commands before it did: the script cannot start
    // over on a fresh one, so it runs to its end.
    match prepare(session.shared, call) {
        Ok(script) => answer(
            execute(scratch, session, call, &script, Placement::Dedicated),
            out,
        ),
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
        let (scratch, result) = run_fresh(session, call, &script, None);
        if matches!(result, Err(ScriptError::Killed(_))) {
            // Nothing it did is applied.
            return answer(result, out);
        }
        // A script that raised an error keeps what it wrote before (Redis does not roll back).
        let (atomic, held) = scratch.finish(Vec::new());
        match commit_here(session, &atomic) {
            Outcome::Conflict => session.now_ms = crate::store::unix_ms(),
            Outcome::Applied | Outcome::Aborted => {
                held.deliver(&session.shared.pubsub);
                return answer(result, out);
            }
        }
    }
    out.error(TOO_BUSY);
}
