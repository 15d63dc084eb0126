//! Commands on keys of any type: RENAME, RENAMENX, COPY, TOUCH, RANDOMKEY, OBJECT, and DUMP /
//! RESTORE checked in both directions against a real redis-server.

mod common;

use common::{NULL, OK, RawClient, RedisServer, TestServer, bulk};

/// A bulk reply's payload.
fn payload_of(reply: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(reply);
    assert!(text.starts_with('$'), "not a bulk reply: {text:?}");
    let header_end = reply.iter().position(|&b| b == b'\n').expect("header") + 1;
    reply[header_end..reply.len() - 2].to_vec()
}

#[test]
fn rename_and_renamenx_keep_the_value_and_its_ttl() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SET", "a", "1", "EX", "100"]), OK);
    assert_eq!(c.cmd(&["RENAME", "a", "b"]), OK);
    assert_eq!(c.cmd(&["GET", "a"]), NULL);
    assert_eq!(c.cmd(&["GET", "b"]), bulk("1"));
    let ttl = c.cmd(&["TTL", "b"]);
    assert!(ttl == ":100\r\n" || ttl == ":99\r\n", "{ttl}");
    assert_eq!(c.cmd(&["RENAME", "nope", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.cmd(&["RENAME", "b", "b"]), OK);
    assert_eq!(c.cmd(&["SET", "c", "2"]), OK);
    assert_eq!(c.cmd(&["RENAMENX", "b", "c"]), ":0\r\n");
    assert_eq!(c.cmd(&["RENAMENX", "b", "d"]), ":1\r\n");
    assert_eq!(c.cmd(&["GET", "d"]), bulk("1"));
    assert_eq!(c.cmd(&["RENAMENX", "nope", "e"]), "-ERR no such key\r\n");
    // RENAME overwrites whatever the destination held.
    assert_eq!(c.cmd(&["RENAME", "d", "c"]), OK);
    assert_eq!(c.cmd(&["GET", "c"]), bulk("1"));
    assert_eq!(c.cmd(&["EXISTS", "d"]), ":0\r\n");
}

#[test]
fn copy_touch_randomkey_and_object() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["RANDOMKEY"]), NULL);
    assert_eq!(c.cmd(&["SET", "src", "12345"]), OK);
    assert_eq!(c.cmd(&["COPY", "src", "dst"]), ":1\r\n");
    assert_eq!(c.cmd(&["COPY", "src", "dst"]), ":0\r\n");
    assert_eq!(c.cmd(&["SET", "src", "other value"]), OK);
    assert_eq!(c.cmd(&["COPY", "src", "dst", "REPLACE"]), ":1\r\n");
    assert_eq!(c.cmd(&["GET", "dst"]), bulk("other value"));
    assert_eq!(c.cmd(&["COPY", "missing", "x"]), ":0\r\n");
    assert_eq!(
        c.cmd(&["COPY", "src", "src"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        c.cmd(&["COPY", "src", "d2", "BOGUS"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["TOUCH", "src", "dst", "missing", "src"]), ":3\r\n");
    let random = c.cmd(&["RANDOMKEY"]);
    assert!(random == bulk("src") || random == bulk("dst"), "{random}");
    assert_eq!(c.cmd(&["SET", "n", "12345"]), OK);
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "n"]), bulk("int"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "src"]), bulk("embstr"));
    assert_eq!(c.cmd(&["OBJECT", "ENCODING", "missing"]), NULL);
    assert_eq!(c.cmd(&["OBJECT", "REFCOUNT", "src"]), ":1\r\n");
    assert_eq!(c.cmd(&["OBJECT", "IDLETIME", "src"]), ":0\r\n");
    assert!(
        c.cmd(&["OBJECT", "FREQ", "src"])
            .starts_with("-ERR An LFU maxmemory policy")
    );
    assert_eq!(
        c.cmd(&["OBJECT", "NOPE", "src"]),
        "-ERR unknown subcommand 'NOPE'. Try OBJECT HELP.\r\n"
    );
}

/// Values of every type and encoding made in redis-server are DUMPed there, RESTOREd here, read
/// back (TYPE, and DUMP again) and RESTOREd into redis-server under another name, where they read
/// back equal: migration tools can move data in and out.
#[test]
fn dump_and_restore_move_values_between_redis_and_ringcache() {
    let redis = RedisServer::start();
    let mut reference = redis.raw();
    let server = TestServer::start();
    let mut c = server.raw();
    let long = "x".repeat(1000);
    let setup: Vec<Vec<String>> = vec![
        vec!["SET".into(), "s:int".into(), "12345".into()],
        vec!["SET".into(), "s:long".into(), long.clone()],
        vec![
            "RPUSH".into(),
            "l".into(),
            "a".into(),
            "b".into(),
            "7".into(),
        ],
        vec![
            "SADD".into(),
            "set:int".into(),
            "1".into(),
            "2".into(),
            "3".into(),
        ],
        vec!["SADD".into(), "set:str".into(), "x".into(), "y".into()],
        vec![
            "HSET".into(),
            "h".into(),
            "f1".into(),
            "v1".into(),
            "f2".into(),
            "2".into(),
        ],
        vec![
            "ZADD".into(),
            "z".into(),
            "1.5".into(),
            "a".into(),
            "-2".into(),
            "b".into(),
        ],
    ];
    for command in &setup {
        let args: Vec<&str> = command.iter().map(String::as_str).collect();
        let reply = reference.cmd(&args);
        assert!(!reply.starts_with('-'), "{reply}");
    }
    for _ in 0..300 {
        // Large enough for Redis's non-compact encodings.
        let member = format!("member-{}", reference.cmd(&["INCR", "counter"]).len());
        reference.cmd(&["SADD", "set:big", &member, &long[..70]]);
    }
    let keys = [
        ("s:int", "string"),
        ("s:long", "string"),
        ("l", "list"),
        ("set:int", "set"),
        ("set:str", "set"),
        ("set:big", "set"),
        ("h", "hash"),
        ("z", "zset"),
    ];
    for (key, kind) in keys {
        let dumped = payload_of(&reference.cmd_bytes(&[b"DUMP", key.as_bytes()]));
        let restored = c.cmd_bytes(&[b"RESTORE", key.as_bytes(), b"0", &dumped]);
        assert_eq!(restored, OK.as_bytes(), "RESTORE {key}");
        assert_eq!(c.cmd(&["TYPE", key]), format!("+{kind}\r\n"), "{key}");
        // Back the other way, into redis-server under a new name.
        let ours = payload_of(&c.cmd_bytes(&[b"DUMP", key.as_bytes()]));
        let copy = format!("copy:{key}");
        let back = reference.cmd_bytes(&[b"RESTORE", copy.as_bytes(), b"0", &ours]);
        assert_eq!(
            back,
            OK.as_bytes(),
            "redis-server RESTORE of our DUMP of {key}"
        );
        let read = |client: &mut RawClient, name: &str| -> String {
            match kind {
                "string" => client.cmd(&["GET", name]),
                "list" => client.cmd(&["LRANGE", name, "0", "-1"]),
                "set" => client.cmd(&["SCARD", name]),
                "hash" => client.cmd(&["HLEN", name]),
                _ => client.cmd(&["ZRANGE", name, "0", "-1", "WITHSCORES"]),
            }
        };
        assert_eq!(
            read(&mut reference, &copy),
            read(&mut reference, key),
            "{key}"
        );
    }
    assert_eq!(
        c.cmd(&["RESTORE", "h", "0", "x"]),
        "-BUSYKEY Target key name already exists.\r\n"
    );
    let dumped = payload_of(&c.cmd_bytes(&[b"DUMP", b"h"]));
    let mut corrupt = dumped.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert_eq!(
        c.cmd_bytes(&[b"RESTORE", b"fresh", b"0", &corrupt]),
        b"-ERR DUMP payload version or checksum are wrong\r\n"
    );
    assert_eq!(
        c.cmd_bytes(&[b"RESTORE", b"fresh", b"-1", &dumped]),
        b"-ERR Invalid TTL value, must be >= 0\r\n"
    );
    assert_eq!(
        c.cmd_bytes(&[b"RESTORE", b"h", b"5000", &dumped, b"REPLACE"]),
        OK.as_bytes()
    );
    let ttl = c.cmd(&["PTTL", "h"]);
    let ttl: i64 = ttl[1..ttl.len() - 2].parse().expect("a number");
    assert!((4000..=5000).contains(&ttl), "{ttl}");
    assert_eq!(c.cmd(&["DUMP", "missing"]), NULL);
    // GET on a restored hash is a type error, as in Redis.
    assert_eq!(
        c.cmd(&["GET", "h"]),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
}
