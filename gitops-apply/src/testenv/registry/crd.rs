//! Custom resources: serving the versions of applied CustomResourceDefinitions, their
//! establishment, structural-schema defaulting, pruning and validation, and Tables with the
//! CRD's printer columns.
//!
//! As apiextensions-apiserver does, a request is handled in the version of its path: the body
//! is pruned and defaulted by that version's schema, then stored converted to the storage
//! version (conversion `None` rewrites `apiVersion`) and pruned by its schema. Each object
//! keeps the version it was stored in; a read prunes and defaults it by that version's schema
//! and converts it to the version asked for, pruned by that one's schema (its defaults are not
//! applied on reads). Discovery orders versions as Kubernetes prefers them (GA, beta, alpha);
//! deprecated versions answer with a `Warning`; a new storage version joins
//! `status.storedVersions`. The CRD itself is validated for its name, one storage version,
//! stored versions and rules that do not lex. Webhook conversion is not served.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::testenv::registry::{Group, Resource};
use crate::testenv::status::Cause;
use crate::testenv::storage::Store;

/// What serving one version of a custom resource needs from its CRD.
#[derive(Debug)]
pub(crate) struct CustomVersion {
    /// `openAPIV3Schema`.
    pub schema: Value,
    /// `additionalPrinterColumns`.
    pub columns: Vec<Value>,
    /// The `Warning` a request of a deprecated version gets.
    pub deprecation: Option<String>,
    /// The scale subresource's paths, when the version has one.
    pub scale: Option<ScalePaths>,
    /// The version objects are stored in.
    pub storage: String,
    /// The schema of every version the CRD declares, served or not: stored objects are read
    /// and written through them.
    pub schemas: BTreeMap<String, Value>,
}

/// `subresources.scale`: where replicas and the selector live in the object.
#[derive(Debug, Clone)]
pub(crate) struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub selector: Option<String>,
}

/// Orders versions as Kubernetes prefers them: GA before beta before alpha, higher numbers
/// first, then versions of other shapes alphabetically.
pub(crate) fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn parse(v: &str) -> Option<(u8, u64, u64)> {
        let rest = v.strip_prefix('v')?;
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || digits.starts_with('0') {
            return None;
        }
        let major: u64 = digits.parse().ok()?;
        let tail = &rest[digits.len()..];
        if tail.is_empty() {
            return Some((2, major, 0));
        }
        let (level, number) = if let Some(n) = tail.strip_prefix("beta") {
            (1, n)
        } else if let Some(n) = tail.strip_prefix("alpha") {
            (0, n)
        } else {
            return None;
        };
        if number.is_empty()
            || !number.chars().all(|c| c.is_ascii_digit())
            || number.starts_with('0')
        {
            return None;
        }
        Some((level, major, number.parse().ok()?))
    }
    match (parse(a), parse(b)) {
        (Some((la, ma, na)), Some((lb, mb, nb))) => lb.cmp(&la).then(mb.cmp(&ma)).then(nb.cmp(&na)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// The warning of a deprecated version: its own `deprecationWarning`, else the server's
/// default naming the preferred served version that is newer and not deprecated.
fn deprecation_warning(crd: &Value, version: &Value) -> Option<String> {
    if version.get("deprecated").and_then(Value::as_bool) != Some(true) {
        return None;
    }
    if let Some(text) = version.get("deprecationWarning").and_then(Value::as_str) {
        return Some(text.to_string());
    }
    let group = s(crd, "/spec/group");
    let kind = s(crd, "/spec/names/kind");
    let name = s(version, "/name");
    let mut message = format!("{group}/{name} {kind} is deprecated");
    let mut newer: Vec<&str> = versions(crd)
        .filter(|v| v.get("served").and_then(Value::as_bool) == Some(true))
        .filter(|v| v.get("deprecated").and_then(Value::as_bool) != Some(true))
        .map(|v| s(v, "/name"))
        .filter(|v| version_order(name, v) == std::cmp::Ordering::Greater)
        .collect();
    newer.sort_by(|a, b| version_order(a, b));
    if let Some(best) = newer.first() {
        message.push_str(&format!("; use {group}/{best} {kind}"));
    }
    Some(message)
}

fn versions(crd: &Value) -> impl Iterator<Item = &Value> {
    crd.pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The version a CRD stores its objects in.
pub(crate) fn storage_version(crd: &Value) -> Option<&str> {
    versions(crd)
        .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| s(v, "/name"))
}

/// The custom resources served, by CRD name.
#[derive(Debug, Default)]
pub(crate) struct CustomResources {
    by_crd: BTreeMap<String, Vec<Resource>>,
}

impl CustomResources {
    /// The served resource, if a CRD serves it.
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<Resource> {
        self.by_crd
            .values()
            .flatten()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// Whether some CRD serves the group version.
    pub fn serves(&self, group: &str, version: &str) -> bool {
        self.by_crd
            .values()
            .flatten()
            .any(|r| r.group == group && r.version == version)
    }

    /// Discovery groups of the custom resources.
    pub fn groups(&self) -> Vec<Group> {
        let mut groups: Vec<Group> = Vec::new();
        for resource in self.by_crd.values().flatten() {
            let index = match groups.iter().position(|g| g.name == resource.group) {
                Some(i) => i,
                None => {
                    groups.push(Group {
                        name: resource.group.clone(),
                        versions: Vec::new(),
                    });
                    groups.len() - 1
                }
            };
            let group = &mut groups[index];
            match group
                .versions
                .iter_mut()
                .find(|(v, _)| *v == resource.version)
            {
                Some((_, entries)) => entries.push(Value::clone(&resource.entry)),
                None => group.versions.push((
                    resource.version.clone(),
                    vec![Value::clone(&resource.entry)],
                )),
            }
        }
        for group in &mut groups {
            group.versions.sort_by(|(a, _), (b, _)| version_order(a, b));
        }
        groups
    }
}

fn s<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The resources a CRD object serves.
fn resources_of(crd: &Value) -> Vec<Resource> {
    let group = s(crd, "/spec/group");
    let plural = s(crd, "/spec/names/plural");
    let singular = s(crd, "/spec/names/singular");
    let kind = s(crd, "/spec/names/kind");
    let namespaced = s(crd, "/spec/scope") == "Namespaced";
    let schemas: BTreeMap<String, Value> = versions(crd)
        .map(|v| (s(v, "/name").to_string(), schema_of(v)))
        .collect();
    let mut out = Vec::new();
    for version in crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if version.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let name = s(version, "/name");
        let status = version.pointer("/subresources/status").is_some();
        let scale = version.pointer("/subresources/scale").is_some();
        let verbs = [
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch",
        ];
        let mut entry = Map::new();
        entry.insert("resource".into(), json!(plural));
        entry.insert(
            "responseKind".into(),
            json!({"group": "", "version": "", "kind": kind}),
        );
        entry.insert(
            "scope".into(),
            json!(if namespaced { "Namespaced" } else { "Cluster" }),
        );
        entry.insert("singularResource".into(), json!(singular));
        entry.insert("verbs".into(), json!(verbs));
        for (key, pointer) in [
            ("shortNames", "/spec/names/shortNames"),
            ("categories", "/spec/names/categories"),
        ] {
            if let Some(v) = crd.pointer(pointer) {
                entry.insert(key.into(), v.clone());
            }
        }
        let mut subs = Vec::new();
        if scale {
            subs.push(json!({"subresource": "scale", "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"}, "verbs": ["get", "patch", "update"]}));
        }
        if status {
            subs.push(json!({"subresource": "status", "responseKind": {"group": "", "version": "", "kind": kind}, "verbs": ["get", "patch", "update"]}));
        }
        if !subs.is_empty() {
            entry.insert("subresources".into(), Value::Array(subs));
        }
        let storage = crd
            .pointer("/spec/versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
            .map(|v| s(v, "/name"))
            .unwrap_or(name);
        entry.insert(
            "storageVersionHash".into(),
            json!(storage_version_hash(group, storage, kind)),
        );
        let mut subresources = Vec::new();
        if status {
            subresources.push("status".to_string());
        }
        if scale {
            subresources.push("scale".to_string());
        }
        out.push(Resource {
            group: group.to_string(),
            version: name.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced,
            verbs: verbs.iter().map(|v| v.to_string()).collect(),
            subresources: subresources.into(),
            entry: Arc::new(Value::Object(entry)),
            custom: Some(Arc::new(CustomVersion {
                schema: schema_of(version),
                columns: version
                    .get("additionalPrinterColumns")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
                deprecation: deprecation_warning(crd, version),
                scale: version
                    .pointer("/subresources/scale")
                    .map(|scale| ScalePaths {
                        spec_replicas: s(scale, "/specReplicasPath").to_string(),
                        status_replicas: s(scale, "/statusReplicasPath").to_string(),
                        selector: scale
                            .get("labelSelectorPath")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                    }),
                storage: storage_version(crd).unwrap_or(name).to_string(),
                schemas: schemas.clone(),
            })),
        });
    }
    out
}

fn schema_of(version: &Value) -> Value {
    version
        .pointer("/schema/openAPIV3Schema")
        .cloned()
        .unwrap_or(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true}))
}

/// The storage version hash discovery shows: the first 8 bytes of the SHA-256 of
/// `group/version/Kind`, base64.
fn storage_version_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

/// Fields a new CRD gets from the server: its initial status.
pub(crate) fn prepare_create(crd: &mut Value) {
    let stored: Vec<Value> = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .filter_map(|v| v.get("name").cloned())
        .take(1)
        .collect();
    if let Some(map) = crd.as_object_mut() {
        map.insert(
            "status".into(),
            json!({"conditions": null, "acceptedNames": {"plural": "", "kind": ""}, "storedVersions": stored}),
        );
    }
}

/// Whether the resource is `customresourcedefinitions.apiextensions.k8s.io`.
pub(crate) fn is_definition(resource: &Resource) -> bool {
    resource.group == "apiextensions.k8s.io" && resource.plural == "customresourcedefinitions"
}

/// The CRD strategy on every write: fields Go leaves out when they hold their zero value are
/// dropped (the object is stored as typed), and a new storage version joins
/// `status.storedVersions`.
pub(crate) fn prepare(old: Option<&Value>, crd: &mut Value) {
    fn drop_zero(map: &mut Map<String, Value>, keys: &[&str]) {
        map.retain(|k, v| {
            !keys.contains(&k.as_str())
                || !(v.is_null()
                    || v == &json!(0)
                    || v == &json!("")
                    || v == &json!(false)
                    || v == &json!([]))
        });
    }
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        drop_zero(names, &["singular", "shortNames", "categories", "listKind"]);
    }
    if let Some(versions) = crd
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    {
        for version in versions.iter_mut().filter_map(Value::as_object_mut) {
            drop_zero(
                version,
                &["deprecated", "additionalPrinterColumns", "selectableFields"],
            );
            for column in version
                .get_mut("additionalPrinterColumns")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
                .filter_map(Value::as_object_mut)
            {
                drop_zero(column, &["priority", "format", "description"]);
            }
        }
    }
    if old.is_none() {
        return;
    }
    let Some(storage) = storage_version(crd).map(str::to_string) else {
        return;
    };
    if let Some(stored) = crd
        .pointer_mut("/status/storedVersions")
        .and_then(Value::as_array_mut)
        && !stored.iter().any(|v| v.as_str() == Some(storage.as_str()))
    {
        stored.push(json!(storage));
    }
}

/// The CRD's own validation (the apiextensions `validation` package's rules this server
/// checks): its name, exactly one storage version, and `status.storedVersions` holding it.
pub(crate) fn validate_definition(crd: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = s(crd, "/metadata/name");
    let expected = format!("{}.{}", s(crd, "/spec/names/plural"), s(crd, "/spec/group"));
    if name != expected {
        causes.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "must be spec.names.plural+\".\"+spec.group",
        ));
    }
    let all: Vec<&Value> = versions(crd).collect();
    let storage: Vec<&str> = all
        .iter()
        .filter(|v| v.get("storage").and_then(Value::as_bool) == Some(true))
        .map(|v| s(v, "/name"))
        .collect();
    if !all.is_empty() && storage.len() != 1 {
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: format!(
                "Invalid value: {}: must have exactly one version marked as storage version",
                internal_versions(&all)
            ),
            field: "spec.versions".into(),
        });
    }
    rule_errors(&all, &mut causes);
    let stored: Vec<&str> = crd
        .pointer("/status/storedVersions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let stored_value = json!(stored);
    if stored.is_empty() {
        causes.push(Cause::invalid(
            "status.storedVersions",
            &stored_value,
            "must have at least one stored version",
        ));
        return causes;
    }
    for version in &storage {
        if !stored.contains(version) {
            causes.push(Cause::invalid(
                "status.storedVersions",
                &stored_value,
                &format!("must have the storage version {version}"),
            ));
        }
    }
    for (i, version) in stored.iter().enumerate() {
        if !all.iter().any(|v| s(v, "/name") == *version) {
            causes.push(Cause::invalid(
                &format!("status.storedVersions[{i}]"),
                &json!(version),
                "must appear in spec.versions",
            ));
        }
    }
    causes
}

/// Rules of a CRD schema that do not compile, as the CRD's validation reports them (at the
/// internal type's path: a schema every version shares is `spec.validation`).
fn rule_errors(all: &[&Value], causes: &mut Vec<Cause>) {
    let first = all
        .first()
        .and_then(|v| v.pointer("/schema/openAPIV3Schema"));
    let shared = all
        .iter()
        .all(|v| v.pointer("/schema/openAPIV3Schema") == first);
    if shared {
        if let Some(schema) = first {
            schema_rule_errors(schema, "spec.validation.openAPIV3Schema", causes);
        }
        return;
    }
    for (i, version) in all.iter().enumerate() {
        if let Some(schema) = version.pointer("/schema/openAPIV3Schema") {
            let path = format!("spec.versions[{i}].schema.openAPIV3Schema");
            schema_rule_errors(schema, &path, causes);
        }
    }
}

fn schema_rule_errors(schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    let text =
        |v: Option<&Value>, zero: &str| v.map(Value::to_string).unwrap_or_else(|| zero.to_string());
    for (i, rule) in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let Some(errors) = crate::testenv::registry::cel::syntax_errors(s(rule, "/rule")) else {
            continue;
        };
        let shown = format!(
            "{{\"Rule\":{},\"Message\":{},\"MessageExpression\":{},\"Reason\":{},\"FieldPath\":{},\"OptionalOldSelf\":{}}}",
            text(rule.get("rule"), "\"\""),
            text(rule.get("message"), "\"\""),
            text(rule.get("messageExpression"), "\"\""),
            text(rule.get("reason"), "null"),
            text(rule.get("fieldPath"), "\"\""),
            text(rule.get("optionalOldSelf"), "null"),
        );
        causes.push(Cause {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {shown}: compilation failed: {errors}"),
            field: format!("{path}.x-kubernetes-validations[{i}].rule"),
        });
    }
    for (name, sub) in schema
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        schema_rule_errors(sub, &format!("{path}.properties[{name}]"), causes);
    }
    for key in ["items", "additionalProperties"] {
        if let Some(sub) = schema.get(key).filter(|v| v.is_object()) {
            schema_rule_errors(sub, &format!("{path}.{key}"), causes);
        }
    }
}

/// The versions as the internal API type prints them in messages (Go field names, in field
/// order). A schema, subresources or printer columns that every version shares are hoisted
/// to the spec by the conversion to the internal type and so print as null; a schema kept
/// per version prints in its v1 form here (the internal form names every Go field).
fn internal_versions(all: &[&Value]) -> String {
    let shared = |key: &str| {
        let first = all.first().and_then(|v| v.get(key));
        all.iter().all(|v| v.get(key) == first)
    };
    let text = |v: Option<&Value>| v.map(Value::to_string).unwrap_or_else(|| "null".into());
    let items: Vec<String> = all
        .iter()
        .map(|v| {
            let flag = |key: &str| v.get(key).and_then(Value::as_bool).unwrap_or(false);
            let schema = if shared("schema") {
                "null".to_string()
            } else {
                text(v.get("schema"))
            };
            let subresources = match v.get("subresources").filter(|_| !shared("subresources")) {
                None => "null".to_string(),
                Some(sub) => {
                    let status = if sub.get("status").is_some() { "{}" } else { "null" };
                    let scale = match sub.get("scale") {
                        None => "null".to_string(),
                        Some(scale) => format!(
                            "{{\"SpecReplicasPath\":{},\"StatusReplicasPath\":{},\"LabelSelectorPath\":{}}}",
                            text(scale.get("specReplicasPath")),
                            text(scale.get("statusReplicasPath")),
                            text(scale.get("labelSelectorPath")),
                        ),
                    };
                    format!("{{\"Status\":{status},\"Scale\":{scale}}}")
                }
            };
            let columns = match v
                .get("additionalPrinterColumns")
                .and_then(Value::as_array)
                .filter(|_| !shared("additionalPrinterColumns"))
            {
                None => "null".to_string(),
                Some(columns) => {
                    let cells: Vec<String> = columns
                        .iter()
                        .map(|c| {
                            format!(
                                "{{\"Name\":{},\"Type\":{},\"Format\":{},\"Description\":{},\"Priority\":{},\"JSONPath\":{}}}",
                                text(c.get("name")),
                                text(c.get("type")),
                                text(Some(c.get("format").unwrap_or(&json!("")))),
                                text(Some(c.get("description").unwrap_or(&json!("")))),
                                text(Some(c.get("priority").unwrap_or(&json!(0)))),
                                text(c.get("jsonPath")),
                            )
                        })
                        .collect();
                    format!("[{}]", cells.join(","))
                }
            };
            format!(
                "{{\"Name\":{},\"Served\":{},\"Storage\":{},\"Deprecated\":{},\"DeprecationWarning\":{},\"Schema\":{schema},\"Subresources\":{subresources},\"AdditionalPrinterColumns\":{columns},\"SelectableFields\":{}}}",
                text(v.get("name")),
                flag("served"),
                flag("storage"),
                flag("deprecated"),
                text(v.get("deprecationWarning")),
                text(v.get("selectableFields")),
            )
        })
        .collect();
    format!("[{}]", items.join(","))
}

/// After a CRD is written: serve its resources, unless it is being deleted. Establishing it
/// is the job of a controller (`controllers::establish`).
pub(crate) fn serve(custom: &mut CustomResources, crd: &Value) {
    if crd.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let name = s(crd, "/metadata/name").to_string();
    custom.by_crd.insert(name, resources_of(crd));
}

/// Whether a CRD has its `Established` condition (of any status).
pub(crate) fn has_established_condition(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|c| s(c, "/type") == "Established"))
}

/// The resource CustomResourceDefinitions are served as.
pub(crate) fn definitions() -> Option<Resource> {
    super::builtin()
        .resources
        .iter()
        .find(|(group, _, _)| group == "apiextensions.k8s.io")
        .and_then(|(_, _, resources)| {
            resources
                .iter()
                .find(|r| r.plural == "customresourcedefinitions")
                .cloned()
        })
}

/// After a CRD is deleted: stop serving it and drop its objects.
pub(crate) fn unregister(custom: &mut CustomResources, store: &mut Store, crd: &Value) {
    let name = s(crd, "/metadata/name");
    if let Some(resources) = custom.by_crd.remove(name)
        && let Some(first) = resources.first()
    {
        store.drop_resource(&first.storage_key());
    }
}

/// Structural schema pruning and defaulting of an object in the version `custom` serves, as
/// a request body is decoded.
pub(crate) fn default_and_prune(custom: &CustomVersion, object: &mut Value) {
    prune(&custom.schema, object);
    default(&custom.schema, object);
}

/// Drops the fields the schema does not declare (unless it preserves unknown fields), keeping
/// an object's `apiVersion`, `kind` and `metadata`.
pub(crate) fn prune(schema: &Value, object: &mut Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    for (key, value) in map.iter_mut() {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(sub) = schema.pointer(&format!("/properties/{}", escape(key))) {
            prune_value(sub, value);
        }
    }
    if !preserves(schema) {
        let props = schema.get("properties").and_then(Value::as_object);
        map.retain(|k, _| {
            matches!(k.as_str(), "apiVersion" | "kind" | "metadata")
                || props.is_some_and(|p| p.contains_key(k))
        });
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn preserves(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true)
}

fn prune_value(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if schema
                .get("x-kubernetes-embedded-resource")
                .and_then(Value::as_bool)
                == Some(true)
            {
                prune(schema, value);
                return;
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let values = schema.get("additionalProperties").filter(|v| v.is_object());
            if let Some(values) = values {
                for v in map.values_mut() {
                    prune_value(values, v);
                }
                return;
            }
            if schema.get("additionalProperties") == Some(&Value::Bool(true)) {
                return;
            }
            if !preserves(schema) {
                map.retain(|k, _| props.is_some_and(|p| p.contains_key(k)));
            }
            for (key, v) in map.iter_mut() {
                if let Some(sub) = props.and_then(|p| p.get(key)) {
                    prune_value(sub, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    prune_value(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

/// Fills in the schema's defaults.
pub(crate) fn default(schema: &Value, object: &mut Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        if matches!(key.as_str(), "metadata" | "apiVersion" | "kind") {
            continue;
        }
        if !map.contains_key(key)
            && let Some(d) = sub.get("default")
        {
            map.insert(key.clone(), d.clone());
        }
        if let Some(value) = map.get_mut(key) {
            default_value(sub, value);
        }
    }
}

fn default_value(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in props {
                    if !map.contains_key(key)
                        && let Some(d) = sub.get("default")
                    {
                        map.insert(key.clone(), d.clone());
                    }
                    if let Some(v) = map.get_mut(key) {
                        default_value(sub, v);
                    }
                }
            } else if let Some(values) =
                schema.get("additionalProperties").filter(|v| v.is_object())
            {
                for v in map.values_mut() {
                    default_value(values, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    default_value(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

/// The object as storage keeps it: converted to the storage version (conversion `None`
/// rewrites `apiVersion`) and pruned by that version's schema. Defaults are not stored: the
/// storage version's apply when the object is read.
pub(crate) fn to_storage(resource: &Resource, custom: &CustomVersion, object: &mut Value) {
    convert(resource, custom, &custom.storage, object);
}

fn convert(resource: &Resource, custom: &CustomVersion, version: &str, object: &mut Value) {
    if let Some(map) = object.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            json!(format!("{}/{version}", resource.group)),
        );
    }
    if let Some(schema) = custom.schemas.get(version) {
        prune(schema, object);
    }
}

/// A stored object as the resource's version serves it: decoded in the version it was stored
/// in (pruned and defaulted by that version's schema), converted, and pruned by the served
/// version's schema. Defaults of the served version are not applied on reads.
pub(crate) fn view(resource: &Resource, custom: &CustomVersion, object: &Value) -> Value {
    let mut out = object.clone();
    let stored = s(object, "/apiVersion")
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    if let Some(schema) = custom.schemas.get(&stored) {
        prune(schema, &mut out);
        default(schema, &mut out);
    }
    if stored != resource.version {
        convert(resource, custom, &resource.version, &mut out);
    }
    out
}

/// Structural schema validation as apiextensions reports it: types, required, minimum/maximum
/// (exclusive or not), multipleOf, pattern, enum, string lengths, item and property counts,
/// uniqueItems, and the values of maps (additionalProperties).
pub(crate) fn validate(custom: &CustomVersion, object: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    if let (Some(props), Some(map)) = (
        custom.schema.get("properties").and_then(Value::as_object),
        object.as_object(),
    ) {
        for (key, schema) in props {
            if matches!(key.as_str(), "metadata" | "apiVersion" | "kind") {
                continue;
            }
            if let Some(v) = map.get(key) {
                check(schema, v, key, &mut causes);
            }
        }
        for required in custom
            .schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !map.contains_key(required) {
                causes.push(Cause::required(required, ""));
            }
        }
    }
    if has_rules(&custom.schema) {
        let blocking = causes.iter().any(|c| {
            matches!(
                c.reason,
                "FieldValueRequired" | "FieldValueNotSupported" | "FieldValueTypeInvalid"
            )
        });
        if blocking {
            causes.push(Cause {
                reason: "FieldValueInvalid",
                message: "Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation".into(),
                field: "<nil>".into(),
            });
        } else {
            check_rules(&custom.schema, object, old, "", &mut causes);
        }
    }
    causes
}

/// Whether a schema declares `x-kubernetes-validations` anywhere.
fn has_rules(schema: &Value) -> bool {
    match schema {
        Value::Object(map) => {
            map.contains_key("x-kubernetes-validations") || map.values().any(has_rules)
        }
        Value::Array(items) => items.iter().any(has_rules),
        _ => false,
    }
}

/// Evaluates the CEL rules of the schema against the object, depth first; transition rules
/// (with `oldSelf`) only where the old object has the value too.
fn check_rules(
    schema: &Value,
    value: &Value,
    old: Option<&Value>,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    for rule in schema
        .get("x-kubernetes-validations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let text = s(rule, "/rule");
        if old.is_none() && crate::testenv::registry::cel::is_transition(text) {
            continue;
        }
        let verdict = crate::testenv::registry::cel::evaluate(text, value, old);
        if verdict.is_none() {
            // A real server would evaluate it; saying so beats passing it in silence.
            tracing::warn!(
                rule = text,
                field = path,
                "testenv cannot evaluate this x-kubernetes-validations rule: it is not enforced"
            );
        }
        if verdict == Some(false) {
            let message = rule
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("failed rule: {text}"));
            // Scalars are shown; objects and lists are not.
            let shown = match value {
                Value::Object(_) | Value::Array(_) => String::new(),
                other => format!("{other}: "),
            };
            causes.push(Cause {
                reason: "FieldValueInvalid",
                message: format!("Invalid value: {shown}{message}"),
                field: if path.is_empty() {
                    "<nil>".into()
                } else {
                    path.into()
                },
            });
        }
    }
    match value {
        Value::Object(map) => {
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (key, sub) in props {
                    if let Some(v) = map.get(key) {
                        let child = if path.is_empty() {
                            key.clone()
                        } else {
                            format!("{path}.{key}")
                        };
                        let before = old.and_then(|o| o.get(key));
                        check_rules(sub, v, before, &child, causes);
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(sub) = schema.get("items") {
                // Items are matched with the old list by position only when it is atomic;
                // without keys to match them, transition rules of items are not checked.
                for (i, item) in items.iter().enumerate() {
                    check_rules(sub, item, None, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

fn check(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    let in_body = |rule: String| format!("{path} in body {rule}");
    let int_or_string = schema
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true);
    let declared = if int_or_string {
        Some("integer,string")
    } else {
        schema.get("type").and_then(Value::as_str)
    };
    if let Some(ty) = declared {
        let ok = match ty {
            "integer,string" => value.is_i64() || value.is_u64() || value.is_string(),
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok && !value.is_null() {
            let shown = match value {
                Value::Object(_) => "object",
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_f64() => "number",
                Value::Number(_) => "integer",
                Value::Null => "null",
            };
            causes.push(Cause {
                reason: "FieldValueTypeInvalid",
                message: format!(
                    "Invalid value: \"{shown}\": {path} in body must be of type {ty}: \"{shown}\""
                ),
                field: path.to_string(),
            });
            return;
        }
    }
    let exclusive = |key: &str| schema.get(key).and_then(Value::as_bool) == Some(true);
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        let strict = exclusive("exclusiveMinimum");
        if value
            .as_f64()
            .is_some_and(|v| v < min || (strict && v == min))
        {
            let bound = if strict { "" } else { " or equal to" };
            causes.push(Cause::invalid(
                path,
                value,
                &in_body(format!("should be greater than{bound} {}", fmt_num(min))),
            ));
        }
    }
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        let strict = exclusive("exclusiveMaximum");
        if value
            .as_f64()
            .is_some_and(|v| v > max || (strict && v == max))
        {
            let bound = if strict { "" } else { " or equal to" };
            causes.push(Cause::invalid(
                path,
                value,
                &in_body(format!("should be less than{bound} {}", fmt_num(max))),
            ));
        }
    }
    if let Some(factor) = schema.get("multipleOf").and_then(Value::as_f64)
        && let Some(v) = value.as_f64()
        && !is_multiple(v, factor)
    {
        causes.push(Cause::invalid(
            path,
            value,
            &in_body(format!("should be a multiple of {}", fmt_num(factor))),
        ));
    }
    let limit = |key: &str| schema.get(key).and_then(Value::as_u64);
    if let Some(text) = value.as_str() {
        let length = text.chars().count() as u64;
        if let Some(max) = limit("maxLength")
            && length > max
        {
            causes.push(too_long(path, max));
        }
        if let Some(min) = limit("minLength")
            && length < min
        {
            causes.push(Cause::invalid(
                path,
                value,
                &in_body(format!("should be at least {min} chars long")),
            ));
        }
    }
    if let (Some(pattern), Some(text)) = (
        schema.get("pattern").and_then(Value::as_str),
        value.as_str(),
    ) && let Ok(re) = regex::Regex::new(pattern)
        && !re.is_match(text)
    {
        causes.push(Cause::invalid(
            path,
            value,
            &in_body(format!("should match '{pattern}'")),
        ));
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        let supported: Vec<String> = options
            .iter()
            .map(|o| {
                o.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| o.to_string())
            })
            .collect();
        causes.push(Cause::unsupported(path, value, &supported));
    }
    match value {
        Value::Object(map) => {
            let count = map.len() as u64;
            if let Some(max) = limit("maxProperties")
                && count > max
            {
                causes.push(too_many(path, count, max));
            }
            if let Some(min) = limit("minProperties")
                && count < min
            {
                causes.push(Cause::invalid(
                    path,
                    &json!(count),
                    &in_body(format!("should have at least {min} properties")),
                ));
            }
            let props = schema.get("properties").and_then(Value::as_object);
            if let Some(props) = props {
                for (key, sub) in props {
                    if let Some(v) = map.get(key) {
                        check(sub, v, &format!("{path}.{key}"), causes);
                    }
                }
            }
            // The values of a map are checked against its additionalProperties schema.
            if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                for (key, v) in map {
                    if props.is_none_or(|p| !p.contains_key(key)) {
                        check(values, v, &format!("{path}.{key}"), causes);
                    }
                }
            }
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(required) {
                    causes.push(Cause::required(&format!("{path}.{required}"), ""));
                }
            }
        }
        Value::Array(items) => {
            let count = items.len() as u64;
            if let Some(min) = limit("minItems")
                && count < min
            {
                causes.push(Cause::invalid(
                    path,
                    &json!(count),
                    &in_body(format!("should have at least {min} items")),
                ));
            }
            if let Some(max) = limit("maxItems")
                && count > max
            {
                causes.push(too_many(path, count, max));
            }
            if schema.get("uniqueItems").and_then(Value::as_bool) == Some(true)
                && items
                    .iter()
                    .enumerate()
                    .any(|(i, item)| items[..i].contains(item))
            {
                causes.push(Cause::invalid(
                    path,
                    &json!(""),
                    &in_body("shouldn't contain duplicates".to_string()),
                ));
            }
            if let Some(sub) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(sub, item, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

/// `field.TooLong` as apiextensions reports a `maxLength` failure (the value left out).
fn too_long(path: &str, max: u64) -> Cause {
    let unit = if max == 1 { "byte" } else { "bytes" };
    Cause {
        reason: "FieldValueTooLong",
        message: format!("Too long: may not be more than {max} {unit}"),
        field: path.to_string(),
    }
}

/// `field.TooMany` as apiextensions reports a `maxItems` or `maxProperties` failure.
fn too_many(path: &str, actual: u64, max: u64) -> Cause {
    let unit = if max == 1 { "item" } else { "items" };
    Cause {
        reason: "FieldValueTooMany",
        message: format!("Too many: {actual}: must have at most {max} {unit}"),
        field: path.to_string(),
    }
}

/// Whether `value` is a multiple of `factor` as the OpenAPI validator decides it: the quotient
/// (computed as `value * (1 / factor)` for a factor below one, which keeps decimal factors
/// such as 0.1 exact enough) is an integer within a relative tolerance of 1e-9.
fn is_multiple(value: f64, factor: f64) -> bool {
    if factor == 0.0 {
        return true;
    }
    let quotient = if factor < 1.0 {
        value * (1.0 / factor)
    } else {
        value / factor
    };
    if !quotient.is_finite() {
        return false;
    }
    let diff = (quotient - quotient.round()).abs();
    diff < 1e-9 || diff / (quotient.abs() + quotient.round().abs()) < 1e-9
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiple_of_and_exclusive_bounds_are_checked_as_the_openapi_validator_does() {
        let messages = |schema: Value, value: Value| -> Vec<String> {
            let mut causes = Vec::new();
            check(&schema, &value, "spec.ratio", &mut causes);
            causes.into_iter().map(|c| c.message).collect()
        };
        let half = json!({"type": "number", "multipleOf": 0.5});
        assert_eq!(
            messages(half.clone(), json!(0.3)),
            ["Invalid value: 0.3: spec.ratio in body should be a multiple of 0.5"]
        );
        assert!(messages(half, json!(1.5)).is_empty());
        assert!(messages(json!({"multipleOf": 0.1}), json!(0.7)).is_empty());
        assert_eq!(
            messages(json!({"multipleOf": 3}), json!(7)),
            ["Invalid value: 7: spec.ratio in body should be a multiple of 3"]
        );
        assert_eq!(
            messages(json!({"type": "string", "maxLength": 3}), json!("abcd")),
            ["Too long: may not be more than 3 bytes"]
        );
        assert_eq!(
            messages(json!({"type": "string", "minLength": 2}), json!("a")),
            ["Invalid value: \"a\": spec.ratio in body should be at least 2 chars long"]
        );
        assert_eq!(
            messages(json!({"type": "array", "maxItems": 1}), json!(["a", "b"])),
            ["Too many: 2: must have at most 1 item"]
        );
        assert_eq!(
            messages(
                json!({"type": "array", "uniqueItems": true}),
                json!(["a", "a"])
            ),
            ["Invalid value: \"\": spec.ratio in body shouldn't contain duplicates"]
        );
        assert_eq!(
            messages(
                json!({"type": "object", "maxProperties": 2, "additionalProperties": {"type": "string"}}),
                json!({"a": "1", "b": 2, "c": "3"})
            ),
            [
                "Too many: 3: must have at most 2 items",
                "Invalid value: \"integer\": spec.ratio.b in body must be of type string: \"integer\""
            ]
        );
        let above = json!({"type": "integer", "minimum": 1, "exclusiveMinimum": true});
        assert_eq!(
            messages(above, json!(1)),
            ["Invalid value: 1: spec.ratio in body should be greater than 1"]
        );
    }

    fn crd() -> Value {
        let schema = |props: Value| json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": props}}}});
        json!({
            "metadata": {"name": "crates.x.example.com"},
            "spec": {"group": "x.example.com", "scope": "Namespaced",
                "names": {"plural": "crates", "singular": "crate", "kind": "Crate"},
                "versions": [
                    {"name": "v1alpha1", "served": true, "storage": false, "deprecated": true,
                        "schema": schema(json!({"size": {"type": "integer", "default": 1}, "legacy": {"type": "string"}}))},
                    {"name": "v1beta1", "served": true, "storage": true,
                        "schema": schema(json!({"size": {"type": "integer"}, "color": {"type": "string", "default": "red"}}))},
                    {"name": "v1", "served": true, "storage": false,
                        "schema": schema(json!({"size": {"type": "integer"}, "color": {"type": "string", "default": "blue"}}))},
                ]},
            "status": {"storedVersions": ["v1beta1"]},
        })
    }

    fn served(version: &str) -> Resource {
        resources_of(&crd())
            .into_iter()
            .find(|r| r.version == version)
            .expect("served version")
    }

    #[test]
    fn versions_order_as_kubernetes_prefers_them() {
        let mut versions = vec![
            "v1alpha1", "foo", "v2beta1", "v1", "v1beta2", "v1beta1", "v2",
        ];
        versions.sort_by(|a, b| version_order(a, b));
        assert_eq!(
            versions,
            [
                "v2", "v1", "v2beta1", "v1beta2", "v1beta1", "v1alpha1", "foo"
            ]
        );
    }

    #[test]
    fn deprecated_versions_name_the_preferred_newer_one() {
        let alpha = served("v1alpha1");
        assert_eq!(
            alpha
                .custom
                .as_ref()
                .and_then(|c| c.deprecation.clone())
                .as_deref(),
            Some("x.example.com/v1alpha1 Crate is deprecated; use x.example.com/v1 Crate")
        );
        assert!(
            served("v1")
                .custom
                .as_ref()
                .is_some_and(|c| c.deprecation.is_none())
        );
    }

    #[test]
    fn objects_are_stored_pruned_and_read_with_storage_defaults() {
        let alpha = served("v1alpha1");
        let custom = alpha.custom.clone().expect("custom");
        let mut object = json!({"apiVersion": "x.example.com/v1alpha1", "kind": "Crate",
            "metadata": {"name": "a"}, "spec": {"legacy": "old", "size": 7}});
        to_storage(&alpha, &custom, &mut object);
        assert_eq!(object["apiVersion"], json!("x.example.com/v1beta1"));
        assert_eq!(object["spec"], json!({"size": 7}));
        // Read at v1alpha1: storage defaults, then pruned by the served schema.
        assert_eq!(view(&alpha, &custom, &object)["spec"], json!({"size": 7}));
        let v1 = served("v1");
        let v1_custom = v1.custom.clone().expect("custom");
        let read = view(&v1, &v1_custom, &object);
        assert_eq!(read["apiVersion"], json!("x.example.com/v1"));
        assert_eq!(read["spec"], json!({"color": "red", "size": 7}));
    }

    #[test]
    fn a_new_storage_version_is_recorded_and_zero_values_dropped() {
        let old = crd();
        let mut new = crd();
        new["spec"]["versions"][1]["storage"] = json!(false);
        new["spec"]["versions"][2]["storage"] = json!(true);
        new["spec"]["versions"][2]["additionalPrinterColumns"] =
            json!([{"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 0}]);
        prepare(Some(&old), &mut new);
        assert_eq!(new["status"]["storedVersions"], json!(["v1beta1", "v1"]));
        assert_eq!(
            new["spec"]["versions"][2]["additionalPrinterColumns"][0].get("priority"),
            None
        );
        assert!(validate_definition(&new).is_empty());
    }

    #[test]
    fn definitions_are_validated() {
        let mut twins = crd();
        twins["spec"]["versions"][2]["storage"] = json!(true);
        let causes = validate_definition(&twins);
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["spec.versions", "status.storedVersions"]);
        assert!(
            causes[1]
                .message
                .ends_with("must have the storage version v1")
        );
        let mut misnamed = crd();
        misnamed["metadata"]["name"] = json!("things.x.example.com");
        let causes = validate_definition(&misnamed);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "metadata.name");
    }
}
