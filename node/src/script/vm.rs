//! One Lua state per thread, reused across runs: compiled functions cached by SHA-1, the
//! sandboxed environment built once, and per-run state (KEYS, ARGV, `redis.setresp`, the random
//! generator, the kill check) reset before each run.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use mlua::{
    ChunkMode, Function, HookTriggers, Lua, LuaOptions, StdLib, Table, Value, Variadic, VmState,
};

use super::convert::{error_table, error_text, frame_to_lua, lua_to_frame};
use super::errors::{error_message, is_reply, raise_reply};
use super::libs::{self, Env, PRELUDE_NAME, RAND_INITIAL};
use super::numfmt::format_g;
use super::state::{RunState, Stop};
use super::{CHECK_INSTRUCTIONS, RunOptions, ScriptError, flags};
use crate::protocol::Frame;

/// Compiled functions kept per thread; past this the cache starts over (scripts are few in
/// practice, and a script compiles again in microseconds).
const MAX_FUNCTIONS: usize = 1000;

/// Redis steps the garbage collector every 50 runs rather than paying for it on each one.
const GC_PERIOD: u32 = 50;

const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";

thread_local! {
    static VM: RefCell<Option<Vm>> = const { RefCell::new(None) };
}

/// Runs `f` with this thread's VM (created on first use). A nested run on the same thread (the
/// `call` closure running another script) finds the slot empty and gets a fresh VM.
pub(crate) fn with_vm<R>(
    sha: &str,
    f: impl FnOnce(&mut Vm) -> Result<R, ScriptError>,
) -> Result<R, ScriptError> {
    let taken = VM.try_with(|slot| slot.borrow_mut().take()).ok().flatten();
    let mut vm = match taken {
        Some(vm) => vm,
        None => Vm::new().map_err(|err| ScriptError::Internal {
            sha: sha.to_string(),
            message: error_message(&err),
        })?,
    };
    let result = f(&mut vm);
    let _ = VM.try_with(|slot| *slot.borrow_mut() = Some(vm));
    result
}

pub(crate) struct Vm {
    lua: Lua,
    state: Rc<RunState>,
    env: Env,
    handler: Function,
    functions: HashMap<String, Function>,
    runs: u32,
}

impl Vm {
    fn new() -> mlua::Result<Vm> {
        // Base (with coroutine), table, string, math only: no io, os, package, debug.
        let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH;
        let lua = Lua::new_with(libs, LuaOptions::new())?;
        let state = Rc::new(RunState {
            resp3: Cell::new(false),
            rand: Cell::new(RAND_INITIAL),
            stop: Cell::new(None),
            give_up_at: Cell::new(None),
            kill_check: RefCell::new(None),
        });
        let env = libs::install(&lua, &state)?;
        let handler = lua.create_function(error_handler)?;
        install_hook(&lua, state.clone(), CHECK_INSTRUCTIONS)?;
        Ok(Vm {
            lua,
            state,
            env,
            handler,
            functions: HashMap::new(),
            runs: 0,
        })
    }

    /// The compiled script, from the cache or compiled now.
    pub(crate) fn function(&mut self, source: &[u8], sha: &str) -> Result<Function, ScriptError> {
        if let Some(function) = self.functions.get(sha) {
            return Ok(function.clone());
        }
        let (_, shebang_len) = flags::parse(source)?;
        // The shebang line is skipped but its line feed kept, so line numbers stay the user's.
        let body = source.get(shebang_len..).unwrap_or_default();
        let function = self
            .lua
            .load(body)
            .set_name("@user_script")
            .set_mode(ChunkMode::Text)
            .into_function()
            .map_err(|err| ScriptError::Compile(error_message(&err)))?;
        if self.functions.len() >= MAX_FUNCTIONS {
            self.functions.clear();
        }
        self.functions.insert(sha.to_string(), function.clone());
        Ok(function)
    }

    pub(crate) fn run(
        &mut self,
        source: &[u8],
        sha: &str,
        keys: &[Bytes],
        argv: &[Bytes],
        options: &RunOptions<'_>,
        call: &mut dyn FnMut(&[Bytes]) -> Frame,
    ) -> Result<Frame, ScriptError> {
        let function = self.function(source, sha)?;
        let internal = |err: mlua::Error| ScriptError::Internal {
            sha: sha.to_string(),
            message: error_message(&err),
        };
        self.prepare(keys, argv, options).map_err(internal)?;
        let outcome = self.call_script(function, sha, options, call);
        self.finish().map_err(internal)?;
        outcome.map_err(internal)?
    }

    fn prepare(
        &mut self,
        keys: &[Bytes],
        argv: &[Bytes],
        options: &RunOptions<'_>,
    ) -> mlua::Result<()> {
        if self.state.stop.replace(None).is_some() {
            install_hook(&self.lua, self.state.clone(), CHECK_INSTRUCTIONS)?;
        }
        self.state
            .give_up_at
            .set(options.budget.map(|budget| Instant::now() + budget));
        self.state.resp3.set(false);
        self.state.rand.set(RAND_INITIAL);
        self.env.backing.raw_set("KEYS", self.array(keys)?)?;
        self.env.backing.raw_set("ARGV", self.array(argv)?)?;
        Ok(())
    }

    fn array(&self, items: &[Bytes]) -> mlua::Result<Table> {
        let table = self.lua.create_table_with_capacity(items.len(), 0)?;
        for (index, item) in items.iter().enumerate() {
            table.raw_set(index + 1, self.lua.create_string(item)?)?;
        }
        Ok(table)
    }

    fn call_script(
        &self,
        function: Function,
        sha: &str,
        options: &RunOptions<'_>,
        call: &mut dyn FnMut(&[Bytes]) -> Frame,
    ) -> mlua::Result<Result<Frame, ScriptError>> {
        let state = &self.state;
        let call = RefCell::new(call);
        self.lua.scope(|scope| {
            let raising = scope.create_function(|lua, args: Variadic<Value>| {
                let reply = command(lua, args, &call, state, true);
                check_budget(lua, state)?;
                reply
            })?;
            let catching = scope.create_function(|lua, args: Variadic<Value>| {
                let reply = command(lua, args, &call, state, false);
                check_budget(lua, state)?;
                reply
            })?;
            let kill = scope.create_function(|_, ()| Ok(options.kill.load(Ordering::Relaxed)))?;
            self.env.redis.raw_set("call", raising)?;
            self.env.redis.raw_set("pcall", catching)?;
            *state.kill_check.borrow_mut() = Some(kill);
            let (ok, value): (bool, Value) =
                self.env.xpcall.call((function, self.handler.clone()))?;
            // A stopped run fails even if its last instructions ended it normally.
            Ok(match (ok, state.stop.get()) {
                (_, Some(Stop::OverBudget)) => Err(ScriptError::OverBudget),
                (true, Some(Stop::Killed)) => Err(ScriptError::Killed(KILLED.to_owned())),
                (true, None) => Ok(lua_to_frame(&value, state.resp3.get())),
                (false, _) => Err(self.failure(&value, sha)),
            })
        })
    }

    /// The reply for a raised error: `{err=, source=, line=}` from the handler.
    fn failure(&self, value: &Value, sha: &str) -> ScriptError {
        let Value::Table(table) = value else {
            let message = match value {
                Value::String(text) => text.to_string_lossy(),
                _ => "execution failure".to_string(),
            };
            let message: String = message.chars().take(100).collect();
            return ScriptError::Runtime(format!("ERR Error running script {sha}, {message}"));
        };
        let text = |key: &str| match table.raw_get::<Value>(key) {
            Ok(Value::String(text)) => Some(text.to_string_lossy()),
            Ok(Value::Number(n)) => Some(format_g(n, 14)),
            Ok(Value::Integer(n)) => Some(format_g(n as f64, 14)),
            _ => None,
        };
        let mut message = text("err").unwrap_or_else(|| "ERR unknown error".to_string());
        if let (Some(source), Some(line)) = (text("source"), text("line")) {
            message.push_str(&format!(" script: {sha}, on {source}:{line}."));
        }
        let message = message.replace(['\r', '\n'], " ");
        if self.state.stop.get() == Some(Stop::Killed) {
            ScriptError::Killed(message)
        } else {
            ScriptError::Runtime(message)
        }
    }

    fn finish(&mut self) -> mlua::Result<()> {
        *self.state.kill_check.borrow_mut() = None;
        self.state.give_up_at.set(None);
        self.env.redis.raw_set("call", &self.env.idle_call)?;
        self.env.redis.raw_set("pcall", &self.env.idle_call)?;
        self.env.backing.raw_set("KEYS", Value::Nil)?;
        self.env.backing.raw_set("ARGV", Value::Nil)?;
        // `collectgarbage('stop')` in one script must not leave the next ones without GC.
        self.lua.gc_restart();
        self.runs += 1;
        if self.runs.is_multiple_of(GC_PERIOD) {
            self.lua.gc_step_kbytes(GC_PERIOD as i32)?;
        }
        Ok(())
    }
}

/// The caller's command runner.
type CallFn<'a> = dyn FnMut(&[Bytes]) -> Frame + 'a;

/// `redis.call` (`raise`) and `redis.pcall`: arguments to a command, its reply to Lua.
fn command(
    lua: &Lua,
    args: Variadic<Value>,
    call: &RefCell<&mut CallFn<'_>>,
    state: &RunState,
    raise: bool,
) -> mlua::Result<Value> {
    let fail = |text: &str| {
        if raise {
            Err(raise_reply(text))
        } else {
            error_table(lua, text.as_bytes()).map(Value::Table)
        }
    };
    if args.is_empty() {
        return fail("ERR Please specify at least one argument for this redis lib call");
    }
    let mut argv = Vec::with_capacity(args.len());
    for arg in args.iter() {
        argv.push(match arg {
            Value::String(text) => Bytes::copy_from_slice(&text.as_bytes()),
            // Not Lua's `%.14g`, which would lose precision.
            Value::Number(n) => Bytes::from(format_g(*n, 17)),
            Value::Integer(n) => Bytes::from(format_g(*n as f64, 17)),
            _ => return fail("ERR Lua redis lib command arguments must be strings or integers"),
        });
    }
    let Ok(mut call) = call.try_borrow_mut() else {
        return fail("ERR redis.call cannot be called from inside a command it runs");
    };
    let reply = call(&argv);
    drop(call);
    if raise && let Frame::Error(text) = &reply {
        let text = error_text(text.as_bytes());
        return Err(raise_reply(&String::from_utf8_lossy(&text)));
    }
    frame_to_lua(lua, &reply, state.resp3.get())
}

/// The message handler of the run's `xpcall`, as Redis's `__redis__err__handler`: any error
/// becomes `{err="CODE message"}` with the source and line of the script code that raised it.
fn error_handler(lua: &Lua, error: Value) -> mlua::Result<Table> {
    let table = match error {
        Value::Table(table) => table,
        Value::Error(err) if is_reply(&err) => error_table(lua, error_message(&err).as_bytes())?,
        other => {
            let message = match &other {
                Value::Error(err) => error_message(err),
                Value::String(text) => text.to_string_lossy(),
                Value::Number(n) => format_g(*n, 14),
                Value::Integer(n) => format_g(*n as f64, 14),
                Value::Nil => "nil".to_string(),
                Value::Boolean(b) => b.to_string(),
                value => value.to_string().unwrap_or_else(|_| "?".to_string()),
            };
            let table = lua.create_table()?;
            table.raw_set("err", format!("ERR {message}"))?;
            table
        }
    };
    // Level 0 is this handler; the first frame above it that is neither C nor the sandbox's own
    // Lua is the script code that raised (Redis looks one C frame up, as here).
    for level in 1..8 {
        let frame = lua.inspect_stack(level, |debug| {
            let source = debug.source();
            (
                source.what,
                source.source.map(|s| s.into_owned()),
                debug.current_line(),
            )
        });
        match frame {
            None => break,
            Some(("C", _, _)) => continue,
            Some((_, Some(source), _)) if source == PRELUDE_NAME => continue,
            Some((_, Some(source), line)) => {
                table.raw_set("source", source)?;
                table.raw_set("line", line.map_or(-1, |line| line as i64))?;
                break;
            }
            Some(_) => break,
        }
    }
    Ok(table)
}

/// From the hook and after each `redis.call`: a run past its budget stops there.
fn check_budget(lua: &Lua, state: &Rc<RunState>) -> mlua::Result<()> {
    if state
        .give_up_at
        .get()
        .is_some_and(|at| Instant::now() >= at)
    {
        state.stop.set(Some(Stop::OverBudget));
        // The hook notices the stop at the next instruction, whatever pcall caught this.
        install_hook(lua, state.clone(), 1)?;
        return Err(raise_reply(OVER_BUDGET));
    }
    Ok(())
}

const OVER_BUDGET: &str = "ERR the script ran past its inline budget";

/// Arms the count hook that checks the kill flag and the budget (every `every` instructions).
/// A stopped run raises at every instruction so that no pcall can swallow the stop.
fn install_hook(lua: &Lua, state: Rc<RunState>, every: u32) -> mlua::Result<()> {
    let triggers = HookTriggers::new().every_nth_instruction(every);
    lua.set_global_hook(triggers, move |lua, _| {
        match state.stop.get() {
            Some(Stop::Killed) => return Err(raise_reply(KILLED)),
            Some(Stop::OverBudget) => return Err(raise_reply(OVER_BUDGET)),
            None => {}
        }
        check_budget(lua, &state)?;
        let check = state.kill_check.borrow().clone();
        if let Some(check) = check
            && check.call::<bool>(())?
        {
            state.stop.set(Some(Stop::Killed));
            tracing::warn!("Lua script killed by user with SCRIPT KILL.");
            install_hook(lua, state.clone(), 1)?;
            return Err(raise_reply(KILLED));
        }
        Ok(VmState::Continue)
    })
}
