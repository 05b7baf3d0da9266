#![cfg(feature = "testenv")]
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! `HealthWatch` against testenv: a registered set is woken once its kind's watch has
//! listed, then by a change of one of its objects and not by a change of another object of
//! the kind; a kind is watched while a set
//! holds it and not after the set is released.

use std::time::Duration;

use futures::StreamExt as _;
use gitops_apply::health_watch::HealthWatch;
use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use gitops_core::ObjectRef;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn a_set_is_woken_by_its_own_objects_only() {
    install_crypto_provider();
    let env = TestEnv::start().await.unwrap();
    let client = env.client().unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for name in ["watched", "other"] {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": name}})).unwrap(),
        )
        .await
        .unwrap();
    }
    let (watch, woken) = HealthWatch::new(client);
    futures::pin_mut!(woken);
    let member = (
        ObjectRef::new("", "ConfigMap", "default", "watched"),
        "v1".to_string(),
    );
    watch.register("set-a", &[member]).await;
    assert_eq!(
        watch.watched_kinds(),
        [("v1".to_string(), "ConfigMap".to_string())]
    );
    let touch = |name: &'static str, value: String| {
        let cms = cms.clone();
        async move {
            cms.patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"data": {"k": value}})),
            )
            .await
            .unwrap();
        }
    };
    // Once its watch has listed, the set is woken once (a change made before the watch was
    // established is not lost), whether or not anything changed.
    let listed = tokio::time::timeout(Duration::from_secs(20), woken.next())
        .await
        .expect("woken when the watch has listed");
    assert_eq!(listed, Some("set-a"));
    // Then a change of its object wakes it.
    touch("watched", "1".into()).await;
    let changed = tokio::time::timeout(Duration::from_secs(20), woken.next())
        .await
        .expect("woken by the change of its object");
    assert_eq!(changed, Some("set-a"));
    // And a change of another object of the kind does not.
    touch("other", "1".into()).await;
    assert!(
        tokio::time::timeout(Duration::from_millis(300), woken.next())
            .await
            .is_err(),
        "a change outside the set wakes nothing"
    );

    watch.release(&"set-a");
    assert!(watch.watched_kinds().is_empty(), "no set holds ConfigMaps");
}
