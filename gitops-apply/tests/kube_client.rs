#![cfg(feature = "testenv")]
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! kube-rs clients use the test API server unchanged: over loopback HTTP and in-process.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use gitops_apply::testenv::TestEnv;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, VersionMatch, WatchEvent,
    WatchParams,
};
use kube::core::PartialObjectMeta;
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::json;

async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
}

async fn exercise(client: Client) -> anyhow::Result<()> {
    namespace(&client, "app").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "app");

    // Server-side apply creates, re-applies without a change, and conflicts between managers.
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings", "labels": {"app": "web"}}, "data": {"a": "1"}});
    let first = cms
        .patch(
            "settings",
            &PatchParams::apply("gitops"),
            &Patch::Apply(&config),
        )
        .await?;
    let again = cms
        .patch(
            "settings",
            &PatchParams::apply("gitops"),
            &Patch::Apply(&config),
        )
        .await?;
    assert_eq!(first.resource_version(), again.resource_version());
    let rival = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "settings"}, "data": {"a": "2"}});
    let conflict = cms
        .patch(
            "settings",
            &PatchParams::apply("rival"),
            &Patch::Apply(&rival),
        )
        .await
        .unwrap_err();
    match conflict {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409);
            assert!(
                status.message.contains("conflict with \"gitops\""),
                "{}",
                status.message
            );
        }
        other => panic!("expected a conflict, got {other}"),
    }
    let forced = cms
        .patch(
            "settings",
            &PatchParams::apply("rival").force(),
            &Patch::Apply(&rival),
        )
        .await?;
    assert_eq!(forced.data.unwrap()["a"], "2");

    // Lists with selectors and pages.
    for i in 0..3 {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("page-{i}"), "labels": {"page": "yes"}}});
        cms.create(&PostParams::default(), &serde_json::from_value(cm)?)
            .await?;
    }
    let page = cms
        .list(&ListParams::default().labels("page=yes").limit(2))
        .await?;
    assert_eq!(page.items.len(), 2);
    let rest = cms
        .list(
            &ListParams::default()
                .labels("page=yes")
                .limit(2)
                .continue_token(page.metadata.continue_.as_deref().unwrap()),
        )
        .await?;
    assert_eq!(rest.items.len(), 1);

    // The watcher (list then watch) sees a change made after it started; so does a
    // metadata-only watcher.
    let stream = watcher(cms.clone(), watcher::Config::default().labels("page=yes"));
    let meta: Api<PartialObjectMeta<ConfigMap>> = Api::namespaced(client.clone(), "app");
    let metadata_stream = watcher(meta, watcher::Config::default());
    let changer = {
        let cms = cms.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            cms.delete("page-0", &DeleteParams::default())
                .await
                .unwrap();
        })
    };
    let deleted = tokio::time::timeout(
        Duration::from_secs(10),
        stream
            .try_filter(|e| futures::future::ready(matches!(e, watcher::Event::Delete(_))))
            .boxed()
            .next(),
    )
    .await?;
    assert!(matches!(deleted, Some(Ok(watcher::Event::Delete(cm))) if cm.name_any() == "page-0"));
    let initial =
        tokio::time::timeout(Duration::from_secs(10), metadata_stream.boxed().next()).await?;
    assert!(matches!(initial, Some(Ok(_))));
    changer.await?;

    // Deployments get the server's defaults.
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "app");
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}});
    let applied = deployments
        .patch(
            "web",
            &PatchParams::apply("gitops"),
            &Patch::Apply(&deployment),
        )
        .await?;
    let spec = applied.spec.unwrap();
    assert_eq!(spec.replicas, Some(1));
    assert_eq!(spec.revision_history_limit, Some(10));
    let scaled = deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 4}})),
        )
        .await?;
    assert_eq!(scaled.spec.unwrap().replicas, Some(4));
    assert_eq!(
        deployments.get("web").await?.spec.unwrap().replicas,
        Some(4)
    );

    // Missing namespaces are refused, missing objects are NotFound.
    let elsewhere: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let refused = elsewhere
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "x"}}))?,
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, kube::Error::Api(s) if s.code == 404));
    Ok(())
}

#[tokio::test]
async fn kube_client_over_http() {
    let env = TestEnv::start().await.unwrap();
    exercise(env.client().unwrap()).await.unwrap();
    assert!(env.request_count("patch", "configmaps") >= 4);
}

#[tokio::test]
async fn kube_client_in_process() {
    let env = TestEnv::new();
    exercise(env.client().unwrap()).await.unwrap();
}

#[tokio::test]
async fn discovery_finds_builtin_and_custom_resources() {
    let env = TestEnv::new();
    let client = env.client().unwrap();
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object",
                                   "x-kubernetes-preserve-unknown-fields": true}}}]}});
    crds.patch(
        "widgets.example.com",
        &PatchParams::apply("test"),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    let discovery = kube::Discovery::new(client.clone()).run().await.unwrap();
    assert!(discovery.has_group("apps"));
    assert!(discovery.has_group("example.com"));
    let aggregated = kube::Discovery::new(client).run_aggregated().await.unwrap();
    assert!(aggregated.has_group("example.com"));
}

#[tokio::test]
async fn faults_and_expired_watches() {
    let env = TestEnv::new();
    let client = env.client().unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    env.inject(gitops_apply::testenv::Fault::error(
        Some("list"),
        Some("configmaps"),
        503,
    ));
    let failed = cms.list(&ListParams::default()).await.unwrap_err();
    assert!(matches!(failed, kube::Error::Api(s) if s.code == 503));
    env.clear_faults();
    let list = cms.list(&ListParams::default()).await.unwrap();
    env.compact();
    let rv = list.metadata.resource_version.unwrap();
    let mut events = cms
        .watch(&kube::api::WatchParams::default().timeout(1), "1")
        .await
        .unwrap()
        .boxed();
    let first = events.next().await;
    assert!(
        matches!(first, Some(Ok(kube::api::WatchEvent::Error(ref e))) if e.code == 410),
        "{first:?} (list was at {rv})"
    );
}

#[tokio::test]
async fn garbage_collection_and_namespace_deletion_when_controllers_run() {
    let env = TestEnv::new();
    env.enable_controllers();
    let client = env.client().unwrap();
    namespace(&client, "gc").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "gc");
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap(),
        )
        .await
        .unwrap();
    let dependent = |name: &str| {
        serde_json::from_value::<ConfigMap>(json!({"metadata": {"name": name, "ownerReferences": [{
            "apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.uid().unwrap()}]}}))
        .unwrap()
    };
    cms.create(&PostParams::default(), &dependent("child"))
        .await
        .unwrap();
    cms.delete("owner", &DeleteParams::foreground())
        .await
        .unwrap();
    assert!(cms.get_opt("child").await.unwrap().is_none());
    assert!(cms.get_opt("owner").await.unwrap().is_none());

    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .delete("gc", &DeleteParams::default())
        .await
        .unwrap();
    assert!(namespaces.get_opt("gc").await.unwrap().is_none());
}

#[tokio::test]
async fn streaming_list_watcher() {
    let env = TestEnv::new();
    let client = env.client().unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({"metadata": {"name": "present"}})).unwrap(),
    )
    .await
    .unwrap();
    let mut stream = watcher(cms.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut initial = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .unwrap()
        {
            Some(Ok(watcher::Event::InitApply(cm))) => initial.push(cm.name_any()),
            Some(Ok(watcher::Event::InitDone)) => break,
            Some(Ok(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(initial.contains(&"present".to_string()), "{initial:?}");
}

/// Watches replay the event log from a resourceVersion: a plain watch gets every version
/// whole; a selector watch sees an object leaving its selection as a deletion (of the state
/// it was last selected in, as the watch cache sends it) and coming back as an addition.
#[tokio::test]
async fn watches_replay_whole_objects_and_selection_changes() -> anyhow::Result<()> {
    let env = TestEnv::new();
    let cms: Api<ConfigMap> = Api::default_namespaced(Client::new(env.router(), "default"));
    let start = cms
        .list(&ListParams::default())
        .await?
        .metadata
        .resource_version
        .unwrap_or_default();
    for tier in ["web", "db", "web"] {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "w", "labels": {"tier": tier}}, "data": {"tier": tier}});
        cms.patch("w", &PatchParams::apply("test"), &Patch::Apply(&config))
            .await?;
    }
    let events = |params: WatchParams| {
        let cms = cms.clone();
        let start = start.clone();
        async move {
            let stream = cms.watch(&params.timeout(1), &start).await?;
            let events: Vec<String> = stream
                .try_filter_map(|e| {
                    futures::future::ready(Ok(match e {
                        WatchEvent::Added(cm) => {
                            Some(format!("ADDED {}", cm.data.unwrap()["tier"]))
                        }
                        WatchEvent::Modified(cm) => {
                            Some(format!("MODIFIED {}", cm.data.unwrap()["tier"]))
                        }
                        WatchEvent::Deleted(cm) => {
                            Some(format!("DELETED {}", cm.data.unwrap()["tier"]))
                        }
                        _ => None,
                    }))
                })
                .try_collect()
                .await?;
            anyhow::Ok(events)
        }
    };
    assert_eq!(
        events(WatchParams::default()).await?,
        ["ADDED web", "MODIFIED db", "MODIFIED web"]
    );
    assert_eq!(
        events(WatchParams::default().labels("tier=web")).await?,
        ["ADDED web", "DELETED web", "ADDED web"]
    );
    Ok(())
}

/// Lists read at a resourceVersion: `Exact` (or a limit without a match) gives the state then
/// (410 Gone once compacted), a version not reached yet is refused, and later pages of a paged
/// list read the first page's version however the collection changed since.
#[tokio::test]
async fn lists_read_at_a_resource_version_and_pages_stay_consistent() -> anyhow::Result<()> {
    let env = TestEnv::new();
    let cms: Api<ConfigMap> = Api::default_namespaced(Client::new(env.router(), "default"));
    for name in ["a", "b", "c"] {
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name}, "data": {"v": "1"}});
        cms.patch(name, &PatchParams::apply("test"), &Patch::Apply(&config))
            .await?;
    }
    let first = cms.list(&ListParams::default().limit(1)).await?;
    let then = first.metadata.resource_version.clone().unwrap_or_default();
    let token = first.metadata.continue_.clone().unwrap_or_default();
    assert_eq!(first.metadata.remaining_item_count, Some(2));
    cms.delete("b", &Default::default()).await?;
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a"}, "data": {"v": "2"}});
    cms.patch("a", &PatchParams::apply("test"), &Patch::Apply(&config))
        .await?;
    let rest = cms
        .list(&ListParams::default().limit(5).continue_token(&token))
        .await?;
    assert_eq!(
        rest.items.iter().map(|c| c.name_any()).collect::<Vec<_>>(),
        ["b", "c"]
    );
    assert_eq!(
        rest.metadata.resource_version.as_deref(),
        Some(then.as_str())
    );
    let exact = cms
        .list(
            &ListParams::default()
                .at(&then)
                .matching(VersionMatch::Exact),
        )
        .await?;
    let data: Vec<String> = exact
        .items
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c.name_any(),
                c.data.clone().unwrap_or_default()["v"]
            )
        })
        .collect();
    assert_eq!(data, ["a=1", "b=1", "c=1"]);
    let now = cms
        .list(
            &ListParams::default()
                .at(&then)
                .matching(VersionMatch::NotOlderThan),
        )
        .await?;
    assert_eq!(now.items.len(), 2);
    // A version with a limit and no match is the legacy spelling of Exact.
    let legacy = cms.list(&ListParams::default().at(&then).limit(5)).await?;
    assert_eq!(legacy.items.len(), 3);
    assert_eq!(
        legacy.metadata.resource_version.as_deref(),
        Some(then.as_str())
    );
    let future = then.parse::<u64>()? + 100;
    let refused = cms
        .list(&ListParams::default().at(&future.to_string()))
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(refused.contains("Too large resource version"), "{refused}");
    env.compact();
    let gone = cms
        .list(
            &ListParams::default()
                .at(&then)
                .matching(VersionMatch::Exact),
        )
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(gone.contains("too old"), "{gone}");
    Ok(())
}
