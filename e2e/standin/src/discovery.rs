//! [`Discovery`]: `/version`, `/api`, `/apis`, `/apis/<group>`, `/api/v1`, `/apis/<group>/<version>`,
//! in the legacy form and in the aggregated form (`apidiscovery.k8s.io` v2 and v2beta1
//! `APIGroupDiscoveryList`) that kubectl and client-go ask for first.

use super::resources::{Registry, ResourceType};
use serde_json::{Value, json};
use std::sync::Arc;

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const SUBRESOURCE_VERBS: &[&str] = &["get", "patch", "update"];
const REVIEW_VERBS: &[&str] = &["create"];

fn verbs(t: &ResourceType) -> &'static [&'static str] {
    if t.create_only { REVIEW_VERBS } else { VERBS }
}

/// Builds discovery documents from the registry.
#[derive(Debug, Clone, Copy)]
pub struct Discovery<'a> {
    registry: &'a Registry,
}

impl<'a> Discovery<'a> {
    /// Discovery over a registry.
    pub fn new(registry: &'a Registry) -> Self {
        Self { registry }
    }

    /// `/version`.
    pub fn version() -> Value {
        json!({
            "major": "1",
            "minor": "37",
            "gitVersion": "v1.37.0-ringcache-standin",
            "gitCommit": "0000000000000000000000000000000000000000",
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "none (ringcache API stand-in, Rust)",
            "compiler": "rustc",
            "platform": "linux/amd64",
        })
    }

    /// Which aggregated discovery version an Accept header asks for, if any.
    pub fn aggregated_version(accept: &str) -> Option<&'static str> {
        if !accept.contains("as=APIGroupDiscoveryList") {
            return None;
        }
        if accept.contains("v=v2;") || accept.contains("v=v2,") || accept.ends_with("v=v2") {
            Some("v2")
        } else if accept.contains("v=v2beta1") {
            Some("v2beta1")
        } else {
            None
        }
    }

    /// The Content-Type of an aggregated discovery answer.
    pub fn aggregated_content_type(version: &str) -> String {
        format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
    }

    /// `/api` (legacy form).
    pub fn core_versions(server_address: &str) -> Value {
        json!({
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
        })
    }

    fn group_entry(&self, group: &str, versions: &[String]) -> Value {
        let versions: Vec<Value> = versions
            .iter()
            .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
            .collect();
        json!({
            "name": group,
            "versions": versions,
            "preferredVersion": versions[0],
        })
    }

    /// `/apis` (legacy form).
    pub fn group_list(&self) -> Value {
        let groups: Vec<Value> = self
            .registry
            .groups()
            .into_iter()
            .filter(|(g, _)| !g.is_empty())
            .map(|(g, vs)| self.group_entry(&g, &vs))
            .collect();
        json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
    }

    /// `/apis/<group>`.
    pub fn group(&self, name: &str) -> Option<Value> {
        let (g, vs) = self
            .registry
            .groups()
            .into_iter()
            .find(|(g, _)| g == name && !g.is_empty())?;
        let mut entry = self.group_entry(&g, &vs);
        entry["kind"] = json!("APIGroup");
        entry["apiVersion"] = json!("v1");
        Some(entry)
    }

    /// `/api/v1` or `/apis/<group>/<version>`.
    pub fn resource_list(&self, group: &str, version: &str) -> Option<Value> {
        let types = self.registry.in_group_version(group, version);
        if types.is_empty() {
            return None;
        }
        let mut resources = Vec::new();
        for t in &types {
            resources.push(json!({
                "name": t.plural,
                "singularName": t.singular,
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": verbs(t),
                "shortNames": t.short_names,
                "categories": t.categories,
            }));
            if t.status_subresource {
                resources.push(json!({
                    "name": format!("{}/status", t.plural),
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "kind": t.kind,
                    "verbs": SUBRESOURCE_VERBS,
                }));
            }
            if t.scale.is_some() {
                resources.push(json!({
                    "name": format!("{}/scale", t.plural),
                    "singularName": "",
                    "namespaced": t.namespaced,
                    "group": "autoscaling",
                    "version": "v1",
                    "kind": "Scale",
                    "verbs": SUBRESOURCE_VERBS,
                }));
            }
        }
        let group_version = if group.is_empty() {
            version.to_string()
        } else {
            format!("{group}/{version}")
        };
        Some(json!({
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        }))
    }

    fn aggregated_resource(t: &Arc<ResourceType>) -> Value {
        let mut subresources = Vec::new();
        if t.status_subresource {
            subresources.push(json!({
                "subresource": "status",
                "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
                "verbs": SUBRESOURCE_VERBS,
            }));
        }
        if t.scale.is_some() {
            subresources.push(json!({
                "subresource": "scale",
                "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                "verbs": SUBRESOURCE_VERBS,
            }));
        }
        let mut r = json!({
            "resource": t.plural,
            "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
            "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
            "singularResource": t.singular,
            "verbs": verbs(t),
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        if !subresources.is_empty() {
            r["subresources"] = json!(subresources);
        }
        r
    }

    /// Aggregated discovery: for `/api` (core only) or `/apis` (every other group).
    pub fn aggregated(&self, core: bool, version: &str) -> Value {
        let items: Vec<Value> = self
            .registry
            .groups()
            .into_iter()
            .filter(|(g, _)| g.is_empty() == core)
            .map(|(g, versions)| {
                let versions: Vec<Value> = versions
                    .iter()
                    .map(|v| {
                        let resources: Vec<Value> = self
                            .registry
                            .in_group_version(&g, v)
                            .iter()
                            .map(Self::aggregated_resource)
                            .collect();
                        json!({"version": v, "resources": resources, "freshness": "Current"})
                    })
                    .collect();
                json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": versions})
            })
            .collect();
        json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": format!("apidiscovery.k8s.io/{version}"),
            "metadata": {},
            "items": items,
        })
    }
}
