//! Deletion: preconditions, finalizers and deletionTimestamp, propagation policies, CRDs
//! through their cleanup finalizer, and collections.

use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::registry::crd;
use crate::testenv::request::{Call, json_response};
use crate::testenv::state::State;
use crate::testenv::status::ApiError;
use crate::testenv::storage::EventType;
use crate::testenv::verbs::filter_of;
use crate::testenv::verbs::list;
use crate::testenv::verbs::write::{meta_str, now, set_meta};

pub(crate) fn delete(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    call: &Call,
) -> Result<Response, ApiError> {
    let ns = if resource.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    let options: Value = if call.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&call.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    // dryRun may come as a query parameter or in the DeleteOptions body.
    let dry_run = call.dry_run()
        || options
            .get("dryRun")
            .and_then(Value::as_array)
            .is_some_and(|d| d.iter().any(|v| v == "All"));
    let key = resource.storage_key();
    let Some(old) = state.store.get(&key, ns, name).cloned() else {
        return Err(ApiError::not_found(resource, name));
    };
    let uid = meta_str(&old, "uid").unwrap_or("").to_string();
    if let Some(want) = options
        .pointer("/preconditions/uid")
        .and_then(Value::as_str)
        && want != uid
    {
        let mut e = ApiError::conflict(resource, name, "");
        e.message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the UID in the precondition ({want}) does not match the UID in record ({uid}). The object might have been deleted and then recreated",
            resource.kind
        );
        e.details = Some(json!({"name": name, "kind": resource.kind}));
        return Err(e);
    }
    if let Some(want) = options
        .pointer("/preconditions/resourceVersion")
        .and_then(Value::as_str)
        && Some(want) != meta_str(&old, "resourceVersion")
    {
        let mut e = ApiError::conflict(resource, name, "");
        e.message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": the ResourceVersion in the precondition ({want}) does not match the ResourceVersion in record ({}). The object might have been modified",
            resource.kind,
            meta_str(&old, "resourceVersion").unwrap_or("")
        );
        e.details = Some(json!({"name": name, "kind": resource.kind}));
        return Err(e);
    }
    let policy = call.q("propagationPolicy").map(str::to_string).or_else(|| {
        options
            .get("propagationPolicy")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let mut finalizers: Vec<Value> = old
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if policy.as_deref() == Some("Foreground") && !finalizers.contains(&json!("foregroundDeletion"))
    {
        finalizers.push(json!("foregroundDeletion"));
    }
    if policy.as_deref() == Some("Orphan") && !finalizers.contains(&json!("orphan")) {
        finalizers.push(json!("orphan"));
    }
    let is_crd =
        resource.group == "apiextensions.k8s.io" && resource.plural == "customresourcedefinitions";
    if is_crd && old.pointer("/metadata/deletionTimestamp").is_none() {
        return delete_crd(state, resource, name, old, dry_run);
    }
    let is_namespace = resource.group.is_empty() && resource.kind == "Namespace";
    // An object in the answer is served in the request's version.
    let served = |object: &Value| {
        crate::testenv::registry::served_view(resource, object).unwrap_or_else(|| object.clone())
    };
    if !finalizers.is_empty() || is_namespace {
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(json_response(200, &served(&old)));
        }
        let mut new = old.clone();
        set_meta(&mut new, "deletionTimestamp", json!(now()));
        if is_namespace {
            if let Some(map) = new.as_object_mut() {
                map.insert("status".into(), json!({"phase": "Terminating"}));
            }
        } else {
            set_meta(&mut new, "deletionGracePeriodSeconds", json!(0));
            set_meta(&mut new, "finalizers", Value::Array(finalizers));
        }
        if dry_run {
            return Ok(json_response(200, &served(&new)));
        }
        let stored = state.store.put(&key, ns, name, new, EventType::Modified);
        return Ok(json_response(200, &served(&stored)));
    }
    if !dry_run {
        state.store.remove(&key, ns, name);
        if resource.group == "apiextensions.k8s.io"
            && resource.plural == "customresourcedefinitions"
        {
            crd::unregister(&mut state.custom, &mut state.store, &old);
        }
    }
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !resource.group.is_empty() {
        details.insert("group".into(), json!(resource.group));
    }
    details.insert("kind".into(), json!(resource.plural));
    details.insert("uid".into(), json!(uid));
    if resource.group == "apiextensions.k8s.io" {
        // This store answers with the object itself; custom resources' with a Status.
        return Ok(json_response(200, &old));
    }
    Ok(json_response(
        200,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}),
    ))
}

/// Deleting a CRD: the registry marks it Terminating behind the `customresourcecleanup`
/// finalizer; the cleanup (its objects, then the finalizer) follows at once, as the
/// apiextensions controller would do shortly after.
pub(crate) fn delete_crd(
    state: &mut State,
    resource: &Resource,
    name: &str,
    old: Value,
    dry_run: bool,
) -> Result<Response, ApiError> {
    let key = resource.storage_key();
    let mut new = old.clone();
    set_meta(&mut new, "deletionTimestamp", json!(now()));
    let mut finalizers: Vec<Value> = old
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let cleanup = json!("customresourcecleanup.apiextensions.k8s.io");
    if !finalizers.contains(&cleanup) {
        finalizers.push(cleanup);
    }
    set_meta(&mut new, "finalizers", Value::Array(finalizers));
    if let Some(conditions) = new
        .pointer_mut("/status/conditions")
        .and_then(Value::as_array_mut)
    {
        conditions.push(json!({"type": "Terminating", "status": "True", "lastTransitionTime": now(), "reason": "InstanceDeletionPending", "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon"}));
    }
    if dry_run {
        return Ok(json_response(200, &new));
    }
    let stored = state.store.put(&key, "", name, new, EventType::Modified);
    crd::unregister(&mut state.custom, &mut state.store, &stored);
    state.store.remove(&key, "", name);
    Ok(json_response(200, &stored))
}

/// Deleting a collection, as the generic registry does: the matching objects are listed, each
/// is deleted as a single delete would (finalizers, propagation, dry-run), and the answer is
/// that list as it was read, before the deletions.
pub(crate) fn delete_collection(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    call: &Call,
) -> Result<Response, ApiError> {
    list::validate_options(call, false)?;
    let filter = filter_of(call, resource)?;
    let rv = state.store.rv();
    let listed: Vec<Value> = state
        .store
        .list(&resource.storage_key(), namespace)
        .into_iter()
        .filter(|o| filter.matches(o))
        .cloned()
        .collect();
    for object in &listed {
        let ns = meta_str(object, "namespace").filter(|n| !n.is_empty());
        let name = meta_str(object, "name").unwrap_or("");
        match delete(state, resource, ns, name, call) {
            Err(e) if e.code != 404 => return Err(e),
            _ => {}
        }
    }
    let page: Vec<&Value> = listed.iter().collect();
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), json!(rv.to_string()));
    Ok(json_response(
        200,
        &list::list_body(resource, &page, metadata, rv, call),
    ))
}
