//! Differential test: every case directory under `tests/kustomize/` is rendered by the core
//! and by `kubectl kustomize` (run now, not recorded), and the outputs must be identical
//! byte for byte.
//!
//! A case without a kustomization file is rendered with Flux's generated kustomization;
//! kubectl then builds a copy of the case to which the generated file was added. A case
//! with an `error.txt` must fail in both, our message containing that file's text. A case
//! with an `entry` file is built at the directory it names, below the case.

// A test harness: a failed read of its own fixtures is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use gitops_core::fs::{FileKind, FileSystem};
use gitops_core::{Error, Object, render, yaml};

/// The files below a directory on disk; symlinks that leave it are refused.
struct DiskFs {
    root: PathBuf,
}

impl DiskFs {
    fn resolve(&self, path: &str) -> Result<PathBuf, Error> {
        let rel = gitops_core::fs::normalize(path)?;
        let full = self.root.join(&rel);
        let real = full.canonicalize().map_err(|e| Error::File {
            path: rel.clone(),
            message: e.to_string(),
        })?;
        if !real.starts_with(&self.root) {
            return Err(Error::File {
                path: rel,
                message: "the path leaves the root directory".into(),
            });
        }
        Ok(real)
    }
}

impl FileSystem for DiskFs {
    fn read(&self, path: &str) -> Result<Vec<u8>, Error> {
        std::fs::read(self.resolve(path)?).map_err(|e| Error::File {
            path: path.into(),
            message: e.to_string(),
        })
    }

    fn read_dir(&self, path: &str) -> Result<Vec<String>, Error> {
        let dir = self.resolve(path)?;
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| Error::File {
                path: path.into(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn root_name(&self) -> Option<String> {
        self.root
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string)
    }

    fn kind(&self, path: &str) -> Option<FileKind> {
        let meta = std::fs::metadata(self.resolve(path).ok()?).ok()?;
        if meta.is_dir() {
            Some(FileKind::Dir)
        } else if meta.is_file() {
            Some(FileKind::File)
        } else {
            None
        }
    }
}

const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn has_kustomization(dir: &Path) -> bool {
    KUSTOMIZATION_FILES.iter().any(|f| dir.join(f).is_file())
}

/// What Flux writes for a directory without a kustomization: its YAML files and the
/// subdirectories with a kustomization, found recursively.
fn flux_generated(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if path.is_dir() {
            if has_kustomization(&path) {
                out.push(rel);
            } else {
                flux_generated(root, &path, out);
            }
        } else if rel.ends_with(".yaml") || rel.ends_with(".yml") {
            out.push(rel);
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn kubectl(dir: &Path) -> Result<String, String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("kubectl is required for this test and could not be run: {e}"));
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn ours(dir: &Path, entry: &str) -> Result<String, String> {
    let fs = DiskFs {
        root: dir.canonicalize().unwrap(),
    };
    let objects: Vec<Object> = render::build(&fs, entry)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|m| m.object)
        .collect();
    Ok(yaml::to_string(&objects))
}

#[test]
fn kustomize_cases_match_kubectl() {
    // `KUSTOMIZE_CASES_DIR` runs the cases of another directory (a scratch corpus).
    let base = std::env::var("KUSTOMIZE_CASES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kustomize"));
    let filter = std::env::var("KUSTOMIZE_CASE").unwrap_or_default();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(&filter))
        .collect();
    cases.sort();
    let scratch =
        std::env::temp_dir().join(format!("gitops-kustomize-diff-{}", std::process::id()));
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        // A case with an `entry` file is built at that directory (an overlay naming
        // `../../base`), the case being the root of the file system.
        let entry = std::fs::read_to_string(case.join("entry"))
            .map(|e| e.trim().to_string())
            .unwrap_or_default();
        let kubectl_dir = if !entry.is_empty() {
            case.join(&entry)
        } else if has_kustomization(case) {
            case.clone()
        } else {
            let copy = scratch.join(&name);
            copy_dir(case, &copy);
            let mut resources = Vec::new();
            flux_generated(&copy, &copy, &mut resources);
            let mut text = String::from(
                "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n",
            );
            for r in resources {
                text.push_str(&format!("- {r}\n"));
            }
            std::fs::write(copy.join("kustomization.yaml"), text).unwrap();
            copy
        };
        let expected_error = std::fs::read_to_string(case.join("error.txt")).ok();
        let theirs = kubectl(&kubectl_dir);
        let mine = ours(case, &entry);
        match (&expected_error, theirs, mine) {
            (None, Ok(a), Ok(b)) if a == b => {}
            (None, Ok(a), Ok(b)) => {
                let diff = similar::TextDiff::from_lines(&a, &b)
                    .unified_diff()
                    .header("kubectl", "ours")
                    .to_string();
                failures.push(format!("{name}: output differs\n{diff}"));
            }
            (None, theirs, mine) => {
                failures.push(format!("{name}: kubectl {theirs:?}\nours {mine:?}"));
            }
            (Some(want), Err(_), Err(msg)) if msg.contains(want.trim()) => {}
            (Some(want), theirs, mine) => failures.push(format!(
                "{name}: both should fail, ours with '{}': kubectl {theirs:?}, ours {mine:?}",
                want.trim()
            )),
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let identical = cases.len() - failures.len();
    println!("{identical}/{} cases identical", cases.len());
    assert!(
        failures.is_empty(),
        "{identical}/{} cases identical\n\n{}",
        cases.len(),
        failures.join("\n\n")
    );
}

/// Renders one krusty case: `Ok` when identical to kubectl (or failing where kubectl fails),
/// otherwise why not.
fn krusty_case(case: &Path) -> Result<(), String> {
    let entry = std::fs::read_to_string(case.join("entry"))
        .map_err(|e| format!("cannot read entry: {e}"))?;
    let entry = entry.trim();
    let input = case.join("input");
    let fs = DiskFs {
        root: input
            .canonicalize()
            .map_err(|e| format!("cannot open input: {e}"))?,
    };
    let mine = render::build(&fs, entry)
        .map(|objects| yaml::to_string(&objects.into_iter().map(|m| m.object).collect::<Vec<_>>()));
    match std::fs::read_to_string(case.join("expected.yaml")) {
        Ok(want) => match mine {
            Ok(got) if got == want => Ok(()),
            Ok(got) => Err(format!(
                "output differs\n{}",
                similar::TextDiff::from_lines(&want, &got)
                    .unified_diff()
                    .header("kubectl", "ours")
            )),
            Err(e) => Err(format!("fails: {e}")),
        },
        Err(_) => match mine {
            Err(_) => Ok(()),
            Ok(_) => {
                let want = std::fs::read_to_string(case.join("error")).unwrap_or_default();
                Err(format!(
                    "renders where kubectl fails: {}",
                    want.lines().next().unwrap_or_default()
                ))
            }
        },
    }
}

/// The first line of a failure, short enough for the known-failures list.
fn reason(failure: &str) -> String {
    let line = failure.lines().next().unwrap_or_default().replace('|', "/");
    match line.char_indices().nth(160) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line,
    }
}

/// kustomize's own tests (`../shared/fixtures/kustomize-krusty/`, read in place, never
/// copied): each case's `input/<entry>` rendered and compared byte for byte with what kubectl
/// printed, or required to fail where kubectl fails. Cases listed in
/// `tests/krusty-known-failures.txt` may fail; a listed case that passes fails the test, so
/// the list only shrinks. `KRUSTY_WRITE_KNOWN=1` rewrites the list from this run.
#[test]
fn krusty_cases_match_kubectl() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = manifest.join("../../shared/fixtures/kustomize-krusty");
    if !base.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "krusty: {} is missing, and CI=true requires it",
            base.display()
        );
        println!("krusty: skipped, {} not found", base.display());
        return;
    }
    let known_file = manifest.join("tests/krusty-known-failures.txt");
    let known_text = std::fs::read_to_string(&known_file).unwrap_or_default();
    let known: std::collections::BTreeMap<String, String> = known_text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('|') {
            Some((name, why)) => (name.trim().to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    let filter = std::env::var("KRUSTY_CASE").unwrap_or_default();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&base)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains(&filter))
        .collect();
    cases.sort();
    let mut failures: Vec<(String, String)> = Vec::new();
    let mut problems = Vec::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let outcome = std::panic::catch_unwind(|| krusty_case(case))
            .unwrap_or_else(|_| Err("panicked".to_string()));
        match (outcome, known.contains_key(&name)) {
            (Ok(()), false) => {}
            (Ok(()), true) => problems.push(format!(
                "{name}: passes now, remove it from {}",
                known_file.display()
            )),
            (Err(why), listed) => {
                if !listed {
                    problems.push(format!("{name}: {why}"));
                }
                failures.push((name, why));
            }
        }
    }
    let identical = cases.len() - failures.len();
    println!(
        "krusty: {identical}/{} cases identical to kubectl",
        cases.len()
    );
    if std::env::var("KRUSTY_WRITE_KNOWN").is_ok_and(|v| v == "1") && filter.is_empty() {
        let mut text = String::from(
            "# krusty cases that do not yet match kubectl: `case-name | reason`, one a line.\n\
             # The list only shrinks: a listed case that passes fails the test.\n",
        );
        for (name, why) in &failures {
            text.push_str(&format!("{name} | {}\n", reason(why)));
        }
        std::fs::write(&known_file, text).unwrap();
        return;
    }
    assert!(
        problems.is_empty(),
        "krusty: {identical}/{} cases identical to kubectl\n\n{}",
        cases.len(),
        problems.join("\n\n")
    );
}
