//! `ValidateObjectMeta`: the name (by the kind's name rule), generateName, labels,
//! annotations and finalizers of every object.

use serde_json::Value;

use super::Report;
use super::names;
use crate::testenv::registry::Resource;
use crate::testenv::status::Cause;

/// The total size annotations may have.
const ANNOTATIONS_LIMIT: usize = 256 * 1024;

/// How a kind's names are validated.
fn name_rule(resource: &Resource) -> fn(&str) -> Vec<String> {
    match (resource.group.as_str(), resource.kind.as_str()) {
        // Services took DNS-1035 labels until relaxed to RFC 1123 labels (v1.34 on).
        ("", "Namespace" | "Service") => names::dns1123_label,
        ("rbac.authorization.k8s.io", _) => names::path_segment,
        _ => names::dns1123_subdomain,
    }
}

/// A generateName is checked as a name with its trailing dash masked.
fn as_prefix(value: &str) -> String {
    match value.strip_suffix('-') {
        Some(rest) => format!("{rest}a"),
        None => value.to_string(),
    }
}

pub(super) fn object_meta(resource: &Resource, object: &Value, report: &mut Report) {
    let meta = object.get("metadata").cloned().unwrap_or(Value::Null);
    let rule = name_rule(resource);
    let name = meta.get("name").and_then(Value::as_str).unwrap_or("");
    let generate = meta
        .get("generateName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !generate.is_empty() {
        report.invalids(
            "metadata.generateName",
            &Value::String(generate.into()),
            rule(&as_prefix(generate)),
        );
    }
    if name.is_empty() {
        if generate.is_empty() {
            report.push(Cause::required(
                "metadata.name",
                "name or generateName is required",
            ));
        }
    } else {
        report.invalids("metadata.name", &Value::String(name.into()), rule(name));
    }
    if let Some(labels) = meta.get("labels").and_then(Value::as_object) {
        for (key, value) in labels {
            report.invalids(
                "metadata.labels",
                &Value::String(key.clone()),
                names::qualified_name(key),
            );
            let text = value.as_str().unwrap_or("");
            report.invalids("metadata.labels", value, names::label_value(text));
        }
    }
    if let Some(annotations) = meta.get("annotations").and_then(Value::as_object) {
        let mut total = 0;
        for (key, value) in annotations {
            report.invalids(
                "metadata.annotations",
                &Value::String(key.clone()),
                names::qualified_name(&key.to_lowercase()),
            );
            total += key.len() + value.as_str().map_or(0, str::len);
        }
        if total > ANNOTATIONS_LIMIT {
            report.push(Cause::too_long("metadata.annotations", ANNOTATIONS_LIMIT));
        }
    }
    for finalizer in meta
        .get("finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = finalizer.as_str().unwrap_or("");
        report.invalids(
            "metadata.finalizers",
            finalizer,
            names::qualified_name(text),
        );
    }
}
