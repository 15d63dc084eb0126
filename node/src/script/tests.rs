//! Runs scripts against a small fake keyspace: the fake, the helpers, and the conversions
//! between replies and Lua values both ways.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::{RunOptions, ScriptError, run, sha1_hex};
use crate::protocol::Frame;

/// A HashMap-backed keyspace with GET/SET (NX, PX)/INCR/DEL, and commands that reply with each
/// kind of frame.
#[derive(Default)]
pub(super) struct Fake {
    pub data: HashMap<Vec<u8>, Vec<u8>>,
    pub calls: Vec<Vec<Bytes>>,
    /// Set when PING runs (lets a test raise the kill flag from inside a run).
    pub kill_on_ping: Option<&'static AtomicBool>,
}

impl Fake {
    pub fn handle(&mut self, argv: &[Bytes]) -> Frame {
        self.calls.push(argv.to_vec());
        let name = argv[0].to_ascii_uppercase();
        let arg = |i: usize| argv.get(i).map(|b| b.to_vec()).unwrap_or_default();
        match &name[..] {
            b"GET" => match self.data.get(&arg(1)) {
                Some(value) => Frame::Bulk(value.clone().into()),
                None => Frame::Null,
            },
            b"SET" => {
                let nx = argv[3..].iter().any(|a| a.eq_ignore_ascii_case(b"NX"));
                if nx && self.data.contains_key(&arg(1)) {
                    return Frame::Null;
                }
                self.data.insert(arg(1), arg(2));
                Frame::Ok
            }
            b"INCR" => {
                let current = self.data.get(&arg(1)).cloned().unwrap_or(b"0".to_vec());
                let Some(n) = std::str::from_utf8(&current)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                else {
                    return Frame::Error("ERR value is not an integer or out of range".into());
                };
                self.data.insert(arg(1), (n + 1).to_string().into_bytes());
                Frame::Integer(n + 1)
            }
            b"DEL" => {
                let removed = argv[1..]
                    .iter()
                    .filter(|key| self.data.remove(&key[..]).is_some())
                    .count();
                Frame::Integer(removed as i64)
            }
            b"PING" => {
                if let Some(flag) = self.kill_on_ping {
                    flag.store(true, Ordering::Relaxed);
                }
                Frame::Simple("PONG".into())
            }
            b"ECHO" => Frame::Bulk(argv[1].clone()),
            b"WRONG" => Frame::Error(
                "WRONGTYPE Operation against a key holding the wrong kind of value".into(),
            ),
            b"BARE" => Frame::Error("NOSPACE".into()),
            b"MAP" => Frame::Map(vec![
                (Frame::bulk("a"), Frame::Integer(1)),
                (Frame::bulk("b"), Frame::bulk("x")),
            ]),
            b"SET3" => Frame::Set(vec![Frame::bulk("m")]),
            b"DOUBLE" => Frame::Double(1.5),
            b"TRUE" => Frame::Boolean(true),
            b"FALSE" => Frame::Boolean(false),
            b"VERBATIM" => Frame::Verbatim("txt", Bytes::from_static(b"hello")),
            b"PAIRS" => Frame::Pairs(vec![(Frame::bulk("m"), Frame::Double(2.0))]),
            b"NULLARRAY" => Frame::NullArray,
            b"NESTED" => Frame::Array(vec![
                Frame::Integer(1),
                Frame::Null,
                Frame::Array(vec![Frame::bulk("x")]),
            ]),
            _ => Frame::Error("ERR Unknown Redis command called from script".into()),
        }
    }
}

pub(super) static NEVER: AtomicBool = AtomicBool::new(false);

pub(super) fn eval_with(
    fake: &mut Fake,
    source: &str,
    keys: &[&str],
    argv: &[&str],
) -> Result<Frame, ScriptError> {
    eval_kill(fake, source, keys, argv, &NEVER)
}

pub(super) fn eval_kill(
    fake: &mut Fake,
    source: &str,
    keys: &[&str],
    argv: &[&str],
    kill: &AtomicBool,
) -> Result<Frame, ScriptError> {
    let to_bytes = |items: &[&str]| -> Vec<Bytes> {
        items
            .iter()
            .map(|s| Bytes::copy_from_slice(s.as_bytes()))
            .collect()
    };
    let options = RunOptions { kill, budget: None };
    let sha = sha1_hex(source.as_bytes());
    run(
        source.as_bytes(),
        &sha,
        &to_bytes(keys),
        &to_bytes(argv),
        &options,
        &mut |args| fake.handle(args),
    )
}

pub(super) fn eval(source: &str) -> Result<Frame, ScriptError> {
    eval_with(&mut Fake::default(), source, &[], &[])
}

pub(super) fn ok(source: &str) -> Frame {
    eval(source).unwrap_or_else(|err| panic!("{source}: {err}"))
}

pub(super) fn err(source: &str) -> String {
    match eval(source) {
        Ok(frame) => panic!("{source}: expected an error, got {frame:?}"),
        Err(err) => err.to_string(),
    }
}

/// The suffix Redis 7 puts on a raised error.
pub(super) fn at(source: &str, line: u32) -> String {
    format!(
        " script: {}, on @user_script:{line}.",
        sha1_hex(source.as_bytes())
    )
}

pub(super) fn bulk(text: &str) -> Frame {
    Frame::Bulk(Bytes::copy_from_slice(text.as_bytes()))
}

#[test]
fn lua_values_become_replies() {
    assert_eq!(ok("return 1"), Frame::Integer(1));
    assert_eq!(ok("return 3.99"), Frame::Integer(3));
    assert_eq!(ok("return -3.99"), Frame::Integer(-3));
    assert_eq!(ok("return 'hi'"), bulk("hi"));
    assert_eq!(ok("return true"), Frame::Integer(1));
    assert_eq!(ok("return false"), Frame::Null);
    assert_eq!(ok("return nil"), Frame::Null);
    assert_eq!(ok("return"), Frame::Null);
    assert_eq!(ok("return function() end"), Frame::Null);
    assert_eq!(
        ok("return {1, 'two', {3}, nil, 5}"),
        Frame::Array(vec![
            Frame::Integer(1),
            bulk("two"),
            Frame::Array(vec![Frame::Integer(3)])
        ])
    );
    assert_eq!(ok("return {}"), Frame::Array(vec![]));
    assert_eq!(ok("return {ok='FINE'}"), Frame::Simple("FINE".into()));
    assert_eq!(ok("return {ok='OK'}"), Frame::Ok);
    assert_eq!(ok("return {ok='a\\r\\nb'}"), Frame::Simple("a  b".into()));
    assert_eq!(ok("return {err='MY bad'}"), Frame::Error("MY bad".into()));
    assert_eq!(ok("return {double=1.5}"), Frame::Double(1.5));
    assert_eq!(
        ok("return {big_number='123456789012345678901'}"),
        bulk("123456789012345678901")
    );
    assert_eq!(
        ok("return {verbatim_string={format='mkd', string='# hi'}}"),
        Frame::Verbatim("mkd", Bytes::from_static(b"# hi"))
    );
    assert_eq!(
        ok("return {map={a=1}}"),
        Frame::Map(vec![(bulk("a"), Frame::Integer(1))])
    );
    assert_eq!(ok("return {set={m=true}}"), Frame::Set(vec![bulk("m")]));
    // A table holding itself ends at the nesting limit instead of recursing forever.
    let deep = ok("local t = {} t[1] = t return t");
    let mut frame = &deep;
    let mut depth = 0;
    while let Frame::Array(items) = frame {
        frame = &items[0];
        depth += 1;
    }
    assert_eq!(depth, 128);
    assert_eq!(frame, &Frame::Error("ERR reached lua stack limit".into()));
}

#[test]
fn booleans_follow_setresp() {
    assert_eq!(ok("redis.setresp(3) return true"), Frame::Boolean(true));
    assert_eq!(ok("redis.setresp(3) return false"), Frame::Boolean(false));
    assert_eq!(
        ok("redis.setresp(3) redis.setresp(2) return false"),
        Frame::Null
    );
    // Each run starts in RESP2 again.
    assert_eq!(ok("return true"), Frame::Integer(1));
}

#[test]
fn replies_become_lua_values_in_resp2() {
    let cases = [
        ("return redis.call('ECHO', 'x')", bulk("x")),
        ("return type(redis.call('GET', 'missing'))", bulk("boolean")),
        (
            "return redis.call('GET', 'missing') == false",
            Frame::Integer(1),
        ),
        ("return redis.call('INCR', 'n') + 1", Frame::Integer(2)),
        ("return redis.call('PING').ok", bulk("PONG")),
        ("return redis.call('SET', 'k', 'v')", Frame::Ok),
        (
            "return redis.pcall('WRONG').err",
            bulk("WRONGTYPE Operation against a key holding the wrong kind of value"),
        ),
        ("return redis.pcall('BARE').err", bulk("ERR NOSPACE")),
        (
            "return redis.call('MAP')",
            Frame::Array(vec![bulk("a"), Frame::Integer(1), bulk("b"), bulk("x")]),
        ),
        ("return redis.call('SET3')", Frame::Array(vec![bulk("m")])),
        ("return redis.call('DOUBLE')", bulk("1.5")),
        ("return redis.call('TRUE')", Frame::Integer(1)),
        ("return redis.call('FALSE')", Frame::Integer(0)),
        ("return redis.call('VERBATIM')", bulk("hello")),
        (
            "return redis.call('PAIRS')",
            Frame::Array(vec![bulk("m"), bulk("2")]),
        ),
        ("return type(redis.call('NULLARRAY'))", bulk("boolean")),
        (
            "local r = redis.call('NESTED') return {r[1], type(r[2]), r[3][1]}",
            Frame::Array(vec![Frame::Integer(1), bulk("boolean"), bulk("x")]),
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(ok(source), expected, "{source}");
    }
}

#[test]
fn replies_become_lua_values_in_resp3() {
    let cases = [
        (
            "redis.setresp(3) return type(redis.call('GET', 'missing'))",
            bulk("nil"),
        ),
        (
            "redis.setresp(3) return type(redis.call('NULLARRAY'))",
            bulk("nil"),
        ),
        (
            "redis.setresp(3) local m = redis.call('MAP').map return {m.a, m.b}",
            Frame::Array(vec![Frame::Integer(1), bulk("x")]),
        ),
        (
            "redis.setresp(3) return redis.call('MAP')",
            Frame::Map(vec![(bulk("a"), Frame::Integer(1)), (bulk("b"), bulk("x"))]),
        ),
        (
            "redis.setresp(3) return tostring(redis.call('SET3').set.m)",
            bulk("true"),
        ),
        (
            "redis.setresp(3) return redis.call('SET3')",
            Frame::Set(vec![bulk("m")]),
        ),
        (
            "redis.setresp(3) return redis.call('DOUBLE').double * 2",
            Frame::Integer(3),
        ),
        (
            "redis.setresp(3) return redis.call('DOUBLE')",
            Frame::Double(1.5),
        ),
        (
            "redis.setresp(3) return redis.call('TRUE')",
            Frame::Boolean(true),
        ),
        (
            "redis.setresp(3) return type(redis.call('FALSE'))",
            bulk("boolean"),
        ),
        (
            "redis.setresp(3) local v = redis.call('VERBATIM').verbatim_string return {v.format, v.string}",
            Frame::Array(vec![bulk("txt"), bulk("hello")]),
        ),
        (
            "redis.setresp(3) return redis.call('VERBATIM')",
            Frame::Verbatim("txt", Bytes::from_static(b"hello")),
        ),
        (
            "redis.setresp(3) local p = redis.call('PAIRS') return {#p, p[1][1], p[1][2].double}",
            Frame::Array(vec![Frame::Integer(1), bulk("m"), Frame::Integer(2)]),
        ),
        (
            "redis.setresp(3) return redis.call('PING').ok",
            bulk("PONG"),
        ),
    ];
    for (source, expected) in cases {
        assert_eq!(ok(source), expected, "{source}");
    }
}

#[test]
fn arguments_are_passed_as_redis_formats_them() {
    let mut fake = Fake::default();
    eval_with(
        &mut fake,
        "redis.call('ECHO', 1, 1.5, 0.1, 'x', 1e20, 2^60, 1e17, -7)",
        &[],
        &[],
    )
    .unwrap();
    let sent: Vec<&[u8]> = fake.calls[0].iter().map(|b| &b[..]).collect();
    assert_eq!(
        sent,
        [
            &b"ECHO"[..],
            b"1",
            b"1.5",
            b"0.10000000000000001",
            b"x",
            b"1e+20",
            b"1.152921504606847e+18",
            b"1e+17",
            b"-7"
        ]
    );
}

#[test]
fn keys_and_argv_are_set_per_run() {
    let mut fake = Fake::default();
    let reply = eval_with(
        &mut fake,
        "return {#KEYS, KEYS[1], #ARGV, ARGV[2]}",
        &["k"],
        &["a", "b"],
    );
    assert_eq!(
        reply.unwrap(),
        Frame::Array(vec![
            Frame::Integer(1),
            bulk("k"),
            Frame::Integer(2),
            bulk("b")
        ])
    );
    let reply = eval_with(&mut fake, "return {#KEYS, #ARGV}", &[], &[]);
    assert_eq!(
        reply.unwrap(),
        Frame::Array(vec![Frame::Integer(0), Frame::Integer(0)])
    );
}
