//! The encode step of every write: the API server decodes a body into its Go structs and
//! stores what encoding them back produces, so a field tagged `omitempty` that is not a
//! pointer disappears when it holds its type's zero value (`false`, `0`, `""`, an empty list
//! or map), while a pointer field (`*bool`, `*int32`) keeps an explicit zero.
//!
//! [`OMIT_EMPTY`] lists, per Go type (keyed as [`super::defaults`] keys its defaulting
//! functions: `<group>.<version>.<Type>`), the JSON names of its non-pointer `omitempty`
//! fields of scalar, slice or map type, as `staging/src/k8s.io/api/<group>/<version>/types.go`
//! and apimachinery's `meta/v1/types.go` declare them. Struct-valued fields are never omitted
//! (Go's `omitempty` does not apply to structs), so they are not listed. [`encode`] walks an
//! object alongside its OpenAPI schema, as the defaulting walk does, and drops the zero values
//! of the listed fields at each typed position.
//!
//! Server-side apply records what the applier sent, before this step: a manager that applies
//! `readOnly: false` owns the field though the stored object no longer shows it.

use gitops_core::schema::{Node, Schema};
use serde_json::Value;

use super::defaults::type_key;
use super::registry::Resource;

/// Drops the omitted zero values of a built-in object (custom resources keep what they were
/// given: they are stored as unstructured JSON).
pub(crate) fn encode(resource: &Resource, object: &mut Value) {
    if resource.custom.is_none() {
        encode_as(&resource.api_version(), &resource.kind, object);
    }
}

/// The encode step for a built-in kind in a given version (an object converted to its
/// storage version is encoded as that version's Go type).
pub(crate) fn encode_as(api_version: &str, kind: &str, object: &mut Value) {
    if let Some(root) = Schema::builtin().root(api_version, kind) {
        walk(object, root);
    }
}

fn walk(value: &mut Value, node: Node<'_>) {
    match value {
        Value::Object(map) => {
            if let Some(omitted) = node.type_name().map(type_key).and_then(omitted_fields) {
                map.retain(|key, v| !(omitted.contains(&key.as_str()) && is_zero(v)));
            }
            for (key, v) in map.iter_mut() {
                if let Some(child) = node.child(key) {
                    walk(v, child);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = node.items() {
                for v in items {
                    walk(v, item);
                }
            }
        }
        _ => {}
    }
}

fn omitted_fields(key: &str) -> Option<&'static [&'static str]> {
    OMIT_EMPTY
        .binary_search_by(|(k, _)| k.cmp(&key))
        .ok()
        .map(|i| OMIT_EMPTY[i].1)
}

/// Go's zero value as JSON decodes it: `null` also leaves a field at its zero.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// Non-pointer `omitempty` fields of scalar, slice or map type by Go type, sorted by key.
const OMIT_EMPTY: &[(&str, &[&str])] = &[
    (
        "admission.v1.AdmissionRequest",
        &["subResource", "requestSubResource", "name", "namespace"],
    ),
    (
        "admission.v1.AdmissionResponse",
        &["patch", "auditAnnotations", "warnings"],
    ),
    (
        "admissionregistration.v1.ApplyConfiguration",
        &["expression"],
    ),
    ("admissionregistration.v1.JSONPatch", &["expression"]),
    (
        "admissionregistration.v1.MatchResources",
        &["resourceRules", "excludeResourceRules"],
    ),
    (
        "admissionregistration.v1.MutatingAdmissionPolicyBindingSpec",
        &["policyName"],
    ),
    (
        "admissionregistration.v1.MutatingAdmissionPolicySpec",
        &[
            "variables",
            "mutations",
            "matchConditions",
            "reinvocationPolicy",
        ],
    ),
    (
        "admissionregistration.v1.MutatingWebhook",
        &["rules", "matchConditions"],
    ),
    (
        "admissionregistration.v1.MutatingWebhookConfiguration",
        &["webhooks"],
    ),
    (
        "admissionregistration.v1.NamedRuleWithOperations",
        &["resourceNames"],
    ),
    (
        "admissionregistration.v1.ParamKind",
        &["apiVersion", "kind"],
    ),
    ("admissionregistration.v1.ParamRef", &["name", "namespace"]),
    (
        "admissionregistration.v1.Rule",
        &["apiGroups", "apiVersions", "resources"],
    ),
    (
        "admissionregistration.v1.RuleWithOperations",
        &["operations"],
    ),
    (
        "admissionregistration.v1.TypeChecking",
        &["expressionWarnings"],
    ),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec",
        &["policyName", "validationActions"],
    ),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicySpec",
        &[
            "validations",
            "auditAnnotations",
            "matchConditions",
            "variables",
        ],
    ),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicyStatus",
        &["observedGeneration", "conditions"],
    ),
    (
        "admissionregistration.v1.ValidatingWebhook",
        &["rules", "matchConditions"],
    ),
    (
        "admissionregistration.v1.ValidatingWebhookConfiguration",
        &["webhooks"],
    ),
    (
        "admissionregistration.v1.Validation",
        &["message", "messageExpression"],
    ),
    (
        "admissionregistration.v1.WebhookClientConfig",
        &["caBundle"],
    ),
    ("apidiscovery.v2.APIGroupDiscovery", &["versions"]),
    (
        "apidiscovery.v2.APIResourceDiscovery",
        &["shortNames", "categories", "subresources"],
    ),
    (
        "apidiscovery.v2.APISubresourceDiscovery",
        &["acceptedTypes"],
    ),
    (
        "apidiscovery.v2.APIVersionDiscovery",
        &["resources", "freshness"],
    ),
    ("apps.v1.DaemonSetCondition", &["reason", "message"]),
    ("apps.v1.DaemonSetSpec", &["minReadySeconds"]),
    (
        "apps.v1.DaemonSetStatus",
        &[
            "observedGeneration",
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
            "conditions",
        ],
    ),
    ("apps.v1.DaemonSetUpdateStrategy", &["type"]),
    ("apps.v1.DeploymentCondition", &["reason", "message"]),
    ("apps.v1.DeploymentSpec", &["minReadySeconds", "paused"]),
    (
        "apps.v1.DeploymentStatus",
        &[
            "observedGeneration",
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
            "conditions",
        ],
    ),
    ("apps.v1.DeploymentStrategy", &["type"]),
    ("apps.v1.ReplicaSetCondition", &["reason", "message"]),
    ("apps.v1.ReplicaSetSpec", &["minReadySeconds"]),
    (
        "apps.v1.ReplicaSetStatus",
        &[
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            "observedGeneration",
            "conditions",
        ],
    ),
    ("apps.v1.StatefulSetCondition", &["reason", "message"]),
    (
        "apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy",
        &["whenDeleted", "whenScaled"],
    ),
    (
        "apps.v1.StatefulSetSpec",
        &[
            "volumeClaimTemplates",
            "podManagementPolicy",
            "minReadySeconds",
        ],
    ),
    (
        "apps.v1.StatefulSetStatus",
        &[
            "observedGeneration",
            "readyReplicas",
            "currentReplicas",
            "updatedReplicas",
            "currentRevision",
            "updateRevision",
            "conditions",
        ],
    ),
    ("apps.v1.StatefulSetUpdateStrategy", &["type"]),
    (
        "authentication.v1.BoundObjectReference",
        &["kind", "apiVersion", "name", "uid"],
    ),
    ("authentication.v1.TokenRequestSpec", &["attestations"]),
    ("authentication.v1.TokenReviewSpec", &["token", "audiences"]),
    (
        "authentication.v1.TokenReviewStatus",
        &["authenticated", "audiences", "error"],
    ),
    (
        "authentication.v1.UserInfo",
        &["username", "uid", "groups", "extra"],
    ),
    (
        "authorization.v1.FieldSelectorAttributes",
        &["rawSelector", "requirements"],
    ),
    (
        "authorization.v1.LabelSelectorAttributes",
        &["rawSelector", "requirements"],
    ),
    ("authorization.v1.NonResourceAttributes", &["path", "verb"]),
    ("authorization.v1.NonResourceRule", &["nonResourceURLs"]),
    (
        "authorization.v1.ResourceAttributes",
        &[
            "namespace",
            "verb",
            "group",
            "version",
            "resource",
            "subresource",
            "name",
        ],
    ),
    (
        "authorization.v1.ResourceRule",
        &["apiGroups", "resources", "resourceNames"],
    ),
    (
        "authorization.v1.SelfSubjectRulesReviewSpec",
        &["namespace"],
    ),
    (
        "authorization.v1.SubjectAccessReviewSpec",
        &["user", "groups", "extra", "uid"],
    ),
    (
        "authorization.v1.SubjectAccessReviewStatus",
        &["denied", "reason", "evaluationError"],
    ),
    (
        "authorization.v1.SubjectRulesReviewStatus",
        &["evaluationError"],
    ),
    (
        "autoscaling.v1.CrossVersionObjectReference",
        &["apiVersion"],
    ),
    (
        "autoscaling.v1.HorizontalPodAutoscalerCondition",
        &["reason", "message"],
    ),
    ("autoscaling.v1.ScaleSpec", &["replicas"]),
    ("autoscaling.v1.ScaleStatus", &["selector"]),
    (
        "autoscaling.v2.CrossVersionObjectReference",
        &["apiVersion"],
    ),
    ("autoscaling.v2.HPAScalingRules", &["policies"]),
    (
        "autoscaling.v2.HorizontalPodAutoscalerCondition",
        &["reason", "message"],
    ),
    ("autoscaling.v2.HorizontalPodAutoscalerSpec", &["metrics"]),
    (
        "autoscaling.v2.HorizontalPodAutoscalerStatus",
        &["currentReplicas", "conditions"],
    ),
    ("batch.v1.CronJobSpec", &["concurrencyPolicy"]),
    ("batch.v1.CronJobStatus", &["active"]),
    ("batch.v1.JobCondition", &["reason", "message"]),
    ("batch.v1.JobSchedulingConfiguration", &["resourceClaims"]),
    (
        "batch.v1.JobStatus",
        &[
            "conditions",
            "active",
            "succeeded",
            "failed",
            "completedIndexes",
        ],
    ),
    ("batch.v1.PodFailurePolicyRule", &["onPodConditions"]),
    ("batch.v1.UncountedTerminatedPods", &["succeeded", "failed"]),
    (
        "certificates.v1.CertificateSigningRequestCondition",
        &["reason", "message"],
    ),
    (
        "certificates.v1.CertificateSigningRequestSpec",
        &["usages", "username", "uid", "groups", "extra"],
    ),
    (
        "certificates.v1.CertificateSigningRequestStatus",
        &["conditions", "certificate"],
    ),
    ("certificates.v1.ClusterTrustBundleSpec", &["signerName"]),
    (
        "certificates.v1.PodCertificateRequestSpec",
        &["unverifiedUserAnnotations"],
    ),
    (
        "certificates.v1.PodCertificateRequestStatus",
        &["conditions", "certificateChain"],
    ),
    (
        "core.v1.AWSElasticBlockStoreVolumeSource",
        &["fsType", "partition", "readOnly"],
    ),
    ("core.v1.AvoidPods", &["preferAvoidPods"]),
    ("core.v1.AzureFilePersistentVolumeSource", &["readOnly"]),
    ("core.v1.AzureFileVolumeSource", &["readOnly"]),
    (
        "core.v1.CSIPersistentVolumeSource",
        &["readOnly", "fsType", "volumeAttributes"],
    ),
    ("core.v1.CSIVolumeSource", &["volumeAttributes"]),
    ("core.v1.Capabilities", &["add", "drop"]),
    (
        "core.v1.CephFSPersistentVolumeSource",
        &["path", "user", "secretFile", "readOnly"],
    ),
    (
        "core.v1.CephFSVolumeSource",
        &["path", "user", "secretFile", "readOnly"],
    ),
    (
        "core.v1.CinderPersistentVolumeSource",
        &["fsType", "readOnly"],
    ),
    ("core.v1.CinderVolumeSource", &["fsType", "readOnly"]),
    ("core.v1.ComponentCondition", &["message", "error"]),
    ("core.v1.ComponentStatus", &["conditions"]),
    ("core.v1.ConfigMap", &["data", "binaryData"]),
    (
        "core.v1.ConfigMapNodeConfigSource",
        &["uid", "resourceVersion"],
    ),
    ("core.v1.ConfigMapProjection", &["items"]),
    ("core.v1.ConfigMapVolumeSource", &["items"]),
    (
        "core.v1.Container",
        &[
            "image",
            "command",
            "args",
            "workingDir",
            "ports",
            "envFrom",
            "env",
            "resizePolicy",
            "restartPolicyRules",
            "volumeMounts",
            "volumeDevices",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy",
            "stdin",
            "stdinOnce",
            "tty",
        ],
    ),
    ("core.v1.ContainerImage", &["sizeBytes"]),
    (
        "core.v1.ContainerPort",
        &["name", "hostPort", "protocol", "hostIP"],
    ),
    ("core.v1.ContainerRestartRule", &["action"]),
    (
        "core.v1.ContainerRestartRuleOnExitCodes",
        &["operator", "values"],
    ),
    (
        "core.v1.ContainerStateTerminated",
        &["signal", "reason", "message", "containerID"],
    ),
    ("core.v1.ContainerStateWaiting", &["reason", "message"]),
    (
        "core.v1.ContainerStatus",
        &[
            "containerID",
            "allocatedResources",
            "volumeMounts",
            "allocatedResourcesStatus",
        ],
    ),
    ("core.v1.DownwardAPIProjection", &["items"]),
    ("core.v1.DownwardAPIVolumeSource", &["items"]),
    ("core.v1.EmptyDirVolumeSource", &["medium"]),
    ("core.v1.EndpointAddress", &["hostname"]),
    ("core.v1.EndpointPort", &["name", "protocol"]),
    (
        "core.v1.EndpointSubset",
        &["addresses", "notReadyAddresses", "ports"],
    ),
    ("core.v1.Endpoints", &["subsets"]),
    ("core.v1.EnvFromSource", &["prefix"]),
    ("core.v1.EnvVar", &["value"]),
    ("core.v1.EphemeralContainer", &["targetContainerName"]),
    (
        "core.v1.EphemeralContainerCommon",
        &[
            "image",
            "command",
            "args",
            "workingDir",
            "ports",
            "envFrom",
            "env",
            "resizePolicy",
            "restartPolicyRules",
            "volumeMounts",
            "volumeDevices",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy",
            "stdin",
            "stdinOnce",
            "tty",
        ],
    ),
    (
        "core.v1.Event",
        &["reason", "message", "count", "type", "action"],
    ),
    ("core.v1.EventSeries", &["count"]),
    ("core.v1.EventSource", &["component", "host"]),
    ("core.v1.ExecAction", &["command"]),
    (
        "core.v1.FCVolumeSource",
        &["targetWWNs", "fsType", "readOnly", "wwids"],
    ),
    (
        "core.v1.FlexPersistentVolumeSource",
        &["fsType", "readOnly", "options"],
    ),
    (
        "core.v1.FlexVolumeSource",
        &["fsType", "readOnly", "options"],
    ),
    (
        "core.v1.FlockerVolumeSource",
        &["datasetName", "datasetUUID"],
    ),
    (
        "core.v1.GCEPersistentDiskVolumeSource",
        &["fsType", "partition", "readOnly"],
    ),
    ("core.v1.GitRepoVolumeSource", &["revision", "directory"]),
    ("core.v1.GlusterfsPersistentVolumeSource", &["readOnly"]),
    ("core.v1.GlusterfsVolumeSource", &["readOnly"]),
    (
        "core.v1.HTTPGetAction",
        &["path", "host", "scheme", "httpHeaders"],
    ),
    ("core.v1.HostAlias", &["hostnames"]),
    (
        "core.v1.ISCSIPersistentVolumeSource",
        &[
            "iscsiInterface",
            "fsType",
            "readOnly",
            "portals",
            "chapAuthDiscovery",
            "chapAuthSession",
        ],
    ),
    (
        "core.v1.ISCSIVolumeSource",
        &[
            "iscsiInterface",
            "fsType",
            "readOnly",
            "portals",
            "chapAuthDiscovery",
            "chapAuthSession",
        ],
    ),
    ("core.v1.ImageVolumeSource", &["reference", "pullPolicy"]),
    ("core.v1.ImageVolumeStatus", &["imageRef"]),
    (
        "core.v1.LimitRangeItem",
        &[
            "max",
            "min",
            "default",
            "defaultRequest",
            "maxLimitRequestRatio",
        ],
    ),
    ("core.v1.LinuxContainerUser", &["supplementalGroups"]),
    ("core.v1.LoadBalancerIngress", &["ip", "hostname", "ports"]),
    ("core.v1.LoadBalancerStatus", &["ingress"]),
    ("core.v1.LocalObjectReference", &["name"]),
    (
        "core.v1.ModifyVolumeStatus",
        &["targetVolumeAttributesClassName"],
    ),
    ("core.v1.NFSVolumeSource", &["readOnly"]),
    ("core.v1.NamespaceCondition", &["reason", "message"]),
    ("core.v1.NamespaceSpec", &["finalizers"]),
    ("core.v1.NamespaceStatus", &["phase", "conditions"]),
    (
        "core.v1.NodeAffinity",
        &["preferredDuringSchedulingIgnoredDuringExecution"],
    ),
    (
        "core.v1.NodeAllocatableResourceClaimStatus",
        &["containers", "mapping", "overhead"],
    ),
    ("core.v1.NodeCondition", &["reason", "message"]),
    ("core.v1.NodeConfigStatus", &["error"]),
    (
        "core.v1.NodePodPreemptionPolicy",
        &["disableResizePreemption"],
    ),
    ("core.v1.NodeProxyOptions", &["path"]),
    ("core.v1.NodeSelectorRequirement", &["values"]),
    (
        "core.v1.NodeSelectorTerm",
        &["matchExpressions", "matchFields"],
    ),
    (
        "core.v1.NodeSpec",
        &[
            "podCIDR",
            "podCIDRs",
            "providerID",
            "unschedulable",
            "taints",
            "externalID",
        ],
    ),
    (
        "core.v1.NodeStatus",
        &[
            "capacity",
            "allocatable",
            "phase",
            "conditions",
            "addresses",
            "images",
            "volumesInUse",
            "volumesAttached",
            "runtimeHandlers",
            "declaredFeatures",
        ],
    ),
    ("core.v1.ObjectFieldSelector", &["apiVersion"]),
    (
        "core.v1.ObjectReference",
        &[
            "kind",
            "namespace",
            "name",
            "uid",
            "apiVersion",
            "resourceVersion",
            "fieldPath",
        ],
    ),
    (
        "core.v1.PersistentVolumeClaimCondition",
        &["reason", "message"],
    ),
    (
        "core.v1.PersistentVolumeClaimSpec",
        &["accessModes", "volumeName"],
    ),
    (
        "core.v1.PersistentVolumeClaimStatus",
        &[
            "phase",
            "accessModes",
            "capacity",
            "conditions",
            "allocatedResources",
            "allocatedResourceStatuses",
        ],
    ),
    ("core.v1.PersistentVolumeClaimVolumeSource", &["readOnly"]),
    (
        "core.v1.PersistentVolumeSpec",
        &[
            "capacity",
            "accessModes",
            "persistentVolumeReclaimPolicy",
            "storageClassName",
            "mountOptions",
        ],
    ),
    (
        "core.v1.PersistentVolumeStatus",
        &["phase", "message", "reason"],
    ),
    ("core.v1.PhotonPersistentDiskVolumeSource", &["fsType"]),
    (
        "core.v1.PodAffinity",
        &[
            "requiredDuringSchedulingIgnoredDuringExecution",
            "preferredDuringSchedulingIgnoredDuringExecution",
        ],
    ),
    (
        "core.v1.PodAffinityTerm",
        &["namespaces", "matchLabelKeys", "mismatchLabelKeys"],
    ),
    (
        "core.v1.PodAntiAffinity",
        &[
            "requiredDuringSchedulingIgnoredDuringExecution",
            "preferredDuringSchedulingIgnoredDuringExecution",
        ],
    ),
    (
        "core.v1.PodAttachOptions",
        &["stdin", "stdout", "stderr", "tty", "container"],
    ),
    (
        "core.v1.PodCertificateProjection",
        &[
            "signerName",
            "keyType",
            "credentialBundlePath",
            "keyPath",
            "certificateChainPath",
            "userAnnotations",
        ],
    ),
    (
        "core.v1.PodCondition",
        &["observedGeneration", "reason", "message"],
    ),
    (
        "core.v1.PodDNSConfig",
        &["nameservers", "searches", "options"],
    ),
    ("core.v1.PodDNSConfigOption", &["name"]),
    (
        "core.v1.PodExecOptions",
        &["stdin", "stdout", "stderr", "tty", "container"],
    ),
    (
        "core.v1.PodLogOptions",
        &[
            "container",
            "follow",
            "previous",
            "timestamps",
            "insecureSkipTLSVerifyBackend",
        ],
    ),
    ("core.v1.PodPortForwardOptions", &["ports"]),
    ("core.v1.PodProxyOptions", &["path"]),
    (
        "core.v1.PodSecurityContext",
        &["supplementalGroups", "sysctls"],
    ),
    (
        "core.v1.PodSpec",
        &[
            "volumes",
            "initContainers",
            "ephemeralContainers",
            "restartPolicy",
            "dnsPolicy",
            "nodeSelector",
            "serviceAccountName",
            "serviceAccount",
            "nodeName",
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "imagePullSecrets",
            "hostname",
            "subdomain",
            "schedulerName",
            "tolerations",
            "hostAliases",
            "priorityClassName",
            "readinessGates",
            "overhead",
            "topologySpreadConstraints",
            "schedulingGates",
            "resourceClaims",
            "evictionResponders",
        ],
    ),
    (
        "core.v1.PodStatus",
        &[
            "observedGeneration",
            "phase",
            "conditions",
            "message",
            "reason",
            "nominatedNodeName",
            "hostIP",
            "hostIPs",
            "podIP",
            "podIPs",
            "initContainerStatuses",
            "containerStatuses",
            "qosClass",
            "ephemeralContainerStatuses",
            "resize",
            "resourceClaimStatuses",
            "allocatedResources",
            "nodeAllocatableResourceClaimStatuses",
            "volumeHealth",
        ],
    ),
    ("core.v1.PodVolumeHealth", &["healthConditions"]),
    ("core.v1.PortworxVolumeSource", &["fsType", "readOnly"]),
    ("core.v1.PreferAvoidPodsEntry", &["reason", "message"]),
    (
        "core.v1.Probe",
        &[
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
        ],
    ),
    (
        "core.v1.QuobyteVolumeSource",
        &["readOnly", "user", "group", "tenant"],
    ),
    (
        "core.v1.RBDPersistentVolumeSource",
        &["fsType", "pool", "user", "keyring", "readOnly"],
    ),
    (
        "core.v1.RBDVolumeSource",
        &["fsType", "pool", "user", "keyring", "readOnly"],
    ),
    (
        "core.v1.ReplicationControllerCondition",
        &["reason", "message"],
    ),
    (
        "core.v1.ReplicationControllerSpec",
        &["minReadySeconds", "selector"],
    ),
    (
        "core.v1.ReplicationControllerStatus",
        &[
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            "observedGeneration",
            "conditions",
        ],
    ),
    ("core.v1.ResourceClaim", &["request"]),
    ("core.v1.ResourceFieldSelector", &["containerName"]),
    ("core.v1.ResourceHealth", &["health"]),
    ("core.v1.ResourceQuotaSpec", &["hard", "scopes"]),
    ("core.v1.ResourceQuotaStatus", &["hard", "used"]),
    (
        "core.v1.ResourceRequirements",
        &["limits", "requests", "claims"],
    ),
    ("core.v1.ResourceStatus", &["resources"]),
    ("core.v1.SELinuxOptions", &["user", "role", "type", "level"]),
    (
        "core.v1.ScaleIOPersistentVolumeSource",
        &[
            "sslEnabled",
            "protectionDomain",
            "storagePool",
            "storageMode",
            "volumeName",
            "fsType",
            "readOnly",
        ],
    ),
    (
        "core.v1.ScaleIOVolumeSource",
        &[
            "sslEnabled",
            "protectionDomain",
            "storagePool",
            "storageMode",
            "volumeName",
            "fsType",
            "readOnly",
        ],
    ),
    ("core.v1.ScopeSelector", &["matchExpressions"]),
    ("core.v1.ScopedResourceSelectorRequirement", &["values"]),
    ("core.v1.Secret", &["data", "stringData", "type"]),
    ("core.v1.SecretProjection", &["items"]),
    ("core.v1.SecretReference", &["name", "namespace"]),
    ("core.v1.SecretVolumeSource", &["secretName", "items"]),
    ("core.v1.ServiceAccount", &["secrets", "imagePullSecrets"]),
    ("core.v1.ServiceAccountTokenProjection", &["audience"]),
    ("core.v1.ServicePort", &["name", "protocol", "nodePort"]),
    ("core.v1.ServiceProxyOptions", &["path"]),
    (
        "core.v1.ServiceSpec",
        &[
            "ports",
            "selector",
            "clusterIP",
            "clusterIPs",
            "type",
            "externalIPs",
            "sessionAffinity",
            "loadBalancerIP",
            "loadBalancerSourceRanges",
            "externalName",
            "externalTrafficPolicy",
            "healthCheckNodePort",
            "publishNotReadyAddresses",
            "ipFamilies",
        ],
    ),
    ("core.v1.ServiceStatus", &["conditions"]),
    (
        "core.v1.StorageOSPersistentVolumeSource",
        &["volumeName", "volumeNamespace", "fsType", "readOnly"],
    ),
    (
        "core.v1.StorageOSVolumeSource",
        &["volumeName", "volumeNamespace", "fsType", "readOnly"],
    ),
    ("core.v1.TCPSocketAction", &["host"]),
    ("core.v1.Taint", &["value"]),
    (
        "core.v1.Toleration",
        &["key", "operator", "value", "effect"],
    ),
    ("core.v1.TopologySelectorTerm", &["matchLabelExpressions"]),
    ("core.v1.TopologySpreadConstraint", &["matchLabelKeys"]),
    ("core.v1.VolumeHealthCondition", &["message"]),
    ("core.v1.VolumeHealthStatus", &["healthConditions"]),
    (
        "core.v1.VolumeMount",
        &["readOnly", "subPath", "subPathExpr", "bindMountOptions"],
    ),
    ("core.v1.VolumeMountStatus", &["readOnly"]),
    (
        "core.v1.VolumeResourceRequirements",
        &["limits", "requests"],
    ),
    (
        "core.v1.VsphereVirtualDiskVolumeSource",
        &["fsType", "storagePolicyName", "storagePolicyID"],
    ),
    ("discovery.v1.Endpoint", &["deprecatedTopology"]),
    ("discovery.v1.EndpointHints", &["forZones", "forNodes"]),
    (
        "events.v1.Event",
        &[
            "reportingController",
            "reportingInstance",
            "action",
            "reason",
            "note",
            "type",
            "deprecatedCount",
        ],
    ),
    (
        "flowcontrol.v1.FlowSchemaCondition",
        &["type", "status", "reason", "message"],
    ),
    ("flowcontrol.v1.FlowSchemaSpec", &["rules"]),
    ("flowcontrol.v1.FlowSchemaStatus", &["conditions"]),
    (
        "flowcontrol.v1.PolicyRulesWithSubjects",
        &["resourceRules", "nonResourceRules"],
    ),
    (
        "flowcontrol.v1.PriorityLevelConfigurationCondition",
        &["type", "status", "reason", "message"],
    ),
    (
        "flowcontrol.v1.PriorityLevelConfigurationStatus",
        &["conditions"],
    ),
    ("flowcontrol.v1.ResourcePolicyRule", &["clusterScope"]),
    ("meta.v1.Condition", &["observedGeneration"]),
    (
        "meta.v1.LabelSelector",
        &["matchLabels", "matchExpressions"],
    ),
    ("meta.v1.LabelSelectorRequirement", &["values"]),
    (
        "meta.v1.ManagedFieldsEntry",
        &[
            "manager",
            "operation",
            "apiVersion",
            "fieldsType",
            "subresource",
        ],
    ),
    (
        "meta.v1.ObjectMeta",
        &[
            "name",
            "generateName",
            "namespace",
            "selfLink",
            "uid",
            "resourceVersion",
            "generation",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ],
    ),
    ("networking.v1.HTTPIngressPath", &["path"]),
    ("networking.v1.IPBlock", &["except"]),
    ("networking.v1.IngressClassSpec", &["controller"]),
    (
        "networking.v1.IngressLoadBalancerIngress",
        &["ip", "hostname", "ports"],
    ),
    ("networking.v1.IngressLoadBalancerStatus", &["ingress"]),
    ("networking.v1.IngressRule", &["host"]),
    ("networking.v1.IngressSpec", &["tls", "rules"]),
    ("networking.v1.IngressTLS", &["hosts", "secretName"]),
    ("networking.v1.NetworkPolicyEgressRule", &["ports", "to"]),
    ("networking.v1.NetworkPolicyIngressRule", &["ports", "from"]),
    (
        "networking.v1.NetworkPolicySpec",
        &["ingress", "egress", "policyTypes"],
    ),
    (
        "networking.v1.ParentReference",
        &["group", "resource", "namespace", "name"],
    ),
    ("networking.v1.ServiceBackendPort", &["name", "number"]),
    ("networking.v1.ServiceCIDRSpec", &["cidrs"]),
    ("networking.v1.ServiceCIDRStatus", &["conditions"]),
    ("node.v1.Overhead", &["podFixed"]),
    ("node.v1.Scheduling", &["nodeSelector", "tolerations"]),
    (
        "policy.v1.PodDisruptionBudgetStatus",
        &["observedGeneration", "disruptedPods", "conditions"],
    ),
    ("rbac.v1.AggregationRule", &["clusterRoleSelectors"]),
    ("rbac.v1.ClusterRoleBinding", &["subjects"]),
    (
        "rbac.v1.PolicyRule",
        &["apiGroups", "resources", "resourceNames", "nonResourceURLs"],
    ),
    ("rbac.v1.RoleBinding", &["subjects"]),
    ("rbac.v1.Subject", &["apiGroup", "namespace"]),
    ("resource.v1.CapacityRequestPolicy", &["validValues"]),
    ("resource.v1.CapacityRequirements", &["requests"]),
    ("resource.v1.CounterSet", &["counters"]),
    (
        "resource.v1.Device",
        &[
            "attributes",
            "capacity",
            "consumesCounters",
            "taints",
            "bindingConditions",
            "bindingFailureConditions",
            "nodeAllocatableResources",
        ],
    ),
    ("resource.v1.DeviceAllocationConfiguration", &["requests"]),
    ("resource.v1.DeviceAllocationResult", &["results", "config"]),
    (
        "resource.v1.DeviceAttribute",
        &["ints", "bools", "strings", "versions"],
    ),
    ("resource.v1.DeviceClaim", &["constraints", "config"]),
    ("resource.v1.DeviceClaimConfiguration", &["requests"]),
    ("resource.v1.DeviceClassSpec", &["selectors", "config"]),
    ("resource.v1.DeviceConstraint", &["requests"]),
    ("resource.v1.DeviceCounterConsumption", &["counters"]),
    ("resource.v1.DeviceRequest", &["firstAvailable"]),
    (
        "resource.v1.DeviceRequestAllocationResult",
        &[
            "tolerations",
            "bindingConditions",
            "bindingFailureConditions",
            "consumedCapacity",
            "skipNodeOperations",
        ],
    ),
    (
        "resource.v1.DeviceSubRequest",
        &["selectors", "allocationMode", "count", "tolerations"],
    ),
    ("resource.v1.DeviceTaint", &["value"]),
    ("resource.v1.DeviceTaintRuleStatus", &["conditions"]),
    (
        "resource.v1.DeviceToleration",
        &["key", "operator", "value", "effect"],
    ),
    (
        "resource.v1.ExactDeviceRequest",
        &["selectors", "allocationMode", "count", "tolerations"],
    ),
    (
        "resource.v1.NetworkDeviceData",
        &["interfaceName", "ips", "hardwareAddress"],
    ),
    ("resource.v1.ResourceClaimConsumerReference", &["apiGroup"]),
    (
        "resource.v1.ResourceClaimStatus",
        &["reservedFor", "devices"],
    ),
    (
        "resource.v1.ResourceSliceSpec",
        &["devices", "sharedCounters", "skipNodeOperations"],
    ),
    (
        "scheduling.v1.PriorityClass",
        &["globalDefault", "description"],
    ),
    (
        "storage.v1.CSIDriverSpec",
        &["volumeLifecycleModes", "tokenRequests"],
    ),
    ("storage.v1.CSINodeStatus", &["storageHealth"]),
    (
        "storage.v1.StorageClass",
        &["parameters", "mountOptions", "allowedTopologies"],
    ),
    ("storage.v1.StorageHealth", &["healthConditions"]),
    ("storage.v1.StorageHealthCondition", &["message"]),
    ("storage.v1.VolumeAttachmentStatus", &["attachmentMetadata"]),
    ("storage.v1.VolumeAttributesClass", &["parameters"]),
    ("storage.v1.VolumeError", &["message"]),
    (
        "storagemigration.v1.StorageVersionMigrationStatus",
        &["conditions", "resourceVersion"],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Resource {
        let entry = json!({"resource": "deployments", "responseKind": {"kind": "Deployment"},
            "scope": "Namespaced"});
        crate::testenv::registry::resource_from_entry("apps", "v1", &entry)
    }

    #[test]
    fn the_table_is_sorted_for_lookup() {
        assert!(OMIT_EMPTY.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn non_pointer_zero_values_are_dropped_and_pointer_zeros_kept() {
        let mut object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "finalizers": []},
            "spec": {"replicas": 0, "template": {"spec": {"containers": [{
                "name": "app", "image": "nginx", "tty": false, "workingDir": "",
                "env": [],
                "securityContext": {"privileged": false},
                "volumeMounts": [{"name": "cfg", "mountPath": "/etc", "readOnly": false,
                                  "subPath": "conf"}],
            }]}}},
        });
        encode(&deployment(), &mut object);
        let container = &object["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            container["volumeMounts"][0],
            json!({"name": "cfg", "mountPath": "/etc", "subPath": "conf"})
        );
        assert!(container.get("tty").is_none());
        assert!(container.get("workingDir").is_none());
        assert!(container.get("env").is_none());
        assert_eq!(container["securityContext"], json!({"privileged": false}));
        assert_eq!(object["spec"]["replicas"], json!(0));
        assert!(object["metadata"].get("finalizers").is_none());
    }
}
