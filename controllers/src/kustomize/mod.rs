//! The kustomize controller: Kustomizations applied from their source's artifact, as Flux's
//! kustomize-controller does it.
//!
//! - [`controller`]: the Kustomization controller on `kube::runtime::Controller`, driving the
//!   core's [`gitops_core::reconcile::KustomizationReconciler`] with an [`ArtifactFetcher`]
//!   as its source and a per-Kustomization [`gitops_apply::ResourceManager`] as its cluster;
//!   finalizer with prune on deletion, status as a merge patch, events, requeues; it watches
//!   GitRepositories so a new artifact revision reconciles its Kustomizations at once;
//! - [`artifact`]: download `status.artifact.url`, verify its digest, extract (gitops-git);
//! - [`status`]: the status merge patch of what changed;
//! - [`flags`]: Flux's flags (`--requeue-dependency`, `--no-cross-namespace-refs`, and the
//!   shared [`crate::flags::WatchFlags`]: `--concurrent`, `--watch-all-namespaces`,
//!   `--watch-label-selector`, `--interval-jitter-percentage`).
//!
//! The decisions (suspend, `dependsOn`, cross-namespace refs, `targetNamespace`, `force`,
//! `wait` and `healthChecks`, conditions, reasons, messages, when to requeue, what to prune)
//! are the core's; this module reads objects and writes what the core returns.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) {
//! use gitops_controllers::kustomize::{ControllerOptions, controller};
//! let options = ControllerOptions {
//!     namespace: Some("flux-system".into()),
//!     ..Default::default()
//! };
//! // Runs until the future completes (here: never).
//! controller::run(client, options, std::future::pending()).await;
//! # }
//! ```

pub mod artifact;
pub mod controller;
pub mod flags;
pub mod status;
mod tenant;

pub use artifact::ArtifactFetcher;
pub use controller::{COMPONENT, ControllerOptions, Error};
