//! A steady client load for end-to-end tests: plain and cluster-aware Redis clients doing SET, GET
//! and DEL over a few hundred keys, and INCRBY and GET over a few counters, every operation
//! recorded for the linearizability checker (which catches a lost or doubled increment too).
//!
//! ```text
//!  plain client i    ── one member's Redis port (endpoints[i % n]); the node forwards to leaders
//!  cluster client j  ── CLUSTER SLOTS on every connection (so the node answers -MOVED), routes
//!                       each key by slot and follows -MOVED itself, to any member it names
//! ```
//!
//! Outcomes, as docs/admin-api.md "Client protocol in cluster mode" defines them: a reply is
//! definite; `-TRYAGAIN`, `-CLUSTERDOWN` and `-MOVED` mean "not applied" (the operation is dropped
//! from the history); `-ERR outcome unknown`, a timeout or a dropped connection leave a write's
//! outcome unknown (it may take effect at any later time, or never). Anything else is unexpected
//! and reported, so a test can fail on error replies users were never promised.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::MultiplexedConnection;

mod protocol;

use crate::final_reads::FinalReads;
use crate::linearizability::{HistoryRecorder, Record};
use protocol::Routes;
pub use protocol::{Failure, classify, classify_parts, parse_cluster_slots};

/// What load to run.
#[derive(Debug, Clone)]
pub struct WorkloadOptions {
    /// `host:port` of members' Redis ports: plain client `i` uses `endpoints[i % len]`, cluster
    /// clients bootstrap from them. Use members that exist for the whole run.
    pub endpoints: Vec<String>,
    pub plain_clients: usize,
    pub cluster_clients: usize,
    /// Keys are `<key_prefix>:<index>` for `index < keys`.
    pub keys: usize,
    /// Counters (`INCRBY`, `GET`) are `<key_prefix>:counter:<index>` for `index < counters`.
    pub counters: usize,
    pub key_prefix: String,
    /// A reply slower than this is an unknown outcome (a stopped member must not hang a client).
    pub response_timeout: Duration,
    /// Pause between one client's operations, so the load is steady but leaves the (shared, small)
    /// machine some CPU for Raft heartbeats.
    pub think_time: Duration,
}

impl WorkloadOptions {
    /// Two plain and two cluster-aware clients over 300 keys.
    pub fn new(endpoints: Vec<String>, key_prefix: &str) -> Self {
        WorkloadOptions {
            endpoints,
            plain_clients: 2,
            cluster_clients: 2,
            keys: 300,
            counters: 4,
            key_prefix: key_prefix.to_owned(),
            response_timeout: Duration::from_secs(5),
            think_time: Duration::from_millis(4),
        }
    }

    /// Every key the workload touches, registers then counters.
    pub fn key_names(&self) -> Vec<Vec<u8>> {
        (0..self.keys + self.counters)
            .map(|index| self.key_name(index))
            .collect()
    }

    /// Key `index`: a register below `keys`, a counter from there on.
    fn key_name(&self, index: usize) -> Vec<u8> {
        let prefix = &self.key_prefix;
        match index.checked_sub(self.keys) {
            None => format!("{prefix}:{index}").into_bytes(),
            Some(counter) => format!("{prefix}:counter:{counter}").into_bytes(),
        }
    }
}

/// Counters of what the clients saw.
#[derive(Debug, Default)]
struct Counters {
    writes_ok: AtomicU64,
    deletes_ok: AtomicU64,
    increments_ok: AtomicU64,
    reads_ok: AtomicU64,
    not_applied: AtomicU64,
    unknown: AtomicU64,
    redirects_followed: AtomicU64,
}

/// A snapshot of [`Counters`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkloadCounts {
    /// Acknowledged SETs.
    pub writes_ok: u64,
    /// Acknowledged DELs.
    pub deletes_ok: u64,
    /// Acknowledged INCRBYs.
    pub increments_ok: u64,
    pub reads_ok: u64,
    /// `-TRYAGAIN` / `-CLUSTERDOWN` (and redirections given up on): certainly not applied.
    pub not_applied: u64,
    /// Writes of unknown outcome.
    pub unknown: u64,
    /// `-MOVED` replies a cluster-aware client followed.
    pub redirects_followed: u64,
}

impl Counters {
    fn snapshot(&self) -> WorkloadCounts {
        WorkloadCounts {
            writes_ok: self.writes_ok.load(Ordering::Relaxed),
            deletes_ok: self.deletes_ok.load(Ordering::Relaxed),
            increments_ok: self.increments_ok.load(Ordering::Relaxed),
            reads_ok: self.reads_ok.load(Ordering::Relaxed),
            not_applied: self.not_applied.load(Ordering::Relaxed),
            unknown: self.unknown.load(Ordering::Relaxed),
            redirects_followed: self.redirects_followed.load(Ordering::Relaxed),
        }
    }
}

/// What a stopped workload hands back.
#[derive(Debug, Clone)]
pub struct WorkloadReport {
    pub history: Vec<Record>,
    pub counts: WorkloadCounts,
    /// Error replies outside the documented set (`-ERR …` other than "outcome unknown", …).
    pub unexpected: Vec<String>,
    pub keys: Vec<Vec<u8>>,
}

impl WorkloadReport {
    /// Checks `finals` (a read of every key after the load stopped) against the history, then the
    /// history with those reads appended: see [`FinalReads::verify`].
    pub fn verify(&self, finals: &FinalReads) -> Result<(), String> {
        if !self.unexpected.is_empty() {
            return Err(format!(
                "{} unexpected error replies, first: {:?}",
                self.unexpected.len(),
                &self.unexpected[..self.unexpected.len().min(5)]
            ));
        }
        finals.verify(&self.history)
    }
}

/// A running workload.
pub struct Workload {
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    recorder: Arc<HistoryRecorder>,
    unexpected: Arc<parking_lot::Mutex<Vec<String>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    keys: Vec<Vec<u8>>,
}

impl Workload {
    /// Starts the clients; they run until [`Workload::stop`].
    pub fn start(options: WorkloadOptions) -> Self {
        assert!(
            !options.endpoints.is_empty(),
            "the workload needs endpoints"
        );
        let options = Arc::new(options);
        let shared = Shared {
            options: options.clone(),
            stop: Arc::new(AtomicBool::new(false)),
            counters: Arc::new(Counters::default()),
            recorder: Arc::new(HistoryRecorder::new()),
            unexpected: Arc::new(parking_lot::Mutex::new(Vec::new())),
        };
        let mut tasks = Vec::new();
        for client in 0..options.plain_clients + options.cluster_clients {
            let shared = shared.clone();
            let cluster_aware = client >= options.plain_clients;
            tasks.push(tokio::spawn(async move {
                run_client(shared, client, cluster_aware).await;
            }));
        }
        Workload {
            stop: shared.stop,
            counters: shared.counters,
            recorder: shared.recorder,
            unexpected: shared.unexpected,
            tasks,
            keys: options.key_names(),
        }
    }

    /// What the clients saw so far.
    pub fn counts(&self) -> WorkloadCounts {
        self.counters.snapshot()
    }

    /// Waits until at least `writes` more writes were acknowledged than now, or `timeout` passed;
    /// returns whether they were.
    pub async fn wait_for_writes(&self, writes: u64, timeout: Duration) -> bool {
        let target = self.counts().writes_ok + writes;
        let deadline = tokio::time::Instant::now() + timeout;
        while self.counts().writes_ok < target {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        true
    }

    /// Stops the clients (an operation in flight finishes or times out) and returns the history.
    pub async fn stop(self) -> WorkloadReport {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            let _ = task.await;
        }
        WorkloadReport {
            history: self.recorder.history(),
            counts: self.counters.snapshot(),
            unexpected: self.unexpected.lock().clone(),
            keys: self.keys,
        }
    }
}

#[derive(Clone)]
struct Shared {
    options: Arc<WorkloadOptions>,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    recorder: Arc<HistoryRecorder>,
    unexpected: Arc<parking_lot::Mutex<Vec<String>>>,
}

/// A small deterministic generator, so a failing run's key sequence can be replayed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// The operation a client does next: `(key index, write value or delete or read)`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Get,
    Set(Vec<u8>),
    Del,
    /// `INCRBY` by this much.
    Incr(i64),
}

/// On registers: half reads, 30% SETs, 5% DELs (enough that "absent" is a value the checks see);
/// on counters: 10% INCRBY 1 and 5% reads (one amount: the checker's search of a hot counter
/// with unknown outcomes grows with the number of distinct amounts). Without counters, those 15% are register reads.
fn next_op(
    random: &mut XorShift,
    client: usize,
    sequence: u64,
    keys: usize,
    counters: usize,
) -> (usize, Op) {
    let draw = random.next();
    let register = (draw >> 8) as usize % keys;
    let counter = || keys + (draw >> 8) as usize % counters;
    match draw % 20 {
        17 | 18 if counters > 0 => (counter(), Op::Incr(1)),
        19 if counters > 0 => (counter(), Op::Get),
        10..=15 => (
            register,
            Op::Set(format!("c{client}-{sequence}").into_bytes()),
        ),
        16 => (register, Op::Del),
        _ => (register, Op::Get),
    }
}

async fn connect(address: &str, timeout: Duration, cluster_aware: bool) -> Option<Connection> {
    let client = redis::Client::open(format!("redis://{address}/")).ok()?;
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Duration::from_secs(2))
        .set_response_timeout(timeout);
    let mut connection = client
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .ok()?;
    let mut slots = Vec::new();
    if cluster_aware {
        // Asking for the topology is what makes the node answer -MOVED on this connection.
        let reply: redis::Value = redis::cmd("CLUSTER")
            .arg("SLOTS")
            .query_async(&mut connection)
            .await
            .ok()?;
        slots = parse_cluster_slots(&reply);
    }
    Some(Connection { connection, slots })
}

struct Connection {
    connection: MultiplexedConnection,
    /// `(first, last, address)` from CLUSTER SLOTS (cluster-aware connections only).
    slots: Vec<(u16, u16, String)>,
}

async fn run_client(shared: Shared, client: usize, cluster_aware: bool) {
    let options = &shared.options;
    let seed = &options.endpoints[client % options.endpoints.len()];
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15 ^ ((client as u64 + 1) * 0x1000_0001));
    let mut pool: BTreeMap<String, Connection> = BTreeMap::new();
    let mut routes = Routes::new();
    let mut sequence = 0u64;
    while !shared.stop.load(Ordering::Relaxed) {
        sequence += 1;
        let (index, op) = next_op(
            &mut random,
            client,
            sequence,
            options.keys,
            options.counters,
        );
        let key = options.key_name(index);
        let pending = match &op {
            Op::Get => shared.recorder.invoke_read(&key),
            Op::Set(value) => shared.recorder.invoke_write(&key, Some(value)),
            Op::Del => shared.recorder.invoke_write(&key, None),
            Op::Incr(by) => shared.recorder.invoke_increment(&key, *by),
        };
        let mut command = match &op {
            Op::Get => redis::cmd("GET"),
            Op::Set(_) => redis::cmd("SET"),
            Op::Del => redis::cmd("DEL"),
            Op::Incr(_) => redis::cmd("INCRBY"),
        };
        command.arg(&key);
        match &op {
            Op::Set(value) => {
                command.arg(value);
            }
            Op::Incr(by) => {
                command.arg(*by);
            }
            Op::Get | Op::Del => {}
        }
        let slot = ringcache_placement::key_slot(&key);
        // A plain client always asks its member; a cluster-aware one asks the slot's leader as far
        // as it knows, and follows up to four redirections (each means "not applied").
        let mut address: String = if cluster_aware {
            routes.by_slot[usize::from(slot)]
                .as_deref()
                .unwrap_or(seed)
                .to_owned()
        } else {
            seed.clone()
        };
        let mut outcome = Err(Failure::NotApplied);
        for _ in 0..5 {
            if !pool.contains_key(&address) {
                match connect(&address, options.response_timeout, cluster_aware).await {
                    Some(connection) => {
                        routes.learn(&connection.slots);
                        pool.insert(address.clone(), connection);
                    }
                    // Nothing was sent: not applied. Fall back to the seed next time.
                    None => {
                        routes.by_slot[usize::from(slot)] = None;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        break;
                    }
                }
            }
            let connection = &mut pool.get_mut(&address).expect("connected above").connection;
            let result: redis::RedisResult<redis::Value> = command.query_async(connection).await;
            outcome = match result {
                Ok(value) => Ok(value),
                Err(error) => Err(classify(&error)),
            };
            match &outcome {
                Err(Failure::Moved(next)) if cluster_aware => {
                    shared
                        .counters
                        .redirects_followed
                        .fetch_add(1, Ordering::Relaxed);
                    routes.by_slot[usize::from(slot)] = Some(Arc::from(next.as_str()));
                    address = next.clone();
                }
                Err(Failure::Unknown) => {
                    // The connection's state is unknown: never reuse it; re-learn the routes.
                    pool.remove(&address);
                    routes.by_slot[usize::from(slot)] = None;
                    break;
                }
                _ => break,
            }
        }
        record(&shared, &op, pending, outcome);
        if !options.think_time.is_zero() {
            tokio::time::sleep(options.think_time).await;
        }
    }
}

fn record(
    shared: &Shared,
    op: &Op,
    pending: crate::linearizability::Pending,
    outcome: Result<redis::Value, Failure>,
) {
    let recorder = &shared.recorder;
    let counters = &shared.counters;
    match outcome {
        Ok(value) => match op {
            Op::Get => match value {
                redis::Value::Nil => {
                    recorder.read_ok(pending, None);
                    counters.reads_ok.fetch_add(1, Ordering::Relaxed);
                }
                redis::Value::BulkString(bytes) => {
                    recorder.read_ok(pending, Some(&bytes));
                    counters.reads_ok.fetch_add(1, Ordering::Relaxed);
                }
                other => {
                    recorder.failed(pending);
                    shared
                        .unexpected
                        .lock()
                        .push(format!("GET answered {other:?}"));
                }
            },
            Op::Set(_) => {
                recorder.write_ok(pending);
                counters.writes_ok.fetch_add(1, Ordering::Relaxed);
            }
            Op::Del => {
                recorder.write_ok(pending);
                counters.deletes_ok.fetch_add(1, Ordering::Relaxed);
            }
            Op::Incr(_) => match value {
                redis::Value::Int(new_value) => {
                    recorder.increment_ok(pending, new_value);
                    counters.increments_ok.fetch_add(1, Ordering::Relaxed);
                }
                other => {
                    recorder.unknown(pending);
                    shared
                        .unexpected
                        .lock()
                        .push(format!("INCRBY answered {other:?}"));
                }
            },
        },
        Err(Failure::NotApplied | Failure::Moved(_)) => {
            recorder.failed(pending);
            counters.not_applied.fetch_add(1, Ordering::Relaxed);
        }
        Err(Failure::Unknown) => {
            // A read of unknown outcome constrains nothing; the recorder keeps writes only.
            recorder.unknown(pending);
            if !matches!(op, Op::Get) {
                counters.unknown.fetch_add(1, Ordering::Relaxed);
            }
        }
        Err(Failure::Unexpected(text)) => {
            recorder.unknown(pending);
            shared.unexpected.lock().push(text);
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operation_mix_reads_writes_and_deletes_every_key_and_counts_on_counters() {
        let mut random = XorShift(42);
        let (mut gets, mut sets, mut dels, mut incrs, mut counter_gets) = (0, 0, 0, 0, 0);
        let mut touched = std::collections::BTreeSet::new();
        for sequence in 0..20_000 {
            let (key, op) = next_op(&mut random, 1, sequence, 300, 4);
            touched.insert(key);
            match op {
                Op::Get if key >= 300 => counter_gets += 1,
                Op::Get => gets += 1,
                Op::Set(value) => {
                    assert!(key < 300);
                    assert_eq!(value, format!("c1-{sequence}").into_bytes());
                    sets += 1;
                }
                Op::Del => {
                    assert!(key < 300);
                    dels += 1;
                }
                Op::Incr(by) => {
                    assert!(key >= 300 && by == 1);
                    incrs += 1;
                }
            }
        }
        assert_eq!(touched.len(), 304, "every register and counter");
        assert!((9_000..11_000).contains(&gets), "{gets}");
        assert!((5_000..7_000).contains(&sets), "{sets}");
        assert!((500..1_500).contains(&dels), "{dels}");
        assert!((1_500..2_500).contains(&incrs), "{incrs}");
        assert!((500..1_500).contains(&counter_gets), "{counter_gets}");
    }

    #[test]
    fn without_counters_every_operation_is_on_registers() {
        let mut random = XorShift(7);
        for sequence in 0..5_000 {
            let (key, op) = next_op(&mut random, 0, sequence, 50, 0);
            assert!(key < 50 && !matches!(op, Op::Incr(_)));
        }
    }

    #[test]
    fn counters_are_named_after_the_registers() {
        let mut options = WorkloadOptions::new(vec!["127.0.0.1:6379".to_owned()], "p");
        options.keys = 2;
        options.counters = 2;
        let names: Vec<String> = options
            .key_names()
            .into_iter()
            .map(|name| String::from_utf8(name).expect("utf-8"))
            .collect();
        assert_eq!(names, ["p:0", "p:1", "p:counter:0", "p:counter:1"]);
    }
}
