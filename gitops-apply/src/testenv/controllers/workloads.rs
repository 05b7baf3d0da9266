//! The workload controllers of kube-controller-manager, reduced to their outcome: a
//! Deployment, StatefulSet or DaemonSet whose spec changed is rolled out at once, as if every
//! pod started and became ready immediately. Each writes the status its real controller
//! writes when a rollout has completed (`observedGeneration`, the replica counts,
//! `Available` and `Progressing` for Deployments, the revisions for StatefulSets), as
//! `kube-controller-manager` through the status subresource, so that health checks (kstatus)
//! see a finished rollout.
//!
//! No ReplicaSets, ControllerRevisions or Pods are created: testenv runs no kubelet, and the
//! objects that a rollout creates are not what a GitOps reconcile reads. A paused Deployment
//! is left alone. Like the garbage collector, this runs only when controllers are enabled.
//!
//! It reacts to the store's event log, not to a scan of every workload, so a write costs
//! the workloads it touched, not all of them.

use serde_json::{Map, Value, json};

use crate::testenv::clock;
use crate::testenv::registry::{self, Resource};
use crate::testenv::state::State;
use crate::testenv::storage::EventType;
use crate::testenv::verbs::write::{Op, write};

/// The workload kinds rolled out, by plural of `apps/v1`.
const KINDS: [&str; 3] = ["deployments", "statefulsets", "daemonsets"];

/// Rolls out every workload written since the last run.
pub(crate) fn run(state: &mut State) {
    let seen = state.workloads_seen;
    let start = state.store.events.partition_point(|e| e.rv <= seen);
    let mut touched: Vec<(String, String, String)> = Vec::new();
    for event in &state.store.events[start..] {
        let (group, plural) = &event.resource;
        if group != "apps" || !KINDS.contains(&plural.as_str()) || event.kind == EventType::Deleted
        {
            continue;
        }
        let Ok(object) = serde_json::from_slice::<Value>(&event.object) else {
            continue;
        };
        let name = text(&object, "/metadata/name").to_string();
        let key = (plural.clone(), event.namespace.clone(), name);
        if !touched.contains(&key) {
            touched.push(key);
        }
    }
    for (plural, ns, name) in touched {
        let Some(resource) = apps_v1(&plural) else {
            continue;
        };
        let Some(old) = state
            .store
            .shared(&resource.storage_key(), &ns, &name)
            .cloned()
        else {
            continue;
        };
        if old.pointer("/metadata/deletionTimestamp").is_some()
            || old.pointer("/spec/paused") == Some(&Value::Bool(true))
        {
            continue;
        }
        let status = rolled_out(&plural, &old);
        if old.get("status") == Some(&status) {
            continue;
        }
        let mut new = Value::clone(&old);
        if let Some(map) = new.as_object_mut() {
            map.insert("status".into(), status);
        }
        let op = Op::Update {
            manager: "kube-controller-manager".into(),
            subresource: Some("status".into()),
        };
        // A failed status write leaves the workload as it was, as a real controller's
        // conflict would until its next sync.
        let _ = write(state, &resource, &ns, &name, Some(&old), new, op, false);
    }
    state.workloads_seen = state.store.rv();
}

fn apps_v1(plural: &str) -> Option<Resource> {
    registry::builtin()
        .resources
        .iter()
        .find(|(group, version, _)| group == "apps" && version == "v1")
        .and_then(|(_, _, resources)| resources.iter().find(|r| r.plural == plural).cloned())
}

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The status of a completed rollout of `object`.
fn rolled_out(plural: &str, object: &Value) -> Value {
    let generation = object
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let replicas = object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let name = text(object, "/metadata/name");
    let revision = format!("{name}-{}", template_hash(object.pointer("/spec/template")));
    let mut status = Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    match plural {
        "deployments" => {
            for field in [
                "replicas",
                "updatedReplicas",
                "readyReplicas",
                "availableReplicas",
            ] {
                if replicas > 0 {
                    status.insert(field.into(), json!(replicas));
                }
            }
            let previous = object
                .pointer("/status/conditions")
                .and_then(Value::as_array);
            status.insert(
                "conditions".into(),
                json!([
                    condition(
                        previous,
                        "Available",
                        "MinimumReplicasAvailable",
                        "Deployment has minimum availability.".into()
                    ),
                    condition(
                        previous,
                        "Progressing",
                        "NewReplicaSetAvailable",
                        format!("ReplicaSet \"{revision}\" has successfully progressed.")
                    ),
                ]),
            );
        }
        "statefulsets" => {
            status.insert("replicas".into(), json!(replicas));
            status.insert("availableReplicas".into(), json!(replicas));
            for field in ["readyReplicas", "currentReplicas", "updatedReplicas"] {
                if replicas > 0 {
                    status.insert(field.into(), json!(replicas));
                }
            }
            status.insert("currentRevision".into(), json!(revision));
            status.insert("updateRevision".into(), json!(revision));
            status.insert("collisionCount".into(), json!(0));
        }
        // A DaemonSet schedules a pod per node, and testenv has no nodes.
        _ => {
            for field in [
                "currentNumberScheduled",
                "numberMisscheduled",
                "desiredNumberScheduled",
                "numberReady",
            ] {
                status.insert(field.into(), json!(0));
            }
        }
    }
    Value::Object(status)
}

/// A condition that is True, keeping its `lastTransitionTime` when it already was.
fn condition(previous: Option<&Vec<Value>>, kind: &str, reason: &str, message: String) -> Value {
    let now = clock::now();
    let since = previous
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| json!(now));
    json!({
        "type": kind, "status": "True", "lastUpdateTime": now, "lastTransitionTime": since,
        "reason": reason, "message": message,
    })
}

/// The `pod-template-hash` of a template: FNV-1a of its JSON, its decimal digits encoded
/// with the alphabet of apimachinery's `rand.SafeEncodeString`, as the deployment
/// controller names ReplicaSets (the hash input differs from the Go struct's, so the value
/// is stable but not the one a real cluster would compute).
fn template_hash(template: Option<&Value>) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let text = template.map(Value::to_string).unwrap_or_default();
    let hash = text.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    hash.to_string()
        .bytes()
        .map(|b| char::from(ALPHABET[usize::from(b) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deployment_rollout_is_complete_and_names_its_replica_set() {
        let deploy = json!({
            "metadata": {"name": "web", "generation": 2},
            "spec": {"replicas": 3, "template": {"metadata": {"labels": {"app": "web"}}}},
        });
        let status = rolled_out("deployments", &deploy);
        assert_eq!(status["observedGeneration"], 2);
        assert_eq!(status["availableReplicas"], 3);
        assert_eq!(status["conditions"][0]["type"], "Available");
        let progressing = status["conditions"][1]["message"].as_str().unwrap();
        assert!(
            progressing.starts_with("ReplicaSet \"web-"),
            "{progressing}"
        );
        assert!(progressing.ends_with("\" has successfully progressed."));
        let zero = json!({"metadata": {"name": "web", "generation": 1}, "spec": {"replicas": 0}});
        let status = rolled_out("deployments", &zero);
        assert!(status.get("replicas").is_none(), "omitempty zero: {status}");
    }

    #[test]
    fn the_template_hash_changes_with_the_template() {
        let a = template_hash(Some(&json!({"spec": {"containers": [{"image": "a"}]}})));
        let b = template_hash(Some(&json!({"spec": {"containers": [{"image": "b"}]}})));
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| b"bcdfghjklmnpqrstvwxz2456789".contains(&c)),
            "{a}"
        );
    }
}
