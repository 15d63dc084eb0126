//! [`StoreView`]: in-process access to a running stand-in's objects for test harnesses and the pod
//! runner: read objects, wait for changes, and compact history. Writes are meant to go through a
//! `kube::Client` (`ApiServerHandle::client`), so they get the same semantics — preconditions,
//! generation, finalizers, RBAC — as any other client's.

use super::store::{ObjectKey, Store};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::watch;

/// Read access and compaction over a running stand-in's store.
#[derive(Clone)]
pub struct StoreView {
    store: Arc<Store>,
}

impl std::fmt::Debug for StoreView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreView")
            .field("resource_version", &self.resource_version())
            .finish()
    }
}

impl StoreView {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Self { store }
    }

    /// The latest resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.store.lock().resource_version()
    }

    /// The oldest resourceVersion a watch can still resume from; older ones answer 410 Gone.
    pub fn oldest_resumable(&self) -> u64 {
        self.store.lock().oldest_resumable()
    }

    /// Compacts history up to and including `rv` (like etcd compaction); returns the new oldest
    /// resumable resourceVersion.
    pub fn compact_to(&self, rv: u64) -> u64 {
        self.store.lock().compact(rv)
    }

    /// Compacts all history: every resourceVersion before now becomes too old to resume from.
    pub fn compact(&self) -> u64 {
        let mut state = self.store.lock();
        let rv = state.resource_version();
        state.compact(rv)
    }

    /// One object by group ("" for core), plural, namespace ("" if cluster-scoped) and name.
    pub fn get(&self, group: &str, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let key = ObjectKey::new(&format!("{group}/{plural}"), namespace, name);
        self.store.lock().get(&key).map(|o| (*o).clone())
    }

    /// Objects of a resource in one namespace (or all when `None`).
    pub fn list(&self, group: &str, plural: &str, namespace: Option<&str>) -> Vec<Value> {
        self.store
            .lock()
            .list(&format!("{group}/{plural}"), namespace)
            .into_iter()
            .map(|o| (*o).clone())
            .collect()
    }

    /// A receiver whose value (the latest resourceVersion) changes after every write.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.store.subscribe()
    }
}
