//! [`TableView`]: server-side printing (`Accept: application/json;as=Table;g=meta.k8s.io;v=v1`),
//! which `kubectl get` asks for. Columns are Name plus the resource's printer columns (a CRD's
//! `additionalPrinterColumns`, or a few chosen ones for built-ins); `date` columns print as ages.

use super::meta;
use super::resources::ResourceType;
use serde_json::{Value, json};
use std::sync::Arc;

/// The Content-Type of a Table response.
pub const TABLE_CONTENT_TYPE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// Renders objects of one resource as a `meta.k8s.io/v1 Table`.
#[derive(Debug, Clone, Copy)]
pub struct TableView<'a> {
    ty: &'a ResourceType,
}

impl<'a> TableView<'a> {
    /// Whether an Accept header asks for a Table.
    pub fn wanted(accept: &str) -> bool {
        accept.contains("as=Table")
    }

    /// A view for one resource.
    pub fn new(ty: &'a ResourceType) -> Self {
        Self { ty }
    }

    /// The Table; `include_object` is the `includeObject` parameter (None, Metadata, Object).
    pub fn render(
        &self,
        objects: &[Arc<Value>],
        resource_version: &str,
        include_object: &str,
    ) -> Value {
        let mut columns = vec![json!({
            "name": "Name", "type": "string", "format": "name", "priority": 0,
            "description": "Name must be unique within a namespace."
        })];
        for c in &self.ty.columns {
            columns.push(json!({
                "name": c.name, "type": if c.type_ == "date" { "string" } else { c.type_.as_str() },
                "format": if c.type_ == "date" { "date" } else { "" },
                "description": c.description, "priority": c.priority,
            }));
        }
        let rows: Vec<Value> = objects
            .iter()
            .map(|obj| {
                let mut cells = vec![json!(meta::name(obj))];
                for c in &self.ty.columns {
                    let value = meta::json_path(obj, &c.json_path).cloned();
                    cells.push(match (c.type_.as_str(), value) {
                        ("date", Some(Value::String(s))) => json!(meta::human_age(&s)),
                        (_, Some(v)) => v,
                        (_, None) => Value::Null,
                    });
                }
                let mut row = json!({ "cells": cells });
                match include_object {
                    "None" => {}
                    "Object" => row["object"] = (**obj).clone(),
                    _ => {
                        row["object"] = json!({
                            "kind": "PartialObjectMetadata",
                            "apiVersion": "meta.k8s.io/v1",
                            "metadata": obj["metadata"],
                        })
                    }
                }
                row
            })
            .collect();
        json!({
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"resourceVersion": resource_version},
            "columnDefinitions": columns,
            "rows": rows,
        })
    }
}
