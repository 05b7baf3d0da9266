//! Between the Kubernetes object and the core: a GitRepository read as the core's value, and
//! the core's status written back as the smallest merge patch of the status subresource.
//!
//! Only what changed is sent (nothing at all when the reconcile changed nothing), and only
//! the fields the core knows are touched: a status field it does not model is left as the
//! server has it.

use gitops_core::api::GitRepository;
use gitops_core::status::GitRepositoryStatus;
use serde_json::{Map, Value};

/// The object could not be read as a GitRepository.
#[derive(Debug, thiserror::Error)]
#[error("cannot read GitRepository {key}: {error}; check that the object matches the CRD")]
pub struct DecodeError {
    /// `<namespace>/<name>`, as far as it could be read.
    pub key: String,
    /// The failure.
    pub error: serde_json::Error,
}

/// Reads any serialisable GitRepository object (the CRD type, a `DynamicObject`) as the
/// core's value.
pub fn to_core<K: serde::Serialize>(object: &K) -> Result<GitRepository, DecodeError> {
    let mut value = serde_json::to_value(object).map_err(|error| DecodeError {
        key: String::new(),
        error,
    })?;
    let key = format!(
        "{}/{}",
        value["metadata"]["namespace"].as_str().unwrap_or_default(),
        value["metadata"]["name"].as_str().unwrap_or_default()
    );
    if let Some(map) = value.as_object_mut() {
        // An object that was never reconciled may serialise `status: null`.
        if map.get("status").is_some_and(Value::is_null) {
            map.remove("status");
        }
    }
    serde_json::from_value(value).map_err(|error| DecodeError { key, error })
}

/// The merge patch (RFC 7386) turning `old` into `new`, `None` when they are equal.
pub fn status_patch(
    old: &GitRepositoryStatus,
    new: &GitRepositoryStatus,
) -> Result<Option<Value>, serde_json::Error> {
    let old = serde_json::to_value(old)?;
    let new = serde_json::to_value(new)?;
    Ok(merge_diff(&old, &new))
}

/// A merge patch from `old` to `new`: changed keys with their new value, removed keys as
/// `null`, objects recursively, anything else (lists included) replaced whole.
pub fn merge_diff(old: &Value, new: &Value) -> Option<Value> {
    match (old, new) {
        (Value::Object(o), Value::Object(n)) => {
            let mut patch = Map::new();
            for (k, nv) in n {
                match o.get(k) {
                    Some(ov) => {
                        if let Some(d) = merge_diff(ov, nv) {
                            patch.insert(k.clone(), d);
                        }
                    }
                    None => {
                        patch.insert(k.clone(), nv.clone());
                    }
                }
            }
            for k in o.keys() {
                if !n.contains_key(k) {
                    patch.insert(k.clone(), Value::Null);
                }
            }
            (!patch.is_empty()).then_some(Value::Object(patch))
        }
        (o, n) if o == n => None,
        (_, n) => Some(n.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_patch_carries_only_changes() {
        let old = json!({"a": 1, "b": {"c": [1, 2], "d": "x"}, "gone": true});
        let new = json!({"a": 1, "b": {"c": [1, 3], "d": "x"}, "new": "y"});
        assert_eq!(
            merge_diff(&old, &new),
            Some(json!({"b": {"c": [1, 3]}, "gone": null, "new": "y"}))
        );
        assert_eq!(merge_diff(&new, &new), None);
    }

    #[test]
    fn objects_are_read_with_a_null_status() {
        let repo = to_core(&json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "podinfo", "namespace": "default", "generation": 2,
                         "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": []},
            "spec": {"url": "http://127.0.0.1/repo.git", "interval": "1m",
                     "ref": {"branch": "main"}, "timeout": "60s"},
            "status": null,
        }))
        .unwrap();
        assert_eq!(repo.metadata.name, "podinfo");
        assert_eq!(repo.status.observed_generation, -1);
        let err = to_core(&json!({"metadata": {"name": "x", "namespace": "y"}})).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read GitRepository y/x: ")
        );
    }
}
