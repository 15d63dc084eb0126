//! [`StructuralSchema`]: the parts of a CRD's `openAPIV3Schema` the stand-in enforces — pruning of
//! unknown fields and defaulting, the two that change what is stored; the writer then runs the CEL
//! rules (`x-kubernetes-validations`) with `kube-cel`. Type, format, pattern and range checks are not
//! done.

use serde_json::{Map, Value};

/// One version's schema of a custom resource.
#[derive(Debug, Clone, PartialEq)]
pub struct StructuralSchema {
    root: Value,
}

impl StructuralSchema {
    /// Wraps an `openAPIV3Schema`.
    pub fn new(root: Value) -> Self {
        Self { root }
    }

    /// The schema as given (served in OpenAPI documents).
    pub fn as_value(&self) -> &Value {
        &self.root
    }

    /// Prunes unknown fields and fills defaults in place, as the real server does when it decodes a
    /// custom resource. Returns the paths of pruned fields (for `fieldValidation=Strict`).
    pub fn prune_and_default(&self, obj: &mut Value) -> Vec<String> {
        let mut pruned = Vec::new();
        let Some(map) = obj.as_object_mut() else {
            return pruned;
        };
        // apiVersion, kind and metadata are handled by the server, never pruned at the root.
        let properties = self.root.get("properties").and_then(Value::as_object);
        let preserve = preserves_unknown(&self.root);
        let keys: Vec<String> = map.keys().cloned().collect();
        for key in keys {
            if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            match properties.and_then(|p| p.get(&key)) {
                Some(schema) => {
                    let value = map.get_mut(&key).expect("key listed above");
                    walk(schema, value, &format!(".{key}"), &mut pruned);
                    drop_null(map, &key, schema);
                }
                None if preserve => {}
                None => {
                    map.remove(&key);
                    pruned.push(format!(".{key}"));
                }
            }
        }
        if let Some(properties) = properties {
            fill_defaults(map, properties, "", &mut pruned);
        }
        pruned
    }
}

fn preserves_unknown(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// A `null` in a field that is not `nullable` is dropped before defaulting, as the real server does.
fn drop_null(map: &mut Map<String, Value>, key: &str, schema: &Value) {
    let nullable = schema
        .get("nullable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if !nullable && map.get(key).is_some_and(Value::is_null) {
        map.remove(key);
    }
}

fn fill_defaults(
    map: &mut Map<String, Value>,
    properties: &Map<String, Value>,
    path: &str,
    pruned: &mut Vec<String>,
) {
    for (key, schema) in properties {
        if path.is_empty() && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if map.contains_key(key) {
            continue;
        }
        if let Some(default) = schema.get("default") {
            let mut value = default.clone();
            // Defaults may themselves leave nested fields to their own defaults.
            walk(schema, &mut value, &format!("{path}.{key}"), pruned);
            map.insert(key.clone(), value);
        }
    }
}

fn walk(schema: &Value, value: &mut Value, path: &str, pruned: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let embedded = schema
                .get("x-kubernetes-embedded-resource")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let preserve = preserves_unknown(schema);
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                let child_path = format!("{path}.{key}");
                if embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_schema = properties.and_then(|p| p.get(&key)).or(additional);
                match child_schema {
                    Some(child) => {
                        let v = map.get_mut(&key).expect("key listed above");
                        walk(child, v, &child_path, pruned);
                        drop_null(map, &key, child);
                    }
                    // A schema without properties or additionalProperties that is not a known
                    // object (e.g. `type: object` alone) prunes everything unless told to keep it.
                    None if preserve => {}
                    None => {
                        map.remove(&key);
                        pruned.push(child_path);
                    }
                }
            }
            if let Some(properties) = properties {
                fill_defaults(map, properties, path, pruned);
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    walk(item_schema, item, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prunes_unknown_and_fills_defaults() {
        let schema = StructuralSchema::new(json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "replicas": {"type": "integer"},
                        "mode": {"type": "string", "default": "fast"},
                        "nested": {"type": "object", "default": {}, "properties": {
                            "x": {"type": "integer", "default": 7}
                        }},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "map": {"type": "object", "additionalProperties": {"type": "string"}}
                    }
                },
                "status": {"type": "object", "properties": {}}
            }
        }));
        let mut obj = json!({
            "apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a", "anything": 1},
            "spec": {"replicas": 3, "bogus": true, "free": {"k": 1}, "map": {"a": "b"}},
            "status": {"junk": 1},
            "top": 1
        });
        let pruned = schema.prune_and_default(&mut obj);
        assert_eq!(pruned, vec![".spec.bogus", ".status.junk", ".top"]);
        assert_eq!(obj["spec"]["mode"], json!("fast"));
        assert_eq!(obj["spec"]["nested"]["x"], json!(7));
        assert_eq!(obj["spec"]["free"]["k"], json!(1));
        assert_eq!(obj["spec"]["map"]["a"], json!("b"));
        assert_eq!(obj["metadata"]["anything"], json!(1));
    }
}
