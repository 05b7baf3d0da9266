//! Name references: after prefixes, suffixes and hashes changed names, every field that
//! refers to an object of the build by its old name is rewritten to the new one (a
//! Deployment's ConfigMap volume, an Ingress's Service backend, a RoleBinding's Role...).

use std::collections::HashMap;

use serde_json::Value;

use super::fieldspec::visit_maps;
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
fn pod_spec_path(group: &str, kind: &str) -> Option<&'static str> {
    match (group, kind) {
        ("", "Pod") => Some("spec"),
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet")
        | ("batch", "Job")
        | ("", "ReplicationController") => Some("spec/template/spec"),
        ("batch", "CronJob") => Some("spec/jobTemplate/spec/template/spec"),
        _ => None,
    }
}

const INGRESS: &[Rule] = &[
    rule("", "Service", "spec/rules/http/paths/backend/service/name"),
    rule("", "Service", "spec/defaultBackend/service/name"),
    rule("", "Secret", "spec/tls/secretName"),
];
const STATEFUL_SET: &[Rule] = &[rule("", "Service", "spec/serviceName")];
// kustomize leaves a ServiceAccount's `secrets` alone.
const SERVICE_ACCOUNT: &[Rule] = &[rule("", "Secret", "imagePullSecrets/name")];
const CLAIM: &[Rule] = &[
    rule("", "PersistentVolume", "spec/volumeName"),
    rule("storage.k8s.io", "StorageClass", "spec/storageClassName"),
];
const VOLUME: &[Rule] = &[rule(
    "storage.k8s.io",
    "StorageClass",
    "spec/storageClassName",
)];

/// Other references, by referrer group and kind.
fn other_rules(group: &str, kind: &str) -> &'static [Rule] {
    match (group, kind) {
        ("networking.k8s.io", "Ingress") => INGRESS,
        ("apps", "StatefulSet") => STATEFUL_SET,
        ("", "ServiceAccount") => SERVICE_ACCOUNT,
        ("", "PersistentVolumeClaim") => CLAIM,
        ("", "PersistentVolume") => VOLUME,
        _ => &[],
    }
}

/// Rewrites every reference to a renamed object of the build.
pub(crate) fn fix(resources: &mut [Resource]) -> Result<(), Error> {
    if resources
        .iter()
        .all(|r| r.previous_names.is_empty() && r.previous_namespaces.is_empty())
    {
        return Ok(());
    }
    let snapshot = Index::new(resources);
    for r in resources.iter_mut() {
        let (group, kind) = (r.group().to_string(), r.kind().to_string());
        let referrer_ns = r.namespace().to_string();
        let referrer_cluster = r.is_cluster_scoped();
        let lookup = |rg: &str, rk: &str, name: &str| -> Result<Option<(String, String)>, Error> {
            find(&snapshot, rg, rk, name, &referrer_ns, referrer_cluster)
        };
        let mut value = Value::Object(std::mem::take(r.obj.as_map_mut()));
        let mut failure = None;
        let mut rules: Vec<(String, &Rule)> = Vec::new();
        if let Some(base) = pod_spec_path(&group, &kind) {
            rules.extend(
                POD_SPEC
                    .iter()
                    .map(|rl| (format!("{base}/{}", rl.path), rl)),
            );
        }
        rules.extend(
            other_rules(&group, &kind)
                .iter()
                .map(|rl| (rl.path.to_string(), rl)),
        );
        for (path, rl) in rules {
            let parts: Vec<&str> = path.split('/').collect();
            let (last, parents) = parts.split_last().unwrap_or((&"", &[]));
            visit_maps(&mut value, parents, false, &mut |m| {
                if let Some(Value::String(name)) = m.get(*last) {
                    match lookup(rl.group, rl.kind, name) {
                        Ok(Some((new, _))) => {
                            m.insert((*last).to_string(), Value::String(new));
                        }
                        Ok(None) => {}
                        Err(e) => failure = Some(e),
                    }
                }
            });
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
                if let Some(Value::String(name)) = m.get("name")
                    && let Ok(Some((new, _))) =
                        lookup("rbac.authorization.k8s.io", &target_kind, name)
                {
                    m.insert("name".into(), Value::String(new));
                }
            });
            // kustomize matches subjects by name whatever their kind.
            visit_maps(&mut value, &["subjects"], false, &mut |m| {
                fix_name_and_namespace(m, &snapshot, "", "ServiceAccount");
            });
        }
        if group == "apiregistration.k8s.io" && kind == "APIService" {
            visit_maps(&mut value, &["spec", "service"], false, &mut |m| {
                fix_name_and_namespace(m, &snapshot, "", "Service")
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
                &mut |m| fix_name_and_namespace(m, &snapshot, "", "Service"),
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

/// Points a `{name, namespace}` reference at the current name and namespace of the object
/// of `group`/`kind` it named, when that object is in the build.
fn fix_name_and_namespace(
    m: &mut serde_json::Map<String, Value>,
    index: &Index,
    group: &str,
    kind: &str,
) {
    let Some(Value::String(name)) = m.get("name") else {
        return;
    };
    let ns = m
        .get("namespace")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let found = index.named(group, kind, name).find(|c| {
        ns.is_empty()
            || c.namespaces
                .iter()
                .any(|n| c.effective(n) == c.effective(&ns))
    });
    if let Some(c) = found {
        let (name, namespace) = (c.name.clone(), c.namespace.clone());
        m.insert("name".into(), Value::String(name));
        if !namespace.is_empty() {
            m.insert("namespace".into(), Value::String(namespace));
        }
    }
}

/// What name references need of every object of the build, indexed by group, kind and
/// every name each object had.
struct Index {
    referrals: Vec<Referral>,
    by_name: HashMap<(String, String, String), Vec<usize>>,
}

struct Referral {
    name: String,
    namespace: String,
    original_name: String,
    /// Every namespace the object had, the current one first.
    namespaces: Vec<String>,
    cluster_scoped: bool,
}

impl Referral {
    fn effective(&self, ns: &str) -> String {
        if self.cluster_scoped {
            String::new()
        } else if ns.is_empty() {
            "default".into()
        } else {
            ns.into()
        }
    }
}

impl Index {
    fn new(resources: &[Resource]) -> Self {
        let mut by_name: HashMap<(String, String, String), Vec<usize>> = HashMap::new();
        let mut referrals = Vec::with_capacity(resources.len());
        for (i, r) in resources.iter().enumerate() {
            let mut names: Vec<&str> = r.previous_names.iter().map(String::as_str).collect();
            names.push(r.name());
            names.sort_unstable();
            names.dedup();
            for name in names {
                by_name
                    .entry((r.group().into(), r.kind().into(), name.into()))
                    .or_default()
                    .push(i);
            }
            referrals.push(Referral {
                name: r.name().into(),
                namespace: r.namespace().into(),
                original_name: r.original_name().into(),
                namespaces: std::iter::once(r.namespace().to_string())
                    .chain(r.previous_namespaces.iter().cloned())
                    .collect(),
                cluster_scoped: r.is_cluster_scoped(),
            });
        }
        Index { referrals, by_name }
    }

    /// The objects of `group`/`kind` that have or had `name`.
    fn named(&self, group: &str, kind: &str, name: &str) -> impl Iterator<Item = &Referral> {
        self.by_name
            .get(&(group.to_string(), kind.to_string(), name.to_string()))
            .into_iter()
            .flatten()
            .map(|&i| &self.referrals[i])
    }
}

/// The current name and namespace of the object of `group`/`kind` once named `name`, as
/// seen from a referrer in `ns`.
fn find(
    index: &Index,
    group: &str,
    kind: &str,
    name: &str,
    ns: &str,
    referrer_cluster: bool,
) -> Result<Option<(String, String)>, Error> {
    let candidates: Vec<&Referral> = index
        .named(group, kind, name)
        .filter(|c| {
            referrer_cluster
                || c.cluster_scoped
                || kind == "ServiceAccount"
                || c.effective(&c.namespace) == c.effective(ns)
        })
        .collect();
    match candidates.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((one.name.clone(), one.namespace.clone()))),
        many => {
            // kustomize leaves a reference it cannot resolve to one object unchanged.
            let exact: Vec<&&Referral> = many.iter().filter(|c| c.original_name == name).collect();
            match exact.as_slice() {
                [one] => Ok(Some((one.name.clone(), one.namespace.clone()))),
                _ => Ok(None),
            }
        }
    }
}
