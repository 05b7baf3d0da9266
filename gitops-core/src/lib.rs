//! The pure core of gitops: every decision a GitOps controller makes, computed from values.
//!
//! This crate holds the object model ([`Object`], [`ObjectRef`], [`Inventory`]), source
//! revisions ([`Revision`], [`Digest`]), manifest parsing ([`manifests`]), drift detection
//! ([`diff`]), apply planning ([`plan`]), health assessment ([`health`]), Flux's status
//! vocabulary ([`status`]), scheduling ([`schedule`]) and the GitRepository and Kustomization
//! reconcilers ([`reconcile`]) written against three traits: a [`reconcile::Source`] of
//! artifacts, a [`reconcile::Cluster`] to read and change, and a [`reconcile::Clock`].
//!
//! It is not an IO crate: there is no async runtime, network, Kubernetes client or
//! filesystem walking here. `gitops-git` and `gitops-apply` implement the traits; the
//! `testkit` feature ships in-memory implementations so that a whole reconciliation runs in a
//! plain `#[test]`.
//!
//! ```
//! use gitops_core::plan::{Live, Owner, Plan, PlanOptions};
//! use gitops_core::{manifests, Inventory};
//! let desired = manifests::parse(
//!     "app.yaml",
//!     "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\n",
//! )
//! .unwrap();
//! let options = PlanOptions::new(Owner::new("apps", "flux-system"));
//! let plan = Plan::compute(desired, &Live::new(), &Inventory::default(), &options).unwrap();
//! assert_eq!(plan.change_set().to_string(), "ConfigMap/default/app created");
//! ```

pub mod api;
pub mod constraint;
pub mod diff;
mod error;
pub mod fs;
pub mod health;
mod inventory;
pub mod manifests;

mod object;
pub mod plan;
pub mod reconcile;
pub mod render;
mod revision;
pub mod schedule;
pub mod schema;
pub mod selector;
pub mod ssa;
pub mod status;
pub mod substitute;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod yaml;

pub use error::{Error, SourceFailure};
pub use inventory::{Inventory, InventoryEntry};
pub use object::{Manifest, Object, ObjectRef, Origin, split_api_version};
pub use revision::{Digest, Revision};
