//! Pub/Sub on one node: every command's replies and pushes compared byte for byte with a real
//! redis-server 7.0 (RESP2 and RESP3), redis-py subscribers receiving what publishers send, and a
//! subscriber that never reads being cut off while the server's memory stays bounded.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{RawClient, RedisServer, TestServer};

/// One step of a script run against two connections: `(connection, command, replies)`; a
/// command of `[]` only reads (pushes another connection caused).
type Step = (usize, &'static [&'static str], usize);

/// Runs `steps` on two fresh connections to `addr` and returns every reply, raw, in order.
fn transcript(addr: SocketAddr, steps: &[Step]) -> Vec<String> {
    let mut connections = [RawClient::connect(addr), RawClient::connect(addr)];
    let mut replies = Vec::new();
    for (connection, command, count) in steps {
        let client = &mut connections[*connection];
        if !command.is_empty() {
            let args: Vec<&[u8]> = command.iter().map(|arg| arg.as_bytes()).collect();
            client.send(&RawClient::encode(&args));
        }
        for _ in 0..*count {
            replies.push(format!("{command:?} -> {}", client.reply()));
        }
    }
    replies
}

/// Both connections say `HELLO <protocol>` first (its reply, which names the server, is not
/// compared), then run `steps`.
fn compare(protocol: &str, steps: &[Step]) {
    let redis = RedisServer::start();
    let server = TestServer::start();
    let hello: &'static [&'static str] = if protocol == "3" {
        &["HELLO", "3"]
    } else {
        &["HELLO", "2"]
    };
    let mut script: Vec<Step> = vec![(0, hello, 1), (1, hello, 1)];
    script.extend_from_slice(steps);
    let expected = transcript(redis.addr, &script);
    let actual = transcript(server.addr, &script);
    for (index, (expected, actual)) in expected.iter().zip(&actual).enumerate().skip(2) {
        assert_eq!(actual, expected, "RESP{protocol}, reply {index}");
    }
    assert_eq!(actual.len(), expected.len());
}

/// Commands and their replies in both protocols. Unsubscribing from everything lists channels
/// in hash order in Redis, so each such step leaves one channel only.
const SCRIPT: &[Step] = &[
    (0, &["UNSUBSCRIBE"], 1),
    (0, &["PUNSUBSCRIBE"], 1),
    (0, &["SUNSUBSCRIBE"], 1),
    (0, &["SUBSCRIBE", "a", "b", "a"], 3),
    (0, &["PSUBSCRIBE", "n*", "h?llo"], 2),
    (0, &["SSUBSCRIBE", "s1", "s2"], 2),
    (0, &["PING"], 1),
    (0, &["PING", "hi"], 1),
    (0, &["GET", "x"], 1),
    (0, &["CONFIG", "GET", "maxmemory"], 1),
    (0, &["ECHO", "x"], 1),
    (0, &["SUBSCRIBE"], 1),
    (1, &["PUBLISH", "a", "first"], 1),
    (0, &[], 1),
    (1, &["PUBLISH", "news", "second"], 1),
    (0, &[], 1),
    (1, &["PUBLISH", "hello", "third"], 1),
    (0, &[], 1),
    (1, &["PUBLISH", "nothing", "x"], 1),
    (1, &["SPUBLISH", "s2", "sharded"], 1),
    (0, &[], 1),
    (1, &["SPUBLISH", "a", "not a shard channel"], 1),
    (1, &["PUBSUB", "NUMSUB", "a", "b", "nothing"], 1),
    (1, &["PUBSUB", "NUMSUB"], 1),
    (1, &["PUBSUB", "NUMPAT"], 1),
    (1, &["PUBSUB", "CHANNELS", "a*"], 1),
    (1, &["PUBSUB", "CHANNELS", "zz*"], 1),
    (1, &["PUBSUB", "SHARDCHANNELS", "s1"], 1),
    (1, &["PUBSUB", "SHARDNUMSUB", "s1", "a"], 1),
    (1, &["PUBSUB", "HELP"], 1),
    (1, &["PUBSUB", "NOSUCH"], 1),
    (1, &["PUBSUB", "CHANNELS", "a", "b"], 1),
    (1, &["PUBSUB", "NUMPAT", "x"], 1),
    (1, &["PUBSUB", "HELP", "x"], 1),
    (1, &["PUBSUB", "SHARDCHANNELS", "a", "b"], 1),
    (1, &["PUBSUB", "SHARDNUMSUB"], 1),
    (1, &["PUBSUB"], 1),
    (1, &["PUBLISH", "a"], 1),
    (1, &["SPUBLISH", "a"], 1),
    (1, &["SUBSCRIBE"], 1),
    (1, &["PSUBSCRIBE"], 1),
    (1, &["SSUBSCRIBE"], 1),
    (0, &["UNSUBSCRIBE", "a", "never"], 2),
    (0, &["PUNSUBSCRIBE", "n*"], 1),
    (0, &["UNSUBSCRIBE"], 1),
    (0, &["PUNSUBSCRIBE"], 1),
    (0, &["SUNSUBSCRIBE", "s1"], 1),
    (0, &["PING"], 1),
    (0, &["SUNSUBSCRIBE"], 1),
    (0, &["PING"], 1),
    (0, &["GET", "x"], 1),
    // RESET leaves every subscription and goes back to RESP2.
    (0, &["SUBSCRIBE", "q"], 1),
    (0, &["RESET"], 1),
    (0, &["PING"], 1),
    (1, &["PUBLISH", "q", "lost"], 1),
    (0, &["UNSUBSCRIBE"], 1),
    (0, &["RESET", "extra"], 1),
];

#[test]
fn replies_match_redis_in_resp2() {
    compare("2", SCRIPT);
}

#[test]
fn replies_match_redis_in_resp3() {
    compare("3", SCRIPT);
}

/// RESP3 allows publishing while subscribed: the message to itself comes before the reply.
#[test]
fn a_resp3_subscriber_publishing_to_itself_matches_redis() {
    let steps: &[Step] = &[
        (0, &["SUBSCRIBE", "self"], 1),
        (0, &["PSUBSCRIBE", "s*"], 1),
        (0, &["PUBLISH", "self", "echo"], 3),
        (0, &["SPUBLISH", "self", "nobody"], 1),
        (0, &["SSUBSCRIBE", "self"], 1),
        (0, &["SPUBLISH", "self", "sharded"], 2),
        (0, &["GET", "self"], 1),
    ];
    compare("3", steps);
}

#[test]
fn output_limit_config_matches_redis() {
    let steps: &[Step] = &[
        (0, &["CONFIG", "GET", "client-output-buffer-limit"], 1),
        (
            0,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "pubsub 1mb 512kb 10",
            ],
            1,
        ),
        (0, &["CONFIG", "GET", "client-output-buffer-limit"], 1),
        (
            0,
            &["CONFIG", "SET", "client-output-buffer-limit", "pubsub 1mb"],
            1,
        ),
        (
            0,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "nosuch 1 1 1",
            ],
            1,
        ),
    ];
    compare("2", steps);
}

#[test]
fn info_counts_channels_patterns_and_shard_channels() {
    let server = TestServer::start();
    let mut subscriber = server.raw();
    subscriber.send(&RawClient::encode(&[b"SUBSCRIBE", b"a", b"b"]));
    subscriber.reply();
    subscriber.reply();
    subscriber.cmd(&["PSUBSCRIBE", "p*"]);
    subscriber.cmd(&["SSUBSCRIBE", "s"]);
    let mut other = server.raw();
    let info = other.cmd(&["INFO", "stats"]);
    for line in [
        "pubsub_channels:2\r\n",
        "pubsub_patterns:1\r\n",
        "pubsubshard_channels:1\r\n",
    ] {
        assert!(info.contains(line), "{line} in {info}");
    }
    let clients = other.cmd(&["INFO", "clients"]);
    assert!(clients.contains("blocked_clients:0\r\n"), "{clients}");
}

/// redis-py subscribers in both protocols receive, in order, what several publishers send to
/// channels and patterns.
#[test]
fn redis_py_subscribers_receive_what_publishers_send() {
    let Some(python) = common::redis_py() else {
        return;
    };
    let server = TestServer::start();
    let script = r#"
import sys, threading, time, redis
port = int(sys.argv[1])
for protocol in (2, 3):
    subscriber = redis.Redis(port=port, protocol=protocol, decode_responses=True)
    p = subscriber.pubsub(ignore_subscribe_messages=True)
    p.subscribe("news", "sport")
    p.psubscribe("weather.*")
    deadline = time.time() + 5
    while subscriber.pubsub_numsub("news")[0][1] != 1 and time.time() < deadline:
        time.sleep(0.01)
    def publish(name):
        publisher = redis.Redis(port=port, protocol=protocol, decode_responses=True)
        for i in range(200):
            assert publisher.publish("news", f"{name}-{i}") == 1
            publisher.publish("weather.paris", f"{name}-{i}")
    threads = [threading.Thread(target=publish, args=(name,)) for name in ("x", "y")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = {"message": [], "pmessage": []}
    deadline = time.time() + 10
    while len(received["message"]) + len(received["pmessage"]) < 800 and time.time() < deadline:
        message = p.get_message(timeout=1)
        if message is not None:
            received[message["type"]].append(message)
    assert len(received["message"]) == 400, len(received["message"])
    assert len(received["pmessage"]) == 400, len(received["pmessage"])
    for message in received["pmessage"]:
        assert message["pattern"] == "weather.*" and message["channel"] == "weather.paris", message
    # Each publisher's messages arrive in the order it sent them.
    for name in ("x", "y"):
        sent = [m["data"] for m in received["message"] if m["data"].startswith(name)]
        assert sent == [f"{name}-{i}" for i in range(200)], sent[:5]
    p.unsubscribe("news")
    p.punsubscribe()
    deadline = time.time() + 5
    while p.subscribed and subscriber.pubsub_numsub("news")[0][1] != 0 and time.time() < deadline:
        p.get_message(timeout=0.1)
    assert subscriber.pubsub_numsub("news")[0][1] == 0
    assert subscriber.publish("sport", "goal") == 1
    message = None
    deadline = time.time() + 5
    while message is None and time.time() < deadline:
        message = p.get_message(timeout=1)
    assert message["channel"] == "sport" and message["data"] == "goal", message
    p.close()
"#;
    common::run_python(
        &python,
        &format!("{script}\nprint('ok')\n"),
        &[server.addr.port().to_string()],
    );
}

fn info_field(client: &mut RawClient, section: &str, field: &str) -> u64 {
    let info = client.cmd(&["INFO", section]);
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in {info}"))
}

/// A subscriber that never reads is disconnected once its unwritten messages pass the hard
/// limit; the server holds no more than about that limit for it, however much is published.
#[test]
fn a_subscriber_that_never_reads_is_cut_off_and_memory_stays_bounded() {
    let server = TestServer::start_with(&["--client-output-buffer-limit-pubsub", "1mb 0 0"]);
    let mut silent = TcpStream::connect(server.addr).expect("connect");
    silent
        .write_all(&RawClient::encode(&[b"SUBSCRIBE", b"firehose"]))
        .expect("subscribe");
    let mut publisher = server.raw();
    let deadline = Instant::now() + Duration::from_secs(10);
    while publisher.cmd(&["PUBSUB", "NUMSUB", "firehose"]) != "*2\r\n$8\r\nfirehose\r\n:1\r\n" {
        assert!(Instant::now() < deadline, "the subscription is registered");
        std::thread::sleep(Duration::from_millis(10));
    }
    let rss_before = info_field(&mut publisher, "memory", "used_memory_rss");
    let payload = "x".repeat(100 * 1024);
    let args: Vec<&[u8]> = vec![b"PUBLISH", b"firehose", payload.as_bytes()];
    let request = RawClient::encode(&args);
    // 64 MiB published: far more than the limit and than the sockets buffer.
    let mut receivers = Vec::new();
    for _ in 0..640 {
        publisher.send(&request);
        receivers.push(publisher.reply());
    }
    let rss_after = info_field(&mut publisher, "memory", "used_memory_rss");
    assert!(
        receivers.iter().any(|reply| reply == ":0\r\n"),
        "the subscriber was gone before the end"
    );
    assert_eq!(
        publisher.cmd(&["PUBSUB", "NUMSUB", "firehose"]),
        "*2\r\n$8\r\nfirehose\r\n:0\r\n"
    );
    assert_eq!(
        info_field(
            &mut publisher,
            "stats",
            "client_output_buffer_limit_disconnections"
        ),
        1
    );
    let grown = rss_after.saturating_sub(rss_before);
    assert!(
        grown < 24 * 1024 * 1024,
        "memory grew by {grown} bytes for 64 MiB published to a 1 MiB-limited subscriber"
    );
    // The connection is closed: what the kernel buffered is readable, then the end.
    silent
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut sink = vec![0u8; 1 << 20];
    loop {
        match silent.read(&mut sink) {
            Ok(0) => break,
            Ok(_) => {}
            Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(error) => panic!("the server did not close the subscriber: {error}"),
        }
    }
}

/// A subscriber under the limit gets everything, even a burst much larger than its socket
/// buffers, because the connection writes messages as they come.
#[test]
fn a_reading_subscriber_gets_a_large_burst() {
    let server = TestServer::start();
    let mut subscriber = server.raw();
    subscriber.cmd(&["SUBSCRIBE", "burst"]);
    let mut publisher = server.raw();
    let payload = "y".repeat(10 * 1024);
    let reader = std::thread::spawn(move || {
        let mut received = 0;
        while received < 2000 {
            let push = subscriber.reply();
            assert!(
                push.starts_with("*3\r\n$7\r\nmessage\r\n$5\r\nburst\r\n"),
                "{push:.60}"
            );
            received += 1;
        }
        received
    });
    for _ in 0..2000 {
        let args: Vec<&[u8]> = vec![b"PUBLISH", b"burst", payload.as_bytes()];
        publisher.send(&RawClient::encode(&args));
    }
    for _ in 0..2000 {
        assert_eq!(publisher.reply(), ":1\r\n");
    }
    assert_eq!(reader.join().expect("reader"), 2000);
}
