//! [`ScaleView`]: the `autoscaling/v1 Scale` view of an object with a scale subresource, and
//! writing a Scale back (the paths come from the CRD's `subresources.scale`, or `.spec.replicas`,
//! `.status.replicas` and `.spec.selector` for StatefulSets and Deployments).

use super::error::ApiError;
use super::meta;
use super::resources::{ResourceType, ScalePaths};
use super::selector::LabelSelector;
use serde_json::{Value, json};

/// Conversions between an object and its Scale.
#[derive(Debug, Clone, Copy)]
pub struct ScaleView<'a> {
    ty: &'a ResourceType,
    paths: &'a ScalePaths,
}

impl<'a> ScaleView<'a> {
    /// The scale view of a resource, or 404 when it has no scale subresource.
    pub fn of(ty: &'a ResourceType) -> Result<Self, ApiError> {
        match &ty.scale {
            Some(paths) => Ok(Self { ty, paths }),
            None => Err(ApiError::no_route()),
        }
    }

    /// The Scale object of `obj`.
    pub fn scale(&self, obj: &Value) -> Value {
        let m = meta::metadata(obj);
        let mut metadata = json!({});
        for field in [
            "name",
            "namespace",
            "uid",
            "resourceVersion",
            "creationTimestamp",
        ] {
            if let Some(v) = m.get(field) {
                metadata[field] = v.clone();
            }
        }
        let int_at = |path: &str| {
            meta::json_path(obj, path)
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        let mut status = json!({ "replicas": int_at(&self.paths.status_replicas) });
        if let Some(path) = &self.paths.label_selector {
            let selector = meta::json_path(obj, path).and_then(|v| {
                if self.paths.selector_is_object {
                    Some(LabelSelector::from_object(v).to_query())
                } else {
                    v.as_str().map(str::to_string)
                }
            });
            if let Some(selector) = selector {
                status["selector"] = json!(selector);
            }
        }
        json!({
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": metadata,
            "spec": { "replicas": int_at(&self.paths.spec_replicas) },
            "status": status,
        })
    }

    /// `obj` with its desired replicas taken from `scale`; checks the Scale's resourceVersion.
    pub fn apply_scale(&self, obj: &Value, scale: &Value) -> Result<Value, ApiError> {
        let name = meta::name(obj);
        if let Some(rv) = meta::meta_str(scale, "resourceVersion")
            && !rv.is_empty()
            && Some(rv) != meta::meta_str(obj, "resourceVersion")
        {
            return Err(ApiError::conflict_stale(
                &self.ty.group,
                &self.ty.plural,
                name,
            ));
        }
        let replicas = scale["spec"]["replicas"].as_i64().ok_or_else(|| {
            ApiError::invalid(
                "autoscaling",
                "scales",
                name,
                "spec.replicas: Required value: an integer is required",
            )
        })?;
        if replicas < 0 {
            return Err(ApiError::invalid(
                "autoscaling",
                "scales",
                name,
                &format!(
                    "spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"
                ),
            ));
        }
        let mut out = obj.clone();
        if !meta::set_json_path(&mut out, &self.paths.spec_replicas, json!(replicas)) {
            return Err(ApiError::internal(format!(
                "cannot set {} on {}",
                self.paths.spec_replicas, name
            )));
        }
        Ok(out)
    }
}
