//! The consumer side of artifacts: download one over HTTP, verify its digest, extract it.
//!
//! This is what the kustomize controller does with a GitRepository's `status.artifact`:
//! fetch `artifact.url`, check the bytes against `artifact.digest`, and unpack them with the
//! limits of [`crate::extract`]. The download itself is capped at
//! [`Limits::max_bytes`], so a hostile or broken server cannot fill the disk or memory.
//!
//! ```no_run
//! # async fn demo(artifact: gitops_core::status::Artifact) -> Result<(), gitops_git::Error> {
//! use gitops_core::fs::FileSystem;
//! use gitops_git::download::open_url;
//! use gitops_git::extract::Limits;
//! let fs = open_url(&artifact.url, &artifact.digest, &Limits::default()).await?;
//! let kustomization = fs.read("kustomization.yaml");
//! # Ok(()) }
//! ```

use std::time::Duration;

use gitops_core::Digest;

use crate::Error;
use crate::disk::DiskFs;
use crate::extract::{Limits, extract};
use crate::fetch::{install_crypto_provider, redact_url};
use crate::store::verify;

fn failed(url: &str, reason: impl Into<String>) -> Error {
    Error::Download {
        url: redact_url(url),
        reason: reason.into(),
    }
}

/// Downloads the artifact at `url` and checks it against `digest`. Refuses bodies larger
/// than `limits.max_bytes`. A 404 reads as "artifact not found".
pub async fn download(url: &str, digest: &Digest, limits: &Limits) -> Result<Vec<u8>, Error> {
    install_crypto_provider();
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(300))
        .build()
        .map_err(|e| failed(url, format!("building the HTTP client: {e}")))?;
    let mut response = client
        .get(url)
        .send()
        .await
        .map_err(|e| failed(url, e.without_url().to_string()))?;
    let status = response.status();
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(failed(url, "artifact not found"));
    }
    if !status.is_success() {
        return Err(failed(url, format!("the server answered {status}")));
    }
    if response
        .content_length()
        .is_some_and(|len| len > limits.max_bytes)
    {
        return Err(failed(
            url,
            format!("the artifact is larger than {} bytes", limits.max_bytes),
        ));
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failed(url, e.without_url().to_string()))?
    {
        if bytes.len() as u64 + chunk.len() as u64 > limits.max_bytes {
            return Err(failed(
                url,
                format!("the artifact is larger than {} bytes", limits.max_bytes),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    verify(&redact_url(url), &bytes, digest)?;
    Ok(bytes)
}

/// Downloads, verifies and extracts the artifact at `url` into a temporary directory that
/// lives as long as the returned file system.
pub async fn open_url(url: &str, digest: &Digest, limits: &Limits) -> Result<DiskFs, Error> {
    let bytes = download(url, digest, limits).await?;
    let limits = *limits;
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::Builder::new()
            .prefix("gitops-artifact-")
            .tempdir()
            .map_err(|e| Error::io("create extraction directory", std::env::temp_dir(), e))?;
        extract(bytes.as_slice(), dir.path(), &limits)?;
        DiskFs::owning(dir)
    })
    .await
    .map_err(|e| Error::InvalidArchive {
        reason: format!("the extraction task failed: {e}"),
    })?
}
