//! The command table: name, Redis arity, flags and key positions (what `COMMAND INFO` reports and
//! what the dispatcher enforces), and how the command is parsed and run.

use std::collections::HashMap;
use std::sync::LazyLock;

use bytes::Bytes;

use super::{CommandError, Read, ServerHandler, Write};
use super::{append, auth, client, command_info, config, dbsize, del, echo, exists, expire};
use super::{
    eval, quit, readonly, scan, script_command, select, set, setex, setnx, strlen, time, ttl,
    type_of,
};
use super::{get, getdel, getex, getset, hello, incr, info, keys, mget, mset, persist, ping};

/// Command flags, named as Redis names them in `COMMAND INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(u16);

impl Flags {
    pub const WRITE: Flags = Flags(1);
    pub const READONLY: Flags = Flags(1 << 1);
    pub const DENY_OOM: Flags = Flags(1 << 2);
    pub const FAST: Flags = Flags(1 << 3);
    pub const NO_AUTH: Flags = Flags(1 << 4);
    pub const ADMIN: Flags = Flags(1 << 5);
    pub const LOADING: Flags = Flags(1 << 6);
    pub const STALE: Flags = Flags(1 << 7);
    pub const NOSCRIPT: Flags = Flags(1 << 8);
    /// May wait for data (BLPOP and kin).
    pub const BLOCKING: Flags = Flags(1 << 9);
    /// Its keys are not at fixed positions (a numkeys argument): clients ask `COMMAND GETKEYS`.
    pub const MOVABLE_KEYS: Flags = Flags(1 << 10);
    pub const PUBSUB: Flags = Flags(1 << 11);
    /// Allowed in RESP2 subscribed mode (not a Redis flag: never reported).
    pub const SUBSCRIBED_OK: Flags = Flags(1 << 12);

    /// In the order Redis lists them.
    const NAMES: [(Flags, &'static str); 12] = [
        (Flags::WRITE, "write"),
        (Flags::READONLY, "readonly"),
        (Flags::DENY_OOM, "denyoom"),
        (Flags::ADMIN, "admin"),
        (Flags::PUBSUB, "pubsub"),
        (Flags::NOSCRIPT, "noscript"),
        (Flags::BLOCKING, "blocking"),
        (Flags::LOADING, "loading"),
        (Flags::STALE, "stale"),
        (Flags::FAST, "fast"),
        (Flags::NO_AUTH, "no_auth"),
        (Flags::MOVABLE_KEYS, "movablekeys"),
    ];

    pub const fn union(self, other: Flags) -> Flags {
        Flags(self.0 | other.0)
    }

    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(flag, _)| self.contains(*flag))
            .map(|(_, name)| *name)
            .collect()
    }
}

pub const W: Flags = Flags::WRITE.union(Flags::DENY_OOM);
pub const WF: Flags = W.union(Flags::FAST);
pub const R: Flags = Flags::READONLY;
pub const RF: Flags = Flags::READONLY.union(Flags::FAST);
pub const DEL: Flags = Flags::WRITE;
pub const DELF: Flags = Flags::WRITE.union(Flags::FAST);
pub const CONN: Flags = Flags::NOSCRIPT
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::FAST);
pub const FAST: Flags = Flags::FAST;
pub const LOADING_STALE: Flags = Flags::LOADING.union(Flags::STALE);
pub const CONN_NOAUTH: Flags = CONN.union(Flags::NO_AUTH);
pub const ADMIN: Flags = Flags::ADMIN
    .union(Flags::NOSCRIPT)
    .union(Flags::LOADING)
    .union(Flags::STALE);

/// EVAL and kin: `noscript stale movablekeys` (keys follow a count).
pub const SCRIPT: Flags = Flags::NOSCRIPT
    .union(Flags::STALE)
    .union(Flags::MOVABLE_KEYS);

/// Who runs a command, and the function that parses it (see [`super::Parsed`]).
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Read(fn(&[Bytes]) -> Result<Read, CommandError>),
    Write(fn(&[Bytes], u64) -> Result<Write, CommandError>),
    Flush,
    Server(ServerHandler),
    Cluster,
    /// MULTI, EXEC, DISCARD, WATCH, UNWATCH (run by the executor).
    Transaction,
    /// EVAL and kin (run by the executor).
    Script(fn(&[Bytes]) -> Result<super::eval::ScriptCall, CommandError>),
}

#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name, as Redis reports it.
    pub name: &'static str,
    /// Redis convention: `n` means exactly n arguments including the name, `-n` at least n.
    pub arity: i32,
    pub flags: Flags,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub kind: Kind,
}

impl CommandSpec {
    /// Whether `count` arguments (the name included) fit the command's Redis arity.
    pub fn accepts(&self, count: usize) -> bool {
        let (count, arity) = (count as i64, i64::from(self.arity));
        if arity > 0 {
            count == arity
        } else {
            count >= -arity
        }
    }
}

/// One entry per command: name, arity, flags, key positions (first, last, step) as `COMMAND INFO`
/// reports them, group, the Redis version that introduced it, who runs it, and its summary.
macro_rules! commands {
    ($table:ident; $($name:literal, $arity:expr, $flags:expr, ($first:expr, $last:expr, $step:expr),
       $group:literal, $since:literal, $kind:ident $(($parse:path))?, $summary:literal;)*) => {
        pub static $table: &[$crate::command::CommandSpec] = &[$(
            $crate::command::CommandSpec {
                name: $name,
                arity: $arity,
                flags: $flags,
                first_key: $first,
                last_key: $last,
                step: $step,
                group: $group,
                since: $since,
                summary: $summary,
                kind: $crate::command::Kind::$kind $(($parse))?,
            },
        )*];
    };
}

pub(crate) use commands;

commands! { STRING_AND_SERVER;
    "get", 2, RF, (1, 1, 1), "string", "1.0.0", Read(get::parse),
        "Returns the string value of a key.";
    "set", -3, W, (1, 1, 1), "string", "1.0.0", Write(set::parse),
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.";
    "setnx", 3, WF, (1, 1, 1), "string", "1.0.0", Write(setnx::parse),
        "Set the string value of a key only when the key doesn't exist.";
    "setex", 4, W, (1, 1, 1), "string", "2.0.0", Write(setex::setex),
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.";
    "psetex", 4, W, (1, 1, 1), "string", "2.6.0", Write(setex::psetex),
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.";
    "getset", 3, WF, (1, 1, 1), "string", "1.0.0", Write(getset::parse),
        "Returns the previous string value of a key after setting it to a new value.";
    "getdel", 2, DELF, (1, 1, 1), "string", "6.2.0", Write(getdel::parse),
        "Returns the string value of a key after deleting the key.";
    "getex", -2, DELF, (1, 1, 1), "string", "6.2.0", Write(getex::parse),
        "Returns the string value of a key after setting its expiration time.";
    "mget", -2, RF, (1, -1, 1), "string", "1.0.0", Read(mget::parse),
        "Atomically returns the string values of one or more keys.";
    "mset", -3, W, (1, -1, 2), "string", "1.0.1", Write(mset::mset),
        "Atomically creates or modifies the string values of one or more keys.";
    "msetnx", -3, W, (1, -1, 2), "string", "1.0.1", Write(mset::msetnx),
        "Atomically modifies the string values of one or more keys only when all keys don't exist.";
    "append", 3, WF, (1, 1, 1), "string", "2.0.0", Write(append::parse),
        "Appends a string to the value of a key. Creates the key if it doesn't exist.";
    "strlen", 2, RF, (1, 1, 1), "string", "2.2.0", Read(strlen::parse),
        "Returns the length of a string value.";
    "incr", 2, WF, (1, 1, 1), "string", "1.0.0", Write(incr::incr),
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.";
    "decr", 2, WF, (1, 1, 1), "string", "1.0.0", Write(incr::decr),
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.";
    "incrby", 3, WF, (1, 1, 1), "string", "1.0.0", Write(incr::incrby),
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.";
    "decrby", 3, WF, (1, 1, 1), "string", "1.0.0", Write(incr::decrby),
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.";
    "incrbyfloat", 3, WF, (1, 1, 1), "string", "2.6.0", Write(incr::incrbyfloat),
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.";
    "del", -2, DEL, (1, -1, 1), "generic", "1.0.0", Write(del::parse),
        "Deletes one or more keys.";
    "unlink", -2, DELF, (1, -1, 1), "generic", "4.0.0", Write(del::parse),
        "Asynchronously deletes one or more keys.";
    "exists", -2, RF, (1, -1, 1), "generic", "1.0.0", Read(exists::parse),
        "Determines whether one or more keys exist.";
    "type", 2, RF, (1, 1, 1), "generic", "1.0.0", Read(type_of::parse),
        "Determines the type of value stored at a key.";
    "expire", -3, DELF, (1, 1, 1), "generic", "1.0.0", Write(expire::expire),
        "Sets the expiration time of a key in seconds.";
    "pexpire", -3, DELF, (1, 1, 1), "generic", "2.6.0", Write(expire::pexpire),
        "Sets the expiration time of a key in milliseconds.";
    "expireat", -3, DELF, (1, 1, 1), "generic", "1.2.0", Write(expire::expireat),
        "Sets the expiration time of a key to a Unix timestamp.";
    "pexpireat", -3, DELF, (1, 1, 1), "generic", "2.6.0", Write(expire::pexpireat),
        "Sets the expiration time of a key to a Unix milliseconds timestamp.";
    "ttl", 2, RF, (1, 1, 1), "generic", "1.0.0", Read(ttl::ttl),
        "Returns the expiration time in seconds of a key.";
    "pttl", 2, RF, (1, 1, 1), "generic", "2.6.0", Read(ttl::pttl),
        "Returns the expiration time in milliseconds of a key.";
    "expiretime", 2, RF, (1, 1, 1), "generic", "7.0.0", Read(ttl::expiretime),
        "Returns the expiration time of a key as a Unix timestamp.";
    "pexpiretime", 2, RF, (1, 1, 1), "generic", "7.0.0", Read(ttl::pexpiretime),
        "Returns the expiration time of a key as a Unix milliseconds timestamp.";
    "persist", 2, DELF, (1, 1, 1), "generic", "2.2.0", Write(persist::parse),
        "Removes the expiration time of a key.";
    "keys", 2, R, (0, 0, 0), "generic", "1.0.0", Read(keys::parse),
        "Returns all key names that match a pattern.";
    "scan", -2, R, (0, 0, 0), "generic", "2.8.0", Read(scan::parse),
        "Iterates over the key names in the database.";
    "dbsize", 1, RF, (0, 0, 0), "server", "1.0.0", Read(dbsize::parse),
        "Returns the number of keys in the database.";
    "flushall", -1, DEL, (0, 0, 0), "server", "1.0.0", Flush,
        "Removes all keys from all databases.";
    "flushdb", -1, DEL, (0, 0, 0), "server", "1.0.0", Flush,
        "Remove all keys from the current database.";
    "select", 2, CONN, (0, 0, 0), "connection", "1.0.0", Server(select::select),
        "Changes the selected database.";
    "auth", -2, CONN_NOAUTH, (0, 0, 0), "connection", "1.0.0", Server(auth::auth),
        "Authenticates the connection.";
    "hello", -1, CONN_NOAUTH, (0, 0, 0), "connection", "6.0.0", Server(hello::hello),
        "Handshakes with the Redis server.";
    "quit", -1, CONN_NOAUTH.union(Flags::SUBSCRIBED_OK), (0, 0, 0), "connection", "1.0.0", Server(quit::quit),
        "Closes the connection.";
    "config", -2, ADMIN, (0, 0, 0), "server", "2.0.0", Server(config::config),
        "A container for server configuration commands.";
    "client", -2, CONN, (0, 0, 0), "connection", "2.4.0", Server(client::client),
        "A container for client connection commands.";
    "time", 1, LOADING_STALE.union(Flags::FAST), (0, 0, 0), "server", "2.6.0", Server(time::time),
        "Returns the server time.";
    "cluster", -2, CONN, (0, 0, 0), "cluster", "3.0.0", Cluster,
        "A container for Redis Cluster commands.";
    "readonly", 1, CONN, (0, 0, 0), "cluster", "3.0.0", Server(readonly::readonly),
        "Enables read-only queries for a connection to a Redis Cluster replica node.";
    "readwrite", 1, CONN, (0, 0, 0), "cluster", "3.0.0", Server(readonly::readwrite),
        "Enables read-write queries for a connection to a Redis Cluster replica node.";
    "multi", 1, CONN, (0, 0, 0), "transactions", "1.2.0", Transaction,
        "Starts a transaction.";
    "exec", 1, LOADING_STALE.union(Flags::NOSCRIPT), (0, 0, 0), "transactions", "1.2.0", Transaction,
        "Executes all commands in a transaction.";
    "discard", 1, CONN, (0, 0, 0), "transactions", "2.0.0", Transaction,
        "Discards a transaction.";
    "watch", -2, CONN, (1, -1, 1), "transactions", "2.2.0", Transaction,
        "Monitors changes to keys to determine the execution of a transaction.";
    "unwatch", 1, CONN, (0, 0, 0), "transactions", "2.2.0", Transaction,
        "Forgets about watched keys of a transaction.";
    "script", -2, Flags::NOSCRIPT, (0, 0, 0), "scripting", "2.6.0", Server(script_command::script),
        "A container for Lua scripts management commands.";
    "eval", -3, SCRIPT, (0, 0, 0), "scripting", "2.6.0", Script(eval::eval),
        "Executes a server-side Lua script.";
    "evalsha", -3, SCRIPT, (0, 0, 0), "scripting", "2.6.0", Script(eval::evalsha),
        "Executes a server-side Lua script by SHA1 digest.";
    "eval_ro", -3, SCRIPT.union(Flags::READONLY), (0, 0, 0), "scripting", "7.0.0", Script(eval::eval_ro),
        "Executes a read-only server-side Lua script.";
    "evalsha_ro", -3, SCRIPT.union(Flags::READONLY), (0, 0, 0), "scripting", "7.0.0", Script(eval::evalsha_ro),
        "Executes a read-only server-side Lua script by SHA1 digest.";
    "ping", -1, FAST.union(Flags::SUBSCRIBED_OK), (0, 0, 0), "connection", "1.0.0", Server(ping::ping),
        "Returns the server's liveliness response.";
    "echo", 2, FAST, (0, 0, 0), "connection", "1.0.0", Server(echo::echo),
        "Returns the given string.";
    "info", -1, LOADING_STALE, (0, 0, 0), "server", "1.0.0", Server(info::info),
        "Returns information and statistics about the server.";
    "command", -1, LOADING_STALE, (0, 0, 0), "server", "2.8.13", Server(command_info::command),
        "Returns detailed information about all commands.";
}

/// Every command: strings, keys and the server's here, each family of types in its own table.
static ALL: LazyLock<Vec<&'static CommandSpec>> = LazyLock::new(|| {
    [
        STRING_AND_SERVER,
        super::hashes::COMMANDS,
        super::lists::COMMANDS,
        super::sets::COMMANDS,
        super::sorted_sets::COMMANDS,
        super::keyspace::COMMANDS,
        super::bits::COMMANDS,
        super::pubsub::COMMANDS,
    ]
    .into_iter()
    .flatten()
    .collect()
});

static BY_NAME: LazyLock<HashMap<&'static [u8], &'static CommandSpec>> = LazyLock::new(|| {
    ALL.iter()
        .map(|spec| (spec.name.as_bytes(), *spec))
        .collect()
});

/// The command named `lowercase_name`, if any.
pub fn lookup(lowercase_name: &[u8]) -> Option<&'static CommandSpec> {
    BY_NAME.get(lowercase_name).copied()
}

pub fn specs() -> &'static [&'static CommandSpec] {
    &ALL
}

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/compatibility.md names every command of the table, so the page cannot fall behind.
    #[test]
    fn every_command_is_documented() {
        let page = include_str!("../../../docs/compatibility.md");
        let missing: Vec<&str> = specs()
            .iter()
            .map(|spec| spec.name)
            .filter(|name| !page.contains(&format!("`{}`", name.to_ascii_uppercase())))
            .collect();
        assert!(
            missing.is_empty(),
            "not in docs/compatibility.md: {missing:?}"
        );
    }

    #[test]
    fn names_are_unique_and_lower_case() {
        let mut names: Vec<&str> = specs().iter().map(|spec| spec.name).collect();
        assert!(names.iter().all(|name| *name == name.to_ascii_lowercase()));
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a command is in two tables");
    }
}
