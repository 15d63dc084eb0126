//! The same commands sent to Debian's `redis-server` and to `ringcache-node`, with the replies
//! compared byte for byte, in RESP2 and in RESP3: errors (texts included), reply shapes (maps,
//! sets, doubles, nulls) and values. Replies whose order Redis leaves unspecified (SMEMBERS,
//! HGETALL, …) are compared as sorted collections.

mod common;

use common::{RedisServer, TestServer};

/// One reply, parsed just enough to sort unordered collections.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Reply {
    /// A reply that is not an aggregate, as its raw bytes.
    Atom(Vec<u8>),
    /// An aggregate: its header line and its items.
    Aggregate(Vec<u8>, Vec<Reply>),
}

impl Reply {
    fn parse(raw: &[u8]) -> (Reply, usize) {
        let end = raw.iter().position(|&b| b == b'\n').expect("a line") + 1;
        let header = &raw[..end];
        let body = String::from_utf8_lossy(&header[1..header.len() - 2]).into_owned();
        match header[0] {
            b'$' | b'=' | b'!' if body != "-1" => {
                let length: usize = body.parse().expect("length");
                (
                    Reply::Atom(raw[..end + length + 2].to_vec()),
                    end + length + 2,
                )
            }
            b'*' | b'~' | b'%' | b'>' if body != "-1" => {
                let count: usize = body.parse().expect("count");
                let count = if header[0] == b'%' { count * 2 } else { count };
                let mut items = Vec::new();
                let mut position = end;
                for _ in 0..count {
                    let (item, used) = Reply::parse(&raw[position..]);
                    items.push(item);
                    position += used;
                }
                (Reply::Aggregate(header.to_vec(), items), position)
            }
            _ => (Reply::Atom(header.to_vec()), end),
        }
    }

    /// Sorts the items (pairs kept together for maps and for flat field/value arrays).
    fn sorted(self, pairs: bool) -> Reply {
        match self {
            Reply::Aggregate(header, items) if pairs || header[0] == b'%' => {
                let mut chunks: Vec<Vec<Reply>> = items.chunks(2).map(<[Reply]>::to_vec).collect();
                chunks.sort();
                Reply::Aggregate(header, chunks.concat())
            }
            Reply::Aggregate(header, mut items) => {
                items.sort();
                Reply::Aggregate(header, items)
            }
            atom => atom,
        }
    }
}

/// How a command's reply is compared.
#[derive(Clone, Copy, PartialEq)]
enum Order {
    Exact,
    /// A collection whose order Redis does not specify.
    Unordered,
    /// A flat field/value array (HGETALL in RESP2) or a map.
    UnorderedPairs,
}

fn order_of(command: &[&str]) -> Order {
    match command[0].to_ascii_uppercase().as_str() {
        "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF" | "HKEYS" | "HVALS" | "KEYS" => Order::Unordered,
        "HGETALL" => Order::UnorderedPairs,
        _ => Order::Exact,
    }
}

fn compare(script: &[&[&str]], resp3: bool) -> Vec<String> {
    let redis = RedisServer::start();
    let server = TestServer::start();
    let mut reference = redis.raw();
    let mut ours = server.raw();
    if resp3 {
        reference.cmd(&["HELLO", "3"]);
        ours.cmd(&["HELLO", "3"]);
    }
    let mut differences = Vec::new();
    for command in script {
        let expected = reference.cmd_bytes(&as_bytes(command));
        let actual = ours.cmd_bytes(&as_bytes(command));
        let order = order_of(command);
        let normalise = |raw: &[u8]| {
            let (reply, _) = Reply::parse(raw);
            match order {
                Order::Exact => reply,
                Order::Unordered => reply.sorted(false),
                Order::UnorderedPairs => reply.sorted(true),
            }
        };
        if normalise(&expected) != normalise(&actual) {
            differences.push(format!(
                "RESP{} {}:\n  redis-server: {:?}\n  ringcache:    {:?}",
                if resp3 { 3 } else { 2 },
                command.join(" "),
                String::from_utf8_lossy(&expected),
                String::from_utf8_lossy(&actual)
            ));
        }
    }
    differences
}

fn as_bytes<'a>(command: &[&'a str]) -> Vec<&'a [u8]> {
    command.iter().map(|arg| arg.as_bytes()).collect()
}

fn check(script: &[&[&str]]) {
    let mut differences = compare(script, false);
    differences.extend(compare(script, true));
    assert!(
        differences.is_empty(),
        "{} replies differ from redis-server:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn strings_and_keys_answer_as_redis_does() {
    check(&[
        &["SET", "s", "hello"],
        &["GET", "s"],
        &["GET", "missing"],
        &["SET", "s", "v", "NX"],
        &["SET", "s", "v", "XX", "GET"],
        &["SET", "s", "v", "EX", "0"],
        &["SET", "s", "v", "EX", "abc"],
        &["SET", "s", "v", "BOGUS"],
        &["SETNX", "s", "x"],
        &["GETSET", "s", "w"],
        &["MSET", "a", "1", "b", "2"],
        &["MSET", "a", "1", "b"],
        &["MGET", "a", "b", "missing"],
        &["MSETNX", "a", "1", "c", "3"],
        &["APPEND", "a", "23"],
        &["STRLEN", "a"],
        &["INCR", "a"],
        &["INCRBY", "a", "10"],
        &["DECRBY", "a", "5"],
        &["INCRBYFLOAT", "a", "1.5"],
        &["INCR", "s"],
        &["INCRBYFLOAT", "s", "x"],
        &["GETDEL", "b"],
        &["GETDEL", "b"],
        &["GETEX", "a", "PERSIST"],
        &["GETEX", "a", "EX", "-1"],
        &["EXPIRE", "a", "100"],
        &["EXPIRE", "a", "100", "NX"],
        &["EXPIRE", "a", "100", "NX", "XX"],
        &["TTL", "a"],
        &["PERSIST", "a"],
        &["TTL", "a"],
        &["TTL", "missing"],
        &["EXISTS", "a", "a", "missing"],
        &["TYPE", "a"],
        &["TYPE", "missing"],
        &["DEL", "a", "missing"],
        &["RENAME", "s", "s2"],
        &["RENAME", "missing", "x"],
        &["RENAMENX", "s2", "c"],
        &["COPY", "s2", "s3"],
        &["COPY", "s2", "s3"],
        &["COPY", "s2", "s3", "REPLACE"],
        &["TOUCH", "s2", "s3", "missing"],
        &["OBJECT", "ENCODING", "s2"],
        &["OBJECT", "ENCODING", "c"],
        &["OBJECT", "REFCOUNT", "s2"],
        &["OBJECT", "BOGUS"],
        &["OBJECT", "ENCODING"],
        &["DUMP", "missing"],
        &["RESTORE", "s2", "0", "payload"],
        &["RESTORE", "new", "-5", "payload"],
        &["RESTORE", "new", "0", "payload"],
        &["KEYS", "*"],
        &["DBSIZE"],
        &["NOSUCHCOMMAND", "a"],
        &["GET"],
        &["FLUSHALL"],
        &["DBSIZE"],
    ]);
}

#[test]
fn hashes_answer_as_redis_does() {
    check(&[
        &["HSET", "h", "a", "1", "b", "2"],
        &["HSET", "h", "a", "10", "c", "3"],
        &["HSET", "h", "odd"],
        &["HSETNX", "h", "a", "x"],
        &["HSETNX", "h", "d", "4"],
        &["HMSET", "h", "e", "5"],
        &["HGET", "h", "a"],
        &["HGET", "h", "zz"],
        &["HMGET", "h", "a", "zz", "b"],
        &["HLEN", "h"],
        &["HSTRLEN", "h", "a"],
        &["HEXISTS", "h", "a"],
        &["HKEYS", "h"],
        &["HVALS", "h"],
        &["HGETALL", "h"],
        &["HGETALL", "missing"],
        &["HINCRBY", "h", "a", "5"],
        &["HINCRBY", "h", "new", "-3"],
        &["HINCRBY", "h", "a", "x"],
        &["HSET", "h", "s", "text", "big", "9223372036854775807"],
        &["HINCRBY", "h", "s", "1"],
        &["HINCRBY", "h", "big", "1"],
        &["HINCRBYFLOAT", "h", "f", "1.5"],
        &["HINCRBYFLOAT", "h", "f", "0.1"],
        &["HINCRBYFLOAT", "h", "s", "1"],
        &["HDEL", "h", "a", "zz", "b"],
        &["HRANDFIELD", "missing"],
        &["HRANDFIELD", "missing", "3"],
        &["SET", "str", "v"],
        &["HGET", "str", "a"],
        &["HSET", "str", "a", "1"],
        &["HDEL", "h", "c", "d", "e", "new", "s", "big", "f"],
        &["EXISTS", "h"],
        &["TYPE", "str"],
    ]);
}

#[test]
fn lists_answer_as_redis_does() {
    check(&[
        &["RPUSH", "l", "a", "b", "c"],
        &["LPUSH", "l", "z"],
        &["LPUSHX", "missing", "x"],
        &["RPUSHX", "l", "d"],
        &["LLEN", "l"],
        &["LRANGE", "l", "0", "-1"],
        &["LRANGE", "l", "-2", "100"],
        &["LRANGE", "l", "5", "1"],
        &["LINDEX", "l", "-1"],
        &["LINDEX", "l", "99"],
        &["LSET", "l", "0", "first"],
        &["LSET", "l", "99", "x"],
        &["LSET", "missing", "0", "x"],
        &["LINSERT", "l", "BEFORE", "b", "ins"],
        &["LINSERT", "l", "AFTER", "nope", "x"],
        &["LINSERT", "l", "SIDEWAYS", "b", "x"],
        &["RPUSH", "l", "b", "b"],
        &["LPOS", "l", "b"],
        &["LPOS", "l", "b", "RANK", "-1"],
        &["LPOS", "l", "b", "COUNT", "0"],
        &["LPOS", "l", "b", "RANK", "0"],
        &["LREM", "l", "-1", "b"],
        &["LRANGE", "l", "0", "-1"],
        &["LTRIM", "l", "1", "-2"],
        &["LRANGE", "l", "0", "-1"],
        &["LPOP", "l"],
        &["RPOP", "l", "2"],
        &["LPOP", "missing"],
        &["LPOP", "missing", "2"],
        &["LPOP", "l", "-1"],
        &["RPUSH", "src", "1", "2", "3"],
        &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        &["RPOPLPUSH", "src", "dst"],
        &["LRANGE", "dst", "0", "-1"],
        &["LMPOP", "2", "missing", "src", "LEFT", "COUNT", "5"],
        &["LMPOP", "1", "missing", "LEFT"],
        &["LMPOP", "0", "src", "LEFT"],
        &["EXISTS", "src"],
        &["SET", "str", "v"],
        &["LPUSH", "str", "x"],
        &["LRANGE", "str", "0", "-1"],
        &["BLPOP", "dst", "0.1"],
        &["BLPOP", "missing", "0.01"],
        &["BLPOP", "dst", "-1"],
    ]);
}

#[test]
fn sets_answer_as_redis_does() {
    check(&[
        &["SADD", "s1", "a", "b", "c", "d"],
        &["SADD", "s1", "a", "e"],
        &["SADD", "s2", "c", "d", "x"],
        &["SREM", "s1", "e", "nope"],
        &["SISMEMBER", "s1", "a"],
        &["SMISMEMBER", "s1", "a", "nope"],
        &["SCARD", "s1"],
        &["SMEMBERS", "s1"],
        &["SINTER", "s1", "s2"],
        &["SUNION", "s1", "s2"],
        &["SDIFF", "s1", "s2"],
        &["SINTER", "s1", "missing"],
        &["SINTERCARD", "2", "s1", "s2"],
        &["SINTERCARD", "2", "s1", "s2", "LIMIT", "1"],
        &["SINTERCARD", "0", "s1"],
        &["SINTERSTORE", "dst", "s1", "s2"],
        &["SMEMBERS", "dst"],
        &["SUNIONSTORE", "dst", "s1", "s2"],
        &["SDIFFSTORE", "dst", "s1", "s1"],
        &["EXISTS", "dst"],
        &["SMOVE", "s1", "s2", "a"],
        &["SMOVE", "s1", "s2", "nope"],
        &["SPOP", "missing"],
        &["SRANDMEMBER", "missing"],
        &["SRANDMEMBER", "missing", "2"],
        &["SET", "str", "v"],
        &["SADD", "str", "a"],
        &["SINTER", "s1", "str"],
        &["SCARD", "missing"],
    ]);
}

#[test]
fn sorted_sets_answer_as_redis_does() {
    check(&[
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "1.5", "d"],
        &["ZADD", "z", "NX", "5", "a", "6", "e"],
        &["ZADD", "z", "XX", "CH", "7", "a"],
        &["ZADD", "z", "GT", "1", "a"],
        &["ZADD", "z", "NX", "XX", "1", "a"],
        &["ZADD", "z", "INCR", "2", "b"],
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        &["ZADD", "z", "nan", "a"],
        &["ZADD", "z", "1"],
        &["ZINCRBY", "z", "0.1", "d"],
        &["ZSCORE", "z", "d"],
        &["ZMSCORE", "z", "a", "nope"],
        &["ZCARD", "z"],
        &["ZRANK", "z", "c"],
        &["ZREVRANK", "z", "c"],
        &["ZCOUNT", "z", "(1", "+inf"],
        &["ZCOUNT", "z", "x", "1"],
        &["ZRANGE", "z", "0", "-1"],
        &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
        &[
            "ZRANGE",
            "z",
            "(1",
            "5",
            "BYSCORE",
            "LIMIT",
            "1",
            "2",
            "WITHSCORES",
        ],
        &["ZRANGE", "z", "5", "(1", "BYSCORE", "REV"],
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
        &["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
        &[
            "ZRANGEBYSCORE",
            "z",
            "-inf",
            "+inf",
            "WITHSCORES",
            "LIMIT",
            "1",
            "10",
        ],
        &["ZREVRANGEBYSCORE", "z", "+inf", "2"],
        &["ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d"],
        &["ZRANGEBYLEX", "lex", "[b", "(d"],
        &["ZREVRANGEBYLEX", "lex", "+", "-", "LIMIT", "0", "2"],
        &["ZRANGEBYLEX", "lex", "b", "d"],
        &["ZLEXCOUNT", "lex", "-", "+"],
        &["ZRANGESTORE", "dst", "z", "0", "1"],
        &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
        &[
            "ZUNIONSTORE",
            "u",
            "2",
            "z",
            "lex",
            "WEIGHTS",
            "2",
            "1",
            "AGGREGATE",
            "MAX",
        ],
        &["ZINTERSTORE", "i", "2", "z", "dst"],
        &["ZDIFFSTORE", "d", "2", "z", "dst"],
        &["ZUNION", "2", "z", "lex", "WITHSCORES"],
        &["ZINTER", "2", "z", "dst", "AGGREGATE", "MIN", "WITHSCORES"],
        &["ZDIFF", "2", "z", "dst"],
        &["ZINTERCARD", "2", "z", "dst"],
        &["ZPOPMIN", "z"],
        &["ZPOPMAX", "z", "2"],
        &["ZMPOP", "2", "missing", "z", "MIN", "COUNT", "2"],
        &["ZREMRANGEBYRANK", "u", "0", "1"],
        &["ZREMRANGEBYSCORE", "u", "-inf", "(2"],
        &["ZREMRANGEBYLEX", "lex", "[a", "[b"],
        &["ZREM", "lex", "c", "nope"],
        &[
            "ZADD",
            "big",
            "1e20",
            "x",
            "-0.5",
            "y",
            "3.0000000000000004",
            "z",
        ],
        &["ZRANGE", "big", "0", "-1", "WITHSCORES"],
        &["ZSCORE", "big", "z"],
        &["SET", "str", "v"],
        &["ZADD", "str", "1", "a"],
        &["ZRANGE", "missing", "0", "-1"],
        &["ZADD", "bz", "1", "one", "2", "two"],
        &["BZPOPMIN", "missing", "bz", "0.1"],
        &["BZPOPMAX", "bz", "0.1"],
        &["BZPOPMAX", "bz", "0.01"],
        &["BZMPOP", "0.01", "2", "missing", "z", "MAX", "COUNT", "2"],
        &["BZMPOP", "0.01", "1", "missing", "MIN"],
        &["BZPOPMIN", "str", "0.01"],
        &["BZPOPMIN", "bz", "-1"],
        &["BZPOPMIN", "bz", "x"],
    ]);
}

#[test]
fn bitmaps_and_hyperloglogs_answer_as_redis_does() {
    check(&[
        &["SETBIT", "b", "7", "1"],
        &["SETBIT", "b", "100", "1"],
        &["SETBIT", "b", "-1", "1"],
        &["SETBIT", "b", "1", "2"],
        &["GETBIT", "b", "7"],
        &["GETBIT", "b", "10000"],
        &["BITCOUNT", "b"],
        &["BITCOUNT", "b", "0", "0"],
        &["BITCOUNT", "b", "0", "7", "BIT"],
        &["BITPOS", "b", "1"],
        &["BITPOS", "b", "0", "1", "-1"],
        &["SET", "f", "foobar"],
        &["BITOP", "AND", "dst", "f", "b"],
        &["BITOP", "NOT", "dst", "f", "b"],
        &["BITOP", "XOR", "dst", "f", "missing"],
        &["GET", "dst"],
        &[
            "BITFIELD", "bf", "SET", "i8", "0", "100", "INCRBY", "i8", "0", "100", "GET", "u4", "0",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "SAT", "INCRBY", "i8", "0", "100",
        ],
        &[
            "BITFIELD", "bf", "OVERFLOW", "FAIL", "INCRBY", "i8", "0", "100",
        ],
        &["BITFIELD", "bf", "GET", "u64", "0"],
        &["BITFIELD_RO", "bf", "GET", "i8", "#0"],
        &["GETRANGE", "f", "1", "-2"],
        &["SETRANGE", "f", "3", "BAR"],
        &["SETRANGE", "f", "-1", "x"],
        &["GET", "f"],
        &["PFADD", "hll", "a", "b", "c", "a"],
        &["PFADD", "hll", "a"],
        &["PFCOUNT", "hll"],
        &["PFADD", "hll2", "c", "d"],
        &["PFCOUNT", "hll", "hll2"],
        &["PFMERGE", "merged", "hll", "hll2"],
        &["PFCOUNT", "merged"],
        &["PFCOUNT", "f"],
        &["GET", "hll"],
        &["LCS", "f", "dst"],
        &["LCS", "f", "f", "LEN"],
    ]);
}
