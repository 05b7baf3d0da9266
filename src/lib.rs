//! gitops: pull-based continuous delivery for Kubernetes, the way Flux does it, as a Rust SDK
//! with bundled controllers.
//!
//! This facade re-exports the workspace's crates under short names:
//!
//! - [`core`] (`gitops-core`): the pure core. Objects, revisions, manifests, diff, plan,
//!   health, Flux's status vocabulary and the GitRepository / Kustomization reconcilers over
//!   traits, with in-memory doubles behind the `testkit` feature.
//! - [`git`] (`gitops-git`): Git on gitoxide, ignore rules, artifacts and their store.
//! - [`apply`] (`gitops-apply`): Kubernetes on kube-rs, and the `testenv` API server.
//! - [`controllers`] (`gitops-controllers`): the controllers and the `gitops` command line.
//!
//! ```
//! use gitops::core::Revision;
//! let rev: Revision = "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc".parse().unwrap();
//! assert_eq!(rev.reference(), Some("main"));
//! ```

pub use gitops_apply as apply;
pub use gitops_controllers as controllers;
pub use gitops_core as core;
pub use gitops_git as git;
