//! The `scale` subresource of Deployments, StatefulSets and ReplicaSets: an
//! `autoscaling/v1` Scale view of `spec.replicas`, as `kubectl scale` and autoscalers use it.

use serde_json::{Value, json};

use super::handler::{Call, State, Written};
use super::patch::{self, PatchKind};
use super::registry::Resource;
use super::status::ApiError;
use super::write::{Op, stored, write};

/// The Scale of an object.
pub(crate) fn view(object: &Value) -> Value {
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
    let selector: Vec<String> = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|labels| {
            let mut pairs: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect();
            pairs.sort();
            pairs
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": meta,
        "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {
            "replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector.join(","),
        },
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
    let current = view(&old);
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
    if let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), replicas);
    }
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
    Ok((view(&object), written))
}
