//! The registry strategies of the built-in kinds: what `PrepareForCreate` and
//! `PrepareForUpdate` set after defaulting (status reset to its zero value, server-owned
//! fields, generation), none of it attributed to the writer.

use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;

/// Kinds whose strategy keeps `metadata.generation` (set to 1 on create, bumped when the spec
/// changes). Custom resources always do.
const GENERATION: &[(&str, &str)] = &[
    ("", "Pod"),
    ("", "ReplicationController"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("apps", "DaemonSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "Ingress"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    (
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
    ),
    (
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
    ),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
    ),
    ("admissionregistration.k8s.io", "MutatingAdmissionPolicy"),
    (
        "admissionregistration.k8s.io",
        "MutatingAdmissionPolicyBinding",
    ),
    ("flowcontrol.apiserver.k8s.io", "FlowSchema"),
    ("flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration"),
    ("resource.k8s.io", "DeviceClass"),
    ("resource.k8s.io", "ResourceClaim"),
    ("resource.k8s.io", "ResourceSlice"),
];

/// Whether the kind carries `metadata.generation`.
pub(crate) fn has_generation(resource: &Resource) -> bool {
    resource.custom.is_some()
        || GENERATION
            .iter()
            .any(|(g, k)| *g == resource.group && *k == resource.kind)
}

/// The status a new object starts with: its status type's zero value as Go serialises it
/// (fields without `omitempty` appear as zeros). Kinds not listed keep no status.
fn initial_status(resource: &Resource) -> Option<Value> {
    Some(match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => json!({"phase": "Active"}),
        ("", "Service") | ("networking.k8s.io", "Ingress") => json!({"loadBalancer": {}}),
        ("", "ReplicationController") | ("apps", "ReplicaSet") => json!({"replicas": 0}),
        ("", "PersistentVolumeClaim") => json!({"phase": "Pending"}),
        ("", "PersistentVolume") => {
            json!({"phase": "Pending", "lastPhaseTransitionTime": crate::testenv::clock::now()})
        }
        ("", "ResourceQuota") => json!({}),
        ("apps", "Deployment") => json!({}),
        ("apps", "StatefulSet") => json!({"replicas": 0, "availableReplicas": 0}),
        ("apps", "DaemonSet") => json!({
            "currentNumberScheduled": 0,
            "numberMisscheduled": 0,
            "desiredNumberScheduled": 0,
            "numberReady": 0,
        }),
        ("batch", "Job" | "CronJob") => json!({}),
        ("autoscaling", "HorizontalPodAutoscaler") if resource.version == "v1" => {
            json!({"currentReplicas": 0, "desiredReplicas": 0})
        }
        ("autoscaling", "HorizontalPodAutoscaler") => {
            json!({"desiredReplicas": 0, "currentMetrics": null})
        }
        ("policy", "PodDisruptionBudget") => json!({
            "disruptionsAllowed": 0,
            "currentHealthy": 0,
            "desiredHealthy": 0,
            "expectedPods": 0,
        }),
        ("flowcontrol.apiserver.k8s.io", "FlowSchema" | "PriorityLevelConfiguration") => json!({}),
        ("certificates.k8s.io", "CertificateSigningRequest") => json!({}),
        ("resource.k8s.io", "ResourceClaim") => json!({}),
        ("storage.k8s.io", "VolumeAttachment") => json!({"attached": false}),
        _ => return None,
    })
}

fn at<'a>(value: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    let mut current = value;
    for key in path {
        current = current.as_object_mut()?.get_mut(*key)?;
    }
    current.as_object_mut()
}

/// `PrepareForCreate`: server-set fields of a new object, after managedFields are computed.
pub(crate) fn prepare_create(resource: &Resource, object: &mut Value, uid: &str, ip: &str) {
    let status = if resource.group.is_empty() && resource.kind == "Pod" {
        Some(json!({"phase": "Pending", "qosClass": qos_class(object)}))
    } else {
        initial_status(resource)
    };
    if let Some(status) = status
        && let Some(map) = object.as_object_mut()
    {
        map.insert("status".into(), status);
    }
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => {
            if let Some(map) = object.as_object_mut() {
                map.insert("spec".into(), json!({"finalizers": ["kubernetes"]}));
            }
        }
        ("", "Service") => service_ips(object, ip),
        ("batch", "Job") => job_selector(object, uid),
        ("apps", "DaemonSet") => {
            // The template generation, kept as an annotation for old clients.
            set_annotation(object, "deprecated.daemonset.template.generation", "1");
        }
        _ => {}
    }
}

/// A Pod's quality of service class from its containers' cpu and memory requests and limits.
fn qos_class(pod: &Value) -> &'static str {
    let mut requests: Map<String, Value> = Map::new();
    let mut limits: Map<String, Value> = Map::new();
    let mut guaranteed = true;
    for list in ["/spec/initContainers", "/spec/containers"] {
        for container in pod
            .pointer(list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let of = |key: &str| {
                container
                    .pointer(&format!("/resources/{key}"))
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default()
            };
            let (own_requests, own_limits) = (of("requests"), of("limits"));
            let mut found = 0;
            for name in ["cpu", "memory"] {
                if let Some(q) = own_requests.get(name).filter(|q| !is_zero(q)) {
                    requests.insert(name.into(), q.clone());
                }
                if let Some(q) = own_limits.get(name).filter(|q| !is_zero(q)) {
                    limits.insert(name.into(), q.clone());
                    found += 1;
                }
                if own_requests.get(name) != own_limits.get(name) {
                    guaranteed = false;
                }
            }
            if found < 2 {
                guaranteed = false;
            }
        }
    }
    if requests.is_empty() && limits.is_empty() {
        "BestEffort"
    } else if guaranteed {
        "Guaranteed"
    } else {
        "Burstable"
    }
}

fn is_zero(quantity: &Value) -> bool {
    match quantity {
        Value::String(s) => s.trim_start_matches(['0', '.']).is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => true,
    }
}

/// Fields Go serialises even when unset (no `omitempty`), as `null`.
const ALWAYS_SERIALISED: &[(&str, &str, &str)] = &[
    ("rbac.authorization.k8s.io", "Role", "rules"),
    ("rbac.authorization.k8s.io", "ClusterRole", "rules"),
];

/// Writes the fields of [`ALWAYS_SERIALISED`] an object lacks, as `null`.
pub(crate) fn always_serialised(resource: &Resource, object: &mut Value) {
    for (group, kind, field) in ALWAYS_SERIALISED {
        if *group == resource.group
            && *kind == resource.kind
            && let Some(map) = object.as_object_mut()
        {
            map.entry(field.to_string()).or_insert(Value::Null);
        }
    }
}

/// `PrepareForUpdate` after the generation is settled: a DaemonSet's template generation
/// follows changes of its template.
pub(crate) fn prepare_update(resource: &Resource, old: &Value, new: &mut Value) {
    if resource.group == "apps" && resource.kind == "DaemonSet" {
        let key = "deprecated.daemonset.template.generation";
        let before = old
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .and_then(|g| g.parse::<i64>().ok());
        let Some(before) = before else {
            return;
        };
        let changed = old.pointer("/spec/template") != new.pointer("/spec/template");
        let next = if changed { before + 1 } else { before };
        set_annotation(new, key, &next.to_string());
    }
}

fn set_annotation(object: &mut Value, key: &str, value: &str) {
    if let Some(meta) = at(object, &["metadata"]) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(key.into(), json!(value));
        }
    }
}

/// A Service's cluster IPs and families; a headless or ExternalName Service gets none.
fn service_ips(object: &mut Value, ip: &str) {
    let Some(spec) = at(object, &["spec"]) else {
        return;
    };
    if spec.get("type").and_then(Value::as_str) == Some("ExternalName") {
        return;
    }
    if !spec.contains_key("clusterIP") {
        spec.insert("clusterIP".into(), json!(ip));
    }
    let cluster_ip = spec.get("clusterIP").cloned().unwrap_or(json!(ip));
    if !spec.contains_key("clusterIPs") {
        spec.insert("clusterIPs".into(), json!([cluster_ip]));
    }
    if !spec.contains_key("ipFamilies") {
        spec.insert("ipFamilies".into(), json!(["IPv4"]));
    }
    if !spec.contains_key("ipFamilyPolicy") {
        spec.insert("ipFamilyPolicy".into(), json!("SingleStack"));
    }
}

/// A Job without a manual selector selects its pods by its uid, labelling its template.
fn job_selector(object: &mut Value, uid: &str) {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let manual = object
        .pointer("/spec/manualSelector")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if manual {
        return;
    }
    let labels = json!({
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": name,
        "controller-uid": uid,
        "job-name": name,
    });
    let Some(spec) = at(object, &["spec"]) else {
        return;
    };
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    spec.insert("manualSelector".into(), json!(false));
    let template = spec.entry("template").or_insert_with(|| json!({}));
    let Some(template) = template.as_object_mut() else {
        return;
    };
    let meta = template.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let existing = meta.entry("labels").or_insert_with(|| json!({}));
    if let (Some(existing), Some(add)) = (existing.as_object_mut(), labels.as_object()) {
        for (k, v) in add {
            existing.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}
