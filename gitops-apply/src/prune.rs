//! Prune: inventory orphans deleted in the order given (reverse kind order, Namespaces
//! last), with background propagation, each re-read first and deleted only when it still
//! carries both owner labels and no opt-out, and never a protected namespace.

use std::time::Duration;

use gitops_core::plan::{Owner, Policy};
use gitops_core::reconcile::Pruned;
use gitops_core::{InventoryEntry, ObjectRef};
use kube::api::DeleteParams;

use crate::discovery::Resource;
use crate::error::{Error, Operation, Subject};
use crate::manager::{ResourceManager, lock};

impl ResourceManager {
    /// Deletes inventory orphans, one result per entry. Refusals (a protected namespace,
    /// owner labels that no longer match, `prune: disabled`, `reconcile: disabled`,
    /// `ssa: Ignore`) are results too, never silent.
    pub async fn delete_all(
        &self,
        entries: &[InventoryEntry],
        owner: &Owner,
    ) -> Vec<(InventoryEntry, Pruned)> {
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let result = match self.delete_one(entry, owner).await {
                Ok(p) => p,
                Err(e) => Pruned::Failed(e.to_core()),
            };
            out.push((entry.clone(), result));
        }
        out
    }

    async fn delete_one(&self, entry: &InventoryEntry, owner: &Owner) -> Result<Pruned, Error> {
        let key = &entry.object;
        if key.kind == "Namespace" && key.group.is_empty() && self.protected.contains(&key.name) {
            return Ok(Pruned::Refused(format!(
                "namespace {} is protected",
                key.name
            )));
        }
        let api_version = entry.api_version();
        let Some(resource) = self.resource(&api_version, &key.kind).await? else {
            return Ok(Pruned::Deleted); // its kind went with its CRD
        };
        let Some(live) = self.get(key, &api_version).await? else {
            lock(&self.memory).remove(key);
            return Ok(Pruned::Deleted);
        };
        if !owner.owns(&live) {
            return Ok(Pruned::Refused(
                "its owner labels name another owner".to_string(),
            ));
        }
        let policy = Policy::of_live(&live);
        if policy.prune_disabled {
            return Ok(Pruned::Refused("prune is disabled on it".to_string()));
        }
        if policy.excluded() {
            return Ok(Pruned::Refused("reconcile is disabled on it".to_string()));
        }
        self.delete(&resource, key).await?;
        lock(&self.memory).remove(key);
        Ok(Pruned::Deleted)
    }

    /// Deletes one object with background propagation; a missing object is not an error.
    pub(crate) async fn delete(&self, resource: &Resource, key: &ObjectRef) -> Result<(), Error> {
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
