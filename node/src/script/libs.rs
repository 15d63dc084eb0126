//! The script environment: the `redis` table, `math.random`, `os.clock`, the libraries, and the
//! sandbox that locks it all (Redis 7 makes the globals and every table reachable from them
//! read-only; vanilla Lua 5.1 has no read-only tables, so here the globals table is emptied and
//! every library is an empty proxy whose metatable reads from the real table and refuses writes).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use mlua::{Function, Lua, MultiValue, Table, Value, Variadic};

use super::errors::{arg_error, check_int, lua_number_text, raise_reply, raise_runtime, to_number};
use super::state::RunState;
use super::{REDIS_VERSION, REDIS_VERSION_NUM, bit, cjson, cmsgpack, convert, sha1_hex, structlib};

/// The chunk name of the sandbox's own Lua code; error positions skip its frames.
pub(crate) const PRELUDE_NAME: &str = "=redis";

/// Runs once per VM with the standard library still in the globals: builds the protected
/// environment and returns the table the globals read from (where KEYS and ARGV are set).
const PRELUDE: &str = r#"
local libs, P = ...
local G = _G
local error, type, tostring, rawget, rawset, setmetatable, getmetatable, pcall, loadstring,
      setfenv, next, ipairs, sbyte, concat =
      error, type, tostring, rawget, rawset, setmetatable, getmetatable, pcall, loadstring,
      setfenv, next, ipairs, string.byte, table.concat
local error_value = P.error_value

local function readonly() error("Attempt to modify a readonly table", 2) end
local protected = setmetatable({}, { __mode = "k" })
local function protect(real)
  local proxy = {}
  setmetatable(proxy, { __index = real, __newindex = readonly, __metatable = false })
  protected[proxy] = true
  return proxy
end

-- Redis 7.0's allow list of builtins; print, dofile, loadfile, module, require are not in it.
local backing = {}
for _, name in ipairs({ "xpcall", "tostring", "getfenv", "setmetatable", "next", "assert",
    "tonumber", "rawequal", "collectgarbage", "getmetatable", "rawget", "ipairs", "pairs",
    "select", "unpack", "gcinfo", "type", "error", "_VERSION", "newproxy" }) do
  backing[name] = G[name]
end
for name, real in next, libs do backing[name] = protect(real) end

backing.rawset = function(t, k, v)
  if protected[t] then error("Attempt to modify a readonly table", 0) end
  return rawset(t, k, v)
end

-- Like Redis 7: an error table caught by pcall is returned as its message.
local function pcall_result(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == "table" then
    local m = rawget(e, "err")
    if type(m) == "string" or type(m) == "number" then e = m end
  elseif type(e) == "userdata" then
    e = error_value(e)
  end
  return false, e
end
backing.pcall = function(...) return pcall_result(pcall(...)) end

-- Lua 5.1 would load precompiled bytecode, which can break out of the VM: a binary chunk is
-- parsed as text instead, failing as it does in Redis.
local function load_text(s, name)
  if type(s) == "string" and sbyte(s, 1) == 27 then return loadstring(" " .. s, name or s) end
  return loadstring(s, name)
end
backing.loadstring = load_text
backing.load = function(reader, name)
  local parts = {}
  while true do
    local piece = reader()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  return load_text(concat(parts), name or "=(load)")
end

-- setfenv(0, t) would replace the globals of every later script.
backing.setfenv = function(f, t)
  if f == 0 then error("setfenv cannot change the global environment in a script", 2) end
  if type(f) == "number" and f > 0 then f = f + 1 end
  return setfenv(f, t)
end

getmetatable("").__metatable = false
backing._G = G
setmetatable(backing, { __index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end })

local names = {}
for k in next, G do names[#names + 1] = k end
for _, k in ipairs(names) do rawset(G, k, nil) end
setmetatable(G, { __index = backing, __newindex = readonly, __metatable = false })
protected[G] = true
return backing
"#;

/// What the VM keeps from the setup.
pub(crate) struct Env {
    /// Where global reads go (KEYS and ARGV are set here for each run).
    pub backing: Table,
    /// The real `redis` table, where each run puts its `call` and `pcall`.
    pub redis: Table,
    /// `redis.call` / `redis.pcall` outside a run.
    pub idle_call: Function,
    pub xpcall: Function,
}

pub(crate) fn install(lua: &Lua, state: &Rc<RunState>) -> mlua::Result<Env> {
    let globals = lua.globals();
    let xpcall: Function = globals.raw_get("xpcall")?;
    let math: Table = globals.raw_get("math")?;
    install_random(lua, &math, state)?;

    let libs = lua.create_table()?;
    for name in ["string", "table", "math", "coroutine"] {
        libs.raw_set(name, globals.raw_get::<Table>(name)?)?;
    }
    let redis = redis_table(lua, state)?;
    let idle_call = lua.create_function(|_, _: MultiValue| -> mlua::Result<()> {
        Err(raise_reply(
            "ERR redis.call/pcall can only be called inside a script invocation",
        ))
    })?;
    redis.raw_set("call", &idle_call)?;
    redis.raw_set("pcall", &idle_call)?;
    libs.raw_set("redis", &redis)?;
    libs.raw_set("cjson", cjson::create(lua)?)?;
    libs.raw_set("bit", bit::create(lua)?)?;
    libs.raw_set("cmsgpack", cmsgpack::create(lua)?)?;
    libs.raw_set("struct", structlib::create(lua)?)?;
    libs.raw_set("os", os_table(lua)?)?;

    let primitives = lua.create_table()?;
    primitives.raw_set("error_value", lua.create_function(error_value)?)?;
    let backing: Table = lua
        .load(PRELUDE)
        .set_name(PRELUDE_NAME)
        .call((libs, primitives))?;
    Ok(Env {
        backing,
        redis,
        idle_call,
        xpcall,
    })
}

/// What `pcall` returns for an error raised by Rust code: an error reply's text, or the message.
fn error_value(lua: &Lua, value: Value) -> mlua::Result<Value> {
    Ok(match value {
        Value::Error(err) => Value::String(lua.create_string(super::errors::error_message(&err))?),
        other => other,
    })
}

fn redis_table(lua: &Lua, state: &Rc<RunState>) -> mlua::Result<Table> {
    let redis = lua.create_table()?;
    redis.raw_set("REDIS_VERSION", REDIS_VERSION)?;
    redis.raw_set("REDIS_VERSION_NUM", REDIS_VERSION_NUM)?;
    for (name, level) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
    ] {
        redis.raw_set(name, level)?;
    }
    for (name, flags) in [
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, flags)?;
    }
    redis.raw_set(
        "sha1hex",
        lua.create_function(|_, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(raise_reply("ERR wrong number of arguments"));
            }
            let digest = match args.first() {
                Some(Value::String(text)) => sha1_hex(&text.as_bytes()),
                Some(Value::Number(n)) => sha1_hex(lua_number_text(*n).as_bytes()),
                Some(Value::Integer(n)) => sha1_hex(lua_number_text(*n as f64).as_bytes()),
                _ => sha1_hex(b""),
            };
            Ok(digest)
        })?,
    )?;
    redis.raw_set(
        "error_reply",
        lua.create_function(|lua, args: Variadic<Value>| {
            let text = match (args.len(), args.first()) {
                (1, Some(Value::String(text))) => text.as_bytes().to_vec(),
                _ => b"ERR wrong number or type of arguments".to_vec(),
            };
            convert::error_table(lua, &text)
        })?,
    )?;
    redis.raw_set(
        "status_reply",
        lua.create_function(|lua, args: Variadic<Value>| {
            let table = lua.create_table()?;
            match (args.len(), args.first()) {
                (1, Some(Value::String(text))) => table.raw_set("ok", text)?,
                _ => table.raw_set("err", "ERR wrong number or type of arguments")?,
            }
            Ok(table)
        })?,
    )?;
    redis.raw_set("log", lua.create_function(log)?)?;
    let resp_state = state.clone();
    redis.raw_set(
        "setresp",
        lua.create_function(move |_, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(raise_reply("ERR redis.setresp() requires one argument."));
            }
            match args.first().and_then(to_number).map(|n| n as i64) {
                Some(2) => resp_state.resp3.set(false),
                Some(3) => resp_state.resp3.set(true),
                _ => return Err(raise_reply("ERR RESP version must be 2 or 3.")),
            }
            Ok(())
        })?,
    )?;
    // Effects are what is replicated, always: the flags are checked and otherwise ignored.
    redis.raw_set(
        "set_repl",
        lua.create_function(|_, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(raise_reply("ERR redis.set_repl() requires two arguments."));
            }
            let flags = args.first().and_then(to_number).unwrap_or(0.0) as i64;
            if flags & !3 != 0 {
                return Err(raise_reply(
                    "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
                ));
            }
            Ok(())
        })?,
    )?;
    redis.raw_set(
        "replicate_commands",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    // No debugger (SCRIPT DEBUG): breakpoint reports that none is active, debug does nothing.
    redis.raw_set(
        "breakpoint",
        lua.create_function(|_, _: MultiValue| Ok(false))?,
    )?;
    redis.raw_set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
    Ok(redis)
}

fn log(_: &Lua, args: Variadic<Value>) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(raise_reply(
            "ERR redis.log() requires two arguments or more.",
        ));
    }
    let Some(level) = args.first().and_then(to_number) else {
        return Err(raise_reply(
            "ERR First argument must be a number (log level).",
        ));
    };
    let level = level as i64;
    if !(0..=3).contains(&level) {
        return Err(raise_reply("ERR Invalid debug level."));
    }
    let mut message = String::new();
    for arg in args.iter().skip(1) {
        let piece = match arg {
            Value::String(text) => String::from_utf8_lossy(&text.as_bytes()).into_owned(),
            Value::Number(n) => lua_number_text(*n),
            Value::Integer(n) => lua_number_text(*n as f64),
            _ => continue,
        };
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(&piece);
    }
    match level {
        0 => tracing::debug!(target: "script", "{message}"),
        1 => tracing::debug!(target: "script", "{message}"),
        2 => tracing::info!(target: "script", "{message}"),
        _ => tracing::warn!(target: "script", "{message}"),
    }
    Ok(())
}

/// Redis's `math.random` / `math.randomseed`: its own `lrand48`, so every platform gives the same
/// sequence; the generator is reset before each run (see `RunState::reset`).
fn install_random(lua: &Lua, math: &Table, state: &Rc<RunState>) -> mlua::Result<()> {
    let rand = state.clone();
    math.raw_set(
        "random",
        lua.create_function(move |lua, args: Variadic<Value>| {
            const MAX: i64 = i32::MAX as i64;
            let r = (lrand48(&rand.rand) % MAX) as f64 / MAX as f64;
            match args.len() {
                0 => Ok(r),
                1 => {
                    let upper = check_int(lua, &args, 0, "random")?;
                    if upper < 1 {
                        return Err(arg_error(lua, 1, "random", "interval is empty"));
                    }
                    Ok((r * upper as f64).floor() + 1.0)
                }
                2 => {
                    let lower = check_int(lua, &args, 0, "random")?;
                    let upper = check_int(lua, &args, 1, "random")?;
                    if lower > upper {
                        return Err(arg_error(lua, 2, "random", "interval is empty"));
                    }
                    Ok((r * (upper - lower + 1) as f64).floor() + lower as f64)
                }
                _ => Err(raise_runtime(lua, "wrong number of arguments")),
            }
        })?,
    )?;
    let seed = state.clone();
    math.raw_set(
        "randomseed",
        lua.create_function(move |lua, args: Variadic<Value>| {
            let value = check_int(lua, &args, 0, "randomseed")?;
            seed.rand.set(srand48(value as i32));
            Ok(())
        })?,
    )?;
    Ok(())
}

/// The initial state of Redis's generator (and of POSIX `lrand48`).
pub(crate) const RAND_INITIAL: u64 = 0x1234_ABCD_330E;
const RAND_MASK: u64 = (1 << 48) - 1;

fn lrand48(state: &Cell<u64>) -> i64 {
    let next = state.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & RAND_MASK;
    state.set(next);
    (next >> 17) as i64
}

fn srand48(seed: i32) -> u64 {
    ((u64::from(seed as u32) << 16) | 0x330E) & RAND_MASK
}

/// Redis 7.0 has no `os` library; `os.clock` (added to Redis later) is kept for timing loops.
fn os_table(lua: &Lua) -> mlua::Result<Table> {
    let os = lua.create_table()?;
    let start = Instant::now();
    os.raw_set(
        "clock",
        lua.create_function(move |_, ()| Ok(start.elapsed().as_secs_f64()))?,
    )?;
    Ok(os)
}
