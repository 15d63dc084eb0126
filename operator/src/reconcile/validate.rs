//! The validate phase: everything the CRD's schema and CEL rules cannot check (or that an older CRD
//! may not have checked), turned into values the builders use. An invalid spec is reported as
//! `Degraded` with reason `InvalidSpec`; it never fails the reconcile or crashes the operator.

use crate::api::CacheCluster;
use crate::build::quantity::parse_bytes;
use ringcache_placement::PartitionCount;

/// Share of the memory limit used for data when no limit is given.
pub const DEFAULT_MAX_MEMORY_PERCENT: u64 = 75;

/// A spec that passed validation, with the values derived from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidSpec {
    /// Partition count.
    pub partitions: PartitionCount,
    /// Replication factor.
    pub replication_factor: u32,
    /// Members asked for.
    pub members: u32,
    /// The node's `--maxmemory` in bytes (0: no limit).
    pub max_memory_bytes: u64,
}

/// Checks the spec; returns every problem found, each a sentence naming the field.
pub fn validate(cluster: &CacheCluster) -> Result<ValidSpec, Vec<String>> {
    let spec = &cluster.spec;
    let mut problems = Vec::new();
    if spec.replication_factor < 1 {
        problems.push(format!(
            "spec.replicationFactor must be at least 1, got {}",
            spec.replication_factor
        ));
    }
    if spec.replicas < spec.replication_factor.max(1) {
        problems.push(format!(
            "spec.replicas ({}) must be at least spec.replicationFactor ({})",
            spec.replicas, spec.replication_factor
        ));
    }
    let partitions = match u32::try_from(spec.partitions)
        .ok()
        .and_then(|count| PartitionCount::new(count).ok())
    {
        Some(partitions) => Some(partitions),
        None => {
            problems.push(format!(
                "spec.partitions must be between 1 and 16384, got {}",
                spec.partitions
            ));
            None
        }
    };
    if let Some(recorded) = cluster.status.as_ref().and_then(|status| status.partitions)
        && recorded != spec.partitions
    {
        problems.push(format!(
            "spec.partitions cannot change after creation (created with {recorded}, now {})",
            spec.partitions
        ));
    }
    if spec.image.trim().is_empty() {
        problems.push("spec.image must not be empty".to_owned());
    }
    if spec.pod.termination_grace_period_seconds < 30 {
        problems.push(format!(
            "spec.pod.terminationGracePeriodSeconds must be at least 30 (the pre-stop leadership hand-off needs it), got {}",
            spec.pod.termination_grace_period_seconds
        ));
    }
    if spec.persistence.enabled
        && let Err(error) = parse_bytes(&spec.persistence.size)
    {
        problems.push(format!("spec.persistence.size: {error}"));
    }
    if let Some(auth) = &spec.auth
        && (auth.secret_name.is_empty() || auth.secret_key.is_empty())
    {
        problems.push("spec.auth needs secretName and secretKey".to_owned());
    }
    let max_memory_bytes = match max_memory_bytes(cluster) {
        Ok(bytes) => bytes,
        Err(problem) => {
            problems.push(problem);
            0
        }
    };
    match partitions {
        Some(partitions) if problems.is_empty() => Ok(ValidSpec {
            partitions,
            replication_factor: spec.replication_factor as u32,
            members: spec.replicas as u32,
            max_memory_bytes,
        }),
        _ => Err(problems),
    }
}

/// The node's memory limit for data: `maxMemory`, or `maxMemoryPercent` of the container's memory
/// limit, or 75% of that limit, or none.
fn max_memory_bytes(cluster: &CacheCluster) -> Result<u64, String> {
    let spec = &cluster.spec;
    let limit = spec
        .resources
        .as_ref()
        .and_then(|resources| resources.limits.as_ref())
        .and_then(|limits| limits.get("memory"))
        .map(|quantity| {
            parse_bytes(&quantity.0)
                .map_err(|error| format!("spec.resources.limits.memory: {error}"))
        })
        .transpose()?;
    match (&spec.max_memory, spec.max_memory_percent, limit) {
        (Some(_), Some(_), _) => {
            Err("set at most one of spec.maxMemory and spec.maxMemoryPercent".to_owned())
        }
        (Some(text), None, limit) => {
            let bytes = parse_bytes(text).map_err(|error| format!("spec.maxMemory: {error}"))?;
            match limit {
                Some(limit) if bytes > limit => Err(format!(
                    "spec.maxMemory ({text}) is above the container's memory limit"
                )),
                _ => Ok(bytes),
            }
        }
        (None, Some(percent), Some(limit)) if (1..=100).contains(&percent) => {
            Ok(share(limit, percent as u64))
        }
        (None, Some(percent), Some(_)) => Err(format!(
            "spec.maxMemoryPercent must be between 1 and 100, got {percent}"
        )),
        (None, Some(_), None) => {
            Err("spec.maxMemoryPercent needs spec.resources.limits.memory".to_owned())
        }
        (None, None, Some(limit)) => Ok(share(limit, DEFAULT_MAX_MEMORY_PERCENT)),
        (None, None, None) => Ok(0),
    }
}

/// `percent`% of `bytes`, rounded down, without overflow.
fn share(bytes: u64, percent: u64) -> u64 {
    (u128::from(bytes) * u128::from(percent) / 100) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{AuthSpec, CacheClusterStatus};
    use crate::build::desired::tests::cluster;
    use k8s_openapi::api::core::v1::ResourceRequirements;
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use std::collections::BTreeMap;

    fn with_memory_limit(mut cluster: CacheCluster, limit: &str) -> CacheCluster {
        cluster.spec.resources = Some(ResourceRequirements {
            limits: Some(BTreeMap::from([(
                "memory".to_owned(),
                Quantity(limit.to_owned()),
            )])),
            ..ResourceRequirements::default()
        });
        cluster
    }

    #[test]
    fn defaults_are_valid() {
        let valid = validate(&cluster(3)).unwrap();
        assert_eq!(valid.partitions.get(), 64);
        assert_eq!(valid.replication_factor, 3);
        assert_eq!(valid.members, 3);
        assert_eq!(valid.max_memory_bytes, 0);
    }

    #[test]
    fn memory_limit_resolution() {
        let limited = with_memory_limit(cluster(3), "1Gi");
        assert_eq!(validate(&limited).unwrap().max_memory_bytes, 805_306_368);
        let mut percent = limited.clone();
        percent.spec.max_memory_percent = Some(50);
        assert_eq!(validate(&percent).unwrap().max_memory_bytes, 536_870_912);
        let mut explicit = limited;
        explicit.spec.max_memory = Some("256Mi".to_owned());
        assert_eq!(validate(&explicit).unwrap().max_memory_bytes, 256 << 20);
        let mut unlimited = cluster(3);
        unlimited.spec.max_memory = Some("100M".to_owned());
        assert_eq!(validate(&unlimited).unwrap().max_memory_bytes, 100_000_000);
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut bad = cluster(2);
        bad.spec.partitions = 0;
        bad.spec.max_memory_percent = Some(50);
        bad.spec.pod.termination_grace_period_seconds = 5;
        bad.spec.auth = Some(AuthSpec {
            secret_name: String::new(),
            secret_key: "password".to_owned(),
        });
        let problems = validate(&bad).unwrap_err();
        assert_eq!(
            problems,
            [
                "spec.replicas (2) must be at least spec.replicationFactor (3)",
                "spec.partitions must be between 1 and 16384, got 0",
                "spec.pod.terminationGracePeriodSeconds must be at least 30 (the pre-stop leadership hand-off needs it), got 5",
                "spec.auth needs secretName and secretKey",
                "spec.maxMemoryPercent needs spec.resources.limits.memory",
            ]
        );
    }

    #[test]
    fn partitions_are_checked_against_status_too() {
        let mut changed = cluster(3);
        changed.spec.partitions = 128;
        changed.status = Some(CacheClusterStatus {
            partitions: Some(64),
            ..CacheClusterStatus::default()
        });
        assert_eq!(
            validate(&changed).unwrap_err(),
            ["spec.partitions cannot change after creation (created with 64, now 128)"]
        );
    }

    #[test]
    fn max_memory_above_the_limit_is_refused() {
        let mut over = with_memory_limit(cluster(3), "512Mi");
        over.spec.max_memory = Some("1Gi".to_owned());
        assert_eq!(
            validate(&over).unwrap_err(),
            ["spec.maxMemory (1Gi) is above the container's memory limit"]
        );
    }
}
