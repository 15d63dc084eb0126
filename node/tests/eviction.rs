//! The memory limit and every eviction policy.

mod common;

use std::thread::sleep;
use std::time::Duration;

use common::{OK, RawClient, TestServer};
use ringcache_node::store::estimated_size;

const VALUE: &str = "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";

fn field(c: &mut RawClient, section: &str, name: &str) -> u64 {
    let info = c.cmd(&["INFO", section]);
    info.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}:")))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from {info}"))
}

/// Room for exactly `keys` entries named like `key:NNN` (7 bytes) with VALUE.
fn limit_for(keys: u64) -> String {
    (keys * estimated_size(7, VALUE.len())).to_string()
}

fn fill(c: &mut RawClient, prefix: &str, count: usize, ttl_ms: Option<u64>) {
    let mut batch = Vec::new();
    for i in 0..count {
        let key = format!("{prefix}{i:03}");
        let mut args: Vec<Vec<u8>> =
            vec![b"SET".to_vec(), key.into_bytes(), VALUE.as_bytes().to_vec()];
        if let Some(ttl) = ttl_ms {
            args.push(b"PX".to_vec());
            args.push((ttl + i as u64 * 1000).to_string().into_bytes());
        }
        let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
        batch.extend_from_slice(&RawClient::encode(&refs));
    }
    c.send(&batch);
    for _ in 0..count {
        let reply = c.reply();
        assert_eq!(reply, OK);
    }
}

#[test]
fn noeviction_rejects_writes_with_the_redis_error() {
    let server = TestServer::start_with(&[
        "--maxmemory",
        &limit_for(10),
        "--maxmemory-policy",
        "noeviction",
    ]);
    let mut c = server.raw();
    fill(&mut c, "key:", 10, None);
    // At the limit (not over it): one more write is still accepted, as Redis checks before writing.
    assert_eq!(c.cmd(&["SET", "key:x", VALUE]), OK);
    let oom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    assert_eq!(c.cmd(&["SET", "key:y", VALUE]), oom);
    assert_eq!(c.cmd(&["INCR", "counter"]), oom);
    assert_eq!(c.cmd(&["APPEND", "key:000", "x"]), oom);
    // Reads and deletes still work and free memory.
    assert_eq!(c.cmd(&["GET", "key:000"]), common::bulk(VALUE));
    assert_eq!(c.cmd(&["DEL", "key:000", "key:001"]), ":2\r\n");
    assert_eq!(c.cmd(&["SET", "key:y", VALUE]), OK);
    assert_eq!(field(&mut c, "stats", "evicted_keys"), 0);
}

#[test]
fn allkeys_lru_evicts_idle_keys_first() {
    let server = TestServer::start_with(&[
        "--maxmemory",
        &limit_for(100),
        "--maxmemory-policy",
        "allkeys-lru",
    ]);
    let mut c = server.raw();
    fill(&mut c, "key:", 100, None);
    sleep(Duration::from_millis(20));
    // Touch the first 20 keys so they are the most recently used.
    for i in 0..20 {
        c.cmd(&["GET", &format!("key:{i:03}")]);
    }
    sleep(Duration::from_millis(20));
    fill(&mut c, "new:", 50, None);
    let limit: u64 = limit_for(100).parse().unwrap();
    assert!(field(&mut c, "memory", "used_memory") <= limit);
    assert!(field(&mut c, "stats", "evicted_keys") >= 50);
    let survivors = (0..20)
        .filter(|i| c.cmd(&["EXISTS", &format!("key:{i:03}")]) == ":1\r\n")
        .count();
    let others = (20..100)
        .filter(|i| c.cmd(&["EXISTS", &format!("key:{i:03}")]) == ":1\r\n")
        .count();
    // Sampling is approximate, but recently used keys must survive far better than idle ones.
    assert!(
        survivors >= 15,
        "only {survivors} of 20 recently used keys survived"
    );
    assert!(
        (survivors as f64 / 20.0) > (others as f64 / 80.0) + 0.2,
        "{survivors}/20 vs {others}/80"
    );
}

#[test]
fn volatile_lru_only_evicts_keys_with_ttl() {
    let server = TestServer::start_with(&[
        "--maxmemory",
        &limit_for(100),
        "--maxmemory-policy",
        "volatile-lru",
    ]);
    let mut c = server.raw();
    fill(&mut c, "per:", 50, None);
    fill(&mut c, "vol:", 50, Some(1_000_000));
    fill(&mut c, "new:", 30, None);
    let persistent = (0..50)
        .filter(|i| c.cmd(&["EXISTS", &format!("per:{i:03}")]) == ":1\r\n")
        .count();
    assert_eq!(
        persistent, 50,
        "keys without TTL must never be evicted under volatile-lru"
    );
    assert!(field(&mut c, "stats", "evicted_keys") >= 30);
    // When no volatile keys are left, writes fail with OOM.
    c.cmd(&["CONFIG", "SET", "maxmemory", &limit_for(60)]);
    let mut result = String::new();
    for i in 0..100 {
        result = c.cmd(&["SET", &format!("more:{i:03}"), VALUE]);
        if result != OK {
            break;
        }
    }
    assert_eq!(
        result,
        "-OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
}

#[test]
fn allkeys_random_keeps_memory_under_the_limit() {
    let server = TestServer::start_with(&[
        "--maxmemory",
        &limit_for(50),
        "--maxmemory-policy",
        "allkeys-random",
    ]);
    let mut c = server.raw();
    fill(&mut c, "key:", 200, None);
    let limit: u64 = limit_for(50).parse().unwrap();
    assert!(field(&mut c, "memory", "used_memory") <= limit);
    assert_eq!(field(&mut c, "stats", "evicted_keys"), 150);
    assert_eq!(c.cmd(&["DBSIZE"]), ":50\r\n");
}

#[test]
fn volatile_ttl_evicts_the_soonest_expiring_first() {
    let server = TestServer::start_with(&[
        "--maxmemory",
        &limit_for(100),
        "--maxmemory-policy",
        "volatile-ttl",
    ]);
    let mut c = server.raw();
    // vol:NNN expires in 1000 s + NNN s: lower numbers expire sooner.
    fill(&mut c, "vol:", 100, Some(1_000_000));
    fill(&mut c, "new:", 20, None);
    let late = (80..100)
        .filter(|i| c.cmd(&["EXISTS", &format!("vol:{i:03}")]) == ":1\r\n")
        .count();
    let early = (0..20)
        .filter(|i| c.cmd(&["EXISTS", &format!("vol:{i:03}")]) == ":1\r\n")
        .count();
    assert!(
        late > early,
        "late-expiring survivors {late} should outnumber early ones {early}"
    );
    assert_eq!(late, 20, "keys expiring last should all survive");
}

#[test]
fn config_set_maxmemory_applies_immediately() {
    let server = TestServer::start_with(&["--maxmemory-policy", "allkeys-lru"]);
    let mut c = server.raw();
    fill(&mut c, "key:", 100, None);
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", &limit_for(10)]), OK);
    assert_eq!(c.cmd(&["DBSIZE"]), ":10\r\n");
    assert_eq!(
        field(&mut c, "memory", "maxmemory"),
        limit_for(10).parse::<u64>().unwrap()
    );
}

#[test]
fn maxmemory_flag_accepts_units() {
    let server =
        TestServer::start_with(&["--maxmemory", "1mb", "--maxmemory-policy", "volatile-ttl"]);
    let mut c = server.raw();
    assert_eq!(field(&mut c, "memory", "maxmemory"), 1024 * 1024);
    assert!(
        c.cmd(&["INFO", "memory"])
            .contains("maxmemory_policy:volatile-ttl")
    );
}

#[test]
fn allkeys_lfu_keeps_the_keys_read_often() {
    let server = TestServer::start_with(&[
        "--maxmemory",
        &limit_for(100),
        "--maxmemory-policy",
        "allkeys-lfu",
    ]);
    let mut c = server.raw();
    fill(&mut c, "hot:", 20, None);
    fill(&mut c, "old:", 60, None);
    for _ in 0..100 {
        for i in 0..20 {
            c.cmd(&["GET", &format!("hot:{i:03}")]);
        }
    }
    let hot_frequency = field_of(&mut c, "hot:000");
    assert!(
        hot_frequency > 5,
        "OBJECT FREQ of a hot key: {hot_frequency}"
    );
    // Twice the room's worth of new keys: the cold ones go, the frequently read ones stay.
    fill(&mut c, "new:", 200, None);
    let hot_left = (0..20)
        .filter(|i| c.cmd(&["EXISTS", &format!("hot:{i:03}")]) == ":1\r\n")
        .count();
    let old_left = (0..60)
        .filter(|i| c.cmd(&["EXISTS", &format!("old:{i:03}")]) == ":1\r\n")
        .count();
    assert!(hot_left >= 16, "only {hot_left} of 20 hot keys kept");
    assert!(old_left <= 10, "{old_left} of 60 cold keys kept");
    assert!(
        c.cmd(&["OBJECT", "IDLETIME", "hot:000"])
            .starts_with("-ERR An LFU maxmemory policy is selected")
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "volatile-lfu"]),
        OK
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory-policy"]),
        "*2\r\n$16\r\nmaxmemory-policy\r\n$12\r\nvolatile-lfu\r\n"
    );
}

fn field_of(c: &mut RawClient, key: &str) -> u64 {
    let reply = c.cmd(&["OBJECT", "FREQ", key]);
    reply
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("OBJECT FREQ {key}: {reply}"))
}
