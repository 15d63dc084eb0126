//! [`RunState`]: what one run of a script may change, shared by the VM and the libraries.

use std::cell::{Cell, RefCell};

use mlua::Function;

/// What one run may change; reset before each run.
pub(crate) struct RunState {
    /// `redis.setresp(3)` was called.
    pub resp3: Cell<bool>,
    /// The `lrand48` state behind `math.random`.
    pub rand: Cell<u64>,
    /// The kill flag was seen set: the hook now raises on every instruction so that no pcall
    /// can swallow the kill.
    pub killed: Cell<bool>,
    /// Reads `RunOptions::kill` (a function scoped to the run, called from the hook).
    pub kill_check: RefCell<Option<Function>>,
}
