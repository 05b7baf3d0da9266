#![allow(clippy::expect_used, clippy::unwrap_used)]
//! `gitops testenv` serves the test API server as a process that the installed kubectl uses
//! unchanged. Fails, naming the tool, when no `kubectl` is installed: the test never skips.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the server when the test ends, passed or failed.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
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
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

const MANIFEST: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\n  labels:\n    app: web\ndata:\n  mode: prod\n  replicas: \"3\"\n";

#[test]
fn kubectl_applies_and_reads_through_gitops_testenv() {
    assert!(
        Command::new("kubectl")
            .args(["version", "--client"])
            .output()
            .is_ok_and(|o| o.status.success()),
        "this test needs kubectl on the PATH (kubectl v1.32 or later); install it to run the tests"
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_gitops"))
            .arg("testenv")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .stdout(Stdio::piped())
            .spawn()
            .expect("run gitops testenv"),
    );

    // The kubeconfig is written (atomically) once the server listens.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !kubeconfig.exists() {
        if let Some(status) = server.0.try_wait().unwrap() {
            panic!("gitops testenv exited before serving: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "gitops testenv wrote no kubeconfig in 60s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut stdout = BufReader::new(server.0.stdout.take().unwrap());
    let mut serving = String::new();
    stdout.read_line(&mut serving).unwrap();
    let mut written = String::new();
    stdout.read_line(&mut written).unwrap();
    let url = serving
        .trim_end()
        .strip_prefix("serving on ")
        .unwrap_or_else(|| panic!("first line: {serving:?}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "the chosen port is printed: {url}");
    assert_eq!(
        written.trim_end(),
        format!("kubeconfig written to {}", kubeconfig.display())
    );
    let config = std::fs::read_to_string(&kubeconfig).unwrap();
    assert!(config.contains(&format!("server: {url}")), "{config}");

    let (ok, out) = kubectl(
        &kubeconfig,
        &["apply", "--server-side", "-f", "-"],
        Some(MANIFEST),
    );
    assert!(ok, "kubectl apply: {out}");
    assert!(
        out.contains("configmap/settings serverside-applied"),
        "{out}"
    );

    let (ok, out) = kubectl(
        &kubeconfig,
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
    assert!(ok, "kubectl get: {out}");
    for expected in [
        "kind: ConfigMap",
        "  name: settings\n",
        "  namespace: default\n",
        "  mode: prod\n",
        "  replicas: \"3\"\n",
        "    app: web\n",
        "manager: kubectl\n",
        "operation: Apply\n",
        "resourceVersion: ",
        "uid: ",
    ] {
        assert!(out.contains(expected), "missing {expected:?} in:\n{out}");
    }
}
