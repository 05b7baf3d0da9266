//! Server-side apply: the applied configuration's field set, conflicts with other managers,
//! force, and removal of the fields a manager stopped applying.

use std::sync::Arc;

use gitops_core::schema::Node;
use gitops_core::ssa::{self, fieldpath, managed};
use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::request::Call;
use crate::testenv::state::State;
use crate::testenv::status::ApiError;
use crate::testenv::verbs::Written;
use crate::testenv::verbs::write::{Op, check_namespace, meta_str, stored, with_schema, write};

/// The fields of `config` the schema does not declare, as `.a.b` paths. `path` is the
/// position of `value`, extended and cut back in place as the walk goes (no string per field).
pub(crate) fn undeclared(
    value: &Value,
    node: Option<Node<'_>>,
    path: &mut String,
    out: &mut Vec<String>,
) {
    let Some(node) = node else {
        return;
    };
    if node
        .keyword("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return;
    }
    let len = path.len();
    match value {
        Value::Object(map) => {
            let declares = node.keyword("properties").is_some();
            let open = node.keyword("additionalProperties").is_some();
            for (key, v) in map {
                if len == 0 && matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                path.push('.');
                path.push_str(key);
                if declares && !open && node.field(key).is_none() {
                    out.push(path.clone());
                } else {
                    undeclared(v, node.child(key), path, out);
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                use std::fmt::Write;
                let _ = write!(path, "[{i}]");
                undeclared(item, node.items(), path, out);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Decodes an applied configuration. Clients send JSON (a subset of YAML) far more often than
/// YAML, and a JSON parser reads it an order of magnitude faster; JSON that the strict reader
/// refuses (duplicate keys, say) goes to the YAML parser, whose answer (and error) stands.
fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let json_like = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{');
    if json_like && let Ok(Strict(value)) = serde_json::from_slice::<Strict>(body) {
        return Ok(value);
    }
    let text = String::from_utf8_lossy(body);
    match crate::testenv::verbs::decode::yaml(&text) {
        Ok((value, repeated)) if repeated.is_empty() => Ok(value),
        Ok((_, repeated)) => Err(ApiError::bad_request(format!(
            "error decoding YAML: error converting YAML to JSON: yaml: unmarshal errors:\n  {}",
            repeated.join("\n  ")
        ))),
        Err(e) => Err(ApiError::bad_request(format!(
            "error decoding YAML: error converting YAML to JSON: {e}"
        ))),
    }
}

/// A JSON value whose objects have no duplicate keys (serde_json keeps the last silently; YAML
/// refuses them).
struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let Strict(value) = access.next_value()?;
            if map.insert(key, value).is_some() {
                return Err(serde::de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(map))
    }
}

/// Whether applying `config` as `manager` would leave `live` as it is: the merge changes no
/// value and the manager's apply entry already records exactly the configuration's fields
/// under this apiVersion. Then there can be no conflict, no field to remove and no new
/// managedFields time. Anything else (or any doubt) takes the full path.
fn unchanged(
    resource: &Resource,
    live: &Value,
    config: &Value,
    manager: &str,
    subresource: Option<&str>,
) -> bool {
    let Some((api_version, owned)) = managed::applied_set(live, manager, subresource) else {
        return false;
    };
    if api_version != resource.api_version() {
        return false;
    }
    with_schema(resource, |schema| {
        !managed::merge_changes(live, config, schema)
            && fieldpath::object_set(config, schema) == owned
    })
}

pub(crate) fn apply(
    state: &mut State,
    resource: &Resource,
    namespace: Option<&str>,
    name: &str,
    subresource: Option<&str>,
    call: &Call,
) -> Result<(Arc<Value>, Written), ApiError> {
    let Some(manager) = call
        .q("fieldManager")
        .filter(|m| !m.is_empty())
        .map(str::to_string)
    else {
        return Err({
            let mut e = ApiError::invalid_request();
            e.message = "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch".into();
            e.details = Some(
                json!({"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]}),
            );
            e
        });
    };
    let config = match decode(&call.body)? {
        // An empty document is an object of no type.
        Value::Null => json!({}),
        config => config,
    };
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "error decoding YAML: expected an object",
        ));
    }
    let api_version = config
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    if api_version != resource.api_version() || kind != resource.kind {
        let (g, v) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        return Err(ApiError::bad_request(format!(
            "invalid object type: {g}/{v}, Kind={kind}"
        )));
    }
    if let Some(config_name) = meta_str(&config, "name")
        && config_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({config_name}) does not match the name on the URL ({name})"
        )));
    }
    let ns = if resource.namespaced {
        namespace.unwrap_or("")
    } else {
        ""
    };
    let exists = state.store.get(&resource.storage_key(), ns, name).is_some();
    check_namespace(state, resource, namespace, name, !exists)?;
    let mut unknown = Vec::new();
    with_schema(resource, |schema| {
        undeclared(&config, schema, &mut String::new(), &mut unknown)
    });
    let typed = with_schema(resource, |schema| ssa::check(&config, schema));
    if let Some(first) = unknown
        .first()
        .map(|u| format!("{u}: field not declared in schema"))
        .or(typed.err())
    {
        let gv = if resource.group.is_empty() {
            format!("/{}", resource.version)
        } else {
            resource.api_version()
        };
        let key = if ns.is_empty() {
            name.to_string()
        } else {
            format!("{ns}/{name}")
        };
        return Err(ApiError::internal(format!(
            "failed to create typed patch object ({key}; {gv}, Kind={}): {first}",
            resource.kind
        )));
    }
    let old = stored(state, resource, ns, name);
    if let (Some(custom), Some(live)) = (&resource.custom, &old) {
        reconcile_versions(resource, custom, live)?;
    }
    // A resourceVersion in the configuration is a precondition.
    if let Some(want) = meta_str(&config, "resourceVersion").filter(|r| !r.is_empty()) {
        match &old {
            Some(live) if meta_str(live, "resourceVersion") == Some(want) => {}
            Some(_) => return Err(ApiError::modified(resource, name)),
            None => return Err(ApiError::not_found(resource, name)),
        }
    }
    let force = call.q("force").is_some_and(|f| f == "true");
    // An identical re-apply (the common case of a reconciler) changes nothing: found without
    // merging, computing ownership or writing, and the object keeps its resourceVersion.
    if let Some(live) = &old
        && unchanged(resource, live, &config, &manager, subresource)
    {
        return Ok((live.clone(), Written::Unchanged));
    }
    let base = old.as_deref().cloned().unwrap_or_else(|| {
        let mut metadata = Map::new();
        metadata.insert("name".into(), json!(name));
        if !ns.is_empty() {
            metadata.insert("namespace".into(), json!(ns));
        }
        json!({"apiVersion": resource.api_version(), "kind": resource.kind, "metadata": metadata})
    });
    let mut entries = managed::read(old.as_deref());
    // An object nobody manages (created before managedFields, or reset) is first recorded as
    // an update from an empty object by `before-first-apply` (apimachinery's
    // skipNonAppliedManager), so that the first applier conflicts like any other and shares
    // what it applies unchanged; like any update, it owns the maps and structs it creates.
    if let Some(live) = old.as_deref()
        && entries.is_empty()
    {
        let (set, _) = with_schema(resource, |schema| {
            fieldpath::compare(&json!({}), live, schema, resource.custom.is_some())
        });
        entries.push(managed::Entry {
            manager: "before-first-apply".into(),
            operation: "Update".into(),
            api_version: resource.api_version(),
            time: Some(json!(crate::testenv::verbs::write::now())),
            subresource: None,
            set,
        });
    }
    let api_version = resource.api_version();
    let request = ssa::Applied {
        manager: &manager,
        subresource,
        api_version: &api_version,
        force,
        custom_resource: resource.custom.is_some(),
    };
    // Managers that applied in another version of a converted built-in kind are compared in
    // their own version, as structured-merge-diff converts the objects for them.
    let (entries, foreign): (Vec<managed::Entry>, Vec<managed::Entry>) =
        if crate::testenv::registry::hpa::is_hpa(resource) {
            entries
                .into_iter()
                .partition(|e| e.api_version == api_version)
        } else {
            (entries, Vec::new())
        };
    let (merged, mut entries) = with_schema(resource, |schema| {
        ssa::apply(&base, &config, entries, &request, schema)
    })
    .map_err(|conflicts| ApiError::apply_conflict(&conflicts.0))?;
    entries.extend(other_versions(resource, &base, &merged, foreign, force)?);
    let op = Op::Apply {
        manager,
        subresource: subresource.map(str::to_string),
        entries,
    };
    write(
        state,
        resource,
        ns,
        name,
        old.as_ref(),
        merged,
        op,
        call.dry_run(),
    )
}

/// Before applying, the server reads every manager's fields in the version they were recorded
/// in: the live object is converted (conversion `None` only rewrites `apiVersion`, it prunes
/// nothing) and typed with that version's schema, so a field that version does not declare
/// fails the request. Versions the CRD no longer has are skipped.
/// The entries of managers at other versions after an apply: the live and merged objects are
/// converted to each manager's version and compared there; the fields the apply changed that
/// such a manager owns conflict (or move, when forced), and fields it removed are no longer
/// owned.
fn other_versions(
    resource: &Resource,
    live: &Value,
    merged: &Value,
    entries: Vec<managed::Entry>,
    force: bool,
) -> Result<Vec<managed::Entry>, ApiError> {
    let mut conflicts = Vec::new();
    let mut kept = Vec::with_capacity(entries.len());
    for mut entry in entries {
        let version = entry.api_version.rsplit('/').next().unwrap_or("");
        let (old, new) = (
            crate::testenv::registry::hpa::convert(live, version),
            crate::testenv::registry::hpa::convert(merged, version),
        );
        let schema =
            gitops_core::schema::Schema::builtin().root(&entry.api_version, &resource.kind);
        let (changed, removed) = fieldpath::compare(&old, &new, schema, false);
        let taken = entry.set.intersection(&changed);
        if !taken.is_empty() {
            if force {
                entry.set.subtract(&taken);
            } else {
                conflicts.extend(taken.paths().into_iter().map(|p| (entry.printed(), p)));
            }
        }
        entry.set.subtract(&removed);
        kept.push(entry);
    }
    if conflicts.is_empty() {
        Ok(kept)
    } else {
        Err(ApiError::apply_conflict(&conflicts))
    }
}

fn reconcile_versions(
    resource: &Resource,
    custom: &crate::testenv::registry::crd::CustomVersion,
    live: &Value,
) -> Result<(), ApiError> {
    let prefix = format!("{}/", resource.group);
    for entry in managed::read(Some(live)) {
        let Some(version) = entry.api_version.strip_prefix(&prefix) else {
            continue;
        };
        if version == resource.version {
            continue;
        }
        let Some(schema) = custom.schemas.get(version) else {
            continue;
        };
        let mut found = Vec::new();
        undeclared(
            live,
            Node::from_schema(schema),
            &mut String::new(),
            &mut found,
        );
        if let Some(first) = found.first() {
            return Err(ApiError::internal(format!(
                "{first}: field not declared in schema"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_call(manager: &str, body: Value) -> Call {
        let mut call = Call::internal(manager);
        call.content_type = "application/apply-patch+yaml".into();
        call.query.insert("fieldManager".into(), manager.into());
        call.body = serde_json::to_vec(&body).unwrap_or_default().into();
        call
    }

    #[test]
    fn a_manager_of_another_version_is_compared_in_its_own_version() {
        let server = crate::testenv::Server::new();
        crate::testenv::controllers::system_namespaces::create(&mut server.lock());
        let mut state = server.lock();
        let (Ok(v2), Ok(v1)) = (
            state.resource("autoscaling", "v2", "horizontalpodautoscalers"),
            state.resource("autoscaling", "v1", "horizontalpodautoscalers"),
        ) else {
            panic!("both autoscaling versions are served");
        };
        let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"});
        let at_v2 = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": target, "maxReplicas": 5, "metrics": [{"type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}});
        let call = apply_call("a", at_v2);
        assert!(apply(&mut state, &v2, Some("default"), "web", None, &call).is_ok());
        let at_v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": target, "maxReplicas": 5, "targetCPUUtilizationPercentage": 60}});
        let call = apply_call("b", at_v1.clone());
        let Err(conflict) = apply(&mut state, &v1, Some("default"), "web", None, &call) else {
            panic!("the v1 target conflicts with the v2 metrics");
        };
        assert_eq!(conflict.code, 409);
        assert_eq!(
            conflict.message,
            "Apply failed with 1 conflict: conflict with \"a\": .spec.metrics"
        );
        let mut forced = apply_call("b", at_v1);
        forced.query.insert("force".into(), "true".into());
        assert!(apply(&mut state, &v1, Some("default"), "web", None, &forced).is_ok());
        let Some(stored) = stored(&state, &v2, "default", "web") else {
            panic!("the autoscaler is stored");
        };
        assert_eq!(
            stored.pointer("/spec/metrics/0/resource/target/averageUtilization"),
            Some(&json!(60))
        );
        let a = managed::read(Some(&stored))
            .into_iter()
            .find(|e| e.manager == "a")
            .map(|e| e.set.to_json());
        assert_eq!(
            a,
            Some(json!({"f:spec": {"f:maxReplicas": {}, "f:scaleTargetRef": {
                "f:apiVersion": {}, "f:kind": {}, "f:name": {}}}}))
        );
    }

    #[test]
    fn an_object_nobody_manages_is_first_recorded_as_updated_from_empty_by_before_first_apply() {
        let server = crate::testenv::Server::new();
        crate::testenv::controllers::system_namespaces::create(&mut server.lock());
        let mut state = server.lock();
        let Ok(resource) = state.resource("", "v1", "configmaps") else {
            panic!("configmaps are served");
        };
        let object = |managed: Option<Value>, data: Value| {
            let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "owned", "namespace": "default"}, "data": data});
            if let Some(managed) = managed {
                o["metadata"]["managedFields"] = managed;
            }
            o
        };
        let editor = Call::internal("editor");
        let created = crate::testenv::verbs::write::create_object(
            &mut state,
            &resource,
            Some("default"),
            object(Some(json!([])), json!({"k1": "1"})),
            &editor,
        );
        // A create is tracked even when it sends an empty list.
        assert!(created.is_ok_and(|(o, _)| o.pointer("/metadata/managedFields/0").is_some()));
        let update = |state: &mut State, body: Value| {
            crate::testenv::verbs::write::update(
                state,
                &resource,
                Some("default"),
                "owned",
                None,
                body,
                &editor,
            )
            .is_ok()
        };
        // An empty list resets them; later updates are not tracked.
        assert!(update(
            &mut state,
            object(Some(json!([])), json!({"k1": "1"}))
        ));
        assert!(update(
            &mut state,
            object(None, json!({"k1": "1", "k2": "2"}))
        ));
        let live = stored(&state, &resource, "default", "owned");
        assert!(live.is_some_and(|l| l.pointer("/metadata/managedFields").is_none()));
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "owned", "namespace": "default"}, "data": {"k1": "1"}});
        let call = apply_call("flux", config);
        let result = apply(&mut state, &resource, Some("default"), "owned", None, &call);
        let Ok((applied, _)) = result else {
            panic!("the apply succeeds");
        };
        let entries = applied["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(entries.len(), 2);
        let of = |manager: &str| {
            entries
                .iter()
                .find(|e| e["manager"] == json!(manager))
                .cloned()
                .unwrap_or_default()
        };
        // The object did not change, so the applier's entry carries no time.
        assert_eq!(of("flux")["fieldsV1"], json!({"f:data": {"f:k1": {}}}));
        assert!(of("flux").get("time").is_none());
        let before = of("before-first-apply");
        assert_eq!(before["operation"], json!("Update"));
        assert_eq!(
            before["fieldsV1"],
            json!({"f:data": {".": {}, "f:k1": {}, "f:k2": {}}})
        );
    }

    #[test]
    fn json_and_yaml_bodies_decode_alike() {
        let json = br#" {"kind": "ConfigMap", "data": {"a": "1", "n": 2, "f": 1.5, "z": null, "l": [true]}}"#;
        let yaml = b"kind: ConfigMap\ndata:\n  a: '1'\n  n: 2\n  f: 1.5\n  z: null\n  l: [true]\n";
        assert_eq!(decode(json).ok(), decode(yaml).ok());
        assert!(decode(json).is_ok());
        // Duplicate keys are not silently resolved: the YAML parser decides.
        assert!(decode(br#"{"kind": "ConfigMap", "kind": "Secret"}"#).is_err());
    }
}
