//! MULTI/EXEC/DISCARD/WATCH/UNWATCH on a single node: replies compared byte for byte with a real
//! `redis-server` (RESP2 and RESP3), redis-py's transactional pipelines, and optimistic locking
//! with WATCH under concurrent writers (no lost update).

mod common;

use std::time::Duration;

use common::{RawClient, RedisServer, TestServer};

/// Sends `script` (one request per line, space-separated) to both servers on fresh connections
/// and compares every reply. A line starting with `!` is sent by a second connection (another
/// client changing keys meanwhile); `~N` sleeps N milliseconds.
fn same_replies(ours: &TestServer, theirs: &RedisServer, protocol: u8, script: &str) {
    let (mut mine, mut reference) = (ours.raw(), theirs.raw());
    let (mut mine_other, mut reference_other) = (ours.raw(), theirs.raw());
    if protocol == 3 {
        mine.cmd(&["HELLO", "3"]);
        reference.cmd(&["HELLO", "3"]);
    }
    for line in script
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
    {
        if let Some(pause) = line.strip_prefix('~') {
            std::thread::sleep(Duration::from_millis(pause.parse().expect("ms")));
            continue;
        }
        let (client, reference_client, request) = match line.strip_prefix('!') {
            Some(request) => (&mut mine_other, &mut reference_other, request),
            None => (&mut mine, &mut reference, line),
        };
        let args: Vec<&str> = request.split(' ').collect();
        let (got, expected) = (client.cmd(&args), reference_client.cmd(&args));
        assert_eq!(got, expected, "RESP{protocol} reply to {request:?}");
    }
}

const CASES: &str = "
    FLUSHALL
    SET a 1
    MULTI
    INCR a
    GET a
    SET b x EX 100
    TTL b
    LPUSH b x
    SET c 1 BADOPTION
    EXEC
    EXEC
    DISCARD
    MULTI
    MULTI
    WATCH a
    INCR a
    NOSUCHCOMMAND
    GET
    EXEC
    GET a
    MULTI
    DISCARD
    GET a
    WATCH a b
    GET a
    !INCR a
    MULTI
    INCR a
    EXEC
    WATCH a
    MULTI
    INCR a
    EXEC
    WATCH a
    UNWATCH
    !INCR a
    MULTI
    GET a
    EXEC
    WATCH a
    !INCR a
    MULTI
    DISCARD
    MULTI
    GET a
    EXEC
    WATCH nosuch
    !SET other 1
    MULTI
    SET nosuch 1
    EXEC
    SET gone 1 PX 50
    WATCH gone
    ~120
    MULTI
    SET gone 2
    EXEC
    SET stale 1 PX 10
    ~50
    WATCH stale
    MULTI
    SET stale 2
    EXEC
    WATCH a
    !FLUSHALL
    MULTI
    SET a 1
    EXEC
    WATCH
    MULTI
    UNWATCH
    PING
    EXEC
";

#[test]
fn transactions_answer_as_redis_does() {
    let (ours, theirs) = (TestServer::start(), RedisServer::start());
    for protocol in [2, 3] {
        same_replies(&ours, &theirs, protocol, CASES);
    }
}

#[test]
fn a_watched_key_that_changes_and_changes_back_still_aborts_after_the_client_read_it() {
    let server = TestServer::start();
    let (mut client, mut other) = (server.raw(), server.raw());
    client.cmd(&["SET", "k", "A"]);
    client.cmd(&["WATCH", "k"]);
    other.cmd(&["SET", "k", "B"]);
    // The client decides on B …
    assert_eq!(client.cmd(&["GET", "k"]), common::bulk("B"));
    // … the value goes back to A before EXEC: applying a decision made on B would lose the
    // write of A.
    other.cmd(&["SET", "k", "A"]);
    client.cmd(&["MULTI"]);
    client.cmd(&["SET", "k", "from-B"]);
    assert_eq!(client.cmd(&["EXEC"]), "*-1\r\n");
    assert_eq!(client.cmd(&["GET", "k"]), common::bulk("A"));
}

#[test]
fn a_transaction_publishes_only_when_it_commits_and_after_its_writes() {
    let server = TestServer::start();
    let (mut client, mut other, mut subscriber) = (server.raw(), server.raw(), server.raw());
    subscriber.send(&RawClient::encode(&[b"SUBSCRIBE", b"changes"]));
    assert!(subscriber.reply().contains("subscribe"));
    // Aborted by WATCH: nothing of it happened, the message included (as in Redis).
    client.cmd(&["WATCH", "k"]);
    other.cmd(&["SET", "k", "theirs"]);
    client.cmd(&["MULTI"]);
    client.cmd(&["SET", "k", "mine"]);
    assert_eq!(client.cmd(&["PUBLISH", "changes", "k"]), "+QUEUED\r\n");
    assert_eq!(client.cmd(&["EXEC"]), "*-1\r\n");
    assert_eq!(
        subscriber.try_reply(Duration::from_millis(300)),
        None,
        "an aborted transaction published"
    );
    // Committed: the reply counts the receivers, the message arrives once, and a reader told
    // by it sees the write.
    client.cmd(&["MULTI"]);
    client.cmd(&["SET", "k", "mine"]);
    client.cmd(&["PUBLISH", "changes", "k"]);
    assert_eq!(client.cmd(&["EXEC"]), "*2\r\n+OK\r\n:1\r\n");
    let message = subscriber.reply();
    assert!(
        message.contains("changes") && message.ends_with("$1\r\nk\r\n"),
        "{message}"
    );
    assert_eq!(other.cmd(&["GET", "k"]), common::bulk("mine"));
    assert_eq!(
        subscriber.try_reply(Duration::from_millis(300)),
        None,
        "published twice"
    );
}

#[test]
fn a_pipelined_transaction_is_answered_in_one_batch() {
    let server = TestServer::start();
    let mut client = server.raw();
    let mut batch = Vec::new();
    for request in [
        &["MULTI"][..],
        &["SET", "p", "1"],
        &["INCR", "p"],
        &["EXEC"],
    ] {
        let args: Vec<&[u8]> = request.iter().map(|arg| arg.as_bytes()).collect();
        batch.extend(RawClient::encode(&args));
    }
    client.send(&batch);
    assert_eq!(client.reply(), common::OK);
    assert_eq!(client.reply(), "+QUEUED\r\n");
    assert_eq!(client.reply(), "+QUEUED\r\n");
    assert_eq!(client.reply(), "*2\r\n+OK\r\n:2\r\n");
}

/// redis-py: `pipeline()` is transactional by default; `transaction()` retries a WATCH-guarded
/// function until it commits. Eight threads increment one counter through WATCH/GET/MULTI/SET:
/// every committed increment is counted, aborted ones retried, and none is lost.
const REDIS_PY: &str = r#"
r.delete("{t}counter", "{t}a", "{t}b")
pipe = r.pipeline()
pipe.set("{t}a", 1).incr("{t}a").get("{t}a").rpush("{t}b", "x", "y").lrange("{t}b", 0, -1)
assert pipe.execute() == [True, 2, "2", 2, ["x", "y"]]
pipe = r.pipeline()
pipe.set("{t}a", 5).lpush("{t}a", "oops").get("{t}a")
try:
    pipe.execute()
    raise AssertionError("a command error inside the transaction must raise")
except redis.ResponseError as error:
    assert "WRONGTYPE" in str(error), error
assert r.get("{t}a") == "5", "the commands of a transaction apply even when one of them fails"

THREADS, EACH = 8, 40
aborted = [0]
lock = threading.Lock()
def worker():
    own = make_client()
    for _ in range(EACH):
        while True:
            try:
                with own.pipeline() as pipe:
                    pipe.watch("{t}counter")
                    value = int(pipe.get("{t}counter") or 0)
                    time.sleep(0.0005)
                    pipe.multi()
                    pipe.set("{t}counter", value + 1)
                    pipe.execute()
                    break
            except redis.WatchError:
                with lock:
                    aborted[0] += 1
threads = [threading.Thread(target=worker) for _ in range(THREADS)]
for thread in threads: thread.start()
for thread in threads: thread.join()
assert int(r.get("{t}counter")) == THREADS * EACH, (r.get("{t}counter"), aborted[0])
assert aborted[0] > 0, "concurrent writers must have made some transactions abort"
"#;

#[test]
fn redis_py_transactions_and_optimistic_locking() {
    let Some(python) = common::redis_py() else {
        return;
    };
    let server = TestServer::start();
    let port = server.addr.port();
    for protocol in [2, 3] {
        let program = format!(
            "import threading, time, redis\n\
             def make_client():\n    return redis.Redis(host='127.0.0.1', port={port}, decode_responses=True, protocol={protocol})\n\
             r = make_client()\n{REDIS_PY}\nprint('ok')\n"
        );
        common::run_python(&python, &program, &[]);
    }
}

#[test]
fn client_list_shows_a_transaction_in_progress() {
    let server = TestServer::start();
    let (mut client, mut observer) = (server.raw(), server.raw());
    client.cmd(&["CLIENT", "SETNAME", "queuer"]);
    client.cmd(&["MULTI"]);
    client.cmd(&["SET", "k", "v"]);
    client.cmd(&["INCR", "n"]);
    let line = |observer: &mut common::RawClient| {
        let list = observer.cmd(&["CLIENT", "LIST"]);
        list.lines()
            .find(|line| line.contains("name=queuer"))
            .map(str::to_owned)
            .expect("the client is listed")
    };
    let during = line(&mut observer);
    assert!(
        during.contains(" flags=x ") && during.contains(" multi=2 "),
        "{during}"
    );
    client.cmd(&["EXEC"]);
    let after = line(&mut observer);
    assert!(
        after.contains(" flags=N ") && after.contains(" multi=-1 "),
        "{after}"
    );
}
