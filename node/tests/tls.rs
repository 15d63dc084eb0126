//! TLS on the Redis port of a single process: `redis-cli --tls` and the Python client (redis-py)
//! with a CA made in the test read and write; a plain client gets nothing; a replaced certificate
//! is served to new connections without a restart.

mod tls_support;

use std::time::{Duration, Instant};

use clap::Parser;
use ringcache_node::config::Config;
use tls_support::{TestCa, redis_cli_tls};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn names() -> Vec<String> {
    vec!["127.0.0.1".to_owned(), "localhost".to_owned()]
}

/// Sets and reads a key with redis-py over TLS, verifying the server with `ca`.
fn python_set_get(
    ca: &std::path::Path,
    port: u16,
    key: &str,
    value: &str,
) -> Result<String, String> {
    let script = format!(
        "import redis\n\
         client = redis.Redis(host='127.0.0.1', port={port}, ssl=True, ssl_ca_certs={ca:?}, socket_timeout=5)\n\
         client.set({key:?}, {value:?})\n\
         print(client.get({key:?}).decode())\n",
        ca = ca.display().to_string(),
    );
    // The project's virtualenv (scripts/install-deps.sh installs redis-py there), else python3.
    let venv = std::env::var_os("RINGCACHE_PYVENV")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::Path::new(&home).join(".cache/ringcache/venv"))
        })
        .map(|venv| venv.join("bin/python3"))
        .filter(|python| python.exists());
    let output = std::process::Command::new(venv.unwrap_or_else(|| "python3".into()))
        .args(["-c", &script])
        .output()
        .map_err(|error| format!("cannot run python3: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redis_port_speaks_tls_and_takes_a_new_certificate_without_a_restart() {
    let directory = std::env::temp_dir().join(format!("ringcache-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let first_ca = TestCa::new("first test CA");
    let files = first_ca.issue(&directory, &names());
    let first_ca_file = directory.join("first-ca.pem");
    first_ca.write_ca(&first_ca_file);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Config::try_parse_from([
        "ringcache-node".as_ref(),
        "--tls-cert-file".as_ref(),
        files.cert.as_os_str(),
        "--tls-key-file".as_ref(),
        files.key.as_os_str(),
    ])
    .expect("flags");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ringcache_node::server::run(listener, config, async {
        let _ = stopped.await;
    }));

    // redis-cli and redis-py, verifying the certificate with the test's CA.
    let cli = |ca: std::path::PathBuf, args: Vec<&'static str>| {
        tokio::task::spawn_blocking(move || redis_cli_tls(&ca, "127.0.0.1", port, &[], &args))
    };
    assert_eq!(
        cli(first_ca_file.clone(), vec!["SET", "greeting", "hello"])
            .await
            .unwrap(),
        Ok("OK".to_owned())
    );
    assert_eq!(
        cli(first_ca_file.clone(), vec!["GET", "greeting"])
            .await
            .unwrap(),
        Ok("hello".to_owned())
    );
    let ca = first_ca_file.clone();
    let python =
        tokio::task::spawn_blocking(move || python_set_get(&ca, port, "from-python", "ssl"))
            .await
            .unwrap();
    assert_eq!(python, Ok("ssl".to_owned()));

    // A plain client gets no Redis answer: the port speaks only TLS.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    plain.write_all(b"PING\r\n").await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(12), plain.read_to_end(&mut answer)).await;
    assert!(
        !String::from_utf8_lossy(&answer).contains("PONG"),
        "a plain client was answered"
    );

    // The Secret changes (another CA): new connections get the new certificate, no restart.
    let second_ca = TestCa::new("second test CA");
    let second = second_ca.issue(&directory, &names());
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = cli(second.ca.clone(), vec!["GET", "greeting"])
            .await
            .unwrap();
        if answer == Ok("hello".to_owned()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served within 20 s: {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The old CA no longer verifies the server, and the data is all there.
    assert!(
        cli(first_ca_file.clone(), vec!["PING"])
            .await
            .unwrap()
            .is_err()
    );
    assert_eq!(
        cli(second.ca.clone(), vec!["GET", "from-python"])
            .await
            .unwrap(),
        Ok("ssl".to_owned())
    );

    let _ = stop.send(());
    server.await.unwrap().expect("clean shutdown");
    let _ = std::fs::remove_dir_all(&directory);
}

#[test]
fn unusable_tls_files_are_refused_with_the_file_named() {
    let directory = std::env::temp_dir().join(format!("ringcache-tls-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    let ca = TestCa::new("test CA");
    let files = ca.issue(&directory, &names());
    let other = ca.issue(&directory.join("other"), &names());
    let binary = env!("CARGO_BIN_EXE_ringcache-node");
    let run = |args: &[&std::ffi::OsStr]| {
        let output = std::process::Command::new(binary)
            .args(["--port", "0"])
            .args(args)
            .output()
            .expect("run ringcache-node");
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    // A key that belongs to another certificate, a missing file, a certificate that is not PEM,
    // and a key without its certificate.
    let not_pem = directory.join("not.pem");
    std::fs::write(&not_pem, "not a certificate").unwrap();
    for (args, expected) in [
        (
            vec![files.cert.as_os_str(), other.key.as_os_str()],
            "does not belong",
        ),
        (
            vec![
                directory.join("missing.pem").into_os_string().leak() as &std::ffi::OsStr,
                files.key.as_os_str(),
            ],
            "missing.pem",
        ),
        (
            vec![not_pem.as_os_str(), files.key.as_os_str()],
            "no PEM certificate",
        ),
    ] {
        let (code, stderr) = run(&[
            "--tls-cert-file".as_ref(),
            args[0],
            "--tls-key-file".as_ref(),
            args[1],
        ]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected {expected:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let (code, stderr) = run(&["--tls-key-file".as_ref(), files.key.as_os_str()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--tls-cert-file"), "{stderr}");
    let _ = std::fs::remove_dir_all(&directory);
}
