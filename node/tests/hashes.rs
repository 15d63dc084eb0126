//! Hash commands over TCP, checked against the replies of Redis 7.0.15 byte for byte.

mod cluster_support;
mod common;

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use common::{
    NULL, OK, RawClient, SYNTAX, TestServer, WRONGTYPE, arity, bulk, bulks, elements, err, int,
};
use redis::Commands;
use ringcache_admin::ClusterSettings;

#[test]
fn hset_hget_hmget_and_friends() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["HSET", "h", "a", "1", "b", "2"]), int(2));
    assert_eq!(c.cmd(&["HSET", "h", "a", "10", "c", "3"]), int(1));
    assert_eq!(c.cmd(&["HSET", "h", "a"]), arity("hset"));
    assert_eq!(c.cmd(&["HSET", "h", "a", "1", "b"]), arity("hset"));
    assert_eq!(c.cmd(&["HSET", "h"]), arity("hset"));
    assert_eq!(c.cmd(&["HSETNX", "h", "a", "5"]), int(0));
    assert_eq!(c.cmd(&["HSETNX", "h", "d", "4"]), int(1));
    assert_eq!(c.cmd(&["HSETNX", "fresh", "f", "v"]), int(1));
    assert_eq!(c.cmd(&["HSETNX", "h", "a"]), arity("hsetnx"));
    assert_eq!(c.cmd(&["HMSET", "h", "e", "5", "a", "1"]), OK);
    assert_eq!(c.cmd(&["HMSET", "h", "e"]), arity("hmset"));
    assert_eq!(c.cmd(&["HGET", "h", "a"]), bulk("1"));
    assert_eq!(c.cmd(&["HGET", "h", "zz"]), NULL);
    assert_eq!(c.cmd(&["HGET", "nokey", "a"]), NULL);
    assert_eq!(c.cmd(&["HGET", "h"]), arity("hget"));
    assert_eq!(
        c.cmd(&["HMGET", "h", "a", "zz", "b"]),
        "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd(&["HMGET", "nokey", "a", "b"]), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(c.cmd(&["HMGET", "h"]), arity("hmget"));
    assert_eq!(c.cmd(&["HEXISTS", "h", "b"]), int(1));
    assert_eq!(c.cmd(&["HEXISTS", "h", "zz"]), int(0));
    assert_eq!(c.cmd(&["HEXISTS", "nokey", "b"]), int(0));
    assert_eq!(c.cmd(&["HLEN", "h"]), int(5));
    assert_eq!(c.cmd(&["HLEN", "nokey"]), int(0));
    assert_eq!(c.cmd(&["HSET", "h", "long", "hello world"]), int(1));
    assert_eq!(c.cmd(&["HSTRLEN", "h", "long"]), int(11));
    assert_eq!(c.cmd(&["HSTRLEN", "h", "zz"]), int(0));
    assert_eq!(c.cmd(&["HSTRLEN", "nokey", "zz"]), int(0));
    assert_eq!(c.cmd(&["TYPE", "h"]), "+hash\r\n");

    // HDEL removes fields and deletes the emptied hash.
    assert_eq!(c.cmd(&["HDEL", "h", "zz", "a", "b", "a"]), int(2));
    assert_eq!(c.cmd(&["HDEL", "nokey", "a"]), int(0));
    assert_eq!(c.cmd(&["HDEL", "h"]), arity("hdel"));
    assert_eq!(c.cmd(&["HDEL", "fresh", "f"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "fresh"]), int(0));

    // Binary-safe fields and values.
    let mut binary = server.client();
    let field = vec![0u8, 13, 10, 255];
    let value = vec![7u8, 0, 13, 10];
    let added: i64 = binary.hset("bin", &field, &value).unwrap();
    assert_eq!(added, 1);
    let back: Vec<u8> = binary.hget("bin", &field).unwrap();
    assert_eq!(back, value);
}

#[test]
fn whole_hash_reads_and_their_resp3_shapes() {
    let server = TestServer::start();
    let mut connection = server.client();
    let mut c = server.raw();
    let _: () = connection
        .hset_multiple("h", &[("a", "1"), ("b", "2"), ("c", "3")])
        .unwrap();
    let all: HashMap<String, String> = connection.hgetall("h").unwrap();
    let expected: HashMap<String, String> = [("a", "1"), ("b", "2"), ("c", "3")]
        .into_iter()
        .map(|(field, value)| (field.to_owned(), value.to_owned()))
        .collect();
    assert_eq!(all, expected);
    let mut keys: Vec<String> = connection.hkeys("h").unwrap();
    keys.sort();
    assert_eq!(keys, ["a", "b", "c"]);
    let mut values: Vec<String> = connection.hvals("h").unwrap();
    values.sort();
    assert_eq!(values, ["1", "2", "3"]);
    // Fields and values stay paired, in the same order in HKEYS, HVALS and HGETALL.
    let pairs = elements(&c.cmd(&["HGETALL", "h"]));
    let keys = elements(&c.cmd(&["HKEYS", "h"]));
    let values = elements(&c.cmd(&["HVALS", "h"]));
    for (index, pair) in pairs.chunks(2).enumerate() {
        assert_eq!(pair[0], keys[index]);
        assert_eq!(pair[1], values[index]);
        assert_eq!(expected[&pair[0]], pair[1]);
    }

    assert_eq!(c.cmd(&["HSET", "one", "f", "v"]), int(1));
    assert_eq!(c.cmd(&["HGETALL", "one"]), bulks(&["f", "v"]));
    assert_eq!(c.cmd(&["HKEYS", "one"]), bulks(&["f"]));
    assert_eq!(c.cmd(&["HVALS", "one"]), bulks(&["v"]));
    assert_eq!(c.cmd(&["HGETALL", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd(&["HKEYS", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd(&["HVALS", "nokey"]), "*0\r\n");

    // RESP3: HGETALL is a map, HKEYS and HVALS stay arrays, nil is `_`.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["HGETALL", "one"]), "%1\r\n$1\r\nf\r\n$1\r\nv\r\n");
    assert_eq!(c.cmd(&["HGETALL", "nokey"]), "%0\r\n");
    assert_eq!(c.cmd(&["HKEYS", "one"]), bulks(&["f"]));
    assert_eq!(c.cmd(&["HGET", "one", "zz"]), "_\r\n");
    assert_eq!(
        c.cmd(&["HMGET", "one", "f", "zz"]),
        "*2\r\n$1\r\nv\r\n_\r\n"
    );
}

#[test]
fn wrong_type_and_ttl() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SET", "s", "v"]), OK);
    for command in [
        &["HSET", "s", "a", "1"][..],
        &["HSETNX", "s", "a", "1"],
        &["HMSET", "s", "a", "1"],
        &["HGET", "s", "a"],
        &["HMGET", "s", "a"],
        &["HDEL", "s", "a"],
        &["HEXISTS", "s", "a"],
        &["HLEN", "s"],
        &["HSTRLEN", "s", "a"],
        &["HKEYS", "s"],
        &["HVALS", "s"],
        &["HGETALL", "s"],
        &["HINCRBY", "s", "a", "1"],
        &["HINCRBYFLOAT", "s", "a", "1"],
        &["HRANDFIELD", "s"],
        &["HRANDFIELD", "s", "0"],
        &["HSCAN", "s", "0"],
        &["HSCAN", "s", "0", "BOGUS"],
    ] {
        assert_eq!(c.cmd(command), WRONGTYPE, "{command:?}");
    }
    assert_eq!(c.cmd(&["GET", "s"]), bulk("v"));
    // Argument errors come before the type check, as in Redis.
    assert_eq!(
        c.cmd(&["HINCRBY", "s", "a", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "s", "a", "x"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(c.cmd(&["HSCAN", "s", "x"]), err("ERR invalid cursor"));
    assert_eq!(c.cmd(&["GET", "h"]), NULL);
    assert_eq!(c.cmd(&["HSET", "h", "a", "1"]), int(1));
    assert_eq!(c.cmd(&["GET", "h"]), WRONGTYPE);

    // Writes to a hash keep its TTL; emptying it deletes the key and its TTL.
    assert_eq!(c.cmd(&["EXPIRE", "h", "100"]), int(1));
    assert_eq!(c.cmd(&["HSET", "h", "b", "2"]), int(1));
    assert_eq!(c.cmd(&["HINCRBY", "h", "n", "1"]), int(1));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "n", "1.5"]), bulk("2.5"));
    assert_eq!(c.cmd(&["HDEL", "h", "a"]), int(1));
    assert_eq!(c.cmd(&["TTL", "h"]), int(100));
    assert_eq!(c.cmd(&["HDEL", "h", "b", "n"]), int(2));
    assert_eq!(c.cmd(&["TTL", "h"]), int(-2));
    assert_eq!(c.cmd(&["HSET", "h", "a", "1"]), int(1));
    assert_eq!(c.cmd(&["TTL", "h"]), int(-1));
    // An expired hash is gone for every command.
    assert_eq!(c.cmd(&["PEXPIRE", "h", "1"]), int(1));
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.cmd(&["HLEN", "h"]), int(0));
    assert_eq!(c.cmd(&["HSETNX", "h", "a", "2"]), int(1));
    assert_eq!(c.cmd(&["HGET", "h", "a"]), bulk("2"));
}

#[test]
fn hincrby_follows_redis() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["HINCRBY", "h", "n", "5"]), int(5));
    assert_eq!(c.cmd(&["HINCRBY", "h", "n", "-7"]), int(-2));
    assert_eq!(c.cmd(&["HGET", "h", "n"]), bulk("-2"));
    assert_eq!(
        c.cmd(&["HINCRBY", "h", "n", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["HINCRBY", "h", "n", "1.5"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["HINCRBY", "h", "max", "9223372036854775807"]),
        int(i64::MAX)
    );
    assert_eq!(
        c.cmd(&["HINCRBY", "h", "max", "1"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(c.cmd(&["HSET", "h", "neg", "-5"]), int(1));
    assert_eq!(
        c.cmd(&["HINCRBY", "h", "neg", "-9223372036854775805"]),
        err("ERR increment or decrement would overflow")
    );
    assert_eq!(c.cmd(&["HINCRBY", "h", "neg", "-1"]), int(-6));
    for value in ["abc", " 1", "1 ", "01", "1.0", ""] {
        let created = if value == "abc" { 1 } else { 0 };
        assert_eq!(c.cmd(&["HSET", "h", "bad", value]), int(created));
        assert_eq!(
            c.cmd(&["HINCRBY", "h", "bad", "1"]),
            err("ERR hash value is not an integer"),
            "{value:?}"
        );
    }
    assert_eq!(c.cmd(&["HGET", "h", "bad"]), bulk(""));
    // Nothing is created on error.
    assert_eq!(
        c.cmd(&["HINCRBY", "new", "n", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd(&["EXISTS", "new"]), int(0));
    assert_eq!(c.cmd(&["HINCRBY", "h", "n"]), arity("hincrby"));
}

#[test]
fn hincrbyfloat_computes_and_prints_like_redis() {
    let server = TestServer::start();
    let mut c = server.raw();
    // Redis adds in `long double` and prints "%.17Lf" without trailing zeros.
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "f", "0.1"]), bulk("0.1"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "f", "0.2"]), bulk("0.3"));
    assert_eq!(c.cmd(&["HGET", "h", "f"]), bulk("0.3"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "g", "10.5"]), bulk("10.5"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "g", "-10.5"]), bulk("0"));
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "small", "1.5e-5"]),
        bulk("0.000015")
    );
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "z", "-0.0"]), bulk("0"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "hex", "0x10"]), bulk("16"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "e", "3.0e3"]), bulk("3000"));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "tiny", "1e-20"]), bulk("0"));
    assert_eq!(c.cmd(&["HSET", "h", "int", "10"]), int(1));
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "int", "0.25"]), bulk("10.25"));
    assert_eq!(
        c.cmd(&["HINCRBY", "h", "int", "1"]),
        err("ERR hash value is not an integer")
    );
    let huge = "99999999999999999996685879655845645660560099847415567207797047994921734868838061872\
                100126921888539320446747225054013223152134749593960583597420814430196418767959100\
                019603190778663109604507106667939153395788938914560543563061268364901618630217086\
                589253444881623791300855757318142424510452728255046343928578048";
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "big", "1e308"]), bulk(huge));
    // Beyond f64: long double reaches 1.18e4932.
    let doubled = c.cmd(&["HINCRBYFLOAT", "h", "big", "1e308"]);
    assert!(
        doubled.starts_with("$309\r\n1999999999999999999933717593116912913"),
        "{doubled}"
    );

    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "f", "abc"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "f", "nan"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "f", " 1"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "f", "1e5000"]),
        err("ERR value is not a valid float")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "f", "inf"]),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "f", "-Infinity"]),
        err("ERR value is NaN or Infinity")
    );
    assert_eq!(
        c.cmd(&["HSET", "h", "str", "abc", "inf", "inf", "sp", " 1"]),
        int(3)
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "str", "1"]),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "sp", "1"]),
        err("ERR hash value is not a float")
    );
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "inf", "1"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(c.cmd(&["HSET", "h", "max", "1.1e4932"]), int(1));
    assert_eq!(
        c.cmd(&["HINCRBYFLOAT", "h", "max", "1.1e4932"]),
        err("ERR increment would produce NaN or Infinity")
    );
    assert_eq!(c.cmd(&["HGET", "h", "max"]), bulk("1.1e4932"));
    // The reply is a bulk string in RESP3 too.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["HINCRBYFLOAT", "h", "f", "1"]), bulk("1.3"));
}

#[test]
fn hrandfield_counts_and_shapes() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["HRANDFIELD", "nokey"]), NULL);
    assert_eq!(c.cmd(&["HRANDFIELD", "nokey", "3"]), "*0\r\n");
    assert_eq!(
        c.cmd(&["HRANDFIELD", "nokey", "-3", "WITHVALUES"]),
        "*0\r\n"
    );
    assert_eq!(c.cmd(&["HSET", "one", "a", "1"]), int(1));
    assert_eq!(c.cmd(&["HRANDFIELD", "one"]), bulk("a"));
    assert_eq!(c.cmd(&["HRANDFIELD", "one", "0"]), "*0\r\n");
    assert_eq!(c.cmd(&["HRANDFIELD", "one", "5"]), bulks(&["a"]));
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "2", "withvalues"]),
        bulks(&["a", "1"])
    );
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "-2", "WITHVALUES"]),
        bulks(&["a", "1", "a", "1"])
    );
    assert_eq!(c.cmd(&["HRANDFIELD", "one", "-3"]), bulks(&["a", "a", "a"]));
    assert_eq!(c.cmd(&["HRANDFIELD", "one", "1", "WITHVALUE"]), SYNTAX);
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "1", "WITHVALUES", "x"]),
        SYNTAX
    );
    assert_eq!(c.cmd(&["HRANDFIELD", "nokey", "1", "foo"]), SYNTAX);
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "-9223372036854775808"]),
        err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        )
    );
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "4611686018427387904", "WITHVALUES"]),
        err("ERR value is out of range")
    );
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "-4611686018427387904", "WITHVALUES"]),
        err("ERR value is out of range")
    );
    // A deviation: Redis 7.0 tries to build a reply of any size (and runs out of memory).
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "-9223372036854775807"]),
        err("ERR value is out of range, value must between -1048576 and 9223372036854775807")
    );
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "-1048577"]),
        err("ERR value is out of range, value must between -1048576 and 9223372036854775807")
    );

    // Distinct fields for a positive count, all of them at most; picks are real fields.
    let mut connection = server.client();
    let pairs: Vec<(String, String)> = (0..50)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    let _: () = connection.hset_multiple("h", &pairs).unwrap();
    for count in [1, 10, 30, 49, 50, 80] {
        let fields = elements(&c.cmd(&["HRANDFIELD", "h", &count.to_string()]));
        assert_eq!(fields.len(), count.min(50));
        let distinct: BTreeSet<&String> = fields.iter().collect();
        assert_eq!(distinct.len(), fields.len());
        assert!(fields.iter().all(|field| field.starts_with('f')));
    }
    let picks = elements(&c.cmd(&["HRANDFIELD", "h", "-200", "WITHVALUES"]));
    assert_eq!(picks.len(), 400);
    for pair in picks.chunks(2) {
        assert_eq!(pair[1], pair[0].replace('f', "v"));
    }
    let seen: BTreeSet<&String> = picks.iter().step_by(2).collect();
    assert!(
        seen.len() > 20,
        "200 picks of 50 fields are spread: {}",
        seen.len()
    );

    // RESP3 with WITHVALUES: an array of [field, value] pairs.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "1", "WITHVALUES"]),
        "*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        c.cmd(&["HRANDFIELD", "one", "-2", "WITHVALUES"]),
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(c.cmd(&["HRANDFIELD", "one", "2"]), bulks(&["a"]));
    assert_eq!(c.cmd(&["HRANDFIELD", "nokey"]), "_\r\n");
    assert_eq!(c.cmd(&["HRANDFIELD", "nokey", "2"]), "*0\r\n");
}

/// Runs a whole HSCAN, returning the fields seen (with repeats) and the number of calls.
fn hscan_all(c: &mut RawClient, key: &str, options: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_owned();
    let mut fields = Vec::new();
    let mut calls = 0;
    loop {
        let mut command = vec!["HSCAN", key, &cursor];
        command.extend_from_slice(options);
        let reply = c.cmd(&command);
        let items = elements(&reply);
        calls += 1;
        cursor = items[0].clone();
        for pair in items[1..].chunks(2) {
            assert_eq!(pair[1], pair[0].replace('f', "v"));
            fields.push(pair[0].clone());
        }
        if cursor == "0" {
            return (fields, calls);
        }
    }
}

#[test]
fn hscan_iterates_with_cursor_match_and_count() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["HSET", "one", "a", "1"]), int(1));
    assert_eq!(
        c.cmd(&["HSCAN", "one", "0"]),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        c.cmd(&["HSCAN", "one", "0", "MATCH", "b*"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.cmd(&["HSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    // As Redis: a missing key answers an empty scan whatever its options.
    assert_eq!(
        c.cmd(&["HSCAN", "nokey", "0", "BOGUS"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.cmd(&["HSCAN", "nokey", "abc"]), err("ERR invalid cursor"));
    assert_eq!(
        c.cmd(&["HSCAN", "one", "18446744073709551616"]),
        err("ERR invalid cursor")
    );
    assert_eq!(c.cmd(&["HSCAN", "one", "0", "BOGUS"]), SYNTAX);
    assert_eq!(c.cmd(&["HSCAN", "one", "0", "COUNT"]), SYNTAX);
    assert_eq!(c.cmd(&["HSCAN", "one", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(
        c.cmd(&["HSCAN", "one", "0", "COUNT", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd(&["HSCAN", "one", "0", "TYPE", "string"]), SYNTAX);
    assert_eq!(c.cmd(&["HSCAN", "one", "0", "NOVALUES"]), SYNTAX);
    assert_eq!(c.cmd(&["HSCAN", "one"]), arity("hscan"));

    let mut connection = server.client();
    let pairs: Vec<(String, String)> = (0..500)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    let _: () = connection.hset_multiple("h", &pairs).unwrap();
    let (fields, calls) = hscan_all(&mut c, "h", &["COUNT", "20"]);
    assert!(calls >= 25, "COUNT bounds each call: {calls} calls");
    let distinct: BTreeSet<&String> = fields.iter().collect();
    assert_eq!(
        fields.len(),
        500,
        "an unchanged hash: every field exactly once"
    );
    assert_eq!(distinct.len(), 500);
    let (matched, _) = hscan_all(&mut c, "h", &["MATCH", "f1?", "COUNT", "1000"]);
    let matched: BTreeSet<String> = matched.into_iter().collect();
    let expected: BTreeSet<String> = (10..20).map(|i| format!("f{i}")).collect();
    assert_eq!(matched, expected);

    // Fields present for the whole scan are returned although others come and go.
    let mut cursor = "0".to_owned();
    let mut seen = BTreeSet::new();
    let mut round = 0;
    loop {
        assert!(round < 100, "the scan ends");
        let items = elements(&c.cmd(&["HSCAN", "h", &cursor, "COUNT", "10"]));
        cursor = items[0].clone();
        seen.extend(items[1..].iter().step_by(2).cloned());
        round += 1;
        for extra in 0..20 {
            let _: i64 = connection
                .hset("h", format!("new{round}-{extra}"), "x")
                .unwrap();
        }
        let _: i64 = connection
            .hdel("h", format!("f{}", 400 + round % 100))
            .unwrap();
        if cursor == "0" {
            break;
        }
    }
    for i in 0..400 {
        assert!(seen.contains(&format!("f{i}")), "f{i} was returned");
    }
}

#[test]
fn command_info_lists_the_hash_commands() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(
        c.cmd(&["COMMAND", "INFO", "hset"])
            .lines()
            .take(8)
            .collect::<Vec<_>>(),
        ["*1", "*10", "$4", "hset", ":-4", "*3", "+write", "+denyoom"]
    );
    let reply = c.cmd(&["COMMAND", "INFO", "hgetall", "hdel"]);
    assert!(
        reply.contains("$7\r\nhgetall\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n"),
        "{reply}"
    );
    assert!(
        reply.contains("$4\r\nhdel\r\n:-3\r\n*2\r\n+write\r\n+fast\r\n"),
        "{reply}"
    );
}

#[test]
fn redis_py_sees_the_hash_commands() {
    let Some(python) = common::redis_py() else {
        return;
    };
    let server = TestServer::start();
    let script = r#"
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
assert r.hgetall("h") == {"a": "1", "b": "2"}
assert r.hincrbyfloat("h", "a", 0.5) == 1.5
assert r.hincrby("h", "b", 3) == 5
assert r.hrandfield("h", 2, withvalues=True) in (["a", "1.5", "b", "5"], ["b", "5", "a", "1.5"])
cursor, found = r.hscan("h", 0)
assert cursor == 0 and found == {"a": "1.5", "b": "5"}, (cursor, found)
assert dict(r.hscan_iter("h", match="a")) == {"a": "1.5"}
r3 = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True, protocol=3)
assert r3.hgetall("h") == {"a": "1.5", "b": "5"}
print("ok")
"#;
    common::run_python(&python, script, &[server.addr.port().to_string()]);
}

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 8,
    replication_factor: 3,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes_in_a_cluster() {
    use cluster_support::{TestCluster, WAIT, eventually, query_retrying, within};
    within(Duration::from_secs(150), "the test", async {
        let cluster = TestCluster::start(3, SETTINGS).await;
        let mut writer = cluster.redis(0).await;
        for index in 0..20 {
            let added: i64 = query_retrying(
                &mut writer,
                redis::cmd("HSET")
                    .arg(format!("user:{index}"))
                    .arg("name")
                    .arg(format!("n{index}"))
                    .arg("visits")
                    .arg(index),
            )
            .await
            .expect("HSET");
            assert_eq!(added, 2);
        }
        let total: String = query_retrying(
            &mut cluster.redis(1).await,
            redis::cmd("HINCRBYFLOAT")
                .arg("user:3")
                .arg("score")
                .arg("0.1"),
        )
        .await
        .expect("HINCRBYFLOAT through member 1");
        assert_eq!(total, "0.1");
        let total: String = query_retrying(
            &mut cluster.redis(2).await,
            redis::cmd("HINCRBYFLOAT")
                .arg("user:3")
                .arg("score")
                .arg("0.2"),
        )
        .await
        .expect("HINCRBYFLOAT through member 2");
        assert_eq!(total, "0.3");
        for reader in [1, 2] {
            let mut connection = cluster.redis(reader).await;
            for index in 0..20 {
                let all: HashMap<String, String> = query_retrying(
                    &mut connection,
                    redis::cmd("HGETALL").arg(format!("user:{index}")),
                )
                .await
                .expect("HGETALL");
                assert_eq!(all["name"], format!("n{index}"), "via member {reader}");
                assert_eq!(all["visits"], index.to_string());
            }
            let field: String =
                query_retrying(&mut connection, redis::cmd("HRANDFIELD").arg("user:3"))
                    .await
                    .expect("HRANDFIELD");
            assert!(["name", "visits", "score"].contains(&field.as_str()));
            let (cursor, found): (u64, HashMap<String, String>) =
                query_retrying(&mut connection, redis::cmd("HSCAN").arg("user:3").arg(0))
                    .await
                    .expect("HSCAN");
            assert_eq!(cursor, 0);
            assert_eq!(found["score"], "0.3");
        }
        // Every replica applied the same writes: READONLY reads on each member agree.
        for member in 0..3 {
            let mut connection = cluster.redis(member).await;
            let () = redis::cmd("READONLY")
                .query_async(&mut connection)
                .await
                .expect("READONLY");
            eventually(WAIT, "the replica has the hash", || {
                let mut connection = connection.clone();
                async move {
                    let score: Option<String> = redis::cmd("HGET")
                        .arg("user:3")
                        .arg("score")
                        .query_async(&mut connection)
                        .await
                        .ok()?;
                    (score.as_deref() == Some("0.3")).then_some(())
                }
            })
            .await;
        }
        let removed: i64 = query_retrying(
            &mut cluster.redis(2).await,
            redis::cmd("HDEL")
                .arg("user:3")
                .arg("name")
                .arg("visits")
                .arg("score"),
        )
        .await
        .expect("HDEL");
        assert_eq!(removed, 3);
        let exists: i64 = query_retrying(
            &mut cluster.redis(1).await,
            redis::cmd("EXISTS").arg("user:3"),
        )
        .await
        .expect("EXISTS");
        assert_eq!(exists, 0);
    })
    .await;
}
