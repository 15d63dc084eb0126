//! `ringcache-operator plan` driven as a user or a script drives it: the real binary, its stdout, its
//! stderr and its exit code.

use std::process::{Command, Output};

fn plan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ringcache-operator"))
        .arg("plan")
        .args(args)
        .output()
        .expect("the binary runs")
}

fn json(args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let output = plan(&all);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("stdout is one JSON document")
}

#[test]
fn json_output_has_the_documented_keys() {
    let report = json(&["--from", "3", "--to", "4"]);
    assert_eq!(report["replicas_moved"], 48);
    assert_eq!(report["ideal_replicas_moved"], 48.0);
    assert_eq!(report["total_replicas"], 192);
    assert_eq!(report["moved_fraction"], 0.25);
    assert_eq!(report["max_load"]["before"], 64);
    assert_eq!(report["max_load"]["after"], 48);
    assert_eq!(report["min_load"]["after"], 48);
    let moves = report["moves"].as_array().expect("moves is a list");
    assert_eq!(moves.len(), 48);
    let first = &moves[0];
    assert_eq!(first["to"], 3);
    assert_eq!(
        first["id"],
        format!("p{}:{}->3", first["partition"], first["from"]),
        "move ids are p<partition>:<from>-><to>"
    );
    assert_eq!(
        first["steps"],
        serde_json::json!([
            "host",
            "add-learner",
            "catch-up",
            "promote",
            "transfer-leadership",
            "remove-replica",
            "drop"
        ])
    );
}

#[test]
fn flags_change_the_plan() {
    let report = json(&[
        "--from",
        "4",
        "--to",
        "2",
        "--partitions",
        "16",
        "--replication-factor",
        "2",
    ]);
    // Shrinking 4 -> 2 moves everything on members 2 and 3: half of 32 replicas.
    assert_eq!(report["replicas_moved"], 16);
    assert_eq!(report["ideal_replicas_moved"], 16.0);
    let moves = report["moves"].as_array().unwrap();
    assert!(
        moves
            .iter()
            .all(|replica_move| replica_move["from"].as_u64().unwrap() >= 2)
    );
    assert_eq!(moves[0]["from"], 3, "the highest ordinal is emptied first");
}

#[test]
fn table_output_is_the_default() {
    let output = plan(&["--from", "3", "--to", "5", "--partitions", "16"]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("Plan: 3 -> 5 members, 16 partitions, replication factor 3"));
    assert!(
        stdout.contains("replicas moved      19 of 48 (39.6% of the data)"),
        "{stdout}"
    );
}

#[test]
fn bad_input_is_one_clear_line_and_a_non_zero_exit() {
    let cases: &[(&[&str], &str)] = &[
        (&["--from", "3", "--to", "0"], "--to must be at least 1"),
        (
            &["--from", "2", "--to", "4"],
            "--from 2: replication factor 3 needs at least 3 members",
        ),
        (
            &["--from", "3", "--to", "4", "--replication-factor", "5"],
            "needs at least 5 members",
        ),
        (
            &["--from", "3", "--to", "4", "--partitions", "0"],
            "partitions must be between 1 and 16384",
        ),
        (
            &["--from", "3", "--to", "4", "--partitions", "16385"],
            "got 16385",
        ),
        (
            &["--from", "three", "--to", "4"],
            "invalid value 'three' for '--from <MEMBERS>'",
        ),
        (&["--from", "-1", "--to", "4"], "'-1'"),
        (&["--from", "3"], "--to <MEMBERS>"),
        (
            &["--from", "3", "--to", "4", "--output", "yaml"],
            "invalid value 'yaml'",
        ),
    ];
    for (args, expected) in cases {
        let output = plan(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{args:?}: one line, got {stderr}"
        );
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected),
            "{args:?}: expected {expected:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
