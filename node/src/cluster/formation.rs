//! Forming a fresh cluster (`POST /v1/cluster/form` on any member): learn every member's Raft
//! identity, place the partitions with the same pure function the operator uses, host each
//! replica, and initialize each group on its first replica. Every step is idempotent, so a
//! repeated or interrupted formation simply runs again.

use std::time::{Duration, Instant};

use ringcache_admin::{
    AdminClient, BootstrapRequest, ErrorKind, FormRequest, FormResponse, HostRequest, Replica,
};
use ringcache_placement::{Placement, PlacementSpec};

use super::AdminFailure;

/// How long formation waits for every member's admin API to answer.
const MEMBER_WAIT: Duration = Duration::from_secs(60);

/// Runs the formation described by `request`, calling the other members with `credential` (this
/// member's cluster secret: all members of a cluster share it).
pub async fn form(
    request: &FormRequest,
    credential: Option<String>,
    tls: Option<ringcache_admin::AdminTls>,
) -> Result<FormResponse, AdminFailure> {
    let settings = request.settings;
    let count = request.members.len();
    let mut ordinals: Vec<u16> = request
        .members
        .iter()
        .map(|member| member.ordinal)
        .collect();
    ordinals.sort_unstable();
    if ordinals != (0..count as u16).collect::<Vec<_>>() {
        return Err(AdminFailure::new(
            ErrorKind::BadRequest,
            format!(
                "members must have the ordinals 0 to {} exactly once each",
                count.max(1) - 1
            ),
        ));
    }
    let partitions = ringcache_placement::PartitionCount::new(settings.partitions)
        .map_err(|error| AdminFailure::new(ErrorKind::BadRequest, error.to_string()))?;
    let placement = Placement::compute(PlacementSpec {
        members: count as u32,
        partitions,
        replication_factor: settings.replication_factor,
        seed: 0,
    })
    .map_err(|error| AdminFailure::new(ErrorKind::BadRequest, error.to_string()))?;

    let mut members: Vec<(AdminClient, Replica)> = Vec::with_capacity(count);
    let mut sorted = request.members.clone();
    sorted.sort_by_key(|member| member.ordinal);
    for member in &sorted {
        let client = AdminClient::new(member.admin_address.clone())
            .with_credential(credential.clone())
            .with_tls(tls.clone());
        let status = wait_for_status(&client).await?;
        if status.member.ordinal != member.ordinal {
            return Err(AdminFailure::new(
                ErrorKind::BadRequest,
                format!(
                    "{} is ordinal {}, not {} as the request says",
                    member.admin_address, status.member.ordinal, member.ordinal
                ),
            ));
        }
        members.push((client, status.member));
    }

    let host = HostRequest { settings };
    for (ordinal, (client, _)) in members.iter().enumerate() {
        for partition in placement.partitions_of(ordinal as u32) {
            client
                .host_partition(partition, &host)
                .await
                .map_err(|error| failure("host", error))?;
        }
    }
    for partition in 0..settings.partitions {
        let replicas = placement.replicas_of(partition);
        let voters: Vec<Replica> = replicas
            .iter()
            .map(|&member| members[member as usize].1.clone())
            .collect();
        let (first, _) = &members[replicas[0] as usize];
        first
            .bootstrap(partition, &BootstrapRequest { voters })
            .await
            .map_err(|error| failure("bootstrap", error))?;
    }
    tracing::info!(
        members = count,
        partitions = settings.partitions,
        "cluster formed"
    );
    Ok(FormResponse {
        members: members.into_iter().map(|(_, member)| member).collect(),
        bootstrapped: settings.partitions,
    })
}

async fn wait_for_status(
    client: &AdminClient,
) -> Result<ringcache_admin::MemberStatus, AdminFailure> {
    let deadline = Instant::now() + MEMBER_WAIT;
    loop {
        match client.status().await {
            Ok(status) => return Ok(status),
            // Waiting does not help: the members were started with different secrets.
            Err(error)
                if error
                    .api_error()
                    .is_some_and(|body| body.kind == ErrorKind::Unauthorized) =>
            {
                return Err(AdminFailure::new(
                    ErrorKind::BadRequest,
                    format!(
                        "{} refused this member's cluster secret: every member must be started \
                         with the same --cluster-secret-file ({error})",
                        client.address()
                    ),
                ));
            }
            Err(error) if Instant::now() >= deadline => {
                return Err(AdminFailure::new(
                    ErrorKind::Unavailable,
                    format!("member did not answer within {MEMBER_WAIT:?}: {error}"),
                ));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

fn failure(step: &str, error: ringcache_admin::AdminClientError) -> AdminFailure {
    let kind = error
        .api_error()
        .map_or(ErrorKind::Unavailable, |body| body.kind);
    AdminFailure::new(kind, format!("formation step '{step}' failed: {error}"))
}
