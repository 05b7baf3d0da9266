//! Sets of field paths as server-side apply tracks ownership, and their `fieldsV1` encoding
//! (`f:` fields, `k:` list-map keys, `v:` set values, `i:` indices, `.` for the node itself).
//!
//! This is the part of structured-merge-diff that managedFields need.

use std::collections::{BTreeMap, BTreeSet};

use crate::schema::{ListKind, Node};
use serde_json::{Map, Value};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Element {
    /// A field of an object or a key of a map.
    Field(String),
    /// An element of a list map, by its key fields (compact JSON with sorted names).
    Key(String),
    /// An element of a set, by its value (compact JSON).
    Value(String),
    /// An element of an atomic-less list without keys, by position.
    Index(usize),
}

impl Element {
    fn encode(&self) -> String {
        match self {
            Element::Field(name) => format!("f:{name}"),
            Element::Key(key) => format!("k:{key}"),
            Element::Value(value) => format!("v:{value}"),
            Element::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(text: &str) -> Option<Element> {
        let (prefix, rest) = text.split_at_checked(2)?;
        match prefix {
            "f:" => Some(Element::Field(rest.to_string())),
            "k:" => {
                let parsed: Value = serde_json::from_str(rest).ok()?;
                Some(Element::Key(canonical(&parsed)))
            }
            "v:" => {
                let parsed: Value = serde_json::from_str(rest).ok()?;
                Some(Element::Value(canonical(&parsed)))
            }
            "i:" => rest.parse().ok().map(Element::Index),
            _ => None,
        }
    }

    /// The element as structured-merge-diff prints it in a path: `.name`, `[name="web"]`,
    /// `[="a"]`, `[0]`.
    pub fn print(&self) -> String {
        match self {
            Element::Field(name) => format!(".{name}"),
            Element::Key(key) => {
                let parsed: Value = serde_json::from_str(key).unwrap_or(Value::Null);
                let parts: Vec<String> = parsed
                    .as_object()
                    .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                format!("[{}]", parts.join(","))
            }
            Element::Value(value) => format!("[={value}]"),
            Element::Index(i) => format!("[{i}]"),
        }
    }
}

/// Compact JSON with object keys sorted, the canonical form of key and value elements.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    canonical_into(value, &mut out);
    out
}

fn canonical_into(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut sorted: Vec<(&String, &Value)> = map.iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote_into(k, out);
                out.push(':');
                canonical_into(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_into(item, out);
            }
            out.push(']');
        }
        Value::String(text) => quote_into(text, out),
        other => {
            use std::fmt::Write;
            let _ = write!(out, "{other}");
        }
    }
}

/// A JSON string literal, as serde_json writes it.
fn quote_into(text: &str, out: &mut String) {
    let plain = text
        .bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f);
    if plain {
        out.push('"');
        out.push_str(text);
        out.push('"');
    } else {
        out.push_str(&Value::String(text.to_string()).to_string());
    }
}

/// A set of field paths, as a tree: `members` are paths ending here, `children` continue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet {
    /// The paths that end at this node.
    pub members: BTreeSet<Element>,
    /// The paths that continue below this node, by their next step.
    pub children: BTreeMap<Element, FieldSet>,
}

impl FieldSet {
    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds every path of `other`.
    pub fn union(&mut self, other: &FieldSet) {
        self.members.extend(other.members.iter().cloned());
        for (element, child) in &other.children {
            self.children
                .entry(element.clone())
                .or_default()
                .union(child);
        }
    }

    /// Removes every path of `other`.
    pub fn subtract(&mut self, other: &FieldSet) {
        for member in &other.members {
            self.members.remove(member);
        }
        for (element, child) in &other.children {
            if let Some(mine) = self.children.get_mut(element) {
                mine.subtract(child);
            }
        }
        self.prune();
    }

    /// Drops the members that `other` continues below: a container someone still applies
    /// children of is not a path to remove (an empty map applied before, filled now).
    pub fn drop_ancestors_of(&mut self, other: &FieldSet) {
        self.members.retain(|e| !other.children.contains_key(e));
        for (element, child) in self.children.iter_mut() {
            if let Some(theirs) = other.children.get(element) {
                child.drop_ancestors_of(theirs);
            }
        }
        self.children.retain(|_, child| !child.is_empty());
    }

    /// The paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            members: self.members.intersection(&other.members).cloned().collect(),
            children: BTreeMap::new(),
        };
        for (element, child) in &self.children {
            if let Some(theirs) = other.children.get(element) {
                let both = child.intersection(theirs);
                if !both.is_empty() {
                    out.children.insert(element.clone(), both);
                }
            }
        }
        out
    }

    fn prune(&mut self) {
        self.children.retain(|_, child| {
            child.prune();
            !child.is_empty()
        });
    }

    /// Every path, printed as structured-merge-diff prints paths (`.spec.replicas`).
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.collect_paths("", &mut out);
        out
    }

    fn collect_paths(&self, prefix: &str, out: &mut Vec<String>) {
        let mut elements: BTreeSet<&Element> = self.members.iter().collect();
        elements.extend(self.children.keys());
        for element in elements {
            let path = format!("{prefix}{}", element.print());
            if self.members.contains(element) {
                out.push(path.clone());
            }
            if let Some(child) = self.children.get(element) {
                child.collect_paths(&path, out);
            }
        }
    }

    /// The `fieldsV1` JSON of the set.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let mut elements: BTreeSet<&Element> = self.members.iter().collect();
        elements.extend(self.children.keys().filter(|_| true));
        for element in elements {
            let child = self.children.get(element).filter(|c| !c.is_empty());
            let mut value = child
                .map(FieldSet::to_json)
                .unwrap_or_else(|| Value::Object(Map::new()));
            if child.is_some()
                && self.members.contains(element)
                && let Value::Object(inner) = &mut value
            {
                let mut with_dot = Map::new();
                with_dot.insert(".".into(), Value::Object(Map::new()));
                with_dot.extend(std::mem::take(inner));
                *inner = with_dot;
            }
            if child.is_none() && !self.members.contains(element) {
                continue;
            }
            map.insert(element.encode(), value);
        }
        Value::Object(map)
    }

    /// Parses `fieldsV1` JSON; unknown element prefixes are skipped.
    pub fn from_json(value: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        let Some(map) = value.as_object() else {
            return set;
        };
        for (key, child) in map {
            if key == "." {
                continue;
            }
            let Some(element) = Element::decode(key) else {
                continue;
            };
            let inner = child.as_object();
            let is_leaf = inner.is_none_or(Map::is_empty);
            let has_dot = inner.is_some_and(|m| m.contains_key("."));
            if is_leaf || has_dot {
                set.members.insert(element.clone());
            }
            if !is_leaf {
                let child_set = FieldSet::from_json(child);
                if !child_set.is_empty() {
                    set.children.insert(element, child_set);
                }
            }
        }
        set
    }
}

/// Metadata fields that are never owned: identity and server-set bookkeeping.
const UNOWNED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "managedFields",
    "selfLink",
];

/// The paths of a whole object, as an applier owns them: every leaf and list element, without
/// `apiVersion`, `kind` and identity metadata.
pub fn object_set(object: &Value, schema: Option<Node<'_>>) -> FieldSet {
    match object.as_object() {
        Some(map) => map_set(map, schema),
        None => FieldSet::default(),
    }
}

/// [`object_set`] of an object's top-level map.
pub fn map_set(map: &Map<String, Value>, schema: Option<Node<'_>>) -> FieldSet {
    let mut set = FieldSet::default();
    for (key, value) in map {
        if key == "apiVersion" || key == "kind" {
            continue;
        }
        let node = schema.and_then(|n| n.child(key));
        if key == "metadata" {
            let mut meta = FieldSet::default();
            for (mk, mv) in value.as_object().into_iter().flatten() {
                if UNOWNED_METADATA.contains(&mk.as_str()) {
                    continue;
                }
                add_value(
                    &mut meta,
                    Element::Field(mk.clone()),
                    mv,
                    node.and_then(|n| n.child(mk)),
                );
            }
            if !meta.is_empty() {
                set.children.insert(Element::Field(key.clone()), meta);
            }
            continue;
        }
        add_value(&mut set, Element::Field(key.clone()), value, node);
    }
    set
}

/// Whether a value at this schema position is one owned unit (a leaf).
fn is_leaf(value: &Value, node: Option<Node<'_>>) -> bool {
    match value {
        Value::Object(map) => map.is_empty() || node.is_some_and(|n| n.is_atomic_map()),
        Value::Array(items) => items.is_empty() || list_kind(node) == ListKind::Atomic,
        _ => true,
    }
}

/// Whether a value is compared child by child (a non-atomic object or list).
fn is_container(value: &Value, node: Option<Node<'_>>) -> bool {
    match value {
        Value::Object(_) => !node.is_some_and(|n| n.is_atomic_map()),
        Value::Array(_) => list_kind(node) != ListKind::Atomic,
        _ => false,
    }
}

/// The list semantics at a schema position; without a schema a list is atomic.
pub fn list_kind(node: Option<Node<'_>>) -> ListKind {
    node.map(|n| n.list()).unwrap_or(ListKind::Atomic)
}

/// The element identifying a list item.
pub fn item_element(
    item: &Value,
    kind: &ListKind,
    node: Option<Node<'_>>,
    index: usize,
) -> Element {
    match kind {
        ListKind::Map(keys) => {
            let mut key = Map::new();
            let items = node.and_then(|n| n.items());
            for name in keys {
                let value = item.get(name).cloned().or_else(|| {
                    items
                        .and_then(|n| n.field(name))
                        .and_then(|n| n.default().cloned())
                });
                if let Some(value) = value {
                    key.insert(name.clone(), value);
                }
            }
            Element::Key(canonical(&Value::Object(key)))
        }
        ListKind::Set => Element::Value(canonical(item)),
        ListKind::Atomic => Element::Index(index),
    }
}

fn add_value(set: &mut FieldSet, element: Element, value: &Value, node: Option<Node<'_>>) {
    if is_leaf(value, node) {
        set.members.insert(element);
        return;
    }
    let child = children_set(value, node);
    if !child.is_empty() {
        set.children.insert(element, child);
    }
}

/// The set below a container value (object or non-atomic list).
fn children_set(value: &Value, node: Option<Node<'_>>) -> FieldSet {
    let mut set = FieldSet::default();
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let element = Element::Field(key.clone());
                // A key the schema does not declare (a map's entry, or a field of an object
                // that preserves unknown fields) is owned itself as well as through its
                // contents, as structured-merge-diff sets it. Below a preserved object the
                // structure is deduced: every level is such a map.
                let declared = node.and_then(|n| n.field(key));
                let child = declared.or_else(|| node.and_then(|n| n.values()));
                let child = child.or_else(|| node.filter(|n| n.preserves_unknown_fields()));
                if node.is_some() && declared.is_none() {
                    set.members.insert(element.clone());
                }
                add_value(&mut set, element, v, child);
            }
        }
        Value::Array(items) => {
            let kind = list_kind(node);
            let item_node = node.and_then(|n| n.items());
            for (i, item) in items.iter().enumerate() {
                let element = item_element(item, &kind, node, i);
                set.members.insert(element.clone());
                if let Value::Object(_) = item
                    && !is_leaf(item, item_node)
                {
                    let child = children_set(item, item_node);
                    if !child.is_empty() {
                        set.children.insert(element, child);
                    }
                }
            }
        }
        _ => {}
    }
    set
}

/// The paths an update changed (added or modified in `new`) and removed (present only in
/// `old`). `structs_tracked` says whether every object that appears is itself a member (true
/// for custom resources); in built-in objects only the fields Go omits when empty appear.
pub fn compare(
    old: &Value,
    new: &Value,
    schema: Option<Node<'_>>,
    structs_tracked: bool,
) -> (FieldSet, FieldSet) {
    let mut changed = FieldSet::default();
    let mut removed = FieldSet::default();
    // Compared without apiVersion, kind and the unowned metadata (an object left without
    // metadata has none); only the small metadata map is copied to leave those out.
    let metadata = |v: &Value| -> Option<Value> {
        let meta = v.get("metadata")?;
        let Some(map) = meta.as_object() else {
            return Some(meta.clone());
        };
        let kept: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| !UNOWNED_METADATA.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        (!kept.is_empty()).then_some(Value::Object(kept))
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let (old_meta, new_meta) = (metadata(old), metadata(new));
            fn top(map: &Map<String, Value>, meta: bool) -> Vec<&str> {
                map.keys()
                    .map(String::as_str)
                    .filter(|k| !matches!(*k, "apiVersion" | "kind") && (meta || *k != "metadata"))
                    .collect()
            }
            let mut keys = top(o, old_meta.is_some());
            let new_keys = top(n, new_meta.is_some());
            let extra: Vec<&str> = new_keys.into_iter().filter(|k| !keys.contains(k)).collect();
            keys.extend(extra);
            compare_fields(
                &keys,
                |key| {
                    if key == "metadata" {
                        old_meta.as_ref()
                    } else {
                        o.get(key)
                    }
                },
                |key| {
                    if key == "metadata" {
                        new_meta.as_ref()
                    } else {
                        n.get(key)
                    }
                },
                schema,
                structs_tracked,
                true,
                &mut changed,
                &mut removed,
            );
        }
        _ => compare_values(
            Some(old),
            Some(new),
            schema,
            structs_tracked,
            true,
            &mut changed,
            &mut removed,
        ),
    }
    (changed, removed)
}

/// Compares the fields `keys` of two objects, looked up by `old` and `new`.
#[allow(clippy::too_many_arguments)]
fn compare_fields<'a>(
    keys: &[&str],
    old: impl Fn(&str) -> Option<&'a Value>,
    new: impl Fn(&str) -> Option<&'a Value>,
    node: Option<Node<'_>>,
    structs_tracked: bool,
    top: bool,
    changed: &mut FieldSet,
    removed: &mut FieldSet,
) {
    let required: Vec<&str> = node
        .and_then(|n| n.keyword("required"))
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for key in keys {
        let element = Element::Field((*key).to_string());
        let child_node = node.and_then(|x| x.child(key));
        // A built-in field Go always serialises (no `omitempty`: required in the schema, or
        // given a zero-value default) exists in every object, if only as null, so it never
        // appears; an omitted one (a pointer, an `omitempty` list or map) does, and is then
        // a member itself.
        let always_serialised = node.is_some_and(|n| n.field(key).is_some())
            && (required.contains(key) || child_node.is_some_and(|c| c.default().is_some()));
        diff_member(
            &element,
            old(key),
            new(key),
            child_node,
            (
                !(top && *key == "metadata") && (structs_tracked || !always_serialised),
                structs_tracked,
            ),
            changed,
            removed,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn compare_values(
    old: Option<&Value>,
    new: Option<&Value>,
    node: Option<Node<'_>>,
    structs_tracked: bool,
    top: bool,
    changed: &mut FieldSet,
    removed: &mut FieldSet,
) {
    // Walk the children present in either value.
    let (Some(old), Some(new)) = (old, new) else {
        return;
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut keys: Vec<&str> = o.keys().map(String::as_str).collect();
            keys.extend(n.keys().map(String::as_str).filter(|k| !o.contains_key(*k)));
            compare_fields(
                &keys,
                |key| o.get(key),
                |key| n.get(key),
                node,
                structs_tracked,
                top,
                changed,
                removed,
            );
        }
        (Value::Array(o), Value::Array(n)) => {
            let kind = list_kind(node);
            let item_node = node.and_then(|x| x.items());
            let index = |items: &[Value]| -> Vec<(Element, usize)> {
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (item_element(item, &kind, node, i), i))
                    .collect()
            };
            let (oi, ni) = (index(o), index(n));
            let mut elements: Vec<&Element> = oi.iter().map(|(e, _)| e).collect();
            elements.extend(
                ni.iter()
                    .map(|(e, _)| e)
                    .filter(|e| !oi.iter().any(|(x, _)| x == *e)),
            );
            for element in elements {
                let ov = oi.iter().find(|(e, _)| e == element).map(|(_, i)| &o[*i]);
                let nv = ni.iter().find(|(e, _)| e == element).map(|(_, i)| &n[*i]);
                diff_member(
                    element,
                    ov,
                    nv,
                    item_node,
                    (true, structs_tracked),
                    changed,
                    removed,
                );
            }
        }
        _ => {}
    }
}

/// The paths below `element` that the whole object's set ([`object_set`]) holds for `value`:
/// a field's non-leaf value, or a list item that is an object. Computed only where a
/// comparison needs them (a removed or replaced value), not for the whole object up front.
fn owned_below(element: &Element, value: &Value, node: Option<Node<'_>>) -> Option<FieldSet> {
    let below = match element {
        Element::Field(_) => !is_leaf(value, node),
        Element::Key(_) | Element::Value(_) | Element::Index(_) => {
            value.is_object() && !is_leaf(value, node)
        }
    };
    let set = if below {
        children_set(value, node)
    } else {
        return None;
    };
    (!set.is_empty()).then_some(set)
}

#[allow(clippy::too_many_arguments)]
fn diff_member(
    element: &Element,
    old: Option<&Value>,
    new: Option<&Value>,
    node: Option<Node<'_>>,
    (tracked_when_added, structs_tracked): (bool, bool),
    changed: &mut FieldSet,
    removed: &mut FieldSet,
) {
    match (old, new) {
        (None, None) => {}
        (Some(o), None) => {
            removed.members.insert(element.clone());
            if let Some(child) = owned_below(element, o, node) {
                removed
                    .children
                    .entry(element.clone())
                    .or_default()
                    .union(&child);
            }
        }
        (None, Some(value)) => {
            let listed = matches!(
                element,
                Element::Key(_) | Element::Value(_) | Element::Index(_)
            );
            if is_leaf(value, node) || !is_container(value, node) {
                changed.members.insert(element.clone());
                return;
            }
            if tracked_when_added || listed {
                changed.members.insert(element.clone());
            }
            // Walk the new container against an empty one, so that containers inside it get
            // the same treatment.
            let empty_value = if value.is_array() {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
            let mut c = FieldSet::default();
            let mut r = FieldSet::default();
            compare_values(
                Some(&empty_value),
                Some(value),
                node,
                structs_tracked,
                false,
                &mut c,
                &mut r,
            );
            if !c.is_empty() {
                changed
                    .children
                    .entry(element.clone())
                    .or_default()
                    .union(&c);
            }
        }
        (Some(Value::Null), Some(n)) if is_container(n, node) => {
            let empty = if n.is_array() {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
            diff_member(
                element,
                Some(&empty),
                Some(n),
                node,
                (tracked_when_added, structs_tracked),
                changed,
                removed,
            );
        }
        (Some(o), Some(n)) => {
            let both_containers = is_container(o, node)
                && is_container(n, node)
                && std::mem::discriminant(o) == std::mem::discriminant(n);
            if !both_containers {
                if o != n {
                    changed.members.insert(element.clone());
                    if is_leaf(o, node)
                        && let Some(child) = owned_below(element, n, node)
                    {
                        changed
                            .children
                            .entry(element.clone())
                            .or_default()
                            .union(&child);
                    }
                    if !is_leaf(o, node)
                        && let Some(child) = owned_below(element, o, node)
                    {
                        removed
                            .children
                            .entry(element.clone())
                            .or_default()
                            .union(&child);
                    }
                }
                return;
            }
            let mut c = FieldSet::default();
            let mut r = FieldSet::default();
            compare_values(
                Some(o),
                Some(n),
                node,
                structs_tracked,
                false,
                &mut c,
                &mut r,
            );
            if !c.is_empty() {
                changed
                    .children
                    .entry(element.clone())
                    .or_default()
                    .union(&c);
            }
            if !r.is_empty() {
                removed
                    .children
                    .entry(element.clone())
                    .or_default()
                    .union(&r);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    #[test]
    fn canonical_sorts_keys_and_escapes_as_json() {
        let value = json!({"name": "web", "a\"b": [1, "x\ny", null], "port": 80, "é": true});
        assert_eq!(
            canonical(&value),
            r#"{"a\"b":[1,"x\ny",null],"name":"web","port":80,"é":true}"#
        );
    }

    #[test]
    fn fields_v1_round_trips() {
        let encoded = json!({"f:data": {".": {}, "f:a": {}}, "f:spec": {"f:containers": {
            "k:{\"name\":\"web\"}": {".": {}, "f:image": {}}}}});
        let set = FieldSet::from_json(&encoded);
        assert_eq!(set.to_json(), encoded);
        assert_eq!(
            set.paths(),
            vec![
                ".data",
                ".data.a",
                ".spec.containers[name=\"web\"]",
                ".spec.containers[name=\"web\"].image"
            ]
        );
    }

    #[test]
    fn applied_set_uses_list_keys_with_schema_defaults() {
        let schema = Schema::builtin().root("apps/v1", "Deployment");
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"spec": {"containers": [
                {"name": "web", "ports": [{"containerPort": 80}]}]}}}});
        let set = object_set(&object, schema);
        assert_eq!(
            set.to_json(),
            json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:selector": {},
                "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {},
                    "f:name": {}, "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                        ".": {}, "f:containerPort": {}}}}}}}}})
        );
    }

    #[test]
    fn undeclared_keys_are_owned_themselves_as_deduced_structure() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "properties": {"extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "settings": {"type": "object", "additionalProperties": {"type": "object"}}}}}});
        let node = crate::schema::Node::from_schema(&schema);
        let object = json!({"spec": {"extra": {"nested": {"deeper": {"x": 1}}},
            "settings": {"a": {"b": "c"}}}});
        assert_eq!(
            object_set(&object, node).to_json(),
            json!({"f:spec": {"f:extra": {"f:nested": {".": {}, "f:deeper": {".": {}, "f:x": {}}}},
                "f:settings": {"f:a": {".": {}, "f:b": {}}}}})
        );
    }

    #[test]
    fn update_tracks_new_maps_but_not_builtin_structs() {
        let schema = Schema::builtin().root("v1", "ConfigMap");
        let old = json!({});
        let new = json!({"metadata": {"name": "c", "labels": {"x": "1"}}, "data": {"a": "1"}});
        let (changed, removed) = compare(&old, &new, schema, false);
        assert!(removed.is_empty());
        assert_eq!(
            changed.to_json(),
            json!({"f:data": {".": {}, "f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
        );
        let newer = json!({"metadata": {"name": "c", "labels": {"x": "1"}}, "data": {"b": "2"}});
        let (changed, removed) = compare(&new, &newer, schema, false);
        assert_eq!(changed.to_json(), json!({"f:data": {"f:b": {}}}));
        assert_eq!(removed.to_json(), json!({"f:data": {"f:a": {}}}));
    }
}
