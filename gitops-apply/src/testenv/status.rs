//! Kubernetes `Status` answers: every failure the server reports, shaped as a real
//! kube-apiserver shapes it (reason, code, details and causes).

use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;

/// One field-level cause of an `Invalid` answer.
#[derive(Clone, Debug)]
pub(crate) struct Cause {
    pub reason: &'static str,
    pub message: String,
    pub field: String,
}

impl Cause {
    /// `Required value[: detail]`.
    #[cfg_attr(test, track_caller)]
    pub fn required(field: &str, detail: &str) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Cause {
            reason: "FieldValueRequired",
            message,
            field: field.to_string(),
        }
    }

    /// `Invalid value: <value>: detail`, the value printed as Go prints it.
    #[cfg_attr(test, track_caller)]
    pub fn invalid(field: &str, value: &Value, detail: &str) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {}: {detail}", go_value(value)),
            field: field.to_string(),
        }
    }

    /// `Invalid value: <printed>: detail`, for a value the caller prints itself (an internal
    /// Go struct, as some immutability messages show it).
    #[cfg_attr(test, track_caller)]
    pub fn invalid_printed(field: &str, printed: &str, detail: &str) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {printed}: {detail}"),
            field: field.to_string(),
        }
    }

    /// `Forbidden: detail`.
    #[cfg_attr(test, track_caller)]
    pub fn forbidden(field: &str, detail: &str) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        Cause {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: {detail}"),
            field: field.to_string(),
        }
    }

    /// `Too long: may not be more than <limit> bytes`.
    #[cfg_attr(test, track_caller)]
    pub fn too_long(field: &str, limit: usize) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        Cause {
            reason: "FieldValueTooLong",
            message: format!("Too long: may not be more than {limit} bytes"),
            field: field.to_string(),
        }
    }

    /// `Duplicate value: <value>`.
    #[cfg_attr(test, track_caller)]
    pub fn duplicate(field: &str, value: &Value) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        Cause {
            reason: "FieldValueDuplicate",
            message: format!("Duplicate value: {}", go_value(value)),
            field: field.to_string(),
        }
    }

    /// `Not found: <value>`.
    #[cfg_attr(test, track_caller)]
    pub fn not_found(field: &str, value: &Value) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        Cause {
            reason: "FieldValueNotFound",
            message: format!("Not found: {}", go_value(value)),
            field: field.to_string(),
        }
    }

    /// `Unsupported value: <value>: supported values: ...`.
    #[cfg_attr(test, track_caller)]
    pub fn unsupported(field: &str, value: &Value, supported: &[String]) -> Cause {
        #[cfg(test)]
        rule_sites::record(std::panic::Location::caller());
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Cause {
            reason: "FieldValueNotSupported",
            message: format!(
                "Unsupported value: {}: supported values: {}",
                go_value(value),
                list.join(", ")
            ),
            field: field.to_string(),
        }
    }
}

/// Which rule sites ran, for the rule catalogue's test: every field error and default is
/// created at a call site in `registry/validation` or `registry/defaults.rs`, and the catalogue
/// must reach each one (see `registry/catalogue`). Recording is per thread and off unless a
/// test turns it on.
#[cfg(test)]
pub(crate) mod rule_sites {
    use std::cell::RefCell;
    use std::collections::BTreeSet;
    use std::panic::Location;

    thread_local! {
        static HITS: RefCell<Option<BTreeSet<(String, u32)>>> = const { RefCell::new(None) };
    }

    /// Starts recording on this thread, forgetting earlier hits.
    pub(crate) fn start() {
        HITS.with(|h| *h.borrow_mut() = Some(BTreeSet::new()));
    }

    /// The sites hit since [`start`], as (file, line); recording stops.
    pub(crate) fn take() -> BTreeSet<(String, u32)> {
        HITS.with(|h| h.borrow_mut().take().unwrap_or_default())
    }

    pub(crate) fn record(location: &'static Location<'static>) {
        HITS.with(|h| {
            if let Some(hits) = h.borrow_mut().as_mut() {
                hits.insert((location.file().replace('\\', "/"), location.line()));
            }
        });
    }
}

/// A value as Kubernetes field errors print it: strings quoted, objects as compact JSON.
pub(crate) fn go_value(value: &Value) -> String {
    value.to_string()
}

/// A failed request: HTTP status plus the body of a `Status` object.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub code: u16,
    pub reason: Option<&'static str>,
    pub message: String,
    pub details: Option<Value>,
    /// A plain-text body instead of a `Status` (the mux's "404 page not found").
    pub plain: bool,
}

impl ApiError {
    fn new(code: u16, reason: Option<&'static str>, message: String) -> ApiError {
        ApiError {
            code,
            reason,
            message,
            details: None,
            plain: false,
        }
    }

    pub(crate) fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// The body answered for this error.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("kind".into(), json!("Status"));
        body.insert("apiVersion".into(), json!("v1"));
        body.insert("metadata".into(), json!({}));
        body.insert("status".into(), json!("Failure"));
        body.insert("message".into(), json!(self.message));
        if let Some(reason) = self.reason {
            body.insert("reason".into(), json!(reason));
        }
        if let Some(details) = &self.details {
            body.insert("details".into(), details.clone());
        }
        body.insert("code".into(), json!(self.code));
        Value::Object(body)
    }

    /// The mux's answer for a path no API group serves.
    pub fn page_not_found() -> ApiError {
        ApiError {
            plain: true,
            ..ApiError::new(404, None, "404 page not found\n".into())
        }
    }

    /// 405 for a verb the path does not serve (a create across namespaces).
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            405,
            Some("MethodNotAllowed"),
            "the server does not allow this method on the requested resource".into(),
        )
        .with_details(json!({}))
    }

    /// 404 for a resource the group version does not serve.
    pub fn no_resource() -> ApiError {
        ApiError::new(
            404,
            Some("NotFound"),
            "the server could not find the requested resource".into(),
        )
        .with_details(json!({}))
    }

    /// `<resource> "<name>" not found`.
    pub fn not_found(resource: &Resource, name: &str) -> ApiError {
        ApiError::new(
            404,
            Some("NotFound"),
            format!("{} \"{name}\" not found", resource.qualified()),
        )
        .with_details(resource_details(resource, name))
    }

    /// The namespace of the request does not exist.
    pub fn namespace_not_found(name: &str) -> ApiError {
        ApiError::new(
            404,
            Some("NotFound"),
            format!("namespaces \"{name}\" not found"),
        )
        .with_details(json!({"name": name, "kind": "namespaces"}))
    }

    /// `<resource> "<name>" already exists`.
    pub fn already_exists(resource: &Resource, name: &str) -> ApiError {
        ApiError::new(
            409,
            Some("AlreadyExists"),
            format!("{} \"{name}\" already exists", resource.qualified()),
        )
        .with_details(resource_details(resource, name))
    }

    /// Optimistic concurrency failure.
    pub fn conflict(resource: &Resource, name: &str, why: &str) -> ApiError {
        ApiError::new(
            409,
            Some("Conflict"),
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {why}",
                resource.qualified()
            ),
        )
        .with_details(resource_details(resource, name))
    }

    /// The standard stale-resourceVersion conflict.
    pub fn modified(resource: &Resource, name: &str) -> ApiError {
        ApiError::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    /// A malformed request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, Some("BadRequest"), message.into())
    }

    /// An internal error with only a message, as the apply path reports schema mismatches.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(500, None, message.into())
    }

    /// 422 with no causes (a failed JSON patch).
    pub fn invalid_request() -> ApiError {
        ApiError::new(
            422,
            Some("Invalid"),
            "the server rejected our request due to an error in our request".into(),
        )
        .with_details(json!({}))
    }

    /// 422 for an object: `<Kind>[.group] "<name>" is invalid: <causes>`.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: Vec<Cause>) -> ApiError {
        let qualified = if group.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}.{group}")
        };
        let mut parts: Vec<String> = Vec::new();
        for part in causes.iter().map(|c| format!("{}: {}", c.field, c.message)) {
            if !parts.contains(&part) {
                parts.push(part);
            }
        }
        let summary = if parts.len() == 1 {
            parts[0].clone()
        } else {
            format!("[{}]", parts.join(", "))
        };
        let mut details = Map::new();
        if !name.is_empty() {
            details.insert("name".into(), json!(name));
        }
        if !group.is_empty() {
            details.insert("group".into(), json!(group));
        }
        details.insert("kind".into(), json!(kind));
        details.insert(
            "causes".into(),
            Value::Array(
                causes
                    .iter()
                    .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
                    .collect(),
            ),
        );
        ApiError::new(
            422,
            Some("Invalid"),
            format!("{qualified} \"{name}\" is invalid: {summary}"),
        )
        .with_details(Value::Object(details))
    }

    /// 409 for a server-side apply conflict; `conflicts` pairs a printed manager with a path.
    pub fn apply_conflict(conflicts: &[(String, String)]) -> ApiError {
        let message = if conflicts.len() == 1 {
            format!(
                "Apply failed with 1 conflict: conflict with {}: {}",
                conflicts[0].0, conflicts[0].1
            )
        } else {
            let mut managers: Vec<&String> = conflicts.iter().map(|(m, _)| m).collect();
            managers.sort();
            managers.dedup();
            let mut lines = Vec::new();
            for manager in managers {
                lines.push(format!("conflicts with {manager}:"));
                for (_, path) in conflicts.iter().filter(|(m, _)| m == manager) {
                    lines.push(format!("- {path}"));
                }
            }
            format!(
                "Apply failed with {} conflicts: {}",
                conflicts.len(),
                lines.join("\n")
            )
        };
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(m, p)| {
                json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": p})
            })
            .collect();
        ApiError::new(409, Some("Conflict"), message).with_details(json!({ "causes": causes }))
    }

    /// 403 for a request refused by policy or admission.
    pub fn forbidden(message: impl Into<String>, resource: &Resource, name: &str) -> ApiError {
        ApiError::new(403, Some("Forbidden"), message.into())
            .with_details(resource_details(resource, name))
    }

    /// 410 for a watch or list from a compacted resourceVersion.
    pub fn gone(message: impl Into<String>) -> ApiError {
        ApiError::new(410, Some("Expired"), message.into())
    }

    /// 504 for a list or watch at a resourceVersion the store has not reached yet.
    pub fn too_large_resource_version(requested: u64, current: u64) -> ApiError {
        ApiError::new(
            504,
            Some("Timeout"),
            format!("Timeout: Too large resource version: {requested}, current: {current}"),
        )
        .with_details(json!({"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}))
    }

    /// 429 injected by a fault.
    pub fn too_many_requests() -> ApiError {
        ApiError::new(
            429,
            Some("TooManyRequests"),
            "the server has received too many requests and has asked us to try again later".into(),
        )
        .with_details(json!({"retryAfterSeconds": 1}))
    }

    /// 405 for a verb the resource does not support.
    pub fn method_not_supported(resource: &Resource, verb: &str) -> ApiError {
        ApiError::new(
            405,
            Some("MethodNotAllowed"),
            format!(
                "{verb} is not supported on resources of kind \"{}\"",
                resource.qualified()
            ),
        )
    }
}

fn resource_details(resource: &Resource, name: &str) -> Value {
    let mut details = Map::new();
    details.insert("name".into(), json!(name));
    if !resource.group.is_empty() {
        details.insert("group".into(), json!(resource.group));
    }
    details.insert("kind".into(), json!(resource.plural));
    Value::Object(details)
}
