//! String commands over TCP, checked against Redis's exact replies.

mod common;

use common::{NULL, OK, TestServer, bulk};
use redis::Commands;

#[test]
fn get_set_del_with_a_real_client() {
    let server = TestServer::start();
    let mut connection = server.client();
    let _: () = connection.set("greeting", "hello").unwrap();
    let value: String = connection.get("greeting").unwrap();
    assert_eq!(value, "hello");
    let missing: Option<String> = connection.get("nope").unwrap();
    assert_eq!(missing, None);
    let deleted: i64 = connection.del(&["greeting", "nope"]).unwrap();
    assert_eq!(deleted, 1);
    let binary = vec![0u8, 255, 13, 10, 7];
    let _: () = connection.set(b"bin\r\nkey", &binary).unwrap();
    let back: Vec<u8> = connection.get(b"bin\r\nkey").unwrap();
    assert_eq!(back, binary);
}

#[test]
fn set_options_follow_redis() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SET", "k", "v1", "NX"]), OK);
    assert_eq!(c.cmd(&["SET", "k", "v2", "NX"]), NULL);
    assert_eq!(c.cmd(&["SET", "k", "v3", "XX"]), OK);
    assert_eq!(c.cmd(&["SET", "other", "v", "XX"]), NULL);
    assert_eq!(c.cmd(&["SET", "k", "v4", "GET"]), bulk("v3"));
    assert_eq!(c.cmd(&["SET", "fresh", "v", "GET"]), NULL);
    assert_eq!(c.cmd(&["SET", "k", "v5", "NX", "GET"]), bulk("v4"));
    assert_eq!(c.cmd(&["GET", "k"]), bulk("v4"));
    assert_eq!(
        c.cmd(&["SET", "k", "v", "NX", "XX"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "10", "PX", "100"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "10", "KEEPTTL"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["SET", "k", "v", "EX"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["SET", "k", "v", "BOGUS"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "abc"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "0"]),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "PX", "-5"]),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(
        c.cmd(&["SET", "k", "v", "EX", "9223372036854775807"]),
        "-ERR invalid expire time in 'set' command\r\n"
    );
    assert_eq!(c.cmd(&["set", "k", "v", "ex", "100"]), OK);
    assert_eq!(c.cmd(&["TTL", "k"]), ":100\r\n");
    assert_eq!(c.cmd(&["SET", "k", "w", "KEEPTTL"]), OK);
    assert_eq!(c.cmd(&["TTL", "k"]), ":100\r\n");
    assert_eq!(c.cmd(&["SET", "k", "w"]), OK);
    assert_eq!(c.cmd(&["TTL", "k"]), ":-1\r\n");
    assert_eq!(
        c.cmd(&["SET", "k"]),
        "-ERR wrong number of arguments for 'set' command\r\n"
    );
}

#[test]
fn setnx_setex_getset_getdel_getex() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SETNX", "a", "1"]), ":1\r\n");
    assert_eq!(c.cmd(&["SETNX", "a", "2"]), ":0\r\n");
    assert_eq!(c.cmd(&["SETEX", "b", "100", "x"]), OK);
    assert_eq!(c.cmd(&["TTL", "b"]), ":100\r\n");
    assert_eq!(
        c.cmd(&["SETEX", "b", "0", "x"]),
        "-ERR invalid expire time in 'setex' command\r\n"
    );
    assert_eq!(c.cmd(&["PSETEX", "c", "100000", "y"]), OK);
    assert_eq!(c.cmd(&["TTL", "c"]), ":100\r\n");
    assert_eq!(
        c.cmd(&["PSETEX", "c", "-1", "y"]),
        "-ERR invalid expire time in 'psetex' command\r\n"
    );
    assert_eq!(c.cmd(&["GETSET", "a", "3"]), bulk("1"));
    assert_eq!(c.cmd(&["GETSET", "new", "3"]), NULL);
    assert_eq!(c.cmd(&["GETDEL", "a"]), bulk("3"));
    assert_eq!(c.cmd(&["GETDEL", "a"]), NULL);
    assert_eq!(c.cmd(&["GETEX", "b"]), bulk("x"));
    assert_eq!(c.cmd(&["GETEX", "b", "PERSIST"]), bulk("x"));
    assert_eq!(c.cmd(&["TTL", "b"]), ":-1\r\n");
    assert_eq!(c.cmd(&["GETEX", "b", "EX", "50"]), bulk("x"));
    assert_eq!(c.cmd(&["TTL", "b"]), ":50\r\n");
    assert_eq!(
        c.cmd(&["GETEX", "b", "EX", "0"]),
        "-ERR invalid expire time in 'getex' command\r\n"
    );
    assert_eq!(c.cmd(&["GETEX", "b", "FOO", "1"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["GETEX", "b", "PXAT", "1"]), bulk("x"));
    assert_eq!(c.cmd(&["EXISTS", "b"]), ":0\r\n");
    assert_eq!(c.cmd(&["GETEX", "missing", "EX", "5"]), NULL);
}

#[test]
fn mget_mset_msetnx() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["MSET", "a", "1", "b", "2", "{t}c", "3"]), OK);
    assert_eq!(
        c.cmd(&["MGET", "a", "nope", "b", "{t}c"]),
        format!("*4\r\n{}{}{}{}", bulk("1"), NULL, bulk("2"), bulk("3"))
    );
    assert_eq!(
        c.cmd(&["MSET", "a", "1", "b"]),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(c.cmd(&["MSETNX", "x", "1", "a", "9"]), ":0\r\n");
    assert_eq!(c.cmd(&["GET", "x"]), NULL);
    assert_eq!(c.cmd(&["MSETNX", "x", "1", "y", "2"]), ":1\r\n");
    assert_eq!(
        c.cmd(&["MGET", "x", "y"]),
        format!("*2\r\n{}{}", bulk("1"), bulk("2"))
    );
}

#[test]
fn append_strlen_and_counters() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["APPEND", "s", "Hello"]), ":5\r\n");
    assert_eq!(c.cmd(&["APPEND", "s", " World"]), ":11\r\n");
    assert_eq!(c.cmd(&["GET", "s"]), bulk("Hello World"));
    assert_eq!(c.cmd(&["STRLEN", "s"]), ":11\r\n");
    assert_eq!(c.cmd(&["STRLEN", "none"]), ":0\r\n");
    assert_eq!(c.cmd(&["INCR", "n"]), ":1\r\n");
    assert_eq!(c.cmd(&["INCRBY", "n", "41"]), ":42\r\n");
    assert_eq!(c.cmd(&["DECR", "n"]), ":41\r\n");
    assert_eq!(c.cmd(&["DECRBY", "n", "50"]), ":-9\r\n");
    assert_eq!(
        c.cmd(&["INCR", "s"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["INCRBY", "n", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["SET", "big", "9223372036854775807"]), OK);
    assert_eq!(
        c.cmd(&["INCR", "big"]),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(
        c.cmd(&["DECRBY", "n", "-9223372036854775808"]),
        "-ERR decrement would overflow\r\n"
    );
    assert_eq!(c.cmd(&["SET", "pad", " 1"]), OK);
    assert_eq!(
        c.cmd(&["INCR", "pad"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["SET", "f", "10.50"]), OK);
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "0.1"]), bulk("10.6"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "f", "-5"]), bulk("5.6"));
    assert_eq!(c.cmd(&["INCRBYFLOAT", "g", "5.0e3"]), bulk("5000"));
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "g", "abc"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "s", "1"]),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        c.cmd(&["INCRBYFLOAT", "g", "inf"]),
        "-ERR increment would produce NaN or Infinity\r\n"
    );
    // Counters keep their TTL, as in Redis.
    assert_eq!(c.cmd(&["SET", "t", "1", "EX", "100"]), OK);
    assert_eq!(c.cmd(&["INCR", "t"]), ":2\r\n");
    assert_eq!(c.cmd(&["TTL", "t"]), ":100\r\n");
}

#[test]
fn key_commands() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["MSET", "a", "1", "b", "2"]), OK);
    assert_eq!(c.cmd(&["EXISTS", "a", "a", "b", "z"]), ":3\r\n");
    assert_eq!(c.cmd(&["TYPE", "a"]), "+string\r\n");
    assert_eq!(c.cmd(&["TYPE", "z"]), "+none\r\n");
    assert_eq!(c.cmd(&["UNLINK", "a", "z"]), ":1\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":1\r\n");
    assert_eq!(c.cmd(&["FLUSHDB"]), OK);
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.cmd(&["SET", "a", "1"]), OK);
    assert_eq!(c.cmd(&["FLUSHALL", "ASYNC"]), OK);
    assert_eq!(c.cmd(&["FLUSHALL", "LATER"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn keys_and_scan() {
    let server = TestServer::start();
    let mut connection = server.client();
    for i in 0..300 {
        let _: () = connection.set(format!("user:{i}"), i).unwrap();
    }
    let _: () = connection.set("other", 1).unwrap();
    let mut keys: Vec<String> = connection.keys("user:1?").unwrap();
    keys.sort();
    assert_eq!(
        keys,
        (10..20).map(|i| format!("user:{i}")).collect::<Vec<_>>()
    );
    let all: Vec<String> = connection.keys("*").unwrap();
    assert_eq!(all.len(), 301);

    let mut scanned: Vec<String> = connection.scan_match("user:*").unwrap().collect();
    scanned.sort();
    scanned.dedup();
    assert_eq!(scanned.len(), 300);

    let mut c = server.raw();
    assert_eq!(c.cmd(&["SCAN", "abc"]), "-ERR invalid cursor\r\n");
    assert_eq!(c.cmd(&["SCAN", "0", "COUNT", "0"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["SCAN", "0", "MATCH"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["SCAN", "0", "TYPE", "hash", "COUNT", "1000"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    let reply = c.cmd(&["SCAN", "0", "MATCH", "other", "COUNT", "1000"]);
    assert_eq!(reply, format!("*2\r\n$1\r\n0\r\n*1\r\n{}", bulk("other")));
}

#[test]
fn pipelined_requests_keep_order() {
    let server = TestServer::start();
    let mut connection = server.client();
    let mut pipe = redis::pipe();
    for i in 0..100 {
        pipe.set(format!("k{i}"), i).ignore().incr("counter", 1);
    }
    let counts: Vec<i64> = pipe.query(&mut connection).unwrap();
    assert_eq!(counts, (1..=100).collect::<Vec<i64>>());

    // Many requests in a single write, mixed with errors: one reply each, in order.
    let mut c = server.raw();
    let mut batch = Vec::new();
    for i in 0..500 {
        batch.extend_from_slice(&common::RawClient::encode(&[
            b"SET",
            format!("p{i}").as_bytes(),
            b"v",
        ]));
        batch.extend_from_slice(&common::RawClient::encode(&[
            b"GET",
            format!("p{i}").as_bytes(),
        ]));
        batch.extend_from_slice(&common::RawClient::encode(&[b"NOSUCH"]));
    }
    c.send(&batch);
    for _ in 0..500 {
        assert_eq!(c.reply(), OK);
        assert_eq!(c.reply(), bulk("v"));
        assert_eq!(
            c.reply(),
            "-ERR unknown command 'NOSUCH', with args beginning with: \r\n"
        );
    }
}

#[test]
fn large_values_round_trip() {
    let server = TestServer::start();
    let mut connection = server.client();
    let value = vec![b'x'; 5 * 1024 * 1024];
    let _: () = connection.set("large", &value).unwrap();
    let back: Vec<u8> = connection.get("large").unwrap();
    assert_eq!(back.len(), value.len());
    let values: Vec<Vec<u8>> = connection.mget(&["large", "large", "large"]).unwrap();
    assert!(values.iter().all(|v| v == &value));
}
