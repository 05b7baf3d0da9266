//! kustomize's default ("legacy") output order: kinds that others depend on first
//! (Namespace, CRDs, RBAC, ConfigMaps...), webhooks last, and within a kind by
//! group/version/kind, namespace and name.

use super::kustomization::SortOptions;
use super::resource::Resource;

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// A kind's rank in kustomize's default order: negative for the kinds it puts first, positive
/// for those it puts last, zero for the others.
pub(crate) fn kind_rank(kind: &str) -> i64 {
    if let Some(i) = ORDER_FIRST.iter().position(|k| *k == kind) {
        i as i64 - ORDER_FIRST.len() as i64
    } else if let Some(i) = ORDER_LAST.iter().position(|k| *k == kind) {
        i as i64 + 1
    } else {
        0
    }
}

/// Sorts as `sortOptions` asks, legacy order by default.
pub(crate) fn sort(resources: Vec<Resource>, options: Option<&SortOptions>) -> Vec<Resource> {
    if options.is_some_and(|o| o.fifo) {
        return resources;
    }
    let first: Vec<String> = options
        .and_then(|o| o.order_first.clone())
        .unwrap_or_else(|| ORDER_FIRST.iter().map(|s| s.to_string()).collect());
    let last: Vec<String> = options
        .and_then(|o| o.order_last.clone())
        .unwrap_or_else(|| ORDER_LAST.iter().map(|s| s.to_string()).collect());
    let rank = |kind: &str| -> i64 {
        if let Some(i) = first.iter().position(|k| k == kind) {
            i as i64 - first.len() as i64
        } else if let Some(i) = last.iter().position(|k| k == kind) {
            i as i64 + 1
        } else {
            0
        }
    };
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    // kustomize puts the core Namespace before namespaces of other groups: between two
    // Namespace kinds, one of them core, it reverses the order of the type strings.
    let core_namespace = |a: &str, b: &str| {
        a.ends_with("_Namespace")
            && b.ends_with("_Namespace")
            && (a.starts_with("~G_") || b.starts_with("~G_"))
    };
    let mut keyed: Vec<(i64, String, String, Resource)> = resources
        .into_iter()
        .map(|r| {
            let gvk = format!(
                "{}_{}_{}",
                or(r.group(), "~G"),
                or(r.version(), "~V"),
                or(r.kind(), "~K")
            );
            let id = format!("{gvk}|{}|{}", or(r.namespace(), "~X"), r.name());
            (rank(r.kind()), gvk, id, r)
        })
        .collect();
    keyed.sort_by(|a, b| {
        if a.1 != b.1 {
            a.0.cmp(&b.0).then_with(|| {
                if core_namespace(&a.1, &b.1) {
                    b.1.cmp(&a.1)
                } else {
                    a.1.cmp(&b.1)
                }
            })
        } else {
            a.2.cmp(&b.2)
        }
    });
    keyed.into_iter().map(|(_, _, _, r)| r).collect()
}
