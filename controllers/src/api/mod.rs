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
//! [`to_core`] converts an object into it and [`from_core`] converts what the core computed
//! (a status) back, both through their shared JSON shape, so the core stays free of kube.
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
pub mod crd;
pub mod kustomize_v1;
pub mod source_v1;
pub mod unsupported;
pub mod v1beta2;

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

/// Converts a value of the core into the API type of the same JSON shape, typically a status
/// the core's reconciler computed (`gitops_core::status::GitRepositoryStatus`) into the
/// [`GitRepositoryStatus`] the controller writes.
pub fn from_core<T, A>(value: &T) -> Result<A, serde_json::Error>
where
    T: Serialize,
    A: DeserializeOwned,
{
    serde_json::from_value(serde_json::to_value(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_objects_convert_to_the_core_types() {
        let repo: GitRepository = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system", "generation": 2},
            "spec": {"url": "https://example.invalid/podinfo", "interval": "5m", "timeout": "60s",
                     "ref": {"branch": "main"}, "recurseSubmodules": true},
            "status": {"observedGeneration": -1},
        }))
        .unwrap();
        let core: gitops_core::api::GitRepository = to_core(&repo).unwrap();
        assert_eq!(core.metadata.generation, 2);
        assert_eq!(
            core.checkout(),
            gitops_core::api::Checkout::Branch("main".into())
        );
        assert_eq!(
            core.spec.other.keys().collect::<Vec<_>>(),
            ["recurseSubmodules"]
        );
        assert_eq!(core.status.observed_generation, -1);

        let ks = Kustomization::new(
            "apps",
            KustomizationSpec {
                interval: "10m".into(),
                prune: true,
                source_ref: kustomize_v1::CrossNamespaceSourceReference {
                    kind: "GitRepository".into(),
                    name: "podinfo".into(),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
        let core: gitops_core::api::Kustomization = to_core(&ks).unwrap();
        assert_eq!(core.timeout().unwrap().as_secs(), 570);
        assert!(core.unsupported_fields().is_empty());
    }

    #[test]
    fn core_statuses_convert_to_the_api_types() {
        let now = "2026-01-01T00:00:00Z".parse().unwrap();
        let revision: gitops_core::Revision = "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc"
            .parse()
            .unwrap();
        let mut core = gitops_core::status::KustomizationStatus::default();
        core.conditions.set(
            gitops_core::status::condition::READY,
            gitops_core::status::ConditionStatus::True,
            gitops_core::status::reason::RECONCILIATION_SUCCEEDED,
            gitops_core::status::message::applied_revision(&revision),
            3,
            now,
        );
        core.last_applied_revision = Some(revision);
        let status: KustomizationStatus = from_core(&core).unwrap();
        assert_eq!(status.observed_generation, Some(-1));
        assert_eq!(
            status.last_applied_revision.as_deref(),
            Some("main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc")
        );
        let ready = &status.conditions[0];
        assert_eq!(
            (
                ready.type_.as_str(),
                ready.status.as_str(),
                ready.observed_generation
            ),
            ("Ready", "True", Some(3))
        );
        assert_eq!(ready.last_transition_time, "2026-01-01T00:00:00Z");
        assert_eq!(
            ready.message,
            "Applied revision: main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc"
        );
    }

    #[test]
    fn a_shape_the_core_refuses_names_the_object() {
        let mut repo = GitRepository::new("podinfo", GitRepositorySpec::default());
        repo.metadata.namespace = Some("flux-system".into());
        repo.status = Some(GitRepositoryStatus {
            conditions: vec![Condition {
                last_transition_time: "not a time".into(),
                ..Default::default()
            }],
            ..Default::default()
        });
        let err = to_core::<_, gitops_core::api::GitRepository>(&repo).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "cannot read GitRepository 'flux-system/podinfo' as the core's type: "
            ),
            "{err}"
        );
    }
}
