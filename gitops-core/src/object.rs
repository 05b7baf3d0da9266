//! Kubernetes objects as data: [`Object`], its identity [`ObjectRef`], and where it came from
//! ([`Origin`]).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// A Kubernetes object as plain data: a JSON map that is known to carry `apiVersion`, `kind`
/// and `metadata.name`.
///
/// The object keeps every field it was given, in order; accessors read the few fields the
/// core needs to reason about identity and ownership.
///
/// ```
/// use gitops_core::Object;
/// let obj = Object::from_value(serde_json::json!({
///     "apiVersion": "apps/v1", "kind": "Deployment",
///     "metadata": {"name": "web", "namespace": "default"},
/// })).unwrap();
/// assert_eq!(obj.object_ref().to_string(), "Deployment/default/web");
/// assert_eq!(obj.group(), "apps");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value", into = "Value")]
pub struct Object {
    map: Map<String, Value>,
}

impl Object {
    /// Wraps a JSON value, checking that it is a map with `apiVersion`, `kind` and
    /// `metadata.name` as non-empty strings.
    pub fn from_value(value: Value) -> Result<Self, Error> {
        Self::checked(value, true)
    }

    /// [`Object::from_value`] without requiring `apiVersion`, which kustomize lets a
    /// resource leave out (it must be a string when present).
    pub(crate) fn from_value_without_api_version(value: Value) -> Result<Self, Error> {
        Self::checked(value, false)
    }

    fn checked(value: Value, api_version: bool) -> Result<Self, Error> {
        let Value::Object(map) = value else {
            return Err(Error::InvalidObject {
                origin: None,
                object: String::new(),
                field: String::new(),
                reason: "a Kubernetes object must be a YAML or JSON map".into(),
            });
        };
        for field in ["apiVersion", "kind"] {
            match map.get(field) {
                Some(Value::String(s)) if !s.is_empty() => {}
                None if field == "apiVersion" && !api_version => {}
                _ => {
                    return Err(Error::InvalidObject {
                        origin: None,
                        object: describe(&map),
                        field: field.into(),
                        reason: "is required and must be a non-empty string".into(),
                    });
                }
            }
        }
        match map.get("metadata").and_then(|m| m.get("name")) {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => {
                return Err(Error::InvalidObject {
                    origin: None,
                    object: describe(&map),
                    field: "metadata.name".into(),
                    reason: "is required and must be a non-empty string".into(),
                });
            }
        }
        Ok(Self { map })
    }

    /// `apiVersion`, e.g. `apps/v1` or `v1`.
    pub fn api_version(&self) -> &str {
        self.str_at(&["apiVersion"]).unwrap_or_default()
    }

    /// The API group: the part of `apiVersion` before `/`, empty for the core group.
    pub fn group(&self) -> &str {
        split_api_version(self.api_version()).0
    }

    /// The API version without the group, e.g. `v1`.
    pub fn version(&self) -> &str {
        split_api_version(self.api_version()).1
    }

    /// `kind`, e.g. `Deployment`.
    pub fn kind(&self) -> &str {
        self.str_at(&["kind"]).unwrap_or_default()
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        self.str_at(&["metadata", "name"]).unwrap_or_default()
    }

    /// `metadata.namespace`, or `None` when unset or empty.
    pub fn namespace(&self) -> Option<&str> {
        self.str_at(&["metadata", "namespace"])
            .filter(|ns| !ns.is_empty())
    }

    /// Sets `metadata.namespace`; an empty string removes it.
    pub fn set_namespace(&mut self, namespace: &str) {
        let meta = self.metadata_mut();
        if namespace.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), Value::String(namespace.into()));
        }
    }

    /// The identity of this object: group, kind, namespace and name.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef::new(
            self.group(),
            self.kind(),
            self.namespace().unwrap_or_default(),
            self.name(),
        )
    }

    /// A label's value, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.str_at(&["metadata", "labels", key])
    }

    /// An annotation's value, if set.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.str_at(&["metadata", "annotations", key])
    }

    /// Sets a label, creating `metadata.labels` when needed.
    pub fn set_label(&mut self, key: &str, value: &str) {
        self.string_map_mut("labels")
            .insert(key.into(), Value::String(value.into()));
    }

    /// Sets an annotation, creating `metadata.annotations` when needed.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        self.string_map_mut("annotations")
            .insert(key.into(), Value::String(value.into()));
    }

    /// `metadata.generation`, when the server has set it.
    pub fn generation(&self) -> Option<i64> {
        self.at(&["metadata", "generation"]).and_then(Value::as_i64)
    }

    /// `metadata.resourceVersion`, when the server has set it.
    pub fn resource_version(&self) -> Option<&str> {
        self.str_at(&["metadata", "resourceVersion"])
    }

    /// Whether `metadata.deletionTimestamp` is set.
    pub fn is_terminating(&self) -> bool {
        self.at(&["metadata", "deletionTimestamp"])
            .is_some_and(|v| !v.is_null())
    }

    /// The value at a path of map keys, e.g. `["spec", "replicas"]`.
    pub fn at(&self, path: &[&str]) -> Option<&Value> {
        let (first, rest) = path.split_first()?;
        let mut cur = self.map.get(*first)?;
        for key in rest {
            cur = cur.get(*key)?;
        }
        Some(cur)
    }

    /// The string at a path of map keys.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        self.at(path).and_then(Value::as_str)
    }

    /// A digest of the object's content that does not depend on key order: two objects with
    /// the same fields and values have the same fingerprint. The apply engine keeps it for
    /// each applied object, so that an unchanged desired object costs no request.
    pub fn fingerprint(&self) -> crate::Digest {
        let mut canonical = Vec::new();
        write_canonical_map(&self.map, &mut canonical);
        crate::Digest::sha256(&canonical)
    }

    /// The object's fields.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The object's fields, mutable. Changing `apiVersion`, `kind` or `metadata.name` to
    /// something invalid is the caller's responsibility.
    pub fn as_map_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.map
    }

    /// The object as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.map.clone())
    }

    /// The object as a JSON value, without copying.
    pub fn into_value(self) -> Value {
        Value::Object(self.map)
    }

    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let meta = self
            .map
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        match meta {
            Value::Object(m) => m,
            _ => unreachable!("metadata was just made a map"),
        }
    }

    fn string_map_mut(&mut self, field: &str) -> &mut Map<String, Value> {
        let entry = self
            .metadata_mut()
            .entry(field)
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        match entry {
            Value::Object(m) => m,
            _ => unreachable!("the field was just made a map"),
        }
    }
}

impl TryFrom<Value> for Object {
    type Error = Error;
    fn try_from(value: Value) -> Result<Self, Error> {
        Self::from_value(value)
    }
}

impl From<Object> for Value {
    fn from(obj: Object) -> Value {
        obj.into_value()
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.object_ref().fmt(f)
    }
}

/// Writes JSON with map keys sorted, so equal values give equal bytes.
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => write_canonical_map(map, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(v, out);
            }
            out.push(b']');
        }
        scalar => write_json(scalar, out),
    }
}

/// A map with its keys sorted, written in place (no copy of the map or its keys: this runs
/// for every object applied).
fn write_canonical_map(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push(b'{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json(k, out);
        out.push(b':');
        if let Some(v) = map.get(k) {
            write_canonical(v, out);
        }
    }
    out.push(b'}');
}

/// Compact JSON of a scalar or key, as `Value`'s `Display` prints it.
fn write_json<T: serde::Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) {
    // Writing a string or scalar into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, value);
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    api_version.rsplit_once('/').unwrap_or(("", api_version))
}

fn describe(map: &Map<String, Value>) -> String {
    let get = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or("");
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("");
    match (get("kind"), name) {
        ("", "") => String::new(),
        (kind, "") => kind.to_string(),
        ("", name) => name.to_string(),
        (kind, name) => format!("{kind}/{name}"),
    }
}

/// The identity of an object: group, kind, namespace and name. The version is not part of the
/// identity (the API server serves the same object under every version of its group).
///
/// An empty `group` is the core group; an empty `namespace` is a cluster-scoped object.
/// `Display` prints Flux's subject form, `Kind/namespace/name` or `Kind/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// API group, empty for the core group.
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace, empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ObjectRef {
    /// Builds a reference from its four parts.
    pub fn new(
        group: impl Into<String>,
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            group: group.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Whether the object is namespaced (has a namespace).
    pub fn is_namespaced(&self) -> bool {
        !self.namespace.is_empty()
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Where an object was read from: the file, the document within it (0-based) and the line
/// where that document starts (1-based).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Origin {
    /// Path of the file, relative to the artifact or render root.
    pub file: String,
    /// Index of the YAML document in the file, from 0.
    pub document: usize,
    /// Line where the document starts, from 1.
    pub line: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (document {}, line {})",
            self.file, self.document, self.line
        )
    }
}

/// An object together with the place it was read from.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The object.
    pub object: Object,
    /// Where it was read from.
    pub origin: Origin,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accessors_read_identity() {
        let obj = Object::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:viewer", "labels": {"a": "b"}}
        }))
        .unwrap();
        assert_eq!(obj.group(), "rbac.authorization.k8s.io");
        assert_eq!(obj.version(), "v1");
        assert_eq!(obj.namespace(), None);
        assert_eq!(obj.label("a"), Some("b"));
        assert_eq!(obj.object_ref().to_string(), "ClusterRole/system:viewer");
    }

    #[test]
    fn missing_fields_are_named() {
        let err =
            Object::from_value(json!({"apiVersion": "v1", "metadata": {"name": "x"}})).unwrap_err();
        assert!(err.to_string().contains("kind"), "{err}");
        let err = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap"})).unwrap_err();
        assert!(err.to_string().contains("metadata.name"), "{err}");
        assert!(err.to_string().contains("ConfigMap"), "{err}");
        let err = Object::from_value(json!(["a"])).unwrap_err();
        assert!(err.to_string().contains("map"), "{err}");
    }

    #[test]
    fn fingerprint_ignores_key_order_only() {
        let a = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x"}, "data": {"a": "1", "b": "2"}}))
        .unwrap();
        let b = Object::from_value(json!({"kind": "ConfigMap", "data": {"b": "2", "a": "1"},
            "metadata": {"name": "x"}, "apiVersion": "v1"}))
        .unwrap();
        let c = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "x"}, "data": {"a": "1", "b": "3"}}))
        .unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
    }

    #[test]
    fn setters_create_maps() {
        let mut obj = Object::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}),
        )
        .unwrap();
        obj.set_label("l", "1");
        obj.set_annotation("a", "2");
        obj.set_namespace("ns");
        assert_eq!(obj.label("l"), Some("1"));
        assert_eq!(obj.annotation("a"), Some("2"));
        assert_eq!(obj.object_ref(), ObjectRef::new("", "ConfigMap", "ns", "x"));
        obj.set_namespace("");
        assert_eq!(obj.namespace(), None);
    }
}
