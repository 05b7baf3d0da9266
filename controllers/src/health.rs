//! The health probes on `--health-addr`, as controller-runtime serves them for Flux's
//! Deployments: `GET /healthz` answers 200 `ok` while the process runs (the liveness probe),
//! `GET /readyz` answers 200 `ok` once every controller's watches have listed their objects,
//! and 500 with what is still syncing before (the readiness probe).
//!
//! Each watch registers a [`ReadyCheck`] when its controller starts and marks it ready at its
//! first complete list. With leader election, a controller that does not lead stands by
//! ([`Health::standby`]) and has no caches to sync: a process whose controllers all stand by
//! or have synced is ready, so readiness does not depend on leading, as in
//! controller-runtime. A process with no controller started nor standing by is starting:
//! not ready.
//!
//! ```
//! use gitops_controllers::health::Health;
//! let health = Health::new();
//! assert!(!health.ready(), "nothing started yet");
//! let watch = health.check("source-controller/gitrepositories");
//! assert!(!health.ready());
//! watch.ready();
//! assert!(health.ready());
//! ```

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;

#[derive(Debug, Default)]
struct Inner {
    checks: Mutex<Vec<(String, Arc<AtomicBool>)>>,
    /// Controllers standing by for leadership.
    standby: AtomicUsize,
}

/// The process's readiness, shared by its controllers (cheap to clone). Two values are equal
/// when they are the same.
#[derive(Clone, Debug, Default)]
pub struct Health {
    inner: Arc<Inner>,
}

impl PartialEq for Health {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

/// A controller standing by for leadership (see [`Health::standby`]).
#[derive(Debug)]
pub struct Standby {
    health: Health,
}

impl Drop for Standby {
    fn drop(&mut self) {
        self.health.inner.standby.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One watch's part of the readiness: not ready until [`ReadyCheck::ready`].
#[derive(Clone, Debug)]
pub struct ReadyCheck {
    ready: Arc<AtomicBool>,
}

impl ReadyCheck {
    /// The watch has listed its objects.
    pub fn ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

impl Health {
    /// A process starting: not ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a check named `name` (what `/readyz` reports while it is not ready).
    pub fn check(&self, name: &str) -> ReadyCheck {
        let ready = Arc::new(AtomicBool::new(false));
        self.checks().push((name.to_string(), ready.clone()));
        ReadyCheck { ready }
    }

    /// A controller stands by for leadership until the guard is dropped.
    pub fn standby(&self) -> Standby {
        self.inner.standby.fetch_add(1, Ordering::AcqRel);
        Standby {
            health: self.clone(),
        }
    }

    /// Ready: every registered check ready, with at least one controller started or standing
    /// by.
    pub fn ready(&self) -> bool {
        self.not_ready().is_empty()
    }

    /// What keeps it from being ready.
    fn not_ready(&self) -> Vec<String> {
        let checks = self.checks();
        if checks.is_empty() && self.inner.standby.load(Ordering::Acquire) == 0 {
            return vec!["controllers: not started".into()];
        }
        checks
            .iter()
            .filter(|(_, ready)| !ready.load(Ordering::Acquire))
            .map(|(name, _)| format!("{name}: not synced"))
            .collect()
    }

    fn checks(&self) -> std::sync::MutexGuard<'_, Vec<(String, Arc<AtomicBool>)>> {
        self.inner
            .checks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The router of `GET /healthz` and `GET /readyz`.
    pub fn router(&self) -> Router {
        let health = self.clone();
        Router::new()
            .route("/healthz", get(|| async { (StatusCode::OK, "ok") }))
            .route(
                "/readyz",
                get(move || {
                    let health = health.clone();
                    async move {
                        let missing = health.not_ready();
                        if missing.is_empty() {
                            (StatusCode::OK, "ok".to_string())
                        } else {
                            (
                                StatusCode::INTERNAL_SERVER_ERROR,
                                format!("not ready: {}\n", missing.join(", ")),
                            )
                        }
                    }
                }),
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standing_by_is_ready_and_leading_waits_for_the_watches() {
        let health = Health::new();
        let standby = health.standby();
        assert!(health.ready());
        // One controller leads and syncs while another stands by.
        let a = health.check("a");
        assert_eq!(health.not_ready(), ["a: not synced"]);
        a.ready();
        assert!(health.ready());
        drop(standby);
        let b = health.check("b");
        assert_eq!(health.not_ready(), ["b: not synced"]);
        b.ready();
        assert!(health.ready());
    }
}
