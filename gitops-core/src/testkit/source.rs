use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use super::ManualClock;
use crate::api::{Checkout, GitRepository};
use crate::fs::{FileSystem, MemoryFs};
use crate::reconcile::{Clock, Fetched, Source};
use crate::status::Artifact;
use crate::{Digest, Error, Revision, SourceFailure};

#[derive(Clone, Debug)]
struct Commit {
    tree: MemoryFs,
    subject: String,
}

#[derive(Debug, Default)]
struct Repo {
    /// Full ref name → commit hex.
    refs: BTreeMap<String, String>,
    commits: BTreeMap<String, Commit>,
}

#[derive(Debug, Default)]
struct State {
    repos: BTreeMap<String, Repo>,
    /// Artifact path → (artifact, files).
    artifacts: BTreeMap<String, (Artifact, MemoryFs)>,
    failures: BTreeMap<String, Error>,
    fetches: usize,
    transfers: usize,
}

/// Git repositories and an artifact store in memory.
///
/// Commits are file trees on branches; commit ids are derived from the content, so the same
/// history always gives the same revisions. A fetch of an unchanged ref transfers nothing
/// ([`MemorySource::transfers`] does not move). Ignore rules are not applied here: what is
/// committed is what the artifact holds.
///
/// Artifacts are stamped (`lastUpdateTime`) with the time of the source's [`ManualClock`]:
/// its own, starting at 2026-01-01T00:00:00Z, or the one given to
/// [`MemorySource::with_clock`], as [`super::Env`] does.
#[derive(Debug, Default)]
pub struct MemorySource {
    state: Mutex<State>,
    clock: ManualClock,
}

impl MemorySource {
    /// An empty source.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty source whose artifacts carry the time of `clock` (a clone shares its time).
    pub fn with_clock(clock: ManualClock) -> Self {
        Self {
            state: Mutex::default(),
            clock,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Commits `tree` as the new head of `branch` in the repository at `url` (created when
    /// new), and returns the revision Flux would report for it.
    pub fn commit(&self, url: &str, branch: &str, tree: MemoryFs, subject: &str) -> Revision {
        let mut state = self.lock();
        let repo = state.repos.entry(url.into()).or_default();
        let ref_name = format!("refs/heads/{branch}");
        let parent = repo.refs.get(&ref_name).cloned().unwrap_or_default();
        let mut content = format!("parent {parent}\nsubject {subject}\n").into_bytes();
        for (path, bytes) in tree.files() {
            content.extend_from_slice(path.as_bytes());
            content.push(0);
            content.extend_from_slice(bytes);
            content.push(0);
        }
        let hex = Digest::sha256(&content).hex()[..40].to_string();
        repo.commits.insert(
            hex.clone(),
            Commit {
                tree,
                subject: subject.into(),
            },
        );
        repo.refs.insert(ref_name, hex.clone());
        revision(Some(branch), &hex)
    }

    /// Points a ref (e.g. `refs/tags/v1.0.0` or `refs/pull/1/head`) at the head of `branch`.
    pub fn set_ref(&self, url: &str, ref_name: &str, branch: &str) {
        let mut state = self.lock();
        if let Some(repo) = state.repos.get_mut(url)
            && let Some(head) = repo.refs.get(&format!("refs/heads/{branch}")).cloned()
        {
            repo.refs.insert(ref_name.into(), head);
        }
    }

    /// Deletes a ref, as a force-push or branch deletion would.
    pub fn delete_ref(&self, url: &str, ref_name: &str) {
        if let Some(repo) = self.lock().repos.get_mut(url) {
            repo.refs.remove(ref_name);
        }
    }

    /// Makes every fetch of `url` fail with `error` until [`MemorySource::heal`].
    pub fn fail(&self, url: &str, error: Error) {
        self.lock().failures.insert(url.into(), error);
    }

    /// Stops failing fetches of `url`.
    pub fn heal(&self, url: &str) {
        self.lock().failures.remove(url);
    }

    /// How many fetches were asked for.
    pub fn fetches(&self) -> usize {
        self.lock().fetches
    }

    /// How many fetches transferred objects (not answered by the unchanged fast path).
    pub fn transfers(&self) -> usize {
        self.lock().transfers
    }

    /// The paths of the stored artifacts.
    pub fn stored(&self) -> Vec<String> {
        self.lock().artifacts.keys().cloned().collect()
    }
}

fn revision(reference: Option<&str>, hex: &str) -> Revision {
    let digest = Digest::new("sha1", hex).unwrap_or_else(|_| Digest::sha256(hex.as_bytes()));
    Revision::new(reference, digest.clone()).unwrap_or_else(|_| {
        Revision::new(None, digest).unwrap_or_else(|_| unreachable!("a bare commit is valid"))
    })
}

fn git_error(url: &str, detail: String) -> Error {
    Error::Source {
        reason: SourceFailure::Git,
        message: format!(
            "failed to checkout and determine revision: unable to clone '{url}': {detail}"
        ),
    }
}

/// Resolves a checkout to (reference shown in the revision, commit hex).
fn resolve(repo: &Repo, url: &str, checkout: &Checkout) -> Result<(Option<String>, String), Error> {
    let lookup = |name: &str| {
        repo.refs
            .get(name)
            .cloned()
            .ok_or_else(|| git_error(url, format!("couldn't find remote ref \"{name}\"")))
    };
    match checkout {
        Checkout::Branch(b) => Ok((Some(b.clone()), lookup(&format!("refs/heads/{b}"))?)),
        Checkout::Tag(t) => Ok((Some(t.clone()), lookup(&format!("refs/tags/{t}"))?)),
        // Flux keeps the absolute name for `spec.ref.name`.
        Checkout::Name(n) => Ok((Some(n.clone()), lookup(n)?)),
        Checkout::Semver(range) => {
            let constraint: crate::constraint::Constraint = range
                .parse()
                .map_err(|e| git_error(url, format!("semver parse error for '{range}': {e}")))?;
            let tags: Vec<&str> = repo
                .refs
                .keys()
                .filter_map(|name| name.strip_prefix("refs/tags/"))
                .collect();
            let (tag, _) = crate::constraint::highest(&constraint, tags.iter().copied())
                .ok_or_else(|| git_error(url, format!("no match found for semver: {range}")))?;
            let tag = tag.to_string();
            Ok((Some(tag.clone()), lookup(&format!("refs/tags/{tag}"))?))
        }
        Checkout::Commit { commit, branch } => {
            if !repo.commits.contains_key(commit) {
                return Err(git_error(url, format!("commit '{commit}' not found")));
            }
            Ok((branch.clone(), commit.clone()))
        }
    }
}

fn pack(tree: &MemoryFs) -> Digest {
    let mut bytes = Vec::new();
    for (path, contents) in tree.files() {
        bytes.extend_from_slice(path.as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(contents.len().to_string().as_bytes());
        bytes.push(0);
        bytes.extend_from_slice(contents);
    }
    Digest::sha256(&bytes)
}

#[async_trait]
impl Source for MemorySource {
    async fn fetch(
        &self,
        repository: &GitRepository,
        last: Option<&Artifact>,
    ) -> Result<Fetched, Error> {
        let url = repository.spec.url.as_str();
        let mut state = self.lock();
        state.fetches += 1;
        if let Some(e) = state.failures.get(url) {
            return Err(e.clone());
        }
        let repo = state
            .repos
            .get(url)
            .ok_or_else(|| git_error(url, "repository not found".into()))?;
        let (reference, hex) = resolve(repo, url, &repository.checkout())?;
        let rev = revision(reference.as_deref(), &hex);
        if last.is_some_and(|a| a.revision == rev) {
            return Ok(Fetched::Unchanged);
        }
        let commit = repo
            .commits
            .get(&hex)
            .cloned()
            .ok_or_else(|| git_error(url, format!("commit '{hex}' not found")))?;
        state.transfers += 1;
        let meta = &repository.metadata;
        let path = format!(
            "gitrepository/{}/{}/{hex}.tar.gz",
            meta.namespace, meta.name
        );
        let size = commit.tree.files().map(|(_, c)| c.len() as u64).sum();
        let artifact = Artifact {
            url: format!("http://source-controller.testkit/{path}"),
            path: path.clone(),
            revision: rev,
            digest: pack(&commit.tree),
            last_update_time: self.clock.now(),
            size: Some(size),
            metadata: BTreeMap::new(),
        };
        state
            .artifacts
            .insert(path, (artifact.clone(), commit.tree));
        Ok(Fetched::Stored {
            artifact,
            subject: commit.subject,
        })
    }

    async fn open(&self, artifact: &Artifact) -> Result<Arc<dyn FileSystem>, Error> {
        let state = self.lock();
        let (stored, files) = state
            .artifacts
            .get(&artifact.path)
            .ok_or_else(|| Error::Source {
                reason: SourceFailure::Artifact,
                message: format!(
                    "failed to download artifact from '{}': not found",
                    artifact.url
                ),
            })?;
        if stored.digest != artifact.digest {
            return Err(Error::Source {
                reason: SourceFailure::Artifact,
                message: format!(
                    "failed to verify artifact: computed digest doesn't match '{}'",
                    artifact.digest
                ),
            });
        }
        Ok(Arc::new(files.clone()))
    }
}
