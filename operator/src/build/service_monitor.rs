//! The Prometheus-operator `ServiceMonitor` (`monitoring.coreos.com/v1`), built as a dynamic object
//! because its CRD belongs to another project and may not be installed.

use super::DesiredCluster;
use crate::build::identity::LABEL_SERVICE_ROLE;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use serde_json::json;

/// The API resource of `ServiceMonitor`.
pub fn service_monitor_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("monitoring.coreos.com", "v1", "ServiceMonitor"),
        "servicemonitors",
    )
}

/// The ServiceMonitor scraping `/metrics` on every member's admin port, or `None` when
/// `spec.monitoring.serviceMonitor.enabled` is false.
pub fn build_service_monitor(desired: &DesiredCluster) -> Option<DynamicObject> {
    let options = &desired.cluster.spec.monitoring.service_monitor;
    if !options.enabled {
        return None;
    }
    let identity = &desired.identity;
    let mut metadata = identity.metadata(identity.service_monitor_name(), "monitoring");
    let labels = metadata.labels.get_or_insert_default();
    for (key, value) in &options.labels {
        labels.entry(key.clone()).or_insert_with(|| value.clone());
    }
    let mut selector = identity.selector_labels();
    selector.insert(LABEL_SERVICE_ROLE.to_owned(), "headless".to_owned());
    let mut endpoint = json!({ "port": "admin", "path": "/metrics", "scheme": "http" });
    if desired.cluster.spec.tls.is_some() {
        // The admin port speaks TLS. /metrics holds figures, never keys or values, and
        // Prometheus would need the CA (optional in the Secret) to verify: encrypted, unverified.
        endpoint["scheme"] = json!("https");
        endpoint["tlsConfig"] = json!({ "insecureSkipVerify": true });
    }
    if let Some(interval) = &options.interval {
        endpoint["interval"] = json!(interval);
    }
    let mut object = DynamicObject::new(
        &identity.service_monitor_name(),
        &service_monitor_resource(),
    )
    .within(&identity.namespace);
    object.metadata = metadata;
    object.data = json!({
        "spec": {
            "selector": { "matchLabels": selector },
            "endpoints": [endpoint],
        }
    });
    Some(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::desired::tests::{cluster, desired};

    #[test]
    fn off_by_default() {
        assert!(build_service_monitor(&desired(cluster(3))).is_none());
    }

    #[test]
    fn scrapes_the_headless_service_admin_port() {
        let mut cluster = cluster(3);
        let options = &mut cluster.spec.monitoring.service_monitor;
        options.enabled = true;
        options.interval = Some("15s".to_owned());
        options
            .labels
            .insert("release".to_owned(), "prometheus".to_owned());
        let monitor = build_service_monitor(&desired(cluster)).unwrap();
        let value = serde_json::to_value(&monitor).unwrap();
        assert_eq!(value["apiVersion"], "monitoring.coreos.com/v1");
        assert_eq!(value["kind"], "ServiceMonitor");
        assert_eq!(value["metadata"]["labels"]["release"], "prometheus");
        assert_eq!(
            value["spec"]["selector"]["matchLabels"]["cache.ringcache.dev/service"],
            "headless"
        );
        assert_eq!(
            value["spec"]["endpoints"],
            json!([{ "port": "admin", "path": "/metrics", "scheme": "http", "interval": "15s" }])
        );
    }

    #[test]
    fn scrapes_over_https_when_tls_is_on() {
        let mut cluster = cluster(3);
        cluster.spec.monitoring.service_monitor.enabled = true;
        cluster.spec.tls = Some(crate::api::TlsSpec {
            secret_name: "demo-tls".to_owned(),
        });
        let monitor = build_service_monitor(&desired(cluster)).unwrap();
        let value = serde_json::to_value(&monitor).unwrap();
        assert_eq!(value["spec"]["endpoints"][0]["scheme"], "https");
        assert_eq!(
            value["spec"]["endpoints"][0]["tlsConfig"],
            json!({ "insecureSkipVerify": true })
        );
    }
}
