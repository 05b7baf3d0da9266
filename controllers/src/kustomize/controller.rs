//! The Kustomization controller on `kube::runtime::Controller`.
//!
//! Each reconcile reads the object as the core's value and runs the core's
//! [`KustomizationReconciler`] with an [`ArtifactFetcher`] as its source (download, verify
//! the digest, extract) and the object's own [`ResourceManager`] as its cluster (staged
//! server-side apply, prune, health). Every decision (suspend, `dependsOn`, cross-namespace
//! refs, render and apply failures that never prune, health waits as requeues, deletion with
//! prune) is the core's; this module writes back what it decided: the finalizer, the status
//! as a merge patch of what changed, the events, and when to run again.
//!
//! What wakes a Kustomization: a new generation, a new `reconcile.fluxcd.io/requestedAt`,
//! deletion (Flux's predicate; the controller's own status writes do not), a new artifact
//! of the GitRepository it references (revision or digest; [`Controller::watches_stream`]
//! maps the GitRepository to the Kustomizations of the reflector's cache that name it), and
//! the requeue the core asked for (interval, retry interval, dependency requeue, health poll).
//!
//! Reconciles of different Kustomizations run concurrently (`--concurrent`); each has its
//! own [`ResourceManager`], kept between runs so that an unchanged object costs no request,
//! and no lock is shared between them. A health wait is a requeue, so it holds no worker.
//!
//! Each reconcile is timed and counted into [`ControllerOptions::metrics`]
//! (`gotk_reconcile_duration_seconds{kind="Kustomization"}` and controller-runtime's metrics
//! under `controller="kustomization"`), and the first complete list of both watches
//! (Kustomizations, GitRepositories) marks [`ControllerOptions::health`] ready.

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use gitops_apply::ResourceManager;
use gitops_apply::health_watch::HealthWatch;
use gitops_core::api::{FINALIZER, REQUESTED_AT_ANNOTATION};
use gitops_core::plan::Owner;
use gitops_core::reconcile::{
    Clock, Cluster, Event, EventType, Finalizer, KustomizationOptions, KustomizationReconciler,
    Outcome, Requeue, health_check_set,
};
use gitops_core::schedule;
use gitops_core::status::{ConditionStatus, KustomizationStatus, condition, reason};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use kube::core::PartialObjectMeta;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt as _, predicates, reflector, watcher};
use kube::{Resource, ResourceExt as _};
use serde_json::json;
use tracing::Instrument as _;

use super::artifact::ArtifactFetcher;
use super::status::status_patch;
use super::tenant::Tenant;
use crate::api::unsupported::{Support, UnsupportedField, summary, unsupported_fields_of};
use crate::api::{ConversionError, GitRepository, Kustomization, to_core};
use crate::health::{Health, ReadyCheck};
use crate::metrics::{ControllerMetrics, Metrics};
use crate::source::events::EventRecorder;

/// Flux's default `--watch-configs-label-selector`.
pub const WATCH_CONFIGS_SELECTOR: &str = "reconcile.fluxcd.io/watch=Enabled";

/// The component name events and logs carry, Flux's.
pub const COMPONENT: &str = "kustomize-controller";

/// The controller's flags.
#[derive(Clone, Debug, PartialEq)]
pub struct ControllerOptions {
    /// `--concurrent`: Kustomizations reconciled at the same time (Flux's default 4).
    pub concurrent: u16,
    /// The namespace to watch; `None` watches all (`--watch-all-namespaces`).
    pub namespace: Option<String>,
    /// `--watch-label-selector`: only Kustomizations matching it (sharding).
    pub label_selector: Option<String>,
    /// `--requeue-dependency`, `--no-cross-namespace-refs`, `--interval-jitter-percentage`
    /// and the other settings of the core's reconciler.
    pub reconciler: KustomizationOptions,
    /// The instance name written into events (the pod name in a cluster).
    pub instance: String,
    /// Where reconciles are recorded (`gotk_reconcile_duration_seconds`, controller-runtime's
    /// metrics); by default a registry of its own that nothing serves.
    pub metrics: Metrics,
    /// Where the watches report that they have synced (`/readyz`).
    pub health: Health,
    /// `--watch-configs-label-selector`: the ConfigMaps and Secrets watched for changes that
    /// reconcile the Kustomizations naming them in `postBuild.substituteFrom` or
    /// `kubeConfig.secretRef` (Flux's default `reconcile.fluxcd.io/watch=Enabled`); `None`
    /// watches none.
    pub watch_configs_label_selector: Option<String>,
    /// How often a health wait in progress is assessed when none of its objects changed
    /// (the watches wake it at once when one does).
    pub health_poll: Duration,
    /// `--default-service-account`: the service account a Kustomization without
    /// `spec.serviceAccountName` is applied as (in its own namespace); `None` applies those
    /// with the controller's identity.
    pub default_service_account: Option<String>,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        Self {
            concurrent: 4,
            namespace: None,
            label_selector: None,
            reconciler: KustomizationOptions::default(),
            instance: std::env::var("HOSTNAME").unwrap_or_else(|_| COMPONENT.into()),
            metrics: Metrics::default(),
            health: Health::default(),
            default_service_account: None,
            health_poll: Duration::from_secs(30),
            watch_configs_label_selector: Some(WATCH_CONFIGS_SELECTOR.into()),
        }
    }
}

/// What can fail in one reconcile outside the core's own failures (which are conditions).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object could not be read as the core's type.
    #[error(transparent)]
    Decode(#[from] ConversionError),
    /// Writing the finalizer or the status failed; the reconcile is retried.
    #[error("cannot update Kustomization {key}: {error}")]
    Write {
        /// `<namespace>/<name>`.
        key: String,
        /// The API server's answer.
        error: kube::Error,
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

/// The cluster a Kustomization reconciles against, and what it was built for.
type Managed = (Target, Arc<dyn Cluster>);

/// What a Kustomization's cluster is built for: the service account it acts as and the
/// remote cluster it applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Target {
    account: Option<String>,
    /// The kubeconfig Secret and its resourceVersion: a changed Secret builds a new client.
    remote: Option<String>,
}

/// The remote cluster of a Kustomization's `spec.kubeConfig.secretRef`.
struct Remote {
    /// `<namespace>/<secret>@<resourceVersion>`.
    identity: String,
    client: kube::Client,
}

/// Why the remote cluster of `spec.kubeConfig` could not be reached.
#[derive(Debug, thiserror::Error)]
enum RemoteError {
    #[error("unable to read KubeConfig secret '{secret}': {source}")]
    Read {
        secret: String,
        #[source]
        source: kube::Error,
    },
    #[error("KubeConfig secret '{secret}' not found; create it or remove spec.kubeConfig")]
    Missing { secret: String },
    #[error("KubeConfig secret '{secret}' does not contain a '{key}' key")]
    NoKey { secret: String, key: String },
    #[error(transparent)]
    Client(#[from] gitops_apply::client::ClientError),
}

/// The client for the cluster named by `spec.kubeConfig.secretRef` of `object`, `None`
/// when it applies here. The Secret is read in the Kustomization's namespace with the
/// controller's identity; its key is `secretRef.key`, else `value`, else `value.yaml`, as
/// Flux reads it.
async fn remote(
    client: &kube::Client,
    object: &Kustomization,
) -> Result<Option<Remote>, RemoteError> {
    let Some(reference) = object
        .spec
        .kube_config
        .as_ref()
        .and_then(|k| k.secret_ref.as_ref())
    else {
        return Ok(None);
    };
    let namespace = object.namespace().unwrap_or_default();
    let secret = format!("{namespace}/{}", reference.name);
    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(client.clone(), &namespace);
    let found = secrets
        .get_opt(&reference.name)
        .await
        .map_err(|source| RemoteError::Read {
            secret: secret.clone(),
            source,
        })?
        .ok_or_else(|| RemoteError::Missing {
            secret: secret.clone(),
        })?;
    let data = found.data.unwrap_or_default();
    let keys: Vec<&str> = match reference.key.as_deref().filter(|k| !k.is_empty()) {
        Some(key) => vec![key],
        None => vec!["value", "value.yaml"],
    };
    let Some((key, value)) = keys.iter().find_map(|k| data.get(*k).map(|v| (*k, v))) else {
        return Err(RemoteError::NoKey {
            secret,
            key: keys.join("' or '"),
        });
    };
    let text = String::from_utf8_lossy(&value.0);
    let source_name = format!("Secret/{secret} key {key}");
    let client = gitops_apply::client::from_kubeconfig(&text, &source_name).await?;
    let version = found.metadata.resource_version.unwrap_or_default();
    Ok(Some(Remote {
        identity: format!("{secret}@{version}"),
        client,
    }))
}

struct Context {
    client: kube::Client,
    fetcher: ArtifactFetcher,
    events: EventRecorder,
    options: ControllerOptions,
    metrics: ControllerMetrics,
    /// One apply engine per Kustomization (`namespace/name`), with the service account it
    /// acts as: its owner labels and what it applied last. Locked only to look one up, never
    /// across a reconcile.
    managers: Mutex<HashMap<String, Managed>>,
    /// The watches that wake a Kustomization whose health wait is in progress.
    health_watch: HealthWatch<ObjectRef<Kustomization>>,
    /// What the engines on this cluster learnt of its kinds, shared by all of them.
    discovery: Arc<gitops_apply::discovery::Discovery>,
}

impl Context {
    fn managers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Managed>> {
        self.managers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The service account `ks` is applied as: its `spec.serviceAccountName`, else
    /// `--default-service-account`, else none (the controller's own identity).
    fn service_account<'a>(&'a self, ks: &'a gitops_core::api::Kustomization) -> Option<&'a str> {
        ks.spec
            .service_account_name
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(self.options.default_service_account.as_deref())
    }

    /// The cluster `ks` reconciles against: this one with the controller's identity; as its
    /// service account when it has one; the `remote` cluster of its `spec.kubeConfig` when
    /// set (acting as the service account there). Sources and `dependsOn` are always read
    /// here, as the controller. Another target gets a new engine (which forgets what the
    /// old one applied).
    fn manager(
        &self,
        ks: &gitops_core::api::Kustomization,
        remote: Option<Remote>,
    ) -> Result<Arc<dyn Cluster>, gitops_apply::client::ClientError> {
        let (namespace, name) = (&ks.metadata.namespace, &ks.metadata.name);
        let key = format!("{namespace}/{name}");
        let target = Target {
            account: self.service_account(ks).map(str::to_string),
            remote: remote.as_ref().map(|r| r.identity.clone()),
        };
        if let Some((cached, manager)) = self.managers().get(&key)
            && *cached == target
        {
            return Ok(manager.clone());
        }
        let own = self.own(ks);
        let (base, elsewhere) = match remote {
            Some(remote) => (remote.client, true),
            None => (self.client.clone(), false),
        };
        let tenant = match &target.account {
            Some(account) => Some(gitops_apply::client::acting_as(&base, namespace, account)?),
            None if elsewhere => Some(base),
            None => None,
        };
        let manager: Arc<dyn Cluster> = match tenant {
            Some(client) => Arc::new(Tenant {
                controller: own,
                tenant: self.engine(ks, client, !elsewhere),
            }),
            None => own,
        };
        self.managers().insert(key, (target, manager.clone()));
        Ok(manager)
    }

    /// An apply engine for `ks` on `client`; on this cluster (`here`) it shares the
    /// controller's discovery cache, so a thousand Kustomizations discover each group
    /// version once.
    fn engine(
        &self,
        ks: &gitops_core::api::Kustomization,
        client: kube::Client,
        here: bool,
    ) -> Arc<ResourceManager> {
        let owner = Owner::new(&ks.metadata.name, &ks.metadata.namespace);
        let mut manager = ResourceManager::new(client, owner)
            .with_field_manager(&self.options.reconciler.field_manager);
        if here {
            manager = manager.with_discovery(self.discovery.clone());
        }
        Arc::new(
            self.options
                .reconciler
                .override_managers
                .iter()
                .fold(manager, |m, o| m.with_override_manager(o)),
        )
    }

    /// The engine of `ks` with the controller's own identity, on this cluster.
    fn own(&self, ks: &gitops_core::api::Kustomization) -> Arc<ResourceManager> {
        self.engine(ks, self.client.clone(), true)
    }

    /// Whether the service account `ks` is applied as is gone: Flux then skips garbage
    /// collection on deletion (the objects stay) rather than fail to delete them forever.
    async fn service_account_gone(&self, ks: &gitops_core::api::Kustomization) -> bool {
        let Some(account) = self.service_account(ks) else {
            return false;
        };
        let accounts: Api<k8s_openapi::api::core::v1::ServiceAccount> =
            Api::namespaced(self.client.clone(), &ks.metadata.namespace);
        matches!(accounts.get_opt(account).await, Ok(None))
    }
}

/// Flux's predicate for Kustomizations: generation, the reconcile request annotation and
/// deletion; status and metadata writes do not trigger.
fn trigger_hash(object: &Kustomization) -> Option<u64> {
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

/// What of a GitRepository wakes its Kustomizations: its artifact's revision and digest
/// (Flux's `SourceRevisionChangePredicate`).
fn artifact_hash(repo: &GitRepository) -> Option<u64> {
    let artifact = repo.status.as_ref().and_then(|s| s.artifact.as_ref())?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    artifact.revision.hash(&mut h);
    artifact.digest.hash(&mut h);
    Some(h.finish())
}

/// The Kustomizations in `store` whose `sourceRef` names `repo`.
fn referencing(
    store: &Store<Kustomization>,
    repo: &GitRepository,
) -> Vec<ObjectRef<Kustomization>> {
    let repo_ns = repo.namespace().unwrap_or_default();
    let repo_name = repo.name_any();
    store
        .state()
        .into_iter()
        .filter(|ks| {
            let source = &ks.spec.source_ref;
            let ns = source
                .namespace
                .clone()
                .or_else(|| ks.namespace())
                .unwrap_or_default();
            source.kind == "GitRepository" && source.name == repo_name && ns == repo_ns
        })
        .map(|ks| ObjectRef::from_obj(&*ks))
        .collect()
}

/// The Kustomizations in `store` that read the ConfigMap or Secret `kind`/`namespace`/`name`:
/// through `postBuild.substituteFrom`, or (a Secret) as their `kubeConfig.secretRef`.
fn reading_config(
    store: &Store<Kustomization>,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Vec<ObjectRef<Kustomization>> {
    store
        .state()
        .into_iter()
        .filter(|ks| ks.namespace().as_deref() == Some(namespace))
        .filter(|ks| {
            let substitutes = ks.spec.post_build.as_ref().is_some_and(|p| {
                p.substitute_from
                    .iter()
                    .any(|r| r.kind == kind && r.name == name)
            });
            let kubeconfig = kind == "Secret"
                && ks
                    .spec
                    .kube_config
                    .as_ref()
                    .and_then(|k| k.secret_ref.as_ref())
                    .is_some_and(|r| r.name == name);
            substitutes || kubeconfig
        })
        .map(|ks| ObjectRef::from_obj(&*ks))
        .collect()
}

/// Runs the Kustomization controller (`kustomize.toolkit.fluxcd.io/v1`) until `shutdown`
/// completes.
///
/// Its readiness checks and metrics are registered when it is called, before the future
/// first runs, so that `/readyz` cannot report ready in between.
pub fn run(
    client: kube::Client,
    options: ControllerOptions,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Future<Output = ()> + Send + 'static {
    let metrics = options
        .metrics
        .controller("Kustomization", options.concurrent);
    let synced = [
        options.health.check(&format!("{COMPONENT}/kustomizations")),
        options
            .health
            .check(&format!("{COMPONENT}/gitrepositories")),
    ];
    watch_and_reconcile(client, options, metrics, synced, shutdown)
}

/// Marks `check` ready at the watch's first complete list.
fn on_synced<K>(check: ReadyCheck) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) {
    move |event| {
        if matches!(event, Ok(watcher::Event::InitDone)) {
            check.ready();
        }
    }
}

async fn watch_and_reconcile(
    client: kube::Client,
    options: ControllerOptions,
    metrics: ControllerMetrics,
    [kustomizations_synced, repositories_synced]: [ReadyCheck; 2],
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let (kustomizations, repositories): (Api<Kustomization>, Api<GitRepository>) =
        match &options.namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (Api::all(client.clone()), Api::all(client.clone())),
        };
    let mut watch = watcher::Config::default();
    if let Some(selector) = &options.label_selector {
        watch = watch.labels(selector);
    }
    let config = kube::runtime::controller::Config::default().concurrency(options.concurrent);
    let (health_watch, settling) = HealthWatch::new(client.clone());
    let context = Arc::new(Context {
        events: EventRecorder::new(client.clone(), COMPONENT, &options.instance),
        fetcher: ArtifactFetcher::default(),
        client,
        options,
        metrics: metrics.clone(),
        managers: Mutex::new(HashMap::new()),
        health_watch,
        discovery: Arc::default(),
    });
    let (reader, writer) = reflector::store();
    let added = metrics.clone();
    let triggers = watcher(kustomizations, watch)
        .default_backoff()
        .reflect(writer)
        .inspect(on_synced(kustomizations_synced))
        .applied_objects()
        .predicate_filter(trigger_hash, Default::default())
        .inspect(move |object| {
            if object.is_ok() {
                added.added(1);
            }
        });
    let new_artifacts = watcher(repositories, watcher::Config::default())
        .default_backoff()
        .inspect(on_synced(repositories_synced))
        .applied_objects()
        .predicate_filter(artifact_hash, Default::default());
    let cache = reader.clone();
    let configs = context.options.watch_configs_label_selector.clone();
    let namespace = context.options.namespace.clone();
    let (config_maps, secrets) =
        config_changes(&context.client, namespace.as_deref(), configs.as_deref());
    let (by_config_map, by_secret) = (reader.clone(), reader.clone());
    let (config_added, secret_added) = (metrics.clone(), metrics.clone());
    Controller::for_stream(triggers, reader)
        .with_config(config)
        .watches_stream(new_artifacts, move |repo| {
            let referencing = referencing(&cache, &repo);
            metrics.added(referencing.len() as u64);
            referencing
        })
        .watches_stream(config_maps, move |cm| {
            let reading = reading_config(
                &by_config_map,
                "ConfigMap",
                &cm.namespace().unwrap_or_default(),
                &cm.name_any(),
            );
            config_added.added(reading.len() as u64);
            reading
        })
        .watches_stream(secrets, move |secret| {
            let reading = reading_config(
                &by_secret,
                "Secret",
                &secret.namespace().unwrap_or_default(),
                &secret.name_any(),
            );
            secret_added.added(reading.len() as u64);
            reading
        })
        .reconcile_on(settling)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, context)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "reconcile loop");
            }
        })
        .await;
}

/// The changed objects of one kind, as their metadata.
type Changes<K> = futures::stream::BoxStream<'static, Result<PartialObjectMeta<K>, watcher::Error>>;

/// The changes of the ConfigMaps and Secrets matching `selector` (their metadata only: the
/// values are read by the reconcile). The objects of a list (at start-up, or after the watch
/// expired) wake nothing: at start-up every Kustomization reconciles anyway, and a change
/// missed while relisting is caught by the Kustomization's interval. With no selector the
/// streams are empty.
fn config_changes(
    client: &kube::Client,
    namespace: Option<&str>,
    selector: Option<&str>,
) -> (Changes<ConfigMap>, Changes<Secret>) {
    let Some(selector) = selector.filter(|s| !s.is_empty()) else {
        return (
            futures::stream::empty().boxed(),
            futures::stream::empty().boxed(),
        );
    };
    let config = watcher::Config::default().labels(selector);
    fn changes<K>(api: Api<PartialObjectMeta<K>>, config: watcher::Config) -> Changes<K>
    where
        K: Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + Sync + 'static,
        K::DynamicType: Default + Eq + Hash + Clone + Send,
    {
        watcher(api, config)
            .default_backoff()
            // `Apply` only: the objects of a (re)list are not changes.
            .filter_map(|event| {
                futures::future::ready(match event {
                    Ok(watcher::Event::Apply(object)) => Some(Ok(object)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
            })
            .predicate_filter(predicates::resource_version, Default::default())
            .boxed()
    }
    match namespace {
        Some(ns) => (
            changes(Api::namespaced(client.clone(), ns), config.clone()),
            changes(Api::namespaced(client.clone(), ns), config),
        ),
        None => (
            changes(Api::all(client.clone()), config.clone()),
            changes(Api::all(client.clone()), config),
        ),
    }
}

fn error_policy(object: Arc<Kustomization>, error: &Error, context: Arc<Context>) -> Action {
    let key = format!(
        "{}/{}",
        object.namespace().unwrap_or_default(),
        object.name_any()
    );
    tracing::warn!(kustomization = %key, error = %error, "reconcile failed");
    context.metrics.retried();
    // A write that lost a race with another writer (409 Conflict) is retried at once, with
    // the object read again, as controller-runtime requeues it with a short backoff; any
    // other failed write after the object's retry interval (its interval when unset).
    if let Error::Write {
        error: kube::Error::Api(status),
        ..
    } = error
        && status.code == 409
    {
        return Action::requeue(Duration::from_secs(1));
    }
    let retry = to_core::<_, gitops_core::api::Kustomization>(&*object)
        .ok()
        .and_then(|ks| ks.retry_interval().ok())
        .unwrap_or(Duration::from_secs(60));
    Action::requeue(retry)
}

async fn reconcile(object: Arc<Kustomization>, context: Arc<Context>) -> Result<Action, Error> {
    let namespace = object.namespace().unwrap_or_default();
    let name = object.name_any();
    let metrics = context.metrics.clone();
    metrics
        .reconcile(&namespace, &name, reconcile_traced(object, context))
        .await
}

async fn reconcile_traced(
    object: Arc<Kustomization>,
    context: Arc<Context>,
) -> Result<Action, Error> {
    let ks: gitops_core::api::Kustomization = to_core(&*object)?;
    let span = tracing::info_span!(
        "reconcile",
        kustomization = %format!("{}/{}", ks.metadata.namespace, ks.metadata.name),
        generation = ks.metadata.generation,
    );
    reconcile_object(object, ks, context).instrument(span).await
}

/// Resolves the cluster `ks` reconciles against (its service account, its remote
/// kubeconfig) and its deletion policy, then runs the core's reconciler.
async fn run_core(
    object: &Kustomization,
    ks: &gitops_core::api::Kustomization,
    context: &Context,
) -> Outcome<KustomizationStatus> {
    // `spec.kubeConfig` is this controller's to act on (the core refuses fields it does not
    // model): once its cluster is resolved below, the core need not see it.
    // `spec.kubeConfig` and `spec.deletionPolicy` are this controller's to act on (the core
    // refuses fields it does not model): the cluster is resolved and the policy applied
    // below, so the core need not see them.
    let mut ks = ks.clone();
    ks.spec.other.remove("kubeConfig");
    ks.spec.other.remove("deletionPolicy");
    let deleting = ks.metadata.deletion_timestamp.is_some();
    let policy = DeletionPolicy::of(object);
    let target = match remote(&context.client, object).await {
        Ok(remote) => context.manager(&ks, remote).map_err(RemoteError::from),
        Err(e) => Err(e),
    };
    if deleting {
        // Flux's deletion policies: MirrorPrune deletes what `prune` would, Delete and
        // WaitForTermination always delete, Orphan never does.
        ks.spec.prune = match policy {
            DeletionPolicy::MirrorPrune => ks.spec.prune,
            DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
            DeletionPolicy::Orphan => false,
        };
    }
    // Nothing can be collected from a cluster that cannot be reached, or as a service
    // account that is gone: on deletion the objects stay and the finalizer goes, as Flux
    // does, instead of failing to delete them forever.
    let orphan = deleting
        && ks.spec.prune
        && match &target {
            Err(e) => {
                tracing::info!(error = %e, "skipping garbage collection: the target cluster cannot be reached");
                true
            }
            Ok(_) if context.service_account_gone(&ks).await => {
                tracing::info!("skipping garbage collection: the service account is gone");
                true
            }
            Ok(_) => false,
        };
    let manager = match target {
        Ok(manager) => manager,
        // With pruning off, deletion asks nothing of the cluster.
        Err(_) if orphan => context.own(&ks),
        Err(e) => return failed(&ks, e.to_string()),
    };
    if orphan {
        ks.spec.prune = false;
    }
    let ks = &ks;
    let outcome = run_reconciler(ks, context, &*manager).await;
    if deleting
        && ks.spec.prune
        && policy == DeletionPolicy::WaitForTermination
        && outcome.finalizer == Finalizer::Remove
    {
        wait_for_termination(ks, &*manager).await;
    }
    outcome
}

/// `spec.deletionPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DeletionPolicy {
    MirrorPrune,
    Delete,
    WaitForTermination,
    Orphan,
}

impl DeletionPolicy {
    /// The policy of `object`; the CRD admits only these values, and unset is MirrorPrune.
    fn of(object: &Kustomization) -> Self {
        match object.spec.deletion_policy.as_deref() {
            Some("Delete") => Self::Delete,
            Some("WaitForTermination") => Self::WaitForTermination,
            Some("Orphan") => Self::Orphan,
            _ => Self::MirrorPrune,
        }
    }
}

/// `WaitForTermination`: after the inventory's objects were deleted, waits (within
/// `spec.timeout`, every 2s as Flux) until they are gone, so that their finalizers have run
/// before the Kustomization goes. The finalizer is released either way, as Flux does.
async fn wait_for_termination(ks: &gitops_core::api::Kustomization, cluster: &dyn Cluster) {
    let members: Vec<gitops_core::reconcile::SetMember> = ks
        .status
        .inventory
        .as_ref()
        .map(|i| {
            i.entries
                .iter()
                .map(|e| (e.object.clone(), e.api_version()))
                .collect()
        })
        .unwrap_or_default();
    let timeout = ks.timeout().unwrap_or(Duration::from_secs(300));
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        match cluster.read_set(&members).await {
            Ok(live) if live.is_empty() => return,
            Ok(_) | Err(_) if tokio::time::Instant::now() >= deadline => {
                tracing::info!(
                    kustomization = %format!("{}/{}", ks.metadata.namespace, ks.metadata.name),
                    "objects still terminating after the timeout; releasing the finalizer"
                );
                return;
            }
            _ => tokio::time::sleep(Duration::from_secs(2)).await,
        }
    }
}

/// Runs the core's reconciler within the object's `spec.timeout`: a run that overruns it
/// fails with Flux's reason and is retried, instead of holding a worker.
async fn run_reconciler(
    ks: &gitops_core::api::Kustomization,
    context: &Context,
    manager: &dyn Cluster,
) -> Outcome<KustomizationStatus> {
    let reconciler = KustomizationReconciler {
        source: &context.fetcher,
        cluster: manager,
        clock: &SecondsClock,
        options: context.options.reconciler.clone(),
    };
    let Ok(timeout) = ks.timeout() else {
        // The core reports an invalid duration as a stalled condition.
        return reconciler.reconcile(ks).await;
    };
    match tokio::time::timeout(timeout, reconciler.reconcile(ks)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            let mut outcome = failed(
                ks,
                format!(
                    "reconciliation did not finish within its timeout of {}; raise spec.timeout or reduce what it applies",
                    schedule::format_duration(timeout)
                ),
            );
            outcome.requeue = Requeue::After(ks.retry_interval().unwrap_or(timeout));
            outcome
        }
    }
}

async fn reconcile_object(
    object: Arc<Kustomization>,
    ks: gitops_core::api::Kustomization,
    context: Arc<Context>,
) -> Result<Action, Error> {
    let namespace = ks.metadata.namespace.clone();
    let name = ks.metadata.name.clone();
    let key = format!("{namespace}/{name}");
    let api: Api<Kustomization> = Api::namespaced(context.client.clone(), &namespace);
    if ks.spec.suspend && ks.metadata.deletion_timestamp.is_none() {
        tracing::info!(kustomization = %key, "Reconciliation is suspended for this object");
    }

    let fields = unsupported_fields_of(&*object);
    let outcome = match refuse_unsupported(&ks, &fields) {
        Some(refused) => refused,
        None => {
            let mut outcome = run_core(&object, &ks, &context).await;
            note_ignored(&ks, &fields, &mut outcome.status);
            outcome
        }
    };
    let reference = object.object_ref(&());
    let this = ObjectRef::from_obj(&*object);
    let publish = |outcome: &Outcome<KustomizationStatus>| {
        let (context, reference, key) = (&context, &reference, &key);
        let events = outcome.events.clone();
        async move {
            for event in &events {
                tracing::info!(kustomization = %key, reason = %event.reason, message = %event.message, "event");
                context.events.publish(reference, event).await;
            }
        }
    };

    match outcome.finalizer {
        Finalizer::Remove => {
            publish(&outcome).await;
            if ks.metadata.has_finalizer() {
                let remaining: Vec<&String> = ks
                    .metadata
                    .finalizers
                    .iter()
                    .filter(|f| *f != FINALIZER)
                    .collect();
                patch_finalizers(&api, &key, &object, &remaining).await?;
            }
            context.managers().remove(&key);
            context.health_watch.release(&this);
            return Ok(Action::await_change());
        }
        Finalizer::Add => {
            let mut all: Vec<&String> = ks.metadata.finalizers.iter().collect();
            let ours = FINALIZER.to_string();
            all.push(&ours);
            patch_finalizers(&api, &key, &object, &all).await?;
        }
        Finalizer::Keep => {}
    }

    let patch = status_patch(&ks.status, &outcome.status).map_err(|e| Error::Write {
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
    publish(&outcome).await;

    // A health wait in progress is woken by the watches of what it waits for; the requeue
    // is only the fallback.
    let waiting = outcome
        .status
        .conditions
        .get(condition::HEALTHY)
        .is_some_and(|c| c.status == ConditionStatus::Unknown)
        && outcome.requeue == Requeue::After(schedule::HEALTH_POLL);
    let inventory = outcome.status.inventory.clone().unwrap_or_default();
    let members = if waiting {
        health_check_set(&ks, &inventory)
    } else {
        Vec::new()
    };
    if members.is_empty() {
        context.health_watch.release(&this);
    } else {
        context.health_watch.register(this.clone(), &members).await;
        return Ok(Action::requeue(context.options.health_poll));
    }

    Ok(match outcome.requeue {
        Requeue::After(after) => Action::requeue(after),
        Requeue::Backoff => Action::requeue(ks.retry_interval().unwrap_or(Duration::from_secs(60))),
        Requeue::Never => Action::await_change(),
    })
}

/// A reconcile that failed before the core could run, or overran its timeout: Ready=False
/// `ReconciliationFailed` with `message`, retried after the retry interval.
fn failed(ks: &gitops_core::api::Kustomization, message: String) -> Outcome<KustomizationStatus> {
    let mut status = ks.status.clone();
    status.conditions.set(
        condition::READY,
        ConditionStatus::False,
        reason::RECONCILIATION_FAILED,
        message,
        ks.metadata.generation,
        SecondsClock.now(),
    );
    Outcome {
        status,
        requeue: Requeue::After(ks.retry_interval().unwrap_or(Duration::from_secs(60))),
        events: Vec::new(),
        finalizer: Finalizer::Keep,
    }
}

/// The condition type that lists fields accepted and ignored (deprecated `v1beta2` fields
/// Flux stopped acting on too); status True while any is set.
pub const FIELDS_IGNORED: &str = "FieldsIgnored";

/// A Kustomization setting a field Flux acts on and this controller does not is not
/// reconciled: reconciling anyway would not do what was asked. It stalls with
/// `UnsupportedField` (deletion still goes through the core, so the finalizer is released).
fn refuse_unsupported(
    ks: &gitops_core::api::Kustomization,
    fields: &[UnsupportedField],
) -> Option<Outcome<KustomizationStatus>> {
    let missing: Vec<UnsupportedField> = fields
        .iter()
        .filter(|f| f.support == Support::NotImplemented)
        .cloned()
        .collect();
    if missing.is_empty() || ks.metadata.deletion_timestamp.is_some() || ks.spec.suspend {
        return None;
    }
    let message = format!(
        "{} not supported by this controller yet; remove {} or reconcile this Kustomization with Flux",
        summary(&missing),
        if missing.len() == 1 { "it" } else { "them" }
    );
    let now = SecondsClock.now();
    let generation = ks.metadata.generation;
    let mut status = ks.status.clone();
    for c in [condition::READY, condition::STALLED] {
        let value = if c == condition::READY {
            ConditionStatus::False
        } else {
            ConditionStatus::True
        };
        status.conditions.set(
            c,
            value,
            reason::UNSUPPORTED_FIELD,
            &message,
            generation,
            now,
        );
    }
    status.conditions.remove(condition::RECONCILING);
    Some(Outcome {
        status,
        requeue: Requeue::Never,
        events: vec![Event {
            type_: EventType::Warning,
            reason: reason::UNSUPPORTED_FIELD.into(),
            message,
            metadata: Default::default(),
        }],
        finalizer: if ks.metadata.has_finalizer() {
            Finalizer::Keep
        } else {
            Finalizer::Add
        },
    })
}

/// Fields accepted and ignored are named in the [`FIELDS_IGNORED`] condition.
fn note_ignored(
    ks: &gitops_core::api::Kustomization,
    fields: &[UnsupportedField],
    status: &mut KustomizationStatus,
) {
    let ignored: Vec<UnsupportedField> = fields
        .iter()
        .filter(|f| f.support == Support::Ignored)
        .cloned()
        .collect();
    if ignored.is_empty() {
        status.conditions.remove(FIELDS_IGNORED);
        return;
    }
    status.conditions.set(
        FIELDS_IGNORED,
        ConditionStatus::True,
        reason::UNSUPPORTED_FIELD,
        summary(&ignored),
        ks.metadata.generation,
        SecondsClock.now(),
    );
}

/// Sets `metadata.finalizers`, guarded by the resourceVersion read, so a concurrent change
/// is not overwritten (a conflict retries the reconcile).
async fn patch_finalizers(
    api: &Api<Kustomization>,
    key: &str,
    object: &Kustomization,
    finalizers: &[&String],
) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn kustomization(spec: serde_json::Value) -> gitops_core::api::Kustomization {
        serde_json::from_value(json!({
            "metadata": {"name": "apps", "namespace": "flux-system", "generation": 1},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn a_service_account_is_acted_on_not_refused() {
        let ks = kustomization(json!({
            "interval": "10m", "prune": true, "serviceAccountName": "deployer",
            "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
        }));
        assert!(refuse_unsupported(&ks, &[]).is_none());
    }
}
