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
    (
        "batch.v1.PodFailurePolicyOnPodConditionsPattern",
        pod_condition_pattern,
    ),
    // autoscaling
    ("autoscaling.v2.HorizontalPodAutoscaler", hpa_v2),
    ("autoscaling.v1.HorizontalPodAutoscaler", hpa_v1),
    // networking.k8s.io/v1
    ("networking.v1.NetworkPolicy", network_policy),
    ("networking.v1.NetworkPolicyPort", network_policy_port),
    ("networking.v1.IngressClass", ingress_class),
    // discovery.k8s.io/v1
    ("discovery.v1.EndpointPort", endpoint_slice_port),
    // rbac.authorization.k8s.io/v1
    ("rbac.v1.RoleBinding", role_binding),
    ("rbac.v1.ClusterRoleBinding", role_binding),
    ("rbac.v1.Subject", subject),
    // storage.k8s.io/v1
    ("storage.v1.StorageClass", storage_class),
    ("storage.v1.CSIDriver", csi_driver),
    // scheduling.k8s.io/v1
    ("scheduling.v1.PriorityClass", priority_class),
    // admissionregistration.k8s.io/v1
    ("admissionregistration.v1.ValidatingWebhook", webhook),
    ("admissionregistration.v1.MutatingWebhook", mutating_webhook),
    // `Rule` is always embedded in one of these two, never a position of its own.
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
    // flowcontrol.apiserver.k8s.io/v1
    ("flowcontrol.v1.FlowSchemaSpec", flow_schema_spec),
    (
        "flowcontrol.v1.LimitedPriorityLevelConfiguration",
        limited_priority_level,
    ),
    (
        "flowcontrol.v1.ExemptPriorityLevelConfiguration",
        exempt_priority_level,
    ),
    ("flowcontrol.v1.QueuingConfiguration", queuing),
    // resource.k8s.io/v1
    // No schema for this group here, so the root types walk to their device requests.
    ("resource.v1.ResourceClaim", resource_claim),
    ("resource.v1.ResourceClaimTemplate", claim_template),
    // apiextensions.k8s.io/v1
    ("apiextensions.v1.CustomResourceDefinitionSpec", crd_spec),
    ("apiextensions.v1.ServiceReference", service_reference),
];

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

/// A field Go declares as a plain value rather than a pointer (`string`, `int32`): its zero
/// value cannot be told from unset, so Kubernetes' `if x == ""` / `if x == 0` replaces an
/// explicit `""` or `0` too. A bare key is a pointer, map or slice field: only absence (or
/// `null`) counts as unset, an explicit zero stays.
struct Plain(&'static str);

/// A field a default is given to: a bare key or a [`Plain`] one.
trait Field {
    fn key(&self) -> &str;
    fn is_unset(&self, value: Option<&Value>) -> bool {
        value.is_none_or(Value::is_null)
    }
}

impl Field for &str {
    fn key(&self) -> &str {
        self
    }
}

impl Field for Plain {
    fn key(&self) -> &str {
        self.0
    }
    fn is_unset(&self, value: Option<&Value>) -> bool {
        match value {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(_) => false,
        }
    }
}

#[cfg_attr(test, track_caller)]
fn default(map: &mut Fields, field: impl Field, value: Value) {
    #[cfg(test)]
    crate::testenv::status::rule_sites::record(std::panic::Location::caller());
    if field.is_unset(map.get(field.key())) {
        map.insert(field.key().to_string(), value);
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
    // With host networking a container port is a host port (Pods only, not templates).
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for list in ["initContainers", "containers"] {
            for container in each(spec, list) {
                for port in each(container, "ports") {
                    if let Some(number) = port.get("containerPort").cloned() {
                        default(port, Plain("hostPort"), number);
                    }
                }
            }
        }
    }
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
    default(spec, Plain("dnsPolicy"), json!("ClusterFirst"));
    default(spec, Plain("restartPolicy"), json!("Always"));
    default(spec, "securityContext", json!({}));
    default(spec, "terminationGracePeriodSeconds", json!(30));
    default(spec, Plain("schedulerName"), json!("default-scheduler"));
    service_account_alias(spec);
}

/// Conversion, not defaulting, but it runs wherever a PodSpec is decoded: the deprecated
/// `serviceAccount` is an alias of `serviceAccountName`, which wins when both are given; the
/// alias alone names the account; and the alias is written back equal to the name.
fn service_account_alias(spec: &mut Fields) {
    let named = |key: &str| {
        str_of(spec, key)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
    };
    match named("serviceAccountName").or_else(|| named("serviceAccount")) {
        Some(name) => {
            spec.insert("serviceAccountName".into(), json!(name));
            spec.insert("serviceAccount".into(), json!(name));
        }
        None => {
            spec.remove("serviceAccountName");
            spec.remove("serviceAccount");
        }
    }
}

fn container(container: &mut Fields) {
    default(container, "resources", json!({}));
    default(
        container,
        Plain("terminationMessagePath"),
        json!("/dev/termination-log"),
    );
    default(container, Plain("terminationMessagePolicy"), json!("File"));
    let image = str_of(container, "image").unwrap_or("").to_string();
    default(
        container,
        Plain("imagePullPolicy"),
        json!(pull_policy(&image)),
    );
}

/// `Always` when the image's tag is `latest`, else `IfNotPresent`. As Kubernetes parses a
/// reference, an image with neither tag nor digest is tagged `latest`, one with only a
/// digest has no tag, and an empty one does not parse (no tag).
fn pull_policy(image: &str) -> &'static str {
    if image.is_empty() {
        return "IfNotPresent";
    }
    let (name, digest) = match image.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (image, None),
    };
    // A colon before the last slash is a registry's port, not a tag.
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = match (last.split_once(':'), digest) {
        (Some((_, tag)), _) => tag,
        (None, Some(_)) => "",
        (None, None) => "latest",
    };
    if tag == "latest" {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// A core port's protocol is a plain string; a NetworkPolicyPort's is a pointer.
fn protocol_tcp(port: &mut Fields) {
    default(port, Plain("protocol"), json!("TCP"));
}

fn network_policy_port(port: &mut Fields) {
    default(port, "protocol", json!("TCP"));
}

fn probe(probe: &mut Fields) {
    default(probe, Plain("timeoutSeconds"), json!(1));
    default(probe, Plain("periodSeconds"), json!(10));
    default(probe, Plain("successThreshold"), json!(1));
    default(probe, Plain("failureThreshold"), json!(3));
}

fn http_get(action: &mut Fields) {
    default(action, Plain("path"), json!("/"));
    default(action, Plain("scheme"), json!("HTTP"));
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
    default(source, Plain("iscsiInterface"), json!("default"));
}

fn rbd(source: &mut Fields) {
    default(source, Plain("pool"), json!("rbd"));
    default(source, Plain("user"), json!("admin"));
    default(source, Plain("keyring"), json!("/etc/ceph/keyring"));
}

fn azure_disk(source: &mut Fields) {
    default(source, "cachingMode", json!("ReadWrite"));
    default(source, "fsType", json!("ext4"));
    default(source, "readOnly", json!(false));
    default(source, "kind", json!("Shared"));
}

fn scale_io(source: &mut Fields) {
    default(source, Plain("storageMode"), json!("ThinProvisioned"));
    default(source, Plain("fsType"), json!("xfs"));
}

fn field_selector(selector: &mut Fields) {
    default(selector, Plain("apiVersion"), json!("v1"));
}

fn service(service: &mut Fields) {
    let Some(spec) = child(service, "spec") else {
        return;
    };
    default(spec, Plain("sessionAffinity"), json!("None"));
    match str_of(spec, "sessionAffinity") {
        Some("None") => {
            spec.remove("sessionAffinityConfig");
        }
        Some("ClientIP") => {
            // A config without its timeout is replaced whole.
            let timeout = spec
                .get("sessionAffinityConfig")
                .and_then(|c| c.pointer("/clientIP/timeoutSeconds"));
            if timeout.is_none_or(Value::is_null) {
                spec.remove("sessionAffinityConfig");
                default(
                    spec,
                    "sessionAffinityConfig",
                    json!({"clientIP": {"timeoutSeconds": 10800}}),
                );
            }
        }
        _ => {}
    }
    default(spec, Plain("type"), json!("ClusterIP"));
    for port in each(spec, "ports") {
        default(port, Plain("protocol"), json!("TCP"));
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
    let external_ips = spec
        .get("externalIPs")
        .and_then(Value::as_array)
        .is_some_and(|ips| !ips.is_empty());
    // Reachable from outside the cluster: node ports, a load balancer, or external IPs.
    let externally_accessible = matches!(kind.as_str(), "NodePort" | "LoadBalancer")
        || (kind == "ClusterIP" && external_ips);
    if externally_accessible {
        default(spec, Plain("externalTrafficPolicy"), json!("Cluster"));
    }
    if matches!(kind.as_str(), "ClusterIP" | "NodePort" | "LoadBalancer") {
        default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if kind == "LoadBalancer" {
        default(spec, "allocateLoadBalancerNodePorts", json!(true));
        let balancer = service
            .get_mut("status")
            .and_then(|s| s.get_mut("loadBalancer"))
            .and_then(Value::as_object_mut);
        for entry in balancer.into_iter().flat_map(|lb| each(lb, "ingress")) {
            if str_of(entry, "ip").is_some_and(|ip| !ip.is_empty()) {
                default(entry, "ipMode", json!("VIP"));
            }
        }
    }
}

fn namespace(namespace: &mut Fields) {
    let name = namespace
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // A namespace named by generateName has no name to label yet.
    if name.is_empty() {
        return;
    }
    let Some(meta) = child(namespace, "metadata") else {
        return;
    };
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert("kubernetes.io/metadata.name".into(), json!(name));
    }
}

fn namespace_status(status: &mut Fields) {
    default(status, Plain("phase"), json!("Active"));
}

fn secret(secret: &mut Fields) {
    default(secret, Plain("type"), json!("Opaque"));
}

fn persistent_volume(volume: &mut Fields) {
    if let Some(spec) = child(volume, "spec") {
        default(
            spec,
            Plain("persistentVolumeReclaimPolicy"),
            json!("Retain"),
        );
        default(spec, "volumeMode", json!("Filesystem"));
    }
    let status = volume.entry("status").or_insert_with(|| json!({}));
    if let Some(status) = status.as_object_mut() {
        default(status, Plain("phase"), json!("Pending"));
    }
}

fn persistent_volume_claim(claim: &mut Fields) {
    let status = claim.entry("status").or_insert_with(|| json!({}));
    if let Some(status) = status.as_object_mut() {
        default(status, Plain("phase"), json!("Pending"));
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
    default(strategy, Plain("type"), json!("RollingUpdate"));
    if str_of(strategy, "type") != Some("RollingUpdate") {
        return;
    }
    default(strategy, "rollingUpdate", json!({}));
    if let Some(rolling) = child(strategy, "rollingUpdate") {
        for (name, value) in parameters {
            default(rolling, *name, value.clone());
        }
    }
}

fn stateful_set(set: &mut Fields) {
    let Some(spec) = child(set, "spec") else {
        return;
    };
    default(spec, Plain("podManagementPolicy"), json!("OrderedReady"));
    // Unlike the other workloads, a StatefulSet gets its rollingUpdate only with the
    // defaulted type, and its partition only when rollingUpdate is there.
    default(spec, "updateStrategy", json!({}));
    if let Some(strategy) = child(spec, "updateStrategy") {
        if Plain("type").is_unset(strategy.get("type")) {
            default(strategy, Plain("type"), json!("RollingUpdate"));
            default(strategy, "rollingUpdate", json!({}));
        }
        if str_of(strategy, "type") == Some("RollingUpdate")
            && let Some(rolling) = child(strategy, "rollingUpdate")
        {
            default(rolling, "partition", json!(0));
        }
    }
    default(spec, "persistentVolumeClaimRetentionPolicy", json!({}));
    if let Some(policy) = child(spec, "persistentVolumeClaimRetentionPolicy") {
        default(policy, Plain("whenDeleted"), json!("Retain"));
        default(policy, Plain("whenScaled"), json!("Retain"));
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
    let backoff = if spec
        .get("backoffLimitPerIndex")
        .is_some_and(|b| !b.is_null())
    {
        i32::MAX as i64
    } else {
        6
    };
    default(spec, "backoffLimit", json!(backoff));
    default(spec, "completionMode", json!("NonIndexed"));
    default(spec, "suspend", json!(false));
    let replacement = if spec.get("podFailurePolicy").is_some_and(|p| !p.is_null()) {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    default(spec, "podReplacementPolicy", json!(replacement));
    default(spec, "manualSelector", json!(false));
}

fn pod_condition_pattern(pattern: &mut Fields) {
    default(pattern, Plain("status"), json!("True"));
}

fn cron_job(cron: &mut Fields) {
    let Some(spec) = child(cron, "spec") else {
        return;
    };
    default(spec, Plain("concurrencyPolicy"), json!("Allow"));
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
            Some(0),
            json!([
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ]),
            "Max",
        );
        // Left unset: the controller's downscale stabilisation flag applies then.
        scaling_rules(
            behavior,
            "scaleDown",
            None,
            json!([
                {"type": "Percent", "value": 100, "periodSeconds": 15}
            ]),
            "Max",
        );
    }
}

fn scaling_rules(
    behavior: &mut Fields,
    key: &str,
    window: Option<i64>,
    policies: Value,
    select: &str,
) {
    default(behavior, key, json!({}));
    if let Some(rules) = child(behavior, key) {
        if let Some(window) = window {
            default(rules, "stabilizationWindowSeconds", json!(window));
        }
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
        let egress = spec.get("egress").and_then(Value::as_array);
        if egress.is_some_and(|rules| !rules.is_empty()) {
            types.push(json!("Egress"));
        }
        spec.insert("policyTypes".into(), Value::Array(types));
    }
}

fn ingress_class(class: &mut Fields) {
    let parameters = child(class, "spec").and_then(|spec| child(spec, "parameters"));
    if let Some(parameters) = parameters {
        default(parameters, "scope", json!("Cluster"));
    }
}

fn endpoint_slice_port(port: &mut Fields) {
    default(port, "name", json!(""));
    default(port, "protocol", json!("TCP"));
}

// rbac.authorization.k8s.io/v1

fn role_binding(binding: &mut Fields) {
    if let Some(reference) = child(binding, "roleRef") {
        default(
            reference,
            Plain("apiGroup"),
            json!("rbac.authorization.k8s.io"),
        );
    }
}

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
    if spec
        .get("volumeLifecycleModes")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
    {
        spec.remove("volumeLifecycleModes");
    }
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

// flowcontrol.apiserver.k8s.io/v1

fn flow_schema_spec(spec: &mut Fields) {
    default(spec, Plain("matchingPrecedence"), json!(1000));
}

fn limited_priority_level(limited: &mut Fields) {
    default(limited, "nominalConcurrencyShares", json!(30));
    default(limited, "lendablePercent", json!(0));
}

fn exempt_priority_level(exempt: &mut Fields) {
    default(exempt, "nominalConcurrencyShares", json!(0));
    default(exempt, "lendablePercent", json!(0));
}

fn queuing(queuing: &mut Fields) {
    default(queuing, Plain("queues"), json!(64));
    default(queuing, Plain("handSize"), json!(8));
    default(queuing, Plain("queueLengthLimit"), json!(50));
}

// resource.k8s.io/v1

fn resource_claim(claim: &mut Fields) {
    if let Some(spec) = child(claim, "spec") {
        device_requests(spec);
    }
}

fn claim_template(template: &mut Fields) {
    if let Some(spec) = child(template, "spec") {
        default(spec, "metadata", json!({}));
        if let Some(claim) = child(spec, "spec") {
            device_requests(claim);
        }
    }
}

/// `ExactDeviceRequest` and `DeviceSubRequest` of a claim spec: exactly one device unless
/// told otherwise.
fn device_requests(claim: &mut Fields) {
    let Some(devices) = child(claim, "devices") else {
        return;
    };
    for request in each(devices, "requests") {
        if let Some(exactly) = child(request, "exactly") {
            device_count(exactly);
        }
        for sub in each(request, "firstAvailable") {
            device_count(sub);
        }
    }
}

fn device_count(request: &mut Fields) {
    default(request, Plain("allocationMode"), json!("ExactCount"));
    if str_of(request, "allocationMode") == Some("ExactCount") {
        default(request, Plain("count"), json!(1));
    }
}

// apiextensions.k8s.io/v1

fn crd_spec(spec: &mut Fields) {
    default(spec, "conversion", json!({"strategy": "None"}));
    if let Some(names) = child(spec, "names") {
        let kind = str_of(names, "kind").unwrap_or("").to_string();
        default(names, Plain("singular"), json!(kind.to_lowercase()));
        if !kind.is_empty() {
            default(names, Plain("listKind"), json!(format!("{kind}List")));
        }
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
