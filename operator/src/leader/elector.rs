//! The Lease IO: acquire (create or take over by resourceVersion), renew, and tell the caller when
//! leadership is lost. A lost race (409) is never an error: it just means someone else leads.

use super::decision::{LeaseDecision, LeaseView, decide, must_step_down};
use crate::error::api_status_code;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Client, ResourceExt};
use std::time::{Duration, Instant};

/// Timing of the election (the defaults of client-go's leader election).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ElectorConfig {
    /// Name of the Lease.
    pub lease_name: String,
    /// Namespace of the Lease.
    pub lease_namespace: String,
    /// Our identity in the Lease.
    pub identity: String,
    /// How long a renewal holds.
    pub lease_duration: Duration,
    /// Stop acting when the last successful renewal is this old.
    pub renew_deadline: Duration,
    /// Time between attempts.
    pub retry_period: Duration,
}

impl ElectorConfig {
    /// Defaults: 15 s lease, 10 s renew deadline, 2 s retry period.
    pub fn new(lease_name: String, lease_namespace: String, identity: String) -> Self {
        ElectorConfig {
            lease_name,
            lease_namespace,
            identity,
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// A Lease-based leader elector.
pub struct Elector {
    api: Api<Lease>,
    config: ElectorConfig,
}

fn view(lease: &Lease) -> LeaseView {
    let spec = lease.spec.clone().unwrap_or_default();
    LeaseView {
        holder: spec.holder_identity,
        renewed_at_ms: spec
            .renew_time
            .or(spec.acquire_time)
            .map(|time| time.0.as_millisecond()),
        duration_seconds: spec.lease_duration_seconds.unwrap_or(15),
    }
}

impl Elector {
    /// An elector for the Lease named in `config`.
    pub fn new(client: Client, config: ElectorConfig) -> Self {
        Elector {
            api: Api::namespaced(client, &config.lease_namespace),
            config,
        }
    }

    fn our_spec(&self, now: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.config.identity.clone()),
            lease_duration_seconds: Some(self.config.lease_duration.as_secs() as i32),
            acquire_time: Some(MicroTime(now)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// One attempt: returns whether we hold the Lease afterwards.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let current = self.api.get_opt(&self.config.lease_name).await?;
        let decision = decide(
            current.as_ref().map(view).as_ref(),
            &self.config.identity,
            now.as_millisecond(),
        );
        let result = match (decision, current) {
            (LeaseDecision::Create, _) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.config.lease_name.clone()),
                        namespace: Some(self.config.lease_namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.our_spec(now, 0)),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            (LeaseDecision::TakeOver, Some(mut lease)) => {
                let transitions = lease
                    .spec
                    .as_ref()
                    .and_then(|spec| spec.lease_transitions)
                    .unwrap_or(0)
                    + 1;
                lease.spec = Some(self.our_spec(now, transitions));
                // replace carries the resourceVersion we read: a concurrent writer makes it 409.
                self.api
                    .replace(&lease.name_any(), &PostParams::default(), &lease)
                    .await
            }
            (LeaseDecision::Renew, Some(mut lease)) => {
                let spec = lease.spec.get_or_insert_default();
                spec.renew_time = Some(MicroTime(now));
                spec.lease_duration_seconds = Some(self.config.lease_duration.as_secs() as i32);
                self.api
                    .replace(&lease.name_any(), &PostParams::default(), &lease)
                    .await
            }
            (LeaseDecision::Wait { holder, .. }, _) => {
                tracing::debug!(%holder, "another replica leads");
                return Ok(false);
            }
            (_, None) => return Ok(false),
        };
        match result {
            Ok(_) => Ok(true),
            Err(error) if matches!(api_status_code(&error), Some(409)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Waits until we hold the Lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = %self.config.lease_name, identity = %self.config.identity, "acquired leadership");
                    return;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "leader election attempt failed"),
            }
            tokio::time::sleep(self.config.retry_period).await;
        }
    }

    /// Keeps renewing; returns when leadership is lost (another holder, or no successful renewal
    /// within the renew deadline). The caller must stop acting at once.
    pub async fn hold(&self) {
        let mut last_renewal = Instant::now();
        loop {
            tokio::time::sleep(self.config.retry_period).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renewal = Instant::now(),
                Ok(false) => {
                    tracing::warn!("leadership taken by another replica");
                    return;
                }
                Err(error) => tracing::warn!(%error, "lease renewal failed"),
            }
            if must_step_down(last_renewal.elapsed(), self.config.renew_deadline) {
                tracing::warn!("no renewal within the renew deadline; stepping down");
                return;
            }
        }
    }
}
