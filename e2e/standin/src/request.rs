//! [`Route`] and [`Query`]: what an HTTP request asks for, resolved the way the real server's
//! request-info resolver does (`/api/v1/namespaces/<ns>/<resource>/<name>/<subresource>`,
//! `/apis/<group>/<version>/…`, the deprecated `/watch/` prefix, discovery and OpenAPI paths).

/// Decoded query parameters.
#[derive(Debug, Clone, Default)]
pub struct Query {
    params: Vec<(String, String)>,
}

impl Query {
    /// Parses a raw query string (`a=b&c=d`), percent-decoding names and values.
    pub fn parse(raw: &str) -> Self {
        let params = raw
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        Self { params }
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A non-empty value of a parameter.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// A boolean parameter (`true`/`1`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true") | Some("1") | Some("True"))
    }
}

/// Percent-decoding with `+` as space, as in HTML forms (Go's `url.ParseQuery` does the same).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request for objects: `/api|apis/<gv>/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group ("" for core).
    pub group: String,
    /// Version.
    pub version: String,
    /// Namespace from the path.
    pub namespace: Option<String>,
    /// Plural resource.
    pub resource: String,
    /// Object name.
    pub name: Option<String>,
    /// Subresource.
    pub subresource: Option<String>,
    /// Came through the deprecated `/watch/` prefix.
    pub legacy_watch: bool,
}

/// What a path addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/healthz`, `/livez`, `/readyz`.
    Health,
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    GroupList,
    /// `/apis/<group>`.
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`.
    ResourceList {
        /// Group.
        group: String,
        /// Version.
        version: String,
    },
    /// `/openapi/v2`.
    OpenApiV2,
    /// `/openapi/v3`.
    OpenApiV3Root,
    /// `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>`.
    OpenApiV3 {
        /// Group.
        group: String,
        /// Version.
        version: String,
    },
    /// An object or collection.
    Resource(ResourcePath),
    /// Nothing served here.
    Unknown,
}

impl Route {
    /// Resolves a URL path.
    pub fn parse(path: &str) -> Route {
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        match parts.as_slice() {
            ["version"] => Route::Version,
            ["healthz"] | ["livez"] | ["readyz"] => Route::Health,
            ["api"] => Route::CoreVersions,
            ["apis"] => Route::GroupList,
            ["apis", group] => Route::Group(group.to_string()),
            ["api", version] => Route::ResourceList {
                group: String::new(),
                version: version.to_string(),
            },
            ["apis", group, version] => Route::ResourceList {
                group: group.to_string(),
                version: version.to_string(),
            },
            ["openapi", "v2"] => Route::OpenApiV2,
            ["openapi", "v3"] => Route::OpenApiV3Root,
            ["openapi", "v3", "api", version] => Route::OpenApiV3 {
                group: String::new(),
                version: version.to_string(),
            },
            ["openapi", "v3", "apis", group, version] => Route::OpenApiV3 {
                group: group.to_string(),
                version: version.to_string(),
            },
            ["api", version, rest @ ..] => resource_route("", version, rest),
            ["apis", group, version, rest @ ..] => resource_route(group, version, rest),
            _ => Route::Unknown,
        }
    }
}

fn resource_route(group: &str, version: &str, rest: &[&str]) -> Route {
    let mut rest = rest;
    let legacy_watch = rest.first() == Some(&"watch");
    if legacy_watch {
        rest = &rest[1..];
    }
    let mut namespace = None;
    if rest.first() == Some(&"namespaces") && rest.len() > 1 {
        // `namespaces/<ns>` and `namespaces/<ns>/status|finalize` address the Namespace itself.
        if rest.len() == 2 || matches!(rest[2], "status" | "finalize") {
            return Route::Resource(ResourcePath {
                group: group.into(),
                version: version.into(),
                namespace: None,
                resource: "namespaces".into(),
                name: Some(rest[1].into()),
                subresource: rest.get(2).map(|s| s.to_string()),
                legacy_watch,
            });
        }
        namespace = Some(rest[1].to_string());
        rest = &rest[2..];
    }
    match rest {
        [resource] => Route::Resource(ResourcePath {
            group: group.into(),
            version: version.into(),
            namespace,
            resource: resource.to_string(),
            name: None,
            subresource: None,
            legacy_watch,
        }),
        [resource, name] | [resource, name, _] => Route::Resource(ResourcePath {
            group: group.into(),
            version: version.into(),
            namespace,
            resource: resource.to_string(),
            name: Some(name.to_string()),
            subresource: rest.get(2).map(|s| s.to_string()),
            legacy_watch,
        }),
        _ => Route::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_paths() {
        assert_eq!(Route::parse("/api"), Route::CoreVersions);
        let Route::Resource(p) =
            Route::parse("/apis/cache.ringcache.dev/v1alpha1/namespaces/ns/cacheclusters/a/scale")
        else {
            panic!("not a resource route");
        };
        assert_eq!(p.group, "cache.ringcache.dev");
        assert_eq!(p.namespace.as_deref(), Some("ns"));
        assert_eq!(p.name.as_deref(), Some("a"));
        assert_eq!(p.subresource.as_deref(), Some("scale"));
        let Route::Resource(ns) = Route::parse("/api/v1/namespaces/foo") else {
            panic!("not a resource route");
        };
        assert_eq!(
            (ns.resource.as_str(), ns.name.as_deref()),
            ("namespaces", Some("foo"))
        );
        let Route::Resource(all) = Route::parse("/api/v1/pods") else {
            panic!("not a resource route");
        };
        assert_eq!((all.namespace, all.name), (None, None));
        assert_eq!(Route::parse("/api/v1/a/b/c/d"), Route::Unknown);
    }

    #[test]
    fn decodes_queries() {
        let q = Query::parse("labelSelector=app%3Dx%2Ctier+in+%28a%29&watch=1&x");
        assert_eq!(q.get("labelSelector"), Some("app=x,tier in (a)"));
        assert!(q.flag("watch"));
        assert_eq!(q.get("x"), Some(""));
    }
}
