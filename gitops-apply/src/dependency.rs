//! Dependency-aware validation: which object of the same batch a failed dry-run waits for.
//!
//! Flux validates a whole set by dry-run before writing, so an object that needs something
//! created by the same batch fails the batch. The engine keeps the validation but recognises
//! the API server's answers that mean "something I need does not exist yet" and, when that
//! something is created by the batch, validates the object again once it exists:
//!
//! - `namespaces "x" not found`: the object's Namespace;
//! - a kind the server does not serve, defined by a CustomResourceDefinition of the batch;
//! - `serviceaccount "x" not found` (the service account admission of Pods and workloads);
//! - a RoleBinding or ClusterRoleBinding refused with 403 because the applier does not hold
//!   the permissions it grants: the Role or ClusterRole it refers to.

use std::collections::HashSet;

use gitops_core::{Object, ObjectRef};

use crate::error::Error;

/// The object of `new` (the objects the batch creates) whose absence explains `error`, the
/// failed dry-run of `object`.
pub fn missing(object: &Object, error: &Error, new: &HashSet<ObjectRef>) -> Option<ObjectRef> {
    let key = object.object_ref();
    let candidate = match error {
        Error::UnknownKind { .. } => new
            .iter()
            .find(|n| {
                n.kind == "CustomResourceDefinition"
                    && n.group == "apiextensions.k8s.io"
                    && n.name.ends_with(&format!(".{}", key.group))
            })
            .cloned(),
        Error::Request { code, message, .. } => {
            if *code == 404
                && message.contains(&format!("namespaces \"{}\" not found", key.namespace))
            {
                Some(ObjectRef::new("", "Namespace", "", &key.namespace))
            } else if let Some(sa) = quoted_after(message, "serviceaccount \"") {
                Some(ObjectRef::new("", "ServiceAccount", &key.namespace, sa))
            } else if *code == 403 && is_binding(&key) {
                role_ref(object)
            } else {
                None
            }
        }
        _ => None,
    };
    candidate.filter(|c| new.contains(c))
}

fn is_binding(key: &ObjectRef) -> bool {
    key.group == "rbac.authorization.k8s.io"
        && matches!(key.kind.as_str(), "RoleBinding" | "ClusterRoleBinding")
}

/// The Role or ClusterRole a binding refers to.
fn role_ref(binding: &Object) -> Option<ObjectRef> {
    let kind = binding.str_at(&["roleRef", "kind"])?;
    let name = binding.str_at(&["roleRef", "name"])?;
    let namespace = if kind == "Role" {
        binding.namespace().unwrap_or_default()
    } else {
        ""
    };
    Some(ObjectRef::new(
        "rbac.authorization.k8s.io",
        kind,
        namespace,
        name,
    ))
}

/// The text between `prefix` and the next `"`, when `prefix` occurs and the text follows it
/// with `" not found`.
fn quoted_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let start = message.find(prefix)? + prefix.len();
    let rest = &message[start..];
    let end = rest.find('"')?;
    rest[end..]
        .starts_with("\" not found")
        .then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn obj(v: serde_json::Value) -> Object {
        Object::from_value(v).unwrap()
    }

    fn refused(code: u16, reason: &str, message: &str, object: &Object) -> Error {
        Error::Request {
            subject: object.object_ref().to_string(),
            object: Some(object.object_ref()),
            operation: crate::error::Operation::DryRun,
            reason: reason.into(),
            code,
            message: message.into(),
            source: kube::Error::TlsRequired,
        }
    }

    #[test]
    fn finds_the_dependency_the_server_names() {
        let ns = ObjectRef::new("", "Namespace", "", "team");
        let sa = ObjectRef::new("", "ServiceAccount", "team", "runner");
        let role = ObjectRef::new("rbac.authorization.k8s.io", "Role", "team", "deployer");
        let crd = ObjectRef::new(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "",
            "widgets.example.com",
        );
        let new: HashSet<ObjectRef> = [ns.clone(), sa.clone(), role.clone(), crd.clone()].into();

        let cm = obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "team"}}));
        let e = refused(404, "NotFound", "namespaces \"team\" not found", &cm);
        assert_eq!(missing(&cm, &e, &new), Some(ns.clone()));
        let e = refused(422, "Invalid", "data: Invalid value", &cm);
        assert_eq!(missing(&cm, &e, &new), None);

        let pod = obj(json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "team"}}));
        let e = refused(
            403,
            "Forbidden",
            "pods \"p\" is forbidden: error looking up service account team/runner: serviceaccount \"runner\" not found",
            &pod,
        );
        assert_eq!(missing(&pod, &e, &new), Some(sa));
        let e = refused(
            403,
            "Forbidden",
            "serviceaccount \"elsewhere\" not found",
            &pod,
        );
        assert_eq!(missing(&pod, &e, &new), None, "not created by the batch");

        let binding = obj(
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "b", "namespace": "team"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"}}),
        );
        let e = refused(
            403,
            "Forbidden",
            "rolebindings.rbac.authorization.k8s.io \"b\" is forbidden: user \"x\" is attempting to grant RBAC permissions not currently held",
            &binding,
        );
        assert_eq!(missing(&binding, &e, &new), Some(role));

        let widget = obj(json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w", "namespace": "team"}}));
        let e = Error::UnknownKind {
            object: widget.object_ref(),
            api_version: "example.com/v1".into(),
            kind: "Widget".into(),
        };
        assert_eq!(missing(&widget, &e, &new), Some(crd));
    }
}
