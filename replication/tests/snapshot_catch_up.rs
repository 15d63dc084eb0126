//! A learner that joins after the log was compacted catches up from a snapshot of several
//! megabytes: many chunks, sent in several pieces, written to a file (or kept in memory) as
//! they arrive, checked, then installed.

mod support;

use support::*;

/// Values of this size over [`KEYS`] keys make a state of about 3 MiB: several transport pieces
/// of 1 MiB, and many chunks of [`KV_CHUNK_KEYS`] keys.
const VALUE_BYTES: usize = 20 * 1024;
const KEYS: usize = 150;
/// Past two snapshots (every 100 entries, keeping 100 entries after each), so that the start of
/// the log is gone and a newcomer has to be sent a snapshot.
const WRITES: usize = 250;

fn value(index: usize) -> String {
    format!("{index:06}").repeat(VALUE_BYTES / 6)
}

async fn learner_catches_up_from_a_large_snapshot(on_disk: bool) {
    let group = 3;
    let directories: Vec<_> = (0..4)
        .map(|_| tempfile::tempdir().expect("temporary directory"))
        .collect();
    let directory = |ordinal: usize| on_disk.then(|| directories[ordinal].path());
    let mut hosts = Vec::new();
    for ordinal in 0..3 {
        hosts.push(start_host("127.0.0.1:0", ordinal as u16, directory(ordinal)).await);
    }
    host_and_bootstrap(&hosts, group).await;
    {
        let all: Vec<_> = hosts.iter().collect();
        for index in 0..WRITES {
            write(&all, group, &format!("k{}", index % KEYS), &value(index))
                .await
                .expect("write");
        }
    }

    {
        // The log is compacted after a snapshot is built, in the background: wait for it, or
        // the newcomer could be sent log entries instead of a snapshot.
        let all: Vec<_> = hosts.iter().collect();
        let leader = await_leader(&all, group).await;
        assert!(
            eventually(|| leader
                .status(group)
                .is_some_and(|status| status.purged_index.is_some()))
            .await,
            "the leader never compacted its log: {:?}",
            leader.status(group)
        );
    }
    let newcomer = start_host("127.0.0.1:0", 3, directory(3)).await;
    newcomer.host_group(group).await.expect("host group");
    let (new_id, new_address) = (newcomer.id(), newcomer.address().to_owned());
    {
        let members: Vec<_> = hosts.iter().collect();
        admin(&members, group, |leader| {
            let new_address = new_address.clone();
            async move { leader.add_learner(group, new_id, new_address).await }
        })
        .await;
    }
    hosts.push(newcomer);
    let all: Vec<_> = hosts.iter().collect();
    let map = converged(&all, group).await;
    assert_eq!(map.len(), KEYS);
    for index in WRITES - KEYS..WRITES {
        assert_eq!(
            map.get(format!("k{}", index % KEYS).as_bytes()),
            Some(&value(index).into_bytes()),
            "k{}",
            index % KEYS
        );
    }
    let learner = hosts[3].status(group).expect("hosted");
    assert!(
        learner.snapshot_index.is_some(),
        "the learner caught up without a snapshot: {learner:?}"
    );
    if on_disk {
        let file = directories[3]
            .path()
            .join("groups")
            .join(group.to_string())
            .join("snapshot");
        let size = std::fs::metadata(&file).expect("snapshot file").len();
        assert!(
            size > 2 << 20,
            "snapshot of {size} bytes is smaller than expected"
        );
        let leftovers: Vec<_> = std::fs::read_dir(file.parent().expect("group directory"))
            .expect("list")
            .map(|entry| entry.expect("entry").file_name())
            .filter(|name| name.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    }
    for host in &hosts {
        host.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_catches_up_from_a_snapshot_of_several_megabytes_on_disk() {
    learner_catches_up_from_a_large_snapshot(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_catches_up_from_a_snapshot_of_several_megabytes_in_memory() {
    learner_catches_up_from_a_large_snapshot(false).await;
}
