//! What the API server fills in for the built-in kinds: the defaulting functions applied when
//! an object is decoded (attributed to the writer in managedFields), and the fields the
//! registry strategies set afterwards (namespace finalizers, Job selectors, Service IPs, empty
//! status structs).

use serde_json::{Map, Value, json};

use super::registry::Resource;

fn obj(value: &mut Value) -> Option<&mut Map<String, Value>> {
    value.as_object_mut()
}

fn default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if !map.contains_key(key) {
        map.insert(key.to_string(), value);
    }
}

fn at<'a>(value: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut current = value;
    for key in path {
        current = current.as_object_mut()?.get_mut(*key)?;
    }
    current.as_object_mut()
}

/// The defaulting functions of the built-in kinds.
pub(crate) fn apply_defaults(resource: &Resource, object: &mut Value) {
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => {
            let name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if let Some(meta) = at(object, &["metadata"]) {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                if let Some(labels) = labels.as_object_mut() {
                    labels.insert("kubernetes.io/metadata.name".into(), json!(name));
                }
            }
        }
        ("", "Pod") => {
            if let Some(spec) = at(object, &["spec"]) {
                pod_spec(spec);
                default(spec, "enableServiceLinks", json!(true));
            }
        }
        ("", "Service") => {
            if let Some(spec) = at(object, &["spec"]) {
                service_spec(spec);
            }
        }
        ("apps", "Deployment") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(spec, "replicas", json!(1));
                default(spec, "strategy", json!({"type": "RollingUpdate"}));
                if let Some(strategy) = spec.get_mut("strategy").and_then(Value::as_object_mut)
                    && strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate")
                {
                    let rolling = strategy.entry("rollingUpdate").or_insert_with(|| json!({}));
                    if let Some(rolling) = rolling.as_object_mut() {
                        default(rolling, "maxUnavailable", json!("25%"));
                        default(rolling, "maxSurge", json!("25%"));
                    }
                }
                default(spec, "revisionHistoryLimit", json!(10));
                default(spec, "progressDeadlineSeconds", json!(600));
            }
            template(object);
        }
        ("apps", "StatefulSet") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(spec, "replicas", json!(1));
                default(spec, "podManagementPolicy", json!("OrderedReady"));
                default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
                );
                default(spec, "revisionHistoryLimit", json!(10));
                default(
                    spec,
                    "persistentVolumeClaimRetentionPolicy",
                    json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                );
            }
            template(object);
        }
        ("apps", "DaemonSet") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(
                    spec,
                    "updateStrategy",
                    json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
                );
                default(spec, "revisionHistoryLimit", json!(10));
            }
            template(object);
        }
        ("apps", "ReplicaSet") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(spec, "replicas", json!(1));
            }
            template(object);
        }
        ("batch", "Job") => {
            if let Some(spec) = at(object, &["spec"]) {
                job_spec(spec);
            }
            template(object);
        }
        ("batch", "CronJob") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(spec, "concurrencyPolicy", json!("Allow"));
                default(spec, "suspend", json!(false));
                default(spec, "successfulJobsHistoryLimit", json!(3));
                default(spec, "failedJobsHistoryLimit", json!(1));
                if let Some(job) = spec
                    .get_mut("jobTemplate")
                    .and_then(|t| t.get_mut("spec"))
                    .and_then(Value::as_object_mut)
                {
                    job_spec(job);
                    if let Some(pod) = job
                        .get_mut("template")
                        .and_then(|t| t.get_mut("spec"))
                        .and_then(Value::as_object_mut)
                    {
                        pod_spec(pod);
                    }
                }
            }
        }
        ("", "Secret") => {
            if let Some(map) = obj(object) {
                default(map, "type", json!("Opaque"));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(spec, "volumeMode", json!("Filesystem"));
            }
        }
        ("networking.k8s.io", "NetworkPolicy") => {
            if let Some(spec) = at(object, &["spec"]) {
                if !spec.contains_key("policyTypes") {
                    let mut types = vec![json!("Ingress")];
                    if spec.contains_key("egress") {
                        types.push(json!("Egress"));
                    }
                    spec.insert("policyTypes".into(), Value::Array(types));
                }
                for direction in ["ingress", "egress"] {
                    for rule in spec
                        .get_mut(direction)
                        .and_then(Value::as_array_mut)
                        .into_iter()
                        .flatten()
                    {
                        for port in rule
                            .get_mut("ports")
                            .and_then(Value::as_array_mut)
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_object_mut)
                        {
                            default(port, "protocol", json!("TCP"));
                        }
                    }
                }
            }
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(spec, "minReplicas", json!(1));
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            if let Some(spec) = at(object, &["spec"]) {
                default(spec, "conversion", json!({"strategy": "None"}));
                if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
                    let kind = names
                        .get("kind")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string();
                    default(names, "listKind", json!(format!("{kind}List")));
                }
            }
        }
        _ => {}
    }
}

fn job_spec(spec: &mut Map<String, Value>) {
    default(spec, "parallelism", json!(1));
    default(spec, "completions", json!(1));
    default(spec, "backoffLimit", json!(6));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    default(spec, "podReplacementPolicy", json!("TerminatingOrFailed"));
}

fn template(object: &mut Value) {
    if let Some(spec) = at(object, &["spec", "template", "spec"]) {
        pod_spec(spec);
    }
}

fn pod_spec(spec: &mut Map<String, Value>) {
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "securityContext", json!({}));
    default(spec, "schedulerName", json!("default-scheduler"));
    if let Some(sa) = spec.get("serviceAccountName").cloned() {
        default(spec, "serviceAccount", sa);
    }
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(containers)) = spec.get_mut(list) {
            for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                self::container(container);
            }
        }
    }
    if let Some(Value::Array(volumes)) = spec.get_mut("volumes") {
        for volume in volumes.iter_mut().filter_map(Value::as_object_mut) {
            for source in ["configMap", "secret", "downwardAPI", "projected"] {
                if let Some(inner) = volume.get_mut(source).and_then(Value::as_object_mut) {
                    default(inner, "defaultMode", json!(420));
                }
            }
        }
    }
}

fn container(container: &mut Map<String, Value>) {
    default(container, "resources", json!({}));
    default(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    default(container, "terminationMessagePolicy", json!("File"));
    let image = container
        .get("image")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    default(container, "imagePullPolicy", json!(pull_policy(&image)));
    if let Some(Value::Array(ports)) = container.get_mut("ports") {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(port, "protocol", json!("TCP"));
        }
    }
    if let Some(Value::Array(env)) = container.get_mut("env") {
        for var in env.iter_mut() {
            if let Some(field_ref) = var
                .get_mut("valueFrom")
                .and_then(|v| v.get_mut("fieldRef"))
                .and_then(Value::as_object_mut)
            {
                default(field_ref, "apiVersion", json!("v1"));
            }
        }
    }
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent`.
fn pull_policy(image: &str) -> &'static str {
    if image.contains('@') {
        return "IfNotPresent";
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        Some((_, "latest")) | None => "Always",
        Some(_) => "IfNotPresent",
    }
}

fn service_spec(spec: &mut Map<String, Value>) {
    default(spec, "type", json!("ClusterIP"));
    default(spec, "sessionAffinity", json!("None"));
    if let Some(Value::Array(ports)) = spec.get_mut("ports") {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            default(port, "protocol", json!("TCP"));
            if let Some(number) = port.get("port").cloned() {
                default(port, "targetPort", number);
            }
        }
    }
    let external = matches!(
        spec.get("type").and_then(Value::as_str),
        Some("NodePort") | Some("LoadBalancer")
    );
    if external {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if spec.get("type").and_then(Value::as_str) != Some("ExternalName") {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
}

/// Server-set fields the registry strategies write on create, after managedFields are
/// computed: they belong to no manager.
pub(crate) fn prepare_create(resource: &Resource, object: &mut Value, uid: &str, ip: &str) {
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => {
            if let Some(map) = obj(object) {
                map.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
                map.insert("status".into(), json!({"phase": "Active"}));
            }
        }
        ("", "Service") => {
            if let Some(spec) = at(object, &["spec"]) {
                let headless = spec.get("clusterIP").and_then(Value::as_str) == Some("None");
                if spec.get("type").and_then(Value::as_str) != Some("ExternalName") {
                    if !spec.contains_key("clusterIP") {
                        spec.insert("clusterIP".into(), json!(ip));
                    }
                    let cluster_ip = spec.get("clusterIP").cloned().unwrap_or(json!(ip));
                    default(spec, "clusterIPs", json!([cluster_ip]));
                    default(spec, "ipFamilies", json!(["IPv4"]));
                    default(spec, "ipFamilyPolicy", json!("SingleStack"));
                }
                let _ = headless;
            }
            if let Some(map) = obj(object) {
                map.insert("status".into(), json!({"loadBalancer": {}}));
            }
        }
        ("batch", "Job") => {
            let name = object
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let manual = object
                .pointer("/spec/manualSelector")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if !manual {
                let labels = json!({
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": name,
                    "controller-uid": uid,
                    "job-name": name,
                });
                if let Some(spec) = at(object, &["spec"]) {
                    spec.insert(
                        "selector".into(),
                        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
                    );
                    spec.insert("manualSelector".into(), json!(false));
                }
                for path in [&["metadata"][..], &["spec", "template", "metadata"][..]] {
                    if let Some(meta) = at(object, path) {
                        let existing = meta.entry("labels").or_insert_with(|| json!({}));
                        if let (Some(existing), Some(add)) =
                            (existing.as_object_mut(), labels.as_object())
                        {
                            for (k, v) in add {
                                existing.entry(k.clone()).or_insert_with(|| v.clone());
                            }
                        }
                    }
                }
                if at(object, &["spec", "template", "metadata"]).is_none()
                    && let Some(template) = at(object, &["spec", "template"])
                {
                    template.insert("metadata".into(), json!({"labels": labels}));
                }
            }
            empty_status(object);
        }
        ("apps", _) | ("batch", "CronJob") | ("autoscaling", _) | ("policy", _) => {
            empty_status(object);
        }
        ("networking.k8s.io", "Ingress") => {
            if let Some(map) = obj(object) {
                default(map, "status", json!({"loadBalancer": {}}));
            }
        }
        ("", "PersistentVolumeClaim") => {
            if let Some(map) = obj(object) {
                default(map, "status", json!({"phase": "Pending"}));
            }
        }
        ("", "Pod") => {
            if let Some(map) = obj(object) {
                default(
                    map,
                    "status",
                    json!({"phase": "Pending", "qosClass": "BestEffort"}),
                );
            }
        }
        _ => {}
    }
}

fn empty_status(object: &mut Value) {
    if let Some(map) = obj(object) {
        default(map, "status", json!({}));
    }
}

/// Secrets: `stringData` is write-only, folded into `data` (base64) on every write.
pub(crate) fn fold_string_data(resource: &Resource, object: &mut Value) {
    use base64::Engine;
    if !(resource.group.is_empty() && resource.kind == "Secret") {
        return;
    }
    let Some(map) = obj(object) else {
        return;
    };
    let Some(Value::Object(strings)) = map.remove("stringData") else {
        return;
    };
    let data = map.entry("data").or_insert_with(|| json!({}));
    if let Some(data) = data.as_object_mut() {
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
            data.insert(key, json!(encoded));
        }
    }
}

/// Whether the kind carries `metadata.generation` (its spec changes bump it).
pub(crate) fn has_generation(resource: &Resource) -> bool {
    resource.custom.is_some()
        || matches!(
            resource.group.as_str(),
            "apps"
                | "batch"
                | "networking.k8s.io"
                | "policy"
                | "autoscaling"
                | "apiextensions.k8s.io"
                | "admissionregistration.k8s.io"
        )
}
