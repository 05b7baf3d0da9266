//! The zero value of a built-in kind as Go serialises it: the object the field manager
//! compares a create against (the API server's `New()` of the kind, converted to JSON).
//!
//! A Go zero value holds every field without `omitempty` (the OpenAPI `required` ones) as its
//! zero (`""`, `0`, `false`, `null` for slices, maps and pointers) and every struct held by
//! value, however tagged, with its own zero fields inside; optional pointers, slices and maps
//! are absent. Which struct fields are values the schema does not say: `metadata`, `spec` and
//! `status` always are, and [`VALUE_STRUCTS`] names the other optional ones. A field in the
//! zero value is one a create does not add: when it gets content only that content is owned
//! (`f:spec` without `.`), while a field that appears is owned itself too (`f:labels` with `.`).

use gitops_core::schema::Node;
use serde_json::{Map, Value};

/// Optional struct fields held by value, as `(type, field)` with the type's OpenAPI name
/// without its `io.k8s.api.` prefix.
const VALUE_STRUCTS: &[(&str, &str)] = &[
    ("apps.v1.DeploymentSpec", "strategy"),
    ("apps.v1.DaemonSetSpec", "updateStrategy"),
    ("apps.v1.StatefulSetSpec", "updateStrategy"),
    ("core.v1.Container", "resources"),
    ("core.v1.EphemeralContainer", "resources"),
    ("core.v1.PersistentVolumeClaimSpec", "resources"),
    ("core.v1.PodTemplate", "template"),
    ("core.v1.Event", "source"),
    ("core.v1.Event", "involvedObject"),
    ("events.v1.Event", "regarding"),
    ("events.v1.Event", "deprecatedSource"),
    ("networking.v1.NetworkPolicySpec", "podSelector"),
];

/// Fields held by value in every type.
const ALWAYS_VALUES: &[&str] = &["metadata", "spec", "status"];

/// How deep value structs nest at most (Go value structs cannot recurse; this bounds a
/// schema that does).
const MAX_DEPTH: usize = 16;

/// The zero value of the type at `node`, or an empty object without a schema.
pub(crate) fn object(node: Option<Node<'_>>) -> Value {
    node.map(|n| zero_struct(n, 0))
        .unwrap_or_else(|| Value::Object(Map::new()))
}

/// An object with the zero value's fields it lacks filled in, as the typed object the API
/// server decodes it into serialises.
pub(crate) fn under(object: &Value, zero: &Value) -> Value {
    match (object, zero) {
        (Value::Object(o), Value::Object(z)) => {
            let mut out = o.clone();
            for (key, zv) in z {
                match out.get_mut(key) {
                    Some(existing) => *existing = under(existing, zv),
                    None => {
                        out.insert(key.clone(), zv.clone());
                    }
                }
            }
            Value::Object(out)
        }
        _ => object.clone(),
    }
}

fn zero_struct(node: Node<'_>, depth: usize) -> Value {
    let mut out = Map::new();
    let Some(properties) = node.keyword("properties").and_then(Value::as_object) else {
        return Value::Object(out);
    };
    let required: Vec<&str> = node
        .keyword("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let type_name = node
        .type_name()
        .map(|n| n.strip_prefix("io.k8s.api.").unwrap_or(n));
    for name in properties.keys() {
        let Some(child) = node.field(name) else {
            continue;
        };
        let is_struct = child.keyword("properties").is_some();
        let by_value = ALWAYS_VALUES.contains(&name.as_str())
            || type_name.is_some_and(|t| VALUE_STRUCTS.contains(&(t, name.as_str())));
        let is_required = required.contains(&name.as_str());
        if is_struct && (by_value || is_required) && depth < MAX_DEPTH {
            out.insert(name.clone(), zero_struct(child, depth + 1));
        } else if is_required {
            out.insert(name.clone(), zero_scalar(child));
        }
    }
    Value::Object(out)
}

/// The zero of a required field that is not a value struct.
fn zero_scalar(node: Node<'_>) -> Value {
    match node.json_type() {
        Some("string") => Value::String(String::new()),
        Some("integer") | Some("number") => Value::from(0),
        Some("boolean") => Value::Bool(false),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitops_core::schema::Schema;
    use serde_json::json;

    #[test]
    fn a_deployment_holds_its_value_structs_and_required_fields() {
        let zero = object(Schema::builtin().root("apps/v1", "Deployment"));
        assert_eq!(zero["spec"]["strategy"], json!({}));
        assert_eq!(zero["spec"]["template"]["spec"]["containers"], Value::Null);
        assert!(zero["spec"].get("replicas").is_none());
        assert!(zero["spec"]["strategy"].get("rollingUpdate").is_none());
        assert!(zero["metadata"].get("labels").is_none());
    }
}
