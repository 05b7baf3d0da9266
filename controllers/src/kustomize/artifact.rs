//! The kustomize controller's side of artifacts: [`ArtifactFetcher`], the core's
//! [`Source`] that downloads a GitRepository's `status.artifact.url`, verifies it against
//! `status.artifact.digest` and extracts it (gitops-git's [`open_url`]).
//!
//! It never talks to Git: fetching is the source controller's job, so [`Source::fetch`]
//! refuses. The download is bounded by [`Limits`] and a digest mismatch fails before
//! anything is extracted, so a tampered or truncated artifact never reaches the renderer.
//!
//! An opened artifact is shared: the renderer only reads it, and many Kustomizations
//! usually render paths of one GitRepository's artifact. So the last few artifacts opened
//! stay extracted, by URL and digest, and Kustomizations reconciling at the same time wait
//! for one download instead of each extracting the whole repository again (which made a
//! thousand Kustomizations of one repository cost a million file creations).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use gitops_core::api::GitRepository;
use gitops_core::fs::FileSystem;
use gitops_core::reconcile::{Fetched, Source};
use gitops_core::status::Artifact;
use gitops_core::{Error, SourceFailure};
use gitops_git::disk::DiskFs;
use gitops_git::download::open_url;
use gitops_git::extract::Limits;

/// How many opened artifacts stay extracted.
const KEPT: usize = 4;

/// An artifact being opened or opened, shared by whoever asks for it meanwhile.
type Opening = Arc<tokio::sync::OnceCell<Arc<DiskFs>>>;

/// Opens artifacts over HTTP for the Kustomization reconciler.
#[derive(Clone, Debug, Default)]
pub struct ArtifactFetcher {
    limits: Limits,
    /// The last [`KEPT`] artifacts opened, newest last, by URL and digest.
    opened: Arc<Mutex<VecDeque<(String, Opening)>>>,
}

impl ArtifactFetcher {
    /// A fetcher with the given download and extraction limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            opened: Arc::default(),
        }
    }

    /// The entry of `key`, created (and the oldest dropped) when absent.
    fn entry(&self, key: &str) -> Opening {
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(position) = opened.iter().position(|(k, _)| k == key)
            && let Some(entry) = opened.remove(position)
        {
            let cell = entry.1.clone();
            opened.push_back(entry);
            return cell;
        }
        let cell = Opening::default();
        opened.push_back((key.to_string(), cell.clone()));
        while opened.len() > KEPT {
            opened.pop_front();
        }
        cell
    }
}

#[async_trait]
impl Source for ArtifactFetcher {
    async fn fetch(
        &self,
        repository: &GitRepository,
        _last: Option<&Artifact>,
    ) -> Result<Fetched, Error> {
        Err(Error::Source {
            reason: SourceFailure::Git,
            message: format!(
                "the kustomize controller does not fetch GitRepository '{}/{}'; run the source controller",
                repository.metadata.namespace, repository.metadata.name
            ),
        })
    }

    async fn open(&self, artifact: &Artifact) -> Result<Arc<dyn FileSystem>, Error> {
        let key = format!("{} {}", artifact.url, artifact.digest);
        let cell = self.entry(&key);
        // A failed open leaves the cell empty: the next reconcile downloads again.
        let fs = cell
            .get_or_try_init(|| async {
                let fs = open_url(&artifact.url, &artifact.digest, &self.limits).await?;
                Ok::<_, Error>(Arc::new(fs))
            })
            .await?;
        Ok(fs.clone() as Arc<dyn FileSystem>)
    }
}
