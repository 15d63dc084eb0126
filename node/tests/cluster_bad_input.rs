//! Bad input never takes a member down: malformed admin requests get a 4xx answer with a JSON
//! error body, malformed RESP gets an error reply, garbage on the cluster bus is dropped, and the
//! member keeps serving throughout.

mod cluster_support;

use std::time::Duration;

use cluster_support::*;
use ringcache_admin::{ClusterSettings, ErrorBody, ErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SETTINGS: ClusterSettings = ClusterSettings {
    partitions: 16,
    replication_factor: 3,
};

/// Sends `bytes` on a new connection and collects what comes back until the member closes the
/// connection, `complete` says the answer is all there, or the member stays silent for 500 ms.
/// Returns the answer and whether the member closed the connection.
async fn exchange(
    address: &str,
    bytes: &[u8],
    complete: impl Fn(&[u8]) -> bool,
) -> (Vec<u8>, bool) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    // The peer may close before reading everything: a failed write is fine.
    let _ = stream.write_all(bytes).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_millis(500), stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (answer, true),
            Ok(Ok(read)) => {
                answer.extend_from_slice(&buffer[..read]);
                if complete(&answer) {
                    return (answer, false);
                }
            }
            Err(_) => return (answer, false),
        }
    }
}

fn never(_: &[u8]) -> bool {
    false
}

fn assert_json_error(answer: &HttpAnswer, what: &str, expected: Option<ErrorKind>) {
    assert!(
        (400..500).contains(&answer.status),
        "{what}: expected a 4xx answer, got {answer:?}"
    );
    assert!(
        answer.content_type.starts_with("application/json"),
        "{what}: expected a JSON error, got {answer:?}"
    );
    let body: ErrorBody = serde_json::from_str(&answer.body).unwrap_or_else(|error| {
        panic!("{what}: the error body is not an ErrorBody ({error}): {answer:?}")
    });
    assert!(!body.message.is_empty(), "{what}: {body:?}");
    if let Some(kind) = expected {
        assert_eq!(body.kind, kind, "{what}: {body:?}");
        assert_eq!(answer.status, kind.http_status(), "{what}: {answer:?}");
    }
}

async fn assert_serving(cluster: &mut TestCluster, after: &str) {
    assert!(cluster.is_running(0), "member 0 died after {after}");
    let mut connection = cluster.redis(0).await;
    let pong: String = redis::cmd("PING")
        .query_async(&mut connection)
        .await
        .unwrap_or_else(|error| panic!("PING after {after}: {error}"));
    assert_eq!(pong, "PONG");
    // Keys of every partition: served here or forwarded to their leaders.
    for index in 0..8 {
        let key = format!("alive:{index}");
        set_retrying(&mut connection, &key, after, WAIT).await;
        let value = get_retrying(&mut connection, &key, WAIT).await;
        assert_eq!(value.as_deref(), Some(after));
    }
    // Ready again, not necessarily at this instant: right after the writes above a replica may
    // still be applying an entry it has just learned is committed.
    cluster.wait_ready(0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_never_takes_a_member_down() {
    within(Duration::from_secs(150), "the test", async {
        let mut cluster = TestCluster::start(3, SETTINGS).await;
        let admin = cluster.members[0].admin_address();
        let settings = r#"{"settings":{"partitions":16,"replicationFactor":3}}"#.as_bytes();
        let zero_partitions = r#"{"settings":{"partitions":0,"replicationFactor":3},"members":[]}"#;
        let bad_ordinal = r#"{"settings":{"partitions":16,"replicationFactor":3},
            "members":[{"ordinal":7,"adminAddress":"x:1"}]}"#;
        let other_settings = r#"{"settings":{"partitions":17,"replicationFactor":3}}"#;
        let huge = vec![b'x'; 3 << 20];
        let bad_request = Some(ErrorKind::BadRequest);

        // The admin API: (method, path, body, the error kind when the node decides it).
        let cases: Vec<(&str, &str, &[u8], Option<ErrorKind>)> = vec![
            ("POST", "/v1/cluster/form", b"this is not json", None),
            ("POST", "/v1/cluster/form", b"{\"settings\": 5}", None),
            (
                "POST",
                "/v1/cluster/form",
                b"{\"settings\": {\"partitions\"",
                None,
            ),
            (
                "POST",
                "/v1/cluster/form",
                zero_partitions.as_bytes(),
                bad_request,
            ),
            (
                "POST",
                "/v1/cluster/form",
                bad_ordinal.as_bytes(),
                bad_request,
            ),
            ("POST", "/v1/cluster/form", &huge, None),
            ("GET", "/v1/no/such/thing", b"", None),
            ("GET", "/v1/cluster/form", b"", None),
            ("PUT", "/v1/partitions/16", settings, bad_request),
            ("PUT", "/v1/partitions/4000000000", settings, bad_request),
            ("PUT", "/v1/partitions/not-a-number", settings, None),
            ("PUT", "/v1/partitions/99999999999999999999", settings, None),
            (
                "PUT",
                "/v1/partitions/3",
                other_settings.as_bytes(),
                bad_request,
            ),
            ("DELETE", "/v1/partitions/16", b"", bad_request),
            (
                "POST",
                "/v1/partitions/16/promote",
                br#"{"id":1}"#,
                bad_request,
            ),
            ("POST", "/v1/partitions/3/learners", b"[1,2,3]", None),
            ("POST", "/v1/partitions/3/transfer-leadership", b"{}", None),
            (
                "POST",
                "/v1/partitions/3/bootstrap",
                br#"{"voters":[]}"#,
                bad_request,
            ),
            ("DELETE", "/v1/partitions/3/replicas/not-an-id", b"", None),
        ];
        for (method, path, body, kind) in &cases {
            let answer = http(&admin, method, path, body).await;
            assert_json_error(&answer, &format!("{method} {path}"), *kind);
        }
        // Without a JSON content type.
        let raw = format!(
            "POST /v1/cluster/form HTTP/1.1\r\nHost: {admin}\r\nContent-Length: 2\r\n\
             Authorization: Bearer {CLUSTER_SECRET}\r\nConnection: close\r\n\r\n{{}}"
        );
        let answer = parse_http(&http_raw(&admin, raw.as_bytes()).await).expect("an HTTP answer");
        assert_json_error(&answer, "POST without a content type", None);
        // Not HTTP at all, and a request cut short: the connection closes, nothing else happens.
        let _ = http_raw(&admin, b"\x00\x01\x02 garbage \xff\xfe\r\n\r\n").await;
        let _ = exchange(
            &admin,
            b"POST /v1/cluster/form HTTP/1.1\r\nContent-Length: 100\r\n\r\n{",
            never,
        )
        .await;
        assert_serving(&mut cluster, "garbage on the admin API").await;

        // The Redis port.
        let redis = cluster.redis_address(0);
        let protocol_errors: [&[u8]; 6] = [
            b"*abc\r\n",
            b"*1\r\n$-5\r\n",
            b"*2\r\n$3\r\nGET\r\n$99999999999999\r\n",
            b"*1\r\n$3\r\nGETXX\r\n",
            b"*99999999999999999999\r\n",
            b"SET \"unbalanced\r\n",
        ];
        for bytes in protocol_errors {
            let (answer, closed) = exchange(&redis, bytes, never).await;
            let text = String::from_utf8_lossy(&answer);
            assert!(
                text.starts_with("-ERR Protocol error"),
                "{:?}: expected a protocol error, got {text:?}",
                String::from_utf8_lossy(bytes)
            );
            assert!(closed, "the connection closes after a protocol error");
        }
        let command_errors: [&[u8]; 9] = [
            b"NOSUCHCOMMAND a b\r\n",
            b"*1\r\n$3\r\nGET\r\n",
            b"*2\r\n$3\r\nSET\r\n$1\r\nk\r\n",
            b"*2\r\n$7\r\nCLUSTER\r\n$7\r\nKEYSLOT\r\n",
            b"*3\r\n$7\r\nCLUSTER\r\n$15\r\nCOUNTKEYSINSLOT\r\n$6\r\n999999\r\n",
            b"*3\r\n$7\r\nCLUSTER\r\n$15\r\nCOUNTKEYSINSLOT\r\n$2\r\n-1\r\n",
            b"*2\r\n$7\r\nCLUSTER\r\n$6\r\nNOSUCH\r\n",
            b"*3\r\n$7\r\nCLUSTER\r\n$16\r\nRINGCACHE-ROUTES\r\n$1\r\nx\r\n",
            b"*4\r\n$4\r\nMSET\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n",
        ];
        for bytes in command_errors {
            let mut request = bytes.to_vec();
            request.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
            let pong = |answer: &[u8]| answer.ends_with(b"+PONG\r\n");
            let (answer, _) = exchange(&redis, &request, pong).await;
            let text = String::from_utf8_lossy(&answer);
            assert!(
                text.starts_with('-') && text.ends_with("+PONG\r\n"),
                "{:?}: expected an error, then the connection still serves PING; got {text:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        // Random bytes, and a request cut short.
        let mut noise = Vec::with_capacity(64 * 1024);
        let mut state: u32 = 0x1234_5678;
        for _ in 0..noise.capacity() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            noise.push(state as u8);
        }
        let _ = exchange(&redis, &noise, never).await;
        let _ = exchange(&redis, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc", never).await;
        assert_serving(&mut cluster, "garbage on the Redis port").await;

        // The cluster bus: frames that are not frames, a length over the limit, a cut frame.
        let bus = format!("{}:{BUS_PORT}", cluster.ip(0));
        let _ = exchange(&bus, &noise, never).await;
        let _ = exchange(&bus, &[0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8], never).await;
        let _ = exchange(&bus, &[0xff, 0xff, 0xff, 0xff, 0], never).await;
        let _ = exchange(&bus, &[0, 0x10, 0, 0, 1, 2, 3], never).await;
        assert_serving(&mut cluster, "garbage on the cluster bus").await;
        for member in 0..3 {
            assert!(cluster.is_running(member), "member {member} still runs");
        }
    })
    .await;
}
