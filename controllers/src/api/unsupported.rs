//! Which fields of a GitRepository or Kustomization are accepted but not acted on, so the
//! controllers can say so in a condition instead of ignoring them silently.
//!
//! A field falls in one of two groups:
//!
//! - [`Support::Ignored`]: deprecated fields of `v1beta2` that Flux itself stopped acting on
//!   (`gitImplementation`: go-git is the only implementation; `validation`: objects are always
//!   validated server-side; `accessFrom`: never implemented). Reconciling without them gives
//!   the same result as Flux, so they are worth a note, not a failure.
//! - [`Support::NotImplemented`]: fields Flux acts on and this implementation does not (yet):
//!   reconciling anyway would not do what the user asked, so the controller should refuse.
//!
//! The tables below list what *is* acted on, per kind: the fields the core's types model
//! ([`gitops_core::api::GitRepositorySpec`], [`gitops_core::api::KustomizationSpec`]) minus
//! those the core documents as not evaluated. Anything else that is set (not null, false,
//! empty or absent, as Go's `omitempty` would leave it out) is reported. A field implemented
//! later moves into the table; a test keeps the table and the core's types in step.
//!
//! ```
//! use gitops_controllers::api::unsupported::{unsupported_fields, Support};
//! let repo = serde_json::json!({
//!     "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "GitRepository",
//!     "metadata": {"name": "podinfo"},
//!     "spec": {"url": "https://example.invalid/podinfo", "interval": "1m",
//!              "gitImplementation": "go-git", "timeout": "60s"},
//! });
//! let fields = unsupported_fields(&repo);
//! assert_eq!(fields.len(), 1);
//! assert_eq!(fields[0].path, "spec.gitImplementation");
//! assert_eq!(fields[0].support, Support::Ignored);
//! ```

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use gitops_core::api::{KUSTOMIZE_GROUP, SOURCE_GROUP};

/// How a reported field is treated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Support {
    /// Deprecated and a no-op in Flux too; the result is the same without it.
    Ignored,
    /// Flux acts on it and this implementation does not.
    NotImplemented,
}

/// A field that is set but not acted on.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnsupportedField {
    /// The field's path in the object, e.g. `spec.gitImplementation` or
    /// `spec.dependsOn[0].readyExpr`.
    pub path: String,
    /// How it is treated.
    pub support: Support,
    /// Why, for a human: what happens instead, or what to do.
    pub reason: &'static str,
}

impl fmt::Display for UnsupportedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path, self.reason)
    }
}

/// The spec fields of a GitRepository the source controller acts on; a path covers its
/// subtree.
pub const GIT_REPOSITORY_ACTED_ON: &[&str] = &[
    "spec.url",
    "spec.interval",
    "spec.timeout",
    "spec.ref",
    "spec.secretRef",
    "spec.ignore",
    "spec.suspend",
];

/// The spec fields of a Kustomization the kustomize controller acts on; a path covers its
/// subtree, `[]` stands for every item of a list.
pub const KUSTOMIZATION_ACTED_ON: &[&str] = &[
    "spec.sourceRef",
    "spec.path",
    "spec.interval",
    "spec.retryInterval",
    "spec.timeout",
    "spec.prune",
    "spec.force",
    "spec.wait",
    "spec.healthChecks",
    "spec.dependsOn[].name",
    "spec.dependsOn[].namespace",
    "spec.suspend",
    "spec.targetNamespace",
    "spec.namePrefix",
    "spec.nameSuffix",
    "spec.patches",
    "spec.images",
    "spec.components",
    "spec.ignoreMissingComponents",
    "spec.postBuild",
    "spec.commonMetadata",
    "spec.serviceAccountName",
    "spec.kubeConfig.secretRef",
    "spec.deletionPolicy",
];

/// Top-level Kustomization fields the kustomize controller acts on itself, before the core
/// runs (the core's type leaves them in `other`): `spec.kubeConfig` picks the cluster,
/// `spec.deletionPolicy` what deletion collects.
pub const KUSTOMIZATION_CONTROLLER_OWN: &[&str] = &["spec.kubeConfig", "spec.deletionPolicy"];

/// Fields with a known reason; the rest of those not acted on get [`NOT_IMPLEMENTED`].
const KNOWN: &[(&str, Support, &str)] = &[
    (
        "spec.gitImplementation",
        Support::Ignored,
        "ignored: go-git is the only Git implementation, as in Flux 2",
    ),
    (
        "spec.accessFrom",
        Support::Ignored,
        "ignored: cross-namespace access control was never implemented by Flux",
    ),
    (
        "spec.validation",
        Support::Ignored,
        "ignored: objects are always validated by a server-side dry-run apply",
    ),
    (
        "spec.patchesStrategicMerge",
        Support::NotImplemented,
        "not applied: v1 has no such field; move the patches to spec.patches",
    ),
    (
        "spec.patchesJson6902",
        Support::NotImplemented,
        "not applied: v1 has no such field; move the patches to spec.patches",
    ),
];

/// The reason given to a field Flux acts on and this implementation does not.
pub const NOT_IMPLEMENTED: &str = "not implemented by this controller yet";

/// The set fields of a GitRepository or Kustomization (any served version, given as JSON)
/// that nothing acts on, sorted by path. Other kinds have none.
///
/// Two places say what is set: the object's `spec`, and the fields its appliers recorded in
/// `metadata.managedFields`. The second matters for `v1beta2`: the API server stores a
/// `v1beta2` request as `v1` and drops the fields `v1` does not have (`gitImplementation`,
/// `validation`, `patchesStrategicMerge`, ...), so a controller reading `v1` finds them only
/// in the managed fields of the manager that applied them.
pub fn unsupported_fields(object: &Value) -> Vec<UnsupportedField> {
    let group = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.split_once('/'))
        .map(|(g, _)| g)
        .unwrap_or_default();
    let kind = object
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let acted_on = match (group, kind) {
        (SOURCE_GROUP, "GitRepository") => GIT_REPOSITORY_ACTED_ON,
        (KUSTOMIZE_GROUP, "Kustomization") => KUSTOMIZATION_ACTED_ON,
        _ => return Vec::new(),
    };
    let mut out = Vec::new();
    if let Some(spec) = object.get("spec") {
        walk(spec, "spec", "spec", acted_on, &mut out);
    }
    let managed = object
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for entry in managed {
        if let Some(spec) = entry.pointer("/fieldsV1/f:spec") {
            walk(&field_set(spec), "spec", "spec", acted_on, &mut out);
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A `fieldsV1` set as a value of the same shape: `f:<name>` keys become fields, the members
/// of a list (`k:`, `v:` and `i:` keys) become its items, and each field is `true`.
fn field_set(fields: &Value) -> Value {
    let Some(map) = fields.as_object() else {
        return Value::Bool(true);
    };
    let mut object = serde_json::Map::new();
    let mut items = Vec::new();
    for (key, child) in map {
        if let Some(name) = key.strip_prefix("f:") {
            object.insert(name.to_string(), field_set(child));
        } else if key.starts_with("k:") || key.starts_with("v:") || key.starts_with("i:") {
            items.push(field_set(child));
        }
    }
    match (object.is_empty(), items.is_empty()) {
        (true, true) => Value::Bool(true),
        (_, true) => Value::Object(object),
        _ => Value::Array(items),
    }
}

/// [`unsupported_fields`] of a typed object ([`crate::api::GitRepository`],
/// [`crate::api::Kustomization`] or their `v1beta2` counterparts).
pub fn unsupported_fields_of<K: Serialize>(object: &K) -> Vec<UnsupportedField> {
    serde_json::to_value(object)
        .map(|v| unsupported_fields(&v))
        .unwrap_or_default()
}

/// One line for a condition message: `spec.a (why), spec.b (why)`.
pub fn summary(fields: &[UnsupportedField]) -> String {
    fields
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Visits `value` at `path` (concrete, e.g. `spec.dependsOn[0]`) whose pattern (lists as
/// `[]`) is `pattern`.
fn walk(
    value: &Value,
    path: &str,
    pattern: &str,
    acted_on: &[&str],
    out: &mut Vec<UnsupportedField>,
) {
    if is_unset(value) || acted_on.contains(&pattern) {
        return;
    }
    let partly = acted_on.iter().any(|a| {
        a.strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with("[]"))
    });
    if !partly {
        let (support, reason) = KNOWN
            .iter()
            .find(|(p, _, _)| *p == pattern)
            .map(|(_, s, r)| (*s, *r))
            .unwrap_or((Support::NotImplemented, NOT_IMPLEMENTED));
        out.push(UnsupportedField {
            path: path.to_string(),
            support,
            reason,
        });
        return;
    }
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                walk(
                    child,
                    &format!("{path}.{key}"),
                    &format!("{pattern}.{key}"),
                    acted_on,
                    out,
                );
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(
                    child,
                    &format!("{path}[{i}]"),
                    &format!("{pattern}[]"),
                    acted_on,
                    out,
                );
            }
        }
        // A managed-fields entry naming a field without its members (`f:dependsOn: {}`, an
        // atomic list or map): which members are set is read from the spec itself.
        Value::Bool(true) => {}
        // A scalar where only some of its children are acted on: the shape is wrong and the
        // API server would have refused it; nothing of it is acted on.
        _ => out.push(UnsupportedField {
            path: path.to_string(),
            support: Support::NotImplemented,
            reason: NOT_IMPLEMENTED,
        }),
    }
}

/// Whether a value would be left out by Go's `omitempty`: such a field is not set.
fn is_unset(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn paths(fields: &[UnsupportedField]) -> Vec<(&str, Support)> {
        fields
            .iter()
            .map(|f| (f.path.as_str(), f.support))
            .collect()
    }

    #[test]
    fn v1beta2_git_repository_reports_deprecated_and_unimplemented_fields() {
        let repo = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1beta2", "kind": "GitRepository",
            "metadata": {"name": "podinfo", "namespace": "flux-system"},
            "spec": {
                "url": "ssh://git@example.invalid/podinfo", "interval": "1m", "timeout": "60s",
                "ref": {"branch": "main"}, "secretRef": {"name": "flux-system"},
                "gitImplementation": "go-git",
                "accessFrom": {"namespaceSelectors": [{"matchLabels": {"a": "b"}}]},
                "recurseSubmodules": true,
                "include": [{"repository": {"name": "other"}}],
                "suspend": false,
            },
            "status": {"url": "ignored, status is not spec"},
        });
        assert_eq!(
            paths(&unsupported_fields(&repo)),
            [
                ("spec.accessFrom", Support::Ignored),
                ("spec.gitImplementation", Support::Ignored),
                ("spec.include", Support::NotImplemented),
                ("spec.recurseSubmodules", Support::NotImplemented),
            ]
        );
    }

    #[test]
    fn v1_git_repository_with_only_acted_on_fields_reports_nothing() {
        let repo = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "podinfo"},
            "spec": {"url": "https://example.invalid/podinfo", "interval": "5m0s",
                     "ref": {"semver": ">=1.0.0"}, "ignore": "/*\n!/deploy\n", "timeout": "60s",
                     "provider": "", "sparseCheckout": []},
        });
        assert!(unsupported_fields(&repo).is_empty());
        let repo = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "spec": {"url": "https://example.invalid/podinfo", "interval": "5m",
                     "verify": {"mode": "HEAD", "secretRef": {"name": "keys"}},
                     "provider": "github", "sparseCheckout": ["deploy"]},
        });
        assert_eq!(
            paths(&unsupported_fields(&repo)),
            [
                ("spec.provider", Support::NotImplemented),
                ("spec.sparseCheckout", Support::NotImplemented),
                ("spec.verify", Support::NotImplemented),
            ]
        );
    }

    #[test]
    fn kustomization_reports_nested_fields_by_concrete_path() {
        let ks = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "spec": {
                "interval": "10m", "prune": true, "path": "./apps", "force": false,
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                "dependsOn": [{"name": "infra"}, {"name": "db", "readyExpr": "true"}],
                "postBuild": {"substitute": {"cluster": "prod"}},
                "decryption": {"provider": "sops"},
                "deletionPolicy": "Orphan",
            },
        });
        let fields = unsupported_fields(&ks);
        assert_eq!(
            paths(&fields),
            [
                ("spec.decryption", Support::NotImplemented),
                ("spec.dependsOn[1].readyExpr", Support::NotImplemented),
            ]
        );
        assert_eq!(
            summary(&fields[..1]),
            "spec.decryption (not implemented by this controller yet)"
        );
    }

    #[test]
    fn v1beta2_kustomization_reports_removed_fields() {
        let ks = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "kind": "Kustomization",
            "spec": {
                "interval": "10m", "prune": true, "validation": "client",
                "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                "patchesStrategicMerge": [{"kind": "Deployment"}],
            },
        });
        let fields = unsupported_fields(&ks);
        assert_eq!(
            paths(&fields),
            [
                ("spec.patchesStrategicMerge", Support::NotImplemented),
                ("spec.validation", Support::Ignored),
            ]
        );
        assert!(fields[0].reason.contains("spec.patches"), "{}", fields[0]);
    }

    #[test]
    fn other_kinds_and_typed_objects() {
        assert!(
            unsupported_fields(&json!({"apiVersion": "v1", "kind": "ConfigMap", "spec": {"x": 1}}))
                .is_empty()
        );
        let mut repo = crate::api::v1beta2::GitRepository::new(
            "podinfo",
            crate::api::v1beta2::GitRepositorySpec {
                url: "https://example.invalid/podinfo".into(),
                interval: "1m".into(),
                git_implementation: Some("go-git".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            paths(&unsupported_fields_of(&repo)),
            [("spec.gitImplementation", Support::Ignored)]
        );
        repo.spec.git_implementation = None;
        assert!(unsupported_fields_of(&repo).is_empty());
    }

    #[test]
    fn fields_dropped_by_conversion_are_found_in_managed_fields() {
        // A v1beta2 apply read back as v1: the API server pruned `validation`, the applier's
        // managed fields still name it.
        let ks = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "flux-system", "managedFields": [
                {"manager": "kubectl", "operation": "Apply",
                 "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:interval": {}, "f:prune": {}, "f:validation": {},
                                         "f:sourceRef": {"f:kind": {}, "f:name": {}},
                                         "f:dependsOn": {"k:{\"name\":\"infra\"}": {".": {}, "f:name": {}}}}}},
                // An atomic list is recorded without its members: not a field of its own.
                {"manager": "gitops", "operation": "Update",
                 "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:spec": {"f:dependsOn": {}, "f:healthChecks": {}}}},
                {"manager": "kustomize-controller", "operation": "Update", "subresource": "status",
                 "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": {"f:conditions": {}}}},
            ]},
            "spec": {"interval": "10m", "prune": true, "force": false,
                     "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        });
        assert_eq!(
            paths(&unsupported_fields(&ks)),
            [("spec.validation", Support::Ignored)]
        );
        assert_eq!(
            field_set(&json!({"f:a": {}, "f:b": {"i:0": {"f:c": {}}}})),
            json!({"a": true, "b": [{"c": true}]})
        );
    }

    /// A value of the shape a schema describes: every property set, lists with one item.
    fn sample(schema: &Value) -> Value {
        if let Some(first) = schema.get("enum").and_then(|e| e.get(0)) {
            return first.clone();
        }
        match schema.get("type").and_then(Value::as_str) {
            Some("string") => json!("1m"),
            Some("boolean") => json!(true),
            Some("integer") => json!(1),
            Some("array") => json!([sample(&schema["items"])]),
            Some("object") => match schema.get("properties").and_then(Value::as_object) {
                Some(props) => props.iter().map(|(k, v)| (k.clone(), sample(v))).collect(),
                None => json!({"key": sample(&schema["additionalProperties"])}),
            },
            _ => json!({"any": "thing"}),
        }
    }

    /// Each top-level spec field of the v1 schema, set alone next to the required ones, is in
    /// the acted-on table exactly when the core's type models it (does not collect it in
    /// `other`): the table cannot claim support the core lacks, nor forget a field it gained.
    fn acted_on_table_matches_core<Core: serde::de::DeserializeOwned>(
        spec_schema: Value,
        required: Value,
        acted_on: &[&str],
        controller_own: &[&str],
        other: impl Fn(&Core) -> Vec<String>,
    ) {
        let props = spec_schema["properties"].as_object().unwrap();
        for (name, schema) in props {
            let mut spec = required.clone();
            spec[name.as_str()] = sample(schema);
            let core: Core =
                serde_json::from_value(json!({"metadata": {"name": "x"}, "spec": spec}))
                    .unwrap_or_else(|e| panic!("spec.{name}: {e}"));
            let path = format!("spec.{name}");
            let modelled = !other(&core).contains(name) || controller_own.contains(&path.as_str());
            let listed = acted_on.iter().any(|a| {
                a.strip_prefix(path.as_str()).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('.') || rest.starts_with("[]")
                })
            });
            assert_eq!(
                listed, modelled,
                "{path}: in the acted-on table: {listed}, modelled by the core: {modelled}"
            );
        }
    }

    #[test]
    fn acted_on_tables_follow_the_core_types() {
        use crate::api::crd::schema_of;
        acted_on_table_matches_core::<gitops_core::api::GitRepository>(
            schema_of::<crate::api::GitRepositorySpec>(),
            json!({"url": "https://example.invalid/r", "interval": "1m"}),
            GIT_REPOSITORY_ACTED_ON,
            &[],
            |r| r.spec.other.keys().cloned().collect(),
        );
        acted_on_table_matches_core::<gitops_core::api::Kustomization>(
            schema_of::<crate::api::KustomizationSpec>(),
            json!({"interval": "1m", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r"}}),
            KUSTOMIZATION_ACTED_ON,
            KUSTOMIZATION_CONTROLLER_OWN,
            |k| k.spec.other.keys().cloned().collect(),
        );
    }
}
