//! `ValidateUpdate`: the fields a kind does not let an update change.

use serde_json::{Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::status::Cause;

/// Validation of an update against the stored object: immutable fields.
pub(super) fn validate(resource: &Resource, old: &Value, new: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "ConfigMap") | ("", "Secret")
            if old.get("immutable").and_then(Value::as_bool) == Some(true) =>
        {
            for field in ["data", "binaryData", "stringData"] {
                if old.get(field) != new.get(field) {
                    causes.push(Cause::forbidden(
                        field,
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
            if new.get("immutable") != old.get("immutable") {
                causes.push(Cause::forbidden(
                    "immutable",
                    "field is immutable when `immutable` is set",
                ));
            }
        }
        ("", "Service") => {
            let old_ips = old.pointer("/spec/clusterIPs");
            let new_ip = new.pointer("/spec/clusterIP");
            let old_ip = old.pointer("/spec/clusterIP");
            if new_ip.is_some() && new_ip != old_ip {
                let shown = Value::Array(new_ip.into_iter().cloned().collect());
                causes.push(Cause::invalid(
                    "spec.clusterIPs[0]",
                    &shown,
                    "may not change once set",
                ));
            } else if old_ips.is_some()
                && new.pointer("/spec/clusterIPs").is_some()
                && new.pointer("/spec/clusterIPs") != old_ips
            {
                causes.push(Cause::invalid(
                    "spec.clusterIPs[0]",
                    new.pointer("/spec/clusterIPs").unwrap_or(&Value::Null),
                    "may not change once set",
                ));
            }
        }
        ("apps", "Deployment" | "DaemonSet" | "ReplicaSet")
            if old.pointer("/spec/selector") != new.pointer("/spec/selector") =>
        {
            causes.push(Cause::invalid(
                "spec.selector",
                new.pointer("/spec/selector").unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
        ("batch", "Job")
            if old.pointer("/spec/completions") != new.pointer("/spec/completions")
                && old.pointer("/spec/completionMode").and_then(Value::as_str)
                    != Some("Indexed") =>
        {
            causes.push(Cause::invalid(
                "spec.completions",
                new.pointer("/spec/completions").unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
        ("batch", "Job") if old.pointer("/spec/template") != new.pointer("/spec/template") => {
            // The real message prints the internal PodTemplateSpec, Go field names and all.
            let template = new.pointer("/spec/template").unwrap_or(&Value::Null);
            causes.push(Cause {
                reason: "FieldValueInvalid",
                message: format!(
                    "Invalid value: {}: field is immutable",
                    crate::testenv::registry::internal::pod_template(template)
                ),
                field: "spec.template".into(),
            });
        }
        ("", "Secret") if old.get("type") != new.get("type") => {
            causes.push(Cause::invalid(
                "type",
                new.get("type").unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
        ("apps", "StatefulSet") => {
            let mutable = [
                "replicas",
                "ordinals",
                "template",
                "updateStrategy",
                "revisionHistoryLimit",
                "persistentVolumeClaimRetentionPolicy",
                "minReadySeconds",
            ];
            let rest = |object: &Value| -> Value {
                let mut spec = object.get("spec").cloned().unwrap_or(Value::Null);
                if let Some(map) = spec.as_object_mut() {
                    map.retain(|k, _| !mutable.contains(&k.as_str()));
                }
                spec
            };
            if rest(old) != rest(new) {
                causes.push(Cause::forbidden(
                    "spec",
                    "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                ));
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding")
            if old.get("roleRef") != new.get("roleRef") =>
        {
            let role = new.get("roleRef").unwrap_or(&Value::Null);
            let field = |k: &str| role.get(k).cloned().unwrap_or(json!(""));
            let shown = json!({"APIGroup": field("apiGroup"), "Kind": field("kind"), "Name": field("name")});
            causes.push(Cause::invalid("roleRef", &shown, "cannot change roleRef"));
        }
        ("storage.k8s.io", "StorageClass") => {
            if old.get("parameters") != new.get("parameters") {
                causes.push(Cause::invalid(
                    "parameters",
                    new.get("parameters").unwrap_or(&Value::Null),
                    "field is immutable",
                ));
            }
            if old.get("provisioner") != new.get("provisioner") {
                causes.push(Cause::forbidden(
                    "provisioner",
                    "updates to provisioner are forbidden.",
                ));
            }
            if old.get("reclaimPolicy") != new.get("reclaimPolicy") {
                causes.push(Cause::forbidden(
                    "reclaimPolicy",
                    "updates to reclaimPolicy are forbidden.",
                ));
            }
        }
        ("scheduling.k8s.io", "PriorityClass") if old.get("value") != new.get("value") => {
            causes.push(Cause::forbidden(
                "value",
                "may not be changed in an update.",
            ));
        }
        ("networking.k8s.io", "IngressClass")
            if old.pointer("/spec/controller") != new.pointer("/spec/controller") =>
        {
            causes.push(Cause::invalid(
                "spec.controller",
                new.pointer("/spec/controller").unwrap_or(&Value::Null),
                "field is immutable",
            ));
        }
        _ => {}
    }
    causes
}
