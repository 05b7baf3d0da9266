//! The source controller: GitRepositories to artifacts, served over HTTP, as Flux's
//! source-controller does it.
//!
//! - [`controller`]: the GitRepository controller on `kube::runtime::Controller`, driving the
//!   core's [`gitops_core::reconcile::GitRepositoryReconciler`] with gitops-git's
//!   [`gitops_git::GitSource`]; finalizer, status, events, suspend, requested reconciles,
//!   interval and backoff requeues, credentials from `spec.secretRef`;
//! - [`storage`]: where artifacts live, the URL they are advertised at and Flux's retention
//!   (`--artifact-retention-ttl`, `--artifact-retention-records`);
//! - [`server`]: the artifact server on `--storage-addr`, serving
//!   `http://<adv-addr>/gitrepository/<namespace>/<name>/<commit-hex>.tar.gz`;
//! - [`flags`]: Flux's flags (`--storage-path`, `--storage-addr`, `--storage-adv-addr`,
//!   `--artifact-retention-*`, and the shared [`crate::flags::WatchFlags`] such as
//!   `--concurrent`) as the options above;
//! - `status`, `events`, `secrets`: the object as the core's value and the status merge
//!   patch, Kubernetes Events in Flux's shape, and Secrets through the kube client.
//!
//! The decisions (conditions, reasons, messages, when to requeue, what to do with the
//! finalizer) are the core's; this module reads objects, writes what the core returns, and
//! owns the storage directory.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub mod controller;
pub mod events;
pub mod flags;
pub mod secrets;
pub mod server;
pub mod status;
pub mod storage;

pub use controller::{ControllerOptions, run};
pub use server::ArtifactServer;
pub use storage::{Storage, StorageOptions};

/// The source controller could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The artifact server's address.
    #[error(transparent)]
    Server(#[from] server::Error),
    /// The storage directory.
    #[error(transparent)]
    Storage(#[from] storage::Error),
}

/// The source controller as it runs in production: the artifact server on `--storage-addr`
/// and the GitRepository controller, in this process, until shut down or dropped.
///
/// ```no_run
/// # async fn demo(client: kube::Client) -> anyhow::Result<()> {
/// use gitops_controllers::source::{ControllerOptions, SourceController, StorageOptions};
/// let options = StorageOptions {
///     path: "/data".into(),
///     addr: "0.0.0.0:9090".parse()?,
///     adv_addr: Some("source-controller.flux-system.svc.cluster.local.".into()),
///     ..StorageOptions::default()
/// };
/// let controller = SourceController::start(client, options, ControllerOptions::default()).await?;
/// println!("artifacts at {}", controller.storage().base_url());
/// controller.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SourceController {
    server: Option<ArtifactServer>,
    storage: Storage,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl SourceController {
    /// Binds the artifact server and starts the controller. With no `adv_addr`, the
    /// advertised address is derived from the address actually bound (so `127.0.0.1:0`
    /// advertises the port picked).
    pub async fn start(
        client: kube::Client,
        mut storage: StorageOptions,
        options: ControllerOptions,
    ) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(storage.addr)
            .await
            .map_err(|error| server::Error::Bind {
                addr: storage.addr,
                error,
            })?;
        let bound: SocketAddr = listener.local_addr().map_err(|error| server::Error::Bind {
            addr: storage.addr,
            error,
        })?;
        if storage.adv_addr.as_deref().is_none_or(str::is_empty) {
            storage.adv_addr = Some(storage::advertised_addr(bound));
        }
        let storage = Storage::new(&storage)?;
        let server = ArtifactServer::serve(listener, storage.clone())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(run(client, storage.clone(), options, async {
            let _ = stopped.await;
        }));
        Ok(Self {
            server: Some(server),
            storage,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The storage artifacts are written to.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Where the artifact server listens.
    pub fn artifact_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(ArtifactServer::addr)
    }

    /// Stops the controller (reconciles in flight finish) and the artifact server.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
    }
}

impl Drop for SourceController {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
