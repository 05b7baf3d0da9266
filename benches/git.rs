//! gitops-git against the programs Flux users would compare it with, on one generated
//! repository, in one run: `cargo bench --bench git`.
//!
//! | row | ours | peer |
//! |---|---|---|
//! | unchanged poll | `fetch_blocking` with the last revision (refs only) | `git ls-remote URL refs/heads/main` |
//! | shallow fetch only | `fetch_blocking` (objects in a temporary repository) | `git clone --depth 1 --bare` |
//! | shallow clone to artifact | `fetch_blocking` + pack the tree to tar.gz + sha256 | `git clone --depth 1` (with its checkout) |
//! | artifact packing | `FetchedCommit::pack` to a file (tar.gz + sha256) | `tar czf` + `sha256sum` of the checkout |
//!
//! Servers (`git daemon`, and `git http-backend` behind a small HTTP server that streams its
//! output as it is produced) are gitops-git's test servers, started on 127.0.0.1 and stopped
//! at the end; they serve ours and the peer alike. Each figure is the median of `GITOPS_BENCH_RUNS` runs (default 7), ours and the
//! peer alternating, after one warm-up of each. Nothing is asserted about wall-clock time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../gitops-git/tests/common/mod.rs"]
mod common;

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use common::{Fixture, GitDaemon, HttpAuth, HttpServer};
use gitops_core::api::Checkout;
use gitops_git::artifact::Packer;
use gitops_git::{Auth, FetchOptions, FetchOutcome, FetchedCommit, fetch_blocking};

/// Files in the generated tree, and how many commits rewrite a tenth of them.
const FILES: usize = 3000;
const DIRS: usize = 60;
const LATER_COMMITS: usize = 4;

/// A deterministic xorshift stream, one per file, so that blobs neither repeat nor delta.
struct Noise(u64);

impl Noise {
    fn text(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len + 16);
        while s.len() < len {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            s.push_str(&format!("{:016x}", self.0));
        }
        s.truncate(len);
        s
    }
}

fn manifest(i: usize, generation: usize) -> String {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15 ^ ((i as u64) << 20) ^ generation as u64);
    let len = 300 + (i * 7919) % 1700;
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{i}\n  namespace: team-{}\n  labels:\n    generation: \"{generation}\"\ndata:\n  payload: {}\n",
        i % DIRS,
        noise.text(len)
    )
}

fn path_of(i: usize) -> String {
    format!("apps/team-{:02}/app-{i:04}.yaml", i % DIRS)
}

/// The repository: `FILES` manifests (about 3.5 MB) on `main`, then `LATER_COMMITS`
/// commits each rewriting a tenth of them.
fn generate(fx: &Fixture) -> anyhow::Result<(u64, usize)> {
    let mut raw = 0u64;
    for generation in 0..=LATER_COMMITS {
        for i in (0..FILES).filter(|i| generation == 0 || i % 10 == generation) {
            let path = fx.work.join(path_of(i));
            std::fs::create_dir_all(path.parent().context("file has a parent")?)?;
            let text = manifest(i, generation);
            if generation == 0 {
                raw += text.len() as u64;
            }
            std::fs::write(&path, text)?;
        }
        fx.git(&["add", "-A"]);
        fx.git(&["commit", "-q", "-m", &format!("generation {generation}")]);
    }
    fx.push(&["main"]);
    Ok((raw, 1 + LATER_COMMITS))
}

/// `git` as a user would run it, without the machine's configuration.
fn git(home: &Path) -> Command {
    let mut c = Command::new("git");
    c.env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", home);
    c
}

fn check(c: &mut Command) -> anyhow::Result<()> {
    let out = c.output().with_context(|| format!("running {c:?}"))?;
    if !out.status.success() {
        bail!(
            "{c:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Medians of `runs` timings of `ours` and `peer`, alternating which goes first; what each
/// returns is dropped outside the timing.
fn compare<A, B>(
    runs: usize,
    mut ours: impl FnMut() -> anyhow::Result<A>,
    mut peer: impl FnMut() -> anyhow::Result<B>,
) -> anyhow::Result<(Duration, Duration)> {
    ours()?;
    peer()?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for run in 0..runs {
        for first in [run % 2 == 0, run % 2 == 1] {
            let started = Instant::now();
            if first {
                let kept = ours()?;
                a.push(started.elapsed());
                drop(kept);
            } else {
                let kept = peer()?;
                b.push(started.elapsed());
                drop(kept);
            }
        }
    }
    Ok((median(a), median(b)))
}

fn fetched(url: &str) -> anyhow::Result<FetchedCommit> {
    match fetch_blocking(
        url,
        &Checkout::Branch("main".into()),
        &Auth::none(),
        &FetchOptions::default(),
    )? {
        FetchOutcome::Fetched(c) => Ok(c),
        other => bail!("expected a commit, got {other:?}"),
    }
}

/// Packs `commit` into `path` as the source controller would; returns the digest.
fn pack(commit: &FetchedCommit, path: &Path) -> anyhow::Result<String> {
    let mut packer = Packer::new(BufWriter::new(File::create(path)?))?;
    commit.pack(&mut packer, None)?;
    Ok(packer.finish()?.digest.to_string())
}

struct Row {
    operation: String,
    ours: Duration,
    peer: Duration,
    peer_name: &'static str,
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; a filter is not supported, everything runs.
    let runs: usize = std::env::var("GITOPS_BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(7)
        .max(1);
    let started = Instant::now();
    let fx = Fixture::new();
    let (raw, commits) = generate(&fx)?;
    let objects = Command::new("git")
        .arg("-C")
        .arg(fx.bare())
        .args(["count-objects", "-vH"])
        .output()?;
    let scratch = tempfile::tempdir()?;
    let home = scratch.path().join("home");
    std::fs::create_dir(&home)?;
    eprintln!(
        "repository: {FILES} files, {:.1} MB raw, {commits} commits, {}; setup {:.1}s",
        raw as f64 / 1e6,
        String::from_utf8_lossy(&objects.stdout)
            .lines()
            .filter(|l| l.starts_with("size-pack"))
            .collect::<Vec<_>>()
            .join(", "),
        started.elapsed().as_secs_f64()
    );

    let daemon = GitDaemon::start(&fx.repos());
    let http = HttpServer::start(&fx.repos(), HttpAuth::None, None);
    let transports = [
        ("git://", daemon.url("repo.git")),
        ("http://", http.url("repo.git")),
    ];
    let mut rows = Vec::new();
    let artifact = scratch.path().join("artifact.tar.gz");

    for (name, url) in &transports {
        let first = fetched(url)?;
        let last = first.revision().clone();
        drop(first);
        let (ours, peer) = compare(
            runs,
            || match fetch_blocking(
                url,
                &Checkout::Branch("main".into()),
                &Auth::none(),
                &FetchOptions::default().with_last(Some(last.clone())),
            )? {
                FetchOutcome::Unchanged(_) => Ok(()),
                other => bail!("expected unchanged, got {other:?}"),
            },
            || check(git(&home).args(["ls-remote", url, "refs/heads/main"])),
        )?;
        rows.push(Row {
            operation: format!("unchanged poll, {name}"),
            ours,
            peer,
            peer_name: "git ls-remote",
        });

        // Fresh directories for each clone; they are removed outside the timings.
        let clones = scratch.path().join("clones");
        let mut n = 0;
        let mut clone = |extra: &[&str]| {
            n += 1;
            check(
                git(&home)
                    .args(["clone", "-q", "--depth", "1"])
                    .args(extra)
                    .arg(url)
                    .arg(clones.join(n.to_string())),
            )
        };
        let (ours, peer) = compare(runs, || fetched(url), || clone(&["--bare"]))?;
        rows.push(Row {
            operation: format!("shallow fetch only, {name}"),
            ours,
            peer,
            peer_name: "git clone --depth 1 --bare",
        });
        let (ours, peer) = compare(
            runs,
            || {
                let commit = fetched(url)?;
                pack(&commit, &artifact)?;
                Ok(commit)
            },
            || clone(&[]),
        )?;
        std::fs::remove_dir_all(&clones)?;
        rows.push(Row {
            operation: format!("shallow clone to artifact, {name}"),
            ours,
            peer,
            peer_name: "git clone --depth 1",
        });
    }

    // Packing the same tree: ours from the fetched objects, the peer from the checkout.
    let commit = fetched(&transports[0].1)?;
    let tree: PathBuf = scratch.path().join("tree");
    check(
        git(&home)
            .args(["clone", "-q", "--depth", "1", &transports[0].1])
            .arg(&tree),
    )?;
    std::fs::remove_dir_all(tree.join(".git"))?;
    let tarball = scratch.path().join("peer.tar.gz");
    let (ours, peer) = compare(
        runs,
        || pack(&commit, &artifact),
        || {
            check(
                Command::new("tar")
                    .arg("czf")
                    .arg(&tarball)
                    .arg("-C")
                    .arg(&tree)
                    .arg("."),
            )?;
            check(Command::new("sha256sum").arg(&tarball))
        },
    )?;
    let ours_size = std::fs::metadata(&artifact)?.len();
    let peer_size = std::fs::metadata(&tarball)?.len();
    rows.push(Row {
        operation: "artifact packing (tar.gz + sha256)".into(),
        ours,
        peer,
        peer_name: "tar czf + sha256sum",
    });

    println!();
    println!(
        "| operation | ours (ms) | peer | peer (ms) | ours / peer |\n|---|---:|---|---:|---:|"
    );
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | {:.2}x |",
            r.operation,
            ms(r.ours),
            r.peer_name,
            ms(r.peer),
            r.ours.as_secs_f64() / r.peer.as_secs_f64()
        );
    }
    println!();
    println!(
        "medians of {runs} runs; artifact {:.2} MB (ours) vs {:.2} MB (tar czf); total {:.1}s",
        ours_size as f64 / 1e6,
        peer_size as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    drop(daemon);
    drop(http);
    Ok(())
}
