//! Go's rendering of internal (unversioned) objects, which some validation messages print as
//! the invalid value: the immutable-template error of a Job prints the internal
//! `PodTemplateSpec`, with Go field names in declaration order and zero values spelled out.
//!
//! Only the shapes those messages need are laid out here; nested values without a layout are
//! printed as their JSON.

use serde_json::{Map, Value, json};

/// How a field's zero value prints.
#[derive(Clone, Copy)]
enum Zero {
    Null,
    Empty,
    False,
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
