//! The `ringcache-check` command on history files: verdicts, exit statuses, errors.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use common::{KeyUse, Workload, simulate};
use ringcache_checker::{Operation, Record, read_history, write_history};

/// A file under the system's temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        TempFile(
            std::env::temp_dir().join(format!("ringcache-check-{}-{name}", std::process::id())),
        )
    }

    fn with_history(name: &str, history: &[Record]) -> Self {
        let file = TempFile::new(name);
        write_history(&file.0, history).expect("write the history");
        file
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn run(arguments: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = Command::new(env!("CARGO_BIN_EXE_ringcache-check"))
        .args(arguments)
        .output()
        .expect("run ringcache-check");
    (
        status.code().expect("an exit status"),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn record(operation: Operation, invoked_at: u64, completed_at: Option<u64>) -> Record {
    Record {
        key: b"k".to_vec(),
        operation,
        invoked_at,
        completed_at,
    }
}

#[test]
fn a_linearizable_history_exits_0() {
    let history = [
        record(Operation::Write(Some(b"10".to_vec())), 0, Some(1)),
        record(
            Operation::Increment {
                by: 1,
                result: Some(11),
            },
            2,
            Some(3),
        ),
        record(Operation::Read(Some(b"11".to_vec())), 4, Some(5)),
    ];
    let file = TempFile::with_history("ok.jsonl", &history);
    assert_eq!(read_history(&file.0).unwrap(), history);
    let (code, stdout, stderr) = run(&[file.0.as_os_str()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("linearizable\n3 operations, 1 keys checked"),
        "{stdout}"
    );
}

#[test]
fn a_violation_exits_1_and_shows_the_key_and_its_operations() {
    let history = [
        record(Operation::Read(Some(b"a".to_vec())), 4, Some(5)),
        record(Operation::Write(Some(b"a".to_vec())), 0, Some(1)),
        record(Operation::Write(Some(b"b".to_vec())), 2, Some(3)),
    ];
    let file = TempFile::with_history("violation.jsonl", &history);
    let (code, stdout, _) = run(&[file.0.as_os_str()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with(
            "not linearizable: no order of the 3 operations on \"k\" explains what clients saw \
             ([invoked, completed] in invocation order):\n  [0, 1] SET \"a\"\n  [2, 3] SET \"b\"\n  \
             [4, 5] GET -> \"a\"\n"
        ),
        "{stdout}"
    );
}

#[test]
fn running_out_of_steps_exits_2() {
    let workload = Workload {
        clients: 10,
        operations: 1_000,
        keys: vec![KeyUse::Counter],
        unknown_percent: 10,
        seed: 3,
    };
    let file = TempFile::with_history("hot.jsonl", &simulate(&workload.plan()));
    let (code, stdout, _) = run(&["--max-steps".as_ref(), "100".as_ref(), file.0.as_os_str()]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.starts_with("inconclusive: the search gave up on \"key0\""),
        "{stdout}"
    );
    let (code, stdout, _) = run(&[file.0.as_os_str()]);
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn unreadable_files_and_bad_arguments_exit_3_with_a_message() {
    let missing = TempFile::new("missing.jsonl");
    let (code, stdout, stderr) = run(&[missing.0.as_os_str()]);
    assert_eq!(code, 3);
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("ringcache-check: cannot read the history: ")
            && stderr.contains("missing.jsonl"),
        "{stderr}"
    );

    let bad = TempFile::new("bad.jsonl");
    std::fs::write(
        &bad.0,
        "{\"op\":\"read\",\"v\":1,\"key\":\"k\",\"value\":null,\"invoked_at\":0,\"completed_at\":1}\n\
         {\"op\":\"read\",\"v\":1,\"key\":\"k\"}\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&[bad.0.as_os_str()]);
    assert_eq!(code, 3);
    assert!(stderr.contains("line 2: missing field `value`"), "{stderr}");

    let (code, _, stderr) = run(&[]);
    assert_eq!(code, 3);
    assert!(
        stderr.contains("no history file given") && stderr.contains("usage:"),
        "{stderr}"
    );
    let (code, _, stderr) = run(&["--max-steps".as_ref(), "many".as_ref(), "x".as_ref()]);
    assert_eq!(code, 3);
    assert!(stderr.contains("not a number"), "{stderr}");
    let (code, stdout, _) = run(&["--help".as_ref()]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("usage: ringcache-check"));
}
