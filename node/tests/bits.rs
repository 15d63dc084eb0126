//! Bitmaps, HyperLogLog and the partial-string commands (SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
//! BITFIELD, BITFIELD_RO, PFADD, PFCOUNT, PFMERGE, GETRANGE, SUBSTR, SETRANGE, LCS) over TCP.
//!
//! Every expected reply below is what redis-server 7.0.15 answered to the same requests, byte for
//! byte (HyperLogLog values included: the bytes are Redis's). Replies to keys of other types
//! (hashes, sets...) are checked in process in `src/command/bits/mod.rs`.

mod cluster_support;
mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cluster_support::{TestCluster, query_retrying, within};
use common::{RawClient, TestServer};
use redis::Commands;
use ringcache_admin::ClusterSettings;

/// A client that compares replies as bytes (values here are binary).
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// A request line: words separated by one space, `""` for an empty argument, `\xNN` for a byte.
fn arguments(line: &str) -> Vec<Vec<u8>> {
    line.split(' ')
        .map(|word| {
            if word == "\"\"" {
                return Vec::new();
            }
            let mut bytes = Vec::new();
            let mut rest = word.as_bytes();
            while let Some((&first, tail)) = rest.split_first() {
                if first == b'\\' && tail.first() == Some(&b'x') {
                    let hex = std::str::from_utf8(&tail[1..3]).expect("hex digits");
                    bytes.push(u8::from_str_radix(hex, 16).expect("a byte"));
                    rest = &tail[3..];
                } else {
                    bytes.push(first);
                    rest = tail;
                }
            }
            bytes
        })
        .collect()
}

fn shown(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

impl Client {
    fn connect(server: &TestServer) -> Client {
        let stream = TcpStream::connect(server.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Client {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    fn request(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        self.writer
            .write_all(&RawClient::encode(&args))
            .expect("write");
        let mut reply = Vec::new();
        self.read_reply(&mut reply);
        reply
    }

    fn read_reply(&mut self, reply: &mut Vec<u8>) {
        let start = reply.len();
        self.reader.read_until(b'\n', reply).expect("a reply line");
        assert!(reply.len() > start + 2, "connection closed");
        let line = reply[start..reply.len() - 2].to_vec();
        let count = || -> i64 {
            String::from_utf8_lossy(&line[1..])
                .parse()
                .expect("a length")
        };
        match line[0] {
            b'$' | b'=' | b'!' if count() >= 0 => {
                let mut data = vec![0; count() as usize + 2];
                self.reader.read_exact(&mut data).expect("a bulk string");
                reply.extend_from_slice(&data);
            }
            b'*' | b'~' | b'>' | b'%' if count() >= 0 => {
                let items = if line[0] == b'%' {
                    2 * count()
                } else {
                    count()
                };
                for _ in 0..items {
                    self.read_reply(reply);
                }
            }
            _ => {}
        }
    }

    /// Sends `line` and checks the reply against `expected`.
    #[track_caller]
    fn check(&mut self, line: &str, expected: &[u8]) {
        let reply = self.request(&arguments(line));
        assert_eq!(shown(&reply), shown(expected), "reply to {line}");
    }

    /// Sends `line`, ignoring its reply.
    fn discard(&mut self, line: &str) {
        self.request(&arguments(line));
    }
}

/// SETBIT/GETBIT offsets and bits, BITCOUNT/BITPOS ranges in bytes and bits (negative, reversed, out of
/// range), the 7.0 order of checks (a missing key answers before its range is parsed), TTL kept.
#[test]
fn setbit_getbit_bitcount_bitpos_answer_as_redis() {
    let server = TestServer::start();
    let mut c = Client::connect(&server);
    // SETBIT / GETBIT
    c.check("setbit k 7 1", b":0\r\n");
    c.check("setbit k 7 1", b":1\r\n");
    c.check("setbit k 7 0", b":1\r\n");
    c.check("get k", b"$1\r\n\x00\r\n");
    c.check("setbit k 14 1", b":0\r\n");
    c.check("get k", b"$2\r\n\x00\x02\r\n");
    c.check("getbit k 14", b":1\r\n");
    c.check("getbit k 15", b":0\r\n");
    c.check("getbit k 100", b":0\r\n");
    c.check("getbit missing 0", b":0\r\n");
    c.check("getbit k 4294967295", b":0\r\n");
    c.check(
        "getbit k 4294967296",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "getbit k -1",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "getbit k #1",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "getbit k x",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check("setbit zeros 100 0", b":0\r\n");
    c.check(
        "get zeros",
        b"$13\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\r\n",
    );
    c.check(
        "setbit k 4294967296 1",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "setbit k x 1",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "setbit k 0 2",
        b"-ERR bit is not an integer or out of range\r\n",
    );
    c.check(
        "setbit k 0 -1",
        b"-ERR bit is not an integer or out of range\r\n",
    );
    c.check(
        "setbit k 0 01",
        b"-ERR bit is not an integer or out of range\r\n",
    );
    c.check(
        "setbit k 0 x",
        b"-ERR bit is not an integer or out of range\r\n",
    );
    c.check(
        "setbit k 1",
        b"-ERR wrong number of arguments for 'setbit' command\r\n",
    );
    c.check(
        "getbit k",
        b"-ERR wrong number of arguments for 'getbit' command\r\n",
    );
    c.check("set num 12", b"+OK\r\n");
    c.check("setbit num 1 1", b":0\r\n");
    c.check("get num", b"$2\r\nq2\r\n");
    c.check("set t abc EX 100", b"+OK\r\n");
    c.check("setbit t 30 1", b":0\r\n");
    c.check("ttl t", b":100\r\n");
    c.check("get t", b"$4\r\nabc\x02\r\n");
    // BITCOUNT
    c.check("set s foobar", b"+OK\r\n");
    c.check("bitcount s", b":26\r\n");
    c.check("bitcount s 0 0", b":4\r\n");
    c.check("bitcount s 1 1", b":6\r\n");
    c.check("bitcount s -2 -1", b":7\r\n");
    c.check("bitcount s 5 30 BIT", b":17\r\n");
    c.check("bitcount s 5 30 byte", b":4\r\n");
    c.check("bitcount s 0 -1 bit", b":26\r\n");
    c.check("bitcount s -100 100", b":26\r\n");
    c.check("bitcount s -1 -2", b":0\r\n");
    c.check("bitcount s -1 -2 bogus", b":0\r\n");
    c.check(
        "bitcount s -9223372036854775808 9223372036854775807 bit",
        b":26\r\n",
    );
    c.check("bitcount missing", b":0\r\n");
    c.check("bitcount missing a b", b":0\r\n");
    c.check("bitcount s 0", b"-ERR syntax error\r\n");
    c.check(
        "bitcount s a b",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check(
        "bitcount s 0 a bogus",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check("bitcount s 0 1 bogus", b"-ERR syntax error\r\n");
    c.check("bitcount s 0 1 bit extra", b"-ERR syntax error\r\n");
    c.check("set e \"\"", b"+OK\r\n");
    c.check("bitcount e", b":0\r\n");
    c.check(
        "bitcount",
        b"-ERR wrong number of arguments for 'bitcount' command\r\n",
    );
    // BITPOS
    c.check("bitpos s 1", b":1\r\n");
    c.check("bitpos s 0", b":0\r\n");
    c.check("bitpos s 1 2", b":17\r\n");
    c.check("bitpos s 0 2 -1", b":16\r\n");
    c.check("bitpos s 1 7 15 bit", b":9\r\n");
    c.check("bitpos s 0 7 15 bit", b":7\r\n");
    c.check("bitpos s 1 -1 -2 bit", b":-1\r\n");
    c.check("set ff \\xff\\xff\\xff", b"+OK\r\n");
    c.check("bitpos ff 0", b":24\r\n");
    c.check("bitpos ff 0 1", b":24\r\n");
    c.check("bitpos ff 0 0 -1", b":-1\r\n");
    c.check("bitpos ff 0 0 -1 bit", b":-1\r\n");
    c.check("bitpos ff 1 -1", b":16\r\n");
    c.check("set zz \\x00\\x00\\x00", b"+OK\r\n");
    c.check("bitpos zz 1", b":-1\r\n");
    c.check("bitpos zz 0 1", b":8\r\n");
    c.check("bitpos zz 1 0 -1 bit", b":-1\r\n");
    c.check("bitpos e 0", b":-1\r\n");
    c.check("bitpos e 1", b":-1\r\n");
    c.check("bitpos missing 1", b":-1\r\n");
    c.check("bitpos missing 0", b":0\r\n");
    c.check("bitpos missing 1 bogus", b":-1\r\n");
    c.check(
        "bitpos missing 2",
        b"-ERR The bit argument must be 1 or 0.\r\n",
    );
    c.check("bitpos s 2", b"-ERR The bit argument must be 1 or 0.\r\n");
    c.check(
        "bitpos s x",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check(
        "bitpos s 1 a",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check("bitpos s 1 0 a bogus", b"-ERR syntax error\r\n");
    c.check("bitpos s 1 0 1 bogus", b"-ERR syntax error\r\n");
    c.check("bitpos s 0 -1 -2 bogus", b"-ERR syntax error\r\n");
    c.check("bitpos s 1 0 1 bit extra", b"-ERR syntax error\r\n");
    c.check(
        "bitpos s",
        b"-ERR wrong number of arguments for 'bitpos' command\r\n",
    );
}

/// BITOP: each operation, missing sources as empty strings, an empty result deletes the destination,
/// the destination loses its TTL, NOT takes one source.
#[test]
fn bitop_answers_as_redis() {
    let server = TestServer::start();
    let mut c = Client::connect(&server);
    c.check("set a1 \\x0f\\xf0abc", b"+OK\r\n");
    c.check("set a2 \\xff\\x00", b"+OK\r\n");
    c.check("bitop AND d a1 a2", b":5\r\n");
    c.check("get d", b"$5\r\n\x0f\x00\x00\x00\x00\r\n");
    c.check("bitop or d a1 a2", b":5\r\n");
    c.check("get d", b"$5\r\n\xff\xf0abc\r\n");
    c.check("bitop Xor d a1 a2 missing", b":5\r\n");
    c.check("get d", b"$5\r\n\xf0\xf0abc\r\n");
    c.check("bitop NOT d a1", b":5\r\n");
    c.check("get d", b"$5\r\n\xf0\x0f\x9e\x9d\x9c\r\n");
    c.check("bitop and d a1 missing", b":5\r\n");
    c.check("get d", b"$5\r\n\x00\x00\x00\x00\x00\r\n");
    c.check("bitop not d missing", b":0\r\n");
    c.check("exists d", b":0\r\n");
    c.check("set d x EX 100", b"+OK\r\n");
    c.check("bitop or d a2", b":2\r\n");
    c.check("ttl d", b":-1\r\n");
    c.check("get d", b"$2\r\n\xff\x00\r\n");
    c.check("bitop or d missing other", b":0\r\n");
    c.check("exists d", b":0\r\n");
    c.check("bitop or a1 a1 a2", b":5\r\n");
    c.check("get a1", b"$5\r\n\xff\xf0abc\r\n");
    c.check("bitop foo d a1", b"-ERR syntax error\r\n");
    c.check(
        "bitop not d a1 a2",
        b"-ERR BITOP NOT must be called with a single source key.\r\n",
    );
    c.check(
        "bitop not d",
        b"-ERR wrong number of arguments for 'bitop' command\r\n",
    );
    c.check(
        "bitop and d",
        b"-ERR wrong number of arguments for 'bitop' command\r\n",
    );
}

/// BITFIELD: WRAP/SAT/FAIL on SET and INCRBY at the type limits (i64, u63 included), `#` offsets, a
/// FAIL still creating and growing the key, GET-only requests writing nothing, BITFIELD_RO.
#[test]
fn bitfield_overflows_answer_as_redis() {
    let server = TestServer::start();
    let mut c = Client::connect(&server);
    c.check(
        "bitfield mykey INCRBY u2 100 1 OVERFLOW SAT incrby u2 102 1",
        b"*2\r\n:1\r\n:1\r\n",
    );
    c.check(
        "bitfield mykey INCRBY u2 100 1 OVERFLOW SAT incrby u2 102 1",
        b"*2\r\n:2\r\n:2\r\n",
    );
    c.check(
        "bitfield mykey INCRBY u2 100 1 OVERFLOW SAT incrby u2 102 1",
        b"*2\r\n:3\r\n:3\r\n",
    );
    c.check(
        "bitfield mykey INCRBY u2 100 1 OVERFLOW SAT incrby u2 102 1",
        b"*2\r\n:0\r\n:3\r\n",
    );
    c.check(
        "bitfield mykey OVERFLOW FAIL incrby u2 102 1",
        b"*1\r\n$-1\r\n",
    );
    c.check(
        "get mykey",
        b"$13\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\r\n",
    );
    c.check("bitfield k SET i8 0 -100 GET i8 0 GET u8 0 INCRBY i8 0 -100 INCRBY i8 0 -100 OVERFLOW SAT INCRBY i8 0 -100", b"*6\r\n:0\r\n:-100\r\n:156\r\n:56\r\n:-44\r\n:-128\r\n");
    c.check("bitfield k OVERFLOW WRAP SET i8 #1 200 GET i8 #1 OVERFLOW SAT SET i8 #2 200 GET i8 #2 OVERFLOW FAIL SET i8 #3 200 GET i8 #3", b"*6\r\n:0\r\n:-56\r\n:0\r\n:127\r\n$-1\r\n:0\r\n");
    c.check("bitfield k SET i64 0 -9223372036854775808 INCRBY i64 0 -1 OVERFLOW SAT INCRBY i64 0 -1 OVERFLOW FAIL INCRBY i64 0 -1", b"*4\r\n:-9166937403535917056\r\n:9223372036854775807\r\n:9223372036854775806\r\n:9223372036854775805\r\n");
    c.check("bitfield k SET u63 0 9223372036854775807 GET u63 0 INCRBY u63 0 1 OVERFLOW SAT INCRBY u63 0 5", b"*4\r\n:4611686018427387902\r\n:9223372036854775807\r\n:0\r\n:5\r\n");
    c.check("bitfield k SET i8 0 -9223372036854775808 OVERFLOW SAT SET i8 8 -9223372036854775808 GET i8 0 GET i8 8", b"*4\r\n:0\r\n:0\r\n:0\r\n:127\r\n");
    c.check(
        "bitfield k SET u1 7 1 Get u4 4 InCrBy u3 #10 3 OVERFLOW Fail incrby u3 #10 7",
        b"*4\r\n:0\r\n:1\r\n:3\r\n$-1\r\n",
    );
    c.check("get k", b"$8\r\n\x01\x7f\x00\x01\x80\x00\x00\x0b\r\n");
    c.check(
        "bitfield failed OVERFLOW FAIL SET u8 0 1000 SET u8 64 1000",
        b"*2\r\n$-1\r\n$-1\r\n",
    );
    c.check(
        "get failed",
        b"$9\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00\r\n",
    );
    c.check(
        "bitfield missing GET u8 0 GET i64 100",
        b"*2\r\n:0\r\n:0\r\n",
    );
    c.check("exists missing", b":0\r\n");
    c.check("bitfield missing", b"*0\r\n");
    c.check("set num 255", b"+OK\r\n");
    c.check(
        "bitfield num GET u8 0 GET u16 0 SET u8 0 65",
        b"*3\r\n:50\r\n:12853\r\n:50\r\n",
    );
    c.check("get num", b"$3\r\nA55\r\n");
    c.check("set t abc EX 100", b"+OK\r\n");
    c.check("bitfield t INCRBY u8 0 1", b"*1\r\n:98\r\n");
    c.check("ttl t", b":100\r\n");
    c.check("get t", b"$3\r\nbbc\r\n");
    c.check("bitfield x GET", b"-ERR syntax error\r\n");
    c.check("bitfield x GET u8", b"-ERR syntax error\r\n");
    c.check("bitfield x FOO", b"-ERR syntax error\r\n");
    c.check("bitfield x OVERFLOW", b"-ERR syntax error\r\n");
    c.check(
        "bitfield x OVERFLOW bogus GET u8 0",
        b"-ERR Invalid OVERFLOW type specified\r\n",
    );
    c.check("bitfield x GET u64 0", b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n");
    c.check("bitfield x GET i65 0", b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n");
    c.check("bitfield x GET i0 0", b"-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n");
    c.check(
        "bitfield x GET u8 -1",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "bitfield x GET u8 #-1",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "bitfield x GET u8 4294967296",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "bitfield x GET u8 0 GET u8 x",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check(
        "bitfield x SET u8 0 abc",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check(
        "bitfield x INCRBY u8 0 1.5",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check("bitfield x GET u8 0 bogus", b"-ERR syntax error\r\n");
    c.check(
        "bitfield",
        b"-ERR wrong number of arguments for 'bitfield' command\r\n",
    );
    c.check(
        "bitfield_ro k GET u8 0 GET i4 #3 OVERFLOW SAT",
        b"*2\r\n:1\r\n:-1\r\n",
    );
    c.check("bitfield_ro missing GET u8 0", b"*1\r\n:0\r\n");
    c.check("bitfield_ro missing", b"*0\r\n");
    c.check(
        "bitfield_ro k SET u8 0 1",
        b"-ERR BITFIELD_RO only supports the GET subcommand\r\n",
    );
    c.check(
        "bitfield_ro k INCRBY u8 0 1",
        b"-ERR BITFIELD_RO only supports the GET subcommand\r\n",
    );
    c.check(
        "bitfield_ro k SET u8 0 abc",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check(
        "bitfield_ro k SET u8 0 1 GET u8 x",
        b"-ERR bit offset is not an integer or out of range\r\n",
    );
    c.check("bitfield_ro k GET", b"-ERR syntax error\r\n");
    c.check(
        "bitfield_ro",
        b"-ERR wrong number of arguments for 'bitfield_ro' command\r\n",
    );
}

/// PFADD/PFCOUNT/PFMERGE: the stored bytes are Redis's (sparse encoding, cached cardinality and its
/// invalid bit), strings that are not HyperLogLogs, a corrupted one, TTL kept.
#[test]
fn hyperloglog_values_and_errors_are_redis_bytes() {
    let server = TestServer::start();
    let mut c = Client::connect(&server);
    c.check("pfadd h", b":1\r\n");
    c.check(
        "get h",
        b"$18\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\r\n",
    );
    c.check("pfadd h", b":0\r\n");
    c.check("pfcount h", b":0\r\n");
    c.check("pfadd h a b c", b":1\r\n");
    c.check("get h", b"$27\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ\r\n");
    c.check("pfadd h b", b":0\r\n");
    c.check("pfcount h", b":3\r\n");
    c.check("get h", b"$27\r\nHYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00`\xf3\x80P\xb1\x84K\xfb\x80BZ\r\n");
    c.check("pfadd h2 c d", b":1\r\n");
    c.check("pfcount h h2", b":4\r\n");
    c.check("pfcount h missing", b":3\r\n");
    c.check("pfcount missing", b":0\r\n");
    c.check("pfcount missing other", b":0\r\n");
    c.check("pfmerge m h h2", b"+OK\r\n");
    c.check("get m", b"$30\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\\{\x80Dv\x80P\xb1\x84K\xfb\x80BZ\r\n");
    c.check("pfcount m", b":4\r\n");
    c.check("pfmerge empty", b"+OK\r\n");
    c.check(
        "get empty",
        b"$18\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff\r\n",
    );
    c.check("pfmerge h", b"+OK\r\n");
    c.check("get h", b"$27\r\nHYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ\r\n");
    c.check("set s foobar", b"+OK\r\n");
    c.check(
        "pfadd s a",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    c.check(
        "pfcount s",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    c.check(
        "pfcount h s",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    c.check(
        "pfmerge s h",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    c.check(
        "pfmerge h s",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    c.check("set n 123", b"+OK\r\n");
    c.check(
        "pfadd n a",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    c.check(
        "set corrupt HYLL\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x80\\x00",
        b"+OK\r\n",
    );
    c.check(
        "pfcount corrupt",
        b"-INVALIDOBJ Corrupted HLL object detected\r\n",
    );
    c.check(
        "pfadd corrupt a",
        b"-INVALIDOBJ Corrupted HLL object detected\r\n",
    );
    c.check(
        "get corrupt",
        b"$17\r\nHYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x00\r\n",
    );
    c.check("pfadd corrupt", b":0\r\n");
    c.check(
        "pfcount h corrupt",
        b"-INVALIDOBJ Corrupted HLL object detected\r\n",
    );
    c.check(
        "pfcount corrupt s",
        b"-INVALIDOBJ Corrupted HLL object detected\r\n",
    );
    c.check(
        "pfmerge d h corrupt",
        b"-INVALIDOBJ Corrupted HLL object detected\r\n",
    );
    c.check(
        "pfmerge d s corrupt",
        b"-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n",
    );
    c.check("exists d", b":0\r\n");
    c.check(
        "set cached HYLL\\x01\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00",
        b"+OK\r\n",
    );
    c.check("pfcount cached", b":3\r\n");
    c.check("pfadd ttl a", b":1\r\n");
    c.check("expire ttl 100", b":1\r\n");
    c.check("pfadd ttl b", b":1\r\n");
    c.check("ttl ttl", b":100\r\n");
    c.check("pfcount ttl", b":2\r\n");
    c.check("ttl ttl", b":100\r\n");
    c.check("pfmerge ttl h", b"+OK\r\n");
    c.check("ttl ttl", b":100\r\n");
    c.check(
        "pfadd",
        b"-ERR wrong number of arguments for 'pfadd' command\r\n",
    );
    c.check(
        "pfcount",
        b"-ERR wrong number of arguments for 'pfcount' command\r\n",
    );
    c.check(
        "pfmerge",
        b"-ERR wrong number of arguments for 'pfmerge' command\r\n",
    );
}

/// GETRANGE/SUBSTR ranges; SETRANGE padding, empty values, the 512MB limit and TTL kept.
#[test]
fn getrange_substr_setrange_answer_as_redis() {
    let server = TestServer::start();
    let mut c = Client::connect(&server);
    c.check("set s This\\x20is\\x20a\\x20string", b"+OK\r\n");
    c.check("getrange s 0 3", b"$4\r\nThis\r\n");
    c.check("getrange s -3 -1", b"$3\r\ning\r\n");
    c.check("getrange s 0 -1", b"$16\r\nThis is a string\r\n");
    c.check("getrange s 10 100", b"$6\r\nstring\r\n");
    c.check("getrange s -1 -5", b"$0\r\n\r\n");
    c.check("getrange s 5 3", b"$0\r\n\r\n");
    c.check("getrange s -100 -50", b"$1\r\nT\r\n");
    c.check("getrange s 100 200", b"$0\r\n\r\n");
    c.check(
        "getrange s -9223372036854775808 9223372036854775807",
        b"$16\r\nThis is a string\r\n",
    );
    c.check("getrange missing 0 -1", b"$0\r\n\r\n");
    c.check(
        "getrange s a 1",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check(
        "getrange s 1 b",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check(
        "getrange missing a b",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check("substr s 0 3", b"$4\r\nThis\r\n");
    c.check("substr s -1 -1", b"$1\r\ng\r\n");
    c.check("set n 12345", b"+OK\r\n");
    c.check("getrange n 1 2", b"$2\r\n23\r\n");
    c.check("set e \"\"", b"+OK\r\n");
    c.check("getrange e 0 -1", b"$0\r\n\r\n");
    c.check(
        "getrange s 0",
        b"-ERR wrong number of arguments for 'getrange' command\r\n",
    );
    c.check(
        "substr s 0",
        b"-ERR wrong number of arguments for 'substr' command\r\n",
    );
    c.check("setrange k 5 hello", b":10\r\n");
    c.check("get k", b"$10\r\n\x00\x00\x00\x00\x00hello\r\n");
    c.check("setrange k 0 \"\"", b":10\r\n");
    c.check("setrange k 0 HE", b":10\r\n");
    c.check("get k", b"$10\r\nHE\x00\x00\x00hello\r\n");
    c.check("setrange k 8 XYZW", b":12\r\n");
    c.check("get k", b"$12\r\nHE\x00\x00\x00helXYZW\r\n");
    c.check("setrange missing 5 \"\"", b":0\r\n");
    c.check("exists missing", b":0\r\n");
    c.check("setrange k -1 x", b"-ERR offset is out of range\r\n");
    c.check(
        "setrange k a x",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check(
        "setrange k 536870912 x",
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    );
    c.check(
        "setrange k 536870911 xy",
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    );
    c.check(
        "setrange k 9223372036854775807 x",
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    );
    c.check("setrange k 536870912 \"\"", b":12\r\n");
    c.check(
        "setrange new 536870912 x",
        b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n",
    );
    c.check("exists new", b":0\r\n");
    c.check("set t abc EX 100", b"+OK\r\n");
    c.check("setrange t 1 X", b":3\r\n");
    c.check("ttl t", b":100\r\n");
    c.check("get t", b"$3\r\naXc\r\n");
    c.check("setrange n 1 x", b":5\r\n");
    c.check("get n", b"$5\r\n1x345\r\n");
    c.check(
        "setrange k 0",
        b"-ERR wrong number of arguments for 'setrange' command\r\n",
    );
}

/// LCS: the string, LEN, IDX with MINMATCHLEN and WITHMATCHLEN, missing keys, errors.
#[test]
fn lcs_answers_as_redis() {
    let server = TestServer::start();
    let mut c = Client::connect(&server);
    c.check("mset key1 ohmytext key2 mynewtext", b"+OK\r\n");
    c.check("lcs key1 key2", b"$6\r\nmytext\r\n");
    c.check("lcs key1 key2 LEN", b":6\r\n");
    c.check("lcs key1 key2 IDX", b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n");
    c.check("lcs key1 key2 IDX MINMATCHLEN 4", b"*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n");
    c.check("lcs key1 key2 IDX MINMATCHLEN 4 WITHMATCHLEN", b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n");
    c.check("lcs key1 key2 idx withmatchlen", b"*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n");
    c.check("lcs key1 key2 IDX MINMATCHLEN -5", b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n");
    c.check("lcs key1 key2 WITHMATCHLEN", b"$6\r\nmytext\r\n");
    c.check("lcs key1 key2 LEN WITHMATCHLEN", b":6\r\n");
    c.check("lcs key1 key2 LEN LEN", b":6\r\n");
    c.check("lcs key1 missing", b"$0\r\n\r\n");
    c.check(
        "lcs key1 missing IDX",
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
    );
    c.check("lcs missing other LEN", b":0\r\n");
    c.check("lcs key2 key1 IDX WITHMATCHLEN", b"*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:5\r\n:8\r\n*2\r\n:4\r\n:7\r\n:4\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:2\r\n:3\r\n:2\r\n$3\r\nlen\r\n:6\r\n");
    c.check("mset a GTTCCTAATA b CGATAATTGAGA", b"+OK\r\n");
    c.check("lcs a b", b"$6\r\nCTAATA\r\n");
    c.check("lcs a b IDX WITHMATCHLEN", b"*4\r\n$7\r\nmatches\r\n*4\r\n*3\r\n*2\r\n:9\r\n:9\r\n*2\r\n:11\r\n:11\r\n:1\r\n*3\r\n*2\r\n:8\r\n:8\r\n*2\r\n:7\r\n:7\r\n:1\r\n*3\r\n*2\r\n:5\r\n:7\r\n*2\r\n:3\r\n:5\r\n:3\r\n*3\r\n*2\r\n:4\r\n:4\r\n*2\r\n:0\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n");
    c.check(
        "lcs b a IDX WITHMATCHLEN MINMATCHLEN 2",
        b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:6\r\n",
    );
    c.check("mset a \\x00\\xff\\x00x b x\\x00\\xff", b"+OK\r\n");
    c.check("lcs a b", b"$2\r\n\x00\xff\r\n");
    c.check("lcs a b IDX WITHMATCHLEN", b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:0\r\n:1\r\n*2\r\n:1\r\n:2\r\n:2\r\n$3\r\nlen\r\n:2\r\n");
    c.check(
        "lcs key1 key2 LEN IDX",
        b"-ERR If you want both the length and indexes, please just use IDX.\r\n",
    );
    c.check("lcs key1 key2 MINMATCHLEN", b"-ERR syntax error\r\n");
    c.check(
        "lcs key1 key2 MINMATCHLEN x",
        b"-ERR value is not an integer or out of range\r\n",
    );
    c.check("lcs key1 key2 bogus", b"-ERR syntax error\r\n");
    c.check(
        "lcs key1",
        b"-ERR wrong number of arguments for 'lcs' command\r\n",
    );
}

/// RESP3: LCS IDX is a map, a refused BITFIELD write is a RESP3 null.
#[test]
fn resp3_shapes() {
    let server = TestServer::start();
    let mut c = Client::connect(&server);
    c.check("mset key1 ohmytext key2 mynewtext", b"+OK\r\n");
    c.discard("HELLO 3");
    c.check("lcs key1 key2 IDX WITHMATCHLEN", b"%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n*3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n");
    c.check(
        "lcs key1 missing IDX",
        b"%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
    );
    c.check(
        "bitfield bf OVERFLOW FAIL INCRBY u2 100 10 GET u2 100",
        b"*2\r\n_\r\n:0\r\n",
    );
}

/// FNV-1a 64 of a value, to compare 12304-byte HyperLogLogs with redis-server's compactly.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn elements(prefix: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|index| format!("{prefix}{index}")).collect()
}

/// 10,000 elements: the same counts and the same (dense) bytes as redis-server after the same
/// commands, through the `redis` crate; a sparse value promoted to dense on the way, PFMERGE and
/// the union count.
#[test]
fn ten_thousand_elements_count_as_in_redis() {
    let server = TestServer::start();
    let mut connection = server.client();
    let added: i64 = connection.pfadd("big", elements("e", 0..10_000)).unwrap();
    assert_eq!(added, 1);
    let count: i64 = connection.pfcount("big").unwrap();
    assert_eq!(count, 9973);
    let value: Vec<u8> = connection.get("big").unwrap();
    assert_eq!((value.len(), value[4]), (12304, 0), "dense");
    assert_eq!(fnv(&value), 0x9114_1a08_52dc_0034);
    for start in (0..2000).step_by(500) {
        let added: i64 = connection
            .pfadd("mid", elements("m", start..start + 500))
            .unwrap();
        assert_eq!(added, 1);
    }
    let value: Vec<u8> = connection.get("mid").unwrap();
    assert_eq!((value.len(), value[4]), (12304, 0), "promoted to dense");
    let count: i64 = connection.pfcount("mid").unwrap();
    assert_eq!(count, 2008);
    let value: Vec<u8> = connection.get("mid").unwrap();
    assert_eq!(fnv(&value), 0x62ac_2e57_4618_4547);
    let union: i64 = connection.pfcount(&["big", "mid"]).unwrap();
    assert_eq!(union, 11987);
    let () = connection.pfmerge("union", &["big", "mid"]).unwrap();
    let count: i64 = connection.pfcount("union").unwrap();
    assert_eq!(count, 11987);
    let value: Vec<u8> = connection.get("union").unwrap();
    assert_eq!(fnv(&value), 0x9baa_eca9_6c65_419b);
    let _: i64 = connection.pfadd("small", elements("s", 0..100)).unwrap();
    let value: Vec<u8> = connection.get("small").unwrap();
    assert_eq!((value.len(), value[4]), (285, 1), "still sparse");
    let () = connection.pfmerge("small2", &["small", "mid"]).unwrap();
    let value: Vec<u8> = connection.get("small2").unwrap();
    assert_eq!(value[4], 0, "a dense source makes a dense result");
    let count: i64 = connection.pfcount("small2").unwrap();
    assert_eq!(count, 2107);
}

/// redis-py's own methods for these commands, against this server (answers as redis-server's).
#[test]
fn redis_py_methods_work() {
    let Some(python) = common::redis_py() else {
        return;
    };
    let server = TestServer::start();
    let script = format!(
        "import redis\n\
         r = redis.Redis(host='127.0.0.1', port={port}, socket_timeout=10)\n\
         print(r.setbit('b', 7, 1), r.getbit('b', 7), r.bitcount('b'), r.bitpos('b', 1))\n\
         print(r.bitop('OR', 'd', 'b', 'missing'), r.get('d'))\n\
         print(r.bitfield('f').overflow('SAT').incrby('u4', 0, 20).get('u4', 0).execute())\n\
         print(r.bitfield_ro('f', 'u4', 0, [('i4', 4)]))\n\
         print(r.pfadd('h', *range(1000)), r.pfcount('h'), r.pfmerge('m', 'h'), r.pfcount('m', 'h'))\n\
         r.mset({{'k1': 'ohmytext', 'k2': 'mynewtext'}})\n\
         print(r.lcs('k1', 'k2'), r.lcs('k1', 'k2', len=True))\n\
         print(r.lcs('k1', 'k2', idx=True, minmatchlen=4, withmatchlen=True))\n\
         print(r.setrange('s', 3, 'abc'), r.getrange('s', 2, -1), r.substr('s', 0, 3))\n",
        port = server.addr.port()
    );
    let output = std::process::Command::new(python)
        .args(["-c", &script])
        .output()
        .expect("run python");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // What the same script prints against redis-server 7.0.15.
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "0 1 1 7\n\
         1 b'\\x01'\n\
         [15, 15]\n\
         [15, 0]\n\
         1 1001 True 1001\n\
         b'mytext' 6\n\
         [b'matches', [[[4, 7], [5, 8], 4]], b'len', 6]\n\
         6 b'\\x00abc' b'\\x00\\x00\\x00a'\n"
    );
}

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

/// A 3-member cluster: PFADD through one member, PFCOUNT through the others, every replica holding
/// the same bytes (PFCOUNT's cached cardinality included, since it is replicated as a write);
/// bitmaps written through one member and read through another; BITOP, PFCOUNT, PFMERGE and LCS
/// over keys of different slots answer CROSSSLOT, and work with a hash tag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_members_agree_on_bitmaps_and_hyperloglogs() {
    within(Duration::from_secs(240), "the test", async {
        let cluster = TestCluster::start(3, SETTINGS).await;
        let mut members = Vec::new();
        for ordinal in 0..3 {
            members.push(cluster.redis(ordinal).await);
        }

        let added: i64 = query_retrying(
            &mut members[0],
            redis::cmd("PFADD")
                .arg("visitors")
                .arg(elements("e", 0..10_000)),
        )
        .await
        .expect("PFADD");
        assert_eq!(added, 1);
        for ordinal in [1, 2, 0] {
            let count: i64 =
                query_retrying(&mut members[ordinal], redis::cmd("PFCOUNT").arg("visitors"))
                    .await
                    .expect("PFCOUNT");
            assert_eq!(count, 9973, "PFCOUNT through member {ordinal}");
        }
        let leader_bytes: Vec<u8> =
            query_retrying(&mut members[1], redis::cmd("GET").arg("visitors"))
                .await
                .expect("GET");
        // redis-server's bytes after the same PFADD and PFCOUNT: dense, 9973 cached.
        assert_eq!(
            &leader_bytes[8..16],
            &[0xf5, 0x26, 0, 0, 0, 0, 0, 0],
            "cached 9973"
        );
        assert_eq!(fnv(&leader_bytes), 0x9114_1a08_52dc_0034);
        // Each member's own replica (READONLY reads) holds the same bytes, the cache included.
        for ordinal in 0..3 {
            let mut connection = cluster.redis(ordinal).await;
            let () = redis::cmd("READONLY")
                .query_async(&mut connection)
                .await
                .expect("READONLY");
            cluster_support::eventually(
                Duration::from_secs(30),
                "the replica holds the leader's bytes",
                || {
                    let mut connection = connection.clone();
                    let expected = leader_bytes.clone();
                    async move {
                        let value: Option<Vec<u8>> = redis::cmd("GET")
                            .arg("visitors")
                            .query_async(&mut connection)
                            .await
                            .ok()?;
                        (value == Some(expected)).then_some(())
                    }
                },
            )
            .await;
        }

        // Bitmaps: written through member 2, read through members 0 and 1.
        let previous: i64 = query_retrying(
            &mut members[2],
            redis::cmd("SETBIT").arg("flags").arg(1001).arg(1),
        )
        .await
        .expect("SETBIT");
        assert_eq!(previous, 0);
        let replies: Vec<Option<i64>> = query_retrying(
            &mut members[2],
            redis::cmd("BITFIELD")
                .arg("flags")
                .arg("OVERFLOW")
                .arg("FAIL")
                .arg("INCRBY")
                .arg("u2")
                .arg(0)
                .arg(5)
                .arg("SET")
                .arg("u8")
                .arg(8)
                .arg(255),
        )
        .await
        .expect("BITFIELD");
        assert_eq!(replies, [None, Some(0)]);
        for ordinal in [0, 1] {
            let bit: i64 = query_retrying(
                &mut members[ordinal],
                redis::cmd("GETBIT").arg("flags").arg(1001),
            )
            .await
            .expect("GETBIT");
            assert_eq!(bit, 1, "GETBIT through member {ordinal}");
            let count: i64 =
                query_retrying(&mut members[ordinal], redis::cmd("BITCOUNT").arg("flags"))
                    .await
                    .expect("BITCOUNT");
            assert_eq!(count, 9);
            let fields: Vec<i64> = query_retrying(
                &mut members[ordinal],
                redis::cmd("BITFIELD_RO")
                    .arg("flags")
                    .arg("GET")
                    .arg("u8")
                    .arg(8),
            )
            .await
            .expect("BITFIELD_RO");
            assert_eq!(fields, [255]);
        }

        // Keys of different slots ("foo" 12182, "bar" 5061) are refused; a hash tag works.
        for command in [
            redis::cmd("BITOP").arg("AND").arg("foo").arg("bar").clone(),
            redis::cmd("BITOP").arg("OR").arg("{t}d").arg("foo").clone(),
            redis::cmd("PFCOUNT").arg("foo").arg("bar").clone(),
            redis::cmd("PFMERGE").arg("foo").arg("bar").clone(),
            redis::cmd("LCS").arg("foo").arg("bar").clone(),
        ] {
            let error = query_retrying::<redis::Value>(&mut members[0], &command)
                .await
                .expect_err("keys of two slots");
            assert_eq!(error.code(), Some("CROSSSLOT"), "{error}");
        }
        let () = query_retrying(
            &mut members[0],
            redis::cmd("MSET")
                .arg("{t}a")
                .arg(b"\x0f\xf0abc")
                .arg("{t}b")
                .arg(b"\xff\x00"),
        )
        .await
        .expect("MSET");
        let length: i64 = query_retrying(
            &mut members[1],
            redis::cmd("BITOP")
                .arg("XOR")
                .arg("{t}d")
                .arg("{t}a")
                .arg("{t}b"),
        )
        .await
        .expect("BITOP");
        assert_eq!(length, 5);
        let value: Vec<u8> = query_retrying(&mut members[2], redis::cmd("GET").arg("{t}d"))
            .await
            .expect("GET");
        assert_eq!(value, b"\xf0\xf0abc");
        let _: i64 = query_retrying(
            &mut members[2],
            redis::cmd("PFADD").arg("{t}h1").arg(elements("x", 0..100)),
        )
        .await
        .expect("PFADD");
        let _: i64 = query_retrying(
            &mut members[0],
            redis::cmd("PFADD").arg("{t}h2").arg(elements("x", 50..150)),
        )
        .await
        .expect("PFADD");
        let () = query_retrying(
            &mut members[1],
            redis::cmd("PFMERGE").arg("{t}u").arg("{t}h1").arg("{t}h2"),
        )
        .await
        .expect("PFMERGE");
        let count: i64 = query_retrying(&mut members[0], redis::cmd("PFCOUNT").arg("{t}u"))
            .await
            .expect("PFCOUNT");
        assert_eq!(count, 148);
        let common: Vec<u8> =
            query_retrying(&mut members[2], redis::cmd("LCS").arg("{t}a").arg("{t}d"))
                .await
                .expect("LCS");
        assert_eq!(common, b"\xf0abc");
    })
    .await;
}
