//! Rules for the workload kinds: Deployment, StatefulSet, DaemonSet, ReplicaSet, Pod and
//! Job. Replica counts missing from the status read as 0 and `spec.replicas` defaults to 1,
//! as the Kubernetes controllers do.

use jiff::{SignedDuration, Timestamp};

use super::{Assessed, Health, Malformed, conditions, find, find_true, int_at};
use crate::Object;

/// How long kstatus lets a Pod stay `Unschedulable` before calling it failed: the scheduler
/// often needs a moment (e.g. for a cluster autoscaler) before a Pod fits.
const SCHEDULE_WINDOW: SignedDuration = SignedDuration::from_secs(15);

fn spec_replicas(object: &Object) -> i64 {
    int_at(object, &["spec", "replicas"], 1)
}

fn status_count(object: &Object, field: &str) -> i64 {
    int_at(object, &["status", field], 0)
}

/// The first of `checks` whose `have < want`, as `Label: have/want`; kstatus reports only
/// the first shortfall so the message stays short.
fn first_shortfall(checks: &[(&str, i64, i64)]) -> Option<Health> {
    checks
        .iter()
        .find(|(_, have, want)| have < want)
        .map(|(label, have, want)| Health::in_progress(format!("{label}: {have}/{want}")))
}

/// Pods above the desired count are still to be terminated by a scale-down or rollout.
fn extra_pods(replicas: i64, wanted: i64) -> Option<Health> {
    (replicas > wanted)
        .then(|| Health::in_progress(format!("Pending termination: {}", replicas - wanted)))
}

/// Deployment: failed once its progress deadline is exceeded, in progress until every
/// replica is updated, available and ready and the controller reports the new ReplicaSet
/// available.
pub(super) fn deployment(object: &Object) -> Assessed {
    let conditions = conditions(object)?;
    if let Some(c) = conditions
        .iter()
        .find(|c| c.kind == "Progressing" && c.reason == "ProgressDeadlineExceeded")
    {
        let detail = if c.message.is_empty() {
            String::new()
        } else {
            format!(": {}", c.message)
        };
        return Ok(Health::failed(format!(
            "Progress deadline exceeded{detail}"
        )));
    }
    let spec = spec_replicas(object);
    let replicas = status_count(object, "replicas");
    let updated = status_count(object, "updatedReplicas");
    let ready = status_count(object, "readyReplicas");
    let available = status_count(object, "availableReplicas");
    if let Some(h) = first_shortfall(&[("Replicas", replicas, spec), ("Updated", updated, spec)])
        .or_else(|| extra_pods(replicas, spec))
        .or_else(|| first_shortfall(&[("Available", available, updated), ("Ready", ready, spec)]))
    {
        return Ok(h);
    }
    // Without a progress deadline the controller never sets `Progressing`, so it cannot be
    // waited for.
    let has_deadline = object
        .at(&["spec", "progressDeadlineSeconds"])
        .is_some_and(|v| !v.is_null());
    let progressed = conditions
        .iter()
        .any(|c| c.is("Progressing", "True") && c.reason == "NewReplicaSetAvailable");
    if has_deadline && !progressed {
        return Ok(Health::in_progress("ReplicaSet not Available"));
    }
    if find_true(&conditions, "Available").is_none() {
        return Ok(Health::in_progress("Deployment not Available"));
    }
    Ok(Health::current(format!(
        "Deployment is available. Replicas: {replicas}"
    )))
}

/// StatefulSet: `OnDelete` is user-managed and always current; otherwise every replica
/// must be ready and, with a partition, the partitioned part updated, else every replica
/// current on the update revision.
pub(super) fn stateful_set(object: &Object) -> Assessed {
    if object.str_at(&["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Ok(Health::current(
            "StatefulSet is using the ondelete update strategy",
        ));
    }
    let spec = spec_replicas(object);
    let replicas = status_count(object, "replicas");
    let ready = status_count(object, "readyReplicas");
    if let Some(h) = first_shortfall(&[("Replicas", replicas, spec), ("Ready", ready, spec)])
        .or_else(|| extra_pods(replicas, spec))
    {
        return Ok(h);
    }
    let updated = status_count(object, "updatedReplicas");
    if let Some(partition) = object
        .at(&["spec", "updateStrategy", "rollingUpdate", "partition"])
        .and_then(serde_json::Value::as_i64)
    {
        // Pods below the partition ordinal keep the old revision on purpose.
        let wanted = spec - partition;
        if updated < wanted {
            return Ok(Health::in_progress(format!("updated: {updated}/{wanted}")));
        }
        return Ok(Health::current(format!(
            "Partitioned roll out complete. updated: {updated}"
        )));
    }
    let current = status_count(object, "currentReplicas");
    if current < spec {
        return Ok(Health::in_progress(format!("current: {current}/{spec}")));
    }
    let current_revision = object.str_at(&["status", "currentRevision"]).unwrap_or("");
    let update_revision = object.str_at(&["status", "updateRevision"]).unwrap_or("");
    if current_revision != update_revision {
        return Ok(Health::in_progress(
            "Waiting for updated revision to match current",
        ));
    }
    Ok(Health::current(format!(
        "All replicas scheduled as expected. Replicas: {replicas}"
    )))
}

/// DaemonSet: the controller always sets the generations once it has acted, so unlike the
/// generic rule their absence means "not yet seen"; then every scheduled pod must be
/// current, updated, available and ready.
pub(super) fn daemon_set(object: &Object) -> Assessed {
    let kind = object.kind();
    if object.generation().is_none() {
        return Ok(Health::in_progress(format!(
            "{kind} metadata.generation not found"
        )));
    }
    if object.at(&["status", "observedGeneration"]).is_none() {
        return Ok(Health::in_progress(format!(
            "{kind} status.observedGeneration not found"
        )));
    }
    let Some(desired) = object
        .at(&["status", "desiredNumberScheduled"])
        .and_then(serde_json::Value::as_i64)
    else {
        return Ok(Health::in_progress(
            "Missing .status.desiredNumberScheduled",
        ));
    };
    let checks = [
        ("Current", status_count(object, "currentNumberScheduled")),
        ("Updated", status_count(object, "updatedNumberScheduled")),
        ("Available", status_count(object, "numberAvailable")),
        ("Ready", status_count(object, "numberReady")),
    ]
    .map(|(label, have)| (label, have, desired));
    Ok(first_shortfall(&checks).unwrap_or_else(|| {
        Health::current(format!(
            "All replicas scheduled as expected. Replicas: {desired}"
        ))
    }))
}

/// ReplicaSet: a `ReplicaFailure` (e.g. quota exceeded) keeps it in progress, as the
/// controller retries; otherwise every replica must be labelled, available and ready.
pub(super) fn replica_set(object: &Object) -> Assessed {
    if find_true(&conditions(object)?, "ReplicaFailure").is_some() {
        return Ok(Health::in_progress("Replica Failure condition. Check Pods"));
    }
    let spec = spec_replicas(object);
    let replicas = status_count(object, "replicas");
    let checks = [
        (
            "Labelled",
            status_count(object, "fullyLabeledReplicas"),
            spec,
        ),
        ("Available", status_count(object, "availableReplicas"), spec),
        ("Ready", status_count(object, "readyReplicas"), spec),
    ];
    Ok(first_shortfall(&checks)
        .or_else(|| extra_pods(replicas, spec))
        .unwrap_or_else(|| {
            Health::current(format!("ReplicaSet is available. Replicas: {replicas}"))
        }))
}

/// Pod: a finished Pod is current whatever its outcome (kstatus waits for completion, not
/// success); a running one must be Ready and fails when a container crash-loops; a pending
/// one fails when it stays unschedulable past [`SCHEDULE_WINDOW`].
pub(super) fn pod(object: &Object, now: Timestamp) -> Assessed {
    match object.str_at(&["status", "phase"]).unwrap_or("") {
        "Succeeded" => Ok(Health::current("Pod has completed successfully")),
        "Failed" => Ok(Health::current("Pod has completed, but not successfully")),
        "Running" => running_pod(object),
        "Pending" => pending_pod(object, now),
        _ => Ok(Health::in_progress("Pod phase not available")),
    }
}

fn running_pod(object: &Object) -> Assessed {
    if find_true(&conditions(object)?, "Ready").is_some() {
        return Ok(Health::current("Pod is Ready"));
    }
    let crash_looping = crash_looping_containers(object);
    if !crash_looping.is_empty() {
        return Ok(Health::failed(format!(
            "Containers in CrashLoop state: {}",
            crash_looping.join(",")
        )));
    }
    Ok(Health::in_progress("Pod is running but is not Ready"))
}

/// Names of the containers waiting in `CrashLoopBackOff`.
fn crash_looping_containers(object: &Object) -> Vec<&str> {
    let Some(statuses) = object
        .at(&["status", "containerStatuses"])
        .and_then(serde_json::Value::as_array)
    else {
        return Vec::new();
    };
    statuses
        .iter()
        .filter(|s| {
            s.pointer("/state/waiting/reason")
                .and_then(serde_json::Value::as_str)
                == Some("CrashLoopBackOff")
        })
        .map(|s| {
            s.get("name")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("")
        })
        .collect()
}

fn pending_pod(object: &Object, now: Timestamp) -> Assessed {
    let conditions = conditions(object)?;
    let unschedulable = find(&conditions, "PodScheduled")
        .is_some_and(|c| c.status == "False" && c.reason == "Unschedulable");
    if !unschedulable {
        return Ok(Health::in_progress("Pod is in the Pending phase"));
    }
    if now.duration_since(creation_timestamp(object)?) > SCHEDULE_WINDOW {
        return Ok(Health::failed("Pod could not be scheduled"));
    }
    Ok(Health::in_progress("Pod has not been scheduled"))
}

fn creation_timestamp(object: &Object) -> Result<Timestamp, Malformed> {
    let raw = object
        .str_at(&["metadata", "creationTimestamp"])
        .ok_or_else(|| Malformed("metadata.creationTimestamp is missing".into()))?;
    raw.parse().map_err(|err| {
        Malformed(format!(
            "metadata.creationTimestamp '{raw}' is not an RFC 3339 time: {err}"
        ))
    })
}

/// Job, with Flux's reader rather than kstatus's: only completion counts, so that a
/// health check waits for a Job to finish instead of merely start.
pub(super) fn job(object: &Object) -> Assessed {
    let parallelism = int_at(object, &["spec", "parallelism"], 1);
    let completions = int_at(object, &["spec", "completions"], parallelism);
    let conditions = conditions(object)?;
    if find_true(&conditions, "Complete").is_some() {
        let succeeded = status_count(object, "succeeded");
        return Ok(Health::current(format!(
            "Job Completed. succeeded: {succeeded}/{completions}"
        )));
    }
    if find_true(&conditions, "Failed").is_some() {
        let failed = status_count(object, "failed");
        return Ok(Health::failed(format!(
            "Job Failed. failed: {failed}/{completions}"
        )));
    }
    // A suspended Job runs nothing until resumed; waiting for it would only time out.
    let suspended = object
        .at(&["spec", "suspend"])
        .and_then(serde_json::Value::as_bool);
    if suspended == Some(true) || find_true(&conditions, "Suspended").is_some() {
        return Ok(Health::current("Job is suspended"));
    }
    Ok(Health::in_progress("Job in progress"))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{now, object};
    use super::super::{Status, assess};
    use super::*;
    use serde_json::{Value, json};

    fn deployment_with(spec: Value, status: Value) -> Object {
        object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "generation": 1},
            "spec": spec, "status": status,
        }))
    }

    fn healthy_deployment_status() -> Value {
        json!({
            "observedGeneration": 1, "replicas": 3, "updatedReplicas": 3,
            "readyReplicas": 3, "availableReplicas": 3,
            "conditions": [
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            ],
        })
    }

    #[test]
    fn deployment_current_when_rolled_out() {
        let obj = deployment_with(
            json!({"replicas": 3, "progressDeadlineSeconds": 600}),
            healthy_deployment_status(),
        );
        assert_eq!(
            assess(&obj, now()),
            Health::current("Deployment is available. Replicas: 3")
        );
    }

    #[test]
    fn deployment_in_progress_reports_first_shortfall() {
        let spec = json!({"replicas": 3, "progressDeadlineSeconds": 600});
        let cases = [
            (json!({"replicas": 1}), "Replicas: 1/3"),
            (json!({"replicas": 3, "updatedReplicas": 2}), "Updated: 2/3"),
            (
                json!({"replicas": 4, "updatedReplicas": 3}),
                "Pending termination: 1",
            ),
            (
                json!({"replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}),
                "Available: 1/3",
            ),
            (
                json!({"replicas": 3, "updatedReplicas": 3, "availableReplicas": 3,
                       "readyReplicas": 2}),
                "Ready: 2/3",
            ),
        ];
        for (status, message) in cases {
            let health = assess(&deployment_with(spec.clone(), status), now());
            assert_eq!(health, Health::in_progress(message));
        }
    }

    #[test]
    fn deployment_waits_for_progressing_and_available_conditions() {
        let counts = json!({"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                            "availableReplicas": 1});
        let with_deadline = json!({"progressDeadlineSeconds": 600});
        let health = assess(&deployment_with(with_deadline, counts.clone()), now());
        assert_eq!(health, Health::in_progress("ReplicaSet not Available"));
        // No deadline: Progressing is never set, so only Available is waited for.
        let health = assess(&deployment_with(json!({}), counts), now());
        assert_eq!(health, Health::in_progress("Deployment not Available"));
    }

    #[test]
    fn deployment_spec_replicas_defaults_to_one() {
        let status = json!({"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1,
                            "availableReplicas": 1,
                            "conditions": [{"type": "Available", "status": "True"}]});
        let health = assess(&deployment_with(json!({}), status), now());
        assert_eq!(
            health,
            Health::current("Deployment is available. Replicas: 1")
        );
    }

    #[test]
    fn deployment_failed_on_progress_deadline() {
        let mut status = healthy_deployment_status();
        status["conditions"] = json!([{
            "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"web-1\" has timed out progressing.",
        }]);
        let health = assess(&deployment_with(json!({"replicas": 3}), status), now());
        assert_eq!(health.status, Status::Failed);
        assert_eq!(
            health.message,
            "Progress deadline exceeded: ReplicaSet \"web-1\" has timed out progressing."
        );
    }

    #[test]
    fn deployment_under_extensions_group_uses_the_same_rule() {
        let obj = object(json!({
            "apiVersion": "extensions/v1beta1", "kind": "Deployment",
            "metadata": {"name": "old"}, "spec": {"replicas": 2},
            "status": {"replicas": 1},
        }));
        assert_eq!(assess(&obj, now()), Health::in_progress("Replicas: 1/2"));
    }

    fn stateful_set_with(spec: Value, status: Value) -> Object {
        object(json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "db", "namespace": "ns"},
            "spec": spec, "status": status,
        }))
    }

    #[test]
    fn stateful_set_current_when_revisions_match() {
        let obj = stateful_set_with(
            json!({"replicas": 2}),
            json!({"replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                   "updatedReplicas": 2, "currentRevision": "db-1", "updateRevision": "db-1"}),
        );
        assert_eq!(
            assess(&obj, now()),
            Health::current("All replicas scheduled as expected. Replicas: 2")
        );
    }

    #[test]
    fn stateful_set_in_progress_cases() {
        let spec = json!({"replicas": 2});
        let cases = [
            (json!({"replicas": 1}), "Replicas: 1/2"),
            (json!({"replicas": 2, "readyReplicas": 1}), "Ready: 1/2"),
            (
                json!({"replicas": 3, "readyReplicas": 3}),
                "Pending termination: 1",
            ),
            (
                json!({"replicas": 2, "readyReplicas": 2, "currentReplicas": 1}),
                "current: 1/2",
            ),
            (
                json!({"replicas": 2, "readyReplicas": 2, "currentReplicas": 2,
                       "currentRevision": "db-1", "updateRevision": "db-2"}),
                "Waiting for updated revision to match current",
            ),
        ];
        for (status, message) in cases {
            let health = assess(&stateful_set_with(spec.clone(), status), now());
            assert_eq!(health, Health::in_progress(message));
        }
    }

    #[test]
    fn stateful_set_partition_only_waits_for_the_partitioned_part() {
        let spec = json!({"replicas": 4,
                          "updateStrategy": {"type": "RollingUpdate",
                                             "rollingUpdate": {"partition": 3}}});
        let counts = |updated: i64| {
            json!({"replicas": 4, "readyReplicas": 4, "currentReplicas": 3,
                   "updatedReplicas": updated,
                   "currentRevision": "db-1", "updateRevision": "db-2"})
        };
        let health = assess(&stateful_set_with(spec.clone(), counts(0)), now());
        assert_eq!(health, Health::in_progress("updated: 0/1"));
        let health = assess(&stateful_set_with(spec, counts(1)), now());
        assert_eq!(
            health,
            Health::current("Partitioned roll out complete. updated: 1")
        );
    }

    #[test]
    fn stateful_set_on_delete_is_current() {
        let obj = stateful_set_with(
            json!({"replicas": 3, "updateStrategy": {"type": "OnDelete"}}),
            json!({"replicas": 0}),
        );
        assert!(assess(&obj, now()).is_current());
    }

    fn daemon_set_with(metadata: Value, status: Value) -> Object {
        object(json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": metadata, "status": status,
        }))
    }

    #[test]
    fn daemon_set_current_when_all_scheduled() {
        let obj = daemon_set_with(
            json!({"name": "agent", "generation": 2}),
            json!({"observedGeneration": 2, "desiredNumberScheduled": 3,
                   "currentNumberScheduled": 3, "updatedNumberScheduled": 3,
                   "numberAvailable": 3, "numberReady": 3}),
        );
        assert_eq!(
            assess(&obj, now()),
            Health::current("All replicas scheduled as expected. Replicas: 3")
        );
    }

    #[test]
    fn daemon_set_in_progress_cases() {
        let meta = json!({"name": "agent", "generation": 2});
        let cases = [
            (
                json!({"desiredNumberScheduled": 1}),
                "DaemonSet status.observedGeneration not found",
            ),
            (
                json!({"observedGeneration": 2}),
                "Missing .status.desiredNumberScheduled",
            ),
            (
                json!({"observedGeneration": 2, "desiredNumberScheduled": 3,
                       "currentNumberScheduled": 2}),
                "Current: 2/3",
            ),
            (
                json!({"observedGeneration": 2, "desiredNumberScheduled": 3,
                       "currentNumberScheduled": 3, "updatedNumberScheduled": 3,
                       "numberAvailable": 1}),
                "Available: 1/3",
            ),
            (
                json!({"observedGeneration": 2, "desiredNumberScheduled": 3,
                       "currentNumberScheduled": 3, "updatedNumberScheduled": 3,
                       "numberAvailable": 3, "numberReady": 2}),
                "Ready: 2/3",
            ),
        ];
        for (status, message) in cases {
            let health = assess(&daemon_set_with(meta.clone(), status), now());
            assert_eq!(health, Health::in_progress(message));
        }
        let no_generation = daemon_set_with(json!({"name": "agent"}), json!({}));
        assert_eq!(
            assess(&no_generation, now()),
            Health::in_progress("DaemonSet metadata.generation not found")
        );
    }

    fn replica_set_with(status: Value) -> Object {
        object(json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-1", "namespace": "ns"},
            "spec": {"replicas": 2}, "status": status,
        }))
    }

    #[test]
    fn replica_set_current_when_available() {
        let obj = replica_set_with(json!({"replicas": 2, "fullyLabeledReplicas": 2,
                                          "availableReplicas": 2, "readyReplicas": 2}));
        assert_eq!(
            assess(&obj, now()),
            Health::current("ReplicaSet is available. Replicas: 2")
        );
    }

    #[test]
    fn replica_set_in_progress_cases() {
        let cases = [
            (
                json!({"replicas": 2, "fullyLabeledReplicas": 2, "availableReplicas": 2,
                       "readyReplicas": 2,
                       "conditions": [{"type": "ReplicaFailure", "status": "True",
                                       "reason": "FailedCreate"}]}),
                "Replica Failure condition. Check Pods",
            ),
            (json!({"fullyLabeledReplicas": 1}), "Labelled: 1/2"),
            (
                json!({"fullyLabeledReplicas": 2, "availableReplicas": 1}),
                "Available: 1/2",
            ),
            (
                json!({"fullyLabeledReplicas": 2, "availableReplicas": 2, "readyReplicas": 1}),
                "Ready: 1/2",
            ),
            (
                json!({"replicas": 3, "fullyLabeledReplicas": 2, "availableReplicas": 2,
                       "readyReplicas": 2}),
                "Pending termination: 1",
            ),
        ];
        for (status, message) in cases {
            assert_eq!(
                assess(&replica_set_with(status), now()),
                Health::in_progress(message)
            );
        }
    }

    fn pod_with(status: Value) -> Object {
        object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "ns",
                         "creationTimestamp": "2024-05-01T11:59:50Z"},
            "status": status,
        }))
    }

    #[test]
    fn pod_completed_is_current_whatever_the_outcome() {
        let health = assess(&pod_with(json!({"phase": "Succeeded"})), now());
        assert_eq!(health, Health::current("Pod has completed successfully"));
        let health = assess(&pod_with(json!({"phase": "Failed"})), now());
        assert_eq!(
            health,
            Health::current("Pod has completed, but not successfully")
        );
    }

    #[test]
    fn pod_running_and_ready_is_current() {
        let obj = pod_with(json!({"phase": "Running",
                                  "conditions": [{"type": "Ready", "status": "True"}]}));
        assert_eq!(assess(&obj, now()), Health::current("Pod is Ready"));
    }

    #[test]
    fn pod_running_not_ready_is_in_progress() {
        let obj = pod_with(json!({"phase": "Running",
                                  "conditions": [{"type": "Ready", "status": "False"}],
                                  "containerStatuses": [{"name": "app",
                                      "state": {"running": {}}}]}));
        assert_eq!(
            assess(&obj, now()),
            Health::in_progress("Pod is running but is not Ready")
        );
    }

    #[test]
    fn pod_crash_looping_is_failed() {
        let obj = pod_with(json!({"phase": "Running",
        "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
            {"name": "sidecar", "state": {"running": {}}},
            {"name": "init", "state": {"waiting": {"reason": "CrashLoopBackOff"}}},
        ]}));
        assert_eq!(
            assess(&obj, now()),
            Health::failed("Containers in CrashLoop state: app,init")
        );
    }

    #[test]
    fn pod_unschedulable_fails_after_fifteen_seconds() {
        let obj = pod_with(json!({"phase": "Pending",
            "conditions": [{"type": "PodScheduled", "status": "False",
                            "reason": "Unschedulable"}]}));
        // Created at 11:59:50, so 10 seconds old at `now()`.
        assert_eq!(
            assess(&obj, now()),
            Health::in_progress("Pod has not been scheduled")
        );
        let later = now() + SignedDuration::from_secs(6);
        assert_eq!(
            assess(&obj, later),
            Health::failed("Pod could not be scheduled")
        );
    }

    #[test]
    fn pod_pending_or_without_phase_is_in_progress() {
        let pending = pod_with(json!({"phase": "Pending"}));
        assert_eq!(
            assess(&pending, now()),
            Health::in_progress("Pod is in the Pending phase")
        );
        let fresh = pod_with(json!({}));
        assert_eq!(
            assess(&fresh, now()),
            Health::in_progress("Pod phase not available")
        );
    }

    #[test]
    fn pod_unschedulable_with_bad_creation_timestamp_is_unknown() {
        let obj = object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "creationTimestamp": "yesterday"},
            "status": {"phase": "Pending",
                       "conditions": [{"type": "PodScheduled", "status": "False",
                                       "reason": "Unschedulable"}]},
        }));
        let health = assess(&obj, now());
        assert_eq!(health.status, Status::Unknown);
        assert!(health.message.contains("'yesterday'"), "{health}");
    }

    fn job_with(spec: Value, status: Value) -> Object {
        object(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "migrate", "namespace": "ns"},
            "spec": spec, "status": status,
        }))
    }

    #[test]
    fn job_current_only_when_complete() {
        let done = job_with(
            json!({}),
            json!({"succeeded": 1,
                   "conditions": [{"type": "Complete", "status": "True"}]}),
        );
        assert_eq!(
            assess(&done, now()),
            Health::current("Job Completed. succeeded: 1/1")
        );
        // Running pods are not enough: Flux waits for the Job to finish.
        let running = job_with(
            json!({"completions": 3}),
            json!({"active": 3, "succeeded": 1}),
        );
        assert_eq!(
            assess(&running, now()),
            Health::in_progress("Job in progress")
        );
    }

    #[test]
    fn job_completions_default_to_parallelism() {
        let done = job_with(
            json!({"parallelism": 4}),
            json!({"succeeded": 4,
                   "conditions": [{"type": "Complete", "status": "True"}]}),
        );
        assert_eq!(
            assess(&done, now()),
            Health::current("Job Completed. succeeded: 4/4")
        );
    }

    #[test]
    fn job_failed_condition_is_failed() {
        let obj = job_with(
            json!({"completions": 1, "backoffLimit": 2}),
            json!({"failed": 3,
                   "conditions": [{"type": "Failed", "status": "True",
                                   "reason": "BackoffLimitExceeded"}]}),
        );
        assert_eq!(
            assess(&obj, now()),
            Health::failed("Job Failed. failed: 3/1")
        );
    }

    #[test]
    fn job_suspended_is_current() {
        let obj = job_with(json!({"suspend": true}), json!({}));
        assert_eq!(assess(&obj, now()), Health::current("Job is suspended"));
        let by_condition = job_with(
            json!({}),
            json!({"conditions": [{"type": "Suspended", "status": "True"}]}),
        );
        assert!(assess(&by_condition, now()).is_current());
    }
}
