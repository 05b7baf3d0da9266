//! Server-side apply as the API server performs it, without an API server: field sets and
//! their `fieldsV1` encoding ([`fieldpath`]), managedFields entries and the merge of an
//! applied configuration into a live object ([`managed`]), and [`apply`], which puts them
//! together: ownership, conflicts with other managers, force, and the removal of fields a
//! manager stopped applying.
//!
//! It is the one implementation of these rules in the workspace: the testenv API server
//! stores objects with it, [`crate::testkit::MemoryCluster`] predicts what a cluster keeps
//! with it, and the apply engine reasons about ownership with it. List and map semantics come
//! from the schema the caller passes in (built-in kinds from [`crate::schema::Schema`],
//! custom resources from their CRD's `openAPIV3Schema`), never from a lookup made here.
//!
//! ```
//! use gitops_core::schema::Schema;
//! use gitops_core::ssa::{self, Applied};
//! use serde_json::json;
//!
//! let schema = Schema::builtin().root("v1", "ConfigMap");
//! let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a"}, "data": {"x": "1"}});
//! let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a"}, "data": {"y": "2"}});
//! let request = Applied {
//!     manager: "me", subresource: None, api_version: "v1", force: false, custom_resource: false,
//! };
//! let (merged, entries) = ssa::apply(&live, &config, Vec::new(), &request, schema).unwrap();
//! assert_eq!(merged["data"], json!({"x": "1", "y": "2"}));
//! assert_eq!(entries[0].manager, "me");
//! ```

pub mod fieldpath;
pub mod managed;

use serde_json::Value;

use crate::schema::Node;
pub use fieldpath::FieldSet;
pub use managed::Entry;

/// Who applies, and how.
#[derive(Clone, Copy, Debug)]
pub struct Applied<'a> {
    /// The field manager.
    pub manager: &'a str,
    /// The subresource written (`status`), `None` for the main resource.
    pub subresource: Option<&'a str>,
    /// The apiVersion the configuration was applied in, recorded in the manager's entry.
    pub api_version: &'a str,
    /// Take fields owned by other managers instead of failing with a conflict.
    pub force: bool,
    /// Whether the object is a custom resource: an object field that appears in it is a
    /// member of the field set itself, where built-in structs always exist (see
    /// [`fieldpath::compare`]).
    pub custom_resource: bool,
}

/// Fields another manager owns with a different value: `(manager as printed, field path)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflicts(pub Vec<(String, String)>);

/// Checks an applied configuration as structured-merge-diff types it before merging: list
/// items with equal keys and strings where numbers go are refused. The error is the path and
/// reason as the API server prints them (`.spec.tags: duplicate entries for key [="a"]`).
pub fn check(config: &Value, schema: Option<Node<'_>>) -> Result<(), String> {
    check_at(config, schema, &mut String::new())
}

fn check_at(value: &Value, node: Option<Node<'_>>, path: &mut String) -> Result<(), String> {
    let Some(node) = node else {
        return Ok(());
    };
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let Some(next) = node.child(key) else {
                    continue;
                };
                let len = path.len();
                if node.field(key).is_some() {
                    path.push('.');
                    path.push_str(key);
                } else {
                    path.push_str(&fieldpath::Element::Field(key.clone()).print());
                }
                let result = check_at(child, Some(next), path);
                path.truncate(len);
                result?;
            }
        }
        Value::Array(items) => {
            let kind = fieldpath::list_kind(Some(node));
            let keyed = !matches!(kind, crate::schema::ListKind::Atomic);
            let mut seen = std::collections::BTreeSet::new();
            for (i, item) in items.iter().enumerate() {
                let element = fieldpath::item_element(item, &kind, Some(node), i);
                if keyed && !seen.insert(element.clone()) {
                    return Err(format!(
                        "{path}: duplicate entries for key {}",
                        element.print()
                    ));
                }
                let len = path.len();
                path.push_str(&element.print());
                let result = check_at(item, node.items(), path);
                path.truncate(len);
                result?;
            }
        }
        Value::String(_) if matches!(node.json_type(), Some("integer" | "number")) => {
            return Err(format!(
                "{path}: expected numeric (int or float), got string"
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Applies `config` over `live` for `request.manager`, given the object's managedFields
/// `entries`: the merged object (without managedFields) and the entries it should carry.
///
/// A field the configuration sets to a value that differs from the live one and that another
/// manager owns is a conflict, unless `force` moves it; fields the manager applied before,
/// no longer applies and nobody else owns are removed.
pub fn apply(
    live: &Value,
    config: &Value,
    mut entries: Vec<Entry>,
    request: &Applied<'_>,
    schema: Option<Node<'_>>,
) -> Result<(Value, Vec<Entry>), Conflicts> {
    let applied = fieldpath::object_set(config, schema);
    let mut merged = live.clone();
    managed::merge(&mut merged, config, schema);
    let (changed, _) = fieldpath::compare(live, &merged, schema, request.custom_resource);
    let mut conflicts = Vec::new();
    for entry in entries.iter_mut() {
        if entry.is(request.manager, "Apply", request.subresource) {
            continue;
        }
        let both = entry.set.intersection(&changed).intersection(&applied);
        if both.is_empty() {
            continue;
        }
        if request.force {
            entry.set.subtract(&both);
        } else {
            for path in both.paths() {
                conflicts.push((entry.printed(), path));
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(Conflicts(conflicts));
    }
    let mine = entries
        .iter()
        .position(|e| e.is(request.manager, "Apply", request.subresource));
    match mine {
        Some(i) => {
            let stale = stale(&entries, i, &applied);
            if !stale.is_empty() {
                managed::remove(&mut merged, &stale, schema);
            }
            entries[i].set = applied;
        }
        None => entries.push(Entry {
            manager: request.manager.to_string(),
            operation: "Apply".into(),
            api_version: request.api_version.to_string(),
            time: None,
            subresource: request.subresource.map(str::to_string),
            set: applied,
        }),
    }
    if let Some(meta) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    Ok((merged, entries))
}

/// The fields entry `mine` owns that `applied` no longer sets and no other entry owns: what
/// an apply of `applied` by that manager removes.
fn stale(entries: &[Entry], mine: usize, applied: &FieldSet) -> FieldSet {
    let mut stale = entries[mine].set.clone();
    stale.subtract(applied);
    stale.drop_ancestors_of(applied);
    for (j, other) in entries.iter().enumerate() {
        if j != mine {
            stale.subtract(&other.set);
        }
    }
    stale
}

/// The fields a forced server-side apply of `config` by `manager` would remove from `live`,
/// given the object's managedFields `entries`: those the manager's Apply entry owns, the
/// configuration no longer sets and no other manager owns, when at least one of them is
/// still in `live`. Empty when the manager never applied the object.
///
/// This is the part of "would the apply change anything" that comparing the configuration's
/// own fields with the live object cannot see: a field deleted from Git.
///
/// ```
/// use gitops_core::schema::Schema;
/// use gitops_core::ssa::{self, managed};
/// use serde_json::json;
/// let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a",
///     "managedFields": [{"manager": "me", "operation": "Apply", "apiVersion": "v1",
///         "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:x": {}, "f:y": {}}}}]},
///     "data": {"x": "1", "y": "2"}});
/// let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
///     "data": {"x": "1"}});
/// let entries = managed::read(Some(&live));
/// let schema = Schema::builtin().root("v1", "ConfigMap");
/// let (live, config) = (live.as_object().unwrap(), config.as_object().unwrap());
/// let removed = ssa::removed_by(live, config, &entries, "me", schema);
/// assert_eq!(removed.paths(), [".data.y"]);
/// ```
pub fn removed_by(
    live: &serde_json::Map<String, Value>,
    config: &serde_json::Map<String, Value>,
    entries: &[Entry],
    manager: &str,
    schema: Option<Node<'_>>,
) -> FieldSet {
    let Some(mine) = entries.iter().position(|e| e.is(manager, "Apply", None)) else {
        return FieldSet::default();
    };
    let applied = fieldpath::map_set(config, schema);
    let stale = stale(entries, mine, &applied);
    if stale.is_empty() {
        return stale;
    }
    let mut pruned = Value::Object(live.clone());
    managed::remove(&mut pruned, &stale, schema);
    if pruned.as_object() == Some(live) {
        FieldSet::default()
    } else {
        stale
    }
}
