//! Go's rendering of internal (unversioned) objects, which some validation messages print as
//! the invalid value: the immutable-template error of a Job prints the internal
//! `PodTemplateSpec`, with Go field names in declaration order and zero values spelled out,
//! and the immutable-spec errors of PersistentVolumeClaims and PersistentVolumes append a
//! diff ([`super::godiff`]) of the internal `PersistentVolumeClaimSpec` and
//! `PersistentVolumeSource`.
//!
//! Only the shapes those messages need are laid out here; nested values without a layout are
//! printed as their JSON (Go prints maps with sorted keys). The internal storage types mirror
//! `core/v1`'s field names and order, except `PersistentVolumeSource`, whose internal order
//! differs and is spelled out.

use serde_json::{Map, Value, json};

/// How a field's zero value prints.
#[derive(Clone, Copy)]
enum Zero {
    Null,
    Empty,
    False,
    Int,
}

/// One Go field: its name, its JSON name in the versioned API, and its zero value.
type Field = (&'static str, &'static str, Zero);

const POD_SPEC: &[Field] = &[
    ("Volumes", "volumes", Zero::Null),
    ("InitContainers", "initContainers", Zero::Null),
    ("Containers", "containers", Zero::Null),
    ("EphemeralContainers", "ephemeralContainers", Zero::Null),
    ("RestartPolicy", "restartPolicy", Zero::Empty),
    (
        "TerminationGracePeriodSeconds",
        "terminationGracePeriodSeconds",
        Zero::Null,
    ),
    ("ActiveDeadlineSeconds", "activeDeadlineSeconds", Zero::Null),
    ("DNSPolicy", "dnsPolicy", Zero::Empty),
    ("NodeSelector", "nodeSelector", Zero::Null),
    ("ServiceAccountName", "serviceAccountName", Zero::Empty),
    (
        "AutomountServiceAccountToken",
        "automountServiceAccountToken",
        Zero::Null,
    ),
    ("NodeName", "nodeName", Zero::Empty),
    ("SecurityContext", "securityContext", Zero::Null),
    ("ImagePullSecrets", "imagePullSecrets", Zero::Null),
    ("Hostname", "hostname", Zero::Empty),
    ("Subdomain", "subdomain", Zero::Empty),
    ("SetHostnameAsFQDN", "setHostnameAsFQDN", Zero::Null),
    ("Affinity", "affinity", Zero::Null),
    ("SchedulerName", "schedulerName", Zero::Empty),
    ("Tolerations", "tolerations", Zero::Null),
    ("HostAliases", "hostAliases", Zero::Null),
    ("PriorityClassName", "priorityClassName", Zero::Empty),
    ("Priority", "priority", Zero::Null),
    ("PreemptionPolicy", "preemptionPolicy", Zero::Null),
    ("DNSConfig", "dnsConfig", Zero::Null),
    ("ReadinessGates", "readinessGates", Zero::Null),
    ("RuntimeClassName", "runtimeClassName", Zero::Null),
    ("Overhead", "overhead", Zero::Null),
    ("EnableServiceLinks", "enableServiceLinks", Zero::Null),
    (
        "TopologySpreadConstraints",
        "topologySpreadConstraints",
        Zero::Null,
    ),
    ("OS", "os", Zero::Null),
    ("SchedulingGates", "schedulingGates", Zero::Null),
    ("ResourceClaims", "resourceClaims", Zero::Null),
    ("Resources", "resources", Zero::Null),
    ("HostnameOverride", "hostnameOverride", Zero::Null),
    ("SchedulingGroup", "schedulingGroup", Zero::Null),
];

const CONTAINER: &[Field] = &[
    ("Name", "name", Zero::Empty),
    ("Image", "image", Zero::Empty),
    ("Command", "command", Zero::Null),
    ("Args", "args", Zero::Null),
    ("WorkingDir", "workingDir", Zero::Empty),
    ("Ports", "ports", Zero::Null),
    ("EnvFrom", "envFrom", Zero::Null),
    ("Env", "env", Zero::Null),
    ("Resources", "resources", Zero::Null),
    ("ResizePolicy", "resizePolicy", Zero::Null),
    ("RestartPolicy", "restartPolicy", Zero::Null),
    ("RestartPolicyRules", "restartPolicyRules", Zero::Null),
    ("VolumeMounts", "volumeMounts", Zero::Null),
    ("VolumeDevices", "volumeDevices", Zero::Null),
    ("LivenessProbe", "livenessProbe", Zero::Null),
    ("ReadinessProbe", "readinessProbe", Zero::Null),
    ("StartupProbe", "startupProbe", Zero::Null),
    ("Lifecycle", "lifecycle", Zero::Null),
    (
        "TerminationMessagePath",
        "terminationMessagePath",
        Zero::Empty,
    ),
    (
        "TerminationMessagePolicy",
        "terminationMessagePolicy",
        Zero::Empty,
    ),
    ("ImagePullPolicy", "imagePullPolicy", Zero::Empty),
    ("SecurityContext", "securityContext", Zero::Null),
    ("Stdin", "stdin", Zero::False),
    ("StdinOnce", "stdinOnce", Zero::False),
    ("TTY", "tty", Zero::False),
];

const RESOURCES: &[Field] = &[
    ("Limits", "limits", Zero::Null),
    ("Requests", "requests", Zero::Null),
    ("Claims", "claims", Zero::Null),
];

/// The internal PodSecurityContext also holds the pod's host namespaces, which the versioned
/// API keeps on the PodSpec.
const POD_SECURITY_CONTEXT: &[Field] = &[
    ("HostNetwork", "hostNetwork", Zero::False),
    ("HostPID", "hostPID", Zero::False),
    ("HostIPC", "hostIPC", Zero::False),
    ("ShareProcessNamespace", "shareProcessNamespace", Zero::Null),
    ("HostUsers", "hostUsers", Zero::Null),
    ("SELinuxOptions", "seLinuxOptions", Zero::Null),
    ("WindowsOptions", "windowsOptions", Zero::Null),
    ("RunAsUser", "runAsUser", Zero::Null),
    ("RunAsGroup", "runAsGroup", Zero::Null),
    ("RunAsNonRoot", "runAsNonRoot", Zero::Null),
    ("SupplementalGroups", "supplementalGroups", Zero::Null),
    (
        "SupplementalGroupsPolicy",
        "supplementalGroupsPolicy",
        Zero::Null,
    ),
    ("FSGroup", "fsGroup", Zero::Null),
    ("FSGroupChangePolicy", "fsGroupChangePolicy", Zero::Null),
    ("Sysctls", "sysctls", Zero::Null),
    ("SeccompProfile", "seccompProfile", Zero::Null),
    ("AppArmorProfile", "appArmorProfile", Zero::Null),
    ("SELinuxChangePolicy", "seLinuxChangePolicy", Zero::Null),
];

fn zero(z: Zero) -> Value {
    match z {
        Zero::Null => Value::Null,
        Zero::Empty => json!(""),
        Zero::False => json!(false),
        Zero::Int => json!(0),
    }
}

fn layout(fields: &[Field], value: &Value, nested: impl Fn(&str, &Value) -> Value) -> Value {
    let mut out = Map::new();
    for (go, json_name, z) in fields {
        let rendered = match value.get(*json_name) {
            Some(v) if !v.is_null() => nested(go, v),
            _ => zero(*z),
        };
        out.insert((*go).to_string(), rendered);
    }
    Value::Object(out)
}

fn container(value: &Value) -> Value {
    layout(CONTAINER, value, |go, v| match go {
        "Resources" => layout(RESOURCES, v, |_, x| x.clone()),
        _ => v.clone(),
    })
}

fn pod_spec(spec: &Value) -> Value {
    layout(POD_SPEC, spec, |go, v| match go {
        "Containers" | "InitContainers" => Value::Array(
            v.as_array()
                .map(|items| items.iter().map(container).collect())
                .unwrap_or_default(),
        ),
        "SecurityContext" => {
            let mut merged = v.clone();
            if let Some(map) = merged.as_object_mut() {
                for key in ["hostNetwork", "hostPID", "hostIPC"] {
                    if let Some(x) = spec.get(key) {
                        map.insert(key.into(), x.clone());
                    }
                }
            }
            layout(POD_SECURITY_CONTEXT, &merged, |_, x| x.clone())
        }
        "Resources" => layout(RESOURCES, v, |_, x| x.clone()),
        _ => v.clone(),
    })
}

/// The internal `PodTemplateSpec` of a versioned template, as Go prints it.
pub(crate) fn pod_template(template: &Value) -> String {
    let mut out = Map::new();
    if let Some(meta) = template.get("metadata").and_then(Value::as_object) {
        for key in ["name", "generateName", "namespace", "labels", "annotations"] {
            if let Some(v) = meta.get(key) {
                let v = match v {
                    // Go maps print with sorted keys.
                    Value::Object(m) => {
                        let mut sorted: Vec<(&String, &Value)> = m.iter().collect();
                        sorted.sort_by(|a, b| a.0.cmp(b.0));
                        Value::Object(
                            sorted
                                .into_iter()
                                .map(|(k, v)| (k.clone(), v.clone()))
                                .collect(),
                        )
                    }
                    other => other.clone(),
                };
                out.insert(key.into(), v);
            }
        }
    }
    out.insert(
        "Spec".into(),
        pod_spec(template.get("spec").unwrap_or(&Value::Null)),
    );
    Value::Object(out).to_string()
}

/// The internal `PersistentVolumeSource`: one pointer per volume type, in declaration order.
const PERSISTENT_VOLUME_SOURCE: &[(Field, &[Field])] = &[
    (
        ("GCEPersistentDisk", "gcePersistentDisk", Zero::Null),
        GCE_PERSISTENT_DISK_VOLUME_SOURCE,
    ),
    (
        ("AWSElasticBlockStore", "awsElasticBlockStore", Zero::Null),
        AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE,
    ),
    (
        ("HostPath", "hostPath", Zero::Null),
        HOST_PATH_VOLUME_SOURCE,
    ),
    (
        ("Glusterfs", "glusterfs", Zero::Null),
        GLUSTERFS_PERSISTENT_VOLUME_SOURCE,
    ),
    (("NFS", "nfs", Zero::Null), NFS_VOLUME_SOURCE),
    (("RBD", "rbd", Zero::Null), RBD_PERSISTENT_VOLUME_SOURCE),
    (("Quobyte", "quobyte", Zero::Null), QUOBYTE_VOLUME_SOURCE),
    (
        ("ISCSI", "iscsi", Zero::Null),
        ISCSI_PERSISTENT_VOLUME_SOURCE,
    ),
    (
        ("FlexVolume", "flexVolume", Zero::Null),
        FLEX_PERSISTENT_VOLUME_SOURCE,
    ),
    (
        ("Cinder", "cinder", Zero::Null),
        CINDER_PERSISTENT_VOLUME_SOURCE,
    ),
    (
        ("CephFS", "cephfs", Zero::Null),
        CEPH_FS_PERSISTENT_VOLUME_SOURCE,
    ),
    (("FC", "fc", Zero::Null), FC_VOLUME_SOURCE),
    (("Flocker", "flocker", Zero::Null), FLOCKER_VOLUME_SOURCE),
    (
        ("AzureFile", "azureFile", Zero::Null),
        AZURE_FILE_PERSISTENT_VOLUME_SOURCE,
    ),
    (
        ("VsphereVolume", "vsphereVolume", Zero::Null),
        VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE,
    ),
    (
        ("AzureDisk", "azureDisk", Zero::Null),
        AZURE_DISK_VOLUME_SOURCE,
    ),
    (
        ("PhotonPersistentDisk", "photonPersistentDisk", Zero::Null),
        PHOTON_PERSISTENT_DISK_VOLUME_SOURCE,
    ),
    (
        ("PortworxVolume", "portworxVolume", Zero::Null),
        PORTWORX_VOLUME_SOURCE,
    ),
    (
        ("ScaleIO", "scaleIO", Zero::Null),
        SCALE_IO_PERSISTENT_VOLUME_SOURCE,
    ),
    (("Local", "local", Zero::Null), LOCAL_VOLUME_SOURCE),
    (
        ("StorageOS", "storageos", Zero::Null),
        STORAGE_OS_PERSISTENT_VOLUME_SOURCE,
    ),
    (("CSI", "csi", Zero::Null), CSI_PERSISTENT_VOLUME_SOURCE),
];

const GCE_PERSISTENT_DISK_VOLUME_SOURCE: &[Field] = &[
    ("PDName", "pdName", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("Partition", "partition", Zero::Int),
    ("ReadOnly", "readOnly", Zero::False),
];

const AWS_ELASTIC_BLOCK_STORE_VOLUME_SOURCE: &[Field] = &[
    ("VolumeID", "volumeID", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("Partition", "partition", Zero::Int),
    ("ReadOnly", "readOnly", Zero::False),
];

const HOST_PATH_VOLUME_SOURCE: &[Field] =
    &[("Path", "path", Zero::Empty), ("Type", "type", Zero::Null)];

const GLUSTERFS_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("EndpointsName", "endpoints", Zero::Empty),
    ("Path", "path", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("EndpointsNamespace", "endpointsNamespace", Zero::Null),
];

const NFS_VOLUME_SOURCE: &[Field] = &[
    ("Server", "server", Zero::Empty),
    ("Path", "path", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
];

const RBD_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("CephMonitors", "monitors", Zero::Null),
    ("RBDImage", "image", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("RBDPool", "pool", Zero::Empty),
    ("RadosUser", "user", Zero::Empty),
    ("Keyring", "keyring", Zero::Empty),
    ("SecretRef", "secretRef", Zero::Null),
    ("ReadOnly", "readOnly", Zero::False),
];

const QUOBYTE_VOLUME_SOURCE: &[Field] = &[
    ("Registry", "registry", Zero::Empty),
    ("Volume", "volume", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("User", "user", Zero::Empty),
    ("Group", "group", Zero::Empty),
    ("Tenant", "tenant", Zero::Empty),
];

const ISCSI_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("TargetPortal", "targetPortal", Zero::Empty),
    ("IQN", "iqn", Zero::Empty),
    ("Lun", "lun", Zero::Int),
    ("ISCSIInterface", "iscsiInterface", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("Portals", "portals", Zero::Null),
    ("DiscoveryCHAPAuth", "chapAuthDiscovery", Zero::False),
    ("SessionCHAPAuth", "chapAuthSession", Zero::False),
    ("SecretRef", "secretRef", Zero::Null),
    ("InitiatorName", "initiatorName", Zero::Null),
];

const FLEX_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("Driver", "driver", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("SecretRef", "secretRef", Zero::Null),
    ("ReadOnly", "readOnly", Zero::False),
    ("Options", "options", Zero::Null),
];

const CINDER_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("VolumeID", "volumeID", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("SecretRef", "secretRef", Zero::Null),
];

const CEPH_FS_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("Monitors", "monitors", Zero::Null),
    ("Path", "path", Zero::Empty),
    ("User", "user", Zero::Empty),
    ("SecretFile", "secretFile", Zero::Empty),
    ("SecretRef", "secretRef", Zero::Null),
    ("ReadOnly", "readOnly", Zero::False),
];

const FC_VOLUME_SOURCE: &[Field] = &[
    ("TargetWWNs", "targetWWNs", Zero::Null),
    ("Lun", "lun", Zero::Null),
    ("FSType", "fsType", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("WWIDs", "wwids", Zero::Null),
];

const FLOCKER_VOLUME_SOURCE: &[Field] = &[
    ("DatasetName", "datasetName", Zero::Empty),
    ("DatasetUUID", "datasetUUID", Zero::Empty),
];

const AZURE_FILE_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("SecretName", "secretName", Zero::Empty),
    ("ShareName", "shareName", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("SecretNamespace", "secretNamespace", Zero::Null),
];

const VSPHERE_VIRTUAL_DISK_VOLUME_SOURCE: &[Field] = &[
    ("VolumePath", "volumePath", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("StoragePolicyName", "storagePolicyName", Zero::Empty),
    ("StoragePolicyID", "storagePolicyID", Zero::Empty),
];

const AZURE_DISK_VOLUME_SOURCE: &[Field] = &[
    ("DiskName", "diskName", Zero::Empty),
    ("DataDiskURI", "diskURI", Zero::Empty),
    ("CachingMode", "cachingMode", Zero::Null),
    ("FSType", "fsType", Zero::Null),
    ("ReadOnly", "readOnly", Zero::Null),
    ("Kind", "kind", Zero::Null),
];

const PHOTON_PERSISTENT_DISK_VOLUME_SOURCE: &[Field] = &[
    ("PdID", "pdID", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
];

const PORTWORX_VOLUME_SOURCE: &[Field] = &[
    ("VolumeID", "volumeID", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
];

const SCALE_IO_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("Gateway", "gateway", Zero::Empty),
    ("System", "system", Zero::Empty),
    ("SecretRef", "secretRef", Zero::Null),
    ("SSLEnabled", "sslEnabled", Zero::False),
    ("ProtectionDomain", "protectionDomain", Zero::Empty),
    ("StoragePool", "storagePool", Zero::Empty),
    ("StorageMode", "storageMode", Zero::Empty),
    ("VolumeName", "volumeName", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
];

const LOCAL_VOLUME_SOURCE: &[Field] = &[
    ("Path", "path", Zero::Empty),
    ("FSType", "fsType", Zero::Null),
];

const STORAGE_OS_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("VolumeName", "volumeName", Zero::Empty),
    ("VolumeNamespace", "volumeNamespace", Zero::Empty),
    ("FSType", "fsType", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("SecretRef", "secretRef", Zero::Null),
];

const CSI_PERSISTENT_VOLUME_SOURCE: &[Field] = &[
    ("Driver", "driver", Zero::Empty),
    ("VolumeHandle", "volumeHandle", Zero::Empty),
    ("ReadOnly", "readOnly", Zero::False),
    ("FSType", "fsType", Zero::Empty),
    ("VolumeAttributes", "volumeAttributes", Zero::Null),
    (
        "ControllerPublishSecretRef",
        "controllerPublishSecretRef",
        Zero::Null,
    ),
    ("NodeStageSecretRef", "nodeStageSecretRef", Zero::Null),
    ("NodePublishSecretRef", "nodePublishSecretRef", Zero::Null),
    (
        "ControllerExpandSecretRef",
        "controllerExpandSecretRef",
        Zero::Null,
    ),
    ("NodeExpandSecretRef", "nodeExpandSecretRef", Zero::Null),
];

const SECRET_REFERENCE: &[Field] = &[
    ("Name", "name", Zero::Empty),
    ("Namespace", "namespace", Zero::Empty),
];

const OBJECT_REFERENCE: &[Field] = &[
    ("Kind", "kind", Zero::Empty),
    ("Namespace", "namespace", Zero::Empty),
    ("Name", "name", Zero::Empty),
    ("UID", "uid", Zero::Empty),
    ("APIVersion", "apiVersion", Zero::Empty),
    ("ResourceVersion", "resourceVersion", Zero::Empty),
    ("FieldPath", "fieldPath", Zero::Empty),
];

const PERSISTENT_VOLUME_CLAIM_SPEC: &[Field] = &[
    ("AccessModes", "accessModes", Zero::Null),
    ("Selector", "selector", Zero::Null),
    ("Resources", "resources", Zero::Empty),
    ("VolumeName", "volumeName", Zero::Empty),
    ("StorageClassName", "storageClassName", Zero::Null),
    ("VolumeMode", "volumeMode", Zero::Null),
    ("DataSource", "dataSource", Zero::Null),
    ("DataSourceRef", "dataSourceRef", Zero::Null),
    (
        "VolumeAttributesClassName",
        "volumeAttributesClassName",
        Zero::Null,
    ),
];

const VOLUME_RESOURCE_REQUIREMENTS: &[Field] = &[
    ("Limits", "limits", Zero::Null),
    ("Requests", "requests", Zero::Null),
];

const TYPED_LOCAL_OBJECT_REFERENCE: &[Field] = &[
    ("APIGroup", "apiGroup", Zero::Null),
    ("Kind", "kind", Zero::Empty),
    ("Name", "name", Zero::Empty),
];

const TYPED_OBJECT_REFERENCE: &[Field] = &[
    ("APIGroup", "apiGroup", Zero::Null),
    ("Kind", "kind", Zero::Empty),
    ("Name", "name", Zero::Empty),
    ("Namespace", "namespace", Zero::Null),
];

/// A free-form value as Go prints it: maps with their keys sorted.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The internal `PersistentVolumeClaimSpec` of a versioned claim spec.
pub(crate) fn claim_spec(spec: &Value) -> Value {
    let mut out = layout(PERSISTENT_VOLUME_CLAIM_SPEC, spec, |go, v| match go {
        "Resources" => layout(VOLUME_RESOURCE_REQUIREMENTS, v, |_, x| sorted(x)),
        "DataSource" => layout(TYPED_LOCAL_OBJECT_REFERENCE, v, |_, x| x.clone()),
        "DataSourceRef" => layout(TYPED_OBJECT_REFERENCE, v, |_, x| x.clone()),
        _ => sorted(v),
    });
    // Resources is a struct, not a pointer: unset, it prints its own zero fields.
    if let Some(map) = out.as_object_mut()
        && map.get("Resources").is_some_and(Value::is_null)
    {
        map.insert(
            "Resources".into(),
            layout(VOLUME_RESOURCE_REQUIREMENTS, &json!({}), |_, x| x.clone()),
        );
    }
    out
}

/// The internal `PersistentVolumeSource` of a versioned volume spec (whose volume source
/// fields are inlined into the spec).
pub(crate) fn volume_source(spec: &Value) -> Value {
    let mut out = Map::new();
    for ((go, json_name, _), fields) in PERSISTENT_VOLUME_SOURCE {
        let rendered = match spec.get(*json_name) {
            Some(v) if !v.is_null() => layout(fields, v, |field, x| match field {
                "SecretRef" if *go == "StorageOS" => layout(OBJECT_REFERENCE, x, |_, y| y.clone()),
                f if f.ends_with("SecretRef") => layout(SECRET_REFERENCE, x, |_, y| y.clone()),
                _ => sorted(x),
            }),
            _ => Value::Null,
        };
        out.insert((*go).to_string(), rendered);
    }
    Value::Object(out)
}
