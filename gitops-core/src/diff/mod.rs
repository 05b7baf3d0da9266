//! Drift detection: what applying a desired object would change in its live counterpart.
//!
//! Both objects are first [normalised](normalize) (server-populated metadata, `status` and
//! the last-applied annotation removed; port protocols defaulted; a Secret's `stringData`
//! folded into `data`). Then only the fields the desired object sets are compared: a field the
//! live object has and the desired one does not is a default the server filled in, or a field
//! another manager owns, and server-side apply would leave it alone. Lists follow their
//! server-side apply semantics from the built-in [`schema`](crate::schema): keyed lists
//! (containers by `name`, ports by `containerPort` and `protocol`) are matched element by
//! element, and a live element the desired list lacks is reported as removed, since the apply
//! would drop it. Atomic lists and sets are compared by position and must have the same
//! length. The schema is the caller's: [`Schema::builtin`] for built-in kinds only, or a
//! [`Schema::extended`] that learnt CRDs, so that a custom resource's list maps
//! (`x-kubernetes-list-map-keys`) match by key too; a kind the schema does not know has all its
//! lists compared by position.
//!
//! The result reads as a list of [`Change`]s ([`compare`]) or as a unified YAML diff
//! ([`unified`]). A Secret's values never appear in either.
//!
//! ```
//! use gitops_core::{Object, diff::{compare, ChangeKind}, schema::Schema};
//! let desired = Object::from_value(serde_json::json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "default"},
//!     "spec": {"replicas": 3, "template": {"spec": {"containers": [
//!         {"name": "web", "image": "nginx:1.27"}]}}},
//! })).unwrap();
//! let live = Object::from_value(serde_json::json!({
//!     "apiVersion": "apps/v1", "kind": "Deployment",
//!     "metadata": {"name": "web", "namespace": "default", "uid": "1f0c", "generation": 4},
//!     "spec": {"replicas": 2, "revisionHistoryLimit": 10, "template": {"spec": {"containers": [
//!         {"name": "web", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent"}]}}},
//!     "status": {"readyReplicas": 2},
//! })).unwrap();
//! let changes = compare(&desired, &live, Schema::builtin());
//! assert_eq!(changes.len(), 1);
//! assert_eq!(changes[0].kind, ChangeKind::Modified);
//! assert_eq!(changes[0].to_string(), "spec.replicas: 2 -> 3");
//! ```

mod normalize;
mod quantity;
mod unified;

use std::fmt;

use serde_json::{Map, Number, Value};

use crate::Object;
use crate::schema::{ListKind, Node, Schema};

pub use normalize::{normalize, normalize_desired};
pub use unified::unified;

/// The definition name of resource quantities, whose text the server canonicalises.
const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// How long a value may print in a [`Change`]'s one-line form before it is cut.
const BRIEF_LEN: usize = 72;

/// What applying the desired object would do to one field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// The desired object sets a field the live object lacks.
    Added,
    /// Both have the field, with different values.
    Modified,
    /// The live object has something the apply would remove: an element of a keyed list that
    /// the desired list does not contain.
    Removed,
}

/// One difference between a desired object and its live counterpart.
///
/// `path` names the field readably:
///
/// - map keys are joined with `.`, e.g. `spec.replicas`, `data.config`;
/// - a key that is empty or holds characters other than ASCII letters, digits, `-`, `_` and
///   `/` is written as a quoted string in brackets: `metadata.labels["app.kubernetes.io/name"]`;
/// - an element of a keyed list is selected by its key fields:
///   `spec.template.spec.containers[name=web].image`,
///   `ports[containerPort=80,protocol=TCP]` (a key value that is not a plain word is written as
///   JSON);
/// - an element of any other list by its index from 0: `spec.rules[0].host`.
///
/// The values of a Secret's `data` are never carried: they are replaced by `***`, or
/// `*** (before)` and `*** (after)` when both sides have the key.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The field, in the format above.
    pub path: String,
    /// What the apply would do to it.
    pub kind: ChangeKind,
    /// The desired value, `None` when removed.
    pub desired: Option<Value>,
    /// The live value, `None` when added.
    pub live: Option<Value>,
}

impl fmt::Display for Change {
    /// One line, live value first: `spec.replicas: 2 -> 3`, `spec.paused: <unset> -> true`.
    /// Strings print as JSON strings and long values are cut.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} -> {}",
            self.path,
            brief(self.live.as_ref()),
            brief(self.desired.as_ref())
        )
    }
}

fn brief(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "<unset>".into();
    };
    let text = value.to_string();
    if text.chars().count() <= BRIEF_LEN {
        return text;
    }
    let cut: String = text.chars().take(BRIEF_LEN - 3).collect();
    format!("{cut}...")
}

/// The changes applying `desired` would make to `live`; empty when the objects are in sync.
///
/// Both objects are [normalised](normalize) here, so callers pass them as they are. Only the
/// fields `desired` sets are compared; from `metadata`, only the `labels` and `annotations`
/// keys it sets. A desired `null` counts as unset, and so does, where the live object has
/// nothing, an empty map or list or, in a built-in kind, a zero value (`false`, `0`, `""`),
/// none of which the API server stores. Numbers compare by value (`1` equals `1.0`), and resource quantities too
/// (`0.5` equals `500m`). Changes come in the order of the desired object's fields.
///
/// `schema` gives the list and map semantics (and declared fields) of the object's kind; a
/// custom resource's come from its CRD when `schema` learnt it ([`Schema::add_crd`]).
pub fn compare(desired: &Object, live: &Object, schema: &Schema) -> Vec<Change> {
    let desired = normalize(desired);
    let live = normalize(live);
    let root = schema.root(desired.api_version(), desired.kind());
    let mut walk = Walk {
        custom: schema.is_custom(desired.api_version(), desired.kind()),
        ..Walk::default()
    };
    for (key, value) in desired.as_map() {
        match key.as_str() {
            "apiVersion" | "kind" => {}
            "metadata" => {
                let mark = walk.path.push_key(key);
                walk.metadata(
                    value,
                    live.as_map().get(key),
                    root.and_then(|n| n.field(key)),
                );
                walk.path.truncate(mark);
            }
            _ => walk.field(key, value, live.as_map(), root),
        }
    }
    if is_secret(&desired) {
        walk.changes.iter_mut().for_each(mask_change);
    }
    walk.changes
}

fn is_secret(object: &Object) -> bool {
    object.group().is_empty() && object.kind() == "Secret"
}

/// The state of one comparison: the changes found and the path of the field being compared.
#[derive(Default)]
struct Walk {
    changes: Vec<Change>,
    path: Path,
    /// Whether the object is a custom resource: its zero values are stored, not omitted.
    custom: bool,
}

impl Walk {
    fn record(&mut self, kind: ChangeKind, desired: Option<&Value>, live: Option<&Value>) {
        self.changes.push(Change {
            path: self.path.0.clone(),
            kind,
            desired: desired.cloned(),
            live: live.cloned(),
        });
    }

    fn metadata(&mut self, desired: &Value, live: Option<&Value>, node: Option<Node<'_>>) {
        let empty = Value::Object(Map::new());
        for field in ["labels", "annotations"] {
            let Some(wanted) = desired.get(field) else {
                continue;
            };
            // Missing live labels are an empty map, so that each desired label is its own change.
            let found = live.and_then(|m| m.get(field)).unwrap_or(&empty);
            let mark = self.path.push_key(field);
            self.value(wanted, Some(found), node.and_then(|n| n.field(field)));
            self.path.truncate(mark);
        }
    }

    fn value(&mut self, desired: &Value, live: Option<&Value>, node: Option<Node<'_>>) {
        match (desired, live) {
            (Value::Null, _) => {}
            (_, None | Some(Value::Null)) => {
                if !is_unset(desired) {
                    self.record(ChangeKind::Added, Some(desired), None);
                }
            }
            (Value::Object(d), Some(Value::Object(l))) => self.map(d, l, node),
            (Value::Array(d), Some(Value::Array(l))) => self.list(d, l, node),
            (_, Some(l)) => {
                if !scalars_equal(desired, l, node) {
                    self.record(ChangeKind::Modified, Some(desired), Some(l));
                }
            }
        }
    }

    fn map(
        &mut self,
        desired: &Map<String, Value>,
        live: &Map<String, Value>,
        node: Option<Node<'_>>,
    ) {
        for (key, value) in desired {
            self.field(key, value, live, node);
        }
    }

    /// Compares one key of a map; `node` is the map's schema.
    fn field(
        &mut self,
        key: &str,
        desired: &Value,
        live: &Map<String, Value>,
        node: Option<Node<'_>>,
    ) {
        let declared = node.and_then(|n| n.field(key));
        let found = live.get(key);
        if !self.custom && found.is_none_or(Value::is_null) && is_omitted_zero(desired, declared) {
            return;
        }
        let mark = self.path.push_key(key);
        self.value(
            desired,
            found,
            declared.or_else(|| node.and_then(|n| n.values())),
        );
        self.path.truncate(mark);
    }

    fn list(&mut self, desired: &[Value], live: &[Value], node: Option<Node<'_>>) {
        let items = node.and_then(|n| n.items());
        match Matching::keyed(desired, live, node) {
            Some(matching) => self.keyed(desired, live, items, &matching),
            None => self.positional(desired, live, items),
        }
    }

    fn keyed(
        &mut self,
        desired: &[Value],
        live: &[Value],
        items: Option<Node<'_>>,
        matching: &Matching,
    ) {
        for (element, found) in desired.iter().zip(&matching.pairs) {
            let mark = self.path.push_selector(&matching.keys, element, items);
            match found {
                Some(index) => self.value(element, live.get(*index), items),
                None => self.record(ChangeKind::Added, Some(element), None),
            }
            self.path.truncate(mark);
        }
        for &index in &matching.unmatched_live {
            let Some(element) = live.get(index) else {
                continue;
            };
            let mark = self.path.push_selector(&matching.keys, element, items);
            self.record(ChangeKind::Removed, None, Some(element));
            self.path.truncate(mark);
        }
    }

    fn positional(&mut self, desired: &[Value], live: &[Value], items: Option<Node<'_>>) {
        if desired.len() != live.len() {
            self.record(
                ChangeKind::Modified,
                Some(&Value::Array(desired.to_vec())),
                Some(&Value::Array(live.to_vec())),
            );
            return;
        }
        for (index, (d, l)) in desired.iter().zip(live).enumerate() {
            let mark = self.path.push_index(index);
            self.value(d, Some(l), items);
            self.path.truncate(mark);
        }
    }
}

/// Whether a desired value means "not set" when the live object lacks the field: `null`, or an
/// empty map or list, which the API server never stores.
fn is_unset(desired: &Value) -> bool {
    match desired {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Whether a desired value is the zero value (`false`, `0`, `""`) of a declared field of a
/// built-in kind. Those fields are Go struct fields, mostly `omitempty`, so the server reads
/// them back absent; a live object without the field agrees. The cost is that a pointer field
/// explicitly set to its zero value and later removed from the live object goes unnoticed.
/// Map values (ConfigMap data, labels) and custom resources keep their zero values.
fn is_omitted_zero(desired: &Value, declared: Option<Node<'_>>) -> bool {
    declared.is_some()
        && match desired {
            Value::Bool(b) => !b,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.is_empty(),
            _ => false,
        }
}

/// Whether two leaf values are the same: numbers and quantities by value, anything else
/// (including a map against a scalar) by equality.
fn scalars_equal(desired: &Value, live: &Value, node: Option<Node<'_>>) -> bool {
    if node.and_then(|n| n.type_name()) == Some(QUANTITY) {
        return quantity::equal(desired, live);
    }
    match (desired, live) {
        (Value::Number(a), Value::Number(b)) => numbers_equal(a, b),
        _ => desired == live,
    }
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x == y;
    }
    matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y)
}

/// How the elements of a desired keyed list pair with the live list's.
struct Matching {
    /// The list's key fields.
    keys: Vec<String>,
    /// For each desired element, the index of its live match.
    pairs: Vec<Option<usize>>,
    /// Live elements no desired element matched, in live order.
    unmatched_live: Vec<usize>,
}

impl Matching {
    /// Pairs elements by key when the schema says the list is keyed and every element is a
    /// map; `None` otherwise, for the caller to compare by position. A missing key field takes
    /// its schema default, as the server fills it in (a port's `protocol`). With duplicate
    /// keys, the n-th desired element pairs with the n-th live element.
    fn keyed(desired: &[Value], live: &[Value], node: Option<Node<'_>>) -> Option<Matching> {
        let ListKind::Map(keys) = node?.list() else {
            return None;
        };
        let all_maps = desired.iter().chain(live).all(Value::is_object);
        if keys.is_empty() || !all_maps {
            return None;
        }
        let items = node.and_then(|n| n.items());
        let live_keys: Vec<_> = live.iter().map(|e| key_values(e, &keys, items)).collect();
        let mut used = vec![false; live.len()];
        let pairs = desired
            .iter()
            .map(|element| {
                let wanted = key_values(element, &keys, items);
                let index =
                    (0..live.len()).find(|&i| !used[i] && keys_equal(&wanted, &live_keys[i]))?;
                used[index] = true;
                Some(index)
            })
            .collect();
        let unmatched_live = (0..live.len()).filter(|&i| !used[i]).collect();
        Some(Matching {
            keys,
            pairs,
            unmatched_live,
        })
    }
}

fn key_values<'v>(
    element: &'v Value,
    keys: &[String],
    items: Option<Node<'v>>,
) -> Vec<Option<&'v Value>> {
    keys.iter()
        .map(|key| {
            element
                .get(key)
                .filter(|v| !v.is_null())
                .or_else(|| items.and_then(|n| n.field(key)).and_then(|n| n.default()))
        })
        .collect()
}

fn keys_equal(a: &[Option<&Value>], b: &[Option<&Value>]) -> bool {
    a.iter().zip(b).all(|pair| match pair {
        (Some(x), Some(y)) => scalars_equal(x, y, None),
        (None, None) => true,
        _ => false,
    })
}

/// A [`Change`] path under construction. Segments are pushed on the way down and cut off on
/// the way back up, so one buffer serves a whole walk.
#[derive(Default)]
struct Path(String);

impl Path {
    /// Appends a map key; returns the length to truncate back to.
    fn push_key(&mut self, key: &str) -> usize {
        let mark = self.0.len();
        if is_plain(key, false) {
            if !self.0.is_empty() {
                self.0.push('.');
            }
            self.0.push_str(key);
        } else {
            self.0.push('[');
            self.0.push_str(&Value::String(key.into()).to_string());
            self.0.push(']');
        }
        mark
    }

    fn push_index(&mut self, index: usize) -> usize {
        let mark = self.0.len();
        self.0.push_str(&format!("[{index}]"));
        mark
    }

    fn push_selector(
        &mut self,
        keys: &[String],
        element: &Value,
        items: Option<Node<'_>>,
    ) -> usize {
        let mark = self.0.len();
        let values = key_values(element, keys, items);
        let parts: Vec<String> = keys
            .iter()
            .zip(values)
            .map(|(key, value)| format!("{key}={}", selector_value(value)))
            .collect();
        self.0.push_str(&format!("[{}]", parts.join(",")));
        mark
    }

    fn truncate(&mut self, mark: usize) {
        self.0.truncate(mark);
    }
}

/// Whether text can stand in a path unquoted; inside a selector, dots are unambiguous too.
fn is_plain(text: &str, in_selector: bool) -> bool {
    !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(c, '-' | '_' | '/')
                || (in_selector && matches!(c, '.' | ':'))
        })
}

fn selector_value(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) if is_plain(s, true) => s.clone(),
        Some(other) => other.to_string(),
        None => "null".into(),
    }
}

const MASK: &str = "***";
const MASK_BEFORE: &str = "*** (before)";
const MASK_AFTER: &str = "*** (after)";

/// Hides Secret values in a change found under `data`.
fn mask_change(change: &mut Change) {
    let under_data = change.path == "data"
        || change.path.starts_with("data.")
        || change.path.starts_with("data[");
    if !under_data {
        return;
    }
    let both = change.desired.is_some() && change.live.is_some();
    let (before, after) = if both {
        (MASK_BEFORE, MASK_AFTER)
    } else {
        (MASK, MASK)
    };
    if let Some(live) = change.live.as_mut() {
        mask_values(live, before);
    }
    if let Some(desired) = change.desired.as_mut() {
        mask_values(desired, after);
    }
}

/// Replaces every leaf of a value with `mask`, keeping map keys visible.
fn mask_values(value: &mut Value, mask: &str) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| mask_values(v, mask)),
        other => *other = Value::String(mask.into()),
    }
}

#[cfg(test)]
mod tests;
