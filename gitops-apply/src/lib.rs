//! Kubernetes for gitops: the apply engine on kube-rs, and the testenv API server.
//!
//! An operator renders a directory and applies it with prune and wait, no Flux CRDs needed
//! (`examples/embed_apply.rs` runs the same against testenv):
//!
//! ```no_run
//! use gitops_apply::{ApplyOptions, ResourceManager, WaitOptions};
//! use gitops_core::{Inventory, fs::MemoryFs, plan::Owner, render};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let files = MemoryFs::new().with_file(
//!     "app/cm.yaml",
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: default\n",
//! );
//! let desired = render::build(&files, "app")?;
//! let client = kube::Client::try_default().await?;
//! let manager = ResourceManager::new(client, Owner::new("my-operator", "default"));
//! // Keep `applied.inventory` for the next run: what it no longer renders is pruned.
//! let applied = manager
//!     .apply_all_staged(desired, &Inventory::default(), &ApplyOptions::default())
//!     .await?;
//! manager.wait_for_set(&applied.members(), &WaitOptions::default()).await?;
//! println!("{}", applied.changes);
//! # Ok(()) }
//! ```
//!
//! [`ResourceManager`] applies sets of objects the way Flux's kustomize controller does
//! (staged server-side apply with field manager `kustomize-controller`, a whole-set dry-run
//! before the first write, guarded prune, kstatus waits) at a cost that grows with what
//! changed, not with what exists.
//!
//! Like the kustomize controller it takes objects over from imperative tools: fields owned by
//! `kubectl` (client-side `kubectl apply`, `edit`, `patch`, server-side apply),
//! `before-first-apply` or its own pre-SSA updates become its own through a JSON patch of
//! managedFields before the apply, and kubectl's last-applied annotation goes, so a field
//! deleted from Git is deleted from the cluster ([`gitops_core::plan::takeover`]; not under
//! `kustomize.toolkit.fluxcd.io/ssa: Merge`; more managers with
//! [`ResourceManager::with_override_manager`]). Custom resources are compared by their CRD's
//! schema, read from the server once per kind ([`ResourceManager::schema_for`]). Prune guards
//! Flux lacks (protected namespaces, a Namespace still holding objects of others) refuse a
//! delete; each refusal is a `refused` entry of the change set with its reason, and the
//! object stays in the inventory. It implements the core's
//! [`gitops_core::reconcile::Cluster`], so the core's Kustomization reconciler runs on a real
//! API server through it; an operator can also use it directly (`examples/embed_apply.rs`).
//!
//! Modules are named after what they own: [`discovery`] (kind → resource and scope, cached),
//! [`apply`] (validate, stages, drift memory), [`diff`] (what an apply would change),
//! [`prune`], [`wait`], [`health_watch`] (waking a health wait when its objects change),
//! [`client`]
//! (impersonation, kubeconfig Secrets) and [`error`].
//!
//! Behind the `testenv` feature, `testenv` is an in-process Kubernetes API server that
//! kube-rs clients and kubectl use unchanged, faithful to the exchanges recorded from a real
//! kube-apiserver (`tests/fixtures/kube-apiserver/`, replayed by `tests/fidelity.rs`).
//! It serves on 127.0.0.1 or in-process as a tower service.
//!
//! It does not know Git: it never depends on `gitops-git`.

pub mod apply;
pub mod client;
mod cluster;
pub mod dependency;
pub mod diff;
pub mod discovery;
pub mod error;
pub mod health_watch;
mod manager;
pub mod prune;
pub mod throttle;
pub mod wait;

pub use apply::{Applied, ApplyOptions};
pub use diff::{DiffAction, DiffEntry};
pub use error::Error;
pub use manager::{PROTECTED_NAMESPACES, ResourceManager};
pub use wait::WaitOptions;

#[cfg(feature = "testenv")]
pub mod testenv;
