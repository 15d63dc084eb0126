//! Sorted-set commands over TCP, checked against Redis 7.0's exact replies (the case tables were
//! recorded from redis-server 7.0.15), plus a 3-member cluster: a leaderboard written through one
//! member and read through the others, CROSSSLOT, and ZINCRBY traffic across a leader crash.

mod cluster_support;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use cluster_support::{
    Failure, TestCluster, WAIT, classify, key_slot, partition_of_key, query_retrying, within,
};
use common::{RawClient, TestServer};
use redis::Commands;
use ringcache_admin::ClusterSettings;

/// Sends each command (arguments split at spaces) and compares the raw reply; an empty expected
/// reply (HELLO) is not compared.
fn run_cases(client: &mut RawClient, cases: &[(&str, &str)]) {
    for (command, expected) in cases {
        let args: Vec<&str> = command.split(' ').collect();
        let reply = client.cmd(&args);
        if !expected.is_empty() {
            assert_eq!(reply, *expected, "{command}");
        }
    }
}

fn run_on_fresh_server(cases: &[(&str, &str)]) {
    let server = TestServer::start();
    run_cases(&mut server.raw(), cases);
}

/// zadd: replies recorded from redis-server 7.0.15.
const ZADD: &[(&str, &str)] = &[
    (
        "ZADD z",
        "-ERR wrong number of arguments for 'zadd' command\r\n",
    ),
    (
        "ZADD z 1",
        "-ERR wrong number of arguments for 'zadd' command\r\n",
    ),
    (
        "ZINCRBY z 1",
        "-ERR wrong number of arguments for 'zincrby' command\r\n",
    ),
    ("ZADD z 1 a 2", "-ERR syntax error\r\n"),
    (
        "ZADD z NX XX 1 a",
        "-ERR XX and NX options at the same time are not compatible\r\n",
    ),
    (
        "ZADD z GT LT 1 a",
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
    ),
    (
        "ZADD z NX GT 1 a",
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
    ),
    (
        "ZADD z NX LT 1 a",
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
    ),
    (
        "ZADD z INCR 1 a 2 b",
        "-ERR INCR option supports a single increment-element pair\r\n",
    ),
    ("ZADD z abc a", "-ERR value is not a valid float\r\n"),
    ("ZADD z nan a", "-ERR value is not a valid float\r\n"),
    ("ZADD z 1e400 a", "-ERR value is not a valid float\r\n"),
    ("ZADD z foo 1 a", "-ERR syntax error\r\n"),
    ("ZADD z NX XX 1", "-ERR syntax error\r\n"),
    ("ZADD z 1 a 2 b 3 c", ":3\r\n"),
    ("ZADD z 1 a 2 b 3 c", ":0\r\n"),
    ("ZADD z XX 5 a 6 d", ":0\r\n"),
    ("ZADD z XX CH 5 a 6 d", ":0\r\n"),
    ("ZADD z GT CH 1 a 9 b 7 d", ":2\r\n"),
    ("ZADD z LT CH 1 a 9 b 7 d", ":1\r\n"),
    ("ZADD z GT 1 new", ":1\r\n"),
    ("ZADD z nx ch 1 new 2 new2", ":1\r\n"),
    ("ZADD z CH 1 new 2 new2 3 new3", ":1\r\n"),
    ("ZADD z INCR inf a", "$3\r\ninf\r\n"),
    (
        "ZADD z INCR -inf a",
        "-ERR resulting score is not a number (NaN)\r\n",
    ),
    ("ZADD z XX INCR 1 nope", "$-1\r\n"),
    ("ZADD z NX INCR 1 a", "$-1\r\n"),
    ("ZADD z GT INCR -1 b", "$-1\r\n"),
    ("ZADD z GT INCR 1 b", "$2\r\n10\r\n"),
    ("ZADD z INCR -0 negzero", "$2\r\n-0\r\n"),
    ("ZADD z INCR 0 negzero", "$1\r\n0\r\n"),
    ("ZADD z CH INCR 1.5 b", "$4\r\n11.5\r\n"),
    ("ZINCRBY z nan b", "-ERR value is not a valid float\r\n"),
    ("ZINCRBY z abc b", "-ERR value is not a valid float\r\n"),
    ("ZINCRBY z 1 newm", "$1\r\n1\r\n"),
    ("ZINCRBY z 0.1 newm", "$18\r\n1.1000000000000001\r\n"),
    (
        "ZINCRBY z -inf a",
        "-ERR resulting score is not a number (NaN)\r\n",
    ),
    ("ZINCRBY z 0x10 hex", "$2\r\n16\r\n"),
    ("ZADD z -0 m 1e-7 tiny 3e20 huge -2.5 neg", ":4\r\n"),
    ("ZADD z +inf i -infinity k", ":2\r\n"),
    (
        "ZRANGE z 0 -1 WITHSCORES",
        "*32\r\n$1\r\nk\r\n$4\r\n-inf\r\n$3\r\nneg\r\n$4\r\n-2.5\r\n$1\r\nm\r\n$1\r\n0\r\n$7\r\nnegzero\r\n$1\r\n0\r\n$4\r\ntiny\r\n$22\r\n9.9999999999999995e-08\r\n$3\r\nnew\r\n$1\r\n1\r\n$4\r\nnewm\r\n$18\r\n1.1000000000000001\r\n$4\r\nnew2\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$4\r\nnew3\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n7\r\n$1\r\nb\r\n$4\r\n11.5\r\n$3\r\nhex\r\n$2\r\n16\r\n$4\r\nhuge\r\n$5\r\n3e+20\r\n$1\r\na\r\n$3\r\ninf\r\n$1\r\ni\r\n$3\r\ninf\r\n",
    ),
    ("ZADD xx XX 1 a", ":0\r\n"),
    ("ZADD xx XX INCR 1 a", "$-1\r\n"),
    ("EXISTS xx", ":0\r\n"),
    ("SET s x", "+OK\r\n"),
    (
        "ZADD s 1 a",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZINCRBY s 1 a",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZADD s XX 1 a",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
];

/// reads: replies recorded from redis-server 7.0.15.
const READS: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e", ":5\r\n"),
    ("ZADD lex 0 a 0 b 0 c 0 d 0 e", ":5\r\n"),
    ("SET s x", "+OK\r\n"),
    ("ZCARD z", ":5\r\n"),
    ("ZCARD nokey", ":0\r\n"),
    (
        "ZCARD s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZCARD z extra",
        "-ERR wrong number of arguments for 'zcard' command\r\n",
    ),
    ("ZSCORE z a", "$1\r\n1\r\n"),
    ("ZSCORE z nope", "$-1\r\n"),
    ("ZSCORE nokey a", "$-1\r\n"),
    (
        "ZSCORE s a",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZSCORE z",
        "-ERR wrong number of arguments for 'zscore' command\r\n",
    ),
    ("ZMSCORE z a nope e", "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n5\r\n"),
    ("ZMSCORE nokey a b", "*2\r\n$-1\r\n$-1\r\n"),
    (
        "ZMSCORE s a",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZMSCORE z",
        "-ERR wrong number of arguments for 'zmscore' command\r\n",
    ),
    ("ZRANK z c", ":2\r\n"),
    ("ZRANK z nope", "$-1\r\n"),
    ("ZRANK nokey a", "$-1\r\n"),
    (
        "ZRANK s a",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZRANK z c WITHSCORE",
        "-ERR wrong number of arguments for 'zrank' command\r\n",
    ),
    ("ZREVRANK z c", ":2\r\n"),
    ("ZREVRANK z a", ":4\r\n"),
    ("ZREVRANK z nope", "$-1\r\n"),
    ("ZCOUNT z (1 +inf", ":4\r\n"),
    ("ZCOUNT z -inf (3", ":2\r\n"),
    ("ZCOUNT z 4 2", ":0\r\n"),
    ("ZCOUNT z a b", "-ERR min or max is not a float\r\n"),
    ("ZCOUNT z 1 b", "-ERR min or max is not a float\r\n"),
    ("ZCOUNT nokey 0 1", ":0\r\n"),
    (
        "ZCOUNT s 0 1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZLEXCOUNT lex - +", ":5\r\n"),
    ("ZLEXCOUNT lex [b (d", ":2\r\n"),
    ("ZLEXCOUNT lex (a [a", ":0\r\n"),
    ("ZLEXCOUNT lex + -", ":0\r\n"),
    (
        "ZLEXCOUNT lex a b",
        "-ERR min or max not valid string range item\r\n",
    ),
    (
        "ZLEXCOUNT lex [a c",
        "-ERR min or max not valid string range item\r\n",
    ),
    ("ZLEXCOUNT nokey - +", ":0\r\n"),
    (
        "ZLEXCOUNT s - +",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZREM z a zz a", ":1\r\n"),
    ("ZREM z zz", ":0\r\n"),
    ("ZREM nokey a", ":0\r\n"),
    (
        "ZREM s a",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZREM z",
        "-ERR wrong number of arguments for 'zrem' command\r\n",
    ),
    ("ZREM z b c d e", ":4\r\n"),
    ("EXISTS z", ":0\r\n"),
];

/// range: replies recorded from redis-server 7.0.15.
const RANGE: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 1.5 x", ":5\r\n"),
    ("ZADD lex 0 a 0 b 0 c 0 d 0 e", ":5\r\n"),
    ("SET s x", "+OK\r\n"),
    (
        "ZRANGE z 0 -1",
        "*5\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
    ),
    (
        "ZRANGE z 0 -1 WITHSCORES",
        "*10\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nx\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    ("ZRANGE z -2 -1", "*2\r\n$1\r\nc\r\n$1\r\nd\r\n"),
    (
        "ZRANGE z -100 100",
        "*5\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
    ),
    ("ZRANGE z 3 1", "*0\r\n"),
    ("ZRANGE z 5 10", "*0\r\n"),
    ("ZRANGE z 0 0 withscores", "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
    (
        "ZRANGE z 0 -1 REV WITHSCORES",
        "*10\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nx\r\n$3\r\n1.5\r\n$1\r\na\r\n$1\r\n1\r\n",
    ),
    ("ZRANGE z 1 2 REV", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
    (
        "ZRANGE z 0 -1 LIMIT 0 1",
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
    ),
    (
        "ZRANGE z 0 -1 LIMIT 1 -1",
        "*5\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
    ),
    (
        "ZRANGE z - + BYLEX WITHSCORES",
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    ),
    ("ZRANGE z 0 -1 REV REV", "-ERR syntax error\r\n"),
    ("ZRANGE z 0 -1 BYSCORE BYLEX", "-ERR syntax error\r\n"),
    ("ZRANGE z 0 -1 FOO", "-ERR syntax error\r\n"),
    (
        "ZRANGE z a b",
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        "ZRANGE z a b LIMIT x 1",
        "-ERR value is not an integer or out of range\r\n",
    ),
    ("ZRANGE z 0 -1 LIMIT", "-ERR syntax error\r\n"),
    ("ZRANGE z 0 -1 BYSCORE LIMIT 1", "-ERR syntax error\r\n"),
    (
        "ZRANGE z (1 (4 BYSCORE",
        "*3\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nc\r\n",
    ),
    (
        "ZRANGE z (1 4 BYSCORE WITHSCORES",
        "*8\r\n$1\r\nx\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    ("ZRANGE z x y BYSCORE", "-ERR min or max is not a float\r\n"),
    (
        "ZRANGE z x y BYLEX",
        "-ERR min or max not valid string range item\r\n",
    ),
    (
        "ZRANGE z 4 1 BYSCORE REV",
        "*5\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\na\r\n",
    ),
    (
        "ZRANGE z 4 1 BYSCORE REV LIMIT 1 2 WITHSCORES",
        "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    (
        "ZRANGE z -inf +inf BYSCORE LIMIT 2 -5 WITHSCORES",
        "*6\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    ("ZRANGE z -inf +inf BYSCORE LIMIT 10 1", "*0\r\n"),
    ("ZRANGE z -inf +inf BYSCORE LIMIT -1 1", "*0\r\n"),
    (
        "ZRANGE z 1e999 -1e999 BYSCORE REV",
        "*5\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\na\r\n",
    ),
    (
        "ZRANGE lex [b [d BYLEX",
        "*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n",
    ),
    (
        "ZRANGE lex [d [b BYLEX REV",
        "*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n",
    ),
    (
        "ZRANGE lex + - BYLEX REV LIMIT 1 2",
        "*2\r\n$1\r\nd\r\n$1\r\nc\r\n",
    ),
    (
        "ZRANGE lex - + BYLEX LIMIT 1 -1",
        "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n",
    ),
    ("ZRANGE lex (a (b BYLEX", "*0\r\n"),
    ("ZRANGE nokey 0 -1", "*0\r\n"),
    (
        "ZRANGE s 0 -1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZRANGE s x y BYSCORE", "-ERR min or max is not a float\r\n"),
    (
        "ZRANGEBYSCORE z 1 3",
        "*4\r\n$1\r\na\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nc\r\n",
    ),
    ("ZRANGEBYSCORE z 1 3 BYSCORE", "-ERR syntax error\r\n"),
    ("ZRANGEBYSCORE z 1 3 REV", "-ERR syntax error\r\n"),
    (
        "ZRANGEBYSCORE z 1 3 WITHSCORES LIMIT 1 1",
        "*2\r\n$1\r\nx\r\n$3\r\n1.5\r\n",
    ),
    ("ZRANGEBYSCORE z 1 3 LIMIT 0 0", "*0\r\n"),
    ("ZRANGEBYSCORE z 1x 3", "-ERR min or max is not a float\r\n"),
    ("ZRANGEBYSCORE z ( (2", "*2\r\n$1\r\na\r\n$1\r\nx\r\n"),
    (
        "ZREVRANGEBYSCORE z 3 1",
        "*4\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\nx\r\n$1\r\na\r\n",
    ),
    ("ZREVRANGEBYSCORE z 1 3", "*0\r\n"),
    (
        "ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 2",
        "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    (
        "ZRANGEBYLEX lex - +",
        "*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n",
    ),
    (
        "ZRANGEBYLEX lex - + WITHSCORES",
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    ),
    (
        "ZRANGEBYLEX lex a b",
        "-ERR min or max not valid string range item\r\n",
    ),
    (
        "ZRANGEBYLEX lex - + LIMIT 1 2",
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n",
    ),
    (
        "ZREVRANGEBYLEX lex + -",
        "*5\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n",
    ),
    ("ZREVRANGEBYLEX lex [c (a", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n"),
    (
        "ZREVRANGEBYLEX lex + - LIMIT 0 2",
        "*2\r\n$1\r\ne\r\n$1\r\nd\r\n",
    ),
    (
        "ZREVRANGE z 0 1 WITHSCORES",
        "*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n",
    ),
    ("ZREVRANGE z -1 -1", "*1\r\n$1\r\na\r\n"),
    (
        "ZREVRANGE z 0 1 LIMIT 0 1",
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
    ),
    ("ZREVRANGE z 0 1 REV", "-ERR syntax error\r\n"),
    (
        "ZREVRANGE s 0 1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZRANGESTORE dst z 0 -1 WITHSCORES", "-ERR syntax error\r\n"),
    ("ZRANGESTORE dst z 0 1", ":2\r\n"),
    (
        "ZRANGE dst 0 -1 WITHSCORES",
        "*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nx\r\n$3\r\n1.5\r\n",
    ),
    ("ZRANGESTORE dst z 4 2 BYSCORE REV LIMIT 0 2", ":2\r\n"),
    (
        "ZRANGE dst 0 -1 WITHSCORES",
        "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    ("ZRANGESTORE dst lex [a [b BYLEX", ":2\r\n"),
    (
        "ZRANGE dst 0 -1 WITHSCORES",
        "*4\r\n$1\r\na\r\n$1\r\n0\r\n$1\r\nb\r\n$1\r\n0\r\n",
    ),
    ("ZRANGESTORE dst nokey 0 1", ":0\r\n"),
    ("EXISTS dst", ":0\r\n"),
    ("ZRANGESTORE dst z 5 10", ":0\r\n"),
    ("EXISTS dst", ":0\r\n"),
    (
        "ZRANGESTORE dst s 0 1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZRANGESTORE s z 0 0", ":1\r\n"),
    ("TYPE s", "+zset\r\n"),
    (
        "ZRANGESTORE dst z",
        "-ERR wrong number of arguments for 'zrangestore' command\r\n",
    ),
];

/// pops: replies recorded from redis-server 7.0.15.
const POPS: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f", ":6\r\n"),
    ("SET s x", "+OK\r\n"),
    (
        "ZPOPMIN z -1",
        "-ERR value is out of range, must be positive\r\n",
    ),
    (
        "ZPOPMIN z x",
        "-ERR value is out of range, must be positive\r\n",
    ),
    ("ZPOPMIN z 0", "*0\r\n"),
    ("ZPOPMIN z 1 2", "-ERR syntax error\r\n"),
    ("ZPOPMIN nokey", "*0\r\n"),
    ("ZPOPMIN nokey 2", "*0\r\n"),
    (
        "ZPOPMIN s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZPOPMIN z", "*2\r\n$1\r\na\r\n$1\r\n1\r\n"),
    ("ZPOPMAX z", "*2\r\n$1\r\nf\r\n$1\r\n6\r\n"),
    ("ZPOPMIN z 1", "*2\r\n$1\r\nb\r\n$1\r\n2\r\n"),
    (
        "ZPOPMAX z 2",
        "*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    ("ZMPOP 0 z MIN", "-ERR numkeys should be greater than 0\r\n"),
    ("ZMPOP x z MIN", "-ERR numkeys should be greater than 0\r\n"),
    ("ZMPOP 2 z MIN", "-ERR syntax error\r\n"),
    ("ZMPOP 1 z FOO", "-ERR syntax error\r\n"),
    (
        "ZMPOP 1 z MIN COUNT 0",
        "-ERR count should be greater than 0\r\n",
    ),
    (
        "ZMPOP 1 z MIN COUNT x",
        "-ERR count should be greater than 0\r\n",
    ),
    ("ZMPOP 1 z MIN COUNT 1 COUNT 1", "-ERR syntax error\r\n"),
    ("ZMPOP 1 z MIN COUNT", "-ERR syntax error\r\n"),
    ("ZMPOP 9223372036854775807 z MIN", "-ERR syntax error\r\n"),
    (
        "ZMPOP 2 nokey s MIN",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZMPOP 2 s z MIN",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZMPOP 1 nokey MIN", "*-1\r\n"),
    (
        "ZMPOP 2 nokey z MAX COUNT 10",
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n",
    ),
    ("EXISTS z", ":0\r\n"),
    ("ZPOPMAX z", "*0\r\n"),
    ("ZADD z 1 a 2 b 3 c 4 d 5 e 6 f", ":6\r\n"),
    (
        "ZMPOP 2 nokey z min",
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    ),
    (
        "ZREMRANGEBYRANK z a 0",
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        "ZREMRANGEBYSCORE z a 0",
        "-ERR min or max is not a float\r\n",
    ),
    (
        "ZREMRANGEBYLEX z a 0",
        "-ERR min or max not valid string range item\r\n",
    ),
    ("ZREMRANGEBYRANK nokey 0 1", ":0\r\n"),
    (
        "ZREMRANGEBYRANK s 0 1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZREMRANGEBYSCORE s 0 1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZREMRANGEBYLEX s - +",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZREMRANGEBYRANK z 5 10", ":0\r\n"),
    ("ZREMRANGEBYRANK z -1 -1", ":1\r\n"),
    ("ZREMRANGEBYSCORE z (2 3", ":1\r\n"),
    ("ZREMRANGEBYSCORE z 5 1", ":0\r\n"),
    (
        "ZRANGE z 0 -1 WITHSCORES",
        "*6\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n",
    ),
    ("ZREMRANGEBYLEX z [d [d", ":1\r\n"),
    ("ZREMRANGEBYLEX z + -", ":0\r\n"),
    ("ZREMRANGEBYRANK z 0 -1", ":2\r\n"),
    ("EXISTS z", ":0\r\n"),
    (
        "ZREMRANGEBYRANK z 0",
        "-ERR wrong number of arguments for 'zremrangebyrank' command\r\n",
    ),
];

/// setops: replies recorded from redis-server 7.0.15.
const SETOPS: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d", ":4\r\n"),
    ("ZADD y 10 b 0 zero", ":2\r\n"),
    ("ZADD inf1 inf a", ":1\r\n"),
    ("ZADD ninf1 -inf a", ":1\r\n"),
    ("SET s x", "+OK\r\n"),
    (
        "ZUNION 0 z",
        "-ERR at least 1 input key is needed for 'zunion' command\r\n",
    ),
    (
        "ZUNION a z",
        "-ERR value is not an integer or out of range\r\n",
    ),
    (
        "ZUNION -1 z",
        "-ERR at least 1 input key is needed for 'zunion' command\r\n",
    ),
    ("ZUNION 3 z y", "-ERR syntax error\r\n"),
    ("ZUNION 2 z y WEIGHTS 1", "-ERR syntax error\r\n"),
    (
        "ZUNION 2 z y WEIGHTS 1 x",
        "-ERR weight value is not a float\r\n",
    ),
    (
        "ZUNION 2 z s WEIGHTS 1 x",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZUNION 2 s z",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZUNION 2 z y AGGREGATE foo", "-ERR syntax error\r\n"),
    ("ZUNION 2 z y AGGREGATE", "-ERR syntax error\r\n"),
    (
        "ZUNION 2 z y WITHSCORES",
        "*10\r\n$4\r\nzero\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nb\r\n$2\r\n12\r\n",
    ),
    (
        "ZUNION 2 z y",
        "*5\r\n$4\r\nzero\r\n$1\r\na\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\nb\r\n",
    ),
    (
        "ZUNION 2 z nokey WITHSCORES",
        "*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    (
        "ZUNION 2 z y WEIGHTS 2 -1 AGGREGATE MAX WITHSCORES",
        "*10\r\n$4\r\nzero\r\n$2\r\n-0\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n6\r\n$1\r\nd\r\n$1\r\n8\r\n",
    ),
    (
        "ZUNION 1 y WEIGHTS -1 WITHSCORES",
        "*4\r\n$1\r\nb\r\n$3\r\n-10\r\n$4\r\nzero\r\n$2\r\n-0\r\n",
    ),
    (
        "ZUNION 2 z y WEIGHTS 1.5 0x10 WITHSCORES",
        "*10\r\n$4\r\nzero\r\n$1\r\n0\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nc\r\n$3\r\n4.5\r\n$1\r\nd\r\n$1\r\n6\r\n$1\r\nb\r\n$3\r\n163\r\n",
    ),
    (
        "ZUNION 2 inf1 ninf1 WITHSCORES",
        "*2\r\n$1\r\na\r\n$1\r\n0\r\n",
    ),
    (
        "ZUNION 1 inf1 WEIGHTS 0 WITHSCORES",
        "*2\r\n$1\r\na\r\n$1\r\n0\r\n",
    ),
    ("ZINTER 2 z y WITHSCORES", "*2\r\n$1\r\nb\r\n$2\r\n12\r\n"),
    (
        "ZINTER 2 z y AGGREGATE MIN WITHSCORES",
        "*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    (
        "ZINTER 2 z y AGGREGATE max WITHSCORES WEIGHTS 1 2",
        "*2\r\n$1\r\nb\r\n$2\r\n20\r\n",
    ),
    ("ZINTER 2 z nokey WITHSCORES", "*0\r\n"),
    (
        "ZINTER 2 z z WITHSCORES",
        "*8\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n6\r\n$1\r\nd\r\n$1\r\n8\r\n",
    ),
    (
        "ZINTER 2 inf1 ninf1 WITHSCORES",
        "*2\r\n$1\r\na\r\n$1\r\n0\r\n",
    ),
    (
        "ZINTER 2 inf1 inf1 WEIGHTS 1 0 WITHSCORES",
        "*2\r\n$1\r\na\r\n$1\r\n0\r\n",
    ),
    (
        "ZINTER 2 inf1 inf1 WEIGHTS 1 0 AGGREGATE MIN WITHSCORES",
        "*2\r\n$1\r\na\r\n$3\r\ninf\r\n",
    ),
    (
        "ZDIFF 2 z y WITHSCORES",
        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    ("ZDIFF 2 z z WITHSCORES", "*0\r\n"),
    ("ZDIFF 1 nokey", "*0\r\n"),
    ("ZDIFF 2 z y WEIGHTS 1 1", "-ERR syntax error\r\n"),
    ("ZDIFF 2 z y AGGREGATE MIN", "-ERR syntax error\r\n"),
    (
        "ZDIFF 2 z s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZUNIONSTORE d 1 y WEIGHTS -1", ":2\r\n"),
    (
        "ZRANGE d 0 -1 WITHSCORES",
        "*4\r\n$1\r\nb\r\n$3\r\n-10\r\n$4\r\nzero\r\n$1\r\n0\r\n",
    ),
    ("ZUNIONSTORE d 2 z y WITHSCORES", "-ERR syntax error\r\n"),
    (
        "ZUNIONSTORE d 0 z",
        "-ERR at least 1 input key is needed for 'zunionstore' command\r\n",
    ),
    ("ZUNIONSTORE d 2 z y", ":5\r\n"),
    (
        "ZRANGE d 0 -1 WITHSCORES",
        "*10\r\n$4\r\nzero\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nb\r\n$2\r\n12\r\n",
    ),
    ("ZINTERSTORE d 2 z y WEIGHTS 2 3", ":1\r\n"),
    ("ZRANGE d 0 -1 WITHSCORES", "*2\r\n$1\r\nb\r\n$2\r\n34\r\n"),
    ("ZINTERSTORE d 2 z nokey", ":0\r\n"),
    ("EXISTS d", ":0\r\n"),
    ("ZDIFFSTORE d 2 z y", ":3\r\n"),
    (
        "ZRANGE d 0 -1 WITHSCORES",
        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    (
        "ZDIFFSTORE d 0 z",
        "-ERR at least 1 input key is needed for 'zdiffstore' command\r\n",
    ),
    (
        "ZDIFFSTORE d 2 z s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZUNIONSTORE s 1 z", ":4\r\n"),
    ("TYPE s", "+zset\r\n"),
    (
        "ZINTERCARD 0 z",
        "-ERR at least 1 input key is needed for 'zintercard' command\r\n",
    ),
    ("ZINTERCARD 2 z y", ":1\r\n"),
    ("ZINTERCARD 2 z z LIMIT 3", ":3\r\n"),
    ("ZINTERCARD 2 z z LIMIT 0", ":4\r\n"),
    (
        "ZINTERCARD 2 z y LIMIT -1",
        "-ERR LIMIT can't be negative\r\n",
    ),
    (
        "ZINTERCARD 2 z y LIMIT x",
        "-ERR LIMIT can't be negative\r\n",
    ),
    ("ZINTERCARD 2 z y WEIGHTS 1 1", "-ERR syntax error\r\n"),
    ("ZINTERCARD 2 z y WITHSCORES", "-ERR syntax error\r\n"),
    (
        "ZINTERCARD a z",
        "-ERR value is not an integer or out of range\r\n",
    ),
    ("ZINTERCARD 2 z", "-ERR syntax error\r\n"),
    ("ZINTERCARD 2 y nokey", ":0\r\n"),
];

/// resp3: replies recorded from redis-server 7.0.15.
const RESP3: &[(&str, &str)] = &[
    ("HELLO 3", ""),
    ("ZADD z 1.1 a 2 b 1e-7 c 3e20 d inf e -2.5 neg", ":6\r\n"),
    ("ZSCORE z a", ",1.1000000000000001\r\n"),
    ("ZSCORE z b", ",2\r\n"),
    ("ZSCORE z e", ",inf\r\n"),
    ("ZSCORE z c", ",9.9999999999999995e-08\r\n"),
    ("ZSCORE z nope", "_\r\n"),
    (
        "ZMSCORE z a nope d",
        "*3\r\n,1.1000000000000001\r\n_\r\n,3e+20\r\n",
    ),
    ("ZRANK z nope", "_\r\n"),
    (
        "ZRANGE z 0 -1 WITHSCORES",
        "*6\r\n*2\r\n$3\r\nneg\r\n,-2.5\r\n*2\r\n$1\r\nc\r\n,9.9999999999999995e-08\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nd\r\n,3e+20\r\n*2\r\n$1\r\ne\r\n,inf\r\n",
    ),
    ("ZRANGE z 0 1", "*2\r\n$3\r\nneg\r\n$1\r\nc\r\n"),
    ("ZRANGE nokey 0 -1 WITHSCORES", "*0\r\n"),
    (
        "ZRANGEBYSCORE z -inf 2 WITHSCORES",
        "*4\r\n*2\r\n$3\r\nneg\r\n,-2.5\r\n*2\r\n$1\r\nc\r\n,9.9999999999999995e-08\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    ),
    (
        "ZREVRANGEBYSCORE z +inf -inf WITHSCORES LIMIT 1 2",
        "*2\r\n*2\r\n$1\r\nd\r\n,3e+20\r\n*2\r\n$1\r\nb\r\n,2\r\n",
    ),
    (
        "ZREVRANGE z 0 1 WITHSCORES",
        "*2\r\n*2\r\n$1\r\ne\r\n,inf\r\n*2\r\n$1\r\nd\r\n,3e+20\r\n",
    ),
    (
        "ZUNION 1 z WITHSCORES",
        "*6\r\n*2\r\n$3\r\nneg\r\n,-2.5\r\n*2\r\n$1\r\nc\r\n,9.9999999999999995e-08\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nd\r\n,3e+20\r\n*2\r\n$1\r\ne\r\n,inf\r\n",
    ),
    (
        "ZUNION 1 z WEIGHTS -1 WITHSCORES",
        "*6\r\n*2\r\n$1\r\ne\r\n,-inf\r\n*2\r\n$1\r\nd\r\n,-3e+20\r\n*2\r\n$1\r\nb\r\n,-2\r\n*2\r\n$1\r\na\r\n,-1.1000000000000001\r\n*2\r\n$1\r\nc\r\n,-9.9999999999999995e-08\r\n*2\r\n$3\r\nneg\r\n,2.5\r\n",
    ),
    (
        "ZINTER 2 z z WITHSCORES",
        "*6\r\n*2\r\n$3\r\nneg\r\n,-5\r\n*2\r\n$1\r\nc\r\n,1.9999999999999999e-07\r\n*2\r\n$1\r\na\r\n,2.2000000000000002\r\n*2\r\n$1\r\nb\r\n,4\r\n*2\r\n$1\r\nd\r\n,6e+20\r\n*2\r\n$1\r\ne\r\n,inf\r\n",
    ),
    (
        "ZDIFF 1 z WITHSCORES",
        "*6\r\n*2\r\n$3\r\nneg\r\n,-2.5\r\n*2\r\n$1\r\nc\r\n,9.9999999999999995e-08\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nd\r\n,3e+20\r\n*2\r\n$1\r\ne\r\n,inf\r\n",
    ),
    ("ZINCRBY z 0.1 b", ",2.1000000000000001\r\n"),
    ("ZADD z INCR 1 b", ",3.1000000000000001\r\n"),
    ("ZADD z NX INCR 1 b", "_\r\n"),
    ("ZADD z INCR -0 newzero", ",-0\r\n"),
    (
        "ZSCAN z 0",
        "*2\r\n$1\r\n0\r\n*14\r\n$3\r\nneg\r\n$4\r\n-2.5\r\n$7\r\nnewzero\r\n$1\r\n0\r\n$1\r\nc\r\n$22\r\n9.9999999999999995e-08\r\n$1\r\na\r\n$18\r\n1.1000000000000001\r\n$1\r\nb\r\n$18\r\n3.1000000000000001\r\n$1\r\nd\r\n$5\r\n3e+20\r\n$1\r\ne\r\n$3\r\ninf\r\n",
    ),
    (
        "ZRANDMEMBER z 100 WITHSCORES",
        "*7\r\n*2\r\n$1\r\ne\r\n,inf\r\n*2\r\n$1\r\nd\r\n,3e+20\r\n*2\r\n$1\r\nb\r\n,3.1000000000000001\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n*2\r\n$1\r\nc\r\n,9.9999999999999995e-08\r\n*2\r\n$7\r\nnewzero\r\n,0\r\n*2\r\n$3\r\nneg\r\n,-2.5\r\n",
    ),
    ("ZRANDMEMBER nokey", "_\r\n"),
    ("ZRANDMEMBER nokey 1", "*0\r\n"),
    ("ZPOPMIN z", "*2\r\n$3\r\nneg\r\n,-2.5\r\n"),
    (
        "ZPOPMIN z 2",
        "*2\r\n*2\r\n$7\r\nnewzero\r\n,0\r\n*2\r\n$1\r\nc\r\n,9.9999999999999995e-08\r\n",
    ),
    ("ZPOPMAX z 1", "*1\r\n*2\r\n$1\r\ne\r\n,inf\r\n"),
    ("ZPOPMIN nokey", "*0\r\n"),
    ("ZPOPMIN nokey 1", "*0\r\n"),
    ("ZPOPMIN z 0", "*0\r\n"),
    (
        "ZMPOP 1 z MIN",
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n,1.1000000000000001\r\n",
    ),
    (
        "ZMPOP 1 z MAX COUNT 2",
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nd\r\n,3e+20\r\n*2\r\n$1\r\nb\r\n,3.1000000000000001\r\n",
    ),
    ("ZMPOP 1 nokey MIN", "_\r\n"),
    ("ZRANGE z 0 -1 WITHSCORES", "*0\r\n"),
    ("HELLO 2", ""),
    ("ZADD w 1.1 a 2 b 3 c", ":3\r\n"),
    (
        "ZPOPMIN w 2",
        "*4\r\n$1\r\na\r\n$18\r\n1.1000000000000001\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    ("ZPOPMAX w", "*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
    ("ZADD w 1.1 a 2 b 3 c", ":3\r\n"),
    (
        "ZMPOP 1 w MIN COUNT 2",
        "*2\r\n$1\r\nw\r\n*2\r\n*2\r\n$1\r\na\r\n$18\r\n1.1000000000000001\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    ("ZMPOP 1 nokey MIN", "*-1\r\n"),
    ("ZRANDMEMBER w 5 WITHSCORES", "*2\r\n$1\r\nc\r\n$1\r\n3\r\n"),
];

/// randscan: replies recorded from redis-server 7.0.15.
const RANDSCAN: &[(&str, &str)] = &[
    ("ZADD z 1 a 2 b 3 c 4 d", ":4\r\n"),
    ("SET s x", "+OK\r\n"),
    (
        "ZRANDMEMBER z x",
        "-ERR value is not an integer or out of range\r\n",
    ),
    ("ZRANDMEMBER z 1 foo", "-ERR syntax error\r\n"),
    ("ZRANDMEMBER z 1 withscores extra", "-ERR syntax error\r\n"),
    (
        "ZRANDMEMBER z -9223372036854775808",
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    ),
    (
        "ZRANDMEMBER z 9223372036854775807 WITHSCORES",
        "-ERR value is out of range\r\n",
    ),
    (
        "ZRANDMEMBER z -4611686018427387904 WITHSCORES",
        "-ERR value is out of range\r\n",
    ),
    ("ZRANDMEMBER z 0", "*0\r\n"),
    ("ZRANDMEMBER z 0 WITHSCORES", "*0\r\n"),
    ("ZRANDMEMBER nokey", "$-1\r\n"),
    ("ZRANDMEMBER nokey 2", "*0\r\n"),
    ("ZRANDMEMBER nokey 0", "*0\r\n"),
    (
        "ZRANDMEMBER s",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZRANDMEMBER s 1",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    (
        "ZRANDMEMBER z 10 WITHSCORES",
        "*8\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n",
    ),
    (
        "ZRANDMEMBER z 4",
        "*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n",
    ),
    (
        "ZRANDMEMBER",
        "-ERR wrong number of arguments for 'zrandmember' command\r\n",
    ),
    ("ZSCAN z x", "-ERR invalid cursor\r\n"),
    ("ZSCAN z 0 COUNT 0", "-ERR syntax error\r\n"),
    (
        "ZSCAN z 0 COUNT x",
        "-ERR value is not an integer or out of range\r\n",
    ),
    ("ZSCAN z 0 MATCH", "-ERR syntax error\r\n"),
    ("ZSCAN z 0 TYPE zset", "-ERR syntax error\r\n"),
    ("ZSCAN z 0 FOO bar", "-ERR syntax error\r\n"),
    ("ZSCAN nokey 0 COUNT 0", "*2\r\n$1\r\n0\r\n*0\r\n"),
    (
        "ZSCAN s 0 COUNT 0",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    ),
    ("ZSCAN s x", "-ERR invalid cursor\r\n"),
    (
        "ZSCAN z 0",
        "*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    (
        "ZSCAN z 0 MATCH [ab]* COUNT 1",
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    ),
    (
        "ZSCAN z 0 MATCH *",
        "*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    (
        "ZSCAN z -1",
        "*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    (
        "ZSCAN z +3",
        "*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n",
    ),
    ("ZSCAN z 18446744073709551616", "-ERR invalid cursor\r\n"),
    (
        "ZSCAN z",
        "-ERR wrong number of arguments for 'zscan' command\r\n",
    ),
];

#[test]
fn zadd_and_zincrby_options_scores_and_errors() {
    run_on_fresh_server(ZADD);
}

#[test]
fn zcard_zscore_zmscore_zrank_zcount_zlexcount_zrem() {
    run_on_fresh_server(READS);
}

#[test]
fn zrange_in_every_form_and_zrangestore() {
    run_on_fresh_server(RANGE);
}

#[test]
fn zpopmin_zpopmax_zmpop_and_zremrangeby() {
    run_on_fresh_server(POPS);
}

#[test]
fn zunion_zinter_zdiff_their_store_forms_and_zintercard() {
    run_on_fresh_server(SETOPS);
}

#[test]
fn resp3_doubles_and_pairs_and_resp2_flat_arrays() {
    run_on_fresh_server(RESP3);
}

#[test]
fn zrandmember_and_zscan_arguments_and_small_sets() {
    run_on_fresh_server(RANDSCAN);
}

/// The members of a RESP2 flat array reply of bulk strings.
fn bulk_items(reply: &str) -> Vec<String> {
    let lines: Vec<&str> = reply.split("\r\n").collect();
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| line.starts_with('$'))
        .map(|(index, _)| lines[index + 1].to_owned())
        .collect()
}

fn big_set(client: &mut RawClient, key: &str, members: usize) {
    let mut args = vec!["ZADD".to_owned(), key.to_owned()];
    for index in 0..members {
        args.push(format!("{}", index as f64 * 1.5));
        args.push(format!("m{index:03}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    assert_eq!(client.cmd(&args), format!(":{members}\r\n"));
}

#[test]
fn zrandmember_picks_members_at_random() {
    let server = TestServer::start();
    let mut c = server.raw();
    big_set(&mut c, "big", 300);
    let all: BTreeSet<String> = (0..300).map(|index| format!("m{index:03}")).collect();
    let mut singles = BTreeSet::new();
    for _ in 0..30 {
        let picked = bulk_items(&c.cmd(&["ZRANDMEMBER", "big"]));
        assert_eq!(picked.len(), 1);
        assert!(all.contains(&picked[0]));
        singles.insert(picked[0].clone());
    }
    assert!(singles.len() > 5, "30 picks gave {} members", singles.len());
    // Distinct members: few of many (rejection sampling) and most of them (a shuffle).
    for count in [3, 100, 250] {
        let picked = bulk_items(&c.cmd(&["ZRANDMEMBER", "big", &count.to_string()]));
        let distinct: BTreeSet<&String> = picked.iter().collect();
        assert_eq!((picked.len(), distinct.len()), (count, count));
        assert!(picked.iter().all(|member| all.contains(member)));
    }
    // Repetitions allowed, with scores that belong to the members.
    let reply = c.cmd(&["ZRANDMEMBER", "big", "-400", "WITHSCORES"]);
    assert!(reply.starts_with("*800\r\n"), "{}", &reply[..20]);
    let items = bulk_items(&reply);
    for pair in items.chunks(2) {
        let index: usize = pair[0][1..].parse().expect("member number");
        assert_eq!(pair[1], format!("{}", index as f64 * 1.5));
    }
    let distinct: BTreeSet<&String> = items.iter().step_by(2).collect();
    assert!(distinct.len() < 400, "400 picks of 300 repeat some");
    assert_eq!(
        c.cmd(&["ZRANDMEMBER", "big", "-100000000"]),
        "-ERR value is out of range\r\n"
    );
}

#[test]
fn large_sets_rank_range_remove_and_scan() {
    let server = TestServer::start();
    let mut c = server.raw();
    big_set(&mut c, "big", 300);
    assert_eq!(c.cmd(&["ZCARD", "big"]), ":300\r\n");
    assert_eq!(c.cmd(&["ZRANK", "big", "m200"]), ":200\r\n");
    assert_eq!(c.cmd(&["ZREVRANK", "big", "m200"]), ":99\r\n");
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "150", "151", "WITHSCORES"]),
        "*4\r\n$4\r\nm150\r\n$3\r\n225\r\n$4\r\nm151\r\n$5\r\n226.5\r\n"
    );
    assert_eq!(
        c.cmd(&[
            "ZRANGE", "big", "(297", "+inf", "BYSCORE", "LIMIT", "1", "2"
        ]),
        "*2\r\n$4\r\nm200\r\n$4\r\nm201\r\n"
    );
    assert_eq!(
        c.cmd(&["ZREVRANGEBYSCORE", "big", "+inf", "-inf", "LIMIT", "0", "1"]),
        "*1\r\n$4\r\nm299\r\n"
    );
    assert_eq!(c.cmd(&["ZCOUNT", "big", "30", "(60"]), ":20\r\n");
    // ZSCAN visits every member once, in several calls.
    let mut cursor = "0".to_owned();
    let mut seen = BTreeMap::new();
    let mut calls = 0;
    loop {
        let reply = c.cmd(&["ZSCAN", "big", &cursor, "COUNT", "20"]);
        let items = bulk_items(&reply);
        cursor = items[0].clone();
        for pair in items[1..].chunks(2) {
            assert!(seen.insert(pair[0].clone(), pair[1].clone()).is_none());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(calls > 5, "{calls} calls");
    assert_eq!(seen.len(), 300);
    assert_eq!(seen["m007"], "10.5");
    // Removing most of the set.
    assert_eq!(c.cmd(&["ZREMRANGEBYRANK", "big", "10", "-11"]), ":280\r\n");
    assert_eq!(c.cmd(&["ZREMRANGEBYSCORE", "big", "-inf", "(3"]), ":2\r\n");
    assert_eq!(c.cmd(&["ZCARD", "big"]), ":18\r\n");
    assert_eq!(
        c.cmd(&["ZRANGE", "big", "7", "9"]),
        "*3\r\n$4\r\nm009\r\n$4\r\nm290\r\n$4\r\nm291\r\n"
    );
    assert_eq!(
        c.cmd(&["ZPOPMAX", "big", "2"]),
        "*4\r\n$4\r\nm299\r\n$5\r\n448.5\r\n$4\r\nm298\r\n$3\r\n447\r\n"
    );
}

#[test]
fn writes_keep_the_ttl_and_store_destinations_lose_it() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["ZADD", "z", "1", "a", "2", "b"]), ":2\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "z", "100"]), ":1\r\n");
    assert_eq!(c.cmd(&["ZADD", "z", "3", "c"]), ":1\r\n");
    assert_eq!(c.cmd(&["ZINCRBY", "z", "1", "a"]), "$1\r\n2\r\n");
    assert_eq!(c.cmd(&["ZREM", "z", "c"]), ":1\r\n");
    assert_eq!(c.cmd(&["ZPOPMIN", "z"]), "*2\r\n$1\r\na\r\n$1\r\n2\r\n");
    assert_eq!(c.cmd(&["TTL", "z"]), ":100\r\n");
    for store in [
        &["ZUNIONSTORE", "dst", "1", "z"][..],
        &["ZRANGESTORE", "dst", "z", "0", "-1"],
        &["ZINTERSTORE", "dst", "2", "z", "z"],
        &["ZDIFFSTORE", "dst", "1", "z"],
    ] {
        assert_eq!(c.cmd(&["SET", "dst", "old", "EX", "100"]), "+OK\r\n");
        assert_eq!(c.cmd(store), ":1\r\n", "{store:?}");
        assert_eq!(c.cmd(&["TTL", "dst"]), ":-1\r\n", "{store:?}");
        assert_eq!(c.cmd(&["TYPE", "dst"]), "+zset\r\n");
    }
    // The last member gone, the key is gone with its TTL.
    assert_eq!(c.cmd(&["ZREM", "z", "b"]), ":1\r\n");
    assert_eq!(c.cmd(&["EXISTS", "z"]), ":0\r\n");
    assert_eq!(c.cmd(&["ZADD", "z", "1", "a"]), ":1\r\n");
    assert_eq!(c.cmd(&["TTL", "z"]), ":-1\r\n");
    // An expired sorted set is a missing key.
    assert_eq!(c.cmd(&["PEXPIRE", "z", "1"]), ":1\r\n");
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(c.cmd(&["ZCARD", "z"]), ":0\r\n");
    assert_eq!(c.cmd(&["ZADD", "z", "XX", "1", "a"]), ":0\r\n");
    assert_eq!(c.cmd(&["EXISTS", "z"]), ":0\r\n");
}

#[test]
fn a_real_client_keeps_a_leaderboard() {
    let server = TestServer::start();
    let mut connection = server.client();
    let added: i64 = connection
        .zadd_multiple(
            "board",
            &[(100.0, "alice"), (250.5, "bob"), (175.0, "carol")],
        )
        .unwrap();
    assert_eq!(added, 3);
    let score: f64 = connection.zincr("board", "alice", 0.1).unwrap();
    assert_eq!(score, 100.1);
    let top: Vec<(String, f64)> = connection.zrevrange_withscores("board", 0, 1).unwrap();
    assert_eq!(
        top,
        [("bob".to_owned(), 250.5), ("carol".to_owned(), 175.0)]
    );
    let rank: Option<usize> = connection.zrank("board", "carol").unwrap();
    assert_eq!(rank, Some(1));
    let missing: Option<usize> = connection.zrank("board", "nobody").unwrap();
    assert_eq!(missing, None);
    let score: Option<f64> = connection.zscore("board", "alice").unwrap();
    assert_eq!(score, Some(100.1));
    let popped: Vec<(String, f64)> = connection.zpopmin("board", 1).unwrap();
    assert_eq!(popped, [("alice".to_owned(), 100.1)]);
    let count: usize = connection.zcount("board", 100, 200).unwrap();
    assert_eq!(count, 1);
}

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

/// Retries a command through `connection` until it answers without an error (any error: the
/// request may meet an election), for up to [`WAIT`].
async fn answer<T: redis::FromRedisValue>(
    connection: &mut redis::aio::MultiplexedConnection,
    command: &redis::Cmd,
) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        match command.query_async(connection).await {
            Ok(value) => return value,
            Err(error) => assert!(Instant::now() < deadline, "still failing: {error}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_leaderboard_crossslot_and_zincrby_across_a_leader_crash() {
    within(Duration::from_secs(240), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;

        // A leaderboard written through member 0, read through members 1 and 2.
        let mut writer = cluster.redis(0).await;
        let added: i64 = answer(
            &mut writer,
            redis::cmd("ZADD").arg("board").arg(&[
                "100", "alice", "250.5", "bob", "175", "carol", "250.5", "dave",
            ]),
        )
        .await;
        assert_eq!(added, 4);
        let score: f64 = answer(
            &mut writer,
            redis::cmd("ZINCRBY").arg("board").arg(0.1).arg("alice"),
        )
        .await;
        assert_eq!(score, 100.1);
        for reader in [1, 2] {
            let mut connection = cluster.redis(reader).await;
            let all: Vec<(String, f64)> = answer(
                &mut connection,
                redis::cmd("ZRANGE")
                    .arg("board")
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES"),
            )
            .await;
            let expected = [
                ("alice", 100.1),
                ("carol", 175.0),
                ("bob", 250.5),
                ("dave", 250.5),
            ];
            let expected: Vec<(String, f64)> =
                expected.iter().map(|(m, s)| (m.to_string(), *s)).collect();
            assert_eq!(all, expected, "ZRANGE via member {reader}");
            let top: Vec<String> = answer(
                &mut connection,
                redis::cmd("ZREVRANGE").arg("board").arg(0).arg(0),
            )
            .await;
            assert_eq!(top, ["dave"]);
            let rank: Option<i64> = answer(
                &mut connection,
                redis::cmd("ZRANK").arg("board").arg("carol"),
            )
            .await;
            assert_eq!(rank, Some(1), "ZRANK via member {reader}");
            let rank: Option<i64> = answer(
                &mut connection,
                redis::cmd("ZREVRANK").arg("board").arg("alice"),
            )
            .await;
            assert_eq!(rank, Some(3));
            // The exact text of a score, forwarded byte for byte.
            let text: String = answer(
                &mut connection,
                redis::cmd("ZSCORE").arg("board").arg("alice"),
            )
            .await;
            assert_eq!(text, "100.09999999999999");
        }

        // Several keys: one slot works, two slots are refused.
        assert_ne!(key_slot(b"board"), key_slot(b"other"));
        let error = query_retrying::<i64>(
            &mut writer,
            redis::cmd("ZUNIONSTORE")
                .arg("dst")
                .arg(2)
                .arg("board")
                .arg("other"),
        )
        .await
        .expect_err("ZUNIONSTORE over two slots");
        assert_eq!(error.code(), Some("CROSSSLOT"), "{error}");
        let error = query_retrying::<Vec<String>>(
            &mut writer,
            redis::cmd("ZINTER").arg(2).arg("board").arg("other"),
        )
        .await
        .expect_err("ZINTER over two slots");
        assert_eq!(error.code(), Some("CROSSSLOT"), "{error}");
        let _: i64 = answer(
            &mut writer,
            redis::cmd("ZADD").arg("{t}a").arg(&["1", "x", "2", "y"]),
        )
        .await;
        let _: i64 = answer(
            &mut writer,
            redis::cmd("ZADD").arg("{t}b").arg(&["10", "y", "20", "z"]),
        )
        .await;
        let stored: i64 = answer(
            &mut writer,
            redis::cmd("ZUNIONSTORE")
                .arg("{t}dst")
                .arg(2)
                .arg("{t}a")
                .arg("{t}b"),
        )
        .await;
        assert_eq!(stored, 3);
        let mut reader = cluster.redis(2).await;
        let union: Vec<(String, f64)> = answer(
            &mut reader,
            redis::cmd("ZRANGE")
                .arg("{t}dst")
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES"),
        )
        .await;
        assert_eq!(
            union,
            [
                ("x".to_owned(), 1.0),
                ("y".to_owned(), 12.0),
                ("z".to_owned(), 20.0)
            ]
        );
        let popped: Vec<redis::Value> = answer(
            &mut reader,
            redis::cmd("ZMPOP")
                .arg(2)
                .arg("{t}none")
                .arg("{t}dst")
                .arg("MAX"),
        )
        .await;
        assert_eq!(popped.len(), 2);

        // ZINCRBY traffic on one key through the two members that survive its leader's crash:
        // the final score counts every acknowledged increment, and at most the ones whose outcome
        // was unknown besides.
        let key = "hits";
        let partition = partition_of_key(SETTINGS.partitions, key.as_bytes());
        let leader = cluster.leader_of(partition).await;
        let survivors: Vec<usize> = (0..3).filter(|member| *member != leader).collect();
        let mut connections = Vec::new();
        for &survivor in &survivors {
            connections.push(cluster.redis(survivor).await);
        }
        let (mut acknowledged, mut unknown, mut refused) = (0u64, 0u64, 0u64);
        let mut highest_reply = 0.0f64;
        let mut acknowledged_after_kill = 0;
        let mut killed_at = None;
        let deadline = Instant::now() + WAIT * 2;
        let mut attempt = 0usize;
        while acknowledged_after_kill < 20 {
            assert!(
                Instant::now() < deadline,
                "increments did not resume after the crash"
            );
            if killed_at.is_none() && acknowledged == 20 {
                cluster.kill(leader);
                killed_at = Some(Instant::now());
            }
            let connection = &mut connections[attempt % 2];
            attempt += 1;
            let result: redis::RedisResult<f64> = redis::cmd("ZINCRBY")
                .arg(key)
                .arg(1)
                .arg("member")
                .query_async(connection)
                .await;
            match result {
                Ok(score) => {
                    acknowledged += 1;
                    highest_reply = highest_reply.max(score);
                    if killed_at.is_some() {
                        acknowledged_after_kill += 1;
                    }
                }
                Err(error) => {
                    match classify(&error) {
                        Failure::Unknown(_) => unknown += 1,
                        Failure::NotApplied(_) => refused += 1,
                        Failure::Other(text) => panic!("ZINCRBY during failover: {text}"),
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        println!(
            "ZINCRBY across the crash of member {leader}: {acknowledged} acknowledged, \
             {unknown} unknown, {refused} refused"
        );
        for connection in &mut connections {
            let score: f64 = answer(connection, redis::cmd("ZSCORE").arg(key).arg("member")).await;
            assert!(
                score >= acknowledged as f64 && score <= (acknowledged + unknown) as f64,
                "final score {score}: {acknowledged} acknowledged, {unknown} unknown"
            );
            assert!(
                score >= highest_reply,
                "final {score} below a reply {highest_reply}"
            );
            assert_eq!(score.fract(), 0.0);
        }
    })
    .await;
}

#[test]
fn bzpopmin_waits_for_a_zadd_from_another_connection_and_times_out_with_null() {
    let server = TestServer::start();
    let mut waiter = server.raw();
    let mut writer = server.raw();
    waiter.send(&RawClient::encode(&[b"BZPOPMIN", b"{b}a", b"{b}b", b"5"]));
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(
        writer.cmd(&["ZADD", "{b}b", "2", "two", "1", "one"]),
        ":2\r\n"
    );
    assert_eq!(
        waiter.reply(),
        "*3\r\n$4\r\n{b}b\r\n$3\r\none\r\n$1\r\n1\r\n",
        "woken by the ZADD with the lowest member"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "woken, not timed out"
    );
    assert_eq!(
        waiter.cmd(&["BZPOPMAX", "{b}b", "0"]),
        "*3\r\n$4\r\n{b}b\r\n$3\r\ntwo\r\n$1\r\n2\r\n",
        "a member at hand is popped at once"
    );
    let started = Instant::now();
    assert_eq!(waiter.cmd(&["BZPOPMIN", "{b}b", "0.2"]), "*-1\r\n");
    assert!(started.elapsed() >= Duration::from_millis(200));
    // BZMPOP, woken by a ZUNIONSTORE into the watched key.
    waiter.send(&RawClient::encode(&[
        b"BZMPOP", b"5", b"1", b"{b}dst", b"MAX", b"COUNT", b"5",
    ]));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(writer.cmd(&["ZADD", "{b}src", "3", "c"]), ":1\r\n");
    assert_eq!(
        writer.cmd(&["ZUNIONSTORE", "{b}dst", "1", "{b}src"]),
        ":1\r\n"
    );
    assert_eq!(
        waiter.reply(),
        "*2\r\n$6\r\n{b}dst\r\n*1\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert!(waiter.cmd(&["HELLO", "3"]).starts_with('%'));
    assert_eq!(waiter.cmd(&["BZPOPMIN", "{b}none", "0.01"]), "_\r\n");
}
