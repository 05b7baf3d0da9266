//! Types shared by the source and kustomize APIs (both versions): references, conditions,
//! artifacts, and the validation patterns Flux's CRDs put on them.
//!
//! The patterns are part of the API: the API server rejects a value that does not match, so
//! they must be Flux's, character for character, or a manifest valid for Flux would be refused
//! here (or the other way round).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A Go duration with hours as the largest unit (`1h30m`, `10m`, `30s`, `500ms`).
pub const DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
/// A Go duration without hours: the Git operation timeout of a GitRepository.
pub const TIMEOUT_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";
/// `<algorithm>:<checksum>`, the digest of an artifact.
pub const DIGEST_PATTERN: &str = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";
/// A condition's `reason`: CamelCase, as `metav1.Condition` requires.
pub const CONDITION_REASON_PATTERN: &str = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$";
/// A condition's `type`: CamelCase, optionally prefixed by a DNS subdomain and `/`.
pub const CONDITION_TYPE_PATTERN: &str = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$";

/// A reference to an object in the referrer's namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LocalObjectReference {
    /// Name of the referenced object.
    pub name: String,
}

/// A reference to a key of a Secret in the referrer's namespace (`kubeConfig.secretRef`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecretKeyReference {
    /// Name of the Secret.
    pub name: String,
    /// The key holding the value; the consumer's default key when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// A `metav1.Condition`, with the validation the API server applies to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// When the condition last changed status (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// Details for a human; may be empty.
    #[schemars(length(max = 32768))]
    pub message: String,
    /// The `metadata.generation` the condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// Why the condition last changed, in CamelCase.
    #[schemars(length(min = 1, max = 1024), regex(pattern = CONDITION_REASON_PATTERN))]
    pub reason: String,
    /// `True`, `False` or `Unknown`.
    #[schemars(extend("enum" = ["True", "False", "Unknown"]))]
    pub status: String,
    /// The aspect the condition is about, e.g. `Ready`.
    #[serde(rename = "type")]
    #[schemars(length(max = 316), regex(pattern = CONDITION_TYPE_PATTERN))]
    pub type_: String,
}

/// The output of a source reconciliation: a tarball served over HTTP.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// The digest of the tarball, `<algorithm>:<checksum>`.
    #[schemars(regex(pattern = DIGEST_PATTERN))]
    pub digest: String,
    /// When the artifact was last produced (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_update_time: String,
    /// Free-form metadata of the origin, e.g. OCI annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The tarball's path relative to the storage root of the controller that serves it.
    pub path: String,
    /// The revision it holds, e.g. `main@sha1:<hex>`.
    pub revision: String,
    /// Its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Where consumers download it.
    pub url: String,
}

/// Whether a flag is unset: such flags are left out of the object, as Go's `omitempty` does,
/// and carry no default in the schema.
pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}
