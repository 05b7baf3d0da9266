//! The gitops controllers and command line.
//!
//! This crate is the thin shell over the libraries: the Flux-compatible resource types and
//! the CRDs generated from them ([`api`]), the controllers, the artifact server and the
//! `gitops` command line.
//!
//! [`source`] is Flux's source-controller: the GitRepository controller on
//! `kube::runtime::Controller` (through the core's state machine and gitops-git), the artifact
//! storage with Flux's retention, and the HTTP server that serves artifacts at
//! `http://<storage-adv-addr>/gitrepository/<namespace>/<name>/<hex>.tar.gz`, started
//! together by [`source::SourceController`].
//!
//! [`kustomize`] is Flux's kustomize-controller: the Kustomization controller on
//! `kube::runtime::Controller`, driving the core's Kustomization reconciler with a verified
//! artifact download ([`kustomize::ArtifactFetcher`]) and the apply engine
//! ([`gitops_apply::ResourceManager`]), watching GitRepositories so a new artifact revision is
//! applied at once. `gitops controller source|kustomize|all` ([`controller`]) runs either, or
//! both, as a process.
//!
//! Around them, what controller-runtime's manager runs in Flux: [`metrics`] (Flux's
//! `gotk_reconcile_duration_seconds` and controller-runtime's reconcile and workqueue
//! metrics on `/metrics`), [`health`] (`/healthz`, `/readyz`), [`leader`] (leader election
//! on a Lease, so one replica of each controller is active), served by [`endpoint`] and
//! configured by the flags both controllers share ([`flags`]).
//!
//! Today the command line has [`quickstart`], which runs the whole GitRepository →
//! Kustomization pipeline on real parts (testenv, a Git server over smart HTTP and both
//! controllers, all on 127.0.0.1); [`build`] (`gitops build`), which renders a
//! directory from disk as `kubectl kustomize` and `flux build kustomization` do;
//! `gitops testenv`; `gitops crds`, which prints the CRDs; [`install`] (`gitops install
//! [--export]`, Flux's install manifests for both controllers); and [`bootstrap`] (`gitops
//! bootstrap git`, the manifests committed to a repository the cluster then syncs from).
//! [`commands`] has what a Flux user runs day to day against a cluster: `get`, `reconcile`,
//! `suspend`/`resume`, `events`, `tree` and `diff`, with flux's columns, progress lines and
//! exit codes.
//!
//! It does no reconciliation logic of its own: every decision comes from
//! [`gitops_core::reconcile`].

pub mod api;
pub mod bootstrap;
pub mod build;
pub mod cli;
pub mod commands;
pub mod config_flags;
pub mod controller;
pub mod endpoint;
pub mod flags;
pub mod health;
pub mod install;
pub mod kustomize;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod quickstart;
pub mod source;
pub mod testenv;
