#![cfg(feature = "testenv")]
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Conformance scenarios: what the apply engine and the controllers rely on from a Kubernetes
//! API server. They run against testenv by default and unchanged against a real cluster when
//! `GITOPS_TEST_KUBECONFIG` names a kubeconfig (each scenario works in its own namespace and
//! deletes it at the end). Both are reached the same way, over HTTP through a kubeconfig; the
//! scenarios cover server-side apply and conflicts, dry-run, watch, the CRD lifecycle,
//! deletion (finalizers, propagation policies, namespaces) and RBAC with impersonation.
//! Against a real cluster, the kubeconfig's user must be allowed to impersonate (cluster-admin
//! is).

use std::time::Duration;

use futures::StreamExt;
use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams, PropagationPolicy,
};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

/// The server under test, reached the same way in both cases: through a kubeconfig.
struct Cluster {
    client: Client,
    config: kube::Config,
    _env: Option<TestEnv>,
}

async fn cluster() -> Cluster {
    install_crypto_provider();
    let (text, env) = match std::env::var("GITOPS_TEST_KUBECONFIG") {
        Ok(path) => (
            std::fs::read_to_string(&path).expect("read GITOPS_TEST_KUBECONFIG"),
            None,
        ),
        Err(_) => {
            let env = TestEnv::start().await.expect("start testenv");
            // A cluster runs the garbage collector and the namespace controller.
            env.enable_controllers();
            (env.kubeconfig(), Some(env))
        }
    };
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).expect("parse the kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("kubeconfig");
    Cluster {
        client: Client::try_from(config.clone()).expect("client"),
        config,
        _env: env,
    }
}

impl Cluster {
    /// A fresh namespace for one scenario.
    async fn namespace(&self, prefix: &str) -> String {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("{prefix}-{nanos:x}");
        let api: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        api.create(&PostParams::default(), &ns).await.unwrap();
        name
    }

    /// A client that acts as `user`, through impersonation headers.
    fn impersonating(&self, user: &str) -> Client {
        let mut config = self.config.clone();
        config.auth_info.impersonate = Some(user.to_string());
        Client::try_from(config).expect("impersonating client")
    }

    async fn cleanup(&self, namespace: &str) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        api.delete(namespace, &DeleteParams::default()).await.ok();
    }
}

fn apply(manager: &str) -> PatchParams {
    PatchParams::apply(manager)
}

fn status_code(error: kube::Error) -> (u16, String) {
    match error {
        kube::Error::Api(status) => (status.code, status.message),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn server_side_apply_ownership() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-apply").await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let manifest = |replicas: Option<i64>, image: &str, tier: bool| {
        let mut labels = json!({"app": "web"});
        if tier {
            labels["tier"] = json!("frontend");
        }
        let mut spec = json!({"selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]}}});
        if let Some(r) = replicas {
            spec["replicas"] = json!(r);
        }
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": labels}, "spec": spec})
    };
    let created = deployments
        .patch(
            "web",
            &apply("a"),
            &Patch::Apply(manifest(Some(2), "nginx:1.27", true)),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    // An identical apply changes nothing, not even the resourceVersion.
    let same = deployments
        .patch(
            "web",
            &apply("a"),
            &Patch::Apply(manifest(Some(2), "nginx:1.27", true)),
        )
        .await
        .unwrap();
    assert_eq!(same.resource_version(), created.resource_version());
    // A spec change bumps the generation; a dropped label is removed.
    let changed = deployments
        .patch(
            "web",
            &apply("a"),
            &Patch::Apply(manifest(Some(2), "nginx:1.28", false)),
        )
        .await
        .unwrap();
    assert_eq!(changed.metadata.generation, Some(2));
    assert!(!changed.labels().contains_key("tier"));
    // Another manager changing an owned field conflicts, and force takes it over.
    let rival = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 3}});
    let (code, message) = status_code(
        deployments
            .patch("web", &apply("b"), &Patch::Apply(rival.clone()))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 409);
    assert_eq!(
        message,
        "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
    );
    deployments
        .patch("web", &apply("b").force(), &Patch::Apply(rival))
        .await
        .unwrap();
    // The first manager, no longer applying replicas, leaves them to the new owner.
    let after = deployments
        .patch(
            "web",
            &apply("a"),
            &Patch::Apply(manifest(None, "nginx:1.28", false)),
        )
        .await
        .unwrap();
    assert_eq!(after.spec.unwrap().replicas, Some(3));
    cluster.cleanup(&ns).await;
}

#[tokio::test]
async fn dry_run_stores_nothing() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-dry").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
    let dry = cms
        .patch("c", &apply("m").dry_run(), &Patch::Apply(&config))
        .await
        .unwrap();
    assert_eq!(dry.data.unwrap()["a"], "1");
    assert!(cms.get_opt("c").await.unwrap().is_none());
    cms.patch("c", &apply("m"), &Patch::Apply(&config))
        .await
        .unwrap();
    cms.delete(
        "c",
        &DeleteParams {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(cms.get_opt("c").await.unwrap().is_some());
    cluster.cleanup(&ns).await;
}

#[tokio::test]
async fn watch_sees_changes_in_order() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-watch").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
    let mut stream = watcher(cms.clone(), watcher::Config::default()).boxed();
    // The initial (empty) list.
    let mut seen = Vec::new();
    let writer = {
        let cms = cms.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let config = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "data": {"v": v}});
            cms.patch("w", &apply("m"), &Patch::Apply(config("1")))
                .await
                .unwrap();
            cms.patch("w", &apply("m"), &Patch::Apply(config("2")))
                .await
                .unwrap();
            cms.delete("w", &DeleteParams::default()).await.unwrap();
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while seen.len() < 3 && tokio::time::Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(5), stream.next()).await {
            Ok(Some(Ok(watcher::Event::Apply(cm)))) => {
                seen.push(format!("apply {}", cm.data.unwrap_or_default()["v"]));
            }
            Ok(Some(Ok(watcher::Event::Delete(_)))) => seen.push("delete".into()),
            Ok(Some(Ok(_))) => {}
            other => panic!("watch ended: {other:?}"),
        }
    }
    writer.await.unwrap();
    assert_eq!(seen, ["apply 1", "apply 2", "delete"]);
    cluster.cleanup(&ns).await;
}

#[tokio::test]
async fn custom_resource_lifecycle() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-crd").await;
    let crds: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let group = format!("{ns}.example.com");
    let name = format!("gadgets.{group}");
    let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": name},
        "spec": {"group": group, "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "mode": {"type": "string", "default": "fast"}}},
                    "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}}}}]}});
    crds.patch(&name, &apply("m"), &Patch::Apply(&crd))
        .await
        .unwrap();
    // Wait until Established.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let current = crds.get(&name).await.unwrap();
        let established = current
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "CRD never Established"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&group, "v1", "Gadget"),
        "gadgets",
    );
    let gadgets: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), &ns, &resource);
    let gadget = |size: i64| {
        json!({"apiVersion": format!("{group}/v1"), "kind": "Gadget",
        "metadata": {"name": "g"}, "spec": {"size": size}})
    };
    // Schema validation and defaults.
    let (code, _) = status_code(
        gadgets
            .patch("g", &apply("m"), &Patch::Apply(gadget(0)))
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 422);
    let created = gadgets
        .patch("g", &apply("m"), &Patch::Apply(gadget(1)))
        .await
        .unwrap();
    assert_eq!(created.data["spec"]["mode"], "fast");
    // Status goes through the status subresource only.
    let status = json!({"status": {"ready": true}});
    let ignored = gadgets
        .patch("g", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(ignored.data.get("status"), None);
    let written = gadgets
        .patch_status("g", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(written.data["status"]["ready"], Value::Bool(true));
    assert_eq!(written.metadata.generation, created.metadata.generation);
    crds.delete(&name, &DeleteParams::default()).await.unwrap();
    cluster.cleanup(&ns).await;
}

#[tokio::test]
async fn finalizers_hold_deletion() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-final").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
    let held: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &held).await.unwrap();
    cms.delete("held", &DeleteParams::default()).await.unwrap();
    let terminating = cms.get("held").await.unwrap();
    assert!(terminating.metadata.deletion_timestamp.is_some());
    cms.patch(
        "held",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert!(cms.get_opt("held").await.unwrap().is_none());
    // A missing namespace is refused.
    let nowhere: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "conf-missing-namespace");
    let (code, message) = status_code(
        nowhere
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap(),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(code, 404);
    assert_eq!(message, "namespaces \"conf-missing-namespace\" not found");
    cluster.cleanup(&ns).await;
}

#[tokio::test]
async fn secrets_fold_string_data_and_default_their_type() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-secret").await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cluster.client.clone(), &ns);
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "stringData": {"password": "hunter2"}});
    let applied = secrets
        .patch("s", &apply("m"), &Patch::Apply(&secret))
        .await
        .unwrap();
    assert_eq!(applied.type_.as_deref(), Some("Opaque"));
    assert!(applied.string_data.is_none());
    let data = applied.data.unwrap();
    assert_eq!(data["password"].0, b"hunter2".to_vec());
    cluster.cleanup(&ns).await;
}

/// Polls `check` until it holds or `within` has passed: controllers (garbage collection, the
/// RBAC authorizer's caches) act shortly after a write on a real cluster.
async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn rbac_limits_an_impersonated_service_account() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-rbac").await;
    let admin = cluster.client.clone();
    let pp = PostParams::default();
    let sa: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "deployer"}})).unwrap();
    Api::<ServiceAccount>::namespaced(admin.clone(), &ns)
        .create(&pp, &sa)
        .await
        .unwrap();
    let role: Role = serde_json::from_value(json!({
        "metadata": {"name": "configmap-reader"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]
    }))
    .unwrap();
    Api::<Role>::namespaced(admin.clone(), &ns)
        .create(&pp, &role)
        .await
        .unwrap();
    let binding: RoleBinding = serde_json::from_value(json!({
        "metadata": {"name": "deployer-reads"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmap-reader"},
        "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]
    }))
    .unwrap();
    Api::<RoleBinding>::namespaced(admin.clone(), &ns)
        .create(&pp, &binding)
        .await
        .unwrap();
    let visible: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "visible"}})).unwrap();
    Api::<ConfigMap>::namespaced(admin.clone(), &ns)
        .create(&pp, &visible)
        .await
        .unwrap();

    let user = format!("system:serviceaccount:{ns}:deployer");
    let as_sa = cluster.impersonating(&user);
    let cms: Api<ConfigMap> = Api::namespaced(as_sa.clone(), &ns);
    // What the Role grants is allowed (once the authorizer has seen the binding).
    let allowed = eventually(Duration::from_secs(10), || async {
        cms.list(&ListParams::default())
            .await
            .is_ok_and(|list| list.items.iter().any(|c| c.name_any() == "visible"))
    })
    .await;
    assert!(
        allowed,
        "{user} could not list the configmaps its Role grants"
    );
    assert_eq!(cms.get("visible").await.unwrap().name_any(), "visible");

    // Everything else is refused with the server's wording.
    let (code, message) = status_code(cms.create(&pp, &visible).await.unwrap_err());
    assert_eq!(code, 403);
    assert_eq!(
        message,
        format!(
            "configmaps is forbidden: User \"{user}\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"{ns}\""
        )
    );
    let secrets: Api<Secret> = Api::namespaced(as_sa.clone(), &ns);
    let (code, message) = status_code(secrets.get("anything").await.unwrap_err());
    assert_eq!(code, 403);
    assert_eq!(
        message,
        format!(
            "secrets \"anything\" is forbidden: User \"{user}\" cannot get resource \"secrets\" in API group \"\" in the namespace \"{ns}\""
        )
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(as_sa, "default");
    let (code, message) = status_code(elsewhere.list(&ListParams::default()).await.unwrap_err());
    assert_eq!(code, 403);
    assert_eq!(
        message,
        format!(
            "configmaps is forbidden: User \"{user}\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\""
        )
    );
    cluster.cleanup(&ns).await;
}

#[tokio::test]
async fn deletion_propagates_to_dependents() {
    let cluster = cluster().await;
    let ns = cluster.namespace("conf-gc").await;
    let cms: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
    let pp = PostParams::default();
    // One owner per policy, each with one dependent.
    for policy in ["background", "orphan", "foreground"] {
        let owner: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("owner-{policy}")}}))
                .unwrap();
        let owner = cms.create(&pp, &owner).await.unwrap();
        let dependent: ConfigMap = serde_json::from_value(json!({"metadata": {
            "name": format!("dependent-{policy}"),
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
                "name": owner.name_any(), "uid": owner.uid().unwrap()}]
        }}))
        .unwrap();
        cms.create(&pp, &dependent).await.unwrap();
    }
    let delete = |policy: PropagationPolicy| DeleteParams {
        propagation_policy: Some(policy),
        ..DeleteParams::default()
    };

    cms.delete("owner-background", &delete(PropagationPolicy::Background))
        .await
        .unwrap();
    let gone = eventually(Duration::from_secs(30), || async {
        cms.get_opt("dependent-background").await.unwrap().is_none()
    })
    .await;
    assert!(gone, "a background deletion left its dependent");

    cms.delete("owner-orphan", &delete(PropagationPolicy::Orphan))
        .await
        .unwrap();
    let released = eventually(Duration::from_secs(30), || async {
        cms.get_opt("owner-orphan").await.unwrap().is_none()
            && cms
                .get_opt("dependent-orphan")
                .await
                .unwrap()
                .is_some_and(|d| d.owner_references().is_empty())
    })
    .await;
    assert!(
        released,
        "an orphaning deletion did not release its dependent"
    );

    cms.delete("owner-foreground", &delete(PropagationPolicy::Foreground))
        .await
        .unwrap();
    let both_gone = eventually(Duration::from_secs(30), || async {
        cms.get_opt("owner-foreground").await.unwrap().is_none()
            && cms.get_opt("dependent-foreground").await.unwrap().is_none()
    })
    .await;
    assert!(
        both_gone,
        "a foreground deletion left the owner or its dependent"
    );

    // A namespace deletion finishes: its objects go, then the namespace.
    cluster.cleanup(&ns).await;
    let namespaces: Api<Namespace> = Api::all(cluster.client.clone());
    let finished = eventually(Duration::from_secs(60), || async {
        namespaces.get_opt(&ns).await.unwrap().is_none()
    })
    .await;
    assert!(finished, "namespace {ns} was not deleted");
}
