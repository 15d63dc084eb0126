//! [`ResourceType`] and [`Registry`]: which group/version/resource paths are served, with what
//! scope, subresources and printer columns. Built-in kinds are listed here; custom resources are
//! added and removed by writing CustomResourceDefinition objects (see `Registry::sync_crds`).

use super::schema::StructuralSchema;
use serde_json::Value;
use std::sync::Arc;

/// Storage keys (`group/plural`) of the built-ins the server gives special behaviour.
pub mod keys {
    /// CustomResourceDefinitions: writing them changes what is served.
    pub const CRDS: &str = "apiextensions.k8s.io/customresourcedefinitions";
    /// Namespaces: deleting one empties it first.
    pub const NAMESPACES: &str = "/namespaces";
    /// Pods: graceful deletion once scheduled.
    pub const PODS: &str = "/pods";
    /// RBAC Roles.
    pub const ROLES: &str = "rbac.authorization.k8s.io/roles";
    /// RBAC ClusterRoles.
    pub const CLUSTER_ROLES: &str = "rbac.authorization.k8s.io/clusterroles";
    /// RBAC RoleBindings.
    pub const ROLE_BINDINGS: &str = "rbac.authorization.k8s.io/rolebindings";
    /// RBAC ClusterRoleBindings.
    pub const CLUSTER_ROLE_BINDINGS: &str = "rbac.authorization.k8s.io/clusterrolebindings";
}

/// Where the scale subresource reads and writes replica counts.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalePaths {
    /// Path of the desired replicas (`.spec.replicas`).
    pub spec_replicas: String,
    /// Path of the observed replicas (`.status.replicas`).
    pub status_replicas: String,
    /// Path of the label selector string, or for built-ins the path of a `LabelSelector` object.
    pub label_selector: Option<String>,
    /// Whether `label_selector` points at a `LabelSelector` object (built-ins) rather than a string.
    pub selector_is_object: bool,
}

/// A column of `kubectl get` output (server-side printing).
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    /// Header.
    pub name: String,
    /// `string`, `integer`, `number`, `boolean` or `date`.
    pub type_: String,
    /// Dotted path into the object.
    pub json_path: String,
    /// Shown by `kubectl explain`/wide output.
    pub description: String,
    /// 0 = always shown, higher = `-o wide` only.
    pub priority: i64,
}

/// One served group/version/resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group ("" for core).
    pub group: String,
    /// Version served at this entry.
    pub version: String,
    /// Kind of the objects.
    pub kind: String,
    /// Kind of lists.
    pub list_kind: String,
    /// Plural resource name (the path segment).
    pub plural: String,
    /// Singular name.
    pub singular: String,
    /// `kubectl` short names.
    pub short_names: Vec<String>,
    /// Categories (`all`, …).
    pub categories: Vec<String>,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// Has the `status` subresource: writes to the main resource keep the stored status and writes
    /// to `/status` keep everything else.
    pub status_subresource: bool,
    /// The `scale` subresource, if any.
    pub scale: Option<ScalePaths>,
    /// Whether `metadata.generation` is maintained.
    pub generation: bool,
    /// Server-side printing columns after Name.
    pub columns: Vec<PrinterColumn>,
    /// Schema of a custom resource version (pruning and defaulting).
    pub schema: Option<StructuralSchema>,
    /// Name of the CRD serving this, for custom resources.
    pub crd: Option<String>,
    /// The CRD is being deleted: no new objects may be created.
    pub terminating: bool,
    /// A review (access review): only `create`, answered and not stored.
    pub create_only: bool,
}

impl ResourceType {
    /// Key under which objects of this resource are stored, shared by all its versions.
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    /// `group/version`, or `version` for core.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Path prefix of this group/version: `/api/v1` or `/apis/<group>/<version>`.
    pub fn gv_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }
}

/// The served resources.
#[derive(Debug, Clone)]
pub struct Registry {
    builtin: Vec<Arc<ResourceType>>,
    custom: Vec<Arc<ResourceType>>,
    /// Bumped on every change, so OpenAPI/discovery documents can carry a hash that changes.
    pub revision: u64,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

/// Compact constructor for the built-in table below.
#[allow(clippy::too_many_arguments)]
fn builtin(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    short_names: &[&str],
    namespaced: bool,
    status_subresource: bool,
    generation: bool,
) -> ResourceType {
    ResourceType {
        group: group.into(),
        version: version.into(),
        kind: kind.into(),
        list_kind: format!("{kind}List"),
        plural: plural.into(),
        singular: kind.to_lowercase(),
        short_names: short_names.iter().map(|s| s.to_string()).collect(),
        categories: Vec::new(),
        namespaced,
        status_subresource,
        scale: None,
        generation,
        columns: Vec::new(),
        schema: None,
        crd: None,
        terminating: false,
        create_only: false,
    }
}

fn column(name: &str, type_: &str, json_path: &str) -> PrinterColumn {
    PrinterColumn {
        name: name.into(),
        type_: type_.into(),
        json_path: json_path.into(),
        description: String::new(),
        priority: 0,
    }
}

fn builtin_scale() -> Option<ScalePaths> {
    Some(ScalePaths {
        spec_replicas: ".spec.replicas".into(),
        status_replicas: ".status.replicas".into(),
        label_selector: Some(".spec.selector".into()),
        selector_is_object: true,
    })
}

impl Registry {
    /// The built-in resources, no custom ones.
    pub fn new() -> Self {
        let age = column("Age", "date", ".metadata.creationTimestamp");
        let mut table = vec![
            builtin(
                "",
                "v1",
                "Namespace",
                "namespaces",
                &["ns"],
                false,
                true,
                false,
            ),
            builtin("", "v1", "Pod", "pods", &["po"], true, true, true),
            builtin("", "v1", "Service", "services", &["svc"], true, true, false),
            builtin(
                "",
                "v1",
                "ConfigMap",
                "configmaps",
                &["cm"],
                true,
                false,
                false,
            ),
            builtin("", "v1", "Secret", "secrets", &[], true, false, false),
            builtin(
                "",
                "v1",
                "ServiceAccount",
                "serviceaccounts",
                &["sa"],
                true,
                false,
                false,
            ),
            builtin("", "v1", "Event", "events", &["ev"], true, false, false),
            builtin(
                "",
                "v1",
                "Endpoints",
                "endpoints",
                &["ep"],
                true,
                false,
                false,
            ),
            builtin("", "v1", "Node", "nodes", &["no"], false, true, false),
            builtin(
                "",
                "v1",
                "PersistentVolumeClaim",
                "persistentvolumeclaims",
                &["pvc"],
                true,
                true,
                false,
            ),
            builtin(
                "apps",
                "v1",
                "StatefulSet",
                "statefulsets",
                &["sts"],
                true,
                true,
                true,
            ),
            builtin(
                "apps",
                "v1",
                "Deployment",
                "deployments",
                &["deploy"],
                true,
                true,
                true,
            ),
            builtin(
                "policy",
                "v1",
                "PodDisruptionBudget",
                "poddisruptionbudgets",
                &["pdb"],
                true,
                true,
                true,
            ),
            // Stored and served like any object; nothing enforces it (there is no pod network).
            builtin(
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
                &["netpol"],
                true,
                false,
                true,
            ),
            builtin(
                "coordination.k8s.io",
                "v1",
                "Lease",
                "leases",
                &[],
                true,
                false,
                false,
            ),
            builtin(
                "events.k8s.io",
                "v1",
                "Event",
                "events",
                &["ev"],
                true,
                false,
                false,
            ),
            builtin(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
                &["crd", "crds"],
                false,
                true,
                true,
            ),
            builtin(
                "rbac.authorization.k8s.io",
                "v1",
                "Role",
                "roles",
                &[],
                true,
                false,
                false,
            ),
            builtin(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRole",
                "clusterroles",
                &[],
                false,
                false,
                false,
            ),
            builtin(
                "rbac.authorization.k8s.io",
                "v1",
                "RoleBinding",
                "rolebindings",
                &[],
                true,
                false,
                false,
            ),
            builtin(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
                &[],
                false,
                false,
                false,
            ),
        ];
        for (kind, plural) in [
            ("SelfSubjectAccessReview", "selfsubjectaccessreviews"),
            ("SubjectAccessReview", "subjectaccessreviews"),
        ] {
            let mut review = builtin(
                "authorization.k8s.io",
                "v1",
                kind,
                plural,
                &[],
                false,
                false,
                false,
            );
            review.create_only = true;
            table.push(review);
        }
        for ty in &mut table {
            match (ty.group.as_str(), ty.plural.as_str()) {
                ("", "pods") => {
                    ty.columns.push(column("Status", "string", ".status.phase"));
                    ty.columns.push(column("Node", "string", ".spec.nodeName"));
                    ty.categories.push("all".into());
                }
                ("", "namespaces") => ty.columns.push(column("Status", "string", ".status.phase")),
                ("", "services") => {
                    ty.columns.push(column("Type", "string", ".spec.type"));
                    ty.columns
                        .push(column("Cluster-IP", "string", ".spec.clusterIP"));
                    ty.categories.push("all".into());
                }
                ("apps", "statefulsets") | ("apps", "deployments") => {
                    ty.columns
                        .push(column("Desired", "integer", ".spec.replicas"));
                    ty.columns
                        .push(column("Ready", "integer", ".status.readyReplicas"));
                    ty.scale = builtin_scale();
                    ty.categories.push("all".into());
                }
                ("coordination.k8s.io", "leases") => {
                    ty.columns
                        .push(column("Holder", "string", ".spec.holderIdentity"));
                }
                _ => {}
            }
            ty.columns.push(age.clone());
        }
        Self {
            builtin: table.into_iter().map(Arc::new).collect(),
            custom: Vec::new(),
            revision: 1,
        }
    }

    /// Every served resource, built-ins first.
    pub fn all(&self) -> impl Iterator<Item = &Arc<ResourceType>> {
        self.builtin.iter().chain(self.custom.iter())
    }

    /// The resource served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    /// Any served version of the resource stored under `storage_key` (`group/plural`).
    pub fn find_by_storage_key(&self, storage_key: &str) -> Option<Arc<ResourceType>> {
        self.all().find(|t| t.storage_key() == storage_key).cloned()
    }

    /// The resource of an `apiVersion` + `kind` (for owner references and RBAC messages).
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.all()
            .find(|t| t.api_version() == api_version && t.kind == kind)
            .cloned()
    }

    /// Whether a built-in resource has this group and plural (CRDs may not shadow built-ins).
    pub fn is_builtin(&self, group: &str, plural: &str) -> bool {
        self.builtin
            .iter()
            .any(|t| t.group == group && t.plural == plural)
    }

    /// Groups in discovery order, each with its versions (newest registration order kept).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in self.all() {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    if !versions.contains(&t.version) {
                        versions.push(t.version.clone());
                    }
                }
                None => out.push((t.group.clone(), vec![t.version.clone()])),
            }
        }
        out
    }

    /// Resources of one group/version.
    pub fn in_group_version(&self, group: &str, version: &str) -> Vec<Arc<ResourceType>> {
        self.all()
            .filter(|t| t.group == group && t.version == version)
            .cloned()
            .collect()
    }

    /// Rebuilds the custom resources from the stored CustomResourceDefinition objects.
    pub fn sync_crds<'a>(&mut self, crds: impl Iterator<Item = &'a Value>) {
        let mut custom = Vec::new();
        for crd in crds {
            custom.extend(Self::types_of_crd(crd).into_iter().map(Arc::new));
        }
        if custom != self.custom {
            self.custom = custom;
            self.revision += 1;
        }
    }

    /// The resource types one CRD serves (one per served version). Malformed CRDs serve nothing;
    /// `validate_crd` rejects them before they are stored.
    pub fn types_of_crd(crd: &Value) -> Vec<ResourceType> {
        let spec = &crd["spec"];
        let names = &spec["names"];
        let text = |v: &Value| v.as_str().unwrap_or("").to_string();
        let list = |v: &Value| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        let kind = text(&names["kind"]);
        let plural = text(&names["plural"]);
        let group = text(&spec["group"]);
        if kind.is_empty() || plural.is_empty() || group.is_empty() {
            return Vec::new();
        }
        let list_kind = names["listKind"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("{kind}List"));
        let singular = names["singular"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| kind.to_lowercase());
        let terminating = super::meta::is_deleting(crd);
        let mut out = Vec::new();
        for version in spec["versions"].as_array().into_iter().flatten() {
            if version["served"].as_bool() == Some(false) {
                continue;
            }
            let subresources = &version["subresources"];
            let scale = subresources.get("scale").map(|s| ScalePaths {
                spec_replicas: text(&s["specReplicasPath"]),
                status_replicas: text(&s["statusReplicasPath"]),
                label_selector: s["labelSelectorPath"].as_str().map(str::to_string),
                selector_is_object: false,
            });
            let mut columns: Vec<PrinterColumn> = version["additionalPrinterColumns"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| PrinterColumn {
                    name: text(&c["name"]),
                    type_: text(&c["type"]),
                    json_path: text(&c["jsonPath"]),
                    description: text(&c["description"]),
                    priority: c["priority"].as_i64().unwrap_or(0),
                })
                .collect();
            if columns.is_empty() {
                columns.push(column("Age", "date", ".metadata.creationTimestamp"));
            }
            out.push(ResourceType {
                group: group.clone(),
                version: text(&version["name"]),
                kind: kind.clone(),
                list_kind: list_kind.clone(),
                plural: plural.clone(),
                singular: singular.clone(),
                short_names: list(&names["shortNames"]),
                categories: list(&names["categories"]),
                namespaced: spec["scope"].as_str() != Some("Cluster"),
                status_subresource: subresources.get("status").is_some(),
                scale,
                generation: true,
                columns,
                schema: version["schema"]
                    .get("openAPIV3Schema")
                    .cloned()
                    .map(StructuralSchema::new),
                crd: Some(super::meta::name(crd).to_string()),
                terminating,
                create_only: false,
            });
        }
        out
    }

    /// Checks a CRD the way the real server's validation would for the fields the stand-in uses.
    pub fn validate_crd(&self, crd: &Value) -> Result<(), String> {
        let spec = &crd["spec"];
        let group = spec["group"].as_str().unwrap_or("");
        let plural = spec["names"]["plural"].as_str().unwrap_or("");
        if group.is_empty() || !group.contains('.') {
            return Err(
                "spec.group: Invalid value: should be a domain with at least one dot".into(),
            );
        }
        if plural.is_empty() || spec["names"]["kind"].as_str().unwrap_or("").is_empty() {
            return Err("spec.names: Required value: plural and kind are required".into());
        }
        let name = super::meta::name(crd);
        if name != format!("{plural}.{group}") {
            return Err(format!(
                "metadata.name: Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"
            ));
        }
        if !matches!(spec["scope"].as_str(), Some("Namespaced") | Some("Cluster")) {
            return Err("spec.scope: Unsupported value: must be Namespaced or Cluster".into());
        }
        let versions = spec["versions"].as_array().cloned().unwrap_or_default();
        if versions.is_empty() {
            return Err("spec.versions: Invalid value: must have at least one version".into());
        }
        if versions
            .iter()
            .filter(|v| v["storage"].as_bool() == Some(true))
            .count()
            != 1
        {
            return Err("spec.versions: Invalid value: must have exactly one version marked as storage version".into());
        }
        if self.is_builtin(group, plural) {
            return Err(format!("{plural}.{group} is a built-in resource"));
        }
        Ok(())
    }
}
