//! The validation of built-in objects, as the `validation` packages of Kubernetes perform it
//! in each strategy's `Validate` and `ValidateUpdate`: object metadata for every kind
//! ([`meta`]), then the rules of the kind ([`kinds`]), and on update the immutable fields
//! ([`update`]). Each rule yields the field errors (`Cause`s) and warnings the real server
//! returns, in its order.
//!
//! The formats themselves (DNS names, qualified names, label values, config keys) live in
//! [`names`]; quantities in [`quantity`].

mod kinds;
mod meta;
pub(crate) mod names;
pub(crate) mod quantity;
mod update;

use serde_json::Value;

use crate::testenv::registry::Resource;
use crate::testenv::status::Cause;

/// What validation found: errors refuse the write, warnings go back as `Warning` headers.
#[derive(Default, Debug)]
pub(crate) struct Report {
    pub causes: Vec<Cause>,
    pub warnings: Vec<String>,
}

impl Report {
    #[cfg_attr(test, track_caller)]
    fn push(&mut self, cause: Cause) {
        self.causes.push(cause);
    }

    /// A warning the server sends back with a successful write.
    #[cfg_attr(test, track_caller)]
    fn warn(&mut self, message: String) {
        #[cfg(test)]
        crate::testenv::status::rule_sites::record(std::panic::Location::caller());
        self.warnings.push(message);
    }

    #[cfg_attr(test, track_caller)]
    fn invalid(&mut self, field: &str, value: &Value, detail: &str) {
        self.push(Cause::invalid(field, value, detail));
    }

    #[cfg_attr(test, track_caller)]
    fn invalids(&mut self, field: &str, value: &Value, details: Vec<String>) {
        for detail in details {
            self.invalid(field, value, &detail);
        }
    }

    #[cfg_attr(test, track_caller)]
    fn required(&mut self, field: &str) {
        self.push(Cause::required(field, ""));
    }

    #[cfg_attr(test, track_caller)]
    fn unsupported(&mut self, field: &str, value: &Value, supported: &[&str]) {
        let supported: Vec<String> = supported.iter().map(|s| s.to_string()).collect();
        self.push(Cause::unsupported(field, value, &supported));
    }

    /// An enum field: unsupported unless one of `supported` (absent is not checked).
    #[cfg_attr(test, track_caller)]
    fn one_of(&mut self, object: &Value, key: &str, field: &str, supported: &[&str]) {
        if let Some(value) = object.get(key)
            && !value.as_str().is_some_and(|v| supported.contains(&v))
        {
            self.unsupported(field, value, supported);
        }
    }

    /// A non-negative integer field.
    #[cfg_attr(test, track_caller)]
    fn non_negative(&mut self, object: &Value, key: &str, field: &str) {
        if let Some(value) = object.get(key)
            && value.as_i64().is_some_and(|v| v < 0)
        {
            self.invalid(field, value, "must be greater than or equal to 0");
        }
    }
}

/// A field path as Kubernetes prints it: `spec.template.spec.containers[0].name`.
pub(crate) fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

pub(crate) fn key(path: &str, key: &str) -> String {
    format!("{path}[{key}]")
}

/// Validation of a new or updated built-in object.
pub(crate) fn object(resource: &Resource, object: &Value) -> Report {
    let mut report = Report::default();
    meta::object_meta(resource, object, &mut report);
    if resource.custom.is_none() {
        kinds::validate(resource, object, &mut report);
    }
    report
}

/// Validation of an update against the stored object: immutable fields.
pub(crate) fn update(resource: &Resource, old: &Value, new: &Value) -> Vec<Cause> {
    update::validate(resource, old, new)
}
