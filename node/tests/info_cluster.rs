//! INFO and /metrics of a cluster member: redis_mode and cluster_enabled say so, and the
//! replication section follows the member's leadership; the Grafana dashboard is importable and
//! uses only metrics a member exports.

mod cluster_support;
mod common;
mod info_support;

use std::collections::BTreeSet;
use std::time::Duration;

use cluster_support::{TestCluster, eventually, within};
use info_support::*;
use ringcache_admin::{ClusterSettings, Role};

/// The dashboard has what Grafana needs to import it, and the chart ships the same file.
#[test]
fn the_grafana_dashboard_is_importable() {
    let dashboard = dashboard();
    assert!(!dashboard["title"].as_str().expect("title").is_empty());
    assert!(!dashboard["uid"].as_str().expect("uid").is_empty());
    assert!(dashboard["schemaVersion"].as_u64().expect("schemaVersion") >= 36);
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut graphs = 0;
    for panel in panels {
        assert!(
            ids.insert(panel["id"].as_u64().expect("panel id")),
            "ids are unique"
        );
        let position = &panel["gridPos"];
        for key in ["h", "w", "x", "y"] {
            assert!(position[key].is_u64(), "gridPos.{key} of {panel}");
        }
        if panel["type"] == "row" {
            continue;
        }
        graphs += 1;
        assert!(!panel["title"].as_str().expect("title").is_empty());
        assert_eq!(panel["datasource"]["type"], "prometheus", "{panel}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{panel}");
        for target in targets {
            assert!(!target["refId"].as_str().expect("refId").is_empty());
            let expression = target["expr"].as_str().expect("expr");
            assert!(!metric_names(expression).is_empty(), "{expression}");
        }
    }
    assert!(graphs >= 10, "{graphs} graph panels");
    let chart_copy = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../charts/ringcache-operator/dashboards/ringcache.json"
    ))
    .expect("the chart's copy");
    let docs_copy = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana/ringcache.json"
    ))
    .expect("docs copy");
    assert!(
        chart_copy == docs_copy,
        "the chart ships docs/grafana/ringcache.json as is"
    );
}

const CLUSTER: ClusterSettings = ClusterSettings {
    partitions: 4,
    replication_factor: 3,
};

/// In a cluster: redis_mode:cluster, cluster_enabled:1, and a replication section that says
/// what each member leads and follows; every metric of the Grafana dashboard is exported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_member_reports_its_mode_and_leadership() {
    within(Duration::from_secs(180), "the test", async {
        let mut cluster = TestCluster::start(3, CLUSTER).await;
        // Member 2 hands every leadership it holds to member 0: it leads nothing, so it is a
        // "slave" (and member 0, leading at least those, a "master").
        let to = cluster.status(0).await.member.id;
        for (partition, leader) in cluster.leaders().await {
            if leader == 2 {
                cluster
                    .on_leader(partition, 2, "transfer leadership", |admin| async move {
                        admin.transfer_leadership(partition, to).await
                    })
                    .await;
            }
        }
        eventually(Duration::from_secs(30), "member 2 leads nothing", || {
            let cluster = &cluster;
            async move {
                let status = cluster.status(2).await;
                (!status
                    .partitions
                    .iter()
                    .any(|partition| partition.role == Role::Leader))
                .then_some(())
            }
        })
        .await;
        let mut connection = cluster.redis(0).await;
        for index in 0..20 {
            let _: () = cluster_support::query_retrying(
                &mut connection,
                redis::cmd("SET").arg(format!("key:{index}")).arg(index),
            )
            .await
            .expect("SET");
        }
        let mut leading_total = 0;
        let mut roles = Vec::new();
        for ordinal in 0..3 {
            // Leadership may move between the two reads: compare when it did not.
            let (info, status) = eventually(Duration::from_secs(30), "a stable reading", || {
                let cluster = &cluster;
                async move {
                    let before = cluster.status(ordinal).await;
                    let mut connection = cluster.redis(ordinal).await;
                    let text: String = redis::cmd("INFO")
                        .arg("everything")
                        .query_async(&mut connection)
                        .await
                        .ok()?;
                    let after = cluster.status(ordinal).await;
                    let roles = |status: &ringcache_admin::MemberStatus| {
                        status
                            .partitions
                            .iter()
                            .map(|partition| (partition.partition, partition.role))
                            .collect::<Vec<_>>()
                    };
                    (roles(&before) == roles(&after)).then(|| (parse_info(&text), after))
                }
            })
            .await;
            assert_eq!(text_of(&info, "server", "redis_mode"), "cluster");
            assert_eq!(int(&info, "cluster", "cluster_enabled"), 1);
            let count = |wanted: &[Role]| {
                status
                    .partitions
                    .iter()
                    .filter(|partition| wanted.contains(&partition.role))
                    .count() as u64
            };
            let leading = count(&[Role::Leader]);
            leading_total += leading;
            assert_eq!(
                int(&info, "replication", "ringcache_partitions_leading"),
                leading
            );
            assert_eq!(
                int(&info, "replication", "ringcache_partitions_following"),
                count(&[Role::Follower, Role::Learner])
            );
            assert_eq!(
                int(&info, "replication", "ringcache_partitions_hosted"),
                status.partitions.len() as u64
            );
            assert_eq!(
                text_of(&info, "replication", "role"),
                if leading > 0 { "master" } else { "slave" }
            );
            roles.push(text_of(&info, "replication", "role").to_owned());
            let me = status.member.ordinal;
            let replicas: BTreeSet<u16> = status
                .partitions
                .iter()
                .filter(|partition| partition.role == Role::Leader)
                .flat_map(|partition| partition.voters.iter().chain(&partition.learners))
                .map(|replica| replica.ordinal)
                .filter(|ordinal| *ordinal != me)
                .collect();
            assert_eq!(
                int(&info, "replication", "connected_slaves"),
                replicas.len() as u64
            );
        }
        assert_eq!(roles[0], "master");
        assert_eq!(roles[2], "slave");
        // Each partition has one leader, unless an election was under way.
        assert!(leading_total <= u64::from(CLUSTER.partitions));

        // Every metric the dashboard queries is exported by a member.
        let text = get_metrics(&cluster.members[0].admin_address()).await;
        let metrics = parse_exposition(&text);
        let used: BTreeSet<String> = dashboard_expressions(&dashboard())
            .iter()
            .flat_map(|expression| metric_names(expression))
            .collect();
        let missing: Vec<&String> = used
            .iter()
            .filter(|name| !metrics.types.contains_key(*name))
            .collect();
        assert!(
            missing.is_empty(),
            "the dashboard uses {missing:?}, not in:\n{text}"
        );
        assert_eq!(
            metrics.value(&format!(
                "ringcache_build_info{{version=\"{}\",redis_version=\"7.0.0\",mode=\"cluster\"}}",
                env!("CARGO_PKG_VERSION")
            )),
            1.0
        );
        let partitions: f64 = ["leading", "following", "electing"]
            .iter()
            .map(|state| metrics.value(&format!("ringcache_partitions{{state=\"{state}\"}}")))
            .sum();
        assert_eq!(
            partitions,
            f64::from(CLUSTER.partitions),
            "RF 3 of 3: every partition is here"
        );
    })
    .await;
}
