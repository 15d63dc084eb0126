//! The `ringcache-node` executable: flags, errors, signals.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_ringcache-node");

#[test]
fn version_and_help() {
    let output = Command::new(BINARY).arg("--version").output().unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("ringcache-node {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = Command::new(BINARY).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(
        help.contains("--data-dir")
            && help.contains("--cluster-enabled")
            && help.contains("/v1/cluster/form"),
        "{help}"
    );
}

#[test]
fn bad_flags_fail_cleanly() {
    for args in [
        &["--port", "banana"][..],
        &["--maxmemory", "12q"],
        &["--maxmemory-policy", "allkeys-lfx"],
        &["--log-format", "xml"],
        &["--no-such-flag"],
    ] {
        let output = Command::new(BINARY).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let missing = Command::new(BINARY)
        .args(["--port", "0", "--requirepass-file", "/nonexistent/pw"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(
        stderr.contains("cannot read --requirepass-file /nonexistent/pw"),
        "{stderr}"
    );
}

#[test]
fn serves_and_stops_on_sigterm() {
    let data_dir = std::env::temp_dir().join(format!("ringcache-node-test-{}", std::process::id()));
    let mut node = Command::new(BINARY);
    node.arg("--data-dir")
        .arg(&data_dir)
        .env("RINGCACHE_PASSWORD", "from-env");
    let (mut child, mut stderr, address) = start_until_ready(node);
    assert!(data_dir.is_dir(), "--data-dir is created");

    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    use std::io::{Read, Write};
    stream
        .write_all(
            b"*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nAUTH\r\n$8\r\nfrom-env\r\n*1\r\n$4\r\nPING\r\n",
        )
        .unwrap();
    let mut reply = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(5);
    while reply.len() < 46 && Instant::now() < deadline {
        let mut chunk = [0u8; 128];
        let read = stream.read(&mut chunk).unwrap();
        if read == 0 {
            break;
        }
        reply.extend_from_slice(&chunk[..read]);
    }
    assert_eq!(
        String::from_utf8_lossy(&reply),
        "-NOAUTH Authentication required.\r\n+OK\r\n+PONG\r\n"
    );

    let pid = child.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(
        rest.contains("received SIGTERM") && rest.contains("shutdown complete"),
        "{rest}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// CPU time (user + system) the process `pid` has used, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may contain spaces.
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// `--idle-poll-us`: the node keeps polling (burning CPU) while requests keep coming within the
/// window, and sleeps once they stop: an idle member with polling on costs nothing.
#[test]
fn idle_polling_burns_cpu_only_while_requests_come() {
    let mut node = Command::new(BINARY);
    node.args(["--threads", "1", "--idle-poll-us", "100000"]);
    let (child, _stderr, address) = start_until_ready(node);
    let pid = child.0.id();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let mut ping = || {
        use std::io::{Read, Write};
        stream.write_all(b"*1\r\n$4\r\nPING\r\n").unwrap();
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"+PONG\r\n");
    };

    // A request every 50 ms, inside the 100 ms window: the node never sleeps.
    let before = cpu_ticks(pid);
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(1) {
        ping();
        std::thread::sleep(Duration::from_millis(50));
    }
    let busy = cpu_ticks(pid) - before;
    // A full CPU for 1 s is 100 ticks; the machine is shared, so ask for a third of it.
    assert!(
        busy >= 30,
        "polling used only {busy} ticks of CPU in 1 s of requests every 50 ms"
    );

    // No requests: after its 100 ms window the poller must go to sleep.
    std::thread::sleep(Duration::from_millis(300));
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(1));
    let idle = cpu_ticks(pid) - before;
    assert!(
        idle <= 5,
        "an idle node used {idle} ticks of CPU in 1 s: the poller did not stop"
    );
    ping();
}

/// Starts `node` on a free port with JSON logs and waits for its ready line; returns the child,
/// the rest of its log, and the address it serves clients on.
fn start_until_ready(
    mut node: Command,
) -> (KillOnDrop, BufReader<std::process::ChildStderr>, String) {
    let child = node
        .args(["--port", "0", "--log-format", "json"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let mut stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let address = serde_like::parse(&line)
        .address
        .expect("ready log line carries the address");
    (child, stderr, address)
}

/// Kills the server if the test fails half-way, so no orphan keeps the test's pipes open.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Just enough JSON field extraction for the ready line (avoids a serde dev-dependency).
mod serde_like {
    pub struct Line {
        pub address: Option<String>,
    }

    pub fn parse(line: &str) -> Line {
        let address = line
            .split("\"address\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned);
        Line { address }
    }
}
