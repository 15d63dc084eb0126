//! [`Handler`]: one HTTP request from start to answer — authentication, routing, RBAC, and the
//! verbs (get, list, watch, create, update, patch, delete, deletecollection) on objects and on
//! their `status` and `scale` subresources. Anything not served answers a `Status` error naming
//! the method and path.

use super::discovery::Discovery;
use super::error::ApiError;
use super::fields::{self, Scope};
use super::meta;
use super::openapi::OpenApi;
use super::options::ApiServerOptions;
use super::patch::{PatchType, parse_body};
use super::rbac::{Attributes, Authorizer};
use super::request::{Query, ResourcePath, Route};
use super::resources::ResourceType;
use super::review::AccessReview;
use super::scale::ScaleView;
use super::selector::{FieldSelector, LabelSelector};
use super::store::{ObjectKey, Store};
use super::table::{TABLE_CONTENT_TYPE, TableView};
use super::users::{Authenticator, KubeUser};
use super::watch::WatchSpec;
use super::writer::{DeleteOptions, Deletion, Ownership, Target, WriteOptions, Writer};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Shared state of a running stand-in and the request entry point.
pub struct Handler {
    /// The objects.
    pub store: Arc<Store>,
    /// Tokens.
    pub auth: Authenticator,
    /// Settings.
    pub options: ApiServerOptions,
    /// Where it listens (for `/api`'s serverAddressByClientCIDRs).
    pub addr: SocketAddr,
    /// Becomes true at shutdown; ends watches.
    pub shutdown: watch::Receiver<bool>,
}

/// Content-Type of a metadata-only object.
const PARTIAL_CONTENT_TYPE: &str = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";
/// Content-Type of a metadata-only list.
const PARTIAL_LIST_CONTENT_TYPE: &str =
    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

/// The parts of a request the verbs need.
struct Call<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a Query,
    headers: &'a HeaderMap,
    body: &'a Bytes,
    user: &'a KubeUser,
}

impl Call<'_> {
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn write_options(&self) -> Result<WriteOptions, ApiError> {
        let dry_run = match self.query.get("dryRun") {
            None | Some("") => false,
            Some("All") => true,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "dryRun: Unsupported value: {other:?}: supported values: \"All\""
                )));
            }
        };
        // The real server's default is Warn: prune unknown fields and go on.
        let strict = match self.query.get("fieldValidation") {
            Some("Strict") => true,
            None | Some("") | Some("Warn") | Some("Ignore") => false,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "fieldValidation: Unsupported value: {other:?}: supported values: \"Ignore\", \"Warn\", \"Strict\""
                )));
            }
        };
        // Like the real server, a missing fieldManager defaults to the user agent's program name.
        let manager = self
            .query
            .non_empty("fieldManager")
            .map(str::to_string)
            .unwrap_or_else(|| {
                let agent = self.header(header::USER_AGENT);
                let program = agent.split('/').next().unwrap_or("").trim();
                if program.is_empty() {
                    "unknown".into()
                } else {
                    program.to_string()
                }
            });
        Ok(WriteOptions {
            manager,
            dry_run,
            strict,
        })
    }
}

fn respond(code: StatusCode, body: &Value, content_type: &str) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(bytes))
        .expect("static headers are valid")
}

fn ok_json(body: &Value) -> Response {
    respond(StatusCode::OK, body, "application/json")
}

fn error_response(error: &ApiError) -> Response {
    respond(error.http_status(), &error.status(), "application/json")
}

/// The object as served at the requested version.
fn served(ty: &ResourceType, obj: &Value) -> Value {
    let mut obj = obj.clone();
    obj["apiVersion"] = json!(ty.api_version());
    obj
}

/// Continue tokens: the list's resourceVersion and the last key returned, hex-encoded so they are
/// opaque and URL-safe.
fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    format!("{rv}\u{0}{namespace}\u{0}{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(token: &str) -> Option<(u64, String, String)> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let mut parts = text.split('\u{0}');
    let rv = parts.next()?.parse().ok()?;
    Some((rv, parts.next()?.to_string(), parts.next()?.to_string()))
}

fn parse_rv(value: &str) -> Result<u64, ApiError> {
    value
        .parse()
        .map_err(|_| ApiError::bad_request(format!("invalid resource version: {value:?}")))
}

/// The user named by `Impersonate-User`/`Impersonate-Group` headers, which only the admin may use
/// (in a real cluster: whoever may `impersonate` users, groups and service accounts).
fn impersonate(headers: &HeaderMap, user: KubeUser) -> Result<KubeUser, ApiError> {
    let Some(target) = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(user);
    };
    if !user.is_admin() {
        return Err(ApiError::forbidden(format!(
            "users \"{target}\" is forbidden: User \"{}\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope",
            user.username()
        )));
    }
    let groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    Ok(KubeUser::from_username(target, &groups))
}

impl Handler {
    /// Answers one request.
    pub async fn handle(self: Arc<Self>, request: Request<Body>) -> Response {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_string();
        let query = Query::parse(parts.uri.query().unwrap_or(""));
        let body = match axum::body::to_bytes(body, self.options.max_body_bytes).await {
            Ok(b) => b,
            Err(_) => {
                let e = ApiError {
                    code: 413,
                    reason: "RequestEntityTooLarge",
                    message: format!(
                        "the request body is larger than {} bytes",
                        self.options.max_body_bytes
                    ),
                    details: None,
                };
                return error_response(&e);
            }
        };
        let authorization = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let user = match (self.auth.authenticate(authorization), authorization) {
            (Some(user), _) => user,
            // Without RBAC every caller is the admin, as with an insecure port.
            (None, _) if !self.options.rbac => KubeUser::Admin,
            (None, None) if self.options.anonymous.is_some() => {
                self.options.anonymous.clone().expect("checked above")
            }
            (None, _) => return error_response(&ApiError::unauthorized()),
        };
        let user = match impersonate(&parts.headers, user) {
            Ok(user) => user,
            Err(e) => return error_response(&e),
        };
        let call = Call {
            method: &parts.method,
            path: &path,
            query: &query,
            headers: &parts.headers,
            body: &body,
            user: &user,
        };
        let result = self.route(&call);
        let response = result.unwrap_or_else(|e| error_response(&e));
        tracing::debug!(method = %parts.method, %path, status = response.status().as_u16(), user = %user.username(), "api request");
        response
    }

    fn route(&self, call: &Call<'_>) -> Result<Response, ApiError> {
        let route = Route::parse(call.path);
        let is_get = call.method == Method::GET;
        if !is_get && !matches!(route, Route::Resource(_)) {
            return Err(ApiError::method_not_allowed(
                call.method.as_str(),
                call.path,
            ));
        }
        let accept = call.header(header::ACCEPT).to_string();
        if !matches!(route, Route::Resource(_) | Route::Unknown) {
            // Discovery and OpenAPI: open to every authenticated user (the real default RBAC
            // grants it to system:authenticated).
            let state = self.store.lock();
            let discovery = Discovery::new(&state.registry);
            let aggregated = Discovery::aggregated_version(&accept);
            return match route {
                Route::Version => Ok(ok_json(&Discovery::version())),
                Route::Health => Ok(Response::new(Body::from("ok"))),
                Route::CoreVersions => Ok(match aggregated {
                    Some(v) => respond(
                        StatusCode::OK,
                        &discovery.aggregated(true, v),
                        &Discovery::aggregated_content_type(v),
                    ),
                    None => ok_json(&Discovery::core_versions(&self.addr.to_string())),
                }),
                Route::GroupList => Ok(match aggregated {
                    Some(v) => respond(
                        StatusCode::OK,
                        &discovery.aggregated(false, v),
                        &Discovery::aggregated_content_type(v),
                    ),
                    None => ok_json(&discovery.group_list()),
                }),
                Route::Group(g) => discovery
                    .group(&g)
                    .map(|v| ok_json(&v))
                    .ok_or_else(ApiError::no_route),
                Route::ResourceList { group, version } => discovery
                    .resource_list(&group, &version)
                    .map(|v| ok_json(&v))
                    .ok_or_else(ApiError::no_route),
                Route::OpenApiV2 => Ok(ok_json(&OpenApi::new(&state.registry).v2())),
                Route::OpenApiV3Root => Ok(ok_json(&OpenApi::new(&state.registry).v3_root())),
                Route::OpenApiV3 { group, version } => OpenApi::new(&state.registry)
                    .v3_group_version(&group, &version)
                    .map(|v| ok_json(&v))
                    .ok_or_else(ApiError::no_route),
                Route::Resource(_) | Route::Unknown => Err(ApiError::no_route()),
            };
        }
        match route {
            Route::Resource(rp) => self.resource(call, &rp),
            _ => Err(ApiError::no_route()),
        }
    }

    fn resource(&self, call: &Call<'_>, rp: &ResourcePath) -> Result<Response, ApiError> {
        let accept = call.header(header::ACCEPT);
        if !accept.is_empty()
            && !accept.contains("json")
            && !accept.contains("*/*")
            && !accept.contains("yaml")
        {
            return Err(ApiError {
                code: 406,
                reason: "NotAcceptable",
                message: format!(
                    "only application/json is served by the ringcache API stand-in, not {accept:?}"
                ),
                details: None,
            });
        }
        let ty = self
            .store
            .lock()
            .registry
            .find(&rp.group, &rp.version, &rp.resource)
            .ok_or_else(ApiError::no_route)?;
        if (rp.namespace.is_some() && !ty.namespaced)
            || (rp.name.is_some() && ty.namespaced && rp.namespace.is_none())
        {
            return Err(ApiError::no_route());
        }
        let sub = rp.subresource.as_deref().unwrap_or("");
        match sub {
            "" => {}
            "status" if ty.status_subresource => {}
            "scale" if ty.scale.is_some() => {}
            "status" | "scale" => return Err(ApiError::no_route()),
            other => {
                return Err(ApiError::not_implemented(
                    call.method.as_str(),
                    call.path,
                    &format!("the {other:?} subresource of {}", ty.plural),
                ));
            }
        }
        let is_watch = rp.legacy_watch || call.query.flag("watch");
        let has_name = rp.name.is_some();
        let verb = match (call.method.clone(), has_name) {
            (Method::GET, _) if is_watch => "watch",
            (Method::GET, true) => "get",
            (Method::GET, false) => "list",
            (Method::POST, false) => "create",
            (Method::PUT, true) => "update",
            (Method::PATCH, true) => "patch",
            (Method::DELETE, true) if sub.is_empty() => "delete",
            (Method::DELETE, false) => "deletecollection",
            _ => {
                return Err(ApiError::method_not_allowed(
                    call.method.as_str(),
                    call.path,
                ));
            }
        };
        let namespace = rp.namespace.clone().unwrap_or_default();
        let name = rp.name.clone().unwrap_or_default();
        if ty.create_only {
            return self.review(call, &ty, verb);
        }
        if self.options.rbac {
            let state = self.store.lock();
            Authorizer.authorize(
                &state,
                &Attributes {
                    user: call.user,
                    verb,
                    group: &ty.group,
                    resource: &ty.plural,
                    subresource: sub,
                    namespace: &namespace,
                    name: &name,
                },
            )?;
        }
        let key = ObjectKey::new(&ty.storage_key(), &namespace, &name);
        match verb {
            "get" => self.get(call, &ty, &key, sub),
            "list" => self.list(call, &ty, rp.namespace.as_deref()),
            "watch" => self.watch(call, &ty, rp),
            "create" => self.create(call, &ty, rp.namespace.as_deref()),
            "update" => self.update(call, &ty, &key, sub),
            "patch" => self.patch(call, &ty, &key, sub),
            "delete" => self.delete(call, &ty, &key),
            _ => self.delete_collection(call, &ty, rp.namespace.as_deref()),
        }
    }

    /// Access reviews: answered, never stored. Anyone may review themselves; reviewing others
    /// needs `create` on subjectaccessreviews.
    fn review(&self, call: &Call<'_>, ty: &ResourceType, verb: &str) -> Result<Response, ApiError> {
        if verb != "create" {
            return Err(ApiError::method_not_allowed(
                call.method.as_str(),
                call.path,
            ));
        }
        let body = Self::body_object(call)?;
        let state = self.store.lock();
        if self.options.rbac && ty.kind != "SelfSubjectAccessReview" {
            Authorizer.authorize(
                &state,
                &Attributes {
                    user: call.user,
                    verb,
                    group: &ty.group,
                    resource: &ty.plural,
                    subresource: "",
                    namespace: "",
                    name: "",
                },
            )?;
        }
        let answered = AccessReview.answer(&state, ty, call.user, body, self.options.rbac)?;
        Ok(respond(StatusCode::CREATED, &answered, "application/json"))
    }

    fn get(
        &self,
        call: &Call<'_>,
        ty: &ResourceType,
        key: &ObjectKey,
        sub: &str,
    ) -> Result<Response, ApiError> {
        let state = self.store.lock();
        let obj = state
            .get(key)
            .ok_or_else(|| ApiError::not_found(&ty.group, &ty.plural, &key.name))?;
        if sub == "scale" {
            return Ok(ok_json(&ScaleView::of(ty)?.scale(&obj)));
        }
        if TableView::wanted(call.header(header::ACCEPT)) {
            let rv = meta::meta_str(&obj, "resourceVersion")
                .unwrap_or("")
                .to_string();
            let include = call.query.get("includeObject").unwrap_or("Metadata");
            let table = TableView::new(ty).render(&[obj], &rv, include);
            return Ok(respond(StatusCode::OK, &table, TABLE_CONTENT_TYPE));
        }
        if meta::wants_partial(call.header(header::ACCEPT)) {
            return Ok(respond(
                StatusCode::OK,
                &meta::partial(&obj),
                PARTIAL_CONTENT_TYPE,
            ));
        }
        Ok(ok_json(&served(ty, &obj)))
    }

    fn selectors(call: &Call<'_>) -> Result<(LabelSelector, FieldSelector), ApiError> {
        Ok((
            LabelSelector::parse(call.query.get("labelSelector").unwrap_or(""))?,
            FieldSelector::parse(call.query.get("fieldSelector").unwrap_or(""))?,
        ))
    }

    fn list(
        &self,
        call: &Call<'_>,
        ty: &ResourceType,
        namespace: Option<&str>,
    ) -> Result<Response, ApiError> {
        if call.query.non_empty("sendInitialEvents").is_some() {
            return Err(ApiError::bad_request(
                "sendInitialEvents is only allowed with watch",
            ));
        }
        let (labels, fields) = Self::selectors(call)?;
        let limit: usize = call
            .query
            .non_empty("limit")
            .map(|l| {
                l.parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))
            })
            .transpose()?
            .unwrap_or(0);
        let state = self.store.lock();
        let storage = ty.storage_key();
        let mut after: Option<(String, String)> = None;
        let (rv, objects) = if let Some(token) = call.query.non_empty("continue") {
            let (rv, ns, name) = decode_continue(token)
                .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            after = Some((ns, name));
            let objects = state.list_at(&storage, namespace, rv).map_err(|_| {
                ApiError::expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
            })?;
            (rv, objects)
        } else {
            let requested = call.query.non_empty("resourceVersion");
            match (call.query.non_empty("resourceVersionMatch"), requested) {
                (Some("Exact"), Some(rv)) => {
                    let rv = parse_rv(rv)?;
                    let objects = state.list_at(&storage, namespace, rv).map_err(|too_old| {
                        ApiError::expired(format!(
                            "too old resource version: {} ({})",
                            too_old.requested, too_old.oldest
                        ))
                    })?;
                    (rv, objects)
                }
                (Some("Exact") | Some("NotOlderThan"), None) => {
                    return Err(ApiError::bad_request(
                        "resourceVersionMatch is forbidden unless resourceVersion is provided",
                    ));
                }
                (Some("NotOlderThan") | None, rv) => {
                    if let Some(rv) = rv {
                        parse_rv(rv)?;
                    }
                    (state.resource_version(), state.list(&storage, namespace))
                }
                (Some(other), _) => {
                    return Err(ApiError::bad_request(format!(
                        "resourceVersionMatch: Unsupported value: {other:?}: supported values: \"Exact\", \"NotOlderThan\""
                    )));
                }
            }
        };
        let mut selected: Vec<Arc<Value>> = objects
            .into_iter()
            .filter(|o| {
                after.as_ref().is_none_or(|(ns, name)| {
                    (meta::namespace(o), meta::name(o)) > (ns.as_str(), name.as_str())
                })
            })
            .filter(|o| labels.matches(&meta::labels(o)) && fields.matches(o))
            .collect();
        let mut list_meta = json!({"resourceVersion": rv.to_string()});
        if limit > 0 && selected.len() > limit {
            let remaining = selected.len() - limit;
            selected.truncate(limit);
            let last = selected.last().expect("limit > 0");
            list_meta["continue"] =
                json!(encode_continue(rv, meta::namespace(last), meta::name(last)));
            list_meta["remainingItemCount"] = json!(remaining);
        }
        if TableView::wanted(call.header(header::ACCEPT)) {
            let include = call.query.get("includeObject").unwrap_or("Metadata");
            let mut table = TableView::new(ty).render(&selected, &rv.to_string(), include);
            table["metadata"] = list_meta;
            return Ok(respond(StatusCode::OK, &table, TABLE_CONTENT_TYPE));
        }
        if meta::wants_partial(call.header(header::ACCEPT)) {
            let items: Vec<Value> = selected.iter().map(|o| meta::partial(o)).collect();
            let list = json!({
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": list_meta,
                "items": items,
            });
            return Ok(respond(StatusCode::OK, &list, PARTIAL_LIST_CONTENT_TYPE));
        }
        let items: Vec<Value> = selected.iter().map(|o| served(ty, o)).collect();
        Ok(ok_json(&json!({
            "kind": ty.list_kind,
            "apiVersion": ty.api_version(),
            "metadata": list_meta,
            "items": items,
        })))
    }

    fn watch(
        &self,
        call: &Call<'_>,
        ty: &Arc<ResourceType>,
        rp: &ResourcePath,
    ) -> Result<Response, ApiError> {
        if call.query.flag("sendInitialEvents") {
            return Err(ApiError::not_implemented(
                call.method.as_str(),
                call.path,
                "sendInitialEvents (streaming lists); list, then watch from the list's resourceVersion",
            ));
        }
        let (labels, mut fields) = Self::selectors(call)?;
        if let Some(name) = &rp.name {
            let pinned = format!("metadata.name={name}");
            let text = match call.query.non_empty("fieldSelector") {
                Some(f) => format!("{f},{pinned}"),
                None => pinned,
            };
            fields = FieldSelector::parse(&text)?;
        }
        let start = match call.query.non_empty("resourceVersion") {
            None | Some("0") => None,
            Some(rv) => Some(parse_rv(rv)?),
        };
        let timeout = match call.query.non_empty("timeoutSeconds") {
            Some(t) => Duration::from_secs(
                t.parse()
                    .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds {t:?}")))?,
            ),
            None => self.options.default_watch_timeout,
        };
        let spec = WatchSpec {
            ty: ty.clone(),
            namespace: rp.namespace.clone(),
            labels,
            fields,
            start,
            bookmarks: call.query.flag("allowWatchBookmarks"),
            bookmark_interval: self.options.bookmark_interval,
            timeout,
            metadata_only: meta::wants_partial(call.header(header::ACCEPT)),
            table: TableView::wanted(call.header(header::ACCEPT)).then(|| {
                call.query
                    .get("includeObject")
                    .unwrap_or("Metadata")
                    .to_string()
            }),
        };
        let content_type = if spec.table.is_some() {
            TABLE_CONTENT_TYPE
        } else {
            "application/json"
        };
        let stream = spec.stream(self.store.clone(), self.shutdown.clone());
        Ok(Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from_stream(stream))
            .expect("static headers are valid"))
    }

    fn body_object(call: &Call<'_>) -> Result<Value, ApiError> {
        let content_type = call.header(header::CONTENT_TYPE);
        if content_type.contains("protobuf") || content_type.contains("cbor") {
            return Err(ApiError::unsupported_media_type(content_type));
        }
        parse_body(call.body)
    }

    fn create(
        &self,
        call: &Call<'_>,
        ty: &ResourceType,
        namespace: Option<&str>,
    ) -> Result<Response, ApiError> {
        let obj = Self::body_object(call)?;
        let opts = call.write_options()?;
        let mut state = self.store.lock();
        let created =
            Writer::new(&mut state).create(ty, namespace, obj, &opts, Ownership::Update)?;
        Ok(respond(
            StatusCode::CREATED,
            &served(ty, &created),
            "application/json",
        ))
    }

    fn update(
        &self,
        call: &Call<'_>,
        ty: &ResourceType,
        key: &ObjectKey,
        sub: &str,
    ) -> Result<Response, ApiError> {
        let body = Self::body_object(call)?;
        let opts = call.write_options()?;
        let mut state = self.store.lock();
        if sub == "scale" {
            let view = ScaleView::of(ty)?;
            let old = state
                .get(key)
                .ok_or_else(|| ApiError::not_found(&ty.group, &ty.plural, &key.name))?;
            let candidate = view.apply_scale(&old, &body)?;
            let new = Writer::new(&mut state).update(
                ty,
                key,
                candidate,
                Target::Main,
                &opts,
                Ownership::Update,
            )?;
            return Ok(ok_json(&view.scale(&new)));
        }
        let target = if sub == "status" {
            Target::Status
        } else {
            Target::Main
        };
        let new =
            Writer::new(&mut state).update(ty, key, body, target, &opts, Ownership::Update)?;
        Ok(ok_json(&served(ty, &new)))
    }

    fn patch(
        &self,
        call: &Call<'_>,
        ty: &ResourceType,
        key: &ObjectKey,
        sub: &str,
    ) -> Result<Response, ApiError> {
        let content_type = call.header(header::CONTENT_TYPE);
        let patch_type = PatchType::from_content_type(content_type)?;
        let opts = call.write_options()?;
        let force = match call.query.get("force") {
            None | Some("") | Some("false") => false,
            Some("true") => true,
            Some(other) => return Err(ApiError::bad_request(format!("invalid force {other:?}"))),
        };
        if force && patch_type != PatchType::Apply {
            return Err(ApiError::bad_request(
                "force: Forbidden: may not be specified for non-apply patch",
            ));
        }
        if patch_type == PatchType::Apply && call.query.non_empty("fieldManager").is_none() {
            // 422 Invalid, as kube-apiserver 1.37 answers it.
            return Err(ApiError::new(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            )
            .with_details("meta.k8s.io", "PatchOptions", ""));
        }
        let mut state = self.store.lock();
        let old = state.get(key);
        if sub == "scale" {
            let view = ScaleView::of(ty)?;
            let old = old.ok_or_else(|| ApiError::not_found(&ty.group, &ty.plural, &key.name))?;
            let scale = view.scale(&old);
            // The patch applies to the Scale object; apply configurations merge into it.
            let patched = match patch_type {
                PatchType::Apply => {
                    let mut merged = scale.clone();
                    json_patch::merge(&mut merged, &parse_body(call.body)?);
                    merged
                }
                other => other.apply(&scale, call.body)?,
            };
            let candidate = view.apply_scale(&old, &patched)?;
            let new = Writer::new(&mut state).update(
                ty,
                key,
                candidate,
                Target::Main,
                &opts,
                Ownership::Update,
            )?;
            return Ok(ok_json(&view.scale(&new)));
        }
        let target = if sub == "status" {
            Target::Status
        } else {
            Target::Main
        };
        let scope = match target {
            Target::Main => Scope::Main {
                exclude_status: ty.status_subresource,
            },
            Target::Status => Scope::Status,
        };
        if patch_type != PatchType::Apply {
            let old = old.ok_or_else(|| ApiError::not_found(&ty.group, &ty.plural, &key.name))?;
            let candidate = patch_type.apply(&served(ty, &old), call.body)?;
            let new = Writer::new(&mut state).update(
                ty,
                key,
                candidate,
                target,
                &opts,
                Ownership::Update,
            )?;
            return Ok(ok_json(&served(ty, &new)));
        }
        let config = parse_body(call.body)?;
        if !config.is_object() {
            return Err(ApiError::bad_request(
                "an apply configuration must be an object",
            ));
        }
        let cfg_name = meta::name(&config);
        if !cfg_name.is_empty() && cfg_name != key.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({cfg_name}) does not match the name on the URL ({})",
                key.name
            )));
        }
        let conflict_error = |conflicts: fields::Conflicts| {
            let causes: Vec<Value> = conflicts
                .iter()
                .map(|(path, owners)| {
                    json!({"type": "FieldManagerConflict", "message": format!("conflict with {:?}", owners.join(", ")), "field": path})
                })
                .collect();
            let lines: Vec<String> = conflicts
                .iter()
                .map(|(path, owners)| format!("conflict with {:?}: {path}", owners.join(", ")))
                .collect();
            let noun = if conflicts.len() == 1 {
                "conflict"
            } else {
                "conflicts"
            };
            let mut e = ApiError::conflict(&ty.group, &ty.plural, &key.name, "");
            // The real server's wording, which kubectl explains to the user.
            e.message = format!(
                "Apply failed with {} {noun}: {}",
                conflicts.len(),
                lines.join("\n")
            );
            if let Some(d) = e.details.as_mut() {
                d["causes"] = json!(causes);
            }
            e
        };
        match old {
            Some(old) => {
                if let Some(rv) = meta::meta_str(&config, "resourceVersion")
                    && !rv.is_empty()
                    && Some(rv) != meta::meta_str(&old, "resourceVersion")
                {
                    return Err(ApiError::conflict_stale(&ty.group, &ty.plural, &key.name));
                }
                let mut config = config;
                if let Some(m) = config["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                let merged = fields::server_side_apply(
                    &served(ty, &old),
                    &config,
                    &opts.manager,
                    force,
                    scope,
                )
                .map_err(conflict_error)?;
                let new = Writer::new(&mut state).update(
                    ty,
                    key,
                    merged,
                    target,
                    &opts,
                    Ownership::Precomputed,
                )?;
                Ok(ok_json(&served(ty, &new)))
            }
            None if target == Target::Status => {
                Err(ApiError::not_found(&ty.group, &ty.plural, &key.name))
            }
            None => {
                if self.options.rbac {
                    Authorizer.authorize(
                        &state,
                        &Attributes {
                            user: call.user,
                            verb: "create",
                            group: &ty.group,
                            resource: &ty.plural,
                            subresource: "",
                            namespace: &key.namespace,
                            name: &key.name,
                        },
                    )?;
                }
                let mut skeleton = json!({
                    "apiVersion": ty.api_version(),
                    "kind": ty.kind,
                    "metadata": {"name": key.name},
                });
                if ty.namespaced {
                    skeleton["metadata"]["namespace"] = json!(key.namespace);
                }
                let mut merged =
                    fields::server_side_apply(&skeleton, &config, &opts.manager, force, scope)
                        .map_err(conflict_error)?;
                merged["metadata"]["name"] = json!(key.name);
                let namespace = ty.namespaced.then_some(key.namespace.as_str());
                let created = Writer::new(&mut state).create(
                    ty,
                    namespace,
                    merged,
                    &opts,
                    Ownership::Precomputed,
                )?;
                Ok(respond(
                    StatusCode::CREATED,
                    &served(ty, &created),
                    "application/json",
                ))
            }
        }
    }

    fn delete_options(call: &Call<'_>) -> Result<DeleteOptions, ApiError> {
        let body: Value = if call.body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            parse_body(call.body)?
        };
        let mut opts = DeleteOptions {
            propagation: body["propagationPolicy"].as_str().map(str::to_string),
            grace_period: body["gracePeriodSeconds"].as_i64(),
            uid: body["preconditions"]["uid"].as_str().map(str::to_string),
            resource_version: body["preconditions"]["resourceVersion"]
                .as_str()
                .map(str::to_string),
            dry_run: body["dryRun"]
                .as_array()
                .is_some_and(|d| d.iter().any(|v| v == "All")),
        };
        if body["orphanDependents"].as_bool() == Some(true) || call.query.flag("orphanDependents") {
            opts.propagation = Some("Orphan".into());
        }
        if let Some(p) = call.query.non_empty("propagationPolicy") {
            opts.propagation = Some(p.to_string());
        }
        if let Some(g) = call.query.non_empty("gracePeriodSeconds") {
            opts.grace_period =
                Some(g.parse().map_err(|_| {
                    ApiError::bad_request(format!("invalid gracePeriodSeconds {g:?}"))
                })?);
        }
        if call.query.get("dryRun") == Some("All") {
            opts.dry_run = true;
        }
        Ok(opts)
    }

    fn delete(
        &self,
        call: &Call<'_>,
        ty: &ResourceType,
        key: &ObjectKey,
    ) -> Result<Response, ApiError> {
        let opts = Self::delete_options(call)?;
        let mut state = self.store.lock();
        match Writer::new(&mut state).delete(ty, key, &opts)? {
            Deletion::Removed(obj) => Ok(ok_json(&json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Success",
                "details": {"name": key.name, "group": ty.group, "kind": ty.plural, "uid": meta::uid(&obj)},
            }))),
            Deletion::Pending(obj) => Ok(ok_json(&served(ty, &obj))),
        }
    }

    fn delete_collection(
        &self,
        call: &Call<'_>,
        ty: &ResourceType,
        namespace: Option<&str>,
    ) -> Result<Response, ApiError> {
        let opts = Self::delete_options(call)?;
        let (labels, fields) = Self::selectors(call)?;
        let mut state = self.store.lock();
        let targets: Vec<Arc<Value>> = state
            .list(&ty.storage_key(), namespace)
            .into_iter()
            .filter(|o| labels.matches(&meta::labels(o)) && fields.matches(o))
            .collect();
        let mut items = Vec::new();
        for obj in targets {
            let key = ObjectKey::new(&ty.storage_key(), meta::namespace(&obj), meta::name(&obj));
            match Writer::new(&mut state).delete(ty, &key, &opts)? {
                Deletion::Removed(o) | Deletion::Pending(o) => items.push(served(ty, &o)),
            }
        }
        Ok(ok_json(&json!({
            "kind": ty.list_kind,
            "apiVersion": ty.api_version(),
            "metadata": {"resourceVersion": state.resource_version().to_string()},
            "items": items,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip() {
        let token = encode_continue(42, "ns", "name-1");
        assert_eq!(
            decode_continue(&token),
            Some((42, "ns".into(), "name-1".into()))
        );
        assert_eq!(decode_continue("zz"), None);
    }
}
