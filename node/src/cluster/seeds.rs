//! Seed peers (`POST /v1/cluster/join`): members to ask for routes while this member hosts no
//! replica. What a member knows of the others otherwise comes from the groups it hosts (their
//! voters and learners) and from what those members reported, so a member hosting nothing would
//! know nobody: no route to any leader, so `-CLUSTERDOWN` for every key and an empty
//! `CLUSTER SLOTS`.

use std::collections::BTreeSet;

use ringcache_admin::Replica;
use ringcache_replication::RaftNodeId;

/// The seeds a join request names, checked, without `me` (asking itself for routes teaches a
/// member nothing). `me` is recognized by id and by address: a seed list built from an older
/// status may still carry this member's previous id.
pub fn seed_peers(members: &[Replica], me: &Replica) -> Result<BTreeSet<Replica>, String> {
    let mut seeds = BTreeSet::new();
    for member in members {
        check_address(&member.address)
            .map_err(|detail| format!("member {}: {detail}", member.id))?;
        let ordinal = RaftNodeId::from_u64(member.id).ordinal();
        if ordinal != member.ordinal {
            return Err(format!(
                "member {} is ordinal {ordinal} by its id, not {} as given",
                member.id, member.ordinal
            ));
        }
        if let Some(other) = seeds
            .iter()
            .find(|seed: &&Replica| seed.id == member.id && *seed != member)
        {
            return Err(format!(
                "member {} is given twice, at {} and at {}",
                member.id, other.address, member.address
            ));
        }
        if member.id != me.id && member.address != me.address {
            seeds.insert(member.clone());
        }
    }
    Ok(seeds)
}

/// `host:port@clusterPort`, as members advertise themselves.
fn check_address(address: &str) -> Result<(), String> {
    let malformed = || format!("address {address:?} is not host:port@clusterPort");
    let (client, cluster_port) = address.split_once('@').ok_or_else(malformed)?;
    let (host, port) = client.rsplit_once(':').ok_or_else(malformed)?;
    let valid_port = |port: &str| port.parse::<u16>().is_ok_and(|port| port != 0);
    if host.is_empty() || !valid_port(port) || !valid_port(cluster_port) {
        return Err(malformed());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(ordinal: u16, incarnation: u64) -> Replica {
        Replica {
            id: RaftNodeId::new(ordinal, incarnation).as_u64(),
            ordinal,
            address: format!("m{ordinal}:6379@16379"),
        }
    }

    #[test]
    fn seeds_leave_this_member_out_by_id_and_by_address() {
        let me = member(3, 7);
        let my_previous_self = member(3, 6);
        let given = [member(0, 1), me.clone(), member(1, 1), my_previous_self];
        let seeds = seed_peers(&given, &me).unwrap();
        assert_eq!(seeds, BTreeSet::from([member(0, 1), member(1, 1)]));
    }

    #[test]
    fn a_member_given_twice_the_same_way_counts_once() {
        let seeds = seed_peers(&[member(0, 1), member(0, 1)], &member(3, 1)).unwrap();
        assert_eq!(seeds.len(), 1);
    }

    #[test]
    fn one_id_at_two_addresses_is_refused() {
        let moved = Replica {
            address: "elsewhere:6379@16379".to_owned(),
            ..member(0, 1)
        };
        let error = seed_peers(&[member(0, 1), moved], &member(3, 1)).unwrap_err();
        assert!(error.contains("given twice"), "{error}");
    }

    #[test]
    fn an_ordinal_that_contradicts_the_id_is_refused() {
        let wrong = Replica {
            ordinal: 5,
            ..member(0, 1)
        };
        let error = seed_peers(&[wrong], &member(3, 1)).unwrap_err();
        assert!(error.contains("ordinal 0 by its id, not 5"), "{error}");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for address in [
            "",
            "m0:6379",
            "m0@16379",
            ":6379@16379",
            "m0:0@16379",
            "m0:6379@",
            "m0:99999@16379",
            "m0:port@16379",
        ] {
            let bad = Replica {
                address: address.to_owned(),
                ..member(0, 1)
            };
            let error = seed_peers(&[bad], &member(3, 1)).unwrap_err();
            assert!(
                error.contains("host:port@clusterPort"),
                "{address}: {error}"
            );
        }
        assert!(check_address("[::1]:6379@16379").is_ok());
    }
}
