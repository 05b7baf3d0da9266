//! An in-process Kubernetes API server for tests, faithful to a real kube-apiserver where
//! clients can tell the difference.
//!
//! It serves discovery, CRUD, list and watch with resourceVersions, the patch types including
//! server-side apply with managedFields and conflicts, dry-run, finalizers, status subresources
//! and custom resources from applied CRDs, answering failures with Kubernetes `Status` objects.
//! Its fidelity is measured by `tests/fidelity.rs`, which replays exchanges recorded from a real
//! kube-apiserver.
//!
//! It is not a cluster: nothing schedules pods and, unless [`TestEnv::enable_controllers`] is
//! called, no controller runs (namespaces stay Terminating and dependents stay, as on a bare
//! kube-apiserver), and unless [`TestEnv::enable_rollouts`] is, workloads are never rolled
//! out. Requests without credentials act as `system:masters`; bearer tokens added
//! with [`TestEnv::add_token`] and `Impersonate-User` headers are authorized by the stored
//! Roles, ClusterRoles and bindings.
//!
//! # How it is built
//!
//! The layers of a kube-apiserver, each a directory named after it; a module imports only
//! the layers below its own (checked by a test, `layers.rs`), top to bottom:
//!
//! - `routing`: one axum fallback handler parses `/api` and `/apis` paths into a verb on a
//!   resource, answers discovery, runs the filters, then takes the server's lock once for the
//!   rest of the request and shapes the answer;
//! - `controllers`: what runs after every stored write (not a dry run), before the answer: the
//!   system namespaces and
//!   CRD establishment and the API Priority and Fairness configuration controller (`apf`:
//!   FlowSchemas' `Dangling` condition) that kube-apiserver runs itself (always on), garbage collection and
//!   namespace finalization of a controller manager (`gc`) and its workload controllers
//!   reduced to a completed rollout (`workloads`), each only when enabled;
//! - `filters`: request counters and injected faults (their own lock), authentication,
//!   impersonation and RBAC (`filters::rbac`);
//! - `verbs`: `list`, `watch`, `write` (create, update, patch: the shared write pipeline),
//!   `apply` (server-side apply, on the core's `gitops_core::ssa`), `patch`, `delete`,
//!   `scale`, and request bodies decoded as the Go types decode them (`decode`);
//! - `state`: the value behind the server's lock (storage, served custom resources, tokens);
//! - `registry`, per kind: served resources and discovery (`registry`, `discovery`),
//!   defaulting functions per Go type (`defaults`), mutating admission (`admission`),
//!   strategies (`strategy`: status reset, generation, server-set fields), validation laid out
//!   as Kubernetes' `validation` packages (`validation`), field selectors (`selector`),
//!   `kubectl get` Tables (`table`), custom resources from their CRD (`crd`, `cel`), version
//!   conversion of built-in kinds served at several versions (`hpa`: stored at
//!   autoscaling/v2), the Go round trip every write takes, which drops non-pointer
//!   `omitempty` fields holding their zero value (`encode`), and the `Status` answers every
//!   failure is built as (`status`);
//! - `storage`: one in-memory store with a global resourceVersion counter and the event log
//!   that watches replay and lists at an older resourceVersion read back through;
//! - `request` (a parsed request and the JSON answer) and `clock`, which import nothing.
//!
//! Built-in list and map semantics come from the pure core's `gitops_core::schema`, custom
//! resources' from their CRD; which built-in fields an update adds (and so owns themselves)
//! follows from the schema too: those Go omits when empty.
//!
//! Invariants: the whole state sits behind one mutex, taken once per request (watches take
//! it per batch of events); nothing a client sends is unwrapped; every failure is a `Status` built in
//! `status` with the wording of the real server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), gitops_apply::testenv::Error> {
//! use gitops_apply::testenv::TestEnv;
//!
//! // Over loopback HTTP, for kube clients and kubectl alike.
//! let env = TestEnv::start().await?;
//! let client = env.client()?;
//! std::fs::write("/tmp/kubeconfig", env.kubeconfig()).ok();
//!
//! // Or in-process, without a socket.
//! let client = kube::Client::new(TestEnv::new().router(), "default");
//! # Ok(()) }
//! ```

mod clock;
mod controllers;
mod filters;
mod registry;
mod request;
mod routing;
mod state;
mod status;
mod storage;
mod verbs;

#[cfg(test)]
mod layers;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, Once};
use std::time::Duration;

use axum::Router;

pub use filters::Fault;

/// Failures of the test environment itself (not of the requests it serves).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The loopback listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The IO failure.
        source: std::io::Error,
    },
    /// A kube client for the server could not be built.
    #[error("cannot build a kube client for {url}: {message}")]
    Client {
        /// The server URL.
        url: String,
        /// What kube reported.
        message: String,
    },
}

/// One server: its state behind one lock, the filters' counters and faults behind another.
pub(crate) struct Server {
    state: Mutex<state::State>,
    filters: Mutex<filters::Filters>,
    /// Bumped after every write so that watches wake up.
    changed: tokio::sync::watch::Sender<u64>,
}

impl Server {
    fn new() -> Arc<Server> {
        let (changed, _) = tokio::sync::watch::channel(0);
        Arc::new(Server {
            state: Mutex::new(state::State::default()),
            filters: Mutex::new(filters::Filters::default()),
            changed,
        })
    }

    /// The locked state; a poisoned lock is recovered (the state stays consistent per request).
    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The filters' counters and faults; a poisoned lock is recovered.
    pub(crate) fn filters(&self) -> MutexGuard<'_, filters::Filters> {
        self.filters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn notify(&self, rv: u64) {
        self.changed.send_replace(rv);
    }
}

/// A running test API server.
///
/// Each `TestEnv` is a fresh, empty server (only the `default`, `kube-system` and
/// `kube-public` namespaces exist). [`TestEnv::start`] also serves it on `127.0.0.1`.
pub struct TestEnv {
    server: Arc<Server>,
    addr: Option<SocketAddr>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Default for TestEnv {
    fn default() -> Self {
        TestEnv::new()
    }
}

impl TestEnv {
    /// A fresh server used in-process through [`TestEnv::router`], without a socket.
    pub fn new() -> TestEnv {
        let server = Server::new();
        controllers::system_namespaces::create(&mut server.lock());
        TestEnv {
            server,
            addr: None,
            shutdown: None,
        }
    }

    /// A fresh server listening on `127.0.0.1` on a free port; it stops when dropped.
    pub async fn start() -> Result<TestEnv, Error> {
        TestEnv::start_on("127.0.0.1:0").await
    }

    /// A fresh server listening on the given address, e.g. `127.0.0.1:6443`.
    pub async fn start_on(addr: &str) -> Result<TestEnv, Error> {
        let mut env = TestEnv::new();
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let router = env.router();
        tokio::spawn(async move {
            let shutdown = async {
                rx.await.ok();
            };
            if let Err(e) = axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::warn!(error = %e, "testenv server stopped");
            }
        });
        env.addr = Some(local);
        env.shutdown = Some(tx);
        Ok(env)
    }

    /// The server as an axum router: a tower service for `kube::Client::new(router, ns)`.
    pub fn router(&self) -> Router {
        routing::router(self.server.clone())
    }

    /// The listening address, when started with [`TestEnv::start`].
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// `http://127.0.0.1:PORT` when listening, else `http://testenv.invalid` (in-process only).
    pub fn url(&self) -> String {
        match self.addr {
            Some(addr) => format!("http://{addr}"),
            None => "http://testenv.invalid".to_string(),
        }
    }

    /// A kube client for this server: over HTTP when listening, else in-process.
    pub fn client(&self) -> Result<kube::Client, Error> {
        install_crypto_provider();
        if self.addr.is_none() {
            return Ok(kube::Client::new(self.router(), "default"));
        }
        let url = self.url();
        let uri = url
            .parse()
            .map_err(|e: http::uri::InvalidUri| Error::Client {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let config = kube::Config::new(uri);
        kube::Client::try_from(config).map_err(|e| Error::Client {
            url,
            message: e.to_string(),
        })
    }

    /// A kubeconfig for kubectl and kube clients, naming this server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: testenv\n  cluster:\n    server: {}\ncontexts:\n- name: testenv\n  context:\n    cluster: testenv\n    user: testenv\n    namespace: default\ncurrent-context: testenv\nusers:\n- name: testenv\n  user: {{}}\n",
            self.url()
        )
    }

    /// How many requests were served for a verb (`get`, `list`, `watch`, `create`, `update`,
    /// `patch`, `delete`, `deletecollection`) and resource (`configmaps`,
    /// `deployments.apps`).
    pub fn request_count(&self, verb: &str, resource: &str) -> u64 {
        self.server
            .filters()
            .counters
            .get(&(verb.to_string(), resource.to_string()))
            .copied()
            .unwrap_or(0)
    }

    /// Every request counter, by (verb, resource).
    pub fn request_counts(&self) -> BTreeMap<(String, String), u64> {
        self.server.filters().counters.clone()
    }

    /// Accepts `Authorization: Bearer <token>` as the user `name` in `groups` (besides
    /// `system:authenticated`). Requests without a token are administrators; requests with an
    /// unknown token get 401.
    pub fn add_token(&self, token: &str, name: &str, groups: &[&str]) {
        self.server.lock().tokens.insert(
            token.to_string(),
            (
                name.to_string(),
                groups.iter().map(|g| g.to_string()).collect(),
            ),
        );
    }

    /// Adds a fault: matching requests fail, slow down or have their watches dropped.
    pub fn inject(&self, fault: Fault) {
        self.server.filters().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.server.filters().faults.clear();
    }

    /// Runs the garbage collector and the namespace controller after every write, as a
    /// cluster's controller-manager would: dependents go with their owners (Background and
    /// Foreground), Orphan releases them, and a deleted namespace empties and goes. Off by
    /// default, matching a bare kube-apiserver.
    pub fn enable_controllers(&self) {
        let mut state = self.server.lock();
        state.controllers = true;
        controllers::gc::collect(&mut state.store);
    }

    /// Rolls out every Deployment, StatefulSet and DaemonSet after each write that changes
    /// one, as a cluster's workload controllers would if every pod became ready at once: the
    /// status of a completed rollout, written through the status subresource by
    /// `kube-controller-manager` (a paused Deployment is left alone), so that health checks
    /// see a rollout finish. Off by default, matching a bare kube-apiserver; separate from
    /// [`TestEnv::enable_controllers`] because the status write moves a workload's
    /// resourceVersion after each of its writes, which scenarios about a bare server's
    /// answers must not see.
    pub fn enable_rollouts(&self) {
        let mut state = self.server.lock();
        state.rollouts = true;
        controllers::workloads::run(&mut state);
    }

    /// Forgets the event history: watches from any earlier resourceVersion, and lists at one
    /// (`resourceVersionMatch=Exact`, continue tokens), get 410 Gone.
    pub fn compact(&self) {
        self.server.lock().store.compact();
    }

    /// How long watches without `timeoutSeconds` stay open.
    pub fn set_watch_timeout(&self, timeout: Duration) {
        self.server.lock().watch_timeout = timeout;
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
    }
}

/// Installs ring as the process's rustls provider, once; kube's TLS stack needs one.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another provider installed first is fine: the call only fails then.
        rustls::crypto::ring::default_provider()
            .install_default()
            .ok();
    });
}
