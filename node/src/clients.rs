//! The registry of connected clients, for `CLIENT LIST`, `CLIENT ID` and INFO's clients section.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

/// What other connections may see of a client. Fields a connection changes often are atomics.
#[derive(Debug)]
pub struct ClientHandle {
    pub id: u64,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub connected_at: Instant,
    /// Unix milliseconds of the last command (0 before the first).
    pub last_interaction_ms: AtomicU64,
    /// Address of the last command's table entry (0: none yet), resolved only by `CLIENT LIST`, so
    /// recording it is one relaxed store instead of a lock per batch.
    last_command: Mutex<&'static str>,
    pub connected_at_ms: u64,
    pub protocol: AtomicU8,
    pub names: Mutex<ClientNames>,
    /// What `CLIENT LIST` shows of the connection's state, as of its last batch.
    state: Mutex<ClientView>,
}

/// A connection's subscriptions and transaction, as `CLIENT LIST` shows them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClientView {
    pub subscriptions: usize,
    pub patterns: usize,
    pub shard_subscriptions: usize,
    /// Requests queued since MULTI (`None`: not in MULTI).
    pub queued: Option<usize>,
    /// A watched key changed (EXEC will abort).
    pub dirty: bool,
}

impl ClientView {
    /// Redis's flag letters: `P` subscribed, `x` in MULTI, `d` watched key changed; `N` none.
    fn flags(&self) -> String {
        let mut flags = String::new();
        if self.subscriptions + self.patterns + self.shard_subscriptions > 0 {
            flags.push('P');
        }
        if self.queued.is_some() {
            flags.push('x');
        }
        if self.dirty {
            flags.push('d');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        flags
    }
}

#[derive(Debug, Default, Clone)]
pub struct ClientNames {
    pub name: String,
    pub library_name: String,
    pub library_version: String,
}

impl ClientHandle {
    /// The handle of no real connection: the one replicated commands execute under.
    pub fn internal() -> Self {
        let unspecified = SocketAddr::from(([0, 0, 0, 0], 0));
        ClientHandle {
            id: 0,
            peer: unspecified,
            local: unspecified,
            connected_at: Instant::now(),
            last_interaction_ms: AtomicU64::new(0),
            last_command: Mutex::new("NULL"),
            connected_at_ms: 0,
            protocol: AtomicU8::new(2),
            names: Mutex::new(ClientNames::default()),
            state: Mutex::new(ClientView::default()),
        }
    }

    /// Records what `CLIENT LIST` shows of the connection's state (after a batch, when changed).
    pub fn record_view(&self, view: ClientView) {
        let mut state = self.state.lock();
        if *state != view {
            *state = view;
        }
    }

    /// Records a batch: its time and its last command.
    pub fn record(&self, now_ms: u64, last_command: &'static str) {
        self.last_interaction_ms.store(now_ms, Ordering::Relaxed);
        *self.last_command.lock() = last_command;
    }

    fn last_command_name(&self) -> &'static str {
        *self.last_command.lock()
    }

    /// One `CLIENT LIST` line in Redis's format.
    pub fn describe(&self) -> String {
        let age = self.connected_at.elapsed();
        let last = self
            .last_interaction_ms
            .load(Ordering::Relaxed)
            .max(self.connected_at_ms);
        let idle_ms = crate::store::unix_ms().saturating_sub(last);
        let names = self.names.lock().clone();
        let view = *self.state.lock();
        let multi = view.queued.map_or(-1, |queued| queued as i64);
        format!(
            "id={} addr={} laddr={} fd=0 name={} age={} idle={} flags={} db=0 sub={} psub={} ssub={} multi={} \
             qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r \
             cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.peer,
            self.local,
            names.name,
            age.as_secs(),
            idle_ms / 1000,
            view.flags(),
            view.subscriptions,
            view.patterns,
            view.shard_subscriptions,
            multi,
            self.last_command_name(),
            self.protocol.load(Ordering::Relaxed),
            names.library_name,
            names.library_version,
        )
    }
}

#[derive(Debug, Default)]
pub struct Clients {
    next_id: AtomicU64,
    connected: Mutex<BTreeMap<u64, Arc<ClientHandle>>>,
}

impl Clients {
    pub fn register(&self, peer: SocketAddr, local: SocketAddr) -> Arc<ClientHandle> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let handle = Arc::new(ClientHandle {
            id,
            peer,
            local,
            connected_at: Instant::now(),
            last_interaction_ms: AtomicU64::new(0),
            last_command: Mutex::new("NULL"),
            connected_at_ms: crate::store::unix_ms(),
            protocol: AtomicU8::new(2),
            names: Mutex::new(ClientNames::default()),
            state: Mutex::new(ClientView::default()),
        });
        self.connected.lock().insert(id, handle.clone());
        handle
    }

    pub fn unregister(&self, id: u64) {
        self.connected.lock().remove(&id);
    }

    pub fn count(&self) -> usize {
        self.connected.lock().len()
    }

    pub fn all(&self) -> Vec<Arc<ClientHandle>> {
        self.connected.lock().values().cloned().collect()
    }
}
