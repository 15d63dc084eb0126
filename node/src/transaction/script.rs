//! Scripts (EVAL and kin) on a [`Scratch`] copy.

use super::scratch::Scratch;
use crate::command::Session;
use crate::command::eval::ScriptCall;
use crate::protocol::ReplyWriter;

/// Runs a script on `scratch`, writing its result to `out`.
pub fn run_on(
    _scratch: &mut Scratch<'_>,
    _session: &mut Session<'_>,
    _call: &ScriptCall,
    out: &mut ReplyWriter,
) {
    out.error("ERR scripting is being integrated");
}

/// EVAL in a single process.
pub fn eval_here(_session: &mut Session<'_>, _call: &ScriptCall, out: &mut ReplyWriter) {
    out.error("ERR scripting is being integrated");
}
