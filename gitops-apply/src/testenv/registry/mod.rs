//! Which resources the server serves: the built-in group versions (taken from what a
//! kube-apiserver v1.36 answers to aggregated discovery, `builtin-discovery.json`) and the
//! custom resources of established CustomResourceDefinitions.

pub(crate) mod admission;
pub(crate) mod cel;
pub(crate) mod crd;
pub(crate) mod defaults;
pub(crate) mod discovery;
pub(crate) mod encode;
pub(crate) mod events;
pub(crate) mod godiff;
pub(crate) mod hpa;
pub(crate) mod internal;
pub(crate) mod selector;
pub(crate) mod strategy;
pub(crate) mod table;
pub(crate) mod validation;

#[cfg(test)]
mod catalogue;

use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};

/// What the server recorded about the built-in API surface: the aggregated discovery items for
/// `/api` and `/apis`, storage version hashes and `/version`.
const BUILTIN: &str = include_str!("builtin-discovery.json");

/// One served resource of one group version.
///
/// Every request resolves one, so the parts that never change once built (verbs,
/// subresources, the discovery entry) are shared: cloning a resource copies four short
/// strings, not the entry's tree.
#[derive(Clone, Debug)]
pub(crate) struct Resource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub plural: String,
    pub namespaced: bool,
    pub verbs: Arc<[String]>,
    pub subresources: Arc<[String]>,
    /// The aggregated discovery entry as served.
    pub entry: Arc<Value>,
    /// The custom resource's definition, for resources served from a CRD.
    pub custom: Option<Arc<crate::testenv::registry::crd::CustomVersion>>,
}

impl Resource {
    /// `configmaps` or `deployments.apps`, as messages name a resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The storage key of the resource: group and plural.
    pub fn storage_key(&self) -> (String, String) {
        // events.k8s.io/v1 Events are core Events in another shape.
        if self.group == "events.k8s.io" && self.plural == "events" {
            return (String::new(), self.plural.clone());
        }
        (self.group.clone(), self.plural.clone())
    }

    /// Whether the resource has the subresource, e.g. `status`.
    pub fn has_subresource(&self, name: &str) -> bool {
        self.subresources.iter().any(|s| s == name)
    }

    /// Whether the verb is served.
    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.iter().any(|v| v == verb)
    }
}

/// A group with its versions in preference order, each with its aggregated discovery entries.
#[derive(Clone, Debug)]
pub(crate) struct Group {
    pub name: String,
    pub versions: Vec<(String, Vec<Value>)>,
}

/// The built-in API surface, parsed once.
pub(crate) struct Builtin {
    pub groups: Vec<Group>,
    /// Each group version's resources, built once from `groups` (a request resolves its
    /// resource here instead of rebuilding it from the discovery entry).
    pub resources: Vec<(String, String, Vec<Resource>)>,
    pub version: Value,
    pub hashes: serde_json::Map<String, Value>,
}

/// The built-in surface.
pub(crate) fn builtin() -> &'static Builtin {
    static BUILT: OnceLock<Builtin> = OnceLock::new();
    BUILT.get_or_init(|| {
        let data: Value = serde_json::from_str(BUILTIN).unwrap_or(Value::Null);
        let mut groups = Vec::new();
        let items = |key: &str| {
            data.get(key)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        };
        for item in items("core").into_iter().chain(items("groups")) {
            let name = item
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let versions = item
                .get("versions")
                .and_then(Value::as_array)
                .map(|vs| {
                    vs.iter()
                        .map(|v| {
                            (
                                v.get("version")
                                    .and_then(Value::as_str)
                                    .unwrap_or("")
                                    .to_string(),
                                v.get("resources")
                                    .and_then(Value::as_array)
                                    .cloned()
                                    .unwrap_or_default(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            groups.push(Group { name, versions });
        }
        let resources = groups
            .iter()
            .flat_map(|g| {
                g.versions.iter().map(|(version, entries)| {
                    let built = entries
                        .iter()
                        .map(|e| resource_from_entry(&g.name, version, e))
                        .collect();
                    (g.name.clone(), version.clone(), built)
                })
            })
            .collect();
        Builtin {
            groups,
            resources,
            version: data.get("version").cloned().unwrap_or(Value::Null),
            hashes: data
                .get("storageVersionHash")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        }
    })
}

/// An object as the resource's version serves it, when that differs from how it is stored:
/// an Event in the other Event view, a custom resource converted from its stored version.
pub(crate) fn served_view(resource: &Resource, object: &Value) -> Option<Value> {
    if let Some(custom) = &resource.custom {
        return Some(crate::testenv::registry::crd::view(
            resource, custom, object,
        ));
    }
    if crate::testenv::registry::events::is_event(resource) {
        return Some(crate::testenv::registry::events::view(resource, object));
    }
    if hpa::is_hpa(resource) {
        return Some(hpa::convert(object, &resource.version));
    }
    None
}

/// Builds a [`Resource`] from an aggregated discovery entry.
pub(crate) fn resource_from_entry(group: &str, version: &str, entry: &Value) -> Resource {
    let s = |key: &str| {
        entry
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let strings = |value: Option<&Value>| -> Vec<String> {
        value
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    Resource {
        group: group.to_string(),
        version: version.to_string(),
        kind: entry
            .pointer("/responseKind/kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        plural: s("resource"),
        namespaced: s("scope") == "Namespaced",
        verbs: strings(entry.get("verbs")).into(),
        subresources: entry
            .get("subresources")
            .and_then(Value::as_array)
            .map(|subs| {
                subs.iter()
                    .filter_map(|s| s.get("subresource").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect::<Vec<_>>()
                    .into()
            })
            .unwrap_or_else(|| Arc::from([])),
        entry: Arc::new(entry.clone()),
        custom: None,
    }
}

/// The legacy `APIResourceList` entries for an aggregated entry: the resource itself, then each
/// subresource.
pub(crate) fn legacy_entries(group_version: &str, entry: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let kind = entry
        .pointer("/responseKind/kind")
        .cloned()
        .unwrap_or(Value::Null);
    let plural = entry.get("resource").and_then(Value::as_str).unwrap_or("");
    let mut main = serde_json::Map::new();
    main.insert("name".into(), json!(plural));
    main.insert(
        "singularName".into(),
        entry.get("singularResource").cloned().unwrap_or(json!("")),
    );
    main.insert(
        "namespaced".into(),
        json!(entry.get("scope").and_then(Value::as_str) == Some("Namespaced")),
    );
    main.insert("kind".into(), kind);
    main.insert(
        "verbs".into(),
        entry.get("verbs").cloned().unwrap_or(json!([])),
    );
    for key in ["shortNames", "categories"] {
        if let Some(v) = entry.get(key) {
            main.insert(key.into(), v.clone());
        }
    }
    if let Some(hash) = builtin().hashes.get(&format!("{group_version}/{plural}")) {
        main.insert("storageVersionHash".into(), hash.clone());
    } else if let Some(hash) = entry.get("storageVersionHash") {
        main.insert("storageVersionHash".into(), hash.clone());
    }
    out.push(Value::Object(main));
    for sub in entry
        .get("subresources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let mut m = serde_json::Map::new();
        let name = sub.get("subresource").and_then(Value::as_str).unwrap_or("");
        m.insert("name".into(), json!(format!("{plural}/{name}")));
        m.insert("singularName".into(), json!(""));
        m.insert(
            "namespaced".into(),
            json!(entry.get("scope").and_then(Value::as_str) == Some("Namespaced")),
        );
        let rk = sub.get("responseKind").cloned().unwrap_or(json!({}));
        for key in ["group", "version"] {
            if let Some(v) = rk
                .get(key)
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
            {
                m.insert(key.into(), json!(v));
            }
        }
        m.insert(
            "kind".into(),
            rk.get("kind").cloned().unwrap_or(Value::Null),
        );
        m.insert(
            "verbs".into(),
            sub.get("verbs").cloned().unwrap_or(json!([])),
        );
        out.push(Value::Object(m));
    }
    out
}

/// An object's `PartialObjectMetadata` form, as a metadata-only client asks for it.
pub(crate) fn partial(object: &Value) -> Value {
    serde_json::json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": object.get("metadata").cloned().unwrap_or(serde_json::json!({})),
    })
}
