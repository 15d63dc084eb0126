//! Scripts against the fake keyspace: redis.call / pcall, errors as Redis words them, the redis
//! helpers, the scripts users write (a rate limiter, a lock), and SCRIPT KILL.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

use super::tests::{Fake, NEVER, at, bulk, err, eval, eval_kill, eval_with, ok};
use super::{RunOptions, ScriptError, run, sha1_hex};
use crate::protocol::Frame;

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
        ok("return redis.sha1hex(2^60)"),
        bulk("0af0eab3e5bfc48203543a031501a7c2c51e4b89")
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
        let options = RunOptions {
            kill: &NEVER,
            budget: None,
        };
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
    let options = RunOptions {
        kill: &NEVER,
        budget: None,
    };
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
