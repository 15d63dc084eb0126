//! `spec.monitoring`: whether the operator creates a Prometheus-operator `ServiceMonitor` for the nodes.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Monitoring of the cache nodes. Every node serves Prometheus metrics on `/metrics` of the admin
/// port (9090) whether or not this is set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitoringSpec {
    /// A `monitoring.coreos.com/v1` ServiceMonitor selecting the cluster's headless Service.
    #[serde(default)]
    pub service_monitor: ServiceMonitorSpec,
}

/// The ServiceMonitor the operator keeps when monitoring is on.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    /// Create a ServiceMonitor (needs the Prometheus operator's CRDs; without them the cluster
    /// reports the problem in its `Degraded` condition and an Event). Turning it off deletes it.
    #[serde(default)]
    pub enabled: bool,
    /// Scrape interval, as Prometheus writes durations (for example `30s`). Prometheus' default when
    /// empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]+(ms|s|m|h)$"))]
    pub interval: Option<String>,
    /// Extra labels on the ServiceMonitor, typically what a Prometheus `serviceMonitorSelector` matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}
