//! The core's [`Cluster`] on a [`ResourceManager`]: the Kustomization reconciler runs on a
//! real API server through it.

use std::sync::Arc;

use async_trait::async_trait;
use gitops_core::health::Health;
use gitops_core::plan::{Apply, Live, Owner};
use gitops_core::reconcile::{ApplyFailure, Cluster, Pruned, SetApplied, SetMember};
use gitops_core::schema::Schema;
use gitops_core::{Error as CoreError, InventoryEntry, Object, ObjectRef};
use jiff::Timestamp;

use crate::error::{Error, Operation};
use crate::manager::ResourceManager;

fn failure(e: &Error) -> ApplyFailure {
    let (object, dry_run) = match e {
        Error::Request {
            object, operation, ..
        } => (object.clone(), *operation == Operation::DryRun),
        Error::UnknownKind { object, .. } => (Some(object.clone()), true),
        _ => (None, false),
    };
    ApplyFailure {
        object: object.unwrap_or_else(|| ObjectRef::new("", "", "", "")),
        dry_run,
        error: e.to_core(),
    }
}

#[async_trait]
impl Cluster for ResourceManager {
    async fn get(
        &self,
        object: &ObjectRef,
        api_version: &str,
    ) -> Result<Option<Object>, CoreError> {
        ResourceManager::get(self, object, api_version)
            .await
            .map_err(|e| e.to_core())
    }

    async fn apply(&self, object: &Object, field_manager: &str) -> Result<Object, CoreError> {
        let resource = self
            .resource(object.api_version(), object.kind())
            .await
            .map_err(|e| e.to_core())?
            .ok_or_else(|| {
                Error::UnknownKind {
                    object: object.object_ref(),
                    api_version: object.api_version().to_string(),
                    kind: object.kind().to_string(),
                }
                .to_core()
            })?;
        self.patch(&resource, object, false, field_manager)
            .await
            .map_err(|e| e.to_core())
    }

    async fn delete(&self, object: &ObjectRef, api_version: &str) -> Result<(), CoreError> {
        let Some(resource) = self
            .resource(api_version, &object.kind)
            .await
            .map_err(|e| e.to_core())?
        else {
            return Ok(());
        };
        ResourceManager::delete(self, &resource, object)
            .await
            .map_err(|e| e.to_core())
    }

    async fn read_set(&self, objects: &[SetMember]) -> Result<Live, CoreError> {
        ResourceManager::read_set(self, objects)
            .await
            .map_err(|e| e.to_core())
    }

    async fn validate_set(
        &self,
        applies: &[&Apply],
        live: &Live,
        field_manager: &str,
    ) -> Result<(), ApplyFailure> {
        self.validate(applies, live, field_manager)
            .await
            .map_err(|e| failure(&e))
    }

    async fn apply_set(&self, applies: &[Apply], live: &Live, field_manager: &str) -> SetApplied {
        let result = self.apply_stage(applies, live, field_manager).await;
        SetApplied {
            changes: result.changes,
            failure: result.error.as_ref().map(failure),
        }
    }

    async fn prune_set(
        &self,
        entries: &[InventoryEntry],
        owner: &Owner,
    ) -> Vec<(InventoryEntry, Pruned)> {
        self.delete_all(entries, owner).await
    }

    async fn schema(&self, objects: &[SetMember]) -> Result<Arc<Schema>, CoreError> {
        self.schema_for(objects).await.map_err(|e| e.to_core())
    }

    async fn health_set(
        &self,
        objects: &[SetMember],
        now: Timestamp,
    ) -> Result<Vec<(ObjectRef, Health)>, CoreError> {
        self.health_of_set(objects, now)
            .await
            .map_err(|e| e.to_core())
    }
}
