//! `cjson`, as the lua-cjson Redis ships encodes: `%.14g` numbers, `/` escaped, an empty table
//! as `{}`, tables with only positive integer keys as arrays (holes as `null`, too sparse ones
//! refused), `cjson.null` for JSON null. Decoding parses with serde_json.

use std::ptr;

use mlua::{LightUserData, Lua, Table, Value, Variadic};

use super::errors::raise_runtime;
use super::errors::{arg_error, type_name};
use super::numfmt::format_g;

/// lua-cjson's defaults: nesting limit, and the sparse-array rule (refuse an array whose largest
/// index is over 10 and more than twice its number of elements).
const MAX_DEPTH: usize = 1000;
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

/// `cjson.null`: a NULL light userdata, as in lua-cjson.
fn null() -> Value {
    Value::LightUserData(LightUserData(ptr::null_mut()))
}

pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let cjson = lua.create_table()?;
    cjson.raw_set("null", null())?;
    cjson.raw_set(
        "encode",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(arg_error(lua, 1, "encode", "expected 1 argument"));
            }
            let mut out = Vec::new();
            match args.first().map(|value| encode(&mut out, value, 0)) {
                Some(Err(message)) => Err(raise_runtime(lua, &message)),
                _ => lua.create_string(out),
            }
        })?,
    )?;
    cjson.raw_set(
        "decode",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.len() != 1 {
                return Err(arg_error(lua, 1, "decode", "expected 1 argument"));
            }
            let text = match args.first() {
                Some(Value::String(text)) => text.as_bytes().to_vec(),
                Some(Value::Number(n)) => format_g(*n, 14).into_bytes(),
                Some(Value::Integer(n)) => format_g(*n as f64, 14).into_bytes(),
                other => {
                    let detail = format!("string expected, got {}", type_name(other));
                    return Err(arg_error(lua, 1, "decode", &detail));
                }
            };
            match serde_json::from_slice::<serde_json::Value>(&text) {
                Ok(json) => to_lua(lua, &json),
                Err(err) => Err(raise_runtime(lua, &parse_error(&err, text.len()))),
            }
        })?,
    )?;
    Ok(cjson)
}

fn encode(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), String> {
    match value {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(data) if data.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(n) => out.extend_from_slice(format_g(*n as f64, 14).as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            out.extend_from_slice(format_g(*n, 14).as_bytes());
        }
        Value::String(text) => escape(out, &text.as_bytes()),
        Value::Table(table) => {
            let depth = depth + 1;
            if depth > MAX_DEPTH {
                return Err(format!("Cannot serialise, excessive nesting ({depth})"));
            }
            match array_length(table)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for index in 1..=len {
                        if index > 1 {
                            out.push(b',');
                        }
                        let item = table.raw_get::<Value>(index).map_err(|e| e.to_string())?;
                        encode(out, &item, depth)?;
                    }
                    out.push(b']');
                }
                _ => encode_object(out, table, depth)?,
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                type_name(Some(other))
            ));
        }
    }
    Ok(())
}

fn encode_object(out: &mut Vec<u8>, table: &Table, depth: usize) -> Result<(), String> {
    out.push(b'{');
    let mut first = true;
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair.map_err(|e| e.to_string())?;
        if !first {
            out.push(b',');
        }
        first = false;
        match &key {
            Value::String(text) => escape(out, &text.as_bytes()),
            Value::Number(n) => {
                out.push(b'"');
                out.extend_from_slice(format_g(*n, 14).as_bytes());
                out.push(b'"');
            }
            Value::Integer(n) => {
                out.push(b'"');
                out.extend_from_slice(format_g(*n as f64, 14).as_bytes());
                out.push(b'"');
            }
            other => {
                return Err(format!(
                    "Cannot serialise {}: table key must be a number or string",
                    type_name(Some(other))
                ));
            }
        }
        out.push(b':');
        encode(out, &value, depth)?;
    }
    out.push(b'}');
    Ok(())
}

/// The array length of a table whose keys are all positive integers (`None`: an object).
fn array_length(table: &Table) -> Result<Option<usize>, String> {
    let (mut max, mut items) = (0usize, 0usize);
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair.map_err(|e| e.to_string())?;
        let index = match key {
            Value::Number(n) if n >= 1.0 && n.floor() == n => n as usize,
            Value::Integer(n) if n >= 1 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(index);
        items += 1;
    }
    if max > items * SPARSE_RATIO && max > SPARSE_SAFE {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    Ok(Some(max))
}

fn escape(out: &mut Vec<u8>, text: &[u8]) {
    out.push(b'"');
    for &byte in text {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{byte:04x}").as_bytes()),
            _ => out.push(byte),
        }
    }
    out.push(b'"');
}

fn to_lua(lua: &Lua, json: &serde_json::Value) -> mlua::Result<Value> {
    Ok(match json {
        serde_json::Value::Null => null(),
        serde_json::Value::Bool(b) => Value::Boolean(*b),
        serde_json::Value::Number(n) => Value::Number(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(text) => Value::String(lua.create_string(text)?),
        serde_json::Value::Array(items) => {
            let table = lua.create_table_with_capacity(items.len(), 0)?;
            for (index, item) in items.iter().enumerate() {
                table.raw_set(index + 1, to_lua(lua, item)?)?;
            }
            Value::Table(table)
        }
        serde_json::Value::Object(members) => {
            let table = lua.create_table_with_capacity(0, members.len())?;
            for (key, value) in members {
                table.raw_set(key.as_str(), to_lua(lua, value)?)?;
            }
            Value::Table(table)
        }
    })
}

/// lua-cjson's wording for a parse error, with the position serde_json reports.
fn parse_error(err: &serde_json::Error, len: usize) -> String {
    if err.is_eof() {
        format!("Expected value but found T_END at character {}", len + 1)
    } else {
        format!(
            "Expected value but found invalid token at character {}",
            err.column()
        )
    }
}
