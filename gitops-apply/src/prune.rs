//! Prune: inventory orphans deleted in the order given (reverse kind order, Namespaces
//! last), with background propagation, each re-read first and deleted only when it still
//! carries both owner labels and no opt-out. A protected namespace is never deleted, nor a
//! Namespace that holds objects outside the set being pruned, unless it says
//! `kustomize.toolkit.fluxcd.io/prune: enabled`.

use std::collections::HashSet;
use std::time::Duration;

use gitops_core::plan::{Owner, PRUNE_KEY, Policy};
use gitops_core::reconcile::Pruned;
use gitops_core::{InventoryEntry, ObjectRef};
use kube::api::{DeleteParams, ListParams};

use crate::discovery::Resource;
use crate::error::{Error, Operation, Subject};
use crate::manager::{ResourceManager, lock};

impl ResourceManager {
    /// Deletes inventory orphans, one result per entry. Flux's opt-outs found on the live
    /// object (owner labels that no longer match, `prune: disabled`, `reconcile: disabled`,
    /// `ssa: Ignore`) are [`Pruned::Skipped`]; the guards Flux lacks (a protected namespace, a
    /// Namespace holding objects outside the set) are [`Pruned::Refused`]. Both say why.
    pub async fn delete_all(
        &self,
        entries: &[InventoryEntry],
        owner: &Owner,
    ) -> Vec<(InventoryEntry, Pruned)> {
        let pruned: HashSet<&ObjectRef> = entries.iter().map(|e| &e.object).collect();
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let result = match self.delete_one(entry, owner, &pruned).await {
                Ok(p) => p,
                Err(e) => Pruned::Failed(e.to_core()),
            };
            out.push((entry.clone(), result));
        }
        out
    }

    async fn delete_one(
        &self,
        entry: &InventoryEntry,
        owner: &Owner,
        pruned: &HashSet<&ObjectRef>,
    ) -> Result<Pruned, Error> {
        let key = &entry.object;
        let api_version = entry.api_version();
        let Some(resource) = self.resource(&api_version, &key.kind).await? else {
            return Ok(Pruned::Deleted); // its kind went with its CRD
        };
        let Some(live) = self.get(key, &api_version).await? else {
            lock(&self.memory).remove(key);
            return Ok(Pruned::Deleted);
        };
        if !owner.owns(&live) {
            return Ok(Pruned::Skipped(
                "its owner labels name another owner".to_string(),
            ));
        }
        let policy = Policy::of_live(&live);
        if policy.prune_disabled {
            return Ok(Pruned::Skipped("prune is disabled on it".to_string()));
        }
        if policy.excluded() {
            return Ok(Pruned::Skipped(
                "it is excluded from reconciliation (reconcile: disabled or ssa: Ignore)"
                    .to_string(),
            ));
        }
        // After the opt-outs, so that a protected namespace no longer ours is just skipped.
        if key.kind == "Namespace" && key.group.is_empty() && self.protected.contains(&key.name) {
            return Ok(Pruned::Refused(format!(
                "namespace {} is protected",
                key.name
            )));
        }
        if key.kind == "Namespace" && key.group.is_empty() && !prune_enabled(&live) {
            let foreign = self.foreign_objects(&key.name, pruned).await?;
            if !foreign.is_empty() {
                return Ok(Pruned::Refused(format!(
                    "namespace {} holds objects not in the inventory ({}); set {PRUNE_KEY}: enabled on it to prune it anyway",
                    key.name,
                    foreign.join(", ")
                )));
            }
        }
        self.delete(&resource, key).await?;
        lock(&self.memory).remove(key);
        Ok(Pruned::Deleted)
    }

    /// Objects in a namespace that are neither being pruned nor going already, leaving out
    /// what Kubernetes creates in every namespace (the `default` ServiceAccount, the
    /// `kube-root-ca.crt` ConfigMap) and Events; at most five are named.
    async fn foreign_objects(
        &self,
        namespace: &str,
        pruned: &HashSet<&ObjectRef>,
    ) -> Result<Vec<String>, Error> {
        let mut foreign = Vec::new();
        for resource in self.discovery.namespaced(&self.client).await? {
            let kind = resource.api.kind.as_str();
            if kind == "Event" {
                continue;
            }
            let subject = Subject::List { kind, namespace };
            self.throttle().await;
            let list = self
                .api(&resource, namespace)
                .list_metadata(&ListParams::default())
                .await
                .map_err(|e| Error::request(Operation::Read, &subject, e))?;
            for item in list.items {
                let name = item.metadata.name.clone().unwrap_or_default();
                let key = ObjectRef::new(&resource.api.group, kind, namespace, &name);
                let automatic = matches!(
                    (resource.api.group.as_str(), kind, name.as_str()),
                    ("", "ServiceAccount", "default") | ("", "ConfigMap", "kube-root-ca.crt")
                );
                if automatic || pruned.contains(&key) || item.metadata.deletion_timestamp.is_some()
                {
                    continue;
                }
                foreign.push(key.to_string());
                if foreign.len() == 5 {
                    return Ok(foreign);
                }
            }
        }
        Ok(foreign)
    }

    /// Deletes one object with background propagation; a missing object is not an error.
    pub(crate) async fn delete(&self, resource: &Resource, key: &ObjectRef) -> Result<(), Error> {
        self.throttle().await;
        match self
            .api(resource, &key.namespace)
            .delete(&key.name, &DeleteParams::background())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = Error::request(Operation::Delete, &Subject::Object(key), e);
                if e.is_not_found() { Ok(()) } else { Err(e) }
            }
        }
    }

    /// Deletes an object and waits until it is gone (to recreate it), at most a minute.
    pub(crate) async fn delete_and_wait(
        &self,
        resource: &Resource,
        key: &ObjectRef,
    ) -> Result<(), Error> {
        self.delete(resource, key).await?;
        let api_version = resource.api.api_version.clone();
        for _ in 0..120 {
            if self.get(key, &api_version).await?.is_none() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Err(Error::Timeout {
            pending: format!("{key} status: 'Terminating'"),
            waited: Duration::from_secs(60),
        })
    }
}

/// Whether an object says `prune: enabled` explicitly (label or annotation).
fn prune_enabled(object: &gitops_core::Object) -> bool {
    [object.annotation(PRUNE_KEY), object.label(PRUNE_KEY)]
        .into_iter()
        .flatten()
        .any(|v| v.eq_ignore_ascii_case("enabled"))
}
