//! Name references: after prefixes, suffixes and hashes changed names, every field that
//! refers to an object of the build by its old name is rewritten to the new one (a
//! Deployment's ConfigMap volume, an Ingress's Service backend, a RoleBinding's Role...).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::fieldspec::{Applies, Spec, visit_maps};
use super::resource::Resource;
use crate::Error;

/// A field of a referrer naming an object of `group`/`kind`.
struct Rule {
    group: &'static str,
    kind: &'static str,
    path: &'static str,
}

const fn rule(group: &'static str, kind: &'static str, path: &'static str) -> Rule {
    Rule { group, kind, path }
}

/// References inside a pod spec.
const POD_SPEC: &[Rule] = &[
    rule("", "ConfigMap", "volumes/configMap/name"),
    rule("", "ConfigMap", "volumes/projected/sources/configMap/name"),
    rule(
        "",
        "ConfigMap",
        "containers/env/valueFrom/configMapKeyRef/name",
    ),
    rule(
        "",
        "ConfigMap",
        "initContainers/env/valueFrom/configMapKeyRef/name",
    ),
    rule("", "ConfigMap", "containers/envFrom/configMapRef/name"),
    rule("", "ConfigMap", "initContainers/envFrom/configMapRef/name"),
    rule("", "Secret", "volumes/secret/secretName"),
    rule("", "Secret", "volumes/projected/sources/secret/name"),
    rule("", "Secret", "containers/env/valueFrom/secretKeyRef/name"),
    rule(
        "",
        "Secret",
        "initContainers/env/valueFrom/secretKeyRef/name",
    ),
    rule("", "Secret", "containers/envFrom/secretRef/name"),
    rule("", "Secret", "initContainers/envFrom/secretRef/name"),
    rule("", "Secret", "imagePullSecrets/name"),
    rule("", "ServiceAccount", "serviceAccountName"),
    rule(
        "",
        "PersistentVolumeClaim",
        "volumes/persistentVolumeClaim/claimName",
    ),
    rule("scheduling.k8s.io", "PriorityClass", "priorityClassName"),
];

/// Where a kind keeps its pod spec.
///
/// kustomize's name reference configuration selects the workloads by kind alone, whatever
/// their group and version, and pods by kind and version `v1`.
fn pod_spec_path(version: &str, kind: &str) -> Option<&'static str> {
    match (version, kind) {
        ("v1", "Pod") => Some("spec"),
        (_, "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet" | "Job")
        | (_, "ReplicationController") => Some("spec/template/spec"),
        (_, "CronJob") => Some("spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

/// A field path split at `/`, where `\/` is a `/` inside a key (an annotation's).
fn split_path(path: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                chars.next();
                if let Some(p) = parts.last_mut() {
                    p.push('/');
                }
            }
            '/' => parts.push(String::new()),
            c => {
                if let Some(p) = parts.last_mut() {
                    p.push(c);
                }
            }
        }
    }
    parts
}

const INGRESS: &[Rule] = &[
    rule(
        "",
        "ConfigMap",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/fastcgi-params-configmap",
    ),
    rule(
        "",
        "Secret",
        "metadata/annotations/ingress.kubernetes.io\\/auth-secret",
    ),
    rule(
        "",
        "Secret",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret",
    ),
    rule(
        "",
        "Secret",
        "metadata/annotations/nginx.ingress.kubernetes.io\\/auth-tls-secret",
    ),
    rule("", "Service", "spec/rules/http/paths/backend/serviceName"),
    rule("", "Service", "spec/backend/serviceName"),
    rule("", "Service", "spec/rules/http/paths/backend/service/name"),
    rule("", "Service", "spec/defaultBackend/service/name"),
    rule("", "Secret", "spec/tls/secretName"),
];
// Names a Role or ClusterRole grants access to.
const ROLE: &[Rule] = &[
    rule("", "ConfigMap", "rules/resourceNames"),
    rule("", "Secret", "rules/resourceNames"),
];
const STATEFUL_SET: &[Rule] = &[rule("", "Service", "spec/serviceName")];
// kustomize leaves a ServiceAccount's `secrets` alone.
const SERVICE_ACCOUNT: &[Rule] = &[rule("", "Secret", "imagePullSecrets/name")];
const CLAIM: &[Rule] = &[
    rule("", "PersistentVolume", "spec/volumeName"),
    rule("storage.k8s.io", "StorageClass", "spec/storageClassName"),
];
const VOLUME: &[Rule] = &[
    rule("storage.k8s.io", "StorageClass", "spec/storageClassName"),
    rule("", "Secret", "spec/azureFile/secretName"),
];
const STORAGE_CLASS: &[Rule] = &[
    rule("", "Secret", "parameters/secretName"),
    rule("", "Secret", "parameters/adminSecretName"),
    rule("", "Secret", "parameters/userSecretName"),
    rule("", "Secret", "parameters/secretRef"),
];
const CLUSTER_ROLE: &[Rule] = &[
    rule("", "ConfigMap", "rules/resourceNames"),
    rule("", "Secret", "rules/resourceNames"),
    rule("", "PersistentVolume", "rules/resourceNames"),
];
const POLICY_BINDING: &[Rule] = &[rule(
    "admissionregistration.k8s.io",
    "ValidatingAdmissionPolicy",
    "spec/policyName",
)];

/// Other references, by referrer group and kind.
fn other_rules(group: &str, kind: &str) -> &'static [Rule] {
    match (group, kind) {
        // kustomize selects Ingresses by kind alone (networking.k8s.io, extensions...).
        (_, "Ingress") => INGRESS,
        (_, "Role") => ROLE,
        (_, "ClusterRole") => CLUSTER_ROLE,
        (_, "StorageClass") => STORAGE_CLASS,
        (_, "ValidatingAdmissionPolicyBinding") => POLICY_BINDING,
        ("apps", "StatefulSet") => STATEFUL_SET,
        ("", "ServiceAccount") => SERVICE_ACCOUNT,
        ("", "PersistentVolumeClaim") => CLAIM,
        ("", "PersistentVolume") => VOLUME,
        _ => &[],
    }
}

/// The group of a referral that may be in any group.
const ANY_GROUP: &str = "*";

/// Rewrites every reference to a renamed object of the build.
pub(crate) fn fix(
    resources: &mut [Resource],
    extra: &[(String, String, Spec)],
) -> Result<(), Error> {
    // kustomize reads every RoleBinding's ServiceAccount subjects' namespaces before fixing
    // references, and refuses one that is present but not a string.
    for r in resources.iter().filter(|r| r.kind() == "RoleBinding") {
        let subjects = r.obj.as_map().get("subjects").and_then(Value::as_array);
        for s in subjects.into_iter().flatten().filter_map(Value::as_object) {
            if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && s.get("namespace").is_some_and(|ns| !ns.is_string())
            {
                return Err(Error::Render {
                    message: format!(
                        "{}: a ServiceAccount subject's namespace is blank",
                        r.describe()
                    ),
                });
            }
        }
    }
    // Nothing renamed is not enough to skip the pass: once the namespace transformer has
    // recorded the names, a `{name, namespace}` reference without a namespace still gets
    // its object's (and may be ambiguous).
    if resources.iter().all(|r| {
        r.previous_names.is_empty() && r.previous_namespaces.is_empty() && !r.name_recorded
    }) {
        return Ok(());
    }
    let snapshot = Index::new(resources);
    for (position, r) in resources.iter_mut().enumerate() {
        let (group, version, kind) = (
            r.group().to_string(),
            r.version().to_string(),
            r.kind().to_string(),
        );
        let referrer = Referrer {
            position,
            cluster_scoped: r.is_cluster_scoped(),
            binding_namespaces: binding_namespaces(r),
        };
        let lookup = |rg: &str, rk: &str, name: &str| -> Result<Option<(String, String)>, Error> {
            let candidates = snapshot.reachable(&referrer, rg, rk, name);
            Ok(
                select(&snapshot, &referrer, candidates.collect(), name, Same::Name)?
                    .map(|c| (c.name.clone(), c.namespace.clone())),
            )
        };
        // Fields a transformer configuration adds (`configurations`' nameReference).
        let mut rules: Vec<(String, &str, &str)> = extra
            .iter()
            .filter(|(_, _, spec)| spec.applies_to(r))
            // A configuration's referral without a group selects the kind in any group, as
            // kustomize's selection does.
            .map(|(g, k, spec)| {
                let g = if g.is_empty() { ANY_GROUP } else { g.as_str() };
                (spec.path.clone(), g, k.as_str())
            })
            .collect();
        let mut value = Value::Object(std::mem::take(r.obj.as_map_mut()));
        let mut failure = None;
        if let Some(base) = pod_spec_path(&version, &kind) {
            rules.extend(
                POD_SPEC
                    .iter()
                    .map(|rl| (format!("{base}/{}", rl.path), rl.group, rl.kind)),
            );
        }
        // kustomize follows only ConfigMaps and Secrets in a PodTemplate.
        if kind == "PodTemplate" {
            rules.extend(
                POD_SPEC
                    .iter()
                    .filter(|rl| matches!(rl.kind, "ConfigMap" | "Secret"))
                    .map(|rl| (format!("template/spec/{}", rl.path), rl.group, rl.kind)),
            );
        }
        rules.extend(
            other_rules(&group, &kind)
                .iter()
                .map(|rl| (rl.path.to_string(), rl.group, rl.kind)),
        );
        for (path, rule_group, rule_kind) in rules {
            let owned = split_path(&path);
            let parts: Vec<&str> = owned.iter().map(String::as_str).collect();
            let (last, parents) = parts.split_last().unwrap_or((&"", &[]));
            visit_maps(
                &mut value,
                parents,
                false,
                &mut |m| match m.get_mut(*last) {
                    Some(Value::String(name)) => match lookup(rule_group, rule_kind, name) {
                        Ok(Some((new, _))) => *name = new,
                        Ok(None) => {}
                        Err(e) => failure = Some(e),
                    },
                    // A list of names, such as a role's `resourceNames`.
                    Some(Value::Array(names)) => {
                        for item in names.iter_mut() {
                            if let Value::String(name) = item {
                                match lookup(rule_group, rule_kind, name) {
                                    Ok(Some((new, _))) => *name = new,
                                    Ok(None) => {}
                                    Err(e) => failure = Some(e),
                                }
                            }
                        }
                    }
                    _ => {}
                },
            );
        }
        if let Some(path) = match (group.as_str(), kind.as_str()) {
            ("autoscaling", "HorizontalPodAutoscaler") => Some("spec/scaleTargetRef"),
            _ => None,
        } {
            let parts: Vec<&str> = path.split('/').collect();
            visit_maps(&mut value, &parts, false, &mut |m| {
                let target_kind = m
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let target_group = m
                    .get("apiVersion")
                    .and_then(Value::as_str)
                    .map(|v| crate::split_api_version(v).0.to_string())
                    .unwrap_or_default();
                if let Some(Value::String(name)) = m.get("name")
                    && let Ok(Some((new, _))) = lookup(&target_group, &target_kind, name)
                {
                    m.insert("name".into(), Value::String(new));
                }
            });
        }
        if group == "rbac.authorization.k8s.io"
            && matches!(kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
        {
            visit_maps(&mut value, &["roleRef"], false, &mut |m| {
                let target_kind = m
                    .get("kind")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                if let Some(Value::String(name)) = m.get("name") {
                    match lookup("rbac.authorization.k8s.io", &target_kind, name) {
                        Ok(Some((new, _))) => {
                            m.insert("name".into(), Value::String(new));
                        }
                        Ok(None) => {}
                        Err(e) => failure = Some(in_field("roleRef", e)),
                    }
                }
            });
            // kustomize matches subjects by name whatever their kind.
            visit_maps(&mut value, &["subjects"], false, &mut |m| {
                if let Err(e) =
                    fix_name_and_namespace(m, &snapshot, &referrer, "", "ServiceAccount")
                {
                    failure = Some(in_field("subjects", e));
                }
            });
        }
        if group == "apiregistration.k8s.io" && kind == "APIService" {
            visit_maps(&mut value, &["spec", "service"], false, &mut |m| {
                if let Err(e) = fix_name_and_namespace(m, &snapshot, &referrer, "", "Service") {
                    failure = Some(in_field("spec.service", e));
                }
            });
        }
        if group == "admissionregistration.k8s.io"
            && matches!(
                kind.as_str(),
                "ValidatingWebhookConfiguration" | "MutatingWebhookConfiguration"
            )
        {
            visit_maps(
                &mut value,
                &["webhooks", "clientConfig", "service"],
                false,
                &mut |m| {
                    if let Err(e) = fix_name_and_namespace(m, &snapshot, &referrer, "", "Service") {
                        failure = Some(in_field("webhooks[].clientConfig.service", e));
                    }
                },
            );
        }
        if let Value::Object(m) = value {
            *r.obj.as_map_mut() = m;
        }
        if let Some(e) = failure {
            return Err(Error::Render {
                message: format!("{}: {}: {e}", r.origin.file, r.describe()),
            });
        }
    }
    Ok(())
}

/// An error about a reference, with the field that holds it.
fn in_field(field: &str, e: Error) -> Error {
    Error::Render {
        message: format!("field '{field}': {e}"),
    }
}

/// The roles and namespaces of a referrer that decide which objects it can refer to.
struct Referrer {
    /// The referrer's position in the build (and in the index).
    position: usize,
    cluster_scoped: bool,
    /// For a RoleBinding, the namespaces its ServiceAccount subjects name: objects there can
    /// be referred to from another namespace.
    binding_namespaces: Vec<String>,
}

/// The namespaces of the ServiceAccount subjects of a RoleBinding (kustomize looks at the
/// kind only, not the group).
fn binding_namespaces(r: &Resource) -> Vec<String> {
    if r.kind() != "RoleBinding" {
        return Vec::new();
    }
    let Some(Value::Array(subjects)) = r.obj.as_map().get("subjects") else {
        return Vec::new();
    };
    subjects
        .iter()
        .filter_map(Value::as_object)
        .filter(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
        .filter_map(|s| s.get("namespace").and_then(Value::as_str))
        .map(str::to_string)
        .collect()
}

/// Points a `{name, namespace}` reference at the current name and namespace of the object
/// of `group`/`kind` it named, when that object is in the build. With a namespace, the
/// reference names an object by the namespace it had when it entered the build.
fn fix_name_and_namespace(
    m: &mut serde_json::Map<String, Value>,
    index: &Index,
    referrer: &Referrer,
    group: &str,
    kind: &str,
) -> Result<(), Error> {
    let Some(Value::String(name)) = m.get("name") else {
        return Ok(());
    };
    // kustomize picks the objects that were in that namespace when they entered the build,
    // or, when no object it can reach was, those in it now.
    let by_original = match m.get("namespace").and_then(Value::as_str) {
        None => None,
        Some(ns) if index.reaches(referrer, ns, true) => Some((ns, true)),
        Some(ns) if index.reaches(referrer, ns, false) => Some((ns, false)),
        Some(_) => return Ok(()),
    };
    let candidates = index
        .reachable(referrer, group, kind, name)
        .filter(|c| match by_original {
            None => true,
            Some((ns, original)) => {
                let of = if original {
                    &c.original_namespace
                } else {
                    &c.namespace
                };
                !c.cluster_scoped && c.effective(of) == ns
            }
        })
        .collect();
    if let Some(c) = select(index, referrer, candidates, name, Same::NameAndNamespace)? {
        let (name, namespace) = (c.name.clone(), c.namespace.clone());
        m.insert("name".into(), Value::String(name));
        if !namespace.is_empty() {
            m.insert("namespace".into(), Value::String(namespace));
        }
    }
    Ok(())
}

/// What name references need of every object of the build, indexed by group, kind and
/// every name kustomize recorded for it.
struct Index {
    referrals: Vec<Referral>,
    by_name: HashMap<(String, String, String), Vec<usize>>,
    /// The same positions, whatever the group (for [`ANY_GROUP`]).
    by_kind_name: HashMap<(String, String), Vec<usize>>,
    /// For the namespaced objects of each current namespace (as written, `""` unset), the
    /// effective namespaces they had when they entered the build.
    originals_by_namespace: HashMap<String, HashSet<String>>,
}

struct Referral {
    kind: String,
    name: String,
    namespace: String,
    original_namespace: String,
    cluster_scoped: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Referral {
    /// The namespace `ns` stands for on this object: none if it is cluster-scoped,
    /// `default` if unset.
    fn effective<'a>(&self, ns: &'a str) -> &'a str {
        if self.cluster_scoped {
            ""
        } else if ns.is_empty() {
            "default"
        } else {
            ns
        }
    }

    /// Whether the affixes of two objects end alike; with `allow_empty`, an object without
    /// any prefix (or suffix) matches any prefixes (or suffixes).
    fn affixes_match(&self, other: &Referral, allow_empty: bool) -> bool {
        let prefixes_empty = self.prefixes.is_empty() || other.prefixes.is_empty();
        let suffixes_empty = self.suffixes.is_empty() || other.suffixes.is_empty();
        (allow_empty && prefixes_empty || same_ending(&self.prefixes, &other.prefixes))
            && (allow_empty && suffixes_empty || same_ending(&self.suffixes, &other.suffixes))
    }
}

/// Whether the shorter list is the end of the longer; an empty list ends only an empty one.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long.ends_with(short)
}

impl Index {
    fn new(resources: &[Resource]) -> Self {
        let mut by_name: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        let mut by_kind_name: HashMap<(String, String), Vec<usize>> = HashMap::new();
        let mut referrals = Vec::with_capacity(resources.len());
        for (i, r) in resources.iter().enumerate() {
            let mut names: Vec<&str> = r.recorded_names().collect();
            names.sort_unstable();
            names.dedup();
            for name in names {
                by_kind_name
                    .entry((r.kind().into(), name.into()))
                    .or_default()
                    .push(i);
                by_name
                    .entry((r.group().into(), r.kind().into(), name.into()))
                    .or_default()
                    .push(i);
            }
            referrals.push(Referral {
                kind: r.kind().into(),
                name: r.name().into(),
                namespace: r.namespace().into(),
                original_namespace: r.original_namespace().into(),
                cluster_scoped: r.is_cluster_scoped(),
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
            });
        }
        let mut originals_by_namespace: HashMap<String, HashSet<String>> = HashMap::new();
        for c in referrals.iter().filter(|c| !c.cluster_scoped) {
            originals_by_namespace
                .entry(c.namespace.clone())
                .or_default()
                .insert(c.effective(&c.original_namespace).to_string());
        }
        Index {
            referrals,
            by_name,
            by_kind_name,
            originals_by_namespace,
        }
    }

    /// Whether any namespaced object `referrer` can refer to is in the effective namespace
    /// `ns`, or was when it entered the build (`original`).
    fn reaches(&self, referrer: &Referrer, ns: &str, original: bool) -> bool {
        let from = &self.referrals[referrer.position];
        let from_ns = from.effective(&from.namespace);
        fn effective(n: &str) -> &str {
            if n.is_empty() { "default" } else { n }
        }
        self.originals_by_namespace
            .iter()
            .any(|(current, originals)| {
                let reachable = referrer.cluster_scoped
                    || from.cluster_scoped
                    || effective(current) == from_ns
                    || referrer.binding_namespaces.contains(current);
                reachable
                    && if original {
                        originals.contains(ns)
                    } else {
                        effective(current) == ns
                    }
            })
    }

    /// The objects of `group`/`kind` once named `name` that `referrer` can refer to: any
    /// object from a cluster-scoped referrer; otherwise cluster-scoped objects, objects of
    /// its own namespace and, from a RoleBinding, objects of its subjects' namespaces.
    fn reachable<'a>(
        &'a self,
        referrer: &'a Referrer,
        group: &str,
        kind: &str,
        name: &str,
    ) -> impl Iterator<Item = &'a Referral> + 'a {
        let from = &self.referrals[referrer.position];
        let positions = if group == ANY_GROUP {
            self.by_kind_name.get(&(kind.to_string(), name.to_string()))
        } else {
            self.by_name
                .get(&(group.to_string(), kind.to_string(), name.to_string()))
        };
        positions
            .into_iter()
            .flatten()
            .map(|&i| &self.referrals[i])
            .filter(move |c| {
                referrer.cluster_scoped
                    || c.cluster_scoped
                    || c.effective(&c.namespace) == from.effective(&from.namespace)
                    || referrer.binding_namespaces.contains(&c.namespace)
            })
    }
}

/// What several objects left for one reference must share for it to take the first.
#[derive(Clone, Copy)]
enum Same {
    /// A plain name field only takes the name, so objects of one name will do.
    Name,
    /// A `{name, namespace}` reference takes both, so they must agree on both.
    NameAndNamespace,
}

/// kustomize's choice among the objects a reference may name: those in the referrer's
/// namespace (ServiceAccounts and cluster-scoped objects from anywhere), then those whose
/// prefixes and suffixes match the referrer's, loosely then exactly. A reference that
/// still names several objects takes the first when they share what it takes from them
/// (`same`); otherwise it is an error.
fn select<'a>(
    index: &'a Index,
    referrer: &Referrer,
    candidates: Vec<&'a Referral>,
    name: &str,
    same: Same,
) -> Result<Option<&'a Referral>, Error> {
    let from = &index.referrals[referrer.position];
    let mut candidates: Vec<&Referral> = candidates
        .into_iter()
        .filter(|c| {
            referrer.cluster_scoped
                || c.cluster_scoped
                || c.kind == "ServiceAccount"
                || c.effective(&c.namespace) == from.effective(&from.namespace)
        })
        .collect();
    for allow_empty in [true, false] {
        if let [one] = candidates.as_slice() {
            return Ok(Some(one));
        }
        candidates.retain(|c| c.affixes_match(from, allow_empty));
    }
    let alike = |a: &Referral, b: &Referral| match same {
        Same::Name => a.name == b.name,
        Same::NameAndNamespace => a.name == b.name && a.namespace == b.namespace,
    };
    match candidates.as_slice() {
        [] => Ok(None),
        [first, rest @ ..] if rest.iter().all(|c| alike(first, c)) => Ok(Some(first)),
        many => Err(Error::Render {
            message: format!(
                "reference to '{name}' found multiple possible referrals: {}",
                many.iter()
                    .map(|c| if c.namespace.is_empty() {
                        format!("{}/{}", c.kind, c.name)
                    } else {
                        format!("{}/{}.{}", c.kind, c.name, c.namespace)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}
