//! The defaulting functions of the built-in types, run on every object the server decodes
//! (so their fields belong to the writer in managedFields).
//!
//! Kubernetes registers one `SetDefaults_<Type>` function per Go type and a generated walker
//! calls it on every instance of that type inside an object, parents before children: the
//! `Probe` defaults apply to a Pod's probes and to those in every workload template alike. This
//! module keeps that shape: [`DEFAULTERS`] maps an OpenAPI definition name (the Go type) to
//! its function, and [`apply_defaults`] walks the object alongside its schema, calling the
//! function of each typed position. A kind whose group has no schema here gets its root
//! type's function only. Registry strategies ([`crate::testenv::registry::strategy`]) and admission
//! ([`crate::testenv::registry::admission`]) run later and are not attributed to the writer.

use gitops_core::schema::{Node, Schema};
use serde_json::{Map, Value, json};

use crate::testenv::registry::Resource;

type Fields = Map<String, Value>;

/// One type's defaulting function.
type Defaulter = fn(&mut Fields);

/// `SetDefaults_<Type>` by type, as `<group>.<version>.<Type>` (the OpenAPI definition name
/// without its package prefix; the core group is `core`).
const DEFAULTERS: &[(&str, Defaulter)] = &[
    // core/v1
    ("core.v1.Pod", pod),
    ("core.v1.PodSpec", pod_spec),
    ("core.v1.Container", container),
    ("core.v1.EphemeralContainer", container),
    ("core.v1.ContainerPort", protocol_tcp),
    ("core.v1.Probe", probe),
    ("core.v1.HTTPGetAction", http_get),
    ("core.v1.Volume", volume),
    ("core.v1.SecretVolumeSource", default_mode),
    ("core.v1.ConfigMapVolumeSource", default_mode),
    ("core.v1.DownwardAPIVolumeSource", default_mode),
    ("core.v1.ProjectedVolumeSource", default_mode),
    ("core.v1.ServiceAccountTokenProjection", token_projection),
    ("core.v1.HostPathVolumeSource", host_path),
    ("core.v1.ISCSIVolumeSource", iscsi),
    ("core.v1.ISCSIPersistentVolumeSource", iscsi),
    ("core.v1.RBDVolumeSource", rbd),
    ("core.v1.RBDPersistentVolumeSource", rbd),
    ("core.v1.AzureDiskVolumeSource", azure_disk),
    ("core.v1.ScaleIOVolumeSource", scale_io),
    ("core.v1.ScaleIOPersistentVolumeSource", scale_io),
    ("core.v1.ObjectFieldSelector", field_selector),
    ("core.v1.Service", service),
    ("core.v1.EndpointPort", protocol_tcp),
    ("core.v1.Namespace", namespace),
    ("core.v1.NamespaceStatus", namespace_status),
    ("core.v1.Secret", secret),
    ("core.v1.PersistentVolume", persistent_volume),
    ("core.v1.PersistentVolumeClaim", persistent_volume_claim),
    ("core.v1.PersistentVolumeClaimSpec", claim_spec),
    ("core.v1.ReplicationController", replication_controller),
    ("core.v1.LimitRangeItem", limit_range_item),
    ("core.v1.NodeStatus", node_status),
    // apps/v1
    ("apps.v1.Deployment", deployment),
    ("apps.v1.StatefulSet", stateful_set),
    ("apps.v1.DaemonSet", daemon_set),
    ("apps.v1.ReplicaSet", replicas_one),
    // batch/v1
    ("batch.v1.Job", job),
    ("batch.v1.CronJob", cron_job),
    // autoscaling
    ("autoscaling.v2.HorizontalPodAutoscaler", hpa_v2),
    ("autoscaling.v1.HorizontalPodAutoscaler", hpa_v1),
    // networking.k8s.io/v1
    ("networking.v1.NetworkPolicy", network_policy),
    ("networking.v1.NetworkPolicyPort", protocol_tcp),
    // discovery.k8s.io/v1
    ("discovery.v1.EndpointPort", endpoint_slice_port),
    // rbac.authorization.k8s.io/v1
    ("rbac.v1.Subject", subject),
    // storage.k8s.io/v1
    ("storage.v1.StorageClass", storage_class),
    ("storage.v1.CSIDriver", csi_driver),
    // scheduling.k8s.io/v1
    ("scheduling.v1.PriorityClass", priority_class),
    // admissionregistration.k8s.io/v1
    ("admissionregistration.v1.ValidatingWebhook", webhook),
    ("admissionregistration.v1.MutatingWebhook", mutating_webhook),
    ("admissionregistration.v1.Rule", rule),
    ("admissionregistration.v1.RuleWithOperations", rule),
    ("admissionregistration.v1.NamedRuleWithOperations", rule),
    (
        "admissionregistration.v1.ServiceReference",
        service_reference,
    ),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicySpec",
        policy_spec,
    ),
    (
        "admissionregistration.v1.MutatingAdmissionPolicySpec",
        policy_spec,
    ),
    ("admissionregistration.v1.MatchResources", match_resources),
    ("admissionregistration.v1.ParamRef", param_ref),
    // flowcontrol.apiserver.k8s.io/v1
    ("flowcontrol.v1.FlowSchema", flow_schema),
    ("flowcontrol.v1.PriorityLevelConfiguration", priority_level),
    // resource.k8s.io/v1
    ("resource.v1.ResourceClaimTemplate", claim_template),
    // apiextensions.k8s.io/v1
    ("apiextensions.v1.CustomResourceDefinition", crd),
];

/// Which entries of [`DEFAULTERS`] ran, for the rule catalogue's test (per thread, off
/// unless started).
#[cfg(test)]
pub(crate) mod defaulter_hits {
    use std::cell::RefCell;
    use std::collections::BTreeSet;

    thread_local! {
        static HITS: RefCell<Option<BTreeSet<String>>> = const { RefCell::new(None) };
    }

    pub(crate) fn start() {
        HITS.with(|h| *h.borrow_mut() = Some(BTreeSet::new()));
    }

    pub(crate) fn take() -> BTreeSet<String> {
        HITS.with(|h| h.borrow_mut().take().unwrap_or_default())
    }

    pub(super) fn record(key: &str) {
        HITS.with(|h| {
            if let Some(hits) = h.borrow_mut().as_mut() {
                hits.insert(key.to_string());
            }
        });
    }
}

/// The Go types that have a defaulting function, for the rule catalogue.
#[cfg(test)]
pub(crate) fn defaulted_types() -> impl Iterator<Item = &'static str> {
    DEFAULTERS.iter().map(|(key, _)| *key)
}

/// Runs the defaulting functions over a built-in object.
pub(crate) fn apply_defaults(resource: &Resource, object: &mut Value) {
    if resource.custom.is_some() {
        return;
    }
    let schema = Schema::builtin();
    match schema.root(&resource.api_version(), &resource.kind) {
        Some(root) => walk(object, Some(root), None),
        None => {
            // No schema for this group: the root type's function is all there is.
            let short = resource.group.split('.').next().unwrap_or("");
            let group = if short.is_empty() { "core" } else { short };
            let key = format!("{group}.{}.{}", resource.version, resource.kind);
            walk(object, None, Some(&key));
        }
    }
}

fn walk(value: &mut Value, node: Option<Node<'_>>, root: Option<&str>) {
    let key = node.and_then(|n| n.type_name()).map(type_key).or(root);
    if let (Some(key), Some(map)) = (key, value.as_object_mut())
        && let Some((_, defaulter)) = DEFAULTERS.iter().find(|(k, _)| *k == key)
    {
        #[cfg(test)]
        defaulter_hits::record(key);
        defaulter(map);
    }
    let Some(node) = node else {
        return;
    };
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if let Some(child) = node.child(k) {
                    walk(v, Some(child), None);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.items() {
                for v in items {
                    walk(v, Some(item), None);
                }
            }
        }
        _ => {}
    }
}

/// `io.k8s.api.apps.v1.Deployment` → `apps.v1.Deployment`.
pub(crate) fn type_key(name: &str) -> &str {
    for prefix in [
        "io.k8s.api.",
        "io.k8s.apiextensions-apiserver.pkg.apis.",
        "io.k8s.kube-aggregator.pkg.apis.",
        "io.k8s.apimachinery.pkg.apis.",
    ] {
        if let Some(rest) = name.strip_prefix(prefix) {
            return rest;
        }
    }
    name
}

#[cfg_attr(test, track_caller)]
fn default(map: &mut Fields, key: &str, value: Value) {
    #[cfg(test)]
    crate::testenv::status::rule_sites::record(std::panic::Location::caller());
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.to_string(), value);
    }
}

fn str_of<'a>(map: &'a Fields, key: &str) -> Option<&'a str> {
    map.get(key).and_then(Value::as_str)
}

fn child<'a>(map: &'a mut Fields, key: &str) -> Option<&'a mut Fields> {
    map.get_mut(key).and_then(Value::as_object_mut)
}

fn each<'a>(map: &'a mut Fields, key: &str) -> impl Iterator<Item = &'a mut Fields> {
    map.get_mut(key)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object_mut)
}

fn is_empty_map(value: Option<&Value>) -> bool {
    value.is_none_or(|v| v.as_object().is_none_or(Map::is_empty))
}

// core/v1

fn pod(pod: &mut Fields) {
    let Some(spec) = child(pod, "spec") else {
        return;
    };
    default(spec, "enableServiceLinks", json!(true));
    // A container's requests default to its limits (Pods only, not templates).
    for list in ["initContainers", "containers"] {
        for container in each(spec, list) {
            let Some(limits) = container
                .get("resources")
                .and_then(|r| r.get("limits"))
                .and_then(Value::as_object)
                .cloned()
            else {
                continue;
            };
            let resources = container.entry("resources").or_insert_with(|| json!({}));
            if let Some(resources) = resources.as_object_mut() {
                let requests = resources.entry("requests").or_insert_with(|| json!({}));
                if let Some(requests) = requests.as_object_mut() {
                    for (name, quantity) in limits {
                        requests.entry(name).or_insert(quantity);
                    }
                }
            }
        }
    }
}

fn pod_spec(spec: &mut Fields) {
    default(spec, "dnsPolicy", json!("ClusterFirst"));
    default(spec, "restartPolicy", json!("Always"));
    default(spec, "securityContext", json!({}));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, "schedulerName", json!("default-scheduler"));
    // The deprecated alias is kept equal to serviceAccountName by conversion.
    if let Some(sa) = spec.get("serviceAccountName").cloned() {
        default(spec, "serviceAccount", sa);
    }
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for list in ["initContainers", "containers"] {
            for container in each(spec, list) {
                for port in each(container, "ports") {
                    if let Some(number) = port.get("containerPort").cloned() {
                        default(port, "hostPort", number);
                    }
                }
            }
        }
    }
}

fn container(container: &mut Fields) {
    default(container, "resources", json!({}));
    default(
        container,
        "terminationMessagePath",
        json!("/dev/termination-log"),
    );
    default(container, "terminationMessagePolicy", json!("File"));
    let image = str_of(container, "image").unwrap_or("").to_string();
    default(container, "imagePullPolicy", json!(pull_policy(&image)));
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

fn protocol_tcp(port: &mut Fields) {
    default(port, "protocol", json!("TCP"));
}

fn probe(probe: &mut Fields) {
    default(probe, "timeoutSeconds", json!(1));
    default(probe, "periodSeconds", json!(10));
    default(probe, "successThreshold", json!(1));
    default(probe, "failureThreshold", json!(3));
}

fn http_get(action: &mut Fields) {
    default(action, "path", json!("/"));
    default(action, "scheme", json!("HTTP"));
}

/// The volume source fields of `core.v1.Volume`; a volume naming none is an `emptyDir`.
const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn volume(volume: &mut Fields) {
    if !VOLUME_SOURCES.iter().any(|s| volume.contains_key(*s)) {
        volume.insert("emptyDir".into(), json!({}));
    }
}

fn default_mode(source: &mut Fields) {
    default(source, "defaultMode", json!(420));
}

fn token_projection(projection: &mut Fields) {
    default(projection, "expirationSeconds", json!(3600));
}

fn host_path(source: &mut Fields) {
    default(source, "type", json!(""));
}

fn iscsi(source: &mut Fields) {
    default(source, "iscsiInterface", json!("default"));
}

fn rbd(source: &mut Fields) {
    default(source, "pool", json!("rbd"));
    default(source, "user", json!("admin"));
    default(source, "keyring", json!("/etc/ceph/keyring"));
}

fn azure_disk(source: &mut Fields) {
    default(source, "cachingMode", json!("ReadWrite"));
    default(source, "fsType", json!("ext4"));
    default(source, "readOnly", json!(false));
    default(source, "kind", json!("Shared"));
}

fn scale_io(source: &mut Fields) {
    default(source, "storageMode", json!("ThinProvisioned"));
    default(source, "fsType", json!("xfs"));
}

fn field_selector(selector: &mut Fields) {
    default(selector, "apiVersion", json!("v1"));
}

fn service(service: &mut Fields) {
    let Some(spec) = child(service, "spec") else {
        return;
    };
    default(spec, "sessionAffinity", json!("None"));
    default(spec, "type", json!("ClusterIP"));
    for port in each(spec, "ports") {
        default(port, "protocol", json!("TCP"));
        let unset = match port.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(Value::Number(n)) => n.as_i64() == Some(0),
            Some(Value::String(s)) => s.is_empty(),
            Some(_) => false,
        };
        if unset && let Some(number) = port.get("port").cloned() {
            port.insert("targetPort".into(), number);
        }
    }
    let kind = str_of(spec, "type").unwrap_or("").to_string();
    if str_of(spec, "sessionAffinity") == Some("ClientIP") {
        let config = spec
            .entry("sessionAffinityConfig")
            .or_insert_with(|| json!({}));
        if let Some(config) = config.as_object_mut() {
            let client = config.entry("clientIP").or_insert_with(|| json!({}));
            if let Some(client) = client.as_object_mut() {
                default(client, "timeoutSeconds", json!(10800));
            }
        }
    }
    if matches!(kind.as_str(), "NodePort" | "LoadBalancer") {
        default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if kind != "ExternalName" {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
}

fn namespace(namespace: &mut Fields) {
    let name = namespace
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let Some(meta) = child(namespace, "metadata") else {
        return;
    };
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
}

fn namespace_status(status: &mut Fields) {
    default(status, "phase", json!("Active"));
}

fn secret(secret: &mut Fields) {
    default(secret, "type", json!("Opaque"));
}

fn persistent_volume(volume: &mut Fields) {
    if let Some(spec) = child(volume, "spec") {
        default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        default(spec, "volumeMode", json!("Filesystem"));
    }
    let status = volume.entry("status").or_insert_with(|| json!({}));
    if let Some(status) = status.as_object_mut() {
        default(status, "phase", json!("Pending"));
    }
}

fn persistent_volume_claim(claim: &mut Fields) {
    let status = claim.entry("status").or_insert_with(|| json!({}));
    if let Some(status) = status.as_object_mut() {
        default(status, "phase", json!("Pending"));
    }
}

fn claim_spec(spec: &mut Fields) {
    default(spec, "volumeMode", json!("Filesystem"));
}

fn replication_controller(controller: &mut Fields) {
    let labels = controller
        .get("spec")
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .cloned();
    if let Some(labels) = labels.filter(|l| !is_empty_map(Some(l))) {
        if let Some(spec) = child(controller, "spec")
            && is_empty_map(spec.get("selector"))
        {
            spec.insert("selector".into(), labels.clone());
        }
        let meta = controller.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut()
            && is_empty_map(meta.get("labels"))
        {
            meta.insert("labels".into(), labels);
        }
    }
    if let Some(spec) = child(controller, "spec") {
        default(spec, "replicas", json!(1));
    }
}

fn limit_range_item(item: &mut Fields) {
    if str_of(item, "type") != Some("Container") {
        return;
    }
    let resources = |item: &Fields, key: &str| {
        item.get(key)
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let mut defaults = resources(item, "default");
    let mut requests = resources(item, "defaultRequest");
    // A default limit falls back to the max, a default request to the limit, then the min.
    for (name, quantity) in resources(item, "max") {
        defaults.entry(name).or_insert(quantity);
    }
    for (name, quantity) in &defaults {
        requests
            .entry(name.clone())
            .or_insert_with(|| quantity.clone());
    }
    for (name, quantity) in resources(item, "min") {
        requests.entry(name).or_insert(quantity);
    }
    if !defaults.is_empty() {
        item.insert("default".into(), Value::Object(defaults));
    }
    if !requests.is_empty() {
        item.insert("defaultRequest".into(), Value::Object(requests));
    }
}

fn node_status(status: &mut Fields) {
    if let Some(capacity) = status.get("capacity").cloned()
        && is_empty_map(status.get("allocatable"))
    {
        status.insert("allocatable".into(), capacity);
    }
}

// apps/v1

fn replicas_one(object: &mut Fields) {
    if let Some(spec) = child(object, "spec") {
        default(spec, "replicas", json!(1));
    }
}

fn deployment(deployment: &mut Fields) {
    let Some(spec) = child(deployment, "spec") else {
        return;
    };
    default(spec, "replicas", json!(1));
    rolling_update(
        spec,
        "strategy",
        &[("maxUnavailable", json!("25%")), ("maxSurge", json!("25%"))],
    );
    default(spec, "revisionHistoryLimit", json!(10));
    default(spec, "progressDeadlineSeconds", json!(600));
}

/// A workload's update strategy: `RollingUpdate` unless given, with its parameters' defaults.
fn rolling_update(spec: &mut Fields, key: &str, parameters: &[(&str, Value)]) {
    default(spec, key, json!({}));
    let Some(strategy) = child(spec, key) else {
        return;
    };
    default(strategy, "type", json!("RollingUpdate"));
    if str_of(strategy, "type") != Some("RollingUpdate") {
        return;
    }
    default(strategy, "rollingUpdate", json!({}));
    if let Some(rolling) = child(strategy, "rollingUpdate") {
        for (name, value) in parameters {
            default(rolling, name, value.clone());
        }
    }
}

fn stateful_set(set: &mut Fields) {
    let Some(spec) = child(set, "spec") else {
        return;
    };
    default(spec, "podManagementPolicy", json!("OrderedReady"));
    rolling_update(spec, "updateStrategy", &[("partition", json!(0))]);
    default(spec, "persistentVolumeClaimRetentionPolicy", json!({}));
    if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        default(policy, "whenDeleted", json!("Retain"));
        default(policy, "whenScaled", json!("Retain"));
    }
    default(spec, "replicas", json!(1));
    default(spec, "revisionHistoryLimit", json!(10));
}

fn daemon_set(set: &mut Fields) {
    let Some(spec) = child(set, "spec") else {
        return;
    };
    rolling_update(
        spec,
        "updateStrategy",
        &[("maxUnavailable", json!(1)), ("maxSurge", json!(0))],
    );
    default(spec, "revisionHistoryLimit", json!(10));
}

// batch/v1

fn job(job: &mut Fields) {
    let template_labels = job
        .get("spec")
        .and_then(|s| s.pointer("/template/metadata/labels"))
        .cloned();
    if let Some(labels) = template_labels.filter(|l| !is_empty_map(Some(l))) {
        let meta = job.entry("metadata").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut()
            && is_empty_map(meta.get("labels"))
        {
            meta.insert("labels".into(), labels);
        }
    }
    let Some(spec) = child(job, "spec") else {
        return;
    };
    if spec.get("completions").is_none() && spec.get("parallelism").is_none() {
        spec.insert("completions".into(), json!(1));
        spec.insert("parallelism".into(), json!(1));
    }
    default(spec, "parallelism", json!(1));
    let backoff = if spec.contains_key("backoffLimitPerIndex") {
        i32::MAX as i64
    } else {
        6
    };
    default(spec, "backoffLimit", json!(backoff));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    let replacement = if spec.contains_key("podFailurePolicy") {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    default(spec, "podReplacementPolicy", json!(replacement));
    if let Some(policy) = child(spec, "podFailurePolicy") {
        for rule in each(policy, "rules") {
            for condition in each(rule, "onPodConditions") {
                default(condition, "status", json!("True"));
            }
        }
    }
}

fn cron_job(cron: &mut Fields) {
    let Some(spec) = child(cron, "spec") else {
        return;
    };
    default(spec, "concurrencyPolicy", json!("Allow"));
    default(spec, "suspend", json!(false));
    default(spec, "successfulJobsHistoryLimit", json!(3));
    default(spec, "failedJobsHistoryLimit", json!(1));
}

// autoscaling

fn hpa_v2(hpa: &mut Fields) {
    let Some(spec) = child(hpa, "spec") else {
        return;
    };
    default(spec, "minReplicas", json!(1));
    if spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        spec.insert(
            "metrics".into(),
            json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
        );
    }
    if let Some(behavior) = child(spec, "behavior") {
        scaling_rules(
            behavior,
            "scaleUp",
            0,
            json!([
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ]),
            "Max",
        );
        scaling_rules(
            behavior,
            "scaleDown",
            300,
            json!([
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ]),
            "Max",
        );
    }
}

fn scaling_rules(behavior: &mut Fields, key: &str, window: i64, policies: Value, select: &str) {
    default(behavior, key, json!({}));
    if let Some(rules) = child(behavior, key) {
        default(rules, "stabilizationWindowSeconds", json!(window));
        default(rules, "selectPolicy", json!(select));
        default(rules, "policies", policies);
    }
}

fn hpa_v1(hpa: &mut Fields) {
    if let Some(spec) = child(hpa, "spec") {
        default(spec, "minReplicas", json!(1));
    }
}

// networking.k8s.io/v1, discovery.k8s.io/v1

fn network_policy(policy: &mut Fields) {
    let Some(spec) = child(policy, "spec") else {
        return;
    };
    if spec
        .get("policyTypes")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty)
    {
        let mut types = vec![json!("Ingress")];
        if spec.contains_key("egress") {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
}

fn endpoint_slice_port(port: &mut Fields) {
    default(port, "name", json!(""));
    default(port, "protocol", json!("TCP"));
}

// rbac.authorization.k8s.io/v1

fn subject(subject: &mut Fields) {
    // A ServiceAccount's group is the core group, which serialises as no group at all.
    let group = match str_of(subject, "kind") {
        Some("User" | "Group") => "rbac.authorization.k8s.io",
        _ => return,
    };
    if subject
        .get("apiGroup")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        subject.insert("apiGroup".into(), json!(group));
    }
}

// storage.k8s.io/v1, scheduling.k8s.io/v1

fn storage_class(class: &mut Fields) {
    default(class, "reclaimPolicy", json!("Delete"));
    default(class, "volumeBindingMode", json!("Immediate"));
}

fn csi_driver(driver: &mut Fields) {
    let Some(spec) = child(driver, "spec") else {
        return;
    };
    default(spec, "attachRequired", json!(true));
    default(spec, "podInfoOnMount", json!(false));
    default(spec, "storageCapacity", json!(false));
    default(spec, "fsGroupPolicy", json!("ReadWriteOnceWithFSType"));
    default(spec, "volumeLifecycleModes", json!(["Persistent"]));
    default(spec, "requiresRepublish", json!(false));
    default(spec, "seLinuxMount", json!(false));
}

fn priority_class(class: &mut Fields) {
    default(class, "preemptionPolicy", json!("PreemptLowerPriority"));
}

// admissionregistration.k8s.io/v1

fn webhook(webhook: &mut Fields) {
    default(webhook, "failurePolicy", json!("Fail"));
    default(webhook, "matchPolicy", json!("Equivalent"));
    default(webhook, "namespaceSelector", json!({}));
    default(webhook, "objectSelector", json!({}));
    default(webhook, "timeoutSeconds", json!(10));
}

fn mutating_webhook(hook: &mut Fields) {
    webhook(hook);
    default(hook, "reinvocationPolicy", json!("Never"));
}

fn rule(rule: &mut Fields) {
    default(rule, "scope", json!("*"));
}

fn service_reference(reference: &mut Fields) {
    default(reference, "port", json!(443));
}

fn policy_spec(spec: &mut Fields) {
    default(spec, "failurePolicy", json!("Fail"));
}

fn match_resources(resources: &mut Fields) {
    default(resources, "namespaceSelector", json!({}));
    default(resources, "objectSelector", json!({}));
    default(resources, "matchPolicy", json!("Equivalent"));
}

fn param_ref(reference: &mut Fields) {
    if reference.get("selector").is_none() && reference.get("name").is_none() {
        return;
    }
    default(reference, "parameterNotFoundAction", json!("Deny"));
}

// flowcontrol.apiserver.k8s.io/v1

fn flow_schema(schema: &mut Fields) {
    if let Some(spec) = child(schema, "spec") {
        default(spec, "matchingPrecedence", json!(1000));
    }
}

fn priority_level(level: &mut Fields) {
    let Some(spec) = child(level, "spec") else {
        return;
    };
    if let Some(limited) = child(spec, "limited") {
        default(limited, "nominalConcurrencyShares", json!(30));
        default(limited, "lendablePercent", json!(0));
        default(limited, "limitResponse", json!({"type": "Reject"}));
        if let Some(response) = child(limited, "limitResponse")
            && str_of(response, "type") == Some("Queue")
        {
            default(response, "queuing", json!({}));
            if let Some(queuing) = child(response, "queuing") {
                default(queuing, "queues", json!(64));
                default(queuing, "handSize", json!(8));
                default(queuing, "queueLengthLimit", json!(50));
            }
        }
    }
}

// resource.k8s.io/v1

fn claim_template(template: &mut Fields) {
    if let Some(spec) = child(template, "spec") {
        default(spec, "metadata", json!({}));
    }
}

// apiextensions.k8s.io/v1

fn crd(crd: &mut Fields) {
    let Some(spec) = child(crd, "spec") else {
        return;
    };
    default(spec, "conversion", json!({"strategy": "None"}));
    if let Some(names) = child(spec, "names") {
        let kind = str_of(names, "kind").unwrap_or("").to_string();
        default(names, "listKind", json!(format!("{kind}List")));
    }
}

/// Secrets: `stringData` is write-only, folded into `data` (base64) on every write.
pub(crate) fn fold_string_data(resource: &Resource, object: &mut Value) {
    use base64::Engine;
    if !(resource.group.is_empty() && resource.kind == "Secret") {
        return;
    }
    let Some(map) = object.as_object_mut() else {
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
