//! AUTH, HELLO AUTH and the NOAUTH gate.

mod common;

use std::io::Write;

use common::{OK, TestServer};

fn server_with_password(password: &str) -> (TestServer, tempfile_path::TempFile) {
    let file = tempfile_path::TempFile::new(&format!("{password}\n"));
    let server = TestServer::start_with(&["--requirepass-file", file.path()]);
    (server, file)
}

/// A minimal temporary file, removed on drop (avoids a dev-dependency for one use).
mod tempfile_path {
    pub struct TempFile(String);

    impl TempFile {
        pub fn new(content: &str) -> Self {
            static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path =
                std::env::temp_dir().join(format!("ringcache-auth-{}-{n}", std::process::id()));
            let mut file = std::fs::File::create(&path).unwrap();
            super::Write::write_all(&mut file, content.as_bytes()).unwrap();
            TempFile(path.display().to_string())
        }

        pub fn path(&self) -> &str {
            &self.0
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[test]
fn commands_require_auth() {
    let (server, _file) = server_with_password("s3cret");
    let mut c = server.raw();
    assert_eq!(c.cmd(&["GET", "k"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(c.cmd(&["PING"]), "-NOAUTH Authentication required.\r\n");
    assert_eq!(
        c.cmd(&["AUTH", "wrong"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(
        c.cmd(&["AUTH", "admin", "s3cret"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmd(&["AUTH", "s3cret"]), OK);
    assert_eq!(c.cmd(&["SET", "k", "v"]), OK);
    let mut d = server.raw();
    assert_eq!(d.cmd(&["AUTH", "default", "s3cret"]), OK);
    assert_eq!(d.cmd(&["GET", "k"]), common::bulk("v"));
}

#[test]
fn hello_with_auth() {
    let (server, _file) = server_with_password("pw");
    let mut c = server.raw();
    assert!(
        c.cmd(&["HELLO", "3"])
            .starts_with("-NOAUTH HELLO must be called with the client already authenticated")
    );
    assert_eq!(
        c.cmd(&["HELLO", "3", "AUTH", "default", "bad"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert!(
        c.cmd(&["HELLO", "3", "AUTH", "default", "pw"])
            .starts_with("%7\r\n")
    );
    assert_eq!(c.cmd(&["GET", "missing"]), "_\r\n");
}

#[test]
fn real_client_with_password_in_url() {
    let (server, _file) = server_with_password("pw");
    let client = redis::Client::open(format!("redis://:pw@{}/", server.addr)).unwrap();
    let mut connection = client.get_connection().unwrap();
    let pong: String = redis::cmd("PING").query(&mut connection).unwrap();
    assert_eq!(pong, "PONG");
    let bad = redis::Client::open(format!("redis://:nope@{}/", server.addr)).unwrap();
    assert!(bad.get_connection().is_err());
}

#[test]
fn auth_without_a_password_configured() {
    let server = TestServer::start();
    let mut c = server.raw();
    assert_eq!(
        c.cmd(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(c.cmd(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
    // The default user has no password: naming it explicitly succeeds, any other user does not.
    assert_eq!(c.cmd(&["AUTH", "default", "anything"]), OK);
    assert_eq!(
        c.cmd(&["AUTH", "someone", "anything"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
}

#[test]
fn unauthenticated_clients_cannot_send_big_requests() {
    let (server, _file) = server_with_password("pw");
    let mut c = server.raw();
    c.send(b"*100\r\n");
    assert_eq!(
        c.reply(),
        "-ERR Protocol error: unauthenticated multibulk length\r\n"
    );
    assert!(c.is_closed());
}
