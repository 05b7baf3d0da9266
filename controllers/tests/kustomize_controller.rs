#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The kustomize controller end to end against testenv: a GitRepository whose
//! `status.artifact` the test writes itself, pointing at artifacts packed with gitops-git
//! (so their digests are real) and served by a small HTTP server on 127.0.0.1, and the
//! controller running as it runs in production (`kustomize::controller::run`).
//!
//! - `applies_then_follows_a_new_revision_through_the_watch`: objects exist, Ready=True
//!   `Applied revision: main@sha1:…`, the inventory lists them; a new artifact revision
//!   (interval 1h) is applied within seconds and the object it dropped is pruned.
//! - `a_bad_digest_fails_without_pruning`, `a_render_error_names_the_file_and_prunes_nothing`.
//! - `depends_on_a_not_ready_kustomization_waits`, `suspended_is_not_reconciled`,
//!   `deletion_with_prune_removes_objects_and_releases_the_finalizer`,
//!   `a_field_not_acted_on_stalls_with_unsupported_field`,
//!   `a_health_wait_does_not_delay_another_kustomization`,
//!   `a_cross_namespace_source_is_refused_under_no_cross_namespace_refs`,
//!   `target_namespace_places_the_objects`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use gitops_controllers::api::crd;
use gitops_controllers::api::{GitRepository, Kustomization};
use gitops_controllers::kustomize::{ControllerOptions, controller};
use gitops_git::artifact::Packer;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

type Served = Arc<Mutex<HashMap<String, Vec<u8>>>>;

struct Env {
    _env: TestEnv,
    client: kube::Client,
    ns: String,
    served: Served,
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for Env {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn serve(served: Served) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let served = served.clone();
        async move {
            let body = served.lock().unwrap().get(uri.path()).cloned();
            match body {
                Some(b) => (axum::http::StatusCode::OK, b),
                None => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
            }
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn wait_established(api: &Api<CustomResourceDefinition>, name: &str) {
    for _ in 0..200 {
        let crd = api.get(name).await.unwrap();
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{name} not Established after 10s");
}

async fn start() -> Env {
    start_with(false).await
}

/// `no_cross_namespace_refs`: the `--no-cross-namespace-refs` flag.
async fn start_with(no_cross_namespace_refs: bool) -> Env {
    start_setup(Setup {
        no_cross_namespace_refs,
        ..Setup::default()
    })
    .await
}

/// How a test's API server and controller are set up.
struct Setup {
    /// `--no-cross-namespace-refs`.
    no_cross_namespace_refs: bool,
    /// Whether testenv rolls workloads out (a Deployment becomes available at once).
    rollouts: bool,
    /// The controller's fallback poll of a health wait.
    health_poll: Duration,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            no_cross_namespace_refs: false,
            rollouts: true,
            health_poll: ControllerOptions::default().health_poll,
        }
    }
}

async fn start_setup(setup: Setup) -> Env {
    let no_cross_namespace_refs = setup.no_cross_namespace_refs;
    install_crypto_provider();
    let env = TestEnv::start().await.expect("start testenv");
    env.enable_controllers();
    if setup.rollouts {
        env.enable_rollouts();
    }
    let client = env.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for c in crd::crds().unwrap() {
        let name = c.metadata.name.clone().unwrap();
        crds.patch(
            &name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&c),
        )
        .await
        .unwrap();
        wait_established(&crds, &name).await;
    }
    let ns = "apps".to_string();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();
    let served: Served = Arc::default();
    let addr = serve(served.clone()).await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ControllerOptions {
        namespace: Some(ns.clone()),
        reconciler: gitops_core::reconcile::KustomizationOptions {
            requeue_dependency: Duration::from_secs(1),
            no_cross_namespace_refs,
            ..Default::default()
        },
        health_poll: setup.health_poll,
        ..Default::default()
    };
    let task = tokio::spawn(controller::run(client.clone(), options, async move {
        let _ = stopped.await;
    }));
    Env {
        _env: env,
        client,
        ns,
        served,
        addr,
        stop: Some(stop),
        task: Some(task),
    }
}

fn cm(ns: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: {ns}\ndata:\n  key: {name}\n"
    )
}

impl Env {
    /// Packs `files` (sorted by name) as the artifact of `commit` and publishes it as the
    /// GitRepository `repo`'s `status.artifact`; `digest` overrides the real digest.
    async fn publish(
        &self,
        repo: &str,
        commit: char,
        files: &[(&str, String)],
        digest: Option<&str>,
    ) -> String {
        let mut files = files.to_vec();
        files.sort_by(|a, b| a.0.cmp(b.0));
        let mut packer = Packer::new(Vec::new()).unwrap();
        for (path, contents) in &files {
            packer.file(path, false, contents.as_bytes()).unwrap();
        }
        let packed = packer.finish().unwrap();
        let hex: String = std::iter::repeat_n(commit, 40).collect();
        let path = format!("gitrepository/{}/{repo}/{hex}.tar.gz", self.ns);
        self.served
            .lock()
            .unwrap()
            .insert(format!("/{path}"), packed.writer.clone());
        let revision = format!("main@sha1:{hex}");
        let repos: Api<GitRepository> = Api::namespaced(self.client.clone(), &self.ns);
        if repos.get_opt(repo).await.unwrap().is_none() {
            let object: GitRepository = serde_json::from_value(json!({
                "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": repo, "namespace": self.ns},
                "spec": {"url": "http://127.0.0.1/app.git", "interval": "1h", "ref": {"branch": "main"}},
            }))
            .unwrap();
            repos.create(&PostParams::default(), &object).await.unwrap();
        }
        let digest = digest
            .map(str::to_string)
            .unwrap_or_else(|| packed.digest.to_string());
        let status = json!({"status": {
            "artifact": {
                "path": path, "url": format!("http://{}/{path}", self.addr),
                "revision": revision, "digest": digest,
                "lastUpdateTime": "2026-01-01T00:00:00Z", "size": packed.size,
            },
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded",
                "message": format!("stored artifact for revision '{revision}'"),
                "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1}],
            "observedGeneration": 1,
        }});
        repos
            .patch_status(repo, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .unwrap();
        revision
    }

    async fn kustomization(&self, name: &str, repo: &str, extra: Value) {
        let mut spec = json!({
            "interval": "1h", "path": "./", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": repo},
        });
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        let ks: Kustomization = serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": self.ns},
            "spec": spec,
        }))
        .unwrap();
        self.kustomizations()
            .create(&PostParams::default(), &ks)
            .await
            .unwrap();
    }

    fn kustomizations(&self) -> Api<Kustomization> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    fn cms(&self) -> Api<ConfigMap> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    async fn status(&self, name: &str) -> Value {
        let ks = self.kustomizations().get(name).await.unwrap();
        serde_json::to_value(ks).unwrap()["status"].clone()
    }

    /// Waits until the Ready condition of `name` satisfies `f`, returning the status.
    async fn wait_for(&self, name: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let status = self.status(name).await;
            if f(&status) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: {what} not reached in 20s; status: {status:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn cm_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .cms()
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .filter(|n| n != "kube-root-ca.crt")
            .collect();
        names.sort();
        names
    }
}

fn ready(status: &Value) -> Option<(String, String, String)> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

fn inventory_ids(status: &Value) -> Vec<String> {
    let mut ids: Vec<String> = status["inventory"]["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["id"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

fn applied(revision: &str) -> impl Fn(&Value) -> bool + '_ {
    move |s| {
        ready(s).is_some_and(|(st, _, msg)| {
            st == "True" && msg == format!("Applied revision: {revision}")
        })
    }
}

fn two_cms(ns: &str) -> Vec<(&'static str, String)> {
    vec![
        ("a.yaml", cm(ns, "a")),
        ("b.yaml", cm(ns, "b")),
        (
            "kustomization.yaml",
            "resources:\n- a.yaml\n- b.yaml\n".into(),
        ),
    ]
}

#[tokio::test]
async fn applies_then_follows_a_new_revision_through_the_watch() {
    let env = start().await;
    let ns = env.ns.clone();
    let first = env.publish("app", 'a', &two_cms(&ns), None).await;
    env.kustomization("app", "app", json!({})).await;
    let status = env
        .wait_for("app", "the first revision applied", applied(&first))
        .await;
    assert_eq!(env.cm_names().await, ["a", "b"]);
    assert_eq!(status["lastAppliedRevision"], first.as_str());
    assert_eq!(status["lastAttemptedRevision"], first.as_str());
    assert_eq!(status["observedGeneration"], 1);
    assert_eq!(
        inventory_ids(&status),
        [format!("{ns}_a__ConfigMap"), format!("{ns}_b__ConfigMap")]
    );
    let ks = env.kustomizations().get("app").await.unwrap();
    assert_eq!(
        ks.metadata.finalizers.unwrap_or_default(),
        ["finalizers.fluxcd.io"]
    );
    let a = env.cms().get("a").await.unwrap();
    assert_eq!(
        a.metadata
            .labels
            .unwrap_or_default()
            .get("kustomize.toolkit.fluxcd.io/name"),
        Some(&"app".to_string())
    );

    // Flux's events on the Kustomization, from kustomize-controller.
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(env.client.clone(), &ns);
    let events = events.list(&Default::default()).await.unwrap().items;
    let ours: Vec<(String, String)> = events
        .iter()
        .filter(|e| e.involved_object.name.as_deref() == Some("app"))
        .filter(|e| e.reporting_component.as_deref() == Some("kustomize-controller"))
        .map(|e| {
            (
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        ours.iter()
            .any(|(r, m)| r == "Progressing" && m.contains(&format!("ConfigMap/{ns}/a created"))),
        "{ours:?}"
    );
    assert!(
        ours.iter().any(|(r, _)| r == "ReconciliationSucceeded"),
        "{ours:?}"
    );

    // A requested reconcile is echoed in lastHandledReconcileAt.
    env.kustomizations()
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": "2026-01-01T00:00:00Z"}}})),
        )
        .await
        .unwrap();
    env.wait_for("app", "the request handled", |s| {
        s["lastHandledReconcileAt"] == "2026-01-01T00:00:00Z"
    })
    .await;

    // The interval is an hour: only the GitRepository watch can bring the new revision in.
    let started = std::time::Instant::now();
    let second = env
        .publish(
            "app",
            'b',
            &[
                ("a.yaml", cm(&ns, "a")),
                ("kustomization.yaml", "resources:\n- a.yaml\n".into()),
            ],
            None,
        )
        .await;
    let status = env
        .wait_for("app", "the second revision applied", applied(&second))
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(env.cm_names().await, ["a"], "b is pruned");
    assert_eq!(inventory_ids(&status), [format!("{ns}_a__ConfigMap")]);
}

#[tokio::test]
async fn a_bad_digest_fails_without_pruning() {
    let env = start().await;
    let ns = env.ns.clone();
    let first = env.publish("app", 'a', &two_cms(&ns), None).await;
    env.kustomization("app", "app", json!({})).await;
    env.wait_for("app", "applied", applied(&first)).await;
    let bad = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    env.publish(
        "app",
        'c',
        &[("kustomization.yaml", "resources: []\n".into())],
        Some(bad),
    )
    .await;
    let status = env
        .wait_for("app", "Ready=False", |s| {
            ready(s).is_some_and(|(st, _, _)| st == "False")
        })
        .await;
    let (_, reason, message) = ready(&status).unwrap();
    assert_eq!(reason, "ArtifactFailed", "{message}");
    assert!(message.contains("digest"), "{message}");
    assert_eq!(env.cm_names().await, ["a", "b"], "nothing pruned");
    assert_eq!(status["lastAppliedRevision"], first.as_str());
    assert_eq!(inventory_ids(&status).len(), 2);
}

#[tokio::test]
async fn a_render_error_names_the_file_and_prunes_nothing() {
    let env = start().await;
    let ns = env.ns.clone();
    let first = env.publish("app", 'a', &two_cms(&ns), None).await;
    env.kustomization("app", "app", json!({})).await;
    env.wait_for("app", "applied", applied(&first)).await;
    let broken = env
        .publish(
            "app",
            'd',
            &[
                (
                    "a.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: [not, a, map\n".into(),
                ),
                ("kustomization.yaml", "resources:\n- a.yaml\n".into()),
            ],
            None,
        )
        .await;
    let status = env
        .wait_for("app", "Ready=False", |s| {
            ready(s).is_some_and(|(st, _, _)| st == "False")
        })
        .await;
    let (_, reason, message) = ready(&status).unwrap();
    assert_eq!(reason, "BuildFailed", "{message}");
    assert!(message.contains("a.yaml"), "{message}");
    assert_eq!(status["lastAttemptedRevision"], broken.as_str());
    assert_eq!(status["lastAppliedRevision"], first.as_str());
    assert_eq!(env.cm_names().await, ["a", "b"], "nothing pruned");
}

#[tokio::test]
async fn depends_on_a_not_ready_kustomization_waits() {
    let env = start().await;
    let ns = env.ns.clone();
    let first = env.publish("app", 'a', &two_cms(&ns), None).await;
    // `base` is never Ready: its path does not exist.
    env.kustomization("base", "app", json!({"path": "./missing"}))
        .await;
    env.kustomization("app", "app", json!({"dependsOn": [{"name": "base"}]}))
        .await;
    let status = env
        .wait_for("app", "Ready=False", |s| {
            ready(s).is_some_and(|(st, _, _)| st == "False")
        })
        .await;
    let (_, reason, message) = ready(&status).unwrap();
    assert_eq!(reason, "DependencyNotReady", "{message}");
    assert!(message.contains("base"), "{message}");
    assert!(env.cm_names().await.is_empty(), "nothing applied");
    assert!(status["lastAppliedRevision"].is_null());

    // Once the dependency is fixed, the dependent follows on its dependency requeue.
    env.kustomizations()
        .patch(
            "base",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"path": "./", "prune": false}})),
        )
        .await
        .unwrap();
    env.wait_for("base", "applied", applied(&first)).await;
    env.wait_for("app", "applied", applied(&first)).await;
}

#[tokio::test]
async fn suspended_is_not_reconciled() {
    let env = start().await;
    let ns = env.ns.clone();
    env.publish("app", 'a', &two_cms(&ns), None).await;
    env.kustomization("app", "app", json!({"suspend": true}))
        .await;
    // Give the controller time to see it; a control object shows that it is running.
    let control = env
        .publish(
            "other",
            'e',
            &[("kustomization.yaml", "resources: []\n".into())],
            None,
        )
        .await;
    env.kustomization("control", "other", json!({})).await;
    env.wait_for("control", "applied", applied(&control)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = env.status("app").await;
    assert!(ready(&status).is_none(), "{status:#}");
    assert!(status["lastAttemptedRevision"].is_null(), "{status:#}");
    assert!(env.cm_names().await.is_empty());
}

#[tokio::test]
async fn deletion_with_prune_removes_objects_and_releases_the_finalizer() {
    let env = start().await;
    let ns = env.ns.clone();
    let first = env.publish("app", 'a', &two_cms(&ns), None).await;
    env.kustomization("app", "app", json!({})).await;
    env.wait_for("app", "applied", applied(&first)).await;
    assert_eq!(env.cm_names().await, ["a", "b"]);
    env.kustomizations()
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while env.kustomizations().get_opt("app").await.unwrap().is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "finalizer not released"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !env.cm_names().await.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "objects not pruned: {:?}",
            env.cm_names().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_field_not_acted_on_stalls_with_unsupported_field() {
    let env = start().await;
    let ns = env.ns.clone();
    env.publish("app", 'a', &two_cms(&ns), None).await;
    env.kustomization(
        "app",
        "app",
        json!({"decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}}),
    )
    .await;
    let status = env
        .wait_for("app", "Ready=False", |s| {
            ready(s).is_some_and(|(st, _, _)| st == "False")
        })
        .await;
    let (_, reason, message) = ready(&status).unwrap();
    assert_eq!(reason, "UnsupportedField", "{message}");
    assert!(message.starts_with("spec.decryption"), "{message}");
    let stalled = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Stalled")
        .cloned()
        .unwrap_or_default();
    assert_eq!(stalled["status"], "True", "{status:#}");
    assert!(env.cm_names().await.is_empty(), "nothing applied");
}

#[tokio::test]
async fn a_health_wait_does_not_delay_another_kustomization() {
    let env = start().await;
    let ns = env.ns.clone();
    // A paused Deployment is never rolled out: it never becomes available.
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  paused: true\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n"
    );
    let waiting = env
        .publish(
            "slow",
            'f',
            &[
                ("kustomization.yaml", "resources:\n- web.yaml\n".into()),
                ("web.yaml", deployment),
            ],
            None,
        )
        .await;
    env.kustomization("slow", "slow", json!({"wait": true, "timeout": "10m"}))
        .await;
    env.wait_for("slow", "waiting on health", |s| {
        s["conditions"].as_array().is_some_and(|c| {
            c.iter().any(|c| {
                c["type"] == "Healthy"
                    && c["status"] == "Unknown"
                    && c["message"].as_str().is_some_and(|m| {
                        m.starts_with(&format!("Running health checks for revision {waiting}"))
                    })
            })
        })
    })
    .await;
    // While it waits, another Kustomization is applied and Ready.
    let fast = env.publish("app", 'a', &two_cms(&ns), None).await;
    let started = std::time::Instant::now();
    env.kustomization("fast", "app", json!({})).await;
    env.wait_for("fast", "applied", applied(&fast)).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let slow = env.status("slow").await;
    assert_ne!(ready(&slow).map(|r| r.0), Some("True".into()), "{slow:#}");
    assert!(slow["lastAppliedRevision"].is_null(), "{slow:#}");
}

#[tokio::test]
async fn a_cross_namespace_source_is_refused_under_no_cross_namespace_refs() {
    let env = start_with(true).await;
    let ns = env.ns.clone();
    env.publish("app", 'a', &two_cms(&ns), None).await;
    env.kustomization(
        "app",
        "app",
        json!({"sourceRef": {"kind": "GitRepository", "name": "app", "namespace": "flux-system"}}),
    )
    .await;
    let status = env
        .wait_for("app", "Ready=False", |s| {
            ready(s).is_some_and(|(st, _, _)| st == "False")
        })
        .await;
    let (_, reason, message) = ready(&status).unwrap();
    assert_eq!(reason, "AccessDenied", "{message}");
    assert!(message.contains("flux-system"), "{message}");
    assert!(env.cm_names().await.is_empty());
}

#[tokio::test]
async fn target_namespace_places_the_objects() {
    let env = start().await;
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap(),
        )
        .await
        .unwrap();
    let revision = env
        .publish(
            "app",
            'a',
            &[(
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n".into(),
            )],
            None,
        )
        .await;
    env.kustomization("app", "app", json!({"targetNamespace": "team"}))
        .await;
    let status = env.wait_for("app", "applied", applied(&revision)).await;
    let team: Api<ConfigMap> = Api::namespaced(env.client.clone(), "team");
    assert!(team.get_opt("settings").await.unwrap().is_some());
    assert_eq!(inventory_ids(&status), ["team_settings__ConfigMap"]);
}

/// The apply engine's request counts hold through the controller: once 1,000 objects are
/// applied, a requested reconcile of the unchanged revision costs the controller at most 10
/// API requests, its status write and events included.
#[tokio::test]
async fn a_noop_reconcile_of_1000_objects_costs_at_most_ten_requests() {
    let env = start().await;
    let ns = env.ns.clone();
    let all: String = (0..1000)
        .map(|i| format!("---\n{}", cm(&ns, &format!("cm-{i:04}"))))
        .collect();
    let revision = env.publish("app", 'a', &[("all.yaml", all)], None).await;
    env.kustomization("app", "app", json!({})).await;
    env.wait_for("app", "1000 objects applied", applied(&revision))
        .await;
    assert_eq!(env.cm_names().await.len(), 1000);

    // Whatever the first reconcile still writes after its status (its events) lands before
    // the count starts.
    let served = |env: &Env| -> u64 { env._env.request_counts().values().sum() };
    let mut quiet = served(&env);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = served(&env);
        if now == quiet {
            break;
        }
        quiet = now;
    }

    let before = served(&env);
    let counts_before = env._env.request_counts();
    let requested = "2026-01-01T00:00:00Z";
    env.kustomizations()
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": requested}}})),
        )
        .await
        .unwrap();
    // The test's own requests: the patch above and each poll below.
    let mut own = 1;
    loop {
        let status = env.status("app").await;
        own += 1;
        if status["lastHandledReconcileAt"] == requested {
            assert!(applied(&revision)(&status), "{status:#}");
            break;
        }
        assert!(
            own < 400,
            "the requested reconcile was not handled: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Let the reconcile finish what it sends after its status write, then count.
    let mut settled = served(&env);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = served(&env);
        if now == settled {
            break;
        }
        settled = now;
    }
    let n = settled - before - own;
    let by_request: Vec<String> = env
        ._env
        .request_counts()
        .into_iter()
        .filter_map(|(key, count)| {
            let delta = count - counts_before.get(&key).copied().unwrap_or(0);
            (delta > 0).then(|| format!("{} {} ×{delta}", key.0, key.1))
        })
        .collect();
    println!(
        "controller noop reconcile of 1000 objects: {n} requests (with the test's {own}: {})",
        by_request.join(", ")
    );
    assert!(
        n <= 10,
        "a noop reconcile of 1000 objects cost {n} requests"
    );
}

/// `spec.serviceAccountName`: the objects are applied as that service account (Flux's
/// multi-tenancy), so what its Role allows is applied and what it does not fails the
/// reconcile, naming the account, without pruning.
#[tokio::test]
async fn a_service_account_applies_only_what_its_role_allows() {
    let env = start().await;
    let ns = env.ns.clone();
    let rbac = [
        json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "deployer", "namespace": ns}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "configmaps", "namespace": ns},
            "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "deployer", "namespace": ns},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmaps"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]}),
    ];
    for object in rbac {
        let kind = object["kind"].as_str().unwrap();
        let resource = match kind {
            "ServiceAccount" => {
                kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::ServiceAccount>(&())
            }
            "Role" => kube::core::ApiResource::erase::<k8s_openapi::api::rbac::v1::Role>(&()),
            _ => kube::core::ApiResource::erase::<k8s_openapi::api::rbac::v1::RoleBinding>(&()),
        };
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(env.client.clone(), &ns, &resource);
        let name = object["metadata"]["name"].as_str().unwrap();
        api.patch(name, &PatchParams::apply("test"), &Patch::Apply(&object))
            .await
            .unwrap();
    }

    let first = env
        .publish("app", 'a', &[("a.yaml", cm(&ns, "a"))], None)
        .await;
    env.kustomization("app", "app", json!({"serviceAccountName": "deployer"}))
        .await;
    env.wait_for("app", "applied as the service account", applied(&first))
        .await;
    assert_eq!(env.cm_names().await, ["a"]);

    let secret = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n  namespace: {ns}\nstringData:\n  token: x\n"
    );
    let second = env
        .publish(
            "app",
            'b',
            &[("b.yaml", cm(&ns, "b")), ("secret.yaml", secret)],
            None,
        )
        .await;
    let status = env
        .wait_for("app", "the Secret refused", |s| {
            s["lastAttemptedRevision"] == second.as_str()
                && ready(s).is_some_and(|(st, _, _)| st == "False")
        })
        .await;
    let (_, reason, message) = ready(&status).unwrap();
    assert_eq!(reason, "ReconciliationFailed", "{message}");
    assert!(
        message.contains("system:serviceaccount:apps:deployer") && message.contains("secrets"),
        "{message}"
    );
    assert_eq!(status["lastAppliedRevision"], first.as_str());
    assert!(
        env.cm_names().await.contains(&"a".to_string()),
        "a failed apply prunes nothing"
    );
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(env.client.clone(), &ns);
    assert!(secrets.get_opt("token").await.unwrap().is_none());
}

/// `spec.kubeConfig.secretRef`: the objects go to the cluster of the kubeconfig in the
/// Secret (here a second API server), the source is still read here, and a missing Secret
/// fails the reconcile naming it.
#[tokio::test]
async fn a_kubeconfig_secret_applies_to_the_other_cluster() {
    let env = start().await;
    let ns = env.ns.clone();
    let remote = TestEnv::start().await.expect("start the remote testenv");
    let remote_client = remote.client().unwrap();
    let namespaces: Api<Namespace> = Api::all(remote_client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
        )
        .await
        .unwrap();

    let revision = env
        .publish("app", 'a', &[("a.yaml", cm(&ns, "remote-a"))], None)
        .await;
    env.kustomization(
        "app",
        "app",
        json!({"kubeConfig": {"secretRef": {"name": "prod-kubeconfig"}}}),
    )
    .await;
    let status = env
        .wait_for("app", "the missing Secret reported", |s| {
            ready(s).is_some_and(|(st, _, _)| st == "False")
        })
        .await;
    let (_, _, message) = ready(&status).unwrap();
    assert!(
        message.contains("KubeConfig secret 'apps/prod-kubeconfig' not found"),
        "{message}"
    );

    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(env.client.clone(), &ns);
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({
                "metadata": {"name": "prod-kubeconfig", "namespace": ns},
                "stringData": {"value": remote.kubeconfig()},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    // A requested reconcile picks the Secret up (Flux watches it only when labelled).
    env.kustomizations()
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": "now"}}})),
        )
        .await
        .unwrap();
    env.wait_for("app", "applied to the remote cluster", applied(&revision))
        .await;
    let there: Api<ConfigMap> = Api::namespaced(remote_client, &ns);
    let applied_there = there.get("remote-a").await.unwrap();
    assert_eq!(
        applied_there
            .metadata
            .labels
            .unwrap_or_default()
            .get("kustomize.toolkit.fluxcd.io/name"),
        Some(&"app".to_string())
    );
    assert!(
        env.cms().get_opt("remote-a").await.unwrap().is_none(),
        "nothing is applied to the controller's own cluster"
    );
}

/// A ConfigMap of `postBuild.substituteFrom` labelled `reconcile.fluxcd.io/watch: Enabled`
/// reconciles the Kustomization when it changes, without waiting for the interval (1h).
#[tokio::test]
async fn a_watched_substitution_config_map_reconciles_on_change() {
    let env = start().await;
    let ns = env.ns.clone();
    let vars: Api<ConfigMap> = Api::namespaced(env.client.clone(), &ns);
    let vars_object = |greeting: &str| -> ConfigMap {
        serde_json::from_value(json!({
            "metadata": {"name": "vars", "namespace": ns,
                "labels": {"reconcile.fluxcd.io/watch": "Enabled"}},
            "data": {"greeting": greeting},
        }))
        .unwrap()
    };
    vars.create(&PostParams::default(), &vars_object("hello"))
        .await
        .unwrap();
    let template = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: {ns}\ndata:\n  greeting: ${{greeting}}\n"
    );
    let revision = env
        .publish("app", 'a', &[("web.yaml", template)], None)
        .await;
    env.kustomization(
        "app",
        "app",
        json!({"postBuild": {"substituteFrom": [{"kind": "ConfigMap", "name": "vars"}]}}),
    )
    .await;
    env.wait_for("app", "applied", applied(&revision)).await;
    let greeting = |cm: ConfigMap| cm.data.unwrap_or_default().get("greeting").cloned();
    assert_eq!(
        greeting(env.cms().get("web").await.unwrap()).as_deref(),
        Some("hello")
    );

    vars.replace("vars", &PostParams::default(), &{
        let mut changed = vars_object("bonjour");
        changed.metadata.resource_version =
            vars.get("vars").await.unwrap().metadata.resource_version;
        changed
    })
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = greeting(env.cms().get("web").await.unwrap());
        if now.as_deref() == Some("bonjour") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the change of the watched ConfigMap was not applied: {now:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A Kustomization waiting on a Deployment's health is woken by the Deployment's status
/// write (the watch behind its wait), not by its poll, which is an hour here.
#[tokio::test]
async fn a_health_wait_is_woken_by_the_rollout_not_by_a_poll() {
    let env = start_setup(Setup {
        rollouts: false,
        health_poll: Duration::from_secs(3600),
        ..Setup::default()
    })
    .await;
    let ns = env.ns.clone();
    let deployment = format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: {ns}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web}}\n  template:\n    metadata:\n      labels: {{app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n"
    );
    let revision = env
        .publish("app", 'a', &[("web.yaml", deployment)], None)
        .await;
    env.kustomization("app", "app", json!({"wait": true, "timeout": "10m"}))
        .await;
    env.wait_for("app", "waiting on health", |s| {
        s["conditions"].as_array().is_some_and(|c| {
            c.iter()
                .any(|c| c["type"] == "Healthy" && c["status"] == "Unknown")
        })
    })
    .await;

    // The rollout finishes, as the deployment controller reports it.
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> =
        Api::namespaced(env.client.clone(), &ns);
    let generation = deployments
        .get("web")
        .await
        .unwrap()
        .metadata
        .generation
        .unwrap();
    deployments
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "observedGeneration": generation,
                "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                ],
            }})),
        )
        .await
        .unwrap();
    env.wait_for("app", "Ready once the rollout finished", applied(&revision))
        .await;
}

/// `spec.deletionPolicy`: `Orphan` leaves the objects of a pruning Kustomization when it is
/// deleted; `Delete` and `WaitForTermination` collect those of one that does not prune.
#[tokio::test]
async fn the_deletion_policy_decides_what_deletion_collects() {
    let env = start().await;
    let ns = env.ns.clone();
    let cases = [
        ("orphan", 'a', "Orphan", true, true),
        ("delete", 'b', "Delete", false, false),
        ("terminate", 'c', "WaitForTermination", false, false),
    ];
    for (name, commit, policy, prune, kept) in cases {
        let object = cm(&ns, &format!("{name}-cm"));
        let revision = env
            .publish(name, commit, &[("cm.yaml", object)], None)
            .await;
        env.kustomization(
            name,
            name,
            json!({"deletionPolicy": policy, "prune": prune}),
        )
        .await;
        env.wait_for(name, "applied", applied(&revision)).await;
        env.kustomizations()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while env.kustomizations().get_opt(name).await.unwrap().is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name}: finalizer not released"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let left = env.cms().get_opt(&format!("{name}-cm")).await.unwrap();
        assert_eq!(
            left.is_some(),
            kept,
            "{policy}: the object kept: {}",
            left.is_some()
        );
    }
}
