//! The inline budget: a run past it is given up (nothing a pcall can swallow), one that did
//! something irrevocable goes to its end, and runs after either are unaffected.

use std::cell::Cell;
use std::time::Duration;

use bytes::Bytes;

use super::tests::{Fake, NEVER, bulk};
use super::{Budget, RunOptions, ScriptError, run, sha1_hex};
use crate::protocol::Frame;

/// Runs `source` with a budget that ends `after` from now; PUBLISH makes the run irrevocable.
fn run_budgeted(fake: &mut Fake, source: &str, after: Duration) -> Result<Frame, ScriptError> {
    let irrevocable = Cell::new(false);
    let options = RunOptions {
        kill: &NEVER,
        budget: Some(Budget {
            limit: after,
            irrevocable: &irrevocable,
        }),
    };
    run(
        source.as_bytes(),
        &sha1_hex(source.as_bytes()),
        &[],
        &[],
        &options,
        &mut |args: &[Bytes]| {
            if args[0].eq_ignore_ascii_case(b"PUBLISH") {
                irrevocable.set(true);
                return Frame::Integer(0);
            }
            fake.handle(args)
        },
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

#[test]
fn an_irrevocable_run_goes_to_its_end() {
    let mut fake = Fake::default();
    // Published before the budget runs out: the loop after it is not given up.
    let source = "redis.call('PUBLISH', 'c', 'm')\n\
                  local n = 0 for i = 1, 3000000 do n = n + 1 end return n";
    assert_eq!(
        run_budgeted(&mut fake, source, Duration::from_millis(1)),
        Ok(Frame::Integer(3_000_000))
    );
}
