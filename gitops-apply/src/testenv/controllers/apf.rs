//! The API Priority and Fairness configuration controller. Unlike the garbage collector
//! ([`super::gc`]), it runs inside kube-apiserver itself (apiserver's
//! `util/flowcontrol/apf_controller.go`), so it is always on: after every write it digests
//! the FlowSchemas and PriorityLevelConfigurations and records on each FlowSchema whether the
//! priority level it references exists, as a `Dangling` condition written by server-side
//! apply of the status subresource (forced, as manager
//! `api-priority-and-fairness-config-consumer-v1`).
//!
//! Only PriorityLevelConfiguration objects count: the mandatory levels the server imagines
//! when their objects are missing (`exempt`, `catch-all`) are added after FlowSchemas are
//! digested, so a reference to one of them alone is dangling too.

use serde_json::{Value, json};

use crate::testenv::request::Call;
use crate::testenv::state::State;

const GROUP: &str = "flowcontrol.apiserver.k8s.io";

/// The field manager of the controller's status writes.
pub(crate) const FIELD_MANAGER: &str = "api-priority-and-fairness-config-consumer-v1";

/// The `Dangling` condition a FlowSchema should carry: status, reason and message.
fn desired(level: &str, exists: bool) -> (&'static str, &'static str, String) {
    if exists {
        (
            "False",
            "Found",
            format!(
                "This FlowSchema references the PriorityLevelConfiguration object named {level:?} and it exists"
            ),
        )
    } else {
        (
            "True",
            "NotFound",
            format!(
                "This FlowSchema references the PriorityLevelConfiguration object named {level:?} but there is no such object"
            ),
        )
    }
}

/// Whether a FlowSchema's `Dangling` condition already says what `desired` does; the
/// controller writes only when status, reason or message differ.
fn current_matches(flow_schema: &Value, want: &(&str, &str, String)) -> bool {
    let condition = flow_schema
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Dangling"));
    let field = |key: &str| {
        condition
            .and_then(|c| c.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    };
    field("status") == want.0 && field("reason") == want.1 && field("message") == want.2
}

/// One pass of the controller over the store.
pub(crate) fn sync(state: &mut State) {
    let schemas_key = (GROUP.to_string(), "flowschemas".to_string());
    let levels_key = (GROUP.to_string(), "prioritylevelconfigurations".to_string());
    let updates: Vec<(String, Value)> = state
        .store
        .list(&schemas_key, None)
        .into_iter()
        .filter(|fs| fs.pointer("/metadata/deletionTimestamp").is_none())
        .filter_map(|fs| {
            let name = fs.pointer("/metadata/name")?.as_str()?.to_string();
            let level = fs
                .pointer("/spec/priorityLevelConfiguration/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let exists = state.store.get(&levels_key, "", level).is_some();
            let want = desired(level, exists);
            if current_matches(fs, &want) {
                return None;
            }
            let (status, reason, message) = want;
            let config = json!({
                "apiVersion": format!("{GROUP}/v1"),
                "kind": "FlowSchema",
                "metadata": {"name": name},
                "status": {"conditions": [{
                    "type": "Dangling",
                    "status": status,
                    "lastTransitionTime": crate::testenv::clock::now(),
                    "reason": reason,
                    "message": message,
                }]},
            });
            Some((name, config))
        })
        .collect();
    if updates.is_empty() {
        return;
    }
    let Ok(resource) = state.resource(GROUP, "v1", "flowschemas") else {
        return;
    };
    for (name, config) in updates {
        let mut call = Call::internal(FIELD_MANAGER);
        call.content_type = "application/apply-patch+yaml".into();
        call.query
            .insert("fieldManager".into(), FIELD_MANAGER.into());
        call.query.insert("force".into(), "true".into());
        call.body = serde_json::to_vec(&config).unwrap_or_default().into();
        if let Err(error) = crate::testenv::verbs::apply::apply(
            state,
            &resource,
            None,
            &name,
            Some("status"),
            &call,
        ) {
            tracing::warn!(flow_schema = %name, message = %error.message, "testenv could not write a FlowSchema's Dangling condition");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flow_schema_is_marked_dangling_until_its_priority_level_exists() {
        let server = crate::testenv::Server::new();
        let mut state = server.lock();
        let (Ok(schemas), Ok(levels)) = (
            state.resource(GROUP, "v1", "flowschemas"),
            state.resource(GROUP, "v1", "prioritylevelconfigurations"),
        ) else {
            panic!("flowcontrol is served");
        };
        let fs = json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1", "kind": "FlowSchema",
            "metadata": {"name": "batch"},
            "spec": {"priorityLevelConfiguration": {"name": "batch"}, "matchingPrecedence": 900}});
        let call = Call::internal("test");
        assert!(
            crate::testenv::verbs::write::create_object(&mut state, &schemas, None, fs, &call)
                .is_ok()
        );
        sync(&mut state);
        let key = (GROUP.to_string(), "flowschemas".to_string());
        let condition = |state: &State| {
            state
                .store
                .get(&key, "", "batch")
                .and_then(|o| o.pointer("/status/conditions/0"))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(condition(&state)["status"], json!("True"));
        assert_eq!(condition(&state)["reason"], json!("NotFound"));
        let managers = state
            .store
            .get(&key, "", "batch")
            .and_then(|o| o.pointer("/metadata/managedFields"))
            .cloned()
            .unwrap_or_default();
        assert!(
            managers.as_array().into_iter().flatten().any(
                |m| m["manager"] == json!(FIELD_MANAGER) && m["subresource"] == json!("status")
            )
        );
        let pl = json!({"apiVersion": "flowcontrol.apiserver.k8s.io/v1",
            "kind": "PriorityLevelConfiguration", "metadata": {"name": "batch"},
            "spec": {"type": "Limited", "limited": {"limitResponse": {"type": "Reject"}}}});
        assert!(
            crate::testenv::verbs::write::create_object(&mut state, &levels, None, pl, &call)
                .is_ok()
        );
        let before = state.store.rv();
        sync(&mut state);
        assert_eq!(condition(&state)["status"], json!("False"));
        assert_eq!(condition(&state)["reason"], json!("Found"));
        // Settled: another pass writes nothing.
        let settled = state.store.rv();
        assert!(settled > before);
        sync(&mut state);
        assert_eq!(state.store.rv(), settled);
    }

    #[test]
    fn the_dangling_condition_names_the_priority_level_and_whether_it_exists() {
        let missing = desired("batch", false);
        assert_eq!((missing.0, missing.1), ("True", "NotFound"));
        assert_eq!(
            missing.2,
            "This FlowSchema references the PriorityLevelConfiguration object named \"batch\" but there is no such object"
        );
        let found = desired("batch", true);
        assert_eq!((found.0, found.1), ("False", "Found"));
        let fs = json!({"status": {"conditions": [{"type": "Dangling", "status": "False",
            "reason": "Found", "message": found.2}]}});
        assert!(current_matches(&fs, &found));
        assert!(!current_matches(&fs, &missing));
        assert!(!current_matches(&json!({"status": {}}), &found));
    }
}
