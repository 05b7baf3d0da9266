//! Normalisation: the rewrites that make a desired object and a live object comparable.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Value};

use crate::Object;

/// The annotation `kubectl apply` writes; Flux removes it, and it would leak a Secret's data.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Metadata fields the API server populates; they never appear in a manifest.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
];

/// The container lists of a pod spec whose ports get a default protocol.
const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// Normalises an object as Flux does to a desired object before applying it.
///
/// - `metadata.creationTimestamp` is removed (manifests rendered by tools often carry `null`);
/// - `status` is removed, except on a CustomResourceDefinition, whose status Flux keeps;
/// - container ports (in a Pod, a PodTemplate, any `spec.template.spec`, a CronJob's job
///   template) and Service ports without a `protocol` get `TCP`, the server's default, which
///   is also part of their list key;
/// - a Secret's `stringData` is base64-encoded into `data`, over any existing key of the same
///   name, and removed, as the API server does on write.
///
/// ```
/// use gitops_core::{Object, diff::normalize_desired};
/// let secret = Object::from_value(serde_json::json!({
///     "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
///     "stringData": {"password": "hunter2"},
/// })).unwrap();
/// let normal = normalize_desired(&secret);
/// assert_eq!(normal.str_at(&["data", "password"]), Some("aHVudGVyMg=="));
/// assert!(normal.at(&["stringData"]).is_none());
/// ```
pub fn normalize_desired(object: &Object) -> Object {
    let mut out = object.clone();
    let core = object.group().is_empty();
    let keeps_status =
        object.kind() == "CustomResourceDefinition" && object.group() == "apiextensions.k8s.io";
    let kind = object.kind();
    let map = out.as_map_mut();
    if !keeps_status {
        map.remove("status");
    }
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        meta.remove("creationTimestamp");
    }
    if let Some(spec) = pod_spec_mut(map, kind, object.group()) {
        default_container_port_protocols(spec);
    }
    if core
        && kind == "Service"
        && let Some(ports) = map.get_mut("spec").and_then(|s| s.get_mut("ports"))
    {
        default_protocols(ports);
    }
    if core && kind == "Secret" {
        fold_string_data(map);
    }
    out
}

/// Normalises an object, desired or live, for comparison: [`normalize_desired`], then `status`
/// is removed from every kind, and so are the server-populated metadata (`managedFields`,
/// `resourceVersion`, `uid`, `generation`, `creationTimestamp`, `selfLink`) and the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation.
///
/// ```
/// use gitops_core::{Object, diff::normalize};
/// let live = Object::from_value(serde_json::json!({
///     "apiVersion": "v1", "kind": "Service",
///     "metadata": {"name": "web", "uid": "0b1c", "resourceVersion": "42"},
///     "spec": {"ports": [{"port": 80}]},
///     "status": {"loadBalancer": {}},
/// })).unwrap();
/// let normal = normalize(&live);
/// assert_eq!(normal.at(&["metadata", "uid"]), None);
/// assert_eq!(normal.at(&["status"]), None);
/// assert_eq!(normal.to_value()["spec"]["ports"][0]["protocol"], "TCP");
/// ```
pub fn normalize(object: &Object) -> Object {
    let mut out = normalize_desired(object);
    let map = out.as_map_mut();
    map.remove("status");
    if let Some(Value::Object(meta)) = map.get_mut("metadata") {
        strip_server_metadata(meta);
    }
    out
}

fn strip_server_metadata(meta: &mut Map<String, Value>) {
    for field in SERVER_METADATA {
        meta.remove(*field);
    }
    if let Some(Value::Object(annotations)) = meta.get_mut("annotations") {
        annotations.remove(LAST_APPLIED);
        // An emptied map would otherwise show as a change in a unified diff.
        if annotations.is_empty() {
            meta.remove("annotations");
        }
    }
}

/// Where the pod spec of a workload lives. The kinds are checked by group so that a custom
/// resource that happens to be called `Pod` is left alone; anything else with containers at
/// `spec.template.spec` (Deployments, Jobs, and many custom workloads) is a pod template.
fn pod_spec_path(
    map: &Map<String, Value>,
    kind: &str,
    group: &str,
) -> Option<&'static [&'static str]> {
    match (group, kind) {
        ("", "Pod") => Some(&["spec"]),
        ("", "PodTemplate") => Some(&["template", "spec"]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => {
            let containers = map
                .get("spec")
                .and_then(|s| s.get("template"))
                .and_then(|t| t.get("spec"))
                .and_then(|s| s.get("containers"));
            containers.map(|_| &["spec", "template", "spec"][..])
        }
    }
}

fn pod_spec_mut<'m>(
    map: &'m mut Map<String, Value>,
    kind: &str,
    group: &str,
) -> Option<&'m mut Map<String, Value>> {
    let path = pod_spec_path(map, kind, group)?;
    let (first, rest) = path.split_first()?;
    let mut cur = map.get_mut(*first)?;
    for key in rest {
        cur = cur.get_mut(*key)?;
    }
    cur.as_object_mut()
}

fn default_container_port_protocols(pod_spec: &mut Map<String, Value>) {
    for list in CONTAINER_LISTS {
        let Some(Value::Array(containers)) = pod_spec.get_mut(*list) else {
            continue;
        };
        for ports in containers.iter_mut().filter_map(|c| c.get_mut("ports")) {
            default_protocols(ports);
        }
    }
}

fn default_protocols(ports: &mut Value) {
    let Value::Array(ports) = ports else { return };
    for port in ports.iter_mut().filter_map(Value::as_object_mut) {
        if port.get("protocol").is_none_or(Value::is_null) {
            port.insert("protocol".into(), Value::String("TCP".into()));
        }
    }
}

fn fold_string_data(map: &mut Map<String, Value>) {
    let string_data = match map.get("stringData") {
        Some(Value::Object(_) | Value::Null) => map.remove("stringData"),
        // Leave a malformed stringData for the server to reject rather than drop it.
        _ => return,
    };
    let Some(Value::Object(string_data)) = string_data else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    let Value::Object(data) = data else { return };
    for (key, value) in string_data {
        data.insert(key, Value::String(BASE64.encode(text_of(&value))));
    }
}

/// The text a `map[string]string` field holds for a YAML value: strings as they are, other
/// scalars as written, null as empty.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Value) -> Object {
        Object::from_value(value).unwrap()
    }

    fn pod_spec_with_ports() -> Value {
        json!({
            "containers": [{"name": "web", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]}],
            "initContainers": [{"name": "init", "ports": [{"containerPort": 8080}]}],
            "ephemeralContainers": [{"name": "debug", "ports": [{"containerPort": 9000, "protocol": null}]}]
        })
    }

    fn assert_ports_defaulted(spec: &Value) {
        assert_eq!(spec["containers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["containers"][0]["ports"][1]["protocol"], "UDP");
        assert_eq!(spec["initContainers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(
            spec["ephemeralContainers"][0]["ports"][0]["protocol"],
            "TCP"
        );
    }

    #[test]
    fn status_is_dropped_except_on_crds_for_desired() {
        let cm = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "status": {"x": 1}}),
        );
        assert!(normalize_desired(&cm).at(&["status"]).is_none());
        let crd = obj(
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"}, "status": {"acceptedNames": {"kind": ""}}}),
        );
        assert!(normalize_desired(&crd).at(&["status"]).is_some());
        assert!(normalize(&crd).at(&["status"]).is_none());
    }

    #[test]
    fn server_metadata_and_last_applied_are_removed() {
        let live = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "c", "namespace": "default", "uid": "u", "resourceVersion": "1", "generation": 3,
            "creationTimestamp": "2024-01-01T00:00:00Z", "selfLink": "/api/v1/x",
            "managedFields": [{"manager": "kubectl"}],
            "labels": {"app": "c"},
            "annotations": {LAST_APPLIED: "{\"data\":{}}", "keep": "me"}}}),
        );
        let meta = normalize(&live).to_value()["metadata"].clone();
        assert_eq!(
            meta,
            json!({"name": "c", "namespace": "default", "labels": {"app": "c"}, "annotations": {"keep": "me"}})
        );
    }

    #[test]
    fn an_emptied_annotation_map_is_removed() {
        let live = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "c", "annotations": {LAST_APPLIED: "{}"}}}),
        );
        assert!(normalize(&live).at(&["metadata", "annotations"]).is_none());
    }

    #[test]
    fn creation_timestamp_is_removed_from_desired() {
        let cm = obj(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "creationTimestamp": null}}),
        );
        assert!(
            normalize_desired(&cm)
                .at(&["metadata", "creationTimestamp"])
                .is_none()
        );
    }

    #[test]
    fn pod_ports_default_to_tcp() {
        let pod = obj(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": pod_spec_with_ports()}),
        );
        assert_ports_defaulted(&normalize(&pod).to_value()["spec"]);
    }

    #[test]
    fn workload_template_ports_default_to_tcp() {
        for (api_version, kind) in [
            ("apps/v1", "Deployment"),
            ("apps/v1", "StatefulSet"),
            ("apps/v1", "DaemonSet"),
            ("apps/v1", "ReplicaSet"),
            ("batch/v1", "Job"),
            ("argoproj.io/v1alpha1", "Rollout"),
        ] {
            let w = obj(
                json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "w"},
                "spec": {"template": {"spec": pod_spec_with_ports()}}}),
            );
            assert_ports_defaulted(&normalize(&w).to_value()["spec"]["template"]["spec"]);
        }
    }

    #[test]
    fn cron_job_and_pod_template_ports_default_to_tcp() {
        let cron = obj(
            json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": pod_spec_with_ports()}}}}}),
        );
        let value = normalize(&cron).to_value();
        assert_ports_defaulted(&value["spec"]["jobTemplate"]["spec"]["template"]["spec"]);
        let template = obj(
            json!({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
            "template": {"spec": pod_spec_with_ports()}}),
        );
        assert_ports_defaulted(&normalize(&template).to_value()["template"]["spec"]);
    }

    #[test]
    fn unrelated_ports_are_left_alone() {
        let cr = obj(
            json!({"apiVersion": "example.com/v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"ports": [{"containerPort": 1}]}], "ports": [{"port": 1}]}}),
        );
        assert_eq!(normalize(&cr), cr);
    }

    #[test]
    fn service_ports_default_to_tcp() {
        let svc = obj(
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}}),
        );
        let value = normalize(&svc).to_value();
        assert_eq!(value["spec"]["ports"][0]["protocol"], "TCP");
        assert_eq!(value["spec"]["ports"][1]["protocol"], "UDP");
    }

    #[test]
    fn secret_string_data_is_encoded_over_data() {
        let secret = obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "data": {"a": "b2xk", "keep": "eA=="},
            "stringData": {"a": "new", "port": 5432, "empty": null}}),
        );
        let value = normalize(&secret).to_value();
        assert_eq!(
            value["data"],
            json!({"a": "bmV3", "keep": "eA==", "port": "NTQzMg==", "empty": ""})
        );
        assert!(value.get("stringData").is_none());
    }

    #[test]
    fn secret_string_data_creates_data() {
        let secret = obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"user": "admin"}}),
        );
        assert_eq!(
            normalize(&secret).to_value()["data"],
            json!({"user": "YWRtaW4="})
        );
    }

    #[test]
    fn normalisation_does_not_touch_the_input() {
        let secret = obj(
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "stringData": {"user": "admin"}}),
        );
        let before = secret.clone();
        let _ = normalize(&secret);
        assert_eq!(secret, before);
    }
}
