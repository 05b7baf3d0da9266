//! Flux's status vocabulary: conditions, their types and reasons, the exact messages Flux
//! writes, and the artifact a source reports.
//!
//! Everything here is data: the reconcilers in [`crate::reconcile`] decide which condition to
//! set, and this module makes sure it is set the way Flux (and kstatus) expects, e.g. that
//! `lastTransitionTime` only moves when the status changes.
//!
//! ```
//! use gitops_core::status::{Conditions, ConditionStatus, condition, reason, message};
//! let now = "2026-01-01T00:00:00Z".parse().unwrap();
//! let rev = "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc".parse().unwrap();
//! let mut conditions = Conditions::default();
//! conditions.set(condition::READY, ConditionStatus::True, reason::RECONCILIATION_SUCCEEDED,
//!     message::applied_revision(&rev), 3, now);
//! assert_eq!(conditions.get(condition::READY).unwrap().message,
//!     "Applied revision: main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Digest, Inventory, Revision};

/// Condition types used by Flux's source and kustomize controllers.
pub mod condition {
    /// The object is reconciled (kstatus "Ready").
    pub const READY: &str = "Ready";
    /// A reconciliation is in progress (kstatus abnormal-true).
    pub const RECONCILING: &str = "Reconciling";
    /// The reconciliation cannot proceed without a change to the object (kstatus abnormal-true).
    pub const STALLED: &str = "Stalled";
    /// The applied objects passed their health checks (Kustomization with wait/healthChecks).
    pub const HEALTHY: &str = "Healthy";
    /// The source has an artifact in storage.
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
    /// The stored artifact is older than the upstream revision (abnormal-true).
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    /// Fetching from the remote failed (abnormal-true).
    pub const FETCH_FAILED: &str = "FetchFailed";
    /// An included repository is unavailable (abnormal-true).
    pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";
    /// A storage operation failed (abnormal-true).
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    /// The commit or tag signature was verified.
    pub const SOURCE_VERIFIED: &str = "SourceVerified";
}

/// Condition reasons used by Flux's source and kustomize controllers.
pub mod reason {
    /// Generic success.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Generic failure.
    pub const FAILED: &str = "Failed";
    /// Work in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// Work in progress after a failed attempt.
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// The object is suspended.
    pub const SUSPENDED: &str = "Suspended";
    /// A Kustomization applied its revision.
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// A Kustomization failed to apply its revision.
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// The source or its artifact could not be obtained.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// Rendering the manifests failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// Health checks failed or timed out.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// A `dependsOn` Kustomization is not ready.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// Garbage collection failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// A cross-namespace reference was refused.
    pub const ACCESS_DENIED: &str = "AccessDenied";
    /// A Git operation succeeded.
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    /// A Git operation failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// Credentials were rejected or missing.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// The URL is not valid.
    pub const URL_INVALID: &str = "URLInvalid";
    /// The artifact could not be archived.
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    /// A new upstream revision was found.
    pub const NEW_REVISION: &str = "NewRevision";
    /// The stored artifact is up to date.
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    /// The spec is invalid; a change to the object is needed.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The spec sets a field this implementation does not act on yet.
    pub const UNSUPPORTED_FIELD: &str = "UnsupportedField";
}

/// The exact messages Flux writes into conditions and events.
pub mod message {
    use std::time::Duration;

    use crate::Revision;
    use crate::schedule::format_duration;

    /// `stored artifact for revision '<rev>'`: GitRepository Ready and ArtifactInStorage.
    pub fn stored_artifact(revision: &Revision) -> String {
        format!("stored artifact for revision '{revision}'")
    }

    /// `Applied revision: <rev>`: Kustomization Ready.
    pub fn applied_revision(revision: &Revision) -> String {
        format!("Applied revision: {revision}")
    }

    /// `Applied revision: <rev>`, followed by the objects a prune guard refused to delete
    /// (`; refused to prune: Namespace/default (namespace default is protected)`), so that
    /// the status says what was left in place and why.
    pub fn applied_revision_refusing(revision: &Revision, refused: &[String]) -> String {
        let applied = applied_revision(revision);
        if refused.is_empty() {
            applied
        } else {
            format!("{applied}; refused to prune: {}", refused.join(", "))
        }
    }

    /// `building artifact: new upstream revision '<rev>'`.
    pub fn building_artifact(revision: &Revision) -> String {
        format!("building artifact: new upstream revision '{revision}'")
    }

    /// `no changes since last reconciliation: observed revision '<rev>'`.
    pub fn no_changes(revision: &Revision) -> String {
        format!("no changes since last reconciliation: observed revision '{revision}'")
    }

    /// `reconciliation in progress`: the source controller's Reconciling message.
    pub const RECONCILIATION_IN_PROGRESS: &str = "reconciliation in progress";

    /// `Reconciliation in progress`: the kustomize controller's Ready=Unknown message.
    pub const KUSTOMIZATION_IN_PROGRESS: &str = "Reconciliation in progress";

    /// `Fetching manifests for revision <rev> with a timeout of <t>`.
    pub fn fetching_manifests(revision: &Revision, timeout: Duration) -> String {
        format!(
            "Fetching manifests for revision {revision} with a timeout of {}",
            format_duration(timeout)
        )
    }

    /// `Building manifests for revision <rev> with a timeout of <t>`.
    pub fn building_manifests(revision: &Revision, timeout: Duration) -> String {
        format!(
            "Building manifests for revision {revision} with a timeout of {}",
            format_duration(timeout)
        )
    }

    /// `Detecting drift for revision <rev> with a timeout of <t>`.
    pub fn detecting_drift(revision: &Revision, timeout: Duration) -> String {
        format!(
            "Detecting drift for revision {revision} with a timeout of {}",
            format_duration(timeout)
        )
    }

    /// `Running health checks for revision <rev> with a timeout of <t>`.
    pub fn running_health_checks(revision: &Revision, timeout: Duration) -> String {
        format!(
            "Running health checks for revision {revision} with a timeout of {}",
            format_duration(timeout)
        )
    }

    /// `Health check passed in <d>`.
    pub fn health_check_passed(elapsed: Duration) -> String {
        format!("Health check passed in {}", format_duration(elapsed))
    }

    /// `health check failed after <d>: timeout waiting for: [<objects>]`.
    pub fn health_check_timeout(elapsed: Duration, pending: &str) -> String {
        format!(
            "health check failed after {}: timeout waiting for: {pending}",
            format_duration(elapsed)
        )
    }

    /// `health check failed after <d>: failed early due to stalled resources: [<objects>]`.
    pub fn health_check_stalled(elapsed: Duration, failed: &str) -> String {
        format!(
            "health check failed after {}: failed early due to stalled resources: {failed}",
            format_duration(elapsed)
        )
    }

    /// `Source artifact not found, retrying in <d>`.
    pub fn source_artifact_not_found(retry: Duration) -> String {
        format!(
            "Source artifact not found, retrying in {}",
            format_duration(retry)
        )
    }

    /// `dependency '<ns>/<name>' is not ready`.
    pub fn dependency_not_ready(namespace: &str, name: &str) -> String {
        format!("dependency '{namespace}/{name}' is not ready")
    }

    /// `dependency '<ns>/<name>' revision is not up to date`.
    pub fn dependency_not_up_to_date(namespace: &str, name: &str) -> String {
        format!("dependency '{namespace}/{name}' revision is not up to date")
    }

    /// `unable to get '<ns>/<name>' dependency: <error>` (Flux's not-found form).
    pub fn dependency_not_found(namespace: &str, name: &str, error: &str) -> String {
        format!("dependency '{namespace}/{name}' not found: {error}")
    }

    /// `Dependencies do not meet ready condition, retrying in <d>` (event).
    pub fn dependencies_not_ready_event(retry: Duration) -> String {
        format!(
            "Dependencies do not meet ready condition, retrying in {}",
            format_duration(retry)
        )
    }

    /// `kustomize build failed: <error>`.
    pub fn build_failed(error: &str) -> String {
        format!("kustomize build failed: {error}")
    }

    /// `Reconciliation finished in <d>, next run in <interval>` (event).
    pub fn reconciliation_finished(elapsed: Duration, next: Duration) -> String {
        format!(
            "Reconciliation finished in {}, next run in {}",
            format_duration(elapsed),
            format_duration(next)
        )
    }
}

/// A condition's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet.
    Unknown,
}

impl fmt::Display for ConditionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        })
    }
}

/// A `metav1.Condition`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition type, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// The generation this condition was computed for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When `status` last changed.
    pub last_transition_time: Timestamp,
    /// A CamelCase reason.
    pub reason: String,
    /// A human-readable message.
    pub message: String,
}

/// A list of conditions with Flux's update rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Conditions(pub Vec<Condition>);

impl Conditions {
    /// The condition of a type, if present.
    pub fn get(&self, type_: &str) -> Option<&Condition> {
        self.0.iter().find(|c| c.type_ == type_)
    }

    /// Whether a condition is present with status `True`.
    pub fn is_true(&self, type_: &str) -> bool {
        self.get(type_)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// Sets a condition. `lastTransitionTime` is kept when the status does not change, as
    /// `meta.SetStatusCondition` does.
    pub fn set(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: impl Into<String>,
        generation: i64,
        now: Timestamp,
    ) {
        let message = message.into();
        if let Some(c) = self.0.iter_mut().find(|c| c.type_ == type_) {
            if c.status != status {
                c.last_transition_time = now;
            }
            c.status = status;
            c.reason = reason.into();
            c.message = message;
            c.observed_generation = Some(generation);
            return;
        }
        self.0.push(Condition {
            type_: type_.into(),
            status,
            observed_generation: Some(generation),
            last_transition_time: now,
            reason: reason.into(),
            message,
        });
        // Flux keeps Ready first, then the kstatus conditions, then the rest.
        self.0.sort_by_key(|c| rank(&c.type_));
    }

    /// Removes a condition.
    pub fn remove(&mut self, type_: &str) {
        self.0.retain(|c| c.type_ != type_);
    }
}

fn rank(type_: &str) -> u8 {
    match type_ {
        condition::READY => 0,
        condition::RECONCILING => 1,
        condition::STALLED => 2,
        _ => 3,
    }
}

/// A source artifact, as stored in `status.artifact` (`meta.Artifact`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Path relative to the storage root, e.g. `gitrepository/<ns>/<name>/<hex>.tar.gz`.
    pub path: String,
    /// Where consumers download it from.
    pub url: String,
    /// The source revision it holds.
    pub revision: Revision,
    /// The digest of the tar.gz bytes.
    pub digest: Digest,
    /// When it was produced.
    pub last_update_time: Timestamp,
    /// Its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// `status` of a GitRepository.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// The last generation reconciled; -1 before the first reconciliation.
    #[serde(default = "minus_one")]
    pub observed_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "is_empty_conditions")]
    pub conditions: Conditions,
    /// The stored artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// `spec.ignore` of the stored artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl Default for GitRepositoryStatus {
    fn default() -> Self {
        Self {
            observed_generation: -1,
            conditions: Conditions::default(),
            artifact: None,
            observed_ignore: None,
            last_handled_reconcile_at: None,
        }
    }
}

/// `status` of a Kustomization.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// The last generation reconciled successfully; -1 before.
    #[serde(default = "minus_one")]
    pub observed_generation: i64,
    /// Conditions.
    #[serde(default, skip_serializing_if = "is_empty_conditions")]
    pub conditions: Conditions,
    /// The last source revision applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<Revision>,
    /// The last source revision an apply was attempted for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<Revision>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The objects applied by the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
}

impl Default for KustomizationStatus {
    fn default() -> Self {
        Self {
            observed_generation: -1,
            conditions: Conditions::default(),
            last_applied_revision: None,
            last_attempted_revision: None,
            last_handled_reconcile_at: None,
            inventory: None,
        }
    }
}

fn minus_one() -> i64 {
    -1
}

fn is_empty_conditions(c: &Conditions) -> bool {
    c.0.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let mut c = Conditions::default();
        c.set(
            condition::READY,
            ConditionStatus::Unknown,
            reason::PROGRESSING,
            "a",
            1,
            t("2026-01-01T00:00:00Z"),
        );
        c.set(
            condition::READY,
            ConditionStatus::Unknown,
            reason::PROGRESSING,
            "b",
            1,
            t("2026-01-01T00:01:00Z"),
        );
        let ready = c.get(condition::READY).unwrap();
        assert_eq!(ready.last_transition_time, t("2026-01-01T00:00:00Z"));
        assert_eq!(ready.message, "b");
        c.set(
            condition::READY,
            ConditionStatus::True,
            reason::SUCCEEDED,
            "c",
            2,
            t("2026-01-01T00:02:00Z"),
        );
        let ready = c.get(condition::READY).unwrap();
        assert_eq!(ready.last_transition_time, t("2026-01-01T00:02:00Z"));
        assert_eq!(ready.observed_generation, Some(2));
        assert!(c.is_true(condition::READY));
    }

    #[test]
    fn ready_sorts_first_and_remove_works() {
        let mut c = Conditions::default();
        let now = t("2026-01-01T00:00:00Z");
        c.set(
            condition::ARTIFACT_IN_STORAGE,
            ConditionStatus::True,
            reason::SUCCEEDED,
            "",
            1,
            now,
        );
        c.set(
            condition::RECONCILING,
            ConditionStatus::True,
            reason::PROGRESSING,
            "",
            1,
            now,
        );
        c.set(
            condition::READY,
            ConditionStatus::Unknown,
            reason::PROGRESSING,
            "",
            1,
            now,
        );
        let types: Vec<_> = c.0.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "Reconciling", "ArtifactInStorage"]);
        c.remove(condition::RECONCILING);
        assert!(c.get(condition::RECONCILING).is_none());
    }

    #[test]
    fn flux_messages_verbatim() {
        let rev: Revision = "main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc"
            .parse()
            .unwrap();
        assert_eq!(
            message::stored_artifact(&rev),
            "stored artifact for revision 'main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc'"
        );
        assert_eq!(
            message::applied_revision(&rev),
            "Applied revision: main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc"
        );
        assert_eq!(
            message::fetching_manifests(&rev, std::time::Duration::from_secs(270)),
            "Fetching manifests for revision main@sha1:132f4e719209eb10b9485302f8593fc0e680f4fc with a timeout of 4m30s"
        );
        assert_eq!(
            message::health_check_timeout(
                std::time::Duration::from_secs(30),
                "[Deployment/default/web status: 'InProgress']"
            ),
            "health check failed after 30s: timeout waiting for: [Deployment/default/web status: 'InProgress']"
        );
        assert_eq!(
            message::source_artifact_not_found(std::time::Duration::from_secs(30)),
            "Source artifact not found, retrying in 30s"
        );
    }

    #[test]
    fn status_serialises_like_flux() {
        let s = KustomizationStatus::default();
        assert_eq!(
            serde_json::to_value(&s).unwrap(),
            serde_json::json!({"observedGeneration": -1})
        );
        let parsed: GitRepositoryStatus = serde_json::from_value(serde_json::json!({})).unwrap();
        assert_eq!(parsed.observed_generation, -1);
        let c = Condition {
            type_: "Ready".into(),
            status: ConditionStatus::True,
            observed_generation: Some(1),
            last_transition_time: t("2026-01-01T00:00:00Z"),
            reason: "Succeeded".into(),
            message: "m".into(),
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"type": "Ready", "status": "True", "observedGeneration": 1,
                "lastTransitionTime": "2026-01-01T00:00:00Z", "reason": "Succeeded", "message": "m"})
        );
    }
}
