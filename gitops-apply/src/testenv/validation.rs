//! Validation the built-in strategies perform where clients depend on the answer: names,
//! required fields, selectors and immutable fields.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::registry::Resource;
use super::status::Cause;

const SUBDOMAIN: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const LABEL: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?";

fn full(pattern: &str) -> Option<Regex> {
    Regex::new(&format!("^(?:{pattern})$")).ok()
}

fn subdomain() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| full(SUBDOMAIN)).as_ref()
}

fn label() -> Option<&'static Regex> {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| full(LABEL)).as_ref()
}

/// Kinds whose names must be DNS-1123 labels rather than subdomains.
fn label_named(resource: &Resource) -> bool {
    resource.group.is_empty() && matches!(resource.kind.as_str(), "Namespace" | "Service")
}

/// Checks an object name; `None` when valid.
pub(crate) fn name(resource: &Resource, name: &str) -> Option<Cause> {
    let value = Value::String(name.to_string());
    if label_named(resource) {
        let ok = name.len() <= 63 && label().is_some_and(|re| re.is_match(name));
        if !ok {
            return Some(Cause::invalid(
                "metadata.name",
                &value,
                &format!(
                    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '{LABEL}')"
                ),
            ));
        }
        return None;
    }
    let ok = name.len() <= 253 && subdomain().is_some_and(|re| re.is_match(name));
    if ok {
        None
    } else {
        Some(Cause::invalid(
            "metadata.name",
            &value,
            &format!(
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '{SUBDOMAIN}')"
            ),
        ))
    }
}

/// Validation of a new or updated built-in object (the spec rules clients meet).
pub(crate) fn object(resource: &Resource, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let template_kinds = [
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "Job",
    ];
    if (resource.group == "apps" || resource.group == "batch")
        && template_kinds.contains(&resource.kind.as_str())
    {
        let containers = object.pointer("/spec/template/spec/containers");
        if containers
            .and_then(Value::as_array)
            .is_none_or(|c| c.is_empty())
        {
            causes.push(Cause::required("spec.template.spec.containers", ""));
        }
        if resource.group == "apps"
            && let Some(selector) = object
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
        {
            let labels = object
                .pointer("/spec/template/metadata/labels")
                .cloned()
                .unwrap_or(Value::Object(Default::default()));
            let matches = selector.iter().all(|(k, v)| labels.get(k) == Some(v));
            if !matches {
                causes.push(Cause::invalid(
                    "spec.template.metadata.labels",
                    &labels,
                    "`selector` does not match template `labels`",
                ));
            }
        }
    }
    causes
}

/// Validation of an update against the stored object: immutable fields.
pub(crate) fn update(resource: &Resource, old: &Value, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "ConfigMap") | ("", "Secret")
            if old.get("immutable").and_then(Value::as_bool) == Some(true) =>
        {
            for field in ["data", "binaryData", "stringData"] {
                if old.get(field) != new.get(field) {
                    causes.push(Cause::forbidden(
                        field,
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
            if new.get("immutable") != old.get("immutable") {
                causes.push(Cause::forbidden(
                    "immutable",
                    "field is immutable when `immutable` is set",
                ));
            }
        }
        ("", "Service") => {
            let old_ips = old.pointer("/spec/clusterIPs");
            let new_ip = new.pointer("/spec/clusterIP");
            let old_ip = old.pointer("/spec/clusterIP");
            if new_ip.is_some() && new_ip != old_ip {
                let shown = Value::Array(new_ip.into_iter().cloned().collect());
                causes.push(Cause::invalid(
                    "spec.clusterIPs[0]",
                    &shown,
                    "may not change once set",
                ));
            } else if old_ips.is_some()
                && new.pointer("/spec/clusterIPs").is_some()
                && new.pointer("/spec/clusterIPs") != old_ips
            {
                causes.push(Cause::invalid(
                    "spec.clusterIPs[0]",
                    new.pointer("/spec/clusterIPs").unwrap_or(&Value::Null),
                    "may not change once set",
                ));
            }
        }
        ("apps", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
            if old.pointer("/spec/selector") != new.pointer("/spec/selector") =>
        {
            causes.push(Cause::invalid(
                "spec.selector",
                new.pointer("/spec/selector").unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
        ("batch", "Job") if old.pointer("/spec/template") != new.pointer("/spec/template") => {
            // The real message prints the internal PodTemplateSpec, Go field names and all.
            let template = new.pointer("/spec/template").unwrap_or(&Value::Null);
            causes.push(Cause {
                reason: "FieldValueInvalid",
                message: format!(
                    "Invalid value: {}: field is immutable",
                    super::internal::pod_template(template)
                ),
                field: "spec.template".into(),
            });
        }
        _ => {}
    }
    causes
}
