//! Rules for the non-workload kinds: PersistentVolumeClaim, Service,
//! CustomResourceDefinition, the kinds that are current as soon as they exist, and the
//! `Ready`-condition fallback for everything else (including Flux's own resources).

use super::{Assessed, Health, conditions, find};
use crate::Object;

/// PersistentVolumeClaim: current once bound to a volume.
pub(super) fn persistent_volume_claim(object: &Object) -> Health {
    match object.str_at(&["status", "phase"]) {
        Some("Bound") => Health::current("PVC is Bound"),
        phase => Health::in_progress(format!(
            "PVC is not Bound. phase: {}",
            phase.unwrap_or("unknown")
        )),
    }
}

/// Service: current, except a LoadBalancer that has no cluster IP allocated yet.
pub(super) fn service(object: &Object) -> Health {
    let kind = object.str_at(&["spec", "type"]).unwrap_or("ClusterIP");
    let cluster_ip = object.str_at(&["spec", "clusterIP"]).unwrap_or("");
    if kind == "LoadBalancer" && cluster_ip.is_empty() {
        Health::in_progress("ClusterIP not set. Service type: LoadBalancer")
    } else {
        Health::current("Service is ready")
    }
}

/// CustomResourceDefinition: current once `Established`; rejected names, or an
/// `Established=False` for any reason but `Installing`, will not fix themselves.
pub(super) fn custom_resource_definition(object: &Object) -> Assessed {
    let conditions = conditions(object)?;
    // Checked before `Established` whatever the order of the list: a name conflict is the
    // more useful thing to report.
    if let Some(c) = find(&conditions, "NamesAccepted").filter(|c| c.status == "False") {
        return Ok(Health::failed(format!(
            "CRD names have not been accepted: {}",
            c.explain("names conflict")
        )));
    }
    Ok(match find(&conditions, "Established") {
        Some(c) if c.status == "True" => Health::current("CRD is established"),
        Some(c) if c.status == "False" && c.reason != "Installing" => Health::failed(format!(
            "CRD is not established: {}",
            c.explain("not established")
        )),
        _ => Health::in_progress("Install in progress"),
    })
}

/// Kinds with no status to wait for (Secret, ConfigMap, CronJob, PodDisruptionBudget).
pub(super) fn always_current() -> Health {
    Health::current("Resource is always ready")
}

/// Any other kind: its `Ready` condition when it has one, else current, since a resource
/// without conditions exposes nothing to wait for.
pub(super) fn ready_condition(object: &Object) -> Assessed {
    let conditions = conditions(object)?;
    Ok(match find(&conditions, "Ready") {
        Some(c) if c.status == "True" => Health::current("Resource is Ready"),
        Some(c) => Health::in_progress(c.explain("Resource is not Ready")),
        None => Health::current("Resource is current"),
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{now, object};
    use super::super::{Status, assess};
    use super::*;
    use serde_json::{Value, json};

    fn pvc(status: Value) -> Object {
        object(json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data", "namespace": "ns"}, "status": status,
        }))
    }

    #[test]
    fn pvc_current_when_bound() {
        assert_eq!(
            assess(&pvc(json!({"phase": "Bound"})), now()),
            Health::current("PVC is Bound")
        );
    }

    #[test]
    fn pvc_in_progress_until_bound() {
        assert_eq!(
            assess(&pvc(json!({"phase": "Pending"})), now()),
            Health::in_progress("PVC is not Bound. phase: Pending")
        );
        assert_eq!(
            assess(&pvc(json!({})), now()),
            Health::in_progress("PVC is not Bound. phase: unknown")
        );
    }

    fn service_with(spec: Value) -> Object {
        object(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "ns"}, "spec": spec,
        }))
    }

    #[test]
    fn service_current_by_default() {
        let cluster_ip = service_with(json!({"clusterIP": "10.0.0.1"}));
        assert_eq!(
            assess(&cluster_ip, now()),
            Health::current("Service is ready")
        );
        let lb = service_with(json!({"type": "LoadBalancer", "clusterIP": "10.0.0.2"}));
        assert!(assess(&lb, now()).is_current());
    }

    #[test]
    fn load_balancer_without_cluster_ip_is_in_progress() {
        let lb = service_with(json!({"type": "LoadBalancer"}));
        assert_eq!(
            assess(&lb, now()),
            Health::in_progress("ClusterIP not set. Service type: LoadBalancer")
        );
    }

    fn crd(conditions: Value) -> Object {
        object(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "status": {"conditions": conditions},
        }))
    }

    #[test]
    fn crd_current_when_established() {
        let obj = crd(json!([
            {"type": "NamesAccepted", "status": "True"},
            {"type": "Established", "status": "True"},
        ]));
        assert_eq!(assess(&obj, now()), Health::current("CRD is established"));
    }

    #[test]
    fn crd_installing_is_in_progress() {
        let obj = crd(json!([{"type": "Established", "status": "False", "reason": "Installing"}]));
        assert_eq!(
            assess(&obj, now()),
            Health::in_progress("Install in progress")
        );
        assert_eq!(
            assess(&crd(json!([])), now()),
            Health::in_progress("Install in progress")
        );
    }

    #[test]
    fn crd_failed_on_rejected_names_or_not_established() {
        let obj = crd(json!([
            {"type": "Established", "status": "True"},
            {"type": "NamesAccepted", "status": "False", "reason": "MultipleNames",
             "message": "\"widget\" is already in use"},
        ]));
        assert_eq!(
            assess(&obj, now()),
            Health::failed("CRD names have not been accepted: \"widget\" is already in use")
        );
        let obj = crd(json!([{"type": "Established", "status": "False",
                               "reason": "NotAccepted"}]));
        assert_eq!(
            assess(&obj, now()),
            Health::failed("CRD is not established: NotAccepted")
        );
    }

    #[test]
    fn always_current_kinds() {
        let kinds = [
            ("v1", "Secret"),
            ("v1", "ConfigMap"),
            ("batch/v1", "CronJob"),
            ("policy/v1", "PodDisruptionBudget"),
        ];
        for (api_version, kind) in kinds {
            // Even a Ready=False condition does not matter for these kinds.
            let obj = object(json!({
                "apiVersion": api_version, "kind": kind, "metadata": {"name": "x"},
                "status": {"conditions": [{"type": "Ready", "status": "False"}]},
            }));
            assert_eq!(
                assess(&obj, now()),
                Health::current("Resource is always ready"),
                "{kind}"
            );
        }
    }

    #[test]
    fn kinds_match_on_group_too() {
        // A custom `Pod` in another group is not a core Pod: the generic rule applies.
        let obj = object(json!({
            "apiVersion": "example.com/v1", "kind": "Pod", "metadata": {"name": "x"},
        }));
        assert_eq!(assess(&obj, now()), Health::current("Resource is current"));
    }

    fn custom(conditions: Value) -> Object {
        object(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "status": {"conditions": conditions},
        }))
    }

    #[test]
    fn ready_true_is_current() {
        let obj = custom(json!([{"type": "Ready", "status": "True",
                                 "reason": "ReconciliationSucceeded"}]));
        assert_eq!(assess(&obj, now()), Health::current("Resource is Ready"));
    }

    #[test]
    fn ready_false_or_unknown_is_in_progress() {
        let obj = custom(json!([{"type": "Ready", "status": "False",
                                 "reason": "DependencyNotReady",
                                 "message": "dependency 'flux-system/infra' is not ready"}]));
        assert_eq!(
            assess(&obj, now()),
            Health::in_progress("dependency 'flux-system/infra' is not ready")
        );
        let obj = custom(json!([{"type": "Ready", "status": "Unknown"}]));
        assert_eq!(
            assess(&obj, now()),
            Health::in_progress("Resource is not Ready")
        );
    }

    #[test]
    fn no_ready_condition_is_current() {
        assert_eq!(
            assess(&custom(json!([])), now()),
            Health::current("Resource is current")
        );
        let other = custom(json!([{"type": "Healthy", "status": "False"}]));
        assert_eq!(assess(&other, now()).status, Status::Current);
    }
}
