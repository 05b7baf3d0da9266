//! [`GitSource`]: the [`gitops_core::reconcile::Source`] of the source controller, fetching
//! with [`crate::fetch`] and storing into a [`Store`].

use std::sync::Arc;

use async_trait::async_trait;
use gitops_core::api::GitRepository;
use gitops_core::fs::FileSystem;
use gitops_core::reconcile::{Fetched, Source};
use gitops_core::status::Artifact;
use tracing::Instrument as _;

use crate::Error;
use crate::auth::{Auth, SecretReader};
use crate::disk::DiskFs;
use crate::extract::{Limits, extract};
use crate::fetch::{FetchOptions, FetchOutcome, fetch};
use crate::store::Store;

/// Fetches GitRepositories with gitoxide and keeps their artifacts in a [`Store`].
///
/// Credentials come from the Secret named by `spec.secretRef`, read through a
/// [`SecretReader`]. A fetch whose remote ref still points at the last artifact's revision
/// returns [`Fetched::Unchanged`] after listing refs only, provided that artifact is still in
/// the store. [`Source::open`] verifies the artifact's digest and extracts it (within
/// [`Limits`]) into a temporary directory that lives as long as the returned file system.
///
/// ```no_run
/// # async fn demo() -> Result<(), gitops_core::Error> {
/// use gitops_core::reconcile::Source;
/// use gitops_git::{GitSource, Store, StaticSecrets};
/// let source = GitSource::new(Store::new("/data").unwrap(), StaticSecrets::new())
///     .with_base_url("http://source-controller.flux-system.svc.cluster.local.");
/// let repo: gitops_core::api::GitRepository = serde_json::from_str(r#"{
///   "metadata": {"name": "podinfo", "namespace": "flux-system"},
///   "spec": {"url": "https://example.invalid/podinfo.git", "interval": "1m", "ref": {"branch": "main"}}
/// }"#).unwrap();
/// let fetched = source.fetch(&repo, None).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct GitSource<S> {
    store: Store,
    secrets: S,
    base_url: String,
    limits: Limits,
}

impl<S: SecretReader> GitSource<S> {
    /// A source storing into `store`, reading Secrets through `secrets`.
    pub fn new(store: Store, secrets: S) -> Self {
        Self {
            store,
            secrets,
            base_url: "http://localhost".into(),
            limits: Limits::default(),
        }
    }

    /// The address artifacts are served from (Flux's `--storage-adv-addr`, with scheme);
    /// an artifact's URL is this plus `/` plus its path.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into().trim_end_matches('/').to_string();
        self
    }

    /// Limits for [`Source::open`]'s extraction.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    async fn auth(&self, repo: &GitRepository) -> Result<Auth, Error> {
        let Some(secret) = &repo.spec.secret_ref else {
            return Ok(Auth::none());
        };
        let namespace = &repo.metadata.namespace;
        let data = self.secrets.read(namespace, &secret.name).await?;
        Auth::from_secret(&format!("{namespace}/{}", secret.name), &data)
    }

    async fn fetch_and_store(
        &self,
        repo: &GitRepository,
        last: Option<&Artifact>,
    ) -> Result<Fetched, Error> {
        let timeout = repo.timeout()?;
        let auth = self.auth(repo).await?;
        // Only trust `last` when its file is still there to be served.
        let last_revision = last
            .filter(|a| self.store.file(&a.path).is_ok_and(|p| p.is_file()))
            .map(|a| a.revision.clone());
        let options = FetchOptions::default()
            .with_timeout(timeout)
            .with_last(last_revision);
        let commit = match fetch(&repo.spec.url, &repo.checkout(), &auth, options).await? {
            FetchOutcome::Unchanged(revision) => {
                tracing::debug!(%revision, "no changes since last reconciliation");
                return Ok(Fetched::Unchanged);
            }
            FetchOutcome::Fetched(commit) => commit,
        };
        let revision = commit.revision().clone();
        let subject = commit.subject().to_string();
        let store = self.store.clone();
        let namespace = repo.metadata.namespace.clone();
        let name = repo.metadata.name.clone();
        let ignore = repo.spec.ignore.clone();
        let hex = revision.commit().hex().to_string();
        let stored = tokio::task::spawn_blocking(move || {
            store.put(&namespace, &name, &hex, |packer| {
                commit.pack(packer, ignore.as_deref()).map(|_| ())
            })
        })
        .await
        .map_err(|e| Error::InvalidArchive {
            reason: format!("the packing task failed: {e}"),
        })??;
        tracing::info!(%revision, digest = %stored.digest, "stored artifact");
        Ok(Fetched::Stored {
            artifact: Artifact {
                url: format!("{}/{}", self.base_url, stored.path),
                path: stored.path,
                revision,
                digest: stored.digest,
                last_update_time: jiff::Timestamp::now(),
                size: Some(stored.size),
                metadata: Default::default(),
            },
            subject,
        })
    }
}

#[async_trait]
impl<S: SecretReader> Source for GitSource<S> {
    async fn fetch(
        &self,
        repository: &GitRepository,
        last: Option<&Artifact>,
    ) -> Result<Fetched, gitops_core::Error> {
        let span = tracing::info_span!(
            "gitrepository",
            key = %format!("{}/{}", repository.metadata.namespace, repository.metadata.name),
            url = %crate::fetch::redact_url(&repository.spec.url),
        );
        self.fetch_and_store(repository, last)
            .instrument(span)
            .await
            .map_err(gitops_core::Error::from)
    }

    async fn open(&self, artifact: &Artifact) -> Result<Arc<dyn FileSystem>, gitops_core::Error> {
        let store = self.store.clone();
        let limits = self.limits;
        let artifact = artifact.clone();
        let fs = tokio::task::spawn_blocking(move || -> Result<DiskFs, Error> {
            let bytes = store.read_verified(&artifact.path, &artifact.digest)?;
            let dir = tempfile::Builder::new()
                .prefix("gitops-artifact-")
                .tempdir()
                .map_err(|e| Error::io("create extraction directory", std::env::temp_dir(), e))?;
            extract(bytes.as_slice(), dir.path(), &limits)?;
            DiskFs::owning(dir)
        })
        .await
        .map_err(|e| gitops_core::Error::Source {
            reason: gitops_core::SourceFailure::Artifact,
            message: format!("the extraction task failed: {e}"),
        })??;
        Ok(Arc::new(fs))
    }
}
