//! The GitRepository and Kustomization reconcilers, as state machines over three traits.
//!
//! A reconciler reads one object (its spec and last status), talks to the world only through
//! a [`Source`] (Git and artifacts), a [`Cluster`] (live objects) and a [`Clock`], and returns
//! an [`Outcome`]: the new status, when to run again, the events to record and what to do
//! with the finalizer. It never sleeps or spawns; waiting (for health, for dependencies) is a
//! requeue. The controllers write the outcome back; unit tests inspect it.
//!
//! The decisions are Flux's: suspend, `reconcile.fluxcd.io/requestedAt`, `dependsOn`, a failed
//! fetch keeps the last artifact, a failed render or apply never prunes, and the condition
//! types, reasons and messages of the source and kustomize controllers.

mod kustomization;
mod source;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

pub use kustomization::{KustomizationOptions, KustomizationReconciler};
pub use source::GitRepositoryReconciler;

use crate::api::GitRepository;
use crate::fs::FileSystem;
use crate::health::{self, Health};
use crate::status::Artifact;
use crate::{Error, Object, ObjectRef};

/// The field manager Flux's kustomize controller applies with; reusing it lets gitops take
/// over objects Flux applied without conflicts.
pub const FIELD_MANAGER: &str = "kustomize-controller";

/// What a fetch found.
// One value per fetch: boxing the artifact would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Fetched {
    /// The remote still points at the revision of the artifact passed as `last`: nothing was
    /// transferred and nothing stored.
    Unchanged,
    /// A new artifact was built and stored.
    Stored {
        /// The stored artifact.
        artifact: Artifact,
        /// The first line of the commit message (for the `NewArtifact` event).
        subject: String,
    },
}

/// Where artifacts come from: Git on one side (fetch and store), the artifact store on the
/// other (open). `gitops-git` implements it with gitoxide; the testkit in memory.
#[async_trait]
pub trait Source: Send + Sync {
    /// Resolves the repository's `spec.ref` on the remote. When it still points at `last`'s
    /// revision, returns [`Fetched::Unchanged`] without downloading objects; otherwise checks
    /// out the tree, packs the artifact (honouring the ignore rules) and stores it.
    ///
    /// Errors are [`Error::Source`] with the reason Flux would report.
    async fn fetch(
        &self,
        repository: &GitRepository,
        last: Option<&Artifact>,
    ) -> Result<Fetched, Error>;

    /// Opens a stored artifact: downloads it, verifies its digest and gives read access to
    /// its files.
    async fn open(&self, artifact: &Artifact) -> Result<Arc<dyn FileSystem>, Error>;
}

/// Read and change live objects. `gitops-apply` implements it on kube-rs; the testkit in
/// memory.
#[async_trait]
pub trait Cluster: Send + Sync {
    /// Reads an object, `None` when it does not exist.
    async fn get(&self, object: &ObjectRef, api_version: &str) -> Result<Option<Object>, Error>;

    /// Server-side applies an object with `field_manager`, forcing conflicts, and returns
    /// what the server stored.
    async fn apply(&self, object: &Object, field_manager: &str) -> Result<Object, Error>;

    /// Deletes an object with background propagation. A missing object is not an error.
    async fn delete(&self, object: &ObjectRef, api_version: &str) -> Result<(), Error>;

    /// The health of an object, by the kstatus rules unless the implementation knows better.
    async fn health(
        &self,
        object: &ObjectRef,
        api_version: &str,
        now: Timestamp,
    ) -> Result<Health, Error> {
        Ok(health::of(
            self.get(object, api_version).await?.as_ref(),
            now,
        ))
    }
}

/// The current time.
pub trait Clock: Send + Sync {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// When to reconcile the object again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// After this long.
    After(Duration),
    /// After the controller's exponential backoff (a failure the source controller retries).
    Backoff,
    /// Only when the object changes (suspended, or being deleted).
    Never,
}

/// What to do with the `finalizers.fluxcd.io` finalizer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finalizer {
    /// Leave it as it is.
    Keep,
    /// Add it (the object has none yet).
    Add,
    /// Remove it: finalization is done and the object may go.
    Remove,
}

/// A Kubernetes event's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    /// Something happened as it should.
    Normal,
    /// Something failed.
    Warning,
}

/// An event to record on the reconciled object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// Normal or Warning.
    pub type_: EventType,
    /// The reason, e.g. `ReconciliationSucceeded`.
    pub reason: String,
    /// The message.
    pub message: String,
    /// Annotations such as `kustomize.toolkit.fluxcd.io/revision`.
    pub metadata: BTreeMap<String, String>,
}

impl Event {
    fn new(type_: EventType, reason: &str, message: impl Into<String>) -> Self {
        Self {
            type_,
            reason: reason.into(),
            message: message.into(),
            metadata: BTreeMap::new(),
        }
    }

    fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// The result of one reconciliation.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome<S> {
    /// The status to write.
    pub status: S,
    /// When to run again.
    pub requeue: Requeue,
    /// Events to record, in order.
    pub events: Vec<Event>,
    /// What to do with the finalizer.
    pub finalizer: Finalizer,
}

fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or_default()
}
