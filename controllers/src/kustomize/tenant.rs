//! The cluster a Kustomization with a service account (or a remote kubeconfig) reconciles
//! against: Flux's multi-tenancy split, where the controller reads what it consults (the
//! source, the Kustomizations named in `dependsOn`, the `substituteFrom` ConfigMaps and
//! Secrets) with its own identity on its own cluster, and everything the Kustomization
//! applies, prunes and waits for goes through the service account or the remote cluster.
//!
//! Flux's kustomize-controller does the same: its manager's client reads sources and
//! dependencies, and only the `ResourceManager` of a reconcile is built on the impersonating
//! client. A tenant therefore needs no RBAC on `source.toolkit.fluxcd.io` or
//! `kustomize.toolkit.fluxcd.io` to be reconciled, and cannot reach beyond its Role through
//! what it applies.

use std::sync::Arc;

use async_trait::async_trait;
use gitops_apply::ResourceManager;
use gitops_core::health::Health;
use gitops_core::plan::{Apply, Live, Owner};
use gitops_core::reconcile::{ApplyFailure, Cluster, Pruned, SetApplied, SetMember};
use gitops_core::schema::Schema;
use gitops_core::{Error, InventoryEntry, Object, ObjectRef};
use jiff::Timestamp;

/// Reads single objects through `controller`, does everything else through `tenant`.
pub(crate) struct Tenant {
    /// The controller's own engine.
    pub controller: Arc<ResourceManager>,
    /// The engine acting as the Kustomization's service account.
    pub tenant: Arc<ResourceManager>,
}

#[async_trait]
impl Cluster for Tenant {
    /// The core reads single objects only for what the controller itself consults: the
    /// source, the Kustomizations of `dependsOn` and the ConfigMaps and Secrets of
    /// `postBuild.substituteFrom`. Flux reads those with its own client too, so a tenant
    /// needs no RBAC on them; the live state of what is applied comes through
    /// [`Cluster::read_set`], as the tenant.
    async fn get(&self, object: &ObjectRef, api_version: &str) -> Result<Option<Object>, Error> {
        Cluster::get(&*self.controller, object, api_version).await
    }

    async fn apply(&self, object: &Object, field_manager: &str) -> Result<Object, Error> {
        Cluster::apply(&*self.tenant, object, field_manager).await
    }

    async fn delete(&self, object: &ObjectRef, api_version: &str) -> Result<(), Error> {
        Cluster::delete(&*self.tenant, object, api_version).await
    }

    async fn health(
        &self,
        object: &ObjectRef,
        api_version: &str,
        now: Timestamp,
    ) -> Result<Health, Error> {
        Cluster::health(&*self.tenant, object, api_version, now).await
    }

    async fn read_set(&self, objects: &[SetMember]) -> Result<Live, Error> {
        Cluster::read_set(&*self.tenant, objects).await
    }

    async fn validate_set(
        &self,
        applies: &[&Apply],
        live: &Live,
        field_manager: &str,
    ) -> Result<(), ApplyFailure> {
        Cluster::validate_set(&*self.tenant, applies, live, field_manager).await
    }

    async fn apply_set(&self, applies: &[Apply], live: &Live, field_manager: &str) -> SetApplied {
        Cluster::apply_set(&*self.tenant, applies, live, field_manager).await
    }

    async fn prune_set(
        &self,
        entries: &[InventoryEntry],
        owner: &Owner,
    ) -> Vec<(InventoryEntry, Pruned)> {
        Cluster::prune_set(&*self.tenant, entries, owner).await
    }

    /// CRD schemas are read with the controller's identity: they only shape the comparison
    /// (list types), reading them grants the tenant nothing, and a tenant's Role rarely
    /// allows reading CRDs.
    async fn schema(&self, objects: &[SetMember]) -> Result<Arc<Schema>, Error> {
        Cluster::schema(&*self.controller, objects).await
    }

    async fn health_set(
        &self,
        objects: &[SetMember],
        now: Timestamp,
    ) -> Result<Vec<(ObjectRef, Health)>, Error> {
        Cluster::health_set(&*self.tenant, objects, now).await
    }
}
