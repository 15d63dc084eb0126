//! [`GarbageCollector`]: the controllers of a real control plane that the API semantics depend
//! on, run as one background pass over the store after every change (and every `gc_interval`):
//!
//! - owner references: a dependent none of whose owners exists any more (by uid) is deleted
//!   (background propagation); dangling references next to a live owner are removed; dependents of
//!   an owner in foreground deletion are deleted (foreground);
//! - `foregroundDeletion`: removed from an owner once no object references it any more (the real
//!   collector waits only for dependents with `blockOwnerDeletion`; this waits for all);
//! - `orphan`: the owner's references are removed from its dependents, then the finalizer;
//! - namespaces being deleted are emptied, then removed;
//! - CRDs being deleted lose their custom resources, then their clean-up finalizer.

use super::meta;
use super::resources::{ResourceType, keys};
use super::store::{ObjectKey, StoreState};
use super::writer::{
    CRD_CLEANUP, DeleteOptions, FOREGROUND, ORPHAN, Ownership, Target, WriteOptions, Writer,
};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Field manager of the collector's own writes.
const MANAGER: &str = "garbage-collector";

/// Runs the clean-up passes.
#[derive(Debug, Clone, Copy, Default)]
pub struct GarbageCollector;

struct Snapshot {
    objects: Vec<(ObjectKey, Arc<Value>)>,
    by_uid: HashMap<String, Arc<Value>>,
}

impl GarbageCollector {
    /// Runs passes until nothing changes (at most a few, so one call stays short). Returns the
    /// number of writes made.
    pub fn run(&self, state: &mut StoreState) -> usize {
        let mut total = 0;
        for _ in 0..8 {
            let n = self.pass(state);
            total += n;
            if n == 0 {
                break;
            }
        }
        total
    }

    fn snapshot(state: &StoreState) -> Snapshot {
        let objects: Vec<(ObjectKey, Arc<Value>)> =
            state.all().map(|(k, v)| (k.clone(), v.clone())).collect();
        let by_uid = objects
            .iter()
            .map(|(_, v)| (meta::uid(v).to_string(), v.clone()))
            .collect();
        Snapshot { objects, by_uid }
    }

    fn ty(state: &StoreState, key: &ObjectKey) -> Option<Arc<ResourceType>> {
        state.registry.find_by_storage_key(&key.resource)
    }

    fn pass(&self, state: &mut StoreState) -> usize {
        let snap = Self::snapshot(state);
        let mut writes = 0;
        let opts = WriteOptions {
            manager: MANAGER.into(),
            ..WriteOptions::default()
        };
        for (key, obj) in &snap.objects {
            let Some(ty) = Self::ty(state, key) else {
                continue;
            };
            let refs = meta::owner_references(obj);
            if !refs.is_empty() && !meta::is_deleting(obj) {
                let mut solid = 0;
                let mut dangling = Vec::new();
                let mut foreground = false;
                for r in &refs {
                    match snap.by_uid.get(&r.uid) {
                        None => dangling.push(r.uid.clone()),
                        Some(owner)
                            if meta::is_deleting(owner)
                                && meta::finalizers(owner).iter().any(|f| f == FOREGROUND) =>
                        {
                            foreground = true;
                        }
                        Some(_) => solid += 1,
                    }
                }
                if solid == 0 {
                    let propagation = if foreground {
                        "Foreground"
                    } else {
                        "Background"
                    };
                    let opts = DeleteOptions {
                        propagation: Some(propagation.into()),
                        ..DeleteOptions::default()
                    };
                    if Writer::new(state).delete(&ty, key, &opts).is_ok() {
                        writes += 1;
                    }
                    continue;
                }
                if !dangling.is_empty() {
                    let mut new = (**obj).clone();
                    retain_owner_refs(&mut new, |uid| !dangling.iter().any(|d| d == uid));
                    if Writer::new(state)
                        .update(&ty, key, new, Target::Main, &opts, Ownership::Update)
                        .is_ok()
                    {
                        writes += 1;
                    }
                    continue;
                }
            }
            if !meta::is_deleting(obj) {
                continue;
            }
            let finalizers = meta::finalizers(obj);
            let uid = meta::uid(obj).to_string();
            let dependents: Vec<&(ObjectKey, Arc<Value>)> = snap
                .objects
                .iter()
                .filter(|(_, d)| meta::owner_references(d).iter().any(|r| r.uid == uid))
                .collect();
            if finalizers.iter().any(|f| f == ORPHAN) {
                for (dkey, dep) in &dependents {
                    let Some(dty) = Self::ty(state, dkey) else {
                        continue;
                    };
                    let mut new = (**dep).clone();
                    retain_owner_refs(&mut new, |u| u != uid);
                    if Writer::new(state)
                        .update(&dty, dkey, new, Target::Main, &opts, Ownership::Update)
                        .is_ok()
                    {
                        writes += 1;
                    }
                }
                writes += self.remove_finalizer(state, &ty, key, ORPHAN);
                continue;
            }
            if finalizers.iter().any(|f| f == FOREGROUND) && dependents.is_empty() {
                writes += self.remove_finalizer(state, &ty, key, FOREGROUND);
                continue;
            }
            if key.resource == keys::NAMESPACES {
                writes += self.empty_namespace(state, &snap, &key.name);
                continue;
            }
            if key.resource == keys::CRDS && finalizers.iter().any(|f| f == CRD_CLEANUP) {
                let group = obj["spec"]["group"].as_str().unwrap_or("");
                let plural = obj["spec"]["names"]["plural"].as_str().unwrap_or("");
                let storage = format!("{group}/{plural}");
                let remaining: Vec<&(ObjectKey, Arc<Value>)> = snap
                    .objects
                    .iter()
                    .filter(|(k, _)| k.resource == storage)
                    .collect();
                if remaining.is_empty() {
                    writes += self.remove_finalizer(state, &ty, key, CRD_CLEANUP);
                } else if let Some(cr_ty) = state.registry.find_by_storage_key(&storage) {
                    for (ckey, cr) in remaining {
                        if !meta::is_deleting(cr)
                            && Writer::new(state)
                                .delete(&cr_ty, ckey, &DeleteOptions::default())
                                .is_ok()
                        {
                            writes += 1;
                        }
                    }
                }
            }
        }
        writes
    }

    fn remove_finalizer(
        &self,
        state: &mut StoreState,
        ty: &ResourceType,
        key: &ObjectKey,
        finalizer: &str,
    ) -> usize {
        let Some(obj) = state.get(key) else { return 0 };
        let mut new = (*obj).clone();
        let remaining: Vec<String> = meta::finalizers(&new)
            .into_iter()
            .filter(|f| f != finalizer)
            .collect();
        meta::set_finalizers(&mut new, &remaining);
        let opts = WriteOptions {
            manager: MANAGER.into(),
            ..WriteOptions::default()
        };
        usize::from(
            Writer::new(state)
                .update(ty, key, new, Target::Main, &opts, Ownership::Update)
                .is_ok(),
        )
    }

    fn empty_namespace(&self, state: &mut StoreState, snap: &Snapshot, namespace: &str) -> usize {
        let contents: Vec<&(ObjectKey, Arc<Value>)> = snap
            .objects
            .iter()
            .filter(|(k, _)| k.namespace == namespace && k.resource != keys::NAMESPACES)
            .collect();
        if contents.is_empty() {
            // Empty: the namespace controller's `kubernetes` finalizer goes, and with it the namespace
            // (unless metadata.finalizers still hold it).
            let key = ObjectKey::new(keys::NAMESPACES, "", namespace);
            let Some(ns) = state.get(&key) else { return 0 };
            if meta::finalizers(&ns).is_empty() {
                state.remove(&key);
            } else if ns["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty())
            {
                let mut new = (*ns).clone();
                new["spec"]["finalizers"] = json!([]);
                state.put(key, new);
            } else {
                return 0;
            }
            return 1;
        }
        let mut writes = 0;
        for (key, obj) in contents {
            if meta::is_deleting(obj) {
                continue;
            }
            if let Some(ty) = Self::ty(state, key)
                && Writer::new(state)
                    .delete(&ty, key, &DeleteOptions::default())
                    .is_ok()
            {
                writes += 1;
            }
        }
        writes
    }
}

fn retain_owner_refs(obj: &mut Value, keep: impl Fn(&str) -> bool) {
    let meta = meta::metadata_mut(obj);
    if let Some(refs) = meta
        .get_mut("ownerReferences")
        .and_then(Value::as_array_mut)
    {
        refs.retain(|r| keep(r["uid"].as_str().unwrap_or("")));
        if refs.is_empty() {
            meta.remove("ownerReferences");
        }
    }
}
