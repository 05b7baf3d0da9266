//! Waking a health wait when what it waits for changes, instead of polling it.
//!
//! A caller waiting for a set to become healthy (the kustomize controller's `wait` and
//! `healthChecks`, which return to the queue rather than hold a worker) registers the set
//! under a key of its own. [`HealthWatch`] keeps one metadata-only watch per kind that some
//! registered set holds, cluster-wide, and yields the key of every set one of whose objects
//! changed (a new resourceVersion: a status written by its controller, a rollout). The caller
//! then assesses the set again, with its own client and rules; the watch only says when.
//!
//! So a set costs no request while nothing in it changes, and a finished rollout is seen
//! within one watch event rather than at the next poll (a deleted object wakes its sets too). A kind's watch is started when the
//! first set needs it and stopped when the last set holding it is released, so an idle
//! controller keeps no watch open. The watches use the client given to [`HealthWatch::new`]
//! (the controller's own): they only wake, they decide nothing, so a tenant's objects are
//! still assessed as the tenant.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use futures::{Stream, StreamExt as _};
use gitops_core::ObjectRef;
use gitops_core::reconcile::SetMember;
use kube::Client;
use kube::api::Api;
use kube::core::{DynamicObject, PartialObjectMeta};
use kube::runtime::{WatchStreamExt as _, watcher};
use tokio::sync::mpsc;

use crate::discovery::Discovery;

/// One watched kind: `apiVersion` and kind.
type Kind = (String, String);

struct State<T> {
    /// The registered sets.
    sets: HashMap<T, HashSet<ObjectRef>>,
    /// The watch task of each kind some set holds.
    watches: HashMap<Kind, tokio::task::JoinHandle<()>>,
}

/// The watches behind registered health waits, and the stream of keys they wake.
pub struct HealthWatch<T> {
    client: Client,
    discovery: Arc<Discovery>,
    state: Arc<Mutex<State<T>>>,
    wake: mpsc::UnboundedSender<T>,
}

impl<T> HealthWatch<T>
where
    T: Clone + Eq + Hash + Send + Sync + 'static,
{
    /// A watch on `client` and the stream of the keys it wakes. The stream ends when the
    /// `HealthWatch` is dropped.
    pub fn new(client: Client) -> (Self, impl Stream<Item = T> + Send + 'static) {
        let (wake, woken) = mpsc::unbounded_channel();
        let watch = Self {
            client,
            discovery: Arc::new(Discovery::new()),
            state: Arc::new(Mutex::new(State {
                sets: HashMap::new(),
                watches: HashMap::new(),
            })),
            wake,
        };
        let stream = futures::stream::unfold(woken, |mut woken| async move {
            woken.recv().await.map(|key| (key, woken))
        });
        (watch, stream)
    }

    /// Wakes `key` when an object of `members` changes, replacing what `key` registered
    /// before. Kinds the server does not serve are skipped (their objects cannot change).
    pub async fn register(&self, key: T, members: &[SetMember]) {
        let mut kinds: Vec<Kind> = Vec::new();
        for (object, api_version) in members {
            let kind = (api_version.clone(), object.kind.clone());
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let mut resources = Vec::new();
        for (api_version, kind) in kinds {
            if lock(&self.state)
                .watches
                .contains_key(&(api_version.clone(), kind.clone()))
            {
                continue;
            }
            match self
                .discovery
                .resolve(&self.client, &api_version, &kind)
                .await
            {
                Ok(Some(resource)) if resource.listable => {
                    resources.push(((api_version, kind), resource));
                }
                // Not served, or discovery failed: the set is still assessed at the caller's
                // poll, only not woken early.
                Ok(_) | Err(_) => {}
            }
        }
        let mut state = lock(&self.state);
        state
            .sets
            .insert(key, members.iter().map(|(o, _)| o.clone()).collect());
        for (kind, resource) in resources {
            if state.watches.contains_key(&kind) {
                continue;
            }
            let task = tokio::spawn(watch_kind(
                self.client.clone(),
                resource.api,
                self.state.clone(),
                self.wake.clone(),
            ));
            state.watches.insert(kind, task);
        }
        stop_unused(&mut state);
    }

    /// Forgets what `key` registered; a kind no set holds any more is no longer watched.
    pub fn release(&self, key: &T) {
        let mut state = lock(&self.state);
        if state.sets.remove(key).is_some() {
            stop_unused(&mut state);
        }
    }

    /// The kinds watched now, as `apiVersion` and kind.
    pub fn watched_kinds(&self) -> Vec<(String, String)> {
        let mut kinds: Vec<Kind> = lock(&self.state).watches.keys().cloned().collect();
        kinds.sort();
        kinds
    }
}

impl<T> Drop for HealthWatch<T> {
    fn drop(&mut self) {
        for (_, task) in lock(&self.state).watches.drain() {
            task.abort();
        }
    }
}

fn lock<T>(state: &Mutex<State<T>>) -> MutexGuard<'_, State<T>> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stops the watches of kinds no registered set holds.
fn stop_unused<T>(state: &mut State<T>) {
    let held: HashSet<(&str, &str)> = state
        .sets
        .values()
        .flatten()
        .map(|o| (o.group.as_str(), o.kind.as_str()))
        .collect();
    let unused: Vec<Kind> = state
        .watches
        .keys()
        .filter(|(api_version, kind)| {
            let group = gitops_core::split_api_version(api_version).0;
            !held.contains(&(group, kind.as_str()))
        })
        .cloned()
        .collect();
    for kind in unused {
        if let Some(task) = state.watches.remove(&kind) {
            task.abort();
        }
    }
}

/// What a kind's watch saw.
enum Seen {
    /// An object changed.
    Changed(ObjectRef),
    /// The watch finished a (re)list.
    Listed,
}

/// Watches one kind's metadata and wakes the sets holding an object that changed. When the
/// watch has (re)listed, every set holding the kind is woken once: a change made before the
/// watch was established (between the caller's assessment and its registration) is then
/// seen by that assessment instead of being lost in the list.
async fn watch_kind<T>(
    client: Client,
    resource: kube::core::ApiResource,
    state: Arc<Mutex<State<T>>>,
    wake: mpsc::UnboundedSender<T>,
) where
    T: Clone + Eq + Hash + Send + 'static,
{
    let api: Api<PartialObjectMeta<DynamicObject>> = Api::all_with(client, &resource);
    let group = resource.group.clone();
    let kind = resource.kind.clone();
    let events = watcher(api, watcher::Config::default()).default_backoff();
    futures::pin_mut!(events);
    while let Some(event) = events.next().await {
        let reference = |object: &PartialObjectMeta<DynamicObject>| {
            ObjectRef::new(
                &group,
                &kind,
                object.metadata.namespace.as_deref().unwrap_or_default(),
                object.metadata.name.as_deref().unwrap_or_default(),
            )
        };
        // After a (re)list, every `Apply` is a change the server reported: the objects of the
        // list itself come as `InitApply` and are covered by `Listed`.
        let seen = match event {
            Ok(watcher::Event::InitDone) => Seen::Listed,
            Ok(watcher::Event::Apply(object) | watcher::Event::Delete(object)) => {
                Seen::Changed(reference(&object))
            }
            Ok(watcher::Event::Init | watcher::Event::InitApply(_)) | Err(_) => continue,
        };
        let woken: Vec<T> = lock(&state)
            .sets
            .iter()
            .filter(|(_, set)| match &seen {
                Seen::Changed(changed) => set.contains(changed),
                Seen::Listed => set.iter().any(|o| o.group == group && o.kind == kind),
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in woken {
            if wake.send(key).is_err() {
                return;
            }
        }
    }
}
