#![cfg(feature = "testenv")]
#![allow(clippy::expect_used, clippy::unwrap_used)]
//! kubectl works against the test API server: apply --server-side, get -o yaml, diff, delete.
//! Fails, naming the tool, when no `kubectl` is installed: the test never skips.

use std::io::Write;
use std::process::{Command, Stdio};

use gitops_apply::testenv::TestEnv;

fn kubectl(
    kubeconfig: &std::path::Path,
    args: &[&str],
    stdin: Option<&str>,
) -> (bool, String, String) {
    let mut child = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  a: \"1\"\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_get_diff_delete() {
    assert!(
        Command::new("kubectl")
            .arg("version")
            .arg("--client")
            .output()
            .is_ok_and(|o| o.status.success()),
        "this test needs kubectl on the PATH (kubectl v1.32 or later); install it to run the tests"
    );
    let env = TestEnv::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, env.kubeconfig()).unwrap();
    let result = tokio::task::spawn_blocking(move || {
        let k = |args: &[&str], stdin: Option<&str>| kubectl(&kubeconfig, args, stdin);
        let (ok, out, err) = k(
            &[
                "apply",
                "--server-side",
                "--field-manager",
                "gitops",
                "-f",
                "-",
            ],
            Some(MANIFEST),
        );
        assert!(ok, "apply: {out}{err}");
        assert!(
            out.contains("configmap/settings serverside-applied"),
            "{out}"
        );
        let (ok, out, err) = k(
            &[
                "get",
                "configmap",
                "settings",
                "-o",
                "yaml",
                "--show-managed-fields",
            ],
            None,
        );
        assert!(ok, "get: {out}{err}");
        assert!(out.contains("manager: gitops"), "{out}");
        let (ok, out, err) = k(&["get", "configmaps"], None);
        assert!(ok, "get table: {out}{err}");
        assert!(out.contains("settings"), "{out}");
        let changed = MANIFEST.replace("\"1\"", "\"2\"");
        let (_, out, err) = k(
            &[
                "diff",
                "--server-side",
                "--field-manager",
                "gitops",
                "-f",
                "-",
            ],
            Some(&changed),
        );
        assert!(out.contains("+  a: \"2\""), "diff: {out}{err}");
        // get --watch prints the rows of changes as they happen.
        let cache = kubeconfig.with_file_name("cache");
        let mut watch = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args(["get", "configmaps", "--watch", "--output-watch-events"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let (ok, out, err) = k(
            &[
                "apply",
                "--server-side",
                "--field-manager",
                "gitops",
                "-f",
                "-",
            ],
            Some(&changed),
        );
        assert!(ok, "apply: {out}{err}");
        std::thread::sleep(std::time::Duration::from_millis(1000));
        watch.kill().ok();
        let watched = watch.wait_with_output().unwrap();
        let watched = String::from_utf8_lossy(&watched.stdout);
        assert!(watched.contains("MODIFIED"), "watch output: {watched}");
        // Deployments: the scale subresource and the columns of `get`.
        let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n";
        let (ok, out, err) = k(&["apply", "--server-side", "-f", "-"], Some(deployment));
        assert!(ok, "apply deployment: {out}{err}");
        let (ok, out, err) = k(&["scale", "deployment", "web", "--replicas=3"], None);
        assert!(ok, "scale: {out}{err}");
        let (ok, out, err) = k(&["get", "deployments"], None);
        assert!(ok, "get deployments: {out}{err}");
        assert!(out.contains("READY") && out.contains("0/3"), "{out}");
        // Client-side apply: create, then a strategic merge patch computed from the
        // last-applied annotation.
        let client_side = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: classic\n  namespace: default\ndata:\n  a: \"1\"\n  b: \"2\"\n";
        let (ok, out, err) = k(&["apply", "-f", "-"], Some(client_side));
        assert!(ok && out.contains("configmap/classic created"), "client-side apply: {out}{err}");
        let (ok, out, err) = k(&["apply", "-f", "-"], Some(&client_side.replace("  b: \"2\"\n", "")));
        assert!(ok && out.contains("configmap/classic configured"), "client-side re-apply: {out}{err}");
        let (ok, out, err) = k(&["get", "configmap", "classic", "-o", "jsonpath={.data}"], None);
        assert!(ok && out.contains("\"a\":\"1\"") && !out.contains("\"b\""), "after re-apply: {out}{err}");
        // A CRD, waited for, then one of its objects, applied and listed.
        let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    additionalPrinterColumns:\n    - {name: Size, type: integer, jsonPath: .spec.size}\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {type: integer}\n";
        let (ok, out, err) = k(&["apply", "--server-side", "-f", "-"], Some(crd));
        assert!(ok, "apply CRD: {out}{err}");
        let (ok, out, err) = k(&["wait", "--for=condition=Established", "crd/widgets.example.com", "--timeout=10s"], None);
        assert!(ok, "wait: {out}{err}");
        let widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: default\nspec:\n  size: 3\n";
        let (ok, out, err) = k(&["apply", "--server-side", "-f", "-"], Some(widget));
        assert!(ok, "apply widget: {out}{err}");
        let (ok, out, err) = k(&["get", "widgets"], None);
        assert!(ok && out.contains("SIZE") && out.contains('3'), "get widgets: {out}{err}");
        let (ok, out, err) = k(&["delete", "configmap", "settings"], None);
        assert!(ok, "delete: {out}{err}");
        assert!(out.contains("deleted"), "{out}");
        let (ok, _, _) = k(&["get", "configmap", "settings"], None);
        assert!(!ok, "the ConfigMap should be gone");
    })
    .await;
    result.unwrap();
}
