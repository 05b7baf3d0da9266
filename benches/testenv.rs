#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]
//! testenv benchmark: server-side apply throughput of the test API server through a kube
//! client over the in-process tower service (no socket), and memory per stored object.
//!
//! Run with `cargo bench --bench testenv`. `TESTENV_BENCH_N=5000` changes the number of
//! objects per phase (default 2,000).
//!
//! Throughput: N Deployments are applied (`PATCH ...?fieldManager=bench`,
//! `application/apply-patch+yaml`) three times: create, change (a new image), no-op (the same
//! again). Once one at a time, once with 16 requests in flight on a two-worker runtime. The
//! target (2,000 applies per second) is judged on the one-at-a-time row, the harder one: it
//! is the rate a single reconciler sees.
//! Memory: the process's resident set (VmRSS) before and after storing N objects in a fresh
//! server, divided by N; it is measured first, before other phases leave freed memory behind.
//! Then once more after changing every Deployment: the event log that watches replay keeps
//! every written version (as JSON text) until compaction, so each write holds memory.

use std::time::{Duration, Instant};

use futures::StreamExt;
use gitops::apply::testenv::TestEnv;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

fn deployment(i: usize, image: &str) -> Value {
    let name = format!("web-{i}");
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{
                    "name": "web",
                    "image": image,
                    "ports": [{"containerPort": 80}],
                    "env": [{"name": "MODE", "value": "prod"}],
                }]},
            },
        },
    })
}

fn config_map(i: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": format!("settings-{i}"), "namespace": "default"},
        "data": {"mode": "prod", "replicas": "3"},
    })
}

/// Applies every object, `in_flight` requests at a time; returns the wall-clock time.
async fn apply_all<K>(api: &Api<K>, objects: Vec<(String, Value)>, in_flight: usize) -> Duration
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let params = PatchParams::apply("bench");
    let start = Instant::now();
    futures::stream::iter(objects)
        .map(|(name, object)| {
            let params = &params;
            async move {
                api.patch(&name, params, &Patch::Apply(&object))
                    .await
                    .unwrap_or_else(|e| panic!("apply {name}: {e}"));
            }
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<()>>()
        .await;
    start.elapsed()
}

fn deployments(n: usize, image: &str) -> Vec<(String, Value)> {
    (0..n)
        .map(|i| (format!("web-{i}"), deployment(i, image)))
        .collect()
}

/// The 1, 5 and 15 minute load averages, from /proc/loadavg.
fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// The target of the issue: server-side applies per second on two cores.
const TARGET: f64 = 2_000.0;

/// The resident set size in bytes, from /proc/self/status.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kb * 1024
}

fn main() {
    let n: usize = std::env::var("TESTENV_BENCH_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("load average at start: {}", load());
    runtime.block_on(async {
        // Memory first, in a fresh server.
        let env = TestEnv::new();
        let client = kube::Client::new(env.router(), "default");
        let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
        let maps: Api<ConfigMap> = Api::default_namespaced(client.clone());
        // Warm up the client and server paths outside the measurement.
        apply_all(&deploys, deployments(50, "nginx:1.27"), 1).await;
        let before = rss();
        apply_all(&deploys, deployments(n, "nginx:1.27"), 1).await;
        let after_deployments = rss();
        let objects = (0..n)
            .map(|i| (format!("settings-{i}"), config_map(i)))
            .collect();
        apply_all(&maps, objects, 1).await;
        let after_maps = rss();
        let stored = serde_json::to_vec(&deploys.get("web-0").await.unwrap())
            .unwrap()
            .len();
        let stored_map = serde_json::to_vec(&maps.get("settings-0").await.unwrap())
            .unwrap()
            .len();
        println!(
            "memory: {n} Deployments +{:.1} MiB RSS = {:.1} KiB per object (one is {stored} bytes of JSON with managedFields)",
            (after_deployments - before) as f64 / 1048576.0,
            (after_deployments - before) as f64 / 1024.0 / n as f64,
        );
        println!(
            "memory: {n} ConfigMaps +{:.1} MiB RSS = {:.1} KiB per object (one is {stored_map} bytes of JSON with managedFields)",
            (after_maps - after_deployments) as f64 / 1048576.0,
            (after_maps - after_deployments) as f64 / 1024.0 / n as f64,
        );
        let before_change = rss();
        apply_all(&deploys, deployments(n, "nginx:1.28"), 1).await;
        let after_change = rss();
        println!(
            "memory: changing the {n} Deployments +{:.1} MiB RSS = {:.1} KiB per write (the event log keeps each version's JSON text)",
            (after_change - before_change) as f64 / 1048576.0,
            (after_change - before_change) as f64 / 1024.0 / n as f64,
        );
        drop(env);

        let mut rows = Vec::new();
        for in_flight in [1, 16] {
            let env = TestEnv::new();
            let client = kube::Client::new(env.router(), "default");
            let api: Api<Deployment> = Api::default_namespaced(client);
            let mut times = Vec::new();
            let mut versions = Vec::new();
            for image in ["nginx:1.27", "nginx:1.28", "nginx:1.28"] {
                times.push(apply_all(&api, deployments(n, image), in_flight).await);
                versions.push(api.get("web-0").await.unwrap().metadata.resource_version);
            }
            // The change wrote, the no-op did not.
            assert_ne!(versions[0], versions[1]);
            assert_eq!(versions[1], versions[2]);
            rows.push((in_flight, times, env.request_count("patch", "deployments.apps")));
        }
        println!();
        println!("| requests in flight | create | change | no-op |");
        println!("|-------------------:|-------:|-------:|------:|");
        let rate = |d: &Duration| n as f64 / d.as_secs_f64();
        for (in_flight, times, patches) in &rows {
            assert_eq!(*patches, 3 * n as u64);
            println!(
                "| {in_flight} | {:.0}/s | {:.0}/s | {:.0}/s |",
                rate(&times[0]),
                rate(&times[1]),
                rate(&times[2])
            );
        }
        println!("({n} Deployments per phase, kube client over the in-process tower service, 2 worker threads)");
        let sequential = &rows[0].1;
        let verdict: Vec<String> = ["create", "change", "no-op"]
            .iter()
            .zip(sequential)
            .map(|(phase, d)| {
                let met = if rate(d) >= TARGET { "met" } else { "NOT met" };
                format!("{phase} {met}")
            })
            .collect();
        println!(
            "target {TARGET:.0} applies/s, judged one request at a time: {}",
            verdict.join(", ")
        );
    });
    println!("load average at end: {}", load());
}
