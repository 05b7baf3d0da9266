//! `gitops quickstart`: the pipeline end to end on real parts.
//!
//! It starts the test API server (`gitops testenv`) on 127.0.0.1 with its controllers
//! (garbage collection, workload rollouts), creates a bare Git repository served over smart
//! HTTP on 127.0.0.1 ([`git_http`]) and pushes a small app to it (a Deployment and a Service),
//! installs the GitRepository and Kustomization CRDs and objects, and runs the source and
//! kustomize controllers in-process against the API server through a kubeconfig, exactly as
//! `gitops controller` runs them. Then, one commit at a time, it shows what a user sees:
//!
//! 1. the first commit stored as an artifact and applied (`Applied revision` of that commit);
//! 2. a change to the Deployment only: the Deployment re-applied, the Service `unchanged` with
//!    the same resourceVersion;
//! 3. the Service's file removed: the Service pruned;
//! 4. a broken manifest: the Kustomization fails with `BuildFailed` and the cluster is left
//!    as it was.
//!
//! Each commit is picked up as `flux reconcile source git` would, through the
//! `reconcile.fluxcd.io/requestedAt` annotation, and the Kustomization follows the new
//! artifact through its watch. `--keep` leaves everything running and prints the kubeconfig
//! and the repository URL.

pub mod git_http;
mod table;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use gitops_apply::testenv::TestEnv;
use gitops_core::api::REQUESTED_AT_ANNOTATION;
use gitops_git::Auth;
use gitops_git::push::{Commit, PushOptions, Signature};
use k8s_openapi::api::core::v1::{Event, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::api::{GitRepository, Kustomization};

/// The flags of `gitops quickstart`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct Args {
    /// Leave the API server, the Git server and the controllers running when done, and print
    /// the kubeconfig and the repository URL; stop with Ctrl-C.
    #[arg(long)]
    pub keep: bool,
}

const NS: &str = "flux-system";
const APP: &str = "apps/podinfo";

fn flux_objects(url: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: fleet, namespace: {NS}}}
spec:
  url: {url}
  interval: 1m
  timeout: 60s
  ref: {{branch: main}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: podinfo, namespace: {NS}}}
spec:
  interval: 10m
  path: ./{APP}
  prune: true
  wait: true
  timeout: 2m
  sourceRef: {{kind: GitRepository, name: fleet}}
"
    )
}

const SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: podinfo
  namespace: default
spec:
  selector:
    app: podinfo
  ports:
  - name: http
    port: 9898
";

fn deployment(replicas: u32) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: podinfo
  namespace: default
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: podinfo
  template:
    metadata:
      labels:
        app: podinfo
    spec:
      containers:
      - name: podinfo
        image: ghcr.example.invalid/podinfo:6.7.0
        ports:
        - containerPort: 9898
"
    )
}

/// Runs the quickstart, printing to `out`. Returns whether every step ended as expected.
pub fn run(args: &Args, out: &mut dyn Write) -> Result<bool> {
    gitops_git::fetch::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let dir = tempfile::Builder::new()
            .prefix("gitops-quickstart-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let result = Quickstart::start(dir.path(), out)
            .await?
            .story(args, out)
            .await;
        if args.keep {
            // The directory holds the kubeconfig and the repository the user was told of.
            let kept = dir.keep();
            tracing::debug!(dir = %kept.display(), "kept");
        }
        result
    })
}

/// Everything the quickstart runs.
struct Quickstart {
    server: TestEnv,
    git: git_http::GitHttp,
    url: String,
    kubeconfig: PathBuf,
    client: kube::Client,
    source: crate::source::SourceController,
    kustomize: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    events_seen: std::collections::HashMap<String, i32>,
}

impl Quickstart {
    async fn start(dir: &Path, out: &mut dyn Write) -> Result<Self> {
        let server = TestEnv::start()
            .await
            .context("cannot start the test API server")?;
        server.enable_controllers();
        server.enable_rollouts();
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig())
            .with_context(|| format!("cannot write {}", kubeconfig.display()))?;
        writeln!(out, "► API server (testenv) on {}", server.url())?;

        let repos = dir.join("git");
        git_http::init_bare(&repos, "fleet.git")
            .context("cannot create the Git repository; the quickstart needs the git program")?;
        let git = git_http::GitHttp::serve(repos)
            .await
            .context("cannot start the Git HTTP server")?;
        let url = git.url("fleet.git");
        writeln!(out, "► Git repository served over smart HTTP at {url}")?;

        let cli = crate::controller::client(Some(&kubeconfig), None, "cli").await?;
        install(&cli).await?;
        writeln!(
            out,
            "► installed the GitRepository and Kustomization CRDs and the {NS} namespace"
        )?;

        let storage = crate::source::StorageOptions {
            path: dir.join("storage"),
            addr: ([127, 0, 0, 1], 0).into(),
            ..Default::default()
        };
        let source_options = crate::source::ControllerOptions {
            namespace: Some(NS.into()),
            ..Default::default()
        };
        let source_client = crate::controller::client(
            Some(&kubeconfig),
            None,
            crate::source::controller::COMPONENT,
        )
        .await?;
        let source = crate::source::SourceController::start(source_client, storage, source_options)
            .await
            .context("cannot start the source controller")?;
        let kustomize_client =
            crate::controller::client(Some(&kubeconfig), None, crate::kustomize::COMPONENT).await?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = crate::kustomize::ControllerOptions {
            namespace: Some(NS.into()),
            ..Default::default()
        };
        let kustomize = tokio::spawn(crate::kustomize::controller::run(
            kustomize_client,
            options,
            async {
                let _ = stopped.await;
            },
        ));
        writeln!(
            out,
            "► source-controller and kustomize-controller running in-process"
        )?;
        Ok(Self {
            server,
            git,
            url,
            kubeconfig,
            client: cli,
            source,
            kustomize,
            stop: Some(stop),
            events_seen: Default::default(),
        })
    }

    async fn story(mut self, args: &Args, out: &mut dyn Write) -> Result<bool> {
        let mut ok = true;
        let first = Commit::new("main", "add podinfo")
            .with_file(format!("{APP}/deployment.yaml"), deployment(1))
            .with_file(format!("{APP}/service.yaml"), SERVICE);
        let rev = self.push(first, out).await?;
        create_flux_objects(&self.client, &self.url).await?;
        writeln!(
            out,
            "► created GitRepository/{NS}/fleet and Kustomization/{NS}/podinfo"
        )?;
        ok &= self.expect_applied(&rev, out).await?;
        let before = self.versions().await?;
        self.tables(out).await?;

        let scale = Commit::new("main", "scale podinfo to 2")
            .with_file(format!("{APP}/deployment.yaml"), deployment(2));
        let rev = self.commit(scale, out).await?;
        ok &= self.expect_applied(&rev, out).await?;
        let after = self.versions().await?;
        ok &= compare(
            &before,
            &after,
            out,
            &[("Deployment", true), ("Service", false)],
        )?;

        let drop = Commit::new("main", "remove the podinfo service")
            .without_file(format!("{APP}/service.yaml"));
        let rev = self.commit(drop, out).await?;
        ok &= self.expect_applied(&rev, out).await?;
        let pruned = self.versions().await?;
        let gone = !pruned.iter().any(|(kind, _)| kind == "Service");
        writeln!(
            out,
            "  {} Service/default/podinfo {}",
            mark(gone),
            if gone { "pruned" } else { "still exists" }
        )?;
        ok &= gone;

        let broken = Commit::new("main", "break the deployment").with_file(
            format!("{APP}/deployment.yaml"),
            "kind: Deployment\nspec: [broken\n",
        );
        let rev = self.commit(broken, out).await?;
        ok &= self.expect_failed(&rev, out).await?;
        let untouched = self.versions().await? == pruned;
        writeln!(
            out,
            "  {} the cluster is untouched: {}",
            mark(untouched),
            describe(&pruned)
        )?;
        ok &= untouched;
        self.tables(out).await?;

        if args.keep {
            writeln!(out, "\neverything keeps running; press Ctrl-C to stop")?;
            writeln!(out, "  export KUBECONFIG={}", self.kubeconfig.display())?;
            writeln!(out, "  kubectl get gitrepositories,kustomizations -n {NS}")?;
            writeln!(out, "  git clone {}", self.url)?;
            out.flush()?;
            crate::testenv::shutdown_signal()
                .await
                .context("cannot wait for a signal")?;
        }
        self.shutdown().await;
        Ok(ok)
    }

    /// Pushes `commit` to the repository's `main`.
    async fn push(&self, commit: Commit, out: &mut dyn Write) -> Result<String> {
        let message = commit.message.clone();
        let commit = commit.with_author(Signature::new("Quickstart", "quickstart@example.invalid"));
        let pushed =
            gitops_git::push::push(&self.url, &Auth::none(), &commit, PushOptions::default())
                .await
                .with_context(|| format!("cannot push '{message}'"))?;
        writeln!(out, "\n► commit '{message}' → {}", pushed.revision)?;
        Ok(pushed.revision.to_string())
    }

    /// Pushes `commit` and asks the source controller to fetch it, as `flux reconcile source
    /// git fleet` does.
    async fn commit(&self, commit: Commit, out: &mut dyn Write) -> Result<String> {
        let revision = self.push(commit, out).await?;
        let repos: Api<GitRepository> = Api::namespaced(self.client.clone(), NS);
        let now = jiff::Timestamp::now().to_string();
        let patch = json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: now}}});
        repos
            .patch("fleet", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .context("cannot annotate GitRepository/flux-system/fleet")?;
        Ok(revision)
    }

    /// Waits for the artifact of `rev`, then for the Kustomization to apply it.
    async fn expect_applied(&mut self, rev: &str, out: &mut dyn Write) -> Result<bool> {
        self.wait_source(rev, out).await?;
        let ks = self
            .wait("Kustomization", |s| {
                s.pointer("/status/lastAppliedRevision")
                    .and_then(Value::as_str)
                    == Some(rev)
                    && ready(s).0 == "True"
            })
            .await;
        self.print_events("podinfo", out).await?;
        let ks = report(out, "Kustomization/flux-system/podinfo", ks)?;
        Ok(ready(&ks) == ("True", format!("Applied revision: {rev}")))
    }

    /// Waits for the artifact of `rev`, then for the Kustomization to fail on it.
    async fn expect_failed(&mut self, rev: &str, out: &mut dyn Write) -> Result<bool> {
        self.wait_source(rev, out).await?;
        let ks = self
            .wait("Kustomization", |s| {
                s.pointer("/status/lastAttemptedRevision")
                    .and_then(Value::as_str)
                    == Some(rev)
                    && ready(s).0 == "False"
            })
            .await;
        self.print_events("podinfo", out).await?;
        let ks = report(out, "Kustomization/flux-system/podinfo", ks)?;
        let reason = ks
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|c| {
                c.iter()
                    .find(|c| c["type"] == "Ready")
                    .and_then(|c| c["reason"].as_str().map(str::to_string))
            });
        Ok(reason.as_deref() == Some(gitops_core::status::reason::BUILD_FAILED))
    }

    async fn wait_source(&mut self, rev: &str, out: &mut dyn Write) -> Result<()> {
        let repo = self
            .wait("GitRepository", |s| {
                s.pointer("/status/artifact/revision")
                    .and_then(Value::as_str)
                    == Some(rev)
                    && ready(s).0 == "True"
            })
            .await;
        self.print_events("fleet", out).await?;
        report(out, "GitRepository/flux-system/fleet", repo)?;
        Ok(())
    }

    /// Polls the object of `kind` until `done` holds (at most a minute); returns it either
    /// way, or an error when it cannot be read.
    async fn wait(&self, kind: &str, done: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let object = match kind {
                "GitRepository" => {
                    let api: Api<GitRepository> = Api::namespaced(self.client.clone(), NS);
                    serde_json::to_value(api.get("fleet").await?)?
                }
                _ => {
                    let api: Api<Kustomization> = Api::namespaced(self.client.clone(), NS);
                    serde_json::to_value(api.get("podinfo").await?)?
                }
            };
            if done(&object) || Instant::now() > deadline {
                return Ok(object);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Prints the Events about `name` not printed yet, as `flux events` shows them.
    async fn print_events(&mut self, name: &str, out: &mut dyn Write) -> Result<()> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), NS);
        let mut list = events
            .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
            .await
            .context("cannot list events")?
            .items;
        list.sort_by_key(|e| {
            e.metadata
                .resource_version
                .as_deref()
                .and_then(|r| r.parse::<u64>().ok())
                .unwrap_or(0)
        });
        for event in list {
            let key = event.metadata.name.clone().unwrap_or_default();
            let count = event.count.unwrap_or(1);
            if self.events_seen.get(&key) == Some(&count) {
                continue;
            }
            self.events_seen.insert(key, count);
            for line in event.message.unwrap_or_default().lines() {
                writeln!(out, "  {line}")?;
            }
        }
        Ok(())
    }

    /// The app's objects with their resourceVersions.
    async fn versions(&self) -> Result<Vec<(String, String)>> {
        let mut found = Vec::new();
        for (group, version, kind) in [("apps", "v1", "Deployment"), ("", "v1", "Service")] {
            let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), "default", &resource);
            if let Some(object) = api.get_opt("podinfo").await? {
                found.push((
                    kind.to_string(),
                    object.metadata.resource_version.unwrap_or_default(),
                ));
            }
        }
        Ok(found)
    }

    /// What `kubectl get` prints for the Flux objects and the app.
    async fn tables(&self, out: &mut dyn Write) -> Result<()> {
        for (path, title) in [
            (
                format!("/apis/source.toolkit.fluxcd.io/v1/namespaces/{NS}/gitrepositories"),
                format!("kubectl get gitrepositories -n {NS}"),
            ),
            (
                format!("/apis/kustomize.toolkit.fluxcd.io/v1/namespaces/{NS}/kustomizations"),
                format!("kubectl get kustomizations -n {NS}"),
            ),
            (
                "/apis/apps/v1/namespaces/default/deployments".to_string(),
                "kubectl get deployments -n default".to_string(),
            ),
        ] {
            writeln!(out, "\n$ {title}")?;
            let text = table::get(&self.client, &path).await?;
            out.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.kustomize).await;
        self.source.shutdown().await;
        drop(self.git);
        drop(self.server);
    }
}

/// Applies the CRDs (waiting until they are Established) and the namespace.
async fn install(client: &kube::Client) -> Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let apply = PatchParams::apply("gitops").force();
    for crd in crate::api::crd::crds()? {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &apply, &Patch::Apply(&crd))
            .await
            .with_context(|| format!("cannot apply the CRD {name}"))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let live = crds.get(&name).await?;
            let established = live
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            if Instant::now() > deadline {
                bail!("the CRD {name} did not become Established");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
    )?;
    namespaces
        .patch(NS, &apply, &Patch::Apply(&ns))
        .await
        .context("cannot create the flux-system namespace")?;
    Ok(())
}

/// Creates the GitRepository over `url` and the Kustomization of the app, as a user would
/// once the repository has a first commit.
async fn create_flux_objects(client: &kube::Client, url: &str) -> Result<()> {
    let apply = PatchParams::apply("gitops").force();
    for document in serde_saphyr::from_multiple::<Value>(&flux_objects(url))
        .context("the quickstart's Flux objects")?
    {
        let name = document
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        match document.get("kind").and_then(Value::as_str) {
            Some("GitRepository") => {
                let api: Api<GitRepository> = Api::namespaced(client.clone(), NS);
                api.patch(&name, &apply, &Patch::Apply(&document))
                    .await
                    .map(|_| ())
            }
            _ => {
                let api: Api<Kustomization> = Api::namespaced(client.clone(), NS);
                api.patch(&name, &apply, &Patch::Apply(&document))
                    .await
                    .map(|_| ())
            }
        }
        .with_context(|| format!("cannot apply {name}"))?;
    }
    Ok(())
}

/// The Ready condition's status and message.
fn ready(object: &Value) -> (&str, String) {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            (
                c["status"].as_str().unwrap_or("Unknown"),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .unwrap_or(("Unknown", String::new()))
}

fn mark(ok: bool) -> &'static str {
    if ok { "✔" } else { "✗" }
}

/// Prints the Ready condition of an object read by [`Quickstart::wait`].
fn report(out: &mut dyn Write, name: &str, object: Result<Value>) -> Result<Value> {
    let object = object?;
    let condition = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    match condition {
        Some(c) => writeln!(
            out,
            "{} {name} Ready={} {}: {}",
            mark(c["status"] == "True"),
            c["status"].as_str().unwrap_or("Unknown"),
            c["reason"].as_str().unwrap_or_default(),
            c["message"].as_str().unwrap_or_default()
        )?,
        None => writeln!(out, "? {name} has no Ready condition")?,
    }
    Ok(object)
}

fn describe(versions: &[(String, String)]) -> String {
    versions
        .iter()
        .map(|(kind, rv)| format!("{kind}/default/podinfo resourceVersion {rv}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Prints how each object's resourceVersion moved, and whether that matches `expected`
/// (kind, whether it should have been written).
fn compare(
    before: &[(String, String)],
    after: &[(String, String)],
    out: &mut dyn Write,
    expected: &[(&str, bool)],
) -> Result<bool> {
    let mut ok = true;
    for (kind, written) in expected {
        let old = before
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, rv)| rv.as_str());
        let new = after
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, rv)| rv.as_str());
        let changed = old != new;
        let good = changed == *written && new.is_some();
        ok &= good;
        writeln!(
            out,
            "  {} {kind}/default/podinfo resourceVersion {} → {} ({})",
            mark(good),
            old.unwrap_or("-"),
            new.unwrap_or("-"),
            if changed {
                "re-applied"
            } else {
                "unchanged, not written"
            }
        )?;
    }
    Ok(ok)
}

#[cfg(test)]
mod tests {
    #[test]
    fn quickstart_tells_the_whole_story_on_real_parts() {
        let mut buf = Vec::new();
        let ok = super::run(&super::Args::default(), &mut buf).unwrap();
        let text = String::from_utf8(buf).unwrap();
        assert!(ok, "{text}");
        let revisions: Vec<&str> = text
            .lines()
            .filter_map(|l| l.split_once(" → main@sha1:").map(|(_, hex)| hex))
            .collect();
        assert_eq!(revisions.len(), 4, "{text}");
        for hex in &revisions[..3] {
            assert!(
                text.contains(&format!("stored artifact for revision 'main@sha1:{hex}'")),
                "{text}"
            );
            assert!(
                text.contains(&format!("Applied revision: main@sha1:{hex}")),
                "{text}"
            );
        }
        assert!(
            text.contains("Deployment/default/podinfo configured"),
            "{text}"
        );
        assert!(
            text.contains("Service/default/podinfo resourceVersion"),
            "{text}"
        );
        assert!(text.contains("(unchanged, not written)"), "{text}");
        assert!(text.contains("Service/default/podinfo deleted"), "{text}");
        assert!(
            text.contains("Ready=False BuildFailed: kustomize build failed:"),
            "{text}"
        );
        assert!(
            text.contains("$ kubectl get kustomizations -n flux-system"),
            "{text}"
        );
    }
}
