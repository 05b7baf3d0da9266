//! Kubernetes for gitops.
//!
//! This crate will hold the apply engine on kube-rs (discovery, staged server-side apply of a
//! core [`gitops_core::plan::Plan`], prune, health reads, as the core's
//! [`gitops_core::reconcile::Cluster`]); that engine is not written yet.
//!
//! Today it carries, behind the `testenv` feature, `testenv`: an in-process Kubernetes API
//! server that kube-rs clients and kubectl use unchanged, faithful to the exchanges recorded
//! from a real kube-apiserver (`tests/fixtures/kube-apiserver/`, replayed by
//! `tests/fidelity.rs`). It serves on 127.0.0.1 or in-process as a tower service.
//!
//! It does not know Git: it never depends on `gitops-git`.

#[cfg(feature = "testenv")]
pub mod testenv;
