//! Flux's `GitRepository` (`source.toolkit.fluxcd.io/v1`) and `Kustomization`
//! (`kustomize.toolkit.fluxcd.io/v1`) as plain data, with the same field names, so the YAML
//! users already have deserialises unchanged.
//!
//! The controllers serve these kinds with Flux's own CRD schemas; here they are only the
//! values the reconcilers read. Fields the reconcilers do not act on yet are still parsed, so
//! that they can be reported instead of silently ignored ([`Kustomization::unsupported_fields`]).
//!
//! ```
//! use gitops_core::api::Kustomization;
//! let ks: Kustomization = serde_json::from_value(serde_json::json!({
//!     "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
//!     "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1},
//!     "spec": {"interval": "10m", "path": "./apps", "prune": true,
//!              "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
//! })).unwrap();
//! assert_eq!(ks.spec.source_ref.name, "flux-system");
//! assert_eq!(ks.timeout().unwrap().as_secs(), 570);
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schedule::{self, parse_duration};
use crate::status::{GitRepositoryStatus, KustomizationStatus};
use crate::{Error, Object, ObjectRef};

/// The finalizer Flux's controllers put on their objects.
pub const FINALIZER: &str = "finalizers.fluxcd.io";
/// The annotation that asks for an immediate reconciliation.
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";
/// The API group of GitRepository.
pub const SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";
/// The API group of Kustomization.
pub const KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";

/// The metadata the reconcilers read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Meta {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default)]
    pub namespace: String,
    /// Generation, bumped by the API server on spec changes.
    #[serde(default)]
    pub generation: i64,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Finalizers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
    /// Set when deletion was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<Timestamp>,
    /// The server-assigned uid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The server-assigned resource version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

impl Meta {
    /// The value of `reconcile.fluxcd.io/requestedAt`, if set.
    pub fn requested_at(&self) -> Option<&str> {
        self.annotations
            .get(REQUESTED_AT_ANNOTATION)
            .map(String::as_str)
    }

    /// Whether the finalizer is present.
    pub fn has_finalizer(&self) -> bool {
        self.finalizers.iter().any(|f| f == FINALIZER)
    }
}

/// A reference to an object in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalObjectReference {
    /// Name.
    pub name: String,
}

/// `spec.ref` of a GitRepository. Precedence (later wins): branch, tag, semver, name, commit.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRef {
    /// A branch name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A tag name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// A semver range over tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// A full reference name, e.g. `refs/pull/1/head`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A commit id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// What a GitRepository checks out, after Flux's precedence is applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Checkout {
    /// The head of a branch.
    Branch(String),
    /// A tag.
    Tag(String),
    /// The highest tag matching a semver range.
    Semver(String),
    /// A full reference name.
    Name(String),
    /// A commit, found in `branch` when given.
    Commit {
        /// The commit id.
        commit: String,
        /// The branch to fetch it from.
        branch: Option<String>,
    },
}

impl GitRef {
    /// What to check out: `commit` beats `name` beats `semver` beats `tag` beats `branch`;
    /// with nothing set, the branch `master`.
    pub fn checkout(&self) -> Checkout {
        if let Some(commit) = &self.commit {
            return Checkout::Commit {
                commit: commit.clone(),
                branch: self.branch.clone(),
            };
        }
        if let Some(name) = &self.name {
            return Checkout::Name(name.clone());
        }
        if let Some(semver) = &self.semver {
            return Checkout::Semver(semver.clone());
        }
        if let Some(tag) = &self.tag {
            return Checkout::Tag(tag.clone());
        }
        Checkout::Branch(self.branch.clone().unwrap_or_else(|| "master".into()))
    }
}

/// `spec` of a GitRepository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// The repository URL (`http`, `https` or `ssh`).
    pub url: String,
    /// The poll interval, a Go duration.
    pub interval: String,
    /// Timeout for Git operations, default `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// What to check out.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRef>,
    /// The Secret with credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Ignore rules in gitignore syntax; replace Flux's default exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stop reconciling.
    #[serde(default)]
    pub suspend: bool,
    /// Fields this implementation parses but does not act on yet.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A Flux `GitRepository`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitRepository {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: GitRepositorySpec,
    /// Status.
    #[serde(default)]
    pub status: GitRepositoryStatus,
}

impl GitRepository {
    /// The poll interval.
    pub fn interval(&self) -> Result<Duration, Error> {
        parse_duration("spec.interval", &self.spec.interval)
    }

    /// The Git operation timeout, `60s` by default.
    pub fn timeout(&self) -> Result<Duration, Error> {
        match &self.spec.timeout {
            Some(t) => parse_duration("spec.timeout", t),
            None => Ok(schedule::GIT_DEFAULT_TIMEOUT),
        }
    }

    /// What to check out.
    pub fn checkout(&self) -> Checkout {
        self.spec.reference.clone().unwrap_or_default().checkout()
    }

    /// Spec fields that are set but not acted on by this implementation yet, sorted
    /// (`include`, `recurseSubmodules`, `verify`, `sparseCheckout`, `proxySecretRef`, a
    /// `provider` other than `generic`, `serviceAccountName`, ...).
    pub fn unsupported_fields(&self) -> Vec<String> {
        self.spec
            .other
            .iter()
            // `provider: generic` is the default: credentials from the Secret.
            .filter(|(k, v)| !(is_empty_value(v) || (*k == "provider" && *v == "generic")))
            .map(|(k, _)| format!("spec.{k}"))
            .collect()
    }

    /// `GitRepository/<namespace>/<name>`.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(
            SOURCE_GROUP,
            "GitRepository",
            &self.metadata.namespace,
            &self.metadata.name,
        )
    }

    /// Reads a GitRepository from an object.
    pub fn from_object(object: &Object) -> Result<Self, Error> {
        from_object(object)
    }

    /// The GitRepository as an object (`source.toolkit.fluxcd.io/v1`).
    pub fn to_object(&self) -> Result<Object, Error> {
        to_object(self, &format!("{SOURCE_GROUP}/v1"), "GitRepository")
    }
}

/// `spec.sourceRef` of a Kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceReference {
    /// API version of the source, e.g. `source.toolkit.fluxcd.io/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source, e.g. `GitRepository`.
    pub kind: String,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source, the Kustomization's own by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// An entry of `spec.dependsOn`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the Kustomization depended on.
    pub name: String,
    /// Its namespace, the dependent's own by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A CEL expression replacing the built-in readiness check (not evaluated yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

/// An entry of `spec.healthChecks`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckReference {
    /// API version, e.g. `apps/v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `spec.commonMetadata`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommonMetadata {
    /// Labels set on every object.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Annotations set on every object.
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

/// `spec.patches[].target` of a Kustomization: which objects a patch applies to. `name` and
/// `namespace` are regular expressions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PatchSelector {
    /// API group.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    /// API version.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Kind.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Name regular expression.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Namespace regular expression.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Label selector.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub label_selector: String,
    /// Label selector over annotations.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub annotation_selector: String,
}

/// An entry of a Kustomization's `spec.patches`: a strategic merge or JSON 6902 patch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchSpec {
    /// The patch, inline YAML or JSON.
    pub patch: String,
    /// The objects to patch; a strategic merge patch names its target itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PatchSelector>,
}

/// An entry of a Kustomization's `spec.images`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageSpec {
    /// The image name to match.
    pub name: String,
    /// The replacement name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name: Option<String>,
    /// The replacement tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_tag: Option<String>,
    /// The replacement digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// An entry of `spec.postBuild.substituteFrom`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubstituteReference {
    /// `ConfigMap` or `Secret`.
    pub kind: String,
    /// Its name, in the Kustomization's namespace.
    pub name: String,
    /// A missing source is not an error.
    #[serde(default)]
    pub optional: bool,
}

/// `spec.postBuild`: variable substitution after the build (see [`crate::substitute`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables inline; they beat those of `substituteFrom`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub substitute: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose data are variables; later ones override earlier ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
    /// `WithVariables` (default) or `Always`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub substitute_strategy: Option<String>,
}

impl CommonMetadata {
    /// Sets the labels and annotations on `object`, overriding keys it already has.
    pub fn apply_to(&self, object: &mut Object) {
        for (k, v) in &self.labels {
            object.set_label(k, v);
        }
        for (k, v) in &self.annotations {
            object.set_annotation(k, v);
        }
    }
}

/// `spec` of a Kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// The source of the manifests.
    pub source_ref: SourceReference,
    /// Path inside the artifact, the root by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Reconcile interval.
    pub interval: String,
    /// Interval after a failure, `interval` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<String>,
    /// Timeout for fetch, build, apply and health checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Delete objects removed from the source.
    pub prune: bool,
    /// Recreate objects whose immutable fields changed.
    #[serde(default)]
    pub force: bool,
    /// Wait for every applied object to become healthy.
    #[serde(default)]
    pub wait: bool,
    /// Objects to health-check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<HealthCheckReference>,
    /// Kustomizations that must be ready first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependencyReference>,
    /// Stop reconciling.
    #[serde(default)]
    pub suspend: bool,
    /// Namespace set on every namespaced object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_namespace: Option<String>,
    /// Prefix added to every object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_prefix: Option<String>,
    /// Suffix added to every object's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_suffix: Option<String>,
    /// Patches appended to the kustomization's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<PatchSpec>,
    /// Image overrides merged into the kustomization's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<ImageSpec>,
    /// Components appended to the kustomization's, relative to `path`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// Drop listed components whose directory does not exist instead of failing.
    #[serde(default)]
    pub ignore_missing_components: bool,
    /// Variable substitution after the build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// Labels and annotations set on every object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// Service account to impersonate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Fields this implementation parses but does not act on yet (decryption, kubeConfig,
    /// healthCheckExprs, ...).
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

/// A Flux `Kustomization`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kustomization {
    /// Metadata.
    pub metadata: Meta,
    /// Spec.
    pub spec: KustomizationSpec,
    /// Status.
    #[serde(default)]
    pub status: KustomizationStatus,
}

impl Kustomization {
    /// The reconcile interval.
    pub fn interval(&self) -> Result<Duration, Error> {
        parse_duration("spec.interval", &self.spec.interval)
    }

    /// The retry interval after a failure.
    pub fn retry_interval(&self) -> Result<Duration, Error> {
        let retry = match &self.spec.retry_interval {
            Some(r) => Some(parse_duration("spec.retryInterval", r)?),
            None => None,
        };
        Ok(schedule::retry_interval(self.interval()?, retry))
    }

    /// The effective timeout (`interval - 30s`, at least 30s, unless set).
    pub fn timeout(&self) -> Result<Duration, Error> {
        let timeout = match &self.spec.timeout {
            Some(t) => Some(parse_duration("spec.timeout", t)?),
            None => None,
        };
        Ok(schedule::kustomization_timeout(self.interval()?, timeout))
    }

    /// The source's reference, with the namespace defaulted to the Kustomization's.
    pub fn source_object_ref(&self) -> ObjectRef {
        let sr = &self.spec.source_ref;
        let group = sr
            .api_version
            .as_deref()
            .map(|v| crate::split_api_version(v).0)
            .unwrap_or(SOURCE_GROUP);
        ObjectRef::new(
            group,
            &sr.kind,
            sr.namespace.as_deref().unwrap_or(&self.metadata.namespace),
            &sr.name,
        )
    }

    /// `Kustomization/<namespace>/<name>`.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(
            KUSTOMIZE_GROUP,
            "Kustomization",
            &self.metadata.namespace,
            &self.metadata.name,
        )
    }

    /// The kustomize fields this Kustomization lays over the kustomization it builds.
    pub fn overlay(&self) -> crate::render::Overlay {
        let spec = &self.spec;
        crate::render::Overlay {
            target_namespace: spec.target_namespace.clone(),
            name_prefix: spec.name_prefix.clone(),
            name_suffix: spec.name_suffix.clone(),
            patches: spec
                .patches
                .iter()
                .map(|p| crate::render::Patch {
                    patch: Some(p.patch.clone()),
                    target: p.target.as_ref().map(|t| crate::render::Selector {
                        group: t.group.clone(),
                        version: t.version.clone(),
                        kind: t.kind.clone(),
                        name: t.name.clone(),
                        namespace: t.namespace.clone(),
                        label_selector: t.label_selector.clone(),
                        annotation_selector: t.annotation_selector.clone(),
                    }),
                    ..Default::default()
                })
                .collect(),
            images: spec
                .images
                .iter()
                .map(|i| crate::render::Image {
                    name: i.name.clone(),
                    new_name: i.new_name.clone(),
                    new_tag: i.new_tag.clone(),
                    digest: i.digest.clone(),
                    ..Default::default()
                })
                .collect(),
            components: spec.components.clone(),
            ignore_missing_components: spec.ignore_missing_components,
        }
    }

    /// Spec fields that are set but not acted on by this implementation yet, sorted.
    pub fn unsupported_fields(&self) -> Vec<String> {
        self.spec
            .other
            .iter()
            .filter(|(_, v)| !is_empty_value(v))
            .map(|(k, _)| format!("spec.{k}"))
            .collect()
    }

    /// Reads a Kustomization from an object.
    pub fn from_object(object: &Object) -> Result<Self, Error> {
        from_object(object)
    }

    /// The Kustomization as an object (`kustomize.toolkit.fluxcd.io/v1`).
    pub fn to_object(&self) -> Result<Object, Error> {
        to_object(self, &format!("{KUSTOMIZE_GROUP}/v1"), "Kustomization")
    }
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

fn to_object<T: Serialize>(value: &T, api_version: &str, kind: &str) -> Result<Object, Error> {
    let invalid = |reason: String| Error::InvalidSpec {
        object: kind.into(),
        field: "spec".into(),
        reason,
    };
    let mut v = serde_json::to_value(value).map_err(|e| invalid(e.to_string()))?;
    if let Value::Object(map) = &mut v {
        map.insert("apiVersion".into(), Value::String(api_version.into()));
        map.insert("kind".into(), Value::String(kind.into()));
    }
    Object::from_value(v)
}

fn from_object<T: serde::de::DeserializeOwned>(object: &Object) -> Result<T, Error> {
    serde_json::from_value(object.to_value()).map_err(|e| Error::InvalidSpec {
        object: object.object_ref().to_string(),
        field: "spec".into(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ref_precedence_follows_flux() {
        let r = |v: Value| serde_json::from_value::<GitRef>(v).unwrap().checkout();
        assert_eq!(r(json!({})), Checkout::Branch("master".into()));
        assert_eq!(
            r(json!({"branch": "main", "tag": "v1"})),
            Checkout::Tag("v1".into())
        );
        assert_eq!(
            r(json!({"tag": "v1", "semver": ">=1"})),
            Checkout::Semver(">=1".into())
        );
        assert_eq!(
            r(json!({"semver": ">=1", "name": "refs/pull/1/head"})),
            Checkout::Name("refs/pull/1/head".into())
        );
        assert_eq!(
            r(json!({"branch": "main", "name": "refs/x", "commit": "abc"})),
            Checkout::Commit {
                commit: "abc".into(),
                branch: Some("main".into())
            }
        );
    }

    #[test]
    fn kustomization_defaults_and_unsupported_fields() {
        let ks: Kustomization = serde_json::from_value(json!({
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"interval": "1m", "prune": false, "sourceRef": {"kind": "GitRepository", "name": "repo"},
                     "postBuild": {"substitute": {"a": "b"}}, "patches": [],
                     "decryption": {"provider": "sops"}}
        }))
        .unwrap();
        assert_eq!(ks.timeout().unwrap(), Duration::from_secs(30));
        assert_eq!(ks.retry_interval().unwrap(), Duration::from_secs(60));
        assert_eq!(ks.unsupported_fields(), vec!["spec.decryption"]);
        assert_eq!(ks.spec.post_build.as_ref().unwrap().substitute["a"], "b");
        assert_eq!(
            ks.source_object_ref(),
            ObjectRef::new(SOURCE_GROUP, "GitRepository", "flux-system", "repo")
        );
        assert_eq!(ks.status.observed_generation, -1);
    }

    #[test]
    fn invalid_interval_names_the_field() {
        let repo = GitRepository {
            spec: GitRepositorySpec {
                interval: "soon".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            repo.interval().unwrap_err().to_string(),
            "invalid duration 'soon' in field 'spec.interval': expected a Go duration such as 1m30s"
        );
        assert_eq!(repo.timeout().unwrap(), Duration::from_secs(60));
    }
}
