//! Git for gitops: fetch one ref of a repository with gitoxide, pack its tree into a
//! deterministic artifact, keep artifacts in a store, and read them back safely.
//!
//! This is the source side of a Flux-compatible GitOps system. It covers:
//!
//! - [`mod@fetch`]: branch, tag, semver range, full ref name or exact commit, over `file://`,
//!   `git://`, `http(s)://` and `ssh://`, shallow where Flux is, with the revision in Flux's
//!   format (`main@sha1:<hex>`), a timeout, cancellation, and an unchanged fast path that only
//!   lists refs;
//! - [`auth`]: credentials in Flux's Secret formats, and the [`SecretReader`] trait through
//!   which they are read;
//! - [`ignore`]: `.sourceignore` and `spec.ignore` with Flux's defaults;
//! - [`artifact`]: deterministic tar.gz with a `sha256:` digest;
//! - [`store`]: atomic writes, per-source locks, retention of the newest two;
//! - [`extract`] and [`disk`]: refusing hostile archives, and reading an extracted tree through
//!   [`gitops_core::fs::FileSystem`];
//! - [`download`]: the consumer side, fetching an artifact over HTTP and verifying its digest;
//! - [`mod@push`]: committing files onto a branch and pushing it, for bootstrap, over the same
//!   transports and with the same [`Auth`] as the fetch;
//! - [`GitSource`]: all of the above as the core's [`gitops_core::reconcile::Source`].
//!
//! It is not a Kubernetes client (Secrets come through [`SecretReader`]), not an HTTP server
//! for artifacts (the store's directory is what a file server serves).
//!
//! **Push uses the `git` program**, because gitoxide cannot push (it has no receive-pack
//! client yet, gitoxide issue #306): [`mod@push`] runs `git fetch`, plumbing commands and
//! `git push` in a temporary directory, with credentials passed through 0600 files and
//! environment variables, never on a command line.
//!
//! Runtime requirements: the `git` program for `file://` URLs (gitoxide spawns
//! `git-upload-pack`) and for every push, and the `ssh` program for `ssh://` URLs. HTTPS
//! uses rustls with the ring provider, which [`fetch::install_crypto_provider`] installs
//! once.
//!
//! ```no_run
//! use gitops_core::api::Checkout;
//! use gitops_git::{Auth, FetchOptions, FetchOutcome, artifact::Packer};
//!
//! let outcome = gitops_git::fetch::fetch_blocking(
//!     "https://example.invalid/podinfo.git",
//!     &Checkout::Branch("main".into()),
//!     &Auth::none(),
//!     &FetchOptions::default(),
//! )?;
//! if let FetchOutcome::Fetched(commit) = outcome {
//!     let mut packer = Packer::new(std::fs::File::create("podinfo.tar.gz").unwrap())?;
//!     commit.pack(&mut packer, None)?;
//!     let packed = packer.finish()?;
//!     println!("revision: {}", commit.revision());
//!     println!("digest: {}", packed.digest);
//! }
//! # Ok::<(), gitops_git::Error>(())
//! ```

pub mod artifact;
pub mod auth;
pub mod disk;
pub mod download;
mod error;
pub mod extract;
pub mod fetch;
mod gzip;
pub mod ignore;
mod indexpack;
pub mod push;
mod source;
pub mod store;

pub use auth::{Auth, SecretReader, StaticSecrets};
pub use error::Error;
pub use fetch::{FetchOptions, FetchOutcome, FetchedCommit, fetch, fetch_blocking};
/// Semver ranges over tags with Flux's (Masterminds) semantics; they live in the pure core.
pub use gitops_core::constraint;
pub use push::{PushOptions, Pushed, push, push_blocking};
pub use source::GitSource;
pub use store::Store;
