//! The Helm chart's RBAC against the operator's permission table (`ringcache_operator::rbac`).
//!
//! Runs the real `helm template` on `charts/ringcache-operator` (default values: cluster-wide; one
//! watched namespace: Roles only; leader election off), follows the bindings of the ServiceAccount
//! the Deployment runs as to the rules they grant, and checks both ways: every permission of the
//! table is granted where it is needed, and nothing else is granted anywhere.
//!
//! helm is found through `RINGCACHE_HELM`, else `~/.cache/ringcache/bin/helm`, else `PATH`
//! (`scripts/install-deps.sh` installs the pinned one); see `chart/mod.rs`.

mod chart;

use chart::{RELEASE_NAMESPACE, render};
use ringcache_operator::rbac::{PERMISSIONS, Permission, Scope};
use serde_yaml::Value;
use std::collections::BTreeSet;

/// Grants the chart may make beyond the table, each with its reason. None today: the chart grants
/// exactly what the operator uses.
const CHART_EXTRAS: &[Permission] = &[];

/// Where a rule applies: cluster-wide (ClusterRoleBinding) or in one namespace (RoleBinding).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Cluster,
    Namespace(String),
}

impl Place {
    fn covers(&self, other: &Place) -> bool {
        *self == Place::Cluster || self == other
    }
}

/// One verb on one resource, granted by a rule bound to the operator's ServiceAccount.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Grant {
    place: Place,
    group: String,
    resource: String,
    verb: String,
    /// `resourceNames` of the rule; empty: every object.
    names: Vec<String>,
}

/// What the rendered Deployment says about where the operator acts.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Setup {
    service_account: String,
    /// Where CacheClusters are watched: `--namespace`, else the whole cluster.
    watched: Place,
    /// `--lease-namespace` and `--lease-name`, when leader election is on.
    lease: Option<(String, String)>,
}

/// A permission the operator needs and the chart does not grant.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Missing {
    place: Place,
    group: String,
    resource: String,
    verb: String,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Report {
    missing: Vec<Missing>,
    /// Grants matching no row of the table (or of the extras) at their place.
    unexpected: Vec<Grant>,
}

/// Verbs on a single named object, which a rule with `resourceNames` can authorize; `create`,
/// `list` and `watch` carry no name when RBAC checks them.
const OBJECT_VERBS: &[&str] = &["get", "update", "patch", "delete"];

fn place_of(permission: &Permission, setup: &Setup) -> Option<(Place, Option<String>)> {
    match permission.scope {
        Scope::Watched => Some((setup.watched.clone(), None)),
        Scope::LeaseNamespace => setup
            .lease
            .as_ref()
            .map(|(namespace, name)| (Place::Namespace(namespace.clone()), Some(name.clone()))),
    }
}

/// The check: every (place, group, resource, verb) of `required` is granted, and every grant is
/// in `required` or `extras` at exactly its place (a cluster-wide grant of a namespaced need is an
/// over-grant).
fn check(
    required: &[Permission],
    extras: &[Permission],
    grants: &[Grant],
    setup: &Setup,
) -> Report {
    let mut report = Report::default();
    for permission in required {
        let Some((place, object_name)) = place_of(permission, setup) else {
            continue;
        };
        for verb in permission.verbs {
            let granted = grants.iter().any(|grant| {
                grant.place.covers(&place)
                    && grant.group == permission.group
                    && grant.resource == permission.resource
                    && grant.verb == *verb
                    && (grant.names.is_empty()
                        || (OBJECT_VERBS.contains(verb)
                            && object_name
                                .as_ref()
                                .is_some_and(|name| grant.names.contains(name))))
            });
            if !granted {
                report.missing.push(Missing {
                    place: place.clone(),
                    group: permission.group.to_owned(),
                    resource: permission.resource.to_owned(),
                    verb: (*verb).to_owned(),
                });
            }
        }
    }
    for grant in grants {
        let allowed = required.iter().chain(extras).any(|permission| {
            permission.group == grant.group
                && permission.resource == grant.resource
                && permission.verbs.contains(&grant.verb.as_str())
                && place_of(permission, setup).is_some_and(|(place, _)| place == grant.place)
        });
        if !allowed {
            report.unexpected.push(grant.clone());
        }
    }
    report.missing.sort();
    report.unexpected.sort();
    report
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().expect("a list of strings").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |value, key| value.get(*key))?
        .as_str()
}

fn find<'a>(
    docs: &'a [Value],
    kind: &str,
    name: &str,
    namespace: Option<&str>,
) -> Option<&'a Value> {
    docs.iter().find(|doc| {
        text(doc, &["kind"]) == Some(kind)
            && text(doc, &["metadata", "name"]) == Some(name)
            && (namespace.is_none() || text(doc, &["metadata", "namespace"]) == namespace)
    })
}

/// Reads the operator's setup from its Deployment's flags.
fn read_setup(docs: &[Value]) -> Setup {
    let deployments: Vec<&Value> = docs
        .iter()
        .filter(|doc| text(doc, &["kind"]) == Some("Deployment"))
        .collect();
    assert_eq!(deployments.len(), 1, "one operator Deployment");
    let pod = &deployments[0]["spec"]["template"]["spec"];
    let args = string_list(&pod["containers"][0]["args"]);
    let flag = |name: &str| {
        args.iter()
            .find_map(|arg| arg.strip_prefix(&format!("--{name}=")))
            .map(str::to_owned)
    };
    let lease = match flag("leader-election").as_deref() {
        Some("true") => Some((
            flag("lease-namespace").expect("--lease-namespace"),
            flag("lease-name").expect("--lease-name"),
        )),
        Some("false") => None,
        other => panic!("--leader-election={other:?}: the chart must set it explicitly"),
    };
    Setup {
        service_account: text(pod, &["serviceAccountName"])
            .expect("serviceAccountName")
            .to_owned(),
        watched: flag("namespace").map_or(Place::Cluster, Place::Namespace),
        lease,
    }
}

/// Every grant bound to the setup's ServiceAccount (in the release namespace).
fn grants(docs: &[Value], setup: &Setup) -> Vec<Grant> {
    let mut out = BTreeSet::new();
    for binding in docs {
        let kind = text(binding, &["kind"]);
        let place = match kind {
            Some("ClusterRoleBinding") => Place::Cluster,
            Some("RoleBinding") => Place::Namespace(
                text(binding, &["metadata", "namespace"])
                    .expect("a RoleBinding has a namespace")
                    .to_owned(),
            ),
            _ => continue,
        };
        let bound = binding["subjects"].as_sequence().is_some_and(|subjects| {
            subjects.iter().any(|subject| {
                text(subject, &["kind"]) == Some("ServiceAccount")
                    && text(subject, &["name"]) == Some(setup.service_account.as_str())
                    && text(subject, &["namespace"]) == Some(RELEASE_NAMESPACE)
            })
        });
        if !bound {
            continue;
        }
        let role_kind = text(binding, &["roleRef", "kind"]).expect("roleRef.kind");
        let role_name = text(binding, &["roleRef", "name"]).expect("roleRef.name");
        let role = match (&place, role_kind) {
            (_, "ClusterRole") => find(docs, "ClusterRole", role_name, None),
            (Place::Namespace(namespace), "Role") => find(docs, "Role", role_name, Some(namespace)),
            _ => panic!("{kind:?} refers to a {role_kind}"),
        };
        // A binding to a role the chart does not render grants nothing the chart controls; the
        // missing permissions then show up as such.
        let Some(role) = role else { continue };
        for rule in role["rules"].as_sequence().into_iter().flatten() {
            let names = string_list(&rule["resourceNames"]);
            for group in string_list(&rule["apiGroups"]) {
                for resource in string_list(&rule["resources"]) {
                    for verb in string_list(&rule["verbs"]) {
                        out.insert(Grant {
                            place: place.clone(),
                            group: group.clone(),
                            resource: resource.clone(),
                            verb,
                            names: names.clone(),
                        });
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

fn assert_exact(docs: &[Value]) -> (Setup, Vec<Grant>) {
    let setup = read_setup(docs);
    let grants = grants(docs, &setup);
    let report = check(PERMISSIONS, CHART_EXTRAS, &grants, &setup);
    assert_eq!(
        report,
        Report::default(),
        "the chart's RBAC differs from ringcache_operator::rbac::PERMISSIONS ({setup:?})"
    );
    (setup, grants)
}

#[test]
fn default_values_grant_exactly_the_table_cluster_wide() {
    let docs = render(&[]);
    let (setup, grants) = assert_exact(&docs);
    assert_eq!(setup.watched, Place::Cluster);
    assert_eq!(
        setup.lease,
        Some((
            RELEASE_NAMESPACE.to_owned(),
            "ringcache-ringcache-operator".to_owned()
        ))
    );
    // The Lease rules stay in the release namespace; no Role anywhere else.
    assert!(grants.iter().any(|grant| grant.place == Place::Cluster));
    assert!(grants.iter().all(|grant| match &grant.place {
        Place::Cluster => true,
        Place::Namespace(namespace) => namespace == RELEASE_NAMESPACE && grant.resource == "leases",
    }));
    assert!(docs.iter().all(|doc| text(doc, &["kind"]) != Some("Role")
        || text(doc, &["metadata", "namespace"]) == Some(RELEASE_NAMESPACE)),);
}

#[test]
fn one_watched_namespace_grants_nothing_cluster_wide() {
    let docs = render(&["watchNamespaces={cache}"]);
    let (setup, grants) = assert_exact(&docs);
    assert_eq!(setup.watched, Place::Namespace("cache".to_owned()));
    assert!(grants.iter().all(|grant| grant.place != Place::Cluster));
    for kind in ["ClusterRole", "ClusterRoleBinding"] {
        assert!(
            docs.iter().all(|doc| text(doc, &["kind"]) != Some(kind)),
            "a {kind} was rendered for a single watched namespace"
        );
    }
}

#[test]
fn without_leader_election_no_lease_permission() {
    let docs = render(&["leaderElection.enabled=false"]);
    let (setup, grants) = assert_exact(&docs);
    assert_eq!(setup.lease, None);
    assert!(grants.iter().all(|grant| grant.resource != "leases"));
}

/// Removes `verb` from the rules granting `resource` in every rendered Role and ClusterRole.
fn remove_verb(docs: &mut [Value], resource: &str, verb: &str) {
    let mut removed = false;
    for doc in docs.iter_mut() {
        if !matches!(text(doc, &["kind"]), Some("Role" | "ClusterRole")) {
            continue;
        }
        for rule in doc["rules"].as_sequence_mut().into_iter().flatten() {
            if string_list(&rule["resources"])
                .iter()
                .any(|name| name == resource)
            {
                let verbs = rule["verbs"].as_sequence_mut().expect("verbs");
                let before = verbs.len();
                verbs.retain(|value| value.as_str() != Some(verb));
                removed |= verbs.len() < before;
            }
        }
    }
    assert!(removed, "no rule granted {verb} on {resource}");
}

#[test]
fn the_check_reports_exactly_a_removed_verb() {
    let mut docs = render(&[]);
    remove_verb(&mut docs, "cacheclusters/status", "patch");
    let setup = read_setup(&docs);
    let report = check(PERMISSIONS, CHART_EXTRAS, &grants(&docs, &setup), &setup);
    assert_eq!(
        report,
        Report {
            missing: vec![Missing {
                place: Place::Cluster,
                group: "cache.ringcache.dev".to_owned(),
                resource: "cacheclusters/status".to_owned(),
                verb: "patch".to_owned(),
            }],
            unexpected: Vec::new(),
        }
    );

    // The same in the namespaced variant, for a verb the Lease rule limits by name.
    let mut docs = render(&["watchNamespaces={cache}"]);
    remove_verb(&mut docs, "leases", "update");
    let setup = read_setup(&docs);
    let report = check(PERMISSIONS, CHART_EXTRAS, &grants(&docs, &setup), &setup);
    assert_eq!(
        report.missing,
        [Missing {
            place: Place::Namespace(RELEASE_NAMESPACE.to_owned()),
            group: "coordination.k8s.io".to_owned(),
            resource: "leases".to_owned(),
            verb: "update".to_owned(),
        }]
    );
    assert!(report.unexpected.is_empty());
}

#[test]
fn the_check_reports_an_over_grant_and_a_grant_in_the_wrong_place() {
    let docs = render(&["watchNamespaces={cache}"]);
    let setup = read_setup(&docs);
    let mut granted = grants(&docs, &setup);
    let exec = Grant {
        place: Place::Namespace("cache".to_owned()),
        group: String::new(),
        resource: "pods/exec".to_owned(),
        verb: "create".to_owned(),
        names: Vec::new(),
    };
    // A permission of the table, but cluster-wide although only one namespace is watched.
    let cluster_wide = Grant {
        place: Place::Cluster,
        group: "apps".to_owned(),
        resource: "statefulsets".to_owned(),
        verb: "get".to_owned(),
        names: Vec::new(),
    };
    granted.push(exec.clone());
    granted.push(cluster_wide.clone());
    let report = check(PERMISSIONS, CHART_EXTRAS, &granted, &setup);
    assert!(report.missing.is_empty(), "{report:?}");
    let mut expected = vec![exec, cluster_wide];
    expected.sort();
    assert_eq!(report.unexpected, expected);
}

#[test]
fn a_name_limited_rule_does_not_satisfy_create() {
    let setup = Setup {
        service_account: "operator".to_owned(),
        watched: Place::Cluster,
        lease: Some(("ops".to_owned(), "lease".to_owned())),
    };
    let leases = Permission {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &["get", "create"],
        scope: Scope::LeaseNamespace,
    };
    let grant = |verb: &str, name: &str| Grant {
        place: Place::Namespace("ops".to_owned()),
        group: "coordination.k8s.io".to_owned(),
        resource: "leases".to_owned(),
        verb: verb.to_owned(),
        names: vec![name.to_owned()],
    };
    let report = check(
        &[leases],
        &[],
        &[grant("get", "lease"), grant("create", "lease")],
        &setup,
    );
    assert_eq!(
        report
            .missing
            .iter()
            .map(|missing| missing.verb.as_str())
            .collect::<Vec<_>>(),
        ["create"]
    );
    let report = check(&[leases], &[], &[grant("get", "other")], &setup);
    assert_eq!(report.missing.len(), 2, "{report:?}");
}
