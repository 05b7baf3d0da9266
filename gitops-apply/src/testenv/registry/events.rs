//! Events are stored once and served as `core/v1` and `events.k8s.io/v1`: the conversion
//! between the two views, the fields each view always prints, and the validation of
//! `events.k8s.io/v1` writes.

use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::status::Cause;

const CORE: &str = "v1";
const EVENTS: &str = "events.k8s.io/v1";

/// Field renames from `events.k8s.io/v1` to `core/v1`.
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// The structure of an `events.k8s.io/v1` Event as server-side apply sees it (the fixtures'
/// OpenAPI documents do not carry the group): object references are atomic.
pub(crate) fn schema() -> &'static Value {
    static SCHEMA: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let reference = json!({"type": "object", "x-kubernetes-map-type": "atomic"});
        let map = json!({"type": "object", "additionalProperties": {"type": "string"}});
        json!({
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {
                "metadata": {"type": "object", "properties": {
                    "labels": map, "annotations": map,
                    "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
                    "ownerReferences": {"type": "array", "items": {"type": "object"}, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["uid"]},
                }},
                "regarding": reference,
                "related": reference,
                "deprecatedSource": {"type": "object"},
                "series": {"type": "object"},
            },
        })
    })
}

/// Whether a resource is one of the two Event views.
pub(crate) fn is_event(resource: &Resource) -> bool {
    resource.plural == "events" && (resource.group.is_empty() || resource.group == "events.k8s.io")
}

/// The object as the resource's version serves it.
pub(crate) fn view(resource: &Resource, object: &Value) -> Value {
    let want = resource.api_version();
    let have = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = if have == want {
        object.clone()
    } else {
        convert(object, &want)
    };
    if let Some(map) = out.as_object_mut() {
        let always: &[(&str, Value)] = if want == EVENTS {
            &[
                ("deprecatedSource", json!({})),
                ("deprecatedFirstTimestamp", Value::Null),
                ("deprecatedLastTimestamp", Value::Null),
            ]
        } else {
            &[
                ("source", json!({})),
                ("firstTimestamp", Value::Null),
                ("lastTimestamp", Value::Null),
                ("eventTime", Value::Null),
                ("reportingComponent", json!("")),
                ("reportingInstance", json!("")),
            ]
        };
        for (key, value) in always {
            map.entry(key.to_string()).or_insert_with(|| value.clone());
        }
    }
    out
}

fn convert(object: &Value, to: &str) -> Value {
    let Some(map) = object.as_object() else {
        return object.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let renamed = if to == CORE {
            RENAMES.iter().find(|(e, _)| e == key).map(|(_, c)| *c)
        } else {
            RENAMES.iter().find(|(_, c)| c == key).map(|(e, _)| *e)
        };
        out.insert(renamed.unwrap_or(key).to_string(), value.clone());
    }
    out.insert("apiVersion".into(), json!(to));
    out.insert("kind".into(), json!("Event"));
    Value::Object(out)
}

/// Validation of an `events.k8s.io/v1` Event.
pub(crate) fn validate(resource: &Resource, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    if resource.group != "events.k8s.io" {
        return causes;
    }
    let controller = object
        .get("reportingController")
        .and_then(Value::as_str)
        .unwrap_or("");
    const NAME: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
    let name_part = controller.rsplit('/').next().unwrap_or("");
    let valid = regex::Regex::new(&format!("^{NAME}$")).is_ok_and(|re| re.is_match(name_part))
        && name_part.len() <= 63;
    if controller.is_empty() {
        causes.push(Cause::required("reportingController", ""));
    }
    if name_part.is_empty() {
        causes.push(Cause::invalid(
            "reportingController",
            &json!(controller),
            "name part must be non-empty",
        ));
    }
    if !valid {
        causes.push(Cause::invalid(
            "reportingController",
            &json!(controller),
            &format!("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '{NAME}')"),
        ));
    }
    causes
}
