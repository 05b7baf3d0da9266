//! The `scale` subresource of Deployments, StatefulSets and ReplicaSets and of custom resources
//! whose CRD declares one: an `autoscaling/v1` Scale view of the replicas, as `kubectl scale`
//! and autoscalers use it.

use serde_json::{Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::request::Call;
use crate::testenv::state::State;
use crate::testenv::status::ApiError;
use crate::testenv::verbs::Written;
use crate::testenv::verbs::patch::{self, PatchKind};
use crate::testenv::verbs::write::{Op, stored, write};

/// A scale path of a CRD (`.spec.replicas`) as a JSON pointer.
fn pointer(path: &str) -> String {
    path.trim_start_matches('.').replace('.', "/")
}

/// Where the Scale's fields live in the resource's objects: the CRD's `subresources.scale`,
/// else the workloads' `spec.replicas`, `status.replicas` and `spec.selector`.
fn paths(resource: &Resource) -> (String, String, Option<String>) {
    match resource.custom.as_ref().and_then(|c| c.scale.as_ref()) {
        Some(scale) => (
            format!("/{}", pointer(&scale.spec_replicas)),
            format!("/{}", pointer(&scale.status_replicas)),
            scale.selector.as_ref().map(|p| format!("/{}", pointer(p))),
        ),
        None => ("/spec/replicas".into(), "/status/replicas".into(), None),
    }
}

/// The Scale of an object.
pub(crate) fn view(resource: &Resource, object: &Value) -> Value {
    let metadata = object.get("metadata").cloned().unwrap_or(json!({}));
    let mut meta = serde_json::Map::new();
    for key in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = metadata.get(key) {
            meta.insert(key.into(), v.clone());
        }
    }
    let (spec_path, status_path, selector_path) = paths(resource);
    let selector = match (&resource.custom, selector_path) {
        // A custom resource's selector is a string at its path, in its serialized form.
        (Some(_), Some(path)) => object
            .pointer(&path)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        (Some(_), None) => String::new(),
        (None, _) => object
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .map(|labels| {
                let mut pairs: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect();
                pairs.sort();
                pairs.join(",")
            })
            .unwrap_or_default(),
    };
    let mut status = serde_json::Map::new();
    status.insert(
        "replicas".into(),
        object.pointer(&status_path).cloned().unwrap_or(json!(0)),
    );
    // `selector` is omitted when empty.
    if !selector.is_empty() {
        status.insert("selector".into(), json!(selector));
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": object.pointer(&spec_path).cloned().unwrap_or(json!(0))},
        "status": status,
    })
}

/// A PUT or PATCH of the Scale: the new `spec.replicas` written to the object.
pub(crate) fn write_scale(
    state: &mut State,
    resource: &Resource,
    ns: &str,
    name: &str,
    call: &Call,
) -> Result<(Value, Written), ApiError> {
    let Some(old) = stored(state, resource, ns, name) else {
        return Err(ApiError::not_found(resource, name));
    };
    let current = view(resource, &old);
    let scale: Value = if call.method == http::Method::PUT {
        serde_json::from_slice(&call.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding Scale: {e}")))?
    } else {
        let kind = match PatchKind::from_content_type(&call.content_type) {
            Some(PatchKind::Apply) | None => PatchKind::Merge,
            Some(kind) => kind,
        };
        patch::apply_patch(kind, &current, &call.body, None)?
    };
    if let Some(rv) = scale
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        && Some(rv)
            != old
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
    {
        return Err(ApiError::modified(resource, name));
    }
    let replicas = scale.pointer("/spec/replicas").cloned().unwrap_or(json!(0));
    let mut new = Value::clone(&old);
    let (spec_path, _, _) = paths(resource);
    set_path(&mut new, &spec_path, replicas);
    let op = Op::Update {
        manager: call.manager(),
        subresource: Some("scale".into()),
    };
    let (object, written) = write(
        state,
        resource,
        ns,
        name,
        Some(&old),
        new,
        op,
        call.dry_run(),
    )?;
    Ok((view(resource, &object), written))
}

/// Sets the value at a JSON pointer, creating the objects on the way.
fn set_path(object: &mut Value, pointer: &str, value: Value) {
    let steps: Vec<&str> = pointer.split('/').filter(|s| !s.is_empty()).collect();
    let Some((last, parents)) = steps.split_last() else {
        return;
    };
    let mut at = object;
    for step in parents {
        let Some(map) = at.as_object_mut() else {
            return;
        };
        at = map.entry(step.to_string()).or_insert_with(|| json!({}));
    }
    if let Some(map) = at.as_object_mut() {
        map.insert(last.to_string(), value);
    }
}
