//! Transactions and scripts in a 3-member cluster: redis-py through plain connections to every
//! member (so most are carried to the partition's leader) and through the cluster client;
//! WATCH-guarded increments from all members lose no update; a Lua token bucket admits exactly
//! its capacity; and with the leader of the partition killed mid-way, no transaction is ever
//! half-applied and every script is applied once.

mod cluster_support;
mod common;

use std::time::Duration;

use cluster_support::TestCluster;

fn settings() -> ringcache_admin::ClusterSettings {
    ringcache_admin::ClusterSettings {
        partitions: 8,
        replication_factor: 3,
    }
}

fn addresses(cluster: &TestCluster) -> Vec<String> {
    (0..3).map(|member| cluster.redis_address(member)).collect()
}

async fn run_python(python: std::path::PathBuf, program: String, args: Vec<String>) {
    tokio::task::spawn_blocking(move || common::run_python(&python, &program, &args))
        .await
        .expect("python");
}

const PRELUDE: &str = r#"
import sys, threading, time, redis, redis.cluster
def plain(address, protocol=2):
    host, port = address.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), decode_responses=True, protocol=protocol)
addresses = sys.argv[1:]
"#;

/// Plain clients on every member: transactional pipelines and WATCH-guarded increments whose
/// keys live in partitions led by other members.
const OPTIMISTIC: &str = r#"
r = plain(addresses[0])
pipe = r.pipeline()
pipe.set("{u}a", 1).incr("{u}a").get("{u}a").rpush("{u}l", "x")
assert pipe.execute() == [True, 2, "2", 1]
try:
    pipe = r.pipeline()
    pipe.set("{u}a", 1).set("{v}b", 2)
    pipe.execute()
    raise AssertionError("keys of two slots in one transaction must be refused")
except redis.ResponseError as error:
    assert isinstance(error, redis.exceptions.ClusterCrossSlotError), error

EACH = 25
aborted = [0]
lock = threading.Lock()
def worker(address, protocol, key):
    own = plain(address, protocol)
    for _ in range(EACH):
        while True:
            try:
                with own.pipeline() as pipe:
                    pipe.watch(key)
                    value = int(pipe.get(key) or 0)
                    time.sleep(0.001)
                    pipe.multi()
                    pipe.set(key, value + 1)
                    pipe.execute()
                    break
            except redis.WatchError:
                with lock:
                    aborted[0] += 1
keys = ["{c1}counter", "{c2}counter", "{c3}counter"]
threads = [threading.Thread(target=worker, args=(address, protocol, key))
           for address in addresses for protocol in (2, 3) for key in keys]
for thread in threads: thread.start()
for thread in threads: thread.join()
for key in keys:
    assert int(r.get(key)) == 6 * EACH, (key, r.get(key), aborted[0])
assert aborted[0] > 0, "concurrent writers on other members must have aborted some transactions"

# The cluster client sends a transaction to the slot's leader.
c = redis.cluster.RedisCluster(host=addresses[1].rsplit(":", 1)[0], port=int(addresses[1].rsplit(":", 1)[1]), decode_responses=True)
pipe = c.pipeline(transaction=True)
pipe.set("{w}x", 10).incrby("{w}x", 5).get("{w}x")
result = pipe.execute()
# (redis-py's cluster pipeline leaves SET's reply as "OK".)
assert result[0] in (True, "OK") and result[1:] == [15, "15"], result
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_through_every_member_lose_no_update() {
    let Some(python) = common::redis_py() else {
        return;
    };
    cluster_support::within(Duration::from_secs(180), "the test", async {
        let cluster = TestCluster::start(3, settings()).await;
        let program = format!("{PRELUDE}{OPTIMISTIC}\nprint('ok')\n");
        run_python(python, program, addresses(&cluster)).await;
        drop(cluster);
    })
    .await;
}

/// Runs `load` (Python after [`PRELUDE`], given the members' addresses and how many seconds to
/// run) for 8 s against a 3-member cluster, killing the leader of `{t}`'s partition after 3 s.
async fn run_while_the_leader_is_killed(python: std::path::PathBuf, load: &str) {
    cluster_support::within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::start(3, settings()).await;
        let partition = cluster_support::partition_of_key(8, b"t");
        let leader = cluster.leader_of(partition).await;
        let mut args = addresses(&cluster);
        args.push("8".to_owned());
        let program = format!("{PRELUDE}{load}\nprint('ok')\n");
        let running = tokio::spawn(run_python(python, program, args));
        tokio::time::sleep(Duration::from_secs(3)).await;
        cluster.kill(leader);
        running.await.expect("the load ran");
        drop(cluster);
    })
    .await;
}

/// Clients on every member run `MULTI; INCR {t}a; INCR {t}b; EXEC` in a loop while the test
/// kills the leader of `{t}`'s partition. Afterwards a and b are equal (no transaction applied
/// in part), at least every acknowledged transaction applied, and no more than were attempted.
const UNDER_FAILURE: &str = r#"
deadline = time.time() + float(addresses.pop())
acknowledged, uncertain = [0], [0]
lock = threading.Lock()
def worker(address):
    own = plain(address)
    while time.time() < deadline:
        try:
            pipe = own.pipeline()
            pipe.incr("{t}a").incr("{t}b")
            first, second = pipe.execute()
            assert first == second, (first, second)
            with lock: acknowledged[0] += 1
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as error:
            # Refused (TRYAGAIN, CLUSTERDOWN, a dead member) or of unknown outcome.
            with lock: uncertain[0] += 1
            time.sleep(0.05)
threads = [threading.Thread(target=worker, args=(address,)) for address in addresses for _ in range(2)]
for thread in threads: thread.start()
for thread in threads: thread.join()
for address in addresses:
    try:
        reader = plain(address)
        a, b = int(reader.get("{t}a")), int(reader.get("{t}b"))
        break
    except redis.ConnectionError:
        continue
assert a == b, ("half-applied transaction", a, b)
assert acknowledged[0] <= a <= acknowledged[0] + uncertain[0], (a, acknowledged[0], uncertain[0])
assert acknowledged[0] > 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_mid_way_leaves_no_transaction_half_applied() {
    let Some(python) = common::redis_py() else {
        return;
    };
    run_while_the_leader_is_killed(python, UNDER_FAILURE).await;
}

/// Scripts from plain connections to every member and from the cluster client: a token bucket
/// hammered from all members admits exactly its capacity; a script loaded on one member runs
/// by SHA1 on every member.
const SCRIPTS: &str = r#"
BUCKET = """
local tokens = tonumber(redis.call('GET', KEYS[1]) or ARGV[1])
if tokens < 1 then return 0 end
redis.call('SET', KEYS[1], tokens - 1)
return 1
"""
allowed = [0]
lock = threading.Lock()
def hammer(address, protocol):
    own = plain(address, protocol)
    limiter = own.register_script(BUCKET)
    for _ in range(20):
        if limiter(keys=["{b}tokens"], args=[50]) == 1:
            with lock: allowed[0] += 1
threads = [threading.Thread(target=hammer, args=(address, protocol)) for address in addresses for protocol in (2, 3)]
for thread in threads: thread.start()
for thread in threads: thread.join()
assert allowed[0] == 50, allowed[0]
sha = plain(addresses[0]).script_load("return 'everywhere'")
for address in addresses:
    assert plain(address).script_exists(sha) == [True], address
host, port = addresses[2].rsplit(":", 1)
c = redis.cluster.RedisCluster(host=host, port=int(port), decode_responses=True)
script = c.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
assert script(keys=["{s}n"], args=[5]) == 5
assert script(keys=["{s}n"], args=[5]) == 10
try:
    c.eval("return 1", 2, "{a}x", "{b}y")
    raise AssertionError("keys of two slots must be refused")
except redis.exceptions.RedisClusterException:
    pass
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_through_every_member_apply_atomically() {
    let Some(python) = common::redis_py() else {
        return;
    };
    cluster_support::within(Duration::from_secs(180), "the test", async {
        let cluster = TestCluster::start(3, settings()).await;
        let program = format!("{PRELUDE}{SCRIPTS}\nprint('ok')\n");
        run_python(python, program, addresses(&cluster)).await;
        drop(cluster);
    })
    .await;
}

/// Clients on every member run a script that increments a counter and appends the new value
/// to a log while the test kills the partition's leader: afterwards the log holds each counter
/// value exactly once (no script applied twice or in part).
const SCRIPTS_UNDER_FAILURE: &str = r#"
deadline = time.time() + float(addresses.pop())
STEP = "local n = redis.call('INCR', KEYS[1]) redis.call('RPUSH', KEYS[2], n) return n"
acknowledged, uncertain = [0], [0]
lock = threading.Lock()
def worker(address):
    own = plain(address)
    while time.time() < deadline:
        try:
            own.eval(STEP, 2, "{t}n", "{t}log")
            with lock: acknowledged[0] += 1
        except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError):
            with lock: uncertain[0] += 1
            time.sleep(0.05)
threads = [threading.Thread(target=worker, args=(address,)) for address in addresses for _ in range(2)]
for thread in threads: thread.start()
for thread in threads: thread.join()
for address in addresses:
    try:
        reader = plain(address)
        n, log = int(reader.get("{t}n")), [int(v) for v in reader.lrange("{t}log", 0, -1)]
        break
    except redis.ConnectionError:
        continue
assert log == list(range(1, n + 1)), ("a script applied twice or in part", n, log[-5:])
assert acknowledged[0] <= n <= acknowledged[0] + uncertain[0], (n, acknowledged[0], uncertain[0])
assert acknowledged[0] > 0
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_killed_mid_way_applies_every_script_once() {
    let Some(python) = common::redis_py() else {
        return;
    };
    run_while_the_leader_is_killed(python, SCRIPTS_UNDER_FAILURE).await;
}

/// Clients on every member write and read through transactions and scripts (and others with
/// plain SET/GET) while the leader of the keys' partition is killed: the recorded history is
/// linearizable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_and_scripts_stay_linearizable_across_a_leader_kill() {
    use cluster_support::load::{HistoryLoad, Style, assert_linearizable};
    cluster_support::within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::start(3, settings()).await;
        let partition = cluster_support::partition_of_key(8, b"h");
        let keys: Vec<String> = (0..4).map(|index| format!("{{h}}k{index}")).collect();
        let leader = cluster.leader_of(partition).await;
        let atomic = HistoryLoad::start_with(&cluster, &[0, 1, 2], 2, &keys, Style::Atomic);
        let plain = HistoryLoad::start(&cluster, &[0, 1, 2], 1, &keys);
        atomic
            .wait_for_writes(100, Duration::from_secs(30), "writes before the kill")
            .await;
        cluster.kill(leader);
        atomic
            .wait_for_writes(100, Duration::from_secs(30), "writes after the kill")
            .await;
        let mut history = atomic.finish().await;
        history.extend(plain.finish().await);
        assert_linearizable(&history);
        drop(cluster);
    })
    .await;
}
