//! INFO and /metrics as monitoring tools read them (redis_exporter, Prometheus): known operations
//! are performed on a single node, then every field a tool reads must be there and agree with
//! what was done; the sections INFO chooses are redis-server's; redis_exporter scrapes the node.
//! The cluster side and the Grafana dashboard: `info_cluster.rs`.

mod cluster_support;
mod common;
mod info_support;

use std::net::SocketAddr;
use std::time::Duration;

use cluster_support::eventually;
use common::{RawClient, RedisServer, TestServer};
use info_support::*;
use ringcache_node::store::estimated_size;

const VALUE: &str = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";
/// Keys the eviction phase writes (named like `key:NNN`, 7 bytes), and how many fit.
const FILL: u64 = 200;
const ROOM: u64 = 100;

/// What the standalone scenario did, to compare INFO with.
struct Done {
    hits: u64,
    misses: u64,
    sets: u64,
    evictable_keys: u64,
    /// Its connections, kept open so connected_clients is known.
    _clients: [RawClient; 2],
}

/// Known operations on a node limited to [`ROOM`] keys under allkeys-lru: hits and misses,
/// a key that expires, errors of three kinds, a subcommand, a blocked client, evictions.
fn known_operations(server: &TestServer) -> Done {
    let mut c = server.raw();
    let ok = "+OK\r\n";
    assert_eq!(c.cmd(&["SET", "k1", VALUE]), ok);
    assert_eq!(c.cmd(&["SET", "k2", VALUE]), ok);
    for _ in 0..3 {
        assert_eq!(c.cmd(&["GET", "k1"]), common::bulk(VALUE));
    }
    for _ in 0..2 {
        assert_eq!(c.cmd(&["GET", "nokey"]), "$-1\r\n");
    }
    c.cmd(&["MGET", "k1", "k2", "nokey"]);
    assert_eq!(c.cmd(&["EXISTS", "k1", "nokey"]), ":1\r\n");
    assert_eq!(c.cmd(&["TYPE", "k1"]), "+string\r\n");
    assert_eq!(c.cmd(&["STRLEN", "k2"]), format!(":{}\r\n", VALUE.len()));
    assert_eq!(c.cmd(&["TTL", "nokey"]), ":-2\r\n");
    // Writes look keys up too, but only reads count, as in Redis.
    assert_eq!(c.cmd(&["SETNX", "k1", "x"]), ":0\r\n");
    // hits: 3 GET + 2 MGET + 1 EXISTS + TYPE + STRLEN; misses: 2 GET + 1 MGET + 1 EXISTS + TTL.
    let (hits, misses) = (8, 5);

    assert_eq!(c.cmd(&["SET", "short-lived", "x", "PX", "50"]), ok);
    info_until(&mut c, "the key expires", |info| {
        int(info, "stats", "expired_keys") == 1
    });

    assert_eq!(c.cmd(&["LPUSH", "k1", "x"]), common::WRONGTYPE);
    assert_eq!(c.cmd(&["GET"]), common::arity("get"));
    assert!(
        c.cmd(&["NOSUCHCOMMAND", "a"])
            .starts_with("-ERR unknown command")
    );
    assert!(c.cmd(&["CLIENT", "LIST"]).starts_with('$'));
    // A protocol error is an error reply too (then the connection closes).
    let mut garbage = server.raw();
    garbage.send(b"*x\r\n");
    assert_eq!(
        garbage.reply(),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
    info_until(&mut c, "the protocol error is counted", |info| {
        int(info, "stats", "total_error_replies") == 4
    });

    // A client waiting in BLPOP is counted while it waits.
    let mut blocked = server.raw();
    blocked.send(&RawClient::encode(&[b"BLPOP", b"queue", b"0"]));
    info_until(&mut c, "the client blocks", |info| {
        int(info, "clients", "blocked_clients") == 1
    });
    assert_eq!(c.cmd(&["LPUSH", "queue", "job"]), ":1\r\n");
    assert_eq!(blocked.reply(), "*2\r\n$5\r\nqueue\r\n$3\r\njob\r\n");
    info_until(&mut c, "the client is served", |info| {
        int(info, "clients", "blocked_clients") == 0
    });

    // Twice the room: about half the keys are evicted.
    let mut batch = Vec::new();
    for index in 0..FILL {
        let key = format!("key:{index:03}");
        batch.extend_from_slice(&RawClient::encode(&[
            b"SET",
            key.as_bytes(),
            VALUE.as_bytes(),
        ]));
    }
    c.send(&batch);
    for _ in 0..FILL {
        assert_eq!(c.reply(), ok);
    }
    Done {
        hits,
        misses,
        // k1, k2, short-lived and the fill.
        sets: 3 + FILL,
        // Keys never deleted by a command or expiry: k1, k2 and the fill ("queue" was emptied).
        evictable_keys: 2 + FILL,
        _clients: [c, blocked],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_everything_and_metrics_agree_with_what_was_done() {
    let limit = ROOM * estimated_size(7, VALUE.len());
    let server = TestServer::start_with_admin(&[
        "--maxmemory",
        &limit.to_string(),
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let done = tokio::task::block_in_place(|| known_operations(&server));
    let mut c = server.raw();

    // A burst of commands shows in instantaneous_ops_per_sec (sampled every 100 ms).
    let mut burst = Vec::new();
    for _ in 0..2000 {
        burst.extend_from_slice(&RawClient::encode(&[b"PING"]));
    }
    c.send(&burst);
    for _ in 0..2000 {
        assert_eq!(c.reply(), "+PONG\r\n");
    }
    let info = tokio::task::block_in_place(|| {
        info_until(&mut c, "instantaneous_ops_per_sec", |info| {
            int(info, "stats", "instantaneous_ops_per_sec") > 0
        })
    });

    // server
    assert_eq!(text_of(&info, "server", "redis_version"), "7.0.0");
    assert_eq!(text_of(&info, "server", "redis_mode"), "standalone");
    assert!(!text_of(&info, "server", "os").is_empty());
    assert_eq!(int(&info, "server", "arch_bits"), 64);
    // The node runs in this process.
    assert_eq!(
        int(&info, "server", "process_id"),
        u64::from(std::process::id())
    );
    let run_id = text_of(&info, "server", "run_id");
    assert!(run_id.len() == 40 && run_id.bytes().all(|byte| byte.is_ascii_hexdigit()));
    assert_eq!(
        int(&info, "server", "tcp_port"),
        u64::from(server.addr.port())
    );
    assert_eq!(int(&info, "server", "uptime_in_days"), 0);
    assert!(int(&info, "server", "uptime_in_seconds") < 600);
    assert_eq!(int(&info, "server", "hz"), 10);
    assert!(!text_of(&info, "server", "executable").is_empty());
    text_of(&info, "server", "config_file");

    // clients: the scenario's two (one of which blocked) and this one.
    assert_eq!(int(&info, "clients", "connected_clients"), 3);
    assert_eq!(int(&info, "clients", "blocked_clients"), 0);
    assert_eq!(int(&info, "clients", "maxclients"), 10_000);

    // memory
    let used = int(&info, "memory", "used_memory");
    assert!(
        used > 0 && used <= limit,
        "used_memory {used}, limit {limit}"
    );
    assert!(!text_of(&info, "memory", "used_memory_human").is_empty());
    assert!(int(&info, "memory", "used_memory_rss") > 0);
    assert!(int(&info, "memory", "used_memory_peak") >= used);
    assert_eq!(int(&info, "memory", "maxmemory"), limit);
    assert_eq!(text_of(&info, "memory", "maxmemory_policy"), "allkeys-lru");
    assert!(float(&info, "memory", "mem_fragmentation_ratio") > 0.0);

    // persistence: nothing is saved or loaded.
    assert_eq!(int(&info, "persistence", "loading"), 0);
    assert_eq!(int(&info, "persistence", "aof_enabled"), 0);

    // stats
    assert!(int(&info, "stats", "total_connections_received") >= 3);
    assert!(int(&info, "stats", "total_commands_processed") >= done.sets + 2000);
    assert!(int(&info, "stats", "total_net_input_bytes") > FILL * VALUE.len() as u64);
    assert!(int(&info, "stats", "total_net_output_bytes") > 3 * VALUE.len() as u64);
    assert!(float(&info, "stats", "instantaneous_input_kbps") >= 0.0);
    assert!(float(&info, "stats", "instantaneous_output_kbps") >= 0.0);
    assert_eq!(int(&info, "stats", "rejected_connections"), 0);
    assert_eq!(int(&info, "stats", "expired_keys"), 1);
    let evicted = int(&info, "stats", "evicted_keys");
    assert!(evicted >= FILL - ROOM, "evicted_keys {evicted}");
    assert_eq!(int(&info, "stats", "keyspace_hits"), done.hits);
    assert_eq!(int(&info, "stats", "keyspace_misses"), done.misses);
    assert_eq!(int(&info, "stats", "total_error_replies"), 4);

    // replication, cpu, cluster
    assert_eq!(text_of(&info, "replication", "role"), "master");
    assert_eq!(int(&info, "replication", "connected_slaves"), 0);
    assert!(float(&info, "cpu", "used_cpu_user") >= 0.0);
    assert!(float(&info, "cpu", "used_cpu_sys") >= 0.0);
    assert_eq!(int(&info, "cluster", "cluster_enabled"), 0);

    // commandstats
    let set = pairs(&info, "commandstats", "cmdstat_set");
    assert_eq!(pair_int(&set, "calls"), done.sets);
    assert_eq!(
        (
            pair_int(&set, "rejected_calls"),
            pair_int(&set, "failed_calls")
        ),
        (0, 0)
    );
    let calls = pair_int(&set, "calls") as f64;
    let per_call: f64 = set["usec_per_call"].parse().expect("usec_per_call");
    assert!(
        (pair_int(&set, "usec") as f64 / calls - per_call).abs() < 1.0,
        "usec and usec_per_call disagree: {set:?}"
    );
    let get = pairs(&info, "commandstats", "cmdstat_get");
    // Five lookups; the call without a key was refused (rejected), not run.
    assert_eq!(pair_int(&get, "calls"), 5);
    assert_eq!(pair_int(&get, "rejected_calls"), 1);
    assert_eq!(pair_int(&get, "failed_calls"), 0);
    let lpush = pairs(&info, "commandstats", "cmdstat_lpush");
    assert_eq!(
        (pair_int(&lpush, "calls"), pair_int(&lpush, "failed_calls")),
        (2, 1)
    );
    for (command, calls) in [("mget", 1), ("exists", 1), ("client|list", 1), ("blpop", 1)] {
        let figures = pairs(&info, "commandstats", &format!("cmdstat_{command}"));
        assert_eq!(pair_int(&figures, "calls"), calls, "cmdstat_{command}");
    }
    assert!(pair_int(&pairs(&info, "commandstats", "cmdstat_ping"), "calls") >= 2000);
    assert!(
        !info["commandstats"].contains_key("cmdstat_nosuchcommand"),
        "an unknown command is no command"
    );

    // errorstats: the WRONGTYPE, the arity error, the unknown command and the protocol error.
    assert_eq!(
        pair_int(&pairs(&info, "errorstats", "errorstat_WRONGTYPE"), "count"),
        1
    );
    assert_eq!(
        pair_int(&pairs(&info, "errorstats", "errorstat_ERR"), "count"),
        3
    );
    assert_eq!(info["errorstats"].len(), 2);

    // keyspace: every key not expired or emptied is either here or was evicted.
    let db0 = pairs(&info, "keyspace", "db0");
    assert_eq!(pair_int(&db0, "keys") + evicted, done.evictable_keys);
    assert_eq!(pair_int(&db0, "expires"), 0);

    // /metrics: the same figures under Prometheus names.
    let admin = server.admin.expect("admin API").to_string();
    let text = get_metrics(&admin).await;
    let metrics = parse_exposition(&text);
    for (name, kind) in &metrics.types {
        assert!(valid_metric_name(name), "metric name {name}");
        assert_eq!(
            kind == "counter",
            name.ends_with("_total"),
            "{name} ({kind}): counters, and only they, end in _total"
        );
    }
    for (series, expected) in [
        ("ringcache_keyspace_hits_total", done.hits),
        ("ringcache_keyspace_misses_total", done.misses),
        ("ringcache_expired_keys_total", 1),
        ("ringcache_evicted_keys_total", evicted),
        ("ringcache_error_replies_total", 4),
        ("ringcache_errors_total{code=\"WRONGTYPE\"}", 1),
        ("ringcache_errors_total{code=\"ERR\"}", 3),
        ("ringcache_errors_total{code=\"other\"}", 0),
        ("ringcache_command_calls_total{command=\"get\"}", 5),
        ("ringcache_command_rejected_calls_total{command=\"get\"}", 1),
        ("ringcache_command_failed_calls_total{command=\"lpush\"}", 1),
        ("ringcache_command_calls_total{command=\"client|list\"}", 1),
        ("ringcache_command_calls_total{command=\"set\"}", done.sets),
        ("ringcache_max_memory_bytes", limit),
        ("ringcache_blocked_clients", 0),
    ] {
        assert_eq!(metrics.value(series), expected as f64, "{series}");
    }
    for kept in [
        "ringcache_commands_total",
        "ringcache_connected_clients",
        "ringcache_used_memory_bytes",
        "ringcache_connections_received_total",
        "ringcache_net_input_bytes_total",
        "ringcache_net_output_bytes_total",
        "ringcache_used_memory_rss_bytes",
        "ringcache_used_memory_peak_bytes",
        "ringcache_instantaneous_ops_per_sec",
        "ringcache_cpu_user_seconds_total",
        "ringcache_cpu_sys_seconds_total",
        "ringcache_keys",
        "ringcache_uptime_seconds",
    ] {
        metrics.value(kept);
    }
    assert!(metrics.value("ringcache_command_duration_seconds_total{command=\"set\"}") > 0.0);
    assert_eq!(
        metrics.value(&format!(
            "ringcache_build_info{{version=\"{}\",redis_version=\"7.0.0\",mode=\"standalone\"}}",
            env!("CARGO_PKG_VERSION")
        )),
        1.0
    );

    // CONFIG RESETSTAT clears what Redis clears; gauges and the data stay.
    assert_eq!(c.cmd(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let reset = parse_info(&info_text(&mut c, &["everything"]));
    for field in [
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "evicted_keys",
        "total_error_replies",
        "total_connections_received",
        "rejected_connections",
    ] {
        assert_eq!(int(&reset, "stats", field), 0, "{field} after RESETSTAT");
    }
    // RESETSTAT itself is counted after it ran, as in Redis.
    assert_eq!(int(&reset, "stats", "total_commands_processed"), 1);
    assert_eq!(
        reset["commandstats"].keys().collect::<Vec<_>>(),
        vec!["cmdstat_config|resetstat"]
    );
    assert!(reset["errorstats"].is_empty());
    assert_eq!(int(&reset, "clients", "connected_clients"), 3);
    assert_eq!(pairs(&reset, "keyspace", "db0"), db0);
}

/// Which sections `INFO` answers with, for the section arguments clients send: the same as
/// redis-server 7.0 (which also has `Latencystats`, left out here: no latency histograms).
#[test]
fn info_sections_are_chosen_as_redis_chooses_them() {
    let server = TestServer::start();
    let redis = RedisServer::start();
    let mut ours = server.raw();
    let mut theirs = redis.raw();
    for sections in [
        &[][..],
        &["default"],
        &["all"],
        &["everything"],
        &["server", "clients"],
        &["Keyspace", "SERVER"],
        &["default", "commandstats"],
        &["commandstats"],
        &[
            "errorstats",
            "cpu",
            "persistence",
            "cluster",
            "replication",
            "memory",
        ],
        &["nosuchsection"],
    ] {
        let expected: Vec<String> = headers(&info_text(&mut theirs, sections))
            .into_iter()
            .filter(|header| header != "Latencystats")
            .collect();
        assert_eq!(
            headers(&info_text(&mut ours, sections)),
            expected,
            "INFO {sections:?}"
        );
    }
    // Machine fields read as Redis writes them (tools show them as they are).
    let ours_server = parse_info(&info_text(&mut ours, &["server"]));
    let theirs_server = parse_info(&info_text(&mut theirs, &["server"]));
    assert_eq!(
        text_of(&ours_server, "server", "os"),
        text_of(&theirs_server, "server", "os")
    );
    assert_eq!(
        text_of(&ours_server, "server", "arch_bits"),
        text_of(&theirs_server, "server", "arch_bits")
    );
    // An unknown section: an empty bulk string, as Redis answers.
    assert_eq!(ours.cmd(&["INFO", "nosuchsection"]), "$0\r\n\r\n");
}

/// redis_exporter, when installed (.ci/run installs it: scripts/install-redis-exporter.sh),
/// scrapes a node as it scrapes Redis: the node is up and its figures come through under
/// redis_exporter's names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_exporter_scrapes_a_node() {
    let Some(exporter) = redis_exporter() else {
        eprintln!("redis_exporter is not installed (scripts/install-redis-exporter.sh): skipped");
        return;
    };
    let limit = ROOM * estimated_size(7, VALUE.len());
    let server = TestServer::start_with(&[
        "--maxmemory",
        &limit.to_string(),
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let done = tokio::task::block_in_place(|| known_operations(&server));
    let listen = free_address();
    let mut child = ExporterProcess(
        std::process::Command::new(exporter)
            .arg(format!("--redis.addr=redis://{}", server.addr))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start redis_exporter"),
    );
    let text = eventually(Duration::from_secs(20), "redis_exporter answers", || {
        let listen = listen.to_string();
        async move {
            let answer = tokio::time::timeout(
                Duration::from_secs(5),
                tokio::net::TcpStream::connect(&listen),
            )
            .await;
            if !matches!(answer, Ok(Ok(_))) {
                return None;
            }
            Some(get_metrics(&listen).await)
        }
    })
    .await;
    let _ = child.0.kill();
    let metrics = parse_exposition(&text);
    for (series, expected) in [
        ("redis_up", 1.0),
        ("redis_keyspace_hits_total", done.hits as f64),
        ("redis_keyspace_misses_total", done.misses as f64),
        ("redis_expired_keys_total", 1.0),
        ("redis_errors_total{err=\"WRONGTYPE\"}", 1.0),
        ("redis_commands_total{cmd=\"get\"}", 5.0),
        ("redis_commands_rejected_calls_total{cmd=\"get\"}", 1.0),
        ("redis_commands_failed_calls_total{cmd=\"lpush\"}", 1.0),
        ("redis_blocked_clients", 0.0),
        ("redis_memory_max_bytes", limit as f64),
        ("redis_cluster_enabled", 0.0),
    ] {
        assert_eq!(metrics.value(series), expected, "{series} in:\n{text}");
    }
    assert!(metrics.value("redis_evicted_keys_total") >= (FILL - ROOM) as f64);
    assert!(metrics.value("redis_memory_used_bytes") > 0.0);
    assert!(metrics.value("redis_connected_clients") >= 1.0);
    assert!(
        metrics
            .samples
            .keys()
            .any(|series| series.starts_with("redis_instance_info{")
                && series.contains("redis_mode=\"standalone\"")
                && series.contains("redis_version=\"7.0.0\"")
                && series.contains("role=\"master\"")),
        "redis_instance_info in:\n{text}"
    );
    assert!(
        metrics
            .samples
            .keys()
            .any(|series| series.starts_with("redis_db_keys{") && series.contains("db=\"db0\"")),
        "redis_db_keys in:\n{text}"
    );
}

struct ExporterProcess(std::process::Child);

impl Drop for ExporterProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// RINGCACHE_REDIS_EXPORTER, else ~/.cache/ringcache/bin/redis_exporter, else PATH.
fn redis_exporter() -> Option<std::path::PathBuf> {
    let mut candidates: Vec<std::path::PathBuf> = Vec::new();
    if let Some(path) = std::env::var_os("RINGCACHE_REDIS_EXPORTER") {
        candidates.push(path.into());
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(std::path::Path::new(&home).join(".cache/ringcache/bin/redis_exporter"));
    }
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|dir| dir.join("redis_exporter")));
    }
    candidates.into_iter().find(|path| path.is_file())
}

fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
}
