//! Flux's apply order: the kind order of `ssa.ApplyAll` and the stages of
//! `ssa.ApplyAllStaged`.

use std::cmp::Ordering;

use crate::ObjectRef;

/// Kinds applied first, in this order (FLUX.md 2.6).
const FIRST: [&str; 23] = [
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterClass",
    "RuntimeClass",
    "PriorityClass",
    "StorageClass",
    "VolumeSnapshotClass",
    "IngressClass",
    "GatewayClass",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds applied last, in this order.
const LAST: [&str; 2] = [
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn rank(kind: &str) -> i32 {
    if let Some(i) = FIRST.iter().position(|k| *k == kind) {
        return i as i32 - FIRST.len() as i32;
    }
    if let Some(i) = LAST.iter().position(|k| *k == kind) {
        return i as i32 + 1;
    }
    0
}

/// Flux's apply order: by kind rank, then group, kind, namespace and name.
pub fn compare(a: &ObjectRef, b: &ObjectRef) -> Ordering {
    rank(&a.kind)
        .cmp(&rank(&b.kind))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

/// The stage an object is applied in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StageKind {
    /// CustomResourceDefinitions, Namespaces and ClusterRoles; applied, then waited for.
    ClusterDefinitions,
    /// Kinds ending in `Class` (StorageClass, IngressClass, ...); applied, then waited for.
    Classes,
    /// Kinds named by `--custom-apply-stage-kinds`; applied without waiting.
    Custom,
    /// Everything else.
    Resources,
}

impl StageKind {
    /// Whether Flux waits for this stage's objects to be ready before the next stage.
    pub fn waits(self) -> bool {
        matches!(self, StageKind::ClusterDefinitions | StageKind::Classes)
    }

    /// The stage of an object, given the custom stage kinds as `(group, kind)` pairs.
    pub fn of(object: &ObjectRef, custom: &[(String, String)]) -> StageKind {
        let kind = object.kind.as_str();
        let group = object.group.as_str();
        let cluster_definition = (kind == "CustomResourceDefinition"
            && group == "apiextensions.k8s.io")
            || (kind == "Namespace" && group.is_empty())
            || (kind == "ClusterRole" && group == "rbac.authorization.k8s.io");
        if cluster_definition {
            StageKind::ClusterDefinitions
        } else if kind.ends_with("Class") {
            StageKind::Classes
        } else if custom
            .iter()
            .any(|(g, k)| g.eq_ignore_ascii_case(group) && k.eq_ignore_ascii_case(kind))
        {
            StageKind::Custom
        } else {
            StageKind::Resources
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(group: &str, kind: &str, ns: &str, name: &str) -> ObjectRef {
        ObjectRef::new(group, kind, ns, name)
    }

    #[test]
    fn sorts_in_flux_kind_order() {
        let mut objs = vec![
            r(
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
                "",
                "v",
            ),
            r("example.com", "Widget", "a", "w"),
            r("apps", "Deployment", "a", "d"),
            r("", "Service", "a", "s"),
            r("", "Namespace", "", "a"),
            r("apiextensions.k8s.io", "CustomResourceDefinition", "", "c"),
            r("", "ConfigMap", "b", "x"),
            r("", "ConfigMap", "a", "y"),
            r("batch", "Job", "a", "j"),
        ];
        objs.sort_by(compare);
        let kinds: Vec<String> = objs.iter().map(|o| format!("{o}")).collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition/c",
                "Namespace/a",
                "ConfigMap/a/y",
                "ConfigMap/b/x",
                "Service/a/s",
                "Deployment/a/d",
                "Job/a/j",
                "Widget/a/w",
                "ValidatingWebhookConfiguration/v",
            ]
        );
    }

    #[test]
    fn stages() {
        let custom = vec![("example.com".to_string(), "Widget".to_string())];
        assert_eq!(
            StageKind::of(&r("", "Namespace", "", "a"), &custom),
            StageKind::ClusterDefinitions
        );
        assert_eq!(
            StageKind::of(
                &r("rbac.authorization.k8s.io", "ClusterRole", "", "a"),
                &custom
            ),
            StageKind::ClusterDefinitions
        );
        assert_eq!(
            StageKind::of(&r("storage.k8s.io", "StorageClass", "", "a"), &custom),
            StageKind::Classes
        );
        assert_eq!(
            StageKind::of(&r("example.com", "Widget", "a", "w"), &custom),
            StageKind::Custom
        );
        assert_eq!(
            StageKind::of(&r("apps", "Deployment", "a", "d"), &custom),
            StageKind::Resources
        );
        assert!(StageKind::ClusterDefinitions.waits() && !StageKind::Resources.waits());
    }
}
