//! Lists and watches against the API stand-in: resuming from a resourceVersion, bookmarks,
//! `410 Gone` after compaction (raw and through `kube_runtime::watcher`, which re-lists), label and
//! field selectors, paging.

mod common;

use common::{api_status, fast, start};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams, VersionMatch, WatchEvent, WatchParams};
use kube::runtime::watcher;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

fn config_map(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    serde_json::from_value(json!({
        "metadata": {
            "name": name,
            "labels": labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        },
        "data": {"v": "1"},
    }))
    .expect("valid ConfigMap")
}

async fn next_event<S>(stream: &mut S) -> WatchEvent<ConfigMap>
where
    S: futures::Stream<Item = Result<WatchEvent<ConfigMap>, kube::Error>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("an event within 5 s")
        .expect("stream still open")
        .expect("event decodes")
}

#[tokio::test]
async fn watch_resumes_after_the_given_resource_version() {
    let (server, client) = start(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &config_map("a", &[]))
        .await
        .unwrap();
    let rv_created = created.resource_version().unwrap();
    let mut changed = created.clone();
    changed.data = Some(BTreeMap::from([("v".to_string(), "2".to_string())]));
    let replaced = api
        .replace("a", &PostParams::default(), &changed)
        .await
        .unwrap();
    api.create(&PostParams::default(), &config_map("b", &[]))
        .await
        .unwrap();

    // From the creation's version: exactly the later changes, in order.
    let mut stream = api
        .watch(&WatchParams::default().disable_bookmarks(), &rv_created)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Modified(cm) => {
            assert_eq!(cm.name_any(), "a");
            assert_eq!(cm.resource_version(), replaced.resource_version());
            assert_eq!(cm.data.unwrap()["v"], "2");
        }
        other => panic!("expected MODIFIED a, got {other:?}"),
    }
    assert!(matches!(next_event(&mut stream).await, WatchEvent::Added(cm) if cm.name_any() == "b"));
    // And what happens after the watch started.
    api.delete("a", &Default::default()).await.unwrap();
    assert!(
        matches!(next_event(&mut stream).await, WatchEvent::Deleted(cm) if cm.name_any() == "a")
    );

    // Metadata-only clients (kube's metadata watchers) get PartialObjectMetadata.
    let listed = api.list_metadata(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].name_any(), "b");
    let mut metadata_events = api
        .watch_metadata(&WatchParams::default().disable_bookmarks(), &rv_created)
        .await
        .unwrap()
        .boxed();
    match tokio::time::timeout(Duration::from_secs(5), metadata_events.next()).await {
        Ok(Some(Ok(WatchEvent::Modified(m)))) => assert_eq!(m.name_any(), "a"),
        other => panic!("expected a metadata MODIFIED event, got {other:?}"),
    }

    // resourceVersion "0" starts with the current state as ADDED events.
    let mut from_zero = api
        .watch(&WatchParams::default().disable_bookmarks(), "0")
        .await
        .unwrap()
        .boxed();
    assert!(
        matches!(next_event(&mut from_zero).await, WatchEvent::Added(cm) if cm.name_any() == "b")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn bookmarks_only_when_asked_and_carry_the_latest_version() {
    let (server, client) = start(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let list = api.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.unwrap();

    let mut plain = api
        .watch(&WatchParams::default().disable_bookmarks(), &rv)
        .await
        .unwrap()
        .boxed();
    let nothing = tokio::time::timeout(Duration::from_millis(700), plain.next()).await;
    assert!(
        nothing.is_err(),
        "no events or bookmarks expected, got {nothing:?}"
    );

    let mut with_bookmarks = api
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut with_bookmarks).await {
        WatchEvent::Bookmark(b) => assert_eq!(b.metadata.resource_version, rv),
        other => panic!("expected a bookmark, got {other:?}"),
    }
    let created = api
        .create(&PostParams::default(), &config_map("x", &[]))
        .await
        .unwrap();
    assert!(matches!(
        next_event(&mut with_bookmarks).await,
        WatchEvent::Added(_)
    ));
    match next_event(&mut with_bookmarks).await {
        WatchEvent::Bookmark(b) => {
            assert_eq!(
                Some(b.metadata.resource_version),
                created.resource_version()
            )
        }
        other => panic!("expected a bookmark, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn compacted_versions_answer_410_on_watch_and_exact_list() {
    let (server, client) = start(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let old = api
        .create(&PostParams::default(), &config_map("a", &[]))
        .await
        .unwrap();
    let old_rv = old.resource_version().unwrap();
    api.create(&PostParams::default(), &config_map("b", &[]))
        .await
        .unwrap();

    // Before compaction an exact list at the old version shows the state of that moment.
    let exact = ListParams::default()
        .at(&old_rv)
        .matching(VersionMatch::Exact);
    let then = api.list(&exact).await.unwrap();
    assert_eq!(
        then.items.iter().map(|c| c.name_any()).collect::<Vec<_>>(),
        ["a"]
    );

    server.store().compact();
    let mut stream = api
        .watch(&WatchParams::default(), &old_rv)
        .await
        .unwrap()
        .boxed();
    match next_event(&mut stream).await {
        WatchEvent::Error(status) => {
            assert_eq!(status.code, 410);
            assert_eq!(status.reason, "Expired");
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    let gone = api_status(api.list(&exact).await);
    assert_eq!((gone.code, gone.reason.as_str()), (410, "Expired"));
    // A plain list still works and gives the version to resume from.
    let now = api.list(&ListParams::default()).await.unwrap();
    let now_rv = now.metadata.resource_version.unwrap();
    assert!(now_rv.parse::<u64>().unwrap() > old_rv.parse::<u64>().unwrap());
    let _resumed = api.watch(&WatchParams::default(), &now_rv).await.unwrap();
    server.shutdown().await;
}

#[tokio::test]
async fn kube_watcher_relists_after_410() {
    let mut options = fast();
    // No bookmarks during the test: the watcher's resume point must stay the listed version.
    options.bookmark_interval = Duration::from_secs(3600);
    let (server, client) = start(options).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &config_map("a", &[]))
        .await
        .unwrap();
    // The server ends each watch after 1 s; the watcher then resumes from its last version.
    let mut events = watcher(api.clone(), watcher::Config::default().timeout(1)).boxed();
    let mut initial = Vec::new();
    loop {
        match events.try_next().await.unwrap().unwrap() {
            watcher::Event::InitApply(cm) => initial.push(cm.name_any()),
            watcher::Event::InitDone => break,
            _ => {}
        }
    }
    assert_eq!(initial, ["a"]);
    // While the watcher is not polled its watch times out; a change is made and compacted away,
    // so resuming from the listed version must fail with 410 and the watcher must re-list.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    api.create(&PostParams::default(), &config_map("b", &[]))
        .await
        .unwrap();
    server.store().compact();

    let mut saw_410 = false;
    let mut relisted = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next = tokio::time::timeout_at(deadline, events.next())
            .await
            .expect("watcher recovers within 10 s")
            .expect("watcher stream continues");
        match next {
            Err(watcher::Error::WatchError(status)) => {
                assert_eq!(status.code, 410);
                saw_410 = true;
            }
            Err(other) => panic!("unexpected watcher error {other:?}"),
            Ok(watcher::Event::Init) => relisted.clear(),
            Ok(watcher::Event::InitApply(cm)) => relisted.push(cm.name_any()),
            Ok(watcher::Event::InitDone) => break,
            Ok(watcher::Event::Apply(cm)) => panic!("{} was not compacted away", cm.name_any()),
            Ok(watcher::Event::Delete(_)) => panic!("nothing was deleted"),
        }
    }
    assert!(saw_410, "the watcher must have been told 410 Gone");
    assert_eq!(relisted, ["a", "b"]);
    server.shutdown().await;
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists_and_watches() {
    let (server, client) = start(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, labels) in [
        ("web-a", vec![("app", "web"), ("tier", "front")]),
        ("web-b", vec![("app", "web"), ("tier", "back")]),
        ("db", vec![("app", "db")]),
        ("bare", vec![]),
    ] {
        api.create(&PostParams::default(), &config_map(name, &labels))
            .await
            .unwrap();
    }
    let names = |selector: &'static str| {
        let api = api.clone();
        async move {
            let mut names: Vec<String> = api
                .list(&ListParams::default().labels(selector))
                .await
                .unwrap()
                .items
                .iter()
                .map(|c| c.name_any())
                .collect();
            names.sort();
            names
        }
    };
    assert_eq!(names("app=web").await, ["web-a", "web-b"]);
    assert_eq!(names("app!=web").await, ["bare", "db"]);
    assert_eq!(names("tier in (front,side)").await, ["web-a"]);
    assert_eq!(names("app notin (web)").await, ["bare", "db"]);
    assert_eq!(names("tier").await, ["web-a", "web-b"]);
    assert_eq!(names("!app").await, ["bare"]);
    assert_eq!(names("app=web,tier=back").await, ["web-b"]);
    let bad = api_status(api.list(&ListParams::default().labels("app in (web")).await);
    assert_eq!(bad.code, 400);

    let by_name = api
        .list(&ListParams::default().fields("metadata.name=db"))
        .await
        .unwrap();
    assert_eq!(by_name.items.len(), 1);
    let other_ns: Api<ConfigMap> = Api::all(client);
    let in_default = other_ns
        .list(
            &ListParams::default()
                .fields("metadata.namespace=default")
                .labels("app"),
        )
        .await
        .unwrap();
    assert_eq!(in_default.items.len(), 3);

    // A watch with a selector sees objects enter and leave the selection.
    let rv = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut web = api
        .watch(
            &WatchParams::default().disable_bookmarks().labels("app=web"),
            &rv,
        )
        .await
        .unwrap()
        .boxed();
    api.patch(
        "db",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"labels": {"app": "web"}}})),
    )
    .await
    .unwrap();
    assert!(matches!(next_event(&mut web).await, WatchEvent::Added(cm) if cm.name_any() == "db"));
    api.patch(
        "web-a",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"labels": {"app": "gone"}}})),
    )
    .await
    .unwrap();
    assert!(
        matches!(next_event(&mut web).await, WatchEvent::Deleted(cm) if cm.name_any() == "web-a")
    );
    server.shutdown().await;
}

#[tokio::test]
async fn paged_lists_continue_at_the_same_version() {
    let (server, client) = start(fast()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..5 {
        api.create(&PostParams::default(), &config_map(&format!("c{i}"), &[]))
            .await
            .unwrap();
    }
    let first = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(first.items.len(), 2);
    let token = first.metadata.continue_.clone().expect("more pages");
    // A change between pages is not seen: the list is consistent at the first page's version.
    api.create(&PostParams::default(), &config_map("c9", &[]))
        .await
        .unwrap();
    let mut names: Vec<String> = first.items.iter().map(|c| c.name_any()).collect();
    let mut token = Some(token);
    while let Some(t) = token {
        let page = api
            .list(&ListParams::default().limit(2).continue_token(&t))
            .await
            .unwrap();
        assert_eq!(
            page.metadata.resource_version,
            first.metadata.resource_version
        );
        names.extend(page.items.iter().map(|c| c.name_any()));
        token = page.metadata.continue_.filter(|t| !t.is_empty());
    }
    assert_eq!(names, ["c0", "c1", "c2", "c3", "c4"]);
    server.shutdown().await;
}
