#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The controllers' operational surface against testenv, with real HTTP and real Leases:
//!
//! - `metrics_and_readiness_of_a_running_controller`: `/readyz` answers 500 before the
//!   kustomize controller starts and 200 once its watches listed; after a reconcile,
//!   `/metrics` scraped over HTTP has `gotk_reconcile_duration_seconds_bucket` for the
//!   Kustomization and controller-runtime's counters.
//! - `two_candidates_elect_exactly_one_leader`, `the_leader_releases_on_shutdown_and_the_other_acquires`,
//!   `a_stale_lease_is_taken_over_and_a_live_one_is_not`,
//!   `two_candidates_taking_over_a_stale_lease_transition_it_once`,
//!   `a_leader_whose_lease_is_taken_loses`, `a_leader_that_cannot_renew_within_the_deadline_loses`,
//!   `a_sharded_controller_holds_the_lease_suffixed_with_its_selector_hash`.

use std::time::{Duration, Instant};

use gitops_apply::testenv::{Fault, TestEnv, install_crypto_provider};
use gitops_controllers::api::{Kustomization, crd};
use gitops_controllers::endpoint::Endpoint;
use gitops_controllers::health::Health;
use gitops_controllers::kustomize::{ControllerOptions, controller};
use gitops_controllers::leader::{Elector, LeaseConfig};
use gitops_controllers::metrics::Metrics;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_util::sync::CancellationToken;

async fn testenv() -> (TestEnv, kube::Client) {
    install_crypto_provider();
    let env = TestEnv::start().await.expect("start testenv");
    env.enable_controllers();
    let client = env.client().unwrap();
    (env, client)
}

/// `GET path` over plain HTTP/1.1: the status code and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_readiness_of_a_running_controller() {
    let (_env, client) = testenv().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for c in crd::crds().unwrap() {
        crds.create(&PostParams::default(), &c).await.unwrap();
    }
    let metrics = Metrics::new();
    let health = Health::new();
    let localhost = "127.0.0.1:0".parse().unwrap();
    let scrape = Endpoint::start("metrics", "metrics-addr", localhost, metrics.router())
        .await
        .unwrap();
    let probes = Endpoint::start("health probes", "health-addr", localhost, health.router())
        .await
        .unwrap();
    assert_eq!(get(probes.addr(), "/healthz").await, (200, "ok".into()));
    let (status, body) = get(probes.addr(), "/readyz").await;
    assert_eq!(
        status, 500,
        "not ready before the controller starts: {body}"
    );

    // A Kustomization whose GitRepository does not exist: reconciled (not ready) and requeued.
    let kustomizations: Api<Kustomization> = Api::namespaced(client.clone(), "default");
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "apps", "namespace": "default"},
        "spec": {"interval": "1h", "path": "./", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": "missing"}},
    }))
    .unwrap();
    kustomizations
        .create(&PostParams::default(), &ks)
        .await
        .unwrap();
    let options = ControllerOptions {
        namespace: Some("default".into()),
        metrics: metrics.clone(),
        health: health.clone(),
        ..Default::default()
    };
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let task = tokio::spawn(controller::run(client.clone(), options, async move {
        stopped.cancelled().await;
    }));

    eventually("/readyz never answered 200", || async {
        get(probes.addr(), "/readyz").await == (200, "ok".into())
    })
    .await;
    let key = r#"kind="Kustomization",name="apps",namespace="default""#;
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let (status, text) = get(scrape.addr(), "/metrics").await;
        assert_eq!(status, 200);
        let recorded = text.lines().any(|l| {
            l.starts_with("gotk_reconcile_duration_seconds_count{")
                && l.contains(key)
                && !l.ends_with(" 0")
        });
        if recorded {
            break text;
        }
        assert!(Instant::now() < deadline, "no reconcile recorded:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let buckets: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("gotk_reconcile_duration_seconds_bucket{") && l.contains(key))
        .collect();
    assert_eq!(buckets.len(), 11, "10 buckets and +Inf:\n{text}");
    assert!(buckets[0].contains(r#"le="0.01""#), "{text}");
    assert!(
        text.contains(
            r#"controller_runtime_max_concurrent_reconciles{controller="kustomization"} 4"#
        ),
        "{text}"
    );
    let adds = text
        .lines()
        .find(|l| l.starts_with(r#"workqueue_adds_total{name="kustomization"}"#))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        adds >= 1,
        "the watch handed the Kustomization over:\n{text}"
    );
    assert!(!text.contains("_total_total"), "{text}");

    stop.cancel();
    task.await.unwrap();
    scrape.shutdown().await;
    probes.shutdown().await;
}

/// Flux's election with a fast retry period, so that the tests do not wait 5s per attempt.
fn election(name: &str) -> LeaseConfig {
    LeaseConfig {
        name: name.into(),
        retry_period: Duration::from_millis(100),
        ..LeaseConfig::new("source-controller", None, "default")
    }
}

async fn lease(client: &kube::Client, name: &str) -> LeaseSpec {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    leases.get(name).await.unwrap().spec.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_candidates_elect_exactly_one_leader() {
    let (_env, client) = testenv().await;
    let a = Elector::new(client.clone(), election("contended"));
    let b = Elector::new(client.clone(), election("contended"));
    for round in 0..5 {
        let (won_a, won_b) = tokio::join!(a.try_acquire_or_renew(), b.try_acquire_or_renew());
        let (won_a, won_b) = (won_a.unwrap(), won_b.unwrap());
        assert!(won_a ^ won_b, "round {round}: a {won_a}, b {won_b}");
        let holder = lease(&client, "contended").await.holder_identity.unwrap();
        let winner = if won_a { a.config() } else { b.config() };
        assert_eq!(holder, winner.identity, "round {round}");
    }
    let spec = lease(&client, "contended").await;
    assert_eq!(spec.lease_duration_seconds, Some(35));
    assert_eq!(spec.lease_transitions, Some(0), "the leader only renewed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_releases_on_shutdown_and_the_other_acquires() {
    let (_env, client) = testenv().await;
    let a = Elector::new(client.clone(), election("handover"));
    let b = Elector::new(client.clone(), election("handover"));
    let never = CancellationToken::new();
    let leading = a.acquire(&never).await.expect("a leads");
    let standby = {
        let b = b.clone();
        tokio::spawn(async move {
            let never = CancellationToken::new();
            b.acquire(&never).await
        })
    };
    // b keeps trying while a renews.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!standby.is_finished(), "b must not lead while a renews");
    assert_eq!(
        lease(&client, "handover").await.holder_identity.as_deref(),
        Some(a.config().identity.as_str())
    );

    leading.release().await;
    let released = lease(&client, "handover").await;
    // b may have taken it already; if not, it is released as client-go releases.
    if released.holder_identity.as_deref() == Some("") {
        assert_eq!(released.lease_duration_seconds, Some(1));
    }
    let b_leads = tokio::time::timeout(Duration::from_secs(30), standby)
        .await
        .expect("b acquires after the release")
        .unwrap()
        .expect("b leads");
    let spec = lease(&client, "handover").await;
    assert_eq!(
        spec.holder_identity.as_deref(),
        Some(b.config().identity.as_str())
    );
    assert_eq!(spec.lease_transitions, Some(1));
    assert!(!b_leads.is_lost());
    b_leads.release().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_lease_is_taken_over_and_a_live_one_is_not() {
    let (_env, client) = testenv().await;
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let hour_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    for (name, renewed) in [("stale", hour_ago), ("live", jiff::Timestamp::now())] {
        let lease = Lease {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("default".into()),
                ..Default::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some("gone-replica_1".into()),
                lease_duration_seconds: Some(35),
                lease_transitions: Some(3),
                acquire_time: Some(MicroTime(hour_ago)),
                renew_time: Some(MicroTime(renewed)),
                ..Default::default()
            }),
        };
        leases.create(&PostParams::default(), &lease).await.unwrap();
    }

    let stale = Elector::new(client.clone(), election("stale"));
    assert!(stale.try_acquire_or_renew().await.unwrap());
    let spec = lease(&client, "stale").await;
    assert_eq!(
        spec.holder_identity.as_deref(),
        Some(stale.config().identity.as_str())
    );
    assert_eq!(spec.lease_transitions, Some(4));
    assert!(spec.acquire_time.unwrap().0 > hour_ago, "a new acquireTime");

    let live = Elector::new(client.clone(), election("live"));
    assert!(!live.try_acquire_or_renew().await.unwrap());
    let spec = lease(&client, "live").await;
    assert_eq!(spec.holder_identity.as_deref(), Some("gone-replica_1"));
    assert_eq!(spec.lease_transitions, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_lease_is_taken_loses() {
    let (_env, client) = testenv().await;
    let a = Elector::new(client.clone(), election("taken"));
    let never = CancellationToken::new();
    let leading = a.acquire(&never).await.expect("a leads");
    // Another writer takes the Lease (as a replica would that saw it expire).
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    leases
        .patch(
            "taken",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"holderIdentity": "usurper_1"}})),
        )
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(30), leading.lost())
        .await
        .expect("a notices it no longer leads");
    assert!(leading.is_lost());
    // A lost leader does not release what is not its own.
    leading.release().await;
    assert_eq!(
        lease(&client, "taken").await.holder_identity.as_deref(),
        Some("usurper_1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sharded_controller_holds_the_lease_suffixed_with_its_selector_hash() {
    let (_env, client) = testenv().await;
    let config = LeaseConfig {
        retry_period: Duration::from_millis(100),
        ..LeaseConfig::new(
            "kustomize-controller",
            Some("sharding.fluxcd.io/key=shard1"),
            "default",
        )
    };
    let elector = Elector::new(client.clone(), config);
    let never = CancellationToken::new();
    let leading = elector.acquire(&never).await.expect("leads");
    // `printf %s 'sharding.fluxcd.io/key=shard1' | sha256sum`: 73fdc1be...
    let name = "kustomize-controller-leader-election-73fdc1be";
    assert_eq!(
        lease(&client, name).await.holder_identity.as_deref(),
        Some(elector.config().identity.as_str())
    );
    leading.release().await;
    assert_eq!(
        lease(&client, name).await.holder_identity.as_deref(),
        Some("")
    );
}

/// A Lease last renewed an hour ago by a replica that is gone.
async fn stale_lease(client: &kube::Client, name: &str) -> jiff::Timestamp {
    let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
    let hour_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    let lease = Lease {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some("default".into()),
            ..Default::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some("gone-replica_1".into()),
            lease_duration_seconds: Some(35),
            lease_transitions: Some(7),
            acquire_time: Some(MicroTime(hour_ago)),
            renew_time: Some(MicroTime(hour_ago)),
            ..Default::default()
        }),
    };
    leases.create(&PostParams::default(), &lease).await.unwrap();
    hour_ago
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_candidates_taking_over_a_stale_lease_transition_it_once() {
    let (_env, client) = testenv().await;
    for round in 0..5 {
        let name = format!("stale-{round}");
        stale_lease(&client, &name).await;
        let a = Elector::new(client.clone(), election(&name));
        let b = Elector::new(client.clone(), election(&name));
        // Both read the stale Lease; the resourceVersion lets only one write win.
        let (won_a, won_b) = tokio::join!(a.try_acquire_or_renew(), b.try_acquire_or_renew());
        let (won_a, won_b) = (won_a.unwrap(), won_b.unwrap());
        assert!(won_a ^ won_b, "round {round}: a {won_a}, b {won_b}");
        let spec = lease(&client, &name).await;
        let winner = if won_a { a.config() } else { b.config() };
        assert_eq!(
            spec.holder_identity.as_deref(),
            Some(winner.identity.as_str())
        );
        assert_eq!(spec.lease_transitions, Some(8), "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_cannot_renew_within_the_deadline_loses() {
    let (env, client) = testenv().await;
    let config = LeaseConfig {
        renew_deadline: Duration::from_millis(500),
        ..election("unreachable")
    };
    let a = Elector::new(client.clone(), config);
    let never = CancellationToken::new();
    let leading = a.acquire(&never).await.expect("a leads");
    // Every renewal fails from now on, as when the API server is unreachable.
    env.inject(Fault::error(
        Some("update"),
        Some("leases.coordination.k8s.io"),
        500,
    ));
    tokio::time::timeout(Duration::from_secs(30), leading.lost())
        .await
        .expect("a stops leading after the renew deadline");
    assert!(leading.is_lost());
    assert!(env.request_count("update", "leases.coordination.k8s.io") >= 1);
    env.clear_faults();
    // It stopped renewing: the Lease still names it until it expires for the others.
    assert_eq!(
        lease(&client, "unreachable")
            .await
            .holder_identity
            .as_deref(),
        Some(a.config().identity.as_str())
    );
}
