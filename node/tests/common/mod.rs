//! Test helper: a `ringcache-node` server running in-process on a free port, plus a raw RESP client
//! that returns replies byte for byte (to assert Redis's exact wire format).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use clap::Parser;
use ringcache_node::config::Config;

pub struct TestServer {
    pub addr: SocketAddr,
    /// The admin API (/metrics), when started with [`TestServer::start_with_admin`].
    pub admin: Option<SocketAddr>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts a server with extra command-line flags (`--port` is always 0).
    pub fn start_with(flags: &[&str]) -> Self {
        Self::spawn(flags, false)
    }

    /// Like [`start_with`](Self::start_with), also serving the admin API on a free port.
    pub fn start_with_admin(flags: &[&str]) -> Self {
        Self::spawn(flags, true)
    }

    fn spawn(flags: &[&str], with_admin: bool) -> Self {
        let mut argv = vec!["ringcache-node", "--port", "0"];
        argv.extend_from_slice(flags);
        let config = Config::try_parse_from(argv).expect("test flags parse");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("address");
        let admin_listener = with_admin.then(|| {
            let admin = std::net::TcpListener::bind("127.0.0.1:0").expect("bind admin");
            admin.set_nonblocking(true).expect("nonblocking");
            admin
        });
        let admin = admin_listener
            .as_ref()
            .map(|admin| admin.local_addr().expect("admin address"));
        let (shutdown, shutdown_receiver) = tokio::sync::oneshot::channel::<()>();
        // `--threads` sets the workers as the binary does (2 when not given).
        let workers = config.threads.map_or(2, |threads| threads.get());
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let stopped = async {
                    let _ = shutdown_receiver.await;
                };
                match admin_listener {
                    None => ringcache_node::server::run(listener, config, stopped).await,
                    Some(admin) => {
                        let listeners = ringcache_node::server::Listeners {
                            client: listener,
                            cluster: None,
                            admin: Some(tokio::net::TcpListener::from_std(admin).expect("admin")),
                        };
                        ringcache_node::server::run_node(listeners, config, stopped).await
                    }
                }
                .expect("server runs");
            });
        });
        TestServer {
            addr,
            admin,
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// A connection through the `redis` crate.
    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("url")
            .get_connection()
            .expect("connect")
    }

    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.addr)
    }

    /// Stops the server and waits for it (also done on drop).
    pub fn stop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            thread.join().expect("server thread");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A plain TCP client speaking RESP by hand.
pub struct RawClient {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl RawClient {
    pub fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        RawClient {
            reader: BufReader::new(stream.try_clone().expect("clone")),
            writer: stream,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write");
    }

    pub fn encode(args: &[&[u8]]) -> Vec<u8> {
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg);
            request.extend_from_slice(b"\r\n");
        }
        request
    }

    /// Sends one command and returns its reply exactly as received.
    pub fn cmd(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|arg| arg.as_bytes()).collect();
        self.send(&Self::encode(&args));
        self.reply()
    }

    /// Sends one command of binary arguments and returns its reply's bytes exactly as received.
    pub fn cmd_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&Self::encode(args));
        let mut raw = Vec::new();
        self.read_reply_into(&mut raw);
        raw
    }

    /// Reads exactly one reply (recursively for aggregates) and returns its raw text.
    pub fn reply(&mut self) -> String {
        let mut raw = Vec::new();
        self.read_reply_into(&mut raw);
        String::from_utf8_lossy(&raw).into_owned()
    }

    fn read_reply_into(&mut self, raw: &mut Vec<u8>) {
        let mut line = Vec::new();
        self.reader
            .read_until(b'\n', &mut line)
            .expect("read reply line");
        assert!(
            !line.is_empty(),
            "connection closed while waiting for a reply"
        );
        raw.extend_from_slice(&line);
        let body = String::from_utf8_lossy(&line[1..line.len() - 2]).into_owned();
        match line[0] {
            b'$' | b'=' | b'!' | b'(' if body != "-1" => {
                let length: usize = body.parse().expect("length");
                let mut data = vec![0; length + 2];
                self.reader.read_exact(&mut data).expect("read bulk");
                raw.extend_from_slice(&data);
            }
            b'*' | b'~' | b'>' if body != "-1" => {
                for _ in 0..body.parse::<usize>().expect("count") {
                    self.read_reply_into(raw);
                }
            }
            b'%' => {
                for _ in 0..2 * body.parse::<usize>().expect("count") {
                    self.read_reply_into(raw);
                }
            }
            _ => {}
        }
    }

    /// One reply if it starts arriving within `timeout` (a Pub/Sub push, say), else `None`.
    pub fn try_reply(&mut self, timeout: Duration) -> Option<String> {
        if self.reader.buffer().is_empty() {
            self.writer
                .set_read_timeout(Some(timeout))
                .expect("timeout");
            let arrived = self.reader.fill_buf().map(|bytes| !bytes.is_empty());
            self.writer
                .set_read_timeout(Some(Duration::from_secs(10)))
                .expect("timeout");
            if !matches!(arrived, Ok(true)) {
                return None;
            }
        }
        Some(self.reply())
    }

    /// True when the server closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.reader.read(&mut byte), Ok(0) | Err(_))
    }
}

/// Encodes a RESP bulk string reply.
pub fn bulk(text: &str) -> String {
    format!("${}\r\n{}\r\n", text.len(), text)
}

pub const NULL: &str = "$-1\r\n";
pub const OK: &str = "+OK\r\n";

/// A real `redis-server` (Debian's, installed by `scripts/install-deps.sh`) on a free port, without
/// persistence, stopped on drop: the reference replies and values are compared with.
pub struct RedisServer {
    pub addr: SocketAddr,
    child: std::process::Child,
}

impl RedisServer {
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/install-deps.sh)");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        // Owned from here, so the process is reaped (on drop) whatever happens.
        let server = RedisServer { addr, child };
        for _ in 0..200 {
            if TcpStream::connect(addr).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        drop(server);
        panic!("redis-server did not start on port {port}");
    }

    pub fn raw(&self) -> RawClient {
        RawClient::connect(self.addr)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const WRONGTYPE: &str =
    "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
pub const SYNTAX: &str = "-ERR syntax error\r\n";

/// Redis's wrong-arity error for `name`.
pub fn arity(name: &str) -> String {
    format!("-ERR wrong number of arguments for '{name}' command\r\n")
}

/// An integer reply.
pub fn int(value: i64) -> String {
    format!(":{value}\r\n")
}

/// An error reply of `text`.
pub fn err(text: &str) -> String {
    format!("-{text}\r\n")
}

/// An array of bulk strings, as RESP encodes it.
pub fn bulks(items: &[&str]) -> String {
    let mut reply = format!("*{}\r\n", items.len());
    for item in items {
        reply.push_str(&bulk(item));
    }
    reply
}

/// The bulk strings of a flat reply (arrays, maps, sets), in order, from its raw text.
pub fn elements(raw: &str) -> Vec<String> {
    let mut lines = raw.split("\r\n");
    let mut items = Vec::new();
    while let Some(line) = lines.next() {
        if line.starts_with('$') && line != "$-1" {
            items.push(lines.next().unwrap_or_default().to_owned());
        }
    }
    items
}

/// The Python of the virtualenv `scripts/install-deps.sh` makes with redis-py in it
/// (`RINGCACHE_PYVENV` names another); `None`, with a note, when it is not installed (a bare
/// `cargo test` on a machine set up without it).
pub fn redis_py() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("RINGCACHE_PYVENV")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::Path::new(&home).join(".cache/ringcache/venv"))
        })
        .map(|venv| venv.join("bin/python"))
        .filter(|python| python.exists());
    if python.is_none() {
        eprintln!("redis-py's virtualenv is not installed (scripts/install-deps.sh): skipped");
    }
    python
}

/// Runs a Python `script` with `args` (`sys.argv[1..]`); passes when it prints `ok` last.
pub fn run_python(python: &std::path::Path, script: &str, args: &[String]) {
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "ok",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
