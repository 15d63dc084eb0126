//! Runs scripts against a small fake keyspace: conversions both ways, redis.call / pcall,
//! errors as Redis words them, and the scripts users write (a rate limiter, a lock).

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

static NEVER: AtomicBool = AtomicBool::new(false);

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
    let options = RunOptions { kill };
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

fn bulk(text: &str) -> Frame {
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
        "redis.call('ECHO', 1, 1.5, 0.1, 'x', 1e20)",
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
            b"1e+20"
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

#[test]
fn call_raises_and_pcall_returns_errors() {
    let src = "return redis.call('WRONG')";
    assert_eq!(
        err(src),
        format!(
            "WRONGTYPE Operation against a key holding the wrong kind of value{}",
            at(src, 1)
        )
    );
    let src = "local x = 1\nredis.call('nosuch')";
    assert_eq!(
        err(src),
        format!("ERR Unknown Redis command called from script{}", at(src, 2))
    );
    assert_eq!(
        ok("return redis.pcall('nosuch')"),
        Frame::Error("ERR Unknown Redis command called from script".into())
    );
    let src = "return redis.call()";
    assert_eq!(
        err(src),
        format!(
            "ERR Please specify at least one argument for this redis lib call{}",
            at(src, 1)
        )
    );
    let src = "return redis.call({})";
    assert_eq!(
        err(src),
        format!(
            "ERR Lua redis lib command arguments must be strings or integers{}",
            at(src, 1)
        )
    );
    assert_eq!(
        ok("return redis.pcall({})"),
        Frame::Error("ERR Lua redis lib command arguments must be strings or integers".into())
    );
    // Lua's pcall around redis.call gets the message (Redis 7 unwraps the error table).
    assert_eq!(
        ok("local ok, e = pcall(redis.call, 'nosuch') return {tostring(ok), e}"),
        Frame::Array(vec![
            bulk("false"),
            bulk("ERR Unknown Redis command called from script")
        ])
    );
    // The script goes on after a pcall'd failure.
    assert_eq!(ok("redis.pcall('WRONG') return 'after'"), bulk("after"));
}

#[test]
fn error_and_status_replies() {
    assert_eq!(
        ok("return redis.error_reply('MY bad')"),
        Frame::Error("MY bad".into())
    );
    assert_eq!(
        ok("return redis.error_reply('-MY bad')"),
        Frame::Error("MY bad".into())
    );
    assert_eq!(
        ok("return redis.error_reply('nospace')"),
        Frame::Error("ERR nospace".into())
    );
    assert_eq!(
        ok("return redis.error_reply(1)"),
        Frame::Error("ERR wrong number or type of arguments".into())
    );
    assert_eq!(
        ok("return redis.status_reply('FINE')"),
        Frame::Simple("FINE".into())
    );
    assert_eq!(
        ok("return redis.status_reply()"),
        Frame::Error("ERR wrong number or type of arguments".into())
    );
    // Raising an error reply table gives that error with the script suffix.
    let src = "error(redis.error_reply('MY bad'))";
    assert_eq!(err(src), format!("MY bad{}", at(src, 1)));
}

#[test]
fn runtime_and_compile_errors_are_worded_as_redis_7() {
    let src = "return foo";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:1: Script attempted to access nonexistent global variable 'foo'{}",
            at(src, 1)
        )
    );
    let src = "error('boom')";
    assert_eq!(err(src), format!("ERR user_script:1: boom{}", at(src, 1)));
    let src = "error(nil)";
    assert_eq!(err(src), format!("ERR nil{}", at(src, 1)));
    let src = "local t = nil\n\nreturn t.x";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:3: attempt to index local 't' (a nil value){}",
            at(src, 3)
        )
    );
    assert_eq!(
        err("return 1 +"),
        "ERR Error compiling script (new function): user_script:1: unexpected symbol near '<eof>'"
    );
    assert!(matches!(eval("return 1 +"), Err(ScriptError::Compile(_))));
    // A shebang keeps line numbers.
    let src = "#!lua flags=no-writes\nreturn bad";
    assert_eq!(
        err(src),
        format!(
            "ERR user_script:2: Script attempted to access nonexistent global variable 'bad'{}",
            at(src, 2)
        )
    );
    assert_eq!(
        err("#!lua flags=foo\nreturn 1"),
        "ERR Unexpected flag in script shebang: foo"
    );
}

#[test]
fn redis_helpers() {
    assert_eq!(
        ok("return redis.sha1hex('')"),
        bulk("da39a3ee5e6b4b0d3255bfef95601890afd80709")
    );
    assert_eq!(
        ok("return redis.sha1hex(12)"),
        bulk("7b52009b64fd0a2a49e6d8a939753077792b0554")
    );
    assert_eq!(
        super::sha1_hex(b"abc"),
        "a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    let src = "return redis.sha1hex()";
    assert_eq!(
        err(src),
        format!("ERR wrong number of arguments{}", at(src, 1))
    );
    assert_eq!(ok("return redis.REDIS_VERSION"), bulk("7.0.0"));
    assert_eq!(
        ok("return redis.REDIS_VERSION_NUM"),
        Frame::Integer(0x070000)
    );
    assert_eq!(
        ok("redis.log(redis.LOG_WARNING, 'from', 'a script', 1) return 1"),
        Frame::Integer(1)
    );
    let src = "redis.log(1)";
    assert_eq!(
        err(src),
        format!(
            "ERR redis.log() requires two arguments or more.{}",
            at(src, 1)
        )
    );
    let src = "redis.log('x', 'y')";
    assert_eq!(
        err(src),
        format!(
            "ERR First argument must be a number (log level).{}",
            at(src, 1)
        )
    );
    let src = "redis.log(9, 'y')";
    assert_eq!(err(src), format!("ERR Invalid debug level.{}", at(src, 1)));
    let src = "redis.setresp(4)";
    assert_eq!(
        err(src),
        format!("ERR RESP version must be 2 or 3.{}", at(src, 1))
    );
    assert_eq!(
        ok(
            "redis.set_repl(redis.REPL_ALL) redis.set_repl(redis.REPL_NONE) return redis.replicate_commands()"
        ),
        Frame::Integer(1)
    );
    let src = "redis.set_repl(8)";
    assert_eq!(
        err(src),
        format!(
            "ERR Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.{}",
            at(src, 1)
        )
    );
    assert_eq!(
        ok("redis.debug('x') return redis.breakpoint()"),
        Frame::Null
    );
}

#[test]
fn token_bucket_rate_limiter() {
    const BUCKET: &str = r#"
local rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2])
local now, requested = tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens = tonumber(redis.call('GET', KEYS[1] .. ':tokens')) or capacity
local last = tonumber(redis.call('GET', KEYS[1] .. ':ts')) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate / 1000)
local allowed = tokens >= requested
if allowed then tokens = tokens - requested end
redis.call('SET', KEYS[1] .. ':tokens', tokens)
redis.call('SET', KEYS[1] .. ':ts', now)
return {allowed and 1 or 0, math.floor(tokens)}
"#;
    let mut fake = Fake::default();
    let mut take =
        |now: &str| match eval_with(&mut fake, BUCKET, &["rl"], &["10", "3", now, "1"]).unwrap() {
            Frame::Array(items) => (items[0].clone(), items[1].clone()),
            other => panic!("{other:?}"),
        };
    // Capacity 3: three requests at t=0 pass, the fourth is refused; 100 ms refill one token.
    assert_eq!(take("0"), (Frame::Integer(1), Frame::Integer(2)));
    assert_eq!(take("0"), (Frame::Integer(1), Frame::Integer(1)));
    assert_eq!(take("0"), (Frame::Integer(1), Frame::Integer(0)));
    assert_eq!(take("0"), (Frame::Integer(0), Frame::Integer(0)));
    assert_eq!(take("100"), (Frame::Integer(1), Frame::Integer(0)));
    assert_eq!(take("150"), (Frame::Integer(0), Frame::Integer(0)));
    assert_eq!(fake.data.get(&b"rl:ts"[..]), Some(&b"150".to_vec()));
    assert_eq!(fake.data.get(&b"rl:tokens"[..]), Some(&b"0.5".to_vec()));
}

#[test]
fn lock_with_set_nx_px_and_compare_and_delete() {
    const ACQUIRE: &str = "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])";
    const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then\n  return redis.call('DEL', KEYS[1])\nend\nreturn 0";
    let mut fake = Fake::default();
    assert_eq!(
        eval_with(&mut fake, ACQUIRE, &["lock"], &["me", "30000"]),
        Ok(Frame::Ok)
    );
    assert_eq!(
        eval_with(&mut fake, ACQUIRE, &["lock"], &["you", "30000"]),
        Ok(Frame::Null)
    );
    assert_eq!(
        eval_with(&mut fake, RELEASE, &["lock"], &["you"]),
        Ok(Frame::Integer(0))
    );
    assert_eq!(fake.data.get(&b"lock"[..]), Some(&b"me".to_vec()));
    assert_eq!(
        eval_with(&mut fake, RELEASE, &["lock"], &["me"]),
        Ok(Frame::Integer(1))
    );
    assert!(fake.data.is_empty());
    assert_eq!(
        eval_with(&mut fake, ACQUIRE, &["lock"], &["you", "30000"]),
        Ok(Frame::Ok)
    );
}

#[test]
fn kill_flag_stops_a_busy_script() {
    let flag = AtomicBool::new(true);
    let src = "while true do end";
    let result = eval_kill(&mut Fake::default(), src, &[], &[], &flag);
    assert_eq!(
        result,
        Err(ScriptError::Killed(format!(
            "ERR Script killed by user with SCRIPT KILL...{}",
            at(src, 1)
        )))
    );
    // Raised while running (by the command the script calls), and not swallowed by pcall.
    static KILL: AtomicBool = AtomicBool::new(false);
    let mut fake = Fake {
        kill_on_ping: Some(&KILL),
        ..Fake::default()
    };
    let src = "redis.call('PING')\nwhile true do pcall(function() while true do end end) end";
    let result = eval_kill(&mut fake, src, &[], &[], &KILL);
    assert!(
        matches!(result, Err(ScriptError::Killed(ref m)) if m.starts_with("ERR Script killed by user with SCRIPT KILL...")),
        "{result:?}"
    );
    // The next run (flag cleared by the caller) is not affected.
    KILL.store(false, Ordering::Relaxed);
    assert_eq!(
        eval_kill(
            &mut fake,
            "local n = 0 for i = 1, 300000 do n = n + 1 end return n",
            &[],
            &[],
            &KILL
        ),
        Ok(Frame::Integer(300000))
    );
}

#[test]
fn kill_reaches_coroutines() {
    let flag = AtomicBool::new(true);
    let src = "local co = coroutine.wrap(function() while true do end end)\nco()";
    let result = eval_kill(&mut Fake::default(), src, &[], &[], &flag);
    assert!(matches!(result, Err(ScriptError::Killed(_))), "{result:?}");
}

#[test]
fn a_run_inside_a_call_gets_its_own_vm() {
    // The caller's `call` may (wrongly) run another script on the same thread: it must work,
    // not panic on the borrowed VM.
    let inner = "return 'inner ' .. ARGV[1]";
    let mut nested = |args: &[Bytes]| -> Frame {
        let options = RunOptions { kill: &NEVER };
        run(
            inner.as_bytes(),
            &sha1_hex(inner.as_bytes()),
            &[],
            &args[1..],
            &options,
            &mut |_| Frame::Null,
        )
        .unwrap_or_else(|err| Frame::Error(err.to_string()))
    };
    let outer = "return redis.call('EVAL', 'x') .. ' / outer'";
    let options = RunOptions { kill: &NEVER };
    let reply = run(
        outer.as_bytes(),
        &sha1_hex(outer.as_bytes()),
        &[],
        &[],
        &options,
        &mut nested,
    );
    assert_eq!(reply, Ok(bulk("inner x / outer")));
    assert_eq!(ok("return 'still fine'"), bulk("still fine"));
}

#[test]
fn raised_values_of_every_kind() {
    let src = "error({err='MY table error'})";
    assert_eq!(err(src), format!("MY table error{}", at(src, 1)));
    let src = "error(42)";
    assert_eq!(err(src), format!("ERR user_script:1: 42{}", at(src, 1)));
    let src = "error('no position', 0)";
    assert_eq!(err(src), format!("ERR no position{}", at(src, 1)));
    let src = "local function f()\n  error('deep')\nend\nf()";
    assert_eq!(err(src), format!("ERR user_script:2: deep{}", at(src, 2)));
}

#[test]
fn redis_call_works_inside_coroutines() {
    assert_eq!(
        ok(
            "local co = coroutine.create(function() return redis.call('PING') end)
            local ok, reply = coroutine.resume(co) return {tostring(ok), reply}"
        ),
        Frame::Array(vec![bulk("true"), Frame::Simple("PONG".into())])
    );
}
