//! The non-apply patch types: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and
//! strategic merge patch driven by the schema's merge keys and strategies.

use gitops_core::schema::Node;
use serde_json::{Map, Value};

use crate::testenv::status::ApiError;

/// The patch types a PATCH request may carry, by Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// `application/merge-patch+json`
    Merge,
    /// `application/json-patch+json`
    Json,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

impl PatchKind {
    /// The patch type of a Content-Type header, `None` when unsupported.
    pub fn from_content_type(content_type: &str) -> Option<PatchKind> {
        let essence = content_type.split(';').next().unwrap_or("").trim();
        match essence {
            "application/merge-patch+json" => Some(PatchKind::Merge),
            "application/json-patch+json" => Some(PatchKind::Json),
            "application/strategic-merge-patch+json" => Some(PatchKind::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => {
                Some(PatchKind::Apply)
            }
            _ => None,
        }
    }
}

/// Applies a merge, JSON or strategic merge patch to `target`.
pub(crate) fn apply_patch(
    kind: PatchKind,
    target: &Value,
    body: &[u8],
    schema: Option<Node<'_>>,
) -> Result<Value, ApiError> {
    let patch: Value = serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        ApiError::bad_request(format!(
            "error decoding patch: {}",
            crate::testenv::verbs::write::go_json_error(&text, &e)
        ))
    })?;
    let mut out = target.clone();
    match kind {
        PatchKind::Merge => {
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "json: cannot unmarshal array into Go value of type map[string]interface {}",
                ));
            }
            json_patch::merge(&mut out, &patch);
        }
        PatchKind::Json => {
            let ops: json_patch::Patch = serde_json::from_value(patch)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            json_patch::patch(&mut out, &ops).map_err(|_| ApiError::invalid_request())?;
        }
        PatchKind::Strategic => {
            check_directives(&patch).map_err(ApiError::internal)?;
            strategic_merge(&mut out, &patch, schema);
        }
        PatchKind::Apply => return Err(ApiError::bad_request("apply is not a plain patch")),
    }
    Ok(out)
}

/// Refuses a `$patch` directive strategic merge does not know, as the API server does (500,
/// naming the map as Go prints it).
fn check_directives(patch: &Value) -> Result<(), String> {
    match patch {
        Value::Object(map) => {
            if let Some(directive) = map.get("$patch").and_then(Value::as_str)
                && !matches!(directive, "replace" | "merge" | "delete")
            {
                return Err(format!(
                    "unknown patch type: {directive} in map: {}",
                    go_print(patch)
                ));
            }
            map.values().try_for_each(check_directives)
        }
        Value::Array(items) => items.iter().try_for_each(check_directives),
        _ => Ok(()),
    }
}

/// A JSON value as Go's `%v` prints the `map[string]interface{}` it decodes to.
fn go_print(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| format!("{k}:{}", go_print(&map[*k])))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_print).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::String(s) => s.clone(),
        Value::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

/// Strategic merge of `patch` into `target` at a schema position.
pub(crate) fn strategic_merge(target: &mut Value, patch: &Value, node: Option<Node<'_>>) {
    let Value::Object(patch_map) = patch else {
        *target = strip_directives(patch);
        return;
    };
    if patch_map.get("$patch").and_then(Value::as_str) == Some("replace") {
        *target = strip_directives(patch);
        return;
    }
    if !target.is_object() || node.is_some_and(|n| n.is_atomic_map()) {
        *target = strip_directives(patch);
        return;
    }
    let Value::Object(target_map) = target else {
        return;
    };
    for (key, value) in patch_map {
        if let Some(list) = key.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(existing)), Value::Array(remove)) =
                (target_map.get_mut(list), value)
            {
                existing.retain(|v| !remove.contains(v));
            }
            continue;
        }
        if key.starts_with('$') {
            continue;
        }
        let child = node.and_then(|n| n.child(key));
        if value.is_null() {
            target_map.remove(key);
            continue;
        }
        match (target_map.get_mut(key), value) {
            (Some(existing @ Value::Object(_)), Value::Object(_)) => {
                strategic_merge(existing, value, child);
            }
            (Some(Value::Array(existing)), Value::Array(items)) if merges(child) => {
                merge_list(existing, items, child);
            }
            _ => {
                target_map.insert(key.clone(), strip_directives(value));
            }
        }
    }
    // `$setElementOrder/<list>` fixes the order of a merged list by its merge key (or values).
    for (key, order) in patch_map {
        let (Some(list), Value::Array(order)) = (key.strip_prefix("$setElementOrder/"), order)
        else {
            continue;
        };
        let merge_key = node.and_then(|n| n.child(list)).and_then(|n| n.merge_key());
        if let Some(Value::Array(items)) = target_map.get_mut(list) {
            let id = |item: &Value| match merge_key {
                Some(k) => item.get(k).cloned().unwrap_or(Value::Null),
                None => item.clone(),
            };
            let rank = |item: &Value| {
                let wanted = id(item);
                order
                    .iter()
                    .position(|o| match merge_key {
                        Some(k) => o.get(k) == Some(&wanted),
                        None => *o == wanted,
                    })
                    .unwrap_or(usize::MAX)
            };
            items.sort_by_key(|item| rank(item));
        }
    }
}

fn merges(node: Option<Node<'_>>) -> bool {
    node.and_then(|n| n.patch_strategy())
        .is_some_and(|s| s.split(',').any(|p| p == "merge"))
}

fn merge_list(existing: &mut Vec<Value>, items: &[Value], node: Option<Node<'_>>) {
    let item_node = node.and_then(|n| n.items());
    let Some(key) = node.and_then(|n| n.merge_key()) else {
        // A list of scalars merged as a set: patch items first, then the rest.
        let mut out: Vec<Value> = Vec::new();
        for item in items.iter().chain(existing.iter()) {
            if !out.contains(item) {
                out.push(item.clone());
            }
        }
        *existing = out;
        return;
    };
    let mut from_patch: Vec<Value> = Vec::new();
    let mut deleted: Vec<Value> = Vec::new();
    for item in items {
        let id = item.get(key).cloned().unwrap_or(Value::Null);
        match item.get("$patch").and_then(Value::as_str) {
            Some("delete") => {
                deleted.push(id);
                continue;
            }
            Some("replace") => {
                *existing = items.iter().map(strip_directives).collect();
                return;
            }
            _ => {}
        }
        let mut merged = existing
            .iter()
            .find(|e| e.get(key) == Some(&id))
            .cloned()
            .unwrap_or_else(|| Value::Object(Map::new()));
        strategic_merge(&mut merged, item, item_node);
        from_patch.push(merged);
    }
    let patched: Vec<Value> = from_patch
        .iter()
        .filter_map(|i| i.get(key).cloned())
        .collect();
    let rest = existing.iter().filter(|e| {
        let id = e.get(key).cloned().unwrap_or(Value::Null);
        !patched.contains(&id) && !deleted.contains(&id)
    });
    let mut out = from_patch.clone();
    out.extend(rest.cloned());
    *existing = out;
}

/// A patch value without `$patch` and other directives, for insertion as is.
fn strip_directives(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::schema::Schema;
    use serde_json::json;

    #[test]
    fn strategic_merge_by_key_with_delete_and_order() {
        let schema = Schema::builtin().root("apps/v1", "Deployment");
        let mut live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a:1"}, {"name": "b", "image": "b:1"}, {"name": "c", "image": "c:1"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
            "containers": [{"name": "a", "image": "a:2"}, {"name": "b", "$patch": "delete"}]}}}});
        strategic_merge(&mut live, &patch, schema);
        assert_eq!(
            live,
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "c", "image": "c:1"}, {"name": "a", "image": "a:2"}]}}}})
        );
    }
}
