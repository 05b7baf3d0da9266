//! managedFields: the per-manager ownership records of an object, how an update moves
//! ownership, and how server-side apply merges, detects conflicts and removes fields a manager
//! stopped applying.

use crate::schema::{ListKind, Node};
use serde_json::{Map, Value, json};

use super::fieldpath::{Element, FieldSet, item_element, list_kind};

/// One managedFields entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The field manager, e.g. `kustomize-controller`.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The apiVersion the manager last wrote in.
    pub api_version: String,
    /// When the manager last changed something (`None` until the write stamps it).
    pub time: Option<Value>,
    /// The subresource written (`status`), `None` for the main resource.
    pub subresource: Option<String>,
    /// The fields the manager owns.
    pub set: FieldSet,
}

impl Entry {
    /// Whether this entry is the record of (manager, operation, subresource).
    pub fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }

    /// The manager as conflict messages print it.
    pub fn printed(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            out = format!("{out} with subresource {sub:?}");
        }
        if self.operation == "Update" {
            // The manager key Kubernetes prints from carries no time.
            out = format!("{out} using {}", self.api_version);
        }
        out
    }

    fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("manager".into(), json!(self.manager));
        map.insert("operation".into(), json!(self.operation));
        map.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = &self.time {
            map.insert("time".into(), time.clone());
        }
        map.insert("fieldsType".into(), json!("FieldsV1"));
        map.insert("fieldsV1".into(), self.set.to_json());
        if let Some(sub) = &self.subresource {
            map.insert("subresource".into(), json!(sub));
        }
        Value::Object(map)
    }
}

/// The entries recorded on an object.
pub fn read(object: Option<&Value>) -> Vec<Entry> {
    read_list(object.and_then(|o| o.pointer("/metadata/managedFields")))
}

/// The entries of a `metadata.managedFields` list.
pub fn read_list(managed_fields: Option<&Value>) -> Vec<Entry> {
    let Some(list) = managed_fields.and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|e| {
            let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            Entry {
                manager: s("manager"),
                operation: s("operation"),
                api_version: s("apiVersion"),
                time: e.get("time").cloned(),
                subresource: e
                    .get("subresource")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                set: FieldSet::from_json(e.get("fieldsV1").unwrap_or(&Value::Null)),
            }
        })
        .collect()
}

/// Writes the entries into the object, dropping empty ones; no entries removes the field.
pub fn write(object: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.set.is_empty())
        .map(Entry::to_json)
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(list));
        }
    }
}

/// Merges an applied configuration into the live object as server-side apply does: maps and
/// structs field by field, list maps by key, sets by value, everything else replaced. The live
/// object is changed in place: only the configuration's values are copied.
pub fn merge(live: &mut Value, config: &Value, node: Option<Node<'_>>) {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !node.is_some_and(|n| n.is_atomic_map()) => {
            for (key, value) in c {
                if value.is_null() {
                    l.remove(key);
                    continue;
                }
                match l.get_mut(key) {
                    Some(existing) => merge(existing, value, node.and_then(|n| n.child(key))),
                    None => {
                        l.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(l), Value::Array(c)) => {
            let kind = list_kind(node);
            if kind == ListKind::Atomic {
                l.clone_from(c);
                return;
            }
            let item_node = node.and_then(|n| n.items());
            let ids = |items: &Vec<Value>| -> Vec<Element> {
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| item_element(item, &kind, node, i))
                    .collect()
            };
            let (live_ids, config_ids) = (ids(l), ids(c));
            let mut live: Vec<Option<Value>> = std::mem::take(l).into_iter().map(Some).collect();
            *l = merged_order(&live_ids, &config_ids)
                .into_iter()
                .filter_map(|(from_live, from_config)| {
                    let item = from_live.and_then(|i| live.get_mut(i).and_then(Option::take));
                    match (item, from_config) {
                        (Some(mut item), Some(j)) => {
                            merge(&mut item, &c[j], item_node);
                            Some(item)
                        }
                        (Some(item), None) => Some(item),
                        (None, Some(j)) => Some(c[j].clone()),
                        (None, None) => None,
                    }
                })
                .collect();
        }
        (live, _) => *live = config.clone(),
    }
}

/// The order of a merged associative list, as structured-merge-diff builds it: items only
/// the live list has keep their place, items of the configuration come in its order (a shared
/// item waits until the configuration reaches it), new ones where the configuration puts
/// them. Each position names the live item and the configuration item it merges.
fn merged_order(live: &[Element], config: &[Element]) -> Vec<(Option<usize>, Option<usize>)> {
    let mut out = Vec::with_capacity(live.len() + config.len());
    let mut emitted: Vec<&Element> = Vec::new();
    let (mut li, mut ci) = (0, 0);
    let in_config = |id: &Element| config.iter().position(|x| x == id);
    let in_live = |id: &Element| live.iter().position(|x| x == id);
    while li < live.len() || ci < config.len() {
        if li < live.len() && ci < config.len() {
            if live[li] == config[ci] {
                if !emitted.contains(&&live[li]) {
                    out.push((Some(li), Some(ci)));
                    emitted.push(&live[li]);
                }
                li += 1;
                ci += 1;
                continue;
            }
            let next_shared = config
                .iter()
                .find(|id| in_live(id).is_some() && !emitted.contains(id));
            if in_config(&live[li]).is_some() && next_shared.is_some_and(|n| *n != live[li]) {
                if !emitted.contains(&&config[ci]) {
                    out.push((in_live(&config[ci]), Some(ci)));
                    emitted.push(&config[ci]);
                }
                ci += 1;
                continue;
            }
        }
        if li < live.len() {
            let id = &live[li];
            if in_config(id).is_none() {
                out.push((Some(li), None));
                li += 1;
                continue;
            }
            if emitted.contains(&id) {
                li += 1;
                continue;
            }
        }
        if ci < config.len() {
            if !emitted.contains(&&config[ci]) {
                out.push((in_live(&config[ci]), Some(ci)));
                emitted.push(&config[ci]);
            }
            ci += 1;
            continue;
        }
        li += 1;
    }
    out
}

/// Whether merging `config` into `live` (as [`merge`] does) would change anything. It walks
/// both without building the merged object, so that an identical re-apply is found cheaply;
/// when in doubt (duplicate list keys) it answers true and the caller takes the full path.
pub fn merge_changes(live: &Value, config: &Value, node: Option<Node<'_>>) -> bool {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) if !node.is_some_and(|n| n.is_atomic_map()) => {
            c.iter().any(|(key, value)| match l.get(key) {
                _ if value.is_null() => l.contains_key(key),
                None => true,
                Some(existing) => merge_changes(existing, value, node.and_then(|n| n.child(key))),
            })
        }
        (Value::Array(l), Value::Array(c)) => {
            let kind = list_kind(node);
            if kind == ListKind::Atomic {
                return l != c;
            }
            let item_node = node.and_then(|n| n.items());
            let live_ids: Vec<Element> = l
                .iter()
                .enumerate()
                .map(|(i, item)| item_element(item, &kind, node, i))
                .collect();
            let config_ids: Vec<Element> = c
                .iter()
                .enumerate()
                .map(|(i, item)| item_element(item, &kind, node, i))
                .collect();
            let order = merged_order(&live_ids, &config_ids);
            if order.len() != l.len()
                || order
                    .iter()
                    .enumerate()
                    .any(|(at, (from_live, _))| *from_live != Some(at))
            {
                return true;
            }
            let mut seen: Vec<Element> = Vec::with_capacity(c.len());
            for (i, item) in c.iter().enumerate() {
                let id = item_element(item, &kind, node, i);
                if seen.contains(&id) {
                    return true;
                }
                let mut matches = live_ids.iter().enumerate().filter(|(_, x)| **x == id);
                let Some((at, _)) = matches.next() else {
                    return true;
                };
                if matches.next().is_some() || merge_changes(&l[at], item, item_node) {
                    return true;
                }
                seen.push(id);
            }
            false
        }
        _ => live != config,
    }
}

/// The field set of `manager`'s apply entry on `object` and the apiVersion it was recorded
/// with, without decoding the other entries.
pub fn applied_set(
    object: &Value,
    manager: &str,
    subresource: Option<&str>,
) -> Option<(String, FieldSet)> {
    let list = object.pointer("/metadata/managedFields")?.as_array()?;
    fn text<'a>(entry: &'a Value, key: &str) -> Option<&'a str> {
        entry.get(key).and_then(Value::as_str)
    }
    let mut found = list.iter().filter(|e| {
        text(e, "manager") == Some(manager)
            && text(e, "operation") == Some("Apply")
            && text(e, "subresource") == subresource
    });
    let entry = found.next()?;
    if found.next().is_some() {
        return None;
    }
    Some((
        text(entry, "apiVersion").unwrap_or("").to_string(),
        FieldSet::from_json(entry.get("fieldsV1").unwrap_or(&Value::Null)),
    ))
}

/// Removes the paths of `set` from `value`; containers emptied by the removal go too.
pub fn remove(value: &mut Value, set: &FieldSet, node: Option<Node<'_>>) {
    match value {
        Value::Object(map) => {
            for member in &set.members {
                if let Element::Field(name) = member
                    && !set.children.contains_key(member)
                {
                    map.remove(name);
                }
            }
            for (element, child) in &set.children {
                let Element::Field(name) = element else {
                    continue;
                };
                let child_node = node.and_then(|n| n.child(name));
                if set.members.contains(element) && child_is_whole(child) {
                    map.remove(name);
                    continue;
                }
                if let Some(inner) = map.get_mut(name) {
                    let was_empty = is_empty_container(inner);
                    remove(inner, child, child_node);
                    if !was_empty && is_empty_container(inner) {
                        map.remove(name);
                    }
                }
            }
        }
        Value::Array(items) => {
            let kind = list_kind(node);
            let item_node = node.and_then(|n| n.items());
            let mut kept = Vec::new();
            for (i, mut item) in std::mem::take(items).into_iter().enumerate() {
                let id = item_element(&item, &kind, node, i);
                if set.members.contains(&id) {
                    continue;
                }
                if let Some(child) = set.children.get(&id) {
                    remove(&mut item, child, item_node);
                }
                kept.push(item);
            }
            *items = kept;
        }
        _ => {}
    }
}

/// A removed member with children is removed whole.
fn child_is_whole(_child: &FieldSet) -> bool {
    true
}

fn is_empty_container(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use crate::ssa::fieldpath::object_set;
    use serde_json::json;

    #[test]
    fn merged_lists_follow_the_configuration_order_around_live_only_items() {
        let schema = json!({"type": "object", "properties": {"tags": {"type": "array",
            "items": {"type": "string"}, "x-kubernetes-list-type": "set"}}});
        let node = crate::schema::Node::from_schema(&schema);
        for (live, config, merged) in [
            (json!(["x"]), json!(["y", "x"]), json!(["y", "x"])),
            (json!(["a"]), json!(["b"]), json!(["a", "b"])),
            (json!(["a", "b"]), json!(["b", "a"]), json!(["b", "a"])),
        ] {
            let mut object = json!({"tags": live});
            let config = json!({"tags": config});
            let changes = merge_changes(&object, &config, node);
            merge(&mut object, &config, node);
            assert_eq!(changes, merged != live);
            assert_eq!(object["tags"], merged);
        }
    }

    #[test]
    fn merge_keeps_live_list_items_and_removal_drops_emptied_lists() {
        let schema = Schema::builtin().root("apps/v1", "Deployment");
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "a", "env": [{"name": "MODE", "value": "prod"}]},
            {"name": "sidecar", "image": "b"}]}}}});
        let config = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "c"}]}}}});
        let mut merged = live.clone();
        merge(&mut merged, &config, schema);
        assert_eq!(
            merged.pointer("/spec/template/spec/containers/0/image"),
            Some(&json!("c"))
        );
        assert_eq!(
            merged.pointer("/spec/template/spec/containers/1/name"),
            Some(&json!("sidecar"))
        );
        let env = object_set(
            &json!({"spec": {"template": {"spec": {"containers": [
                {"name": "web", "env": [{"name": "MODE", "value": "prod"}]}]}}}}),
            schema,
        );
        let mut stale = env.clone();
        stale.subtract(&object_set(
            &json!({"spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}}),
            schema,
        ));
        remove(&mut merged, &stale, schema);
        assert_eq!(merged.pointer("/spec/template/spec/containers/0/env"), None);
        assert_eq!(
            merged.pointer("/spec/template/spec/containers/0/name"),
            Some(&json!("web"))
        );
    }

    #[test]
    fn merge_changes_agrees_with_merge() {
        let schema = Schema::builtin().root("apps/v1", "Deployment");
        let live = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"replicas": 2,
            "template": {"spec": {"containers": [
                {"name": "web", "image": "a", "env": [{"name": "MODE", "value": "prod"}]},
                {"name": "sidecar", "image": "b"}]}}}});
        for (config, changes) in [
            (json!({"spec": {"replicas": 2}}), false),
            (json!({"spec": {"replicas": 3}}), true),
            (json!({"metadata": {"labels": {"tier": null}}}), false),
            (json!({"metadata": {"labels": {"app": null}}}), true),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "a"}]}}}}),
                false,
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "c"}]}}}}),
                true,
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "new", "image": "a"}]}}}}),
                true,
            ),
        ] {
            let mut merged = live.clone();
            merge(&mut merged, &config, schema);
            assert_eq!(merge_changes(&live, &config, schema), changes, "{config}");
            assert_eq!(merged != live, changes, "{config}");
        }
    }

    #[test]
    fn update_managers_print_their_version() {
        let entry = Entry {
            manager: "kubectl".into(),
            operation: "Update".into(),
            api_version: "apps/v1".into(),
            time: Some(json!("2026-01-01T00:00:00Z")),
            subresource: Some("status".into()),
            set: FieldSet::default(),
        };
        assert_eq!(
            entry.printed(),
            "\"kubectl\" with subresource \"status\" using apps/v1"
        );
    }
}
