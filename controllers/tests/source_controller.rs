#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The source controller as it runs in production, against testenv (reached over HTTP
//! through a kubeconfig) and a real Git server (`git http-backend` on 127.0.0.1): artifacts
//! stored, served and collected, Flux's status, conditions and events, credentials from a
//! Secret, a failed fetch keeping the last artifact, and the finalizer on deletion.

#[path = "../../gitops-git/tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Fixture, HttpAuth, HttpServer, Sshd, Tls};
use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use gitops_controllers::api::GitRepository;
use gitops_controllers::source::{ControllerOptions, SourceController, StorageOptions};
use gitops_core::Digest;
use gitops_git::extract::Limits;
use k8s_openapi::api::core::v1::{Event, Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

struct Env {
    client: Client,
    server: TestEnv,
}

async fn env() -> Env {
    install_crypto_provider();
    let env = TestEnv::start().await.expect("start testenv");
    env.enable_controllers();
    let kubeconfig = kube::config::Kubeconfig::from_yaml(&env.kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let client = Client::try_from(config).unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    // The CRD generated from the api types (v1 equal to Flux's, v1beta2 served deprecated).
    let crd = gitops_controllers::api::crd::git_repository().expect("the GitRepository CRD");
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("the GitRepository CRD applies");
    // The CRD is served once it is established.
    let deadline = Instant::now() + Duration::from_secs(10);
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), "default");
    while repos.list(&ListParams::default()).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "the GitRepository CRD is not served"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Env {
        client,
        server: env,
    }
}

async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
    api.create(&PostParams::default(), &ns).await.unwrap();
}

async fn controller(client: &Client, storage: &std::path::Path) -> SourceController {
    let options = StorageOptions {
        path: storage.to_path_buf(),
        addr: "127.0.0.1:0".parse().unwrap(),
        adv_addr: None,
        retention_ttl: Duration::from_secs(3600),
        retention_records: 2,
    };
    SourceController::start(client.clone(), options, ControllerOptions::default())
        .await
        .expect("start the source controller")
}

fn condition<'a>(repo: &'a Value, type_: &str) -> Option<&'a Value> {
    repo["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// Waits until `check` holds for the GitRepository (as JSON), printing its status on timeout.
async fn wait_for(
    api: &Api<GitRepository>,
    name: &str,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let repo = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
        if check(&repo) {
            return repo;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status: {:#}",
            repo["status"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ready_with(repo: &Value, status: &str, message: &str) -> bool {
    condition(repo, "Ready").is_some_and(|c| c["status"] == status && c["message"] == message)
}

async fn request_reconcile(api: &Api<GitRepository>, name: &str, token: &str) {
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

async fn events_for(client: &Client, ns: &str, name: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|e| e.involved_object.name.as_deref() == Some(name))
        .collect()
}

fn artifact_files(storage: &std::path::Path, ns: &str, name: &str) -> Vec<String> {
    let dir = storage.join("gitrepository").join(ns).join(name);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".tar.gz"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitrepository_is_stored_served_collected_kept_on_failure_and_finalized() {
    let env = env().await;
    let client = &env.client;
    let ns = "apps";
    namespace(client, ns).await;

    let fx = Fixture::new();
    let c1 = fx.commit(
        &[(
            "deploy/app.yaml",
            Some("kind: ConfigMap\nmetadata:\n  name: one\n"),
        )],
        "first commit\n\nwith a body",
    );
    fx.push(&["main"]);
    let git = HttpServer::start(&fx.repos(), HttpAuth::None, None);

    let storage = tempfile::tempdir().unwrap();
    let source = controller(client, storage.path()).await;
    let served = source.artifact_addr().unwrap();

    let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "podinfo", "namespace": ns},
        "spec": {"url": git.url("repo.git"), "interval": "1h", "ref": {"branch": "main"}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &repo).await.unwrap();

    // Stored: Ready and ArtifactInStorage with Flux's message, the artifact advertised at
    // the server's address in Flux's layout, downloadable with its digest.
    let stored = format!("stored artifact for revision 'main@sha1:{c1}'");
    let repo = wait_for(&api, "podinfo", "the first artifact", |r| {
        ready_with(r, "True", &stored)
    })
    .await;
    let status = &repo["status"];
    assert_eq!(status["observedGeneration"], repo["metadata"]["generation"]);
    let in_storage = condition(&repo, "ArtifactInStorage").unwrap();
    assert_eq!(
        (
            &in_storage["status"],
            &in_storage["reason"],
            &in_storage["message"]
        ),
        (&json!("True"), &json!("Succeeded"), &json!(stored))
    );
    assert_eq!(condition(&repo, "Ready").unwrap()["reason"], "Succeeded");
    assert!(condition(&repo, "Reconciling").is_none(), "{status:#}");
    assert_eq!(
        repo["metadata"]["finalizers"],
        json!(["finalizers.fluxcd.io"])
    );
    let artifact = &status["artifact"];
    assert_eq!(artifact["revision"], format!("main@sha1:{c1}"));
    assert_eq!(
        artifact["path"],
        format!("gitrepository/{ns}/podinfo/{c1}.tar.gz")
    );
    assert_eq!(
        artifact["url"],
        format!("http://{served}/gitrepository/{ns}/podinfo/{c1}.tar.gz")
    );
    assert!(artifact["lastUpdateTime"].is_string());
    let digest: Digest = artifact["digest"].as_str().unwrap().parse().unwrap();
    assert!(digest.to_string().starts_with("sha256:"));
    let bytes = gitops_git::download::download(
        artifact["url"].as_str().unwrap(),
        &digest,
        &Limits::default(),
    )
    .await
    .expect("the artifact downloads and matches its digest");
    assert_eq!(Some(bytes.len() as u64), artifact["size"].as_u64());
    let fs = gitops_git::download::open_url(
        artifact["url"].as_str().unwrap(),
        &digest,
        &Limits::default(),
    )
    .await
    .unwrap();
    use gitops_core::fs::FileSystem as _;
    assert_eq!(
        fs.read("deploy/app.yaml").unwrap(),
        b"kind: ConfigMap\nmetadata:\n  name: one\n"
    );
    let events = events_for(client, ns, "podinfo").await;
    let new_artifact = events
        .iter()
        .find(|e| e.reason.as_deref() == Some("NewArtifact"))
        .expect("a NewArtifact event");
    assert_eq!(
        new_artifact.message.as_deref(),
        Some("stored artifact for commit 'first commit'")
    );
    assert_eq!(new_artifact.type_.as_deref(), Some("Normal"));
    assert_eq!(
        new_artifact
            .source
            .as_ref()
            .and_then(|s| s.component.as_deref()),
        Some("source-controller")
    );
    let annotations = new_artifact
        .metadata
        .annotations
        .clone()
        .unwrap_or_default();
    assert_eq!(
        annotations["source.toolkit.fluxcd.io/revision"],
        format!("main@sha1:{c1}")
    );
    assert_eq!(
        annotations["source.toolkit.fluxcd.io/digest"],
        digest.to_string()
    );

    // New commits, noticed through `reconcile.fluxcd.io/requestedAt` (the interval is an
    // hour): each is stored, the request echoed, and beyond two records the oldest goes.
    let c2 = fx.commit(&[("deploy/app.yaml", Some("kind: ConfigMap\n"))], "second");
    fx.push(&["main"]);
    request_reconcile(&api, "podinfo", "2026-12-03T10:00:00Z").await;
    let stored2 = format!("stored artifact for revision 'main@sha1:{c2}'");
    let repo = wait_for(&api, "podinfo", "the second artifact", |r| {
        ready_with(r, "True", &stored2)
    })
    .await;
    assert_eq!(
        repo["status"]["lastHandledReconcileAt"],
        "2026-12-03T10:00:00Z"
    );
    let mut both = vec![format!("{c1}.tar.gz"), format!("{c2}.tar.gz")];
    both.sort();
    assert_eq!(artifact_files(storage.path(), ns, "podinfo"), both);

    let c3 = fx.commit(&[("deploy/app.yaml", Some("kind: Secret\n"))], "third");
    fx.push(&["main"]);
    request_reconcile(&api, "podinfo", "2026-12-03T10:01:00Z").await;
    let stored3 = format!("stored artifact for revision 'main@sha1:{c3}'");
    let repo = wait_for(&api, "podinfo", "the third artifact", |r| {
        ready_with(r, "True", &stored3)
    })
    .await;
    let mut kept = vec![format!("{c2}.tar.gz"), format!("{c3}.tar.gz")];
    kept.sort();
    assert_eq!(artifact_files(storage.path(), ns, "podinfo"), kept);
    let collected = events_for(client, ns, "podinfo")
        .await
        .into_iter()
        .find(|e| e.reason.as_deref() == Some("GarbageCollectionSucceeded"))
        .expect("a GarbageCollectionSucceeded event");
    assert_eq!(
        collected.message.as_deref(),
        Some("garbage collected 1 artifacts")
    );
    let last = repo["status"]["artifact"].clone();

    // An unchanged remote: no new artifact, no new NewArtifact event.
    let before = events_for(client, ns, "podinfo").await.len();
    let counted = env.server.request_counts();
    git.clear();
    request_reconcile(&api, "podinfo", "2026-12-03T10:02:00Z").await;
    let repo = wait_for(&api, "podinfo", "the no-op reconcile", |r| {
        r["status"]["lastHandledReconcileAt"] == "2026-12-03T10:02:00Z"
    })
    .await;
    assert_eq!(repo["status"]["artifact"], last);
    assert!(ready_with(&repo, "True", &stored3));
    assert_eq!(events_for(client, ns, "podinfo").await.len(), before);
    // What the no-op reconcile cost at the API server, beyond this test's own GETs of the
    // GitRepository and its one annotation patch.
    let settled = env.server.request_counts();
    let spent: Vec<_> = settled
        .iter()
        .filter(|(k, v)| counted.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v - counted.get(k).copied().unwrap_or(0)))
        .filter(|((verb, _), _)| verb != "get" && verb != "list")
        .collect();
    println!("source no-op reconcile, requests by verb and resource: {spent:?}");
    // The test's annotation patch and the controller's one status write (the handled
    // request); no event, no fetch of a pack (the remote is only listed).
    assert_eq!(
        spent,
        vec![(
            (
                "patch".to_string(),
                "gitrepositories.source.toolkit.fluxcd.io".to_string()
            ),
            2
        )]
    );
    let commands: Vec<Option<String>> = git.served().into_iter().map(|r| r.command).collect();
    assert!(
        commands.iter().any(|c| c.as_deref() == Some("ls-refs")),
        "{commands:?}"
    );
    assert!(
        !commands.iter().any(|c| c.as_deref() == Some("fetch")),
        "an unchanged remote is only listed: {commands:?}"
    );
    // The controller's own writes do not wake it: once handled, it is quiet.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        env.server.request_counts(),
        settled,
        "requests after the reconcile settled"
    );

    // A broken URL: Ready=False with Flux's reason and message, FetchFailed, and the last
    // artifact kept in the status, in storage and on the server.
    let broken = git.url("missing.git");
    let patch = json!({"spec": {"url": broken}});
    api.patch("podinfo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let repo = wait_for(&api, "podinfo", "the fetch failure", |r| {
        condition(r, "Ready").is_some_and(|c| c["status"] == "False")
    })
    .await;
    let ready = condition(&repo, "Ready").unwrap();
    assert_eq!(ready["reason"], "GitOperationFailed");
    let message = ready["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "failed to checkout and determine revision: unable to clone '{broken}'"
        )),
        "{message}"
    );
    let fetch_failed = condition(&repo, "FetchFailed").unwrap();
    assert_eq!(
        (&fetch_failed["status"], &fetch_failed["reason"]),
        (&json!("True"), &json!("GitOperationFailed"))
    );
    assert_eq!(
        condition(&repo, "Reconciling").unwrap()["reason"],
        "ProgressingWithRetry"
    );
    assert!(ready_with(&repo, "False", message));
    assert_eq!(repo["status"]["artifact"], last);
    assert_eq!(
        condition(&repo, "ArtifactInStorage").unwrap()["message"],
        json!(stored3)
    );
    let digest: Digest = last["digest"].as_str().unwrap().parse().unwrap();
    gitops_git::download::download(last["url"].as_str().unwrap(), &digest, &Limits::default())
        .await
        .expect("the last artifact is still served");
    let warning = events_for(client, ns, "podinfo")
        .await
        .into_iter()
        .find(|e| e.type_.as_deref() == Some("Warning"))
        .expect("a Warning event for the failure");
    assert_eq!(warning.reason.as_deref(), Some("GitOperationFailed"));
    // The retries (750ms, then doubling) count on that one Event instead of adding more.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let warnings: Vec<Event> = events_for(client, ns, "podinfo")
            .await
            .into_iter()
            .filter(|e| e.type_.as_deref() == Some("Warning"))
            .collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        if warnings[0].count.unwrap_or(0) >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "the failure was not retried");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Deletion: the finalizer removes every artifact of the object, then lets it go.
    api.delete("podinfo", &DeleteParams::default())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.get_opt("podinfo").await.unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "the GitRepository was not finalized"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(artifact_files(storage.path(), ns, "podinfo").is_empty());
    assert!(
        !storage
            .path()
            .join("gitrepository")
            .join(ns)
            .join("podinfo")
            .exists()
    );
    source.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_come_from_the_secret_ref_and_suspend_stops_reconciling() {
    let env = env().await;
    let client = &env.client;
    let ns = "private";
    namespace(client, ns).await;

    let fx = Fixture::new();
    let c1 = fx.commit(&[("app.yaml", Some("kind: ConfigMap\n"))], "private app");
    fx.push(&["main"]);
    // Credentials go over HTTPS only; the server's CA comes from the Secret too.
    let tls = Tls::generate();
    let git = HttpServer::start(
        &fx.repos(),
        HttpAuth::Basic("git".into(), "s3cret-value".into()),
        Some(tls.config.clone()),
    );

    let storage = tempfile::tempdir().unwrap();
    let source = controller(client, storage.path()).await;
    let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);

    // No Secret yet: the fetch fails on authentication, naming the Secret.
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": ns},
        "spec": {"url": git.url("repo.git"), "interval": "1h", "ref": {"branch": "main"},
                 "secretRef": {"name": "app-auth"}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &repo).await.unwrap();
    let repo = wait_for(&api, "app", "the missing Secret", |r| {
        condition(r, "Ready").is_some_and(|c| c["status"] == "False")
    })
    .await;
    let ready = condition(&repo, "Ready").unwrap();
    assert_eq!(ready["reason"], "AuthenticationFailed");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{ns}/app-auth")),
        "{ready:#}"
    );

    // With the Secret: stored; the password appears in no condition or event.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "app-auth"},
        "stringData": {"username": "git", "password": "s3cret-value",
                       "ca.crt": String::from_utf8(tls.ca_pem.clone()).unwrap()},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    request_reconcile(&api, "app", "now").await;
    let stored = format!("stored artifact for revision 'main@sha1:{c1}'");
    let repo = wait_for(&api, "app", "the authenticated fetch", |r| {
        ready_with(r, "True", &stored)
    })
    .await;
    assert!(!repo.to_string().contains("s3cret-value"));
    for e in events_for(client, ns, "app").await {
        assert!(!e.message.unwrap_or_default().contains("s3cret-value"));
    }

    // Suspended: a new commit and a requested reconcile change nothing.
    let patch = json!({"spec": {"suspend": true}});
    api.patch("app", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    fx.commit(&[("app.yaml", Some("kind: Secret\n"))], "while suspended");
    fx.push(&["main"]);
    request_reconcile(&api, "app", "suspended").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let repo = serde_json::to_value(api.get("app").await.unwrap()).unwrap();
    assert!(ready_with(&repo, "True", &stored));
    assert_ne!(repo["status"]["lastHandledReconcileAt"], "suspended");
    assert_eq!(
        artifact_files(storage.path(), ns, "app"),
        vec![format!("{c1}.tar.gz")]
    );
    source.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_interval_notices_new_commits_without_a_request() {
    let env = env().await;
    let client = &env.client;
    let ns = "polled";
    namespace(client, ns).await;
    let fx = Fixture::new();
    let c1 = fx.commit(&[("a.yaml", Some("a: 1\n"))], "one");
    fx.push(&["main"]);
    let git = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    let storage = tempfile::tempdir().unwrap();
    let source = controller(client, storage.path()).await;
    let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "polled", "namespace": ns},
        "spec": {"url": git.url("repo.git"), "interval": "1s", "ref": {"branch": "main"}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &repo).await.unwrap();
    let first = format!("stored artifact for revision 'main@sha1:{c1}'");
    wait_for(&api, "polled", "the first artifact", |r| {
        ready_with(r, "True", &first)
    })
    .await;
    let c2 = fx.commit(&[("a.yaml", Some("a: 2\n"))], "two");
    fx.push(&["main"]);
    let second = format!("stored artifact for revision 'main@sha1:{c2}'");
    let repo = wait_for(&api, "polled", "the polled artifact", |r| {
        ready_with(r, "True", &second)
    })
    .await;
    assert!(repo["status"]["lastHandledReconcileAt"].is_null());

    // A restart on another address: the artifact's URL follows, and it downloads there.
    let before = source.artifact_addr().unwrap();
    source.shutdown().await;
    let source = controller(client, storage.path()).await;
    let after = source.artifact_addr().unwrap();
    assert_ne!(before, after);
    let prefix = format!("http://{after}/gitrepository/{ns}/polled/");
    let repo = wait_for(&api, "polled", "the artifact URL at the new address", |r| {
        r["status"]["artifact"]["url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&prefix))
    })
    .await;
    let artifact = &repo["status"]["artifact"];
    assert_eq!(artifact["revision"], format!("main@sha1:{c2}"));
    let digest: Digest = artifact["digest"].as_str().unwrap().parse().unwrap();
    gitops_git::download::download(
        artifact["url"].as_str().unwrap(),
        &digest,
        &Limits::default(),
    )
    .await
    .expect("the artifact downloads from the new address");

    // An artifact gone from storage is built again at the next reconcile.
    let file = storage.path().join(artifact["path"].as_str().unwrap());
    std::fs::remove_file(&file).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !file.exists() {
        assert!(Instant::now() < deadline, "the artifact was not rebuilt");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let repo = wait_for(&api, "polled", "the rebuilt artifact", |r| {
        ready_with(r, "True", &second)
            && condition(r, "ArtifactInStorage").is_some_and(|c| c["status"] == "True")
    })
    .await;
    assert_eq!(
        repo["status"]["artifact"]["digest"],
        json!(digest.to_string()),
        "the same commit packs to the same bytes"
    );
    source.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2023_v1beta2_gitrepository_reconciles_and_fields_not_acted_on_stall() {
    let env = env().await;
    let client = &env.client;
    let ns = "legacy";
    namespace(client, ns).await;
    let fx = Fixture::new();
    let c1 = fx.commit(&[("a.yaml", Some("a: 1\n"))], "one");
    fx.push(&["main"]);
    let git = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    let storage = tempfile::tempdir().unwrap();
    let source = controller(client, storage.path()).await;

    // Written as in 2023, at v1beta2 with `gitImplementation: go-git`: served (deprecated)
    // and reconciled through v1.
    let resource = kube::discovery::ApiResource {
        group: "source.toolkit.fluxcd.io".into(),
        version: "v1beta2".into(),
        api_version: "source.toolkit.fluxcd.io/v1beta2".into(),
        kind: "GitRepository".into(),
        plural: "gitrepositories".into(),
    };
    let legacy: Api<kube::api::DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let old: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "GitRepository",
        "metadata": {"name": "old", "namespace": ns},
        "spec": {"url": git.url("repo.git"), "interval": "1h", "ref": {"branch": "main"},
                 "gitImplementation": "go-git", "timeout": "60s"},
    }))
    .unwrap();
    legacy.create(&PostParams::default(), &old).await.unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);
    let stored = format!("stored artifact for revision 'main@sha1:{c1}'");
    wait_for(&api, "old", "the v1beta2 object's artifact", |r| {
        ready_with(r, "True", &stored)
    })
    .await;

    // A field Flux acts on and this controller does not: Stalled with the field named, no
    // artifact built, instead of an artifact that silently lacks the submodules.
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "submodules", "namespace": ns},
        "spec": {"url": git.url("repo.git"), "interval": "1h", "ref": {"branch": "main"},
                 "recurseSubmodules": true},
    }))
    .unwrap();
    api.create(&PostParams::default(), &repo).await.unwrap();
    let repo = wait_for(&api, "submodules", "the unsupported field", |r| {
        condition(r, "Stalled").is_some_and(|c| c["status"] == "True")
    })
    .await;
    let ready = condition(&repo, "Ready").unwrap();
    assert_eq!(ready["reason"], "UnsupportedField");
    assert_eq!(
        ready["message"],
        "spec.recurseSubmodules not supported by this controller yet; remove it or reconcile this GitRepository with Flux"
    );
    assert!(repo["status"]["artifact"].is_null());
    assert!(artifact_files(storage.path(), ns, "submodules").is_empty());
    source.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_credentials_come_from_identity_known_hosts_and_password() {
    let env = env().await;
    let client = &env.client;
    let ns = "ssh";
    namespace(client, ns).await;
    let fx = Fixture::new();
    let c1 = fx.commit(&[("app.yaml", Some("kind: ConfigMap\n"))], "over ssh");
    fx.push(&["main"]);
    let sshd = Sshd::start_with_passphrase("key-passphrase");
    let storage = tempfile::tempdir().unwrap();
    let source = controller(client, storage.path()).await;

    // An encrypted key without its password: Flux's message, naming the Secret.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = |with_password: bool| -> Secret {
        let mut data = json!({
            "identity": String::from_utf8(sshd.client_key.clone()).unwrap(),
            "known_hosts": String::from_utf8(sshd.known_hosts.clone()).unwrap(),
        });
        if with_password {
            data["password"] = json!("key-passphrase");
        }
        serde_json::from_value(json!({"metadata": {"name": "ssh-auth"}, "stringData": data}))
            .unwrap()
    };
    secrets
        .create(&PostParams::default(), &secret(false))
        .await
        .unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), ns);
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": ns},
        "spec": {"url": sshd.url(&fx.bare()), "interval": "1h", "ref": {"branch": "main"},
                 "secretRef": {"name": "ssh-auth"}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &repo).await.unwrap();
    let repo = wait_for(&api, "app", "the missing password", |r| {
        condition(r, "Ready").is_some_and(|c| c["status"] == "False")
    })
    .await;
    let ready = condition(&repo, "Ready").unwrap();
    assert_eq!(ready["reason"], "AuthenticationFailed");
    assert!(
        ready["message"].as_str().unwrap().contains(&format!(
            "SSH identity key is encrypted but no 'password' field was provided in the secret '{ns}/ssh-auth'"
        )),
        "{ready:#}"
    );

    // With the password: fetched over ssh:// with the host key checked against known_hosts.
    secrets
        .replace("ssh-auth", &PostParams::default(), &secret(true))
        .await
        .unwrap();
    request_reconcile(&api, "app", "with-password").await;
    let stored = format!("stored artifact for revision 'main@sha1:{c1}'");
    let repo = wait_for(&api, "app", "the ssh fetch", |r| {
        ready_with(r, "True", &stored)
    })
    .await;
    assert!(!repo.to_string().contains("key-passphrase"));
    source.shutdown().await;
}
