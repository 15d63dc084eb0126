//! Pub/Sub in a 3-member cluster: a PUBLISH at any member reaches subscribers on every member
//! (RESP2 and RESP3 connections), in order per publisher, and keeps doing so among the survivors
//! when a partition leader is killed; SSUBSCRIBE and SPUBLISH are routed by slot; the internal
//! command members fan out with is refused to clients without the member credential.

mod cluster_support;
mod common;

use std::time::{Duration, Instant};

use cluster_support::*;
use common::{RawClient, elements};
use ringcache_admin::{ClusterSettings, JoinRequest, Replica};

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 8,
    replication_factor: 2,
};

/// How long a subscriber waits for its next message before the test calls it lost.
const MESSAGE_WAIT: Duration = Duration::from_secs(5);

fn connect(cluster: &TestCluster, ordinal: usize) -> RawClient {
    RawClient::connect(cluster.redis_address(ordinal).parse().expect("address"))
}

/// A connection to member `ordinal` speaking RESP`protocol` that sent `command` (one
/// subscription, its confirmation read).
fn subscriber(
    cluster: &TestCluster,
    ordinal: usize,
    protocol: &str,
    command: &[&str],
) -> RawClient {
    let mut client = connect(cluster, ordinal);
    if protocol == "3" {
        client.cmd(&["HELLO", "3"]);
    }
    let confirmation = client.cmd(command);
    let header = if protocol == "3" { ">3" } else { "*3" };
    assert!(
        confirmation.starts_with(header),
        "{command:?}: {confirmation}"
    );
    client
}

/// The payload of a push (its last bulk string), checked to start as `prefix`.
fn payload(push: &str, prefix: &str) -> String {
    assert!(
        push.starts_with(prefix),
        "expected {prefix:?}…, got {push:?}"
    );
    elements(push).pop().expect("a payload")
}

/// Publishes probes at each member until every listener got one from it, so the members'
/// fan-out links are up before the test counts messages; then drains what is left.
/// `publish`: the command and channel the probes are sent with.
fn warm_up(publishers: &mut [(usize, RawClient)], listeners: &mut [RawClient], publish: [&str; 2]) {
    for (ordinal, publisher) in publishers.iter_mut() {
        let probe = format!("probe-{ordinal}");
        let deadline = Instant::now() + WAIT;
        let mut reached = vec![false; listeners.len()];
        while reached.contains(&false) {
            assert!(Instant::now() < deadline, "{probe} reaches every listener");
            publisher.cmd(&[publish[0], publish[1], &probe]);
            for (index, listener) in listeners.iter_mut().enumerate() {
                while let Some(push) = listener.try_reply(Duration::from_millis(200)) {
                    if elements(&push).last() == Some(&probe) {
                        reached[index] = true;
                    }
                }
            }
        }
    }
    for listener in listeners.iter_mut() {
        while listener.try_reply(Duration::from_millis(300)).is_some() {}
    }
}

/// Reads `count` pushes of `prefix` and checks that each publisher's messages (`<from>-<n>`)
/// arrived once each, in order.
fn expect_in_order(listener: &mut RawClient, prefix: &str, sent: &[(String, usize)]) {
    let total: usize = sent.iter().map(|(_, count)| count).sum();
    let mut received = Vec::new();
    while received.len() < total {
        let push = listener
            .try_reply(MESSAGE_WAIT)
            .unwrap_or_else(|| panic!("{} of {total} messages arrived", received.len()));
        received.push(payload(&push, prefix));
    }
    for (from, count) in sent {
        let own: Vec<&String> = received
            .iter()
            .filter(|message| message.starts_with(&format!("{from}-")))
            .collect();
        let expected: Vec<String> = (0..*count).map(|n| format!("{from}-{n}")).collect();
        assert_eq!(own, expected.iter().collect::<Vec<_>>(), "from {from}");
    }
}

/// redis-py subscribers (RESP2 and RESP3) on the member at `argv[2]` receive, in order, what
/// redis-py publishers send at the members at `argv[1]` and `argv[3]`.
const REDIS_PY_FAN_OUT: &str = r#"
import sys, time, redis
hosts = sys.argv[1:]
for protocol in (2, 3):
    subscriber = redis.Redis(host=hosts[1], protocol=protocol, decode_responses=True)
    p = subscriber.pubsub()
    p.subscribe("py")
    confirmation = p.get_message(timeout=5)
    assert confirmation["type"] == "subscribe", confirmation
    publishers = [redis.Redis(host=hosts[i], protocol=protocol, decode_responses=True) for i in (0, 2)]
    # The first messages wait for nothing: the members' fan-out links are up already.
    for i in range(50):
        for index, publisher in enumerate(publishers):
            assert publisher.publish("py", f"{index}-{i}") == 0
    received = []
    deadline = time.time() + 10
    while len(received) < 100 and time.time() < deadline:
        message = p.get_message(timeout=1)
        if message is not None:
            assert message["type"] == "message" and message["channel"] == "py", message
            received.append(message["data"])
    for index in (0, 1):
        own = [m for m in received if m.startswith(f"{index}-")]
        assert own == [f"{index}-{i}" for i in range(50)], (protocol, own[:5], len(received))
    p.close()
print("ok")
"#;

const MESSAGE_RESP2: &str = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n";
const PMESSAGE_RESP3: &str = ">4\r\n$8\r\npmessage\r\n$3\r\nne*\r\n$4\r\nnews\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_at_any_member_reaches_all_and_survives_a_leader_crash() {
    within(Duration::from_secs(240), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        // Per member: a RESP2 channel subscriber and a RESP3 pattern subscriber.
        let mut listeners: Vec<RawClient> = Vec::new();
        for ordinal in 0..3 {
            listeners.push(subscriber(&cluster, ordinal, "2", &["SUBSCRIBE", "news"]));
            listeners.push(subscriber(&cluster, ordinal, "3", &["PSUBSCRIBE", "ne*"]));
        }
        let mut publishers: Vec<(usize, RawClient)> =
            (0..3).map(|ordinal| (ordinal, connect(&cluster, ordinal))).collect();
        warm_up(&mut publishers, &mut listeners, ["PUBLISH", "news"]);

        // Each member's PUBLISH counts its own two receivers and reaches all six.
        for (ordinal, publisher) in publishers.iter_mut() {
            for n in 0..30 {
                let reply = publisher.cmd(&["PUBLISH", "news", &format!("m{ordinal}-{n}")]);
                assert_eq!(reply, ":2\r\n");
            }
        }
        let sent: Vec<(String, usize)> = (0..3).map(|ordinal| (format!("m{ordinal}"), 30)).collect();
        for (index, listener) in listeners.iter_mut().enumerate() {
            let prefix = if index % 2 == 0 { MESSAGE_RESP2 } else { PMESSAGE_RESP3 };
            expect_in_order(listener, prefix, &sent);
        }

        // redis-py, both protocols, subscribed at member 1, publishing at members 0 and 2.
        if let Some(python) = common::redis_py() {
            let hosts: Vec<String> = (0..3).map(|ordinal| cluster.ip(ordinal).to_string()).collect();
            common::run_python(&python, REDIS_PY_FAN_OUT, &hosts);
        }

        // The internal command is refused without the member credential, and delivers nothing.
        let mut intruder = connect(&cluster, 0);
        assert_eq!(
            intruder.cmd(&["CLUSTER", "RINGCACHE-PUBLISH", "news", "forged"]),
            "-NOPERM this user has no permissions to run the 'cluster|ringcache-publish' command\r\n"
        );
        assert_eq!(
            intruder.cmd(&["AUTH", "ringcache-member", "not-the-secret"]),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
        );
        assert!(
            intruder
                .cmd(&["CLUSTER", "RINGCACHE-SPUBLISH", "news", "forged"])
                .starts_with("-NOPERM")
        );
        assert_eq!(
            intruder.cmd(&["CLUSTER", "RINGCACHE-PUBSUB-PEER", "127.0.0.1:1"]),
            "-NOPERM this user has no permissions to run the 'cluster|ringcache-pubsub-peer' command\r\n"
        );
        publishers[0].1.cmd(&["PUBLISH", "news", "marker"]);
        for listener in listeners.iter_mut() {
            let push = listener.try_reply(MESSAGE_WAIT).expect("the marker arrives");
            assert_eq!(elements(&push).last().map(String::as_str), Some("marker"));
        }
        // With it, the command delivers to that member's subscribers only.
        assert_eq!(
            intruder.cmd(&["AUTH", "ringcache-member", CLUSTER_SECRET]),
            "+OK\r\n"
        );
        assert_eq!(
            intruder.cmd(&["CLUSTER", "RINGCACHE-PUBLISH", "news", "member-only"]),
            ":2\r\n"
        );
        publishers[1].1.cmd(&["PUBLISH", "news", "marker-2"]);
        for (index, listener) in listeners.iter_mut().enumerate() {
            let push = listener.try_reply(MESSAGE_WAIT).expect("a message");
            let expected = if index < 2 { "member-only" } else { "marker-2" };
            assert_eq!(elements(&push).last().map(String::as_str), Some(expected));
        }
        for listener in listeners[..2].iter_mut() {
            let push = listener.try_reply(MESSAGE_WAIT).expect("the marker arrives");
            assert_eq!(elements(&push).last().map(String::as_str), Some("marker-2"));
        }

        // A partition leader dies mid-stream: the survivors keep publishing to each other.
        let victim = cluster.leader_of(0).await;
        let survivors: Vec<usize> = (0..3).filter(|ordinal| *ordinal != victim).collect();
        for (ordinal, publisher) in publishers.iter_mut() {
            if survivors.contains(ordinal) {
                for n in 0..10 {
                    publisher.cmd(&["PUBLISH", "news", &format!("before{ordinal}-{n}")]);
                }
            }
        }
        cluster.kill(victim);
        for (ordinal, publisher) in publishers.iter_mut() {
            if survivors.contains(ordinal) {
                for n in 0..30 {
                    let reply = publisher.cmd(&["PUBLISH", "news", &format!("after{ordinal}-{n}")]);
                    assert_eq!(reply, ":2\r\n");
                }
            }
        }
        let mut sent: Vec<(String, usize)> = Vec::new();
        for ordinal in &survivors {
            sent.push((format!("before{ordinal}"), 10));
            sent.push((format!("after{ordinal}"), 30));
        }
        for ordinal in &survivors {
            for (offset, prefix) in [MESSAGE_RESP2, PMESSAGE_RESP3].into_iter().enumerate() {
                expect_in_order(&mut listeners[ordinal * 2 + offset], prefix, &sent);
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_channels_are_routed_by_slot() {
    within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        // A partition some member does not host, and a shard channel in it.
        let mut found = None;
        'search: for ordinal in 0..3 {
            let status = cluster.status(ordinal).await;
            for partition in 0..SETTINGS.partitions {
                if hosted(&status, partition).is_none() {
                    found = Some((ordinal, partition));
                    break 'search;
                }
            }
        }
        let (outsider, partition) = found.expect("with RF 2 some member misses a partition");
        let channel = keys_in_partition(SETTINGS.partitions, partition, "shard", 1)
            .pop()
            .expect("a channel of the partition");
        let slot = key_slot(channel.as_bytes());
        let other_slot_channel = (0..)
            .map(|n| format!("elsewhere{n}"))
            .find(|name| key_slot(name.as_bytes()) != slot)
            .expect("a channel in another slot");
        let leader = cluster.leader_of(partition).await;
        let follower = (0..3)
            .find(|ordinal| *ordinal != leader && *ordinal != outsider)
            .expect("the other replica");

        // A cluster-aware client is sent where the slot lives; channels must share a slot.
        let moved = format!("-MOVED {slot} {}\r\n", cluster.redis_address(leader));
        // Once the outsider has learned the partition's leader (until then it serves the
        // subscription itself).
        let this = &cluster;
        let mut aware = eventually(WAIT, "SSUBSCRIBE is redirected", || {
            let moved = moved.clone();
            let channel = channel.clone();
            async move {
                let mut aware = connect(this, outsider);
                assert!(aware.cmd(&["CLUSTER", "SLOTS"]).starts_with('*'));
                (aware.cmd(&["SSUBSCRIBE", &channel]) == moved).then_some(aware)
            }
        })
        .await;
        assert_eq!(aware.cmd(&["SPUBLISH", &channel, "x"]), moved);
        assert_eq!(
            aware.cmd(&["SSUBSCRIBE", &channel, &other_slot_channel]),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
        );
        let mut plain = connect(&cluster, leader);
        assert_eq!(
            plain.cmd(&["SSUBSCRIBE", &channel, &other_slot_channel]),
            "-CROSSSLOT Keys in request don't hash to the same slot\r\n"
        );

        // Subscribers on both replicas (cluster-aware) and a plain one on the outsider.
        let mut at_leader = connect(&cluster, leader);
        at_leader.cmd(&["HELLO", "3"]);
        at_leader.cmd(&["CLUSTER", "SLOTS"]);
        assert_eq!(
            at_leader.cmd(&["SSUBSCRIBE", &channel]),
            format!(
                ">3\r\n$10\r\nssubscribe\r\n${}\r\n{channel}\r\n:1\r\n",
                channel.len()
            )
        );
        let mut at_follower = connect(&cluster, follower);
        at_follower.cmd(&["CLUSTER", "SLOTS"]);
        assert_eq!(
            at_follower.cmd(&["SSUBSCRIBE", &channel]),
            format!(
                "*3\r\n$10\r\nssubscribe\r\n${}\r\n{channel}\r\n:1\r\n",
                channel.len()
            )
        );
        let at_outsider = subscriber(&cluster, outsider, "2", &["SSUBSCRIBE", &channel]);
        let mut listeners = [at_leader, at_follower, at_outsider];

        let mut publishers: Vec<(usize, RawClient)> = vec![
            (leader, connect(&cluster, leader)),
            (outsider, connect(&cluster, outsider)),
        ];
        warm_up(&mut publishers, &mut listeners, ["SPUBLISH", &channel]);

        for (ordinal, publisher) in publishers.iter_mut() {
            for n in 0..20 {
                let reply = publisher.cmd(&["SPUBLISH", &channel, &format!("s{ordinal}-{n}")]);
                // Receivers on the member asked: one subscriber on each.
                assert_eq!(reply, ":1\r\n");
            }
        }
        let sent: Vec<(String, usize)> = publishers
            .iter()
            .map(|(ordinal, _)| (format!("s{ordinal}"), 20))
            .collect();
        let smessage = |resp3: bool| {
            format!(
                "{}3\r\n$8\r\nsmessage\r\n${}\r\n{channel}\r\n",
                if resp3 { '>' } else { '*' },
                channel.len()
            )
        };
        expect_in_order(&mut listeners[0], &smessage(true), &sent);
        expect_in_order(&mut listeners[1], &smessage(false), &sent);
        expect_in_order(&mut listeners[2], &smessage(false), &sent);
    })
    .await;
}

/// A member that joins is added to everyone's fan-out even before it hosts any replica (it
/// announces itself): its subscribers get what the others publish, and theirs get what it
/// publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_joining_member_enters_the_fan_out() {
    within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let mut listeners = vec![subscriber(&cluster, 0, "2", &["SUBSCRIBE", "news"])];
        // Member 0's fan-out is running (with the members it knows) before the newcomer exists.
        let mut early = connect(&cluster, 0);
        assert_eq!(early.cmd(&["PUBLISH", "news", "early"]), ":1\r\n");
        let push = listeners[0].try_reply(MESSAGE_WAIT).expect("early");
        assert_eq!(payload(&push, MESSAGE_RESP2), "early");
        let newcomer = cluster.add_member().await;
        let mut seeds: Vec<Replica> = Vec::new();
        for ordinal in 0..=newcomer {
            seeds.push(cluster.status(ordinal).await.member);
        }
        let admin = cluster.admin(newcomer);
        admin
            .join(&JoinRequest {
                settings: SETTINGS,
                members: seeds.clone(),
            })
            .await
            .expect("join");
        listeners.push(subscriber(&cluster, newcomer, "3", &["SUBSCRIBE", "news"]));
        let mut publishers = vec![
            (0, connect(&cluster, 0)),
            (newcomer, connect(&cluster, newcomer)),
        ];
        warm_up(&mut publishers, &mut listeners, ["PUBLISH", "news"]);
        for (ordinal, publisher) in publishers.iter_mut() {
            for n in 0..20 {
                publisher.cmd(&["PUBLISH", "news", &format!("j{ordinal}-{n}")]);
            }
        }
        let sent: Vec<(String, usize)> = publishers
            .iter()
            .map(|(ordinal, _)| (format!("j{ordinal}"), 20))
            .collect();
        expect_in_order(&mut listeners[0], MESSAGE_RESP2, &sent);
        expect_in_order(
            &mut listeners[1],
            ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n",
            &sent,
        );
    })
    .await;
}
