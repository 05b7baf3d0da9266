//! Flux's `GitRepository` and `Kustomization` as Kubernetes resources: the types the
//! controllers read and write through `kube::Api`, and the CRDs generated from them.
//!
//! Two versions of each kind are served, as Flux 2.7 did:
//!
//! - `v1` ([`GitRepository`], [`Kustomization`]), the storage version, whose schemas equal
//!   Flux's field for field (a test compares them with the CRDs Flux installs);
//! - `v1beta2` ([`v1beta2`]), deprecated, so that 2023-era manifests (with e.g.
//!   `gitImplementation: go-git`) still apply; the API server answers them with a deprecation
//!   warning, and [`unsupported`] names the fields they set that nothing acts on.
//!
//! The pure core ([`gitops_core::api`]) has its own runtime-free view of the same objects;
//! [`to_core`] converts through their shared JSON shape.
//!
//! ```
//! use gitops_controllers::api::{GitRepository, GitRepositorySpec};
//! use kube::Resource;
//! let repo = GitRepository::new("podinfo", GitRepositorySpec {
//!     url: "https://github.com/stefanprodan/podinfo".into(),
//!     interval: "1m".into(),
//!     ..Default::default()
//! });
//! assert_eq!(GitRepository::api_version(&()), "source.toolkit.fluxcd.io/v1");
//! assert_eq!(GitRepository::plural(&()), "gitrepositories");
//! assert_eq!(repo.spec.interval, "1m");
//! ```

pub mod common;
pub mod kustomize_v1;
pub mod source_v1;

pub use common::{Artifact, Condition, LocalObjectReference, SecretKeyReference};
pub use kustomize_v1::{Kustomization, KustomizationSpec, KustomizationStatus};
pub use source_v1::{GitRepository, GitRepositorySpec, GitRepositoryStatus};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A conversion between an API type and the core's view of it failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {kind} '{name}' as the core's type: {source}")]
pub struct ConversionError {
    /// The kind converted.
    pub kind: String,
    /// `namespace/name` of the object.
    pub name: String,
    /// What serde reported.
    #[source]
    pub source: serde_json::Error,
}

/// Converts an API object into another type with the same JSON shape, typically its view in
/// [`gitops_core::api`] (`gitops_core::api::GitRepository`, `gitops_core::api::Kustomization`),
/// whose unmodelled fields land in its `other` map.
pub fn to_core<K, T>(object: &K) -> Result<T, ConversionError>
where
    K: kube::Resource<DynamicType = ()> + Serialize,
    T: DeserializeOwned,
{
    let err = |source| ConversionError {
        kind: K::kind(&()).into_owned(),
        name: format!(
            "{}/{}",
            object.meta().namespace.as_deref().unwrap_or_default(),
            object.meta().name.as_deref().unwrap_or_default()
        ),
        source,
    };
    let value = serde_json::to_value(object).map_err(err)?;
    serde_json::from_value(value).map_err(err)
}
