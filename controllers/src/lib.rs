//! The gitops controllers and command line.
//!
//! This crate is the thin shell over the libraries: it will hold the Flux-compatible CRD
//! types, the source and kustomize controllers, the artifact server and the `gitops`
//! commands. Today it carries the command line with `quickstart`, which runs the whole
//! GitRepository → Kustomization pipeline of the pure core on an embedded example
//! repository, against the core's in-memory cluster and Git source, and [`build`]
//! (`gitops build`), which renders a directory from disk as `kubectl kustomize` and
//! `flux build kustomization` do.
//!
//! It does no reconciliation logic of its own: every decision comes from
//! [`gitops_core::reconcile`].

pub mod api;
pub mod build;
pub mod cli;
pub mod quickstart;
pub mod source;
pub mod testenv;
