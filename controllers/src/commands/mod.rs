//! The commands a Flux user runs day to day against a cluster, as the `flux` CLI has them:
//! [`get`] (`get sources git`, `get kustomizations`), [`reconcile`], [`suspend`] (and
//! `resume`), [`events`], [`tree`] and [`diff`].
//!
//! Each talks to the cluster through [`crate::config_flags::ConfigFlags`], prints its results
//! on stdout and its progress (`► annotating ...`, `◎ waiting ...`, `✔ ...`) and errors
//! (`✗ ...`) on stderr, as flux does. A command that ran and found a failure (an object that
//! is not found, a reconciliation that did not become ready) returns a [`Failed`] error, which
//! the command line turns into exit code 1; any other error is exit code 2.
//!
//! They read Flux objects as JSON ([`kube::api::DynamicObject`]) rather than through the typed
//! API structs, so that `-o yaml|json` prints every field the API server returned, including
//! those this implementation does not model.

pub mod diff;
pub mod events;
pub mod get;
pub mod kind;
pub mod progress;
pub mod reconcile;
pub mod suspend;
pub mod table;
pub mod tree;

use std::future::Future;

use anyhow::Context;

pub use kind::FluxKind;

/// The command ran and found a failure; the command line prints it and exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failed(pub String);

/// Runs a command's future on a runtime of its own: the commands are short-lived processes.
pub(crate) fn block_on<T>(future: impl Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(future)
}

/// Whether an error from the API server is a 404.
pub(crate) fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}
