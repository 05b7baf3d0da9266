//! The object an API server stores after a server-side apply by a single field manager.
//!
//! The prediction is exact for one manager and objects without server defaults inside
//! lists: fields the manager applies are set, fields it applied before and no longer
//! applies are removed, and every other field of the live object is kept. Lists are
//! replaced as a whole. The in-memory [`crate::testkit`] cluster stores objects this way, and
//! property tests use it to check that a plan, once applied, converges.
//!
//! ```
//! use gitops_core::{merge, Object};
//! let obj = |v| Object::from_value(v).unwrap();
//! let live = obj(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a", "uid": "1"}, "data": {"x": "1", "y": "2"}}));
//! let before = obj(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a"}, "data": {"x": "1", "y": "2"}}));
//! let desired = obj(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
//!     "metadata": {"name": "a"}, "data": {"x": "3"}}));
//! let stored = merge::apply(Some(&live), Some(&before), &desired);
//! assert_eq!(stored.to_value()["data"], serde_json::json!({"x": "3"}));
//! assert_eq!(stored.to_value()["metadata"]["uid"], "1");
//! ```

use serde_json::Value;

use crate::Object;

/// Applies `desired` over `live`; `previous` is what the same manager applied last time.
pub fn apply(live: Option<&Object>, previous: Option<&Object>, desired: &Object) -> Object {
    let Some(live) = live else {
        return desired.clone();
    };
    let merged = merge_value(
        &live.to_value(),
        previous.map(Object::to_value).as_ref(),
        &desired.to_value(),
    );
    // Identity fields come from `desired`, which carries them, so the result stays valid.
    Object::from_value(merged).unwrap_or_else(|_| desired.clone())
}

fn merge_value(live: &Value, previous: Option<&Value>, desired: &Value) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => {
            let mut out = l.clone();
            if let Some(Value::Object(p)) = previous {
                for key in p.keys() {
                    if !d.contains_key(key) {
                        out.remove(key);
                    }
                }
            }
            for (key, dv) in d {
                let prev = previous.and_then(|p| p.get(key));
                let merged = match l.get(key) {
                    Some(lv) => merge_value(lv, prev, dv),
                    None => dv.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        _ => desired.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object::from_value(v).unwrap()
    }

    #[test]
    fn keeps_other_fields_and_removes_dropped_ones() {
        let live = obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"x": "1", "other": "keep"}},
            "spec": {"replicas": 2, "paused": true, "template": {"x": 1}}, "status": {"s": 1}}));
        let previous = obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"replicas": 2, "paused": true}}));
        let desired = obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a", "labels": {"y": "2"}}, "spec": {"replicas": 3}}));
        let v = apply(Some(&live), Some(&previous), &desired).to_value();
        assert_eq!(v["metadata"]["labels"], json!({"other": "keep", "y": "2"}));
        assert_eq!(v["spec"], json!({"replicas": 3, "template": {"x": 1}}));
        assert_eq!(v["status"], json!({"s": 1}));
    }

    #[test]
    fn creates_when_missing_and_replaces_lists() {
        let desired = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "l": [1]}),
        );
        assert_eq!(apply(None, None, &desired), desired);
        let live = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "l": [1, 2]}),
        );
        assert_eq!(
            apply(Some(&live), None, &desired).to_value()["l"],
            json!([1])
        );
    }
}
