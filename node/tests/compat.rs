//! The same commands sent to Debian's `redis-server` and to `ringcache-node`, with the replies
//! compared byte for byte, in RESP2 and in RESP3: errors (texts included), reply shapes (maps,
//! sets, doubles, nulls) and values. Replies whose order Redis leaves unspecified (SMEMBERS,
//! HGETALL, …) are compared as sorted collections.

mod common;

use common::{RawClient, RedisServer, TestServer};

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
