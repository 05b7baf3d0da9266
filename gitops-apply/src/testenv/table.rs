//! `meta.k8s.io/v1` Tables, as `kubectl get` asks for them: the CRD's printer columns, or the
//! columns of the common built-in kinds.

use serde_json::{Map, Value, json};

use super::registry::Resource;

fn s<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";

/// A `meta.k8s.io/v1` Table of objects: the CRD's printer columns, or Name and Age.
pub(crate) fn table(resource: &Resource, objects: &[&Value], rv: u64) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0}),
    ];
    let printer: Vec<Value> = match &resource.custom {
        Some(custom) if !custom.columns.is_empty() => custom.columns.clone(),
        Some(_) => {
            vec![json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"})]
        }
        None => builtin_columns(resource),
    };
    for column in &printer {
        let path = s(column, "/jsonPath");
        let description = column
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                if resource.custom.is_some() {
                    format!("Custom resource definition column (in JSONPath format): {path}")
                } else {
                    String::new()
                }
            });
        columns.push(json!({
            "name": s(column, "/name"),
            "type": s(column, "/type"),
            "format": s(column, "/format"),
            "description": description,
            "priority": column.get("priority").cloned().unwrap_or(json!(0)),
        }));
    }
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut cells = vec![json!(s(o, "/metadata/name"))];
            for column in &printer {
                let path = s(column, "/jsonPath");
                let found = match path.strip_prefix("computed:") {
                    Some(cell) => Some(computed(cell, o)),
                    None => json_path(o, path),
                };
                let cell = match (s(column, "/type"), found) {
                    ("date", Some(Value::String(t))) => json!(age(&t)),
                    (_, Some(v)) => v,
                    (_, None) => Value::Null,
                };
                cells.push(cell);
            }
            json!({"cells": cells, "object": super::handler::partial(o)})
        })
        .collect();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// The columns kubectl shows for the common built-in kinds; `computed:` paths are cells the
/// server derives rather than reads.
fn builtin_columns(resource: &Resource) -> Vec<Value> {
    let column =
        |name: &str, ty: &str, path: &str| json!({"name": name, "type": ty, "jsonPath": path});
    let mut columns = match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "ConfigMap") => vec![column("Data", "integer", "computed:data-count")],
        ("", "Secret") => vec![
            column("Type", "string", ".type"),
            column("Data", "integer", "computed:data-count"),
        ],
        ("", "Namespace") => vec![column("Status", "string", ".status.phase")],
        ("", "Service") => vec![
            column("Type", "string", ".spec.type"),
            column("Cluster-IP", "string", ".spec.clusterIP"),
            column("External-IP", "string", "computed:external-ip"),
            column("Port(s)", "string", "computed:ports"),
        ],
        ("", "Pod") => vec![
            column("Ready", "string", "computed:pod-ready"),
            column("Status", "string", ".status.phase"),
            column("Restarts", "string", "computed:restarts"),
        ],
        ("apps", "Deployment") | ("apps", "StatefulSet") | ("apps", "ReplicaSet") => vec![
            column("Ready", "string", "computed:ready"),
            column("Up-to-date", "integer", "computed:updated"),
            column("Available", "integer", "computed:available"),
        ],
        _ => Vec::new(),
    };
    columns.push(column("Age", "date", ".metadata.creationTimestamp"));
    columns
}

fn computed(cell: &str, object: &Value) -> Value {
    let int = |p: &str| object.pointer(p).and_then(Value::as_i64).unwrap_or(0);
    match cell {
        "data-count" => {
            let count = |p: &str| {
                object
                    .pointer(p)
                    .and_then(Value::as_object)
                    .map_or(0, Map::len)
            };
            json!(count("/data") + count("/binaryData"))
        }
        "external-ip" => json!("<none>"),
        "ports" => {
            let ports: Vec<String> = object
                .pointer("/spec/ports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| format!("{}/{}", int_of(p, "port"), s(p, "/protocol")))
                .collect();
            json!(if ports.is_empty() {
                "<none>".to_string()
            } else {
                ports.join(",")
            })
        }
        "pod-ready" => {
            let statuses = object
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array);
            let total = object
                .pointer("/spec/containers")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            let ready = statuses
                .into_iter()
                .flatten()
                .filter(|c| c.get("ready").and_then(Value::as_bool) == Some(true))
                .count();
            json!(format!("{ready}/{total}"))
        }
        "restarts" => {
            let restarts: i64 = object
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|c| int_of(c, "restartCount"))
                .sum();
            json!(restarts.to_string())
        }
        "ready" => json!(format!(
            "{}/{}",
            int("/status/readyReplicas"),
            int("/spec/replicas")
        )),
        "updated" => json!(int("/status/updatedReplicas")),
        "available" => json!(int("/status/availableReplicas")),
        _ => Value::Null,
    }
}

fn int_of(value: &Value, key: &str) -> i64 {
    value.get(key).and_then(Value::as_i64).unwrap_or(0)
}

/// The subset of JSONPath printer columns use: `.a.b`, `.a[0]`, `.a[?(@.k=="v")].b`.
fn json_path(object: &Value, path: &str) -> Option<Value> {
    let mut current = vec![object.clone()];
    let mut rest = path.trim_start_matches('{').trim_end_matches('}');
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let key = &after[..end];
            current = current.iter().filter_map(|v| v.get(key).cloned()).collect();
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix("[?(@.") {
            let end = after.find(")]")?;
            let expr = &after[..end];
            let (key, want) = expr.split_once("==")?;
            let want = want.trim().trim_matches('"').trim_matches('\'');
            current = current
                .iter()
                .filter_map(Value::as_array)
                .flatten()
                .filter(|item| item.get(key.trim()).and_then(Value::as_str) == Some(want))
                .cloned()
                .collect();
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            let index: usize = after[..end].parse().ok()?;
            current = current
                .iter()
                .filter_map(|v| v.get(index).cloned())
                .collect();
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    current.into_iter().next()
}

/// Go's `HumanDuration` of the time since a timestamp.
fn age(timestamp: &str) -> String {
    let Ok(then) = timestamp.parse::<jiff::Timestamp>() else {
        return "<unknown>".into();
    };
    let seconds = (jiff::Timestamp::now().as_second() - then.as_second()).max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 600 => format!("{}m{}s", s / 60, s % 60),
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
