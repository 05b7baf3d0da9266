//! The core's one error type.

use crate::object::{ObjectRef, Origin};

/// Everything that can go wrong in the core, each variant naming the thing at fault (the
/// object, file, document and field) so that the message alone tells a user what to fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A revision string that is neither `<ref>@<algo>:<hex>`, `<algo>:<hex>` nor a legacy form.
    #[error("invalid revision '{input}': {reason}")]
    InvalidRevision {
        /// The string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A digest string that is not `<algo>:<hex>`.
    #[error("invalid digest '{input}': {reason}")]
    InvalidDigest {
        /// The string as given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An inventory entry id that is not `<namespace>_<name>_<group>_<kind>`.
    #[error("invalid inventory id '{id}': {reason}")]
    InvalidInventoryId {
        /// The id as given.
        id: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A label or field selector that does not parse.
    #[error("invalid selector '{selector}': {reason}")]
    InvalidSelector {
        /// The selector as given.
        selector: String,
        /// What is wrong with it.
        reason: String,
    },

    /// A YAML document that does not parse.
    #[error("{origin}: malformed YAML: {message}")]
    Yaml {
        /// File, document and line of the problem.
        origin: Origin,
        /// The parser's explanation.
        message: String,
    },

    /// A map that is not a valid Kubernetes object (missing `apiVersion`, `kind` or
    /// `metadata.name`, or a field of the wrong type).
    #[error("{}{}field '{field}' {reason}", origin_prefix(.origin), object_prefix(.object))]
    InvalidObject {
        /// Where the object was read from, when known.
        origin: Option<Origin>,
        /// `Kind/name` when known, else empty.
        object: String,
        /// The offending field, as a dotted path.
        field: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The same object appears twice in a desired set.
    #[error("duplicate object {object}: defined in {first} and in {second}")]
    DuplicateObject {
        /// The object's identity.
        object: ObjectRef,
        /// Where it was defined first.
        first: Origin,
        /// Where it was defined again.
        second: Origin,
    },

    /// A `kustomize.toolkit.fluxcd.io/*` annotation or label with a value Flux does not know.
    #[error(
        "{object}: {location} '{key}' has unknown value '{value}', expected one of: {expected}"
    )]
    InvalidAnnotation {
        /// The object carrying it.
        object: ObjectRef,
        /// `annotation` or `label`.
        location: &'static str,
        /// The key.
        key: String,
        /// The value found.
        value: String,
        /// The accepted values, comma separated.
        expected: String,
    },

    /// A duration field that is not a Go duration such as `1m30s`.
    #[error("invalid duration '{value}' in field '{field}': expected a Go duration such as 1m30s")]
    InvalidDuration {
        /// The field, e.g. `spec.interval`.
        field: String,
        /// The value found.
        value: String,
    },

    /// A field of a custom resource spec with an invalid value.
    #[error("{object}: field '{field}' {reason}")]
    InvalidSpec {
        /// The object, `Kind/namespace/name`.
        object: String,
        /// The field, as a dotted path.
        field: String,
        /// What is wrong and what to do.
        reason: String,
    },

    /// A render (manifest generation or kustomize build) failure.
    #[error("{message}")]
    Render {
        /// The message, naming the file and field.
        message: String,
    },

    /// Post-build variable substitution failed on a rendered object, as Flux reports it
    /// (`post build failed for '<object>': ...`).
    #[error("post build failed for '{object}': {reason}")]
    Substitution {
        /// The object, `Kind/namespace/name`.
        object: String,
        /// The variable at fault, when there is one.
        variable: Option<String>,
        /// What went wrong, e.g. `variable substitution failed: variable not set (strict
        /// mode): "cluster_env"`.
        reason: String,
    },

    /// A `spec.postBuild.substituteFrom` source that could not be read.
    #[error("substitute from '{reference}' error: {reason}")]
    SubstituteFrom {
        /// The source, `ConfigMap/<name>` or `Secret/<name>`.
        reference: String,
        /// What went wrong and what to do.
        reason: String,
    },

    /// A file that could not be read through a [`crate::fs::FileSystem`].
    #[error("{path}: {message}")]
    File {
        /// The path, relative to the file system's root.
        path: String,
        /// What went wrong.
        message: String,
    },

    /// A source (Git fetch, artifact download) failure, as reported by a [`crate::reconcile::Source`].
    #[error("{message}")]
    Source {
        /// Why the fetch failed, as Flux would report it.
        reason: SourceFailure,
        /// The message.
        message: String,
    },

    /// An object the cluster does not have.
    #[error("{object} not found")]
    NotFound {
        /// The object asked for.
        object: ObjectRef,
    },

    /// A request the cluster refused, as reported by a [`crate::reconcile::Cluster`].
    #[error("{message}")]
    Api {
        /// The object concerned.
        object: Option<ObjectRef>,
        /// The Kubernetes `Status` reason, e.g. `Invalid`, `Conflict`, `Forbidden`.
        reason: String,
        /// The HTTP status code.
        code: u16,
        /// The server's message.
        message: String,
    },
}

/// Why a source operation failed, mapped to Flux's condition reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SourceFailure {
    /// Credentials were rejected or missing (`AuthenticationFailed`).
    Authentication,
    /// The URL is not valid (`URLInvalid`).
    Url,
    /// Any other Git failure (`GitOperationFailed`).
    Git,
    /// The artifact could not be stored (`ArchiveOperationFailed`).
    Storage,
    /// The artifact could not be fetched or verified by a consumer.
    Artifact,
}

impl Error {
    /// Whether this is an API error the server classes as an immutable-field change, the case
    /// in which Flux deletes and recreates an object when `force` is set.
    pub fn is_immutable(&self) -> bool {
        match self {
            Error::Api { code, message, .. } => {
                *code == 409
                    || *code == 422
                    || message.contains("is immutable")
                    || message.contains("immutable field")
            }
            _ => false,
        }
    }
}

fn origin_prefix(origin: &Option<Origin>) -> String {
    origin
        .as_ref()
        .map(|o| format!("{o}: "))
        .unwrap_or_default()
}

fn object_prefix(object: &str) -> String {
    if object.is_empty() {
        String::new()
    } else {
        format!("{object}: ")
    }
}
