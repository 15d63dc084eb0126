//! Cluster-aware Redis-protocol load generator for `bench/rebalance.sh`, used alike against a
//! ringcache cluster and a Redis Cluster.
//!
//! `fill`: writes `SET key:NNNNNNNNNNNN <value>` for every key below `--keys` (12 digits, the names
//! `redis-benchmark -r` uses), pipelined, each batch sent straight to the master of its keys' slots.
//!
//! `run`: `--clients` tasks, each sending one request at a time (no pipelining), SET or GET
//! (`--set-percent`) on random keys below `--keyspace`, until told to stop. Open loop with `--rate`
//! (requests/s over all tasks; latency is then counted from each request's scheduled time, so a
//! stall shows as latency), closed loop without. Measurements go into **windows**: every line
//! appended to the `--control` file starts a new window named by that line (the previous one ends);
//! the line `stop` ends the run. At the end it prints one JSON line per window: requests/s, errors,
//! redirections, p50/p99/p99.9/max latency, the worst whole second. `--timeline FILE` gets one line
//! per second (epoch ms, window, ops, errors, redirections, p50, p99, max in µs).
//!
//! Routing, as a cluster client library does it: the slot map comes from `CLUSTER SLOTS` (every
//! connection sends it once, so ringcache treats it as cluster-aware and answers `-MOVED` instead of
//! forwarding); each key goes to its slot's master. `-MOVED` updates the slot and schedules a full
//! refresh, `-ASK` is followed with `ASKING` (Redis Cluster while a slot migrates), `-TRYAGAIN`,
//! `-CLUSTERDOWN`, `-LOADING`, a dropped or refused connection and a timeout are retried after a
//! short pause. A request's latency covers all of that, from the first send to the final answer; a
//! request that gets no answer within 10 s, or any other error (e.g. ringcache's `-ERR outcome
//! unknown`), counts as an error and not in the throughput.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SLOTS: usize = 16384;
const OP_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const RETRY_PAUSE: Duration = Duration::from_millis(10);
const MAX_WINDOWS: usize = 64;

// ---------------------------------------------------------------- arguments

struct Args {
    command: String,
    seeds: Vec<String>,
    keys: u64,
    keyspace: u64,
    value_size: usize,
    clients: usize,
    pipeline: usize,
    set_percent: u64,
    rate: f64,
    control: Option<String>,
    timeline: Option<String>,
}

const USAGE: &str = "usage: cluster-load fill --seed H:P[,H:P...] --keys N [--value-size B] [--clients C] [--pipeline P]
       cluster-load run  --seed H:P[,H:P...] --control FILE [--keyspace N] [--value-size B] [--clients C]
                         [--set-percent S] [--rate R] [--timeline FILE]";

fn parse_args() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let command = it.next().ok_or_else(String::new)?;
    if command != "fill" && command != "run" {
        return Err(if command == "-h" || command == "--help" {
            String::new()
        } else {
            format!("unknown command {command}")
        });
    }
    let mut args = Args {
        command,
        seeds: Vec::new(),
        keys: 1_000_000,
        keyspace: 1_000_000,
        value_size: 64,
        clients: 50,
        pipeline: 256,
        set_percent: 50,
        rate: 0.0,
        control: None,
        timeline: None,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--seed" => {
                args.seeds = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "--keys" => args.keys = number(&value)?,
            "--keyspace" => args.keyspace = number(&value)?.max(1),
            "--value-size" => args.value_size = number(&value)? as usize,
            "--clients" => args.clients = (number(&value)? as usize).max(1),
            "--pipeline" => args.pipeline = (number(&value)? as usize).max(1),
            "--set-percent" => args.set_percent = number(&value)?.min(100),
            "--rate" => args.rate = value.parse().map_err(|e| format!("--rate {value}: {e}"))?,
            "--control" => args.control = Some(value),
            "--timeline" => args.timeline = Some(value),
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.seeds.is_empty() {
        return Err("--seed is required".into());
    }
    if args.command == "run" && args.control.is_none() {
        return Err("run needs --control".into());
    }
    Ok(args)
}

// ---------------------------------------------------------------- slots

/// CRC16-XMODEM, the checksum Redis Cluster maps keys to slots with.
fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= (byte as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn key_slot(key: &[u8]) -> usize {
    if let Some(open) = key.iter().position(|&b| b == b'{')
        && let Some(len) = key[open + 1..].iter().position(|&b| b == b'}')
        && len > 0
    {
        return crc16(&key[open + 1..open + 1 + len]) as usize % SLOTS;
    }
    crc16(key) as usize % SLOTS
}

fn key_name(index: u64) -> String {
    format!("key:{index:012}")
}

// ---------------------------------------------------------------- RESP

/// A RESP2 reply (the payloads show in error messages, through `Debug`).
#[derive(Debug)]
#[allow(dead_code)]
enum Reply {
    Status(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|i| from + i)
}

/// Parses one reply at `pos`: `Ok(None)` if the buffer does not hold all of it yet.
fn parse(buf: &[u8], pos: usize) -> Result<Option<(Reply, usize)>, String> {
    if pos >= buf.len() {
        return Ok(None);
    }
    let Some(end) = line_end(buf, pos + 1) else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&buf[pos + 1..end]).into_owned();
    let next = end + 2;
    let int = || {
        text.parse::<i64>()
            .map_err(|e| format!("bad RESP number {text:?}: {e}"))
    };
    Ok(Some(match buf[pos] {
        b'+' => (Reply::Status(text), next),
        b'-' => (Reply::Error(text), next),
        b':' => (Reply::Int(int()?), next),
        b'$' => {
            let len = int()?;
            if len < 0 {
                (Reply::Bulk(None), next)
            } else {
                let len = len as usize;
                if buf.len() < next + len + 2 {
                    return Ok(None);
                }
                (
                    Reply::Bulk(Some(buf[next..next + len].to_vec())),
                    next + len + 2,
                )
            }
        }
        b'*' => {
            let len = int()?;
            if len < 0 {
                (Reply::Array(None), next)
            } else {
                let mut items = Vec::with_capacity(len as usize);
                let mut at = next;
                for _ in 0..len {
                    match parse(buf, at)? {
                        Some((item, after)) => {
                            items.push(item);
                            at = after;
                        }
                        None => return Ok(None),
                    }
                }
                (Reply::Array(Some(items)), at)
            }
        }
        other => return Err(format!("unexpected RESP type byte {other:#x}")),
    }))
}

struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    chunk: Box<[u8]>,
}

impl Conn {
    async fn connect(addr: &str) -> Result<Conn, String> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| format!("connect {addr}: timed out"))?
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
            chunk: vec![0; 64 * 1024].into_boxed_slice(),
        })
    }

    /// A connection that has asked for the topology (ringcache then answers `-MOVED` instead of
    /// forwarding, as Redis Cluster always does).
    async fn connect_cluster_aware(addr: &str) -> Result<Conn, String> {
        let mut conn = Conn::connect(addr).await?;
        let mut out = Vec::new();
        encode(&mut out, &[b"CLUSTER", b"SLOTS"]);
        conn.send(&out).await?;
        match conn.read().await? {
            Reply::Error(e) => Err(format!("CLUSTER SLOTS on {addr}: {e}")),
            _ => Ok(conn),
        }
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| format!("write: {e}"))
    }

    async fn read(&mut self) -> Result<Reply, String> {
        loop {
            if let Some((reply, used)) = parse(&self.buf, 0)? {
                self.buf.drain(..used);
                return Ok(reply);
            }
            let n = self
                .stream
                .read(&mut self.chunk)
                .await
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&self.chunk[..n]);
        }
    }
}

// ---------------------------------------------------------------- topology

struct Topology {
    slots: RwLock<Vec<Arc<str>>>,
    seeds: Vec<String>,
    stale: AtomicBool,
}

impl Topology {
    fn new(seeds: Vec<String>) -> Topology {
        let first: Arc<str> = Arc::from(seeds[0].as_str());
        Topology {
            slots: RwLock::new(vec![first; SLOTS]),
            seeds,
            stale: AtomicBool::new(true),
        }
    }

    fn addr_of(&self, slot: usize) -> Arc<str> {
        self.slots.read().unwrap()[slot].clone()
    }

    fn set(&self, slot: usize, addr: &str) {
        let mut slots = self.slots.write().unwrap();
        if &*slots[slot] != addr {
            slots[slot] = Arc::from(addr);
        }
    }

    fn mark_stale(&self) {
        self.stale.store(true, Ordering::Relaxed);
    }

    /// Every master address the slot map names, then the seeds.
    fn candidates(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for addr in self.slots.read().unwrap().iter() {
            if !out.iter().any(|a| a == &**addr) {
                out.push(addr.to_string());
            }
        }
        for seed in &self.seeds {
            if !out.contains(seed) {
                out.push(seed.clone());
            }
        }
        out
    }

    /// `CLUSTER SLOTS` from the first member that answers; fills the slot map.
    async fn refresh(&self) -> Result<(), String> {
        let mut last = String::from("no member to ask");
        for addr in self.candidates() {
            let reply = async {
                let mut conn = Conn::connect(&addr).await?;
                let mut out = Vec::new();
                encode(&mut out, &[b"CLUSTER", b"SLOTS"]);
                conn.send(&out).await?;
                conn.read().await
            };
            match tokio::time::timeout(Duration::from_secs(2), reply).await {
                Ok(Ok(Reply::Array(Some(ranges)))) if !ranges.is_empty() => {
                    let mut slots = self.slots.write().unwrap();
                    for range in ranges {
                        let Reply::Array(Some(fields)) = range else {
                            continue;
                        };
                        let (Some(Reply::Int(start)), Some(Reply::Int(end)), Some(master)) =
                            (fields.first(), fields.get(1), fields.get(2))
                        else {
                            continue;
                        };
                        let Reply::Array(Some(node)) = master else {
                            continue;
                        };
                        let (Some(Reply::Bulk(Some(host))), Some(Reply::Int(port))) =
                            (node.first(), node.get(1))
                        else {
                            continue;
                        };
                        let addr: Arc<str> =
                            Arc::from(format!("{}:{port}", String::from_utf8_lossy(host)).as_str());
                        for slot in (*start as usize)..=(*end as usize).min(SLOTS - 1) {
                            slots[slot] = addr.clone();
                        }
                    }
                    return Ok(());
                }
                Ok(Ok(other)) => last = format!("CLUSTER SLOTS on {addr}: {other:?}"),
                Ok(Err(e)) => last = e,
                Err(_) => last = format!("CLUSTER SLOTS on {addr}: timed out"),
            }
        }
        Err(last)
    }

    /// Refreshes the slot map whenever something marked it stale, at most every 100 ms.
    fn spawn_refresher(self: &Arc<Self>) {
        let topology = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if topology.stale.swap(false, Ordering::Relaxed)
                    && topology.refresh().await.is_err()
                {
                    topology.mark_stale();
                }
            }
        });
    }
}

// ---------------------------------------------------------------- requests

#[derive(Default)]
struct Counters {
    redirects: AtomicU64,
    retries: AtomicU64,
}

/// Counts a retry, asks for the slot map again, waits `pause`, and returns where `slot` goes now.
async fn retry_after(
    topology: &Topology,
    slot: usize,
    counters: &Counters,
    pause: Duration,
) -> Arc<str> {
    counters.retries.fetch_add(1, Ordering::Relaxed);
    topology.mark_stale();
    tokio::time::sleep(pause).await;
    topology.addr_of(slot)
}

/// One request for `slot`, following redirections and retrying what is safe to retry, until an
/// answer or `OP_TIMEOUT`.
async fn execute(
    topology: &Topology,
    conns: &mut HashMap<Arc<str>, Conn>,
    command: &[u8],
    slot: usize,
    counters: &Counters,
) -> Result<Reply, String> {
    let deadline = Instant::now() + OP_TIMEOUT;
    let mut addr = topology.addr_of(slot);
    let mut asking = false;
    let mut last_error = String::from("timed out");
    let mut asking_command = Vec::new();
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(last_error);
        }
        if !conns.contains_key(&addr) {
            match tokio::time::timeout(deadline - now, Conn::connect_cluster_aware(&addr)).await {
                Ok(Ok(conn)) => {
                    conns.insert(addr.clone(), conn);
                }
                Ok(Err(e)) => {
                    last_error = e;
                    addr = retry_after(topology, slot, counters, RETRY_PAUSE * 2).await;
                    asking = false;
                    continue;
                }
                Err(_) => return Err(format!("connect {addr}: timed out")),
            }
        }
        let conn = conns.get_mut(&addr).expect("connection just made");
        let exchange = async {
            if asking {
                asking_command.clear();
                encode(&mut asking_command, &[b"ASKING"]);
                asking_command.extend_from_slice(command);
                conn.send(&asking_command).await?;
                conn.read().await?;
            } else {
                conn.send(command).await?;
            }
            conn.read().await
        };
        let reply = match tokio::time::timeout(deadline - now, exchange).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                conns.remove(&addr);
                last_error = format!("{addr}: {e}");
                addr = retry_after(topology, slot, counters, RETRY_PAUSE * 2).await;
                asking = false;
                continue;
            }
            Err(_) => {
                conns.remove(&addr);
                return Err(format!("{addr}: no answer within {OP_TIMEOUT:?}"));
            }
        };
        match reply {
            Reply::Error(e) => {
                let mut words = e.split_whitespace();
                let kind = words.next().unwrap_or_default();
                match kind {
                    "MOVED" | "ASK" => {
                        let target = words.nth(1).unwrap_or_default().to_owned();
                        counters.redirects.fetch_add(1, Ordering::Relaxed);
                        if target.is_empty() {
                            return Err(e);
                        }
                        if kind == "MOVED" {
                            topology.set(slot, &target);
                            topology.mark_stale();
                            asking = false;
                        } else {
                            asking = true;
                        }
                        addr = Arc::from(target.as_str());
                    }
                    "TRYAGAIN" | "CLUSTERDOWN" | "LOADING" => {
                        // Also what a node removed from the cluster answers: ask for the map again.
                        last_error = e.clone();
                        addr = retry_after(topology, slot, counters, RETRY_PAUSE).await;
                        asking = false;
                    }
                    _ => return Err(e),
                }
            }
            other => return Ok(other),
        }
    }
}

// ---------------------------------------------------------------- latency histogram

/// Log-linear buckets in microseconds: exact below 64 µs, then 32 buckets per power of two (≤ 3 %).
const BUCKETS: usize = 64 + 40 * 32;

fn bucket_of(micros: u64) -> usize {
    if micros < 64 {
        return micros as usize;
    }
    let exponent = 63 - micros.leading_zeros() as usize; // ≥ 6
    let shift = exponent - 5;
    let mantissa = (micros >> shift) as usize; // 32..=63
    (64 + (exponent - 6) * 32 + (mantissa - 32)).min(BUCKETS - 1)
}

/// The highest value a bucket holds.
fn bucket_top(bucket: usize) -> u64 {
    if bucket < 64 {
        return bucket as u64;
    }
    let exponent = (bucket - 64) / 32 + 6;
    let mantissa = ((bucket - 64) % 32 + 32) as u64;
    ((mantissa + 1) << (exponent - 5)) - 1
}

struct Histogram(Vec<AtomicU64>);

impl Histogram {
    fn new() -> Histogram {
        Histogram((0..BUCKETS).map(|_| AtomicU64::new(0)).collect())
    }
    fn record(&self, micros: u64) {
        self.0[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
    }
    fn snapshot(&self, reset: bool) -> Vec<u64> {
        self.0
            .iter()
            .map(|b| {
                if reset {
                    b.swap(0, Ordering::Relaxed)
                } else {
                    b.load(Ordering::Relaxed)
                }
            })
            .collect()
    }
}

fn percentile(counts: &[u64], p: f64) -> u64 {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return 0;
    }
    let rank = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (bucket, count) in counts.iter().enumerate() {
        seen += count;
        if seen >= rank {
            return bucket_top(bucket);
        }
    }
    bucket_top(BUCKETS - 1)
}

fn max_of(counts: &[u64]) -> u64 {
    counts
        .iter()
        .rposition(|&c| c > 0)
        .map(bucket_top)
        .unwrap_or(0)
}

// ---------------------------------------------------------------- windows

struct Window {
    ops: AtomicU64,
    sets: AtomicU64,
    errors: AtomicU64,
    histogram: Histogram,
    counters: Counters,
    first_error: Mutex<Option<String>>,
    worst_second: AtomicU64,
}

impl Window {
    fn new() -> Window {
        Window {
            ops: AtomicU64::new(0),
            sets: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            histogram: Histogram::new(),
            counters: Counters::default(),
            first_error: Mutex::new(None),
            worst_second: AtomicU64::new(u64::MAX),
        }
    }
}

struct WindowInfo {
    name: String,
    started: Instant,
    started_epoch_ms: u128,
    ended: Option<Instant>,
}

struct Recorder {
    windows: Vec<Window>,
    info: Mutex<Vec<WindowInfo>>,
    current: AtomicUsize,
    second: Window,
    stop: AtomicBool,
}

fn epoch_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            windows: (0..MAX_WINDOWS).map(|_| Window::new()).collect(),
            info: Mutex::new(vec![WindowInfo {
                name: "start".into(),
                started: Instant::now(),
                started_epoch_ms: epoch_ms(),
                ended: None,
            }]),
            current: AtomicUsize::new(0),
            second: Window::new(),
            stop: AtomicBool::new(false),
        }
    }

    fn window(&self) -> &Window {
        &self.windows[self.current.load(Ordering::Relaxed)]
    }

    fn record(&self, result: &Result<Reply, String>, micros: u64, set: bool) {
        let window = self.window();
        for w in [window, &self.second] {
            match result {
                Ok(_) => {
                    w.ops.fetch_add(1, Ordering::Relaxed);
                    if set {
                        w.sets.fetch_add(1, Ordering::Relaxed);
                    }
                    w.histogram.record(micros);
                }
                Err(e) => {
                    w.errors.fetch_add(1, Ordering::Relaxed);
                    let mut first = w.first_error.lock().unwrap();
                    if first.is_none() {
                        *first = Some(e.clone());
                    }
                }
            }
        }
    }

    fn next_window(&self, name: &str) {
        let mut info = self.info.lock().unwrap();
        let now = Instant::now();
        if let Some(last) = info.last_mut() {
            last.ended = Some(now);
        }
        if info.len() >= MAX_WINDOWS {
            eprintln!("cluster-load: more than {MAX_WINDOWS} windows; {name:?} joins the last one");
            return;
        }
        info.push(WindowInfo {
            name: name.to_owned(),
            started: now,
            started_epoch_ms: epoch_ms(),
            ended: None,
        });
        self.current.store(info.len() - 1, Ordering::Relaxed);
    }

    fn report(&self) -> String {
        let info = self.info.lock().unwrap();
        let mut out = String::new();
        for (index, window_info) in info.iter().enumerate() {
            let window = &self.windows[index];
            let seconds = window_info
                .ended
                .unwrap_or_else(Instant::now)
                .duration_since(window_info.started)
                .as_secs_f64();
            let counts = window.histogram.snapshot(false);
            let ops = window.ops.load(Ordering::Relaxed);
            let worst = window.worst_second.load(Ordering::Relaxed);
            let first_error = window.first_error.lock().unwrap().clone();
            out.push_str(&format!(
                concat!(
                    "{{\"window\":\"{}\",\"start_ms\":{},\"seconds\":{:.3},\"ops\":{},\"sets\":{},",
                    "\"rps\":{:.1},\"errors\":{},\"redirects\":{},\"retries\":{},\"p50_us\":{},",
                    "\"p99_us\":{},\"p999_us\":{},\"max_us\":{},\"worst_second_ops\":{}{}}}\n"
                ),
                window_info.name.replace(['"', '\\'], "_"),
                window_info.started_epoch_ms,
                seconds,
                ops,
                window.sets.load(Ordering::Relaxed),
                if seconds > 0.0 {
                    ops as f64 / seconds
                } else {
                    0.0
                },
                window.errors.load(Ordering::Relaxed),
                window.counters.redirects.load(Ordering::Relaxed),
                window.counters.retries.load(Ordering::Relaxed),
                percentile(&counts, 50.0),
                percentile(&counts, 99.0),
                percentile(&counts, 99.9),
                max_of(&counts),
                if worst == u64::MAX {
                    "null".to_owned()
                } else {
                    worst.to_string()
                },
                first_error
                    .map(|e| format!(
                        ",\"first_error\":\"{}\"",
                        e.replace('\\', "\\\\").replace('"', "'")
                    ))
                    .unwrap_or_default(),
            ));
        }
        out
    }
}

/// Follows the control file: each new line starts a window of that name; `stop` stops.
async fn follow_control(path: String, recorder: Arc<Recorder>) {
    let mut seen = 0;
    loop {
        if let Ok(text) = tokio::fs::read_to_string(&path).await {
            let lines: Vec<&str> = text.lines().collect();
            // Only complete lines (a writer may be half-way through the last one).
            let complete = if text.ends_with('\n') {
                lines.len()
            } else {
                lines.len().saturating_sub(1)
            };
            for line in &lines[seen.min(complete)..complete] {
                let name = line.trim();
                if name == "stop" {
                    recorder.next_window("end");
                    recorder.stop.store(true, Ordering::Relaxed);
                    return;
                }
                if !name.is_empty() {
                    recorder.next_window(name);
                }
            }
            seen = seen.max(complete);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Once a second: a timeline line, and each window's worst whole second.
async fn tick(recorder: Arc<Recorder>, timeline: Option<String>) {
    let mut file = match &timeline {
        Some(path) => match tokio::fs::File::create(path).await {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("cluster-load: cannot write {path}: {e}");
                None
            }
        },
        None => None,
    };
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    interval.tick().await;
    let mut second_started = Instant::now();
    let mut window_at_start = recorder.current.load(Ordering::Relaxed);
    let mut last_redirects = 0u64;
    loop {
        interval.tick().await;
        let counts = recorder.second.histogram.snapshot(true);
        let ops = recorder.second.ops.swap(0, Ordering::Relaxed);
        let errors = recorder.second.errors.swap(0, Ordering::Relaxed);
        // Requests count their redirections in their window's counters: the growth of all of them.
        let total_redirects: u64 = recorder
            .windows
            .iter()
            .map(|w| w.counters.redirects.load(Ordering::Relaxed))
            .sum();
        let redirects = total_redirects - last_redirects;
        last_redirects = total_redirects;
        let elapsed = second_started.elapsed().as_secs_f64();
        second_started = Instant::now();
        let current = recorder.current.load(Ordering::Relaxed);
        // A whole second inside one window (not straddling a boundary) counts for its worst second.
        if current == window_at_start {
            let per_second = (ops as f64 / elapsed.max(0.001)).round() as u64;
            recorder.windows[current]
                .worst_second
                .fetch_min(per_second, Ordering::Relaxed);
        }
        window_at_start = current;
        if let Some(f) = file.as_mut() {
            let name = recorder
                .info
                .lock()
                .unwrap()
                .get(current)
                .map(|i| i.name.clone())
                .unwrap_or_default();
            let line = format!(
                "{} {} {} {} {} {} {} {}\n",
                epoch_ms(),
                name,
                ops,
                errors,
                redirects,
                percentile(&counts, 50.0),
                percentile(&counts, 99.0),
                max_of(&counts)
            );
            let _ = f.write_all(line.as_bytes()).await;
        }
        if recorder.stop.load(Ordering::Relaxed) {
            return;
        }
    }
}

/// xorshift64*: a cheap per-task random generator.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

async fn run(args: Args) -> Result<String, String> {
    let topology = Arc::new(Topology::new(args.seeds.clone()));
    topology.refresh().await?;
    topology.stale.store(false, Ordering::Relaxed);
    topology.spawn_refresher();
    let recorder = Arc::new(Recorder::new());
    let control = tokio::spawn(follow_control(
        args.control.clone().unwrap_or_default(),
        recorder.clone(),
    ));
    let ticker = tokio::spawn(tick(recorder.clone(), args.timeline.clone()));
    let value = Arc::new(vec![b'v'; args.value_size]);
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.clients);
    for task in 0..args.clients {
        let (topology, recorder, value) = (topology.clone(), recorder.clone(), value.clone());
        let (keyspace, set_percent, clients, rate) =
            (args.keyspace, args.set_percent, args.clients, args.rate);
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((task as u64 + 1) << 17));
            let mut conns = HashMap::new();
            let mut command = Vec::with_capacity(128);
            // Open loop: this task's share of the rate, its first request offset so the tasks
            // do not fire together.
            let interval = (rate > 0.0).then(|| Duration::from_secs_f64(clients as f64 / rate));
            let mut scheduled = start
                + interval.map_or(Duration::ZERO, |i| i.mul_f64(task as f64 / clients as f64));
            while !recorder.stop.load(Ordering::Relaxed) {
                let key = key_name(rng.next() % keyspace);
                let set = rng.next() % 100 < set_percent;
                command.clear();
                if set {
                    encode(&mut command, &[b"SET", key.as_bytes(), &value]);
                } else {
                    encode(&mut command, &[b"GET", key.as_bytes()]);
                }
                let sent = match interval {
                    Some(interval) => {
                        tokio::time::sleep_until(scheduled.into()).await;
                        let at = scheduled;
                        scheduled += interval;
                        at
                    }
                    None => Instant::now(),
                };
                let counters = &recorder.window().counters;
                let result = execute(
                    &topology,
                    &mut conns,
                    &command,
                    key_slot(key.as_bytes()),
                    counters,
                )
                .await;
                let micros = sent.elapsed().as_micros() as u64;
                recorder.record(&result, micros, set);
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("task: {e}"))?;
    }
    let _ = control.await;
    let _ = ticker.await;
    Ok(recorder.report())
}

async fn fill(args: Args) -> Result<String, String> {
    let topology = Arc::new(Topology::new(args.seeds.clone()));
    topology.refresh().await?;
    topology.stale.store(false, Ordering::Relaxed);
    topology.spawn_refresher();
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let counters = Arc::new(Counters::default());
    let value = Arc::new(vec![b'v'; args.value_size]);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.clients {
        let (topology, next, errors, first_error, counters, value) = (
            topology.clone(),
            next.clone(),
            errors.clone(),
            first_error.clone(),
            counters.clone(),
            value.clone(),
        );
        let (keys, pipeline) = (args.keys, args.pipeline as u64);
        tasks.push(tokio::spawn(async move {
            let mut conns: HashMap<Arc<str>, Conn> = HashMap::new();
            loop {
                let from = next.fetch_add(pipeline, Ordering::Relaxed);
                if from >= keys {
                    return;
                }
                let to = (from + pipeline).min(keys);
                // This batch, by master: each master gets its keys as one pipeline.
                let mut by_master: HashMap<Arc<str>, Vec<u64>> = HashMap::new();
                for index in from..to {
                    let slot = key_slot(key_name(index).as_bytes());
                    by_master
                        .entry(topology.addr_of(slot))
                        .or_default()
                        .push(index);
                }
                for (addr, indexes) in by_master {
                    let mut out = Vec::with_capacity(indexes.len() * (40 + value.len()));
                    for &index in &indexes {
                        encode(&mut out, &[b"SET", key_name(index).as_bytes(), &value]);
                    }
                    // acked[i]: indexes[i] was answered +OK through the pipeline.
                    let mut acked = vec![false; indexes.len()];
                    let sent = async {
                        if !conns.contains_key(&addr) {
                            conns.insert(addr.clone(), Conn::connect_cluster_aware(&addr).await?);
                        }
                        let conn = conns.get_mut(&addr).expect("connection just made");
                        conn.send(&out).await?;
                        for ok in acked.iter_mut() {
                            *ok = matches!(conn.read().await?, Reply::Status(_));
                        }
                        Ok::<(), String>(())
                    };
                    if !matches!(tokio::time::timeout(OP_TIMEOUT, sent).await, Ok(Ok(()))) {
                        conns.remove(&addr);
                    }
                    // Anything not acknowledged (a redirection, a dropped connection) goes again,
                    // one at a time, through the routing that follows redirections.
                    for (position, &index) in indexes.iter().enumerate() {
                        if acked[position] {
                            continue;
                        }
                        let key = key_name(index);
                        let mut command = Vec::new();
                        encode(&mut command, &[b"SET", key.as_bytes(), &value]);
                        if let Err(e) = execute(
                            &topology,
                            &mut conns,
                            &command,
                            key_slot(key.as_bytes()),
                            &counters,
                        )
                        .await
                        {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().unwrap().get_or_insert(e);
                        }
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.map_err(|e| format!("task: {e}"))?;
    }
    let seconds = start.elapsed().as_secs_f64();
    let errors = errors.load(Ordering::Relaxed);
    Ok(format!(
        "{{\"keys\":{},\"seconds\":{:.3},\"rps\":{:.1},\"errors\":{},\"redirects\":{},\"retries\":{}{}}}\n",
        args.keys,
        seconds,
        args.keys as f64 / seconds,
        errors,
        counters.redirects.load(Ordering::Relaxed),
        counters.retries.load(Ordering::Relaxed),
        first_error
            .lock()
            .unwrap()
            .clone()
            .map(|e| format!(",\"first_error\":\"{}\"", e.replace('"', "'")))
            .unwrap_or_default(),
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("cluster-load: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = if args.command == "fill" {
        fill(args).await
    } else {
        run(args).await
    };
    match result {
        Ok(report) => {
            print!("{report}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("cluster-load: {message}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        // CLUSTER KEYSLOT key:000000000001 answers 8924 on both systems.
        assert_eq!(key_slot(b"key:000000000001"), 8924);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
    }

    #[test]
    fn buckets_cover_their_values() {
        for v in [0u64, 1, 63, 64, 65, 100, 1000, 12_345, 999_999, 10_000_000] {
            let b = bucket_of(v);
            assert!(bucket_top(b) >= v, "{v}");
            assert!(b == 0 || bucket_top(b - 1) < v, "{v}");
            assert!(bucket_top(b) as f64 <= v as f64 * 1.035 + 1.0, "{v}");
        }
    }

    #[test]
    fn parses_replies() {
        let buf = b"*2\r\n$3\r\nfoo\r\n:5\r\n+OK\r\n";
        let (reply, used) = parse(buf, 0).unwrap().unwrap();
        assert!(matches!(reply, Reply::Array(Some(ref v)) if v.len() == 2));
        assert!(matches!(
            parse(buf, used).unwrap(),
            Some((Reply::Status(_), _))
        ));
        assert!(parse(b"$5\r\nab", 0).unwrap().is_none());
    }
}
