//! The gitops controllers and command line.
//!
//! This crate is the thin shell over the libraries: the Flux-compatible resource types and
//! the CRDs generated from them ([`api`]), the `gitops` command line, and (to come) the
//! source and kustomize controllers and the artifact server. Today the command line has
//! `quickstart`, which runs the whole GitRepository → Kustomization pipeline of the pure core
//! on an embedded example repository, against the core's in-memory cluster and Git source;
//! [`build`] (`gitops build`), which renders a directory from disk as `kubectl kustomize` and
//! `flux build kustomization` do; `gitops testenv`; and `gitops crds`, which prints the CRDs.
//!
//! It does no reconciliation logic of its own: every decision comes from
//! [`gitops_core::reconcile`].

pub mod api;
pub mod build;
pub mod cli;
pub mod quickstart;
pub mod testenv;
