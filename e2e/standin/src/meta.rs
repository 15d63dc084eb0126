//! Reading and writing `metadata` of objects held as JSON, plus the few generators the server needs
//! (uids, timestamps, random suffixes). Objects stay `serde_json::Value` throughout so that custom
//! resources and built-ins go through one code path.

use k8s_openapi::jiff::Timestamp;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// The current time as Kubernetes writes it (RFC 3339, whole seconds, UTC).
pub fn now() -> String {
    format_time(Timestamp::now())
}

/// A timestamp as Kubernetes writes it.
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses an RFC 3339 timestamp.
pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// A random 64-bit number. std's `RandomState` is randomly keyed per process; the counter makes
/// successive values differ, so no extra crate is needed for uids and tokens.
pub fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A version-4-shaped UUID.
pub fn new_uid() -> String {
    let a = random_u64();
    let b = random_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        (a >> 32) as u32,
        (a >> 16) as u16,
        a & 0xfff,
        ((b >> 48) as u16 & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// Five characters in the alphabet `generateName` uses.
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = random_u64();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// `metadata` of an object (an empty map when absent).
pub fn metadata(obj: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    obj.get("metadata")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// `metadata`, created when absent.
pub fn metadata_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let map = obj.as_object_mut().expect("made an object above");
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = json!({});
    }
    meta.as_object_mut().expect("made an object above")
}

/// A string field of `metadata`.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    metadata(obj).get(field).and_then(Value::as_str)
}

/// `metadata.name`, or "".
pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

/// `metadata.namespace`, or "".
pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

/// `metadata.uid`, or "".
pub fn uid(obj: &Value) -> &str {
    meta_str(obj, "uid").unwrap_or("")
}

/// `metadata.labels` as a map of strings.
pub fn labels(obj: &Value) -> BTreeMap<String, String> {
    metadata(obj)
        .get("labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `metadata.finalizers`.
pub fn finalizers(obj: &Value) -> Vec<String> {
    metadata(obj)
        .get("finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces `metadata.finalizers`; an empty list removes the field, as the real server stores it.
pub fn set_finalizers(obj: &mut Value, finalizers: &[String]) {
    let meta = metadata_mut(obj);
    if finalizers.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), json!(finalizers));
    }
}

/// Whether `metadata.deletionTimestamp` is set.
pub fn is_deleting(obj: &Value) -> bool {
    metadata(obj)
        .get("deletionTimestamp")
        .is_some_and(|v| !v.is_null())
}

/// `metadata.generation`, or 0.
pub fn generation(obj: &Value) -> i64 {
    metadata(obj)
        .get("generation")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// `metadata.ownerReferences` as (uid, kind, name, blockOwnerDeletion).
pub fn owner_references(obj: &Value) -> Vec<OwnerRef> {
    metadata(obj)
        .get("ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .map(|r| OwnerRef {
                    uid: r.get("uid").and_then(Value::as_str).unwrap_or("").into(),
                    kind: r.get("kind").and_then(Value::as_str).unwrap_or("").into(),
                    name: r.get("name").and_then(Value::as_str).unwrap_or("").into(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// One owner reference, the parts garbage collection needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRef {
    /// Owner's uid: the identity garbage collection checks.
    pub uid: String,
    /// Owner's kind, for messages.
    pub kind: String,
    /// Owner's name, for messages.
    pub name: String,
}

/// The value at a dotted path such as `.spec.replicas` or `.status.conditions[0].type`.
pub fn json_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut current = obj;
    for segment in path_segments(path) {
        current = match segment {
            Segment::Key(key) => current.get(key)?,
            Segment::Index(i) => current.get(i)?,
            Segment::Filter(key, value) => current
                .as_array()?
                .iter()
                .find(|element| element.get(key).and_then(Value::as_str) == Some(value))?,
        };
    }
    Some(current)
}

/// Sets the value at a dotted path, creating intermediate objects (not list elements).
pub fn set_json_path(obj: &mut Value, path: &str, value: Value) -> bool {
    let segments = path_segments(path);
    let Some((last, parents)) = segments.split_last() else {
        *obj = value;
        return true;
    };
    let mut current = obj;
    for segment in parents {
        current = match segment {
            Segment::Key(key) => {
                if !current.is_object() {
                    *current = json!({});
                }
                current
                    .as_object_mut()
                    .expect("made an object above")
                    .entry(key.to_string())
                    .or_insert_with(|| json!({}))
            }
            Segment::Index(i) => match current.get_mut(*i) {
                Some(v) => v,
                None => return false,
            },
            // Only the paths of scale subresources are written; none has a filter.
            Segment::Filter(..) => return false,
        };
    }
    match last {
        Segment::Key(key) => {
            if !current.is_object() {
                *current = json!({});
            }
            current
                .as_object_mut()
                .expect("made an object above")
                .insert(key.to_string(), value);
            true
        }
        Segment::Index(i) => match current.get_mut(*i) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        },
        Segment::Filter(..) => false,
    }
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
    /// `[?(@.key=="value")]`: the first list element whose `key` is the string `value`.
    Filter(&'a str, &'a str),
}

/// Splits a path at the dots outside brackets (a filter's `@.type` stays whole).
fn split_outside_brackets(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (at, character) in path.char_indices() {
        match character {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                parts.push(&path[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&path[start..]);
    parts
}

/// `?(@.key=="value")` (or with single quotes) as key and value.
fn filter(expression: &str) -> Option<(&str, &str)> {
    let inner = expression.strip_prefix("?(@.")?.strip_suffix(')')?;
    let (key, value) = inner.split_once("==")?;
    let value = value.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|value| value.strip_suffix('"'))
        .or_else(|| {
            value
                .strip_prefix('\'')
                .and_then(|value| value.strip_suffix('\''))
        })?;
    Some((key.trim(), value))
}

fn path_segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in split_outside_brackets(path.trim_start_matches('.')) {
        if part.is_empty() {
            continue;
        }
        // `conditions[0]` is a key followed by indices or filters.
        let mut rest = part;
        if let Some(open) = rest.find('[') {
            if open > 0 {
                out.push(Segment::Key(&rest[..open]));
            }
            rest = &rest[open..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let close = if stripped.starts_with("?(") {
                    stripped.find(")]").map(|at| at + 1)
                } else {
                    stripped.find(']')
                };
                let Some(close) = close else {
                    break;
                };
                let inside = &stripped[..close];
                if let Ok(i) = inside.parse() {
                    out.push(Segment::Index(i));
                } else if let Some((key, value)) = filter(inside) {
                    out.push(Segment::Filter(key, value));
                }
                rest = &stripped[close + 1..];
            }
        } else {
            out.push(Segment::Key(rest));
        }
    }
    out
}

/// Whether an Accept header asks for metadata only (`as=PartialObjectMetadata[List]`), as
/// metadata watchers do.
pub fn wants_partial(accept: &str) -> bool {
    accept.contains("as=PartialObjectMetadata")
}

/// The `meta.k8s.io/v1 PartialObjectMetadata` of an object.
pub fn partial(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// How long ago a timestamp was, the way kubectl prints ages (`5s`, `3m`, `2h`, `4d`).
pub fn human_age(timestamp: &str) -> String {
    let Some(t) = parse_time(timestamp) else {
        return "<unknown>".into();
    };
    let secs = (Timestamp::now().as_second() - t.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 2 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_and_write() {
        let mut v = json!({"status": {"conditions": [{"type": "Ready"}]}});
        assert_eq!(
            json_path(&v, ".status.conditions[0].type"),
            Some(&json!("Ready"))
        );
        assert!(set_json_path(&mut v, ".spec.replicas", json!(5)));
        let conditions = json!({"status": {"conditions": [
            {"type": "Progressing", "status": "False"},
            {"type": "Available", "status": "True"}
        ]}});
        assert_eq!(
            json_path(
                &conditions,
                r#".status.conditions[?(@.type=="Available")].status"#
            ),
            Some(&json!("True"))
        );
        assert_eq!(
            json_path(
                &conditions,
                ".status.conditions[?(@.type=='Progressing')].status"
            ),
            Some(&json!("False"))
        );
        assert_eq!(
            json_path(
                &conditions,
                r#".status.conditions[?(@.type=="Ready")].status"#
            ),
            None
        );
        assert_eq!(v["spec"]["replicas"], json!(5));
        assert!(!set_json_path(
            &mut v,
            ".status.conditions[3].type",
            json!("x")
        ));
    }

    #[test]
    fn uids_differ_and_look_like_uuids() {
        let a = new_uid();
        assert_ne!(a, new_uid());
        assert_eq!(a.len(), 36);
        assert_eq!(a.matches('-').count(), 4);
    }
}
