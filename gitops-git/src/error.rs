//! The crate's one public error type.

use std::path::PathBuf;

use gitops_core::SourceFailure;

/// Everything that can go wrong in gitops-git. Messages are lower case, name the thing at
/// fault (URL, ref, file, secret) and never contain a secret: URLs are shown without their
/// user information and credentials are never formatted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The URL does not parse or uses a scheme this crate does not fetch from.
    #[error("invalid repository url '{url}': {reason}")]
    InvalidUrl {
        /// The URL, without user information.
        url: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The remote has no ref of that name (or no tag matching a semver range).
    #[error("unable to clone '{url}': couldn't find remote ref \"{reference}\"")]
    RefNotFound {
        /// The URL, without user information.
        url: String,
        /// The full ref name, or the semver range, that was asked for.
        reference: String,
    },

    /// The commit asked for does not exist on the remote, or not in the branch given with it.
    #[error("unable to clone '{url}': commit '{commit}' {reason}")]
    CommitNotFound {
        /// The URL, without user information.
        url: String,
        /// The commit id asked for.
        commit: String,
        /// Why it was not found.
        reason: String,
    },

    /// A semver range that does not parse.
    #[error("invalid semver range '{range}': {reason}")]
    InvalidSemver {
        /// The range as given.
        range: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The remote refused the credentials, or asked for some and none were given.
    #[error("authentication to '{url}' failed: {detail}")]
    Authentication {
        /// The URL, without user information.
        url: String,
        /// What the transport reported (never the credentials themselves).
        detail: String,
    },

    /// The SSH host key of the remote is not in `known_hosts`, or differs from it.
    #[error(
        "host key verification failed for '{url}': the server's key is not in the secret's known_hosts, add it with ssh-keyscan and check its fingerprint"
    )]
    HostKey {
        /// The URL, without user information.
        url: String,
    },

    /// A Secret that lacks a field, or has one in the wrong format.
    #[error("invalid secret '{secret}': {reason}")]
    InvalidSecret {
        /// `<namespace>/<name>` of the Secret.
        secret: String,
        /// What is missing or wrong.
        reason: String,
    },

    /// Reading a Secret failed.
    #[error("unable to read secret '{secret}': {reason}")]
    SecretUnavailable {
        /// `<namespace>/<name>` of the Secret.
        secret: String,
        /// Why.
        reason: String,
    },

    /// Any other Git failure: connection, protocol, pack.
    #[error("unable to clone '{url}': {detail}")]
    Git {
        /// The URL, without user information.
        url: String,
        /// What went wrong.
        detail: String,
    },

    /// The fetch did not finish within its timeout.
    #[error("unable to clone '{url}': timed out after {seconds}s")]
    Timeout {
        /// The URL, without user information.
        url: String,
        /// The timeout, in seconds.
        seconds: u64,
    },

    /// The fetch was cancelled by its caller.
    #[error("unable to clone '{url}': cancelled")]
    Cancelled {
        /// The URL, without user information.
        url: String,
    },

    /// A file or directory operation failed.
    #[error("{action} '{}': {source}", path.display())]
    Io {
        /// What was being done, e.g. `write artifact`.
        action: &'static str,
        /// The path concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// An archive that extraction refuses: a path leaving the root, a link pointing outside
    /// it, a device, or an archive over a limit.
    #[error("refusing archive entry '{entry}': {reason}")]
    UnsafeArchive {
        /// The entry's name as found in the archive.
        entry: String,
        /// Why it is refused.
        reason: String,
    },

    /// An archive that is not a valid tar.gz.
    #[error("invalid archive: {reason}")]
    InvalidArchive {
        /// What is wrong with it.
        reason: String,
    },

    /// An artifact download that failed.
    #[error("unable to download artifact '{url}': {reason}")]
    Download {
        /// The URL, without user information.
        url: String,
        /// Why.
        reason: String,
    },

    /// A stored artifact whose bytes do not match its digest.
    #[error("artifact '{path}' has digest {actual}, expected {expected}")]
    DigestMismatch {
        /// The artifact's path in the store.
        path: String,
        /// The digest recorded for it.
        expected: String,
        /// The digest of its bytes.
        actual: String,
    },

    /// An artifact path that is not of the form the store writes.
    #[error("invalid artifact path '{path}': {reason}")]
    InvalidArtifactPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },

    /// Pushing a commit failed: the `git` program is missing, the connection broke, the
    /// remote refused the update for a reason other than a newer branch, or the push ran
    /// out of time.
    #[error("unable to push to '{url}' branch '{branch}': {detail}")]
    Push {
        /// The URL, without user information.
        url: String,
        /// The branch pushed to.
        branch: String,
        /// What went wrong (never the credentials).
        detail: String,
    },

    /// Every attempt to push was rejected as non-fast-forward: someone else kept updating
    /// the branch between our fetch and our push.
    #[error(
        "unable to push to '{url}' branch '{branch}': rejected as non-fast-forward {attempts} times, another writer keeps updating the branch; retry later"
    )]
    PushRejected {
        /// The URL, without user information.
        url: String,
        /// The branch pushed to.
        branch: String,
        /// How many times the commit was rebuilt on the new tip and pushed.
        attempts: u32,
    },

    /// A commit that cannot be made: a branch name, file path or author Git refuses.
    #[error("invalid commit for branch '{branch}': {reason}")]
    InvalidCommit {
        /// The branch the commit was for.
        branch: String,
        /// What is wrong and how to fix it.
        reason: String,
    },

    /// A value from gitops-core that was rejected (revision, digest).
    #[error(transparent)]
    Core(#[from] gitops_core::Error),
}

impl Error {
    /// The Flux failure class of this error, used for the condition reason
    /// (`AuthenticationFailed`, `URLInvalid`, `GitOperationFailed`, `ArchiveOperationFailed`).
    pub fn failure(&self) -> SourceFailure {
        match self {
            Error::InvalidUrl { .. } => SourceFailure::Url,
            Error::Authentication { .. }
            | Error::HostKey { .. }
            | Error::InvalidSecret { .. }
            | Error::SecretUnavailable { .. } => SourceFailure::Authentication,
            Error::Io { .. } | Error::InvalidArtifactPath { .. } => SourceFailure::Storage,
            Error::UnsafeArchive { .. }
            | Error::Download { .. }
            | Error::InvalidArchive { .. }
            | Error::DigestMismatch { .. } => SourceFailure::Artifact,
            _ => SourceFailure::Git,
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<Error> for gitops_core::Error {
    /// Maps to [`gitops_core::Error::Source`] with Flux's message prefix for checkout
    /// failures (`failed to checkout and determine revision: ...`).
    fn from(e: Error) -> Self {
        let reason = e.failure();
        let message = match &e {
            Error::Core(inner) => return inner.clone(),
            Error::RefNotFound { .. }
            | Error::CommitNotFound { .. }
            | Error::Git { .. }
            | Error::Timeout { .. }
            | Error::Cancelled { .. }
            | Error::InvalidSemver { .. }
            | Error::Authentication { .. }
            | Error::HostKey { .. } => {
                format!("failed to checkout and determine revision: {e}")
            }
            _ => e.to_string(),
        };
        gitops_core::Error::Source { reason, message }
    }
}
