//! Conversion of HorizontalPodAutoscalers between `autoscaling/v1` and `autoscaling/v2`, as
//! `pkg/apis/autoscaling/v1/conversion.go` converts them through the internal type. Objects
//! are stored at `autoscaling/v2` (the storage version); a request at v1 reads and writes the
//! v1 shape.
//!
//! v1 has one metric, `targetCPUUtilizationPercentage`: a v2 `Resource` metric on `cpu` with an
//! `Utilization` target. Everything v1 cannot hold travels in annotations and comes back when
//! converted to v2: the other metrics (in the alpha v1 `MetricSpec` shape) under
//! `autoscaling.alpha.kubernetes.io/metrics`, the current metrics under `…/current-metrics`,
//! the behavior under `…/behavior` and the conditions under `…/conditions`. A v1 object
//! without any metric means the controller's implicit 80% CPU target, made explicit in v2.

use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;

const METRICS: &str = "autoscaling.alpha.kubernetes.io/metrics";
const CURRENT_METRICS: &str = "autoscaling.alpha.kubernetes.io/current-metrics";
const BEHAVIOR: &str = "autoscaling.alpha.kubernetes.io/behavior";
const CONDITIONS: &str = "autoscaling.alpha.kubernetes.io/conditions";

/// The CPU target v1 leaves implicit.
const DEFAULT_CPU_UTILIZATION: i64 = 80;

/// Whether the resource is a HorizontalPodAutoscaler (served at v1 and v2, stored at v2).
pub(crate) fn is_hpa(resource: &Resource) -> bool {
    resource.custom.is_none()
        && resource.group == "autoscaling"
        && resource.kind == "HorizontalPodAutoscaler"
}

/// The object in the version `version` (`v1` or `v2`), from either.
pub(crate) fn convert(object: &Value, version: &str) -> Value {
    let from = object
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    match (from, version) {
        ("autoscaling/v1", "v2") => to_v2(object),
        ("autoscaling/v2", "v1") => to_v1(object),
        _ => object.clone(),
    }
}

fn is_cpu_utilization(metric: &Value) -> bool {
    metric.get("type").and_then(Value::as_str) == Some("Resource")
        && metric.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
        && metric
            .pointer("/resource/target/averageUtilization")
            .is_some_and(|u| !u.is_null())
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<&Value>) {
    if let Some(v) = value.filter(|v| !v.is_null()) {
        map.insert(key.into(), v.clone());
    }
}

/// A v2 `MetricSpec` in the alpha v1 shape the annotation holds.
fn spec_to_v1(metric: &Value) -> Value {
    let mut out = Map::new();
    insert_some(&mut out, "type", metric.get("type"));
    let target =
        |source: &Value, out: &mut Map<String, Value>, value_key: &str, average_key: &str| {
            insert_some(out, value_key, source.pointer("/target/value"));
            insert_some(out, average_key, source.pointer("/target/averageValue"));
        };
    if let Some(source) = metric.get("object").filter(|v| !v.is_null()) {
        let mut o = Map::new();
        insert_some(&mut o, "target", source.get("describedObject"));
        insert_some(&mut o, "metricName", source.pointer("/metric/name"));
        target(source, &mut o, "targetValue", "averageValue");
        insert_some(&mut o, "selector", source.pointer("/metric/selector"));
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(source) = metric.get("pods").filter(|v| !v.is_null()) {
        let mut o = Map::new();
        insert_some(&mut o, "metricName", source.pointer("/metric/name"));
        insert_some(
            &mut o,
            "targetAverageValue",
            source.pointer("/target/averageValue"),
        );
        insert_some(&mut o, "selector", source.pointer("/metric/selector"));
        out.insert("pods".into(), Value::Object(o));
    }
    for kind in ["resource", "containerResource"] {
        if let Some(source) = metric.get(kind).filter(|v| !v.is_null()) {
            let mut o = Map::new();
            insert_some(&mut o, "name", source.get("name"));
            insert_some(
                &mut o,
                "targetAverageUtilization",
                source.pointer("/target/averageUtilization"),
            );
            insert_some(
                &mut o,
                "targetAverageValue",
                source.pointer("/target/averageValue"),
            );
            insert_some(&mut o, "container", source.get("container"));
            out.insert(kind.into(), Value::Object(o));
        }
    }
    if let Some(source) = metric.get("external").filter(|v| !v.is_null()) {
        let mut o = Map::new();
        insert_some(&mut o, "metricName", source.pointer("/metric/name"));
        insert_some(&mut o, "metricSelector", source.pointer("/metric/selector"));
        target(source, &mut o, "targetValue", "targetAverageValue");
        out.insert("external".into(), Value::Object(o));
    }
    Value::Object(out)
}

/// An alpha v1 `MetricSpec` from the annotation back in the v2 shape.
fn spec_to_v2(metric: &Value) -> Value {
    let mut out = Map::new();
    insert_some(&mut out, "type", metric.get("type"));
    let metric_id = |name: Option<&Value>, selector: Option<&Value>| {
        let mut m = Map::new();
        insert_some(&mut m, "name", name);
        insert_some(&mut m, "selector", selector);
        Value::Object(m)
    };
    let value_target = |value: Option<&Value>, average: Option<&Value>| {
        let mut t = Map::new();
        match (
            value.filter(|v| !v.is_null()),
            average.filter(|v| !v.is_null()),
        ) {
            (Some(v), _) => {
                t.insert("type".into(), json!("Value"));
                t.insert("value".into(), v.clone());
            }
            (None, Some(a)) => {
                t.insert("type".into(), json!("AverageValue"));
                t.insert("averageValue".into(), a.clone());
            }
            (None, None) => {}
        }
        Value::Object(t)
    };
    if let Some(source) = metric.get("object").filter(|v| !v.is_null()) {
        let mut o = Map::new();
        insert_some(&mut o, "describedObject", source.get("target"));
        o.insert(
            "metric".into(),
            metric_id(source.get("metricName"), source.get("selector")),
        );
        o.insert(
            "target".into(),
            value_target(source.get("targetValue"), source.get("averageValue")),
        );
        out.insert("object".into(), Value::Object(o));
    }
    if let Some(source) = metric.get("pods").filter(|v| !v.is_null()) {
        let mut o = Map::new();
        o.insert(
            "metric".into(),
            metric_id(source.get("metricName"), source.get("selector")),
        );
        o.insert(
            "target".into(),
            value_target(None, source.get("targetAverageValue")),
        );
        out.insert("pods".into(), Value::Object(o));
    }
    for kind in ["resource", "containerResource"] {
        if let Some(source) = metric.get(kind).filter(|v| !v.is_null()) {
            let mut o = Map::new();
            insert_some(&mut o, "name", source.get("name"));
            insert_some(&mut o, "container", source.get("container"));
            let target = match source
                .get("targetAverageUtilization")
                .filter(|v| !v.is_null())
            {
                Some(u) => json!({"type": "Utilization", "averageUtilization": u}),
                None => value_target(None, source.get("targetAverageValue")),
            };
            o.insert("target".into(), target);
            out.insert(kind.into(), Value::Object(o));
        }
    }
    if let Some(source) = metric.get("external").filter(|v| !v.is_null()) {
        let mut o = Map::new();
        o.insert(
            "metric".into(),
            metric_id(source.get("metricName"), source.get("metricSelector")),
        );
        o.insert(
            "target".into(),
            value_target(source.get("targetValue"), source.get("targetAverageValue")),
        );
        out.insert("external".into(), Value::Object(o));
    }
    Value::Object(out)
}

fn annotations_mut(object: &mut Value) -> Option<&mut Map<String, Value>> {
    let meta = object.get_mut("metadata")?.as_object_mut()?;
    meta.entry("annotations")
        .or_insert_with(|| json!({}))
        .as_object_mut()
}

fn drop_empty_annotations(object: &mut Value) {
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut)
        && meta
            .get("annotations")
            .is_some_and(|a| a.as_object().is_some_and(Map::is_empty))
    {
        meta.remove("annotations");
    }
}

fn to_v1(v2: &Value) -> Value {
    let mut out = v2.clone();
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    map.insert("apiVersion".into(), json!("autoscaling/v1"));
    let spec = v2.get("spec").cloned().unwrap_or_else(|| json!({}));
    let metrics: Vec<Value> = spec
        .get("metrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut v1_spec = Map::new();
    insert_some(&mut v1_spec, "scaleTargetRef", spec.get("scaleTargetRef"));
    insert_some(&mut v1_spec, "minReplicas", spec.get("minReplicas"));
    v1_spec.insert(
        "maxReplicas".into(),
        spec.get("maxReplicas").cloned().unwrap_or(json!(0)),
    );
    let cpu = metrics.iter().find(|m| is_cpu_utilization(m));
    insert_some(
        &mut v1_spec,
        "targetCPUUtilizationPercentage",
        cpu.and_then(|m| m.pointer("/resource/target/averageUtilization")),
    );
    map.insert("spec".into(), Value::Object(v1_spec));
    let others: Vec<Value> = metrics
        .iter()
        .filter(|m| !is_cpu_utilization(m))
        .map(spec_to_v1)
        .collect();
    let status = v2.get("status").cloned().unwrap_or_else(|| json!({}));
    let current: Vec<Value> = status
        .get("currentMetrics")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let conditions: Vec<Value> = status
        .get("conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut v1_status = Map::new();
    insert_some(
        &mut v1_status,
        "observedGeneration",
        status.get("observedGeneration"),
    );
    insert_some(&mut v1_status, "lastScaleTime", status.get("lastScaleTime"));
    v1_status.insert(
        "currentReplicas".into(),
        status.get("currentReplicas").cloned().unwrap_or(json!(0)),
    );
    v1_status.insert(
        "desiredReplicas".into(),
        status.get("desiredReplicas").cloned().unwrap_or(json!(0)),
    );
    let current_cpu = current.iter().find(|m| {
        m.get("type").and_then(Value::as_str) == Some("Resource")
            && m.pointer("/resource/name").and_then(Value::as_str) == Some("cpu")
    });
    insert_some(
        &mut v1_status,
        "currentCPUUtilizationPercentage",
        current_cpu.and_then(|m| m.pointer("/resource/current/averageUtilization")),
    );
    map.insert("status".into(), Value::Object(v1_status));
    let behavior = spec.get("behavior").filter(|b| !b.is_null()).cloned();
    if let Some(annotations) = annotations_mut(&mut out) {
        if !others.is_empty() {
            annotations.insert(METRICS.into(), json!(Value::Array(others).to_string()));
        }
        if !current.is_empty() {
            annotations.insert(
                CURRENT_METRICS.into(),
                json!(Value::Array(current.clone()).to_string()),
            );
        }
        if let Some(behavior) = behavior {
            annotations.insert(BEHAVIOR.into(), json!(behavior.to_string()));
        }
        if !conditions.is_empty() {
            annotations.insert(
                CONDITIONS.into(),
                json!(Value::Array(conditions).to_string()),
            );
        }
    }
    drop_empty_annotations(&mut out);
    out
}

fn to_v2(v1: &Value) -> Value {
    let mut out = v1.clone();
    let annotation = |key: &str| -> Option<Value> {
        v1.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .and_then(|text| serde_json::from_str(text).ok())
    };
    let (others, current, behavior, conditions) = (
        annotation(METRICS),
        annotation(CURRENT_METRICS),
        annotation(BEHAVIOR),
        annotation(CONDITIONS),
    );
    let Some(map) = out.as_object_mut() else {
        return out;
    };
    map.insert("apiVersion".into(), json!("autoscaling/v2"));
    let spec = v1.get("spec").cloned().unwrap_or_else(|| json!({}));
    let mut metrics: Vec<Value> = others
        .as_ref()
        .and_then(Value::as_array)
        .map(|m| m.iter().map(spec_to_v2).collect())
        .unwrap_or_default();
    if let Some(cpu) = spec
        .get("targetCPUUtilizationPercentage")
        .filter(|v| !v.is_null())
    {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": cpu}}}));
    }
    if metrics.is_empty() {
        metrics.push(json!({"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}));
    }
    let mut v2_spec = Map::new();
    insert_some(&mut v2_spec, "scaleTargetRef", spec.get("scaleTargetRef"));
    insert_some(&mut v2_spec, "minReplicas", spec.get("minReplicas"));
    v2_spec.insert(
        "maxReplicas".into(),
        spec.get("maxReplicas").cloned().unwrap_or(json!(0)),
    );
    v2_spec.insert("metrics".into(), Value::Array(metrics));
    insert_some(&mut v2_spec, "behavior", behavior.as_ref());
    map.insert("spec".into(), Value::Object(v2_spec));
    let status = v1.get("status").cloned().unwrap_or_else(|| json!({}));
    let mut v2_status = Map::new();
    insert_some(
        &mut v2_status,
        "observedGeneration",
        status.get("observedGeneration"),
    );
    insert_some(&mut v2_status, "lastScaleTime", status.get("lastScaleTime"));
    insert_some(
        &mut v2_status,
        "currentReplicas",
        status.get("currentReplicas"),
    );
    v2_status.insert(
        "desiredReplicas".into(),
        status.get("desiredReplicas").cloned().unwrap_or(json!(0)),
    );
    let current = match (current, status.get("currentCPUUtilizationPercentage")) {
        (Some(current), _) => current,
        (None, Some(cpu)) if !cpu.is_null() => json!([{"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": cpu}}}]),
        _ => Value::Null,
    };
    v2_status.insert("currentMetrics".into(), current);
    insert_some(&mut v2_status, "conditions", conditions.as_ref());
    map.insert("status".into(), Value::Object(v2_status));
    if let Some(annotations) = out
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        for key in [METRICS, CURRENT_METRICS, BEHAVIOR, CONDITIONS] {
            annotations.remove(key);
        }
    }
    drop_empty_annotations(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v2(metrics: Value) -> Value {
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "minReplicas": 1,
                "maxReplicas": 5, "metrics": metrics},
            "status": {"desiredReplicas": 0, "currentMetrics": null}})
    }

    #[test]
    fn a_cpu_utilization_target_is_v1s_target_cpu_percentage_both_ways() {
        let cpu = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 60}}}]);
        let v1 = convert(&v2(cpu.clone()), "v1");
        assert_eq!(v1["apiVersion"], json!("autoscaling/v1"));
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], json!(60));
        assert!(v1["spec"].get("metrics").is_none());
        assert!(v1["metadata"].get("annotations").is_none());
        assert_eq!(
            v1["status"],
            json!({"currentReplicas": 0, "desiredReplicas": 0})
        );
        let back = convert(&v1, "v2");
        assert_eq!(back["spec"], v2(cpu)["spec"]);
        assert_eq!(back["status"]["currentMetrics"], Value::Null);
    }

    #[test]
    fn metrics_v1_cannot_hold_round_trip_through_the_annotation() {
        let metrics = json!([
            {"type": "Pods", "pods": {"metric": {"name": "qps"},
                "target": {"type": "AverageValue", "averageValue": "10"}}},
            {"type": "Resource", "resource": {"name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 70}}}
        ]);
        let v1 = convert(&v2(metrics.clone()), "v1");
        assert_eq!(
            v1["metadata"]["annotations"][METRICS],
            json!(r#"[{"type":"Pods","pods":{"metricName":"qps","targetAverageValue":"10"}}]"#)
        );
        assert_eq!(v1["spec"]["targetCPUUtilizationPercentage"], json!(70));
        assert_eq!(convert(&v1, "v2")["spec"]["metrics"], metrics);
    }

    #[test]
    fn a_v1_object_without_a_target_gets_the_implicit_cpu_target_in_v2() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"}, "spec": {"maxReplicas": 3}});
        let converted = convert(&v1, "v2");
        assert_eq!(
            converted["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            json!(80)
        );
    }
}
