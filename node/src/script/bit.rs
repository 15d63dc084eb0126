//! `bit`, the LuaBitOp library Redis ships: 32-bit operations on Lua numbers, results as
//! signed 32-bit numbers.

use mlua::{Lua, Table, Value, Variadic};

use super::errors::{arg_error, to_number, type_name};

/// LuaBitOp's argument conversion: the number rounded (half to even) and reduced modulo 2^32,
/// through the bits of `x + 2^52 + 2^51` as the C library does.
fn to_bits(value: f64) -> u32 {
    (value + 6_755_399_441_055_744.0).to_bits() as u32
}

fn arg(lua: &Lua, args: &[Value], index: usize, name: &str) -> mlua::Result<u32> {
    match args.get(index).and_then(to_number) {
        Some(n) => Ok(to_bits(n)),
        None => Err(arg_error(
            lua,
            index + 1,
            name,
            &format!("number expected, got {}", type_name(args.get(index))),
        )),
    }
}

fn result(bits: u32) -> f64 {
    f64::from(bits as i32)
}

type Unary = fn(u32) -> u32;
type Shift = fn(u32, u32) -> u32;
type Fold = fn(u32, u32) -> u32;

pub(crate) fn create(lua: &Lua) -> mlua::Result<Table> {
    let bit = lua.create_table()?;
    let unary: [(&'static str, Unary); 3] = [
        ("tobit", |x| x),
        ("bnot", |x| !x),
        ("bswap", u32::swap_bytes),
    ];
    for (name, op) in unary {
        bit.raw_set(
            name,
            lua.create_function(move |lua, args: Variadic<Value>| {
                Ok(result(op(arg(lua, &args, 0, name)?)))
            })?,
        )?;
    }
    let folds: [(&'static str, Fold); 3] = [
        ("band", |a, b| a & b),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ];
    for (name, op) in folds {
        bit.raw_set(
            name,
            lua.create_function(move |lua, args: Variadic<Value>| {
                let mut acc = arg(lua, &args, 0, name)?;
                for index in 1..args.len() {
                    acc = op(acc, arg(lua, &args, index, name)?);
                }
                Ok(result(acc))
            })?,
        )?;
    }
    let shifts: [(&'static str, Shift); 5] = [
        ("lshift", |x, n| x << (n & 31)),
        ("rshift", |x, n| x >> (n & 31)),
        ("arshift", |x, n| ((x as i32) >> (n & 31)) as u32),
        ("rol", |x, n| x.rotate_left(n & 31)),
        ("ror", |x, n| x.rotate_right(n & 31)),
    ];
    for (name, op) in shifts {
        bit.raw_set(
            name,
            lua.create_function(move |lua, args: Variadic<Value>| {
                let x = arg(lua, &args, 0, name)?;
                let n = arg(lua, &args, 1, name)?;
                Ok(result(op(x, n)))
            })?,
        )?;
    }
    bit.raw_set("tohex", lua.create_function(tohex)?)?;
    Ok(bit)
}

/// `bit.tohex(x [, n])`: the low `n` hex digits (default 8), upper case when `n` is negative.
fn tohex(lua: &Lua, args: Variadic<Value>) -> mlua::Result<String> {
    let mut x = arg(lua, &args, 0, "tohex")?;
    let mut n = match args.get(1) {
        None => 8,
        Some(_) => arg(lua, &args, 1, "tohex")? as i32,
    };
    let digits: &[u8; 16] = if n < 0 {
        n = n.saturating_neg();
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let n = n.min(8) as usize;
    let mut out = vec![b'0'; n];
    for slot in out.iter_mut().rev() {
        *slot = digits[(x & 15) as usize];
        x >>= 4;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
