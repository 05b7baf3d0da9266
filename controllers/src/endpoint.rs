//! An HTTP endpoint the process serves beside its controllers: the metrics on
//! `--metrics-addr` ([`crate::metrics`]), the probes on `--health-addr` ([`crate::health`])
//! or the artifacts on `--storage-addr` ([`crate::source::ArtifactServer`]).
//! It is bound before the controllers start, so a taken port fails the process at once, as
//! controller-runtime's manager does, and it stops with the process.

use std::net::SocketAddr;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The endpoint could not listen.
#[derive(Debug, thiserror::Error)]
#[error("cannot serve {what} on {addr}: {error}; choose another --{flag}")]
pub struct BindError {
    /// What it serves (`metrics`, `health probes`).
    pub what: &'static str,
    /// The flag of its address.
    pub flag: &'static str,
    /// The address asked for.
    pub addr: SocketAddr,
    /// The failure.
    #[source]
    pub error: std::io::Error,
}

/// A running endpoint; it stops when dropped.
#[derive(Debug)]
pub struct Endpoint {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Endpoint {
    /// Binds `addr` (port 0 picks a free port) and serves `router` on it.
    pub async fn start(
        what: &'static str,
        flag: &'static str,
        addr: SocketAddr,
        router: Router,
    ) -> Result<Self, BindError> {
        let bind_error = |error| BindError {
            what,
            flag,
            addr,
            error,
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(bind_error)?;
        Self::serve(what, listener, router).map_err(bind_error)
    }

    /// Serves `router` on a listener already bound (when the caller needs the port the
    /// system picked before serving, as the artifact server does for its advertised
    /// address). `what` names it in logs.
    pub fn serve(
        what: &'static str,
        listener: tokio::net::TcpListener,
        router: Router,
    ) -> std::io::Result<Self> {
        let bound = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!(error = %e, "the {what} server failed");
            }
        });
        tracing::info!(addr = %bound, "serving {what}");
        Ok(Self {
            addr: bound,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and waits for the open connections to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
