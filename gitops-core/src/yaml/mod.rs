//! YAML output byte-identical to `kubectl kustomize`.
//!
//! kustomize prints each object by encoding it as JSON and re-encoding that JSON with Go's
//! yaml.v2: keys sorted in yaml.v2's natural order, two-space indentation, block sequences
//! not indented under their key, lines folded at 80 columns, YAML 1.1-ambiguous strings
//! double-quoted, multi-line strings as literal blocks, and Go's float format. Documents are
//! joined with `---\n`.
//!
//! ```
//! use gitops_core::{yaml, Object};
//! let cm = Object::from_value(serde_json::json!({
//!     "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
//!     "data": {"enabled": "yes", "script": "echo hi\n", "ratio": "1.5"},
//! })).unwrap();
//! assert_eq!(yaml::to_string(&[cm]), "apiVersion: v1\ndata:\n  enabled: \"yes\"\n  \
//!     ratio: \"1.5\"\n  script: |\n    echo hi\nkind: ConfigMap\nmetadata:\n  name: a\n");
//! ```

mod emit;
mod number;
mod order;
mod resolve;

use serde_json::Value;

use crate::Object;

/// Prints objects as a multi-document YAML stream, as `kubectl kustomize` prints them.
pub fn to_string(objects: &[Object]) -> String {
    let mut out = String::new();
    for (i, object) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        // The emitter reads the object in place: cloning every object to print it doubled
        // the allocations of printing a large build.
        // JSON is the fallback, as in `value_to_string`, so that output is never lost.
        match emit::map_document(object.as_map()) {
            Ok(text) => out.push_str(&text),
            Err(_) => out.push_str(&serde_json::to_string(object.as_map()).unwrap_or_default()),
        }
    }
    out
}

/// Prints one value as a YAML document, as yaml.v2 prints it after a JSON round trip.
pub fn value_to_string(value: &Value) -> String {
    // The emitter only rejects malformed event streams, which `emit` never builds; JSON is the
    // fallback so that output is never lost.
    emit::document(value).unwrap_or_else(|_| value.to_string())
}

#[cfg(test)]
mod tests;
