//! [`Store`]: the objects, one global resourceVersion counter (like etcd's revision), and the history
//! of changes that watches resume from. History is bounded (`history_limit`) and can be compacted on
//! demand; a resourceVersion older than the retained history is "too old" (`410 Gone`).
//!
//! Every request runs its read-modify-write under one lock ([`Store::lock`]), which is what makes
//! resourceVersion preconditions and no-op detection exact.

use super::resources::{Registry, keys};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::watch;

/// Identity of a stored object.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// Storage key of the resource (`group/plural`, "/pods" for core).
    pub resource: String,
    /// Namespace, "" for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectKey {
    /// A key.
    pub fn new(resource: &str, namespace: &str, name: &str) -> Self {
        Self {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    /// Created.
    Added,
    /// Updated.
    Modified,
    /// Removed from storage.
    Deleted,
}

impl ChangeType {
    /// The watch event type.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One entry of the history.
#[derive(Debug, Clone)]
pub struct Change {
    /// resourceVersion the change created.
    pub rv: u64,
    /// Which object.
    pub key: ObjectKey,
    /// What happened.
    pub kind: ChangeType,
    /// The object after the change (for deletions: its last state, carrying the deletion's rv).
    pub object: Arc<Value>,
    /// The object before the change (None for creations): lets watches with selectors turn
    /// updates into ADDED/DELETED and lets lists be served at an older resourceVersion.
    pub previous: Option<Arc<Value>>,
}

/// The resourceVersion asked for is older than the retained history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooOld {
    /// What was asked for.
    pub requested: u64,
    /// Oldest resourceVersion still resumable.
    pub oldest: u64,
}

/// The state behind the lock.
#[derive(Debug)]
pub struct StoreState {
    objects: BTreeMap<ObjectKey, Arc<Value>>,
    rv: u64,
    history: VecDeque<Arc<Change>>,
    /// Every change with rv > `oldest` is in `history`.
    oldest: u64,
    history_limit: usize,
    /// Served resources; custom ones follow the stored CRDs.
    pub registry: Registry,
}

impl StoreState {
    /// The current (latest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    /// The oldest resourceVersion a watch can resume from.
    pub fn oldest_resumable(&self) -> u64 {
        self.oldest
    }

    /// One object.
    pub fn get(&self, key: &ObjectKey) -> Option<Arc<Value>> {
        self.objects.get(key).cloned()
    }

    /// Objects of a resource, in one namespace or all, in key order.
    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Arc<Value>> {
        let start = ObjectKey::new(resource, namespace.unwrap_or(""), "");
        self.objects
            .range(start..)
            .take_while(|(k, _)| {
                k.resource == resource && namespace.is_none_or(|ns| k.namespace == ns)
            })
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every stored object with its key.
    pub fn all(&self) -> impl Iterator<Item = (&ObjectKey, &Arc<Value>)> {
        self.objects.iter()
    }

    /// Stores an object (creating or replacing it) under a new resourceVersion, records the change
    /// and returns the stored form.
    pub fn put(&mut self, key: ObjectKey, mut object: Value) -> Arc<Value> {
        self.rv += 1;
        super::meta::metadata_mut(&mut object)
            .insert("resourceVersion".into(), json!(self.rv.to_string()));
        let object = Arc::new(object);
        let previous = self.objects.insert(key.clone(), object.clone());
        let kind = if previous.is_some() {
            ChangeType::Modified
        } else {
            ChangeType::Added
        };
        self.record(key, kind, object.clone(), previous);
        object
    }

    /// Removes an object under a new resourceVersion; the DELETED event carries that version.
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Arc<Value>> {
        let previous = self.objects.remove(key)?;
        self.rv += 1;
        let mut last = (*previous).clone();
        super::meta::metadata_mut(&mut last)
            .insert("resourceVersion".into(), json!(self.rv.to_string()));
        let last = Arc::new(last);
        self.record(
            key.clone(),
            ChangeType::Deleted,
            last.clone(),
            Some(previous),
        );
        Some(last)
    }

    fn record(
        &mut self,
        key: ObjectKey,
        kind: ChangeType,
        object: Arc<Value>,
        previous: Option<Arc<Value>>,
    ) {
        let is_crd = key.resource == keys::CRDS;
        self.history.push_back(Arc::new(Change {
            rv: self.rv,
            key,
            kind,
            object,
            previous,
        }));
        while self.history.len() > self.history_limit {
            if let Some(dropped) = self.history.pop_front() {
                self.oldest = dropped.rv;
            }
        }
        if is_crd {
            let crds: Vec<Arc<Value>> = self.list(keys::CRDS, Some(""));
            self.registry.sync_crds(crds.iter().map(|c| c.as_ref()));
        }
    }

    /// Changes after `rv`, or `TooOld` if some of them were compacted away.
    pub fn changes_since(&self, rv: u64) -> Result<Vec<Arc<Change>>, TooOld> {
        if rv < self.oldest {
            return Err(TooOld {
                requested: rv,
                oldest: self.oldest,
            });
        }
        let start = self.history.partition_point(|c| c.rv <= rv);
        Ok(self.history.range(start..).cloned().collect())
    }

    /// The objects of a resource as they were at `rv` (for `resourceVersionMatch=Exact` and continue
    /// tokens), rebuilt by undoing later changes.
    pub fn list_at(
        &self,
        resource: &str,
        namespace: Option<&str>,
        rv: u64,
    ) -> Result<Vec<Arc<Value>>, TooOld> {
        let later = self.changes_since(rv)?;
        let mut objects: BTreeMap<ObjectKey, Arc<Value>> = self
            .objects
            .iter()
            .filter(|(k, _)| k.resource == resource)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for change in later.iter().rev() {
            if change.key.resource != resource {
                continue;
            }
            match &change.previous {
                Some(prev) => {
                    objects.insert(change.key.clone(), prev.clone());
                }
                None => {
                    objects.remove(&change.key);
                }
            }
        }
        Ok(objects
            .into_iter()
            .filter(|(k, _)| namespace.is_none_or(|ns| k.namespace == ns))
            .map(|(_, v)| v)
            .collect())
    }

    /// Forgets history up to and including `rv` (clamped to the current resourceVersion).
    pub fn compact(&mut self, rv: u64) -> u64 {
        let rv = rv.min(self.rv);
        while self.history.front().is_some_and(|c| c.rv <= rv) {
            self.history.pop_front();
        }
        self.oldest = self.oldest.max(rv);
        self.oldest
    }
}

/// The shared store: state behind a mutex, plus a channel announcing the latest resourceVersion
/// so watches wake up.
#[derive(Debug)]
pub struct Store {
    state: Mutex<StoreState>,
    latest: watch::Sender<u64>,
}

/// Exclusive access to the state; announces new resourceVersions when dropped.
pub struct StoreGuard<'a> {
    guard: MutexGuard<'a, StoreState>,
    latest: &'a watch::Sender<u64>,
}

impl Deref for StoreGuard<'_> {
    type Target = StoreState;
    fn deref(&self) -> &StoreState {
        &self.guard
    }
}

impl DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut StoreState {
        &mut self.guard
    }
}

impl Drop for StoreGuard<'_> {
    fn drop(&mut self) {
        let rv = self.guard.rv;
        self.latest.send_if_modified(|current| {
            let changed = *current != rv;
            *current = rv;
            changed
        });
    }
}

impl Store {
    /// An empty store keeping at most `history_limit` changes.
    pub fn new(history_limit: usize) -> Self {
        Self {
            state: Mutex::new(StoreState {
                objects: BTreeMap::new(),
                rv: 0,
                history: VecDeque::new(),
                oldest: 0,
                history_limit: history_limit.max(1),
                registry: Registry::new(),
            }),
            latest: watch::channel(0).0,
        }
    }

    /// Locks the state. Keep the guard for the whole read-modify-write of one request.
    pub fn lock(&self) -> StoreGuard<'_> {
        // A panic while holding the lock leaves consistent data (every mutation is one insert or
        // remove), so a poisoned lock is still usable.
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        StoreGuard {
            guard,
            latest: &self.latest,
        }
    }

    /// A receiver that changes whenever the resourceVersion moves.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.latest.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_resume_list_at_and_compaction() {
        let store = Store::new(100);
        let key = ObjectKey::new("/configmaps", "ns", "a");
        let mut s = store.lock();
        let first = s.put(
            key.clone(),
            json!({"metadata": {"name": "a"}, "data": {"v": "1"}}),
        );
        assert_eq!(first["metadata"]["resourceVersion"], json!("1"));
        s.put(
            key.clone(),
            json!({"metadata": {"name": "a"}, "data": {"v": "2"}}),
        );
        s.remove(&key);
        assert_eq!(s.resource_version(), 3);
        let kinds: Vec<ChangeType> = s.changes_since(1).unwrap().iter().map(|c| c.kind).collect();
        assert_eq!(kinds, vec![ChangeType::Modified, ChangeType::Deleted]);
        let at1 = s.list_at("/configmaps", Some("ns"), 1).unwrap();
        assert_eq!(at1[0]["data"]["v"], json!("1"));
        assert!(s.list_at("/configmaps", None, 3).unwrap().is_empty());
        s.compact(2);
        assert_eq!(
            s.changes_since(1).unwrap_err(),
            TooOld {
                requested: 1,
                oldest: 2
            }
        );
        assert_eq!(s.changes_since(2).unwrap().len(), 1);
    }

    #[test]
    fn history_limit_compacts_oldest() {
        let store = Store::new(2);
        let mut s = store.lock();
        for i in 0..5 {
            s.put(
                ObjectKey::new("/configmaps", "ns", &format!("c{i}")),
                json!({}),
            );
        }
        assert_eq!(s.oldest_resumable(), 3);
        assert!(s.changes_since(2).is_err());
        assert_eq!(s.changes_since(3).unwrap().len(), 2);
    }
}
