//! The CRD establishing controller: a CustomResourceDefinition whose names were accepted
//! becomes `Established`, in the two status writes by `kube-apiserver` the real server's
//! controllers make (`Installing`, then `InitialNamesAccepted`).

use serde_json::{Value, json};

use crate::testenv::clock;
use crate::testenv::registry::crd;
use crate::testenv::state::State;
use crate::testenv::verbs::write::{Op, write};

/// Establishes every CRD that has no `Established` condition yet.
pub(crate) fn run(state: &mut State) {
    let Some(resource) = crd::definitions() else {
        return;
    };
    let key = resource.storage_key();
    let pending: Vec<String> = state
        .store
        .list(&key, None)
        .into_iter()
        .filter(|c| {
            c.pointer("/metadata/deletionTimestamp").is_none() && !crd::has_established_condition(c)
        })
        .filter_map(|c| c.pointer("/metadata/name").and_then(Value::as_str))
        .map(str::to_string)
        .collect();
    for name in pending {
        let now = clock::now();
        let accepted = json!({"type": "NamesAccepted", "status": "True", "lastTransitionTime": now, "reason": "NoConflicts", "message": "no conflicts found"});
        let steps = [
            json!({"type": "Established", "status": "False", "lastTransitionTime": now, "reason": "Installing", "message": "the initial names have been accepted"}),
            json!({"type": "Established", "status": "True", "lastTransitionTime": now, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}),
        ];
        for established in steps {
            let Some(old) = state.store.shared(&key, "", &name).cloned() else {
                break;
            };
            let names = old.pointer("/spec/names").cloned().unwrap_or(json!({}));
            let mut new = Value::clone(&old);
            if let Some(status) = new.get_mut("status").and_then(Value::as_object_mut) {
                status.insert("conditions".into(), json!([accepted, established]));
                status.insert("acceptedNames".into(), names);
            }
            let op = Op::Update {
                manager: "kube-apiserver".into(),
                subresource: Some("status".into()),
            };
            if write(state, &resource, "", &name, Some(&old), new, op, false).is_err() {
                break;
            }
        }
    }
}
