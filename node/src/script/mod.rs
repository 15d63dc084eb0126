//! The Lua scripting runtime behind EVAL, EVALSHA, EVAL_RO and SCRIPT, as Redis 7.0 has it.
//!
//! Pure: this module knows nothing of the keyspace, the command table or the network. The
//! caller hands [`run`] a `call` closure that executes one Redis command and returns its reply
//! as a [`Frame`]; everything Lua (interpreter, sandbox, libraries, conversions, error wording)
//! is here.
//!
//! ```text
//!  EVAL src numkeys k.. a..          EVALSHA sha ..              SCRIPT LOAD / EXISTS / FLUSH
//!     │ ScriptCache::load(src) → sha    │ ScriptCache::get(sha)       │ ScriptCache
//!     │ (shebang + compile checked;     │ (None: NOSCRIPT)            │
//!     │  Redis caches EVAL'd scripts)   │ flags_of(src) for EVAL_RO,  │
//!     │ flags_of(src): no-writes, ..    │ OOM, cluster checks         │
//!     ▼                                 ▼                             ▼
//!  run(src, sha, keys, argv, options, call)   (options.budget: given up past it, OverBudget)
//!     │
//!     ▼
//!  vm.rs: this thread's Lua 5.1 state (created once per thread, sandboxed by libs.rs)
//!     │  compiled function cached by sha ── or compiled now ("@user_script", shebang skipped)
//!     │  KEYS / ARGV set, math.random reseeded, count hook armed (options.kill, options.budget)
//!     ▼
//!  the script ──► redis.call / redis.pcall ──► argv as Bytes ──► call(&argv) ──► Frame
//!     │                 ▲                                                        │
//!     │                 └──────── convert.rs: Frame → Lua (RESP2 or RESP3 forms) ◄┘
//!     ▼
//!  return value ── convert.rs: Lua → Frame ──► Ok(Frame)      (the caller writes it)
//!  raised error ── error handler adds "script: <sha>, on @user_script:<line>." ──► Err(ScriptError)
//! ```
//!
//! The reply `Frame` is in RESP3 vocabulary (booleans, maps, doubles); the connection's
//! `ReplyWriter` lowers it for RESP2 clients exactly as Redis does for a script's reply, so the
//! runtime does not need to know the client's protocol. Likewise `call` returns RESP3-vocabulary
//! frames and the conversion to Lua lowers them to what a RESP2 reply would have given unless the
//! script asked for RESP3 with `redis.setresp(3)`.
//!
//! What needs the command table is done by the caller, `crate::transaction` (which runs scripts
//! on copies of their keys): the wording Redis uses for command errors raised inside scripts
//! ("Unknown Redis command called from script", "Wrong number of args calling Redis command
//! from script", "Write commands are not allowed from read-only scripts."), refusing commands
//! flagged `noscript` (EVAL, MULTI, blocking forms), the `no-writes` shebang flag, NOSCRIPT, and
//! SCRIPT KILL (through [`RunningScripts`]).
//!
//! Differences from Redis 7.0, on purpose or for lack of a patched Lua:
//! - `math.random` restarts from the same seed for every run (a fresh redis-server 7.0 gives the
//!   same first values; 7.0 then carries the state from script to script).
//! - Read-only globals are emulated (vanilla Lua 5.1 has no read-only tables): the globals and
//!   the libraries are empty proxies, so `pairs(string)` is empty and `getmetatable('')` /
//!   `getmetatable(_G)` return `false`; `setfenv(0, ..)` is refused.
//! - `os` holds only `clock` (Redis 7.0 has no `os`; later versions add `os.clock`).
//! - Not provided: `redis.acl_check_cmd`, the debugger (SCRIPT DEBUG).
//! - `cjson.decode` errors are worded like lua-cjson's but less precisely (serde_json parses);
//!   its nesting limit is serde_json's 128.
//! - A reply nested more than 128 deep becomes `ERR reached lua stack limit` at that depth.

mod bit;
mod cache;
mod cjson;
mod cmsgpack;
mod convert;
mod errors;
mod flags;
mod libs;
mod numfmt;
mod state;
mod structlib;
mod vm;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_budget;
#[cfg(test)]
mod tests_libs;
#[cfg(test)]
mod tests_run;

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::Frame;

mod running;
pub use cache::ScriptCache;
pub use flags::{ScriptFlags, flags_of};
pub use running::{Running, RunningScripts};

/// The version scripts see in `redis.REDIS_VERSION`.
pub const REDIS_VERSION: &str = "7.0.0";
/// `redis.REDIS_VERSION_NUM`: 0x00MMmmpp.
pub const REDIS_VERSION_NUM: u32 = 0x0007_0000;

/// Why a script could not be compiled or did not finish. `Display` is the exact error reply
/// (without the leading `-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScriptError {
    /// A syntax error, with Lua's message (`user_script:1: unexpected symbol near ...`).
    #[error("ERR Error compiling script (new function): {0}")]
    Compile(String),
    /// A malformed `#!lua` line.
    #[error("ERR {0}")]
    Shebang(String),
    /// An error raised while running: a Lua error or an error reply raised by `redis.call`,
    /// already worded as the whole reply (`... script: <sha>, on @user_script:1.`).
    #[error("{0}")]
    Runtime(String),
    /// The run was stopped because `RunOptions::kill` was set (SCRIPT KILL). The caller may
    /// want to tell SCRIPT KILL that it worked.
    #[error("{0}")]
    Killed(String),
    /// The run passed [`RunOptions::budget`] and was given up with nothing kept: the caller runs it
    /// again where a long run harms no one. Never a reply.
    #[error("ERR the script ran past its inline budget")]
    OverBudget,
    /// The interpreter itself failed (out of memory, no state could be created).
    #[error("ERR Error running script {sha}, {message}")]
    Internal { sha: String, message: String },
}

/// Per-run settings.
pub struct RunOptions<'a> {
    /// Set by SCRIPT KILL (from another thread); checked every [`CHECK_INSTRUCTIONS`] Lua
    /// instructions. The caller clears it before the next run.
    pub kill: &'a AtomicBool,
    /// Lets a caller try a script where a long run would hold others up (an async worker): a
    /// run still going this long after it started (the interpreter ready and the script
    /// compiled, so the first run on a thread is not charged for those) stops with
    /// [`ScriptError::OverBudget`], checked every [`CHECK_INSTRUCTIONS`] and after each
    /// `redis.call`. `None`: it runs to its end. The caller must be able to drop what such a run
    /// did (commands' effects held until it commits).
    pub budget: Option<Duration>,
}

/// How often (in Lua VM instructions) a run looks at [`RunOptions::kill`] and its budget, like
/// Redis's count hook: cheap enough to be invisible (a fraction of a percent), frequent enough to
/// stop a busy loop within a fraction of a millisecond.
pub const CHECK_INSTRUCTIONS: u32 = 10_000;

/// The lowercase hex SHA-1 of `data`, the name of a script (and `redis.sha1hex`).
pub fn sha1_hex(data: &[u8]) -> String {
    sha1_smol::Sha1::from(data).digest().to_string()
}

/// Runs a script synchronously on this thread (the caller decides which thread: see
/// `crate::transaction::script`).
///
/// `sha` must be `sha1_hex(source)`: compiled functions are cached by it, and it names the
/// script in error replies. `call(argv)` executes one Redis command on the script's behalf and
/// returns its reply, an error reply being `Frame::Error("CODE message")`; `redis.call` raises
/// it, `redis.pcall` returns it as `{err=...}`. A script that returns an error reply
/// (`return redis.error_reply(..)`) is `Ok(Frame::Error(..))`; a raised error is `Err`.
pub fn run(
    source: &[u8],
    sha: &str,
    keys: &[Bytes],
    argv: &[Bytes],
    options: &RunOptions<'_>,
    call: &mut dyn FnMut(&[Bytes]) -> Frame,
) -> Result<Frame, ScriptError> {
    vm::with_vm(sha, |vm| vm.run(source, sha, keys, argv, options, call))
}

/// Compiles a script to check it (SCRIPT LOAD, and EVAL of a script not seen before), keeping
/// the compiled function in this thread's cache.
pub fn compile(source: &[u8], sha: &str) -> Result<(), ScriptError> {
    vm::with_vm(sha, |vm| vm.function(source, sha).map(|_| ()))
}
