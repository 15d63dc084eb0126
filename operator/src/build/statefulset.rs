//! The StatefulSet of cache nodes: stable identities (ordinal = ring member id), one volume per pod,
//! non-root pods with a read-only root filesystem, health probes on the admin port, and a pre-stop
//! hook that hands Raft leadership away before the pod stops.

use super::{
    ADMIN_PORT, AUTH_DIR, CLUSTER_PORT, CLUSTER_SECRET_DIR, CLUSTER_SECRET_KEY, CONFIG_DIR,
    DATA_DIR, DesiredCluster, LIVENESS_PATH, NODE_USER_ID, PRE_STOP_PATH, READINESS_PATH,
    RESP_PORT, RING_FILE, TLS_DIR,
};
use crate::build::identity::{LABEL_INSTANCE, LABEL_NAME};
use k8s_openapi::api::apps::v1::{
    StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec,
    StatefulSetUpdateStrategy,
};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, HTTPGetAction, KeyToPath, Lifecycle, LifecycleHandler,
    ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm,
    PodAntiAffinity, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, SeccompProfile,
    SecretVolumeSource, SecurityContext, Volume, VolumeMount, VolumeResourceRequirements,
    WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use std::collections::BTreeMap;

/// Name of the cache container.
pub const CONTAINER_NAME: &str = "node";
/// Name of the data volume (and of the claim template).
pub const DATA_VOLUME: &str = "data";
/// Name of the volume of the cluster's Secret.
pub const CLUSTER_SECRET_VOLUME: &str = "cluster-secret";
/// Name of the volume of the `spec.tls` Secret.
pub const TLS_VOLUME: &str = "tls";

/// The StatefulSet with `desired.statefulset_replicas` pods.
pub fn build_statefulset(desired: &DesiredCluster) -> StatefulSet {
    let identity = &desired.identity;
    let spec = &desired.cluster.spec;
    let persistence = &spec.persistence;
    StatefulSet {
        metadata: identity.metadata(identity.statefulset_name(), "cache-node"),
        spec: StatefulSetSpec {
            replicas: Some(desired.statefulset_replicas),
            service_name: Some(identity.headless_service_name()),
            selector: identity.label_selector(),
            // Members start together (they find each other through the headless Service); the
            // operator, not the StatefulSet controller, orders scale-in.
            pod_management_policy: Some("Parallel".to_owned()),
            update_strategy: Some(StatefulSetUpdateStrategy {
                type_: Some("RollingUpdate".to_owned()),
                ..StatefulSetUpdateStrategy::default()
            }),
            // A removed member's volume goes with it, so a later member with the same ordinal starts
            // empty instead of rejoining with stale Raft state.
            persistent_volume_claim_retention_policy: persistence.enabled.then(|| {
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_scaled: Some("Delete".to_owned()),
                    when_deleted: Some("Retain".to_owned()),
                }
            }),
            volume_claim_templates: persistence.enabled.then(|| {
                vec![PersistentVolumeClaim {
                    metadata: ObjectMeta {
                        name: Some(DATA_VOLUME.to_owned()),
                        labels: Some(identity.selector_labels()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(PersistentVolumeClaimSpec {
                        access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
                        storage_class_name: persistence.storage_class_name.clone(),
                        resources: Some(VolumeResourceRequirements {
                            requests: Some(BTreeMap::from([(
                                "storage".to_owned(),
                                Quantity(desired.claim_size.clone()),
                            )])),
                            ..VolumeResourceRequirements::default()
                        }),
                        ..PersistentVolumeClaimSpec::default()
                    }),
                    ..PersistentVolumeClaim::default()
                }]
            }),
            template: pod_template(desired),
            ..StatefulSetSpec::default()
        },
        ..StatefulSet::default()
    }
}

fn pod_template(desired: &DesiredCluster) -> PodTemplateSpec {
    let identity = &desired.identity;
    let spec = &desired.cluster.spec;
    let options = &spec.pod;
    let mut labels = options.labels.clone();
    labels.extend(identity.labels("cache-node"));
    let annotations = (!options.annotations.is_empty()).then(|| options.annotations.clone());
    let topology_spread_constraints =
        (!options.topology_spread_constraints.is_empty()).then(|| {
            options
                .topology_spread_constraints
                .iter()
                .cloned()
                .map(|mut constraint| {
                    constraint
                        .label_selector
                        .get_or_insert_with(|| identity.label_selector());
                    constraint
                })
                .collect()
        });
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations,
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(identity.service_account_name()),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            termination_grace_period_seconds: Some(options.termination_grace_period_seconds),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(NODE_USER_ID),
                run_as_group: Some(NODE_USER_ID),
                fs_group: Some(NODE_USER_ID),
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".to_owned(),
                    ..SeccompProfile::default()
                }),
                ..PodSecurityContext::default()
            }),
            affinity: Some(
                options
                    .affinity
                    .clone()
                    .unwrap_or_else(|| spread_over_nodes(desired)),
            ),
            tolerations: (!options.tolerations.is_empty()).then(|| options.tolerations.clone()),
            node_selector: (!options.node_selector.is_empty())
                .then(|| options.node_selector.clone()),
            topology_spread_constraints,
            priority_class_name: options.priority_class_name.clone(),
            containers: vec![node_container(desired)],
            volumes: Some(volumes(desired)),
            ..PodSpec::default()
        }),
    }
}

/// Prefer one member per Kubernetes node (the default when `spec.pod.affinity` is unset).
fn spread_over_nodes(desired: &DesiredCluster) -> Affinity {
    let identity = &desired.identity;
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        topology_key: "kubernetes.io/hostname".to_owned(),
                        label_selector: Some(LabelSelector {
                            match_labels: Some(BTreeMap::from([
                                (LABEL_NAME.to_owned(), "ringcache".to_owned()),
                                (LABEL_INSTANCE.to_owned(), identity.name.clone()),
                            ])),
                            ..LabelSelector::default()
                        }),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// The node's command-line flags. Its ordinal (from `POD_NAME`), advertised host and ports come
/// as environment variables the node reads (`RINGCACHE_*`, see docs/operator.md).
pub fn node_args(desired: &DesiredCluster) -> Vec<String> {
    let spec = &desired.cluster.spec;
    let mut args = vec![
        "--cluster-enabled".to_owned(),
        format!("--port={RESP_PORT}"),
        "--bind=0.0.0.0".to_owned(),
        format!("--data-dir={DATA_DIR}"),
        format!("--maxmemory={}", desired.max_memory_bytes),
        format!("--maxmemory-policy={}", spec.eviction_policy.as_str()),
        "--log-format=json".to_owned(),
        format!("--cluster-secret-file={CLUSTER_SECRET_DIR}/{CLUSTER_SECRET_KEY}"),
    ];
    if spec.auth.is_some() {
        args.push(format!("--requirepass-file={AUTH_DIR}/password"));
    }
    if spec.persistence.fsync {
        args.push("--fsync".to_owned());
    }
    if spec.tls.is_some() {
        // ca.crt is optional in a kubernetes.io/tls Secret; the node treats a missing file as
        // "no CA" and trusts the certificate's own chain.
        args.extend([
            format!("--tls-cert-file={TLS_DIR}/tls.crt"),
            format!("--tls-key-file={TLS_DIR}/tls.key"),
            format!("--tls-ca-file={TLS_DIR}/ca.crt"),
        ]);
    }
    args
}

fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_owned(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }
}

fn value_env(name: &str, value: String) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value),
        ..EnvVar::default()
    }
}

/// A kubelet call to the admin port: HTTPS when `spec.tls` is on (the kubelet does not verify
/// the certificate, and these paths need no credential).
fn http_get(path: &str, tls: bool) -> HTTPGetAction {
    HTTPGetAction {
        path: Some(path.to_owned()),
        port: IntOrString::String("admin".to_owned()),
        scheme: Some(if tls { "HTTPS" } else { "HTTP" }.to_owned()),
        ..HTTPGetAction::default()
    }
}

fn node_container(desired: &DesiredCluster) -> Container {
    let identity = &desired.identity;
    let spec = &desired.cluster.spec;
    let container_port = |name: &str, port: i32| ContainerPort {
        name: Some(name.to_owned()),
        container_port: port,
        protocol: Some("TCP".to_owned()),
        ..ContainerPort::default()
    };
    let mut mounts = vec![
        VolumeMount {
            name: DATA_VOLUME.to_owned(),
            mount_path: DATA_DIR.to_owned(),
            ..VolumeMount::default()
        },
        VolumeMount {
            name: "config".to_owned(),
            mount_path: CONFIG_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
        VolumeMount {
            name: "tmp".to_owned(),
            mount_path: "/tmp".to_owned(),
            ..VolumeMount::default()
        },
        VolumeMount {
            name: CLUSTER_SECRET_VOLUME.to_owned(),
            mount_path: CLUSTER_SECRET_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        },
    ];
    if spec.auth.is_some() {
        mounts.push(VolumeMount {
            name: "auth".to_owned(),
            mount_path: AUTH_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    if spec.tls.is_some() {
        mounts.push(VolumeMount {
            name: TLS_VOLUME.to_owned(),
            mount_path: TLS_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    Container {
        name: CONTAINER_NAME.to_owned(),
        image: Some(spec.image.clone()),
        image_pull_policy: Some(spec.image_pull_policy.as_str().to_owned()),
        args: Some(node_args(desired)),
        env: Some(vec![
            field_env("POD_NAME", "metadata.name"),
            field_env("POD_NAMESPACE", "metadata.namespace"),
            // Cluster settings for the Raft issue (see docs/operator.md, "Node contract").
            value_env(
                "RINGCACHE_ADVERTISE_HOST",
                format!(
                    "$(POD_NAME).{}.$(POD_NAMESPACE).svc",
                    identity.headless_service_name()
                ),
            ),
            value_env("RINGCACHE_CLUSTER_PORT", CLUSTER_PORT.to_string()),
            value_env("RINGCACHE_ADMIN_PORT", ADMIN_PORT.to_string()),
            value_env("RINGCACHE_RING_FILE", format!("{CONFIG_DIR}/{RING_FILE}")),
        ]),
        ports: Some(vec![
            container_port("resp", RESP_PORT),
            container_port("cluster", CLUSTER_PORT),
            container_port("admin", ADMIN_PORT),
        ]),
        readiness_probe: Some(Probe {
            http_get: Some(http_get(READINESS_PATH, spec.tls.is_some())),
            period_seconds: Some(5),
            failure_threshold: Some(3),
            ..Probe::default()
        }),
        liveness_probe: Some(Probe {
            http_get: Some(http_get(LIVENESS_PATH, spec.tls.is_some())),
            period_seconds: Some(10),
            failure_threshold: Some(6),
            ..Probe::default()
        }),
        startup_probe: Some(Probe {
            http_get: Some(http_get(LIVENESS_PATH, spec.tls.is_some())),
            period_seconds: Some(2),
            failure_threshold: Some(150),
            ..Probe::default()
        }),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                http_get: Some(http_get(PRE_STOP_PATH, spec.tls.is_some())),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        resources: spec.resources.clone(),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".to_owned()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

fn volumes(desired: &DesiredCluster) -> Vec<Volume> {
    let identity = &desired.identity;
    let spec = &desired.cluster.spec;
    let mut volumes = vec![
        Volume {
            name: "config".to_owned(),
            config_map: Some(ConfigMapVolumeSource {
                name: identity.configmap_name(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        },
        Volume {
            name: "tmp".to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
        Volume {
            name: CLUSTER_SECRET_VOLUME.to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(identity.cluster_secret_name()),
                items: Some(vec![KeyToPath {
                    key: CLUSTER_SECRET_KEY.to_owned(),
                    path: CLUSTER_SECRET_KEY.to_owned(),
                    ..KeyToPath::default()
                }]),
                // The kubelet writes secret files as root; the node (uid 65532) reads them through
                // the group, which fsGroup makes 65532. 0o400 would lock it out.
                default_mode: Some(0o440),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        },
    ];
    if !spec.persistence.enabled {
        volumes.push(Volume {
            name: DATA_VOLUME.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        });
    }
    if let Some(auth) = &spec.auth {
        volumes.push(Volume {
            name: "auth".to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(auth.secret_name.clone()),
                items: Some(vec![KeyToPath {
                    key: auth.secret_key.clone(),
                    path: "password".to_owned(),
                    ..KeyToPath::default()
                }]),
                default_mode: Some(0o440),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    if let Some(tls) = &spec.tls {
        volumes.push(Volume {
            name: TLS_VOLUME.to_owned(),
            // Every key, so that ca.crt appears when the Secret has one (items would make a
            // missing key an error); a projected update replaces the files in place, which the
            // node notices within seconds.
            secret: Some(SecretVolumeSource {
                secret_name: Some(tls.secret_name.clone()),
                default_mode: Some(0o440),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
    }
    volumes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AuthSpec, EvictionPolicy};
    use crate::build::desired::tests::{cluster, desired};
    use k8s_openapi::api::core::v1::{Toleration, TopologySpreadConstraint};

    fn container(statefulset: &StatefulSet) -> &Container {
        &statefulset.spec.template.spec.as_ref().unwrap().containers[0]
    }

    fn pod_spec(statefulset: &StatefulSet) -> &PodSpec {
        statefulset.spec.template.spec.as_ref().unwrap()
    }

    #[test]
    fn replicas_identity_and_ownership() {
        let mut state = desired(cluster(5));
        state.statefulset_replicas = 6;
        let statefulset = build_statefulset(&state);
        assert_eq!(statefulset.metadata.name.as_deref(), Some("demo"));
        assert_eq!(statefulset.metadata.namespace.as_deref(), Some("cache"));
        let owner = &statefulset.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("CacheCluster", "demo")
        );
        assert_eq!(statefulset.spec.replicas, Some(6));
        assert_eq!(statefulset.spec.service_name.as_deref(), Some("demo-nodes"));
        assert_eq!(
            statefulset
                .spec
                .selector
                .match_labels
                .as_ref()
                .unwrap()
                .len(),
            2
        );
        let labels = statefulset
            .spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap();
        assert_eq!(labels["app.kubernetes.io/instance"], "demo");
        assert_eq!(labels["app.kubernetes.io/name"], "ringcache");
    }

    #[test]
    fn pods_are_non_root_with_read_only_root() {
        let statefulset = build_statefulset(&desired(cluster(3)));
        let pod = pod_spec(&statefulset);
        let pod_security = pod.security_context.as_ref().unwrap();
        assert_eq!(pod_security.run_as_non_root, Some(true));
        assert_eq!(pod_security.run_as_user, Some(65532));
        let security = container(&statefulset).security_context.as_ref().unwrap();
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(
            security.capabilities.as_ref().unwrap().drop,
            Some(vec!["ALL".to_owned()])
        );
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(pod.service_account_name.as_deref(), Some("demo-node"));
    }

    #[test]
    fn probes_pre_stop_ports_and_grace_period() {
        let statefulset = build_statefulset(&desired(cluster(3)));
        let node = container(&statefulset);
        let path = |probe: &Option<Probe>| {
            let action = probe.as_ref().unwrap().http_get.as_ref().unwrap();
            (action.path.clone().unwrap(), action.port.clone())
        };
        let admin = IntOrString::String("admin".to_owned());
        assert_eq!(
            path(&node.readiness_probe),
            ("/readyz".to_owned(), admin.clone())
        );
        assert_eq!(
            path(&node.liveness_probe),
            ("/healthz".to_owned(), admin.clone())
        );
        let pre_stop = node.lifecycle.as_ref().unwrap().pre_stop.as_ref().unwrap();
        assert!(pre_stop.exec.is_none(), "no exec: the image has no shell");
        assert_eq!(
            pre_stop.http_get.as_ref().unwrap().path.as_deref(),
            Some("/v1/lifecycle/pre-stop")
        );
        let ports: Vec<(Option<String>, i32)> = node
            .ports
            .as_ref()
            .unwrap()
            .iter()
            .map(|port| (port.name.clone(), port.container_port))
            .collect();
        assert_eq!(
            ports,
            [
                (Some("resp".to_owned()), 6379),
                (Some("cluster".to_owned()), 16379),
                (Some("admin".to_owned()), 9090)
            ]
        );
        assert_eq!(
            pod_spec(&statefulset).termination_grace_period_seconds,
            Some(60)
        );
    }

    #[test]
    fn tls_mounts_the_secret_and_turns_tls_on() {
        let plain = build_statefulset(&desired(cluster(3)));
        assert!(
            !container(&plain)
                .args
                .as_deref()
                .unwrap()
                .iter()
                .any(|arg| arg.starts_with("--tls"))
        );
        let mut cluster = cluster(3);
        cluster.spec.tls = Some(crate::api::TlsSpec {
            secret_name: "demo-tls".to_owned(),
        });
        let statefulset = build_statefulset(&desired(cluster));
        let args = container(&statefulset).args.as_deref().unwrap();
        for flag in [
            "--tls-cert-file=/etc/ringcache/tls/tls.crt",
            "--tls-key-file=/etc/ringcache/tls/tls.key",
            "--tls-ca-file=/etc/ringcache/tls/ca.crt",
        ] {
            assert!(args.iter().any(|arg| arg == flag), "{flag} in {args:?}");
        }
        for handler in [
            container(&statefulset)
                .readiness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref(),
            container(&statefulset)
                .liveness_probe
                .as_ref()
                .unwrap()
                .http_get
                .as_ref(),
            container(&statefulset)
                .lifecycle
                .as_ref()
                .unwrap()
                .pre_stop
                .as_ref()
                .unwrap()
                .http_get
                .as_ref(),
        ] {
            assert_eq!(handler.unwrap().scheme.as_deref(), Some("HTTPS"));
        }
        let mount = container(&statefulset)
            .volume_mounts
            .as_ref()
            .unwrap()
            .iter()
            .find(|mount| mount.name == "tls")
            .expect("the TLS mount");
        assert_eq!(mount.mount_path, "/etc/ringcache/tls");
        assert_eq!(mount.read_only, Some(true));
        let volume = pod_spec(&statefulset)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|volume| volume.name == "tls")
            .expect("the TLS volume");
        let secret = volume.secret.as_ref().unwrap();
        assert_eq!(secret.secret_name.as_deref(), Some("demo-tls"));
        // Every key (ca.crt is optional), readable by the node's group.
        assert!(secret.items.is_none());
        assert_eq!(secret.default_mode, Some(0o440));
    }

    #[test]
    fn node_args_carry_memory_policy_and_auth() {
        let mut cluster = cluster(3);
        cluster.spec.eviction_policy = EvictionPolicy::VolatileTtl;
        cluster.spec.auth = Some(AuthSpec {
            secret_name: "pw".to_owned(),
            secret_key: "token".to_owned(),
        });
        let mut state = desired(cluster);
        state.max_memory_bytes = 805_306_368;
        let statefulset = build_statefulset(&state);
        assert_eq!(
            container(&statefulset).args.as_deref().unwrap(),
            [
                "--cluster-enabled",
                "--port=6379",
                "--bind=0.0.0.0",
                "--data-dir=/data",
                "--maxmemory=805306368",
                "--maxmemory-policy=volatile-ttl",
                "--log-format=json",
                "--cluster-secret-file=/etc/ringcache/cluster/secret",
                "--requirepass-file=/etc/ringcache/auth/password"
            ]
        );
        let auth = pod_spec(&statefulset)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|volume| volume.name == "auth")
            .unwrap();
        let secret = auth.secret.as_ref().unwrap();
        assert_eq!(secret.secret_name.as_deref(), Some("pw"));
        assert_eq!(secret.items.as_ref().unwrap()[0].key, "token");
    }

    #[test]
    fn the_cluster_secret_is_mounted_read_only_and_passed_to_the_node() {
        let statefulset = build_statefulset(&desired(cluster(3)));
        let node = container(&statefulset);
        let mount = node
            .volume_mounts
            .iter()
            .flatten()
            .find(|mount| mount.name == "cluster-secret")
            .unwrap();
        assert_eq!(mount.mount_path, "/etc/ringcache/cluster");
        assert_eq!(mount.read_only, Some(true));
        let volume = pod_spec(&statefulset)
            .volumes
            .iter()
            .flatten()
            .find(|volume| volume.name == "cluster-secret")
            .unwrap();
        let secret = volume.secret.as_ref().unwrap();
        assert_eq!(secret.secret_name.as_deref(), Some("demo-cluster-secret"));
        let items = secret.items.as_ref().unwrap();
        assert_eq!(
            (items[0].key.as_str(), items[0].path.as_str()),
            ("secret", "secret")
        );
        assert_eq!(secret.default_mode, Some(0o440));
        // Readable by the node's group only because fsGroup is its id.
        let security = pod_spec(&statefulset).security_context.as_ref().unwrap();
        assert_eq!(security.fs_group, Some(NODE_USER_ID));
        assert!(
            node.args
                .iter()
                .flatten()
                .any(|arg| arg == "--cluster-secret-file=/etc/ringcache/cluster/secret")
        );
    }

    #[test]
    fn fsync_reaches_the_node_only_when_asked_for() {
        let mut cluster = cluster(3);
        let args = |cluster: &crate::api::CacheCluster| {
            container(&build_statefulset(&desired(cluster.clone())))
                .args
                .clone()
                .unwrap()
        };
        assert!(!args(&cluster).contains(&"--fsync".to_owned()));
        cluster.spec.persistence.fsync = true;
        assert!(args(&cluster).contains(&"--fsync".to_owned()));
    }

    #[test]
    fn without_persistence_data_is_an_empty_dir() {
        let statefulset = build_statefulset(&desired(cluster(3)));
        assert!(statefulset.spec.volume_claim_templates.is_none());
        let data = pod_spec(&statefulset)
            .volumes
            .as_ref()
            .unwrap()
            .iter()
            .find(|volume| volume.name == "data")
            .unwrap();
        assert!(data.empty_dir.is_some());
    }

    #[test]
    fn persistence_uses_the_claim_size_given() {
        let mut cluster = cluster(3);
        cluster.spec.persistence.enabled = true;
        cluster.spec.persistence.size = "20Gi".to_owned();
        cluster.spec.persistence.storage_class_name = Some("fast".to_owned());
        let mut state = desired(cluster);
        state.claim_size = "10Gi".to_owned(); // the existing StatefulSet's, which cannot change
        let statefulset = build_statefulset(&state);
        let claim = &statefulset.spec.volume_claim_templates.as_ref().unwrap()[0];
        let claim_spec = claim.spec.as_ref().unwrap();
        assert_eq!(claim_spec.storage_class_name.as_deref(), Some("fast"));
        assert_eq!(
            claim_spec
                .resources
                .as_ref()
                .unwrap()
                .requests
                .as_ref()
                .unwrap()["storage"],
            Quantity("10Gi".to_owned())
        );
        assert!(
            !pod_spec(&statefulset)
                .volumes
                .as_ref()
                .unwrap()
                .iter()
                .any(|volume| volume.name == "data")
        );
        let retention = statefulset
            .spec
            .persistent_volume_claim_retention_policy
            .as_ref()
            .unwrap();
        assert_eq!(retention.when_scaled.as_deref(), Some("Delete"));
    }

    #[test]
    fn placement_options_reach_the_pod() {
        let mut cluster = cluster(3);
        let pod = &mut cluster.spec.pod;
        pod.tolerations.push(Toleration {
            key: Some("dedicated".to_owned()),
            ..Toleration::default()
        });
        pod.node_selector
            .insert("disk".to_owned(), "ssd".to_owned());
        pod.priority_class_name = Some("critical".to_owned());
        pod.labels.insert("team".to_owned(), "a".to_owned());
        pod.labels
            .insert("app.kubernetes.io/name".to_owned(), "mine".to_owned());
        pod.annotations.insert("note".to_owned(), "x".to_owned());
        pod.topology_spread_constraints
            .push(TopologySpreadConstraint {
                max_skew: 1,
                topology_key: "topology.kubernetes.io/zone".to_owned(),
                when_unsatisfiable: "ScheduleAnyway".to_owned(),
                ..TopologySpreadConstraint::default()
            });
        let statefulset = build_statefulset(&desired(cluster));
        let template = &statefulset.spec.template;
        let labels = template.metadata.as_ref().unwrap().labels.as_ref().unwrap();
        assert_eq!(labels["team"], "a");
        assert_eq!(labels["app.kubernetes.io/name"], "ringcache", "ours win");
        let pod = template.spec.as_ref().unwrap();
        assert_eq!(pod.tolerations.as_ref().unwrap().len(), 1);
        assert_eq!(pod.node_selector.as_ref().unwrap()["disk"], "ssd");
        assert_eq!(pod.priority_class_name.as_deref(), Some("critical"));
        let constraint = &pod.topology_spread_constraints.as_ref().unwrap()[0];
        assert_eq!(
            constraint
                .label_selector
                .as_ref()
                .unwrap()
                .match_labels
                .as_ref()
                .unwrap()["app.kubernetes.io/instance"],
            "demo"
        );
        // No affinity given: prefer one member per node.
        let anti = pod
            .affinity
            .as_ref()
            .unwrap()
            .pod_anti_affinity
            .as_ref()
            .unwrap();
        assert_eq!(
            anti.preferred_during_scheduling_ignored_during_execution
                .as_ref()
                .unwrap()[0]
                .pod_affinity_term
                .topology_key,
            "kubernetes.io/hostname"
        );
    }

    #[test]
    fn built_statefulset_is_valid_json_for_the_api() {
        let value = serde_json::to_value(build_statefulset(&desired(cluster(3)))).unwrap();
        assert_eq!(value["apiVersion"], "apps/v1");
        assert_eq!(value["kind"], "StatefulSet");
        assert!(value["status"].is_null());
    }
}
