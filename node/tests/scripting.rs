//! EVAL, EVALSHA, EVAL_RO, SCRIPT on a single node: replies compared byte for byte with a real
//! `redis-server` (RESP2 and RESP3); redis-py running a token-bucket rate limiter and a lock
//! written as Lua scripts under concurrent clients; scripts' atomicity against concurrent readers;
//! SCRIPT KILL of a busy script while other clients keep being served.

mod common;

use std::time::Duration;

use common::{RedisServer, TestServer};

/// Requests sent to both servers (on one connection each) with every reply compared.
const CASES: &[&[&str]] = &[
    &["FLUSHALL"],
    &["SCRIPT", "FLUSH"],
    &["EVAL", "return 1", "0"],
    &[
        "EVAL",
        "return {1, 2.9, 'x', true, false, nil, 'after nil'}",
        "0",
    ],
    &["EVAL", "return {ok='fine'}", "0"],
    &["EVAL", "return {err='MYERR custom'}", "0"],
    &["EVAL", "return redis.error_reply('BAD thing')", "0"],
    &["EVAL", "return redis.status_reply('DONE')", "0"],
    &[
        "EVAL",
        "return redis.call('SET', KEYS[1], ARGV[1])",
        "1",
        "k",
        "v",
    ],
    &["EVAL", "return redis.call('GET', KEYS[1])", "1", "k"],
    &["EVAL", "return redis.call('GET', 'nosuch')", "0"],
    &["EVAL", "return type(redis.call('GET', 'nosuch'))", "0"],
    &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "k"],
    &["EVAL", "return redis.pcall('INCR', KEYS[1])", "1", "k"],
    &[
        "EVAL",
        "local r = redis.pcall('INCR', KEYS[1]) return r['err']",
        "1",
        "k",
    ],
    &["EVAL", "return redis.call('NOSUCH')", "0"],
    &[
        "EVAL",
        "return redis.call('HSET', 'h', 'f', 1, 'g', 2)",
        "0",
    ],
    &["EVAL", "return redis.call('HGETALL', 'h')", "0"],
    &[
        "EVAL",
        "return redis.call('ZADD', 'z', 1.5, 'a', 2, 'b')",
        "0",
    ],
    &[
        "EVAL",
        "return redis.call('ZRANGE', 'z', 0, -1, 'WITHSCORES')",
        "0",
    ],
    &["EVAL", "return redis.call('SMEMBERS', 'nosuch')", "0"],
    &["EVAL", "return redis.call('TTL', 'k')", "0"],
    &["EVAL", "return redis.sha1hex('')", "0"],
    &["EVAL", "return cjson.encode({1, 2, {a = 'b'}})", "0"],
    &["EVAL", "return cjson.decode('[1,2,{\"a\":5}]')[3].a", "0"],
    &["EVAL", "return bit.band(12, 10)", "0"],
    &["EVAL", "return #KEYS + #ARGV * 10", "2", "a", "b", "c"],
    &["EVAL", "return x", "0"],
    &["EVAL", "y = 1", "0"],
    &["EVAL", "return (", "0"],
    &["EVAL", "return io", "0"],
    &["EVAL", "return 1", "-1"],
    &["EVAL", "return 1", "2", "a"],
    &["EVAL", "return 1", "x"],
    &["EVAL"],
    &["EVAL_RO", "return redis.call('SET', 'k', 'w')", "0"],
    &["EVAL_RO", "return redis.call('GET', 'k')", "0"],
    &[
        "EVAL",
        "#!lua flags=no-writes\nreturn redis.call('SET', 'k', 'w')",
        "0",
    ],
    &["EVAL", "#!lua\nreturn redis.call('GET', KEYS[1])", "1", "k"],
    &["EVAL", "#!lua flags=bogus\nreturn 1", "0"],
    &[
        "EVAL",
        "redis.setresp(3) return redis.call('HGETALL', 'h')",
        "0",
    ],
    &[
        "EVAL",
        "redis.setresp(3) return redis.call('HGETALL', 'h')['map']['f']",
        "0",
    ],
    &["EVAL", "return redis.call('BLPOP', 'l', 0)", "0"],
    &["EVAL", "return #redis.call('TIME')", "0"],
    &["EVAL", "return redis.call('PING')", "0"],
    &["EVAL", "return redis.call('EVAL', 'return 1', 0)", "0"],
    &["EVAL", "return redis.call('MULTI')", "0"],
    &["SCRIPT", "LOAD", "return 'loaded'"],
    &["EVALSHA", "b534286061d4b9e4026607613b95c06c06015ae8", "0"],
    &[
        "SCRIPT",
        "EXISTS",
        "b534286061d4b9e4026607613b95c06c06015ae8",
        "ffffffffffffffffffffffffffffffffffffffff",
    ],
    &["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"],
    &[
        "EVALSHA_RO",
        "ffffffffffffffffffffffffffffffffffffffff",
        "0",
    ],
    &["SCRIPT", "KILL"],
    &["SCRIPT", "FLUSH", "ASYNC"],
    &["SCRIPT", "FLUSH", "LATER"],
    &["SCRIPT", "NOSUCH"],
    &["SCRIPT", "LOAD"],
    &["SCRIPT", "EXISTS"],
    &[
        "SCRIPT",
        "EXISTS",
        "b534286061d4b9e4026607613b95c06c06015ae8",
    ],
    &["MULTI"],
    &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "counter"],
    &["EVAL", "return redis.call('INCR', KEYS[1])", "1", "counter"],
    &["EXEC"],
];

#[test]
fn scripts_answer_as_redis_does() {
    let (ours, theirs) = (TestServer::start(), RedisServer::start());
    // The SHA1 in the cases is the one of "return 'loaded'".
    let mut probe = theirs.raw();
    let sha = probe.cmd(&["SCRIPT", "LOAD", "return 'loaded'"]);
    assert_eq!(
        sha,
        common::bulk("b534286061d4b9e4026607613b95c06c06015ae8")
    );
    for protocol in [2, 3] {
        let (mut mine, mut reference) = (ours.raw(), theirs.raw());
        if protocol == 3 {
            mine.cmd(&["HELLO", "3"]);
            reference.cmd(&["HELLO", "3"]);
        }
        for request in CASES {
            let (got, expected) = (mine.cmd(request), reference.cmd(request));
            assert_eq!(got, expected, "RESP{protocol} reply to {request:?}");
        }
    }
}

#[test]
fn a_busy_script_blocks_no_other_client_and_script_kill_stops_it() {
    // One worker thread: the busy script starts on it (scripts run inline first) and must leave
    // it within its budget for the other client to be served at all.
    let server = TestServer::start_with(&["--threads", "1"]);
    let mut busy = server.raw();
    busy.send(&common::RawClient::encode(&[
        b"EVAL",
        b"redis.call('SET', 'during', 'busy') while true do end",
        b"0",
    ]));
    let mut other = server.raw();
    // Other clients are served meanwhile (Redis would answer -BUSY).
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(other.cmd(&["SET", "x", "1"]), common::OK);
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), common::OK);
    let killed = busy.reply();
    assert!(
        killed.starts_with("-ERR Script killed by user with SCRIPT KILL"),
        "{killed}"
    );
    // What the killed script wrote is not applied.
    assert_eq!(other.cmd(&["GET", "during"]), common::NULL);
    assert_eq!(
        other.cmd(&["SCRIPT", "KILL"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    // A killed script publishes nothing: its messages are held until it commits.
    let mut subscriber = server.raw();
    subscriber.send(&common::RawClient::encode(&[b"SUBSCRIBE", b"news"]));
    assert!(subscriber.reply().contains("subscribe"));
    busy.send(&common::RawClient::encode(&[
        b"EVAL",
        b"redis.call('PUBLISH', 'news', 'never') while true do end",
        b"0",
    ]));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(other.cmd(&["SCRIPT", "KILL"]), common::OK);
    assert!(busy.reply().starts_with("-ERR Script killed"));
    // One that publishes and then runs long is given up and run again: its message is still
    // delivered once, when it ends.
    assert_eq!(
        busy.cmd(&[
            "EVAL",
            "redis.call('PUBLISH', 'news', 'once') local n = 0 \
             for i = 1, 5000000 do n = n + 1 end return n",
            "0"
        ]),
        ":5000000\r\n"
    );
    assert!(subscriber.reply().contains("once"));
    subscriber.send(&common::RawClient::encode(&[b"PING"]));
    let next = subscriber.reply();
    assert!(next.contains("pong"), "published once: {next}");
}

/// A token bucket and a lock, as applications write them, driven by redis-py's `register_script`
/// (EVALSHA, falling back to EVAL) from concurrent threads; and scripts changing two keys
/// together while other clients read both: never seen apart.
pub const REDIS_PY: &str = r#"
TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
local rate = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - at) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('EXPIRE', KEYS[1], 60)
return allowed
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
r.delete("{t}bucket", "{t}lock", "{t}shared", "{t}x", "{t}y")
bucket = r.register_script(TOKEN_BUCKET)
# The clock is frozen (rate 0): exactly `capacity` requests pass, whatever the concurrency.
allowed = [0]
lock = threading.Lock()
def hammer():
    own = make_client()
    limiter = own.register_script(TOKEN_BUCKET)
    for _ in range(50):
        if limiter(keys=["{t}bucket"], args=[30, 1000, 0]) == 1:
            with lock: allowed[0] += 1
threads = [threading.Thread(target=hammer) for _ in range(6)]
for thread in threads: thread.start()
for thread in threads: thread.join()
assert allowed[0] == 30, allowed[0]
# Refilled after time passes (rate 1 token per unit).
assert bucket(keys=["{t}bucket"], args=[30, 1005, 1]) == 1
assert float(r.hget("{t}bucket", "tokens")) == 4.0

# A lock: SET NX PX to take it, compare-and-delete to release it; the critical section does a
# read-modify-write that loses updates unless the lock excludes the others.
def locked_increments(count):
    own = make_client()
    release = own.register_script(RELEASE)
    token = str(threading.get_ident())
    for _ in range(count):
        while not own.set("{t}lock", token, nx=True, px=5000):
            time.sleep(0.0005)
        value = int(own.get("{t}shared") or 0)
        own.set("{t}shared", value + 1)
        assert release(keys=["{t}lock"], args=[token]) == 1
threads = [threading.Thread(target=locked_increments, args=(30,)) for _ in range(5)]
for thread in threads: thread.start()
for thread in threads: thread.join()
assert int(r.get("{t}shared")) == 150, r.get("{t}shared")
assert release_other(r) == 0

# Atomicity: a script sets x and y together; readers never see them differ.
BOTH = "redis.call('SET', KEYS[1], ARGV[1]) redis.call('SET', KEYS[2], ARGV[1]) return 1"
stop = [False]
def writer():
    own = make_client()
    for i in range(300):
        own.eval(BOTH, 2, "{t}x", "{t}y", i)
    stop[0] = True
def reader():
    own = make_client()
    while not stop[0]:
        x, y = own.eval("return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])}", 2, "{t}x", "{t}y")
        assert x == y, (x, y)
        pipe = own.pipeline()
        pipe.get("{t}x").get("{t}y")
        x, y = pipe.execute()
        assert x == y, (x, y)
threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(2)]
for thread in threads: thread.start()
for thread in threads: thread.join()
"#;

/// A release with another token does not delete the lock.
pub const RELEASE_OTHER: &str = r#"
def release_other(client):
    client.set("{t}lock", "mine")
    return client.register_script(RELEASE)(keys=["{t}lock"], args=["theirs"])
"#;

#[test]
fn redis_py_rate_limiter_lock_and_atomic_scripts() {
    let Some(python) = common::redis_py() else {
        return;
    };
    let server = TestServer::start();
    let port = server.addr.port();
    for protocol in [2, 3] {
        let program = format!(
            "import threading, time, redis\n\
             def make_client():\n    return redis.Redis(host='127.0.0.1', port={port}, decode_responses=True, protocol={protocol})\n\
             r = make_client()\nRELEASE = ''\n{RELEASE_OTHER}\n{REDIS_PY}\nprint('ok')\n"
        );
        common::run_python(&python, &program, &[]);
    }
}
