//! [`RunState`]: what one run of a script may change, shared by the VM and the libraries.

use std::cell::{Cell, RefCell};

use std::time::Instant;

use mlua::Function;

/// Why a run is stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SCRIPT KILL.
    Killed,
    /// Past its budget: the caller runs it again elsewhere.
    OverBudget,
}

/// What one run may change; reset before each run.
pub(crate) struct RunState {
    /// `redis.setresp(3)` was called.
    pub resp3: Cell<bool>,
    /// The `lrand48` state behind `math.random`.
    pub rand: Cell<u64>,
    /// Why the run is being stopped, once it is: the hook then raises on every instruction so
    /// that no pcall can swallow the stop.
    pub stop: Cell<Option<Stop>>,
    /// When the run's budget ([`super::RunOptions::budget`]) ends.
    pub give_up_at: Cell<Option<Instant>>,
    /// Reads `RunOptions::kill` (a function scoped to the run, called from the hook).
    pub kill_check: RefCell<Option<Function>>,
}
