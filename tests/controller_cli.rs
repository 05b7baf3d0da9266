#![allow(clippy::expect_used, clippy::unwrap_used)]
//! `gitops controller source` as a process, against testenv through a kubeconfig and a real
//! Git server on 127.0.0.1: it stores the artifact, advertises it at `--storage-addr`,
//! serves it there, and exits 0 on SIGTERM. `gitops controller kustomize` applies what it
//! stores. `gitops controller all` runs both in one process, with its metrics, probes and
//! Leases.

#[path = "../gitops-git/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Fixture, HttpAuth, HttpServer, free_port};
use gitops::controllers::api::GitRepository;
use gitops_apply::testenv::{TestEnv, install_crypto_provider};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use serde_json::json;

/// Kills the controller when the test ends, passed or failed.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitops_controller_source_stores_and_serves_artifacts() {
    install_crypto_provider();
    let env = TestEnv::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.kubeconfig()).unwrap();
    let client = env.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(
        &PostParams::default(),
        &gitops::controllers::api::crd::git_repository().unwrap(),
    )
    .await
    .unwrap();

    let fx = Fixture::new();
    let commit = fx.commit(&[("app.yaml", Some("kind: ConfigMap\n"))], "app");
    fx.push(&["main"]);
    let git = HttpServer::start(&fx.repos(), HttpAuth::None, None);

    let port = free_port();
    let storage = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["controller", "source", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--storage-path")
        .arg(&storage)
        .arg(format!("--storage-addr=127.0.0.1:{port}"))
        // Flux's :8080 and :9440 would collide between tests running at once.
        .args(["--metrics-addr=0", "--health-addr=0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run gitops controller source");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // Logs go to stderr, one JSON object per line (Flux's default encoding).
    let mut stderr = child.stderr.take().unwrap();
    let logs = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).map(|_| text)
    });
    let process = Process(child);
    assert_eq!(
        lines.next().unwrap().unwrap(),
        format!("serving artifacts on 127.0.0.1:{port}")
    );
    assert_eq!(
        lines.next().unwrap().unwrap(),
        format!("advertising artifacts at http://127.0.0.1:{port}")
    );

    let api: Api<GitRepository> = Api::namespaced(client.clone(), "default");
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {"url": git.url("repo.git"), "interval": "1m", "ref": {"branch": "main"}},
    }))
    .unwrap();
    api.create(&PostParams::default(), &repo).await.unwrap();
    let message = format!("stored artifact for revision 'main@sha1:{commit}'");
    let deadline = Instant::now() + Duration::from_secs(60);
    let repo = loop {
        let repo = serde_json::to_value(api.get("app").await.unwrap()).unwrap();
        let ready = repo["status"]["conditions"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned());
        if ready.is_some_and(|c| c["status"] == "True" && c["message"] == message) {
            break repo;
        }
        assert!(Instant::now() < deadline, "not ready: {:#}", repo["status"]);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let artifact = &repo["status"]["artifact"];
    let url = artifact["url"].as_str().unwrap();
    assert_eq!(
        url,
        format!("http://127.0.0.1:{port}/gitrepository/default/app/{commit}.tar.gz")
    );
    let digest = artifact["digest"].as_str().unwrap().parse().unwrap();
    gitops_git::download::download(url, &digest, &Default::default())
        .await
        .expect("the artifact downloads from the controller process");
    assert!(
        storage
            .join(format!("gitrepository/default/app/{commit}.tar.gz"))
            .is_file()
    );
    // Woken by its watch, as in a cluster.
    assert!(env.request_count("watch", "gitrepositories.source.toolkit.fluxcd.io") >= 1);

    // SIGTERM: a clean exit.
    let mut process = process;
    let pid = process.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the controller did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    let logs = logs.join().unwrap().unwrap();
    let records: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    assert!(
        records
            .iter()
            .any(|r| r["level"] == "INFO" && r["message"] == "serving artifacts"),
        "{logs}"
    );
}

/// Reads the Ready condition of a Flux object as (status, message).
fn ready_of(object: &serde_json::Value) -> Option<(String, String)> {
    object["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

/// Both controllers as processes, against testenv and a Git server on 127.0.0.1: a commit is
/// applied with `Applied revision: main@sha1:<commit>`; a second commit, fetched on a
/// requested reconcile of the GitRepository only, reaches the Kustomization through its
/// GitRepository watch (its interval is an hour) and prunes the object it removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitops_controller_kustomize_deploys_what_the_source_controller_stores() {
    install_crypto_provider();
    let env = TestEnv::start().await.unwrap();
    env.enable_controllers();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.kubeconfig()).unwrap();
    let client = env.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in gitops::controllers::api::crd::crds().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let cm = |name: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n"
        )
    };
    let fx = Fixture::new();
    let first = fx.commit(
        &[
            ("deploy/a.yaml", Some(&cm("a"))),
            ("deploy/b.yaml", Some(&cm("b"))),
            (
                "deploy/kustomization.yaml",
                Some("resources:\n- a.yaml\n- b.yaml\n"),
            ),
        ],
        "two config maps",
    );
    fx.push(&["main"]);
    let git = HttpServer::start(&fx.repos(), HttpAuth::None, None);

    let port = free_port();
    let source = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["controller", "source", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--storage-path")
        .arg(dir.path().join("data"))
        .arg(format!("--storage-addr=127.0.0.1:{port}"))
        .args(["--metrics-addr=0", "--health-addr=0"])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run gitops controller source");
    let _source = Process(source);
    let mut kustomize = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["controller", "kustomize", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--requeue-dependency=1s")
        .args(["--metrics-addr=0", "--health-addr=0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run gitops controller kustomize");
    let mut lines = BufReader::new(kustomize.stdout.take().unwrap()).lines();
    let _kustomize = Process(kustomize);
    assert_eq!(
        lines.next().unwrap().unwrap(),
        "reconciling Kustomizations in all namespaces"
    );

    let repos: Api<GitRepository> = Api::namespaced(client.clone(), "default");
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {"url": git.url("repo.git"), "interval": "1h", "ref": {"branch": "main"}},
    }))
    .unwrap();
    repos.create(&PostParams::default(), &repo).await.unwrap();
    let kustomizations: Api<gitops::controllers::api::Kustomization> =
        Api::namespaced(client.clone(), "default");
    let ks = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {"interval": "1h", "path": "./deploy", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "app"}},
    }))
    .unwrap();
    kustomizations
        .create(&PostParams::default(), &ks)
        .await
        .unwrap();
    let cms: Api<k8s_openapi::api::core::v1::ConfigMap> =
        Api::namespaced(client.clone(), "default");
    let names = || async {
        let mut names: Vec<String> = cms
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .filter_map(|c| c.metadata.name)
            .filter(|n| n == "a" || n == "b")
            .collect();
        names.sort();
        names
    };
    let applied = |commit: String| {
        let kustomizations = kustomizations.clone();
        async move {
            let expected = format!("Applied revision: main@sha1:{commit}");
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let ks = serde_json::to_value(kustomizations.get("app").await.unwrap()).unwrap();
                if ready_of(&ks).is_some_and(|(s, m)| s == "True" && m == expected) {
                    return ks;
                }
                assert!(Instant::now() < deadline, "not applied: {:#}", ks["status"]);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    let ks = applied(first.clone()).await;
    assert_eq!(names().await, ["a", "b"]);
    assert_eq!(
        ks["status"]["lastAppliedRevision"],
        format!("main@sha1:{first}")
    );

    let second = fx.commit(
        &[
            ("deploy/b.yaml", None),
            ("deploy/kustomization.yaml", Some("resources:\n- a.yaml\n")),
        ],
        "drop b",
    );
    fx.push(&["main"]);
    repos
        .patch(
            "app",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"annotations": {
                "reconcile.fluxcd.io/requestedAt": "2026-01-01T00:00:00Z"}}})),
        )
        .await
        .unwrap();
    applied(second).await;
    assert_eq!(names().await, ["a"], "b is pruned");
}

#[test]
fn gitops_controller_all_help_lists_both_controllers_flags_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["controller", "all", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--kubeconfig",
        "--storage-path",
        "--storage-addr",
        "--artifact-retention-ttl",
        "--requeue-dependency",
        "--no-cross-namespace-refs",
        "--concurrent",
        "--interval-jitter-percentage",
        "--watch-all-namespaces",
        "--watch-label-selector",
        "--metrics-addr",
        "--health-addr",
        "--enable-leader-election",
        "--leader-election-namespace",
    ] {
        let lines = help
            .lines()
            .filter(|l| l.trim_start().split([' ', '=']).next() == Some(flag))
            .count();
        assert_eq!(lines, 1, "{flag} once in\n{help}");
    }
    for sub in ["source", "kustomize"] {
        let out = Command::new(env!("CARGO_BIN_EXE_gitops"))
            .args(["controller", sub, "--help"])
            .output()
            .unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        for flag in [
            "--metrics-addr",
            "--health-addr",
            "--enable-leader-election",
        ] {
            assert!(help.contains(flag), "{sub}: {flag} in\n{help}");
        }
    }
}

/// A blocking `GET` of `path`: the status code and the body.
fn get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (
        head.split(' ').nth(1).unwrap().parse().unwrap(),
        body.to_string(),
    )
}

/// `gitops controller all` against testenv: one metrics and one health endpoint, both
/// controllers leading with their own Lease, ready once their watches synced, and both Leases
/// released on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitops_controller_all_runs_both_controllers_under_their_leases() {
    install_crypto_provider();
    let env = TestEnv::start().await.unwrap();
    env.enable_controllers();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.kubeconfig()).unwrap();
    let client = env.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in gitops::controllers::api::crd::crds().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }

    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["controller", "all", "--kubeconfig"])
        .arg(&kubeconfig)
        .arg("--storage-path")
        .arg(dir.path().join("data"))
        .args([
            "--storage-addr=127.0.0.1:0",
            "--metrics-addr=127.0.0.1:0",
            "--health-addr=127.0.0.1:0",
            "--enable-leader-election",
            "--leader-election-namespace=default",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run gitops controller all");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut process = Process(child);
    let mut next = || lines.next().unwrap().unwrap();
    let metrics = next();
    let metrics = metrics
        .strip_prefix("serving metrics on ")
        .expect(&metrics)
        .to_string();
    let probes = next();
    let probes = probes
        .strip_prefix("serving health probes on ")
        .expect(&probes)
        .to_string();
    // Both controllers lead, each with its Lease, then start.
    let mut started: Vec<String> = (0..5).map(|_| next()).collect();
    started.sort();
    assert!(
        started[0].starts_with("advertising artifacts at http://127.0.0.1:"),
        "{started:?}"
    );
    assert_eq!(
        started[1],
        "kustomize-controller leads with the Lease default/kustomize-controller-leader-election"
    );
    assert_eq!(started[2], "reconciling Kustomizations in all namespaces");
    assert!(
        started[3].starts_with("serving artifacts on 127.0.0.1:"),
        "{started:?}"
    );
    assert_eq!(
        started[4],
        "source-controller leads with the Lease default/source-controller-leader-election"
    );

    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "default");
    let holder = |name: &'static str| {
        let leases = leases.clone();
        async move {
            leases
                .get(name)
                .await
                .unwrap()
                .spec
                .unwrap()
                .holder_identity
                .unwrap_or_default()
        }
    };
    let source_holder = holder("source-controller-leader-election").await;
    let kustomize_holder = holder("kustomize-controller-leader-election").await;
    assert!(
        !source_holder.is_empty() && source_holder.contains('_'),
        "{source_holder}"
    );
    assert_ne!(
        source_holder, kustomize_holder,
        "each controller is its own candidate"
    );

    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&probes, "/readyz") != (200, "ok".into()) {
        assert!(
            Instant::now() < deadline,
            "never ready: {:?}",
            get(&probes, "/readyz")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(get(&probes, "/healthz"), (200, "ok".into()));
    let (status, text) = get(&metrics, "/metrics");
    assert_eq!(status, 200);
    for series in [
        r#"controller_runtime_max_concurrent_reconciles{controller="gitrepository"} 2"#,
        r#"controller_runtime_max_concurrent_reconciles{controller="kustomization"} 4"#,
    ] {
        assert!(text.contains(series), "{series} in\n{text}");
    }
    // Both controllers watch GitRepositories, each through its own client.
    assert!(env.request_count("watch", "gitrepositories.source.toolkit.fluxcd.io") >= 2);

    let pid = process.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert_eq!(
        holder("source-controller-leader-election").await,
        "",
        "released"
    );
    assert_eq!(
        holder("kustomize-controller-leader-election").await,
        "",
        "released"
    );
}

/// Starts `gitops controller all` with leader election against `kubeconfig`; returns the
/// process, its metrics and probe addresses, and its further stdout lines.
fn replica(
    kubeconfig: &std::path::Path,
    data: &std::path::Path,
) -> (Process, String, std::sync::mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["controller", "all", "--kubeconfig"])
        .arg(kubeconfig)
        .arg("--storage-path")
        .arg(data)
        .args([
            "--storage-addr=127.0.0.1:0",
            "--metrics-addr=0",
            "--health-addr=127.0.0.1:0",
            "--enable-leader-election",
            "--leader-election-namespace=default",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run gitops controller all");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let probes = lines.next().unwrap().unwrap();
    let probes = probes
        .strip_prefix("serving health probes on ")
        .expect(&probes)
        .to_string();
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    (Process(child), probes, receive)
}

fn stop(mut process: Process) {
    let pid = process.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
}

/// Two replicas of `gitops controller all` with leader election: the second stands by (ready,
/// no controllers, no artifact server) while the first leads both Leases; when the first
/// stops it releases them and the second takes both over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_replica_takes_over_when_the_leader_stops() {
    install_crypto_provider();
    let env = TestEnv::start().await.unwrap();
    env.enable_controllers();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.kubeconfig()).unwrap();
    let client = env.client().unwrap();
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in gitops::controllers::api::crd::crds().unwrap() {
        crds.create(&PostParams::default(), &crd).await.unwrap();
    }
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "default");
    let spec = |name: &'static str| {
        let leases = leases.clone();
        async move { leases.get(name).await.unwrap().spec.unwrap() }
    };
    let names = [
        "source-controller-leader-election",
        "kustomize-controller-leader-election",
    ];
    let started = |lines: &std::sync::mpsc::Receiver<String>| {
        let mut got: Vec<String> = (0..5)
            .map(|_| lines.recv_timeout(Duration::from_secs(60)).unwrap())
            .collect();
        got.sort();
        got
    };

    let (first, _, first_lines) = replica(&kubeconfig, &dir.path().join("first"));
    let led = started(&first_lines);
    assert!(led[1].starts_with("kustomize-controller leads"), "{led:?}");
    assert!(led[4].starts_with("source-controller leads"), "{led:?}");
    let first_holders = [
        spec(names[0]).await.holder_identity.unwrap(),
        spec(names[1]).await.holder_identity.unwrap(),
    ];

    let gets = env.request_count("get", "leases.coordination.k8s.io");
    let (second, probes, second_lines) = replica(&kubeconfig, &dir.path().join("second"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while get(&probes, "/readyz") != (200, "ok".into()) {
        assert!(
            Instant::now() < deadline,
            "a standby is ready: {:?}",
            get(&probes, "/readyz")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // The second replica tried both Leases (and the first renewed them) ...
    while env.request_count("get", "leases.coordination.k8s.io") < gets + 4 {
        assert!(Instant::now() < deadline, "no attempt on the Leases");
        std::thread::sleep(Duration::from_millis(50));
    }
    // ... and started nothing: the Leases are the first's.
    assert!(
        second_lines.try_recv().is_err(),
        "a standby starts no controller"
    );
    for (name, holder) in names.iter().zip(&first_holders) {
        assert_eq!(spec(name).await.holder_identity.as_ref(), Some(holder));
    }

    stop(first);
    let took_over = started(&second_lines);
    assert!(
        took_over[1].starts_with("kustomize-controller leads"),
        "{took_over:?}"
    );
    assert!(
        took_over[3].starts_with("serving artifacts on 127.0.0.1:"),
        "{took_over:?}"
    );
    assert!(
        took_over[4].starts_with("source-controller leads"),
        "{took_over:?}"
    );
    for (name, holder) in names.iter().zip(&first_holders) {
        let spec = spec(name).await;
        let now = spec.holder_identity.unwrap_or_default();
        assert!(!now.is_empty() && now != *holder, "{name}: {now}");
        assert_eq!(spec.lease_transitions, Some(1), "{name}");
    }
    stop(second);
}
