//! The inline budget: a run past it is given up (nothing a pcall can swallow), and the runs
//! after it are unaffected.

use std::time::Duration;

use bytes::Bytes;

use super::tests::{Fake, NEVER, bulk};
use super::{RunOptions, ScriptError, run, sha1_hex};
use crate::protocol::Frame;

/// Runs `source` with a budget of `after`.
fn run_budgeted(fake: &mut Fake, source: &str, after: Duration) -> Result<Frame, ScriptError> {
    let options = RunOptions {
        kill: &NEVER,
        budget: Some(after),
    };
    run(
        source.as_bytes(),
        &sha1_hex(source.as_bytes()),
        &[],
        &[],
        &options,
        &mut |args: &[Bytes]| fake.handle(args),
    )
}

#[test]
fn a_run_past_its_budget_is_given_up_even_under_pcall() {
    let mut fake = Fake::default();
    let budget = Duration::from_millis(2);
    let busy = "while true do end";
    assert_eq!(
        run_budgeted(&mut fake, busy, budget),
        Err(ScriptError::OverBudget)
    );
    let swallowing = "while true do pcall(function() while true do end end) end";
    assert_eq!(
        run_budgeted(&mut fake, swallowing, budget),
        Err(ScriptError::OverBudget)
    );
    // Stopped right after a command too (a loop of calls, caught by pcall).
    let calling = "while true do pcall(redis.call, 'SET', 'k', 'v') end";
    assert_eq!(
        run_budgeted(&mut fake, calling, budget),
        Err(ScriptError::OverBudget)
    );
    // The next runs on this thread are not affected: within budget, and with none.
    assert_eq!(
        run_budgeted(&mut fake, "return 'quick'", Duration::from_secs(60)),
        Ok(bulk("quick"))
    );
    assert_eq!(
        super::tests::ok("local n = 0 for i = 1, 300000 do n = n + 1 end return n"),
        Frame::Integer(300000)
    );
}
