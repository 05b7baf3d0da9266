//! The label and field selectors of list and watch requests, parsed and matched by
//! [`gitops_core::selector`].

use gitops_core::selector::Selector;
use serde_json::Value;

use super::status::ApiError;

/// The label and field selectors of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub labels: Selector,
    pub fields: Selector,
}

impl Filter {
    /// The filter of a request's `labelSelector` and `fieldSelector` query values.
    pub fn parse(labels: &str, fields: &str) -> Result<Filter, ApiError> {
        let refuse = |e: gitops_core::Error| {
            ApiError::bad_request(format!("unable to parse requirement: {e}"))
        };
        Ok(Filter {
            labels: Selector::parse(labels).map_err(refuse)?,
            fields: Selector::parse_fields(fields).map_err(refuse)?,
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
            .requirements()
            .iter()
            .all(|r| r.matches(Some(&field(object, r.key()))))
    }
}

/// A field's value as a field selector compares it: absent and null are the empty string.
fn field(object: &Value, path: &str) -> String {
    let pointer = format!("/{}", path.replace('.', "/"));
    match object.pointer(&pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}
