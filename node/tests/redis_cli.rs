//! The real `redis-cli` and `redis-benchmark` against the server: they must work and print no
//! warnings. Skipped (with a message) where the tools are not installed; CI installs them.

mod common;

use std::process::{Command, Output};

use common::TestServer;

fn tool(name: &str) -> Option<String> {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .ok()?;
    found
        .status
        .success()
        .then(|| String::from_utf8_lossy(&found.stdout).trim().to_owned())
}

fn run(program: &str, server: &TestServer, args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let port = server.addr.port().to_string();
    let mut command = Command::new(program);
    command.args(["-h", "127.0.0.1", "-p", &port]).args(args);
    command.stdin(std::process::Stdio::piped());
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("spawn tool");
    if let Some(mut input) = child.stdin.take() {
        input
            .write_all(stdin.unwrap_or_default().as_bytes())
            .expect("stdin");
    }
    child.wait_with_output().expect("tool output")
}

fn assert_clean(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "exit {:?}; stdout {stdout}; stderr {stderr}",
        output.status
    );
    assert!(stderr.trim().is_empty(), "stderr not empty: {stderr}");
    assert!(
        !stdout.to_lowercase().contains("warning"),
        "warning in stdout: {stdout}"
    );
    stdout
}

#[test]
fn redis_cli_works_without_warnings() {
    let Some(cli) = tool("redis-cli") else {
        println!("SKIPPED: redis-cli is not installed");
        return;
    };
    let server = TestServer::start();
    assert_eq!(
        assert_clean(&run(&cli, &server, &["SET", "a", "hello world"], None)),
        "OK\n"
    );
    assert_eq!(
        assert_clean(&run(&cli, &server, &["GET", "a"], None)),
        "hello world\n"
    );
    assert_eq!(
        assert_clean(&run(&cli, &server, &["-3", "GET", "a"], None)),
        "hello world\n"
    );
    let piped = assert_clean(&run(
        &cli,
        &server,
        &[],
        Some("SET n 1\nINCR n\nMGET n a\nTTL n\n"),
    ));
    assert_eq!(piped, "OK\n2\n2\nhello world\n-1\n");
    let scanned = assert_clean(&run(&cli, &server, &["--scan", "--pattern", "*"], None));
    let mut keys: Vec<&str> = scanned.lines().collect();
    keys.sort();
    assert_eq!(keys, ["a", "n"]);
    let info = assert_clean(&run(&cli, &server, &["INFO"], None));
    assert!(
        info.contains("redis_version:7.0.0") && info.contains("db0:keys=2"),
        "{info}"
    );
    let error = run(&cli, &server, &["NOSUCH", "x"], None);
    assert!(String::from_utf8_lossy(&error.stdout).contains("ERR unknown command 'NOSUCH'"));
    let ping = assert_clean(&run(&cli, &server, &["PING"], None));
    assert_eq!(ping, "PONG\n");
    assert_clean(&run(
        &cli,
        &server,
        &["--no-raw", "COMMAND", "DOCS", "get"],
        None,
    ));
}

#[test]
fn redis_benchmark_runs_without_warnings() {
    let Some(benchmark) = tool("redis-benchmark") else {
        println!("SKIPPED: redis-benchmark is not installed");
        return;
    };
    let server = TestServer::start();
    let output = run(
        &benchmark,
        &server,
        &["-q", "-n", "2000", "-c", "10", "-t", "set,get,incr,mset"],
        None,
    );
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stdout} {stderr}");
    let combined = format!("{stdout}{stderr}");
    assert!(!combined.to_uppercase().contains("WARNING"), "{combined}");
    assert!(!combined.to_uppercase().contains("ERROR"), "{combined}");
    for test in ["SET:", "GET:", "INCR:", "MSET (10 keys):"] {
        assert!(stdout.contains(test), "missing {test} in {stdout}");
    }
    let mut c = server.raw();
    assert_eq!(
        c.cmd(&["GET", "counter:__rand_int__"]),
        common::bulk("2000")
    );
}
