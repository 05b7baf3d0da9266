//! Discovery documents: `/api`, `/apis`, group and group-version resource lists, the aggregated
//! `apidiscovery.k8s.io/v2` form, and `/version`.

use serde_json::{Value, json};

use crate::testenv::registry::{Group, builtin, legacy_entries};

/// Whether the Accept header asks for aggregated discovery.
pub(crate) fn wants_aggregated(accept: &str) -> bool {
    accept.contains("as=APIGroupDiscoveryList")
}

fn group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// `/version`.
pub(crate) fn version() -> Value {
    builtin().version.clone()
}

/// `/api` in the legacy form.
pub(crate) fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    })
}

/// The aggregated discovery list of the given groups (the core group for `/api`).
pub(crate) fn aggregated(groups: &[Group]) -> Value {
    let items: Vec<Value> = groups
        .iter()
        .map(|g| {
            let metadata = if g.name.is_empty() {
                json!({})
            } else {
                json!({"name": g.name})
            };
            let versions: Vec<Value> = g
                .versions
                .iter()
                .map(|(v, resources)| {
                    // The storage hash is a legacy-list field only.
                    let resources: Vec<Value> = resources
                        .iter()
                        .map(|r| {
                            let mut r = r.clone();
                            if let Some(m) = r.as_object_mut() {
                                m.remove("storageVersionHash");
                            }
                            r
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

fn group_entry(g: &Group) -> Value {
    let versions: Vec<Value> = g
        .versions
        .iter()
        .map(|(v, _)| json!({"groupVersion": group_version(&g.name, v), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(json!({}));
    json!({"name": g.name, "versions": versions, "preferredVersion": preferred})
}

/// `/apis` in the legacy form.
pub(crate) fn group_list(groups: &[Group]) -> Value {
    let entries: Vec<Value> = groups.iter().map(group_entry).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": entries})
}

/// `/apis/<group>`.
pub(crate) fn group(g: &Group) -> Value {
    let mut entry = group_entry(g);
    if let Some(map) = entry.as_object_mut() {
        let mut out = serde_json::Map::new();
        out.insert("kind".into(), json!("APIGroup"));
        out.insert("apiVersion".into(), json!("v1"));
        out.extend(std::mem::take(map));
        return serde_json::Value::Object(out);
    }
    entry
}

/// `/api/v1` or `/apis/<group>/<version>`.
pub(crate) fn resource_list(group: &str, version: &str, resources: &[Value]) -> Value {
    let gv = group_version(group, version);
    let entries: Vec<Value> = resources
        .iter()
        .flat_map(|e| legacy_entries(&gv, e))
        .collect();
    if group.is_empty() {
        json!({"kind": "APIResourceList", "groupVersion": gv, "resources": entries})
    } else {
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": entries})
    }
}

/// `/openapi/v3`: where each group version's document is.
pub(crate) fn openapi_root(groups: &[Group]) -> Value {
    let mut paths = serde_json::Map::new();
    let core = &crate::testenv::registry::builtin().groups[0];
    for g in std::iter::once(core).chain(groups.iter()) {
        for (v, _) in &g.versions {
            let key = if g.name.is_empty() {
                format!("api/{v}")
            } else {
                format!("apis/{}/{v}", g.name)
            };
            paths.insert(
                key.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash=0")}),
            );
        }
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<group version>`: a document with the PATCH operation of each resource and its
/// query parameters, which is what kubectl reads to learn that the server validates fields
/// (`fieldValidation`) so that it need not validate on the client.
pub(crate) fn openapi_group_version(g: &Group, version: &str) -> Option<Value> {
    let (_, resources) = g.versions.iter().find(|(v, _)| v == version)?;
    let prefix = if g.name.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{}/{version}", g.name)
    };
    let mut paths = serde_json::Map::new();
    for entry in resources {
        let plural = entry.get("resource").and_then(Value::as_str).unwrap_or("");
        let kind = entry
            .pointer("/responseKind/kind")
            .cloned()
            .unwrap_or(Value::Null);
        let namespaced = entry.get("scope").and_then(Value::as_str) == Some("Namespaced");
        let path = if namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{plural}/{{name}}")
        } else {
            format!("{prefix}/{plural}/{{name}}")
        };
        let parameters: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string"}}))
            .collect();
        paths.insert(
            path,
            json!({"patch": {
                "parameters": parameters,
                "x-kubernetes-group-version-kind": {"group": g.name, "version": version, "kind": kind},
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.36.2"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
