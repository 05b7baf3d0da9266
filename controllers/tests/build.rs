//! `gitops build` on trees written to disk: the plain build must print exactly what
//! `kubectl kustomize` prints (kubectl runs now; a missing kubectl fails the test), and the
//! Kustomization build must apply the Flux overlay and postBuild.

// A test harness: a failed write of its own fixtures is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use gitops_controllers::build::{
    BuildArgs, KustomizationArgs, build_dir, build_kustomization, run,
};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        envFrom:\n        - configMapRef:\n            name: settings\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n  - port: 80\n";

/// An overlay over a base, with a generator, a prefix, labels, an image and a patch.
fn overlay_tree(root: &Path) {
    write(
        root,
        &[
            (
                "base/kustomization.yaml",
                "resources:\n- deploy.yaml\n- service.yaml\nconfigMapGenerator:\n- name: settings\n  literals:\n  - MODE=base\n",
            ),
            ("base/deploy.yaml", DEPLOY),
            ("base/service.yaml", SERVICE),
            (
                "kustomization.yaml",
                "namespace: prod\nnamePrefix: prod-\nlabels:\n- pairs:\n    env: prod\n  includeSelectors: true\nresources:\n- base\nimages:\n- name: nginx\n  newTag: \"1.27\"\nconfigMapGenerator:\n- name: settings\n  behavior: merge\n  literals:\n  - MODE=prod\npatches:\n- target:\n    kind: Deployment\n  patch: |\n    - op: replace\n      path: /spec/replicas\n      value: 3\n",
            ),
        ],
    );
}

fn kubectl_kustomize(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl is required by this test: install kubectl (v1.32) and put it on PATH");
    assert!(
        out.status.success(),
        "kubectl kustomize failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn build_path_is_identical_to_kubectl_kustomize() {
    let dir = tempfile::tempdir().unwrap();
    overlay_tree(dir.path());
    let ours = build_dir(dir.path(), None).unwrap();
    assert_eq!(ours, kubectl_kustomize(dir.path()));
    assert!(ours.contains("name: prod-web"), "{ours}");
    assert!(ours.contains("image: nginx:1.27"), "{ours}");
}

#[test]
fn build_path_without_kustomization_uses_flux_generated_one() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("apps/web/deploy.yaml", DEPLOY),
            ("apps/web/service.yml", SERVICE),
            ("README.md", "not yaml"),
        ],
    );
    let mut out = Vec::new();
    run(
        &BuildArgs {
            target: None,
            path: Some(dir.path().to_path_buf()),
            root: None,
        },
        &mut out,
    )
    .unwrap();
    // kubectl builds a copy with the kustomization Flux would generate.
    write(
        dir.path(),
        &[(
            "kustomization.yaml",
            "resources:\n- apps/web/deploy.yaml\n- apps/web/service.yml\n",
        )],
    );
    assert_eq!(
        String::from_utf8(out).unwrap(),
        kubectl_kustomize(dir.path())
    );
}

#[test]
fn build_path_reaches_bases_outside_it_as_kubectl_does() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        &[
            (
                "base/kustomization.yaml",
                "resources:\n- deploy.yaml\n- service.yaml\n",
            ),
            ("base/deploy.yaml", DEPLOY),
            ("base/service.yaml", SERVICE),
            (
                "overlays/prod/kustomization.yaml",
                "namePrefix: prod-\nresources:\n- ../../base\npatches:\n- path: replicas.yaml\n",
            ),
            (
                "overlays/prod/replicas.yaml",
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n",
            ),
        ],
    );
    let prod = root.join("overlays/prod");
    let ours = build_dir(&prod, None).unwrap();
    assert_eq!(ours, kubectl_kustomize(&prod));
    assert!(ours.contains("name: prod-web"), "{ours}");
    // Inside a sandbox that holds the base, the controller builds the same.
    assert_eq!(build_dir(&prod, Some(root)).unwrap(), ours);
}

#[test]
fn build_refuses_files_outside_the_kustomization_as_kubectl_does() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("outside.yaml", SERVICE),
            ("app/kustomization.yaml", "resources:\n- ../outside.yaml\n"),
        ],
    );
    let app = dir.path().join("app");
    let e = build_dir(&app, None).unwrap_err().to_string();
    assert!(
        e.contains("is not in or below the kustomization's directory"),
        "{e}"
    );
    assert!(
        Command::new("kubectl")
            .arg("kustomize")
            .arg(&app)
            .output()
            .is_ok_and(|o| !o.status.success())
    );
    // The controller lets files be anywhere inside the artifact.
    assert!(
        build_dir(&app, Some(dir.path()))
            .unwrap()
            .contains("kind: Service")
    );

    // A link inside the directory to a file outside it is outside it, for kubectl too.
    write(
        dir.path(),
        &[("app/kustomization.yaml", "resources:\n- link.yaml\n")],
    );
    std::os::unix::fs::symlink(dir.path().join("outside.yaml"), app.join("link.yaml")).unwrap();
    let e = build_dir(&app, None).unwrap_err().to_string();
    assert!(
        e.contains("'link.yaml' is not in or below the kustomization's directory"),
        "{e}"
    );
    assert!(
        Command::new("kubectl")
            .arg("kustomize")
            .arg(&app)
            .output()
            .is_ok_and(|o| !o.status.success())
    );
}

#[test]
fn the_sandbox_refuses_escapes_through_dotdot_and_links() {
    let outer = tempfile::tempdir().unwrap();
    let root = outer.path().join("root");
    write(
        outer.path(),
        &[
            ("outside.yaml", SERVICE),
            ("base/kustomization.yaml", "resources:\n- service.yaml\n"),
            ("base/service.yaml", SERVICE),
        ],
    );
    write(
        &root,
        &[("app/kustomization.yaml", "resources:\n- ../../base\n")],
    );
    let app = root.join("app");
    // kubectl reads the base outside; the sandbox does not.
    assert!(build_dir(&app, None).unwrap().contains("kind: Service"));
    let e = build_dir(&app, Some(&root)).unwrap_err().to_string();
    assert!(e.contains("leaves the root directory"), "{e}");

    write(
        &root,
        &[(
            "app/kustomization.yaml",
            "resources:\n- ../../outside.yaml\n",
        )],
    );
    let e = build_dir(&app, Some(&root)).unwrap_err().to_string();
    assert!(e.contains("leaves the root directory"), "{e}");

    write(
        &root,
        &[("app/kustomization.yaml", "resources:\n- link.yaml\n")],
    );
    std::os::unix::fs::symlink(outer.path().join("outside.yaml"), app.join("link.yaml")).unwrap();
    let e = build_dir(&app, Some(&root)).unwrap_err().to_string();
    assert!(
        e.contains(
            "resource 'link.yaml' not found (the path leaves the root directory through a link)"
        ),
        "{e}"
    );

    write(
        &root,
        &[("app/kustomization.yaml", "resources:\n- linked\n")],
    );
    std::os::unix::fs::symlink(outer.path().join("base"), app.join("linked")).unwrap();
    let e = build_dir(&app, Some(&root)).unwrap_err().to_string();
    assert!(
        e.contains("leaves the root directory through a link"),
        "{e}"
    );

    // A directory outside the root is refused as the build's path too.
    let e = build_dir(&outer.path().join("base"), Some(&root))
        .unwrap_err()
        .to_string();
    assert!(e.contains("not inside the root directory"), "{e}");
}

fn ks_args(dir: &Path, file: &Path, strict: bool) -> KustomizationArgs {
    KustomizationArgs {
        name: "web".into(),
        path: dir.to_path_buf(),
        root: None,
        kustomization_file: Some(file.to_path_buf()),
        namespace: "flux-system".into(),
        strict_substitute: strict,
    }
}

#[test]
fn build_kustomization_applies_overlay_and_post_build() {
    let tree = tempfile::tempdir().unwrap();
    write(
        tree.path(),
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  env: ${cluster_env}\n  region: ${region:=eu}\n  literal: $${kept}\n",
            ),
            ("deploy.yaml", DEPLOY),
        ],
    );
    let files = tempfile::tempdir().unwrap();
    let ks = files.path().join("ks.yaml");
    write(
        files.path(),
        &[(
            "ks.yaml",
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web\nspec:\n  interval: 5m\n  prune: true\n  path: ./apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  targetNamespace: staging\n  nameSuffix: -v2\n  images:\n  - name: nginx\n    newTag: \"1.28\"\n  postBuild:\n    substitute:\n      cluster_env: staging\n    substituteFrom:\n    - kind: ConfigMap\n      name: cluster-vars\n      optional: true\n",
        )],
    );
    let text = build_kustomization(&ks_args(tree.path(), &ks, true)).unwrap();
    let expected_cm = "apiVersion: v1\ndata:\n  env: staging\n  literal: ${kept}\n  region: eu\nkind: ConfigMap\nmetadata:\n  labels:\n    kustomize.toolkit.fluxcd.io/name: web\n    kustomize.toolkit.fluxcd.io/namespace: flux-system\n  name: settings-v2\n  namespace: staging\n";
    assert!(text.starts_with(expected_cm), "{text}");
    assert!(text.contains("image: nginx:1.28"), "{text}");
    assert!(
        text.contains("name: settings-v2\n"),
        "name reference fixed: {text}"
    );
}

#[test]
fn build_kustomization_strict_substitute_and_cluster_sources() {
    let tree = tempfile::tempdir().unwrap();
    write(
        tree.path(),
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  env: \"${cluster_env}\"\n",
        )],
    );
    let files = tempfile::tempdir().unwrap();
    let ks = files.path().join("ks.yaml");
    let base = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  interval: 5m\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  postBuild:\n    substitute:\n      other: x\n";
    write(files.path(), &[("ks.yaml", base)]);
    let e = build_kustomization(&ks_args(tree.path(), &ks, true))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "post build failed for 'ConfigMap/settings': variable substitution failed: variable not set (strict mode): \"cluster_env\""
    );
    // Without --strict-substitute, as flux build, the variable becomes empty; the quotes
    // of the source are gone after kustomize printed it, so the value is null, as in Flux.
    let text = build_kustomization(&ks_args(tree.path(), &ks, false)).unwrap();
    assert!(text.contains("  env: null\n"), "{text}");

    let with_source = format!("{base}    substituteFrom:\n    - kind: Secret\n      name: creds\n");
    write(files.path(), &[("ks.yaml", &with_source)]);
    let e = build_kustomization(&ks_args(tree.path(), &ks, false))
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("substitute from 'Secret/creds' error: "),
        "{e}"
    );

    let mut args = ks_args(tree.path(), &ks, false);
    args.name = "missing".into();
    let e = build_kustomization(&args).unwrap_err().to_string();
    assert!(e.ends_with("no Kustomization named 'missing'"), "{e}");
}
