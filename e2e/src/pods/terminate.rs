//! Stopping a pod's process as the kubelet does: the container's `preStop` hook (an `httpGet`, the
//! only kind the node's pods use), then SIGTERM, then SIGKILL once the grace period is over.
//!
//! ```text
//!  grace = deletionGracePeriodSeconds, else terminationGracePeriodSeconds, else 30 s
//!  preStop httpGet http://<host or pod IP>:<port>/<path>   (bounded by the grace period)
//!  SIGTERM, wait for the exit until the grace period is over (at least 2 s more after the hook,
//!  as the kubelet allows), then SIGKILL
//! ```
//!
//! Every stop is recorded as a [`Termination`] the tests read back ([`super::PodRunner::terminations`]).

use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::process::NodeProcess;

/// The kubelet's default grace period.
const DEFAULT_GRACE: Duration = Duration::from_secs(30);
/// What the kubelet still allows after a hook that used up the grace period.
const MINIMUM_AFTER_HOOK: Duration = Duration::from_secs(2);

/// A `preStop` `httpGet` hook, resolved against the pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreStopHook {
    /// `host:port`.
    pub authority: String,
    pub path: String,
    /// `scheme: HTTPS` (the certificate is not verified, as by the kubelet).
    pub https: bool,
}

/// How a pod's process is to be stopped (from the pod it was started for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopPlan {
    pub pre_stop: Option<PreStopHook>,
    /// A hook the runner cannot run (`exec`, `sleep`, a scheme other than HTTP or HTTPS): named, and skipped.
    pub unsupported_hook: Option<String>,
    pub grace: Duration,
}

impl StopPlan {
    /// No hook, `grace` to exit.
    pub fn plain(grace: Duration) -> Self {
        StopPlan {
            pre_stop: None,
            unsupported_hook: None,
            grace,
        }
    }
}

/// The stop plan of `pod` running at `ip`: its first container's `preStop` and its grace period.
pub fn stop_plan(pod: &Pod, ip: &str) -> StopPlan {
    let spec = pod.spec.as_ref();
    let grace = pod
        .metadata
        .deletion_grace_period_seconds
        .or_else(|| spec.and_then(|spec| spec.termination_grace_period_seconds))
        .map_or(DEFAULT_GRACE, |seconds| {
            Duration::from_secs(seconds.max(0) as u64)
        });
    let mut plan = StopPlan::plain(grace);
    let Some(container) = spec.and_then(|spec| spec.containers.first()) else {
        return plan;
    };
    let Some(hook) = container
        .lifecycle
        .as_ref()
        .and_then(|lifecycle| lifecycle.pre_stop.as_ref())
    else {
        return plan;
    };
    let Some(get) = &hook.http_get else {
        plan.unsupported_hook = Some(if hook.exec.is_some() {
            "exec".to_owned()
        } else {
            "sleep or tcpSocket".to_owned()
        });
        return plan;
    };
    let https = match get.scheme.as_deref() {
        None => false,
        Some(scheme) if scheme.eq_ignore_ascii_case("HTTP") => false,
        Some(scheme) if scheme.eq_ignore_ascii_case("HTTPS") => true,
        Some(other) => {
            plan.unsupported_hook = Some(format!("httpGet with scheme {other:?}"));
            return plan;
        }
    };
    let port = match &get.port {
        IntOrString::Int(port) => Some(*port),
        IntOrString::String(name) => container
            .ports
            .iter()
            .flatten()
            .find(|port| port.name.as_deref() == Some(name.as_str()))
            .map(|port| port.container_port),
    };
    let Some(port) = port else {
        plan.unsupported_hook = Some(format!("httpGet on unknown port {:?}", get.port));
        return plan;
    };
    let path = get.path.clone().unwrap_or_default();
    plan.pre_stop = Some(PreStopHook {
        authority: format!("{}:{port}", get.host.as_deref().unwrap_or(ip)),
        path: if path.starts_with('/') {
            path
        } else {
            format!("/{path}")
        },
        https,
    });
    plan
}

/// Why a pod's process was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The StatefulSet controller replaced the pod for a new template revision.
    RollingUpdate,
    /// The StatefulSet was scaled in.
    ScaleIn,
    /// The Pod object is being deleted (kubelet mode: the real controller deleted it).
    PodDeleted,
    /// The Pod object is gone, or was replaced by another one of the same name.
    Orphaned,
}

/// One stopped pod process, for tests.
#[derive(Debug, Clone)]
pub struct Termination {
    pub namespace: String,
    pub pod: String,
    /// The uid of the Pod the process ran for.
    pub pod_uid: Option<String>,
    pub reason: StopReason,
    pub started: SystemTime,
    /// The hook's outcome: the HTTP status, or why it failed (`None`: the pod has no hook).
    pub pre_stop: Option<Result<u16, String>>,
    /// The hook's answer body (the node's `LeaveResponse`).
    pub pre_stop_body: String,
    pub pre_stop_took: Duration,
    /// It exited after SIGTERM within the grace period (else it was SIGKILLed).
    pub exited_gracefully: bool,
    /// From the start of the stop to the process's end.
    pub took: Duration,
}

/// Stops `process` with the plan it was started with: hook, SIGTERM, SIGKILL after the grace
/// period.
pub async fn stop(process: NodeProcess, reason: StopReason) -> Termination {
    let plan = process.owner().stop_plan.clone();
    stop_with(process, &plan, reason).await
}

/// [`stop`] with another plan (the grace period of a deletion request).
pub async fn stop_with(process: NodeProcess, plan: &StopPlan, reason: StopReason) -> Termination {
    let owner = process.owner().clone();
    let pod = owner.pod.as_str();
    let started_at = SystemTime::now();
    let started = Instant::now();
    let mut pre_stop_body = String::new();
    let pre_stop = match (&plan.pre_stop, &plan.unsupported_hook) {
        (Some(hook), _) => {
            let answer = tokio::time::timeout(plan.grace, http_get(hook)).await;
            Some(match answer {
                Ok(Ok((status, body))) => {
                    pre_stop_body = body;
                    Ok(status)
                }
                Ok(Err(error)) => Err(error),
                Err(_) => Err(format!("no answer within {:?}", plan.grace)),
            })
        }
        (None, Some(kind)) => Some(Err(format!("{kind} hooks are not run here"))),
        (None, None) => None,
    };
    let pre_stop_took = started.elapsed();
    if let Some(Err(error)) = &pre_stop {
        tracing::warn!(pod, %error, "preStop hook failed");
    }
    let remaining = plan
        .grace
        .saturating_sub(pre_stop_took)
        .max(MINIMUM_AFTER_HOOK);
    let exited_gracefully = process.stop(remaining).await;
    let termination = Termination {
        namespace: owner.namespace.clone(),
        pod: owner.pod.clone(),
        pod_uid: owner.uid.clone(),
        reason,
        started: started_at,
        pre_stop,
        pre_stop_body,
        pre_stop_took,
        exited_gracefully,
        took: started.elapsed(),
    };
    tracing::info!(
        pod,
        ?reason,
        pre_stop = ?termination.pre_stop,
        pre_stop_took = ?termination.pre_stop_took,
        exited_gracefully,
        took = ?termination.took,
        "stopped pod process"
    );
    termination
}

/// `GET http(s)://authority/path` (HTTP/1.1, one request): the status and body. HTTPS goes
/// through the admin client without verifying the certificate, as the kubelet does.
async fn http_get(hook: &PreStopHook) -> Result<(u16, String), String> {
    if hook.https {
        return ringcache_admin::AdminClient::new(hook.authority.clone())
            .with_tls(Some(ringcache_admin::AdminTls::SecretBound))
            .get(&hook.path)
            .await
            .map(|(status, body)| (status, String::from_utf8_lossy(&body).into_owned()))
            .map_err(|error| error.to_string());
    }
    let mut stream = tokio::net::TcpStream::connect(&hook.authority)
        .await
        .map_err(|error| format!("connect {}: {error}", hook.authority))?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: kube-lifecycle/1.37\r\nConnection: close\r\n\r\n",
        hook.path, hook.authority
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|error| error.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|error| error.to_string())?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("malformed answer: {head:?}"))?;
    Ok((status, body.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::{
        Container, ContainerPort, ExecAction, HTTPGetAction, Lifecycle, LifecycleHandler, PodSpec,
    };

    fn pod(hook: LifecycleHandler, grace: Option<i64>) -> Pod {
        Pod {
            spec: Some(PodSpec {
                termination_grace_period_seconds: grace,
                containers: vec![Container {
                    name: "node".to_owned(),
                    ports: Some(vec![ContainerPort {
                        name: Some("admin".to_owned()),
                        container_port: 9090,
                        ..ContainerPort::default()
                    }]),
                    lifecycle: Some(Lifecycle {
                        pre_stop: Some(hook),
                        ..Lifecycle::default()
                    }),
                    ..Container::default()
                }],
                ..PodSpec::default()
            }),
            ..Pod::default()
        }
    }

    fn http(port: IntOrString, path: &str) -> LifecycleHandler {
        LifecycleHandler {
            http_get: Some(HTTPGetAction {
                path: Some(path.to_owned()),
                port,
                scheme: Some("HTTP".to_owned()),
                ..HTTPGetAction::default()
            }),
            ..LifecycleHandler::default()
        }
    }

    #[test]
    fn the_operator_hook_is_a_get_on_the_admin_port_of_the_pod_ip() {
        let pod = pod(
            http(
                IntOrString::String("admin".to_owned()),
                "/v1/lifecycle/pre-stop",
            ),
            Some(60),
        );
        let plan = stop_plan(&pod, "127.9.1.3");
        assert_eq!(
            plan.pre_stop,
            Some(PreStopHook {
                authority: "127.9.1.3:9090".to_owned(),
                path: "/v1/lifecycle/pre-stop".to_owned(),
                https: false,
            })
        );
        assert_eq!(plan.grace, Duration::from_secs(60));
    }

    #[test]
    fn a_deletion_grace_period_wins_and_numbers_are_ports() {
        let mut pod = pod(http(IntOrString::Int(8080), "leave"), Some(60));
        pod.metadata.deletion_grace_period_seconds = Some(5);
        let plan = stop_plan(&pod, "10.0.0.1");
        assert_eq!(plan.grace, Duration::from_secs(5));
        assert_eq!(plan.pre_stop.unwrap().authority, "10.0.0.1:8080");
    }

    #[test]
    fn hooks_the_runner_cannot_run_are_named() {
        let exec = LifecycleHandler {
            exec: Some(ExecAction::default()),
            ..LifecycleHandler::default()
        };
        let plan = stop_plan(&pod(exec, None), "10.0.0.1");
        assert_eq!(plan.pre_stop, None);
        assert_eq!(plan.unsupported_hook.as_deref(), Some("exec"));
        assert_eq!(plan.grace, DEFAULT_GRACE);
        let unknown = stop_plan(
            &pod(http(IntOrString::String("nope".to_owned()), "/"), None),
            "10.0.0.1",
        );
        assert!(unknown.unsupported_hook.is_some());
        assert_eq!(
            stop_plan(&Pod::default(), "10.0.0.1"),
            StopPlan::plain(DEFAULT_GRACE)
        );
    }
}
