//! `struct`, the lua-struct library Redis ships: `pack(fmt, ...)`, `unpack(fmt, s [, pos])`,
//! `size(fmt)`, with the sizes and alignment of a 64-bit little-endian build (int 4, long and
//! size_t 8, maximum alignment 8).

use mlua::{Lua, MultiValue, Table, Value, Variadic};

use super::errors::raise_runtime;
use super::errors::{arg_error, to_number, type_name};

const MAX_INT_SIZE: usize = 32;
const MAX_ALIGN: usize = 8;

#[derive(Clone, Copy)]
struct Header {
    little: bool,
    align: usize,
}

impl Default for Header {
    fn default() -> Self {
        Header {
            little: true,
            align: 1,
        }
    }
}

/// A format string being read: options and their optional numbers.
struct Format<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Format<'_> {
    fn next(&mut self) -> Option<u8> {
        let opt = *self.bytes.get(self.pos)?;
        self.pos += 1;
        Some(opt)
    }

    fn number(&mut self, lua: &Lua, default: usize) -> mlua::Result<usize> {
        if !self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            return Ok(default);
        }
        let mut n: usize = 0;
        while let Some(digit) = self.bytes.get(self.pos).filter(|b| b.is_ascii_digit()) {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(digit - b'0')))
                .filter(|n| *n <= i32::MAX as usize)
                .ok_or_else(|| raise_runtime(lua, "integral size overflow"))?;
            self.pos += 1;
        }
        Ok(n)
    }

    /// The size of an option (0 for options that take no room or align nothing).
    fn size(&mut self, lua: &Lua, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'b' | b'B' | b'x' => 1,
            b'h' | b'H' => 2,
            b'l' | b'L' | b'T' | b'd' => 8,
            b'f' => 4,
            b'c' => self.number(lua, 1)?,
            b'i' | b'I' => {
                let size = self.number(lua, 4)?;
                if size > MAX_INT_SIZE {
                    let message =
                        format!("integral size {size} is larger than limit of {MAX_INT_SIZE}");
                    return Err(raise_runtime(lua, &message));
                }
                size
            }
            _ => 0,
        })
    }

    /// Endianness, alignment and spaces; anything else is an invalid option.
    fn control(&mut self, lua: &Lua, opt: u8, header: &mut Header, name: &str) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => header.little = false,
            b'<' => header.little = true,
            b'!' => {
                let align = self.number(lua, MAX_ALIGN)?;
                if !align.is_power_of_two() {
                    let message = format!("alignment {align} is not a power of 2");
                    return Err(raise_runtime(lua, &message));
                }
                header.align = align;
            }
            other => {
                let detail = format!("invalid format option '{}'", char::from(other));
                return Err(arg_error(lua, 1, name, &detail));
            }
        }
        Ok(())
    }
}

fn to_align(len: usize, header: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(header.align);
    // Sizes are powers of two in practice; a non-power falls back to no padding.
    if !size.is_power_of_two() {
        return 0;
    }
    (size - (len & (size - 1))) & (size - 1)
}

fn bytes_arg(lua: &Lua, args: &[Value], index: usize, name: &str) -> mlua::Result<Vec<u8>> {
    match args.get(index) {
        Some(Value::String(text)) => Ok(text.as_bytes().to_vec()),
        Some(value @ (Value::Number(_) | Value::Integer(_))) => Ok(to_number(value)
            .map(super::errors::lua_number_text)
            .unwrap_or_default()
            .into_bytes()),
        other => {
            let detail = format!("string expected, got {}", type_name(other));
            Err(arg_error(lua, index + 1, name, &detail))
        }
    }
}

fn number_arg(lua: &Lua, args: &[Value], index: usize, name: &str) -> mlua::Result<f64> {
    args.get(index).and_then(to_number).ok_or_else(|| {
        let detail = format!("number expected, got {}", type_name(args.get(index)));
        arg_error(lua, index + 1, name, &detail)
    })
}

pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("pack", lua.create_function(pack)?)?;
    table.raw_set("unpack", lua.create_function(unpack)?)?;
    table.raw_set("size", lua.create_function(size)?)?;
    Ok(table)
}

fn pack(lua: &Lua, args: Variadic<Value>) -> mlua::Result<mlua::String> {
    let fmt = bytes_arg(lua, &args, 0, "pack")?;
    let mut format = Format {
        bytes: &fmt,
        pos: 0,
    };
    let mut header = Header::default();
    let mut out: Vec<u8> = Vec::new();
    let mut arg = 1;
    while let Some(opt) = format.next() {
        let mut size = format.size(lua, opt)?;
        let pad = to_align(out.len(), &header, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = number_arg(lua, &args, arg, "pack")?;
                arg += 1;
                let mut value = if n < 0.0 { n as i64 as u64 } else { n as u64 };
                let mut bytes = vec![0u8; size];
                for slot in 0..size {
                    let index = if header.little { slot } else { size - 1 - slot };
                    bytes[index] = (value & 0xff) as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                out.extend_from_slice(&bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = number_arg(lua, &args, arg, "pack")? as f32;
                arg += 1;
                out.extend_from_slice(&if header.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                });
            }
            b'd' => {
                let d = number_arg(lua, &args, arg, "pack")?;
                arg += 1;
                out.extend_from_slice(&if header.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let text = bytes_arg(lua, &args, arg, "pack")?;
                arg += 1;
                if size == 0 {
                    size = text.len();
                }
                if text.len() < size {
                    // lua-struct names the argument after the string (its index already moved on).
                    return Err(arg_error(lua, arg + 1, "pack", "string too short"));
                }
                out.extend_from_slice(&text[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            other => format.control(lua, other, &mut header, "pack")?,
        }
    }
    lua.create_string(out)
}

fn unpack(lua: &Lua, args: Variadic<Value>) -> mlua::Result<MultiValue> {
    let fmt = bytes_arg(lua, &args, 0, "unpack")?;
    let data = bytes_arg(lua, &args, 1, "unpack")?;
    let start = match args.get(2) {
        None | Some(Value::Nil) => 1.0,
        Some(_) => number_arg(lua, &args, 2, "unpack")?.trunc(),
    };
    if start < 1.0 {
        return Err(arg_error(lua, 3, "unpack", "offset must be 1 or greater"));
    }
    let mut pos = start as usize - 1;
    let mut format = Format {
        bytes: &fmt,
        pos: 0,
    };
    let mut header = Header::default();
    let mut values: Vec<Value> = Vec::new();
    let too_short = || arg_error(lua, 2, "unpack", "data string too short");
    while let Some(opt) = format.next() {
        let mut size = format.size(lua, opt)?;
        pos += to_align(pos, &header, opt, size);
        let field = |pos: usize, size: usize| data.get(pos..pos.checked_add(size)?);
        let Some(bytes) = field(pos, size) else {
            return Err(too_short());
        };
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut value: u64 = 0;
                for index in 0..size {
                    let byte = if header.little {
                        bytes[size - 1 - index]
                    } else {
                        bytes[index]
                    };
                    value = (value << 8) | u64::from(byte);
                }
                let number = if opt.is_ascii_lowercase() && (1..=8).contains(&size) {
                    let shift = 64 - size * 8;
                    ((value << shift) as i64 >> shift) as f64
                } else {
                    value as f64
                };
                values.push(Value::Number(number));
            }
            b'x' => {}
            b'f' => {
                let raw: [u8; 4] = bytes.try_into().map_err(|_| too_short())?;
                let f = if header.little {
                    f32::from_le_bytes(raw)
                } else {
                    f32::from_be_bytes(raw)
                };
                values.push(Value::Number(f64::from(f)));
            }
            b'd' => {
                let raw: [u8; 8] = bytes.try_into().map_err(|_| too_short())?;
                let d = if header.little {
                    f64::from_le_bytes(raw)
                } else {
                    f64::from_be_bytes(raw)
                };
                values.push(Value::Number(d));
            }
            b'c' => {
                if size == 0 {
                    // `c0`: the length is the number unpacked just before.
                    let Some(previous) = values.last().and_then(to_number) else {
                        return Err(raise_runtime(lua, "format 'c0' needs a previous size"));
                    };
                    values.pop();
                    size = previous as usize;
                }
                let Some(bytes) = field(pos, size) else {
                    return Err(too_short());
                };
                values.push(Value::String(lua.create_string(bytes)?));
            }
            b's' => {
                let rest = data.get(pos..).unwrap_or_default();
                let Some(end) = rest.iter().position(|&b| b == 0) else {
                    return Err(raise_runtime(lua, "unfinished string in data"));
                };
                values.push(Value::String(lua.create_string(&rest[..end])?));
                size = end + 1;
            }
            other => format.control(lua, other, &mut header, "unpack")?,
        }
        pos += size;
    }
    values.push(Value::Number((pos + 1) as f64));
    Ok(MultiValue::from_iter(values))
}

fn size(lua: &Lua, args: Variadic<Value>) -> mlua::Result<f64> {
    let fmt = bytes_arg(lua, &args, 0, "size")?;
    let mut format = Format {
        bytes: &fmt,
        pos: 0,
    };
    let mut header = Header::default();
    let mut pos = 0usize;
    while let Some(opt) = format.next() {
        let size = format.size(lua, opt)?;
        pos += to_align(pos, &header, opt, size);
        if opt == b's' {
            return Err(arg_error(lua, 1, "size", "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "size", "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            format.control(lua, opt, &mut header, "size")?;
        }
        pos += size;
    }
    Ok(pos as f64)
}
