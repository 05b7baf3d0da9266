use serde_json::Value;

use super::{ManualClock, MemoryCluster, MemorySource};
use crate::api::{FINALIZER, GitRepository, KUSTOMIZE_GROUP, Kustomization, SOURCE_GROUP};
use crate::reconcile::{Finalizer, GitRepositoryReconciler, KustomizationReconciler, Outcome};
use crate::status::{GitRepositoryStatus, KustomizationStatus};
use crate::{Error, Object, ObjectRef, manifests};

/// A cluster, a source and a clock, with the controllers' bookkeeping: GitRepositories and
/// Kustomizations live in the cluster as objects, and each reconcile reads the object, runs
/// the reconciler and writes back its status and finalizer, as the controllers do.
#[derive(Debug)]
pub struct Env {
    /// The cluster.
    pub cluster: MemoryCluster,
    /// The Git repositories and artifact store.
    pub source: MemorySource,
    /// The time.
    pub clock: ManualClock,
}

impl Default for Env {
    /// An empty environment at 2026-01-01T00:00:00Z; the source stamps artifacts with the
    /// environment's clock.
    fn default() -> Self {
        let clock = ManualClock::default();
        Self {
            cluster: MemoryCluster::default(),
            source: MemorySource::with_clock(clock.clone()),
            clock,
        }
    }
}

impl Env {
    /// An empty environment at 2026-01-01T00:00:00Z.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates the objects of a YAML document stream in the cluster, creating the
    /// namespaces they need, as `kubectl apply` by a user would.
    pub fn add_yaml(&self, yaml: &str) -> Result<Vec<ObjectRef>, Error> {
        let mut created = Vec::new();
        for m in manifests::parse("<add_yaml>", yaml)? {
            if let Some(ns) = m.object.namespace() {
                self.cluster.create_namespace(ns);
            }
            created.push(self.cluster.put(m.object, "kubectl")?.object_ref());
        }
        Ok(created)
    }

    /// Reads a GitRepository from the cluster.
    pub fn git_repository(&self, namespace: &str, name: &str) -> Result<GitRepository, Error> {
        GitRepository::from_object(&self.read(SOURCE_GROUP, "GitRepository", namespace, name)?)
    }

    /// Reads a Kustomization from the cluster.
    pub fn kustomization(&self, namespace: &str, name: &str) -> Result<Kustomization, Error> {
        Kustomization::from_object(&self.read(KUSTOMIZE_GROUP, "Kustomization", namespace, name)?)
    }

    /// Runs the GitRepository reconciler once and writes the outcome back.
    pub async fn reconcile_source(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Outcome<GitRepositoryStatus>, Error> {
        let repo = self.git_repository(namespace, name)?;
        let outcome = GitRepositoryReconciler::new(&self.source, &self.clock)
            .reconcile(&repo)
            .await;
        self.write_back(&repo.object_ref(), &outcome.status, outcome.finalizer)?;
        Ok(outcome)
    }

    /// Runs the Kustomization reconciler once and writes the outcome back.
    pub async fn reconcile_kustomization(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Outcome<KustomizationStatus>, Error> {
        let ks = self.kustomization(namespace, name)?;
        let outcome = KustomizationReconciler::new(&self.source, &self.cluster, &self.clock)
            .reconcile(&ks)
            .await;
        self.write_back(&ks.object_ref(), &outcome.status, outcome.finalizer)?;
        Ok(outcome)
    }

    fn read(&self, group: &str, kind: &str, namespace: &str, name: &str) -> Result<Object, Error> {
        let key = ObjectRef::new(group, kind, namespace, name);
        self.cluster
            .get_object(&key)
            .ok_or(Error::NotFound { object: key })
    }

    fn write_back<S: serde::Serialize>(
        &self,
        key: &ObjectRef,
        status: &S,
        finalizer: Finalizer,
    ) -> Result<(), Error> {
        let status: Value = serde_json::to_value(status).map_err(|e| Error::InvalidSpec {
            object: key.to_string(),
            field: "status".into(),
            reason: e.to_string(),
        })?;
        self.cluster.set_status(key, status);
        match finalizer {
            Finalizer::Add => self.cluster.add_finalizer(key, FINALIZER),
            Finalizer::Remove => self.cluster.remove_finalizer(key, FINALIZER),
            Finalizer::Keep => {}
        }
        Ok(())
    }
}
