//! Discovery: which resource serves a kind, and whether it is namespaced.
//!
//! Resources are learnt one group version at a time (one request for `/api/v1` or
//! `/apis/<group>/<version>`) and cached. A kind missing from the cache refreshes its group
//! version once; applying a CustomResourceDefinition forgets its group's versions so that
//! its kinds are learnt again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gitops_core::split_api_version;
use kube::Client;
use kube::core::ApiResource;

use crate::error::Error;

/// How a kind is served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// The resource, ready for `kube::Api::*_with`.
    pub api: ApiResource,
    /// Whether objects of the kind live in namespaces.
    pub namespaced: bool,
    /// Whether the resource can be listed.
    pub listable: bool,
}

type Kinds = HashMap<String, Resource>;

/// The discovery cache of a [`crate::ResourceManager`].
#[derive(Debug, Default)]
pub struct Discovery {
    cache: Mutex<HashMap<String, Arc<Kinds>>>,
    requests: AtomicU64,
}

impl Discovery {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn cached(&self, api_version: &str) -> Option<Arc<Kinds>> {
        self.lock().get(api_version).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Kinds>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The resource of `kind` in `api_version`, `None` when the server does not serve it (a
    /// group version that does not exist is not an error: its CRD may not be applied yet).
    pub async fn resolve(
        &self,
        client: &Client,
        api_version: &str,
        kind: &str,
    ) -> Result<Option<Resource>, Error> {
        if let Some(kinds) = self.cached(api_version)
            && let Some(r) = kinds.get(kind)
        {
            return Ok(Some(r.clone()));
        }
        let kinds = self.refresh(client, api_version).await?;
        Ok(kinds.get(kind).cloned())
    }

    /// Reads a group version's resources from the server and caches them.
    pub async fn refresh(&self, client: &Client, api_version: &str) -> Result<Arc<Kinds>, Error> {
        let (group, version) = split_api_version(api_version);
        self.requests.fetch_add(1, Ordering::Relaxed);
        let listed = if group.is_empty() {
            client.list_core_api_resources(version).await
        } else {
            client.list_api_group_resources(api_version).await
        };
        let list = match listed {
            Ok(list) => list,
            Err(kube::Error::Api(status)) if status.code == 404 => Default::default(),
            Err(source) => {
                return Err(Error::Discovery {
                    api_version: api_version.to_string(),
                    source,
                });
            }
        };
        let mut kinds = Kinds::new();
        for r in list.resources {
            // Subresources (`deployments/scale`) are not where objects live.
            if r.name.contains('/') {
                continue;
            }
            let api = ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                api_version: api_version.to_string(),
                kind: r.kind.clone(),
                plural: r.name.clone(),
            };
            kinds.insert(
                r.kind,
                Resource {
                    api,
                    namespaced: r.namespaced,
                    listable: r.verbs.iter().any(|v| v == "list"),
                },
            );
        }
        let kinds = Arc::new(kinds);
        self.lock().insert(api_version.to_string(), kinds.clone());
        Ok(kinds)
    }

    /// Every listable namespaced resource the server serves (the preferred version of each
    /// group), read from the server: what a namespace can hold.
    pub async fn namespaced(&self, client: &Client) -> Result<Vec<Resource>, Error> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let groups = client
            .list_api_groups()
            .await
            .map_err(|source| Error::Discovery {
                api_version: "/apis".to_string(),
                source,
            })?;
        let mut versions = vec!["v1".to_string()];
        for g in groups.groups {
            let preferred = g
                .preferred_version
                .map(|v| v.group_version)
                .or_else(|| g.versions.first().map(|v| v.group_version.clone()));
            versions.extend(preferred);
        }
        let mut out = Vec::new();
        for api_version in versions {
            let kinds = self.refresh(client, &api_version).await?;
            let mut found: Vec<Resource> = kinds
                .values()
                .filter(|r| r.namespaced && r.listable)
                .cloned()
                .collect();
            found.sort_by(|a, b| a.api.kind.cmp(&b.api.kind));
            out.extend(found);
        }
        Ok(out)
    }

    /// How many discovery requests were sent.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Forgets every cached version of a group (after its CRD was applied or deleted).
    pub fn forget_group(&self, group: &str) {
        self.lock()
            .retain(|api_version, _| split_api_version(api_version).0 != group);
    }
}
