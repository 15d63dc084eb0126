//! [`ManagedFields`]: simplified field ownership for server-side apply and `metadata.managedFields`.
//!
//! What is simplified compared with the real server:
//! - Ownership is tracked per leaf path; every list is atomic (owned and replaced as a whole), so
//!   associative lists (containers by name, finalizers as a set, …) do not merge per element.
//! - Conflicts are detected when an applied leaf's value differs from the stored value and another
//!   manager (Apply or Update) owns that path or a path above/below it; `force=true` takes the
//!   ownership. A manager never conflicts with itself.
//! - Fields a manager stops applying are removed when no other manager owns them, and so is an object
//!   left empty by that (as kube-apiserver removes a struct field whose fields were all dropped).
//! - `fieldsV1` uses the real `f:<name>` encoding, with lists recorded as leaves.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Which part of an object a write may touch, which decides which paths are tracked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource; `status` excluded when the resource has a status subresource.
    Main {
        /// Whether `status` is left out.
        exclude_status: bool,
    },
    /// The `status` subresource: only `status`.
    Status,
}

impl Scope {
    /// The `subresource` value of managedFields entries ("" for the main resource).
    pub fn subresource(self) -> &'static str {
        match self {
            Scope::Main { .. } => "",
            Scope::Status => "status",
        }
    }

    fn tracks(self, top: &str) -> bool {
        match self {
            Scope::Main { exclude_status } => {
                !(matches!(top, "apiVersion" | "kind") || (exclude_status && top == "status"))
            }
            Scope::Status => top == "status",
        }
    }
}

/// metadata fields the server owns; never tracked, never taken from an apply configuration.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

type Path = Vec<String>;

/// Leaf paths of the tracked part of an object.
pub fn leaves(obj: &Value, scope: Scope) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    if let Some(map) = obj.as_object() {
        for (key, value) in map {
            if !scope.tracks(key) {
                continue;
            }
            if key == "metadata" {
                if let Some(meta) = value.as_object() {
                    for (mk, mv) in meta {
                        if !SERVER_METADATA.contains(&mk.as_str()) {
                            collect(mv, vec![key.clone(), mk.clone()], &mut out);
                        }
                    }
                }
                continue;
            }
            collect(value, vec![key.clone()], &mut out);
        }
    }
    out
}

fn collect(value: &Value, path: Path, out: &mut BTreeSet<Path>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let mut p = path.clone();
                p.push(k.clone());
                collect(v, p, out);
            }
        }
        _ => {
            out.insert(path);
        }
    }
}

fn get<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, k| v.get(k))
}

fn remove(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = obj;
    for k in parents {
        match current.get_mut(k) {
            Some(v) => current = v,
            None => return,
        }
    }
    if let Some(map) = current.as_object_mut() {
        map.remove(last);
    }
}

fn overlaps(a: &[String], b: &[String]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// Encodes a set of paths as `fieldsV1`.
pub fn to_fields_v1(paths: &BTreeSet<Path>) -> Value {
    let mut root = Map::new();
    for path in paths {
        let mut current = &mut root;
        for k in path {
            current = current
                .entry(format!("f:{k}"))
                .or_insert_with(|| json!({}))
                .as_object_mut()
                .expect("inserted an object");
        }
    }
    Value::Object(root)
}

/// Decodes `fieldsV1` (only the `f:` form this server writes; other keys are kept as opaque leaves).
pub fn from_fields_v1(fields: &Value) -> BTreeSet<Path> {
    fn walk(v: &Value, path: Path, out: &mut BTreeSet<Path>) {
        match v.as_object() {
            Some(map) if !map.is_empty() => {
                for (k, child) in map {
                    if k == "." {
                        out.insert(path.clone());
                        continue;
                    }
                    let mut p = path.clone();
                    p.push(k.strip_prefix("f:").unwrap_or(k).to_string());
                    walk(child, p, out);
                }
            }
            _ => {
                if !path.is_empty() {
                    out.insert(path);
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(fields, Vec::new(), &mut out);
    out
}

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: String,
    fields: BTreeSet<Path>,
}

/// The `metadata.managedFields` of one object.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ManagedFields {
    entries: Vec<Entry>,
}

/// Conflicts of a server-side apply: (path, managers that own it).
pub type Conflicts = Vec<(String, Vec<String>)>;

impl ManagedFields {
    /// Reads the entries of an object.
    pub fn of(obj: &Value) -> Self {
        let entries = super::meta::metadata(obj)
            .get("managedFields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| Entry {
                manager: e["manager"].as_str().unwrap_or("").into(),
                operation: e["operation"].as_str().unwrap_or("Update").into(),
                api_version: e["apiVersion"].as_str().unwrap_or("").into(),
                time: e["time"].as_str().unwrap_or("").into(),
                subresource: e["subresource"].as_str().unwrap_or("").into(),
                fields: from_fields_v1(&e["fieldsV1"]),
            })
            .collect();
        Self { entries }
    }

    /// Writes the entries into an object (removing the field when there are none).
    pub fn write(&self, obj: &mut Value) {
        let meta = super::meta::metadata_mut(obj);
        let entries: Vec<Value> = self
            .entries
            .iter()
            .filter(|e| !e.fields.is_empty())
            .map(|e| {
                let mut v = json!({
                    "manager": e.manager,
                    "operation": e.operation,
                    "apiVersion": e.api_version,
                    "time": e.time,
                    "fieldsType": "FieldsV1",
                    "fieldsV1": to_fields_v1(&e.fields),
                });
                if !e.subresource.is_empty() {
                    v["subresource"] = json!(e.subresource);
                }
                v
            })
            .collect();
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }

    fn entry_index(&mut self, manager: &str, operation: &str, subresource: &str) -> usize {
        if let Some(i) = self.entries.iter().position(|e| {
            e.manager == manager && e.operation == operation && e.subresource == subresource
        }) {
            return i;
        }
        self.entries.push(Entry {
            manager: manager.into(),
            operation: operation.into(),
            api_version: String::new(),
            time: String::new(),
            subresource: subresource.into(),
            fields: BTreeSet::new(),
        });
        self.entries.len() - 1
    }

    fn set_fields(
        &mut self,
        manager: &str,
        operation: &str,
        scope: Scope,
        api_version: &str,
        fields: BTreeSet<Path>,
    ) {
        let i = self.entry_index(manager, operation, scope.subresource());
        let entry = &mut self.entries[i];
        if entry.fields != fields || entry.api_version != api_version {
            entry.fields = fields;
            entry.api_version = api_version.into();
            entry.time = super::meta::now();
        }
        self.entries.retain(|e| !e.fields.is_empty());
    }

    fn owned_by_others(&self, manager: &str, path: &[String]) -> Vec<String> {
        let mut owners: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.manager != manager && e.fields.iter().any(|p| overlaps(p, path)))
            .map(|e| e.manager.clone())
            .collect();
        owners.dedup();
        owners
    }

    fn take_from_others(&mut self, manager: &str, path: &[String]) {
        for e in &mut self.entries {
            if e.manager != manager {
                e.fields.retain(|p| !overlaps(p, path));
            }
        }
    }

    /// Records an Update-style write (create, replace, non-apply patch) by `manager`: it takes
    /// ownership of every tracked leaf that changed, and removed leaves lose their owners.
    pub fn record_update(
        old: Option<&Value>,
        new: &mut Value,
        manager: &str,
        scope: Scope,
        api_version: &str,
    ) {
        let mut managed = old.map(Self::of).unwrap_or_default();
        let new_leaves = leaves(new, scope);
        let old_leaves = old.map(|o| leaves(o, scope)).unwrap_or_default();
        let changed: Vec<Path> = new_leaves
            .iter()
            .filter(|p| old.and_then(|o| get(o, p)) != get(new, p))
            .cloned()
            .collect();
        for gone in old_leaves.difference(&new_leaves) {
            for e in &mut managed.entries {
                e.fields.remove(gone);
            }
        }
        if !changed.is_empty() {
            for p in &changed {
                managed.take_from_others(manager, p);
            }
            let i = managed.entry_index(manager, "Update", scope.subresource());
            let mut fields = managed.entries[i].fields.clone();
            fields.extend(changed);
            managed.set_fields(manager, "Update", scope, api_version, fields);
        }
        managed.entries.retain(|e| !e.fields.is_empty());
        managed.write(new);
    }
}

/// Server-side apply of `config` by `manager` onto `current` (an empty skeleton when the object
/// does not exist yet). Returns the merged object with updated managedFields, or the conflicts.
pub fn server_side_apply(
    current: &Value,
    config: &Value,
    manager: &str,
    force: bool,
    scope: Scope,
) -> Result<Value, Conflicts> {
    let mut managed = ManagedFields::of(current);
    let applied = leaves(config, scope);
    let mut conflicts = Conflicts::new();
    for path in &applied {
        let stored = get(current, path);
        // An empty map in the configuration merges into a stored map; it replaces nothing.
        let differs = match (stored, get(config, path)) {
            (Some(Value::Object(_)), Some(Value::Object(_))) => false,
            (s, c) => s != c,
        };
        if stored.is_some() && differs {
            let owners = managed.owned_by_others(manager, path);
            if !owners.is_empty() {
                conflicts.push((format!(".{}", path.join(".")), owners));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts);
    }
    for (path, _) in &conflicts {
        let p: Path = path
            .trim_start_matches('.')
            .split('.')
            .map(str::to_string)
            .collect();
        managed.take_from_others(manager, &p);
    }
    let mut object = current.clone();
    let previously: BTreeSet<Path> = managed
        .entries
        .iter()
        .find(|e| {
            e.manager == manager && e.operation == "Apply" && e.subresource == scope.subresource()
        })
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    for dropped in previously.difference(&applied) {
        if managed.owned_by_others(manager, dropped).is_empty() {
            remove(&mut object, dropped);
            // As kube-apiserver does (structured-merge-diff makes a struct's named fields members of
            // what is removed), an object whose every field was dropped goes too, rather than stay
            // behind as `{}` (which a client's types may not accept): unless the configuration still
            // names it or another manager owns something in it.
            for depth in (2..dropped.len()).rev() {
                let parent = &dropped[..depth];
                let emptied = get(&object, parent)
                    .and_then(Value::as_object)
                    .is_some_and(Map::is_empty);
                if !emptied
                    || get(config, parent).is_some()
                    || !managed.owned_by_others(manager, parent).is_empty()
                {
                    break;
                }
                remove(&mut object, parent);
            }
        }
    }
    if let (Some(target), Some(source)) = (object.as_object_mut(), config.as_object()) {
        for (key, value) in source {
            if !scope.tracks(key) {
                continue;
            }
            if key == "metadata" {
                let meta = target.entry("metadata").or_insert_with(|| json!({}));
                if let (Some(meta), Some(src)) = (meta.as_object_mut(), value.as_object()) {
                    for (mk, mv) in src {
                        if !SERVER_METADATA.contains(&mk.as_str()) {
                            merge_into(meta.entry(mk.clone()).or_insert(Value::Null), mv);
                        }
                    }
                }
                continue;
            }
            merge_into(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
    let api_version = config["apiVersion"].as_str().unwrap_or("").to_string();
    managed.set_fields(manager, "Apply", scope, &api_version, applied);
    managed.write(&mut object);
    Ok(object)
}

/// Maps merge key by key; anything else (lists included) is replaced.
fn merge_into(target: &mut Value, source: &Value) {
    match (target.as_object_mut(), source.as_object()) {
        (Some(t), Some(s)) => {
            for (k, v) in s {
                merge_into(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        _ => *target = source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIN: Scope = Scope::Main {
        exclude_status: true,
    };

    #[test]
    fn fields_v1_round_trip() {
        let obj = json!({"metadata": {"name": "x", "labels": {"a": "1"}}, "spec": {"r": 1, "l": [1]}, "status": {"s": 1}});
        let paths = leaves(&obj, MAIN);
        let encoded = to_fields_v1(&paths);
        assert_eq!(
            encoded,
            json!({"f:metadata": {"f:labels": {"f:a": {}}}, "f:spec": {"f:r": {}, "f:l": {}}})
        );
        assert_eq!(from_fields_v1(&encoded), paths);
    }

    #[test]
    fn apply_merges_removes_dropped_fields_and_detects_conflicts() {
        let empty = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
        let a1 = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"x": "1", "y": "1"}});
        let obj = server_side_apply(&empty, &a1, "a", false, MAIN).unwrap();
        assert_eq!(obj["data"], json!({"x": "1", "y": "1"}));
        // Manager b sets z and conflicts on x unless forced.
        let b = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "2", "z": "1"}});
        let conflicts = server_side_apply(&obj, &b, "b", false, MAIN).unwrap_err();
        assert_eq!(
            conflicts,
            vec![(".data.x".to_string(), vec!["a".to_string()])]
        );
        let obj = server_side_apply(&obj, &b, "b", true, MAIN).unwrap();
        assert_eq!(obj["data"], json!({"x": "2", "y": "1", "z": "1"}));
        // a drops y (removed: nobody else owns it) and x (kept: b owns it now).
        let a2 = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {}});
        let obj = server_side_apply(&obj, &a2, "a", false, MAIN).unwrap();
        assert_eq!(obj["data"], json!({"x": "2", "z": "1"}));
    }

    #[test]
    fn an_object_whose_fields_were_all_dropped_goes_with_them() {
        let status = Scope::Status;
        let first = json!({"apiVersion": "v1", "status": {"phase": "Running",
            "spread": {"replicas": "1-2", "leaders": "0-1"}, "members": {"a": {"b": 1}}}});
        let obj = server_side_apply(&json!({}), &first, "op", false, status).unwrap();
        let second = json!({"apiVersion": "v1", "status": {"phase": "Running", "members": {}}});
        let obj = server_side_apply(&obj, &second, "op", false, status).unwrap();
        assert_eq!(
            obj["status"],
            json!({"phase": "Running", "members": {}}),
            "spread removed whole; members kept (still applied, as {{}})"
        );
    }

    #[test]
    fn update_takes_ownership_of_changed_fields() {
        let old = json!({"spec": {"replicas": 3}});
        let old = server_side_apply(&json!({}), &old, "op", false, MAIN).unwrap();
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(5);
        ManagedFields::record_update(Some(&old), &mut new, "kubectl", MAIN, "v1");
        let conflicts =
            server_side_apply(&new, &json!({"spec": {"replicas": 3}}), "op", false, MAIN)
                .unwrap_err();
        assert_eq!(conflicts[0].1, vec!["kubectl".to_string()]);
    }
}
