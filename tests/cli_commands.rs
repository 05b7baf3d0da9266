#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The day-to-day commands of a Flux user as processes (`gitops get`, `reconcile`,
//! `suspend`, `resume`, `events`, `tree`, `diff`), against testenv through a kubeconfig.
//!
//! - `get_tree_events_and_suspend_read_what_the_api_server_holds`: objects whose status the
//!   test writes itself: flux's exact table, `-A`, `-w`, `-o yaml|json`, not-found exit codes,
//!   `suspend` flipping `spec.suspend`, the inventory tree, the events table.
//! - `reconcile_resume_and_diff_against_running_controllers`: `gitops controller all` as a
//!   process with a Git server on 127.0.0.1: `reconcile --with-source` reports the applied
//!   revision, a broken Kustomization fails with exit 1, `resume` waits for the
//!   reconciliation, `diff` is silent on a converged cluster and names the drifted field
//!   (a Secret's values masked) after a change.

#[path = "../gitops-git/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, HttpAuth, HttpServer, free_port};
use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// Kills a process when the test ends, passed or failed.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Testenv with the Flux CRDs and a `flux-system` namespace, and a kubeconfig file for it.
struct Cluster {
    env: TestEnv,
    client: kube::Client,
    dir: tempfile::TempDir,
}

impl Cluster {
    async fn start() -> Cluster {
        install_crypto_provider();
        let env = TestEnv::start().await.unwrap();
        env.enable_controllers();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("kubeconfig"), env.kubeconfig()).unwrap();
        let client = env.client().unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        for crd in gitops::controllers::api::crd::crds().unwrap() {
            crds.create(&PostParams::default(), &crd).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
        for ns in ["flux-system", "apps"] {
            namespaces
                .create(
                    &PostParams::default(),
                    &serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap(),
                )
                .await
                .unwrap();
        }
        Cluster { env, client, dir }
    }

    fn kubeconfig(&self) -> std::path::PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// Runs `gitops ARGS --kubeconfig K` to completion.
    fn gitops(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gitops"))
            .args(args)
            .arg("--kubeconfig")
            .arg(self.kubeconfig())
            .output()
            .expect("run gitops")
    }

    fn api(&self, kind: &str, ns: &str) -> Api<DynamicObject> {
        let resource = match kind {
            "GitRepository" => ApiResource::erase::<gitops::controllers::api::GitRepository>(&()),
            "Kustomization" => ApiResource::erase::<gitops::controllers::api::Kustomization>(&()),
            other => panic!("{other}"),
        };
        Api::namespaced_with(self.client.clone(), ns, &resource)
    }

    async fn create(&self, object: Value) {
        let kind = object["kind"].as_str().unwrap().to_string();
        let ns = object["metadata"]["namespace"]
            .as_str()
            .unwrap()
            .to_string();
        let object: DynamicObject = serde_json::from_value(object).unwrap();
        self.api(&kind, &ns)
            .create(&PostParams::default(), &object)
            .await
            .unwrap();
    }

    async fn get(&self, kind: &str, ns: &str, name: &str) -> Value {
        serde_json::to_value(self.api(kind, ns).get(name).await.unwrap()).unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A run's exit code, stdout and stderr.
fn run(out: Output) -> (i32, String, String) {
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!({"type": "Ready", "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2026-01-01T00:00:00Z", "observedGeneration": 1})
}

const SHA: &str = "696f056df216eea4f9401adbee0ff744d4df390f";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_tree_events_and_suspend_read_what_the_api_server_holds() {
    let cluster = Cluster::start().await;
    cluster
        .create(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {"url": "https://example.invalid/podinfo", "interval": "1m",
                     "ref": {"branch": "main"}},
        }))
        .await;
    cluster
        .create(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"interval": "10m", "path": "./apps", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "podinfo"}},
        }))
        .await;
    cluster
        .create(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "infra", "namespace": "flux-system"},
            "spec": {"interval": "10m", "path": "./infra", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "podinfo"}},
        }))
        .await;
    let revision = format!("main@sha1:{SHA}");
    cluster
        .api("GitRepository", "flux-system")
        .patch_status(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "observedGeneration": 1,
                "conditions": [ready("True", "Succeeded",
                    &format!("stored artifact for revision '{revision}'"))],
                "artifact": {"revision": revision, "digest": "sha256:0a0b", "path": "p",
                             "url": "http://example.invalid/p.tar.gz",
                             "lastUpdateTime": "2026-01-01T00:00:00Z"},
            }})),
        )
        .await
        .unwrap();
    cluster
        .api("Kustomization", "flux-system")
        .patch_status(
            "apps",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "observedGeneration": 1,
                "lastAppliedRevision": revision,
                "conditions": [ready("True", "ReconciliationSucceeded",
                    &format!("Applied revision: {revision}"))],
                "inventory": {"entries": [
                    {"id": "_apps__Namespace", "v": "v1"},
                    {"id": "apps_web_apps_Deployment", "v": "v1"},
                    {"id": "flux-system_infra_kustomize.toolkit.fluxcd.io_Kustomization", "v": "v1"},
                    {"id": "apps_web__Service", "v": "v1"},
                ]},
            }})),
        )
        .await
        .unwrap();
    cluster
        .api("Kustomization", "flux-system")
        .patch_status(
            "infra",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "inventory": {"entries": [{"id": "apps_settings__ConfigMap", "v": "v1"}]},
            }})),
        )
        .await
        .unwrap();

    // flux's table: padded cells each followed by a tab, hashes cut to 8 digits.
    let (code, out, err) = run(cluster.gitops(&["get", "sources", "git"]));
    assert_eq!(code, 0, "{err}");
    let message = "stored artifact for revision 'main@sha1:696f056d'";
    assert_eq!(
        out,
        format!(
            "NAME   \tREVISION          \tSUSPENDED\tREADY\t{:<50}\n\
             podinfo\tmain@sha1:696f056d\tFalse    \tTrue \t{message}\t\n",
            "MESSAGE"
        )
    );
    let (code, out, err) = run(cluster.gitops(&["get", "kustomizations"]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "NAME \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              ",
            "apps \tmain@sha1:696f056d\tFalse    \tTrue \tApplied revision: main@sha1:696f056d\t",
            "infra\t                  \tFalse    \tFalse\twaiting to be reconciled            \t",
        ]
    );
    // -A: a leading NAMESPACE column.
    let (code, out, _) = run(cluster.gitops(&["get", "ks", "apps", "-A"]));
    assert_eq!(code, 0);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "NAMESPACE  \tNAME\tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              ",
            "flux-system\tapps\tmain@sha1:696f056d\tFalse    \tTrue \tApplied revision: main@sha1:696f056d\t",
        ]
    );
    // -o yaml|json: the objects as the API server returns them.
    let (code, out, _) = run(cluster.gitops(&["get", "sources", "git", "podinfo", "-o", "yaml"]));
    assert_eq!(code, 0);
    let yaml: Value = serde_saphyr::from_str(&out).unwrap();
    assert_eq!(yaml["kind"], "GitRepository");
    assert_eq!(yaml["apiVersion"], "source.toolkit.fluxcd.io/v1");
    assert_eq!(yaml["status"]["artifact"]["revision"], revision);
    assert!(yaml["metadata"]["uid"].is_string());
    let (code, out, _) = run(cluster.gitops(&["get", "kustomizations", "-o", "json"]));
    assert_eq!(code, 0);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["apps", "infra"]);
    assert_eq!(list["items"][0]["kind"], "Kustomization");

    // Not found: exit 1 with flux's messages on stderr, nothing on stdout.
    let (code, out, err) = run(cluster.gitops(&["get", "sources", "git", "missing"]));
    assert_eq!((code, out.as_str()), (1, ""));
    assert_eq!(
        err,
        "✗ GitRepository object 'missing' not found in \"flux-system\" namespace\n"
    );
    let (code, _, err) = run(cluster.gitops(&["get", "kustomizations", "-n", "apps"]));
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "✗ no Kustomization objects found in \"apps\" namespace\n"
    );
    let (code, _, err) = run(cluster.gitops(&["reconcile", "kustomization", "missing"]));
    assert_eq!(code, 1);
    assert!(
        err.contains("Kustomization object 'missing' not found"),
        "{err}"
    );

    // tree: the inventory, the nested Kustomization expanded, the trailing blank line.
    let (code, out, err) = run(cluster.gitops(&["tree", "kustomization", "apps"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Kustomization/flux-system/apps\n\
         ├── Namespace/apps\n\
         ├── Deployment/apps/web\n\
         ├── Kustomization/flux-system/infra\n\
         │   └── ConfigMap/apps/settings\n\
         └── Service/apps/web\n\n"
    );

    // suspend flips spec.suspend, and get shows it.
    let (code, _, err) = run(cluster.gitops(&["suspend", "kustomization", "apps"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        "► suspending kustomization apps in flux-system namespace\n✔ kustomization suspended\n"
    );
    let ks = cluster.get("Kustomization", "flux-system", "apps").await;
    assert_eq!(ks["spec"]["suspend"], true);
    let (_, out, _) = run(cluster.gitops(&["get", "ks", "apps", "--no-header"]));
    assert_eq!(
        out,
        "apps\tmain@sha1:696f056d\tTrue\tTrue\tApplied revision: main@sha1:696f056d\t\n"
    );
    let (code, _, err) = run(cluster.gitops(&["reconcile", "ks", "apps"]));
    assert_eq!((code, err.as_str()), (1, "✗ resource is suspended\n"));
    let (code, _, err) = run(cluster.gitops(&["suspend", "source", "git", "podinfo"]));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("✔ source git suspended"), "{err}");
    let repo = cluster.get("GitRepository", "flux-system", "podinfo").await;
    assert_eq!(repo["spec"]["suspend"], true);

    // -w: the objects as they are, then a row for each change, until stopped.
    let mut watch = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["get", "sources", "git", "-w", "--kubeconfig"])
        .arg(cluster.kubeconfig())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    let _watch = Process(watch);
    let header = lines.next().unwrap().unwrap();
    assert!(header.starts_with("NAME   \tREVISION"), "{header}");
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("podinfo\tmain@sha1:696f056d\tTrue"),
        "{first}"
    );
    cluster
        .api("GitRepository", "flux-system")
        .patch_status(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"conditions": [
                ready("False", "GitOperationFailed", "failed to checkout"),
            ]}})),
        )
        .await
        .unwrap();
    let changed = lines.next().unwrap().unwrap();
    assert_eq!(
        changed,
        "podinfo\tmain@sha1:696f056d\tTrue\tFalse\tfailed to checkout\t"
    );

    // events: flux objects' events only, oldest first.
    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(cluster.client.clone(), "flux-system");
    let now = jiff_now();
    for (name, kind, object, reason, message) in [
        (
            "e1",
            "Normal",
            ("GitRepository", "podinfo"),
            "NewArtifact",
            "stored artifact",
        ),
        (
            "e2",
            "Warning",
            ("Kustomization", "apps"),
            "BuildFailed",
            "kustomize build failed",
        ),
        ("e3", "Normal", ("Pod", "web-1"), "Pulled", "pulled image"),
    ] {
        events
            .create(
                &PostParams::default(),
                &serde_json::from_value(json!({
                    "metadata": {"name": name, "namespace": "flux-system"},
                    "involvedObject": {"kind": object.0, "name": object.1,
                                       "namespace": "flux-system"},
                    "type": kind, "reason": reason, "message": message,
                    "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                    "source": {"component": "test"},
                }))
                .unwrap(),
            )
            .await
            .unwrap();
    }
    let (code, out, err) = run(cluster.gitops(&["events"]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("LAST SEEN\tTYPE   \tREASON     \tOBJECT               \tMESSAGE"),
        "{out}"
    );
    assert!(
        out.contains("GitRepository/podinfo\tstored artifact"),
        "{out}"
    );
    assert!(!out.contains("Pod/web-1"), "{out}");
    // --for a Kustomization: its events and its source's.
    let (_, out, _) = run(cluster.gitops(&["events", "--for", "Kustomization/apps"]));
    assert_eq!(out.lines().count(), 3, "{out}");
    let (_, out, _) = run(cluster.gitops(&["events", "--for", "GitRepository/podinfo"]));
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("NewArtifact"), "{out}");
    drop(cluster.env);
}

/// Now in whole seconds: Event timestamps are RFC 3339 without fractions.
fn jiff_now() -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    k8s_openapi::jiff::Timestamp::from_second(now.as_second())
        .unwrap()
        .to_string()
}

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\ndata:\n  key: {value}\n"
    )
}

const SECRET: &str = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: default\ntype: Opaque\ndata:\n  password: aHVudGVyMg==\n";

/// Writes the repository's files into a local directory, as a user's checkout.
fn checkout(dir: &Path, files: &[(&str, &str)]) {
    for (path, body) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_resume_and_diff_against_running_controllers() {
    let cluster = Cluster::start().await;
    let a = cm("a", "one");
    let files = [
        ("deploy/a.yaml", a.as_str()),
        ("deploy/secret.yaml", SECRET),
        (
            "deploy/kustomization.yaml",
            "resources:\n- a.yaml\n- secret.yaml\n",
        ),
    ];
    let fx = Fixture::new();
    let commit = fx.commit(
        &files.map(|(p, b)| (p, Some(b))),
        "a config map and a secret",
    );
    fx.push(&["main"]);
    let git = HttpServer::start(&fx.repos(), HttpAuth::None, None);

    let controllers = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["controller", "all", "--kubeconfig"])
        .arg(cluster.kubeconfig())
        .arg("--storage-path")
        .arg(cluster.dir.path().join("data"))
        .arg(format!("--storage-addr=127.0.0.1:{}", free_port()))
        .args(["--metrics-addr=0", "--health-addr=0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run gitops controller all");
    let _controllers = Process(controllers);

    cluster
        .create(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "flux-system"},
            "spec": {"url": git.url("repo.git"), "interval": "1h", "ref": {"branch": "main"}},
        }))
        .await;
    cluster
        .create(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "app", "namespace": "flux-system"},
            "spec": {"interval": "1h", "path": "./deploy", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}},
        }))
        .await;

    // reconcile --with-source: the source, then the Kustomization, with flux's lines.
    let revision = format!("main@sha1:{commit}");
    let (code, out, err) = run(cluster.gitops(&[
        "reconcile",
        "kustomization",
        "app",
        "--with-source",
        "--timeout=2m",
    ]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "► annotating GitRepository app in flux-system namespace",
            "✔ GitRepository annotated",
            "◎ waiting for GitRepository reconciliation",
            &format!("✔ fetched revision {revision}"),
            "► annotating Kustomization app in flux-system namespace",
            "✔ Kustomization annotated",
            "◎ waiting for Kustomization reconciliation",
            &format!("✔ applied revision {revision}"),
        ]
    );
    let ks = cluster.get("Kustomization", "flux-system", "app").await;
    assert_eq!(ks["status"]["lastAppliedRevision"], revision);
    let requested = &ks["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"];
    assert_eq!(&ks["status"]["lastHandledReconcileAt"], requested);
    let (code, _, err) = run(cluster.gitops(&["reconcile", "source", "git", "app"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.ends_with(&format!("✔ fetched revision {revision}\n")),
        "{err}"
    );

    // diff on a converged cluster: nothing, exit 0.
    let local = tempfile::tempdir().unwrap();
    checkout(local.path(), &files);
    let path = local.path().join("deploy");
    let path = path.to_str().unwrap();
    let (code, out, err) = run(cluster.gitops(&["diff", "kustomization", "app", "--path", path]));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));

    // Drift: another manager changes a field of each object.
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(cluster.client.clone(), "default");
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"key": "edited"}})),
    )
    .await
    .unwrap();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(cluster.client.clone(), "default");
    secrets
        .patch(
            "creds",
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {"password": "bGVha2Vk"}})),
        )
        .await
        .unwrap();
    let (code, out, err) = run(cluster.gitops(&["diff", "kustomization", "app", "--path", path]));
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        out,
        "► ConfigMap/default/a drifted\n\ndata.key\n± value change\n- edited\n+ one\n\n\
         ► Secret/default/creds drifted\n\ndata.password\n± value change\n- *** (before)\n+ *** (after)\n\n"
    );
    assert!(!out.contains("aHVudGVyMg") && !out.contains("bGVha2Vk"));
    assert_eq!(
        err,
        "⚠️ identified at least one change, exiting with non-zero exit code\n"
    );
    // A dropped object is reported as deleted.
    std::fs::write(
        local.path().join("deploy/kustomization.yaml"),
        "resources:\n- a.yaml\n",
    )
    .unwrap();
    let (code, out, _) = run(cluster.gitops(&["diff", "kustomization", "app", "--path", path]));
    assert_eq!(code, 1);
    assert!(out.ends_with("► Secret/default/creds deleted\n"), "{out}");
    // An invalid path is an error, exit 2.
    let (code, _, err) =
        run(cluster.gitops(&["diff", "kustomization", "app", "--path", "/nonexistent/dir"]));
    assert_eq!(code, 2);
    assert_eq!(err, "✗ invalid resource path \"/nonexistent/dir\"\n");

    // suspend, then resume waits for the reconciliation the generation bump causes.
    let (code, _, err) = run(cluster.gitops(&["suspend", "ks", "app"]));
    assert_eq!(code, 0, "{err}");
    let ks = cluster.get("Kustomization", "flux-system", "app").await;
    assert_eq!(ks["spec"]["suspend"], true);
    let (code, _, err) = run(cluster.gitops(&["resume", "ks", "app", "--timeout=2m"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            "► resuming kustomization app in flux-system namespace",
            "✔ kustomization resumed",
            "◎ waiting for Kustomization reconciliation",
            "✔ Kustomization app reconciliation completed",
            &format!("✔ applied revision {revision}"),
        ]
    );
    let ks = cluster.get("Kustomization", "flux-system", "app").await;
    assert!(ks["spec"].get("suspend").is_none(), "{:#}", ks["spec"]);
    // The resumed reconciliation corrected the drift.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cms.get("a").await.unwrap().data.unwrap()["key"] != "one" {
        assert!(Instant::now() < deadline, "the drift was not corrected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A Kustomization that fails: exit 1 with its Ready message.
    cluster
        .create(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "broken", "namespace": "flux-system"},
            "spec": {"interval": "1h", "path": "./missing", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "app"}},
        }))
        .await;
    let (code, _, err) = run(cluster.gitops(&["reconcile", "ks", "broken", "--timeout=2m"]));
    assert_eq!(code, 1, "{err}");
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("✗ Kustomization reconciliation failed: kustomization path not found"),
        "{err}"
    );
    let (_, out, _) = run(cluster.gitops(&["get", "ks", "broken", "--no-header"]));
    assert!(
        out.starts_with("broken\t\tFalse\tFalse\tkustomization path not found"),
        "{out:?}"
    );
}

#[test]
fn help_of_each_command_lists_its_flags() {
    let connection = [
        "--kubeconfig",
        "--context",
        "--namespace",
        "--all-namespaces",
    ];
    let cases: [(&[&str], &[&str]); 9] = [
        (
            &["get", "sources", "git"],
            &["--watch", "--output", "--no-header"],
        ),
        (
            &["get", "kustomizations"],
            &["--watch", "--output", "--no-header"],
        ),
        (&["reconcile", "source", "git"], &["--timeout"]),
        (
            &["reconcile", "kustomization"],
            &["--with-source", "--timeout"],
        ),
        (&["suspend", "kustomization"], &[]),
        (&["resume", "source", "git"], &["--timeout"]),
        (&["events"], &["--for"]),
        (&["tree", "kustomization"], &[]),
        (
            &["diff", "kustomization"],
            &["--path", "--strict-substitute"],
        ),
    ];
    for (command, flags) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_gitops"))
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        assert!(out.status.success(), "{command:?}");
        let help = text(&out.stdout);
        for flag in flags.iter().chain(&connection) {
            assert!(
                help.contains(flag),
                "{command:?} --help lacks {flag}:\n{help}"
            );
        }
    }
}
