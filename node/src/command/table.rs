//! The command table: name, Redis arity, flags and key positions (what `COMMAND INFO` reports and
//! what the dispatcher enforces), and the handler.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::{Handler, append, auth, client, command_info, config, dbsize, del, echo, exists};
use super::{cluster, persist, ping, quit, readonly, scan, select, set, setex, setnx, strlen};
use super::{expire, flush, get, getdel, getex, getset, hello, incr, info, keys, mget, mset};
use super::{time, ttl, type_of};

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

    const NAMES: [(Flags, &'static str); 9] = [
        (Flags::WRITE, "write"),
        (Flags::READONLY, "readonly"),
        (Flags::DENY_OOM, "denyoom"),
        (Flags::ADMIN, "admin"),
        (Flags::NOSCRIPT, "noscript"),
        (Flags::LOADING, "loading"),
        (Flags::STALE, "stale"),
        (Flags::FAST, "fast"),
        (Flags::NO_AUTH, "no_auth"),
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

const W: Flags = Flags::WRITE.union(Flags::DENY_OOM);
const WF: Flags = W.union(Flags::FAST);
const R: Flags = Flags::READONLY;
const RF: Flags = Flags::READONLY.union(Flags::FAST);
const DEL: Flags = Flags::WRITE;
const DELF: Flags = Flags::WRITE.union(Flags::FAST);
const CONN: Flags = Flags::NOSCRIPT
    .union(Flags::LOADING)
    .union(Flags::STALE)
    .union(Flags::FAST);
const CONN_NOAUTH: Flags = CONN.union(Flags::NO_AUTH);
const ADMIN: Flags = Flags::ADMIN
    .union(Flags::NOSCRIPT)
    .union(Flags::LOADING)
    .union(Flags::STALE);

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
    pub handler: Handler,
}

macro_rules! command {
    ($name:literal, $arity:expr, $flags:expr, ($first:expr, $last:expr, $step:expr), $group:literal, $since:literal, $summary:literal, $handler:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            since: $since,
            summary: $summary,
            handler: $handler,
        }
    };
}

static COMMANDS: &[CommandSpec] = &[
    command!(
        "get",
        2,
        RF,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns the string value of a key.",
        get::get
    ),
    command!(
        "set",
        -3,
        W,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        set::set
    ),
    command!(
        "setnx",
        3,
        WF,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Set the string value of a key only when the key doesn't exist.",
        setnx::setnx
    ),
    command!(
        "setex",
        4,
        W,
        (1, 1, 1),
        "string",
        "2.0.0",
        "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.",
        setex::setex
    ),
    command!(
        "psetex",
        4,
        W,
        (1, 1, 1),
        "string",
        "2.6.0",
        "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.",
        setex::psetex
    ),
    command!(
        "getset",
        3,
        WF,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Returns the previous string value of a key after setting it to a new value.",
        getset::getset
    ),
    command!(
        "getdel",
        2,
        DELF,
        (1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key after deleting the key.",
        getdel::getdel
    ),
    command!(
        "getex",
        -2,
        DELF,
        (1, 1, 1),
        "string",
        "6.2.0",
        "Returns the string value of a key after setting its expiration time.",
        getex::getex
    ),
    command!(
        "mget",
        -2,
        RF,
        (1, -1, 1),
        "string",
        "1.0.0",
        "Atomically returns the string values of one or more keys.",
        mget::mget
    ),
    command!(
        "mset",
        -3,
        W,
        (1, -1, 2),
        "string",
        "1.0.1",
        "Atomically creates or modifies the string values of one or more keys.",
        mset::mset
    ),
    command!(
        "msetnx",
        -3,
        W,
        (1, -1, 2),
        "string",
        "1.0.1",
        "Atomically modifies the string values of one or more keys only when all keys don't exist.",
        mset::msetnx
    ),
    command!(
        "append",
        3,
        WF,
        (1, 1, 1),
        "string",
        "2.0.0",
        "Appends a string to the value of a key. Creates the key if it doesn't exist.",
        append::append
    ),
    command!(
        "strlen",
        2,
        RF,
        (1, 1, 1),
        "string",
        "2.2.0",
        "Returns the length of a string value.",
        strlen::strlen
    ),
    command!(
        "incr",
        2,
        WF,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        incr::incr
    ),
    command!(
        "decr",
        2,
        WF,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.",
        incr::decr
    ),
    command!(
        "incrby",
        3,
        WF,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        incr::incrby
    ),
    command!(
        "decrby",
        3,
        WF,
        (1, 1, 1),
        "string",
        "1.0.0",
        "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.",
        incr::decrby
    ),
    command!(
        "incrbyfloat",
        3,
        WF,
        (1, 1, 1),
        "string",
        "2.6.0",
        "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.",
        incr::incrbyfloat
    ),
    command!(
        "del",
        -2,
        DEL,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Deletes one or more keys.",
        del::del
    ),
    command!(
        "unlink",
        -2,
        DELF,
        (1, -1, 1),
        "generic",
        "4.0.0",
        "Asynchronously deletes one or more keys.",
        del::unlink
    ),
    command!(
        "exists",
        -2,
        RF,
        (1, -1, 1),
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        exists::exists
    ),
    command!(
        "type",
        2,
        RF,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Determines the type of value stored at a key.",
        type_of::type_of
    ),
    command!(
        "expire",
        -3,
        DELF,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Sets the expiration time of a key in seconds.",
        expire::expire
    ),
    command!(
        "pexpire",
        -3,
        DELF,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key in milliseconds.",
        expire::pexpire
    ),
    command!(
        "expireat",
        -3,
        DELF,
        (1, 1, 1),
        "generic",
        "1.2.0",
        "Sets the expiration time of a key to a Unix timestamp.",
        expire::expireat
    ),
    command!(
        "pexpireat",
        -3,
        DELF,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Sets the expiration time of a key to a Unix milliseconds timestamp.",
        expire::pexpireat
    ),
    command!(
        "ttl",
        2,
        RF,
        (1, 1, 1),
        "generic",
        "1.0.0",
        "Returns the expiration time in seconds of a key.",
        ttl::ttl
    ),
    command!(
        "pttl",
        2,
        RF,
        (1, 1, 1),
        "generic",
        "2.6.0",
        "Returns the expiration time in milliseconds of a key.",
        ttl::pttl
    ),
    command!(
        "expiretime",
        2,
        RF,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix timestamp.",
        ttl::expiretime
    ),
    command!(
        "pexpiretime",
        2,
        RF,
        (1, 1, 1),
        "generic",
        "7.0.0",
        "Returns the expiration time of a key as a Unix milliseconds timestamp.",
        ttl::pexpiretime
    ),
    command!(
        "persist",
        2,
        DELF,
        (1, 1, 1),
        "generic",
        "2.2.0",
        "Removes the expiration time of a key.",
        persist::persist
    ),
    command!(
        "keys",
        2,
        R,
        (0, 0, 0),
        "generic",
        "1.0.0",
        "Returns all key names that match a pattern.",
        keys::keys
    ),
    command!(
        "scan",
        -2,
        R,
        (0, 0, 0),
        "generic",
        "2.8.0",
        "Iterates over the key names in the database.",
        scan::scan
    ),
    command!(
        "dbsize",
        1,
        RF,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns the number of keys in the database.",
        dbsize::dbsize
    ),
    command!(
        "flushall",
        -1,
        DEL,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Removes all keys from all databases.",
        flush::flush
    ),
    command!(
        "flushdb",
        -1,
        DEL,
        (0, 0, 0),
        "server",
        "1.0.0",
        "Remove all keys from the current database.",
        flush::flush
    ),
    command!(
        "ping",
        -1,
        Flags::FAST,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        ping::ping
    ),
    command!(
        "echo",
        2,
        Flags::FAST,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Returns the given string.",
        echo::echo
    ),
    command!(
        "select",
        2,
        CONN,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Changes the selected database.",
        select::select
    ),
    command!(
        "auth",
        -2,
        CONN_NOAUTH,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Authenticates the connection.",
        auth::auth
    ),
    command!(
        "hello",
        -1,
        CONN_NOAUTH,
        (0, 0, 0),
        "connection",
        "6.0.0",
        "Handshakes with the Redis server.",
        hello::hello
    ),
    command!(
        "quit",
        -1,
        CONN_NOAUTH,
        (0, 0, 0),
        "connection",
        "1.0.0",
        "Closes the connection.",
        quit::quit
    ),
    command!(
        "info",
        -1,
        Flags::LOADING.union(Flags::STALE),
        (0, 0, 0),
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        info::info
    ),
    command!(
        "config",
        -2,
        ADMIN,
        (0, 0, 0),
        "server",
        "2.0.0",
        "A container for server configuration commands.",
        config::config
    ),
    command!(
        "client",
        -2,
        CONN,
        (0, 0, 0),
        "connection",
        "2.4.0",
        "A container for client connection commands.",
        client::client
    ),
    command!(
        "command",
        -1,
        Flags::LOADING.union(Flags::STALE),
        (0, 0, 0),
        "server",
        "2.8.13",
        "Returns detailed information about all commands.",
        command_info::command
    ),
    command!(
        "time",
        1,
        CONN,
        (0, 0, 0),
        "server",
        "2.6.0",
        "Returns the server time.",
        time::time
    ),
    command!(
        "cluster",
        -2,
        CONN,
        (0, 0, 0),
        "cluster",
        "3.0.0",
        "A container for Redis Cluster commands.",
        cluster::cluster
    ),
    command!(
        "readonly",
        1,
        CONN,
        (0, 0, 0),
        "cluster",
        "3.0.0",
        "Enables read-only queries for a connection to a Redis Cluster replica node.",
        readonly::readonly
    ),
    command!(
        "readwrite",
        1,
        CONN,
        (0, 0, 0),
        "cluster",
        "3.0.0",
        "Enables read-write queries for a connection to a Redis Cluster replica node.",
        readonly::readwrite
    ),
];

static BY_NAME: LazyLock<HashMap<&'static [u8], &'static CommandSpec>> = LazyLock::new(|| {
    COMMANDS
        .iter()
        .map(|spec| (spec.name.as_bytes(), spec))
        .collect()
});

/// The command named `lowercase_name`, if any.
pub fn lookup(lowercase_name: &[u8]) -> Option<&'static CommandSpec> {
    BY_NAME.get(lowercase_name).copied()
}

pub fn specs() -> &'static [CommandSpec] {
    COMMANDS
}
