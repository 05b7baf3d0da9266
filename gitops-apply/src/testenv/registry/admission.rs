//! The default mutating admission plugins that change objects on create, as a kube-apiserver
//! with its default plugin set runs them: ServiceAccount, LimitRanger, DefaultTolerationSeconds,
//! Priority, DefaultStorageClass, DefaultIngressClass, StorageObjectInUseProtection and
//! TaintNodesByCondition. They run after managedFields are computed, so what they add belongs
//! to no manager, and before the strategy.

use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::status::ApiError;
use crate::testenv::storage::Store;

fn key(group: &str, plural: &str) -> (String, String) {
    (group.to_string(), plural.to_string())
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer).and_then(Value::as_str)
}

fn spec(object: &mut Value) -> Option<&mut Map<String, Value>> {
    object.get_mut("spec").and_then(Value::as_object_mut)
}

/// Admits a new object; `suffix` names what the ServiceAccount plugin generates.
pub(crate) fn admit_create(
    resource: &Resource,
    object: &mut Value,
    namespace: &str,
    store: &Store,
    suffix: &str,
) -> Result<(), ApiError> {
    let name = str_at(object, "/metadata/name").unwrap_or("").to_string();
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Pod") => {
            service_account(resource, object, namespace, &name, store, suffix)?;
            limit_ranger(object, namespace, store);
            default_toleration_seconds(object);
            priority(resource, object, &name, store)?;
        }
        ("", "PersistentVolumeClaim") => {
            default_storage_class(object, store);
            finalizer(object, "kubernetes.io/pvc-protection");
        }
        ("", "PersistentVolume") => finalizer(object, "kubernetes.io/pv-protection"),
        ("storage.k8s.io", "VolumeAttributesClass") => {
            finalizer(object, "kubernetes.io/vac-protection")
        }
        ("networking.k8s.io", "Ingress") => default_ingress_class(object, store),
        ("", "Node") => node_taint(object),
        _ => {}
    }
    Ok(())
}

fn finalizer(object: &mut Value, finalizer: &str) {
    let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let list = meta.entry("finalizers").or_insert_with(|| json!([]));
    if let Some(list) = list.as_array_mut()
        && !list.iter().any(|f| f == finalizer)
    {
        list.push(json!(finalizer));
    }
}

/// ServiceAccount: the Pod runs as `default` unless it names one, which must exist, and gets
/// the projected token volume unless automounting is off.
fn service_account(
    resource: &Resource,
    pod: &mut Value,
    namespace: &str,
    name: &str,
    store: &Store,
    suffix: &str,
) -> Result<(), ApiError> {
    let account = str_at(pod, "/spec/serviceAccountName")
        .filter(|s| !s.is_empty())
        .unwrap_or("default")
        .to_string();
    let Some(found) = store.get(&key("", "serviceaccounts"), namespace, &account) else {
        return Err(ApiError::forbidden(
            format!(
                "pods \"{name}\" is forbidden: error looking up service account {namespace}/{account}: serviceaccount \"{account}\" not found"
            ),
            resource,
            name,
        ));
    };
    let automount = pod
        .pointer("/spec/automountServiceAccountToken")
        .and_then(Value::as_bool)
        .or_else(|| {
            found
                .get("automountServiceAccountToken")
                .and_then(Value::as_bool)
        })
        .unwrap_or(true);
    let Some(spec) = spec(pod) else {
        return Ok(());
    };
    spec.insert("serviceAccountName".into(), json!(account));
    spec.insert("serviceAccount".into(), json!(account));
    if !automount {
        return Ok(());
    }
    const MOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
    let mounted = ["initContainers", "containers"].iter().any(|list| {
        spec.get(*list)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("volumeMounts").and_then(Value::as_array))
            .flatten()
            .any(|m| m.get("mountPath").and_then(Value::as_str) == Some(MOUNT))
    });
    if mounted {
        return Ok(());
    }
    let volume = format!("kube-api-access-{suffix}");
    let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
    if let Some(volumes) = volumes.as_array_mut() {
        volumes.push(json!({
            "name": volume,
            "projected": {
                "sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ],
                "defaultMode": 420
            }
        }));
    }
    for list in ["initContainers", "containers"] {
        for container in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            let mounts = container.entry("volumeMounts").or_insert_with(|| json!([]));
            if let Some(mounts) = mounts.as_array_mut() {
                mounts.push(json!({"name": volume, "readOnly": true, "mountPath": MOUNT}));
            }
        }
    }
    Ok(())
}

/// LimitRanger: container requests and limits default to the namespace's LimitRanges, noted
/// in an annotation.
fn limit_ranger(pod: &mut Value, namespace: &str, store: &Store) {
    let mut default_limits = Map::new();
    let mut default_requests = Map::new();
    for range in store.list(&key("", "limitranges"), Some(namespace)) {
        for item in range
            .pointer("/spec/limits")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some("Container"))
        {
            for (field, into) in [
                ("default", &mut default_limits),
                ("defaultRequest", &mut default_requests),
            ] {
                for (k, v) in item
                    .get(field)
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    into.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
    if default_limits.is_empty() && default_requests.is_empty() {
        return;
    }
    let mut notes = Vec::new();
    let Some(spec) = spec(pod) else {
        return;
    };
    for (list, what) in [
        ("initContainers", "init container"),
        ("containers", "container"),
    ] {
        for container in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object_mut)
        {
            let container_name = container
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let resources = container.entry("resources").or_insert_with(|| json!({}));
            let Some(resources) = resources.as_object_mut() else {
                continue;
            };
            for (field, defaults, label) in [
                ("requests", &default_requests, "request"),
                ("limits", &default_limits, "limit"),
            ] {
                let mut set: Vec<String> = Vec::new();
                let own = resources.entry(field).or_insert_with(|| json!({}));
                if let Some(own) = own.as_object_mut() {
                    for (k, v) in defaults {
                        if !own.contains_key(k) {
                            own.insert(k.clone(), v.clone());
                            set.push(k.clone());
                        }
                    }
                }
                if resources
                    .get(field)
                    .and_then(Value::as_object)
                    .is_some_and(Map::is_empty)
                {
                    resources.remove(field);
                }
                if !set.is_empty() {
                    set.sort();
                    notes.push(format!(
                        "{} {label} for {what} {container_name}",
                        set.join(", ")
                    ));
                }
            }
        }
    }
    if notes.is_empty() {
        return;
    }
    if let Some(meta) = pod.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(
                "kubernetes.io/limit-ranger".into(),
                json!(format!("LimitRanger plugin set: {}", notes.join("; "))),
            );
        }
    }
}

/// DefaultTolerationSeconds: Pods tolerate a not-ready or unreachable node for 300 seconds.
fn default_toleration_seconds(pod: &mut Value) {
    let Some(spec) = spec(pod) else {
        return;
    };
    let tolerations = spec.entry("tolerations").or_insert_with(|| json!([]));
    let Some(tolerations) = tolerations.as_array_mut() else {
        return;
    };
    for taint in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = tolerations.iter().any(|t| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            (key == taint || key.is_empty()) && (effect.is_empty() || effect == "NoExecute")
        });
        if !tolerated {
            tolerations.push(json!({
                "key": taint,
                "operator": "Exists",
                "effect": "NoExecute",
                "tolerationSeconds": 300,
            }));
        }
    }
}

/// The PriorityClasses every cluster has.
const SYSTEM_CLASSES: &[(&str, i64)] = &[
    ("system-node-critical", 2_000_001_000),
    ("system-cluster-critical", 2_000_000_000),
];

/// Priority: a Pod's priority comes from its PriorityClass, or from the global default.
fn priority(
    resource: &Resource,
    pod: &mut Value,
    name: &str,
    store: &Store,
) -> Result<(), ApiError> {
    let classes = key("scheduling.k8s.io", "priorityclasses");
    let named = str_at(pod, "/spec/priorityClassName")
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let (class, value, policy) = match named {
        Some(class) => {
            if let Some((_, value)) = SYSTEM_CLASSES.iter().find(|(n, _)| *n == class) {
                (Some(class), *value, "PreemptLowerPriority".to_string())
            } else if let Some(found) = store.get(&classes, "", &class) {
                let value = found.get("value").and_then(Value::as_i64).unwrap_or(0);
                let policy = str_at(found, "/preemptionPolicy")
                    .unwrap_or("PreemptLowerPriority")
                    .to_string();
                (Some(class), value, policy)
            } else {
                return Err(ApiError::forbidden(
                    format!(
                        "pods \"{name}\" is forbidden: no PriorityClass with name {class} was found"
                    ),
                    resource,
                    name,
                ));
            }
        }
        None => {
            let default = store
                .list(&classes, None)
                .into_iter()
                .find(|c| c.get("globalDefault").and_then(Value::as_bool) == Some(true));
            match default {
                Some(found) => (
                    str_at(found, "/metadata/name").map(str::to_string),
                    found.get("value").and_then(Value::as_i64).unwrap_or(0),
                    str_at(found, "/preemptionPolicy")
                        .unwrap_or("PreemptLowerPriority")
                        .to_string(),
                ),
                None => (None, 0, "PreemptLowerPriority".to_string()),
            }
        }
    };
    let Some(spec) = spec(pod) else {
        return Ok(());
    };
    if let Some(class) = class {
        spec.insert("priorityClassName".into(), json!(class));
    }
    spec.insert("priority".into(), json!(value));
    if !spec.contains_key("preemptionPolicy") {
        spec.insert("preemptionPolicy".into(), json!(policy));
    }
    Ok(())
}

/// The newest object of a kind carrying `annotation: "true"`.
fn default_class(store: &Store, resource: (String, String), annotation: &str) -> Option<String> {
    store
        .list(&resource, None)
        .into_iter()
        .filter(|c| {
            c.pointer("/metadata/annotations")
                .and_then(|a| a.get(annotation))
                .and_then(Value::as_str)
                == Some("true")
        })
        .max_by_key(|c| {
            str_at(c, "/metadata/creationTimestamp")
                .unwrap_or("")
                .to_string()
        })
        .and_then(|c| str_at(c, "/metadata/name").map(str::to_string))
}

/// DefaultStorageClass: a claim naming no class gets the default one.
fn default_storage_class(claim: &mut Value, store: &Store) {
    if claim.pointer("/spec/storageClassName").is_some() {
        return;
    }
    let class = default_class(
        store,
        key("storage.k8s.io", "storageclasses"),
        "storageclass.kubernetes.io/is-default-class",
    );
    if let (Some(class), Some(spec)) = (class, spec(claim)) {
        spec.insert("storageClassName".into(), json!(class));
    }
}

/// DefaultIngressClass: an Ingress naming no class gets the default one.
fn default_ingress_class(ingress: &mut Value, store: &Store) {
    let annotated = ingress
        .pointer("/metadata/annotations")
        .and_then(|a| a.get("kubernetes.io/ingress.class"))
        .is_some();
    if annotated || ingress.pointer("/spec/ingressClassName").is_some() {
        return;
    }
    let class = default_class(
        store,
        key("networking.k8s.io", "ingressclasses"),
        "ingressclass.kubernetes.io/is-default-class",
    );
    if let (Some(class), Some(spec)) = (class, spec(ingress)) {
        spec.insert("ingressClassName".into(), json!(class));
    }
}

/// TaintNodesByCondition: a new Node is not ready until its kubelet says so.
fn node_taint(node: &mut Value) {
    let Some(map) = node.as_object_mut() else {
        return;
    };
    let spec = map.entry("spec").or_insert_with(|| json!({}));
    let Some(spec) = spec.as_object_mut() else {
        return;
    };
    let taints = spec.entry("taints").or_insert_with(|| json!([]));
    if let Some(taints) = taints.as_array_mut()
        && !taints
            .iter()
            .any(|t| t.get("key").and_then(Value::as_str) == Some("node.kubernetes.io/not-ready"))
    {
        taints.push(json!({"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}));
    }
}
