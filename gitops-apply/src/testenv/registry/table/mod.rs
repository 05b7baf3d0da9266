//! `meta.k8s.io/v1` Tables, as `kubectl get` asks for them (`Accept: application/json;as=Table`),
//! converted the way kube-apiserver v1.36 converts each resource:
//!
//! - custom resources by their CRD's `additionalPrinterColumns` (or an Age column without any);
//! - built-in kinds by their printer ([`printers`]: columns, wide ones included, and cells);
//! - everything else by the default table convertor: Name and Created At. Besides the kinds
//!   without a printer, kube-apiserver registers it for LimitRange, Role, ClusterRole,
//!   CSIStorageCapacity and CustomResourceDefinition, which therefore have no entry in
//!   [`printers`].
//!
//! Each row carries the object as `PartialObjectMetadata` (the server's default
//! `includeObject=Metadata`).

mod docs;
mod format;
mod printers;

use std::collections::HashMap;

use serde_json::{Value, json};

use self::format::{Clock, go_json, parse_time};
use crate::testenv::registry::Resource;

/// What each row carries of its object: `TableOptions.includeObject`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) enum Include {
    /// `PartialObjectMetadata`, the default.
    #[default]
    Metadata,
    /// The whole object, as the request's version serves it.
    Object,
    /// Nothing (`"object": null`).
    None,
}

/// The `TableOptions` a request passes as query parameters.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Options {
    pub include: Include,
    /// `noHeaders`: leave `columnDefinitions` out (null), as kubectl asks after the first page.
    pub no_headers: bool,
}

impl Options {
    /// `includeObject` and `noHeaders` from a query; a boolean parameter is false only when
    /// "0" or "false", as the API server converts it.
    pub(crate) fn of(query: &HashMap<String, String>) -> Self {
        let include = match query.get("includeObject").map(String::as_str) {
            Some("Object") => Include::Object,
            Some("None") => Include::None,
            _ => Include::Metadata,
        };
        let no_headers = query
            .get("noHeaders")
            .is_some_and(|v| v != "0" && !v.eq_ignore_ascii_case("false"));
        Self {
            include,
            no_headers,
        }
    }
}

fn s<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// A column definition as a Table carries it.
fn column(name: &str, ty: &str, format: &str, description: &str, priority: &Value) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

/// A `meta.k8s.io/v1` Table of objects, converted as kube-apiserver converts the resource.
pub(crate) fn table(resource: &Resource, objects: &[&Value], rv: u64, options: Options) -> Value {
    let clock = Clock::now();
    let printer = printers::printer(&resource.group, &resource.kind);
    let objects = row_objects(resource, printer, objects);
    let (columns, mut rows) = match (&resource.custom, printer) {
        (Some(custom), _) => custom_table(&custom.columns, &objects, &clock),
        (None, Some(printer)) => builtin_table(printer, &objects, &clock),
        (None, None) => default_table(&objects),
    };
    for (row, object) in rows.iter_mut().zip(&objects) {
        if let Some(map) = row.as_object_mut() {
            map.insert(
                "object".into(),
                row_object(resource, object, options.include),
            );
        }
    }
    // kube-aggregator's APIService convertor always declares its columns.
    let headers = !options.no_headers || resource.kind == "APIService";
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv.to_string()},
        "columnDefinitions": if headers { Value::Array(columns) } else { Value::Null },
        "rows": rows,
    })
}

/// The objects in the order their rows are printed: as listed, except FlowSchemas, which
/// kube-apiserver prints by matching precedence, then name.
fn row_objects<'a>(
    resource: &Resource,
    printer: Option<&printers::Printer>,
    objects: &[&'a Value],
) -> Vec<&'a Value> {
    let mut objects = objects.to_vec();
    if resource.custom.is_none() && printer.is_some_and(|p| p.kind == "FlowSchema") {
        objects.sort_by(|a, b| printers::flow_schema_order(a, b));
    }
    objects
}

/// A row's `object` as `includeObject` asks.
fn row_object(resource: &Resource, object: &Value, include: Include) -> Value {
    match include {
        Include::Metadata => {
            let mut partial = crate::testenv::registry::partial(object);
            // Tables are printed from the internal object, whose DaemonSet keeps its template
            // generation in a field: the annotation exists only in the versioned object.
            if resource.group == "apps"
                && resource.kind == "DaemonSet"
                && let Some(annotations) = partial
                    .pointer_mut("/metadata/annotations")
                    .and_then(Value::as_object_mut)
            {
                annotations.remove("deprecated.daemonset.template.generation");
                if annotations.is_empty()
                    && let Some(meta) = partial.get_mut("metadata").and_then(Value::as_object_mut)
                {
                    meta.remove("annotations");
                }
            }
            partial
        }
        Include::None => Value::Null,
        Include::Object => {
            let mut full = if crate::testenv::registry::events::is_event(resource) {
                crate::testenv::registry::events::view(resource, object)
            } else {
                object.clone()
            };
            if let Some(map) = full.as_object_mut() {
                map.insert("apiVersion".into(), json!(resource.api_version()));
                map.insert("kind".into(), json!(resource.kind));
            }
            full
        }
    }
}

fn row(cells: Vec<Value>, conditions: Option<Value>) -> Value {
    let mut row = json!({"cells": cells});
    if let (Some(map), Some(conditions)) = (row.as_object_mut(), conditions) {
        map.insert("conditions".into(), conditions);
    }
    row
}

fn builtin_table(
    printer: &printers::Printer,
    objects: &[&Value],
    clock: &Clock,
) -> (Vec<Value>, Vec<Value>) {
    let columns = printer
        .columns
        .iter()
        .map(|c| column(c.name, c.ty, c.format, c.description, &json!(c.priority)))
        .collect();
    let rows = objects
        .iter()
        .map(|o| {
            let printed = (printer.row)(o, clock);
            row(printed.cells, printed.conditions)
        })
        .collect();
    (columns, rows)
}

/// `rest.NewDefaultTableConvertor`: Name and Created At (a `date` column holding the
/// creationTimestamp itself).
fn default_table(objects: &[&Value]) -> (Vec<Value>, Vec<Value>) {
    let zero = json!(0);
    let columns = vec![
        column("Name", "string", "name", docs::NAME, &zero),
        column("Created At", "date", "", docs::CREATION_TIMESTAMP, &zero),
    ];
    let rows = objects
        .iter()
        .map(|o| {
            let created = o
                .pointer("/metadata/creationTimestamp")
                .cloned()
                .unwrap_or(Value::Null);
            row(vec![json!(s(o, "/metadata/name")), created], None)
        })
        .collect();
    (columns, rows)
}

/// The apiextensions table convertor: Name, then each printer column (Age when the CRD declares
/// none), cells read by the column's JSONPath and typed by its `type`.
fn custom_table(declared: &[Value], objects: &[&Value], clock: &Clock) -> (Vec<Value>, Vec<Value>) {
    // serveDefaultColumnsIfEmpty: an Age column described as ObjectMeta's creationTimestamp.
    let age = [
        json!({"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp",
        "description": docs::CREATION_TIMESTAMP}),
    ];
    let printer: &[Value] = if declared.is_empty() { &age } else { declared };
    let zero = json!(0);
    let mut columns = vec![column("Name", "string", "name", docs::NAME, &zero)];
    for c in printer {
        let path = s(c, "/jsonPath");
        let description = c
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                format!("Custom resource definition column (in JSONPath format): {path}")
            });
        columns.push(column(
            s(c, "/name"),
            s(c, "/type"),
            s(c, "/format"),
            &description,
            c.get("priority").unwrap_or(&zero),
        ));
    }
    let rows = objects
        .iter()
        .map(|o| {
            let mut cells = vec![json!(s(o, "/metadata/name"))];
            for c in printer {
                let cell = match json_path(o, s(c, "/jsonPath")) {
                    Some(value) => custom_cell(s(c, "/type"), &value, clock),
                    None => Value::Null,
                };
                cells.push(cell);
            }
            row(cells, None)
        })
        .collect();
    (columns, rows)
}

/// A custom column's cell: strings as JSONPath prints a result, other types as
/// `cellForJSONValue` converts them (null when the value does not fit the type).
fn custom_cell(ty: &str, value: &Value, clock: &Clock) -> Value {
    match (ty, value) {
        ("string", Value::String(text)) => json!(text),
        ("string", other) => json!(go_json(other)),
        ("integer", Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().map(|f| f as i64))
            .map_or(Value::Null, |i| json!(i)),
        ("number", Value::Number(n)) => match n.as_i64() {
            Some(i) => json!(i),
            None => n.as_f64().map_or(Value::Null, |f| json!(f)),
        },
        ("boolean", Value::Bool(b)) => json!(b),
        ("date", Value::String(t)) => {
            if t.parse::<jiff::Timestamp>().is_err() {
                json!("<invalid>")
            } else if parse_time(value).is_none() {
                json!("<unknown>")
            } else {
                json!(clock.since(Some(value)))
            }
        }
        _ => Value::Null,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_cells_follow_the_column_type() {
        let clock = Clock::now();
        assert_eq!(custom_cell("string", &json!("x"), &clock), json!("x"));
        assert_eq!(custom_cell("string", &json!(3), &clock), json!("3"));
        assert_eq!(
            custom_cell("string", &json!({"b": 1, "a": [true]}), &clock),
            json!(r#"{"a":[true],"b":1}"#)
        );
        assert_eq!(custom_cell("integer", &json!(2.0), &clock), json!(2));
        assert_eq!(custom_cell("integer", &json!("2"), &clock), Value::Null);
        assert_eq!(custom_cell("boolean", &json!(true), &clock), json!(true));
        assert_eq!(
            custom_cell("date", &json!("nonsense"), &clock),
            json!("<invalid>")
        );
        assert_eq!(
            custom_cell("date", &json!("0001-01-01T00:00:00Z"), &clock),
            json!("<unknown>")
        );
    }

    #[test]
    fn default_convertor_prints_name_and_creation_time() {
        let object =
            json!({"metadata": {"name": "r", "creationTimestamp": "2020-01-01T00:00:00Z"}});
        let (columns, rows) = default_table(&[&object]);
        assert_eq!(columns[1]["name"], json!("Created At"));
        assert_eq!(columns[1]["type"], json!("date"));
        assert_eq!(rows[0]["cells"], json!(["r", "2020-01-01T00:00:00Z"]));
    }

    fn resource(group: &str, kind: &str) -> Resource {
        let entry =
            json!({"resource": "things", "responseKind": {"kind": kind}, "scope": "Namespaced"});
        crate::testenv::registry::resource_from_entry(group, "v1", &entry)
    }

    #[test]
    fn table_options_choose_the_row_object_and_headers() {
        let query = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "creationTimestamp": "2020-01-01T00:00:00Z"}, "data": {"a": "1"}});
        let configmaps = resource("", "ConfigMap");
        let plain = table(&configmaps, &[&object], 7, Options::default());
        assert_eq!(plain["metadata"]["resourceVersion"], json!("7"));
        assert_eq!(
            plain["rows"][0]["object"]["kind"],
            json!("PartialObjectMetadata")
        );
        assert_eq!(plain["rows"][0]["cells"][1], json!(1));

        let full = table(
            &configmaps,
            &[&object],
            7,
            Options::of(&query(&[("includeObject", "Object")])),
        );
        assert_eq!(full["rows"][0]["object"]["data"], json!({"a": "1"}));
        let none = table(
            &configmaps,
            &[&object],
            7,
            Options::of(&query(&[("includeObject", "None")])),
        );
        assert_eq!(none["rows"][0]["object"], Value::Null);

        let bare = table(
            &configmaps,
            &[&object],
            7,
            Options::of(&query(&[("noHeaders", "true")])),
        );
        assert_eq!(bare["columnDefinitions"], Value::Null);
        let headed = table(
            &configmaps,
            &[&object],
            7,
            Options::of(&query(&[("noHeaders", "false")])),
        );
        assert!(headed["columnDefinitions"].is_array());
        let apiservices = resource("apiregistration.k8s.io", "APIService");
        let always = table(
            &apiservices,
            &[&object],
            7,
            Options::of(&query(&[("noHeaders", "1")])),
        );
        assert!(always["columnDefinitions"].is_array());

        let roles = resource("rbac.authorization.k8s.io", "Role");
        let default = table(&roles, &[&object], 7, Options::default());
        assert_eq!(default["columnDefinitions"][1]["name"], json!("Created At"));
    }

    #[test]
    fn custom_resources_without_columns_get_an_age_column() {
        let object =
            json!({"metadata": {"name": "w", "creationTimestamp": "2020-01-01T00:00:00Z"}});
        let (columns, rows) = custom_table(&[], &[&object], &Clock::now());
        assert_eq!(columns[1]["name"], json!("Age"));
        assert_eq!(columns[1]["description"], json!(docs::CREATION_TIMESTAMP));
        assert_eq!(rows[0]["cells"][0], json!("w"));
        let declared =
            [json!({"name": "Size", "type": "integer", "jsonPath": ".spec.size", "priority": 1})];
        let (columns, _) = custom_table(&declared, &[&object], &Clock::now());
        assert_eq!(
            columns[1]["description"],
            json!("Custom resource definition column (in JSONPath format): .spec.size")
        );
        assert_eq!(columns[1]["priority"], json!(1));
    }

    #[test]
    fn flow_schema_rows_follow_precedence() {
        let fs = |name: &str, precedence: i64| json!({"metadata": {"name": name}, "spec": {"matchingPrecedence": precedence}});
        let (a, b) = (fs("late", 9000), fs("early", 100));
        let t = table(
            &resource("flowcontrol.apiserver.k8s.io", "FlowSchema"),
            &[&a, &b],
            1,
            Options::default(),
        );
        assert_eq!(t["rows"][0]["cells"][0], json!("early"));
        assert_eq!(t["rows"][0]["object"]["metadata"]["name"], json!("early"));
    }

    #[test]
    fn json_path_reads_filters_and_indexes() {
        let object = json!({"status": {"conditions": [{"type": "A", "status": "x"},
            {"type": "Ready", "status": "True"}]}, "spec": {"list": [5, 6]}});
        assert_eq!(
            json_path(&object, r#".status.conditions[?(@.type=="Ready")].status"#),
            Some(json!("True"))
        );
        assert_eq!(json_path(&object, ".spec.list[1]"), Some(json!(6)));
        assert_eq!(json_path(&object, ".spec.missing"), None);
    }
}
