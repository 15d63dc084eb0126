//! [`WatchSpec`] and its event stream: newline-delimited JSON watch events (`ADDED`, `MODIFIED`,
//! `DELETED`, `BOOKMARK`, `ERROR`) read from the store's history, so a watch resumes exactly after
//! the resourceVersion it names, and answers an `ERROR` event with a `410 Expired` Status when that
//! version is compacted away. A watch that falls behind a compaction while running gets the same
//! error (as a real watch cache drops watchers it cannot serve).

use super::error::ApiError;
use super::meta;
use super::resources::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::store::{ChangeType, Store};
use super::table::TableView;
use axum::body::Bytes;
use futures::Stream;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What one watch request asked for.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// The resource (and served version) watched.
    pub ty: Arc<ResourceType>,
    /// One namespace, or all.
    pub namespace: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// Resume after this resourceVersion; `None` (no resourceVersion, or "0") first sends the
    /// current objects as ADDED events.
    pub start: Option<u64>,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// How often bookmarks are sent.
    pub bookmark_interval: Duration,
    /// When the server ends the watch (`timeoutSeconds`).
    pub timeout: Duration,
    /// Send only `PartialObjectMetadata` (`Accept: …;as=PartialObjectMetadata`).
    pub metadata_only: bool,
    /// Send each object as a one-row Table (`Accept: …;as=Table`), with this `includeObject`.
    pub table: Option<String>,
}

impl WatchSpec {
    fn selects(&self, obj: &Value) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|ns| meta::namespace(obj) == ns)
            && self.labels.matches(&meta::labels(obj))
            && self.fields.matches(obj)
    }

    fn event(&self, kind: &str, obj: &Value) -> Bytes {
        let mut obj = obj.clone();
        // Custom resources are stored once and served under every version (conversion "None").
        obj["apiVersion"] = json!(self.ty.api_version());
        if let Some(include) = &self.table {
            let rv = meta::meta_str(&obj, "resourceVersion")
                .unwrap_or("")
                .to_string();
            let table = TableView::new(&self.ty).render(&[Arc::new(obj)], &rv, include);
            return line(&json!({"type": kind, "object": table}));
        }
        if self.metadata_only {
            return line(&json!({"type": kind, "object": meta::partial(&obj)}));
        }
        line(&json!({"type": kind, "object": obj}))
    }

    /// The event stream; ends at the timeout, when the client goes away, or at server shutdown.
    pub fn stream(
        self,
        store: Arc<Store>,
        shutdown: watch::Receiver<bool>,
    ) -> impl Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        let latest = store.subscribe();
        let now = Instant::now();
        let mut state = WatchState {
            deadline: now + self.timeout,
            next_bookmark: now + self.bookmark_interval,
            spec: self,
            store,
            latest,
            shutdown,
            position: 0,
            pending: VecDeque::new(),
            done: false,
        };
        state.start();
        futures::stream::unfold(state, |mut state| async move {
            state.next().await.map(|bytes| (Ok(bytes), state))
        })
    }
}

fn line(v: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

struct WatchState {
    spec: WatchSpec,
    store: Arc<Store>,
    latest: watch::Receiver<u64>,
    shutdown: watch::Receiver<bool>,
    position: u64,
    pending: VecDeque<Bytes>,
    deadline: Instant,
    next_bookmark: Instant,
    done: bool,
}

impl WatchState {
    fn start(&mut self) {
        self.latest.borrow_and_update();
        let state = self.store.lock();
        match self.spec.start {
            Some(rv) => self.position = rv,
            None => {
                self.position = state.resource_version();
                let resource = self.spec.ty.storage_key();
                for obj in state.list(&resource, self.spec.namespace.as_deref()) {
                    if self.spec.selects(&obj) {
                        self.pending.push_back(self.spec.event("ADDED", &obj));
                    }
                }
            }
        }
    }

    fn poll_store(&mut self) {
        let state = self.store.lock();
        let changes = match state.changes_since(self.position) {
            Ok(changes) => changes,
            Err(too_old) => {
                let error = ApiError::expired(format!(
                    "too old resource version: {} ({})",
                    too_old.requested, too_old.oldest
                ));
                self.pending
                    .push_back(line(&json!({"type": "ERROR", "object": error.status()})));
                self.done = true;
                return;
            }
        };
        let resource = self.spec.ty.storage_key();
        for change in changes {
            if change.key.resource != resource {
                continue;
            }
            let now = self.spec.selects(&change.object);
            let before = change
                .previous
                .as_ref()
                .is_some_and(|p| self.spec.selects(p));
            // With selectors, an update that moves an object into or out of the selection is
            // seen as ADDED or DELETED, as from the real watch cache.
            let kind = match change.kind {
                ChangeType::Added if now => "ADDED",
                ChangeType::Deleted if before || now => "DELETED",
                ChangeType::Modified if now && before => "MODIFIED",
                ChangeType::Modified if now => "ADDED",
                ChangeType::Modified if before => "DELETED",
                _ => continue,
            };
            self.pending
                .push_back(self.spec.event(kind, &change.object));
        }
        self.position = state.resource_version().max(self.position);
    }

    fn bookmark(&self) -> Bytes {
        line(&json!({
            "type": "BOOKMARK",
            "object": {
                "kind": self.spec.ty.kind,
                "apiVersion": self.spec.ty.api_version(),
                "metadata": {"resourceVersion": self.position.to_string()},
            }
        }))
    }

    async fn next(&mut self) -> Option<Bytes> {
        loop {
            if let Some(bytes) = self.pending.pop_front() {
                return Some(bytes);
            }
            if self.done || *self.shutdown.borrow() {
                return None;
            }
            self.latest.borrow_and_update();
            self.poll_store();
            if !self.pending.is_empty() {
                continue;
            }
            let bookmarks = self.spec.bookmarks;
            tokio::select! {
                changed = self.latest.changed() => {
                    if changed.is_err() {
                        self.done = true;
                    }
                }
                _ = tokio::time::sleep_until(self.next_bookmark), if bookmarks => {
                    self.pending.push_back(self.bookmark());
                    self.next_bookmark = Instant::now() + self.spec.bookmark_interval;
                }
                _ = tokio::time::sleep_until(self.deadline) => self.done = true,
                _ = self.shutdown.changed() => self.done = true,
            }
        }
    }
}
