//! The real Redis tools work against a ringcache cluster: `redis-cli -c` (following -MOVED) and
//! `redis-benchmark --cluster`. They come from the `redis-tools` package and must be on PATH.

mod cluster_support;

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster_support::*;
use ringcache_admin::ClusterSettings;

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

/// Runs `program` with `args` and `input` on stdin; panics (after killing it) past `limit`.
fn run_tool(program: &str, args: &[String], input: &str, limit: Duration) -> String {
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "{program} is not on PATH: install the redis-tools package (apt-get install \
             redis-tools) to run this test"
        ),
        Err(error) => panic!("cannot run {program}: {error}"),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.as_bytes()).expect("write stdin");
    drop(stdin);
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        let mut errors = String::new();
        let _ = stderr.read_to_string(&mut errors);
        (text, errors)
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            let (text, errors) = reader.join().expect("reader");
            panic!("{program} {args:?} did not finish within {limit:?}:\n{text}\n{errors}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (text, errors) = reader.join().expect("reader");
    assert!(
        status.success(),
        "{program} {args:?} failed ({status}):\n{text}\n{errors}"
    );
    text
}

async fn tool(program: &'static str, args: Vec<String>, input: String) -> String {
    tokio::task::spawn_blocking(move || run_tool(program, &args, &input, Duration::from_secs(60)))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
}

fn host_args(cluster: &TestCluster, member: usize) -> Vec<String> {
    vec![
        "-h".to_owned(),
        cluster.ip(member).to_string(),
        "-p".to_owned(),
        REDIS_PORT.to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cli_and_redis_benchmark_work_against_the_cluster() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;

        // One redis-cli -c invocation per command: SET through member 0, GET through member 1.
        let keys: Vec<String> = (0..4).map(|index| format!("cli:{index}")).collect();
        for key in &keys {
            let mut args = host_args(&cluster, 0);
            args.extend([
                "-c".to_owned(),
                "SET".to_owned(),
                key.clone(),
                format!("v-{key}"),
            ]);
            let out = tool("redis-cli", args, String::new()).await;
            assert_eq!(out.trim(), "OK", "redis-cli -c SET {key}");
        }
        for key in &keys {
            let mut args = host_args(&cluster, 1);
            args.extend(["-c".to_owned(), "GET".to_owned(), key.clone()]);
            let out = tool("redis-cli", args, String::new()).await;
            assert_eq!(out.trim(), format!("v-{key}"), "redis-cli -c GET {key}");
        }

        // A session that asks for the topology first: the member then answers -MOVED for keys
        // led elsewhere, and redis-cli -c follows the redirections.
        let leaders = cluster.leaders().await;
        let partitions_led_elsewhere: Vec<u32> = leaders
            .iter()
            .filter(|(_, leader)| **leader != 2)
            .map(|(partition, _)| *partition)
            .collect();
        assert!(!partitions_led_elsewhere.is_empty());
        let moved_keys: Vec<String> = partitions_led_elsewhere
            .iter()
            .take(4)
            .map(|&partition| keys_in_partition(16, partition, "moved", 1).remove(0))
            .collect();
        let mut script = String::from("CLUSTER NODES\n");
        for key in &moved_keys {
            script.push_str(&format!("SET {key} value-of-{key}\nGET {key}\n"));
        }
        let mut args = host_args(&cluster, 2);
        args.push("-c".to_owned());
        let out = tool("redis-cli", args, script).await;
        for key in &moved_keys {
            assert!(
                out.contains(&format!("value-of-{key}")),
                "redis-cli -c followed -MOVED for {key}:\n{out}"
            );
        }
        let mut connection = cluster.redis(0).await;
        for key in &moved_keys {
            let value: Option<String> = redis::cmd("GET")
                .arg(key)
                .query_async(&mut connection)
                .await
                .expect("GET");
            assert_eq!(value, Some(format!("value-of-{key}")));
        }

        // redis-benchmark in cluster mode: learns the masters from CLUSTER NODES and sends each
        // its slots' keys.
        let mut args = host_args(&cluster, 0);
        args.extend(
            ["--cluster", "-t", "set,get", "-n", "2000", "-q"]
                .iter()
                .map(|arg| (*arg).to_owned()),
        );
        let out = tool("redis-benchmark", args, String::new()).await;
        println!("redis-benchmark --cluster:\n{out}");
        for test in ["SET", "GET"] {
            let rps = requests_per_second(&out, test)
                .unwrap_or_else(|| panic!("no {test} result in redis-benchmark's output:\n{out}"));
            assert!(rps > 0.0, "{test}: {rps} requests per second\n{out}");
        }
        for member in 0..3 {
            assert!(cluster.is_running(member), "member {member} survived");
        }
    })
    .await;
}

/// `SET: 12345.67 requests per second, p50=...` (the -q format; progress lines end with \r).
fn requests_per_second(output: &str, test: &str) -> Option<f64> {
    output
        .split(['\n', '\r'])
        .filter_map(|line| line.trim().strip_prefix(&format!("{test}: ")))
        .filter(|rest| rest.contains("requests per second"))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<f64>().ok())
        .next_back()
}
