//! The GitRepository controller on `kube::runtime::Controller`.
//!
//! Each reconcile reads the object as the core's value, runs the core's
//! [`GitRepositoryReconciler`] with gitops-git's [`GitSource`] (fetch the ref, pack, digest,
//! store), and writes back what the core decided: the finalizer, the status (as a merge patch
//! of the changed fields only), the events, and when to run again. Around the core it does
//! only what belongs to the storage, as Flux's `reconcileStorage` and `reconcileDelete` do:
//! garbage collection before each reconcile and after a new artifact, and removal of all the
//! object's artifacts before the finalizer goes.
//!
//! What wakes a GitRepository is Flux's predicate: a new generation, a new
//! `reconcile.fluxcd.io/requestedAt`, or deletion; the controller's own status and finalizer
//! writes do not. Otherwise it runs at its jittered `spec.interval`, and after a failure with
//! exponential backoff (`--min-retry-delay` 750ms to `--max-retry-delay` 15m).
//!
//! Each reconcile is timed and counted into [`ControllerOptions::metrics`]
//! (`gotk_reconcile_duration_seconds{kind="GitRepository"}` and controller-runtime's metrics
//! under `controller="gitrepository"`), and the watch's first complete list marks
//! [`ControllerOptions::health`] ready, so that the process's `/metrics` and `/readyz` tell
//! what this controller does.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use gitops_core::api::{FINALIZER, REQUESTED_AT_ANNOTATION};
use gitops_core::reconcile::{Clock, Finalizer, GitRepositoryReconciler, Requeue};
use gitops_core::schedule;
use gitops_core::status::{GitRepositoryStatus, condition};
use gitops_git::GitSource;
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::{Controller, WatchStreamExt as _, reflector, watcher};
use kube::{Resource, ResourceExt as _};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use tracing::Instrument as _;

use super::events::EventRecorder;
use super::secrets::KubeSecrets;
use super::status::{self, DecodeError};
use super::storage::{self, Storage};
use crate::health::Health;
use crate::metrics::{ControllerMetrics, Metrics};

/// The component name events and logs carry, Flux's.
pub const COMPONENT: &str = "source-controller";

/// The controller's flags.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerOptions {
    /// `--concurrent`: GitRepositories reconciled at the same time (Flux's default 2).
    pub concurrent: u16,
    /// The namespace to watch; `None` watches all (`--watch-all-namespaces`).
    pub namespace: Option<String>,
    /// `--watch-label-selector`: only objects matching it (sharding).
    pub label_selector: Option<String>,
    /// `--interval-jitter-percentage` as a fraction (Flux's default 5%).
    pub jitter: f64,
    /// `--min-retry-delay`.
    pub min_retry_delay: Duration,
    /// `--max-retry-delay`.
    pub max_retry_delay: Duration,
    /// The instance name written into events (the pod name in a cluster).
    pub instance: String,
    /// Where reconciles are recorded (`gotk_reconcile_duration_seconds`, controller-runtime's
    /// metrics); by default a registry of its own that nothing serves.
    pub metrics: Metrics,
    /// Where the watch reports that it has synced (`/readyz`).
    pub health: Health,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        Self {
            concurrent: 2,
            namespace: None,
            label_selector: None,
            jitter: schedule::DEFAULT_JITTER,
            min_retry_delay: Duration::from_millis(750),
            max_retry_delay: Duration::from_secs(15 * 60),
            instance: std::env::var("HOSTNAME").unwrap_or_else(|_| COMPONENT.into()),
            metrics: Metrics::default(),
            health: Health::default(),
        }
    }
}

/// What can fail in one reconcile outside the core's own failures (which are conditions).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object could not be read.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Writing the finalizer or the status failed.
    #[error("cannot update GitRepository {key}: {error}")]
    Write {
        /// `<namespace>/<name>`.
        key: String,
        /// The API server's answer.
        error: kube::Error,
    },
    /// Removing the artifacts of a deleted object failed; the finalizer stays.
    #[error(
        "cannot remove the artifacts of GitRepository {key}: {error}; the finalizer stays until they are gone"
    )]
    Cleanup {
        /// `<namespace>/<name>`.
        key: String,
        /// The failure.
        error: storage::Error,
    },
    /// A blocking storage task could not run.
    #[error("the storage task of GitRepository {key} failed: {detail}")]
    Task {
        /// `<namespace>/<name>`.
        key: String,
        /// Why.
        detail: String,
    },
}

/// Condition times at the API's precision (seconds), so a rewritten status compares equal.
struct SecondsClock;

impl Clock for SecondsClock {
    fn now(&self) -> jiff::Timestamp {
        let now = jiff::Timestamp::now();
        jiff::Timestamp::from_second(now.as_second()).unwrap_or(now)
    }
}

struct Context {
    client: kube::Client,
    storage: Storage,
    source: GitSource<KubeSecrets>,
    events: EventRecorder,
    options: ControllerOptions,
    metrics: ControllerMetrics,
    /// Consecutive failures per object, for the backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    fn backoff(&self, key: &str) -> Duration {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = failures.entry(key.to_string()).or_insert(0);
        let delay = self
            .options
            .min_retry_delay
            .saturating_mul(2u32.saturating_pow(*n))
            .min(self.options.max_retry_delay);
        *n = n.saturating_add(1);
        delay
    }

    fn succeeded(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(key);
    }
}

/// Flux's predicate for the source controller: generation, the reconcile request
/// annotation and deletion; status and metadata writes do not trigger.
fn trigger_hash<K: Resource>(object: &K) -> Option<u64> {
    let meta = object.meta();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    meta.generation.hash(&mut h);
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(REQUESTED_AT_ANNOTATION))
        .hash(&mut h);
    meta.deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

/// Runs the GitRepository controller (`source.toolkit.fluxcd.io/v1`) until `shutdown`
/// completes, storing artifacts in `storage`.
///
/// The artifact server is separate ([`super::server::ArtifactServer`], or both together with
/// [`super::SourceController`]): Flux serves artifacts only on the elected leader.
///
/// Its readiness check and metrics are registered when it is called, before the future
/// first runs, so that `/readyz` cannot report ready in between.
pub fn run(
    client: kube::Client,
    storage: Storage,
    options: ControllerOptions,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    run_for::<crate::api::GitRepository>(client, storage, options, shutdown)
}

/// A Rust type of the GitRepository resource [`run_for`] reconciles: a namespaced kube
/// resource with the JSON shape of Flux's (this crate's [`crate::api::GitRepository`], or an
/// embedder's own generated type).
pub trait GitRepositoryKind:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + std::fmt::Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}

impl<K> GitRepositoryKind for K where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// [`run`] for any Rust type of the GitRepository resource with the same JSON shape (an
/// embedder's own generated type, for instance).
pub fn run_for<K>(
    client: kube::Client,
    storage: Storage,
    options: ControllerOptions,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send + 'static
where
    K: GitRepositoryKind,
{
    let metrics = options
        .metrics
        .controller("GitRepository", options.concurrent);
    let synced = options
        .health
        .check(&format!("{COMPONENT}/gitrepositories"));
    watch_and_reconcile::<K>(client, storage, options, metrics, synced, shutdown)
}

async fn watch_and_reconcile<K>(
    client: kube::Client,
    storage: Storage,
    options: ControllerOptions,
    metrics: ControllerMetrics,
    synced: crate::health::ReadyCheck,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) where
    K: GitRepositoryKind,
{
    let api: Api<K> = match &options.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut watch = watcher::Config::default();
    if let Some(selector) = &options.label_selector {
        watch = watch.labels(selector);
    }
    let source = GitSource::new(storage.store().clone(), KubeSecrets::new(client.clone()))
        .with_base_url(storage.base_url());
    let context = Arc::new(Context {
        events: EventRecorder::new(client.clone(), COMPONENT, &options.instance),
        client,
        storage,
        source,
        failures: Mutex::new(HashMap::new()),
        options,
        metrics: metrics.clone(),
    });
    let (reader, writer) = reflector::store();
    let triggers = watcher(api, watch)
        .default_backoff()
        .reflect(writer)
        .inspect(move |event| {
            // The first complete list is in the cache: ready.
            if matches!(event, Ok(watcher::Event::InitDone)) {
                synced.ready();
            }
        })
        .applied_objects()
        .predicate_filter(trigger_hash, Default::default())
        .inspect(move |object| {
            if object.is_ok() {
                metrics.added(1);
            }
        });
    let config =
        kube::runtime::controller::Config::default().concurrency(context.options.concurrent);
    Controller::for_stream(triggers, reader)
        .with_config(config)
        .graceful_shutdown_on(shutdown)
        .run(reconcile::<K>, error_policy::<K>, context)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile loop");
            }
        })
        .await;
}

fn error_policy<K>(object: Arc<K>, error: &Error, context: Arc<Context>) -> Action
where
    K: Resource<DynamicType = ()>,
{
    let key = format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    tracing::warn!(gitrepository = %key, error = %error, "reconcile failed");
    context.metrics.retried();
    Action::requeue(context.backoff(&key))
}

async fn blocking<T: Send + 'static>(
    key: &str,
    f: impl FnOnce() -> Result<T, storage::Error> + Send + 'static,
) -> Result<Result<T, storage::Error>, Error> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Task {
            key: key.to_string(),
            detail: e.to_string(),
        })
}

async fn reconcile<K>(object: Arc<K>, context: Arc<Context>) -> Result<Action, Error>
where
    K: GitRepositoryKind,
{
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let metrics = context.metrics.clone();
    metrics
        .reconcile(&namespace, &name, reconcile_traced(object, context))
        .await
}

async fn reconcile_traced<K>(object: Arc<K>, context: Arc<Context>) -> Result<Action, Error>
where
    K: GitRepositoryKind,
{
    let repo = status::to_core(&*object)?;
    let span = tracing::info_span!(
        "reconcile",
        gitrepository = %format!("{}/{}", repo.metadata.namespace, repo.metadata.name),
        generation = repo.metadata.generation,
    );
    reconcile_object(object, repo, context)
        .instrument(span)
        .await
}

async fn reconcile_object<K>(
    object: Arc<K>,
    repo: gitops_core::api::GitRepository,
    context: Arc<Context>,
) -> Result<Action, Error>
where
    K: GitRepositoryKind,
{
    let namespace = repo.metadata.namespace.clone();
    let name = repo.metadata.name.clone();
    let key = format!("{namespace}/{name}");
    let api: Api<K> = Api::namespaced(context.client.clone(), &namespace);
    let storage = &context.storage;
    let deleting = repo.metadata.deletion_timestamp.is_some();

    // Flux's reconcileStorage, what the storage knows before the core decides: an artifact
    // gone from storage is no longer advertised (it is built again), the URL follows the
    // advertised address (a restart on another address, a new `--storage-adv-addr`), and
    // garbage is collected around the current artifact.
    let observed = repo.status.clone();
    let mut repo = repo;
    if !deleting {
        refresh_storage(&mut repo.status, storage);
        if let Some(current) = &repo.status.artifact {
            collect(&context, &*object, &namespace, &name, &current.path).await?;
        }
    }

    let reconciler = GitRepositoryReconciler {
        source: &context.source,
        clock: &SecondsClock,
        jitter: context.options.jitter,
    };
    let outcome = reconciler.reconcile(&repo).await;

    match outcome.finalizer {
        Finalizer::Remove => {
            // Flux's reconcileDelete: every artifact of the object goes, then the finalizer.
            let s = storage.clone();
            let (ns, n) = (namespace.clone(), name.clone());
            blocking(&key, move || s.remove_all(&ns, &n))
                .await?
                .map_err(|error| Error::Cleanup {
                    key: key.clone(),
                    error,
                })?;
            tracing::info!(gitrepository = %key, "garbage collected artifacts for deleted resource");
            if repo.metadata.has_finalizer() {
                let remaining: Vec<&String> = repo
                    .metadata
                    .finalizers
                    .iter()
                    .filter(|f| *f != FINALIZER)
                    .collect();
                patch_finalizers(&api, &key, &object, &remaining).await?;
            }
            context.succeeded(&key);
            return Ok(Action::await_change());
        }
        Finalizer::Add => {
            let mut all: Vec<&String> = repo.metadata.finalizers.iter().collect();
            let ours = FINALIZER.to_string();
            all.push(&ours);
            patch_finalizers(&api, &key, &object, &all).await?;
        }
        Finalizer::Keep => {}
    }

    // A new artifact: the retention policy applies around it at once.
    let old_path = repo.status.artifact.as_ref().map(|a| a.path.as_str());
    if let Some(new) = &outcome.status.artifact
        && Some(new.path.as_str()) != old_path
    {
        collect(&context, &*object, &namespace, &name, &new.path).await?;
    }

    let patch = status::status_patch(&observed, &outcome.status).map_err(|e| Error::Write {
        key: key.clone(),
        error: kube::Error::SerdeError(e),
    })?;
    if let Some(patch) = patch {
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": patch })),
        )
        .await
        .map_err(|error| Error::Write {
            key: key.clone(),
            error,
        })?;
    }

    let reference = object.object_ref(&());
    for event in &outcome.events {
        tracing::info!(
            gitrepository = %key,
            reason = %event.reason,
            message = %event.message,
            "event"
        );
        context.events.publish(&reference, event).await;
    }

    Ok(match outcome.requeue {
        Requeue::After(after) => {
            context.succeeded(&key);
            Action::requeue(after)
        }
        Requeue::Backoff => Action::requeue(context.backoff(&key)),
        Requeue::Never => {
            context.succeeded(&key);
            Action::await_change()
        }
    })
}

/// The status as the storage sees it: no artifact if its file is gone (and no
/// `ArtifactInStorage` claiming otherwise), its URL at the advertised address.
fn refresh_storage(status: &mut GitRepositoryStatus, storage: &Storage) {
    let Some(artifact) = &mut status.artifact else {
        return;
    };
    if !storage.exists(&artifact.path) {
        tracing::info!(artifact = %artifact.path, "artifact disappeared from storage");
        status.artifact = None;
        status.conditions.remove(condition::ARTIFACT_IN_STORAGE);
        return;
    }
    let url = format!("{}/{}", storage.base_url(), artifact.path);
    if artifact.url != url {
        artifact.url = url;
    }
}

/// Garbage-collects the object's artifacts around `current` and reports what went.
async fn collect<K>(
    context: &Context,
    object: &K,
    namespace: &str,
    name: &str,
    current: &str,
) -> Result<(), Error>
where
    K: Resource<DynamicType = ()>,
{
    let key = format!("{namespace}/{name}");
    let s = context.storage.clone();
    let (ns, n, c) = (namespace.to_string(), name.to_string(), current.to_string());
    match blocking(&key, move || s.garbage_collect(&ns, &n, &c)).await? {
        Ok(removed) if !removed.is_empty() => {
            let event = gitops_core::reconcile::Event {
                type_: gitops_core::reconcile::EventType::Normal,
                reason: "GarbageCollectionSucceeded".into(),
                message: format!("garbage collected {} artifacts", removed.len()),
                metadata: Default::default(),
            };
            tracing::info!(gitrepository = %key, removed = ?removed, "{}", event.message);
            context
                .events
                .publish(&object.object_ref(&()), &event)
                .await;
        }
        Ok(_) => {}
        // Flux reports a failed collection and goes on: the artifacts are still served.
        Err(e) => {
            tracing::warn!(gitrepository = %key, error = %e, "garbage collection of artifacts failed");
        }
    }
    Ok(())
}

/// Sets `metadata.finalizers`, guarded by the resourceVersion read, so a concurrent change
/// is not overwritten (a conflict retries the reconcile).
async fn patch_finalizers<K>(
    api: &Api<K>,
    key: &str,
    object: &K,
    finalizers: &[&String],
) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let patch = json!({
        "metadata": {
            "resourceVersion": object.resource_version(),
            "finalizers": finalizers,
        }
    });
    api.patch(
        &object.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await
    .map(|_| ())
    .map_err(|error| Error::Write {
        key: key.to_string(),
        error,
    })
}
