//! Conversions between replies and Lua values, as Redis's `script_lua.c` makes them.
//!
//! Reply → Lua (what `redis.call` returns), RESP2 forms unless the script called
//! `redis.setresp(3)`:
//!
//! | reply            | RESP2 script              | RESP3 script                         |
//! |------------------|---------------------------|--------------------------------------|
//! | integer          | number                    | number                               |
//! | bulk             | string                    | string                               |
//! | null (bulk/array)| false                     | nil                                  |
//! | array            | table                     | table                                |
//! | status           | `{ok=..}`                 | `{ok=..}`                            |
//! | error            | `{err=..}`                | `{err=..}`                           |
//! | map              | flat table k1,v1,..       | `{map={k=v}}`                        |
//! | set              | table                     | `{set={member=true}}`                |
//! | boolean          | 1 / 0 (RESP2's integers)  | boolean                              |
//! | double           | string (RESP2's bulk)     | `{double=n}`                         |
//! | verbatim         | string                    | `{verbatim_string={format=,string=}}`|
//! | pairs            | flat table                | table of {k, v} tables               |
//!
//! Lua → reply (what the script returns): number → integer (truncated), string → bulk,
//! true → 1 (or a boolean after `redis.setresp(3)`), false / nil → null, `{err=}` → error,
//! `{ok=}` → status, `{double=}`, `{big_number=}`, `{verbatim_string=}`, `{map=}`, `{set=}`,
//! and any other table → array of its elements up to the first nil.

use mlua::{Lua, Table, Value};

use super::numfmt::format_g;
use crate::protocol::Frame;

/// Nesting beyond this is refused like Redis refuses when its Lua stack runs out (a table that
/// contains itself would otherwise recurse forever).
const MAX_DEPTH: usize = 128;

/// A reply as `redis.call` hands it to the script.
pub(crate) fn frame_to_lua(lua: &Lua, frame: &Frame, resp3: bool) -> mlua::Result<Value> {
    Ok(match frame {
        Frame::Ok => Value::Table(single(lua, "ok", Value::String(lua.create_string("OK")?))?),
        Frame::Simple(text) => {
            Value::Table(single(lua, "ok", Value::String(lua.create_string(text)?))?)
        }
        Frame::Error(text) => Value::Table(error_table(lua, text.as_bytes())?),
        Frame::Integer(value) => Value::Number(*value as f64),
        Frame::Bulk(bytes) => Value::String(lua.create_string(bytes)?),
        Frame::Null | Frame::NullArray => null(resp3),
        Frame::Array(items) => Value::Table(array(lua, items.iter(), items.len(), resp3)?),
        Frame::Set(items) if resp3 => {
            let set = lua.create_table_with_capacity(0, items.len())?;
            for item in items {
                let key = frame_to_lua(lua, item, resp3)?;
                if !key.is_nil() {
                    set.raw_set(key, true)?;
                }
            }
            Value::Table(single(lua, "set", Value::Table(set))?)
        }
        Frame::Set(items) => Value::Table(array(lua, items.iter(), items.len(), resp3)?),
        Frame::Map(pairs) if resp3 => {
            let map = lua.create_table_with_capacity(0, pairs.len())?;
            for (key, value) in pairs {
                let key = frame_to_lua(lua, key, resp3)?;
                if !key.is_nil() {
                    map.raw_set(key, frame_to_lua(lua, value, resp3)?)?;
                }
            }
            Value::Table(single(lua, "map", Value::Table(map))?)
        }
        Frame::Pairs(pairs) if resp3 => {
            let table = lua.create_table_with_capacity(pairs.len(), 0)?;
            for (index, (key, value)) in pairs.iter().enumerate() {
                let pair = lua.create_table_with_capacity(2, 0)?;
                pair.raw_set(1, frame_to_lua(lua, key, resp3)?)?;
                pair.raw_set(2, frame_to_lua(lua, value, resp3)?)?;
                table.raw_set(index + 1, pair)?;
            }
            Value::Table(table)
        }
        Frame::Map(pairs) | Frame::Pairs(pairs) => {
            let flat = pairs.iter().flat_map(|(key, value)| [key, value]);
            Value::Table(array(lua, flat, pairs.len() * 2, resp3)?)
        }
        Frame::Boolean(value) if resp3 => Value::Boolean(*value),
        Frame::Boolean(value) => Value::Number(if *value { 1.0 } else { 0.0 }),
        Frame::Double(value) if resp3 => {
            Value::Table(single(lua, "double", Value::Number(*value))?)
        }
        Frame::Double(value) => Value::String(lua.create_string(format_g(*value, 17))?),
        Frame::Verbatim(format, text) if resp3 => {
            let inner = lua.create_table_with_capacity(0, 2)?;
            inner.raw_set("format", *format)?;
            inner.raw_set("string", lua.create_string(text)?)?;
            Value::Table(single(lua, "verbatim_string", Value::Table(inner))?)
        }
        Frame::Verbatim(_, text) => Value::String(lua.create_string(text)?),
    })
}

fn null(resp3: bool) -> Value {
    if resp3 {
        Value::Nil
    } else {
        Value::Boolean(false)
    }
}

fn array<'a>(
    lua: &Lua,
    items: impl Iterator<Item = &'a Frame>,
    len: usize,
    resp3: bool,
) -> mlua::Result<Table> {
    let table = lua.create_table_with_capacity(len, 0)?;
    for (index, item) in items.enumerate() {
        table.raw_set(index + 1, frame_to_lua(lua, item, resp3)?)?;
    }
    Ok(table)
}

fn single(lua: &Lua, key: &str, value: Value) -> mlua::Result<Table> {
    let table = lua.create_table_with_capacity(0, 1)?;
    table.raw_set(key, value)?;
    Ok(table)
}

/// `{err="CODE message"}` from an error reply's text, as Redis's `luaPushErrorBuff` builds it.
pub(crate) fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Table> {
    single(
        lua,
        "err",
        Value::String(lua.create_string(error_text(text))?),
    )
}

/// Normalizes an error text to `CODE message`: a leading `-` is dropped, a text without a space
/// gets the generic `ERR` code, and line breaks around the message are trimmed.
pub(crate) fn error_text(text: &[u8]) -> Vec<u8> {
    let text = text.strip_prefix(b"-").unwrap_or(text);
    let (code, message) = match text.iter().position(|&b| b == b' ') {
        Some(space) => (&text[..space], &text[space + 1..]),
        None => (&b"ERR"[..], text),
    };
    let is_break = |b: &u8| *b == b'\r' || *b == b'\n';
    let start = message
        .iter()
        .position(|b| !is_break(b))
        .unwrap_or(message.len());
    let end = message
        .iter()
        .rposition(|b| !is_break(b))
        .map_or(start, |i| i + 1);
    let mut out = Vec::with_capacity(code.len() + 1 + end.saturating_sub(start));
    out.extend_from_slice(code);
    out.push(b' ');
    out.extend_from_slice(message.get(start..end).unwrap_or_default());
    out
}

/// The script's return value as a reply. `resp3` is the script's `redis.setresp` choice (it
/// decides how booleans are returned).
pub(crate) fn lua_to_frame(value: &Value, resp3: bool) -> Frame {
    to_frame(value, resp3, 0)
}

fn to_frame(value: &Value, resp3: bool, depth: usize) -> Frame {
    match value {
        Value::String(text) => Frame::Bulk(text.as_bytes().to_vec().into()),
        Value::Boolean(true) if !resp3 => Frame::Integer(1),
        Value::Boolean(_) if !resp3 => Frame::Null,
        Value::Boolean(value) => Frame::Boolean(*value),
        // C's `(long long)` cast truncates toward zero; `as` does too (and saturates).
        Value::Number(number) => Frame::Integer(*number as i64),
        Value::Integer(number) => Frame::Integer(*number),
        Value::Table(table) if depth >= MAX_DEPTH => {
            let _ = table;
            Frame::Error("ERR reached lua stack limit".into())
        }
        Value::Table(table) => table_to_frame(table, resp3, depth)
            .unwrap_or_else(|err| Frame::Error(format!("ERR {err}"))),
        _ => Frame::Null,
    }
}

fn table_to_frame(table: &Table, resp3: bool, depth: usize) -> mlua::Result<Frame> {
    if let Value::String(err) = table.raw_get::<Value>("err")? {
        return Ok(Frame::Error(single_line(&err.as_bytes())));
    }
    if let Value::String(ok) = table.raw_get::<Value>("ok")? {
        let ok = single_line(&ok.as_bytes());
        return Ok(if ok == "OK" {
            Frame::Ok
        } else {
            Frame::Simple(ok)
        });
    }
    match table.raw_get::<Value>("double")? {
        Value::Number(number) => return Ok(Frame::Double(number)),
        Value::Integer(number) => return Ok(Frame::Double(number as f64)),
        _ => {}
    }
    if let Value::String(number) = table.raw_get::<Value>("big_number")? {
        // No big-number frame: RESP2 replies it as a bulk string too.
        return Ok(Frame::Bulk(
            single_line(&number.as_bytes()).into_bytes().into(),
        ));
    }
    if let Value::Table(verbatim) = table.raw_get::<Value>("verbatim_string")?
        && let (Value::String(format), Value::String(text)) = (
            verbatim.raw_get::<Value>("format")?,
            verbatim.raw_get::<Value>("string")?,
        )
    {
        let text = text.as_bytes().to_vec().into();
        return Ok(match &format.as_bytes()[..] {
            b"mkd" => Frame::Verbatim("mkd", text),
            _ => Frame::Verbatim("txt", text),
        });
    }
    if let Value::Table(map) = table.raw_get::<Value>("map")? {
        let mut pairs = Vec::new();
        for pair in map.pairs::<Value, Value>() {
            let (key, value) = pair?;
            pairs.push((
                to_frame(&key, resp3, depth + 1),
                to_frame(&value, resp3, depth + 1),
            ));
        }
        return Ok(Frame::Map(pairs));
    }
    if let Value::Table(set) = table.raw_get::<Value>("set")? {
        let mut members = Vec::new();
        for pair in set.pairs::<Value, Value>() {
            let (key, _) = pair?;
            members.push(to_frame(&key, resp3, depth + 1));
        }
        return Ok(Frame::Set(members));
    }
    let mut items = Vec::new();
    for index in 1.. {
        let item = table.raw_get::<Value>(index)?;
        if item.is_nil() {
            break;
        }
        items.push(to_frame(&item, resp3, depth + 1));
    }
    Ok(Frame::Array(items))
}

/// Status and error replies cannot hold line breaks; Redis turns them into spaces.
fn single_line(text: &[u8]) -> String {
    String::from_utf8_lossy(text).replace(['\r', '\n'], " ")
}
