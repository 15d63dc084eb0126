//! Histories: what clients asked for, when, and what they got back; and the recorder that builds them.

use std::fmt;
use std::sync::Mutex;
use std::time::Instant;

/// What a client asked for and, for reads and increments, what it got.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A read (`GET`) that returned this value (`None`: the key did not exist).
    Read(Option<Vec<u8>>),
    /// A write (`SET`) of this value (`None`: a delete, `DEL`).
    Write(Option<Vec<u8>>),
    /// `INCRBY key by` (`INCR` is `by: 1`, `DECRBY key n` is `by: -n`), which replied `result`, the
    /// new value; `None` when the reply never came (outcome unknown: a result recorded on a
    /// record without `completed_at` is ignored). See [the model](crate#the-model).
    Increment {
        /// The amount added.
        by: i64,
        /// The value the server replied with: the key's value after the increment.
        result: Option<i64>,
    },
}

/// One operation of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The key operated on.
    pub key: Vec<u8>,
    /// The operation and, for a read or an increment, its result.
    pub operation: Operation,
    /// When the client sent it (any monotonic unit, the same for the whole history).
    pub invoked_at: u64,
    /// When the client got a definite reply; `None` if the outcome is unknown.
    pub completed_at: Option<u64>,
}

/// Bytes shown the way `redis-cli` would: quoted, printable ASCII as is, anything else escaped.
pub(crate) struct Quoted<'a>(pub &'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operation::Read(Some(value)) => write!(f, "GET -> {}", Quoted(value)),
            Operation::Read(None) => write!(f, "GET -> (nil)"),
            Operation::Write(Some(value)) => write!(f, "SET {}", Quoted(value)),
            Operation::Write(None) => write!(f, "DEL"),
            Operation::Increment { by, result } => {
                write!(f, "INCRBY {by}")?;
                match result {
                    Some(result) => write!(f, " -> {result}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// One line: `[invoked, completed] key OPERATION`, `[invoked, ?)` when the outcome is unknown.
impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.completed_at {
            Some(completed_at) => write!(f, "[{}, {}]", self.invoked_at, completed_at)?,
            None => write!(f, "[{}, ?)", self.invoked_at)?,
        }
        write!(f, " {} {}", Quoted(&self.key), self.operation)?;
        if self.completed_at.is_none() {
            write!(f, " (outcome unknown)")?;
        }
        Ok(())
    }
}

/// Records a history from concurrent client tasks, timestamped against one clock.
#[derive(Debug)]
pub struct HistoryRecorder {
    started: Instant,
    records: Mutex<Vec<Record>>,
}

/// An invoked operation waiting for its outcome.
#[derive(Debug)]
#[must_use = "complete the operation with write_ok, read_ok, increment_ok, failed or unknown"]
pub struct Pending {
    key: Vec<u8>,
    operation: Operation,
    invoked_at: u64,
}

impl Default for HistoryRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl HistoryRecorder {
    /// A recorder whose clock starts now.
    pub fn new() -> Self {
        HistoryRecorder {
            started: Instant::now(),
            records: Mutex::new(Vec::new()),
        }
    }

    fn now(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    fn invoke(&self, key: &[u8], operation: Operation) -> Pending {
        Pending {
            key: key.to_vec(),
            operation,
            invoked_at: self.now(),
        }
    }

    /// Marks the invocation of a write (`None`: a delete).
    pub fn invoke_write(&self, key: &[u8], value: Option<&[u8]>) -> Pending {
        self.invoke(key, Operation::Write(value.map(<[u8]>::to_vec)))
    }

    /// Marks the invocation of a read.
    pub fn invoke_read(&self, key: &[u8]) -> Pending {
        self.invoke(key, Operation::Read(None))
    }

    /// Marks the invocation of `INCRBY key by` (`INCR`: `by` 1).
    pub fn invoke_increment(&self, key: &[u8], by: i64) -> Pending {
        self.invoke(key, Operation::Increment { by, result: None })
    }

    /// The write was acknowledged.
    pub fn write_ok(&self, pending: Pending) {
        let completed_at = Some(self.now());
        self.push(Record {
            key: pending.key,
            operation: pending.operation,
            invoked_at: pending.invoked_at,
            completed_at,
        });
    }

    /// The read returned `value`.
    pub fn read_ok(&self, pending: Pending, value: Option<&[u8]>) {
        let completed_at = Some(self.now());
        self.push(Record {
            key: pending.key,
            operation: Operation::Read(value.map(<[u8]>::to_vec)),
            invoked_at: pending.invoked_at,
            completed_at,
        });
    }

    /// The increment replied with the key's new value.
    ///
    /// # Panics
    ///
    /// If `pending` is not an increment (from [`invoke_increment`](Self::invoke_increment)).
    pub fn increment_ok(&self, pending: Pending, new_value: i64) {
        let completed_at = Some(self.now());
        let Operation::Increment { by, .. } = pending.operation else {
            panic!("increment_ok on a pending {}", pending.operation);
        };
        self.push(Record {
            key: pending.key,
            operation: Operation::Increment {
                by,
                result: Some(new_value),
            },
            invoked_at: pending.invoked_at,
            completed_at,
        });
    }

    /// The operation definitely did not take effect (the server refused it, or answered an error
    /// such as `INCR` on a value that is not an integer): it is dropped.
    pub fn failed(&self, pending: Pending) {
        drop(pending);
    }

    /// The outcome is unknown (timeout, lost connection, "outcome unknown" error).
    pub fn unknown(&self, pending: Pending) {
        self.push(Record {
            key: pending.key,
            operation: pending.operation,
            invoked_at: pending.invoked_at,
            completed_at: None,
        });
    }

    fn push(&self, record: Record) {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(record);
    }

    /// Everything recorded so far.
    pub fn history(&self) -> Vec<Record> {
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_display_as_one_readable_line() {
        let record = Record {
            key: b"k".to_vec(),
            operation: Operation::Read(Some(b"a\n".to_vec())),
            invoked_at: 3,
            completed_at: Some(5),
        };
        assert_eq!(record.to_string(), r#"[3, 5] "k" GET -> "a\n""#);
        let record = Record {
            key: b"n".to_vec(),
            operation: Operation::Increment {
                by: 2,
                result: None,
            },
            invoked_at: 7,
            completed_at: None,
        };
        assert_eq!(
            record.to_string(),
            r#"[7, ?) "n" INCRBY 2 (outcome unknown)"#
        );
        let delete = Operation::Write(None);
        assert_eq!(delete.to_string(), "DEL");
    }

    #[test]
    fn the_recorder_keeps_increments_and_their_results() {
        let recorder = HistoryRecorder::new();
        let pending = recorder.invoke_increment(b"n", 5);
        recorder.increment_ok(pending, 5);
        let pending = recorder.invoke_increment(b"n", 1);
        recorder.unknown(pending);
        let pending = recorder.invoke_increment(b"n", 1);
        recorder.failed(pending);
        let history = recorder.history();
        assert_eq!(history.len(), 2);
        assert_eq!(
            history[0].operation,
            Operation::Increment {
                by: 5,
                result: Some(5)
            }
        );
        assert_eq!(history[1].completed_at, None);
    }
}
