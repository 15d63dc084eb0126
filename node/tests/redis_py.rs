//! redis-py, the most used Redis client, against a single node and against a 3-member cluster
//! through its cluster client (`redis.cluster.RedisCluster`, which routes by the slots the
//! members report): lists with a blocking pop, a sorted-set leaderboard, sets, hashes, and key
//! commands, with RESP2 and RESP3 connections.

mod cluster_support;
mod common;

use std::path::Path;
use std::time::Duration;

use common::TestServer;

/// Runs `script` with `client` bound to a redis-py client of the given kind.
fn run(python: &Path, client: &str, script: &str) {
    let program = format!(
        "import sys, threading, time, redis, redis.cluster\n{client}\n{script}\nprint('ok')\n"
    );
    common::run_python(python, &program, &[]);
}

/// Every key has the `{t}` hash tag, so multi-key commands stay in one slot in a cluster.
const SCRIPT: &str = r#"
r.delete("{t}queue", "{t}board", "{t}tags", "{t}user", "{t}copy", "{t}renamed")
# A queue: pushes, ranges, a blocking pop woken by a push from another thread.
assert r.rpush("{t}queue", "a", "b", "c") == 3
assert r.lrange("{t}queue", 0, -1) == ["a", "b", "c"]
assert r.lpop("{t}queue") == "a"
assert r.lmove("{t}queue", "{t}queue", "LEFT", "RIGHT") == "b"
assert r.lrange("{t}queue", 0, -1) == ["c", "b"]
assert r.delete("{t}queue") == 1
pusher = threading.Timer(0.3, lambda: other.rpush("{t}queue", "late"))
pusher.start()
# RESP2 replies give tuples, RESP3 lists: compared as lists.
assert list(r.blpop(["{t}queue"], timeout=5)) == ["{t}queue", "late"]
assert r.blpop(["{t}queue"], timeout=0.1) is None
# A leaderboard.
r.zadd("{t}board", {"ann": 10, "bob": 20, "cid": 15})
assert r.zincrby("{t}board", 7.5, "ann") == 17.5
assert [list(p) for p in r.zrevrange("{t}board", 0, 1, withscores=True)] == [["bob", 20.0], ["ann", 17.5]]
assert r.zrank("{t}board", "cid") == 0
assert r.zrangebyscore("{t}board", 16, "+inf") == ["ann", "bob"]
# redis-py pairs it up in RESP2 and passes Redis 7's flat RESP3 reply through.
assert r.zpopmin("{t}board") in ([("cid", 15.0)], ["cid", 15.0])
assert list(r.bzpopmax(["{t}board"], timeout=1)) == ["{t}board", "bob", 20.0]
# Tags in a set, a profile in a hash.
assert r.sadd("{t}tags", "x", "y", "z") == 3
assert r.smembers("{t}tags") == {"x", "y", "z"}
assert r.hset("{t}user", mapping={"name": "ann", "visits": "1"}) == 2
assert r.hincrby("{t}user", "visits", 2) == 3
assert r.hgetall("{t}user") == {"name": "ann", "visits": "3"}
# Keys: copy, rename, dump and restore, type.
assert r.copy("{t}user", "{t}copy")
assert r.rename("{t}copy", "{t}renamed")
payload = r.dump("{t}renamed")
r.delete("{t}renamed")
assert r.restore("{t}renamed", 0, payload)
assert r.hgetall("{t}renamed") == {"name": "ann", "visits": "3"}
assert r.type("{t}tags") == "set" and r.type("{t}board") == "zset"
try:
    r.lpush("{t}user", "x")
    raise AssertionError("LPUSH on a hash must fail")
except redis.ResponseError as error:
    assert str(error).startswith("WRONGTYPE"), error
# A transactionless pipeline.
pipe = r.pipeline(transaction=False)
pipe.rpush("{t}queue", 1, 2).llen("{t}queue").zcard("{t}board")
assert pipe.execute() == [2, 2, 1]
"#;

#[test]
fn redis_py_single_node_resp2_and_resp3() {
    let Some(python) = common::redis_py() else {
        return;
    };
    let server = TestServer::start();
    let port = server.addr.port();
    for protocol in [2, 3] {
        let client = format!(
            "r = redis.Redis(host='127.0.0.1', port={port}, decode_responses=True, protocol={protocol})\n\
             other = redis.Redis(host='127.0.0.1', port={port}, decode_responses=True)"
        );
        run(&python, &client, SCRIPT);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_py_cluster_client_against_three_members() {
    let Some(python) = common::redis_py() else {
        return;
    };
    cluster_support::within(Duration::from_secs(120), "the test", async {
        let settings = ringcache_admin::ClusterSettings {
            partitions: 8,
            replication_factor: 3,
        };
        let cluster = cluster_support::TestCluster::start(3, settings).await;
        let (host, port) = cluster
            .redis_address(1)
            .split_once(':')
            .map(|(host, port)| (host.to_owned(), port.to_owned()))
            .expect("host:port");
        let client = format!(
            "r = redis.cluster.RedisCluster(host='{host}', port={port}, decode_responses=True)\n\
             other = redis.cluster.RedisCluster(host='{host}', port={port}, decode_responses=True)"
        );
        tokio::task::spawn_blocking(move || run(&python, &client, SCRIPT))
            .await
            .expect("python");
        drop(cluster);
    })
    .await;
}
