//! [`HistoryLoad`]: clients writing and reading a few keys through chosen members, every
//! operation recorded for the linearizability checker, until stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ringcache_e2e::linearizability::{HistoryRecorder, Record, Verdict, check};

use super::{Failure, TestCluster, classify, eventually};

/// Counts of what the clients saw.
#[derive(Debug, Default)]
pub struct LoadTally {
    pub acknowledged_writes: AtomicU64,
    pub reads: AtomicU64,
    pub not_applied: AtomicU64,
    pub unknown: AtomicU64,
}

/// How the clients write and read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `SET` and `GET`.
    Plain,
    /// Through transactions and scripts, in turn: `MULTI SET EXEC` / `EVAL redis.call('SET')`
    /// and `MULTI GET EXEC` / `EVAL_RO redis.call('GET')`.
    Atomic,
}

/// A running load; [`finish`](Self::finish) stops it and returns the history.
pub struct HistoryLoad {
    recorder: Arc<HistoryRecorder>,
    pub tally: Arc<LoadTally>,
    stop: Arc<AtomicBool>,
    unexpected: Arc<std::sync::Mutex<Vec<String>>>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl HistoryLoad {
    /// Starts `per_member` clients on each of `members`, each with its own plain connection to
    /// that member (a non-leader forwards), alternating `SET` and `GET` over `keys`.
    pub fn start(
        cluster: &TestCluster,
        members: &[usize],
        per_member: usize,
        keys: &[String],
    ) -> HistoryLoad {
        Self::start_with(cluster, members, per_member, keys, Style::Plain)
    }

    /// As [`HistoryLoad::start`], the clients writing and reading in `style`.
    pub fn start_with(
        cluster: &TestCluster,
        members: &[usize],
        per_member: usize,
        keys: &[String],
        style: Style,
    ) -> HistoryLoad {
        let recorder = Arc::new(HistoryRecorder::new());
        let tally = Arc::new(LoadTally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let unexpected = Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut workers = Vec::new();
        for (index, &member) in members
            .iter()
            .flat_map(|member| std::iter::repeat_n(member, per_member))
            .enumerate()
        {
            let client = cluster.redis_client(member);
            let worker = Worker {
                style,
                index,
                keys: keys.to_vec(),
                recorder: recorder.clone(),
                tally: tally.clone(),
                stop: stop.clone(),
                unexpected: unexpected.clone(),
            };
            workers.push(tokio::spawn(worker.run(client)));
        }
        HistoryLoad {
            recorder,
            tally,
            stop,
            unexpected,
            workers,
        }
    }

    pub fn acknowledged(&self) -> u64 {
        self.tally.acknowledged_writes.load(Ordering::Relaxed)
    }

    /// Waits until `more` writes beyond the current count are acknowledged.
    pub async fn wait_for_writes(&self, more: u64, limit: Duration, what: &str) {
        let target = self.acknowledged() + more;
        eventually(limit, what, || async {
            (self.acknowledged() >= target).then_some(())
        })
        .await;
    }

    /// Stops the clients and returns the history. Panics on an answer no client should get.
    pub async fn finish(self) -> Vec<Record> {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            worker.await.expect("client task");
        }
        let unexpected = self.unexpected.lock().unwrap().clone();
        assert!(unexpected.is_empty(), "unexpected answers: {unexpected:?}");
        self.recorder.history()
    }
}

/// Asserts that `history` is linearizable, printing the offending key's operations if not.
pub fn assert_linearizable(history: &[Record]) {
    match check(history) {
        Verdict::Linearizable => {}
        Verdict::Violation { key, operations } => {
            let shown: Vec<String> = operations
                .iter()
                .map(|record| {
                    format!(
                        "{:?} {}..{}",
                        record.operation,
                        record.invoked_at / 1000,
                        record
                            .completed_at
                            .map_or("?".to_owned(), |at| (at / 1000).to_string())
                    )
                })
                .collect();
            panic!(
                "the history of {} operations is not linearizable: no order explains key {:?}; \
                 its {} operations (times in ms):\n{}",
                history.len(),
                String::from_utf8_lossy(&key),
                operations.len(),
                shown.join("\n")
            );
        }
        verdict => panic!("the history of {} operations: {verdict:?}", history.len()),
    }
}

/// `MULTI`, `command`, `EXEC` as three requests (so an error answering EXEC is seen as
/// itself, not as a malformed pipeline reply); EXEC's reply.
async fn in_transaction(
    connection: &mut redis::aio::MultiplexedConnection,
    command: &redis::Cmd,
) -> redis::RedisResult<redis::Value> {
    redis::cmd("MULTI").query_async::<()>(connection).await?;
    command.query_async::<redis::Value>(connection).await?;
    redis::cmd("EXEC").query_async(connection).await
}

struct Worker {
    style: Style,
    index: usize,
    keys: Vec<String>,
    recorder: Arc<HistoryRecorder>,
    tally: Arc<LoadTally>,
    stop: Arc<AtomicBool>,
    unexpected: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Worker {
    async fn connect(&self, client: &redis::Client) -> Option<redis::aio::MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Duration::from_secs(2))
            .set_response_timeout(Duration::from_secs(10));
        while !self.stop.load(Ordering::Relaxed) {
            if let Ok(connection) = client
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                return Some(connection);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    async fn run(self, client: redis::Client) {
        let Some(mut connection) = self.connect(&client).await else {
            return;
        };
        let mut step = 0usize;
        while !self.stop.load(Ordering::Relaxed) {
            step += 1;
            let key = self.keys[(step * 7 + self.index) % self.keys.len()].as_bytes();
            let broken = if step.is_multiple_of(2) {
                let value = format!("w{}-{step}", self.index);
                let pending = self.recorder.invoke_write(key, Some(value.as_bytes()));
                let result: redis::RedisResult<()> = match (self.style, step % 4) {
                    (Style::Plain, _) => {
                        redis::cmd("SET")
                            .arg(key)
                            .arg(&value)
                            .query_async(&mut connection)
                            .await
                    }
                    (Style::Atomic, 0) => {
                        let mut set = redis::cmd("SET");
                        set.arg(key).arg(&value);
                        in_transaction(&mut connection, &set).await.map(|_| ())
                    }
                    (Style::Atomic, _) => {
                        redis::cmd("EVAL")
                            .arg("return redis.call('SET', KEYS[1], ARGV[1])")
                            .arg(1)
                            .arg(key)
                            .arg(&value)
                            .query_async(&mut connection)
                            .await
                    }
                };
                match result {
                    Ok(()) => {
                        self.recorder.write_ok(pending);
                        self.tally
                            .acknowledged_writes
                            .fetch_add(1, Ordering::Relaxed);
                        false
                    }
                    Err(error) => {
                        match classify(&error) {
                            Failure::NotApplied(_) => {
                                self.recorder.failed(pending);
                                self.tally.not_applied.fetch_add(1, Ordering::Relaxed);
                            }
                            Failure::Unknown(_) => {
                                self.recorder.unknown(pending);
                                self.tally.unknown.fetch_add(1, Ordering::Relaxed);
                            }
                            Failure::Other(text) => {
                                self.recorder.unknown(pending);
                                self.unexpected.lock().unwrap().push(text);
                            }
                        }
                        error.is_io_error() || error.is_timeout() || error.is_connection_dropped()
                    }
                }
            } else {
                let pending = self.recorder.invoke_read(key);
                let result: redis::RedisResult<Option<Vec<u8>>> = match (self.style, step % 4) {
                    (Style::Plain, _) => {
                        redis::cmd("GET")
                            .arg(key)
                            .query_async(&mut connection)
                            .await
                    }
                    (Style::Atomic, 1) => {
                        let mut get = redis::cmd("GET");
                        get.arg(key);
                        in_transaction(&mut connection, &get)
                            .await
                            .and_then(|reply| {
                                redis::from_redis_value::<(Option<Vec<u8>>,)>(&reply)
                                    .map(|(value,)| value)
                            })
                    }
                    (Style::Atomic, _) => {
                        redis::cmd("EVAL_RO")
                            .arg("return redis.call('GET', KEYS[1])")
                            .arg(1)
                            .arg(key)
                            .query_async(&mut connection)
                            .await
                    }
                };
                match result {
                    Ok(value) => {
                        self.recorder.read_ok(pending, value.as_deref());
                        self.tally.reads.fetch_add(1, Ordering::Relaxed);
                        false
                    }
                    Err(error) => {
                        self.recorder.failed(pending);
                        if let Failure::Other(text) = classify(&error) {
                            self.unexpected.lock().unwrap().push(text);
                        }
                        error.is_io_error() || error.is_timeout() || error.is_connection_dropped()
                    }
                }
            };
            if broken {
                match self.connect(&client).await {
                    Some(fresh) => connection = fresh,
                    None => return,
                }
            } else if step.is_multiple_of(16) {
                // Leave room for the others on a 2-core machine.
                tokio::task::yield_now().await;
            }
        }
    }
}
