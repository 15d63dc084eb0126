//! The libraries (cjson, bit, math.random) and the sandbox, compared with what redis-server 7.0
//! replies for the same scripts.

use bytes::Bytes;

use super::tests::{at, err, ok};
use crate::protocol::Frame;

fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

fn int(n: i64) -> Frame {
    Frame::Integer(n)
}

#[test]
fn cjson_encodes_as_lua_cjson() {
    let cases = [
        (
            "return cjson.encode({1, 2, {a='x/y'}, {}})",
            r#"[1,2,{"a":"x\/y"},{}]"#,
        ),
        ("return cjson.encode({[1]=1, [2]=2, [4]=3})", "[1,2,null,3]"),
        (
            "return cjson.encode(0.1) .. cjson.encode(1e20) .. cjson.encode(3) .. cjson.encode({1e15, 2^60})",
            "0.11e+203[1e+15,1.1529215046068e+18]",
        ),
        ("return cjson.encode({a=1, [2]='x'})", r#"{"a":1,"2":"x"}"#),
        (
            "return cjson.encode('\\1\\0\"\\\\/\\n\\127')",
            r#""\u0001\u0000\"\\\/\n\u007f""#,
        ),
        (
            "return cjson.encode({true, false, cjson.null})",
            "[true,false,null]",
        ),
        ("return cjson.encode(1/3)", "0.33333333333333"),
    ];
    for (source, json) in cases {
        assert_eq!(ok(source), bulk(json), "{source}");
    }
    let src = "return cjson.encode({[1]=1, [20]=2})";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Cannot serialise table: excessively sparse array{}",
            at(src, 1)
        )
    );
    let src = "local x = cjson.encode(function() end) return x";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Cannot serialise function: type not supported{}",
            at(src, 1)
        )
    );
    let src = "return cjson.encode(1/0)";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Cannot serialise number: must not be NaN or Inf{}",
            at(src, 1)
        )
    );
    let src = "local t = {} t[1] = t return cjson.encode(t)";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Cannot serialise, excessive nesting (1001){}",
            at(src, 1)
        )
    );
    // Caught by pcall: the message without a position, as in Redis.
    assert_eq!(
        ok("local ok, e = pcall(cjson.encode, function() end) return e"),
        bulk("Cannot serialise function: type not supported")
    );
}

#[test]
fn cjson_decodes_and_round_trips() {
    assert_eq!(
        ok(r#"local t = cjson.decode('[1,null,"\\u00e9",{"a":1.5}]')
              return {t[1], tostring(t[2] == cjson.null), t[3], t[4].a * 2, #t}"#),
        Frame::Array(vec![int(1), bulk("true"), bulk("é"), int(3), int(4)])
    );
    assert_eq!(
        ok(r#"return cjson.encode(cjson.decode('{"a":[1,2,{}],"b":null}'))"#),
        bulk(r#"{"a":[1,2,{}],"b":null}"#)
    );
    assert_eq!(ok("return tostring(cjson.null)"), bulk("userdata: (nil)"));
    let src = "local x = cjson.decode('') return x";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Expected value but found T_END at character 1{}",
            at(src, 1)
        )
    );
    let src = r#"return cjson.decode('{"a":nul}')"#;
    assert!(err(src).starts_with("ERR user_script:1: Expected value but found invalid token"));
}

#[test]
fn bit_operations_match_luabitop() {
    assert_eq!(
        ok(
            "return {bit.tobit(0xffffffff), bit.tohex(255), bit.tohex(-1, -4), bit.bnot(0),
                   bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(3, 1), bit.lshift(1, 31),
                   bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8),
                   bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tohex(65535, 1.5),
                   bit.tobit(2^32 + 5)}"
        ),
        Frame::Array(vec![
            int(-1),
            bulk("000000ff"),
            bulk("FFFF"),
            int(-1),
            int(15),
            int(7),
            int(2),
            int(-2147483648),
            int(15),
            int(-16),
            int(878082066),
            int(2014458966),
            int(2018915346),
            bulk("ff"),
            int(5),
        ])
    );
    let src = "local x = bit.band({}) return x";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: bad argument #1 to 'band' (number expected, got table){}",
            at(src, 1)
        )
    );
}

#[test]
fn math_random_is_redis_lrand48_reset_for_each_run() {
    // The first values a fresh redis-server 7.0 gives.
    let script =
        "return {math.random(100), math.random(100), math.random(100), tostring(math.random())}";
    let expected = Frame::Array(vec![int(40), int(85), int(36), bulk("0.44658343468168")]);
    assert_eq!(ok(script), expected);
    assert_eq!(ok(script), expected);
    assert_eq!(
        ok(
            "math.randomseed(7) local a = math.random(1, 1000) math.randomseed(7) return a == math.random(1, 1000)"
        ),
        int(1)
    );
    let src = "return math.random(0)";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: bad argument #1 to 'random' (interval is empty){}",
            at(src, 1)
        )
    );
}

#[test]
fn globals_are_protected() {
    let src = "x = 1";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Attempt to modify a readonly table{}",
            at(src, 1)
        )
    );
    let src = "string.x = 1";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Attempt to modify a readonly table{}",
            at(src, 1)
        )
    );
    let src = "redis.call = nil";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Attempt to modify a readonly table{}",
            at(src, 1)
        )
    );
    let src = "rawset(_G, 'x', 1)";
    assert_eq!(
        err(src),
        format!("ERR Attempt to modify a readonly table{}", at(src, 1))
    );
    assert!(err("setmetatable(_G, nil)").contains("cannot change a protected metatable"));
    assert!(err("getmetatable('').__index.upper = nil").contains("attempt to index"));
    // Locals and tables of one's own are fine, and nothing leaks into the next run.
    assert_eq!(ok("local t = {} t.x = 1 KEYS.y = 2 return t.x"), int(1));
    assert_eq!(
        ok("return rawget(_G, 'x') == nil and KEYS.y == nil"),
        int(1)
    );
    assert_eq!(ok("return string.upper('a') .. ('b'):upper()"), bulk("AB"));
}

#[test]
fn no_host_access() {
    for name in [
        "io", "require", "loadfile", "dofile", "print", "package", "debug", "module",
    ] {
        let src = format!("return {name}");
        assert_eq!(
            err(&src),
            format!(
                "ERR user_script:1: Script attempted to access nonexistent global variable '{name}'{}",
                at(&src, 1)
            ),
        );
    }
    assert!(err("os.execute('true')").contains("attempt to call field 'execute' (a nil value)"));
    assert_eq!(ok("return type(os.clock())"), bulk("number"));
    // Bytecode is never loaded: a binary chunk fails to parse as text.
    assert_eq!(
        ok(
            "local f, e = loadstring(string.dump(function() return 1 end)) return {type(f), e ~= nil}"
        ),
        Frame::Array(vec![bulk("nil"), int(1)])
    );
    assert_eq!(ok("return loadstring('return 1 + 1')()"), int(2));
    assert!(err("setfenv(0, {})").contains("setfenv cannot change the global environment"));
    assert_eq!(
        ok("local function f() return g end setfenv(f, {g = 5}) return f()"),
        int(5)
    );
}

#[test]
fn cmsgpack_packs_and_unpacks_as_lua_cmsgpack() {
    // The bytes redis-server 7.0 packs for the same values.
    assert_eq!(
        ok(
            "local s = cmsgpack.pack({1,2,3}, {a=1}, 'hi', 1.5, 0.1, -1, -200, 300, 70000,
                                   5000000000, true, nil, {}, -5000000000)
            local h = '' for i = 1, #s do h = h .. string.format('%02x', s:byte(i)) end return h"
        ),
        bulk(
            "9301020381a16101a26869ca3fc00000cb3fb999999999999affd1ff38cd012cce00011170cf000000012a05f200c3c090d3fffffffed5fa0e00"
        )
    );
    assert_eq!(
        ok(
            "local a, b, c = cmsgpack.unpack(cmsgpack.pack({1,{x='y'}}, 'z', 7)) return {a[1], a[2].x, b, c}"
        ),
        Frame::Array(vec![int(1), bulk("y"), bulk("z"), int(7)])
    );
    assert_eq!(
        ok("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2))}"),
        Frame::Array(vec![int(1), int(1)])
    );
    assert_eq!(
        ok("return {cmsgpack.unpack_one(cmsgpack.pack(1, 2), 1)}"),
        Frame::Array(vec![int(-1), int(2)])
    );
    assert_eq!(
        ok("return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}"),
        Frame::Array(vec![int(2), int(1), int(2)])
    );
    // A table holding itself stops at the nesting limit.
    assert_eq!(
        ok("local t = {} t[1] = t return #cmsgpack.pack(t)"),
        int(17)
    );
    let src = "return cmsgpack.unpack('\\196')";
    assert_eq!(
        err(src),
        format!("ERR user_script:1: Bad data format in input.{}", at(src, 1))
    );
    let src = "return cmsgpack.unpack('\\205\\1')";
    assert_eq!(
        err(src),
        format!("ERR user_script:1: Missing bytes in input.{}", at(src, 1))
    );
    let src = "return cmsgpack.pack()";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: bad argument #0 to 'pack' (MessagePack pack needs input.){}",
            at(src, 1)
        )
    );
}

#[test]
fn struct_packs_and_unpacks_as_lua_struct() {
    const FORMAT: &str = ">iHbc3sd!4i<hxf";
    const VALUES: &str = "-2, 65535, -1, 'abcdef', 'zz', 1.5, 7, -3, 2.5";
    // The bytes redis-server 7.0 packs.
    assert_eq!(
        ok(&format!(
            "local s = struct.pack('{FORMAT}', {VALUES})
            local h = '' for i = 1, #s do h = h .. string.format('%02x', s:byte(i)) end return h"
        )),
        bulk("fffffffeffffff6162637a7a003ff800000000000000000000000007fdff000000002040")
    );
    assert_eq!(
        ok(&format!(
            "return {{struct.unpack('{FORMAT}', struct.pack('{FORMAT}', {VALUES}))}}"
        )),
        Frame::Array(vec![
            int(-2),
            int(65535),
            int(-1),
            bulk("abc"),
            bulk("zz"),
            int(1),
            int(7),
            int(-3),
            int(2),
            int(37),
        ])
    );
    assert_eq!(ok("return struct.size('>iHb!8d')"), int(16));
    assert_eq!(
        ok("return {struct.unpack('Bc0', struct.pack('Bc0', 3, 'xyz'))}"),
        Frame::Array(vec![bulk("xyz"), int(5)])
    );
    assert_eq!(
        ok("return {struct.unpack('b', 'ab', 2)}"),
        Frame::Array(vec![int(98), int(3)])
    );
    let cases = [
        (
            "return struct.pack('q', 1)",
            "bad argument #1 to 'pack' (invalid format option 'q')",
        ),
        (
            "return struct.unpack('i', 'ab')",
            "bad argument #2 to 'unpack' (data string too short)",
        ),
        (
            "return struct.size('s')",
            "bad argument #1 to 'size' (option 's' has no fixed size)",
        ),
        (
            "return struct.unpack('b', 'ab', 0)",
            "bad argument #3 to 'unpack' (offset must be 1 or greater)",
        ),
        (
            "return struct.pack('i', 'x')",
            "bad argument #2 to 'pack' (number expected, got string)",
        ),
        (
            "return struct.pack('c5', 'ab')",
            "bad argument #3 to 'pack' (string too short)",
        ),
        (
            "return struct.pack('i40', 1)",
            "integral size 40 is larger than limit of 32",
        ),
    ];
    for (src, message) in cases {
        assert_eq!(
            err(src),
            format!("ERR user_script:1: {message}{}", at(src, 1))
        );
    }
}
