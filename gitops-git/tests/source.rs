//! `GitSource` end to end: fetch through Secrets, store, skip unchanged, serve the previous
//! artifact when the server dies, and produce archives that `tar` unpacks to the checkout
//! minus ignored files.

// Test helpers panic on setup failures: that is how a test reports them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use common::*;
use gitops_core::api::GitRepository;
use gitops_core::reconcile::{Clock, Fetched, GitRepositoryReconciler, Source};
use gitops_core::status::Artifact;
use gitops_git::{GitSource, StaticSecrets, Store};

fn repository(url: &str, reference: serde_json::Value, extra: serde_json::Value) -> GitRepository {
    let mut spec =
        serde_json::json!({"url": url, "interval": "1m", "timeout": "30s", "ref": reference});
    if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
        spec.extend(extra.clone());
    }
    serde_json::from_value(serde_json::json!({
        "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": 1},
        "spec": spec,
    }))
    .unwrap()
}

async fn stored(
    source: &dyn Source,
    repo: &GitRepository,
    last: Option<&Artifact>,
) -> (Artifact, String) {
    match source.fetch(repo, last).await.unwrap() {
        Fetched::Stored { artifact, subject } => (artifact, subject),
        Fetched::Unchanged => panic!("expected a new artifact"),
    }
}

#[tokio::test]
async fn git_source_stores_skips_unchanged_and_opens_over_https_with_a_secret() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let tls = Tls::generate();
    let server = HttpServer::start(
        &fx.repos(),
        HttpAuth::Basic("git".into(), "pw-1".into()),
        Some(tls.config.clone()),
    );
    let secrets = StaticSecrets::new().with(
        "flux-system",
        "https-auth",
        [
            ("username", b"git".to_vec()),
            ("password", b"pw-1".to_vec()),
            ("ca.crt", tls.ca_pem.clone()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let source = GitSource::new(Store::new(dir.path()).unwrap(), secrets)
        .with_base_url("http://source-controller.flux-system.svc.cluster.local./");
    let repo = repository(
        &server.url("repo.git"),
        serde_json::json!({"branch": "main"}),
        serde_json::json!({"secretRef": {"name": "https-auth"}}),
    );
    let (artifact, subject) = stored(&source, &repo, None).await;
    assert_eq!(subject, "third commit");
    assert_eq!(artifact.revision.to_string(), format!("main@sha1:{}", h.c3));
    assert_eq!(
        artifact.path,
        format!("gitrepository/flux-system/podinfo/{}.tar.gz", h.c3)
    );
    assert_eq!(
        artifact.url,
        format!(
            "http://source-controller.flux-system.svc.cluster.local./{}",
            artifact.path
        )
    );
    assert!(artifact.digest.to_string().starts_with("sha256:"));
    assert_eq!(
        artifact.size,
        Some(
            std::fs::metadata(dir.path().join(&artifact.path))
                .unwrap()
                .len()
        )
    );

    server.clear();
    assert_eq!(
        source.fetch(&repo, Some(&artifact)).await.unwrap(),
        Fetched::Unchanged
    );
    assert!(
        server
            .served()
            .iter()
            .all(|s| s.command.as_deref() != Some("fetch"))
    );

    let fs = source.open(&artifact).await.unwrap();
    assert_eq!(fs.read("deploy/app.yaml").unwrap(), b"version: 3\n");
    assert!(
        fs.kind("logo.png").is_none(),
        "Flux's default exclusions apply"
    );

    // A missing secret is an authentication failure naming it.
    let bad = repository(
        &server.url("repo.git"),
        serde_json::json!({"branch": "main"}),
        serde_json::json!({"secretRef": {"name": "missing"}}),
    );
    let err = source.fetch(&bad, None).await.unwrap_err();
    assert!(err.to_string().contains("flux-system/missing"), "{err}");
}

#[tokio::test]
async fn server_killed_mid_fetch_keeps_the_previous_artifact() {
    let fx = Fixture::new();
    standard_history(&fx);
    let server = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    let dir = tempfile::tempdir().unwrap();
    let source = GitSource::new(Store::new(dir.path()).unwrap(), StaticSecrets::new());
    let repo = repository(
        &server.url("repo.git"),
        serde_json::json!({"branch": "main"}),
        serde_json::json!({}),
    );
    let (first, _) = stored(&source, &repo, None).await;

    let big: String = (0..20_000)
        .map(|i| format!("line {i} {}\n", i * 7919 % 10007))
        .collect();
    let next = fx.commit(&[("deploy/big.txt", Some(&big))], "a bigger commit");
    fx.push(&["main"]);
    server.cut_fetches(true);
    let err = source.fetch(&repo, Some(&first)).await.unwrap_err();
    println!("server killed mid-fetch: {err}");
    assert!(matches!(err, gitops_core::Error::Source { .. }), "{err:?}");
    assert!(err.to_string().contains(&server.url("repo.git")), "{err}");
    // The previous artifact is still stored, verified and readable.
    assert_eq!(
        source.store().list("flux-system", "podinfo").unwrap(),
        vec![first.path.clone()]
    );
    let fs = source.open(&first).await.unwrap();
    assert_eq!(fs.read("deploy/app.yaml").unwrap(), b"version: 3\n");

    // The branch is deleted: an error, and the artifact still stays.
    server.cut_fetches(false);
    fx.push(&[":refs/heads/main"]);
    let err = source.fetch(&repo, Some(&first)).await.unwrap_err();
    assert!(err.to_string().contains("refs/heads/main"), "{err}");
    source.open(&first).await.unwrap();

    // Back again: a new artifact; the store keeps the newest two.
    fx.push(&["main"]);
    let (second, _) = stored(&source, &repo, Some(&first)).await;
    assert_eq!(second.revision.commit().hex(), next);
    assert_eq!(
        source.store().list("flux-system", "podinfo").unwrap(),
        vec![second.path.clone(), first.path.clone()]
    );
}

fn tar_listing(archive: &std::path::Path, into: &std::path::Path) -> BTreeSet<String> {
    require("tar", "tar");
    std::fs::create_dir_all(into).unwrap();
    run(Command::new("tar")
        .arg("xzf")
        .arg(archive)
        .arg("-C")
        .arg(into));
    let mut files = BTreeSet::new();
    let mut stack = vec![into.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.insert(p.strip_prefix(into).unwrap().display().to_string());
            }
        }
    }
    files
}

#[tokio::test]
async fn artifacts_are_deterministic_and_unpack_with_tar_to_the_checkout_minus_ignored_files() {
    let fx = Fixture::new();
    fx.commit(
        &[
            ("deploy/app.yaml", Some("a: 1\n")),
            ("deploy/secret.yaml", Some("s: 1\n")),
            ("deploy/.sourceignore", Some("secret.yaml\n")),
            ("docs/README.md", Some("# docs\n")),
            ("logo.png", Some("png")),
            (".github/workflows/ci.yaml", Some("on: push\n")),
            ("run.sh", Some("#!/bin/sh\n")),
        ],
        "content",
    );
    fx.push(&["main"]);
    let url = format!("file://{}", fx.bare().display());
    let all: BTreeSet<String> = fx
        .git(&["ls-tree", "-r", "--name-only", "HEAD"])
        .lines()
        .map(str::to_string)
        .collect();

    let work = tempfile::tempdir().unwrap();
    let mut digests = Vec::new();
    for (i, ignore) in [None, None, Some("*.md\n")].into_iter().enumerate() {
        let store_dir = work.path().join(format!("store{i}"));
        let source = GitSource::new(Store::new(&store_dir).unwrap(), StaticSecrets::new());
        let extra = match ignore {
            Some(i) => serde_json::json!({"ignore": i}),
            None => serde_json::json!({}),
        };
        let repo = repository(&url, serde_json::json!({"branch": "main"}), extra);
        let (artifact, _) = stored(&source, &repo, None).await;
        digests.push(artifact.digest.clone());
        let unpacked = tar_listing(
            &store_dir.join(&artifact.path),
            &work.path().join(format!("x{i}")),
        );
        // `.sourceignore` exists, so Flux's defaults (images, CI) are dropped in every case.
        let mut expected: BTreeSet<String> = all.clone();
        expected.remove("deploy/secret.yaml");
        if ignore.is_some() {
            expected.remove("docs/README.md");
        }
        assert_eq!(unpacked, expected, "case {i}");
        let mode = std::fs::metadata(work.path().join(format!("x{i}/run.sh"))).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(mode.permissions().mode() & 0o777, 0o700);
    }
    assert_eq!(digests[0], digests[1], "same tree, same digest");
    assert_ne!(
        digests[0], digests[2],
        "different content, different digest"
    );
}

struct Now;
impl Clock for Now {
    fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

#[tokio::test]
async fn the_core_reconciler_runs_on_git_source() {
    let fx = Fixture::new();
    let h = standard_history(&fx);
    let daemon = GitDaemon::start(&fx.repos());
    let dir = tempfile::tempdir().unwrap();
    let source = Arc::new(GitSource::new(
        Store::new(dir.path()).unwrap(),
        StaticSecrets::new(),
    ));
    let mut repo = repository(
        &daemon.url("repo.git"),
        serde_json::json!({"semver": "^1.0"}),
        serde_json::json!({}),
    );
    let reconciler = GitRepositoryReconciler::new(source.as_ref(), &Now);
    let out = reconciler.reconcile(&repo).await;
    let ready = out.status.conditions.get("Ready").unwrap();
    assert_eq!(
        ready.message,
        format!("stored artifact for revision 'v1.1.0@sha1:{}'", h.c2)
    );
    assert_eq!(out.events[0].reason, "NewArtifact");
    assert_eq!(
        out.events[0].message,
        "stored artifact for commit 'second commit'"
    );
    repo.status = out.status;
    let again = reconciler.reconcile(&repo).await;
    assert!(
        again.events.is_empty(),
        "no new artifact: {:?}",
        again.events
    );
    assert!(again.status.conditions.is_true("Ready"));
}
