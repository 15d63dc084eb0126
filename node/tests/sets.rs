//! Set commands over TCP, checked against the replies of Redis 7.0.15 byte for byte.

mod cluster_support;
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{
    NULL, OK, RawClient, SYNTAX, TestServer, WRONGTYPE, arity, bulk, bulks, elements, err, int,
};
use redis::Commands;
use ringcache_admin::ClusterSettings;

/// A reply's bulk strings as a set, with its header's type (`*` or `~`) and count.
fn members(raw: &str) -> (char, BTreeSet<String>) {
    let header = raw.chars().next().unwrap_or(' ');
    let items = elements(raw);
    let count: usize = raw[1..raw.find('\r').unwrap_or(1)]
        .parse()
        .unwrap_or(usize::MAX);
    assert_eq!(count, items.len(), "{raw}");
    let set: BTreeSet<String> = items.into_iter().collect();
    assert_eq!(set.len(), count, "no repeats in {raw}");
    (header, set)
}

fn set_of(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|item| (*item).to_owned()).collect()
}

#[test]
fn sadd_srem_membership_and_cardinality() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SADD", "s", "a", "b", "c", "a"]), int(3));
    assert_eq!(c.cmd(&["SADD", "s", "a", "d"]), int(1));
    assert_eq!(c.cmd(&["SADD", "s"]), arity("sadd"));
    assert_eq!(c.cmd(&["TYPE", "s"]), "+set\r\n");
    assert_eq!(c.cmd(&["SCARD", "s"]), int(4));
    assert_eq!(c.cmd(&["SCARD", "nokey"]), int(0));
    assert_eq!(c.cmd(&["SISMEMBER", "s", "b"]), int(1));
    assert_eq!(c.cmd(&["SISMEMBER", "s", "zz"]), int(0));
    assert_eq!(c.cmd(&["SISMEMBER", "nokey", "b"]), int(0));
    assert_eq!(c.cmd(&["SISMEMBER", "s"]), arity("sismember"));
    assert_eq!(
        c.cmd(&["SMISMEMBER", "s", "b", "zz", "a"]),
        "*3\r\n:1\r\n:0\r\n:1\r\n"
    );
    assert_eq!(c.cmd(&["SMISMEMBER", "nokey", "b"]), "*1\r\n:0\r\n");
    assert_eq!(c.cmd(&["SMISMEMBER", "s"]), arity("smismember"));
    assert_eq!(
        members(&c.cmd(&["SMEMBERS", "s"])),
        ('*', set_of(&["a", "b", "c", "d"]))
    );
    assert_eq!(c.cmd(&["SMEMBERS", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd(&["SREM", "s", "a", "zz", "a"]), int(1));
    assert_eq!(c.cmd(&["SREM", "nokey", "a"]), int(0));
    assert_eq!(c.cmd(&["SREM", "s"]), arity("srem"));
    assert_eq!(c.cmd(&["SREM", "s", "b", "c", "d"]), int(3));
    assert_eq!(c.cmd(&["EXISTS", "s"]), int(0));

    // TTL: kept by writes, gone with the emptied key.
    assert_eq!(c.cmd(&["SADD", "t", "a", "b"]), int(2));
    assert_eq!(c.cmd(&["EXPIRE", "t", "100"]), int(1));
    assert_eq!(c.cmd(&["SADD", "t", "c"]), int(1));
    assert_eq!(c.cmd(&["SREM", "t", "a"]), int(1));
    assert_eq!(c.cmd(&["TTL", "t"]), int(100));
    assert_eq!(c.cmd(&["SREM", "t", "b", "c"]), int(2));
    assert_eq!(c.cmd(&["SADD", "t", "x"]), int(1));
    assert_eq!(c.cmd(&["TTL", "t"]), int(-1));

    // RESP3: SMEMBERS is a set.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["SMEMBERS", "t"]), "~1\r\n$1\r\nx\r\n");
    assert_eq!(c.cmd(&["SMEMBERS", "nokey"]), "~0\r\n");
    assert_eq!(c.cmd(&["SMISMEMBER", "t", "x"]), "*1\r\n:1\r\n");

    let mut binary = server.client();
    let member = vec![0u8, 13, 10, 255];
    let added: i64 = binary.sadd("bin", &member).unwrap();
    assert_eq!(added, 1);
    let back: Vec<Vec<u8>> = binary.smembers("bin").unwrap();
    assert_eq!(back, [member]);
}

#[test]
fn wrong_type_everywhere() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SET", "str", "v"]), OK);
    assert_eq!(c.cmd(&["SADD", "a", "1"]), int(1));
    for command in [
        &["SADD", "str", "a"][..],
        &["SREM", "str", "a"],
        &["SISMEMBER", "str", "a"],
        &["SMISMEMBER", "str", "a"],
        &["SMEMBERS", "str"],
        &["SCARD", "str"],
        &["SPOP", "str"],
        &["SPOP", "str", "2"],
        &["SPOP", "str", "0"],
        &["SRANDMEMBER", "str"],
        &["SRANDMEMBER", "str", "2"],
        &["SRANDMEMBER", "str", "0"],
        &["SMOVE", "a", "str", "1"],
        &["SMOVE", "str", "a", "1"],
        &["SMOVE", "str", "str", "1"],
        &["SINTER", "a", "nokey", "str"],
        &["SINTER", "nokey", "str"],
        &["SUNION", "a", "str"],
        &["SDIFF", "nokey", "str"],
        &["SDIFF", "a", "str"],
        &["SINTERSTORE", "d", "a", "str"],
        &["SUNIONSTORE", "d", "str"],
        &["SDIFFSTORE", "d", "a", "str"],
        &["SINTERCARD", "2", "nokey", "str"],
        &["SSCAN", "str", "0"],
        &["SSCAN", "str", "0", "BOGUS"],
    ] {
        assert_eq!(c.cmd(command), WRONGTYPE, "{command:?}");
    }
    assert_eq!(c.cmd(&["GET", "str"]), bulk("v"));
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
    assert_eq!(c.cmd(&["SMEMBERS", "a"]), bulks(&["1"]));
    // SMOVE from a missing source is 0 whatever the destination holds.
    assert_eq!(c.cmd(&["SMOVE", "nokey", "str", "1"]), int(0));
    assert_eq!(c.cmd(&["GET", "a"]), WRONGTYPE);
}

#[test]
fn spop_and_srandmember() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SPOP", "nokey"]), NULL);
    assert_eq!(c.cmd(&["SPOP", "nokey", "2"]), "*0\r\n");
    assert_eq!(c.cmd(&["SRANDMEMBER", "nokey"]), NULL);
    assert_eq!(c.cmd(&["SRANDMEMBER", "nokey", "2"]), "*0\r\n");
    assert_eq!(c.cmd(&["SRANDMEMBER", "nokey", "-2"]), "*0\r\n");
    assert_eq!(c.cmd(&["SADD", "one", "x"]), int(1));
    assert_eq!(c.cmd(&["SRANDMEMBER", "one"]), bulk("x"));
    assert_eq!(c.cmd(&["SRANDMEMBER", "one", "0"]), "*0\r\n");
    assert_eq!(c.cmd(&["SRANDMEMBER", "one", "3"]), bulks(&["x"]));
    assert_eq!(
        c.cmd(&["SRANDMEMBER", "one", "-3"]),
        bulks(&["x", "x", "x"])
    );
    assert_eq!(c.cmd(&["SRANDMEMBER", "one", "1", "2"]), SYNTAX);
    assert_eq!(
        c.cmd(&["SRANDMEMBER", "one", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(
        c.cmd(&["SRANDMEMBER", "one", "-9223372036854775808"]),
        err(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        )
    );
    // A deviation: Redis 7.0 tries to build a reply of any size (and runs out of memory).
    assert_eq!(
        c.cmd(&["SRANDMEMBER", "one", "-1048577"]),
        err("ERR value is out of range, value must between -1048576 and 9223372036854775807")
    );
    let most = c.cmd(&["SRANDMEMBER", "one", "-1048576"]);
    assert!(most.starts_with("*1048576\r\n$1\r\nx\r\n"));
    assert_eq!(most.len(), 10 + 1048576 * 7);
    assert_eq!(c.cmd(&["SPOP", "one", "0"]), "*0\r\n");
    assert_eq!(
        c.cmd(&["SPOP", "one", "-1"]),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(
        c.cmd(&["SPOP", "one", "x"]),
        err("ERR value is out of range, must be positive")
    );
    assert_eq!(c.cmd(&["SPOP", "one", "1", "2"]), SYNTAX);
    assert_eq!(c.cmd(&["SPOP"]), arity("spop"));
    assert_eq!(c.cmd(&["SPOP", "one"]), bulk("x"));
    assert_eq!(c.cmd(&["EXISTS", "one"]), int(0));
    assert_eq!(c.cmd(&["SADD", "one", "x"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "one", "100"]), int(1));
    assert_eq!(c.cmd(&["SPOP", "one", "5"]), bulks(&["x"]));
    assert_eq!(c.cmd(&["EXISTS", "one"]), int(0));

    // Many members: distinct picks, pops really remove what they return.
    let mut connection = server.client();
    let all: Vec<String> = (0..100).map(|i| format!("m{i}")).collect();
    let _: i64 = connection.sadd("s", &all).unwrap();
    for count in [1, 10, 40, 99, 100, 150] {
        let (_, picked) = members(&c.cmd(&["SRANDMEMBER", "s", &count.to_string()]));
        assert_eq!(picked.len(), count.min(100));
        assert!(picked.iter().all(|member| member.starts_with('m')));
    }
    let repeated = elements(&c.cmd(&["SRANDMEMBER", "s", "-300"]));
    assert_eq!(repeated.len(), 300);
    let spread: BTreeSet<&String> = repeated.iter().collect();
    assert!(
        spread.len() > 50,
        "300 picks of 100 are spread: {}",
        spread.len()
    );
    let (_, popped) = members(&c.cmd(&["SPOP", "s", "30"]));
    assert_eq!(popped.len(), 30);
    let one = elements(&c.cmd(&["SPOP", "s"]));
    assert!(!popped.contains(&one[0]));
    let left: BTreeSet<String> = connection.smembers("s").unwrap();
    assert_eq!(left.len(), 69);
    assert!(
        popped
            .iter()
            .chain(&one)
            .all(|member| !left.contains(member))
    );
    let union: BTreeSet<&String> = left.iter().chain(&popped).chain(&one).collect();
    assert_eq!(union.len(), 100);
    let (_, rest) = members(&c.cmd(&["SPOP", "s", "1000"]));
    assert_eq!(rest, left);
    assert_eq!(c.cmd(&["EXISTS", "s"]), int(0));

    // RESP3: SPOP with a count is a set; SRANDMEMBER with a count stays an array.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(c.cmd(&["SADD", "t", "a"]), int(1));
    assert_eq!(c.cmd(&["SRANDMEMBER", "t", "2"]), bulks(&["a"]));
    assert_eq!(c.cmd(&["SRANDMEMBER", "t", "-2"]), bulks(&["a", "a"]));
    assert_eq!(c.cmd(&["SRANDMEMBER", "nokey", "2"]), "*0\r\n");
    assert_eq!(c.cmd(&["SPOP", "t", "0"]), "~0\r\n");
    assert_eq!(c.cmd(&["SPOP", "nokey", "3"]), "~0\r\n");
    assert_eq!(c.cmd(&["SPOP", "t", "1"]), "~1\r\n$1\r\na\r\n");
    assert_eq!(c.cmd(&["SPOP", "t"]), "_\r\n");
}

#[test]
fn smove_follows_redis() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SADD", "a", "1", "2", "3"]), int(3));
    assert_eq!(c.cmd(&["SADD", "b", "2", "3", "4"]), int(3));
    assert_eq!(c.cmd(&["SMOVE", "a", "b", "1"]), int(1));
    assert_eq!(c.cmd(&["SMOVE", "a", "b", "9"]), int(0));
    assert_eq!(c.cmd(&["SMOVE", "nokey", "b", "1"]), int(0));
    // Already in the destination: still moved out of the source.
    assert_eq!(c.cmd(&["SMOVE", "a", "b", "2"]), int(1));
    assert_eq!(
        members(&c.cmd(&["SMEMBERS", "b"])).1,
        set_of(&["1", "2", "3", "4"])
    );
    assert_eq!(c.cmd(&["SMOVE", "a", "a", "3"]), int(1));
    assert_eq!(c.cmd(&["SMOVE", "a", "a", "9"]), int(0));
    assert_eq!(c.cmd(&["SMEMBERS", "a"]), bulks(&["3"]));
    // The emptied source goes; a new destination is created without a TTL.
    assert_eq!(c.cmd(&["EXPIRE", "a", "100"]), int(1));
    assert_eq!(c.cmd(&["SMOVE", "a", "fresh", "3"]), int(1));
    assert_eq!(c.cmd(&["EXISTS", "a"]), int(0));
    assert_eq!(c.cmd(&["SMEMBERS", "fresh"]), bulks(&["3"]));
    assert_eq!(c.cmd(&["TTL", "fresh"]), int(-1));
    assert_eq!(c.cmd(&["SMOVE", "a", "b"]), arity("smove"));
}

#[test]
fn set_algebra_and_store() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SADD", "a", "1", "2", "3"]), int(3));
    assert_eq!(c.cmd(&["SADD", "b", "2", "3", "4"]), int(3));
    assert_eq!(c.cmd(&["SADD", "c", "3", "5"]), int(2));
    assert_eq!(
        members(&c.cmd(&["SINTER", "a", "b"])),
        ('*', set_of(&["2", "3"]))
    );
    assert_eq!(
        members(&c.cmd(&["SINTER", "a", "b", "c"])).1,
        set_of(&["3"])
    );
    assert_eq!(
        members(&c.cmd(&["SINTER", "a"])).1,
        set_of(&["1", "2", "3"])
    );
    assert_eq!(c.cmd(&["SINTER", "a", "nokey"]), "*0\r\n");
    assert_eq!(
        members(&c.cmd(&["SUNION", "a", "b", "nokey", "c"])).1,
        set_of(&["1", "2", "3", "4", "5"])
    );
    assert_eq!(c.cmd(&["SUNION", "nokey"]), "*0\r\n");
    assert_eq!(c.cmd(&["SDIFF", "a", "b"]), bulks(&["1"]));
    assert_eq!(members(&c.cmd(&["SDIFF", "b", "a", "c"])).1, set_of(&["4"]));
    assert_eq!(
        members(&c.cmd(&["SDIFF", "a", "nokey"])).1,
        set_of(&["1", "2", "3"])
    );
    assert_eq!(c.cmd(&["SDIFF", "nokey", "a"]), "*0\r\n");
    assert_eq!(c.cmd(&["SDIFF", "a", "a"]), "*0\r\n");
    assert_eq!(c.cmd(&["SINTER"]), arity("sinter"));
    assert_eq!(c.cmd(&["SUNION"]), arity("sunion"));
    assert_eq!(c.cmd(&["SDIFF"]), arity("sdiff"));

    // *STORE: the destination is replaced whatever it held, and loses its TTL.
    assert_eq!(c.cmd(&["SET", "d", "x", "EX", "100"]), OK);
    assert_eq!(c.cmd(&["SINTERSTORE", "d", "a", "b"]), int(2));
    assert_eq!(c.cmd(&["TYPE", "d"]), "+set\r\n");
    assert_eq!(c.cmd(&["TTL", "d"]), int(-1));
    assert_eq!(members(&c.cmd(&["SMEMBERS", "d"])).1, set_of(&["2", "3"]));
    assert_eq!(c.cmd(&["SADD", "u", "z"]), int(1));
    assert_eq!(c.cmd(&["EXPIRE", "u", "100"]), int(1));
    assert_eq!(c.cmd(&["SUNIONSTORE", "u", "a", "c"]), int(4));
    assert_eq!(c.cmd(&["TTL", "u"]), int(-1));
    assert_eq!(
        members(&c.cmd(&["SMEMBERS", "u"])).1,
        set_of(&["1", "2", "3", "5"])
    );
    assert_eq!(c.cmd(&["SDIFFSTORE", "e", "a", "b", "c"]), int(1));
    assert_eq!(c.cmd(&["SMEMBERS", "e"]), bulks(&["1"]));
    // An empty result deletes the destination.
    assert_eq!(c.cmd(&["SINTERSTORE", "d", "a", "nokey"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
    assert_eq!(c.cmd(&["SET", "d", "x"]), OK);
    assert_eq!(c.cmd(&["SDIFFSTORE", "d", "a", "a"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
    assert_eq!(c.cmd(&["SUNIONSTORE", "d", "nokey"]), int(0));
    assert_eq!(c.cmd(&["EXISTS", "d"]), int(0));
    // On error nothing changes.
    assert_eq!(c.cmd(&["SET", "str", "v"]), OK);
    assert_eq!(c.cmd(&["SET", "d", "kept"]), OK);
    assert_eq!(c.cmd(&["SDIFFSTORE", "d", "a", "str"]), WRONGTYPE);
    assert_eq!(c.cmd(&["GET", "d"]), bulk("kept"));
    // The destination may be a source.
    assert_eq!(c.cmd(&["SINTERSTORE", "a", "a", "b"]), int(2));
    assert_eq!(members(&c.cmd(&["SMEMBERS", "a"])).1, set_of(&["2", "3"]));
    assert_eq!(c.cmd(&["SINTERSTORE", "d"]), arity("sinterstore"));
    assert_eq!(c.cmd(&["SUNIONSTORE", "d"]), arity("sunionstore"));
    assert_eq!(c.cmd(&["SDIFFSTORE", "d"]), arity("sdiffstore"));

    // SINTERCARD.
    assert_eq!(c.cmd(&["SINTERCARD", "2", "a", "b"]), int(2));
    assert_eq!(c.cmd(&["SINTERCARD", "1", "b", "LIMIT", "2"]), int(2));
    assert_eq!(c.cmd(&["SINTERCARD", "1", "b", "limit", "0"]), int(3));
    assert_eq!(
        c.cmd(&["SINTERCARD", "1", "b", "LIMIT", "1", "LIMIT", "0"]),
        int(3)
    );
    assert_eq!(c.cmd(&["SINTERCARD", "2", "b", "nokey"]), int(0));
    let numkeys = err("ERR numkeys should be greater than 0");
    assert_eq!(c.cmd(&["SINTERCARD", "0", "a"]), numkeys);
    assert_eq!(c.cmd(&["SINTERCARD", "-1", "a"]), numkeys);
    assert_eq!(c.cmd(&["SINTERCARD", "x", "a"]), numkeys);
    assert_eq!(
        c.cmd(&["SINTERCARD", "3", "a", "b"]),
        err("ERR Number of keys can't be greater than number of args")
    );
    assert_eq!(c.cmd(&["SINTERCARD", "1", "a", "LIMIT"]), SYNTAX);
    assert_eq!(c.cmd(&["SINTERCARD", "1", "a", "FOO", "1"]), SYNTAX);
    assert_eq!(
        c.cmd(&["SINTERCARD", "1", "a", "LIMIT", "-1"]),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(
        c.cmd(&["SINTERCARD", "1", "str", "LIMIT", "x"]),
        err("ERR LIMIT can't be negative")
    );
    assert_eq!(c.cmd(&["SINTERCARD", "1"]), arity("sintercard"));

    // RESP3: the results are sets.
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        members(&c.cmd(&["SINTER", "a", "b"])),
        ('~', set_of(&["2", "3"]))
    );
    assert_eq!(c.cmd(&["SUNION", "nokey"]), "~0\r\n");
    assert_eq!(c.cmd(&["SINTER", "a", "nokey"]), "~0\r\n");
    assert_eq!(c.cmd(&["SDIFF", "e", "a"]), "~1\r\n$1\r\n1\r\n");
    assert_eq!(c.cmd(&["SINTERSTORE", "x", "a", "b"]), int(2));
}

#[test]
fn big_set_algebra_matches_a_model() {
    let server = TestServer::start();
    let mut connection = server.client();
    let a: Vec<u32> = (0..3000).collect();
    let b: Vec<u32> = (0..3000).map(|i| i * 3).collect();
    let c: Vec<u32> = (0..3000).map(|i| i * 5 % 7001).collect();
    let _: i64 = connection.sadd("a", &a).unwrap();
    let _: i64 = connection.sadd("b", &b).unwrap();
    let _: i64 = connection.sadd("c", &c).unwrap();
    let (a, b, c): (BTreeSet<u32>, BTreeSet<u32>, BTreeSet<u32>) = (
        a.into_iter().collect(),
        b.into_iter().collect(),
        c.into_iter().collect(),
    );
    let inter: BTreeSet<u32> = connection.sinter(&["a", "b", "c"]).unwrap();
    let expected: BTreeSet<u32> = a
        .iter()
        .filter(|x| b.contains(x) && c.contains(x))
        .copied()
        .collect();
    assert_eq!(inter, expected);
    let union: BTreeSet<u32> = connection.sunion(&["a", "b", "c"]).unwrap();
    assert_eq!(union, a.iter().chain(&b).chain(&c).copied().collect());
    let diff: BTreeSet<u32> = connection.sdiff(&["c", "a", "b"]).unwrap();
    assert_eq!(
        diff,
        c.iter()
            .filter(|x| !a.contains(x) && !b.contains(x))
            .copied()
            .collect()
    );
    let stored: usize = connection.sunionstore("u", &["a", "b", "c"]).unwrap();
    assert_eq!(stored, union.len());
    let card: usize = redis::cmd("SINTERCARD")
        .arg(3)
        .arg("a")
        .arg("b")
        .arg("c")
        .query(&mut connection)
        .unwrap();
    assert_eq!(card, expected.len());
}

/// Runs a whole SSCAN, returning the members seen (with repeats) and the number of calls.
fn sscan_all(c: &mut RawClient, key: &str, options: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_owned();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let mut command = vec!["SSCAN", key, &cursor];
        command.extend_from_slice(options);
        let items = elements(&c.cmd(&command));
        calls += 1;
        cursor = items[0].clone();
        seen.extend_from_slice(&items[1..]);
        if cursor == "0" {
            return (seen, calls);
        }
    }
}

#[test]
fn sscan_iterates_with_cursor_match_and_count() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SADD", "one", "x"]), int(1));
    assert_eq!(
        c.cmd(&["SSCAN", "one", "0"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nx\r\n"
    );
    assert_eq!(
        c.cmd(&["SSCAN", "one", "0", "MATCH", "y*"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.cmd(&["SSCAN", "nokey", "0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(
        c.cmd(&["SSCAN", "nokey", "0", "BOGUS"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert_eq!(c.cmd(&["SSCAN", "one", "abc"]), err("ERR invalid cursor"));
    assert_eq!(c.cmd(&["SSCAN", "one", "0", "COUNT", "0"]), SYNTAX);
    assert_eq!(
        c.cmd(&["SSCAN", "one", "0", "COUNT", "x"]),
        err("ERR value is not an integer or out of range")
    );
    assert_eq!(c.cmd(&["SSCAN", "one", "0", "MATCH"]), SYNTAX);
    assert_eq!(c.cmd(&["SSCAN", "one", "0", "TYPE", "set"]), SYNTAX);
    assert_eq!(c.cmd(&["SSCAN", "one"]), arity("sscan"));
    c.cmd(&["HELLO", "3"]);
    assert_eq!(
        c.cmd(&["SSCAN", "one", "0"]),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nx\r\n"
    );
    c.cmd(&["HELLO", "2"]);

    let mut connection = server.client();
    let all: Vec<String> = (0..1000).map(|i| format!("m{i}")).collect();
    let _: i64 = connection.sadd("s", &all).unwrap();
    let (seen, calls) = sscan_all(&mut c, "s", &["COUNT", "25"]);
    assert!(calls >= 40, "COUNT bounds each call: {calls} calls");
    assert_eq!(
        seen.len(),
        1000,
        "an unchanged set: every member exactly once"
    );
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 1000);
    let (matched, _) = sscan_all(&mut c, "s", &["MATCH", "m99*"]);
    let matched: BTreeSet<String> = matched.into_iter().collect();
    let expected: BTreeSet<String> = [
        "m99", "m990", "m991", "m992", "m993", "m994", "m995", "m996", "m997", "m998", "m999",
    ]
    .iter()
    .map(|member| (*member).to_owned())
    .collect();
    assert_eq!(matched, expected);

    // Members present for the whole scan are returned while others come and go, and the scan
    // ends although the set grows faster than it is scanned.
    let mut cursor = "0".to_owned();
    let mut seen = BTreeSet::new();
    let mut round = 0;
    loop {
        assert!(round < 100, "the scan ends");
        let items = elements(&c.cmd(&["SSCAN", "s", &cursor, "COUNT", "20"]));
        cursor = items[0].clone();
        seen.extend(items[1..].iter().cloned());
        round += 1;
        let added: Vec<String> = (0..30).map(|i| format!("new{round}-{i}")).collect();
        let _: i64 = connection.sadd("s", &added).unwrap();
        let _: i64 = connection
            .srem("s", format!("m{}", 900 + round % 100))
            .unwrap();
        if cursor == "0" {
            break;
        }
    }
    for i in 0..900 {
        assert!(seen.contains(&format!("m{i}")), "m{i} was returned");
    }
}

#[test]
fn redis_py_sees_the_set_commands() {
    let Some(python) = common::redis_py() else {
        return;
    };
    let server = TestServer::start();
    let script = r#"
import sys, redis
r = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True)
assert r.sadd("a", "1", "2", "3") == 3
assert r.sadd("b", "2", "3", "4") == 3
assert r.smembers("a") == {"1", "2", "3"}
assert r.sinter("a", "b") == {"2", "3"}
assert r.sunion("a", "b") == {"1", "2", "3", "4"}
assert r.sdiff("a", "b") == {"1"}
assert r.sintercard(2, ["a", "b"], limit=1) == 1
assert r.smismember("a", ["1", "9"]) == [1, 0]
assert r.smove("a", "b", "1") is True
assert set(r.spop("b", 10)) == {"1", "2", "3", "4"}
assert r.exists("b") == 0
assert set(r.sscan_iter("a")) == {"2", "3"}
r3 = redis.Redis(host="127.0.0.1", port=int(sys.argv[1]), decode_responses=True, protocol=3)
assert r3.smembers("a") == {"2", "3"}
assert r3.sinter("a", "a") == {"2", "3"}
print("ok")
"#;
    common::run_python(&python, script, &[server.addr.port().to_string()]);
}

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 8,
    replication_factor: 3,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets_in_a_cluster() {
    use cluster_support::{TestCluster, WAIT, eventually, query_retrying, within};
    within(Duration::from_secs(150), "the test", async {
        let cluster = TestCluster::start(3, SETTINGS).await;
        let mut writer = cluster.redis(0).await;
        let members: Vec<String> = (0..50).map(|i| format!("m{i}")).collect();
        let added: i64 = query_retrying(&mut writer, redis::cmd("SADD").arg("{t}a").arg(&members))
            .await
            .expect("SADD");
        assert_eq!(added, 50);
        let added: i64 = query_retrying(
            &mut writer,
            redis::cmd("SADD")
                .arg("{t}b")
                .arg(&members[25..])
                .arg("extra"),
        )
        .await
        .expect("SADD");
        assert_eq!(added, 26);
        let mut reader = cluster.redis(1).await;
        let all: BTreeSet<String> = query_retrying(&mut reader, redis::cmd("SMEMBERS").arg("{t}a"))
            .await
            .expect("SMEMBERS through member 1");
        assert_eq!(all, members.iter().cloned().collect());

        // Multi-key commands: one slot (hash tags) works, several slots are CROSSSLOT.
        let inter: usize = query_retrying(
            &mut reader,
            redis::cmd("SINTERSTORE")
                .arg("{t}both")
                .arg("{t}a")
                .arg("{t}b"),
        )
        .await
        .expect("SINTERSTORE within one slot");
        assert_eq!(inter, 25);
        let card: usize = query_retrying(
            &mut cluster.redis(2).await,
            redis::cmd("SINTERCARD").arg(2).arg("{t}a").arg("{t}b"),
        )
        .await
        .expect("SINTERCARD within one slot");
        assert_eq!(card, 25);
        for command in [
            redis::cmd("SUNION").arg("{t}a").arg("other").clone(),
            redis::cmd("SUNIONSTORE").arg("other").arg("{t}a").clone(),
            redis::cmd("SMOVE")
                .arg("{t}a")
                .arg("other")
                .arg("m1")
                .clone(),
            redis::cmd("SINTERCARD")
                .arg(2)
                .arg("{t}a")
                .arg("other")
                .clone(),
        ] {
            let error = query_retrying::<redis::Value>(&mut writer, &command)
                .await
                .expect_err("several slots");
            assert_eq!(error.code(), Some("CROSSSLOT"), "{error}");
        }
        let moved: i64 = query_retrying(
            &mut writer,
            redis::cmd("SMOVE").arg("{t}a").arg("{t}c").arg("m1"),
        )
        .await
        .expect("SMOVE within one slot");
        assert_eq!(moved, 1);

        // SPOP is decided at the leader and replicated as the members it chose: every replica
        // holds exactly the same set afterwards.
        let popped: Vec<String> = query_retrying(
            &mut cluster.redis(2).await,
            redis::cmd("SPOP").arg("{t}a").arg(10),
        )
        .await
        .expect("SPOP");
        assert_eq!(popped.len(), 10);
        let one: String =
            query_retrying(&mut cluster.redis(1).await, redis::cmd("SPOP").arg("{t}a"))
                .await
                .expect("SPOP");
        let expected: BTreeSet<String> = members[2..]
            .iter()
            .chain(std::iter::once(&members[0]))
            .filter(|member| !popped.contains(member) && **member != one)
            .cloned()
            .collect();
        assert_eq!(expected.len(), 38);
        for member in 0..3 {
            let mut connection = cluster.redis(member).await;
            let () = redis::cmd("READONLY")
                .query_async(&mut connection)
                .await
                .expect("READONLY");
            let expected = expected.clone();
            eventually(WAIT, "the replica applied the same pops", || {
                let mut connection = connection.clone();
                let expected = expected.clone();
                async move {
                    let held: BTreeSet<String> = redis::cmd("SMEMBERS")
                        .arg("{t}a")
                        .query_async(&mut connection)
                        .await
                        .ok()?;
                    (held == expected).then_some(())
                }
            })
            .await;
        }
    })
    .await;
}
