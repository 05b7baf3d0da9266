//! The encode step of every write: the API server decodes a body into its Go structs and
//! stores what encoding them back produces, so a field tagged `omitempty` that is not a
//! pointer disappears when it holds its type's zero value (`false`, `0`, `""`, an empty list
//! or map), while a pointer field (`*bool`, `*int32`) keeps an explicit zero.
//!
//! [`OMIT_EMPTY`] lists, per Go type (keyed as [`super::defaults`] keys its defaulting
//! functions: `<group>.<version>.<Type>`), the JSON names of its non-pointer `omitempty`
//! fields of scalar, slice or map type, as `staging/src/k8s.io/api/<group>/<version>/types.go`
//! and apimachinery's `meta/v1/types.go` declare them, and its pointer `omitempty` fields as
//! `*name`, which disappear only when `null` (a nil pointer). Struct-valued fields are never omitted
//! (Go's `omitempty` does not apply to structs), so they are not listed. [`encode`] walks an
//! object alongside its OpenAPI schema, as the defaulting walk does, and drops the zero values
//! of the listed fields at each typed position.
//!
//! Server-side apply records what the applier sent, before this step: a manager that applies
//! `readOnly: false` owns the field though the stored object no longer shows it.

use gitops_core::schema::{Node, Schema};
use serde_json::Value;

use super::defaults::type_key;
use crate::testenv::registry::Resource;

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
        return;
    }
    // A group without an embedded schema: the root type and, by Go's naming convention, its
    // `<Kind>Spec` and `<Kind>Status`, plus the object's metadata.
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group.split('.').next().unwrap_or(group), version),
        None => ("core", api_version),
    };
    let key = |suffix: &str| format!("{group}.{version}.{kind}{suffix}");
    drop_omitted(Some(&mut *object), &key(""));
    drop_omitted(object.get_mut("metadata"), "meta.v1.ObjectMeta");
    drop_omitted(object.get_mut("spec"), &key("Spec"));
    drop_omitted(object.get_mut("status"), &key("Status"));
}

/// Drops the omitted zero values of one typed position, without descending.
fn drop_omitted<'a>(value: impl Into<Option<&'a mut Value>>, key: &str) {
    if let (Some(Value::Object(map)), Some(omitted)) = (value.into(), omitted_fields(key)) {
        map.retain(|k, v| !omitted.iter().any(|field| dropped(field, k, v)));
    }
}

fn walk(value: &mut Value, node: Node<'_>) {
    match value {
        Value::Object(map) => {
            if let Some(omitted) = node.type_name().map(type_key).and_then(omitted_fields) {
                map.retain(|key, v| !omitted.iter().any(|field| dropped(field, key, v)));
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

/// Whether a listed field drops this value: a pointer field (`*name`) only when `null` (a nil
/// pointer), any other one when it holds its zero value.
fn dropped(field: &str, key: &str, value: &Value) -> bool {
    match field.strip_prefix('*') {
        Some(pointer) => pointer == key && value.is_null(),
        None => field == key && is_zero(value),
    }
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

/// `omitempty` fields by Go type, sorted by key: non-pointer fields of scalar, slice or map
/// type by name, pointer fields as `*name` (omitted only when nil, i.e. `null`).
const OMIT_EMPTY: &[(&str, &[&str])] = &[
    (
        "admission.v1.AdmissionRequest",
        &[
            "subResource",
            "*requestKind",
            "*requestResource",
            "requestSubResource",
            "name",
            "namespace",
            "*dryRun",
        ],
    ),
    (
        "admission.v1.AdmissionResponse",
        &[
            "*status",
            "patch",
            "*patchType",
            "auditAnnotations",
            "warnings",
        ],
    ),
    ("admission.v1.AdmissionReview", &["*request", "*response"]),
    (
        "admissionregistration.v1.ApplyConfiguration",
        &["expression"],
    ),
    ("admissionregistration.v1.JSONPatch", &["expression"]),
    (
        "admissionregistration.v1.MatchResources",
        &[
            "*namespaceSelector",
            "*objectSelector",
            "resourceRules",
            "excludeResourceRules",
            "*matchPolicy",
        ],
    ),
    (
        "admissionregistration.v1.MutatingAdmissionPolicyBindingSpec",
        &["policyName", "*paramRef", "*matchResources"],
    ),
    (
        "admissionregistration.v1.MutatingAdmissionPolicySpec",
        &[
            "*paramKind",
            "*matchConstraints",
            "variables",
            "mutations",
            "*failurePolicy",
            "matchConditions",
            "reinvocationPolicy",
        ],
    ),
    (
        "admissionregistration.v1.MutatingWebhook",
        &[
            "rules",
            "*failurePolicy",
            "*matchPolicy",
            "*namespaceSelector",
            "*objectSelector",
            "*timeoutSeconds",
            "*reinvocationPolicy",
            "matchConditions",
        ],
    ),
    (
        "admissionregistration.v1.MutatingWebhookConfiguration",
        &["webhooks"],
    ),
    (
        "admissionregistration.v1.Mutation",
        &["*applyConfiguration", "*jsonPatch"],
    ),
    (
        "admissionregistration.v1.NamedRuleWithOperations",
        &["resourceNames"],
    ),
    (
        "admissionregistration.v1.ParamKind",
        &["apiVersion", "kind"],
    ),
    (
        "admissionregistration.v1.ParamRef",
        &["name", "namespace", "*selector", "*parameterNotFoundAction"],
    ),
    (
        "admissionregistration.v1.Rule",
        &["apiGroups", "apiVersions", "resources", "*scope"],
    ),
    (
        "admissionregistration.v1.RuleWithOperations",
        &["operations"],
    ),
    (
        "admissionregistration.v1.ServiceReference",
        &["*path", "*port"],
    ),
    (
        "admissionregistration.v1.TypeChecking",
        &["expressionWarnings"],
    ),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicyBindingSpec",
        &[
            "policyName",
            "*paramRef",
            "*matchResources",
            "validationActions",
        ],
    ),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicySpec",
        &[
            "*paramKind",
            "*matchConstraints",
            "validations",
            "*failurePolicy",
            "auditAnnotations",
            "matchConditions",
            "variables",
        ],
    ),
    (
        "admissionregistration.v1.ValidatingAdmissionPolicyStatus",
        &["observedGeneration", "*typeChecking", "conditions"],
    ),
    (
        "admissionregistration.v1.ValidatingWebhook",
        &[
            "rules",
            "*failurePolicy",
            "*matchPolicy",
            "*namespaceSelector",
            "*objectSelector",
            "*timeoutSeconds",
            "matchConditions",
        ],
    ),
    (
        "admissionregistration.v1.ValidatingWebhookConfiguration",
        &["webhooks"],
    ),
    (
        "admissionregistration.v1.Validation",
        &["message", "*reason", "messageExpression"],
    ),
    (
        "admissionregistration.v1.WebhookClientConfig",
        &["*url", "*service", "caBundle"],
    ),
    ("apidiscovery.v2.APIGroupDiscovery", &["versions"]),
    (
        "apidiscovery.v2.APIResourceDiscovery",
        &["*responseKind", "shortNames", "categories", "subresources"],
    ),
    (
        "apidiscovery.v2.APISubresourceDiscovery",
        &["*responseKind", "acceptedTypes"],
    ),
    (
        "apidiscovery.v2.APIVersionDiscovery",
        &["resources", "freshness"],
    ),
    ("apps.v1.DaemonSetCondition", &["reason", "message"]),
    (
        "apps.v1.DaemonSetSpec",
        &["minReadySeconds", "*revisionHistoryLimit"],
    ),
    (
        "apps.v1.DaemonSetStatus",
        &[
            "observedGeneration",
            "updatedNumberScheduled",
            "numberAvailable",
            "numberUnavailable",
            "*collisionCount",
            "conditions",
        ],
    ),
    (
        "apps.v1.DaemonSetUpdateStrategy",
        &["type", "*rollingUpdate"],
    ),
    ("apps.v1.DeploymentCondition", &["reason", "message"]),
    (
        "apps.v1.DeploymentSpec",
        &[
            "*replicas",
            "minReadySeconds",
            "*revisionHistoryLimit",
            "paused",
            "*progressDeadlineSeconds",
        ],
    ),
    (
        "apps.v1.DeploymentStatus",
        &[
            "observedGeneration",
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
            "unavailableReplicas",
            "*terminatingReplicas",
            "conditions",
            "*collisionCount",
        ],
    ),
    ("apps.v1.DeploymentStrategy", &["type", "*rollingUpdate"]),
    ("apps.v1.ReplicaSetCondition", &["reason", "message"]),
    ("apps.v1.ReplicaSetSpec", &["*replicas", "minReadySeconds"]),
    (
        "apps.v1.ReplicaSetStatus",
        &[
            "fullyLabeledReplicas",
            "readyReplicas",
            "availableReplicas",
            "*terminatingReplicas",
            "observedGeneration",
            "conditions",
        ],
    ),
    (
        "apps.v1.RollingUpdateDaemonSet",
        &["*maxUnavailable", "*maxSurge"],
    ),
    (
        "apps.v1.RollingUpdateDeployment",
        &["*maxUnavailable", "*maxSurge"],
    ),
    (
        "apps.v1.RollingUpdateStatefulSetStrategy",
        &["*partition", "*maxUnavailable"],
    ),
    ("apps.v1.StatefulSetCondition", &["reason", "message"]),
    (
        "apps.v1.StatefulSetPersistentVolumeClaimRetentionPolicy",
        &["whenDeleted", "whenScaled"],
    ),
    (
        "apps.v1.StatefulSetSpec",
        &[
            "*replicas",
            "volumeClaimTemplates",
            "podManagementPolicy",
            "*revisionHistoryLimit",
            "minReadySeconds",
            "*persistentVolumeClaimRetentionPolicy",
            "*ordinals",
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
            "*collisionCount",
            "conditions",
        ],
    ),
    (
        "apps.v1.StatefulSetUpdateStrategy",
        &["type", "*rollingUpdate"],
    ),
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
            "*fieldSelector",
            "*labelSelector",
        ],
    ),
    (
        "authorization.v1.ResourceRule",
        &["apiGroups", "resources", "resourceNames"],
    ),
    (
        "authorization.v1.SelfSubjectAccessReviewSpec",
        &["*resourceAttributes", "*nonResourceAttributes"],
    ),
    (
        "authorization.v1.SelfSubjectRulesReviewSpec",
        &["namespace"],
    ),
    (
        "authorization.v1.SubjectAccessReviewSpec",
        &[
            "*resourceAttributes",
            "*nonResourceAttributes",
            "user",
            "groups",
            "extra",
            "uid",
        ],
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
        "autoscaling.v1.ContainerResourceMetricSource",
        &["*targetAverageUtilization", "*targetAverageValue"],
    ),
    (
        "autoscaling.v1.ContainerResourceMetricStatus",
        &["*currentAverageUtilization"],
    ),
    (
        "autoscaling.v1.CrossVersionObjectReference",
        &["apiVersion"],
    ),
    (
        "autoscaling.v1.ExternalMetricSource",
        &["*metricSelector", "*targetValue", "*targetAverageValue"],
    ),
    (
        "autoscaling.v1.ExternalMetricStatus",
        &["*metricSelector", "*currentAverageValue"],
    ),
    (
        "autoscaling.v1.HorizontalPodAutoscalerCondition",
        &["reason", "message", "*observedGeneration"],
    ),
    (
        "autoscaling.v1.HorizontalPodAutoscalerSpec",
        &["*minReplicas", "*targetCPUUtilizationPercentage"],
    ),
    (
        "autoscaling.v1.HorizontalPodAutoscalerStatus",
        &[
            "*observedGeneration",
            "*lastScaleTime",
            "*currentCPUUtilizationPercentage",
        ],
    ),
    (
        "autoscaling.v1.MetricSpec",
        &[
            "*object",
            "*pods",
            "*resource",
            "*containerResource",
            "*external",
        ],
    ),
    (
        "autoscaling.v1.MetricStatus",
        &[
            "*object",
            "*pods",
            "*resource",
            "*containerResource",
            "*external",
        ],
    ),
    (
        "autoscaling.v1.ObjectMetricSource",
        &["*selector", "*averageValue"],
    ),
    (
        "autoscaling.v1.ObjectMetricStatus",
        &["*selector", "*averageValue"],
    ),
    ("autoscaling.v1.PodsMetricSource", &["*selector"]),
    ("autoscaling.v1.PodsMetricStatus", &["*selector"]),
    (
        "autoscaling.v1.ResourceMetricSource",
        &["*targetAverageUtilization", "*targetAverageValue"],
    ),
    (
        "autoscaling.v1.ResourceMetricStatus",
        &["*currentAverageUtilization"],
    ),
    ("autoscaling.v1.ScaleSpec", &["replicas"]),
    ("autoscaling.v1.ScaleStatus", &["selector"]),
    (
        "autoscaling.v2.CrossVersionObjectReference",
        &["apiVersion"],
    ),
    (
        "autoscaling.v2.HPAScalingRules",
        &[
            "*stabilizationWindowSeconds",
            "*selectPolicy",
            "policies",
            "*tolerance",
        ],
    ),
    (
        "autoscaling.v2.HorizontalPodAutoscalerBehavior",
        &["*scaleUp", "*scaleDown"],
    ),
    (
        "autoscaling.v2.HorizontalPodAutoscalerCondition",
        &["reason", "message", "*observedGeneration"],
    ),
    (
        "autoscaling.v2.HorizontalPodAutoscalerSpec",
        &["*minReplicas", "metrics", "*behavior"],
    ),
    (
        "autoscaling.v2.HorizontalPodAutoscalerStatus",
        &[
            "*observedGeneration",
            "*lastScaleTime",
            "currentReplicas",
            "conditions",
        ],
    ),
    ("autoscaling.v2.MetricIdentifier", &["*selector"]),
    (
        "autoscaling.v2.MetricSpec",
        &[
            "*object",
            "*pods",
            "*resource",
            "*containerResource",
            "*external",
        ],
    ),
    (
        "autoscaling.v2.MetricStatus",
        &[
            "*object",
            "*pods",
            "*resource",
            "*containerResource",
            "*external",
        ],
    ),
    (
        "autoscaling.v2.MetricTarget",
        &["*value", "*averageValue", "*averageUtilization"],
    ),
    (
        "autoscaling.v2.MetricValueStatus",
        &["*value", "*averageValue", "*averageUtilization"],
    ),
    (
        "batch.v1.CronJobSpec",
        &[
            "*timeZone",
            "*startingDeadlineSeconds",
            "concurrencyPolicy",
            "*suspend",
            "*successfulJobsHistoryLimit",
            "*failedJobsHistoryLimit",
        ],
    ),
    (
        "batch.v1.CronJobStatus",
        &["active", "*lastScheduleTime", "*lastSuccessfulTime"],
    ),
    ("batch.v1.JobCondition", &["reason", "message"]),
    (
        "batch.v1.JobSchedulingConfiguration",
        &[
            "*schedulingPolicy",
            "*schedulingConstraints",
            "*disruptionMode",
            "resourceClaims",
        ],
    ),
    (
        "batch.v1.JobSpec",
        &[
            "*parallelism",
            "*completions",
            "*activeDeadlineSeconds",
            "*podFailurePolicy",
            "*successPolicy",
            "*backoffLimit",
            "*backoffLimitPerIndex",
            "*maxFailedIndexes",
            "*selector",
            "*manualSelector",
            "*ttlSecondsAfterFinished",
            "*completionMode",
            "*suspend",
            "*podReplacementPolicy",
            "*managedBy",
            "*scheduling",
        ],
    ),
    (
        "batch.v1.JobStatus",
        &[
            "conditions",
            "*startTime",
            "*completionTime",
            "active",
            "succeeded",
            "failed",
            "*terminating",
            "completedIndexes",
            "*failedIndexes",
            "*uncountedTerminatedPods",
            "*ready",
        ],
    ),
    (
        "batch.v1.PodFailurePolicyOnExitCodesRequirement",
        &["*containerName"],
    ),
    (
        "batch.v1.PodFailurePolicyRule",
        &["*onExitCodes", "onPodConditions"],
    ),
    (
        "batch.v1.SuccessPolicyRule",
        &["*succeededIndexes", "*succeededCount"],
    ),
    ("batch.v1.UncountedTerminatedPods", &["succeeded", "failed"]),
    (
        "certificates.v1.CertificateSigningRequestCondition",
        &["reason", "message"],
    ),
    (
        "certificates.v1.CertificateSigningRequestSpec",
        &[
            "*expirationSeconds",
            "usages",
            "username",
            "uid",
            "groups",
            "extra",
        ],
    ),
    (
        "certificates.v1.CertificateSigningRequestStatus",
        &["conditions", "certificate"],
    ),
    ("certificates.v1.ClusterTrustBundleSpec", &["signerName"]),
    (
        "certificates.v1.PodCertificateRequestSpec",
        &["*maxExpirationSeconds", "unverifiedUserAnnotations"],
    ),
    (
        "certificates.v1.PodCertificateRequestStatus",
        &[
            "conditions",
            "certificateChain",
            "*notBefore",
            "*beginRefreshAt",
            "*notAfter",
        ],
    ),
    (
        "coordination.v1.LeaseSpec",
        &[
            "*holderIdentity",
            "*leaseDurationSeconds",
            "*acquireTime",
            "*renewTime",
            "*leaseTransitions",
            "*strategy",
            "*preferredHolder",
        ],
    ),
    (
        "core.v1.AWSElasticBlockStoreVolumeSource",
        &["fsType", "partition", "readOnly"],
    ),
    (
        "core.v1.Affinity",
        &["*nodeAffinity", "*podAffinity", "*podAntiAffinity"],
    ),
    ("core.v1.AppArmorProfile", &["*localhostProfile"]),
    ("core.v1.AvoidPods", &["preferAvoidPods"]),
    (
        "core.v1.AzureDiskVolumeSource",
        &["*cachingMode", "*fsType", "*readOnly", "*kind"],
    ),
    ("core.v1.AzureFilePersistentVolumeSource", &["readOnly"]),
    ("core.v1.AzureFileVolumeSource", &["readOnly"]),
    (
        "core.v1.CSIPersistentVolumeSource",
        &[
            "readOnly",
            "fsType",
            "volumeAttributes",
            "*controllerPublishSecretRef",
            "*nodeStageSecretRef",
            "*nodePublishSecretRef",
            "*controllerExpandSecretRef",
            "*nodeExpandSecretRef",
        ],
    ),
    (
        "core.v1.CSIVolumeSource",
        &[
            "*readOnly",
            "*fsType",
            "volumeAttributes",
            "*nodePublishSecretRef",
        ],
    ),
    ("core.v1.Capabilities", &["add", "drop"]),
    (
        "core.v1.CephFSPersistentVolumeSource",
        &["path", "user", "secretFile", "*secretRef", "readOnly"],
    ),
    (
        "core.v1.CephFSVolumeSource",
        &["path", "user", "secretFile", "*secretRef", "readOnly"],
    ),
    (
        "core.v1.CinderPersistentVolumeSource",
        &["fsType", "readOnly", "*secretRef"],
    ),
    (
        "core.v1.CinderVolumeSource",
        &["fsType", "readOnly", "*secretRef"],
    ),
    ("core.v1.ClientIPConfig", &["*timeoutSeconds"]),
    (
        "core.v1.ClusterTrustBundleProjection",
        &[
            "*name",
            "*signerName",
            "*labelSelector",
            "*optional",
            "*user",
        ],
    ),
    ("core.v1.ComponentCondition", &["message", "error"]),
    ("core.v1.ComponentStatus", &["conditions"]),
    ("core.v1.ConfigMap", &["*immutable", "data", "binaryData"]),
    ("core.v1.ConfigMapEnvSource", &["*optional"]),
    ("core.v1.ConfigMapKeySelector", &["*optional"]),
    (
        "core.v1.ConfigMapNodeConfigSource",
        &["uid", "resourceVersion"],
    ),
    ("core.v1.ConfigMapProjection", &["items", "*optional"]),
    (
        "core.v1.ConfigMapVolumeSource",
        &["items", "*defaultMode", "*optional", "*defaultUser"],
    ),
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
            "*restartPolicy",
            "restartPolicyRules",
            "volumeMounts",
            "volumeDevices",
            "*livenessProbe",
            "*readinessProbe",
            "*startupProbe",
            "*lifecycle",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy",
            "*securityContext",
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
    ("core.v1.ContainerRestartRule", &["action", "*exitCodes"]),
    (
        "core.v1.ContainerRestartRuleOnExitCodes",
        &["operator", "values"],
    ),
    (
        "core.v1.ContainerState",
        &["*waiting", "*running", "*terminated"],
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
            "*started",
            "allocatedResources",
            "*resources",
            "volumeMounts",
            "*user",
            "allocatedResourcesStatus",
            "*stopSignal",
        ],
    ),
    ("core.v1.ContainerUser", &["*linux"]),
    ("core.v1.DownwardAPIProjection", &["items"]),
    (
        "core.v1.DownwardAPIVolumeFile",
        &["*fieldRef", "*resourceFieldRef", "*mode", "*user"],
    ),
    (
        "core.v1.DownwardAPIVolumeSource",
        &["items", "*defaultMode", "*defaultUser"],
    ),
    (
        "core.v1.EmptyDirVolumeSource",
        &["medium", "*sizeLimit", "*mode"],
    ),
    (
        "core.v1.EndpointAddress",
        &["hostname", "*nodeName", "*targetRef"],
    ),
    (
        "core.v1.EndpointPort",
        &["name", "protocol", "*appProtocol"],
    ),
    (
        "core.v1.EndpointSubset",
        &["addresses", "notReadyAddresses", "ports"],
    ),
    ("core.v1.Endpoints", &["subsets"]),
    (
        "core.v1.EnvFromSource",
        &["prefix", "*configMapRef", "*secretRef"],
    ),
    ("core.v1.EnvVar", &["value", "*valueFrom"]),
    (
        "core.v1.EnvVarSource",
        &[
            "*fieldRef",
            "*resourceFieldRef",
            "*configMapKeyRef",
            "*secretKeyRef",
            "*fileKeyRef",
        ],
    ),
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
            "*restartPolicy",
            "restartPolicyRules",
            "volumeMounts",
            "volumeDevices",
            "*livenessProbe",
            "*readinessProbe",
            "*startupProbe",
            "*lifecycle",
            "terminationMessagePath",
            "terminationMessagePolicy",
            "imagePullPolicy",
            "*securityContext",
            "stdin",
            "stdinOnce",
            "tty",
        ],
    ),
    ("core.v1.EphemeralVolumeSource", &["*volumeClaimTemplate"]),
    (
        "core.v1.Event",
        &[
            "reason", "message", "count", "type", "*series", "action", "*related",
        ],
    ),
    ("core.v1.EventSeries", &["count"]),
    ("core.v1.EventSource", &["component", "host"]),
    ("core.v1.ExecAction", &["command"]),
    (
        "core.v1.FCVolumeSource",
        &["targetWWNs", "*lun", "fsType", "readOnly", "wwids"],
    ),
    ("core.v1.FileKeySelector", &["*optional"]),
    (
        "core.v1.FlexPersistentVolumeSource",
        &["fsType", "*secretRef", "readOnly", "options"],
    ),
    (
        "core.v1.FlexVolumeSource",
        &["fsType", "*secretRef", "readOnly", "options"],
    ),
    (
        "core.v1.FlockerVolumeSource",
        &["datasetName", "datasetUUID"],
    ),
    (
        "core.v1.GCEPersistentDiskVolumeSource",
        &["fsType", "partition", "readOnly"],
    ),
    ("core.v1.GRPCAction", &["*mode"]),
    ("core.v1.GitRepoVolumeSource", &["revision", "directory"]),
    (
        "core.v1.GlusterfsPersistentVolumeSource",
        &["readOnly", "*endpointsNamespace"],
    ),
    ("core.v1.GlusterfsVolumeSource", &["readOnly"]),
    (
        "core.v1.HTTPGetAction",
        &["path", "host", "scheme", "httpHeaders", "*protocol"],
    ),
    ("core.v1.HostAlias", &["hostnames"]),
    ("core.v1.HostPathVolumeSource", &["*type"]),
    (
        "core.v1.ISCSIPersistentVolumeSource",
        &[
            "iscsiInterface",
            "fsType",
            "readOnly",
            "portals",
            "chapAuthDiscovery",
            "chapAuthSession",
            "*secretRef",
            "*initiatorName",
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
            "*secretRef",
            "*initiatorName",
        ],
    ),
    ("core.v1.ImageVolumeSource", &["reference", "pullPolicy"]),
    ("core.v1.ImageVolumeStatus", &["imageRef"]),
    ("core.v1.KeyToPath", &["*mode", "*user"]),
    (
        "core.v1.Lifecycle",
        &["*postStart", "*preStop", "*stopSignal"],
    ),
    (
        "core.v1.LifecycleHandler",
        &["*exec", "*httpGet", "*tcpSocket", "*sleep"],
    ),
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
    (
        "core.v1.LoadBalancerIngress",
        &["ip", "hostname", "*ipMode", "ports"],
    ),
    ("core.v1.LoadBalancerStatus", &["ingress"]),
    ("core.v1.LocalObjectReference", &["name"]),
    ("core.v1.LocalVolumeSource", &["*fsType"]),
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
        &[
            "*requiredDuringSchedulingIgnoredDuringExecution",
            "preferredDuringSchedulingIgnoredDuringExecution",
        ],
    ),
    (
        "core.v1.NodeAllocatableOverheadResources",
        &["*perPod", "*perContainer"],
    ),
    (
        "core.v1.NodeAllocatableResourceClaimStatus",
        &["containers", "mapping", "overhead"],
    ),
    ("core.v1.NodeCondition", &["reason", "message"]),
    ("core.v1.NodeConfigSource", &["*configMap"]),
    (
        "core.v1.NodeConfigStatus",
        &["*assigned", "*active", "*lastKnownGood", "error"],
    ),
    ("core.v1.NodeFeatures", &["*supplementalGroupsPolicy"]),
    (
        "core.v1.NodePodPreemptionPolicy",
        &["disableResizePreemption"],
    ),
    ("core.v1.NodeProxyOptions", &["path"]),
    ("core.v1.NodeRuntimeHandler", &["*features"]),
    (
        "core.v1.NodeRuntimeHandlerFeatures",
        &["*recursiveReadOnlyMounts", "*userNamespaces"],
    ),
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
            "*configSource",
            "externalID",
            "*podPreemptionPolicy",
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
            "*config",
            "runtimeHandlers",
            "*features",
            "declaredFeatures",
        ],
    ),
    ("core.v1.NodeSwapStatus", &["*capacity"]),
    ("core.v1.NodeSystemInfo", &["*swap"]),
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
        &[
            "accessModes",
            "*selector",
            "volumeName",
            "*storageClassName",
            "*volumeMode",
            "*dataSource",
            "*dataSourceRef",
            "*volumeAttributesClassName",
        ],
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
            "*currentVolumeAttributesClassName",
            "*modifyVolumeStatus",
            "*healthStatus",
        ],
    ),
    ("core.v1.PersistentVolumeClaimVolumeSource", &["readOnly"]),
    (
        "core.v1.PersistentVolumeSource",
        &[
            "*gcePersistentDisk",
            "*awsElasticBlockStore",
            "*hostPath",
            "*glusterfs",
            "*nfs",
            "*rbd",
            "*iscsi",
            "*cinder",
            "*cephfs",
            "*fc",
            "*flocker",
            "*flexVolume",
            "*azureFile",
            "*vsphereVolume",
            "*quobyte",
            "*azureDisk",
            "*photonPersistentDisk",
            "*portworxVolume",
            "*scaleIO",
            "*local",
            "*storageos",
            "*csi",
        ],
    ),
    (
        "core.v1.PersistentVolumeSpec",
        &[
            "capacity",
            "accessModes",
            "*claimRef",
            "persistentVolumeReclaimPolicy",
            "storageClassName",
            "mountOptions",
            "*volumeMode",
            "*nodeAffinity",
            "*volumeAttributesClassName",
        ],
    ),
    (
        "core.v1.PersistentVolumeStatus",
        &["phase", "message", "reason", "*lastPhaseTransitionTime"],
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
        &[
            "*labelSelector",
            "namespaces",
            "*namespaceSelector",
            "matchLabelKeys",
            "mismatchLabelKeys",
        ],
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
            "*maxExpirationSeconds",
            "credentialBundlePath",
            "keyPath",
            "certificateChainPath",
            "userAnnotations",
            "*user",
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
    ("core.v1.PodDNSConfigOption", &["name", "*value"]),
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
            "*sinceSeconds",
            "*sinceTime",
            "timestamps",
            "*tailLines",
            "*limitBytes",
            "insecureSkipTLSVerifyBackend",
            "*stream",
        ],
    ),
    ("core.v1.PodPortForwardOptions", &["ports"]),
    ("core.v1.PodProxyOptions", &["path"]),
    (
        "core.v1.PodResourceClaim",
        &["*resourceClaimName", "*resourceClaimTemplateName"],
    ),
    ("core.v1.PodResourceClaimStatus", &["*resourceClaimName"]),
    ("core.v1.PodSchedulingGroup", &["*podGroupName"]),
    (
        "core.v1.PodSecurityContext",
        &[
            "*seLinuxOptions",
            "*windowsOptions",
            "*runAsUser",
            "*runAsGroup",
            "*runAsNonRoot",
            "supplementalGroups",
            "*supplementalGroupsPolicy",
            "*fsGroup",
            "sysctls",
            "*fsGroupChangePolicy",
            "*seccompProfile",
            "*appArmorProfile",
            "*seLinuxChangePolicy",
        ],
    ),
    ("core.v1.PodSignature", &["*podController"]),
    (
        "core.v1.PodSpec",
        &[
            "volumes",
            "initContainers",
            "ephemeralContainers",
            "restartPolicy",
            "*terminationGracePeriodSeconds",
            "*activeDeadlineSeconds",
            "dnsPolicy",
            "nodeSelector",
            "serviceAccountName",
            "serviceAccount",
            "*automountServiceAccountToken",
            "nodeName",
            "hostNetwork",
            "hostPID",
            "hostIPC",
            "*shareProcessNamespace",
            "*securityContext",
            "imagePullSecrets",
            "hostname",
            "subdomain",
            "*affinity",
            "schedulerName",
            "tolerations",
            "hostAliases",
            "priorityClassName",
            "*priority",
            "*dnsConfig",
            "readinessGates",
            "*runtimeClassName",
            "*enableServiceLinks",
            "*preemptionPolicy",
            "overhead",
            "topologySpreadConstraints",
            "*setHostnameAsFQDN",
            "*os",
            "*hostUsers",
            "schedulingGates",
            "resourceClaims",
            "*resources",
            "*hostnameOverride",
            "*schedulingGroup",
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
            "*startTime",
            "initContainerStatuses",
            "containerStatuses",
            "qosClass",
            "ephemeralContainerStatuses",
            "resize",
            "resourceClaimStatuses",
            "*extendedResourceClaimStatus",
            "allocatedResources",
            "*resources",
            "nodeAllocatableResourceClaimStatuses",
            "volumeHealth",
        ],
    ),
    ("core.v1.PodVolumeHealth", &["healthConditions"]),
    ("core.v1.PortStatus", &["*error"]),
    ("core.v1.PortworxVolumeSource", &["fsType", "readOnly"]),
    ("core.v1.Preconditions", &["*uid"]),
    ("core.v1.PreferAvoidPodsEntry", &["reason", "message"]),
    (
        "core.v1.Probe",
        &[
            "initialDelaySeconds",
            "timeoutSeconds",
            "periodSeconds",
            "successThreshold",
            "failureThreshold",
            "*terminationGracePeriodSeconds",
        ],
    ),
    (
        "core.v1.ProbeHandler",
        &["*exec", "*httpGet", "*tcpSocket", "*grpc"],
    ),
    (
        "core.v1.ProjectedVolumeSource",
        &["*defaultMode", "*defaultUser"],
    ),
    (
        "core.v1.QuobyteVolumeSource",
        &["readOnly", "user", "group", "tenant"],
    ),
    (
        "core.v1.RBDPersistentVolumeSource",
        &[
            "fsType",
            "pool",
            "user",
            "keyring",
            "*secretRef",
            "readOnly",
        ],
    ),
    (
        "core.v1.RBDVolumeSource",
        &[
            "fsType",
            "pool",
            "user",
            "keyring",
            "*secretRef",
            "readOnly",
        ],
    ),
    (
        "core.v1.ReplicationControllerCondition",
        &["reason", "message"],
    ),
    (
        "core.v1.ReplicationControllerSpec",
        &["*replicas", "minReadySeconds", "selector", "*template"],
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
    ("core.v1.ResourceHealth", &["health", "*message"]),
    (
        "core.v1.ResourceQuotaSpec",
        &["hard", "scopes", "*scopeSelector"],
    ),
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
    ("core.v1.SeccompProfile", &["*localhostProfile"]),
    (
        "core.v1.Secret",
        &["*immutable", "data", "stringData", "type"],
    ),
    ("core.v1.SecretEnvSource", &["*optional"]),
    ("core.v1.SecretKeySelector", &["*optional"]),
    ("core.v1.SecretProjection", &["items", "*optional"]),
    ("core.v1.SecretReference", &["name", "namespace"]),
    (
        "core.v1.SecretVolumeSource",
        &[
            "secretName",
            "items",
            "*defaultMode",
            "*optional",
            "*defaultUser",
        ],
    ),
    (
        "core.v1.SecurityContext",
        &[
            "*capabilities",
            "*privileged",
            "*seLinuxOptions",
            "*windowsOptions",
            "*runAsUser",
            "*runAsGroup",
            "*runAsNonRoot",
            "*readOnlyRootFilesystem",
            "*allowPrivilegeEscalation",
            "*procMount",
            "*seccompProfile",
            "*appArmorProfile",
        ],
    ),
    (
        "core.v1.ServiceAccount",
        &[
            "secrets",
            "imagePullSecrets",
            "*automountServiceAccountToken",
        ],
    ),
    (
        "core.v1.ServiceAccountTokenProjection",
        &["audience", "*expirationSeconds", "*user"],
    ),
    (
        "core.v1.ServicePort",
        &["name", "protocol", "*appProtocol", "nodePort"],
    ),
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
            "*sessionAffinityConfig",
            "ipFamilies",
            "*ipFamilyPolicy",
            "*allocateLoadBalancerNodePorts",
            "*loadBalancerClass",
            "*internalTrafficPolicy",
            "*trafficDistribution",
        ],
    ),
    ("core.v1.ServiceStatus", &["conditions"]),
    ("core.v1.SessionAffinityConfig", &["*clientIP"]),
    (
        "core.v1.StorageOSPersistentVolumeSource",
        &[
            "volumeName",
            "volumeNamespace",
            "fsType",
            "readOnly",
            "*secretRef",
        ],
    ),
    (
        "core.v1.StorageOSVolumeSource",
        &[
            "volumeName",
            "volumeNamespace",
            "fsType",
            "readOnly",
            "*secretRef",
        ],
    ),
    ("core.v1.TCPSocketAction", &["host"]),
    ("core.v1.Taint", &["value", "*timeAdded"]),
    (
        "core.v1.Toleration",
        &["key", "operator", "value", "effect", "*tolerationSeconds"],
    ),
    ("core.v1.TopologySelectorTerm", &["matchLabelExpressions"]),
    (
        "core.v1.TopologySpreadConstraint",
        &[
            "*labelSelector",
            "*minDomains",
            "*nodeAffinityPolicy",
            "*nodeTaintsPolicy",
            "matchLabelKeys",
        ],
    ),
    ("core.v1.TypedObjectReference", &["*namespace"]),
    ("core.v1.VolumeHealthCondition", &["message"]),
    ("core.v1.VolumeHealthStatus", &["healthConditions"]),
    (
        "core.v1.VolumeMount",
        &[
            "readOnly",
            "*recursiveReadOnly",
            "subPath",
            "*mountPropagation",
            "subPathExpr",
            "bindMountOptions",
        ],
    ),
    (
        "core.v1.VolumeMountStatus",
        &["readOnly", "*recursiveReadOnly", "*volumeStatus"],
    ),
    ("core.v1.VolumeNodeAffinity", &["*required"]),
    (
        "core.v1.VolumeProjection",
        &[
            "*secret",
            "*downwardAPI",
            "*configMap",
            "*serviceAccountToken",
            "*clusterTrustBundle",
            "*podCertificate",
        ],
    ),
    (
        "core.v1.VolumeResourceRequirements",
        &["limits", "requests"],
    ),
    (
        "core.v1.VolumeSource",
        &[
            "*hostPath",
            "*emptyDir",
            "*gcePersistentDisk",
            "*awsElasticBlockStore",
            "*gitRepo",
            "*secret",
            "*nfs",
            "*iscsi",
            "*glusterfs",
            "*persistentVolumeClaim",
            "*rbd",
            "*flexVolume",
            "*cinder",
            "*cephfs",
            "*flocker",
            "*downwardAPI",
            "*fc",
            "*azureFile",
            "*configMap",
            "*vsphereVolume",
            "*quobyte",
            "*azureDisk",
            "*photonPersistentDisk",
            "*projected",
            "*portworxVolume",
            "*scaleIO",
            "*storageos",
            "*csi",
            "*ephemeral",
            "*image",
        ],
    ),
    ("core.v1.VolumeStatus", &["*image"]),
    (
        "core.v1.VsphereVirtualDiskVolumeSource",
        &["fsType", "storagePolicyName", "storagePolicyID"],
    ),
    (
        "core.v1.WindowsSecurityContextOptions",
        &[
            "*gmsaCredentialSpecName",
            "*gmsaCredentialSpec",
            "*runAsUserName",
            "*hostProcess",
        ],
    ),
    (
        "discovery.v1.Endpoint",
        &[
            "*hostname",
            "*targetRef",
            "deprecatedTopology",
            "*nodeName",
            "*zone",
            "*hints",
        ],
    ),
    (
        "discovery.v1.EndpointConditions",
        &["*ready", "*serving", "*terminating"],
    ),
    ("discovery.v1.EndpointHints", &["forZones", "forNodes"]),
    (
        "discovery.v1.EndpointPort",
        &["*name", "*protocol", "*port", "*appProtocol"],
    ),
    (
        "events.v1.Event",
        &[
            "*series",
            "reportingController",
            "reportingInstance",
            "action",
            "reason",
            "*related",
            "note",
            "type",
            "deprecatedCount",
        ],
    ),
    (
        "flowcontrol.v1.ExemptPriorityLevelConfiguration",
        &["*nominalConcurrencyShares", "*lendablePercent"],
    ),
    (
        "flowcontrol.v1.FlowSchemaCondition",
        &["type", "status", "reason", "message"],
    ),
    (
        "flowcontrol.v1.FlowSchemaSpec",
        &["*distinguisherMethod", "rules"],
    ),
    ("flowcontrol.v1.FlowSchemaStatus", &["conditions"]),
    ("flowcontrol.v1.LimitResponse", &["*queuing"]),
    (
        "flowcontrol.v1.LimitedPriorityLevelConfiguration",
        &["*lendablePercent", "*borrowingLimitPercent"],
    ),
    (
        "flowcontrol.v1.PolicyRulesWithSubjects",
        &["resourceRules", "nonResourceRules"],
    ),
    (
        "flowcontrol.v1.PriorityLevelConfigurationCondition",
        &["type", "status", "reason", "message"],
    ),
    (
        "flowcontrol.v1.PriorityLevelConfigurationSpec",
        &["*limited", "*exempt"],
    ),
    (
        "flowcontrol.v1.PriorityLevelConfigurationStatus",
        &["conditions"],
    ),
    ("flowcontrol.v1.ResourcePolicyRule", &["clusterScope"]),
    (
        "flowcontrol.v1.Subject",
        &["*user", "*group", "*serviceAccount"],
    ),
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
            "*time",
            "fieldsType",
            "*fieldsV1",
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
            "*deletionTimestamp",
            "*deletionGracePeriodSeconds",
            "labels",
            "annotations",
            "ownerReferences",
            "finalizers",
            "managedFields",
        ],
    ),
    (
        "meta.v1.OwnerReference",
        &["*controller", "*blockOwnerDeletion"],
    ),
    ("meta.v1.Preconditions", &["*uid", "*resourceVersion"]),
    ("networking.v1.HTTPIngressPath", &["path"]),
    ("networking.v1.IPAddressSpec", &["*parentRef"]),
    ("networking.v1.IPBlock", &["except"]),
    ("networking.v1.IngressBackend", &["*service", "*resource"]),
    (
        "networking.v1.IngressClassParametersReference",
        &["*apiGroup", "*namespace"],
    ),
    (
        "networking.v1.IngressClassSpec",
        &["controller", "*parameters"],
    ),
    (
        "networking.v1.IngressLoadBalancerIngress",
        &["ip", "hostname", "ports"],
    ),
    ("networking.v1.IngressLoadBalancerStatus", &["ingress"]),
    ("networking.v1.IngressPortStatus", &["*error"]),
    ("networking.v1.IngressRule", &["host"]),
    ("networking.v1.IngressRuleValue", &["*http"]),
    (
        "networking.v1.IngressSpec",
        &["*ingressClassName", "*defaultBackend", "tls", "rules"],
    ),
    ("networking.v1.IngressTLS", &["hosts", "secretName"]),
    ("networking.v1.NetworkPolicyEgressRule", &["ports", "to"]),
    ("networking.v1.NetworkPolicyIngressRule", &["ports", "from"]),
    (
        "networking.v1.NetworkPolicyPeer",
        &["*podSelector", "*namespaceSelector", "*ipBlock"],
    ),
    (
        "networking.v1.NetworkPolicyPort",
        &["*protocol", "*port", "*endPort"],
    ),
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
    ("node.v1.RuntimeClass", &["*overhead", "*scheduling"]),
    ("node.v1.Scheduling", &["nodeSelector", "tolerations"]),
    ("policy.v1.Eviction", &["*deleteOptions"]),
    (
        "policy.v1.PodDisruptionBudgetSpec",
        &[
            "*minAvailable",
            "*selector",
            "*maxUnavailable",
            "*unhealthyPodEvictionPolicy",
        ],
    ),
    (
        "policy.v1.PodDisruptionBudgetStatus",
        &["observedGeneration", "disruptedPods", "conditions"],
    ),
    ("rbac.v1.AggregationRule", &["clusterRoleSelectors"]),
    ("rbac.v1.ClusterRole", &["*aggregationRule"]),
    ("rbac.v1.ClusterRoleBinding", &["subjects"]),
    (
        "rbac.v1.PolicyRule",
        &["apiGroups", "resources", "resourceNames", "nonResourceURLs"],
    ),
    ("rbac.v1.RoleBinding", &["subjects"]),
    ("rbac.v1.Subject", &["apiGroup", "namespace"]),
    (
        "resource.v1.AllocatedDeviceStatus",
        &["*shareID", "*data", "*networkData"],
    ),
    (
        "resource.v1.AllocationResult",
        &["*nodeSelector", "*allocationTimestamp"],
    ),
    (
        "resource.v1.CapacityRequestPolicy",
        &["validValues", "*validRange"],
    ),
    (
        "resource.v1.CapacityRequestPolicyRange",
        &["*min", "*max", "*step"],
    ),
    ("resource.v1.CapacityRequirements", &["requests"]),
    ("resource.v1.CounterSet", &["counters"]),
    (
        "resource.v1.Device",
        &[
            "attributes",
            "capacity",
            "consumesCounters",
            "*nodeName",
            "*nodeSelector",
            "*allNodes",
            "taints",
            "*bindsToNode",
            "bindingConditions",
            "bindingFailureConditions",
            "*allowMultipleAllocations",
            "nodeAllocatableResources",
        ],
    ),
    ("resource.v1.DeviceAllocationConfiguration", &["requests"]),
    ("resource.v1.DeviceAllocationResult", &["results", "config"]),
    (
        "resource.v1.DeviceAttribute",
        &[
            "*int", "*bool", "*string", "*version", "ints", "bools", "strings", "versions",
        ],
    ),
    ("resource.v1.DeviceCapacity", &["*requestPolicy"]),
    ("resource.v1.DeviceClaim", &["constraints", "config"]),
    ("resource.v1.DeviceClaimConfiguration", &["requests"]),
    (
        "resource.v1.DeviceClassSpec",
        &["selectors", "config", "*extendedResourceName"],
    ),
    ("resource.v1.DeviceConfiguration", &["*opaque"]),
    (
        "resource.v1.DeviceConstraint",
        &["requests", "*matchAttribute", "*distinctAttribute"],
    ),
    ("resource.v1.DeviceCounterConsumption", &["counters"]),
    ("resource.v1.DeviceRequest", &["*exactly", "firstAvailable"]),
    (
        "resource.v1.DeviceRequestAllocationResult",
        &[
            "*adminAccess",
            "tolerations",
            "bindingConditions",
            "bindingFailureConditions",
            "*shareID",
            "consumedCapacity",
            "skipNodeOperations",
        ],
    ),
    ("resource.v1.DeviceSelector", &["*cel"]),
    (
        "resource.v1.DeviceSubRequest",
        &[
            "selectors",
            "allocationMode",
            "count",
            "tolerations",
            "*capacity",
        ],
    ),
    ("resource.v1.DeviceTaint", &["value", "*timeAdded"]),
    ("resource.v1.DeviceTaintRuleSpec", &["*deviceSelector"]),
    ("resource.v1.DeviceTaintRuleStatus", &["conditions"]),
    (
        "resource.v1.DeviceTaintSelector",
        &["*driver", "*pool", "*device"],
    ),
    (
        "resource.v1.DeviceToleration",
        &["key", "operator", "value", "effect", "*tolerationSeconds"],
    ),
    (
        "resource.v1.ExactDeviceRequest",
        &[
            "selectors",
            "allocationMode",
            "count",
            "*adminAccess",
            "tolerations",
            "*capacity",
        ],
    ),
    (
        "resource.v1.NetworkDeviceData",
        &["interfaceName", "ips", "hardwareAddress"],
    ),
    (
        "resource.v1.NodeAllocatableMapping",
        &["*capacityKey", "*capacityMultiplier", "*deviceMultiplier"],
    ),
    (
        "resource.v1.NodeAllocatableOverhead",
        &["*perPod", "*perContainer"],
    ),
    (
        "resource.v1.NodeAllocatableResource",
        &["*mapping", "*overhead"],
    ),
    ("resource.v1.ResourceClaimConsumerReference", &["apiGroup"]),
    (
        "resource.v1.ResourceClaimStatus",
        &["*allocation", "reservedFor", "devices"],
    ),
    (
        "resource.v1.ResourceSliceSpec",
        &[
            "*nodeName",
            "*nodeSelector",
            "*allNodes",
            "devices",
            "*perDeviceNodeSelection",
            "sharedCounters",
            "*partitionTypeAttribute",
            "skipNodeOperations",
        ],
    ),
    (
        "scheduling.v1.PriorityClass",
        &["globalDefault", "description", "*preemptionPolicy"],
    ),
    (
        "storage.v1.CSIDriverSpec",
        &[
            "*attachRequired",
            "*podInfoOnMount",
            "volumeLifecycleModes",
            "*storageCapacity",
            "*fsGroupPolicy",
            "tokenRequests",
            "*requiresRepublish",
            "*seLinuxMount",
            "*nodeAllocatableUpdatePeriodSeconds",
            "*serviceAccountTokenInSecrets",
            "*preventPodSchedulingIfMissing",
        ],
    ),
    ("storage.v1.CSINodeDriver", &["*allocatable"]),
    ("storage.v1.CSINodeStatus", &["storageHealth"]),
    (
        "storage.v1.CSIStorageCapacity",
        &["*nodeTopology", "*capacity", "*maximumVolumeSize"],
    ),
    (
        "storage.v1.StorageClass",
        &[
            "parameters",
            "*reclaimPolicy",
            "mountOptions",
            "*allowVolumeExpansion",
            "*volumeBindingMode",
            "allowedTopologies",
        ],
    ),
    ("storage.v1.StorageHealth", &["healthConditions"]),
    (
        "storage.v1.StorageHealthCondition",
        &["message", "*accessMode", "*volumeMode"],
    ),
    ("storage.v1.TokenRequest", &["*expirationSeconds"]),
    (
        "storage.v1.VolumeAttachmentSource",
        &["*persistentVolumeName", "*inlineVolumeSpec"],
    ),
    (
        "storage.v1.VolumeAttachmentStatus",
        &["attachmentMetadata", "*attachError", "*detachError"],
    ),
    ("storage.v1.VolumeAttributesClass", &["parameters"]),
    ("storage.v1.VolumeError", &["message", "*errorCode"]),
    ("storage.v1.VolumeNodeResources", &["*count"]),
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

    #[test]
    fn a_kind_without_a_schema_drops_its_root_spec_and_status_zeros() {
        // resource.k8s.io has no embedded schema here.
        let mut object = json!({"apiVersion": "resource.k8s.io/v1", "kind": "DeviceClass",
            "metadata": {"name": "gpu", "generateName": ""},
            "spec": {"selectors": [], "extendedResourceName": null}});
        encode_as("resource.k8s.io/v1", "DeviceClass", &mut object);
        assert_eq!(object["metadata"], json!({"name": "gpu"}));
        assert_eq!(object["spec"], json!({}));
    }

    #[test]
    fn a_null_pointer_field_is_dropped_and_a_pointer_zero_kept() {
        let mut object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"replicas": null, "revisionHistoryLimit": 0, "paused": false}});
        encode(&deployment(), &mut object);
        assert_eq!(object["spec"], json!({"revisionHistoryLimit": 0}));
    }
}
