//! The two Services: a headless one that gives every member a stable DNS name (also for pods that
//! are not ready yet, so members can find each other while they start), and the client Service.

use super::{ADMIN_PORT, CLUSTER_PORT, DesiredCluster, RESP_PORT};
use crate::build::identity::LABEL_SERVICE_ROLE;
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

fn port(name: &str, number: i32) -> ServicePort {
    ServicePort {
        name: Some(name.to_owned()),
        port: number,
        target_port: Some(IntOrString::String(name.to_owned())),
        protocol: Some("TCP".to_owned()),
        ..ServicePort::default()
    }
}

/// The headless Service `<name>-nodes`: RESP, cluster and admin ports, with not-ready addresses
/// published.
pub fn build_headless_service(desired: &DesiredCluster) -> Service {
    let identity = &desired.identity;
    let mut metadata = identity.metadata(identity.headless_service_name(), "cache-node");
    metadata
        .labels
        .get_or_insert_default()
        .insert(LABEL_SERVICE_ROLE.to_owned(), "headless".to_owned());
    Service {
        metadata,
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            publish_not_ready_addresses: Some(true),
            selector: Some(identity.selector_labels()),
            ports: Some(vec![
                port("resp", RESP_PORT),
                port("cluster", CLUSTER_PORT),
                port("admin", ADMIN_PORT),
            ]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The client Service `<name>`: the RESP port of ready members only.
pub fn build_client_service(desired: &DesiredCluster) -> Service {
    let identity = &desired.identity;
    let options = &desired.cluster.spec.service;
    let mut metadata = identity.metadata(identity.client_service_name(), "client");
    if !options.annotations.is_empty() {
        metadata.annotations = Some(options.annotations.clone());
    }
    Service {
        metadata,
        spec: Some(ServiceSpec {
            type_: Some(options.service_type.as_str().to_owned()),
            selector: Some(identity.selector_labels()),
            ports: Some(vec![port("resp", RESP_PORT)]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ServiceType;
    use crate::build::desired::tests::{cluster, desired};

    #[test]
    fn headless_service_publishes_not_ready_members() {
        let service = build_headless_service(&desired(cluster(3)));
        assert_eq!(service.metadata.name.as_deref(), Some("demo-nodes"));
        let spec = service.spec.unwrap();
        assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(spec.publish_not_ready_addresses, Some(true));
        let ports: Vec<(String, i32)> = spec
            .ports
            .unwrap()
            .into_iter()
            .map(|port| (port.name.unwrap(), port.port))
            .collect();
        assert_eq!(
            ports,
            [
                ("resp".to_owned(), 6379),
                ("cluster".to_owned(), 16379),
                ("admin".to_owned(), 9090)
            ]
        );
        assert_eq!(
            service.metadata.labels.unwrap()["cache.ringcache.dev/service"],
            "headless"
        );
    }

    #[test]
    fn client_service_takes_type_and_annotations() {
        let mut cluster = cluster(3);
        cluster.spec.service.service_type = ServiceType::LoadBalancer;
        cluster
            .spec
            .service
            .annotations
            .insert("example.com/lb".to_owned(), "internal".to_owned());
        let service = build_client_service(&desired(cluster));
        assert_eq!(service.metadata.name.as_deref(), Some("demo"));
        assert_eq!(
            service.metadata.annotations.unwrap()["example.com/lb"],
            "internal"
        );
        let spec = service.spec.unwrap();
        assert_eq!(spec.type_.as_deref(), Some("LoadBalancer"));
        assert_eq!(spec.ports.unwrap().len(), 1);
        assert_eq!(spec.publish_not_ready_addresses, None);
    }
}
