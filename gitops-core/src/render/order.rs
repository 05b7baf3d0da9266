//! kustomize's default ("legacy") output order: kinds that others depend on first
//! (Namespace, CRDs, RBAC, ConfigMaps...), webhooks last, and within a kind by
//! group/version/kind, namespace and name.

use std::cmp::Ordering;

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

/// Sorts as `sortOptions` asks, legacy order by default.
pub(crate) fn sort(resources: &mut [Resource], options: Option<&SortOptions>) {
    if options.is_some_and(|o| o.fifo) {
        return;
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
    let gvk = |r: &Resource| {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}_{}_{}",
            or(r.group(), "~G"),
            or(r.version(), "~V"),
            or(r.kind(), "~K")
        )
    };
    resources.sort_by(|a, b| {
        let (ga, gb) = (gvk(a), gvk(b));
        if ga != gb {
            let (ra, rb) = (rank(a.kind()), rank(b.kind()));
            if ra != rb {
                return ra.cmp(&rb);
            }
            return ga.cmp(&gb);
        }
        let key = |r: &Resource| {
            let ns = if r.namespace().is_empty() {
                "~X"
            } else {
                r.namespace()
            };
            format!("{ga}|{ns}|{}", r.name())
        };
        key(a).cmp(&key(b)).then(Ordering::Equal)
    });
}
