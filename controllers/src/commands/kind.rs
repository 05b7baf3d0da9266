//! The Flux kinds the commands act on, with what flux prints about each: its kind, its
//! human name (`source git`, `kustomization`), its revision and its success message.

use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

use crate::api::{GitRepository, Kustomization};

/// A Flux kind the commands know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FluxKind {
    /// `source.toolkit.fluxcd.io/v1` GitRepository.
    GitRepository,
    /// `kustomize.toolkit.fluxcd.io/v1` Kustomization.
    Kustomization,
}

impl FluxKind {
    /// The kind, as flux names it in `annotating GitRepository ...`.
    pub fn kind(self) -> &'static str {
        match self {
            FluxKind::GitRepository => "GitRepository",
            FluxKind::Kustomization => "Kustomization",
        }
    }

    /// The name flux gives the kind in `suspending source git ...`.
    pub fn human(self) -> &'static str {
        match self {
            FluxKind::GitRepository => "source git",
            FluxKind::Kustomization => "kustomization",
        }
    }

    /// The kind's API resource.
    pub fn resource(self) -> ApiResource {
        match self {
            FluxKind::GitRepository => ApiResource::erase::<GitRepository>(&()),
            FluxKind::Kustomization => ApiResource::erase::<Kustomization>(&()),
        }
    }

    /// The kind named `kind` (as in an inventory or an event), if it is one of these.
    pub fn of(group: &str, kind: &str) -> Option<FluxKind> {
        [FluxKind::GitRepository, FluxKind::Kustomization]
            .into_iter()
            .find(|k| {
                let r = k.resource();
                r.group == group && r.kind == kind
            })
    }

    /// The kind's objects in `namespace`, or in every namespace.
    pub fn api(self, client: &kube::Client, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = self.resource();
        match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        }
    }

    /// The revision flux shows for an object: the artifact's of a source, the last applied of
    /// a Kustomization.
    pub fn revision(self, object: &Value) -> &str {
        let status = &object["status"];
        let revision = match self {
            FluxKind::GitRepository => &status["artifact"]["revision"],
            FluxKind::Kustomization => &status["lastAppliedRevision"],
        };
        revision.as_str().unwrap_or_default()
    }

    /// What flux prints once the object is ready: `fetched revision <rev>` or
    /// `applied revision <rev>`.
    pub fn success_message(self, object: &Value) -> String {
        let verb = match self {
            FluxKind::GitRepository => "fetched",
            FluxKind::Kustomization => "applied",
        };
        format!("{verb} revision {}", self.revision(object))
    }
}

/// An object as JSON with its `apiVersion` and `kind`, which list items lack.
pub(crate) fn to_value(object: DynamicObject, resource: &ApiResource) -> Value {
    let mut value = serde_json::to_value(object).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.entry("apiVersion")
            .or_insert_with(|| resource.api_version.clone().into());
        map.entry("kind")
            .or_insert_with(|| resource.kind.clone().into());
    }
    value
}

/// A condition of an object's status by type.
pub(crate) fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// `spec.suspend` of an object.
pub(crate) fn suspended(object: &Value) -> bool {
    object["spec"]["suspend"].as_bool().unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn revisions_and_success_messages_are_fluxs() {
        let repo = json!({"status": {"artifact": {"revision": "main@sha1:abc"}}});
        assert_eq!(
            FluxKind::GitRepository.success_message(&repo),
            "fetched revision main@sha1:abc"
        );
        let ks = json!({"status": {"lastAppliedRevision": "main@sha1:def"}});
        assert_eq!(
            FluxKind::Kustomization.success_message(&ks),
            "applied revision main@sha1:def"
        );
        assert_eq!(
            FluxKind::of("kustomize.toolkit.fluxcd.io", "Kustomization"),
            Some(FluxKind::Kustomization)
        );
        assert_eq!(FluxKind::of("", "ConfigMap"), None);
    }
}
