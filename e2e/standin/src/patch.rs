//! [`PatchType`]: the PATCH media types and how each is applied. JSON patch (RFC 6902) and JSON
//! merge patch (RFC 7386) are exact, with the real server's leniency that `test` of a missing path
//! for `null` passes. Strategic merge patch is applied as a JSON merge patch: lists
//! are replaced rather than merged by key; `$setElementOrder/…` hints are dropped, and the other
//! strategic directives (`$patch`, `$retainKeys`, `$deleteFromPrimitiveList/…`) are refused with an
//! error rather than misapplied. Server-side apply is handled by [`super::fields`].

use super::error::ApiError;
use serde_json::Value;

/// A PATCH request's media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/merge-patch+json`.
    Merge,
    /// `application/json-patch+json`.
    Json,
    /// `application/strategic-merge-patch+json`.
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply).
    Apply,
}

impl PatchType {
    /// The patch type of a `Content-Type` header.
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        match media {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/json-patch+json" => Ok(Self::Json),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(Self::Apply),
            _ => Err(ApiError::unsupported_media_type(content_type)),
        }
    }

    /// Applies a merge, JSON or strategic patch to `target`. Not for `Apply`.
    pub fn apply(self, target: &Value, body: &[u8]) -> Result<Value, ApiError> {
        let mut doc = target.clone();
        match self {
            PatchType::Json => {
                let patch: json_patch::Patch = serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
                for op in patch.0 {
                    // As in the real server's JSON patch library, testing a missing path for
                    // `null` succeeds; kube-runtime's finalizer helper relies on it.
                    if let json_patch::PatchOperation::Test(test) = &op
                        && test.value.is_null()
                        && doc.pointer(test.path.as_str()).is_none()
                    {
                        continue;
                    }
                    json_patch::patch(&mut doc, &[op]).map_err(|e| ApiError {
                        code: 422,
                        reason: "Invalid",
                        message: format!("the JSON patch could not be applied: {e}"),
                        details: None,
                    })?;
                }
            }
            PatchType::Merge | PatchType::Strategic => {
                let mut patch: Value = serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("invalid merge patch body: {e}")))?;
                if !patch.is_object() {
                    return Err(ApiError::bad_request("a merge patch must be a JSON object"));
                }
                if self == PatchType::Strategic {
                    strip_strategic_directives(&mut patch)?;
                }
                json_patch::merge(&mut doc, &patch);
            }
            PatchType::Apply => {
                return Err(ApiError::internal("server-side apply is not a plain patch"));
            }
        }
        Ok(doc)
    }
}

/// Parses a request body that may be JSON or YAML (apply configurations are YAML).
pub fn parse_body(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(v) = serde_json::from_slice::<Value>(body) {
        return Ok(v);
    }
    serde_yaml::from_slice::<Value>(body).map_err(|e| {
        ApiError::bad_request(format!("the request body is neither JSON nor YAML: {e}"))
    })
}

fn strip_strategic_directives(v: &mut Value) -> Result<(), ApiError> {
    match v {
        Value::Object(map) => {
            map.retain(|k, _| !k.starts_with("$setElementOrder/"));
            if let Some(k) = map.keys().find(|k| k.starts_with('$')) {
                return Err(ApiError {
                    code: 501,
                    reason: "NotImplemented",
                    message: format!(
                        "the ringcache API stand-in applies strategic merge patches as JSON merge patches and does not support the directive {k:?}; send a JSON merge patch or use server-side apply"
                    ),
                    details: None,
                });
            }
            for child in map.values_mut() {
                strip_strategic_directives(child)?;
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                strip_strategic_directives(item)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_json_and_strategic() {
        let target = json!({"spec": {"a": 1, "b": [1, 2]}});
        let merged = PatchType::Merge
            .apply(&target, br#"{"spec": {"a": null, "c": 3}}"#)
            .unwrap();
        assert_eq!(merged, json!({"spec": {"b": [1, 2], "c": 3}}));
        let patched = PatchType::Json
            .apply(
                &target,
                br#"[{"op": "replace", "path": "/spec/a", "value": 9}]"#,
            )
            .unwrap();
        assert_eq!(patched["spec"]["a"], json!(9));
        let absent_is_null = PatchType::Json
            .apply(
                &json!({"metadata": {"name": "x"}}),
                br#"[{"op": "test", "path": "/metadata/finalizers", "value": null},
                     {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}]"#,
            )
            .unwrap();
        assert_eq!(absent_is_null["metadata"]["finalizers"], json!(["f"]));
        let failed = PatchType::Json
            .apply(
                &target,
                br#"[{"op": "test", "path": "/spec/a", "value": 2}]"#,
            )
            .unwrap_err();
        assert_eq!(failed.code, 422);
        let smp = PatchType::Strategic
            .apply(&target, br#"{"$setElementOrder/b": [], "spec": {"a": 2}}"#)
            .unwrap();
        assert_eq!(smp["spec"]["a"], json!(2));
        let refused = PatchType::Strategic
            .apply(&target, br#"{"spec": {"$patch": "replace"}}"#)
            .unwrap_err();
        assert_eq!(refused.code, 501);
    }

    #[test]
    fn media_types() {
        assert_eq!(
            PatchType::from_content_type("application/apply-patch+yaml; charset=utf-8").unwrap(),
            PatchType::Apply
        );
        assert_eq!(
            PatchType::from_content_type("text/plain").unwrap_err().code,
            415
        );
    }
}
