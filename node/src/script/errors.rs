//! What the libraries and the VM share: raising errors the way Redis's C code does, reading
//! the text of one, and checking arguments as the Lua C API does (`luaL_checkint`, …).

use mlua::{Lua, Value};

/// An error reply raised by Rust code (`redis.call` of a failing command, argument checks):
/// the error handler turns it into `{err=...}` as Redis's C functions raise tables.
#[derive(Debug)]
pub(crate) struct ErrReply(pub String);

impl std::error::Error for ErrReply {}

impl std::fmt::Display for ErrReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub(crate) fn raise_reply(text: &str) -> mlua::Error {
    mlua::Error::external(ErrReply(text.to_string()))
}

/// A plain Lua error from a library function, prefixed with the caller's position as
/// `luaL_error` does (`user_script:3: bad argument #1 to 'band' ...`).
pub(crate) fn raise_runtime(lua: &Lua, message: &str) -> mlua::Error {
    let position = lua
        .inspect_stack(1, |debug| {
            let source = debug.source();
            match (source.what, source.short_src, debug.current_line()) {
                ("C", _, _) | (_, None, _) | (_, _, None) => String::new(),
                (_, Some(src), Some(line)) => format!("{src}:{line}: "),
            }
        })
        .unwrap_or_default();
    mlua::Error::runtime(format!("{position}{message}"))
}

/// The text of an error raised by Rust code.
pub(crate) fn error_message(err: &mlua::Error) -> String {
    match err {
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        mlua::Error::ExternalError(inner) => match inner.downcast_ref::<ErrReply>() {
            Some(reply) => reply.0.clone(),
            None => inner.to_string(),
        },
        mlua::Error::RuntimeError(message) | mlua::Error::MemoryError(message) => message.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn is_reply(err: &mlua::Error) -> bool {
    match err {
        mlua::Error::CallbackError { cause, .. } => is_reply(cause),
        mlua::Error::ExternalError(inner) => inner.downcast_ref::<ErrReply>().is_some(),
        _ => false,
    }
}

/// `lua_isnumber` / `lua_tonumber`: numbers and numeric strings.
pub(crate) fn to_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => Some(*n),
        Value::Integer(n) => Some(*n as f64),
        Value::String(text) => {
            let text = text.to_str().ok()?;
            let text = text.trim();
            match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok().map(|n| n as f64),
                None => text.parse().ok(),
            }
        }
        _ => None,
    }
}

/// How Lua itself turns a number into text (`%.14g`).
pub(crate) fn lua_number_text(n: f64) -> String {
    super::numfmt::format_g(n, 14)
}

/// `luaL_checkint`: a number or numeric string, truncated.
pub(crate) fn check_int(lua: &Lua, args: &[Value], index: usize, name: &str) -> mlua::Result<i64> {
    let value = args.get(index).unwrap_or(&Value::Nil);
    match to_number(value) {
        Some(n) => Ok(n as i64),
        None => Err(arg_error(
            lua,
            index + 1,
            name,
            &format!("number expected, got {}", type_name(args.get(index))),
        )),
    }
}

pub(crate) fn arg_error(lua: &Lua, position: usize, name: &str, detail: &str) -> mlua::Error {
    raise_runtime(
        lua,
        &format!("bad argument #{position} to '{name}' ({detail})"),
    )
}

/// Lua's type name for an argument (`no value` when it is missing).
pub(crate) fn type_name(value: Option<&Value>) -> &'static str {
    match value {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::LightUserData(_)) | Some(Value::UserData(_)) => "userdata",
        Some(Value::Integer(_)) | Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}
