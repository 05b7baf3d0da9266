//! Strategic merge patch, with the merge keys and strategies of the built-in kinds' schema
//! and the `$patch: delete | replace` directives.
//!
//! Maps merge key by key and a `null` deletes a key. A list whose schema declares the
//! `merge` strategy with a merge key (containers by `name`, ports by `containerPort`...)
//! merges element by element, keeping the target's order and appending new elements; a
//! `merge` list of scalars becomes the union; every other list is replaced.

use serde_json::{Map, Value};

use crate::schema::{ListKind, Node};

const DIRECTIVE: &str = "$patch";

/// Applies `patch` to `target`; `schema` is the target's type when known. `empty` lists the
/// paths of the target's fields that its file gives no value (`key:`).
///
/// kustomize merges by walking the whole target and setting every map field it visits anew;
/// a field whose value is null is removed then, unless the null was written out (`null`,
/// `~`), which it keeps. So a patched object loses its valueless fields everywhere
/// (`nodeAffinity:` with two valueless fields becomes `nodeAffinity: {}`), inside the
/// elements of lists that merge by key, but not inside other lists, which the walk keeps
/// whole; `creationTimestamp: null` stays.
pub(crate) fn merge(
    target: &mut Value,
    patch: &Value,
    schema: Option<Node<'_>>,
    empty: &[Vec<String>],
) {
    match (&mut *target, patch) {
        (Value::Object(t), Value::Object(p)) => merge_map(t, p, schema),
        (t, p) => *t = strip(p),
    }
    if !empty.is_empty() {
        drop_empty(target, schema, &mut Vec::new(), empty);
    }
}

/// Removes the valueless fields (those at `empty`) of the maps the merge walk visits (see
/// [`merge`]); `path` is where `value` is.
fn drop_empty(
    value: &mut Value,
    schema: Option<Node<'_>>,
    path: &mut Vec<String>,
    empty: &[Vec<String>],
) {
    match value {
        Value::Object(m) => {
            m.retain(|key, v| {
                !v.is_null()
                    || !empty.iter().any(|e| {
                        e.len() == path.len() + 1
                            && e.last() == Some(key)
                            && e.iter().zip(path.iter()).all(|(a, b)| a == b)
                    })
            });
            for (key, v) in m.iter_mut() {
                path.push(key.clone());
                drop_empty(v, schema.and_then(|s| s.child(key)), path, empty);
                path.pop();
            }
        }
        Value::Array(items) if merges_by_key(schema) => {
            let element = schema.and_then(|s| s.items());
            for (i, item) in items.iter_mut().enumerate() {
                path.push(i.to_string());
                drop_empty(item, element, path, empty);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether the schema declares the `merge` patch strategy (kustomize's associative lists).
fn merges_by_key(schema: Option<Node<'_>>) -> bool {
    schema
        .and_then(|s| s.patch_strategy())
        .is_some_and(|s| s.split(',').any(|p| p == "merge"))
}

fn merge_map(
    target: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    schema: Option<Node<'_>>,
) {
    match patch.get(DIRECTIVE).and_then(Value::as_str) {
        Some("replace") => {
            *target = strip_map(patch);
            return;
        }
        Some("delete") => {
            target.clear();
            return;
        }
        _ => {}
    }
    for (key, pv) in patch {
        if key == DIRECTIVE || key.starts_with("$setElementOrder/") || key == "$retainKeys" {
            continue;
        }
        let child = schema.and_then(|s| s.child(key));
        if pv.is_null() {
            target.remove(key);
            continue;
        }
        if let Value::Object(pm) = pv
            && pm.get(DIRECTIVE).and_then(Value::as_str) == Some("delete")
        {
            target.remove(key);
            continue;
        }
        match (target.get_mut(key), pv) {
            (Some(Value::Object(tm)), Value::Object(pm)) => merge_map(tm, pm, child),
            (Some(Value::Array(tl)), Value::Array(pl)) => merge_list(tl, pl, child),
            (_, pv) => {
                target.insert(key.clone(), strip(pv));
            }
        }
    }
}

fn merge_list(target: &mut Vec<Value>, patch: &[Value], schema: Option<Node<'_>>) {
    let replace = patch.iter().any(|e| {
        e.as_object()
            .and_then(|m| m.get(DIRECTIVE))
            .and_then(Value::as_str)
            == Some("replace")
    });
    if replace {
        *target = patch
            .iter()
            .filter(|e| e.as_object().is_none_or(|m| !m.contains_key(DIRECTIVE)))
            .map(strip)
            .collect();
        return;
    }
    if !merges_by_key(schema) {
        *target = patch.iter().map(strip).collect();
        return;
    }
    // kustomize puts the patch's elements first, in the patch's order (merged with their
    // counterparts), then the target's remaining elements in their order.
    let Some(key) = schema.and_then(|s| s.merge_key()) else {
        let mut out: Vec<Value> = patch.to_vec();
        out.extend(target.iter().filter(|t| !patch.contains(t)).cloned());
        *target = out;
        return;
    };
    let items = schema.and_then(|s| s.items());
    // kustomize keys a list by every list-map key that some element carries (container
    // ports by port and protocol, but by port alone while no element names a protocol).
    let keys: Vec<String> = match schema.map(|s| s.list()) {
        Some(ListKind::Map(keys)) => keys
            .into_iter()
            .filter(|k| {
                target
                    .iter()
                    .chain(patch)
                    .any(|e| e.as_object().is_some_and(|m| m.contains_key(k)))
            })
            .collect(),
        _ => Vec::new(),
    };
    if keys.len() > 1 {
        merge_multi_key(target, patch, &keys, items);
        return;
    }
    let id = |v: &Value| v.as_object().and_then(|m| m.get(key)).cloned();
    let mut out = Vec::new();
    let mut used = vec![false; target.len()];
    for p in patch {
        let Some(pm) = p.as_object() else {
            continue;
        };
        let pid = pm.get(key).cloned();
        let pos = target.iter().position(|t| id(t) == pid);
        if let Some(i) = pos {
            used[i] = true;
        }
        if pm.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            continue;
        }
        match pos {
            Some(i) => {
                let mut merged = target[i].clone();
                if let Value::Object(tm) = &mut merged {
                    merge_map(tm, pm, items);
                }
                out.push(merged);
            }
            None => out.push(strip(p)),
        }
    }
    out.extend(
        target
            .iter()
            .zip(used)
            .filter(|(_, used)| !used)
            .map(|(t, _)| t.clone()),
    );
    *target = out;
}

/// kustomize's merge of a list keyed by several fields, which differs from the one-key merge:
/// an element matching every key merges in place, one matching only the keys the patch
/// element has is left alone, and new elements go first, in the patch's order. A delete
/// needs every key.
fn merge_multi_key(
    target: &mut Vec<Value>,
    patch: &[Value],
    keys: &[String],
    items: Option<Node<'_>>,
) {
    let tuple = |v: &Value| -> Vec<Option<Value>> {
        keys.iter()
            .map(|k| v.as_object().and_then(|m| m.get(k)).cloned())
            .collect()
    };
    let mut added = Vec::new();
    for p in patch {
        let Some(pm) = p.as_object() else {
            continue;
        };
        let pt = tuple(p);
        if pm.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
            if pt.iter().all(Option::is_some) {
                target.retain(|t| tuple(t) != pt);
            }
            continue;
        }
        if let Some(i) = target.iter().position(|t| tuple(t) == pt) {
            if let Value::Object(tm) = &mut target[i] {
                merge_map(tm, pm, items);
            }
            continue;
        }
        let partial = target
            .iter()
            .any(|t| pt.iter().zip(tuple(t)).all(|(a, b)| a.is_none() || *a == b));
        if !partial {
            added.push(strip(p));
        }
    }
    added.append(target);
    *target = added;
}

/// A patch value without directives and null fields, as it lands when nothing is merged.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(strip_map(m)),
        Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
        other => other.clone(),
    }
}

fn strip_map(m: &Map<String, Value>) -> Map<String, Value> {
    m.iter()
        .filter(|(k, v)| k.as_str() != DIRECTIVE && !v.is_null())
        .map(|(k, v)| (k.clone(), strip(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn apply(target: Value, patch: Value) -> Value {
        let mut t = target;
        let schema = Schema::builtin().root("apps/v1", "Deployment");
        merge(&mut t, &patch, schema, &[]);
        t
    }

    #[test]
    fn containers_merge_by_name_and_args_replace() {
        let out = apply(
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "a", "image": "x", "args": ["1"]}, {"name": "b", "image": "y"}]}}}}),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "b", "image": "z"}, {"name": "c", "image": "w"},
                {"name": "a", "args": ["2"]}]}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "z"}, {"name": "c", "image": "w"},
                   {"name": "a", "image": "x", "args": ["2"]}])
        );
    }

    #[test]
    fn directives_delete_and_replace() {
        let out = apply(
            json!({"spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": "a"}, {"name": "b"}]}}}}),
            json!({"spec": {"replicas": null, "template": {"spec": {"containers": [
                {"name": "a", "$patch": "delete"}]}}}}),
        );
        assert_eq!(
            out,
            json!({"spec": {"template": {"spec": {"containers": [{"name": "b"}]}}}})
        );
        let out = apply(
            json!({"spec": {"selector": {"matchLabels": {"a": "1", "b": "2"}}}}),
            json!({"spec": {"selector": {"matchLabels": {"$patch": "replace", "c": "3"}}}}),
        );
        assert_eq!(
            out,
            json!({"spec": {"selector": {"matchLabels": {"c": "3"}}}})
        );
    }
}
