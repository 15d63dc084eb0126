//! [`OpenApi`]: the OpenAPI documents kubectl reads. `/openapi/v3` lists one document per
//! group/version; each names every resource's paths with the `fieldValidation`, `fieldManager`,
//! `dryRun` and `force` query parameters (kubectl checks them before it sends
//! `fieldValidation=Strict`) and a schema per kind: the CRD's own `openAPIV3Schema` for custom
//! resources (so `kubectl explain` works for them), an open object for built-ins. `/openapi/v2`
//! is a minimal Swagger document with the same kinds.

use super::resources::{Registry, ResourceType};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Builds OpenAPI documents from the registry.
#[derive(Debug, Clone, Copy)]
pub struct OpenApi<'a> {
    registry: &'a Registry,
}

/// The schema name the real server uses: reversed group domain, version, kind.
fn schema_name(t: &ResourceType) -> String {
    let prefix = if t.group.is_empty() {
        "io.k8s.api.core".to_string()
    } else if !t.group.contains('.') {
        format!("io.k8s.api.{}", t.group)
    } else if let Some(short) = t.group.strip_suffix(".k8s.io") {
        format!("io.k8s.api.{short}")
    } else {
        t.group.split('.').rev().collect::<Vec<_>>().join(".")
    };
    format!("{prefix}.{}.{}", t.version, t.kind)
}

fn gvk(t: &ResourceType) -> Value {
    json!({"group": t.group, "version": t.version, "kind": t.kind})
}

fn schema(t: &ResourceType) -> Value {
    let mut s = match &t.schema {
        Some(schema) => schema.as_value().clone(),
        None => json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}),
    };
    if let Some(props) = s.get_mut("properties").and_then(Value::as_object_mut) {
        props.entry("apiVersion").or_insert_with(|| {
            json!({"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."})
        });
        props.entry("kind").or_insert_with(|| {
            json!({"type": "string", "description": "Kind is a string value representing the REST resource this object represents."})
        });
        props.entry("metadata").or_insert_with(
            || json!({"type": "object", "description": "Standard object's metadata."}),
        );
    }
    s["x-kubernetes-group-version-kind"] = json!([gvk(t)]);
    s
}

fn operation(t: &ResourceType, action: &str, reference: &str) -> Value {
    let params: Vec<Value> = [
        "fieldValidation",
        "fieldManager",
        "dryRun",
        "force",
        "pretty",
    ]
    .iter()
    .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
    .collect();
    json!({
        "operationId": format!("{action}{}", t.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(t),
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": reference}}}}},
    })
}

impl<'a> OpenApi<'a> {
    /// Documents over a registry.
    pub fn new(registry: &'a Registry) -> Self {
        Self { registry }
    }

    /// `/openapi/v3`: where each group/version's document is.
    pub fn v3_root(&self) -> Value {
        let mut paths = Map::new();
        for (group, versions) in self.registry.groups() {
            for v in versions {
                let key = if group.is_empty() {
                    format!("api/{v}")
                } else {
                    format!("apis/{group}/{v}")
                };
                paths.insert(
                    key.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={:016X}", self.registry.revision)}),
                );
            }
        }
        json!({ "paths": paths })
    }

    fn paths_of(t: &Arc<ResourceType>, reference: &str, paths: &mut Map<String, Value>) {
        let base = if t.namespaced {
            format!("{}/namespaces/{{namespace}}/{}", t.gv_path(), t.plural)
        } else {
            format!("{}/{}", t.gv_path(), t.plural)
        };
        paths.insert(
            base.clone(),
            json!({
                "get": operation(t, "list", reference),
                "post": operation(t, "post", reference),
                "delete": operation(t, "deletecollection", reference),
            }),
        );
        let item = json!({
            "get": operation(t, "get", reference),
            "put": operation(t, "put", reference),
            "patch": operation(t, "patch", reference),
            "delete": operation(t, "delete", reference),
        });
        paths.insert(format!("{base}/{{name}}"), item.clone());
        if t.status_subresource {
            paths.insert(format!("{base}/{{name}}/status"), item);
        }
    }

    /// `/openapi/v3/api/v1` or `/openapi/v3/apis/<group>/<version>`.
    pub fn v3_group_version(&self, group: &str, version: &str) -> Option<Value> {
        let types = self.registry.in_group_version(group, version);
        if types.is_empty() {
            return None;
        }
        let mut paths = Map::new();
        let mut schemas = Map::new();
        for t in &types {
            let name = schema_name(t);
            Self::paths_of(t, &format!("#/components/schemas/{name}"), &mut paths);
            schemas.insert(name, schema(t));
        }
        Some(json!({
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.37.0"},
            "paths": paths,
            "components": {"schemas": schemas},
        }))
    }

    /// `/openapi/v2`.
    pub fn v2(&self) -> Value {
        let mut definitions = Map::new();
        for t in self.registry.all() {
            definitions.insert(schema_name(t), schema(t));
        }
        json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": "v1.37.0"},
            "paths": {},
            "definitions": definitions,
        })
    }
}
