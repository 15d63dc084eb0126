//! `cmsgpack`, as the lua-cmsgpack 0.4.0 Redis ships: `pack(...)` encodes each argument and
//! concatenates them; `unpack(s)` returns every value in `s`; `unpack_one(s [, offset])` and
//! `unpack_limit(s, limit [, offset])` return the next offset (-1 at the end) first.

use mlua::{Lua, MultiValue, Table, Value, Variadic};

use super::errors::raise_runtime;
use super::errors::{arg_error, check_int, type_name};

/// Tables nested deeper are packed as nil (what keeps a table holding itself finite).
const MAX_NESTING: usize = 16;

pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let msgpack = lua.create_table()?;
    msgpack.raw_set("_NAME", "cmsgpack")?;
    msgpack.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    msgpack.raw_set(
        "pack",
        lua.create_function(|lua, args: Variadic<Value>| {
            if args.is_empty() {
                return Err(arg_error(lua, 0, "pack", "MessagePack pack needs input."));
            }
            let mut out = Vec::new();
            for arg in args.iter() {
                encode(&mut out, arg, 0)?;
            }
            lua.create_string(out)
        })?,
    )?;
    msgpack.raw_set(
        "unpack",
        lua.create_function(|lua, args: Variadic<Value>| unpack(lua, &args, None, 0))?,
    )?;
    msgpack.raw_set(
        "unpack_one",
        lua.create_function(|lua, args: Variadic<Value>| {
            let offset = optional_int(lua, &args, 1, "unpack_one")?;
            unpack(lua, &args, Some(1), offset)
        })?,
    )?;
    msgpack.raw_set(
        "unpack_limit",
        lua.create_function(|lua, args: Variadic<Value>| {
            let limit = check_int(lua, &args, 1, "unpack_limit")?;
            let offset = optional_int(lua, &args, 2, "unpack_limit")?;
            unpack(lua, &args, Some(limit), offset)
        })?,
    )?;
    Ok(msgpack)
}

fn optional_int(lua: &Lua, args: &[Value], index: usize, name: &str) -> mlua::Result<i64> {
    match args.get(index) {
        None | Some(Value::Nil) => Ok(0),
        Some(_) => check_int(lua, args, index, name),
    }
}

fn encode(out: &mut Vec<u8>, value: &Value, level: usize) -> mlua::Result<()> {
    match value {
        Value::String(text) => encode_bytes(out, &text.as_bytes()),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(n) => encode_int(out, *n),
        Value::Number(n) if !n.is_infinite() && (*n as i64) as f64 == *n => {
            encode_int(out, *n as i64)
        }
        Value::Number(n) => encode_double(out, *n),
        Value::Table(table) if level < MAX_NESTING => encode_table(out, table, level)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn encode_table(out: &mut Vec<u8>, table: &Table, level: usize) -> mlua::Result<()> {
    // An array when the keys are exactly 1..n; a map otherwise.
    let (mut count, mut max, mut array) = (0usize, 0usize, true);
    for pair in table.pairs::<Value, Value>() {
        let (key, _) = pair?;
        let index = match key {
            Value::Integer(n) if n > 0 => n as usize,
            Value::Number(n) if n > 0.0 && n.floor() == n => n as usize,
            _ => {
                array = false;
                break;
            }
        };
        max = max.max(index);
        count += 1;
    }
    if array && max == count {
        encode_header(out, count, 0x90, 0xdc, 0xdd);
        for index in 1..=count {
            encode(out, &table.raw_get::<Value>(index)?, level + 1)?;
        }
        return Ok(());
    }
    let len = table.pairs::<Value, Value>().count();
    encode_header(out, len, 0x80, 0xde, 0xdf);
    for pair in table.pairs::<Value, Value>() {
        let (key, value) = pair?;
        encode(out, &key, level + 1)?;
        encode(out, &value, level + 1)?;
    }
    Ok(())
}

/// A fix-form (`len` ≤ 15), 16-bit or 32-bit array / map header.
fn encode_header(out: &mut Vec<u8>, len: usize, fix: u8, wide16: u8, wide32: u8) {
    if len <= 15 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(wide16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(wide32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

fn encode_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(bytes);
}

fn encode_int(out: &mut Vec<u8>, n: i64) {
    match n {
        0..=127 => out.push(n as u8),
        128..=0xff => out.extend_from_slice(&[0xcc, n as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
        0x1_0000_0000.. => {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
        -32..=-1 => out.push(n as i8 as u8),
        -128..=-33 => out.extend_from_slice(&[0xd0, n as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(n as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(n as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// A float when it holds the value exactly, a double otherwise.
fn encode_double(out: &mut Vec<u8>, d: f64) {
    let f = d as f32;
    if f64::from(f) == d {
        out.push(0xca);
        out.extend_from_slice(&f.to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&d.to_be_bytes());
    }
}

fn unpack(lua: &Lua, args: &[Value], limit: Option<i64>, offset: i64) -> mlua::Result<MultiValue> {
    let data = match args.first() {
        Some(Value::String(text)) => text.as_bytes().to_vec(),
        Some(Value::Number(n)) => super::errors::lua_number_text(*n).into_bytes(),
        Some(Value::Integer(n)) => super::errors::lua_number_text(*n as f64).into_bytes(),
        other => {
            let detail = format!("string expected, got {}", type_name(other));
            return Err(arg_error(lua, 1, "unpack", &detail));
        }
    };
    if offset < 0 || limit.is_some_and(|limit| limit < 0) {
        let message = format!(
            "Invalid request to unpack with offset of {offset} and limit of {}.",
            data.len()
        );
        return Err(raise_runtime(lua, &message));
    }
    let offset = offset as usize;
    if offset > data.len() {
        let message = format!(
            "Start offset {offset} greater than input length {}.",
            data.len()
        );
        return Err(raise_runtime(lua, &message));
    }
    // No limit and no offset: decode everything.
    let decode_all = limit.unwrap_or(0) == 0 && offset == 0;
    let limit = if decode_all {
        usize::MAX
    } else {
        limit.unwrap_or(0) as usize
    };
    let mut cursor = Cursor {
        data: &data,
        pos: offset,
    };
    let mut values = Vec::new();
    while cursor.pos < data.len() && values.len() < limit {
        match cursor.decode(lua) {
            Ok(value) => values.push(value),
            Err(Failure::Eof) => return Err(raise_runtime(lua, "Missing bytes in input.")),
            Err(Failure::Format) => return Err(raise_runtime(lua, "Bad data format in input.")),
            Err(Failure::Lua(err)) => return Err(err),
        }
    }
    if !decode_all {
        let next = if cursor.pos >= data.len() {
            -1.0
        } else {
            cursor.pos as f64
        };
        values.insert(0, Value::Number(next));
    }
    Ok(MultiValue::from_iter(values))
}

enum Failure {
    Eof,
    Format,
    Lua(mlua::Error),
}

impl From<mlua::Error> for Failure {
    fn from(err: mlua::Error) -> Self {
        Failure::Lua(err)
    }
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Failure> {
        let end = self.pos.checked_add(n).ok_or(Failure::Eof)?;
        let bytes = self.data.get(self.pos..end).ok_or(Failure::Eof)?;
        self.pos = end;
        Ok(bytes)
    }

    fn be(&mut self, n: usize) -> Result<u64, Failure> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    fn decode(&mut self, lua: &Lua) -> Result<Value, Failure> {
        let tag = self.take(1)?[0];
        Ok(match tag {
            0x00..=0x7f => Value::Number(f64::from(tag)),
            0xe0..=0xff => Value::Number(f64::from(tag as i8)),
            0xa0..=0xbf => self.string(lua, usize::from(tag & 0x1f))?,
            0x90..=0x9f => self.array(lua, usize::from(tag & 0x0f))?,
            0x80..=0x8f => self.map(lua, usize::from(tag & 0x0f))?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xca => Value::Number(f64::from(f32::from_bits(self.be(4)? as u32))),
            0xcb => Value::Number(f64::from_bits(self.be(8)?)),
            0xcc => Value::Number(self.be(1)? as f64),
            0xcd => Value::Number(self.be(2)? as f64),
            0xce => Value::Number(self.be(4)? as f64),
            0xcf => Value::Number(self.be(8)? as f64),
            0xd0 => Value::Number(f64::from(self.be(1)? as u8 as i8)),
            0xd1 => Value::Number(f64::from(self.be(2)? as u16 as i16)),
            0xd2 => Value::Number(f64::from(self.be(4)? as u32 as i32)),
            0xd3 => Value::Number(self.be(8)? as i64 as f64),
            0xd9 => {
                let len = self.be(1)? as usize;
                self.string(lua, len)?
            }
            0xda => {
                let len = self.be(2)? as usize;
                self.string(lua, len)?
            }
            0xdb => {
                let len = self.be(4)? as usize;
                self.string(lua, len)?
            }
            0xdc => {
                let len = self.be(2)? as usize;
                self.array(lua, len)?
            }
            0xdd => {
                let len = self.be(4)? as usize;
                self.array(lua, len)?
            }
            0xde => {
                let len = self.be(2)? as usize;
                self.map(lua, len)?
            }
            0xdf => {
                let len = self.be(4)? as usize;
                self.map(lua, len)?
            }
            _ => return Err(Failure::Format),
        })
    }

    fn string(&mut self, lua: &Lua, len: usize) -> Result<Value, Failure> {
        let bytes = self.take(len)?;
        Ok(Value::String(lua.create_string(bytes)?))
    }

    fn array(&mut self, lua: &Lua, len: usize) -> Result<Value, Failure> {
        // The length comes from the input: do not trust it for the allocation.
        let table = lua.create_table_with_capacity(len.min(1024), 0)?;
        for index in 1..=len {
            table.raw_set(index, self.decode(lua)?)?;
        }
        Ok(Value::Table(table))
    }

    fn map(&mut self, lua: &Lua, len: usize) -> Result<Value, Failure> {
        let table = lua.create_table_with_capacity(0, len.min(1024))?;
        for _ in 0..len {
            let key = self.decode(lua)?;
            let value = self.decode(lua)?;
            if !key.is_nil() {
                table.raw_set(key, value)?;
            }
        }
        Ok(Value::Table(table))
    }
}
