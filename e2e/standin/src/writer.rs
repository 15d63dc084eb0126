//! [`Writer`]: the write semantics shared by every verb and by the garbage collector — create,
//! update (main resource or `status`), delete — on a locked store.
//!
//! What it enforces: resourceVersion preconditions, AlreadyExists/NotFound, server-owned metadata
//! (`uid`, `creationTimestamp`, `generation`, `deletionTimestamp`, `managedFields`), the status
//! subresource split, `generation` bumps on spec changes only, no-op writes that keep the
//! resourceVersion (as the real server skips identical writes), finalizers and deletionTimestamp,
//! graceful deletion of scheduled pods, namespace and CRD life cycles, CRD pruning and defaulting.

use super::error::ApiError;
use super::fields::{ManagedFields, Scope};
use super::meta::{self, metadata_mut};
use super::resources::{Registry, ResourceType, keys};
use super::store::{ObjectKey, StoreState};
use serde_json::{Value, json};
use std::sync::Arc;

/// Options every write takes from its query string.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// `fieldManager` (or a default derived from the user agent).
    pub manager: String,
    /// `dryRun=All`: do everything but store.
    pub dry_run: bool,
    /// `fieldValidation=Strict`: unknown fields of custom resources are an error, not pruned.
    pub strict: bool,
}

/// Who computes `managedFields` for a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// An Update operation: the manager takes the fields it changed.
    Update,
    /// Server-side apply already computed them into the candidate object.
    Precomputed,
}

/// Which part of the object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The main resource.
    Main,
    /// The `status` subresource.
    Status,
}

/// Options of a deletion (query string and `DeleteOptions` body combined).
#[derive(Debug, Clone, Default)]
pub struct DeleteOptions {
    /// `Background` (default), `Foreground` or `Orphan`.
    pub propagation: Option<String>,
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
    /// `dryRun=All`.
    pub dry_run: bool,
}

/// What a deletion did.
#[derive(Debug, Clone)]
pub enum Deletion {
    /// The object is gone; its last state.
    Removed(Arc<Value>),
    /// The object now waits for finalizers, dependents or a kubelet; its current state.
    Pending(Arc<Value>),
}

/// Finalizer the garbage collector uses for foreground deletion.
pub const FOREGROUND: &str = "foregroundDeletion";
/// Finalizer the garbage collector uses for orphaning deletion.
pub const ORPHAN: &str = "orphan";
/// Finalizer that empties a CRD's custom resources before the CRD goes.
pub const CRD_CLEANUP: &str = "customresourcecleanup.apiextensions.k8s.io";

/// Writes against a locked store.
pub struct Writer<'a> {
    state: &'a mut StoreState,
}

fn scope_of(ty: &ResourceType, target: Target) -> Scope {
    match target {
        Target::Main => Scope::Main {
            exclude_status: ty.status_subresource,
        },
        Target::Status => Scope::Status,
    }
}

/// The object without metadata (and without status when it is a subresource): what `generation`
/// tracks.
fn spec_part(ty: &ResourceType, obj: &Value) -> Value {
    let mut v = obj.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("metadata");
        map.remove("apiVersion");
        map.remove("kind");
        if ty.status_subresource {
            map.remove("status");
        }
    }
    v
}

fn valid_name(ty: &ResourceType, name: &str) -> Result<(), String> {
    if name == "." || name == ".." || name.contains('/') || name.contains('%') {
        return Err(format!(
            "metadata.name: Invalid value: {name:?}: may not contain '/' or '%' or be '.' or '..'"
        ));
    }
    if ty.group == "rbac.authorization.k8s.io" {
        return Ok(());
    }
    let max = if ty.plural == "namespaces" { 63 } else { 253 };
    let ok_chars = name.chars().all(|c| {
        c.is_ascii_lowercase()
            || c.is_ascii_digit()
            || c == '-'
            || (c == '.' && ty.plural != "namespaces")
    });
    let ok_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if name.len() > max || !ok_chars || !ok_ends {
        return Err(format!(
            "metadata.name: Invalid value: {name:?}: a lowercase RFC 1123 {} must consist of lower case alphanumeric characters, '-'{}, and must start and end with an alphanumeric character",
            if ty.plural == "namespaces" {
                "label"
            } else {
                "subdomain"
            },
            if ty.plural == "namespaces" {
                ""
            } else {
                " or '.'"
            }
        ));
    }
    Ok(())
}

impl<'a> Writer<'a> {
    /// A writer over a locked store.
    pub fn new(state: &'a mut StoreState) -> Self {
        Self { state }
    }

    /// The registry (custom resources change as CRDs are written).
    pub fn registry(&self) -> &Registry {
        &self.state.registry
    }

    /// Creates an object. `namespace` is the namespace from the request path.
    pub fn create(
        &mut self,
        ty: &ResourceType,
        namespace: Option<&str>,
        mut obj: Value,
        opts: &WriteOptions,
        ownership: Ownership,
    ) -> Result<Arc<Value>, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        if ty.terminating {
            return Err(ApiError {
                code: 405,
                reason: "MethodNotAllowed",
                message: format!(
                    "create not allowed while custom resource definition is terminating ({}.{})",
                    ty.plural, ty.group
                ),
                details: None,
            });
        }
        check_type(ty, &obj)?;
        let meta = metadata_mut(&mut obj);
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if name.is_empty()
            && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
            && !prefix.is_empty()
        {
            name = format!("{prefix}{}", meta::random_suffix());
            meta.insert("name".into(), json!(name));
        }
        if name.is_empty() {
            return Err(ApiError::invalid(
                &ty.group,
                &ty.plural,
                "",
                "metadata.name: Required value: name or generateName is required",
            ));
        }
        valid_name(ty, &name).map_err(|e| ApiError::invalid(&ty.group, &ty.plural, &name, &e))?;
        let body_ns = meta
            .get("namespace")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let ns = if ty.namespaced {
            let ns = namespace.unwrap_or(&body_ns).to_string();
            if ns.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "a namespace is required to create {}",
                    ty.plural
                )));
            }
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            meta.insert("namespace".into(), json!(ns));
            ns
        } else {
            meta.remove("namespace");
            String::new()
        };
        if ownership == Ownership::Update
            && meta
                .get("resourceVersion")
                .and_then(Value::as_str)
                .is_some_and(|rv| !rv.is_empty())
        {
            // The real server answers this from its storage layer, as a 500 (checked against
            // kube-apiserver 1.37).
            return Err(ApiError::internal(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        for server_field in [
            "resourceVersion",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "selfLink",
        ] {
            meta.remove(server_field);
        }
        if ownership == Ownership::Update {
            meta.remove("managedFields");
        }
        meta.insert("uid".into(), json!(meta::new_uid()));
        meta.insert("creationTimestamp".into(), json!(meta::now()));
        if ty.generation {
            meta.insert("generation".into(), json!(1));
        }
        set_type(ty, &mut obj);
        if ty.status_subresource
            && let Some(map) = obj.as_object_mut()
        {
            map.remove("status");
        }
        self.apply_schema(ty, &mut obj, None, opts)?;
        self.on_create(ty, &mut obj)?;
        if ty.namespaced {
            self.check_namespace(ty, &ns, &name)?;
        }
        let key = ObjectKey::new(&ty.storage_key(), &ns, &name);
        if self.state.get(&key).is_some() {
            return Err(ApiError::already_exists(&ty.group, &ty.plural, &name));
        }
        if ownership == Ownership::Update {
            ManagedFields::record_update(
                None,
                &mut obj,
                &opts.manager,
                scope_of(ty, Target::Main),
                &ty.api_version(),
            );
        }
        if opts.dry_run {
            return Ok(Arc::new(obj));
        }
        Ok(self.state.put(key, obj))
    }

    fn check_namespace(&self, ty: &ResourceType, ns: &str, name: &str) -> Result<(), ApiError> {
        match self.state.get(&ObjectKey::new(keys::NAMESPACES, "", ns)) {
            None => Err(ApiError::not_found("", "namespaces", ns)),
            Some(namespace) if meta::is_deleting(&namespace) => Err(ApiError::forbidden(format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                super::error::qualified(&ty.group, &ty.plural)
            ))
            .with_details(&ty.group, &ty.plural, name)),
            Some(_) => Ok(()),
        }
    }

    /// Replaces an object (or its status) with `candidate`, keeping what the server owns.
    pub fn update(
        &mut self,
        ty: &ResourceType,
        key: &ObjectKey,
        candidate: Value,
        target: Target,
        opts: &WriteOptions,
        ownership: Ownership,
    ) -> Result<Arc<Value>, ApiError> {
        let old = self
            .state
            .get(key)
            .ok_or_else(|| ApiError::not_found(&ty.group, &ty.plural, &key.name))?;
        if !candidate.is_object() {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        check_type(ty, &candidate)?;
        if let Some(rv) = meta::meta_str(&candidate, "resourceVersion")
            && !rv.is_empty()
            && Some(rv) != meta::meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::conflict_stale(&ty.group, &ty.plural, &key.name));
        }
        let body_name = meta::name(&candidate);
        if !body_name.is_empty() && body_name != key.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({})",
                key.name
            )));
        }
        let body_ns = meta::namespace(&candidate);
        if ty.namespaced && !body_ns.is_empty() && body_ns != key.namespace {
            return Err(ApiError::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        let mut new = match target {
            Target::Main => {
                let mut new = candidate;
                if ty.status_subresource {
                    copy_field(&old, &mut new, "status");
                }
                new
            }
            Target::Status => {
                let mut new = (*old).clone();
                copy_field(&candidate, &mut new, "status");
                if ownership == Ownership::Precomputed
                    && let Some(mf) = meta::metadata(&candidate).get("managedFields")
                {
                    metadata_mut(&mut new).insert("managedFields".into(), mf.clone());
                }
                new
            }
        };
        // Server-owned metadata always comes from the stored object.
        {
            let old_meta = meta::metadata(&old);
            let meta = metadata_mut(&mut new);
            for field in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
                "name",
                "namespace",
                "resourceVersion",
                "selfLink",
            ] {
                match old_meta.get(field) {
                    Some(v) => meta.insert(field.into(), v.clone()),
                    None => meta.remove(field),
                };
            }
            if ownership == Ownership::Update {
                match old_meta.get("managedFields") {
                    Some(v) => meta.insert("managedFields".into(), v.clone()),
                    None => meta.remove("managedFields"),
                };
            }
        }
        set_type(ty, &mut new);
        self.apply_schema(ty, &mut new, Some(&old), opts)?;
        if meta::is_deleting(&old) {
            let before = meta::finalizers(&old);
            if let Some(added) = meta::finalizers(&new).iter().find(|f| !before.contains(f)) {
                return Err(ApiError::invalid(
                    &ty.group,
                    &ty.plural,
                    &key.name,
                    &format!(
                        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers [{added:?}]"
                    ),
                ));
            }
        }
        self.on_update(ty, &old, &mut new)?;
        if ty.generation && spec_part(ty, &old) != spec_part(ty, &new) {
            metadata_mut(&mut new).insert("generation".into(), json!(meta::generation(&old) + 1));
        }
        if ownership == Ownership::Update {
            ManagedFields::record_update(
                Some(&old),
                &mut new,
                &opts.manager,
                scope_of(ty, target),
                &ty.api_version(),
            );
        }
        if new == *old {
            // The real server does not write identical objects: no new resourceVersion, no event.
            return Ok(old);
        }
        if opts.dry_run {
            return Ok(Arc::new(new));
        }
        if meta::is_deleting(&new)
            && meta::finalizers(&new).is_empty()
            && !self.waits_for_system(ty, &new)
        {
            return Ok(self.state.remove(key).unwrap_or(old));
        }
        Ok(self.state.put(key.clone(), new))
    }

    /// Whether a deleting object without finalizers still waits for something other than a
    /// finalizer: a scheduled pod for its kubelet, a namespace for its contents.
    fn waits_for_system(&self, ty: &ResourceType, obj: &Value) -> bool {
        match ty.storage_key().as_str() {
            keys::PODS => {
                meta::metadata(obj)
                    .get("deletionGracePeriodSeconds")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    > 0
            }
            keys::NAMESPACES => obj["spec"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty()),
            _ => false,
        }
    }

    /// Deletes an object, or marks it for deletion when finalizers, a kubelet or dependents
    /// (foreground) must act first.
    pub fn delete(
        &mut self,
        ty: &ResourceType,
        key: &ObjectKey,
        opts: &DeleteOptions,
    ) -> Result<Deletion, ApiError> {
        let old = self
            .state
            .get(key)
            .ok_or_else(|| ApiError::not_found(&ty.group, &ty.plural, &key.name))?;
        if let Some(uid) = &opts.uid
            && uid != meta::uid(&old)
        {
            return Err(ApiError::conflict(
                &ty.group,
                &ty.plural,
                &key.name,
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    meta::uid(&old)
                ),
            ));
        }
        if let Some(rv) = &opts.resource_version
            && Some(rv.as_str()) != meta::meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::conflict(
                &ty.group,
                &ty.plural,
                &key.name,
                &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                    meta::meta_str(&old, "resourceVersion").unwrap_or("")
                ),
            ));
        }
        let mut new = (*old).clone();
        let mut finalizers = meta::finalizers(&new);
        match opts.propagation.as_deref() {
            None | Some("Background") => {}
            Some("Foreground") => push_unique(&mut finalizers, FOREGROUND),
            Some("Orphan") => push_unique(&mut finalizers, ORPHAN),
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: {other:?}: supported values: \"Orphan\", \"Background\", \"Foreground\""
                )));
            }
        }
        let storage_key = ty.storage_key();
        let grace = if storage_key == keys::PODS {
            pod_grace(&new, opts.grace_period)
        } else {
            0
        };
        let is_namespace = storage_key == keys::NAMESPACES;
        if finalizers.is_empty() && grace == 0 && !is_namespace {
            if opts.dry_run {
                return Ok(Deletion::Removed(old));
            }
            let removed = self.state.remove(key).unwrap_or(old);
            return Ok(Deletion::Removed(removed));
        }
        meta::set_finalizers(&mut new, &finalizers);
        {
            let meta = metadata_mut(&mut new);
            let already = meta.get("deletionTimestamp").is_some_and(|v| !v.is_null());
            if !already {
                meta.insert("deletionTimestamp".into(), json!(meta::now()));
                if ty.generation {
                    let g = meta.get("generation").and_then(Value::as_i64).unwrap_or(0);
                    meta.insert("generation".into(), json!(g + 1));
                }
            }
            let current_grace = meta
                .get("deletionGracePeriodSeconds")
                .and_then(Value::as_i64);
            // A second delete may shorten the grace period, never lengthen it.
            if current_grace.is_none_or(|g| grace < g) {
                meta.insert("deletionGracePeriodSeconds".into(), json!(grace));
            }
        }
        if is_namespace {
            new["status"]["phase"] = json!("Terminating");
        }
        if opts.dry_run {
            return Ok(Deletion::Pending(Arc::new(new)));
        }
        if meta::finalizers(&new).is_empty() && !self.waits_for_system(ty, &new) {
            let removed = self.state.remove(key).unwrap_or(old);
            return Ok(Deletion::Removed(removed));
        }
        if new == *old {
            return Ok(Deletion::Pending(old));
        }
        Ok(Deletion::Pending(self.state.put(key.clone(), new)))
    }

    /// Prunes and defaults a custom resource by its schema, then runs the schema's CEL rules
    /// (`x-kubernetes-validations`, transition rules against `old` on updates) as kube-apiserver does;
    /// a scale below a CRD's `replicas >= replicationFactor` rule is refused here too.
    fn apply_schema(
        &self,
        ty: &ResourceType,
        obj: &mut Value,
        old: Option<&Value>,
        opts: &WriteOptions,
    ) -> Result<(), ApiError> {
        let Some(schema) = &ty.schema else {
            return Ok(());
        };
        let pruned = schema.prune_and_default(obj);
        if opts.strict && !pruned.is_empty() {
            let fields: Vec<String> = pruned
                .iter()
                .map(|p| format!("unknown field \"{}\"", p.trim_start_matches('.')))
                .collect();
            return Err(ApiError::bad_request(format!(
                "{} in body: strict decoding error: {}",
                ty.kind,
                fields.join(", ")
            )));
        }
        if let Err(errors) = kube_cel::validate(schema.as_value(), obj, old) {
            // kube-apiserver's form: `<path>: Invalid value: "object": <rule's message>`.
            let why: Vec<String> = errors
                .into_vec()
                .iter()
                .map(|error| {
                    let path = if error.field_path.is_empty() {
                        "<root>"
                    } else {
                        error.field_path.as_str()
                    };
                    format!("{path}: Invalid value: \"object\": {}", error.message)
                })
                .collect();
            return Err(ApiError::invalid(
                &ty.group,
                &ty.plural,
                meta::name(obj),
                &why.join(", "),
            ));
        }
        Ok(())
    }

    fn on_create(&self, ty: &ResourceType, obj: &mut Value) -> Result<(), ApiError> {
        match ty.storage_key().as_str() {
            keys::NAMESPACES => {
                let name = meta::name(obj).to_string();
                let meta = metadata_mut(obj);
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                labels["kubernetes.io/metadata.name"] = json!(name);
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
                obj["status"] = json!({"phase": "Active"});
            }
            keys::PODS => {
                obj["status"] = json!({"phase": "Pending"});
            }
            keys::CRDS => {
                self.state
                    .registry
                    .validate_crd(obj)
                    .map_err(|e| ApiError::invalid(&ty.group, &ty.plural, meta::name(obj), &e))?;
                let mut finalizers = meta::finalizers(obj);
                push_unique(&mut finalizers, CRD_CLEANUP);
                meta::set_finalizers(obj, &finalizers);
                obj["status"] = crd_status(None, obj);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_update(&self, ty: &ResourceType, old: &Value, new: &mut Value) -> Result<(), ApiError> {
        match ty.storage_key().as_str() {
            keys::NAMESPACES => {
                // spec.finalizers and the phase are the namespace controller's.
                new["spec"] = old["spec"].clone();
                if let Some(phase) = old["status"].get("phase") {
                    new["status"]["phase"] = phase.clone();
                }
                let name = meta::name(old).to_string();
                let meta = metadata_mut(new);
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                labels["kubernetes.io/metadata.name"] = json!(name);
            }
            keys::CRDS => {
                self.state
                    .registry
                    .validate_crd(new)
                    .map_err(|e| ApiError::invalid(&ty.group, &ty.plural, meta::name(new), &e))?;
                for immutable in ["group", "scope"] {
                    if old["spec"][immutable] != new["spec"][immutable] {
                        return Err(ApiError::invalid(
                            &ty.group,
                            &ty.plural,
                            meta::name(new),
                            &format!("spec.{immutable}: Invalid value: field is immutable"),
                        ));
                    }
                }
                new["status"] = crd_status(Some(&old["status"]), new);
            }
            _ => {}
        }
        Ok(())
    }
}

/// The status the real CRD controllers converge to: names accepted, established, storage version
/// recorded.
fn crd_status(old: Option<&Value>, crd: &Value) -> Value {
    let now = meta::now();
    let mut stored: Vec<Value> = old
        .and_then(|o| o["storedVersions"].as_array().cloned())
        .unwrap_or_default();
    for v in crd["spec"]["versions"].as_array().into_iter().flatten() {
        if v["storage"].as_bool() == Some(true) && !stored.contains(&v["name"]) {
            stored.push(v["name"].clone());
        }
    }
    let condition = |type_: &str, reason: &str, message: &str| {
        let since = old
            .and_then(|o| o["conditions"].as_array())
            .and_then(|cs| cs.iter().find(|c| c["type"] == type_))
            .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_string))
            .unwrap_or_else(|| now.clone());
        json!({"type": type_, "status": "True", "reason": reason, "message": message, "lastTransitionTime": since})
    };
    let mut names = crd["spec"]["names"].clone();
    if names.get("singular").is_none() {
        names["singular"] = json!(names["kind"].as_str().unwrap_or("").to_lowercase());
    }
    if names.get("listKind").is_none() {
        names["listKind"] = json!(format!("{}List", names["kind"].as_str().unwrap_or("")));
    }
    json!({
        "acceptedNames": names,
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "storedVersions": stored,
    })
}

fn pod_grace(pod: &Value, requested: Option<i64>) -> i64 {
    let scheduled = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    let finished = matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded") | Some("Failed")
    );
    if !scheduled || finished {
        // Unscheduled or finished pods have no kubelet to wait for: the real server deletes them at once.
        return 0;
    }
    requested
        .or_else(|| pod["spec"]["terminationGracePeriodSeconds"].as_i64())
        .unwrap_or(30)
        .max(0)
}

fn push_unique(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|f| f == item) {
        list.push(item.to_string());
    }
}

fn copy_field(from: &Value, to: &mut Value, field: &str) {
    let Some(map) = to.as_object_mut() else {
        return;
    };
    match from.get(field) {
        Some(v) => {
            map.insert(field.into(), v.clone());
        }
        None => {
            map.remove(field);
        }
    }
}

fn check_type(ty: &ResourceType, obj: &Value) -> Result<(), ApiError> {
    if let Some(kind) = obj.get("kind").and_then(Value::as_str)
        && !kind.is_empty()
        && kind != ty.kind
    {
        return Err(ApiError::bad_request(format!(
            "the kind in the body ({kind}) does not match the expected kind ({}) of {}",
            ty.kind, ty.plural
        )));
    }
    if let Some(api_version) = obj.get("apiVersion").and_then(Value::as_str)
        && !api_version.is_empty()
        && api_version.rsplit_once('/').map_or("", |(group, _)| group) != ty.group
    {
        return Err(ApiError::bad_request(format!(
            "the API version in the data ({api_version}) does not match the expected API version ({})",
            ty.api_version()
        )));
    }
    Ok(())
}

fn set_type(ty: &ResourceType, obj: &mut Value) {
    obj["kind"] = json!(ty.kind);
    obj["apiVersion"] = json!(ty.api_version());
}
