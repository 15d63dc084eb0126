//! Pure decisions of the pod runner: the Pod object a StatefulSet ordinal gets, and the command
//! line and environment its `ringcache-node` process runs with on this machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Container, Pod, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::ResourceExt;

use super::rollout::REVISION_LABEL;

/// Why a pod cannot be run here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PodSpecError {
    #[error("StatefulSet {0} has no namespace, uid or pod template")]
    IncompleteStatefulSet(String),
    #[error("pod {0} has no container")]
    NoContainer(String),
    #[error(
        "pod {pod}: environment variable {name} uses {detail}, which the runner does not support"
    )]
    UnsupportedEnv {
        pod: String,
        name: String,
        detail: String,
    },
}

/// The name of ordinal `ordinal`'s pod.
pub fn pod_name(statefulset: &StatefulSet, ordinal: i32) -> String {
    format!("{}-{ordinal}", statefulset.name_any())
}

/// The ordinal of a pod of `statefulset`, from its name.
pub fn ordinal_of(statefulset: &StatefulSet, pod: &Pod) -> Option<i32> {
    pod.name_any()
        .strip_prefix(&format!("{}-", statefulset.name_any()))?
        .parse()
        .ok()
}

/// The Pod the StatefulSet controller creates for `ordinal` from `template` (of revision
/// `revision`): the template's metadata and spec, the StatefulSet's pod labels, the revision label,
/// an owner reference (so deleting the StatefulSet collects it), and bound to `node_name` (there is
/// no scheduler; a bound pod is deleted gracefully, so the runner's kubelet stops it first).
pub fn pod_object(
    statefulset: &StatefulSet,
    template: &PodTemplateSpec,
    ordinal: i32,
    revision: &str,
    node_name: &str,
) -> Result<Pod, PodSpecError> {
    let incomplete = || PodSpecError::IncompleteStatefulSet(statefulset.name_any());
    let namespace = statefulset.namespace().ok_or_else(incomplete)?;
    let uid = statefulset.uid().ok_or_else(incomplete)?;
    let mut labels: BTreeMap<String, String> = template
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.labels.clone())
        .unwrap_or_default();
    let name = pod_name(statefulset, ordinal);
    labels.insert(
        "statefulset.kubernetes.io/pod-name".to_owned(),
        name.clone(),
    );
    labels.insert(
        "apps.kubernetes.io/pod-index".to_owned(),
        ordinal.to_string(),
    );
    labels.insert(REVISION_LABEL.to_owned(), revision.to_owned());
    let mut spec = template.spec.clone().ok_or_else(incomplete)?;
    spec.node_name = Some(node_name.to_owned());
    // As the StatefulSet controller sets them, so that the pod resolves as <pod>.<service>.
    spec.hostname = Some(name.clone());
    spec.subdomain = statefulset.spec.service_name.clone();
    Ok(Pod {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace),
            labels: Some(labels),
            annotations: template
                .metadata
                .as_ref()
                .and_then(|metadata| metadata.annotations.clone()),
            owner_references: Some(vec![OwnerReference {
                api_version: "apps/v1".to_owned(),
                kind: "StatefulSet".to_owned(),
                name: statefulset.name_any(),
                uid,
                controller: Some(true),
                block_owner_deletion: Some(true),
            }]),
            ..ObjectMeta::default()
        },
        spec: Some(spec),
        status: None,
    })
}

/// The revision a pod was created from (its `controller-revision-hash` label).
pub fn pod_revision(pod: &Pod) -> Option<String> {
    pod.labels().get(REVISION_LABEL).cloned()
}

/// How to start a pod's process here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Files of the pod's secret volumes, written by the runner: mount path → local directory.
pub type MountedSecrets = BTreeMap<String, PathBuf>;

fn container(pod: &Pod) -> Result<&Container, PodSpecError> {
    pod.spec
        .as_ref()
        .and_then(|spec| spec.containers.first())
        .ok_or_else(|| PodSpecError::NoContainer(pod.name_any()))
}

/// Expands `$(NAME)` references to earlier variables, as the kubelet does.
fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = text.to_owned();
    for (name, value) in env {
        out = out.replace(&format!("$({name})"), value);
    }
    out
}

/// The process's arguments and environment: the container's, with the pod's own address as
/// bind and advertised address (pods share the machine's ports, each on its own loopback
/// address), the data directory of its ordinal (a PVC stand-in) and secret files mapped.
pub fn process_plan(
    pod: &Pod,
    ip: &str,
    data_dir: &Path,
    secrets: &MountedSecrets,
) -> Result<ProcessPlan, PodSpecError> {
    let container = container(pod)?;
    let mut env: Vec<(String, String)> = Vec::new();
    for variable in container.env.iter().flatten() {
        let value = if let Some(value) = &variable.value {
            expand(value, &env)
        } else if let Some(source) = &variable.value_from {
            let field = source
                .field_ref
                .as_ref()
                .map(|field| field.field_path.as_str());
            match field {
                Some("metadata.name") => pod.name_any(),
                Some("metadata.namespace") => pod.namespace().unwrap_or_default(),
                Some("status.podIP") => ip.to_owned(),
                other => {
                    return Err(PodSpecError::UnsupportedEnv {
                        pod: pod.name_any(),
                        name: variable.name.clone(),
                        detail: format!("{other:?}"),
                    });
                }
            }
        } else {
            String::new()
        };
        env.push((variable.name.clone(), value));
    }
    // DNS names of the headless Service do not resolve here: members advertise their address.
    env.retain(|(name, _)| name != "RINGCACHE_ADVERTISE_HOST");
    env.push(("RINGCACHE_ADVERTISE_HOST".to_owned(), ip.to_owned()));
    let mut args = Vec::new();
    for arg in container.args.iter().flatten() {
        let mut arg = expand(arg, &env);
        if arg.starts_with("--bind=") {
            arg = format!("--bind={ip}");
        } else if arg.starts_with("--data-dir=") {
            arg = format!("--data-dir={}", data_dir.display());
        }
        for (mount, local) in secrets {
            if arg.contains(mount.as_str()) {
                arg = arg.replace(mount.as_str(), &local.display().to_string());
            }
        }
        args.push(arg);
    }
    Ok(ProcessPlan { args, env })
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{EnvVar, EnvVarSource, ObjectFieldSelector, PodSpec};

    fn statefulset() -> StatefulSet {
        let mut statefulset = StatefulSet::default();
        statefulset.metadata.name = Some("demo".to_owned());
        statefulset.metadata.namespace = Some("cache".to_owned());
        statefulset.metadata.uid = Some("u1".to_owned());
        statefulset.spec.template = PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(BTreeMap::from([("app".to_owned(), "demo".to_owned())])),
                ..ObjectMeta::default()
            }),
            spec: Some(PodSpec {
                containers: vec![Container {
                    name: "node".to_owned(),
                    args: Some(vec![
                        "--cluster-enabled".to_owned(),
                        "--bind=0.0.0.0".to_owned(),
                        "--data-dir=/data".to_owned(),
                        "--requirepass-file=/etc/auth/password".to_owned(),
                    ]),
                    env: Some(vec![
                        EnvVar {
                            name: "POD_NAME".to_owned(),
                            value_from: Some(EnvVarSource {
                                field_ref: Some(ObjectFieldSelector {
                                    field_path: "metadata.name".to_owned(),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                        EnvVar {
                            name: "RINGCACHE_ADVERTISE_HOST".to_owned(),
                            value: Some("$(POD_NAME).demo-nodes.cache.svc".to_owned()),
                            ..Default::default()
                        },
                        EnvVar {
                            name: "GREETING".to_owned(),
                            value: Some("hello $(POD_NAME)".to_owned()),
                            ..Default::default()
                        },
                    ]),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
        };
        statefulset
    }

    #[test]
    fn pods_carry_labels_and_an_owner_reference() {
        let set = statefulset();
        let pod = pod_object(&set, &set.spec.template, 2, "demo-abc", "node-a").unwrap();
        assert_eq!(pod.labels()[REVISION_LABEL], "demo-abc");
        assert_eq!(pod_revision(&pod).as_deref(), Some("demo-abc"));
        assert_eq!(
            pod.spec.as_ref().unwrap().node_name.as_deref(),
            Some("node-a")
        );
        assert_eq!(pod.name_any(), "demo-2");
        assert_eq!(pod.labels()["app"], "demo");
        assert_eq!(pod.labels()["statefulset.kubernetes.io/pod-name"], "demo-2");
        assert_eq!(pod.owner_references()[0].uid, "u1");
        assert_eq!(ordinal_of(&statefulset(), &pod), Some(2));
    }

    #[test]
    fn process_runs_on_the_pod_address_with_its_data_dir() {
        let set = statefulset();
        let pod = pod_object(&set, &set.spec.template, 1, "demo-abc", "node-a").unwrap();
        let secrets = BTreeMap::from([("/etc/auth".to_owned(), PathBuf::from("/run/x/auth"))]);
        let plan = process_plan(&pod, "127.9.1.2", Path::new("/var/demo-1"), &secrets).unwrap();
        assert_eq!(
            plan.args,
            [
                "--cluster-enabled",
                "--bind=127.9.1.2",
                "--data-dir=/var/demo-1",
                "--requirepass-file=/run/x/auth/password"
            ]
        );
        let env: BTreeMap<_, _> = plan.env.into_iter().collect();
        assert_eq!(env["POD_NAME"], "demo-1");
        assert_eq!(env["GREETING"], "hello demo-1");
        assert_eq!(env["RINGCACHE_ADVERTISE_HOST"], "127.9.1.2");
    }
}
