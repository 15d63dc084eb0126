//! Load generator for `bench/cluster-vs-etcd.sh`: runs `--requests` puts (or gets) of
//! `--value-size`-byte values on random keys `key:NNNNNNNNNNNN` (12 digits, below `--keyspace`, the
//! names `redis-benchmark -r` uses) over `--clients` concurrent tasks, and prints one JSON line:
//! throughput, p50/p99/max latency, errors, and the CPU time this process used.
//!
//! Connections: by default every task has its own `etcd_client::Client`, i.e. its own gRPC channel
//! and HTTP/2 connection to each endpoint, like `redis-benchmark -c` opens one connection per
//! client. `--connections K` (K < clients) shares K clients among the tasks round-robin instead
//! (requests from several tasks are then multiplexed as HTTP/2 streams on one connection).
//! Each task runs one request at a time (no pipelining): the latency of a request is the time from
//! sending it to its answer.
//!
//! Gets are linearizable (etcd's default, a ReadIndex round through the leader) unless
//! `--serializable` is given (served from the local member's state, possibly stale).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use etcd_client::{Client, ConnectOptions, GetOptions};

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Put,
    Get,
}

struct Args {
    endpoints: Vec<String>,
    mode: Mode,
    requests: u64,
    clients: usize,
    connections: usize,
    keyspace: u64,
    value_size: usize,
    serializable: bool,
}

const USAGE: &str = "usage: etcd-load --endpoints H:P[,H:P...] [--mode put|get] [--requests N] \
[--clients C] [--connections K] [--keyspace R] [--value-size B] [--serializable]";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        endpoints: Vec::new(),
        mode: Mode::Put,
        requests: 100_000,
        clients: 50,
        connections: 0,
        keyspace: 100_000,
        value_size: 64,
        serializable: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--serializable" {
            args.serializable = true;
            continue;
        }
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--endpoints" => {
                args.endpoints = value
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            }
            "--mode" => {
                args.mode = match value.as_str() {
                    "put" => Mode::Put,
                    "get" => Mode::Get,
                    other => return Err(format!("--mode {other}: expected put or get")),
                }
            }
            "--requests" => args.requests = number(&value)?,
            "--clients" => args.clients = number(&value)? as usize,
            "--connections" => args.connections = number(&value)? as usize,
            "--keyspace" => args.keyspace = number(&value)?.max(1),
            "--value-size" => args.value_size = number(&value)? as usize,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.endpoints.is_empty() {
        return Err("--endpoints is required".into());
    }
    if args.clients == 0 {
        return Err("--clients must be at least 1".into());
    }
    if args.connections == 0 || args.connections > args.clients {
        args.connections = args.clients;
    }
    Ok(args)
}

/// xorshift64*: a cheap per-task random key generator (no dependency, no shared state).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// User + system CPU time of this process, in seconds, from /proc/self/stat (no libc dependency).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, i.e. 11 and 12 after the name.
    let ticks: u64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0);
    ticks as f64 / 100.0 // USER_HZ is 100 on Linux
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

async fn run(args: Args) -> Result<String, String> {
    let options = ConnectOptions::new()
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(Duration::from_secs(10));
    let mut clients = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        let client = Client::connect(&args.endpoints, Some(options.clone()))
            .await
            .map_err(|e| format!("connect {:?}: {e}", args.endpoints))?;
        clients.push(client);
    }
    // One warm-up request per client so that connection set-up is not timed.
    for client in &mut clients {
        client
            .get("key:warmup", None)
            .await
            .map_err(|e| format!("warm-up get: {e}"))?;
    }

    let next = Arc::new(AtomicU64::new(0));
    let value = Arc::new(vec![b'x'; args.value_size]);
    let cpu_before = cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(args.clients);
    for task in 0..args.clients {
        let mut kv = clients[task % clients.len()].kv_client();
        let next = next.clone();
        let value = value.clone();
        let (mode, requests, keyspace, serializable) =
            (args.mode, args.requests, args.keyspace, args.serializable);
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((task as u64 + 1) << 17));
            let mut latencies = Vec::with_capacity((requests / 50 + 16) as usize);
            let mut errors = 0u64;
            let mut first_error = None;
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let key = format!("key:{:012}", rng.next() % keyspace);
                let sent = Instant::now();
                let result = match mode {
                    Mode::Put => kv.put(key, value.as_slice(), None).await.map(|_| ()),
                    Mode::Get => {
                        let options = serializable.then(|| GetOptions::new().with_serializable());
                        kv.get(key, options).await.map(|_| ())
                    }
                };
                let micros = sent.elapsed().as_micros().min(u32::MAX as u128) as u32;
                match result {
                    Ok(()) => latencies.push(micros),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| e.to_string());
                    }
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut latencies = Vec::with_capacity(args.requests as usize);
    let mut errors = 0;
    let mut first_error = None;
    for task in tasks {
        let (l, e, f) = task.await.map_err(|e| format!("task: {e}"))?;
        latencies.extend(l);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    latencies.sort_unstable();
    let ok = latencies.len() as f64;
    let mode = match args.mode {
        Mode::Put => "put",
        Mode::Get if args.serializable => "get-serializable",
        Mode::Get => "get",
    };
    Ok(format!(
        concat!(
            "{{\"mode\":\"{}\",\"requests\":{},\"ok\":{},\"errors\":{},\"clients\":{},",
            "\"connections\":{},\"endpoints\":{},\"value_size\":{},\"keyspace\":{},",
            "\"seconds\":{:.3},\"rps\":{:.1},\"p50_us\":{},\"p99_us\":{},\"max_us\":{},",
            "\"client_cpu_s\":{:.2}{}}}"
        ),
        mode,
        args.requests,
        latencies.len(),
        errors,
        args.clients,
        args.connections,
        args.endpoints.len(),
        args.value_size,
        args.keyspace,
        seconds,
        ok / seconds,
        percentile(&latencies, 50.0),
        percentile(&latencies, 99.0),
        latencies.last().copied().unwrap_or(0),
        cpu,
        first_error
            .map(|e| format!(
                ",\"first_error\":\"{}\"",
                e.replace('\\', "\\\\").replace('"', "'")
            ))
            .unwrap_or_default(),
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("etcd-load: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("etcd-load: {message}");
            ExitCode::FAILURE
        }
    }
}
