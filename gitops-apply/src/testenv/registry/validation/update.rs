//! `ValidateUpdate`: the fields a kind does not let an update change.

use serde_json::{Value, json};

use crate::testenv::registry::Resource;
use crate::testenv::registry::{godiff, internal};
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
            causes.push(Cause::invalid_printed(
                "spec.template",
                &internal::pod_template(template),
                "field is immutable",
            ));
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
        ("", "PersistentVolumeClaim") => causes.extend(claim_update(old, new)),
        ("", "PersistentVolume") => {
            // The volume source is immutable (a CSI volume may gain a controllerExpandSecretRef).
            let source = |object: &Value, drop_expand: bool| {
                let mut spec = object.get("spec").cloned().unwrap_or(Value::Null);
                if drop_expand && let Some(csi) = spec.get_mut("csi").and_then(Value::as_object_mut)
                {
                    csi.remove("controllerExpandSecretRef");
                }
                internal::volume_source(&spec)
            };
            let gains_expand_secret = old.pointer("/spec/csi").is_some()
                && old.pointer("/spec/csi/controllerExpandSecretRef").is_none();
            let (before, after) = (source(old, false), source(new, gains_expand_secret));
            if !semantically_equal(&before, &after) {
                causes.push(Cause::forbidden(
                    "spec.persistentvolumesource",
                    &format!(
                        "spec.persistentvolumesource is immutable after creation\n{}",
                        godiff::diff(&before, &after)
                    ),
                ));
            }
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

/// `apiequality.Semantic.DeepEqual`: quantities compare by value (`1Gi` equals `1024Mi`).
fn semantically_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| semantically_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| semantically_equal(v, w))
        }
        (Value::String(x), Value::String(y)) if x != y => {
            match (super::quantity::parse(a), super::quantity::parse(b)) {
                (Some(p), Some(q)) => p == q,
                _ => false,
            }
        }
        _ => a == b,
    }
}

/// `ValidatePersistentVolumeClaimUpdate`'s spec rule: a claim's spec is immutable, except
/// that an unset volumeName may be set once, an unset storageClassName may be set once (the
/// retroactive default class), and a bound claim may change its storage request and its
/// volumeAttributesClassName. The message appends the diff of the internal specs.
fn claim_update(old: &Value, new: &Value) -> Vec<Cause> {
    let spec = |object: &Value| object.get("spec").cloned().unwrap_or(Value::Null);
    let (mut before, mut after) = (spec(old), spec(new));
    let set = |map: &mut Value, key: &str, value: Option<Value>| {
        if let Some(map) = map.as_object_mut() {
            match value {
                Some(v) => map.insert(key.into(), v),
                None => map.remove(key),
            };
        }
    };
    if old
        .pointer("/spec/volumeName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        set(&mut before, "volumeName", after.get("volumeName").cloned());
    }
    let beta_class = "volume.beta.kubernetes.io/storage-class";
    if old.pointer("/spec/storageClassName").is_none()
        && old
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(beta_class))
            .is_none()
    {
        set(&mut after, "storageClassName", None);
    }
    if new.pointer("/status/phase").and_then(Value::as_str) == Some("Bound") {
        if let Some(requests) = after
            .pointer_mut("/resources/requests")
            .and_then(Value::as_object_mut)
        {
            match old.pointer("/spec/resources/requests/storage") {
                Some(storage) => requests.insert("storage".into(), storage.clone()),
                None => requests.remove("storage"),
            };
        }
        if after.get("volumeAttributesClassName").is_some() {
            set(
                &mut after,
                "volumeAttributesClassName",
                before.get("volumeAttributesClassName").cloned(),
            );
        }
    }
    let (before, after) = (internal::claim_spec(&before), internal::claim_spec(&after));
    if semantically_equal(&before, &after) {
        return Vec::new();
    }
    vec![Cause::forbidden(
        "spec",
        &format!(
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n{}",
            godiff::diff(&before, &after)
        ),
    )]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(modes: &[&str], storage: &str, phase: &str) -> Value {
        json!({"spec": {"accessModes": modes, "resources": {"requests": {"storage": storage}},
            "volumeMode": "Filesystem"}, "status": {"phase": phase}})
    }

    #[test]
    fn a_claim_spec_change_is_forbidden_with_the_internal_spec_diff() {
        let causes = claim_update(
            &claim(&["ReadWriteOnce"], "1Gi", "Pending"),
            &claim(&["ReadWriteMany"], "1Gi", "Pending"),
        );
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec");
        assert_eq!(
            causes[0].message,
            "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n@@ -1,6 +1,6 @@\n {\n  \"AccessModes\": [\n-  \"ReadWriteOnce\"\n+  \"ReadWriteMany\"\n  ],\n  \"Selector\": null,\n  \"Resources\": {\n"
        );
    }

    #[test]
    fn a_bound_claim_may_change_its_storage_request_and_set_its_volume_name_once() {
        let bound = |storage: &str| claim(&["ReadWriteOnce"], storage, "Bound");
        assert!(claim_update(&bound("1Gi"), &bound("2Gi")).is_empty());
        assert!(claim_update(&bound("1Gi"), &bound("1024Mi")).is_empty());
        let pending = |storage: &str| claim(&["ReadWriteOnce"], storage, "Pending");
        assert_eq!(claim_update(&pending("1Gi"), &pending("2Gi")).len(), 1);
        let mut named = bound("1Gi");
        named["spec"]["volumeName"] = json!("pv-1");
        assert!(claim_update(&bound("1Gi"), &named).is_empty());
        let mut renamed = named.clone();
        renamed["spec"]["volumeName"] = json!("pv-2");
        assert_eq!(claim_update(&named, &renamed).len(), 1);
    }

    #[test]
    fn a_volume_source_change_is_forbidden_with_the_internal_source_diff() {
        let resource = crate::testenv::registry::resource_from_entry(
            "",
            "v1",
            &json!({"resource": "persistentvolumes",
                "responseKind": {"kind": "PersistentVolume"}, "scope": "Cluster"}),
        );
        let volume = |path: &str| json!({"spec": {"hostPath": {"path": path, "type": ""}}});
        let causes = validate(&resource, &volume("/a"), &volume("/b"));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.persistentvolumesource");
        assert!(causes[0].message.ends_with(
            "@@ -2,7 +2,7 @@\n  \"GCEPersistentDisk\": null,\n  \"AWSElasticBlockStore\": null,\n  \"HostPath\": {\n-  \"Path\": \"/a\",\n+  \"Path\": \"/b\",\n   \"Type\": \"\"\n  },\n  \"Glusterfs\": null,\n"
        ));
        assert!(validate(&resource, &volume("/a"), &volume("/a")).is_empty());
    }
}
