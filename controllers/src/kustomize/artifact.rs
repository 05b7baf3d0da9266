//! The kustomize controller's side of artifacts: [`ArtifactFetcher`], the core's
//! [`Source`] that downloads a GitRepository's `status.artifact.url`, verifies it against
//! `status.artifact.digest` and extracts it (gitops-git's [`open_url`]).
//!
//! It never talks to Git: fetching is the source controller's job, so [`Source::fetch`]
//! refuses. The download is bounded by [`Limits`] and a digest mismatch fails before
//! anything is extracted, so a tampered or truncated artifact never reaches the renderer.

use std::sync::Arc;

use async_trait::async_trait;
use gitops_core::api::GitRepository;
use gitops_core::fs::FileSystem;
use gitops_core::reconcile::{Fetched, Source};
use gitops_core::status::Artifact;
use gitops_core::{Error, SourceFailure};
use gitops_git::download::open_url;
use gitops_git::extract::Limits;

/// Opens artifacts over HTTP for the Kustomization reconciler.
#[derive(Clone, Debug, Default)]
pub struct ArtifactFetcher {
    limits: Limits,
}

impl ArtifactFetcher {
    /// A fetcher with the given download and extraction limits.
    pub fn new(limits: Limits) -> Self {
        Self { limits }
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
        let fs = open_url(&artifact.url, &artifact.digest, &self.limits).await?;
        Ok(Arc::new(fs))
    }
}
