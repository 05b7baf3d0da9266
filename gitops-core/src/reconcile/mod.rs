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
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

pub use kustomization::{KustomizationOptions, KustomizationReconciler, health_check_set};
pub use source::GitRepositoryReconciler;

use crate::api::GitRepository;
use crate::fs::FileSystem;
use crate::health::{self, Health};
use crate::plan::{Action, Apply, ChangeAction, ChangeSet, ChangeSetEntry, Live, Owner};
use crate::schema::Schema;
use crate::status::Artifact;
use crate::{Error, InventoryEntry, Object, ObjectRef};

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

/// One object of a set: its identity and the `apiVersion` to address it with.
pub type SetMember = (ObjectRef, String);

/// Why applying a set stopped: the object at fault and the server's answer.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyFailure {
    /// The object that failed; an empty name when the failure is not about one object.
    pub object: ObjectRef,
    /// Whether it failed its server-side dry-run (nothing of the set was written then).
    pub dry_run: bool,
    /// The error.
    pub error: Error,
}

impl fmt::Display for ApplyFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.object.name.is_empty() {
            // A failure that is not about one object (discovery, the connection).
            return self.error.fmt(f);
        }
        match (&self.error, self.dry_run) {
            (
                Error::Api {
                    reason, message, ..
                },
                true,
            ) => {
                write!(f, "{} dry-run failed ({reason}): {message}", self.object)
            }
            (e, true) => write!(f, "{} dry-run failed: {e}", self.object),
            (e, false) => write!(f, "{} apply failed: {e}", self.object),
        }
    }
}

/// What applying a set did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SetApplied {
    /// One entry per object of the set that was handled, in order: created, configured or
    /// unchanged (the server, or what the implementation remembers, found nothing to write).
    pub changes: ChangeSet,
    /// The failure that stopped the set, if any; the objects after it were not applied.
    pub failure: Option<ApplyFailure>,
}

/// What pruning one object did.
#[derive(Clone, Debug, PartialEq)]
pub enum Pruned {
    /// Deleted (or already gone).
    Deleted,
    /// Left in place by one of Flux's opt-outs found on the live object (owner labels of
    /// another owner, `prune: disabled`, `reconcile: disabled`): reported as skipped and
    /// dropped from the inventory, as Flux does.
    Skipped(String),
    /// Left in place by a guard the implementation enforces where Flux would delete (a
    /// protected namespace, a namespace holding objects of others); the reason says which.
    /// Reported as refused, and kept in the inventory so that it is tried again.
    Refused(String),
    /// The delete failed.
    Failed(Error),
}

/// Read and change live objects. `gitops-apply` implements it on kube-rs; the testkit in
/// memory.
///
/// The reconcilers hand it whole sets: the live state of a desired set and inventory, the
/// applies of one stage, the orphans to prune, the objects to assess. The set methods have
/// defaults that call the per-object ones, so an implementation may provide only those; a
/// real one answers a set with as few requests as it can (a list per kind and namespace,
/// nothing for objects it knows unchanged).
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

    /// The live state of a set of objects; objects that do not exist are absent from the map.
    async fn read_set(&self, objects: &[SetMember]) -> Result<Live, Error> {
        read_each(self, objects).await
    }

    /// Validates every apply of a plan before the first write (a server-side dry-run), so
    /// that an invalid object stops the run with nothing written. An object that can only be
    /// validated once an earlier stage of the same plan exists (its Namespace, its CRD) is
    /// left to [`Cluster::apply_set`]. `live` is the snapshot the plan was computed against.
    /// The default validates nothing.
    async fn validate_set(
        &self,
        applies: &[&Apply],
        live: &Live,
        field_manager: &str,
    ) -> Result<(), ApplyFailure> {
        let _ = (applies, live, field_manager);
        Ok(())
    }

    /// Applies one stage, in order, stopping at the first failure. `live` is the snapshot the
    /// plan was computed against. An apply whose `recreate_on_immutable` is set and that
    /// fails on an immutable field is deleted and applied again.
    async fn apply_set(&self, applies: &[Apply], live: &Live, field_manager: &str) -> SetApplied {
        let _ = live;
        apply_each(self, applies, field_manager).await
    }

    /// Deletes a set of inventory orphans (already in reverse kind order) with background
    /// propagation, each only if it still carries `owner`'s labels; one result per entry.
    async fn prune_set(
        &self,
        entries: &[InventoryEntry],
        owner: &Owner,
    ) -> Vec<(InventoryEntry, Pruned)> {
        let _ = owner;
        prune_each(self, entries).await
    }

    /// The schema to compare a set's objects by ([`crate::diff::compare`]): the built-in
    /// kinds and, for custom kinds, their CRDs as far as the implementation can read them.
    /// The default knows the built-in kinds only; the CRDs of the desired set itself are
    /// learnt by the plan in any case.
    async fn schema(&self, objects: &[SetMember]) -> Result<Arc<Schema>, Error> {
        let _ = objects;
        Ok(Arc::new(Schema::extended()))
    }

    /// The health of a set of objects, in the order given.
    async fn health_set(
        &self,
        objects: &[SetMember],
        now: Timestamp,
    ) -> Result<Vec<(ObjectRef, Health)>, Error> {
        health_each(self, objects, now).await
    }
}

/// [`Cluster::read_set`] one [`Cluster::get`] at a time, for implementations without a
/// cheaper way.
pub async fn read_each<C: Cluster + ?Sized>(
    cluster: &C,
    objects: &[SetMember],
) -> Result<Live, Error> {
    let mut live = Live::new();
    for (key, api_version) in objects {
        if let Some(o) = cluster.get(key, api_version).await? {
            live.insert(key.clone(), o);
        }
    }
    Ok(live)
}

/// [`Cluster::apply_set`] one [`Cluster::apply`] at a time, in order, stopping at the first
/// failure; an immutable-field error on an apply that may recreate deletes and applies again.
pub async fn apply_each<C: Cluster + ?Sized>(
    cluster: &C,
    applies: &[Apply],
    field_manager: &str,
) -> SetApplied {
    let mut out = SetApplied::default();
    for apply in applies {
        let key = apply.key.clone();
        let mut result = cluster
            .apply(&apply.object, field_manager)
            .await
            .map(|_| ());
        if let Err(e) = &result
            && apply.recreate_on_immutable
            && e.is_immutable()
        {
            result = match cluster.delete(&key, apply.object.api_version()).await {
                Ok(()) => cluster
                    .apply(&apply.object, field_manager)
                    .await
                    .map(|_| ()),
                Err(e) => Err(e),
            };
        }
        if let Err(error) = result {
            out.failure = Some(ApplyFailure {
                object: key,
                dry_run: false,
                error,
            });
            return out;
        }
        let action = match apply.action {
            Action::Create => ChangeAction::Created,
            Action::Configure(_) => ChangeAction::Configured,
        };
        out.changes
            .entries
            .push(ChangeSetEntry::new(key, action).with_version(apply.object.version()));
    }
    out
}

/// [`Cluster::prune_set`] one [`Cluster::delete`] at a time.
pub async fn prune_each<C: Cluster + ?Sized>(
    cluster: &C,
    entries: &[InventoryEntry],
) -> Vec<(InventoryEntry, Pruned)> {
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let result = match cluster.delete(&entry.object, &entry.api_version()).await {
            Ok(()) => Pruned::Deleted,
            Err(e) => Pruned::Failed(e),
        };
        out.push((entry.clone(), result));
    }
    out
}

/// [`Cluster::health_set`] one [`Cluster::health`] at a time.
pub async fn health_each<C: Cluster + ?Sized>(
    cluster: &C,
    objects: &[SetMember],
    now: Timestamp,
) -> Result<Vec<(ObjectRef, Health)>, Error> {
    let mut out = Vec::with_capacity(objects.len());
    for (key, api_version) in objects {
        out.push((key.clone(), cluster.health(key, api_version, now).await?));
    }
    Ok(out)
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
