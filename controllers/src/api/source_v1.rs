//! `source.toolkit.fluxcd.io/v1` `GitRepository`: a Git repository whose chosen revision the
//! source controller packs into an artifact.
//!
//! Field names, optionality, defaults and validation follow Flux's CRD, so the manifests users
//! already have apply unchanged; [`crate::api::crd`] turns these types into the CRD.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{
    Artifact, Condition, DURATION_PATTERN, LocalObjectReference, TIMEOUT_PATTERN, is_false,
};

/// The URLs Flux accepts for a repository: HTTP(S) and SSH only (no `file://`, no scp form).
pub const URL_PATTERN: &str = "^(http|https|ssh)://.*$";

/// `spec` of a GitRepository: where the repository is, which revision to follow, how often to
/// look, and what to leave out of the artifact.
// `printcolumn(.., type_ = "string")` repeats by design: one column each.
#[allow(clippy::duplicated_attributes)]
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, CustomResource,
)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    plural = "gitrepositories",
    singular = "gitrepository",
    namespaced,
    status = "GitRepositoryStatus",
    schema = "disabled",
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
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "serviceAccountName can only be set when provider is 'azure' or 'aws'",
    "rule": "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))"
}]))]
pub struct GitRepositorySpec {
    /// Rules in `.sourceignore` (gitignore) syntax for files to leave out of the artifact;
    /// they replace the default exclusions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Other GitRepositories whose artifact contents are copied into this one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// How often the remote is checked for a new revision.
    #[schemars(regex(pattern = DURATION_PATTERN))]
    pub interval: String,
    /// Where credentials come from: `generic` (the Secret), or a cloud or GitHub App identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["generic", "aws", "azure", "github"]))]
    pub provider: Option<String>,
    /// A Secret with the proxy (`address`, `username`, `password`) to reach the remote through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Also clone the repository's submodules.
    #[serde(default, skip_serializing_if = "is_false")]
    pub recurse_submodules: bool,
    /// The branch, tag, semver range, reference name or commit to follow; `master` when unset.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// A Secret with credentials: `username`/`password` or `bearerToken` for HTTPS,
    /// `identity` and `known_hosts` for SSH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// The ServiceAccount whose identity authenticates to an `azure` or `aws` provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Only these directories are checked out and packed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse_checkout: Vec<String>,
    /// Stop reconciling until set back to false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,
    /// Timeout for Git operations such as a clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<String>,
    /// The repository's URL, HTTP(S) or SSH.
    #[schemars(regex(pattern = URL_PATTERN))]
    pub url: String,
    /// Verify the signature of the commit or tag checked out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<GitRepositoryVerification>,
}

/// `spec.ref`: what to check out. Precedence, highest first: commit, name, semver, tag, branch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitRepositoryRef {
    /// A branch; `master` when nothing else is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// A commit SHA; with `branch`, the commit is fetched from that branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// A full reference such as `refs/pull/420/head`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A semver range; the highest matching tag is checked out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// A tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// `spec.include[]`: another GitRepository's artifact to copy into this one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The directory of the included artifact to copy; its root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// The GitRepository to include, in the same namespace.
    pub repository: LocalObjectReference,
    /// Where to put it in this artifact; the included repository's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

/// `spec.verify`: signature verification of the checked-out commit or tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify: the commit at HEAD (`HEAD`, or `head` for compatibility), the tag, or
    /// both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["head", "HEAD", "Tag", "TagAndHEAD"], "default" = "HEAD"))]
    pub mode: Option<String>,
    /// A Secret with the trusted public keys (`.asc` PGP keys, `.sshpub` SSH keys).
    pub secret_ref: LocalObjectReference,
}

/// `status` of a GitRepository, written by the source controller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// The artifact of the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The conditions (`Ready`, `Reconciling`, `Stalled`, `ArtifactInStorage`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The artifacts of `spec.include`, last successfully included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_artifacts: Vec<Artifact>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The last generation observed; `-1` (the schema's default) before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `spec.ignore` of the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// `spec.include` of the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_include: Vec<GitRepositoryInclude>,
    /// `spec.recurseSubmodules` of the current artifact.
    #[serde(default, skip_serializing_if = "is_false")]
    pub observed_recurse_submodules: bool,
    /// `spec.sparseCheckout` of the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_sparse_checkout: Vec<String>,
    /// The verification mode last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_verification_mode: Option<String>,
}
