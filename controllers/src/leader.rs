//! Leader election on a `coordination.k8s.io/v1` Lease, as controller-runtime does it for
//! Flux's controllers (`--enable-leader-election`): of the replicas of a controller, only the
//! one holding the Lease runs its reconcilers (and, for the source-controller, its artifact
//! server); the others stand by and take over when it stops renewing.
//!
//! - The Lease is `<component>-leader-election` (`source-controller-leader-election`), with
//!   `-<first 8 hex of sha256(selector)>` appended under `--watch-label-selector`, so that
//!   shards do not contend ([`lease_name`]); in `--leader-election-namespace`, else
//!   `RUNTIME_NAMESPACE`, else the pod's namespace, else `flux-system` ([`namespace`]).
//! - Flux's timings: a lease of 35s, renewed every 5s (the retry period); a leader that cannot
//!   renew within 30s (the renew deadline) stops leading ([`Leadership::lost`]) and the
//!   process stops its controllers, as controller-runtime exits.
//! - A candidate creates the Lease when it is absent, and takes it over when its holder let
//!   it expire (`renewTime + leaseDurationSeconds` past; `leaseTransitions` + 1, a new
//!   `acquireTime`). Every write carries the `resourceVersion` read, so of two candidates
//!   writing the same Lease the API server accepts one and refuses the other (409).
//! - On shutdown the leader releases the Lease (no holder, a duration of 1s, client-go's
//!   `ReleaseOnCancel`), so a standby takes over at its next retry instead of after 35s.
//!
//! Expiry is judged on the Lease's `renewTime` against this host's clock, so clocks must
//! agree within the 5s between the renew deadline and the lease duration (client-go instead
//! times from when it saw the record change, which costs a new candidate a full lease
//! duration before a stale Lease can be taken).
//!
//! The holder identity is the host name, `_`, and a random suffix, as controller-runtime's.

use std::hash::{BuildHasher as _, Hasher as _};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Api, PostParams};
use sha2::{Digest as _, Sha256};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where the pod's service account tells its namespace.
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The Lease of `component`'s leader election; with a watch label selector, suffixed with
/// the first 8 hex digits of its SHA-256 (Flux's, so that shards hold different Leases).
///
/// ```
/// use gitops_controllers::leader::lease_name;
/// assert_eq!(lease_name("source-controller", None), "source-controller-leader-election");
/// let shard = lease_name("kustomize-controller", Some("sharding.fluxcd.io/key=shard1"));
/// assert!(shard.starts_with("kustomize-controller-leader-election-"));
/// assert_eq!(shard.len(), "kustomize-controller-leader-election-".len() + 8);
/// ```
pub fn lease_name(component: &str, selector: Option<&str>) -> String {
    let base = format!("{component}-leader-election");
    match selector.filter(|s| !s.is_empty()) {
        Some(selector) => {
            let digest = Sha256::digest(selector.as_bytes());
            let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
            format!("{base}-{hex}")
        }
        None => base,
    }
}

/// The namespace of the Lease: `flag`, else `RUNTIME_NAMESPACE`, else the pod's namespace,
/// else `flux-system`.
pub fn namespace(flag: Option<&str>) -> String {
    flag.filter(|n| !n.is_empty())
        .map(str::to_string)
        .or_else(crate::flags::runtime_namespace)
        .or_else(|| {
            std::fs::read_to_string(POD_NAMESPACE_FILE)
                .ok()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
        })
        .unwrap_or_else(|| "flux-system".into())
}

/// This process's identity as a candidate: the host name, `_`, and a random suffix.
pub fn identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty())
        })
        .unwrap_or_else(|| "localhost".into());
    // std's hasher keys are random per process and per value: 128 random bits, no crate.
    let random = || {
        std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
    };
    format!("{host}_{:016x}{:016x}", random(), random())
}

/// The election of one component.
#[derive(Clone, Debug, PartialEq)]
pub struct LeaseConfig {
    /// The Lease's namespace.
    pub namespace: String,
    /// The Lease's name ([`lease_name`]).
    pub name: String,
    /// This candidate's identity ([`identity`]).
    pub identity: String,
    /// How long a Lease not renewed holds (Flux: 35s).
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it stops leading (Flux: 30s).
    pub renew_deadline: Duration,
    /// How often a candidate tries to acquire, and the leader to renew (Flux: 5s).
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// Flux's election of `component` under `selector`, in `namespace`.
    pub fn new(component: &str, selector: Option<&str>, namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: lease_name(component, selector),
            identity: identity(),
            lease_duration: Duration::from_secs(35),
            renew_deadline: Duration::from_secs(30),
            retry_period: Duration::from_secs(5),
        }
    }
}

/// A Lease request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the Lease failed.
    #[error("cannot read the Lease {namespace}/{name}: {error}")]
    Read {
        /// The Lease's namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API server's answer.
        #[source]
        error: kube::Error,
    },
    /// Writing the Lease failed (other than losing a race for it).
    #[error("cannot write the Lease {namespace}/{name}: {error}")]
    Write {
        /// The Lease's namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The API server's answer.
        #[source]
        error: kube::Error,
    },
}

/// A candidate for one Lease.
#[derive(Clone, Debug)]
pub struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
}

fn now() -> MicroTime {
    MicroTime(jiff::Timestamp::now())
}

fn seconds(d: Duration) -> i32 {
    i32::try_from(d.as_secs()).unwrap_or(i32::MAX)
}

/// A 409: another candidate wrote first (a create of an existing Lease, or a write with a
/// stale resourceVersion). The race is lost, nothing failed.
fn conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

impl Elector {
    /// A candidate for `config`'s Lease.
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    /// The election.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    fn read_error(&self, error: kube::Error) -> Error {
        Error::Read {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            error,
        }
    }

    fn write_error(&self, error: kube::Error) -> Error {
        Error::Write {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            error,
        }
    }

    /// One attempt: true when this candidate holds the Lease afterwards (created, taken over
    /// from an expired holder, or renewed), false when another holds it or won the race.
    pub async fn try_acquire_or_renew(&self) -> Result<bool, Error> {
        let me = &self.config.identity;
        let duration = seconds(self.config.lease_duration);
        let Some(lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.read_error(e))?
        else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me.clone()),
                    lease_duration_seconds: Some(duration),
                    acquire_time: Some(now()),
                    renew_time: Some(now()),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                // Another candidate created it first.
                Err(e) if conflict(&e) => Ok(false),
                Err(e) => Err(self.write_error(e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let ours = holder == *me;
        if !holder.is_empty() && !ours && !expired(&spec) {
            return Ok(false);
        }
        let mut next = spec.clone();
        next.holder_identity = Some(me.clone());
        next.lease_duration_seconds = Some(duration);
        next.renew_time = Some(now());
        if !ours {
            next.acquire_time = Some(now());
            next.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        let mut updated = lease;
        updated.spec = Some(next);
        // `updated` keeps the resourceVersion read: a concurrent write makes this one a 409.
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &updated)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if conflict(&e) => Ok(false),
            Err(e) => Err(self.write_error(e)),
        }
    }

    /// Gives the Lease up if this candidate holds it: no holder, a duration of 1s.
    pub async fn release(&self) -> Result<(), Error> {
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.read_error(e))?
        else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = Some(String::new());
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(now());
        spec.acquire_time = Some(now());
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(()),
            // Someone else wrote it meanwhile: it is not ours to release any more.
            Err(e) if conflict(&e) => Ok(()),
            Err(e) => Err(self.write_error(e)),
        }
    }

    /// Tries every retry period until this candidate leads, then keeps renewing in the
    /// background. `None` when `cancel` fires first.
    pub async fn acquire(&self, cancel: &CancellationToken) -> Option<Leadership> {
        let config = &self.config;
        tracing::info!(lease = %format!("{}/{}", config.namespace, config.name),
                       identity = %config.identity, "attempting to acquire leader lease");
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election"),
            }
            tokio::select! {
                () = cancel.cancelled() => return None,
                () = tokio::time::sleep(config.retry_period) => {}
            }
        }
        tracing::info!(lease = %format!("{}/{}", config.namespace, config.name),
                       identity = %config.identity, "successfully acquired lease");
        let lost = CancellationToken::new();
        let stop = CancellationToken::new();
        let task = tokio::spawn(renew(self.clone(), lost.clone(), stop.clone()));
        Some(Leadership {
            lost,
            stop,
            task: Some(task),
        })
    }
}

/// The Lease expired: `renewTime + leaseDurationSeconds` is past (a Lease never renewed has).
fn expired(spec: &LeaseSpec) -> bool {
    let Some(renewed) = &spec.renew_time else {
        return true;
    };
    let duration =
        jiff::SignedDuration::from_secs(i64::from(spec.lease_duration_seconds.unwrap_or(0)));
    match renewed.0.checked_add(duration) {
        Ok(until) => until <= jiff::Timestamp::now(),
        Err(_) => false,
    }
}

/// Renews every retry period until `stop` (then releases) or until it cannot renew within
/// the renew deadline or another holds the Lease (then `lost`).
async fn renew(elector: Elector, lost: CancellationToken, stop: CancellationToken) {
    let config = elector.config.clone();
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                match elector.release().await {
                    Ok(()) => tracing::info!(lease = %config.name, "released leader lease"),
                    Err(e) => tracing::warn!(error = %e, "cannot release the leader lease"),
                }
                return;
            }
            () = tokio::time::sleep(config.retry_period) => {}
        }
        let left = config.renew_deadline.saturating_sub(renewed.elapsed());
        match tokio::time::timeout(left, elector.try_acquire_or_renew()).await {
            Ok(Ok(true)) => renewed = tokio::time::Instant::now(),
            Ok(Ok(false)) => {
                tracing::error!(lease = %config.name, "leader election lost: another holds the lease");
                lost.cancel();
                return;
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the leader lease"),
            Err(_) => {}
        }
        if renewed.elapsed() >= config.renew_deadline {
            tracing::error!(lease = %config.name, "leader election lost: cannot renew the lease within the renew deadline");
            lost.cancel();
            return;
        }
    }
}

/// Leading: renewed in the background until released or lost.
#[derive(Debug)]
pub struct Leadership {
    lost: CancellationToken,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Leadership {
    /// Completes when leadership is lost; the controllers must stop.
    pub async fn lost(&self) {
        self.lost.cancelled().await;
    }

    /// Whether leadership was lost.
    pub fn is_lost(&self) -> bool {
        self.lost.is_cancelled()
    }

    /// Stops renewing and releases the Lease (unless lost), for a graceful shutdown.
    pub async fn release(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Leadership {
    fn drop(&mut self) {
        // Not released: stop renewing; the Lease expires.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_selector_suffixes_the_lease_with_its_sha256() {
        // `printf %s 'sharding.fluxcd.io/key=shard1' | sha256sum`: 73fdc1be...
        assert_eq!(
            lease_name("source-controller", Some("sharding.fluxcd.io/key=shard1")),
            "source-controller-leader-election-73fdc1be"
        );
        // The main controllers' selector in Flux's sharding guide: 42da7484...
        assert_eq!(
            lease_name("kustomize-controller", Some("!sharding.fluxcd.io/key")),
            "kustomize-controller-leader-election-42da7484"
        );
        assert_eq!(
            lease_name("source-controller", Some("")),
            "source-controller-leader-election"
        );
    }

    #[test]
    fn identities_are_unique_and_carry_the_host() {
        let (a, b) = (identity(), identity());
        assert_ne!(a, b);
        let host = a.rsplit_once('_').map(|(h, _)| h).unwrap_or_default();
        assert!(!host.is_empty(), "{a}");
    }

    #[test]
    fn the_flag_names_the_namespace_first() {
        assert_eq!(namespace(Some("gitops")), "gitops");
    }
}
