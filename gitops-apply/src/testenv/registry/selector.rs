//! The label and field selectors of list and watch requests, parsed and matched by
//! [`gitops_core::selector`].
//!
//! Field selectors are checked as the API server checks them: the text must parse as
//! `field=value`, `field==value` or `field!=value` terms (`fields.ParseSelector`), and every
//! field must be one the kind's field label conversion knows. Most kinds know only
//! `metadata.name` and `metadata.namespace`; the kinds of [`FIELD_LABELS`] name theirs (with
//! the legacy spellings they rewrite, such as a Pod's `spec.host`).

use gitops_core::selector::{Requirement, Selector};
use serde_json::Value;

use crate::testenv::registry::Resource;
use crate::testenv::status::ApiError;

/// The label and field selectors of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub labels: Selector,
    /// The field requirements, their fields as the kind's conversion names them.
    pub fields: Vec<Requirement>,
}

/// The fields a kind's field label conversion accepts, by group and kind (core v1's
/// `AddFieldLabelConversionFunc` registrations and those of the other groups). A kind not
/// listed accepts only `metadata.name` and `metadata.namespace`.
const FIELD_LABELS: &[(&str, &str, &[&str])] = &[
    (
        "",
        "Pod",
        &[
            "metadata.name",
            "metadata.namespace",
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.podIPs",
            "status.nominatedNodeName",
        ],
    ),
    ("", "Node", &["metadata.name", "spec.unschedulable"]),
    (
        "",
        "ReplicationController",
        &["metadata.name", "metadata.namespace", "status.replicas"],
    ),
    (
        "",
        "Event",
        &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
            "metadata.namespace",
            "metadata.name",
        ],
    ),
    ("", "Namespace", &["status.phase", "metadata.name"]),
    (
        "",
        "Secret",
        &["type", "metadata.namespace", "metadata.name"],
    ),
    (
        "",
        "Service",
        &[
            "metadata.namespace",
            "metadata.name",
            "spec.clusterIP",
            "spec.type",
        ],
    ),
    (
        "apps",
        "ReplicaSet",
        &["metadata.name", "metadata.namespace", "status.replicas"],
    ),
    (
        "apps",
        "StatefulSet",
        &["metadata.name", "metadata.namespace", "status.successful"],
    ),
    (
        "batch",
        "Job",
        &["metadata.name", "metadata.namespace", "status.successful"],
    ),
    (
        "certificates.k8s.io",
        "CertificateSigningRequest",
        &["metadata.name", "spec.signerName"],
    ),
];

/// Legacy field names a kind's conversion rewrites to the current ones.
const FIELD_ALIASES: &[(&str, &str, &str, &str)] = &[("", "Pod", "spec.host", "spec.nodeName")];

impl Filter {
    /// The filter of a request's `labelSelector` and `fieldSelector` query values, the field
    /// selector checked against what `resource` supports.
    pub fn parse(labels: &str, fields: &str, resource: &Resource) -> Result<Filter, ApiError> {
        let labels = Selector::parse(labels)
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        check_field_terms(fields)?;
        let parsed = Selector::parse_fields(fields)
            .map_err(|e| ApiError::bad_request(format!("unable to parse requirement: {e}")))?;
        let mut requirements = Vec::new();
        for requirement in parsed.requirements() {
            let field = convert_field(resource, requirement.key())?;
            requirements.push(match requirement {
                Requirement::NotEquals(_, v) => Requirement::NotEquals(field, v.clone()),
                Requirement::Equals(_, v) => Requirement::Equals(field, v.clone()),
                other => other.clone(),
            });
        }
        Ok(Filter {
            labels,
            fields: requirements,
        })
    }

    /// Whether the request has no selector (every object passes).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }

    /// Whether an object passes both selectors.
    pub fn matches(&self, object: &Value) -> bool {
        self.labels.matches_map(
            object
                .pointer("/metadata/labels")
                .and_then(Value::as_object),
        ) && self
            .fields
            .iter()
            .all(|r| r.matches(Some(&field(object, r.key()))))
    }
}

/// Every term of a field selector must hold an operator (`!=`, `==` or `=`).
fn check_field_terms(text: &str) -> Result<(), ApiError> {
    let mut term = String::new();
    let mut escaped = false;
    let mut terms = Vec::new();
    for c in text.chars() {
        if escaped {
            term.push(c);
            escaped = false;
        } else if c == '\\' {
            term.push(c);
            escaped = true;
        } else if c == ',' {
            terms.push(std::mem::take(&mut term));
        } else {
            term.push(c);
        }
    }
    terms.push(term);
    terms.sort();
    for term in terms.iter().filter(|t| !t.is_empty()) {
        if !term.contains('=') {
            return Err(ApiError::bad_request(format!(
                "invalid selector: '{text}'; can't understand '{term}'"
            )));
        }
    }
    Ok(())
}

/// The field a selector names, as the kind's field label conversion accepts it.
fn convert_field(resource: &Resource, label: &str) -> Result<String, ApiError> {
    if let Some((_, _, _, to)) = FIELD_ALIASES
        .iter()
        .find(|(g, k, from, _)| *g == resource.group && *k == resource.kind && *from == label)
    {
        return Ok((*to).to_string());
    }
    let listed = FIELD_LABELS
        .iter()
        .find(|(g, k, _)| *g == resource.group && *k == resource.kind);
    match listed {
        Some((_, _, fields)) if fields.contains(&label) => Ok(label.to_string()),
        Some(_) => Err(ApiError::bad_request(format!(
            "field label not supported: {label}"
        ))),
        None if resource.custom.is_some() => {
            if matches!(label, "metadata.name" | "metadata.namespace") {
                Ok(label.to_string())
            } else {
                Err(ApiError::bad_request(format!(
                    "field label not supported: {label}"
                )))
            }
        }
        None if matches!(label, "metadata.name" | "metadata.namespace") => Ok(label.to_string()),
        None => Err(ApiError::bad_request(format!(
            "{label:?} is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        ))),
    }
}

/// A field's value as a field selector compares it: absent and null are the empty string;
/// an Event's `source` is its component.
fn field(object: &Value, path: &str) -> String {
    let path = if path == "source" && object.get("kind").and_then(Value::as_str) == Some("Event") {
        "source.component"
    } else {
        path
    };
    let pointer = format!("/{}", path.replace('.', "/"));
    match object.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(group: &str, kind: &str) -> Resource {
        Resource {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
            namespaced: true,
            verbs: std::sync::Arc::from([]),
            subresources: std::sync::Arc::from([]),
            entry: std::sync::Arc::new(json!({})),
            custom: None,
        }
    }

    fn message(result: Result<Filter, ApiError>) -> String {
        result.err().map(|e| e.message).unwrap_or_default()
    }

    #[test]
    fn field_selectors_accept_the_fields_of_the_kind() {
        let pods = resource("", "Pod");
        let filter = Filter::parse("", "spec.host=node-a,status.phase!=Failed", &pods);
        let filter = filter.unwrap_or_default();
        let pod = json!({"spec": {"nodeName": "node-a"}, "status": {"phase": "Pending"}});
        assert!(filter.matches(&pod));
        assert_eq!(
            message(Filter::parse("", "spec.replicas=1", &pods)),
            "field label not supported: spec.replicas"
        );
        assert_eq!(
            message(Filter::parse(
                "",
                "spec.replicas=1",
                &resource("apps", "Deployment")
            )),
            "\"spec.replicas\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        );
        assert_eq!(
            message(Filter::parse("", "metadata.name in (a)", &pods)),
            "invalid selector: 'metadata.name in (a)'; can't understand 'metadata.name in (a)'"
        );
    }
}
