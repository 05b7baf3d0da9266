#![allow(clippy::expect_used, clippy::unwrap_used)]
//! `gitops bootstrap git` as a process against testenv and a bare repository served over
//! smart HTTP (the quickstart's `git_http`), with the controllers running as a `gitops
//! controller all` process (testenv has no kubelet to run the Deployments bootstrap
//! installs): it pushes the three files, creates the Secret, and waits until the
//! Kustomization applies the branch's head; a second run commits nothing and writes nothing.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use gitops::controllers::api::Kustomization;
use gitops::controllers::quickstart::git_http::GitHttp;
use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};

const TOKEN: &str = "bootstrap-token-7f3a9c";

/// Kills the controllers when the test ends, passed or failed.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn bootstrap(kubeconfig: &Path, url: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gitops"));
    command
        .args(["bootstrap", "git", "--kubeconfig"])
        .arg(kubeconfig)
        .args([
            "--url",
            url,
            "--branch=main",
            "--path=clusters/dev",
            "--token-auth",
            "--allow-insecure-http",
            "--timeout=2m",
        ])
        .env("GIT_PASSWORD", TOKEN);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_git_pushes_syncs_and_a_second_run_changes_nothing() {
    install_crypto_provider();
    let env = TestEnv::start().await.unwrap();
    env.enable_controllers();
    env.enable_rollouts();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.kubeconfig()).unwrap();
    let client = env.client().unwrap();

    // The controllers run as a process, as their Deployments would run them; they need
    // their CRDs to watch.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in gitops::controllers::api::crd::crds().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _controllers = Process(
        Command::new(env!("CARGO_BIN_EXE_gitops"))
            .args(["controller", "all", "--kubeconfig"])
            .arg(&kubeconfig)
            .arg("--storage-path")
            .arg(dir.path().join("data"))
            .arg(format!("--storage-addr=127.0.0.1:{port}"))
            .args(["--metrics-addr=0", "--health-addr=0"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let repos = dir.path().join("git");
    std::fs::create_dir_all(&repos).unwrap();
    git(
        &repos,
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "fleet.git",
        ],
    );
    let bare = repos.join("fleet.git");
    git(&bare, &["config", "http.receivepack", "true"]);
    let server = GitHttp::serve(repos.clone()).await.unwrap();
    let url = server.url("fleet.git");

    let out = bootstrap(&kubeconfig, &url).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains(TOKEN),
        "the token is never printed:\n{stderr}"
    );
    let head = git(&bare, &["rev-parse", "main"]).trim().to_string();
    let revision = format!("main@sha1:{head}");
    for line in [
        "✔ installed components".to_string(),
        "✔ reconciled source secret".to_string(),
        "✔ reconciled sync configuration".to_string(),
        format!("✔ committed sync manifests to \"main\" (\"{revision}\")"),
        format!("✔ Kustomization reconciled successfully: Applied revision: {revision}"),
        "✔ bootstrap finished".to_string(),
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line} in:\n{stderr}");
    }
    assert!(
        stderr.contains("✔ committed component manifests to \"main\""),
        "{stderr}"
    );

    // The three files, two commits.
    let files = git(&bare, &["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [
            "clusters/dev/flux-system/gotk-components.yaml",
            "clusters/dev/flux-system/gotk-sync.yaml",
            "clusters/dev/flux-system/kustomization.yaml",
        ]
    );
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]).trim(), "2");
    let sync = git(
        &bare,
        &["show", "main:clusters/dev/flux-system/gotk-sync.yaml"],
    );
    assert!(sync.contains(&format!("  url: {url}\n")), "{sync}");
    assert!(
        sync.contains("  path: ./clusters/dev\n  prune: true\n"),
        "{sync}"
    );
    let components = git(
        &bare,
        &["show", "main:clusters/dev/flux-system/gotk-components.yaml"],
    );
    assert_eq!(
        components,
        gitops::controllers::install::manifests::render(&Default::default()).unwrap()
    );
    assert_eq!(
        git(
            &bare,
            &["show", "main:clusters/dev/flux-system/kustomization.yaml"]
        ),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n"
    );

    // The Secret in Flux's format; the Kustomization applied the head.
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "flux-system");
    let secret = secrets.get("flux-system").await.unwrap();
    let data = secret.data.clone().unwrap();
    assert_eq!(data["username"].0, b"git");
    assert_eq!(data["password"].0, TOKEN.as_bytes());
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), "flux-system");
    let ks = serde_json::to_value(kustomizations.get("flux-system").await.unwrap()).unwrap();
    assert_eq!(ks["status"]["lastAppliedRevision"], revision.as_str());
    let ready = ks["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["message"], format!("Applied revision: {revision}"));
    // The kustomize-controller applied the components from Git too.
    let inventory = ks["status"]["inventory"]["entries"].to_string();
    assert!(
        inventory.contains("flux-system_source-controller_apps_Deployment"),
        "{inventory}"
    );

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "flux-system");
    let versions = async || {
        (
            secrets
                .get("flux-system")
                .await
                .unwrap()
                .metadata
                .resource_version,
            deployments
                .get("source-controller")
                .await
                .unwrap()
                .metadata
                .resource_version,
            deployments
                .get("kustomize-controller")
                .await
                .unwrap()
                .metadata
                .resource_version,
            kustomizations
                .get("flux-system")
                .await
                .unwrap()
                .metadata
                .generation,
        )
    };
    let before = versions().await;
    let repos: Api<gitops::controllers::api::GitRepository> =
        Api::namespaced(client.clone(), "flux-system");

    let out = bootstrap(&kubeconfig, &url).await;
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        git(&bare, &["rev-parse", "main"]).trim(),
        head,
        "no new commit"
    );
    for line in [
        "✔ component manifests are up to date",
        "✔ components are up to date",
        "✔ source secret is up to date",
        "✔ sync manifests are up to date",
        "✔ sync configuration is up to date",
        "✔ bootstrap finished",
    ] {
        assert!(stderr.lines().any(|l| l == line), "{line} in:\n{stderr}");
    }
    assert!(
        !stderr.contains(" created\n") && !stderr.contains(" configured\n"),
        "{stderr}"
    );
    assert_eq!(versions().await, before, "nothing was written");
    // What the controllers set on the sync objects is left to them.
    let repo = repos.get("flux-system").await.unwrap();
    assert_eq!(
        repo.metadata.finalizers.as_deref(),
        Some(&["finalizers.fluxcd.io".to_string()][..])
    );
    assert!(
        repo.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("reconcile.fluxcd.io/requestedAt")
    );
}
