//! The wire protocol: RESP2/RESP3, inline commands, malformed input, connection commands.

mod common;

use common::{NULL, OK, RawClient, TestServer, bulk};

#[test]
fn ping_echo_select_time_and_errors() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmd(&["ping", "hi"]), bulk("hi"));
    assert_eq!(
        c.cmd(&["PING", "a", "b"]),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    assert_eq!(c.cmd(&["ECHO", "x y"]), bulk("x y"));
    assert_eq!(
        c.cmd(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        c.cmd(&["GET", "a", "b"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    assert_eq!(
        c.cmd(&["foo", "a", "b"]),
        "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
    );
    assert_eq!(c.cmd(&["SELECT", "0"]), OK);
    assert_eq!(c.cmd(&["SELECT", "1"]), "-ERR DB index is out of range\r\n");
    assert_eq!(
        c.cmd(&["SELECT", "x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    let time = c.cmd(&["TIME"]);
    assert!(time.starts_with("*2\r\n$10\r\n"), "{time}");
}

#[test]
fn inline_commands_work() {
    let server = TestServer::start();
    let mut c = server.raw();
    c.send(b"SET inline \"with space\"\r\nGET inline\r\n\r\nPING\n");
    assert_eq!(c.reply(), OK);
    assert_eq!(c.reply(), bulk("with space"));
    assert_eq!(c.reply(), "+PONG\r\n");
}

#[test]
fn resp3_after_hello() {
    let server = TestServer::start();
    let mut c = server.raw();
    let hello = c.cmd(&["HELLO", "3"]);
    assert!(hello.starts_with("%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.0.0\r\n$5\r\nproto\r\n:3\r\n"), "{hello}");
    assert_eq!(c.cmd(&["GET", "missing"]), "_\r\n");
    assert_eq!(c.cmd(&["MGET", "missing"]), "*1\r\n_\r\n");
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    let info = c.cmd(&["INFO", "server"]);
    assert!(
        info.starts_with('=') && info.contains("txt:# Server\r\nredis_version:7.0.0\r\n"),
        "{info}"
    );
    // Back to RESP2.
    let hello = c.cmd(&["HELLO", "2"]);
    assert!(hello.starts_with("*14\r\n"), "{hello}");
    assert_eq!(c.cmd(&["GET", "missing"]), NULL);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        c.cmd(&["HELLO", "4"]),
        "-NOPROTO unsupported protocol version\r\n"
    );
    assert_eq!(
        c.cmd(&["HELLO", "x"]),
        "-ERR Protocol version is not an integer or out of range\r\n"
    );
    assert_eq!(
        c.cmd(&["HELLO", "3", "FOO"]),
        "-ERR Syntax error in HELLO option 'FOO'\r\n"
    );
    let named = c.cmd(&["HELLO", "3", "SETNAME", "worker"]);
    assert!(named.starts_with("%7\r\n"));
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), bulk("worker"));
}

#[test]
fn resp3_with_a_real_client() {
    let server = TestServer::start();
    let client = redis::Client::open(format!("{}?protocol=resp3", server.url())).unwrap();
    let mut connection = client.get_connection().unwrap();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut connection)
        .unwrap();
    let value: Option<String> = redis::cmd("GET").arg("k").query(&mut connection).unwrap();
    assert_eq!(value.as_deref(), Some("v"));
    let missing: Option<String> = redis::cmd("GET")
        .arg("nope")
        .query(&mut connection)
        .unwrap();
    assert_eq!(missing, None);
}

#[test]
fn quit_closes_after_reply() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["QUIT"]), OK);
    assert!(c.is_closed());
}

fn assert_protocol_error(server: &TestServer, input: &[u8], message: &str) {
    let mut c = server.raw();
    c.send(input);
    assert_eq!(
        c.reply(),
        format!("-ERR Protocol error: {message}\r\n"),
        "input {input:?}"
    );
    assert!(
        c.is_closed(),
        "connection must close after a protocol error"
    );
}

#[test]
fn malformed_input_gets_an_error_and_a_closed_connection() {
    let server = TestServer::start();
    assert_protocol_error(&server, b"*abc\r\n", "invalid multibulk length");
    assert_protocol_error(&server, b"*1\r\n$-5\r\n", "invalid bulk length");
    assert_protocol_error(&server, b"*1\r\n$9999999999\r\n", "invalid bulk length");
    assert_protocol_error(&server, b"*1\r\n:5\r\n", "expected '$', got ':'");
    assert_protocol_error(&server, b"*99999999999\r\n", "invalid multibulk length");
    assert_protocol_error(&server, &[b'*'; 100], "too big mbulk count string");
    assert_protocol_error(
        &server,
        b"SET \"unterminated\r\n",
        "unbalanced quotes in request",
    );
    assert_protocol_error(&server, &vec![b'A'; 70 * 1024], "too big inline request");
    // Garbage after valid requests: the valid ones are answered first, in order.
    let mut c = server.raw();
    c.send(b"*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n*x\r\n");
    assert_eq!(c.reply(), "+PONG\r\n");
    assert_eq!(c.reply(), "+PONG\r\n");
    assert_eq!(
        c.reply(),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
    assert!(c.is_closed());
    // The server is still healthy.
    assert_eq!(server.raw().cmd(&["PING"]), "+PONG\r\n");
}

#[test]
fn huge_declared_lengths_do_not_allocate() {
    let server = TestServer::start();
    // Declares a 512 MB bulk and 1M arguments but sends a few bytes: the server just waits for more,
    // and keeps serving others; closing the socket frees everything.
    for _ in 0..50 {
        let mut c = server.raw();
        c.send(b"*1048576\r\n$536870912\r\nabc");
    }
    assert_eq!(server.raw().cmd(&["PING"]), "+PONG\r\n");
    let info = server.raw().cmd(&["INFO", "memory"]);
    let rss: u64 = info
        .lines()
        .find_map(|line| line.strip_prefix("used_memory_rss:"))
        .and_then(|value| value.parse().ok())
        .unwrap();
    assert!(
        rss < 400 * 1024 * 1024,
        "rss {rss} suggests a declared length was preallocated"
    );
}

#[test]
fn requests_split_across_many_writes() {
    let server = TestServer::start();
    let mut c = server.raw();
    let request = RawClient::encode(&[b"SET", b"split", b"0123456789"]);
    for byte in &request {
        c.send(&[*byte]);
    }
    assert_eq!(c.reply(), OK);
    assert_eq!(c.cmd(&["GET", "split"]), bulk("0123456789"));
}

#[test]
fn command_info_and_docs() {
    let server = TestServer::start();
    let mut c = server.raw();
    let count = c.cmd(&["COMMAND", "COUNT"]);
    assert!(count.starts_with(':'));
    let info = c.cmd(&["COMMAND", "INFO", "get", "nosuch"]);
    assert!(
        info.starts_with("*2\r\n*10\r\n$3\r\nget\r\n:2\r\n"),
        "{info}"
    );
    assert!(info.ends_with("*-1\r\n"), "{info}");
    let docs = c.cmd(&["COMMAND", "DOCS", "set"]);
    assert!(docs.starts_with("*2\r\n$3\r\nset\r\n"), "{docs}");
    assert!(c.cmd(&["COMMAND"]).starts_with('*'));
}

#[test]
fn client_and_config_commands() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), NULL);
    assert_eq!(c.cmd(&["CLIENT", "SETNAME", "app"]), OK);
    assert_eq!(c.cmd(&["CLIENT", "GETNAME"]), bulk("app"));
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME", "a b"]),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n"
    );
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]), OK);
    assert_eq!(c.cmd(&["CLIENT", "SETINFO", "LIB-VER", "1.2"]), OK);
    let id = c.cmd(&["CLIENT", "ID"]);
    let list = c.cmd(&["CLIENT", "LIST"]);
    let id_number = id.trim_start_matches(':').trim_end();
    assert!(list.contains(&format!("id={id_number} ")), "{list}");
    assert!(list.contains(" cmd=client "), "{list}");
    assert!(
        list.contains("name=app")
            && list.contains("lib-name=mylib")
            && list.contains("lib-ver=1.2"),
        "{list}"
    );
    assert_eq!(
        c.cmd(&["CLIENT", "NOPE"]),
        "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n"
    );
    assert_eq!(
        c.cmd(&["CLIENT", "SETNAME"]),
        "-ERR wrong number of arguments for 'client|setname' command\r\n"
    );

    assert_eq!(
        c.cmd(&["CONFIG", "GET", "save"]),
        format!("*2\r\n{}{}", bulk("save"), bulk(""))
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "appendonly"]),
        format!("*2\r\n{}{}", bulk("appendonly"), bulk("no"))
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "maxmemory", "10mb"]), OK);
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory"]),
        format!("*2\r\n{}{}", bulk("maxmemory"), bulk("10485760"))
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"]),
        OK
    );
    assert_eq!(
        c.cmd(&["CONFIG", "GET", "maxmemory-policy"]),
        format!("*2\r\n{}{}", bulk("maxmemory-policy"), bulk("allkeys-lru"))
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "maxmemory", "lots"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument couldn't be parsed into an integer\r\n"
    );
    assert!(
        c.cmd(&["CONFIG", "SET", "maxmemory-policy", "nope"])
            .starts_with(
                "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy')"
            )
    );
    assert_eq!(
        c.cmd(&["CONFIG", "SET", "foo", "bar"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n"
    );
    assert_eq!(c.cmd(&["CONFIG", "SET", "save", ""]), OK);
    let all = c.cmd(&["CONFIG", "GET", "maxmemory*"]);
    assert!(all.starts_with("*6\r\n"), "{all}");
}

#[test]
fn info_reports_redis_fields() {
    let server = TestServer::start();
    let mut c = server.raw();
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "1", "EX", "100"]);
    c.cmd(&["GET", "a"]);
    c.cmd(&["GET", "zz"]);
    let info = c.cmd(&["INFO"]);
    for field in [
        "redis_version:7.0.0",
        "ringcache_version:",
        "tcp_port:",
        "uptime_in_seconds:",
        "connected_clients:1",
        "used_memory:",
        "used_memory_human:",
        "maxmemory:0",
        "maxmemory_policy:noeviction",
        "total_commands_processed:",
        "total_connections_received:",
        "keyspace_hits:1",
        "keyspace_misses:1",
        "expired_keys:0",
        "evicted_keys:0",
        "db0:keys=2,expires=1,avg_ttl=",
    ] {
        assert!(info.contains(field), "missing {field} in {info}");
    }
    let only_keyspace = c.cmd(&["INFO", "keyspace"]);
    assert!(only_keyspace.contains("# Keyspace") && !only_keyspace.contains("# Server"));
}

#[test]
fn connection_limit_rejects_with_the_redis_error() {
    let server = TestServer::start_with(&["--maxclients", "2"]);
    let mut first = server.raw();
    let mut second = server.raw();
    assert_eq!(first.cmd(&["PING"]), "+PONG\r\n");
    assert_eq!(second.cmd(&["PING"]), "+PONG\r\n");
    let mut third = server.raw();
    assert_eq!(third.reply(), "-ERR max number of clients reached\r\n");
    assert!(third.is_closed());
    drop(first);
    // The slot frees once the server notices the disconnect.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mut again = server.raw();
        let reply = again.cmd(&["PING"]);
        if reply == "+PONG\r\n" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "slot never freed: {reply}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn shutdown_closes_connections() {
    let mut server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    server.stop();
    assert!(c.is_closed());
    assert!(
        std::net::TcpStream::connect(server.addr).is_err(),
        "listener must be closed"
    );
}
