//! The source controller: GitRepositories to artifacts, served over HTTP, as Flux's
//! source-controller does it.
//!
//! - [`controller`]: the GitRepository controller on `kube::runtime::Controller`, driving the
//!   core's [`gitops_core::reconcile::GitRepositoryReconciler`] with gitops-git's
//!   [`gitops_git::GitSource`]; finalizer, status, events, suspend, requested reconciles,
//!   interval and backoff requeues, credentials from `spec.secretRef`;
//! - [`storage`]: where artifacts live, the URL they are advertised at and Flux's retention
//!   (`--artifact-retention-ttl`, `--artifact-retention-records`);
//! - [`server`]: the artifact server on `--storage-addr`, serving
//!   `http://<adv-addr>/gitrepository/<namespace>/<name>/<commit-hex>.tar.gz`;
//! - `status`, `events`, `secrets`: the object as the core's value and the status merge
//!   patch, Kubernetes Events in Flux's shape, and Secrets through the kube client.
//!
//! The decisions (conditions, reasons, messages, when to requeue, what to do with the
//! finalizer) are the core's; this module reads objects, writes what the core returns, and
//! owns the storage directory.

pub mod controller;
pub mod events;
pub mod secrets;
pub mod server;
pub mod status;
pub mod storage;

pub use controller::{ControllerOptions, run};
pub use server::ArtifactServer;
pub use storage::{Storage, StorageOptions};
