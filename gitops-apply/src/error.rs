//! The engine's one error type. Every `kube::Error` becomes an [`Error`] in [`Error::request`],
//! which names the object (or the set) and keeps the API server's reason and message.

use std::fmt;
use std::time::Duration;

use gitops_core::ObjectRef;

/// What a request was doing when it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    /// A server-side apply with `dryRun=All`.
    DryRun,
    /// A server-side apply.
    Apply,
    /// A delete.
    Delete,
    /// A get or a list.
    Read,
    /// The JSON patch that takes over other managers' fields before an apply.
    Cleanup,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::DryRun => "dry-run",
            Operation::Apply => "apply",
            Operation::Delete => "delete",
            Operation::Read => "read",
            Operation::Cleanup => "metadata.managedFields cleanup",
        })
    }
}

/// Everything the apply engine can fail with, naming the object at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API server refused or failed a request about an object, e.g.
    /// `Deployment/apps/web dry-run failed (Invalid): ...`.
    #[error("{subject} {operation} failed ({reason}): {message}")]
    Request {
        /// The object, `Kind/namespace/name`, or a set such as `ConfigMap/apps list`.
        subject: String,
        /// The object, when the request was about one.
        object: Option<ObjectRef>,
        /// What the request was doing.
        operation: Operation,
        /// The Kubernetes `Status` reason (`Invalid`, `Forbidden`, ...), or `ClientError`
        /// when the request did not get an answer.
        reason: String,
        /// The HTTP status code, 0 without an answer.
        code: u16,
        /// The server's message.
        message: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },

    /// Discovery could not list the resources of a group version.
    #[error("discovery of {api_version} failed: {source}")]
    Discovery {
        /// The group version, e.g. `apps/v1`.
        api_version: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },

    /// The server does not serve an object's kind (and no CRD of the batch defines it).
    #[error("{object} dry-run failed: no matches for kind \"{kind}\" in version \"{api_version}\"")]
    UnknownKind {
        /// The object.
        object: ObjectRef,
        /// Its `apiVersion`.
        api_version: String,
        /// Its kind.
        kind: String,
    },

    /// The server answered with something that is not a valid object.
    #[error("{subject}: invalid object from the server: {reason}")]
    Decode {
        /// The object or set.
        subject: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Waiting for a set timed out.
    #[error("timeout waiting for: {pending} after {waited:?}")]
    Timeout {
        /// The objects not ready, `[Kind/ns/name status: 'InProgress', ...]`.
        pending: String,
        /// How long it waited.
        waited: Duration,
    },

    /// Waiting for a set stopped early because objects failed.
    #[error("failed early due to stalled resources: {failed}")]
    Stalled {
        /// The failed objects, `[Kind/ns/name status: 'Failed', ...]`.
        failed: String,
    },

    /// An error of the core (planning, a policy annotation).
    #[error(transparent)]
    Core(#[from] gitops_core::Error),
}

impl Error {
    /// The one place a `kube::Error` is mapped: the API server's `Status` when there is one,
    /// else the client's failure.
    pub fn request(operation: Operation, subject: &Subject<'_>, source: kube::Error) -> Error {
        let (reason, code, message) = match &source {
            kube::Error::Api(status) => (
                if status.reason.is_empty() {
                    "Unknown".to_string()
                } else {
                    status.reason.clone()
                },
                status.code,
                status.message.clone(),
            ),
            other => ("ClientError".to_string(), 0, other.to_string()),
        };
        Error::Request {
            subject: subject.to_string(),
            object: subject.object().cloned(),
            operation,
            reason,
            code,
            message,
            source,
        }
    }

    /// The HTTP status code of a request error, 0 otherwise.
    pub fn code(&self) -> u16 {
        match self {
            Error::Request { code, .. } => *code,
            _ => 0,
        }
    }

    /// Whether the server refused a change to an immutable field (422 Invalid or 409 naming
    /// an immutable field), the case in which an object must be recreated.
    pub fn is_immutable(&self) -> bool {
        match self {
            Error::Request { code, message, .. } => {
                (*code == 422 || *code == 409) && message.contains("immutable")
            }
            _ => false,
        }
    }

    /// An immutable-field refusal with what to do about it.
    pub(crate) fn with_force_hint(mut self) -> Error {
        if self.is_immutable()
            && let Error::Request { message, .. } = &mut self
        {
            message.push_str(
                "; the object must be recreated: set spec.force or the annotation kustomize.toolkit.fluxcd.io/force: enabled",
            );
        }
        self
    }

    /// Whether the server answered 404.
    pub fn is_not_found(&self) -> bool {
        self.code() == 404
    }

    /// The error as the core's [`gitops_core::Error::Api`], for the `Cluster` trait.
    pub fn to_core(&self) -> gitops_core::Error {
        match self {
            Error::Request {
                object,
                reason,
                code,
                message,
                ..
            } => gitops_core::Error::Api {
                object: object.clone(),
                reason: reason.clone(),
                code: *code,
                message: message.clone(),
            },
            Error::Core(e) => e.clone(),
            Error::UnknownKind {
                object,
                api_version,
                kind,
            } => gitops_core::Error::Api {
                object: Some(object.clone()),
                reason: "NotFound".into(),
                code: 404,
                message: format!("no matches for kind \"{kind}\" in version \"{api_version}\""),
            },
            other => gitops_core::Error::Api {
                object: None,
                reason: "InternalError".into(),
                code: 0,
                message: other.to_string(),
            },
        }
    }
}

/// What a request is about: one object or the objects of a kind in a namespace.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// One object.
    Object(&'a ObjectRef),
    /// A list of a kind, in a namespace when not empty.
    List {
        /// The kind.
        kind: &'a str,
        /// The namespace, empty for all or cluster scope.
        namespace: &'a str,
    },
}

impl Subject<'_> {
    fn object(&self) -> Option<&ObjectRef> {
        match self {
            Subject::Object(o) => Some(o),
            Subject::List { .. } => None,
        }
    }
}

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Object(o) => o.fmt(f),
            Subject::List {
                kind,
                namespace: "",
            } => write!(f, "{kind} list"),
            Subject::List { kind, namespace } => write!(f, "{kind}/{namespace} list"),
        }
    }
}
