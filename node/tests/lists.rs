//! List commands over TCP, checked against Redis 7.0's exact replies (compared with
//! `redis-server` 7.0.15), the blocking ones included, in a single process and in a 3-member
//! cluster (forwarding, CROSSSLOT, a blocked client woken by a push through another member, and
//! list traffic across a killed leader).

mod cluster_support;
mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use cluster_support::{
    Failure, TestCluster, WAIT, classify, partition_of_key, query_retrying, within,
};
use common::{NULL, OK, RawClient, TestServer, bulk};
use redis::Commands;
use ringcache_admin::ClusterSettings;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NULL_ARRAY: &str = "*-1\r\n";
const EMPTY: &str = "*0\r\n";

/// A RESP array of bulk strings.
fn array(items: &[&str]) -> String {
    let mut text = format!("*{}\r\n", items.len());
    items.iter().for_each(|item| text.push_str(&bulk(item)));
    text
}

fn integer(value: i64) -> String {
    format!(":{value}\r\n")
}

fn arity(name: &str) -> String {
    format!("-ERR wrong number of arguments for '{name}' command\r\n")
}

/// Whether `key` still has (about) the `seconds` of TTL it was given (a slow machine may take a
/// second or two between the EXPIRE and the TTL).
fn ttl_kept(c: &mut RawClient, key: &str, seconds: i64) -> bool {
    let reply = c.cmd(&["TTL", key]);
    let ttl: i64 = reply
        .trim_start_matches(':')
        .trim_end()
        .parse()
        .expect("TTL");
    (seconds - 5..=seconds).contains(&ttl)
}

#[test]
fn pushes_and_pops_at_either_end() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["RPUSH", "l", "b", "c"]), integer(2));
    assert_eq!(c.cmd(&["LPUSH", "l", "a", "z"]), integer(4));
    assert_eq!(
        c.cmd(&["LRANGE", "l", "0", "-1"]),
        array(&["z", "a", "b", "c"])
    );
    assert_eq!(c.cmd(&["LPUSHX", "l", "y"]), integer(5));
    assert_eq!(c.cmd(&["RPUSHX", "l", "d", "e"]), integer(7));
    assert_eq!(c.cmd(&["LPUSHX", "missing", "a"]), integer(0));
    assert_eq!(c.cmd(&["RPUSHX", "missing", "a", "b"]), integer(0));
    assert_eq!(c.cmd(&["EXISTS", "missing"]), integer(0));

    assert_eq!(c.cmd(&["LPOP", "l"]), bulk("y"));
    assert_eq!(c.cmd(&["RPOP", "l"]), bulk("e"));
    assert_eq!(c.cmd(&["LPOP", "l", "2"]), array(&["z", "a"]));
    assert_eq!(c.cmd(&["RPOP", "l", "1"]), array(&["d"]));
    assert_eq!(c.cmd(&["LPOP", "l", "0"]), EMPTY);
    assert_eq!(c.cmd(&["RPOP", "l", "10"]), array(&["c", "b"]));
    assert_eq!(
        c.cmd(&["EXISTS", "l"]),
        integer(0),
        "emptied lists are deleted"
    );

    // A missing key: nil, or the null array as soon as a count is given (even 0).
    assert_eq!(c.cmd(&["LPOP", "l"]), NULL);
    assert_eq!(c.cmd(&["RPOP", "l", "2"]), NULL_ARRAY);
    assert_eq!(c.cmd(&["LPOP", "l", "0"]), NULL_ARRAY);
    let positive = "-ERR value is out of range, must be positive\r\n";
    assert_eq!(c.cmd(&["LPOP", "l", "-1"]), positive);
    assert_eq!(c.cmd(&["RPOP", "l", "abc"]), positive);
    assert_eq!(c.cmd(&["LPOP", "l", "1", "2"]), arity("lpop"));
    assert_eq!(c.cmd(&["RPOP"]), arity("rpop"));
    assert_eq!(c.cmd(&["LPUSH", "l"]), arity("lpush"));
    assert_eq!(c.cmd(&["RPUSHX", "l"]), arity("rpushx"));

    let binary = "\0\r\n\u{ff}";
    assert_eq!(c.cmd(&["RPUSH", "bin", binary, ""]), integer(2));
    assert_eq!(c.cmd(&["LRANGE", "bin", "0", "-1"]), array(&[binary, ""]));
}

#[test]
fn indexes_ranges_and_positions() {
    let server = TestServer::start();
    let mut c = server.raw();
    let letters = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"];
    let mut push = vec!["RPUSH", "l"];
    push.extend(letters);
    assert_eq!(c.cmd(&push), integer(10));
    assert_eq!(c.cmd(&["LLEN", "l"]), integer(10));
    assert_eq!(c.cmd(&["LLEN", "missing"]), integer(0));

    assert_eq!(c.cmd(&["LRANGE", "l", "-3", "-1"]), array(&["h", "i", "j"]));
    assert_eq!(c.cmd(&["LRANGE", "l", "-100", "1"]), array(&["a", "b"]));
    assert_eq!(c.cmd(&["LRANGE", "l", "8", "100"]), array(&["i", "j"]));
    assert_eq!(c.cmd(&["LRANGE", "l", "-100", "-50"]), EMPTY);
    assert_eq!(c.cmd(&["LRANGE", "l", "5", "2"]), EMPTY);
    assert_eq!(c.cmd(&["LRANGE", "l", "10", "20"]), EMPTY);
    assert_eq!(
        c.cmd(&["LRANGE", "l", "9223372036854775807", "-9223372036854775808"]),
        EMPTY
    );
    assert_eq!(c.cmd(&["LRANGE", "missing", "0", "-1"]), EMPTY);
    assert_eq!(
        c.cmd(&["LRANGE", "l", "0", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );

    assert_eq!(c.cmd(&["LINDEX", "l", "0"]), bulk("a"));
    assert_eq!(c.cmd(&["LINDEX", "l", "-1"]), bulk("j"));
    assert_eq!(c.cmd(&["LINDEX", "l", "-10"]), bulk("a"));
    assert_eq!(c.cmd(&["LINDEX", "l", "-11"]), NULL);
    assert_eq!(c.cmd(&["LINDEX", "l", "10"]), NULL);
    assert_eq!(
        c.cmd(&["LINDEX", "l", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    // Redis looks the key up before reading the index.
    assert_eq!(c.cmd(&["LINDEX", "missing", "x"]), NULL);

    assert_eq!(c.cmd(&["DEL", "l"]), integer(1));
    assert_eq!(
        c.cmd(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]),
        integer(8)
    );
    assert_eq!(c.cmd(&["LPOS", "l", "c"]), integer(2));
    assert_eq!(c.cmd(&["LPOS", "l", "c", "RANK", "2"]), integer(6));
    assert_eq!(c.cmd(&["LPOS", "l", "c", "RANK", "-1"]), integer(7));
    assert_eq!(c.cmd(&["LPOS", "l", "c", "RANK", "4"]), NULL);
    assert_eq!(c.cmd(&["LPOS", "l", "zz"]), NULL);
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "COUNT", "0"]),
        "*3\r\n:2\r\n:6\r\n:7\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "COUNT", "2"]),
        "*2\r\n:2\r\n:6\r\n"
    );
    assert_eq!(
        c.cmd(&["lpos", "l", "c", "count", "0", "rank", "-1"]),
        "*3\r\n:7\r\n:6\r\n:2\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "3"]),
        "*1\r\n:2\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "RANK", "-2", "COUNT", "0", "MAXLEN", "2"]),
        "*1\r\n:6\r\n"
    );
    assert_eq!(c.cmd(&["LPOS", "l", "zz", "COUNT", "0"]), EMPTY);
    assert_eq!(c.cmd(&["LPOS", "missing", "a"]), NULL);
    assert_eq!(c.cmd(&["LPOS", "missing", "a", "COUNT", "1"]), EMPTY);
    // A later option replaces an earlier one; Redis's arithmetic with the lowest RANK.
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "COUNT", "1", "COUNT", "2"]),
        "*2\r\n:2\r\n:6\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
        integer(7)
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "RANK", "0"]),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
         or use negative to start from the end of the list\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "missing", "c", "RANK", "0"]),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... \
         or use negative to start from the end of the list\r\n",
        "options are checked before the key"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "COUNT", "-1"]),
        "-ERR COUNT can't be negative\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "COUNT", "x"]),
        "-ERR COUNT can't be negative\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "MAXLEN", "-1"]),
        "-ERR MAXLEN can't be negative\r\n"
    );
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "RANK", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["LPOS", "l", "c", "FOO"]), "-ERR syntax error\r\n");
    assert_eq!(c.cmd(&["LPOS", "l", "c", "COUNT"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmd(&["LPOS", "l", "c", "RANK", "1", "2"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["LPOS", "l"]), arity("lpos"));
}

#[test]
fn lset_linsert_lrem_ltrim() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["RPUSH", "l", "a", "b", "c"]), integer(3));
    assert_eq!(c.cmd(&["LSET", "l", "-1", "z"]), OK);
    assert_eq!(c.cmd(&["LSET", "l", "0", "y"]), OK);
    assert_eq!(c.cmd(&["LRANGE", "l", "0", "-1"]), array(&["y", "b", "z"]));
    assert_eq!(
        c.cmd(&["LSET", "l", "3", "x"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["LSET", "l", "-4", "x"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["LSET", "missing", "0", "x"]),
        "-ERR no such key\r\n"
    );
    assert_eq!(
        c.cmd(&["LSET", "missing", "x", "x"]),
        "-ERR no such key\r\n",
        "the key is looked up before the index is read"
    );
    assert_eq!(
        c.cmd(&["LSET", "l", "x", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );

    assert_eq!(c.cmd(&["DEL", "l"]), integer(1));
    assert_eq!(c.cmd(&["RPUSH", "l", "a", "b", "c", "b", "a"]), integer(5));
    assert_eq!(c.cmd(&["LINSERT", "l", "BEFORE", "b", "X"]), integer(6));
    assert_eq!(c.cmd(&["linsert", "l", "after", "a", "Y"]), integer(7));
    assert_eq!(c.cmd(&["LINSERT", "l", "AFTER", "zz", "Y"]), integer(-1));
    assert_eq!(
        c.cmd(&["LINSERT", "missing", "BEFORE", "a", "b"]),
        integer(0)
    );
    assert_eq!(c.cmd(&["EXISTS", "missing"]), integer(0));
    assert_eq!(
        c.cmd(&["LINSERT", "l", "MIDDLE", "a", "Y"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["LRANGE", "l", "0", "-1"]),
        array(&["a", "Y", "X", "b", "c", "b", "a"])
    );

    assert_eq!(c.cmd(&["LREM", "l", "0", "b"]), integer(2));
    assert_eq!(c.cmd(&["LREM", "l", "-1", "a"]), integer(1));
    assert_eq!(c.cmd(&["LREM", "l", "1", "nope"]), integer(0));
    assert_eq!(
        c.cmd(&["LRANGE", "l", "0", "-1"]),
        array(&["a", "Y", "X", "c"])
    );
    assert_eq!(c.cmd(&["LREM", "missing", "1", "a"]), integer(0));
    assert_eq!(
        c.cmd(&["LREM", "l", "x", "a"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["RPUSH", "r", "a", "b", "a", "c", "a"]), integer(5));
    assert_eq!(c.cmd(&["LREM", "r", "2", "a"]), integer(2));
    assert_eq!(c.cmd(&["LRANGE", "r", "0", "-1"]), array(&["b", "c", "a"]));
    assert_eq!(c.cmd(&["LREM", "r", "-5", "a"]), integer(1));
    assert_eq!(c.cmd(&["LREM", "r", "0", "b"]), integer(1));
    assert_eq!(c.cmd(&["LREM", "r", "0", "c"]), integer(1));
    assert_eq!(c.cmd(&["EXISTS", "r"]), integer(0));

    assert_eq!(c.cmd(&["LTRIM", "l", "1", "-2"]), OK);
    assert_eq!(c.cmd(&["LRANGE", "l", "0", "-1"]), array(&["Y", "X"]));
    assert_eq!(c.cmd(&["LTRIM", "l", "-100", "100"]), OK);
    assert_eq!(c.cmd(&["LLEN", "l"]), integer(2));
    assert_eq!(c.cmd(&["LTRIM", "l", "5", "1"]), OK);
    assert_eq!(c.cmd(&["EXISTS", "l"]), integer(0));
    assert_eq!(c.cmd(&["LTRIM", "missing", "0", "1"]), OK);
    assert_eq!(
        c.cmd(&["LTRIM", "missing", "a", "1"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(c.cmd(&["LTRIM", "l", "0"]), arity("ltrim"));
    assert_eq!(c.cmd(&["LSET", "l", "0"]), arity("lset"));
    assert_eq!(c.cmd(&["LINSERT", "l", "BEFORE", "a"]), arity("linsert"));
    assert_eq!(c.cmd(&["LREM", "l", "0"]), arity("lrem"));
}

#[test]
fn lmove_and_rpoplpush() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["RPUSH", "src", "a", "b", "c"]), integer(3));
    assert_eq!(c.cmd(&["LMOVE", "src", "dst", "LEFT", "RIGHT"]), bulk("a"));
    assert_eq!(c.cmd(&["lmove", "src", "dst", "right", "left"]), bulk("c"));
    assert_eq!(c.cmd(&["LRANGE", "dst", "0", "-1"]), array(&["c", "a"]));
    assert_eq!(c.cmd(&["RPOPLPUSH", "dst", "dst"]), bulk("a"), "rotation");
    assert_eq!(c.cmd(&["LRANGE", "dst", "0", "-1"]), array(&["a", "c"]));
    assert_eq!(c.cmd(&["RPOPLPUSH", "src", "dst"]), bulk("b"));
    assert_eq!(
        c.cmd(&["EXISTS", "src"]),
        integer(0),
        "the emptied source is deleted"
    );
    assert_eq!(
        c.cmd(&["LRANGE", "dst", "0", "-1"]),
        array(&["b", "a", "c"])
    );
    assert_eq!(c.cmd(&["LMOVE", "src", "dst", "LEFT", "LEFT"]), NULL);
    assert_eq!(c.cmd(&["RPOPLPUSH", "src", "dst"]), NULL);
    assert_eq!(
        c.cmd(&["LMOVE", "src", "dst", "UP", "LEFT"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmd(&["LMOVE", "src", "dst", "LEFT", "DOWN"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmd(&["LMOVE", "src", "dst", "LEFT"]), arity("lmove"));
    assert_eq!(c.cmd(&["RPOPLPUSH", "src"]), arity("rpoplpush"));

    // A one-element list rotated onto itself keeps its key and TTL.
    assert_eq!(c.cmd(&["RPUSH", "one", "x"]), integer(1));
    assert_eq!(c.cmd(&["EXPIRE", "one", "100"]), integer(1));
    assert_eq!(c.cmd(&["LMOVE", "one", "one", "LEFT", "RIGHT"]), bulk("x"));
    assert!(ttl_kept(&mut c, "one", 100));
    assert_eq!(c.cmd(&["LRANGE", "one", "0", "-1"]), array(&["x"]));
}

#[test]
fn lmpop_pops_from_the_first_list_with_elements() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["RPUSH", "b", "1", "2", "3"]), integer(3));
    assert_eq!(
        c.cmd(&["LMPOP", "2", "a", "b", "LEFT"]),
        "*2\r\n$1\r\nb\r\n*1\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        c.cmd(&["lmpop", "2", "a", "b", "right", "count", "5"]),
        "*2\r\n$1\r\nb\r\n*2\r\n$1\r\n3\r\n$1\r\n2\r\n"
    );
    assert_eq!(c.cmd(&["EXISTS", "b"]), integer(0));
    assert_eq!(c.cmd(&["LMPOP", "2", "a", "b", "LEFT"]), NULL_ARRAY);
    assert_eq!(
        c.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "9223372036854775807"]),
        NULL_ARRAY
    );
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(c.cmd(&["LMPOP", "0", "a", "LEFT"]), numkeys);
    assert_eq!(c.cmd(&["LMPOP", "-1", "a", "LEFT"]), numkeys);
    assert_eq!(c.cmd(&["LMPOP", "x", "a", "LEFT"]), numkeys);
    assert_eq!(
        c.cmd(&["LMPOP", "99999999999999999999", "a", "LEFT"]),
        numkeys
    );
    let count = "-ERR count should be greater than 0\r\n";
    assert_eq!(c.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "0"]), count);
    assert_eq!(c.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "x"]), count);
    let syntax = "-ERR syntax error\r\n";
    assert_eq!(c.cmd(&["LMPOP", "2", "a", "LEFT"]), syntax);
    assert_eq!(c.cmd(&["LMPOP", "3", "a", "b", "LEFT"]), syntax);
    assert_eq!(c.cmd(&["LMPOP", "1", "a", "MIDDLE"]), syntax);
    assert_eq!(c.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT"]), syntax);
    assert_eq!(
        c.cmd(&["LMPOP", "1", "a", "LEFT", "COUNT", "1", "COUNT", "2"]),
        syntax
    );
    assert_eq!(c.cmd(&["LMPOP", "1", "a", "LEFT", "FOO"]), syntax);
    assert_eq!(c.cmd(&["LMPOP", "1", "a"]), arity("lmpop"));
}

#[test]
fn wrong_types_are_refused_and_change_nothing() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SET", "s", "x"]), OK);
    assert_eq!(c.cmd(&["RPUSH", "l", "a"]), integer(1));
    for command in [
        &["LPUSH", "s", "a"][..],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "1"],
        &["LINDEX", "s", "x"],
        &["LSET", "s", "x", "a"],
        &["LINSERT", "s", "BEFORE", "a", "b"],
        &["LREM", "s", "1", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LMOVE", "s", "l", "LEFT", "LEFT"],
        &["LMOVE", "l", "s", "LEFT", "LEFT"],
        &["RPOPLPUSH", "l", "s"],
        &["LMPOP", "2", "missing", "s", "LEFT"],
        &["BLPOP", "missing", "s", "0"],
        &["BRPOP", "s", "0"],
        &["BLMOVE", "s", "l", "LEFT", "LEFT", "0"],
        &["BLMOVE", "l", "s", "LEFT", "LEFT", "0"],
        &["BRPOPLPUSH", "l", "s", "0"],
        &["BLMPOP", "0", "1", "s", "LEFT"],
    ] {
        assert_eq!(c.cmd(command), WRONGTYPE, "{command:?}");
    }
    assert_eq!(c.cmd(&["GET", "s"]), bulk("x"));
    assert_eq!(c.cmd(&["LRANGE", "l", "0", "-1"]), array(&["a"]));
    // A missing source moves nothing, whatever the destination holds.
    assert_eq!(c.cmd(&["LMOVE", "missing", "s", "LEFT", "LEFT"]), NULL);
    assert_eq!(
        c.cmd(&["BLMOVE", "missing", "s", "LEFT", "LEFT", "0.01"]),
        NULL_ARRAY
    );
    // A list before the string is served.
    assert_eq!(
        c.cmd(&["LMPOP", "2", "l", "s", "LEFT"]),
        "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"
    );
}

#[test]
fn ttl_is_kept_by_list_writes_and_gone_with_the_list() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["RPUSH", "l", "a", "b", "c"]), integer(3));
    assert_eq!(c.cmd(&["EXPIRE", "l", "100"]), integer(1));
    for command in [
        &["LPUSH", "l", "x"][..],
        &["RPUSHX", "l", "y"],
        &["LPOP", "l"],
        &["LSET", "l", "0", "z"],
        &["LINSERT", "l", "AFTER", "z", "w"],
        &["LREM", "l", "1", "w"],
        &["LTRIM", "l", "0", "-2"],
        &["LMOVE", "l", "l", "LEFT", "RIGHT"],
    ] {
        c.cmd(command);
        assert!(ttl_kept(&mut c, "l", 100), "after {command:?}");
    }
    // A move's destination keeps its TTL; the source emptied by it is gone with its TTL.
    assert_eq!(c.cmd(&["RPUSH", "src", "m"]), integer(1));
    assert_eq!(c.cmd(&["EXPIRE", "src", "50"]), integer(1));
    assert_eq!(c.cmd(&["LMOVE", "src", "l", "LEFT", "LEFT"]), bulk("m"));
    assert!(ttl_kept(&mut c, "l", 100));
    assert_eq!(c.cmd(&["TTL", "src"]), integer(-2));
    assert_eq!(c.cmd(&["RPUSH", "src", "n"]), integer(1));
    assert_eq!(c.cmd(&["TTL", "src"]), integer(-1), "a new list has no TTL");
    // Popping the last element deletes the key and its TTL.
    assert_eq!(c.cmd(&["LPOP", "l", "100"]), array(&["m", "b", "c", "z"]));
    assert_eq!(c.cmd(&["TTL", "l"]), integer(-2));
}

#[test]
fn resp3_shapes() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert!(c.cmd(&["HELLO", "3"]).starts_with("%7\r\n"));
    assert_eq!(c.cmd(&["LPOP", "missing"]), "_\r\n");
    assert_eq!(c.cmd(&["LPOP", "missing", "2"]), "_\r\n");
    assert_eq!(c.cmd(&["LINDEX", "missing", "0"]), "_\r\n");
    assert_eq!(c.cmd(&["LPOS", "missing", "a"]), "_\r\n");
    assert_eq!(c.cmd(&["LMOVE", "missing", "d", "LEFT", "LEFT"]), "_\r\n");
    assert_eq!(c.cmd(&["LMPOP", "1", "missing", "LEFT"]), "_\r\n");
    assert_eq!(c.cmd(&["BLPOP", "missing", "0.01"]), "_\r\n");
    assert_eq!(
        c.cmd(&["BLMOVE", "missing", "d", "LEFT", "LEFT", "0.01"]),
        "_\r\n"
    );
    assert_eq!(c.cmd(&["BRPOPLPUSH", "missing", "d", "0.01"]), "_\r\n");
    assert_eq!(c.cmd(&["BLMPOP", "0.01", "1", "missing", "LEFT"]), "_\r\n");
    assert_eq!(c.cmd(&["RPUSH", "l", "a", "b"]), integer(2));
    // LMPOP answers an array, not a map, in RESP3 too.
    assert_eq!(
        c.cmd(&["LMPOP", "1", "l", "LEFT"]),
        "*2\r\n$1\r\nl\r\n*1\r\n$1\r\na\r\n"
    );
    assert_eq!(c.cmd(&["BLPOP", "l", "0"]), array(&["l", "b"]));
}

#[test]
fn command_info_reports_redis_key_positions() {
    let server = TestServer::start();
    let mut c = server.raw();
    let info = c.cmd(&["COMMAND", "INFO", "blpop", "lmove", "lmpop"]);
    assert!(info.contains("$5\r\nblpop\r\n:-3\r\n"), "{info}");
    assert!(info.contains(":1\r\n:-2\r\n:1\r\n"), "BLPOP's keys: {info}");
    assert!(info.contains("$5\r\nlmove\r\n:5\r\n"), "{info}");
    assert!(info.contains(":1\r\n:2\r\n:1\r\n"), "LMOVE's keys: {info}");
    assert!(info.contains("$5\r\nlmpop\r\n:-4\r\n"), "{info}");
}

#[test]
fn a_real_client_pushes_pops_and_blocks() {
    let server = TestServer::start();
    let mut connection = server.client();
    let length: i64 = connection.rpush("queue", &["one", "two", "three"]).unwrap();
    assert_eq!(length, 3);
    let all: Vec<String> = connection.lrange("queue", 0, -1).unwrap();
    assert_eq!(all, ["one", "two", "three"]);
    let first: Option<String> = connection.lpop("queue", None).unwrap();
    assert_eq!(first.as_deref(), Some("one"));
    let popped: Option<(String, String)> = connection.brpop("queue", 0.0).unwrap();
    assert_eq!(popped, Some(("queue".to_owned(), "three".to_owned())));
    let nothing: Option<(String, String)> = connection.blpop("empty", 0.05).unwrap();
    assert_eq!(nothing, None);
    let moved: Option<String> = connection
        .blmove(
            "queue",
            "done",
            redis::Direction::Left,
            redis::Direction::Right,
            1.0,
        )
        .unwrap();
    assert_eq!(moved.as_deref(), Some("two"));
    let position: Option<usize> = connection
        .lpos("done", "two", redis::LposOptions::default())
        .unwrap();
    assert_eq!(position, Some(0));
}

// ----- Blocking -----

/// Gives a request sent without waiting for its reply (a blocking one) time to reach the server
/// and start waiting.
fn settle() {
    std::thread::sleep(Duration::from_millis(150));
}

#[test]
fn blpop_is_woken_by_a_push_from_another_connection() {
    let server = TestServer::start();
    let mut blocked = server.raw();
    let mut pusher = server.raw();
    let started = Instant::now();
    blocked.send(&RawClient::encode(&[b"BLPOP", b"first", b"second", b"0"]));
    settle();
    assert_eq!(pusher.cmd(&["RPUSH", "second", "x", "y"]), integer(2));
    assert_eq!(blocked.reply(), array(&["second", "x"]));
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(pusher.cmd(&["LRANGE", "second", "0", "-1"]), array(&["y"]));

    // Already there: served at once, from the first key with elements.
    assert_eq!(pusher.cmd(&["RPUSH", "first", "a"]), integer(1));
    assert_eq!(
        blocked.cmd(&["BRPOP", "first", "second", "0"]),
        array(&["first", "a"])
    );
    assert_eq!(
        blocked.cmd(&["BRPOP", "first", "second", "0"]),
        array(&["second", "y"])
    );
    assert_eq!(pusher.cmd(&["EXISTS", "first", "second"]), integer(0));

    // A push that creates the list through LMOVE's destination wakes too, and so does LPUSHX
    // onto a list that exists again by then.
    blocked.send(&RawClient::encode(&[b"BRPOP", b"target", b"5"]));
    settle();
    assert_eq!(pusher.cmd(&["RPUSH", "from", "m"]), integer(1));
    assert_eq!(
        pusher.cmd(&["LMOVE", "from", "target", "LEFT", "LEFT"]),
        bulk("m")
    );
    assert_eq!(blocked.reply(), array(&["target", "m"]));

    // Two clients wait on one key and one element arrives: one is served, the other times out.
    let mut other = server.raw();
    blocked.send(&RawClient::encode(&[b"BLPOP", b"one", b"1"]));
    other.send(&RawClient::encode(&[b"BLPOP", b"one", b"1"]));
    settle();
    assert_eq!(pusher.cmd(&["LPUSH", "one", "only"]), integer(1));
    let mut replies = [blocked.reply(), other.reply()];
    replies.sort();
    assert_eq!(replies, [NULL_ARRAY.to_owned(), array(&["one", "only"])]);
    assert_eq!(pusher.cmd(&["EXISTS", "one"]), integer(0));
}

#[test]
fn blocking_pops_time_out_with_the_null_array() {
    let server = TestServer::start();
    let mut c = server.raw();
    for (command, timeout) in [
        (&["BLPOP", "nothing", "0.4"][..], 400),
        (&["BRPOP", "nothing", "else", "0.3"], 300),
        (&["BLMOVE", "nothing", "dst", "LEFT", "RIGHT", "0.2"], 200),
        (&["BRPOPLPUSH", "nothing", "dst", "0.2"], 200),
        (
            &[
                "BLMPOP", "0.25", "2", "nothing", "else", "LEFT", "COUNT", "3",
            ],
            250,
        ),
        (&["BLPOP", "nothing", "1e-5"], 1),
    ] {
        let started = Instant::now();
        assert_eq!(c.cmd(command), NULL_ARRAY, "{command:?}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(timeout)
                && waited < Duration::from_millis(timeout + 2000),
            "{command:?} answered after {waited:?}"
        );
    }
    assert_eq!(c.cmd(&["EXISTS", "dst"]), integer(0));
}

#[test]
fn blmove_brpoplpush_and_blmpop_wait_for_their_source() {
    let server = TestServer::start();
    let mut blocked = server.raw();
    let mut pusher = server.raw();
    blocked.send(&RawClient::encode(&[
        b"BLMOVE", b"src", b"dst", b"RIGHT", b"LEFT", b"0",
    ]));
    settle();
    // A push to the destination does not serve it.
    assert_eq!(pusher.cmd(&["RPUSH", "dst", "old"]), integer(1));
    settle();
    assert_eq!(pusher.cmd(&["RPUSH", "src", "a", "b"]), integer(2));
    assert_eq!(blocked.reply(), bulk("b"));
    assert_eq!(
        pusher.cmd(&["LRANGE", "dst", "0", "-1"]),
        array(&["b", "old"])
    );
    assert_eq!(pusher.cmd(&["LRANGE", "src", "0", "-1"]), array(&["a"]));

    // Chained: BRPOPLPUSH waits on the list BLMOVE feeds.
    assert_eq!(pusher.cmd(&["DEL", "src", "dst"]), integer(2));
    let mut second = server.raw();
    second.send(&RawClient::encode(&[b"BRPOPLPUSH", b"dst", b"end", b"0"]));
    blocked.send(&RawClient::encode(&[
        b"BLMOVE", b"src", b"dst", b"LEFT", b"LEFT", b"0",
    ]));
    settle();
    assert_eq!(pusher.cmd(&["LPUSH", "src", "z"]), integer(1));
    assert_eq!(blocked.reply(), bulk("z"));
    assert_eq!(second.reply(), bulk("z"));
    assert_eq!(pusher.cmd(&["LRANGE", "end", "0", "-1"]), array(&["z"]));
    assert_eq!(pusher.cmd(&["EXISTS", "src", "dst"]), integer(0));

    blocked.send(&RawClient::encode(&[
        b"BLMPOP", b"0", b"2", b"m1", b"m2", b"RIGHT", b"COUNT", b"2",
    ]));
    settle();
    assert_eq!(pusher.cmd(&["RPUSH", "m2", "a", "b", "c"]), integer(3));
    assert_eq!(
        blocked.reply(),
        "*2\r\n$2\r\nm2\r\n*2\r\n$1\r\nc\r\n$1\r\nb\r\n"
    );
}

#[test]
fn blocking_arguments_are_checked_like_redis() {
    let server = TestServer::start();
    let mut c = server.raw();
    let not_float = "-ERR timeout is not a float or out of range\r\n";
    let negative = "-ERR timeout is negative\r\n";
    for (command, reply) in [
        (&["BLPOP", "k", "x"][..], not_float),
        (&["BLPOP", "k", "nan"], not_float),
        (&["BLPOP", "k", " 1"], not_float),
        (&["BLPOP", "k", ""], not_float),
        (&["BRPOP", "k", "-1"], negative),
        (&["BRPOP", "k", "inf"], negative),
        (&["BRPOP", "k", "1e30"], negative),
        (&["BRPOP", "k", "9223372036854776"], negative),
        (
            &["BLMOVE", "a", "b", "UP", "LEFT", "x"],
            "-ERR syntax error\r\n",
        ),
        (&["BLMOVE", "a", "b", "LEFT", "LEFT", "x"], not_float),
        (&["BRPOPLPUSH", "a", "b", "-0.5"], negative),
        // BLMPOP reads the timeout after everything else.
        (
            &["BLMPOP", "x", "0", "k", "LEFT"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            &["BLMPOP", "x", "1", "k", "MIDDLE"],
            "-ERR syntax error\r\n",
        ),
        (
            &["BLMPOP", "-1", "1", "k", "LEFT", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (&["BLMPOP", "x", "2", "k", "LEFT"], "-ERR syntax error\r\n"),
        (&["BLMPOP", "x", "1", "k", "LEFT"], not_float),
        (&["BLMPOP", "-1", "1", "k", "LEFT"], negative),
        (&["BLPOP", "k"], &arity("blpop")),
        (&["BLMOVE", "a", "b", "LEFT", "LEFT"], &arity("blmove")),
        (&["BRPOPLPUSH", "a", "b"], &arity("brpoplpush")),
        (&["BLMPOP", "0", "1", "k"], &arity("blmpop")),
    ] {
        assert_eq!(c.cmd(command), reply, "{command:?}");
    }
}

#[test]
fn blocking_commands_in_a_pipeline_wait_in_turn() {
    let server = TestServer::start();
    let mut c = server.raw();
    let mut pusher = server.raw();
    let mut pipeline = Vec::new();
    for command in [
        &[&b"BLPOP"[..], b"p", b"0.2"][..],
        &[b"PING"],
        &[b"BLPOP", b"q", b"0"],
        &[b"RPUSH", b"r", b"after"],
    ] {
        pipeline.extend(RawClient::encode(command));
    }
    let started = Instant::now();
    c.send(&pipeline);
    std::thread::sleep(Duration::from_millis(400));
    // The pipeline is stuck on BLPOP q: what follows it has not run.
    assert_eq!(pusher.cmd(&["EXISTS", "r"]), integer(0));
    assert_eq!(pusher.cmd(&["RPUSH", "q", "x"]), integer(1));
    assert_eq!(c.reply(), NULL_ARRAY);
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(c.reply(), "+PONG\r\n");
    assert_eq!(c.reply(), array(&["q", "x"]));
    assert_eq!(c.reply(), integer(1));
    assert_eq!(c.cmd(&["LRANGE", "r", "0", "-1"]), array(&["after"]));
}

#[test]
fn a_client_that_leaves_while_blocked_takes_nothing() {
    let server = TestServer::start();
    let mut c = server.raw();
    let clients = |c: &mut RawClient| {
        let info = c.cmd(&["INFO", "clients"]);
        info.lines()
            .find_map(|line| line.strip_prefix("connected_clients:"))
            .map(|count| count.trim().to_owned())
            .unwrap_or_default()
    };
    {
        let mut blocked = server.raw();
        blocked.send(&RawClient::encode(&[b"BLPOP", b"gone", b"0"]));
        let mut also = server.raw();
        also.send(&RawClient::encode(&[
            b"BLMOVE", b"gone", b"dst", b"LEFT", b"LEFT", b"0",
        ]));
        settle();
        assert_eq!(clients(&mut c), "3");
    }
    // Both blocked connections were closed: their tasks end without waiting for a push.
    let deadline = Instant::now() + Duration::from_secs(5);
    while clients(&mut c) != "1" {
        assert!(
            Instant::now() < deadline,
            "blocked clients that left are still connected"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.cmd(&["RPUSH", "gone", "kept"]), integer(1));
    settle();
    assert_eq!(c.cmd(&["LRANGE", "gone", "0", "-1"]), array(&["kept"]));
    assert_eq!(c.cmd(&["EXISTS", "dst"]), integer(0));

    // A client that closes its side right after sending: what can be served at once is
    // answered, then a command that would wait ends the connection (as Redis does).
    let mut half = std::net::TcpStream::connect(server.addr).expect("connect");
    let mut requests = RawClient::encode(&[b"BLPOP", b"gone", b"0"]);
    requests.extend(RawClient::encode(&[b"BLPOP", b"gone", b"0"]));
    half.write_all(&requests).expect("send");
    half.shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    half.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = String::new();
    half.read_to_string(&mut answer).expect("read until closed");
    assert_eq!(answer, array(&["gone", "kept"]));
    assert_eq!(c.cmd(&["RPUSH", "gone", "again"]), integer(1));
    settle();
    assert_eq!(c.cmd(&["LRANGE", "gone", "0", "-1"]), array(&["again"]));
}

// ----- Cluster -----

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

/// The cluster tests run one at a time (each runs 3 processes on a small machine).
static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A connection to member `ordinal` that waits `patience` for a reply (blocking commands).
async fn patient_connection(
    cluster: &TestCluster,
    ordinal: usize,
    patience: Duration,
) -> redis::aio::MultiplexedConnection {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Duration::from_secs(5))
        .set_response_timeout(patience);
    cluster
        .redis_client(ordinal)
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_serves_lists_through_every_member_and_wakes_blocked_clients() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().await;
    within(Duration::from_secs(240), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let key = "cluster-list";
        let partition = partition_of_key(SETTINGS.partitions, key.as_bytes());
        let leader = cluster.leader_of(partition).await;
        let followers: Vec<usize> = (0..3).filter(|member| *member != leader).collect();

        // A BLPOP forwarded by a follower that outlasts the forwarding timeout (10 s): it is
        // served at the end of the test.
        let late_key = "{late}list";
        let late_partition = partition_of_key(SETTINGS.partitions, late_key.as_bytes());
        let late_leader = cluster.leader_of(late_partition).await;
        let late_member = (late_leader + 1) % 3;
        let mut late = patient_connection(&cluster, late_member, Duration::from_secs(60)).await;
        let late_started = Instant::now();
        let late_pop = tokio::spawn(async move {
            let popped: redis::RedisResult<Option<(String, String)>> = redis::cmd("BLPOP")
                .arg(late_key)
                .arg(0)
                .query_async(&mut late)
                .await;
            (popped, late_started.elapsed())
        });

        // Written through one member, read through the others (forwarded to the leader).
        let mut writer = cluster.redis(followers[0]).await;
        let length: i64 = query_retrying(
            &mut writer,
            redis::cmd("RPUSH").arg(key).arg("a").arg("b").arg("c"),
        )
        .await
        .expect("RPUSH");
        assert_eq!(length, 3);
        for reader in [leader, followers[1]] {
            let mut connection = cluster.redis(reader).await;
            let all: Vec<String> = query_retrying(
                &mut connection,
                redis::cmd("LRANGE").arg(key).arg(0).arg(-1),
            )
            .await
            .expect("LRANGE");
            assert_eq!(all, ["a", "b", "c"], "LRANGE via member {reader}");
            let position: Option<i64> =
                query_retrying(&mut connection, redis::cmd("LPOS").arg(key).arg("c"))
                    .await
                    .expect("LPOS");
            assert_eq!(position, Some(2));
        }
        let popped: Vec<String> = query_retrying(
            &mut cluster.redis(followers[1]).await,
            redis::cmd("LPOP").arg(key).arg(2),
        )
        .await
        .expect("LPOP");
        assert_eq!(popped, ["a", "b"]);

        // Keys of several slots are refused; hash tags keep them together.
        let crossslot = query_retrying::<()>(
            &mut writer,
            redis::cmd("LMOVE")
                .arg("left-list")
                .arg("right-list")
                .arg("LEFT")
                .arg("LEFT"),
        )
        .await
        .expect_err("LMOVE across slots");
        assert_eq!(crossslot.code(), Some("CROSSSLOT"), "{crossslot}");
        let crossslot = query_retrying::<()>(
            &mut writer,
            redis::cmd("BLPOP")
                .arg("left-list")
                .arg("right-list")
                .arg(0),
        )
        .await
        .expect_err("BLPOP across slots");
        assert_eq!(crossslot.code(), Some("CROSSSLOT"), "{crossslot}");
        let _: i64 = query_retrying(&mut writer, redis::cmd("RPUSH").arg("{t}a").arg("x"))
            .await
            .expect("RPUSH {t}a");
        let moved: Option<String> = query_retrying(
            &mut writer,
            redis::cmd("LMOVE")
                .arg("{t}a")
                .arg("{t}b")
                .arg("LEFT")
                .arg("RIGHT"),
        )
        .await
        .expect("LMOVE {t}a {t}b");
        assert_eq!(moved.as_deref(), Some("x"));
        let timed_out: Option<(String, String)> = query_retrying(
            &mut writer,
            redis::cmd("BLPOP").arg("{t}a").arg("{t}c").arg(0.3),
        )
        .await
        .expect("BLPOP {t}a {t}c");
        assert_eq!(timed_out, None);

        // A BLPOP through each member, woken by an RPUSH sent to another member.
        for (blocked_member, pushing_member) in [
            (followers[0], followers[1]),
            (leader, followers[0]),
            (followers[1], leader),
        ] {
            let wake_key = format!("wake-{blocked_member}-{pushing_member}");
            let mut blocked = patient_connection(&cluster, blocked_member, WAIT).await;
            let started = Instant::now();
            let blpop = {
                let wake_key = wake_key.clone();
                tokio::spawn(async move {
                    let popped: redis::RedisResult<Option<(String, String)>> = redis::cmd("BLPOP")
                        .arg(&wake_key)
                        .arg(20)
                        .query_async(&mut blocked)
                        .await;
                    popped
                })
            };
            tokio::time::sleep(Duration::from_millis(500)).await;
            assert!(!blpop.is_finished(), "BLPOP did not wait");
            let mut pusher = cluster.redis(pushing_member).await;
            let _: i64 = query_retrying(&mut pusher, redis::cmd("RPUSH").arg(&wake_key).arg("v"))
                .await
                .expect("RPUSH");
            let popped = blpop.await.expect("BLPOP task").expect("BLPOP");
            assert_eq!(popped, Some((wake_key.clone(), "v".to_owned())));
            assert!(started.elapsed() < Duration::from_secs(10), "woken late");
            let left: i64 = query_retrying(&mut pusher, redis::cmd("EXISTS").arg(&wake_key))
                .await
                .expect("EXISTS");
            assert_eq!(left, 0, "the element was popped once");
        }

        // The forwarded BLPOP still waits after the forwarding timeout, and is then served.
        let forwarding_timeout = Duration::from_secs(11);
        if let Some(rest) = forwarding_timeout.checked_sub(late_started.elapsed()) {
            tokio::time::sleep(rest).await;
        }
        assert!(!late_pop.is_finished(), "the forwarded BLPOP gave up");
        let mut pusher = cluster.redis(late_leader).await;
        let _: i64 = query_retrying(&mut pusher, redis::cmd("RPUSH").arg(late_key).arg("late"))
            .await
            .expect("RPUSH late");
        let (popped, waited) = late_pop.await.expect("late BLPOP task");
        assert_eq!(
            popped.expect("late BLPOP"),
            Some((late_key.to_owned(), "late".to_owned()))
        );
        assert!(waited >= forwarding_timeout);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_pushes_survive_a_killed_leader_exactly_once_and_in_order() {
    let _turn = ONE_CLUSTER_AT_A_TIME.lock().await;
    within(Duration::from_secs(240), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let key = "failover-list";
        let partition = partition_of_key(SETTINGS.partitions, key.as_bytes());
        let leader = cluster.leader_of(partition).await;
        let survivors: Vec<usize> = (0..3).filter(|member| *member != leader).collect();
        let mut connections = Vec::new();
        for &survivor in &survivors {
            connections.push(cluster.redis(survivor).await);
        }

        const PUSHES: usize = 300;
        const KILL_AT: usize = 100;
        let mut acknowledged = Vec::new();
        let mut unknown = Vec::new();
        let mut refused = 0;
        let mut attempts = 0usize;
        let deadline = Instant::now() + WAIT * 2;
        for index in 0..PUSHES {
            if index == KILL_AT {
                cluster.kill(leader);
            }
            let element = format!("e{index:04}");
            loop {
                attempts += 1;
                let connection = &mut connections[attempts % 2];
                let pushed: redis::RedisResult<i64> = redis::cmd("RPUSH")
                    .arg(key)
                    .arg(&element)
                    .query_async(connection)
                    .await;
                match pushed {
                    Ok(_) => {
                        acknowledged.push(index);
                        break;
                    }
                    Err(error) => match classify(&error) {
                        // Not applied: the same element again (it cannot be there twice).
                        Failure::NotApplied(_) => refused += 1,
                        // May or may not be there: not retried, so it is there at most once.
                        Failure::Unknown(_) => {
                            unknown.push(index);
                            break;
                        }
                        Failure::Other(text) => panic!("RPUSH {element}: {text}"),
                    },
                }
                assert!(Instant::now() < deadline, "pushes did not resume");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        println!(
            "{} pushes acknowledged, {} of unknown outcome ({unknown:?}), {refused} refused and \
             retried",
            acknowledged.len(),
            unknown.len()
        );
        assert!(
            acknowledged
                .iter()
                .filter(|&&index| index >= KILL_AT)
                .count()
                > 100,
            "pushes resumed after the kill"
        );

        for (connection, survivor) in connections.iter_mut().zip(&survivors) {
            let list: Vec<String> =
                query_retrying(connection, redis::cmd("LRANGE").arg(key).arg(0).arg(-1))
                    .await
                    .expect("LRANGE");
            let indexes: Vec<usize> = list
                .iter()
                .map(|element| element[1..].parse().expect("an element pushed"))
                .collect();
            assert!(
                indexes.windows(2).all(|pair| pair[0] < pair[1]),
                "via member {survivor}: every element once, in push order: {list:?}"
            );
            for index in &acknowledged {
                assert!(
                    indexes.binary_search(index).is_ok(),
                    "via member {survivor}: acknowledged e{index:04} is missing"
                );
            }
            for index in &indexes {
                assert!(
                    acknowledged.binary_search(index).is_ok() || unknown.contains(index),
                    "via member {survivor}: e{index:04} was never acknowledged nor in doubt"
                );
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_leaves_while_blocked_through_a_follower_takes_nothing() {
    use tokio::io::AsyncWriteExt;

    let _turn = ONE_CLUSTER_AT_A_TIME.lock().await;
    within(Duration::from_secs(240), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let key = "left-while-blocked";
        let partition = partition_of_key(SETTINGS.partitions, key.as_bytes());
        let leader = cluster.leader_of(partition).await;
        let follower = (leader + 1) % 3;
        // Through the follower (forwarded, so blocked at the leader), then gone.
        let mut gone = tokio::net::TcpStream::connect(cluster.redis_address(follower))
            .await
            .expect("connect");
        gone.write_all(&RawClient::encode(&[b"BLPOP", key.as_bytes(), b"0"]))
            .await
            .expect("send BLPOP");
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(gone);
        tokio::time::sleep(Duration::from_millis(500)).await;

        let mut connection = cluster.redis(leader).await;
        let _: i64 = query_retrying(&mut connection, redis::cmd("RPUSH").arg(key).arg("kept"))
            .await
            .expect("RPUSH");
        tokio::time::sleep(Duration::from_millis(500)).await;
        let all: Vec<String> = query_retrying(
            &mut connection,
            redis::cmd("LRANGE").arg(key).arg(0).arg(-1),
        )
        .await
        .expect("LRANGE");
        assert_eq!(all, ["kept"], "nothing was popped for the client that left");
    })
    .await;
}
