//! The NetworkPolicy of the cluster's pods (`spec.networkPolicy`, on by default): ingress only, one
//! rule per port.
//!
//! | port | admitted |
//! |---|---|
//! | 6379 Redis | anyone when `clients` is unset; else the cluster's pods and `clients` |
//! | 16379 cluster | the cluster's pods |
//! | 9090 admin | the cluster's pods, the operator's pods, `monitoring` |
//!
//! The cluster's own pods are in every rule: members forward client requests to each other on the
//! Redis port (also to ask each other for routes), replicate on the cluster port, and call each
//! other's admin port while forming the cluster.
//! Traffic from the pod's own node (kubelet probes, the pre-stop hook) is admitted by the
//! NetworkPolicy API itself. Egress is not restricted.

use super::{ADMIN_PORT, CLUSTER_PORT, DesiredCluster, RESP_PORT};
use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// The label every namespace carries with its own name (set by the API server since Kubernetes
/// 1.22), so a namespace selector can name one namespace.
pub const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// Where the operator's pods are, so the NetworkPolicy admits them to the admin port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorPods {
    /// Their namespace (`run --operator-namespace`, or `POD_NAMESPACE`). `None` outside a cluster:
    /// then no rule names the operator (it could not reach pod IPs through the pod network anyway).
    pub namespace: Option<String>,
    /// Their labels (`run --operator-pod-selector`). `None`: every pod of the namespace.
    pub labels: Option<BTreeMap<String, String>>,
}

impl OperatorPods {
    /// The peer admitting the operator's pods: its namespace AND its pod labels (one peer with both
    /// selectors, so the labels only count in that namespace). `None` when the namespace is unknown.
    pub fn peer(&self) -> Option<NetworkPolicyPeer> {
        let namespace = self.namespace.as_ref()?;
        Some(NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    NAMESPACE_NAME_LABEL.to_owned(),
                    namespace.clone(),
                )])),
                ..LabelSelector::default()
            }),
            pod_selector: self.labels.as_ref().map(|labels| LabelSelector {
                match_labels: Some(labels.clone()),
                ..LabelSelector::default()
            }),
            ip_block: None,
        })
    }
}

fn tcp(port: i32) -> Option<Vec<NetworkPolicyPort>> {
    Some(vec![NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".to_owned()),
        end_port: None,
    }])
}

/// The NetworkPolicy, or `None` when `spec.networkPolicy.enabled` is false (the operator then
/// deletes the one it made).
pub fn build_network_policy(desired: &DesiredCluster) -> Option<NetworkPolicy> {
    let options = &desired.cluster.spec.network_policy;
    if !options.enabled {
        return None;
    }
    let identity = &desired.identity;
    // No namespace selector: the policy's own namespace, where the members run.
    let members = NetworkPolicyPeer {
        pod_selector: Some(identity.label_selector()),
        ..NetworkPolicyPeer::default()
    };
    // An empty or absent `from` admits every source, so a restricted rule always lists the members.
    let redis_from = options.clients.as_ref().map(|clients| {
        std::iter::once(members.clone())
            .chain(clients.iter().cloned())
            .collect()
    });
    let admin_from = std::iter::once(members.clone())
        .chain(desired.operator.peer())
        .chain(options.monitoring.iter().flatten().cloned())
        .collect();
    Some(NetworkPolicy {
        metadata: identity.metadata(identity.network_policy_name(), "cache-node"),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(identity.label_selector()),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(vec![
                NetworkPolicyIngressRule {
                    ports: tcp(RESP_PORT),
                    from: redis_from,
                },
                NetworkPolicyIngressRule {
                    ports: tcp(CLUSTER_PORT),
                    from: Some(vec![members]),
                },
                NetworkPolicyIngressRule {
                    ports: tcp(ADMIN_PORT),
                    from: Some(admin_from),
                },
            ]),
            egress: None,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::{cluster, desired};
    use crate::build::statefulset::build_statefulset;
    use k8s_openapi::api::networking::v1::IPBlock;

    fn selector(labels: &[(&str, &str)]) -> LabelSelector {
        LabelSelector {
            match_labels: Some(
                labels
                    .iter()
                    .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                    .collect(),
            ),
            ..LabelSelector::default()
        }
    }

    fn pods(labels: &[(&str, &str)]) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            pod_selector: Some(selector(labels)),
            ..NetworkPolicyPeer::default()
        }
    }

    fn ip_block(cidr: &str) -> NetworkPolicyPeer {
        NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.to_owned(),
                except: None,
            }),
            ..NetworkPolicyPeer::default()
        }
    }

    /// The rule of `port` (exactly one per port).
    fn rule(policy: &NetworkPolicy, port: i32) -> &NetworkPolicyIngressRule {
        let rules: Vec<&NetworkPolicyIngressRule> = policy
            .spec
            .as_ref()
            .unwrap()
            .ingress
            .as_ref()
            .unwrap()
            .iter()
            .filter(|rule| {
                rule.ports
                    .iter()
                    .flatten()
                    .any(|p| p.port == Some(IntOrString::Int(port)))
            })
            .collect();
        assert_eq!(rules.len(), 1, "one rule for port {port}");
        rules[0]
    }

    /// Whether a label selector selects a pod with `labels` (matchLabels only, as built here).
    fn selects(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
        assert!(selector.match_expressions.is_none());
        selector
            .match_labels
            .iter()
            .flatten()
            .all(|(key, value)| labels.get(key) == Some(value))
    }

    fn member() -> NetworkPolicyPeer {
        pods(&[
            ("app.kubernetes.io/instance", "demo"),
            ("app.kubernetes.io/name", "ringcache"),
        ])
    }

    #[test]
    fn by_default_the_cluster_and_admin_ports_are_closed_to_strangers() {
        let policy = build_network_policy(&desired(cluster(3))).unwrap();
        assert_eq!(policy.metadata.name.as_deref(), Some("demo"));
        assert_eq!(policy.metadata.namespace.as_deref(), Some("cache"));
        let owner = &policy.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("CacheCluster", "demo")
        );
        let spec = policy.spec.as_ref().unwrap();
        assert_eq!(spec.policy_types, Some(vec!["Ingress".to_owned()]));
        assert!(spec.egress.is_none(), "egress is not restricted");
        assert_eq!(spec.ingress.as_ref().unwrap().len(), 3);
        // Redis: anyone (no `from`), TCP.
        let redis = rule(&policy, 6379);
        assert_eq!(redis.from, None);
        assert_eq!(
            redis.ports.as_ref().unwrap()[0].protocol.as_deref(),
            Some("TCP")
        );
        // Cluster: the members only.
        assert_eq!(rule(&policy, 16379).from, Some(vec![member()]));
        // Admin: the members and the operator's pods in the operator's namespace (both selectors in
        // one peer: an AND).
        let operator = NetworkPolicyPeer {
            namespace_selector: Some(selector(&[(
                "kubernetes.io/metadata.name",
                "ringcache-system",
            )])),
            pod_selector: Some(selector(&[
                ("app.kubernetes.io/instance", "rc"),
                ("app.kubernetes.io/name", "ringcache-operator"),
            ])),
            ip_block: None,
        };
        assert_eq!(rule(&policy, 9090).from, Some(vec![member(), operator]));
    }

    #[test]
    fn clients_and_monitoring_peers_are_admitted_next_to_the_members() {
        let mut cluster = cluster(3);
        cluster.spec.network_policy.clients =
            Some(vec![pods(&[("role", "app")]), ip_block("10.9.0.0/16")]);
        cluster.spec.network_policy.monitoring = Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(selector(&[("kubernetes.io/metadata.name", "monitoring")])),
            ..NetworkPolicyPeer::default()
        }]);
        let policy = build_network_policy(&desired(cluster)).unwrap();
        assert_eq!(
            rule(&policy, 6379).from,
            Some(vec![
                member(),
                pods(&[("role", "app")]),
                ip_block("10.9.0.0/16")
            ])
        );
        assert_eq!(rule(&policy, 16379).from, Some(vec![member()]));
        let admin = rule(&policy, 9090).from.clone().unwrap();
        assert_eq!(admin.len(), 3, "members, operator, monitoring");
        assert_eq!(
            admin[2].namespace_selector,
            Some(selector(&[("kubernetes.io/metadata.name", "monitoring")]))
        );
    }

    #[test]
    fn an_empty_client_list_admits_only_the_members() {
        let mut cluster = cluster(3);
        cluster.spec.network_policy.clients = Some(vec![]);
        let policy = build_network_policy(&desired(cluster)).unwrap();
        // Never an empty `from`: that would admit everyone.
        assert_eq!(rule(&policy, 6379).from, Some(vec![member()]));
    }

    #[test]
    fn the_operator_peer_follows_what_the_operator_knows_of_itself() {
        let mut state = desired(cluster(3));
        state.operator.labels = None;
        let admin = rule(&build_network_policy(&state).unwrap(), 9090)
            .from
            .clone()
            .unwrap();
        assert_eq!(admin.len(), 2);
        assert_eq!(
            admin[1].pod_selector, None,
            "every pod of the operator's namespace"
        );
        assert!(admin[1].namespace_selector.is_some());
        // Outside a cluster: no operator peer at all (never an empty selector, which would be
        // every pod of the cluster's namespace).
        state.operator = OperatorPods::default();
        let admin = rule(&build_network_policy(&state).unwrap(), 9090)
            .from
            .clone()
            .unwrap();
        assert_eq!(admin, vec![member()]);
    }

    #[test]
    fn selectors_match_the_pods_the_statefulset_makes_and_ports_its_container_ports() {
        let mut cluster = cluster(3);
        // Extra pod labels must not matter: the policy selects by the cluster's selector labels.
        cluster
            .spec
            .pod
            .labels
            .insert("team".to_owned(), "a".to_owned());
        let state = desired(cluster);
        let policy = build_network_policy(&state).unwrap();
        let statefulset = build_statefulset(&state);
        let template_labels = statefulset
            .spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .clone()
            .unwrap();
        let spec = policy.spec.as_ref().unwrap();
        let policy_selector = spec.pod_selector.as_ref().unwrap();
        assert!(selects(policy_selector, &template_labels));
        assert_eq!(policy_selector, &statefulset.spec.selector);
        // The member peer selects the same pods.
        let member_peer = &rule(&policy, 16379).from.as_ref().unwrap()[0];
        assert!(
            member_peer.namespace_selector.is_none(),
            "the policy's own namespace"
        );
        assert!(selects(
            member_peer.pod_selector.as_ref().unwrap(),
            &template_labels
        ));
        // And not the pods of another cluster in the same namespace.
        let mut other = template_labels.clone();
        other.insert("app.kubernetes.io/instance".to_owned(), "other".to_owned());
        assert!(!selects(policy_selector, &other));
        // Every rule's port is a container port of the node, and every container port has a rule.
        let container_ports: Vec<i32> = statefulset.spec.template.spec.as_ref().unwrap().containers
            [0]
        .ports
        .iter()
        .flatten()
        .map(|port| port.container_port)
        .collect();
        let mut rule_ports: Vec<i32> = spec
            .ingress
            .iter()
            .flatten()
            .flat_map(|rule| rule.ports.iter().flatten())
            .map(|port| match port.port {
                Some(IntOrString::Int(number)) => number,
                ref other => panic!("port {other:?}"),
            })
            .collect();
        rule_ports.sort();
        let mut expected = container_ports.clone();
        expected.sort();
        assert_eq!(rule_ports, expected);
    }

    #[test]
    fn disabled_means_none() {
        let mut cluster = cluster(3);
        cluster.spec.network_policy.enabled = false;
        assert_eq!(build_network_policy(&desired(cluster)), None);
    }

    #[test]
    fn serialized_for_the_api() {
        let value =
            serde_json::to_value(build_network_policy(&desired(cluster(3))).unwrap()).unwrap();
        assert_eq!(value["apiVersion"], "networking.k8s.io/v1");
        assert_eq!(value["kind"], "NetworkPolicy");
        assert_eq!(value["spec"]["ingress"][1]["ports"][0]["port"], 16379);
    }
}
