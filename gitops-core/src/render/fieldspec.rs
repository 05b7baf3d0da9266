//! Field specifications: where, in which kinds, a transformer looks for a field, as
//! kustomize's built-in configuration lists them (`spec/template/metadata/labels` for a
//! Deployment...). A path walks through lists implicitly.

use serde_json::{Map, Value};

use super::resource::Resource;

/// A field in objects of some kinds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldSpec {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub path: &'static str,
    pub create: bool,
}

const fn fs(
    group: &'static str,
    kind: &'static str,
    path: &'static str,
    create: bool,
) -> FieldSpec {
    FieldSpec {
        group,
        version: "",
        kind,
        path,
        create,
    }
}

impl FieldSpec {
    pub(crate) fn applies_to(&self, r: &Resource) -> bool {
        (self.group.is_empty() || self.group == r.group())
            && (self.version.is_empty() || self.version == r.version())
            && (self.kind.is_empty() || self.kind == r.kind())
    }
}

/// A field specification read from a file (a plugin's `fieldSpecs`, `labels[].fields`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Spec {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub path: String,
    pub create: bool,
}

/// What a transformer needs of a field specification, built in or read from a file.
pub(crate) trait Applies {
    fn applies_to(&self, r: &Resource) -> bool;
    fn path(&self) -> &str;
    fn create(&self) -> bool;
}

impl Applies for FieldSpec {
    fn applies_to(&self, r: &Resource) -> bool {
        FieldSpec::applies_to(self, r)
    }
    fn path(&self) -> &str {
        self.path
    }
    fn create(&self) -> bool {
        self.create
    }
}

impl Applies for Spec {
    fn applies_to(&self, r: &Resource) -> bool {
        (self.group.is_empty() || self.group == r.group())
            && (self.version.is_empty() || self.version == r.version())
            && (self.kind.is_empty() || self.kind == r.kind())
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn create(&self) -> bool {
        self.create
    }
}

impl From<&FieldSpec> for Spec {
    fn from(s: &FieldSpec) -> Self {
        Spec {
            group: s.group.into(),
            version: s.version.into(),
            kind: s.kind.into(),
            path: s.path.into(),
            create: s.create,
        }
    }
}

/// Calls `f` with the map at `path` of `value` (every one, when the path crosses lists),
/// creating missing maps when `create` is set.
pub(crate) fn visit_maps(
    value: &mut Value,
    path: &[&str],
    create: bool,
    f: &mut dyn FnMut(&mut Map<String, Value>),
) {
    match value {
        Value::Array(items) => {
            for item in items {
                visit_maps(item, path, create, f);
            }
        }
        Value::Object(map) => {
            let Some((first, rest)) = path.split_first() else {
                f(map);
                return;
            };
            let key = first.trim_end_matches("[]");
            if !map.contains_key(key) {
                if !create || first.ends_with("[]") {
                    return;
                }
                map.insert(key.to_string(), Value::Object(Map::new()));
            }
            if let Some(next) = map.get_mut(key) {
                if next.is_null() {
                    if !create {
                        return;
                    }
                    *next = Value::Object(Map::new());
                }
                visit_maps(next, rest, create, f);
            }
        }
        _ => {}
    }
}

/// Calls `f` with every value at `path` of `value`, as kustomize's field-spec filter
/// reaches a field: lists on the way are crossed implicitly, a `name[]` element names a list
/// and is never created, and with `leaf` set a missing field is created (maps on the way,
/// `leaf` itself at the end) so that transformers can add fields objects lack. A null on the
/// way is replaced by what would have been created; a scalar on the way ends the walk.
pub(crate) fn visit_fields(
    value: &mut Value,
    path: &[&str],
    leaf: Option<&Value>,
    f: &mut dyn FnMut(&mut Value),
) {
    let Some((first, rest)) = path.split_first() else {
        f(value);
        return;
    };
    match value {
        Value::Array(items) => {
            for item in items {
                visit_fields(item, path, leaf, f);
            }
        }
        Value::Object(map) => {
            let key = first.trim_end_matches("[]");
            let list = key.len() != first.len();
            let created = match leaf {
                _ if list => None,
                None => None,
                Some(l) if rest.is_empty() => Some(l.clone()),
                Some(_) => Some(Value::Object(Map::new())),
            };
            if !map.contains_key(key) {
                match &created {
                    Some(v) => {
                        map.insert(key.to_string(), v.clone());
                    }
                    None => return,
                }
            }
            let Some(next) = map.get_mut(key) else {
                return;
            };
            if next.is_null() {
                if list {
                    *next = Value::Array(Vec::new());
                } else if let Some(v) = created {
                    *next = v;
                } else if !rest.is_empty() {
                    return;
                }
            }
            visit_fields(next, rest, leaf, f);
        }
        _ => {}
    }
}

/// Splits a field-spec path at its slashes; a slash inside `[...]` (a list selector) does not
/// split, and a leading slash is dropped, as kustomize's path splitter drops it
/// (`/spec/replicas` is `spec/replicas`).
pub(crate) fn split_path(path: &str) -> Vec<&str> {
    let path = match path.strip_prefix('/') {
        Some(rest) if !rest.is_empty() => rest,
        _ => path,
    };
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in path.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

/// A transformer's field specifications as kustomize merges them: its built-in ones and
/// those `configurations` add, each list sorted by kind (kustomize's legacy kind order,
/// then group, version and kind) and merged into the last, where a specification is
/// dropped when an earlier one with the same path selects its kinds. So a `metadata/name`
/// for one kind, sorted before the built-in one for every kind, replaces it. A
/// specification given with and without `create` fails, as in kustomize.
pub(crate) fn merged(defaults: &[FieldSpec], extras: &[Spec]) -> Result<Vec<Spec>, String> {
    if extras.is_empty() {
        return Ok(defaults.iter().map(Spec::from).collect());
    }
    let sort = |mut v: Vec<Spec>| {
        v.sort_by_key(|s| (super::order::kind_rank(&s.kind), stable_gvk(s)));
        v
    };
    let t1 = sort(defaults.iter().map(Spec::from).collect());
    let t2 = merge_all(Vec::new(), sort(extras.to_vec()))?;
    let merged = sort(merge_all(t1, t2)?);
    Ok(sort(merge_all(Vec::new(), merged)?))
}

fn merge_all(mut into: Vec<Spec>, incoming: Vec<Spec>) -> Result<Vec<Spec>, String> {
    for x in incoming {
        let selects = |e: &Spec| {
            (x.group.is_empty() || e.group == x.group)
                && (x.version.is_empty() || e.version == x.version)
                && (x.kind.is_empty() || e.kind == x.kind)
                && e.path == x.path
        };
        match into.iter().find(|e| selects(e)) {
            Some(e) if e.create != x.create => {
                return Err(format!(
                    "the field specification '{}' of kind '{}' is given both with and without create",
                    x.path, x.kind
                ));
            }
            Some(_) => {}
            None => into.push(x),
        }
    }
    Ok(into)
}

/// kustomize's stable sort string of a field specification's kinds.
fn stable_gvk(s: &Spec) -> String {
    let or = |v: &str, d: &str| {
        if v.is_empty() {
            d.to_string()
        } else {
            v.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&s.group, "~G"),
        or(&s.version, "~V"),
        or(&s.kind, "~K")
    )
}

/// Where `namePrefix` and `nameSuffix` go (kustomize's `namePrefix`/`nameSuffix`
/// configuration).
pub(crate) const NAME: &[FieldSpec] = &[fs("", "", "metadata/name", false)];

/// Where `namespace` goes besides every namespaced object's `metadata/namespace`
/// (kustomize's `namespace` configuration): a Namespace object is renamed, API services and
/// CRD conversion webhooks name their service's namespace.
pub(crate) const NAMESPACE: &[FieldSpec] = &[
    fs("", "Namespace", "metadata/name", true),
    fs(
        "apiregistration.k8s.io",
        "APIService",
        "spec/service/namespace",
        true,
    ),
    fs(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        "spec/conversion/webhook/clientConfig/service/namespace",
        false,
    ),
];

/// Where `images` go besides the containers found anywhere in an object (kustomize's
/// `images` configuration): an image at these paths is updated a second time.
pub(crate) const IMAGES: &[FieldSpec] = &[
    fs("", "", "spec/containers[]/image", true),
    fs("", "", "spec/initContainers[]/image", true),
    fs("", "", "spec/template/spec/containers[]/image", true),
    fs("", "", "spec/template/spec/initContainers[]/image", true),
];

/// Where commonLabels go (kustomize's `commonLabels` configuration).
pub(crate) const LABELS: &[FieldSpec] = &[
    fs("", "", "metadata/labels", true),
    FieldSpec {
        group: "",
        version: "v1",
        kind: "ReplicationController",
        path: "spec/selector",
        create: true,
    },
    FieldSpec {
        group: "",
        version: "v1",
        kind: "ReplicationController",
        path: "spec/template/metadata/labels",
        create: true,
    },
    fs("", "Deployment", "spec/selector/matchLabels", true),
    fs("", "Deployment", "spec/template/metadata/labels", true),
    fs(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "Deployment",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "Deployment",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        false,
    ),
    fs("", "ReplicaSet", "spec/selector/matchLabels", true),
    fs("", "ReplicaSet", "spec/template/metadata/labels", true),
    fs("", "DaemonSet", "spec/selector/matchLabels", true),
    fs("", "DaemonSet", "spec/template/metadata/labels", true),
    fs("apps", "StatefulSet", "spec/selector/matchLabels", true),
    fs("apps", "StatefulSet", "spec/template/metadata/labels", true),
    fs(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "StatefulSet",
        "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "StatefulSet",
        "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
        false,
    ),
    fs(
        "apps",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ),
    fs("batch", "Job", "spec/selector/matchLabels", false),
    fs("batch", "Job", "spec/template/metadata/labels", true),
    fs(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/selector/matchLabels",
        false,
    ),
    fs("batch", "CronJob", "spec/jobTemplate/metadata/labels", true),
    fs(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
    FieldSpec {
        group: "",
        version: "v1",
        kind: "Service",
        path: "spec/selector",
        create: true,
    },
    fs(
        "policy",
        "PodDisruptionBudget",
        "spec/selector/matchLabels",
        false,
    ),
    fs(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/podSelector/matchLabels",
        false,
    ),
    fs(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/ingress/from/podSelector/matchLabels",
        false,
    ),
    fs(
        "networking.k8s.io",
        "NetworkPolicy",
        "spec/egress/to/podSelector/matchLabels",
        false,
    ),
];

/// Where `labels` with `includeTemplates` (and without `includeSelectors`) go.
pub(crate) const TEMPLATE_LABELS: &[FieldSpec] = &[
    fs("", "", "metadata/labels", true),
    FieldSpec {
        group: "",
        version: "v1",
        kind: "ReplicationController",
        path: "spec/template/metadata/labels",
        create: true,
    },
    fs("", "Deployment", "spec/template/metadata/labels", true),
    fs("", "ReplicaSet", "spec/template/metadata/labels", true),
    fs("", "DaemonSet", "spec/template/metadata/labels", true),
    fs("apps", "StatefulSet", "spec/template/metadata/labels", true),
    fs(
        "apps",
        "StatefulSet",
        "spec/volumeClaimTemplates[]/metadata/labels",
        true,
    ),
    fs("batch", "Job", "spec/template/metadata/labels", true),
    fs("batch", "CronJob", "spec/jobTemplate/metadata/labels", true),
    fs(
        "batch",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/labels",
        true,
    ),
];

/// Where only metadata labels go.
pub(crate) const METADATA_LABELS: &[FieldSpec] = &[fs("", "", "metadata/labels", true)];

/// Where commonAnnotations go.
pub(crate) const ANNOTATIONS: &[FieldSpec] = &[
    fs("", "", "metadata/annotations", true),
    FieldSpec {
        group: "",
        version: "v1",
        kind: "ReplicationController",
        path: "spec/template/metadata/annotations",
        create: true,
    },
    fs("", "Deployment", "spec/template/metadata/annotations", true),
    fs("", "ReplicaSet", "spec/template/metadata/annotations", true),
    fs("", "DaemonSet", "spec/template/metadata/annotations", true),
    fs(
        "",
        "StatefulSet",
        "spec/template/metadata/annotations",
        true,
    ),
    fs("", "Job", "spec/template/metadata/annotations", true),
    fs("", "CronJob", "spec/jobTemplate/metadata/annotations", true),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/metadata/annotations",
        true,
    ),
];

/// Where `replicas` go.
pub(crate) const REPLICAS: &[FieldSpec] = &[
    fs("", "Deployment", "spec/replicas", true),
    fs("", "ReplicationController", "spec/replicas", true),
    fs("", "ReplicaSet", "spec/replicas", true),
    fs("", "StatefulSet", "spec/replicas", true),
];

/// Where `vars` are replaced (kustomize's `varReference` configuration), in its order. The
/// CronJob volume path lacks a `spec` as kustomize's does.
pub(crate) const VAR_REFERENCE: &[FieldSpec] = &[
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/args",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/command",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/env/value",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/args",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/command",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/env/value",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "CronJob",
        "spec/jobTemplate/spec/template/volumes/nfs/server",
        false,
    ),
    fs("", "DaemonSet", "spec/template/spec/containers/args", false),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/containers/command",
        false,
    ),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/containers/env/value",
        false,
    ),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/args",
        false,
    ),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/command",
        false,
    ),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "DaemonSet",
        "spec/template/spec/volumes/nfs/server",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/containers/args",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/containers/command",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/containers/env/value",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/initContainers/args",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/initContainers/command",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/spec/volumes/nfs/server",
        false,
    ),
    fs(
        "",
        "Deployment",
        "spec/template/metadata/annotations",
        false,
    ),
    fs("", "Ingress", "spec/rules/host", false),
    fs("", "Ingress", "spec/tls/hosts", false),
    fs("", "Ingress", "spec/tls/secretName", false),
    fs("", "Job", "spec/template/spec/containers/args", false),
    fs("", "Job", "spec/template/spec/containers/command", false),
    fs("", "Job", "spec/template/spec/containers/env/value", false),
    fs(
        "",
        "Job",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    fs("", "Job", "spec/template/spec/initContainers/args", false),
    fs(
        "",
        "Job",
        "spec/template/spec/initContainers/command",
        false,
    ),
    fs(
        "",
        "Job",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    fs(
        "",
        "Job",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    fs("", "Job", "spec/template/spec/volumes/nfs/server", false),
    fs("", "Pod", "spec/containers/args", false),
    fs("", "Pod", "spec/containers/command", false),
    fs("", "Pod", "spec/containers/env/value", false),
    fs("", "Pod", "spec/containers/volumeMounts/mountPath", false),
    fs("", "Pod", "spec/initContainers/args", false),
    fs("", "Pod", "spec/initContainers/command", false),
    fs("", "Pod", "spec/initContainers/env/value", false),
    fs(
        "",
        "Pod",
        "spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    fs("", "Pod", "spec/volumes/nfs/server", false),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/containers/args",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/containers/command",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/containers/env/value",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/args",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/command",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "ReplicaSet",
        "spec/template/spec/volumes/nfs/server",
        false,
    ),
    fs("", "Service", "spec/ports/port", false),
    fs("", "Service", "spec/ports/targetPort", false),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/containers/args",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/containers/command",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/containers/env/value",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/containers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/args",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/command",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/env/value",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/template/spec/initContainers/volumeMounts/mountPath",
        false,
    ),
    fs(
        "",
        "StatefulSet",
        "spec/volumeClaimTemplates/spec/nfs/server",
        false,
    ),
    fs("", "PersistentVolume", "spec/nfs/server", false),
    fs("", "", "metadata/labels", false),
    fs("", "", "metadata/annotations", false),
];
