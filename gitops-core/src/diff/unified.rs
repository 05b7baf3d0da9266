//! The unified YAML diff of a desired object against its live counterpart.

use std::collections::HashSet;

use serde_json::{Map, Value};
use similar::TextDiff;

use super::{
    MASK, MASK_AFTER, MASK_BEFORE, Matching, is_omitted_zero, is_secret, is_unset, normalize,
    scalars_equal,
};
use crate::Object;
use crate::schema::{Node, Schema};

/// A unified diff of the live object (`---`) against the desired one (`+++`), both rendered
/// as YAML, with `context` lines around each change; empty when they agree.
///
/// Both objects are [normalised](normalize) here. The live object is then cut down to the
/// fields the desired object sets, so server defaults and other managers' fields do not show,
/// except that live elements of a keyed list the desired list lacks stay (the apply would
/// remove them); matched list elements follow the desired order. Where the comparison of
/// [`compare`](super::compare) holds two values equal (`1` and `1.0`, `500m` and `0.5`), the
/// live side shows the desired spelling. A missing `live` diffs against nothing.
///
/// The headers name the object, `--- Deployment/default/web (live)` and
/// `+++ Deployment/default/web (desired)`. A Secret's `data` values print as `***`, or as
/// `*** (before)` and `*** (after)` where they differ.
///
/// ```
/// use gitops_core::{Object, diff::unified, schema::Schema};
/// let desired = Object::from_value(serde_json::json!({
///     "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "default"},
///     "data": {"mode": "fast"},
/// })).unwrap();
/// let mut live = desired.clone();
/// live.as_map_mut().insert("data".into(), serde_json::json!({"mode": "safe"}));
/// let text = unified(&desired, Some(&live), 3, Schema::builtin());
/// assert!(text.starts_with("--- ConfigMap/default/app (live)\n+++ ConfigMap/default/app (desired)\n"));
/// assert!(text.contains("-  mode: safe\n+  mode: fast\n"));
/// assert_eq!(unified(&desired, Some(&desired), 3, Schema::builtin()), "");
/// ```
pub fn unified(desired: &Object, live: Option<&Object>, context: usize, schema: &Schema) -> String {
    let desired = normalize(desired);
    let root = schema.root(desired.api_version(), desired.kind());
    let name = desired.object_ref().to_string();
    let secret = is_secret(&desired);
    let mut desired_view = desired.into_value();
    let mut live_view = live.map(|l| prune(&normalize(l).into_value(), &desired_view, root));
    if secret {
        mask_secret_data(&mut desired_view, live_view.as_mut());
    }
    let old = live_view.as_ref().map(to_yaml).unwrap_or_default();
    let new = to_yaml(&desired_view);
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(context)
        .header(&format!("{name} (live)"), &format!("{name} (desired)"))
        .to_string()
}

fn to_yaml(value: &Value) -> String {
    serde_saphyr::to_string(value)
        .or_else(|_| serde_json::to_string_pretty(value))
        .unwrap_or_default()
}

/// The part of `live` that `desired` speaks about.
fn prune(live: &Value, desired: &Value, node: Option<Node<'_>>) -> Value {
    match (live, desired) {
        (Value::Object(l), Value::Object(d)) => Value::Object(prune_map(l, d, node)),
        (Value::Array(l), Value::Array(d)) => Value::Array(prune_list(l, d, node)),
        _ if scalars_equal(desired, live, node) => desired.clone(),
        _ => live.clone(),
    }
}

fn prune_map(
    live: &Map<String, Value>,
    desired: &Map<String, Value>,
    node: Option<Node<'_>>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for (key, wanted) in desired {
        let found = live.get(key).filter(|v| !v.is_null());
        // Values the comparison treats as unset show identically on both sides.
        let declared = node.and_then(|n| n.field(key));
        let child = declared.or_else(|| node.and_then(|n| n.values()));
        let agrees_absent = is_unset(wanted) || is_omitted_zero(wanted, declared);
        if wanted.is_null() || (found.is_none() && agrees_absent) {
            out.insert(key.clone(), wanted.clone());
        } else if let Some(found) = found {
            out.insert(key.clone(), prune(found, wanted, child));
        }
    }
    out
}

fn prune_list(live: &[Value], desired: &[Value], node: Option<Node<'_>>) -> Vec<Value> {
    let items = node.and_then(|n| n.items());
    let Some(matching) = Matching::keyed(desired, live, node) else {
        return live
            .iter()
            .enumerate()
            .map(|(i, l)| {
                desired
                    .get(i)
                    .map_or_else(|| l.clone(), |d| prune(l, d, items))
            })
            .collect();
    };
    let matched = desired
        .iter()
        .zip(&matching.pairs)
        .filter_map(|(d, found)| {
            let l = live.get((*found)?)?;
            Some(prune(l, d, items))
        });
    let removed = matching
        .unmatched_live
        .iter()
        .filter_map(|&i| live.get(i).cloned());
    matched.chain(removed).collect()
}

/// Replaces a Secret's values with placeholders that still tell whether each key differs.
fn mask_secret_data(desired: &mut Value, live: Option<&mut Value>) {
    let mut live_data = live
        .and_then(|l| l.get_mut("data"))
        .and_then(Value::as_object_mut);
    let mut differing = HashSet::new();
    if let Some(Value::Object(data)) = desired.get_mut("data") {
        for (key, value) in data.iter_mut() {
            let differs = live_data
                .as_ref()
                .and_then(|l| l.get(key))
                .is_some_and(|l| l != value);
            let mask = if differs { MASK_AFTER } else { MASK };
            if differs {
                differing.insert(key.clone());
            }
            *value = Value::String(mask.into());
        }
    }
    if let Some(data) = live_data.as_mut() {
        for (key, value) in data.iter_mut() {
            let mask = if differing.contains(key) {
                MASK_BEFORE
            } else {
                MASK
            };
            *value = Value::String(mask.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Object {
        Object::from_value(value).unwrap()
    }

    fn deployment(image: &str, extra_live: bool) -> Object {
        let mut container = json!({"name": "web", "image": image});
        if extra_live {
            container["imagePullPolicy"] = json!("IfNotPresent");
            container["terminationMessagePath"] = json!("/dev/termination-log");
        }
        obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [container]}}}}))
    }

    #[test]
    fn server_defaults_do_not_show() {
        let desired = deployment("nginx:2", false);
        let mut live = deployment("nginx:1", true);
        live.as_map_mut()
            .insert("status".into(), json!({"replicas": 2}));
        let text = unified(&desired, Some(&live), 1, Schema::builtin());
        assert!(
            text.starts_with(
                "--- Deployment/default/web (live)\n+++ Deployment/default/web (desired)\n"
            ),
            "{text}"
        );
        assert!(text.contains("-        image: nginx:1\n"), "{text}");
        assert!(text.contains("+        image: nginx:2\n"), "{text}");
        assert!(!text.contains("imagePullPolicy"), "{text}");
        assert!(!text.contains("status"), "{text}");
    }

    #[test]
    fn equal_objects_have_an_empty_diff() {
        let desired = deployment("nginx:1", false);
        let live = deployment("nginx:1", true);
        assert_eq!(unified(&desired, Some(&live), 3, Schema::builtin()), "");
    }

    #[test]
    fn a_missing_live_object_shows_everything_added() {
        let desired = deployment("nginx:1", false);
        let text = unified(&desired, None, 3, Schema::builtin());
        assert!(text.contains("+kind: Deployment\n"), "{text}");
        assert!(
            !text
                .lines()
                .any(|l| l.starts_with('-') && !l.starts_with("---")),
            "{text}"
        );
    }

    #[test]
    fn removed_list_elements_show_and_matched_ones_follow_desired_order() {
        let desired = obj(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}),
        );
        let live = obj(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [
                {"name": "sidecar", "image": "z"},
                {"name": "b", "image": "y", "imagePullPolicy": "Always"},
                {"name": "a", "image": "x"}]}}),
        );
        let text = unified(&desired, Some(&live), 0, Schema::builtin());
        assert!(
            text.contains("-  - name: sidecar\n-    image: z\n"),
            "{text}"
        );
        assert!(!text.contains("name: a"), "{text}");
        assert!(!text.contains("imagePullPolicy"), "{text}");
    }

    #[test]
    fn equal_numbers_and_quantities_do_not_show() {
        let desired = obj(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"priority": 1.0, "containers": [{"name": "a", "resources": {"limits": {"cpu": 0.5}}}]}}),
        );
        let live = obj(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"priority": 1, "containers": [{"name": "a", "resources": {"limits": {"cpu": "500m"}}}]}}),
        );
        assert_eq!(unified(&desired, Some(&live), 3, Schema::builtin()), "");
    }

    #[test]
    fn secret_values_are_masked_but_differences_show() {
        let desired = obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
            "data": {"same": "c2FtZQ==", "changed": "bmV3"},
            "stringData": {"fresh": "plain-secret"}}),
        );
        let live = obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "ns"},
            "data": {"same": "c2FtZQ==", "changed": "b2xk"}}),
        );
        let text = unified(&desired, Some(&live), 5, Schema::builtin());
        for secret in [
            "c2FtZQ==",
            "bmV3",
            "b2xk",
            "plain-secret",
            "cGxhaW4tc2VjcmV0",
        ] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        assert!(text.contains("-  changed: \"*** (before)\"\n"), "{text}");
        assert!(text.contains("+  changed: \"*** (after)\"\n"), "{text}");
        assert!(text.contains("+  fresh: \"***\"\n"), "{text}");
        assert!(text.contains("   same: \"***\"\n"), "{text}");
    }

    #[test]
    fn secrets_without_live_are_masked() {
        let desired = obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"token": "abc123"}}),
        );
        let text = unified(&desired, None, 3, Schema::builtin());
        assert!(text.contains("token:"), "{text}");
        assert!(
            !text.contains("abc123") && !text.contains("YWJjMTIz"),
            "{text}"
        );
    }

    #[test]
    fn unset_values_in_desired_do_not_show() {
        let desired = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {}},
            "data": {"a": "1"}, "binaryData": null}),
        );
        let live = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "1"}, "binaryData": {"b": "AA=="}}),
        );
        assert_eq!(unified(&desired, Some(&live), 3, Schema::builtin()), "");
    }
}
