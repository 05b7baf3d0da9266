//! In-memory doubles of the reconcilers' traits, so that a whole reconciliation runs in a
//! plain `#[test]` with no network, no threads and no runtime.
//!
//! - [`MemorySource`]: Git repositories as in-memory commits on branches and tags, and an
//!   artifact store; it counts fetches and transfers, and failures can be injected.
//! - [`MemoryCluster`]: objects with uid, generation and resourceVersion, applied with the
//!   semantics of server-side apply ([`crate::ssa`]), immutable fields
//!   refused, objects in missing namespaces refused, finalizers honoured, settable health,
//!   injectable faults and request counters.
//! - [`ManualClock`]: time that moves only when told.
//! - [`Env`]: the three together, with GitRepository and Kustomization objects stored in the
//!   cluster and reconciled the way the controllers do it.
//!
//! ```
//! use gitops_core::testkit::{block_on, Env, files};
//! let env = Env::new();
//! env.source.commit("https://example.invalid/repo", "main",
//!     files(&[("app/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\n")]),
//!     "add app");
//! env.add_yaml("
//! apiVersion: source.toolkit.fluxcd.io/v1
//! kind: GitRepository
//! metadata: {name: repo, namespace: flux-system}
//! spec: {url: https://example.invalid/repo, interval: 1m, ref: {branch: main}}
//! ---
//! apiVersion: kustomize.toolkit.fluxcd.io/v1
//! kind: Kustomization
//! metadata: {name: app, namespace: flux-system}
//! spec: {interval: 10m, path: ./app, prune: true, sourceRef: {kind: GitRepository, name: repo}}
//! ").unwrap();
//! block_on(env.reconcile_source("flux-system", "repo")).unwrap();
//! let outcome = block_on(env.reconcile_kustomization("flux-system", "app")).unwrap();
//! let ready = outcome.status.conditions.get("Ready").unwrap();
//! assert!(ready.message.starts_with("Applied revision: main@sha1:"));
//! ```

mod clock;
mod cluster;
mod env;
mod source;

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

pub use clock::ManualClock;
pub use cluster::{Fault, MemoryCluster, SetVerb, Verb};
pub use env::Env;
pub use source::MemorySource;

use crate::fs::MemoryFs;

/// Runs a future that never waits on IO to completion: every future of the in-memory
/// doubles is ready when polled, so no runtime is needed. Panics if the future is pending,
/// which means it waits on something this module does not provide.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("testkit::block_on: the future waits on IO; use a runtime"),
    }
}

/// A file tree from `(path, contents)` pairs.
pub fn files(entries: &[(&str, &str)]) -> MemoryFs {
    entries.iter().fold(MemoryFs::new(), |fs, (path, text)| {
        fs.with_file(path, *text)
    })
}
