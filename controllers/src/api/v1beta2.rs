//! The deprecated `v1beta2` versions of GitRepository and Kustomization, served so that
//! manifests written for Flux 2.0-2.7 (2023-era `gitImplementation: go-git`,
//! `patchesStrategicMerge`, `validation: client`) still apply.
//!
//! The API server stores every object as `v1` and converts between versions by rewriting
//! `apiVersion` only (conversion strategy `None`), so the two schemas are kept structurally
//! compatible: each `v1beta2` field either exists in `v1` with the same shape or is one the
//! controllers never act on, and [`crate::api::unsupported`] reports those.
//! The API server's answer to a request for this version carries Flux's deprecation warning
//! ([`GITREPOSITORY_DEPRECATION`], [`KUSTOMIZATION_DEPRECATION`]).

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::{
    Artifact, Condition, DURATION_PATTERN, LocalObjectReference, TIMEOUT_PATTERN, is_false,
};
use super::kustomize_v1::{
    CommonMetadata, Image, KubeConfigReference, NamespacedObjectKindReference, Patch,
    ResourceInventory, Selector, SubstituteReference,
};
use super::source_v1::{GitRepositoryInclude, GitRepositoryRef, URL_PATTERN};

/// The warning the API server returns for a `v1beta2` GitRepository request (Flux's words).
pub const GITREPOSITORY_DEPRECATION: &str = "v1beta2 GitRepository is deprecated, upgrade to v1";
/// The warning the API server returns for a `v1beta2` Kustomization request (Flux's words).
pub const KUSTOMIZATION_DEPRECATION: &str = "v1beta2 Kustomization is deprecated, upgrade to v1";

/// `spec` of a `v1beta2` GitRepository.
// `printcolumn(.., type_ = "string")` repeats by design: one column each.
#[allow(clippy::duplicated_attributes)]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, CustomResource)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    namespaced,
    status = "GitRepositoryStatus",
    schema = "disabled",
    deprecated = "v1beta2 GitRepository is deprecated, upgrade to v1",
    served = true,
    storage = false,
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn(json_path = ".spec.url", name = "URL", type_ = "string"),
    printcolumn(
        json_path = ".metadata.creationTimestamp",
        name = "Age",
        type_ = "date"
    ),
    printcolumn(
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        name = "Ready",
        type_ = "string"
    ),
    printcolumn(
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        name = "Status",
        type_ = "string"
    ),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// Which namespaces may refer to this source (never implemented by Flux; ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
    /// The Git library (`go-git`, `libgit2`); ignored since Flux 2.0 made go-git the only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["go-git", "libgit2"], "default" = "go-git"))]
    pub git_implementation: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// As in `v1`.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recurse_submodules: bool,
    /// As in `v1`.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<String>,
    /// As in `v1`.
    #[schemars(regex(pattern = URL_PATTERN))]
    pub url: String,
    /// Verify the signature of the commit at HEAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<GitRepositoryVerification>,
}

/// `spec.accessFrom` of a `v1beta2` GitRepository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessFrom {
    /// Namespaces selected by labels.
    pub namespace_selectors: Vec<NamespaceSelector>,
}

/// A namespace selector of `spec.accessFrom`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Labels the namespace must have.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

/// `spec.verify` of a `v1beta2` GitRepository: only the commit at HEAD could be verified.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// `head`.
    #[schemars(extend("enum" = ["head"]))]
    pub mode: String,
    /// A Secret with the trusted PGP public keys.
    pub secret_ref: LocalObjectReference,
}

/// `status` of a `v1beta2` GitRepository.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// A checksum of the spec fields that shaped the artifact (replaced by the `observed*`
    /// fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_config_checksum: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_artifacts: Vec<Artifact>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_include: Vec<GitRepositoryInclude>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub observed_recurse_submodules: bool,
    /// The artifact's URL (moved to `artifact.url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// `spec` of a `v1beta2` Kustomization.
// `printcolumn(.., type_ = "string")` repeats by design: one column each.
#[allow(clippy::duplicated_attributes)]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema, CustomResource)]
#[kube(
    group = "kustomize.toolkit.fluxcd.io",
    version = "v1beta2",
    kind = "Kustomization",
    plural = "kustomizations",
    singular = "kustomization",
    namespaced,
    status = "KustomizationStatus",
    schema = "disabled",
    deprecated = "v1beta2 Kustomization is deprecated, upgrade to v1",
    served = true,
    storage = false,
    shortname = "ks",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn(
        json_path = ".metadata.creationTimestamp",
        name = "Age",
        type_ = "date"
    ),
    printcolumn(
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        name = "Ready",
        type_ = "string"
    ),
    printcolumn(
        json_path = ".status.conditions[?(@.type==\"Ready\")].message",
        name = "Status",
        type_ = "string"
    ),
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<String>,
    /// As in `v1`, without `serviceAccountName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<Decryption>,
    /// As in `v1`, without `readyExpr`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<NamespacedObjectReference>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "is_false")]
    #[schemars(extend("default" = false))]
    pub force: bool,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<NamespacedObjectKindReference>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
    /// As in `v1`.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_config: Option<KubeConfigReference>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<Patch>,
    /// JSON 6902 patches (replaced by `patches`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches_json6902: Vec<JsonPatch>,
    /// Strategic merge patches (replaced by `patches`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("items" = {"x-kubernetes-preserve-unknown-fields": true}))]
    pub patches_strategic_merge: Vec<Value>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// As in `v1`, without `substituteStrategy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_build: Option<PostBuild>,
    /// As in `v1`.
    pub prune: bool,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub retry_interval: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// As in `v1`, without `ExternalArtifact`.
    pub source_ref: CrossNamespaceSourceReference,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub target_namespace: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub timeout: Option<String>,
    /// Validate the build client- or server-side before applying (`none`, `client`,
    /// `server`); ignored since Flux 0.26 always validates server-side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["none", "client", "server"]))]
    pub validation: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub wait: bool,
}

/// `spec.decryption` of a `v1beta2` Kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decryption {
    /// The decryption engine; only `sops`.
    #[schemars(extend("enum" = ["sops"]))]
    pub provider: String,
    /// A Secret with the private keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
}

/// `spec.postBuild` of a `v1beta2` Kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostBuild {
    /// Variables inline; they win over `substituteFrom`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub substitute: BTreeMap<String, String>,
    /// ConfigMaps and Secrets whose data are variables; later ones win.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub substitute_from: Vec<SubstituteReference>,
}

/// `spec.dependsOn[]` of a `v1beta2` Kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NamespacedObjectReference {
    /// Name of the Kustomization depended on.
    pub name: String,
    /// Its namespace; the dependent's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `spec.sourceRef` of a `v1beta2` Kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the source.
    #[schemars(extend("enum" = ["OCIRepository", "GitRepository", "Bucket"]))]
    pub kind: String,
    /// Name of the source.
    pub name: String,
    /// Namespace of the source; the Kustomization's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// `spec.patchesJson6902[]`: JSON 6902 operations and the objects they apply to.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonPatch {
    /// The operations.
    pub patch: Vec<JsonPatchOperation>,
    /// The objects to patch.
    pub target: Selector,
}

/// One RFC 6902 operation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JsonPatchOperation {
    /// The source path of `move` and `copy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// `test`, `remove`, `add`, `replace`, `move` or `copy`.
    #[schemars(extend("enum" = ["test", "remove", "add", "replace", "move", "copy"]))]
    pub op: String,
    /// The target path.
    pub path: String,
    /// The value of `add`, `replace` and `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
    pub value: Option<Value>,
}

/// `status` of a `v1beta2` Kustomization.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// As in `v1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
