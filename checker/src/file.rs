//! History files: JSON lines, one [`Record`] per line.
//!
//! Every line is an object with a format version `"v": 1`, the operation `"op"`, the key, and the
//! interval (`"completed_at": null` when the outcome is unknown); byte strings (keys and values) are
//! JSON strings when they are UTF-8, else `{"hex": "…"}`. Blank lines are skipped; any other field
//! is an error.
//!
//! ```text
//! {"op":"write","v":1,"key":"k","value":"a","invoked_at":0,"completed_at":10}
//! {"op":"write","v":1,"key":"k","value":null,"invoked_at":12,"completed_at":null}
//! {"op":"read","v":1,"key":"k","value":{"hex":"ff00"},"invoked_at":11,"completed_at":15}
//! {"op":"increment","v":1,"key":"n","by":1,"result":6,"invoked_at":20,"completed_at":24}
//! ```
//!
//! A read's `"value"` is what it returned and a write's what it wrote (`null`: absent; a write of
//! `null` is a `DEL`, like the second line, whose outcome is unknown); both must be present. An
//! increment's `"result"` is the value it replied (`null` or missing when the reply never came).
//! Times are integers in any unit, the same for the whole file.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::history::{Operation, Record};

/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Why a history could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be opened, read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        error: io::Error,
    },
    /// A line is not a record of this format.
    #[error("{}: line {line}: {message}", path.display())]
    Parse {
        /// The file (empty when reading from a reader).
        path: PathBuf,
        /// The line, from 1.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
}

/// Bytes on the wire: a JSON string if they are UTF-8, else `{"hex": "…"}`.
fn to_json(bytes: &[u8]) -> serde_json::Value {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::Value::String(text.to_owned()),
        Err(_) => serde_json::json!({
            "hex": bytes.iter().map(|byte| format!("{byte:02x}")).collect::<String>()
        }),
    }
}

/// The bytes `value` (the field `field`) stands for.
fn from_json(field: &str, value: serde_json::Value) -> Result<Vec<u8>, String> {
    let expected = || format!("{field}: expected a string or {{\"hex\": \"…\"}}, found {value}");
    match &value {
        serde_json::Value::String(text) => Ok(text.clone().into_bytes()),
        serde_json::Value::Object(object) if object.len() == 1 => {
            let hex = object
                .get("hex")
                .and_then(serde_json::Value::as_str)
                .ok_or_else(expected)?;
            if hex.len() % 2 != 0 {
                return Err(format!("{field}: odd number of hex digits in {hex:?}"));
            }
            (0..hex.len())
                .step_by(2)
                .map(|start| {
                    hex.get(start..start + 2)
                        .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                        .ok_or_else(|| format!("{field}: not hex: {hex:?}"))
                })
                .collect()
        }
        _ => Err(expected()),
    }
}

/// An absent value (`null`), or bytes.
fn optional_from_json(field: &str, value: serde_json::Value) -> Result<Option<Vec<u8>>, String> {
    match value {
        serde_json::Value::Null => Ok(None),
        value => from_json(field, value).map(Some),
    }
}

/// One line. `value` (`null`: absent) is a required field: a `serde_json::Value` has no default.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
enum Line {
    Read {
        v: u32,
        key: serde_json::Value,
        value: serde_json::Value,
        invoked_at: u64,
        completed_at: Option<u64>,
    },
    Write {
        v: u32,
        key: serde_json::Value,
        value: serde_json::Value,
        invoked_at: u64,
        completed_at: Option<u64>,
    },
    Increment {
        v: u32,
        key: serde_json::Value,
        by: i64,
        result: Option<i64>,
        invoked_at: u64,
        completed_at: Option<u64>,
    },
}

impl Line {
    fn new(record: &Record) -> Self {
        let (v, key) = (FORMAT_VERSION, to_json(&record.key));
        let (invoked_at, completed_at) = (record.invoked_at, record.completed_at);
        match &record.operation {
            Operation::Read(value) => Line::Read {
                v,
                key,
                value: value.as_deref().map_or(serde_json::Value::Null, to_json),
                invoked_at,
                completed_at,
            },
            Operation::Write(value) => Line::Write {
                v,
                key,
                value: value.as_deref().map_or(serde_json::Value::Null, to_json),
                invoked_at,
                completed_at,
            },
            &Operation::Increment { by, result } => Line::Increment {
                v,
                key,
                by,
                result,
                invoked_at,
                completed_at,
            },
        }
    }

    fn into_record(self) -> Result<Record, String> {
        let (v, key, operation, invoked_at, completed_at) = match self {
            Line::Read {
                v,
                key,
                value,
                invoked_at,
                completed_at,
            } => {
                let operation = Operation::Read(optional_from_json("value", value)?);
                (v, key, operation, invoked_at, completed_at)
            }
            Line::Write {
                v,
                key,
                value,
                invoked_at,
                completed_at,
            } => {
                let operation = Operation::Write(optional_from_json("value", value)?);
                (v, key, operation, invoked_at, completed_at)
            }
            Line::Increment {
                v,
                key,
                by,
                result,
                invoked_at,
                completed_at,
            } => {
                let operation = Operation::Increment { by, result };
                (v, key, operation, invoked_at, completed_at)
            }
        };
        if v != FORMAT_VERSION {
            return Err(format!(
                "format version {v}, this checker reads version {FORMAT_VERSION}"
            ));
        }
        Ok(Record {
            key: from_json("key", key)?,
            operation,
            invoked_at,
            completed_at,
        })
    }
}

/// Writes `history` to `path` (created or truncated), one record per line.
pub fn write_history(path: impl AsRef<Path>, history: &[Record]) -> Result<(), FileError> {
    let path = path.as_ref();
    let io_error = |error| FileError::Io {
        path: path.to_owned(),
        error,
    };
    let file = File::create(path).map_err(io_error)?;
    let mut writer = BufWriter::new(file);
    write_records(&mut writer, history).map_err(io_error)?;
    writer.flush().map_err(io_error)
}

/// Writes `history` to `writer`, one record per line.
pub fn write_records(writer: &mut impl Write, history: &[Record]) -> io::Result<()> {
    for record in history {
        serde_json::to_writer(&mut *writer, &Line::new(record))?;
        writer.write_all(b"\n")?;
    }
    Ok(())
}

/// Reads the history in `path`.
pub fn read_history(path: impl AsRef<Path>) -> Result<Vec<Record>, FileError> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|error| FileError::Io {
        path: path.to_owned(),
        error,
    })?;
    read_records(BufReader::new(file)).map_err(|error| match error {
        FileError::Io { error, .. } => FileError::Io {
            path: path.to_owned(),
            error,
        },
        FileError::Parse { line, message, .. } => FileError::Parse {
            path: path.to_owned(),
            line,
            message,
        },
    })
}

/// Reads a history from `reader` (errors name an empty path).
pub fn read_records(reader: impl BufRead) -> Result<Vec<Record>, FileError> {
    let mut history = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let line = line.map_err(|error| FileError::Io {
            path: PathBuf::new(),
            error,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let parse_error = |message: String| FileError::Parse {
            path: PathBuf::new(),
            line: index + 1,
            message,
        };
        let parsed: Line =
            serde_json::from_str(&line).map_err(|error| parse_error(error.to_string()))?;
        history.push(parsed.into_record().map_err(parse_error)?);
    }
    Ok(history)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Record>, String> {
        read_records(text.as_bytes()).map_err(|error| error.to_string())
    }

    #[test]
    fn records_round_trip_through_lines() {
        let history = vec![
            Record {
                key: b"k".to_vec(),
                operation: Operation::Write(Some(b"a".to_vec())),
                invoked_at: 0,
                completed_at: Some(10),
            },
            Record {
                key: vec![0xff, 0],
                operation: Operation::Read(Some(vec![0xfe])),
                invoked_at: 3,
                completed_at: Some(4),
            },
            Record {
                key: b"k".to_vec(),
                operation: Operation::Write(None),
                invoked_at: 12,
                completed_at: None,
            },
            Record {
                key: b"n".to_vec(),
                operation: Operation::Increment {
                    by: -3,
                    result: Some(-3),
                },
                invoked_at: 20,
                completed_at: Some(24),
            },
        ];
        let mut text = Vec::new();
        write_records(&mut text, &history).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.lines().count(), 4);
        assert!(
            text.starts_with(
                r#"{"op":"write","v":1,"key":"k","value":"a","invoked_at":0,"completed_at":10}"#
            ),
            "{text}"
        );
        assert!(text.contains(r#""key":{"hex":"ff00"}"#), "{text}");
        assert_eq!(parse(&text).unwrap(), history);
    }

    #[test]
    fn bad_lines_are_named() {
        let error =
            parse("\n{\"v\":1,\"op\":\"read\",\"key\":\"k\",\"invoked_at\":0,\"completed_at\":1}")
                .unwrap_err();
        assert!(
            error.contains("line 2") && error.contains("missing field `value`"),
            "{error}"
        );
        let error =
            parse(r#"{"v":2,"op":"write","key":"k","value":"a","invoked_at":0,"completed_at":1}"#)
                .unwrap_err();
        assert!(error.contains("format version 2"), "{error}");
        let error = parse(r#"{"v":1,"op":"write","key":"k","value":"a","invoked":0}"#).unwrap_err();
        assert!(error.contains("unknown field `invoked`"), "{error}");
        let error = parse(
            r#"{"v":1,"op":"read","key":{"hex":"f"},"value":null,"invoked_at":0,"completed_at":1}"#,
        )
        .unwrap_err();
        assert!(error.contains("odd number of hex digits"), "{error}");
        let error = parse(r#"{"v":1,"op":"read","key":{"hexx":"00"},"value":null,"invoked_at":0,"completed_at":1}"#)
            .unwrap_err();
        assert!(
            error
                .contains(r#"line 1: key: expected a string or {"hex": "…"}, found {"hexx":"00"}"#),
            "{error}"
        );
        let error = parse(
            r#"{"v":1,"op":"read","key":"k","value":{"hex":"é"},"invoked_at":0,"completed_at":1}"#,
        )
        .unwrap_err();
        assert!(error.contains("value: not hex"), "{error}");
        assert!(parse("not json").unwrap_err().contains("line 1"));
        // An increment without a result is one whose reply never came.
        let history = parse(
            r#"{"v":1,"op":"increment","key":"n","by":1,"invoked_at":0,"completed_at":null}"#,
        )
        .unwrap();
        assert_eq!(
            history[0].operation,
            Operation::Increment {
                by: 1,
                result: None
            }
        );
    }
}
