#![cfg(feature = "testenv")]
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Server-side apply throughput of the test API server, in-process. Ignored by default; run
//! with `cargo test --release -p gitops-apply --features testenv --test throughput -- --ignored --nocapture`.

use std::time::Instant;

use gitops_apply::testenv::TestEnv;
use http_body_util::BodyExt;
use tower::ServiceExt;

fn deployment(i: usize, image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\n  namespace: default\n  labels:\n    app: web-{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web-{i}\n  template:\n    metadata:\n      labels:\n        app: web-{i}\n    spec:\n      containers:\n      - name: web\n        image: {image}\n        ports:\n        - containerPort: 80\n        env:\n        - name: MODE\n          value: prod\n"
    )
}

#[tokio::test]
#[ignore = "benchmark"]
async fn server_side_apply_throughput() {
    let env = TestEnv::new();
    let router = env.router();
    let n = 2000;
    let mut elapsed = Vec::new();
    for image in ["nginx:1.27", "nginx:1.28", "nginx:1.28"] {
        let start = Instant::now();
        for i in 0..n {
            let request = http::Request::builder()
                .method("PATCH")
                .uri(format!(
                    "/apis/apps/v1/namespaces/default/deployments/web-{i}?fieldManager=bench"
                ))
                .header("Content-Type", "application/apply-patch+yaml")
                .body(axum::body::Body::from(deployment(i, image)))
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            assert!(response.status().is_success());
            response.into_body().collect().await.unwrap();
        }
        elapsed.push(start.elapsed());
    }
    for (what, took) in ["create", "change", "no-op"].iter().zip(&elapsed) {
        println!(
            "{what}: {n} applies in {took:?}: {:.0} applies/s",
            n as f64 / took.as_secs_f64()
        );
    }
    // The stored size of one object, the bulk of the server's memory per object.
    let request = http::Request::builder()
        .uri("/apis/apps/v1/namespaces/default/deployments/web-0")
        .body(axum::body::Body::empty())
        .unwrap();
    let body = router
        .oneshot(request)
        .await
        .unwrap()
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    println!("one stored Deployment: {} bytes of JSON", body.len());
}
