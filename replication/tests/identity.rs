//! A member that comes back with an empty data directory gets a new Raft identity, and rejoins
//! the group the way a new member does (learner, promote, old identity removed).

mod support;

use std::collections::BTreeSet;

use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_data_dir_restart_gets_a_new_identity_and_rejoins_as_a_new_member() {
    let group = 1;
    let (_directories, mut hosts) = start_three_on_disk(group).await;
    {
        let all: Vec<_> = hosts.iter().collect();
        // Enough writes for a snapshot (every 100 entries): the newcomer must catch up from it.
        for index in 0..150 {
            write(
                &all,
                group,
                &format!("k{}", index % 30),
                &format!("v{index}"),
            )
            .await
            .expect("write");
        }
    }
    let StoppedFollower {
        position,
        id: old_id,
        address,
    } = stop_a_follower(&mut hosts, group).await;

    // Same ordinal, same address, but the volume is gone.
    let empty = tempfile::tempdir().expect("temporary directory");
    let reborn = start_host(&address, position as u16, Some(empty.path())).await;
    assert_eq!(reborn.id().ordinal(), old_id.ordinal());
    assert_ne!(
        reborn.id(),
        old_id,
        "an empty data dir must not reuse the old Raft identity"
    );
    reborn.host_group(group).await.expect("host group");

    // Messages still addressed to the old identity are refused by the new one: the group sees
    // the old voter as unreachable, never as a voter with an empty log.
    let survivors: Vec<_> = hosts.iter().collect();
    write(&survivors, group, "while-reborn", "1")
        .await
        .expect("write with two of three");

    let new_id = reborn.id();
    let new_address = reborn.address().to_owned();
    admin(&survivors, group, |leader| {
        let new_address = new_address.clone();
        async move { leader.add_learner(group, new_id, new_address).await }
    })
    .await;
    admin(&survivors, group, |leader| async move {
        leader.promote(group, new_id).await
    })
    .await;
    admin(&survivors, group, |leader| async move {
        leader.remove_replica(group, old_id).await
    })
    .await;
    // Idempotent: repeating finished steps succeeds.
    admin(&survivors, group, |leader| async move {
        leader.promote(group, new_id).await
    })
    .await;
    admin(&survivors, group, |leader| async move {
        leader.remove_replica(group, old_id).await
    })
    .await;

    hosts.push(reborn);
    let all: Vec<_> = hosts.iter().collect();
    let expected: BTreeSet<_> = hosts.iter().map(|host| host.id()).collect();
    assert!(eventually(|| all.iter().all(|host| voter_ids(host, group) == expected)).await);
    write(&all, group, "after", "2").await.expect("write");
    let map = converged(&all, group).await;
    assert_eq!(
        map.get(b"k29".as_slice()).map(Vec::as_slice),
        Some(b"v149".as_slice())
    );
    assert_eq!(
        map.get(b"after".as_slice()).map(Vec::as_slice),
        Some(b"2".as_slice())
    );
    for host in &hosts {
        host.shutdown().await;
    }
}
