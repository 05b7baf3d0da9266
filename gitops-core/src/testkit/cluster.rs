use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use jiff::Timestamp;
use serde_json::{Value, json};

use crate::health::{self, Health};
use crate::plan::{Apply, Live, Owner};
use crate::reconcile::{self, Cluster, Pruned, SetApplied, SetMember};
use crate::schema::Schema;
use crate::ssa::{self, Entry};
use crate::{Error, InventoryEntry, Object, ObjectRef};

/// A request kind, for counters and faults.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Verb {
    /// Reads (including health reads).
    Get,
    /// Server-side applies.
    Apply,
    /// Deletes.
    Delete,
}

/// An injected failure: requests of `verb` (on `object`, or on any object when `None`) fail
/// with `error`, `times` times or forever when `times` is `None`.
#[derive(Clone, Debug)]
pub struct Fault {
    /// Which requests.
    pub verb: Verb,
    /// On which object; any when `None`.
    pub object: Option<ObjectRef>,
    /// The error to answer with.
    pub error: Error,
    /// How many times; forever when `None`.
    pub times: Option<usize>,
}

#[derive(Debug)]
struct Stored {
    object: Object,
    /// The object's managedFields, kept beside it (the stored objects stay as applied).
    entries: Vec<Entry>,
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<ObjectRef, Stored>,
    counter: u64,
    health: BTreeMap<ObjectRef, Health>,
    faults: Vec<Fault>,
    requests: BTreeMap<Verb, usize>,
    sets: Vec<(SetVerb, usize)>,
}

/// A set request of the [`Cluster`] trait, for [`MemoryCluster::set_requests`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SetVerb {
    /// [`Cluster::read_set`].
    Read,
    /// [`Cluster::apply_set`].
    Apply,
    /// [`Cluster::prune_set`].
    Prune,
    /// [`Cluster::health_set`].
    Health,
}

/// A Kubernetes cluster in memory, honest about what the reconcilers rely on:
///
/// - apply merges as the API server's server-side apply does ([`crate::ssa`], forced, with
///   the built-in schemas): fields a manager stops applying and nobody else owns are removed,
///   other fields kept; an apply that changes nothing
///   keeps the resourceVersion; `metadata.generation` moves only when something outside
///   `metadata` and `status` changes;
/// - objects in a namespace that does not exist are refused (`namespaces "x" not found`);
/// - immutable fields are refused with 422 (`field is immutable`): workload selectors, Job
///   templates, a Service's `clusterIP`, immutable ConfigMaps and Secrets;
/// - objects with finalizers get a `deletionTimestamp` instead of disappearing; deleting a
///   Namespace deletes what is in it;
/// - CustomResourceDefinitions are Established as soon as they are created.
///
/// Health is the kstatus assessment of the stored object unless set with
/// [`MemoryCluster::set_health`]. Faults can be injected, and requests are counted.
#[derive(Debug)]
pub struct MemoryCluster {
    state: Mutex<State>,
}

impl Default for MemoryCluster {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryCluster {
    /// A cluster with the namespaces every cluster has: `default`, `kube-system`,
    /// `kube-public` and `kube-node-lease`.
    pub fn new() -> Self {
        let cluster = Self {
            state: Mutex::new(State::default()),
        };
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            cluster.create_namespace(ns);
        }
        cluster
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Creates a namespace (no-op when it exists).
    pub fn create_namespace(&self, name: &str) {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        if let Ok(o) = Object::from_value(ns)
            && self.get_object(&o.object_ref()).is_none()
        {
            let _ = self.store(o, "kube-apiserver", Operation::Update);
        }
    }

    /// Creates or updates an object as another client would (field manager `manager`),
    /// e.g. to seed objects that exist before a reconciliation or to drift one by hand.
    pub fn put(&self, object: Object, manager: &str) -> Result<Object, Error> {
        self.store(object, manager, Operation::Update)
    }

    /// Replaces an object's `status`, as its controller would (no generation change).
    pub fn set_status(&self, object: &ObjectRef, status: Value) {
        let mut state = self.lock();
        state.counter += 1;
        let rv = state.counter.to_string();
        if let Some(stored) = state.objects.get_mut(object) {
            let map = stored.object.as_map_mut();
            map.insert("status".into(), status);
            set_meta(&mut stored.object, "resourceVersion", json!(rv));
        }
    }

    /// Adds a finalizer to an object.
    pub fn add_finalizer(&self, object: &ObjectRef, finalizer: &str) {
        self.edit_finalizers(object, |f| {
            if !f.iter().any(|x| x == finalizer) {
                f.push(finalizer.into());
            }
        });
    }

    /// Removes a finalizer; an object being deleted goes once its last finalizer does.
    pub fn remove_finalizer(&self, object: &ObjectRef, finalizer: &str) {
        self.edit_finalizers(object, |f| f.retain(|x| x != finalizer));
        let mut state = self.lock();
        let gone = state
            .objects
            .get(object)
            .is_some_and(|s| s.object.is_terminating() && finalizers(&s.object).is_empty());
        if gone {
            state.objects.remove(object);
        }
    }

    fn edit_finalizers(&self, object: &ObjectRef, edit: impl FnOnce(&mut Vec<String>)) {
        let mut state = self.lock();
        if let Some(stored) = state.objects.get_mut(object) {
            let mut f = finalizers(&stored.object);
            edit(&mut f);
            set_meta(&mut stored.object, "finalizers", json!(f));
        }
    }

    /// Overrides an object's health (until [`MemoryCluster::clear_health`]).
    pub fn set_health(&self, object: &ObjectRef, health: Health) {
        self.lock().health.insert(object.clone(), health);
    }

    /// Goes back to assessing an object's health from its status.
    pub fn clear_health(&self, object: &ObjectRef) {
        self.lock().health.remove(object);
    }

    /// Plays the part of the cluster's controllers and kubelets: every Deployment,
    /// StatefulSet, ReplicaSet and DaemonSet reports its replicas ready at its current
    /// generation, Jobs complete, claims bind and Pods run. Objects whose health was set with
    /// [`MemoryCluster::set_health`] keep that health.
    pub fn settle(&self) {
        let mut state = self.lock();
        let keys: Vec<ObjectRef> = state.objects.keys().cloned().collect();
        for key in keys {
            state.counter += 1;
            let rv = state.counter.to_string();
            let Some(stored) = state.objects.get_mut(&key) else {
                continue;
            };
            let o = &stored.object;
            let generation = o.generation().unwrap_or(1);
            let replicas = o
                .at(&["spec", "replicas"])
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let status = match (key.group.as_str(), key.kind.as_str()) {
                ("apps", "Deployment") => json!({
                "observedGeneration": generation, "replicas": replicas,
                "updatedReplicas": replicas, "readyReplicas": replicas,
                "availableReplicas": replicas,
                "conditions": [
                    {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                    {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}
                ]}),
                ("apps", "StatefulSet") => json!({
                    "observedGeneration": generation, "replicas": replicas,
                    "readyReplicas": replicas, "currentReplicas": replicas,
                    "updatedReplicas": replicas, "availableReplicas": replicas,
                    "currentRevision": "r1", "updateRevision": "r1"}),
                ("apps", "ReplicaSet") => json!({
                    "observedGeneration": generation, "replicas": replicas,
                    "fullyLabeledReplicas": replicas, "readyReplicas": replicas,
                    "availableReplicas": replicas}),
                ("apps", "DaemonSet") => json!({
                    "observedGeneration": generation, "desiredNumberScheduled": 1,
                    "currentNumberScheduled": 1, "updatedNumberScheduled": 1,
                    "numberAvailable": 1, "numberReady": 1}),
                ("batch", "Job") => json!({
                    "succeeded": 1,
                    "conditions": [{"type": "Complete", "status": "True"}]}),
                ("", "PersistentVolumeClaim") => json!({"phase": "Bound"}),
                ("", "Pod") => json!({
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]}),
                _ => continue,
            };
            let o = &mut stored.object;
            o.as_map_mut().insert("status".into(), status);
            set_meta(o, "resourceVersion", json!(rv));
        }
    }

    /// Injects a fault.
    pub fn inject(&self, fault: Fault) {
        self.lock().faults.push(fault);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    /// How many requests of a verb were made through the [`Cluster`] trait.
    pub fn requests(&self, verb: Verb) -> usize {
        self.lock().requests.get(&verb).copied().unwrap_or(0)
    }

    /// The set requests made through the [`Cluster`] trait, in order, with the size of each
    /// set (the per-object requests they turn into are counted by [`MemoryCluster::requests`]).
    pub fn set_requests(&self) -> Vec<(SetVerb, usize)> {
        self.lock().sets.clone()
    }

    fn record_set(&self, verb: SetVerb, size: usize) {
        self.lock().sets.push((verb, size));
    }

    /// An object as stored, without counting a request.
    pub fn get_object(&self, object: &ObjectRef) -> Option<Object> {
        self.lock().objects.get(object).map(|s| s.object.clone())
    }

    /// Every stored object, sorted by identity.
    pub fn objects(&self) -> Vec<Object> {
        self.lock()
            .objects
            .values()
            .map(|s| s.object.clone())
            .collect()
    }

    /// Takes a matching fault, if any, counting the request.
    fn request(&self, verb: Verb, object: &ObjectRef) -> Result<(), Error> {
        let mut state = self.lock();
        *state.requests.entry(verb).or_default() += 1;
        let hit = state
            .faults
            .iter()
            .position(|f| f.verb == verb && f.object.as_ref().is_none_or(|o| o == object));
        let Some(i) = hit else {
            return Ok(());
        };
        let error = state.faults[i].error.clone();
        match &mut state.faults[i].times {
            Some(1) => {
                state.faults.remove(i);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Err(error)
    }

    fn store(&self, desired: Object, manager: &str, operation: Operation) -> Result<Object, Error> {
        let key = desired.object_ref();
        let mut state = self.lock();
        if let Some(ns) = desired.namespace() {
            let ns_key = ObjectRef::new("", "Namespace", "", ns);
            let ns_live = state.objects.get(&ns_key);
            if ns_live.is_none() {
                return Err(api_error(
                    &key,
                    "NotFound",
                    404,
                    format!("namespaces \"{ns}\" not found"),
                ));
            }
            if ns_live.is_some_and(|n| n.object.is_terminating()) {
                return Err(api_error(
                    &key,
                    "Forbidden",
                    403,
                    format!(
                        "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        key.kind.to_lowercase(),
                        key.name
                    ),
                ));
            }
        }
        state.counter += 1;
        let counter = state.counter;
        let schema = learnt_schema(&state);
        match state.objects.get_mut(&key) {
            None => {
                let mut object = desired.clone();
                set_meta(&mut object, "uid", json!(format!("uid-{counter}")));
                set_meta(&mut object, "resourceVersion", json!(counter.to_string()));
                set_meta(&mut object, "generation", json!(1));
                if key.kind == "CustomResourceDefinition" {
                    object.as_map_mut().insert(
                        "status".into(),
                        json!({"conditions": [
                            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
                            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted"}
                        ]}),
                    );
                }
                let (_, entries) =
                    write(&desired, Vec::new(), &desired, manager, operation, &schema);
                state.objects.insert(
                    key,
                    Stored {
                        object: object.clone(),
                        entries,
                    },
                );
                Ok(object)
            }
            Some(stored) => {
                let (merged, entries) = write(
                    &stored.object,
                    stored.entries.clone(),
                    &desired,
                    manager,
                    operation,
                    &schema,
                );
                if let Some(path) = immutable_change(&stored.object, &merged) {
                    return Err(api_error(
                        &key,
                        "Invalid",
                        422,
                        format!(
                            "{} \"{}\" is invalid: {path}: Invalid value: field is immutable",
                            key.kind, key.name
                        ),
                    ));
                }
                stored.entries = entries;
                if merged == stored.object {
                    return Ok(merged);
                }
                let mut merged = merged;
                if body(&merged) != body(&stored.object) {
                    let generation = stored.object.generation().unwrap_or(0) + 1;
                    set_meta(&mut merged, "generation", json!(generation));
                }
                set_meta(&mut merged, "resourceVersion", json!(counter.to_string()));
                stored.object = merged.clone();
                Ok(merged)
            }
        }
    }
}

fn finalizers(object: &Object) -> Vec<String> {
    object
        .at(&["metadata", "finalizers"])
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn set_meta(object: &mut Object, key: &str, value: Value) {
    let map = object.as_map_mut();
    let meta = map.entry("metadata").or_insert_with(|| json!({}));
    if let Value::Object(m) = meta {
        m.insert(key.into(), value);
    }
}

/// Everything but `metadata` and `status`: what a generation counts.
fn body(object: &Object) -> Value {
    let mut m = object.as_map().clone();
    m.remove("metadata");
    m.remove("status");
    Value::Object(m)
}

/// How a write changes an object: a server-side apply, or an update (a replace) that takes
/// ownership of what it changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operation {
    Apply,
    Update,
}

/// The built-in kinds and the custom resources of the CRDs stored, as an API server knows
/// them.
fn learnt_schema(state: &State) -> Schema {
    let mut schema = Schema::extended();
    for (key, stored) in &state.objects {
        if key.kind == "CustomResourceDefinition" {
            schema.add_crd(&stored.object.to_value());
        }
    }
    schema
}

/// `desired` written by `manager` over `live`: a forced server-side apply, or an update.
fn write(
    live: &Object,
    entries: Vec<Entry>,
    desired: &Object,
    manager: &str,
    operation: Operation,
    schema: &Schema,
) -> (Object, Vec<Entry>) {
    let api_version = desired.api_version().to_string();
    let custom = Schema::builtin()
        .root(&api_version, desired.kind())
        .is_none();
    let schema = schema.root(&api_version, desired.kind());
    if operation == Operation::Update {
        let (changed, removed) =
            ssa::fieldpath::compare(&live.to_value(), &desired.to_value(), schema, custom);
        let mut entries = entries;
        for entry in entries.iter_mut() {
            entry.set.subtract(&removed);
            if !entry.is(manager, "Update", None) {
                entry.set.subtract(&changed);
            }
        }
        match entries.iter_mut().find(|e| e.is(manager, "Update", None)) {
            Some(entry) => entry.set.union(&changed),
            None => entries.push(Entry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: api_version.clone(),
                time: None,
                subresource: None,
                set: changed,
            }),
        }
        entries.retain(|e| !e.set.is_empty());
        // Identity the writer leaves out comes from the live object.
        let mut written = desired.clone();
        let (live_value, desired_value) = (live.to_value(), desired.to_value());
        for key in ["uid", "creationTimestamp", "generation", "resourceVersion"] {
            let pointer = format!("/metadata/{key}");
            if desired_value.pointer(&pointer).is_none()
                && let Some(value) = live_value.pointer(&pointer)
            {
                set_meta(&mut written, key, value.clone());
            }
        }
        return (written, entries);
    }
    let request = ssa::Applied {
        manager,
        subresource: None,
        api_version: &api_version,
        force: true,
        custom_resource: custom,
    };
    let live_value = live.to_value();
    match ssa::apply(
        &live_value,
        &desired.to_value(),
        entries.clone(),
        &request,
        schema,
    ) {
        Ok((merged, entries)) => match Object::from_value(merged) {
            Ok(object) => (object, entries),
            Err(_) => (desired.clone(), entries),
        },
        // A forced apply has no conflicts.
        Err(_) => (live.clone(), entries),
    }
}

fn api_error(object: &ObjectRef, reason: &str, code: u16, message: String) -> Error {
    Error::Api {
        object: Some(object.clone()),
        reason: reason.into(),
        code,
        message,
    }
}

/// The first immutable field that `after` changes, if any.
fn immutable_change(before: &Object, after: &Object) -> Option<String> {
    let kind = before.kind();
    let mut paths: Vec<&[&str]> = Vec::new();
    match (before.group(), kind) {
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet") => {
            paths.push(&["spec", "selector"]);
        }
        ("batch", "Job") => {
            paths.push(&["spec", "selector"]);
            paths.push(&["spec", "template"]);
        }
        ("", "Service") if before.at(&["spec", "clusterIP"]).is_some() => {
            paths.push(&["spec", "clusterIP"]);
        }
        ("", "ConfigMap" | "Secret") if before.at(&["immutable"]) == Some(&Value::Bool(true)) => {
            paths.extend([&["data"][..], &["binaryData"][..], &["immutable"][..]]);
        }
        _ => {}
    }
    paths
        .into_iter()
        .find(|p| before.at(p) != after.at(p))
        .map(|p| p.join("."))
}

#[async_trait]
impl Cluster for MemoryCluster {
    async fn get(&self, object: &ObjectRef, _api_version: &str) -> Result<Option<Object>, Error> {
        self.request(Verb::Get, object)?;
        Ok(self.get_object(object))
    }

    async fn apply(&self, object: &Object, field_manager: &str) -> Result<Object, Error> {
        self.request(Verb::Apply, &object.object_ref())?;
        self.store(object.clone(), field_manager, Operation::Apply)
    }

    async fn delete(&self, object: &ObjectRef, _api_version: &str) -> Result<(), Error> {
        self.request(Verb::Delete, object)?;
        let mut state = self.lock();
        let Some(stored) = state.objects.get_mut(object) else {
            return Ok(());
        };
        if !finalizers(&stored.object).is_empty() {
            if !stored.object.is_terminating() {
                set_meta(
                    &mut stored.object,
                    "deletionTimestamp",
                    json!("2026-01-01T00:00:00Z"),
                );
            }
            return Ok(());
        }
        state.objects.remove(object);
        if object.kind == "Namespace" && object.group.is_empty() {
            state.objects.retain(|k, _| k.namespace != object.name);
        }
        Ok(())
    }

    async fn health(
        &self,
        object: &ObjectRef,
        api_version: &str,
        now: Timestamp,
    ) -> Result<Health, Error> {
        if let Some(h) = self.lock().health.get(object) {
            return Ok(h.clone());
        }
        Ok(health::of(
            self.get(object, api_version).await?.as_ref(),
            now,
        ))
    }

    async fn read_set(&self, objects: &[SetMember]) -> Result<Live, Error> {
        self.record_set(SetVerb::Read, objects.len());
        reconcile::read_each(self, objects).await
    }

    async fn apply_set(&self, applies: &[Apply], _live: &Live, field_manager: &str) -> SetApplied {
        self.record_set(SetVerb::Apply, applies.len());
        reconcile::apply_each(self, applies, field_manager).await
    }

    async fn prune_set(
        &self,
        entries: &[InventoryEntry],
        _owner: &Owner,
    ) -> Vec<(InventoryEntry, Pruned)> {
        self.record_set(SetVerb::Prune, entries.len());
        reconcile::prune_each(self, entries).await
    }

    async fn schema(&self, _objects: &[SetMember]) -> Result<std::sync::Arc<Schema>, Error> {
        Ok(std::sync::Arc::new(learnt_schema(&self.lock())))
    }

    async fn health_set(
        &self,
        objects: &[SetMember],
        now: Timestamp,
    ) -> Result<Vec<(ObjectRef, Health)>, Error> {
        self.record_set(SetVerb::Health, objects.len());
        reconcile::health_each(self, objects, now).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::block_on;

    fn obj(v: Value) -> Object {
        Object::from_value(v).unwrap()
    }

    fn cm(data: Value) -> Object {
        obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}, "data": data}),
        )
    }

    #[test]
    fn apply_tracks_versions_honestly() {
        let c = MemoryCluster::new();
        let first = block_on(c.apply(&cm(json!({"a": "1"})), "m")).unwrap();
        assert_eq!(first.generation(), Some(1));
        let rv = first.resource_version().unwrap().to_string();
        let same = block_on(c.apply(&cm(json!({"a": "1"})), "m")).unwrap();
        assert_eq!(same.resource_version(), Some(rv.as_str()));
        let changed = block_on(c.apply(&cm(json!({"a": "2"})), "m")).unwrap();
        assert_ne!(changed.resource_version(), Some(rv.as_str()));
        assert_eq!(changed.generation(), Some(2));
        // Fields another manager set survive; fields this manager dropped go.
        c.put(cm(json!({"a": "2", "other": "x"})), "kubectl")
            .unwrap();
        let v = block_on(c.apply(&cm(json!({})), "m")).unwrap().to_value();
        assert_eq!(v["data"], json!({"other": "x"}));
        assert_eq!(c.requests(Verb::Apply), 4);
    }

    #[test]
    fn refuses_missing_namespace_and_immutable_fields() {
        let c = MemoryCluster::new();
        let o = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "nope"}}),
        );
        let err = block_on(c.apply(&o, "m")).unwrap_err();
        assert_eq!(err.to_string(), "namespaces \"nope\" not found");
        let d = |app: &str| {
            obj(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": app}}}}),
            )
        };
        block_on(c.apply(&d("a"), "m")).unwrap();
        let err = block_on(c.apply(&d("b"), "m")).unwrap_err();
        assert!(err.is_immutable(), "{err}");
        assert!(err.to_string().contains("spec.selector"), "{err}");
    }

    #[test]
    fn finalizers_and_namespace_deletion() {
        let c = MemoryCluster::new();
        c.create_namespace("app");
        let o = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "app"}}),
        );
        block_on(c.apply(&o, "m")).unwrap();
        c.add_finalizer(&o.object_ref(), "x/y");
        block_on(c.delete(&o.object_ref(), "v1")).unwrap();
        assert!(c.get_object(&o.object_ref()).unwrap().is_terminating());
        c.remove_finalizer(&o.object_ref(), "x/y");
        assert!(c.get_object(&o.object_ref()).is_none());
        block_on(c.apply(&o, "m")).unwrap();
        block_on(c.delete(&ObjectRef::new("", "Namespace", "", "app"), "v1")).unwrap();
        assert!(c.get_object(&o.object_ref()).is_none());
    }

    #[test]
    fn settle_makes_workloads_current() {
        let c = MemoryCluster::new();
        let d = obj(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "default"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "a"}}}}),
        );
        block_on(c.apply(&d, "m")).unwrap();
        let now = Timestamp::UNIX_EPOCH;
        assert!(
            !block_on(c.health(&d.object_ref(), "apps/v1", now))
                .unwrap()
                .is_current()
        );
        c.settle();
        let h = block_on(c.health(&d.object_ref(), "apps/v1", now)).unwrap();
        assert!(h.is_current(), "{h:?}");
    }

    #[test]
    fn faults_and_health() {
        let c = MemoryCluster::new();
        let o = cm(json!({}));
        c.inject(Fault {
            verb: Verb::Apply,
            object: None,
            error: api_error(&o.object_ref(), "InternalError", 500, "boom".into()),
            times: Some(1),
        });
        assert!(block_on(c.apply(&o, "m")).is_err());
        assert!(block_on(c.apply(&o, "m")).is_ok());
        let now = Timestamp::UNIX_EPOCH;
        assert!(
            block_on(c.health(&o.object_ref(), "v1", now))
                .unwrap()
                .is_current()
        );
        c.set_health(
            &o.object_ref(),
            Health::new(health::Status::InProgress, "wait"),
        );
        assert!(
            !block_on(c.health(&o.object_ref(), "v1", now))
                .unwrap()
                .is_current()
        );
    }
}
