//! The [`ResourceManager`]: a kube client, an owner and what it remembers between runs.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use std::sync::Arc;

use futures::StreamExt;
use gitops_core::plan::takeover::Cleanup;
use gitops_core::plan::{Live, Owner};
use gitops_core::reconcile::{FIELD_MANAGER, SetMember};
use gitops_core::schema::Schema;
use gitops_core::{Digest, Object, ObjectRef};
use kube::api::{Api, DynamicObject, ListParams};
use kube::{Client, ResourceExt};
use serde_json::Value;

use crate::discovery::{Discovery, Resource};
use crate::error::{Error, Operation, Subject};
use crate::throttle::Throttle;

/// Namespaces the engine never deletes, whatever an inventory says.
pub use gitops_core::plan::PROTECTED_NAMESPACES;

/// What the engine remembers of an object it applied: the digest of the desired object and
/// the resourceVersion the apply produced. While both still match, the object is unchanged
/// and costs no request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Remembered {
    pub(crate) digest: Digest,
    pub(crate) resource_version: String,
}

/// Server-side apply, prune and wait of object sets on kube-rs, the shape of Flux's
/// `fluxcd/pkg/ssa` ResourceManager.
///
/// It implements the core's [`gitops_core::reconcile::Cluster`], so the Kustomization
/// reconciler runs on it unchanged, and offers the same verbs directly to an operator that
/// embeds it: [`ResourceManager::apply_all_staged`], [`ResourceManager::delete_all`],
/// [`ResourceManager::wait_for_set`].
///
/// The cost of a run grows with what changed: a set is read with one list per kind and
/// namespace, and an object whose desired form and live resourceVersion match what the
/// manager applied last is not sent again.
pub struct ResourceManager {
    pub(crate) client: Client,
    pub(crate) owner: Owner,
    pub(crate) field_manager: String,
    /// Flux's ownership cleanup before an apply (managers taken over, annotations removed).
    pub(crate) cleanup: Cleanup,
    pub(crate) concurrency: usize,
    pub(crate) protected: Vec<String>,
    pub(crate) discovery: Arc<Discovery>,
    pub(crate) memory: Mutex<HashMap<ObjectRef, Remembered>>,
    /// Objects whose dry-run passed, with the digest they passed with.
    pub(crate) validated: Mutex<HashMap<ObjectRef, Digest>>,
    /// Objects whose dry-run waits for an object the same set creates, and that object.
    pub(crate) waiting: Mutex<HashMap<ObjectRef, ObjectRef>>,
    pub(crate) throttle: Option<Throttle>,
    /// CustomResourceDefinitions read for the schemas of custom kinds, by `group/kind`;
    /// `None` when the CRD could not be read (its lists then compare by position).
    pub(crate) crds: Mutex<HashMap<String, Option<Arc<Value>>>>,
}

impl ResourceManager {
    /// A manager applying with field manager `kustomize-controller`, owner labels from
    /// `owner`, 8 requests in flight.
    pub fn new(client: Client, owner: Owner) -> Self {
        Self {
            client,
            owner,
            field_manager: FIELD_MANAGER.to_string(),
            cleanup: Cleanup::flux(FIELD_MANAGER),
            concurrency: 8,
            protected: PROTECTED_NAMESPACES.iter().map(|s| s.to_string()).collect(),
            discovery: Arc::new(Discovery::new()),
            memory: Mutex::new(HashMap::new()),
            validated: Mutex::new(HashMap::new()),
            waiting: Mutex::new(HashMap::new()),
            throttle: None,
            crds: Mutex::new(HashMap::new()),
        }
    }

    /// Limits requests to `qps` per second on average and `burst` at once
    /// (`--kube-api-qps`, `--kube-api-burst`; Flux's defaults are 50 and 300). Timeouts and
    /// the user agent are the client's: `kube::Config::read_timeout`, `headers`.
    pub fn with_rate_limit(mut self, qps: f64, burst: u32) -> Self {
        self.throttle = Some(Throttle::new(qps, burst));
        self
    }

    /// Waits for the rate limit, when one is set.
    pub(crate) async fn throttle(&self) {
        if let Some(t) = &self.throttle {
            t.acquire().await;
        }
    }

    /// Applies with another field manager; Flux's cleanup takes over its earlier updates.
    pub fn with_field_manager(mut self, field_manager: impl Into<String>) -> Self {
        self.field_manager = field_manager.into();
        self.cleanup = Cleanup::flux(&self.field_manager);
        self
    }

    /// Also takes over the fields of this manager before applying (`--override-manager`).
    pub fn with_override_manager(mut self, manager: &str) -> Self {
        self.cleanup = self.cleanup.with_override_manager(manager);
        self
    }

    /// Replaces the ownership cleanup done before an apply ([`Cleanup::none`] turns it off).
    pub fn with_cleanup(mut self, cleanup: Cleanup) -> Self {
        self.cleanup = cleanup;
        self
    }

    /// At most `n` requests in flight for dry-runs, applies and reads (at least 1).
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Also never deletes this namespace (the one the controller runs in).
    pub fn protect_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.protected.push(namespace.into());
        self
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The owner whose labels the applied objects carry.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }

    /// The field manager.
    pub fn field_manager(&self) -> &str {
        &self.field_manager
    }

    /// The discovery cache.
    pub fn discovery(&self) -> &Discovery {
        &self.discovery
    }

    /// Shares `discovery` with other managers of the same cluster: a controller running
    /// one manager per Kustomization asks the server for each group version once, not once
    /// per Kustomization. Managers of different clusters must not share one.
    pub fn with_discovery(mut self, discovery: Arc<Discovery>) -> Self {
        self.discovery = discovery;
        self
    }

    /// Forgets what was applied: the next run reads and compares everything again.
    pub fn forget(&self) {
        lock(&self.memory).clear();
        lock(&self.validated).clear();
        lock(&self.waiting).clear();
        lock(&self.crds).clear();
    }

    /// The schema to compare `members` by: the built-in kinds, and for each custom kind the
    /// server serves, its CustomResourceDefinition (read once and cached; forgotten when a
    /// CRD of its group is applied). A CRD that cannot be read (not found, forbidden) leaves
    /// the kind without a schema, whose lists then compare by position.
    pub async fn schema_for(&self, members: &[SetMember]) -> Result<Arc<Schema>, Error> {
        let mut kinds: Vec<(&str, &str)> = members
            .iter()
            .map(|(key, api_version)| (api_version.as_str(), key.kind.as_str()))
            .filter(|(api_version, kind)| Schema::builtin().root(api_version, kind).is_none())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        let mut schema = Schema::extended();
        for (api_version, kind) in kinds {
            if let Some(crd) = self.crd_of(api_version, kind).await? {
                schema.add_crd(&crd);
            }
        }
        Ok(Arc::new(schema))
    }

    /// The CRD defining a custom kind, `None` when the kind is not served or its CRD cannot
    /// be read.
    async fn crd_of(&self, api_version: &str, kind: &str) -> Result<Option<Arc<Value>>, Error> {
        let group = gitops_core::split_api_version(api_version).0;
        let cache_key = format!("{group}/{kind}");
        if let Some(cached) = lock(&self.crds).get(&cache_key) {
            return Ok(cached.clone());
        }
        let Some(resource) = self.resource(api_version, kind).await? else {
            return Ok(None); // not served yet: learnt from the set's own CRD, if any
        };
        let name = format!("{}.{}", resource.api.plural, group);
        let crds = kube::core::ApiResource {
            group: "apiextensions.k8s.io".into(),
            version: "v1".into(),
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            plural: "customresourcedefinitions".into(),
        };
        self.throttle().await;
        let got = Api::<DynamicObject>::all_with(self.client.clone(), &crds)
            .get_opt(&name)
            .await;
        let crd = match got {
            Ok(Some(d)) => serde_json::to_value(d).ok().map(|mut v| {
                if let Value::Object(map) = &mut v {
                    map.insert("apiVersion".into(), "apiextensions.k8s.io/v1".into());
                    map.insert("kind".into(), "CustomResourceDefinition".into());
                }
                Arc::new(v)
            }),
            // Not readable with this client (an impersonated service account): no schema.
            Ok(None) | Err(kube::Error::Api(_)) => None,
            Err(e) => {
                let key = ObjectRef::new(
                    "apiextensions.k8s.io",
                    "CustomResourceDefinition",
                    "",
                    &name,
                );
                return Err(Error::request(Operation::Read, &Subject::Object(&key), e));
            }
        };
        lock(&self.crds).insert(cache_key, crd.clone());
        Ok(crd)
    }

    /// Forgets the CRDs read for a group's kinds (after a CRD of the group was applied).
    pub(crate) fn forget_crds(&self, group: &str) {
        let prefix = format!("{group}/");
        lock(&self.crds).retain(|k, _| !k.starts_with(&prefix));
    }

    /// The resource of an object's kind, learning it from the server when unknown.
    pub(crate) async fn resource(
        &self,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resource>, Error> {
        self.discovery
            .resolve(&self.client, api_version, kind)
            .await
    }

    /// A dynamic API for a resource, in `namespace` when namespaced.
    pub(crate) fn api(&self, resource: &Resource, namespace: &str) -> Api<DynamicObject> {
        if resource.namespaced {
            let ns = if namespace.is_empty() {
                self.client.default_namespace()
            } else {
                namespace
            };
            Api::namespaced_with(self.client.clone(), ns, &resource.api)
        } else {
            Api::all_with(self.client.clone(), &resource.api)
        }
    }

    /// Reads one object, `None` when it or its kind does not exist.
    pub async fn get(&self, key: &ObjectRef, api_version: &str) -> Result<Option<Object>, Error> {
        let Some(resource) = self.resource(api_version, &key.kind).await? else {
            return Ok(None);
        };
        self.throttle().await;
        let got = self
            .api(&resource, &key.namespace)
            .get_opt(&key.name)
            .await
            .map_err(|e| Error::request(Operation::Read, &Subject::Object(key), e))?;
        got.map(|d| to_object(d, &resource, &Subject::Object(key)))
            .transpose()
    }

    /// Reads a set: one GET for a kind and namespace holding one member, one list for a kind
    /// and namespace holding more. Members whose kind the server does not serve are absent.
    pub async fn read_set(&self, members: &[SetMember]) -> Result<Live, Error> {
        let mut groups: BTreeMap<(String, String, String), Vec<&ObjectRef>> = BTreeMap::new();
        for (key, api_version) in members {
            groups
                .entry((api_version.clone(), key.kind.clone(), key.namespace.clone()))
                .or_default()
                .push(key);
        }
        let reads = groups
            .into_iter()
            .map(|((api_version, kind, ns), keys)| async move {
                self.read_group(&api_version, &kind, &ns, &keys).await
            });
        let mut results =
            futures::stream::iter(reads.collect::<Vec<_>>()).buffer_unordered(self.concurrency);
        let mut live = Live::new();
        while let Some(found) = results.next().await {
            live.extend(found?);
        }
        Ok(live)
    }

    async fn read_group(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        keys: &[&ObjectRef],
    ) -> Result<Vec<(ObjectRef, Object)>, Error> {
        let Some(resource) = self.resource(api_version, kind).await? else {
            return Ok(Vec::new());
        };
        if let [key] = keys {
            return Ok(self
                .get(key, api_version)
                .await?
                .map(|o| vec![(o.object_ref(), o)])
                .unwrap_or_default());
        }
        let subject = Subject::List { kind, namespace };
        self.throttle().await;
        let list = self
            .api(&resource, namespace)
            .list(&ListParams::default())
            .await
            .map_err(|e| Error::request(Operation::Read, &subject, e))?;
        let wanted: HashSet<&str> = keys.iter().map(|k| k.name.as_str()).collect();
        let mut out = Vec::with_capacity(keys.len());
        for item in list.items {
            if !wanted.contains(item.name_any().as_str()) {
                continue;
            }
            let o = to_object(item, &resource, &subject)?;
            out.push((o.object_ref(), o));
        }
        Ok(out)
    }
}

/// A kube object as a core object, with the `apiVersion` and `kind` list items lack.
pub(crate) fn to_object(
    d: DynamicObject,
    resource: &Resource,
    subject: &Subject<'_>,
) -> Result<Object, Error> {
    let decode = |reason: String| Error::Decode {
        subject: subject.to_string(),
        reason,
    };
    let mut value = serde_json::to_value(d).map_err(|e| decode(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.entry("apiVersion")
            .or_insert_with(|| Value::String(resource.api.api_version.clone()));
        map.entry("kind")
            .or_insert_with(|| Value::String(resource.api.kind.clone()));
    }
    Object::from_value(value).map_err(|e| decode(e.to_string()))
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
