//! TTLs: the EXPIRE family, TTL reporting, lazy expiry and the active sweep.

mod common;

use std::thread::sleep;
use std::time::Duration;

use common::{NULL, OK, TestServer, bulk};

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn ttl_reporting() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["TTL", "missing"]), ":-2\r\n");
    assert_eq!(c.cmd(&["PTTL", "missing"]), ":-2\r\n");
    assert_eq!(c.cmd(&["EXPIRETIME", "missing"]), ":-2\r\n");
    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    assert_eq!(c.cmd(&["TTL", "k"]), ":-1\r\n");
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), ":-1\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "100"]), ":1\r\n");
    assert_eq!(c.cmd(&["TTL", "k"]), ":100\r\n");
    let pttl: i64 = c
        .cmd(&["PTTL", "k"])
        .trim_start_matches(':')
        .trim()
        .parse()
        .unwrap();
    assert!((99_000..=100_000).contains(&pttl), "{pttl}");
    let at = unix_ms() / 1000 + 1000;
    assert_eq!(c.cmd(&["EXPIREAT", "k", &at.to_string()]), ":1\r\n");
    assert_eq!(c.cmd(&["EXPIRETIME", "k"]), format!(":{at}\r\n"));
    assert_eq!(c.cmd(&["PEXPIRETIME", "k"]), format!(":{}\r\n", at * 1000));
    assert_eq!(c.cmd(&["PERSIST", "k"]), ":1\r\n");
    assert_eq!(c.cmd(&["PERSIST", "k"]), ":0\r\n");
    assert_eq!(c.cmd(&["PERSIST", "missing"]), ":0\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "missing", "10"]), ":0\r\n");
}

#[test]
fn expire_options_nx_xx_gt_lt() {
    let server = TestServer::start();
    let mut c = server.raw();
    c.cmd(&["SET", "k", "v"]);
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "XX"]), ":0\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "GT"]), ":0\r\n"); // no TTL counts as infinite
    assert_eq!(c.cmd(&["EXPIRE", "k", "100", "NX"]), ":1\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "200", "NX"]), ":0\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "200", "GT"]), ":1\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "150", "GT"]), ":0\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "150", "LT"]), ":1\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "300", "LT"]), ":0\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "k", "50", "XX", "LT"]), ":1\r\n");
    assert_eq!(c.cmd(&["TTL", "k"]), ":50\r\n");
    c.cmd(&["SET", "p", "v"]);
    assert_eq!(c.cmd(&["EXPIRE", "p", "50", "LT"]), ":1\r\n"); // no TTL counts as infinite
    c.cmd(&["SET", "q", "v"]);
    assert_eq!(c.cmd(&["EXPIRE", "q", "50", "XX", "LT"]), ":0\r\n");
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "10", "NX", "XX"]),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "10", "GT", "LT"]),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "10", "FOO"]),
        "-ERR Unsupported option FOO\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "ten"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["EXPIRE", "k", "9223372036854775807"]),
        "-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        c.cmd(&["PEXPIRE", "k", "9223372036854775807"]),
        "-ERR invalid expire time in 'pexpire' command\r\n"
    );
}

#[test]
fn expire_in_the_past_deletes() {
    let server = TestServer::start();
    let mut c = server.raw();
    for command in [
        ["EXPIRE", "k", "-1"],
        ["PEXPIRE", "k", "0"],
        ["EXPIREAT", "k", "1"],
        ["PEXPIREAT", "k", "1"],
    ] {
        c.cmd(&["SET", "k", "v"]);
        assert_eq!(c.cmd(&command), ":1\r\n", "{command:?}");
        assert_eq!(c.cmd(&["EXISTS", "k"]), ":0\r\n", "{command:?}");
    }
    assert_eq!(c.cmd(&["SET", "k", "v", "PXAT", "1"]), OK);
    assert_eq!(c.cmd(&["GET", "k"]), NULL);
}

#[test]
fn expired_keys_are_invisible_to_every_command() {
    let server = TestServer::start();
    let mut c = server.raw();
    c.cmd(&["SET", "stays", "v"]);
    c.cmd(&["SET", "goes", "v", "PX", "50"]);
    c.cmd(&["SET", "goes2", "v", "PX", "50"]);
    assert_eq!(c.cmd(&["DBSIZE"]), ":3\r\n");
    sleep(Duration::from_millis(80));
    assert_eq!(c.cmd(&["GET", "goes"]), NULL);
    assert_eq!(c.cmd(&["EXISTS", "goes2"]), ":0\r\n");
    assert_eq!(c.cmd(&["TYPE", "goes2"]), "+none\r\n");
    assert_eq!(c.cmd(&["TTL", "goes2"]), ":-2\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]), ":1\r\n");
    assert_eq!(c.cmd(&["KEYS", "*"]), format!("*1\r\n{}", bulk("stays")));
    assert_eq!(
        c.cmd(&["SCAN", "0", "COUNT", "1000"]),
        format!("*2\r\n$1\r\n0\r\n*1\r\n{}", bulk("stays"))
    );
    assert_eq!(c.cmd(&["STRLEN", "goes2"]), ":0\r\n");
    assert_eq!(
        c.cmd(&["MGET", "goes2", "stays"]),
        format!("*2\r\n{NULL}{}", bulk("v"))
    );
    // Writes treat an expired key as absent.
    c.cmd(&["SET", "n", "5", "PX", "30"]);
    sleep(Duration::from_millis(50));
    assert_eq!(c.cmd(&["INCR", "n"]), ":1\r\n");
    assert_eq!(c.cmd(&["TTL", "n"]), ":-1\r\n");
    c.cmd(&["SET", "nx", "old", "PX", "30"]);
    sleep(Duration::from_millis(50));
    assert_eq!(c.cmd(&["SET", "nx", "new", "NX"]), OK);
    c.cmd(&["SET", "ap", "old", "PX", "30"]);
    sleep(Duration::from_millis(50));
    assert_eq!(c.cmd(&["APPEND", "ap", "x"]), ":1\r\n");
    c.cmd(&["SET", "d", "old", "PX", "30"]);
    sleep(Duration::from_millis(50));
    assert_eq!(c.cmd(&["DEL", "d"]), ":0\r\n");
    assert_eq!(c.cmd(&["EXPIRE", "d", "10"]), ":0\r\n");
}

#[test]
fn active_sweep_reclaims_keys_nobody_reads() {
    let server = TestServer::start();
    let mut connection = server.client();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET")
            .arg(format!("t{i}"))
            .arg("v")
            .arg("PX")
            .arg(100)
            .ignore();
    }
    pipe.cmd("SET").arg("keep").arg("v").ignore();
    let _: () = pipe.query(&mut connection).unwrap();
    let mut c = server.raw();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let info = c.cmd(&["INFO", "stats"]);
        let expired: u64 = info
            .lines()
            .find_map(|line| line.strip_prefix("expired_keys:"))
            .and_then(|value| value.trim().parse().ok())
            .unwrap();
        if expired == 2000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sweep expired only {expired} of 2000"
        );
        sleep(Duration::from_millis(50));
    }
    let info = c.cmd(&["INFO", "memory"]);
    let used: u64 = info
        .lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap();
    assert_eq!(
        used,
        4 + 1 + ringcache_node::store::ENTRY_OVERHEAD,
        "only `keep` remains accounted"
    );
}
