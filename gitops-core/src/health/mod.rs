//! Health assessment: whether an applied object has reached the state its spec asks for,
//! computed the way Flux computes it with kstatus (`fluxcd/cli-utils/pkg/kstatus/status`).
//!
//! [`assess`] turns one object, as read back from the cluster, into a [`Health`]: a
//! [`Status`] (`Current`, `InProgress`, `Failed`, …) and a short message. The generic rules
//! come first (deletion, unobserved generation, `Reconciling`/`Stalled` conditions), then a
//! rule per well-known kind (Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod, PVC,
//! Service, CRD, Job, and the always-current kinds), and finally the `Ready` condition for
//! everything else. [`summarize`] folds the results of a health check into what a reconciler
//! reports: whether all objects are current, which failed, and Flux's
//! `timeout waiting for: [...]` / `failed early due to stalled resources: [...]` messages.
//!
//! ```
//! use gitops_core::{health::{self, Status}, Object};
//! let deployment = Object::from_value(serde_json::json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "default", "generation": 2},
//!     "spec": {"replicas": 2, "progressDeadlineSeconds": 600},
//!     "status": {
//!         "observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
//!         "readyReplicas": 2, "availableReplicas": 2,
//!         "conditions": [
//!             {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
//!             {"type": "Available", "status": "True"},
//!         ],
//!     },
//! })).unwrap();
//! let result = health::assess(&deployment, jiff::Timestamp::now());
//! assert_eq!(result.status, Status::Current);
//! assert_eq!(result.message, "Deployment is available. Replicas: 2");
//!
//! let summary = health::summarize(&[(deployment.object_ref(), result)]);
//! assert!(summary.all_current());
//! ```

mod core;
mod summary;
mod workload;

use std::fmt;

use jiff::Timestamp;
use serde_json::Value;

use crate::Object;

pub use summary::{Aggregate, summarize};

/// The kstatus status of an object, printed as kstatus prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// The object has reached the state its spec asks for.
    Current,
    /// The object is still being reconciled by its controller.
    InProgress,
    /// The object's controller reports that it cannot reach the desired state.
    Failed,
    /// The object is being deleted.
    Terminating,
    /// The object does not exist in the cluster.
    NotFound,
    /// The object's status could not be read.
    Unknown,
}

impl Status {
    /// The name kstatus prints, e.g. `InProgress`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Current => "Current",
            Status::InProgress => "InProgress",
            Status::Failed => "Failed",
            Status::Terminating => "Terminating",
            Status::NotFound => "NotFound",
            Status::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of assessing one object: its [`Status`] and a short human-readable reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// The status.
    pub status: Status,
    /// Why, in kstatus's words, e.g. `Available: 1/3`.
    pub message: String,
}

impl Health {
    /// A result from its two parts.
    pub fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// Whether the status is [`Status::Current`].
    pub fn is_current(&self) -> bool {
        self.status == Status::Current
    }

    fn current(message: impl Into<String>) -> Self {
        Self::new(Status::Current, message)
    }

    fn in_progress(message: impl Into<String>) -> Self {
        Self::new(Status::InProgress, message)
    }

    fn failed(message: impl Into<String>) -> Self {
        Self::new(Status::Failed, message)
    }
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

/// Assesses an object as read from the cluster, following kstatus: the generic rules, then
/// the rule for the object's group and kind, then the `Ready` condition.
///
/// `now` is only used for Pods, which kstatus gives 15 seconds to be scheduled before an
/// `Unschedulable` Pod counts as failed. An object whose status has a shape kstatus cannot
/// read (e.g. `status.conditions` that is not a list) is [`Status::Unknown`].
pub fn assess(object: &Object, now: Timestamp) -> Health {
    compute(object, now).unwrap_or_else(|Malformed(message)| Health::new(Status::Unknown, message))
}

/// The health of an object that is not in the cluster: [`Status::NotFound`].
pub fn not_found() -> Health {
    Health::new(Status::NotFound, "Resource not found")
}

/// The health of an object as read from the cluster: [`assess`] when it exists, else
/// [`not_found`].
pub fn of(live: Option<&Object>, now: Timestamp) -> Health {
    live.map_or_else(not_found, |o| assess(o, now))
}

/// The health of an applied object that is no longer in the cluster, given its desired form.
///
/// Flux counts a Job with `spec.ttlSecondsAfterFinished` that vanished as done: the TTL
/// controller only deletes finished Jobs, so waiting for it would time out for nothing.
/// Everything else is [`not_found`].
pub fn assess_missing(desired: &Object) -> Health {
    let is_job = desired.group() == "batch" && desired.kind() == "Job";
    let has_ttl = desired
        .at(&["spec", "ttlSecondsAfterFinished"])
        .is_some_and(|v| !v.is_null());
    if is_job && has_ttl {
        Health::current("Job was deleted after it finished (ttlSecondsAfterFinished)")
    } else {
        not_found()
    }
}

/// An object kstatus cannot read; the string says which field and why.
struct Malformed(String);

/// The result of a rule: a health, or the reason the object could not be read.
type Assessed = Result<Health, Malformed>;

fn compute(object: &Object, now: Timestamp) -> Assessed {
    if let Some(health) = generic(object)? {
        return Ok(health);
    }
    match (object.group(), object.kind()) {
        ("apps" | "extensions", "Deployment") => workload::deployment(object),
        ("apps", "StatefulSet") => workload::stateful_set(object),
        ("apps" | "extensions", "DaemonSet") => workload::daemon_set(object),
        ("apps" | "extensions", "ReplicaSet") => workload::replica_set(object),
        ("batch", "Job") => workload::job(object),
        ("", "Pod") => workload::pod(object, now),
        ("", "PersistentVolumeClaim") => Ok(core::persistent_volume_claim(object)),
        ("", "Service") => Ok(core::service(object)),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            core::custom_resource_definition(object)
        }
        ("", "Secret" | "ConfigMap") | ("batch", "CronJob") | ("policy", "PodDisruptionBudget") => {
            Ok(core::always_current())
        }
        _ => core::ready_condition(object),
    }
}

/// The rules kstatus applies to every object before looking at its kind; `None` when none
/// of them decides.
fn generic(object: &Object) -> Result<Option<Health>, Malformed> {
    if object.is_terminating() {
        return Ok(Some(Health::new(
            Status::Terminating,
            "Resource scheduled for deletion",
        )));
    }
    if let Some(health) = unobserved_generation(object) {
        return Ok(Some(health));
    }
    let conditions = conditions(object)?;
    if let Some(c) = find_true(&conditions, "Reconciling") {
        return Ok(Some(Health::in_progress(
            c.explain("Resource is reconciling"),
        )));
    }
    if let Some(c) = find_true(&conditions, "Stalled") {
        return Ok(Some(Health::failed(c.explain("Resource is stalled"))));
    }
    Ok(None)
}

/// kstatus reason `LatestGenerationNotObserved`: the controller has not yet seen the latest
/// spec, so whatever the status says describes an older one. Objects without
/// `status.observedGeneration` are not checked, since many controllers never set it.
fn unobserved_generation(object: &Object) -> Option<Health> {
    let observed = object.at(&["status", "observedGeneration"])?.as_i64()?;
    // kstatus reads a missing generation as 0, which never matches a set observedGeneration.
    let generation = object.generation().unwrap_or(0);
    (generation != observed).then(|| {
        Health::in_progress(format!(
            "{} generation is {generation}, but latest observed generation is {observed}",
            object.kind()
        ))
    })
}

/// One entry of `status.conditions`, borrowed from the object.
struct Condition<'a> {
    kind: &'a str,
    status: &'a str,
    reason: &'a str,
    message: &'a str,
}

impl Condition<'_> {
    fn is(&self, kind: &str, status: &str) -> bool {
        self.kind == kind && self.status == status
    }

    /// The condition's message, else its reason, else `fallback`: controllers are not
    /// obliged to fill either in.
    fn explain(&self, fallback: &str) -> String {
        [self.message, self.reason]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or(fallback)
            .to_string()
    }
}

/// `status.conditions`, empty when absent. Fields that are not strings read as empty, as in
/// kstatus; a value that is not a list of maps makes the object unreadable.
fn conditions(object: &Object) -> Result<Vec<Condition<'_>>, Malformed> {
    let list = match object.at(&["status", "conditions"]) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(list)) => list,
        Some(_) => return Err(malformed_conditions()),
    };
    list.iter()
        .map(|entry| {
            let entry = entry.as_object().ok_or_else(malformed_conditions)?;
            let field = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or("");
            Ok(Condition {
                kind: field("type"),
                status: field("status"),
                reason: field("reason"),
                message: field("message"),
            })
        })
        .collect()
}

fn malformed_conditions() -> Malformed {
    Malformed("status.conditions must be a list of condition maps".into())
}

/// The first condition of a type, as kstatus looks conditions up.
fn find<'c, 'a>(conditions: &'c [Condition<'a>], kind: &str) -> Option<&'c Condition<'a>> {
    conditions.iter().find(|c| c.kind == kind)
}

/// The condition of a type when its status is `True`.
fn find_true<'c, 'a>(conditions: &'c [Condition<'a>], kind: &str) -> Option<&'c Condition<'a>> {
    find(conditions, kind).filter(|c| c.status == "True")
}

/// An integer field, or `default` when it is missing or not an integer (kstatus's
/// `GetIntField`).
fn int_at(object: &Object, path: &[&str], default: i64) -> i64 {
    object.at(path).and_then(Value::as_i64).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    pub(super) fn object(value: serde_json::Value) -> Object {
        Object::from_value(value).unwrap()
    }

    pub(super) fn now() -> Timestamp {
        "2024-05-01T12:00:00Z".parse().unwrap()
    }

    fn custom(status: serde_json::Value) -> Object {
        object(json!({
            "apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "ns", "generation": 3},
            "status": status,
        }))
    }

    #[test]
    fn status_displays_as_kstatus_prints_it() {
        let all = [
            (Status::Current, "Current"),
            (Status::InProgress, "InProgress"),
            (Status::Failed, "Failed"),
            (Status::Terminating, "Terminating"),
            (Status::NotFound, "NotFound"),
            (Status::Unknown, "Unknown"),
        ];
        for (status, text) in all {
            assert_eq!(status.to_string(), text);
        }
        assert_eq!(
            Health::new(Status::Failed, "boom").to_string(),
            "Failed: boom"
        );
    }

    #[test]
    fn deletion_timestamp_is_terminating_before_anything_else() {
        let obj = object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "deletionTimestamp": "2024-05-01T11:00:00Z"},
        }));
        let health = assess(&obj, now());
        assert_eq!(health.status, Status::Terminating);
        assert_eq!(health.message, "Resource scheduled for deletion");
    }

    #[test]
    fn unobserved_generation_is_in_progress() {
        let obj = custom(json!({
            "observedGeneration": 2,
            "conditions": [{"type": "Ready", "status": "True"}],
        }));
        let health = assess(&obj, now());
        assert_eq!(health.status, Status::InProgress);
        assert_eq!(
            health.message,
            "Widget generation is 3, but latest observed generation is 2"
        );
    }

    #[test]
    fn generation_is_not_checked_without_observed_generation() {
        let obj = custom(json!({"conditions": [{"type": "Ready", "status": "True"}]}));
        assert_eq!(assess(&obj, now()).status, Status::Current);
    }

    #[test]
    fn reconciling_true_is_in_progress_with_its_message() {
        let obj = custom(json!({
            "observedGeneration": 3,
            "conditions": [
                {"type": "Ready", "status": "Unknown"},
                {"type": "Reconciling", "status": "True", "reason": "Progressing",
                 "message": "Fetching manifests"},
            ],
        }));
        let health = assess(&obj, now());
        assert_eq!(health, Health::in_progress("Fetching manifests"));
    }

    #[test]
    fn stalled_true_is_failed() {
        let obj = custom(json!({
            "conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "Stalled", "status": "True", "reason": "InvalidCELExpression"},
            ],
        }));
        let health = assess(&obj, now());
        // Without a message the reason is the best explanation available.
        assert_eq!(health, Health::failed("InvalidCELExpression"));
    }

    #[test]
    fn generic_rules_apply_to_known_kinds_too() {
        let obj = object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "generation": 5},
            "status": {"observedGeneration": 4},
        }));
        let health = assess(&obj, now());
        assert_eq!(health.status, Status::InProgress);
        assert!(health.message.contains("generation is 5"), "{health}");
    }

    #[test]
    fn malformed_conditions_are_unknown() {
        let obj = custom(json!({"conditions": {"type": "Ready"}}));
        let health = assess(&obj, now());
        assert_eq!(health.status, Status::Unknown);
        assert!(health.message.contains("status.conditions"), "{health}");
        let obj = custom(json!({"conditions": ["Ready"]}));
        assert_eq!(assess(&obj, now()).status, Status::Unknown);
    }

    #[test]
    fn not_found_has_kstatus_message() {
        let health = not_found();
        assert_eq!(health.status, Status::NotFound);
        assert_eq!(health.message, "Resource not found");
    }

    #[test]
    fn vanished_job_with_ttl_counts_as_done() {
        let job = object(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "ns"},
            "spec": {"ttlSecondsAfterFinished": 60},
        }));
        assert!(assess_missing(&job).is_current());
        let plain = object(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "ns"},
        }));
        assert_eq!(assess_missing(&plain).status, Status::NotFound);
        let deploy = object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d"}, "spec": {"ttlSecondsAfterFinished": 60},
        }));
        assert_eq!(assess_missing(&deploy).status, Status::NotFound);
    }
}
