#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]
//! Rendering benchmark: our native kustomize (`gitops build`'s renderer: read the tree from
//! disk, render, print YAML) against `kubectl kustomize DIR` on the same generated trees, in one
//! run. The outputs must be byte-identical before anything is timed.
//!
//! Run with `cargo bench --bench render`. Needs `kubectl` on the PATH (fails naming it).
//! `RENDER_BENCH_SIZES=10,1000,monitoring` picks other trees: object counts of the app tree
//! below, and `monitoring` for the tree of [`monitoring`] (few objects, large documents); the
//! default is `10,1000,3000,10000,monitoring`. `RENDER_BENCH_KUBECTL_TIMEOUT=600` stops kubectl
//! after 600 seconds on a tree
//! (30 minutes by default) and compares on a smaller tree instead. `RENDER_BENCH_KEEP=1` keeps
//! the generated trees and prints where (for profiling `gitops build --path` on them).
//!
//! Each tree is a root kustomization with two Namespaces and two overlays (`staging`,
//! `production`) of one base. The base has, per app, a Deployment, a Service and a
//! ServiceAccount in one file (the Deployment names its ServiceAccount, which each overlay
//! renames into its own namespace) plus a generated ConfigMap the Deployment references, `labels`,
//! `commonAnnotations` and `images`; each overlay sets `namespace`, `namePrefix`,
//! `commonLabels` (selectors included), a strategic-merge patch on every Deployment, an
//! RFC 6902 patch on Services chosen by label, and a ConfigMap and a Secret generator.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gitops::core::{render, yaml};
use gitops::git::disk::DiskFs;

#[path = "render/monitoring.rs"]
mod monitoring;

/// How long `kubectl kustomize` may take on one tree before the bench stops it and falls
/// back to a smaller tree, unless `RENDER_BENCH_KUBECTL_TIMEOUT` (seconds) says otherwise.
/// kubectl's cost grows faster than linearly: it takes minutes on 10,000 objects.
const KUBECTL_LIMIT: Duration = Duration::from_secs(1_800);

fn kubectl_limit() -> Duration {
    match std::env::var("RENDER_BENCH_KUBECTL_TIMEOUT") {
        Ok(s) => Duration::from_secs(s.trim().parse().unwrap_or_else(|_| {
            panic!("RENDER_BENCH_KUBECTL_TIMEOUT must be a number of seconds, not {s:?}")
        })),
        Err(_) => KUBECTL_LIMIT,
    }
}

/// Objects in a tree of `apps` apps: 2 Namespaces + 2 overlays × (4 per app + 2 generated).
fn objects_for(apps: usize) -> usize {
    2 + 2 * (4 * apps + 2)
}

/// The number of apps whose tree has about `objects` objects.
fn apps_for(objects: usize) -> usize {
    (objects.saturating_sub(6) / 8).max(1)
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Writes the tree with `apps` apps under `root`; returns the number of files.
fn generate(root: &Path, apps: usize) -> usize {
    let mut files = 0;
    let mut resources = String::new();
    let mut generators = String::new();
    for i in 0..apps {
        let tier = if i % 2 == 0 { "web" } else { "worker" };
        let name = format!("app-{i:05}");
        write(
            &root.join(format!("base/apps/{name}.yaml")),
            &format!(
                "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  labels:
    app: {name}
    tier: {tier}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: {name}
  template:
    metadata:
      labels:
        app: {name}
        tier: {tier}
    spec:
      serviceAccountName: {name}
      containers:
      - name: app
        image: registry.example.com/app:latest
        ports:
        - containerPort: 8080
          name: http
        envFrom:
        - configMapRef:
            name: {name}-config
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  labels:
    app: {name}
    tier: {tier}
spec:
  selector:
    app: {name}
  ports:
  - port: 80
    targetPort: http
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {name}
"
            ),
        );
        files += 1;
        writeln!(resources, "- apps/{name}.yaml").unwrap();
        write!(
            generators,
            "- name: {name}-config\n  literals:\n  - LOG_LEVEL=info\n  - APP_ID=\"{i}\"\n"
        )
        .unwrap();
    }
    write(
        &root.join("base/kustomization.yaml"),
        &format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
labels:
- pairs:
    app.kubernetes.io/part-of: shop
commonAnnotations:
  team: platform
images:
- name: registry.example.com/app
  newTag: 1.2.3
resources:
{resources}configMapGenerator:
{generators}"
        ),
    );
    files += 1;
    for (env, replicas) in [("staging", 2), ("production", 3)] {
        write(
            &root.join(format!("overlays/{env}/kustomization.yaml")),
            &format!(
                "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {env}
namePrefix: {env}-
commonLabels:
  env: {env}
resources:
- ../../base
patches:
- target:
    kind: Deployment
  patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: any
    spec:
      replicas: {replicas}
      template:
        spec:
          containers:
          - name: app
            env:
            - name: ENVIRONMENT
              value: {env}
- target:
    kind: Service
    labelSelector: tier=web
  patch: |-
    - op: add
      path: /metadata/annotations/exposed
      value: \"true\"
configMapGenerator:
- name: env-settings
  literals:
  - ENVIRONMENT={env}
secretGenerator:
- name: credentials
  literals:
  - password=s3cret-{env}
"
            ),
        );
        files += 1;
    }
    write(
        &root.join("namespaces.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: staging\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: production\n",
    );
    write(
        &root.join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- namespaces.yaml\n- overlays/staging\n- overlays/production\n",
    );
    files + 2
}

/// What `gitops build` does: read the tree from disk, render it, print the YAML.
fn ours(root: &Path) -> (String, usize) {
    let fs = DiskFs::new(root).unwrap();
    let objects: Vec<_> = render::build(&fs, ".")
        .unwrap()
        .into_iter()
        .map(|m| m.object)
        .collect();
    (yaml::to_string(&objects), objects.len())
}

/// `kubectl kustomize DIR`, or `None` when it takes longer than `limit`.
fn kubectl(root: &Path, out: &Path, limit: Duration) -> Option<(String, Duration)> {
    let start = Instant::now();
    let mut child = Command::new("kubectl")
        .arg("kustomize")
        .arg(root)
        .stdout(Stdio::from(std::fs::File::create(out).unwrap()))
        .stderr(Stdio::piped())
        .spawn()
        .expect("this benchmark needs kubectl on the PATH (kubectl v1.32 or later)");
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let took = start.elapsed();
            let mut err = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
            assert!(status.success(), "kubectl kustomize failed: {err}");
            return Some((std::fs::read_to_string(out).unwrap(), took));
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn show(d: Duration) -> String {
    if d < Duration::from_millis(10) {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else if d < Duration::from_secs(10) {
        format!("{:.0} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Reports where two outputs first differ.
fn first_difference(ours: &str, theirs: &str) -> String {
    for (n, (a, b)) in ours.lines().zip(theirs.lines()).enumerate() {
        if a != b {
            return format!("line {}: ours {a:?}, kubectl {b:?}", n + 1);
        }
    }
    format!(
        "ours has {} lines, kubectl {}",
        ours.lines().count(),
        theirs.lines().count()
    )
}

struct Row {
    tree: &'static str,
    objects: usize,
    files: usize,
    /// Bytes of the YAML (and other files) the tree holds: what the renderer reads.
    input: u64,
    ours: Duration,
    ours_runs: usize,
    kubectl: Duration,
    kubectl_runs: usize,
}

/// The total size of the files under `dir`.
fn tree_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                tree_bytes(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// One tree to measure: the app tree of about `n` objects, or the monitoring tree.
#[derive(Clone, Copy)]
enum Tree {
    Apps(usize),
    Monitoring,
}

fn parse_tree(s: &str) -> Tree {
    match s.trim() {
        "monitoring" => Tree::Monitoring,
        n => Tree::Apps(n.parse().unwrap_or_else(|_| {
            panic!("RENDER_BENCH_SIZES takes object counts and `monitoring`, not {n:?}")
        })),
    }
}

/// Checks that ours prints what kubectl printed on `root`, keeping everything on a difference.
fn check_identical(
    scratch: tempfile::TempDir,
    label: &str,
    objects: usize,
    text: &str,
    theirs: &str,
) -> tempfile::TempDir {
    if text == theirs {
        return scratch;
    }
    let ours_out = scratch.path().join(format!("ours-{label}.yaml"));
    std::fs::write(&ours_out, text).unwrap();
    let kept = scratch.keep();
    panic!(
        "{objects} objects: our output differs from kubectl kustomize: {}; the tree and both \
         outputs are kept in {}",
        first_difference(text, theirs),
        kept.display()
    );
}

/// Times `runs` renders of `root`, checking each prints `expected_len` bytes.
fn time_ours(root: &Path, runs: usize, expected_len: usize) -> Duration {
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let (text, _) = ours(root);
        times.push(start.elapsed());
        assert_eq!(text.len(), expected_len);
    }
    median(times)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let trees: Vec<Tree> = std::env::var("RENDER_BENCH_SIZES")
        .map(|s| s.split(',').map(parse_tree).collect())
        .unwrap_or_else(|_| {
            vec![
                Tree::Apps(10),
                Tree::Apps(1_000),
                Tree::Apps(3_000),
                Tree::Apps(10_000),
                Tree::Monitoring,
            ]
        });
    let limit = kubectl_limit();
    let version = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .expect("this benchmark needs kubectl on the PATH (kubectl v1.32 or later)");
    println!(
        "kubectl: {}",
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .collect::<Vec<_>>()
            .join(", ")
    );
    // Timings move with the machine's load: print it beside them.
    println!("load average at start: {}", load_average());
    let mut scratch = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for tree in trees {
        let requested = match tree {
            Tree::Apps(n) => n,
            Tree::Monitoring => {
                let root = scratch.path().join("tree-monitoring");
                let files = monitoring::generate(&root);
                let input = tree_bytes(&root);
                let out = scratch.path().join("kubectl-monitoring.yaml");
                let (text, objects) = ours(&root);
                let (theirs, first) = kubectl(&root, &out, limit)
                    .expect("kubectl kustomize took longer than the limit on the monitoring tree");
                scratch = check_identical(scratch, "monitoring", objects, &text, &theirs);
                let mut kubectl_times = vec![first];
                for _ in 1..5 {
                    kubectl_times.push(kubectl(&root, &out, limit).unwrap().1);
                }
                let row = Row {
                    tree: "monitoring",
                    objects,
                    files,
                    input,
                    ours: time_ours(&root, 20, theirs.len()),
                    ours_runs: 20,
                    kubectl: median(kubectl_times),
                    kubectl_runs: 5,
                };
                println!(
                    "monitoring: {objects} objects, {files} files, {input} bytes in: identical output ({} bytes); ours {} (median of 20), kubectl {} (median of 5)",
                    theirs.len(),
                    show(row.ours),
                    show(row.kubectl),
                );
                rows.push(row);
                continue;
            }
        };
        let mut apps = apps_for(requested);
        let row = loop {
            let root = scratch.path().join(format!("tree-{apps}"));
            let files = generate(&root, apps);
            let input = tree_bytes(&root);
            let out = scratch.path().join(format!("kubectl-{apps}.yaml"));
            // One untimed run of ours warms the page cache for both tools.
            let (text, objects) = ours(&root);
            assert_eq!(objects, objects_for(apps));
            let Some((theirs, first)) = kubectl(&root, &out, limit) else {
                // Ours is still timed on this tree (unchecked against kubectl), to show growth.
                let ours = time_ours(&root, 3, text.len());
                println!(
                    "{objects} objects, {files} files: ours {} (median of 3), kubectl over {}s (stopped)",
                    show(ours),
                    limit.as_secs()
                );
                rows.push(Row {
                    tree: "apps",
                    objects,
                    files,
                    input,
                    ours,
                    ours_runs: 3,
                    kubectl: limit,
                    kubectl_runs: 0,
                });
                let smaller = apps_for(3_000).min(apps / 2);
                notes.push(format!(
                    "kubectl kustomize took over {}s on {} objects: compared on {} objects instead",
                    limit.as_secs(),
                    objects,
                    objects_for(smaller)
                ));
                apps = smaller;
                continue;
            };
            scratch = check_identical(scratch, &apps.to_string(), objects, &text, &theirs);
            // Fewer repetitions for the big trees keep the whole run within minutes.
            let (ours_runs, kubectl_runs) = match objects {
                0..=100 => (50, 5),
                101..=2_000 => (10, 3),
                _ => (5, 1),
            };
            let mut kubectl_times = vec![first];
            for _ in 1..kubectl_runs {
                kubectl_times.push(kubectl(&root, &out, limit).unwrap().1);
            }
            break Row {
                tree: "apps",
                objects,
                files,
                input,
                ours: time_ours(&root, ours_runs, theirs.len()),
                ours_runs,
                kubectl: median(kubectl_times),
                kubectl_runs,
            };
        };
        println!(
            "{} objects, {} files, {} bytes in: identical output ({} bytes); ours {} (median of {}), kubectl {} (median of {})",
            row.objects,
            row.files,
            row.input,
            std::fs::metadata(scratch.path().join(format!("kubectl-{apps}.yaml")))
                .map(|m| m.len())
                .unwrap_or(0),
            show(row.ours),
            row.ours_runs,
            show(row.kubectl),
            row.kubectl_runs
        );
        rows.push(row);
    }
    if std::env::var_os("RENDER_BENCH_KEEP").is_some() {
        println!("trees kept in {}", scratch.keep().display());
    }
    println!();
    println!(
        "| tree | objects | files | YAML in | ours | kubectl kustomize | ratio | ours per object | ours MB/s | kubectl MB/s |"
    );
    println!(
        "|------|--------:|------:|--------:|-----:|------------------:|------:|----------------:|----------:|-------------:|"
    );
    for r in &rows {
        // A stopped kubectl run is a lower bound.
        let (over, under) = if r.kubectl_runs == 0 {
            ("> ", "< ")
        } else {
            ("", "")
        };
        let mb = r.input as f64 / 1e6;
        println!(
            "| {} | {} | {} | {:.2} MB | {} | {over}{} | {over}{:.1}× | {:.1} µs | {:.1} | {under}{:.1} |",
            r.tree,
            r.objects,
            r.files,
            mb,
            show(r.ours),
            show(r.kubectl),
            r.kubectl.as_secs_f64() / r.ours.as_secs_f64(),
            r.ours.as_secs_f64() * 1e6 / r.objects as f64,
            mb / r.ours.as_secs_f64(),
            mb / r.kubectl.as_secs_f64(),
        );
    }
    for note in notes {
        println!("note: {note}");
    }
    println!("load average at end: {}", load_average());
}

/// The 1, 5 and 15 minute load averages, where the system reports them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}
