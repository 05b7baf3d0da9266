//! The `gitops build` binary: YAML on stdout identical to `kubectl kustomize` (run now; a
//! missing kubectl fails the test), errors on stderr with exit code 2.

// A test harness: a failed write of its own fixtures is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory under the system's temporary directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("gitops-build-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn write(&self, name: &str, text: &str) -> &Self {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn gitops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .output()
        .unwrap()
}

fn kubectl_kustomize(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl is required by this test: install kubectl (v1.32) and put it on PATH");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn build_prints_what_kubectl_kustomize_prints() {
    let tree = Scratch::new("overlay");
    tree.write(
        "base/kustomization.yaml",
        "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - A=1\n",
    )
    .write(
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        envFrom:\n        - configMapRef:\n            name: settings\n",
    )
    .write(
        "kustomization.yaml",
        "namespace: prod\nnameSuffix: -prod\ncommonLabels:\n  env: prod\nresources:\n- base\nimages:\n- name: nginx\n  newTag: \"1.27\"\n",
    );
    let out = gitops(&["build", "--path", tree.0.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        kubectl_kustomize(&tree.0)
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn build_errors_go_to_stderr_with_exit_code_2() {
    let tree = Scratch::new("broken");
    tree.write("kustomization.yaml", "resources:\n- missing.yaml\n");
    let out = gitops(&["build", "--path", tree.0.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: ") && err.contains("missing.yaml"),
        "{err}"
    );
}

#[test]
fn build_kustomization_substitutes_in_strict_mode() {
    let tree = Scratch::new("ks");
    tree.write(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  env: ${cluster_env}\n  missing: ${undefined}\n",
    )
    .write(
        "ks.yaml",
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\nspec:\n  interval: 5m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  targetNamespace: apps\n  postBuild:\n    substitute:\n      cluster_env: prod\n",
    );
    let app = tree.0.join("app");
    let ks = tree.0.join("ks.yaml");
    let args = [
        "build",
        "kustomization",
        "app",
        "--path",
        app.to_str().unwrap(),
        "--kustomization-file",
        ks.to_str().unwrap(),
    ];
    let out = gitops(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("  env: prod\n  missing: null\n"), "{text}");
    assert!(text.contains("  namespace: apps\n"), "{text}");

    let strict: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--strict-substitute"])
        .collect();
    let out = gitops(&strict);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("post build failed for 'ConfigMap/apps/settings'")
            && err.contains("variable not set (strict mode): \"undefined\""),
        "{err}"
    );
}
